import { LengthPrefixedDecoder } from '@libp2p/utils'

/**
 * `LengthPrefixedDecoder` (from `@libp2p/utils`; noise reads every encrypted frame through one)
 * loops until its length decoder throws a `RangeError`, and on an empty buffer it always does: each
 * inbound chunk that holds whole frames, which is nearly all of them, ends in a new `RangeError` and
 * the capture of its stack, about 4 µs a chunk here. In a profile of four nodes under room traffic,
 * the length decoding took 3.9 % of their busy time before this fix and 1.3 % after it.
 *
 * The fix: the library's loop, run only while bytes are left in the buffer, so the length decoder is
 * never asked about an empty one and nothing is thrown for a chunk of whole frames (a first version
 * threw one shared `RangeError` instead, without a stack, which still cost a throw and its catch per
 * chunk: in a profile of a mesh stream of small requests, `test/bench/mesh-rtt.ts`, the decoder's
 * self time fell from 18.9 to 4.4 ms over 2,000 chunks).
 * A partial prefix still ends the loop by the length decoder's `RangeError`, and the limits throw the
 * library's own errors (they are raised by its own code).
 */

type Buffered = { byteLength: number, sublist: (from: number, to: number) => unknown, consume: (n: number) => void, append: (buf: unknown) => void }
interface DecoderFields {
  buffer: Buffered
  maxBufferSize: number
  maxDataLength: number
  lengthDecoder: (data: Buffered) => number
  encodingLength: (length: number) => number
}

let applied = false

/** install the fix (once per process; later calls do nothing) */
export function fixLengthPrefixedDecoder (): void {
  if (applied) return
  applied = true
  const proto = LengthPrefixedDecoder.prototype as unknown as { decode: (this: DecoderFields, buf: unknown) => Generator<unknown> }
  const decode = proto.decode
  proto.decode = function * (this: DecoderFields, buf: unknown): Generator<unknown> {
    // the library's loop, run only while bytes are left: the length is never read from an empty buffer
    const buffer = this.buffer
    buffer.append(buf)
    if (buffer.byteLength > this.maxBufferSize) {
      // the library's own error for an overfull buffer
      yield * decode.call(this, new Uint8Array(0))
      return
    }
    while (buffer.byteLength > 0) {
      let dataLength: number
      try {
        dataLength = this.lengthDecoder(buffer)
      } catch (err) {
        // not enough bytes for the length prefix yet
        if (err instanceof RangeError) break
        throw err
      }
      if (dataLength < 0 || dataLength > this.maxDataLength) {
        // the library's own error for a length out of range, from the same buffer
        yield * decode.call(this, new Uint8Array(0))
        return
      }
      const lengthLength = this.encodingLength(dataLength)
      const chunkLength = lengthLength + dataLength
      if (buffer.byteLength < chunkLength) break
      const frame = buffer.sublist(lengthLength, chunkLength)
      buffer.consume(chunkLength)
      if (dataLength > 0) yield frame
    }
  }
}
/** true once the fix is installed */
export function lengthPrefixedDecoderFixed (): boolean {
  return applied
}
