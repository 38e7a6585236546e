/**
 * A correction to the protobuf writer of protons-runtime, applied once on import (codec.ts
 * imports it, so it is in place before any frame is encoded).
 *
 * protons-runtime (7.1.2, and 8.0.1 alike) keeps the low word of a 64-bit value signed, and its
 * varint loop stops on a negative word: a uint64 or int64 from 2^31 to 2^32 - 1 is written as one
 * byte while five are reserved. The message is malformed and carries four stale bytes of the
 * writer's buffer pool (parts of earlier messages). Such values are written here as the uint32
 * varint they are, which is the same encoding the protobuf wire format gives them.
 */
import { writer } from 'protons-runtime'

interface Uint64Writer {
  uint32: (value: number) => unknown
  uint64: (value: bigint) => unknown
}

const FIXED = Symbol.for('meshchat.uint64-writer')
const proto = Object.getPrototypeOf(writer()) as Uint64Writer & { [FIXED]?: true }

if (proto[FIXED] !== true) {
  const uint64 = proto.uint64
  proto.uint64 = function (this: Uint64Writer, value: bigint) {
    if (value >= 0x80000000n && value <= 0xffffffffn) return this.uint32(Number(value))
    return uint64.call(this, value)
  }
  proto[FIXED] = true
}
