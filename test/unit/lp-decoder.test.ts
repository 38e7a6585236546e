/**
 * The length-prefixed decoder fix (node/src/mesh/lp-decoder.ts): the library's decoder loop, never
 * asking the length decoder about an empty buffer. Frames come out the same however the bytes are
 * split, a partial prefix still waits for more, and the library's limits still hold.
 */
import fc from 'fast-check'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { describe, expect, it } from 'vitest'
import { fixLengthPrefixedDecoder, lengthPrefixedDecoderFixed } from '../../node/src/mesh/lp-decoder.js'

/** noise's two-byte big-endian length, with a count of the calls made on an empty buffer */
function uint16Decoder (): { decode: (data: { byteLength: number, getUint16?: (o: number) => number } & ArrayLike<number>) => number, emptyCalls: () => number } {
  let empty = 0
  const decode = (data: any): number => {
    if (data.byteLength === 0) empty++
    if (data.byteLength < 2) throw new RangeError('Could not decode int16BE')
    return data instanceof Uint8Array ? (data[0]! << 8) + data[1]! : data.getUint16(0)
  }
  return { decode, emptyCalls: () => empty }
}

/** an unsigned varint (LEB128), the library decoder's default prefix */
function varint (n: number): Uint8Array {
  const out: number[] = []
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0))
    n >>>= 7
  } while (n > 0)
  return Uint8Array.from(out)
}

function frame16 (payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + payload.byteLength)
  out[0] = payload.byteLength >> 8
  out[1] = payload.byteLength & 0xff
  out.set(payload, 2)
  return out
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}

/** split `bytes` at the given cut points */
function split (bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map(c => c % (bytes.byteLength + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let at = 0
  for (const p of points) { out.push(bytes.subarray(at, p)); at = p }
  out.push(bytes.subarray(at))
  return out
}

describe('length-prefixed decoder fix', () => {
  fixLengthPrefixedDecoder()

  it('is installed once, and the library decoder no longer asks its length decoder about an empty buffer', () => {
    fixLengthPrefixedDecoder()
    expect(lengthPrefixedDecoderFixed()).toBe(true)
    const ld = uint16Decoder()
    const d = new LengthPrefixedDecoder({ lengthDecoder: ld.decode as any, encodingLength: () => 2 })
    let got = 0
    for (let i = 0; i < 1000; i++) for (const b of d.decode(frame16(new Uint8Array(100).fill(i & 0xff)))) got += b.byteLength
    expect(got).toBe(100_000)
    // without the fix every chunk ends with a call on the emptied buffer (and a new RangeError)
    expect(ld.emptyCalls()).toBe(0)
  })

  it('yields the same frames however the bytes are split (two-byte and varint prefixes)', () => {
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      fc.boolean(),
      (payloads, cuts, useVarint) => {
        const framed = payloads.map(p => useVarint ? concat([varint(p.byteLength), p]) : frame16(p))
        const d = useVarint
          ? new LengthPrefixedDecoder()
          : new LengthPrefixedDecoder({ lengthDecoder: uint16Decoder().decode as any, encodingLength: () => 2 })
        const out: Uint8Array[] = []
        for (const chunk of split(concat(framed), cuts)) {
          for (const b of d.decode(chunk)) out.push(b.subarray())
        }
        expect(out.map(b => [...b])).toEqual(payloads.map(p => [...p]))
      }
    ), { numRuns: 300 })
  })

  it('still refuses a frame over the length limit and a buffer over the size limit', () => {
    const d = new LengthPrefixedDecoder({ maxDataLength: 10 })
    expect(() => [...d.decode(concat([varint(11), new Uint8Array(11)]))]).toThrow(/length/i)
    const e = new LengthPrefixedDecoder({ maxBufferSize: 16 })
    expect(() => [...e.decode(new Uint8Array(17))]).toThrow(/limit/i)
  })
})
