import type { SigningKey } from './protocol/keys.js'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * One open channel to a node: encoded client frames out, server frames in.
 * The client's session logic runs over this and nothing else, so any way of
 * reaching a node (a libp2p stream, a plain WebSocket, a test harness) can
 * carry it.
 */
export interface FrameChannel {
  /** the address this channel was opened to */
  readonly addr: string
  /** true while frames can be sent */
  readonly writable: boolean
  /** send one encoded ClientFrame (no length prefix: framing is the transport's business) */
  send: (frame: Uint8Array) => void
  /** the node's frames, one payload each, until the channel ends; throws if it breaks */
  frames: () => AsyncIterable<Uint8Array | Uint8ArrayList>
  /** close after what was sent has gone out */
  close: () => Promise<void>
  /** drop at once */
  abort: (err: Error) => void
}

/** A way of reaching nodes. */
export interface ClientTransport {
  /** whether this transport can dial `addr` (a multiaddr, a ws:// URL, ...) */
  handles: (addr: string) => boolean
  /** open a channel to the node at `addr`, proving the user's key to it */
  dial: (addr: string, key: SigningKey, signal: AbortSignal) => Promise<FrameChannel>
  /** release whatever the transport holds (sockets, a libp2p node) */
  stop: () => Promise<void>
}
