import { Uint8ArrayList } from 'uint8arraylist'
import { BadFrameError, FrameTooLargeError, TooSlowError } from './errors.js'
import { ClientFrame, ServerFrame } from './pb/client.js'
import './uint64-writer.js'

/**
 * Frames on `/meshchat/client/1.0.0` are length-prefixed protobufs. Repeated
 * fields carry decode limits in the .proto (protons), so a frame within the
 * byte limit cannot make the decoder allocate without bound either.
 */

/** a payload with its unsigned varint length prefix in front (the framing of stream transports) */
export function lengthPrefixed (payload: Uint8Array): Uint8ArrayList {
  const prefix: number[] = []
  varint(payload.byteLength, prefix)
  return new Uint8ArrayList(Uint8Array.from(prefix), payload)
}

/** `n` as an unsigned varint, appended to `out` */
function varint (n: number, out: number[]): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
}

/** encode one frame with its varint length prefix */
export function encodeClientFrame (frame: ClientFrame): Uint8ArrayList {
  return lengthPrefixed(ClientFrame.encode(frame))
}

export function encodeServerFrame (frame: ServerFrame): Uint8ArrayList {
  return lengthPrefixed(ServerFrame.encode(frame))
}

/** the tag of ServerFrame.welcome (field 2, length-delimited) */
const WELCOME_TAG = 0x12
/** the tag of ServerFrame.challenge (field 14, length-delimited) */
const CHALLENGE_TAG = 0x72

/**
 * A ServerFrame `{ req, welcome }` whose Welcome is the concatenation of `parts`, each a Welcome
 * encoding of some of its fields (protobuf fields may come in any order, and each field here is in
 * one part only). A node encodes the fields every session is told (itself, the other nodes, its
 * limits) once and only the session's own (user id, time) per welcome; the bytes decode to the
 * same message as `ServerFrame.encode` of the whole.
 */
export function welcomeFrame (req: number, parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return embeddedFrame(WELCOME_TAG, req, parts)
}

/**
 * A ServerFrame `{ req: 0, challenge }` whose Challenge is the concatenation of `parts`, as
 * {@link welcomeFrame}: the node's id is encoded once per node, the nonce and the time per
 * connection.
 */
export function challengeFrame (parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return embeddedFrame(CHALLENGE_TAG, 0, parts)
}

/**
 * The per-connection part of a Challenge, its nonce and time: the bytes of
 * `Challenge.encode({ nodeId: '', nonce, time })`, written without the generated encoder's writer
 * (a node makes one per connection). `timeMs` is a whole number of ms.
 */
export function challengeTail (nonce: Uint8Array, timeMs: number): Uint8Array<ArrayBuffer> {
  if (!Number.isSafeInteger(timeMs) || timeMs < 0) throw new RangeError('a challenge time is a whole number of ms, 0 or more')
  const head: number[] = []
  if (nonce.byteLength > 0) {
    head.push(0x0a)
    varint(nonce.byteLength, head)
  }
  const tail: number[] = []
  if (timeMs !== 0) {
    tail.push(0x18)
    varint(timeMs, tail)
  }
  const out = new Uint8Array(head.length + nonce.byteLength + tail.length)
  out.set(head, 0)
  out.set(nonce, head.length)
  out.set(tail, head.length + nonce.byteLength)
  return out
}

