import { lengthPrefixed, readFrames } from '../../../client/src/protocol/codec.js'
import { BadFrameError, ErrorCode, MeshchatError, UnavailableError } from '../../../client/src/protocol/errors.js'
import type { WireCodec } from './rpc.js'
import type { Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'

/**
 * One-way messages to a peer over one long-lived stream: no answer, so each
 * costs one frame on the wire and no write, read or wake-up on the way back.
 * For room events handed to carrying nodes beyond the one whose answer the
 * acknowledgement waits for (a request and its answer on a mesh stream cost
 * each side about twice what the request alone does: test/bench/mesh-rtt.ts).
 *
 * Nothing comes back, so a loss is seen by the stream failing: each message
 * sent in the last `recentMs` is remembered (at most `maxRecent` per peer, and
 * `maxRecentBytes` of them) with its `onLost`, and when the stream breaks
 * (reset, connection lost) every one of them is reported lost, for the sender
 * to send it another way (gossip).
 * What broke longer ago than that is left to the catch-up that follows a lost
 * connection.
 */

export interface OneWayOptions {
  /** deadline of opening the stream, ms */
  timeoutMs: number
  /** how long a sent message is remembered for `onLost` */
  recentMs?: number
  /** and how many per peer, at most (the oldest are forgotten first) */
  maxRecent?: number
  /** and how many of their bytes per peer, at most (the same way) */
  maxRecentBytes?: number
  /** bytes queued on a peer's stream, at most: past this the peer is not reading, and the stream is dropped (its recent messages reported lost) */
  maxQueuedBytes?: number
  /** told the size of every message sent */
  onBytes?: (bytes: number) => void
}

interface Sent {
  at: number
  bytes: number
  onLost: () => void
}

interface Pipe {
  stream: Stream
  recent: Sent[]
  /** the bytes of the messages in `recent` */
  recentBytes: number
  /** closed by this side (`close`): what was sent is not reported lost */
  closing: boolean
}

/** the peer does not serve the protocol (a node of an older version): the sender uses its other path */
export class OneWayUnsupportedError extends MeshchatError {
  static override name = 'OneWayUnsupportedError'
  constructor (message: string) {
    super(ErrorCode.UNSUPPORTED, message)
    this.name = 'OneWayUnsupportedError'
  }
}

export const ONE_WAY_RECENT_MS = 5000
export const ONE_WAY_MAX_RECENT = 4096
/** more than a stream's unread data can be (a yamux window, the sockets' buffers) */
export const ONE_WAY_MAX_RECENT_BYTES = 8 * 1024 * 1024
export const ONE_WAY_MAX_QUEUED_BYTES = 4 * 1024 * 1024

/** One stream per peer for a one-way protocol, dropped when it breaks or the peer disconnects. */
export class OneWayPool<Msg> {
  private readonly pipes = new Map<string, Pipe>()
  private readonly opening = new Map<string, Promise<Pipe>>()
  /** peers that refused the protocol, until they disconnect */
  private readonly unsupported = new Set<string>()
  private readonly recentMs: number
  private readonly maxRecent: number
  private readonly maxRecentBytes: number
  private listening = false
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const key = evt.detail.toString()
    this.unsupported.delete(key)
  }

  constructor (
    private readonly host: Libp2p,
    private readonly protocol: string,
    private readonly codec: WireCodec<Msg>,
    private readonly opts: OneWayOptions
  ) {
    this.recentMs = opts.recentMs ?? ONE_WAY_RECENT_MS
    this.maxRecent = opts.maxRecent ?? ONE_WAY_MAX_RECENT
    this.maxRecentBytes = opts.maxRecentBytes ?? ONE_WAY_MAX_RECENT_BYTES
  }

  /** false for a peer known not to serve the protocol */
  supports (peer: PeerId | string): boolean {
    return !this.unsupported.has(peer.toString())
  }

  /**
   * Put `msg` on the peer's stream. Resolves once it is written to the stream;
   * rejects when no stream can be opened (`OneWayUnsupportedError` when the peer
   * does not serve the protocol), in which case `onLost` is not called. After it
   * resolves, `onLost` is called (once) if the stream breaks within `recentMs`.
   */
  async send (peer: PeerId, msg: Partial<Msg>, onLost: () => void): Promise<void> {
    if (!this.listening) {
      this.listening = true
      this.host.addEventListener('peer:disconnect', this.onDisconnect)
    }
    const key = peer.toString()
    let pipe = this.pipes.get(key)
    if (pipe != null && pipe.stream.writeStatus !== 'writable') {
      // ending, its close event not yet fired: what was sent on it is reported then
      this.pipes.delete(key)
      pipe = undefined
    }
    pipe ??= await this.open(peer, key)
    const out = this.codec.encode(msg)
    this.opts.onBytes?.(out.byteLength)
    const now = Date.now()
    const recent = pipe.recent
    // forget what is old enough, oldest first (sends are in time order), and past the bounds
    let drop = 0
    while (drop < recent.length) {
      const oldest = recent[drop] as Sent
      if (now - oldest.at <= this.recentMs && recent.length - drop < this.maxRecent && pipe.recentBytes + out.byteLength <= this.maxRecentBytes) break
      pipe.recentBytes -= oldest.bytes
      drop++
    }
    if (drop > 0) recent.splice(0, drop)
    recent.push({ at: now, bytes: out.byteLength, onLost })
    pipe.recentBytes += out.byteLength
    const stream = pipe.stream
    if (!stream.send(lengthPrefixed(out)) && stream.writeBufferLength > (this.opts.maxQueuedBytes ?? ONE_WAY_MAX_QUEUED_BYTES)) {
      // nothing comes back to time out on: a peer that stops reading would have the queue grow without end
      stream.abort(new UnavailableError(`${this.protocol}: ${key} is not reading (${stream.writeBufferLength} bytes queued)`))
    }
  }

  close (): void {
    if (this.listening) {
      this.listening = false
      this.host.removeEventListener('peer:disconnect', this.onDisconnect)
    }
    for (const pipe of this.pipes.values()) {
      pipe.closing = true
      pipe.stream.close().catch(() => { pipe.stream.abort(new UnavailableError(`${this.protocol}: closed`)) })
    }
    this.pipes.clear()
    this.unsupported.clear()
  }

  private async open (peer: PeerId, key: string): Promise<Pipe> {
    if (this.unsupported.has(key)) throw new OneWayUnsupportedError(`${key} does not serve ${this.protocol}`)
    let opening = this.opening.get(key)
    if (opening == null) {
      opening = (async () => {
        try {
          const stream = await this.host.dialProtocol(peer, this.protocol, { signal: AbortSignal.timeout(this.opts.timeoutMs) })
          const pipe: Pipe = { stream, recent: [], recentBytes: 0, closing: false }
          this.pipes.set(key, pipe)
          stream.addEventListener('close', () => { this.broke(key, pipe) }, { once: true })
          // nothing is sent back; a peer that does is not speaking this protocol
          stream.addEventListener('message', () => { stream.abort(new BadFrameError(`${this.protocol}: the peer sent data on a one-way stream`)) }, { once: true })
          return pipe
        } catch (err) {
          if ((err as Error).name === 'UnsupportedProtocolError') {
            this.unsupported.add(key)
            throw new OneWayUnsupportedError(`${key} does not serve ${this.protocol}`)
          }
          throw err
        } finally {
          this.opening.delete(key)
        }
      })()
      this.opening.set(key, opening)
    }
    return await opening
  }

  private broke (key: string, pipe: Pipe): void {
    if (this.pipes.get(key) === pipe) this.pipes.delete(key)
    const lost = pipe.recent.splice(0)
    pipe.recentBytes = 0
    if (pipe.closing) return
    const since = Date.now() - this.recentMs
    for (const s of lost) {
      if (s.at < since) continue
      try {
        s.onLost()
      } catch {}
    }
  }
}

