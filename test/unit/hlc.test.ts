import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ClockDriftError, HybridClock, compareHlc, hlcLogical, hlcPhysical, makeHlc } from '../../node/src/state/hlc.js'

describe('hlc encoding', () => {
  it('packs physical ms above a 16-bit logical counter', () => {
    const h = makeHlc(1_700_000_000_123, 42)
    expect(h).toBe((1_700_000_000_123n << 16n) | 42n)
    expect(hlcPhysical(h)).toBe(1_700_000_000_123)
    expect(hlcLogical(h)).toBe(42)
  })

  it('rejects parts out of range', () => {
    expect(() => makeHlc(-1, 0)).toThrow(RangeError)
    expect(() => makeHlc(1.5, 0)).toThrow(RangeError)
    expect(() => makeHlc(0, 65_536)).toThrow(RangeError)
    expect(() => makeHlc(0, -1)).toThrow(RangeError)
    expect(hlcLogical(makeHlc(0, 65_535))).toBe(65_535)
  })

  it('orders by physical time, then logical counter', () => {
    expect(compareHlc(makeHlc(5, 9), makeHlc(6, 0))).toBe(-1)
    expect(compareHlc(makeHlc(6, 1), makeHlc(6, 0))).toBe(1)
    expect(compareHlc(makeHlc(6, 1), makeHlc(6, 1))).toBe(0)
  })
})

describe('HybridClock', () => {
  it('follows the wall clock while it moves forward', () => {
    const clock = new HybridClock()
    expect(clock.last()).toBe(0n)
    expect(clock.now(1000)).toBe(makeHlc(1000, 0))
    expect(clock.now(1000.7)).toBe(makeHlc(1000, 1))
    expect(clock.now(1005)).toBe(makeHlc(1005, 0))
    expect(clock.last()).toBe(makeHlc(1005, 0))
  })

  it('stays strictly monotonic when the wall clock goes backwards', () => {
    const clock = new HybridClock()
    clock.now(2000)
    expect(clock.now(1500)).toBe(makeHlc(2000, 1))
    expect(clock.now(1)).toBe(makeHlc(2000, 2))
    expect(clock.now(2001)).toBe(makeHlc(2001, 0))
  })

  it('carries a logical overflow into the physical part', () => {
    const clock = new HybridClock()
    expect(clock.update(makeHlc(1000, 65_535), 1000)).toBe(makeHlc(1001, 0))
    expect(clock.now(1000)).toBe(makeHlc(1001, 1))
  })

  it('overflows by counting past 65535 on a stuck wall clock', () => {
    const clock = new HybridClock()
    let prev = clock.now(500)
    for (let i = 0; i < 70_000; i++) {
      const h = clock.now(500)
      if (h <= prev) expect.fail(`timestamp ${i} did not increase`)
      prev = h
    }
    expect(hlcPhysical(prev)).toBe(501)
    expect(hlcLogical(prev)).toBe(70_000 - 65_536)
  })

  it('applies the receive rule', () => {
    const clock = new HybridClock()
    clock.now(1000)
    // remote ahead: take its physical time, one past its counter
    expect(clock.update(makeHlc(1010, 7), 1000)).toBe(makeHlc(1010, 8))
    // remote behind, local ahead of wall: bump the local counter
    expect(clock.update(makeHlc(900, 50), 1000)).toBe(makeHlc(1010, 9))
    // same physical time on both sides: one past the larger counter
    expect(clock.update(makeHlc(1010, 30), 1000)).toBe(makeHlc(1010, 31))
    // wall clock ahead of both: reset the counter
    expect(clock.update(makeHlc(1010, 99), 1020)).toBe(makeHlc(1020, 0))
  })

  it('refuses a remote clock too far ahead, without changing state', () => {
    const clock = new HybridClock({ maxDriftMs: 1000 })
    clock.now(10_000)
    const before = clock.last()
    expect(clock.update(makeHlc(11_000, 0), 10_000)).toBe(makeHlc(11_000, 1))
    const after = clock.last()
    let error: unknown
    try {
      clock.update(makeHlc(12_001, 0), 11_000)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ClockDriftError)
    expect((error as ClockDriftError).name).toBe('ClockDriftError')
    expect(ClockDriftError.name).toBe('ClockDriftError')
    expect((error as ClockDriftError).driftMs).toBe(1001)
    expect(clock.last()).toBe(after)
    expect(after > before).toBe(true)
  })

  it('allows 60 s of drift by default', () => {
    const clock = new HybridClock()
    expect(clock.update(makeHlc(60_000, 0), 0)).toBe(makeHlc(60_000, 1))
    expect(() => clock.update(makeHlc(60_001, 0), 0)).toThrow(ClockDriftError)
  })

  it('property: every output exceeds the previous output, every received timestamp and the wall clock', () => {
    const event = fc.record({
      wallMs: fc.integer({ min: 0, max: 1_000_000 }),
      remote: fc.option(fc.record({ ahead: fc.integer({ min: -5_000, max: 5_000 }), logical: fc.integer({ min: 0, max: 65_535 }) }))
    })
    fc.assert(fc.property(fc.array(event, { maxLength: 50, size: 'max' }), events => {
      const clock = new HybridClock({ maxDriftMs: 5_000 })
      let prev = clock.last()
      for (const [i, e] of events.entries()) {
        const remote = e.remote === null ? undefined : makeHlc(Math.max(0, e.wallMs + e.remote.ahead), e.remote.logical)
        const h = remote === undefined ? clock.now(e.wallMs) : clock.update(remote, e.wallMs)
        expect(h > prev, `event ${i}: output increases`).toBe(true)
        expect(remote === undefined || h > remote, `event ${i}: output exceeds the remote timestamp`).toBe(true)
        expect(hlcPhysical(h) >= e.wallMs, `event ${i}: physical part never behind the wall clock`).toBe(true)
        prev = h
      }
    }), { numRuns: 300 })
  })
})
