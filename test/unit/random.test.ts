/**
 * client/src/random.ts: event nonces cut from blocks of CSPRNG output, each byte handed out once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { randomNonce, randomView } from '../../client/src/random.js'
import { LIMITS } from '../../client/src/protocol/limits.js'

describe('randomNonce', () => {
  afterEach(() => { vi.restoreAllMocks() })

  it('gives distinct nonces of the event nonce size from few CSPRNG calls, each the caller\'s own copy', () => {
    const calls = vi.spyOn(globalThis.crypto, 'getRandomValues')
    const seen = new Set<string>()
    const kept: Uint8Array[] = []
    for (let i = 0; i < 3000; i++) {
      const n = randomNonce()
      expect(n.byteLength).toBe(LIMITS.nonceBytes)
      expect(n.buffer.byteLength).toBe(LIMITS.nonceBytes)
      seen.add(Buffer.from(n).toString('hex'))
      kept.push(n)
    }
    expect(seen.size).toBe(3000)
    // 36,000 bytes from 4 KiB blocks: 9 or 10 calls (one more if a block was part used before), not 3,000
    expect(calls.mock.calls.length).toBeGreaterThanOrEqual(8)
    expect(calls.mock.calls.length).toBeLessThanOrEqual(10)
    // what was handed out does not change when more is taken
    const before = kept.slice(0, 5).map(n => Buffer.from(n).toString('hex'))
    for (let i = 0; i < 1000; i++) randomNonce()
    expect(kept.slice(0, 5).map(n => Buffer.from(n).toString('hex'))).toEqual(before)
  })

  it('takes other sizes, a request past the block from a call of its own', () => {
    expect(randomNonce(32).byteLength).toBe(32)
    expect(randomNonce(1).byteLength).toBe(1)
    const calls = vi.spyOn(globalThis.crypto, 'getRandomValues')
    const big = randomNonce(10_000)
    expect(big.byteLength).toBe(10_000)
    expect(calls.mock.calls.length).toBe(1)
    // not all zero: it came from the CSPRNG
    expect(big.some(b => b !== 0)).toBe(true)
  })

  it('hands out views of the block for a use at once (masks, keys), never the same bytes twice, at most a block', () => {
    const calls = vi.spyOn(globalThis.crypto, 'getRandomValues')
    const views = Array.from({ length: 2048 }, () => randomView(4))
    // 8 KiB from 4 KiB blocks: two or three calls
    expect(calls.mock.calls.length).toBeGreaterThanOrEqual(2)
    expect(calls.mock.calls.length).toBeLessThanOrEqual(3)
    const spans = new Set(views.map(v => `${v.byteOffset}@${calls.mock.results.findIndex(r => r.value === v.buffer || (r.value as Uint8Array).buffer === v.buffer)}`))
    expect(spans.size).toBe(2048)
    for (const v of views) expect(v.byteLength).toBe(4)
    expect(() => randomView(4097)).toThrow(RangeError)
  })
})