/**
 * Serve a one-way protocol: each frame is decoded and handed to `handler`
 * without waiting for the ones before it, up to `maxPending` at a time (past
 * that the stream is not read until one settles). A frame that does not
 * decode resets the stream (only mesh peers reach this). A handler that fails
 * is reported to `onRefused` and resets the stream too: that is how the sender
 * learns that something it sent in the last moments was not taken here, and it
 * sends those again another way (`OneWayPool`'s `onLost`).
 */
export async function serveOneWay<Msg> (
  host: Libp2p,
  protocol: string,
  codec: WireCodec<Msg>,
  handler: (msg: Msg, from: PeerId) => Promise<unknown>,
  opts: {
    maxBytes: number
    timeoutMs: number
    log: Logger
    maxPending?: number
    maxInboundStreams?: number
    onRefused?: (err: Error, from: PeerId) => void
    onBytes?: (bytes: number) => void
    /**
     * asked with each frame's size as soon as its length prefix is read: throws to refuse it (a budget
     * of bytes per peer), which resets the stream as a refusal by the handler does (`onRefused`); none
     * of its body is read, kept or decoded
     */
    admit?: (bytes: number, from: PeerId) => void
  }
): Promise<void> {
  const maxPending = opts.maxPending ?? 64
  await host.handle(protocol, async (stream: Stream, connection) => {
    const from = connection.remotePeer
    let pending = 0
    let freed: (() => void) | undefined
    const settle = (): void => {
      pending--
      const f = freed
      freed = undefined
      f?.()
    }
    /** what `admit` refused the stream's last frame with: the stream is reset at its length prefix */
    let refusedWith: Error | undefined
    try {
      const frames = readFrames(stream, opts.maxBytes, {
        frameTimeoutMs: opts.timeoutMs,
        onStall: err => { stream.abort(err) },
        admit: opts.admit == null
          ? undefined
          : bytes => {
            try {
              opts.admit?.(bytes, from)
              return true
            } catch (err) {
              refusedWith = err as Error
              throw err
            }
          }
      })
      for await (const buf of frames) {
        opts.onBytes?.(buf.byteLength)
        const msg = codec.decode(buf)
        pending++
        handler(msg, from).then(settle, (err: Error) => {
          settle()
          opts.onRefused?.(err, from)
          stream.abort(err)
        })
        if (pending >= maxPending) await new Promise<void>(resolve => { freed = resolve })
      }
      await stream.close({ signal: AbortSignal.timeout(opts.timeoutMs) })
    } catch (err) {
      if (refusedWith != null && err === refusedWith) opts.onRefused?.(refusedWith, from)
      else opts.log('%s stream from %p failed - %e', protocol, from, err)
      stream.abort(err as Error)
    }
  }, { maxInboundStreams: opts.maxInboundStreams ?? 64 })
}
