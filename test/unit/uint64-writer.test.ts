/**
 * The uint64 correction of client/src/protocol/uint64-writer.ts: every uint64 encodes to the
 * protobuf varint of its value and decodes back, the values from 2^31 to 2^32 - 1 included
 * (protons-runtime writes those as one byte of five, leaving stale pool bytes in the message).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeServerFrame } from '../../client/src/protocol/codec.js'
import { Pong, ServerFrame } from '../../client/src/protocol/pb/client.js'

/** the protobuf varint of a value (the reference) */
function varint (v: bigint): number[] {
  const out: number[] = []
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) b |= 0x80
    out.push(b)
  } while (v > 0n)
  return out
}

const U64 = fc.oneof(
  fc.constantFrom(0x7fffffffn, 0x80000000n, 0x80000001n, 0xfffffffen, 0xffffffffn, 0x100000000n, (1n << 64n) - 1n),
  fc.bigInt({ min: 1n, max: 0xffffffffn }),
  fc.bigInt({ min: 1n, max: (1n << 64n) - 1n })
)

describe('uint64 fields on the wire', () => {
  it('encode as the varint of their value and decode back', () => {
    fc.assert(fc.property(U64, v => {
      const bytes = Pong.encode({ time: v })
      expect([...bytes]).toEqual([0x08, ...varint(v)])
      expect(Pong.decode(bytes).time).toBe(v)
    }), { numRuns: 5000, seed: 20261130 })
  })

  it('a pong echoing a time from 2^31 to 2^32 - 1 is a well-formed frame with no stale bytes', () => {
    // fill the writer pool with a recognisable pattern first: a wrong encoding would carry it
    ServerFrame.encode({ req: 1, ok: { detail: 'y'.repeat(2000) } })
    for (const time of [0x80000000n, 0xdeadbeefn, 0xffffffffn]) {
      const bytes = ServerFrame.encode({ req: 1024, pong: { time } })
      expect([...bytes]).not.toContain(0x79)
      expect(decodeServerFrame(bytes).pong?.time).toBe(time)
    }
  })
})