/** a ServerFrame with `req` and the one message field `tag`, whose encoding is `parts` joined */
function embeddedFrame (tag: number, req: number, parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let len = 0
  for (const p of parts) len += p.byteLength
  const head: number[] = []
  if (req !== 0) {
    head.push(0x08)
    varint(req >>> 0, head)
  }
  head.push(tag)
  varint(len, head)
  const out = new Uint8Array(head.length + len)
  out.set(head, 0)
  let at = head.length
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

export function decodeClientFrame (buf: Uint8Array | Uint8ArrayList): ClientFrame {
  try {
    return ClientFrame.decode(buf)
  } catch (err) {
    throw new BadFrameError(`malformed frame: ${(err as Error).message}`)
  }
}

export function decodeServerFrame (buf: Uint8Array | Uint8ArrayList): ServerFrame {
  try {
    return ServerFrame.decode(buf)
  } catch (err) {
    throw new BadFrameError(`malformed frame: ${(err as Error).message}`)
  }
}

/** A varint prefix longer than this cannot be a frame length (2^63 needs 9 bytes). */
const MAX_PREFIX_BYTES = 10

export interface ReadFramesOptions {
  /**
   * A frame whose first byte has arrived must be complete within this many ms;
   * 0 or absent = no deadline. Without it, a peer that sends half a frame and
   * stops holds the reader's buffer for ever.
   */
  frameTimeoutMs?: number
  /** called once when a frame misses its deadline; the caller aborts the stream (which ends the read) */
  onStall?: (err: Error) => void
  /**
   * Asked with each frame's length as soon as its length prefix is read, before any of its body is
   * kept. `true` takes the frame. `false` refuses it: `SKIPPED_FRAME` is yielded in its place at
   * once (the consumer answers it in turn), and its body is read and dropped as it arrives, so a
   * refused frame holds no memory. A throw ends the read with that error.
   */
  admit?: (bytes: number) => boolean
}

/**
 * what `readFrames` yields for a frame its `admit` refused (compare by identity); marked pure so a
 * browser bundle, which never reads frames this way, leaves it and the list class out
 */
export const SKIPPED_FRAME: Uint8ArrayList = /* @__PURE__ */ new Uint8ArrayList()

/**
 * Split a byte stream into frame payloads (without prefix). A length prefix
 * above `maxFrameBytes` throws FrameTooLargeError before the body is read, so
 * an oversize frame costs the reader nothing; a broken prefix or a stream that
 * ends mid-frame throws BadFrameError. With `frameTimeoutMs`, a frame that is
 * begun but not finished in time is reported to `onStall` (time spent by the
 * consumer on the previous frame does not count against the next one).
 */
export async function * readFrames (
  source: AsyncIterable<Uint8Array | Uint8ArrayList>,
  maxFrameBytes: number,
  opts: ReadFramesOptions = {}
): AsyncGenerator<Uint8ArrayList, void, undefined> {
  const buf = new Uint8ArrayList()
  /** body length of the frame being read; -1 while its prefix is being read */
  let want = -1
  /** bytes of a refused frame's body still to drop */
  let skip = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeoutMs = opts.frameTimeoutMs ?? 0
  const disarm = (): void => {
    clearTimeout(timer)
    timer = undefined
  }
  const arm = (): void => {
    if (timer != null || timeoutMs <= 0) return
    timer = setTimeout(() => {
      opts.onStall?.(new TooSlowError(`a frame was begun but not finished within ${timeoutMs} ms`))
    }, timeoutMs)
  }
  try {
    for await (const chunk of source) {
      buf.append(chunk)
      while (true) {
        if (skip > 0) {
          const n = Math.min(skip, buf.byteLength)
          buf.consume(n)
          skip -= n
          if (skip > 0) break
          disarm()
        }
        if (want < 0) {
          let value = 0
          let end = -1
          for (let i = 0; i < buf.byteLength && i < MAX_PREFIX_BYTES; i++) {
            const b = buf.get(i)
            value += (b & 0x7f) * 2 ** (7 * i)
            if (b < 0x80) {
              end = i
              break
            }
          }
          if (end < 0) {
            if (buf.byteLength >= MAX_PREFIX_BYTES) throw new BadFrameError('malformed frame prefix: the length does not end')
            break
          }
          if (value > maxFrameBytes) throw new FrameTooLargeError(`frame is larger than ${maxFrameBytes} bytes`)
          buf.consume(end + 1)
          if (opts.admit != null && !opts.admit(value)) {
            skip = value
            yield SKIPPED_FRAME
            continue
          }
          want = value
        }
        if (buf.byteLength < want) break
        const frame = buf.sublist(0, want)
        buf.consume(want)
        want = -1
        disarm()
        yield frame
      }
      if (buf.byteLength > 0 || want >= 0 || skip > 0) arm()
      else disarm()
    }
    if (buf.byteLength > 0 || want >= 0 || skip > 0) throw new BadFrameError('malformed frame prefix: the stream ended inside a frame')
  } finally {
    disarm()
  }
}
