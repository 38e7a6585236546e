import * as lp from 'it-length-prefixed'
import { BadFrameError, FrameTooLargeError } from '../errors.js'
import { ClientFrame, ServerFrame } from './client.js'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * Frames on `/meshchat/client/1.0.0` are length-prefixed protobufs. Repeated
 * fields carry decode limits in the .proto (protons), so a frame within the
 * byte limit cannot make the decoder allocate without bound either.
 */

/** encode one frame with its varint length prefix */
export function encodeClientFrame (frame: ClientFrame): Uint8ArrayList {
  return lp.encode.single(ClientFrame.encode(frame))
}

export function encodeServerFrame (frame: ServerFrame): Uint8ArrayList {
  return lp.encode.single(ServerFrame.encode(frame))
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

/**
 * Split a byte stream into frame payloads (without prefix). A length prefix
 * above `maxFrameBytes` throws FrameTooLargeError before the body is read, so
 * an oversize frame costs the reader nothing; a broken prefix or a stream that
 * ends mid-frame throws BadFrameError.
 */
export async function * readFrames (
  source: AsyncIterable<Uint8Array | Uint8ArrayList>,
  maxFrameBytes: number
): AsyncGenerator<Uint8ArrayList, void, undefined> {
  try {
    yield * lp.decode(source, { maxDataLength: maxFrameBytes })
  } catch (err) {
    const name = (err as Error).name
    if (name === 'InvalidDataLengthError') {
      throw new FrameTooLargeError(`frame is larger than ${maxFrameBytes} bytes`)
    }
    if (name === 'InvalidDataLengthLengthError' || name === 'InvalidMessageLengthError' || name === 'UnexpectedEOFError') {
      throw new BadFrameError(`malformed frame prefix: ${(err as Error).message}`)
    }
    throw err
  }
}
