import { SKIPPED_FRAME, lengthPrefixed, readFrames } from '../../../client/src/protocol/codec.js'
import { ErrorCode, MeshchatError, RateLimitedError } from '../../../client/src/protocol/errors.js'
import { KeyedRateLimiter, TokenBucket } from '../state/rate-limiter.js'
import type { Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** a protons message namespace: what request/response needs of a generated type */
export interface WireCodec<T> {
  encode: (obj: Partial<T>) => Uint8Array
  decode: (buf: Uint8Array | Uint8ArrayList) => T
}

export interface RpcOptions {
  /** whole request deadline, ms */
  timeoutMs: number
  /** largest message accepted in either direction */
  maxBytes: number
  /** told the size of every message sent ('out') and received ('in'), so callers count bytes without encoding twice */
  onBytes?: (direction: 'in' | 'out', bytes: number) => void
}

/**
 * The remote answered with something that does not decode, or did not answer
 * in time, or the stream broke: the peer is unavailable for this request.
 */
export class RpcError extends MeshchatError {
  static override name = 'RpcError'
  constructor (message: string) {
    super(ErrorCode.UNAVAILABLE, message)
    this.name = 'RpcError'
  }
}

/**
 * One length-prefixed request, one length-prefixed response, on a fresh stream.
 * Used by /meshchat/sync and /meshchat/dm: short exchanges where a stream per
 * request keeps each independent (yamux streams are cheap) and a slow request
 * never blocks another.
 */
export async function request<Req, Res> (
  host: Libp2p,
  peer: PeerId,
  protocol: string,
  codecs: { req: WireCodec<Req>, res: WireCodec<Res> },
  req: Partial<Req>,
  opts: RpcOptions
): Promise<Res> {
  const signal = AbortSignal.timeout(opts.timeoutMs)
  const stream = await host.dialProtocol(peer, protocol, { signal })
  // the read below has no signal of its own: the deadline ends it by ending the stream
  const onTimeout = (): void => { stream.abort(new RpcError(`${protocol} request to ${peer.toString()} timed out after ${opts.timeoutMs} ms`)) }
  signal.addEventListener('abort', onTimeout, { once: true })
  try {
    // our own framing both ways: the length-prefix libraries cap a message at 4 MiB unless told
    // otherwise at every call, and history pages and presence states are larger
    if (!stream.send(lengthPrefixed(codecs.req.encode(req)))) await stream.onDrain({ signal })
    let buf: Uint8ArrayList | undefined
    for await (const frame of readFrames(stream, opts.maxBytes, { frameTimeoutMs: opts.timeoutMs, onStall: err => { stream.abort(err) } })) {
      buf = frame
      break
    }
    if (buf == null) throw new RpcError(`${protocol}: ${peer.toString()} closed the stream without an answer`)
    let res: Res
    try {
      res = codecs.res.decode(buf)
    } catch (err) {
      throw new RpcError(`${protocol} response from ${peer.toString()} does not decode: ${(err as Error).message}`)
    }
    await stream.close({ signal }).catch(() => {})
    return res
  } catch (err) {
    stream.abort(err as Error)
    if (signal.aborted) throw new RpcError(`${protocol} request to ${peer.toString()} timed out after ${opts.timeoutMs} ms`)
    throw err
  } finally {
    signal.removeEventListener('abort', onTimeout)
  }
}

/** requests of one stream started and not yet answered, at most (`serve`'s `concurrent` requests) */
export const MAX_PIPELINED = 64
/** and the bytes of those requests, at most: past this the stream is not read until they are answered */
export const MAX_PIPELINED_BYTES = 1024 * 1024

/**
 * Serve a request/response protocol. A stream carries one request (one-shot
 * `request`) or a sequence of them (`RpcChannel`); requests on one stream are
 * answered in order. A request starts once the ones before it are answered,
 * unless `concurrent` says it may start at once (it does not depend on what
 * the earlier ones do): fresh room events handed over one after another are
 * verified and given to members as they come, and their answers wait for
 * their commits together. A request that does not decode gets no answer and
 * the stream is reset (only mesh peers, which hold the mesh key, can reach
 * this at all); a handler that throws is logged and the stream reset.
 */
export async function serve<Req, Res> (
  host: Libp2p,
  protocol: string,
  codecs: { req: WireCodec<Req>, res: WireCodec<Res> },
  handler: (req: Req, from: PeerId) => Promise<Partial<Res>>,
  opts: {
    maxBytes: number
    timeoutMs: number
    log: Logger
    maxInboundStreams?: number
    onBytes?: RpcOptions['onBytes']
    concurrent?: (req: Req) => boolean
    /**
     * asked with each request's size as soon as its length prefix is read: throws to refuse it (a
     * budget of bytes per peer); the request is then answered in its turn with `refused(err)`, its
     * body dropped as it arrives (neither kept nor decoded), or without `refused` the stream is reset
     */
    admit?: (bytes: number, from: PeerId) => void
    refused?: (err: Error) => Partial<Res>
  }
): Promise<void> {
  await host.handle(protocol, async (stream: Stream, connection) => {
    const from = connection.remotePeer
    /** settles once every answer so far is written (or the stream failed) */
    let answered: Promise<void> = Promise.resolve()
    let failed: Error | undefined
    let waiting = 0
    let waitingBytes = 0
    const fail = (err: Error): void => {
      if (failed != null) return
      failed = err
      opts.log('%s request from %p failed - %e', protocol, from, err)
      stream.abort(err)
    }
    try {
      /** answers to the requests `admit` refused, in order, with their sizes: each is yielded as SKIPPED_FRAME */
      const refusals: Array<{ answer: Partial<Res>, bytes: number }> = []
      // a peer that sends half a request and stops must not hold the stream and its buffer for ever
      const frames = readFrames(stream, opts.maxBytes, {
        frameTimeoutMs: opts.timeoutMs,
        onStall: err => { stream.abort(err) },
        // asked at each request's length prefix: a refused request's body is dropped as it comes, not kept
        admit: opts.admit == null
          ? undefined
          : bytes => {
            const refusal = admitted(opts, bytes, from)
            if (refusal === undefined) return true
            refusals.push({ answer: refusal, bytes })
            return false
          }
      })
      for await (const buf of frames) {
        const refused = buf === SKIPPED_FRAME ? refusals.shift() : undefined
        opts.onBytes?.('in', refused?.bytes ?? buf.byteLength)
        let answer: Promise<Partial<Res>>
        if (refused !== undefined) {
          // refused at its length prefix, unread: answered in order, as the requests before it are
          answer = answered.then(() => refused.answer)
        } else {
          const req = codecs.req.decode(buf)
          answer = opts.concurrent?.(req) === true ? handler(req, from) : answered.then(async () => handler(req, from))
        }
        // its rejection is taken up below, in order
        answer.catch(() => {})
        const size = buf.byteLength
        waiting++
        waitingBytes += size
        answered = answered.then(async () => {
          const res = await answer
          if (failed != null || stream.writeStatus !== 'writable') return
          const out = codecs.res.encode(res)
          opts.onBytes?.('out', out.byteLength)
          if (!stream.send(lengthPrefixed(out))) await stream.onDrain({ signal: AbortSignal.timeout(opts.timeoutMs) })
        }).catch(fail).finally(() => {
          waiting--
          waitingBytes -= size
        })
        // a request held up (a commit, an event awaited from gossip) holds those behind it and their frames
        if (waiting >= MAX_PIPELINED || waitingBytes >= MAX_PIPELINED_BYTES) await answered
        if (failed != null) return
      }
      await answered
      if (failed == null) await stream.close({ signal: AbortSignal.timeout(opts.timeoutMs) })
    } catch (err) {
      fail(err as Error)
    }
  }, { maxInboundStreams: opts.maxInboundStreams ?? 64 })
}

/**
 * What every peer together may spend of a FrameBudget: a peer that holds the mesh key can make
 * identities by the thousand, each with a budget of its own, so the node also keeps one bucket for
 * all of them, PEERS_TOGETHER times as fast as one peer's and BURSTS_TOGETHER bursts deep: more than
 * one burst, so that one peer spending its own burst leaves the others room, and few, since a burst
 * is work the node does at once, ahead of its clients'. Honest peers asking at once (a heal, a
 * rebalance) are paced by it, as one peer past its own budget is.
 */
export const BURSTS_TOGETHER = 2
export const PEERS_TOGETHER = 4

/**
 * What a protocol's frames (or the reads they ask for) cost the node, charged to the peer that sends
 * them: bytes at a frame's length prefix, before its body is read (`serve`'s and `serveOneWay`'s
 * `admit`), since buffering and decoding a large frame (a full directory registration, a room
 * presence push) costs the receiver far more than sending it costs the peer; or, in another unit,
 * work whose size is known only once done (`admit`, then `debit`). A frame is taken while neither
 * the peer nor every peer together is in debt, and charged whole to both, into debt at most one
 * burst deep, so an honest frame larger than the burst still gets through and the peer then waits
 * out its size; one that comes while either is in debt is refused unread (`RateLimitedError` with
 * the wait). So what a peer's frames hold of the receiver's memory at a time is about one burst and
 * one frame, however many streams it opens, and what all peers' frames together hold about
 * BURSTS_TOGETHER bursts and a frame, however many identities they come from.
 */
export class FrameBudget {
  private readonly buckets: KeyedRateLimiter<string>
  /** every peer together (PEERS_TOGETHER, BURSTS_TOGETHER) */
  private readonly all: TokenBucket
  constructor (private readonly what: string, private readonly perSec: number, burst: number, private readonly unit = 'bytes') {
    this.buckets = new KeyedRateLimiter({ ratePerSec: perSec, burst, maxKeys: 10_000 })
    this.all = new TokenBucket({ ratePerSec: perSec * PEERS_TOGETHER, burst: burst * BURSTS_TOGETHER })
  }

  /** charge `bytes` from `peer` at `now` (ms), or throw `RateLimitedError` */
  charge (peer: string, now: number, bytes: number): void {
    this.admit(peer, now)
    this.debit(peer, now, bytes)
  }

  /** throw `RateLimitedError` while `peer`, or every peer together, is in debt; for work whose cost is known only once done (then `debit` it) */
  admit (peer: string, now: number): void {
    const err = this.refusal(peer, now)
    if (err != null) throw err
  }

  /** the refusal to give while `peer` or every peer together is in debt, naming the deeper of the two and its wait; undefined while neither is */
  refusal (peer: string, now: number): MeshchatError | undefined {
    const own = this.buckets.retryAfterMs(peer, now, 1)
    const all = this.all.retryAfterMs(now, 1)
    if (own <= 0 && all <= 0) return undefined
    return own >= all
      ? new RateLimitedError(`${this.what} from ${peer} over ${this.perSec} ${this.unit}/s`, Math.min(60_000, own))
      : new RateLimitedError(`${this.what} from every peer together over ${this.perSec * PEERS_TOGETHER} ${this.unit}/s`, Math.min(60_000, all))
  }

  /** how long until neither `peer` nor every peer together is in debt (0: neither is) */
  waitMs (peer: string, now: number): number {
    return Math.max(this.buckets.retryAfterMs(peer, now, 1), this.all.retryAfterMs(now, 1))
  }

  /** charge `n` to `peer` and to every peer together, into debt if need be */
  debit (peer: string, now: number, n: number): void {
    this.buckets.debit(peer, now, n)
    this.all.debit(now, n)
  }
}

/** undefined when `admit` takes the frame; the answer to give when it refuses it; throws (the stream is reset) when there is no answer to give */
function admitted<Res> (opts: { admit?: (bytes: number, from: PeerId) => void, refused?: (err: Error) => Partial<Res> }, bytes: number, from: PeerId): Partial<Res> | undefined {
  if (opts.admit == null) return undefined
  try {
    opts.admit(bytes, from)
    return undefined
  } catch (err) {
    if (opts.refused == null) throw err
    return opts.refused(err as Error)
  }
}

interface Waiter<Res> {
  resolve: (res: Res) => void
  reject: (err: Error) => void
  timer: ReturnType<typeof setTimeout>
}

/** one open stream of a channel and the callers waiting on it, oldest first */
interface Pipe<Res> {
  stream: Stream
  waiting: Array<Waiter<Res>>
}

/**
 * Requests to one peer over one long-lived stream, pipelined: answers come
 * back in request order. For the per-message exchanges (replicating a fresh
 * room event, handing a DM to the recipient's node), where opening and
 * negotiating a stream per message would cost more than the message itself.
 * A broken stream fails what is in flight on it; the next call opens a new one.
 */
export class RpcChannel<Req, Res> {
  private pipe?: Pipe<Res>
  private opening?: Promise<Pipe<Res>>

  constructor (
    private readonly host: Libp2p,
    private readonly peer: PeerId,
    private readonly protocol: string,
    private readonly codecs: { req: WireCodec<Req>, res: WireCodec<Res> },
    private readonly opts: RpcOptions
  ) {}

  async call (req: Partial<Req>, timeoutMs = this.opts.timeoutMs): Promise<Res> {
    const pipe = await this.open()
    return new Promise<Res>((resolve, reject) => {
      const waiter: Waiter<Res> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          // an answer that never comes would shift every later answer onto the wrong caller: drop the stream
          this.fail(pipe, new RpcError(`${this.protocol} request to ${this.peer.toString()} timed out after ${timeoutMs} ms`))
        }, timeoutMs)
      }
      pipe.waiting.push(waiter)
      try {
        const out = this.codecs.req.encode(req)
        this.opts.onBytes?.('out', out.byteLength)
        pipe.stream.send(lengthPrefixed(out))
      } catch (err) {
        this.fail(pipe, err as Error)
      }
    })
  }

  close (): void {
    if (this.pipe != null) this.fail(this.pipe, new RpcError('channel closed'))
  }

  private async open (): Promise<Pipe<Res>> {
    if (this.pipe != null && this.pipe.stream.writeStatus === 'writable') return this.pipe
    this.opening ??= (async () => {
      try {
        const stream = await this.host.dialProtocol(this.peer, this.protocol, { signal: AbortSignal.timeout(this.opts.timeoutMs) })
        const pipe: Pipe<Res> = { stream, waiting: [] }
        this.pipe = pipe
        void this.read(pipe)
        return pipe
      } finally {
        this.opening = undefined
      }
    })()
    return this.opening
  }

  private async read (pipe: Pipe<Res>): Promise<void> {
    try {
      const frames = readFrames(pipe.stream, this.opts.maxBytes, { frameTimeoutMs: this.opts.timeoutMs, onStall: err => { this.fail(pipe, err) } })
      for await (const buf of frames) {
        const w = pipe.waiting.shift()
        if (w == null) throw new RpcError(`${this.protocol}: an answer nobody asked for`)
        clearTimeout(w.timer)
        this.opts.onBytes?.('in', buf.byteLength)
        try {
          w.resolve(this.codecs.res.decode(buf))
        } catch (err) {
          w.reject(new RpcError(`${this.protocol} response does not decode: ${(err as Error).message}`))
        }
      }
      this.fail(pipe, new RpcError(`${this.protocol} stream to ${this.peer.toString()} closed`))
    } catch (err) {
      this.fail(pipe, err as Error)
    }
  }

  private fail (pipe: Pipe<Res>, err: Error): void {
    if (this.pipe === pipe) this.pipe = undefined
    if (pipe.stream.status === 'open') pipe.stream.abort(err)
    for (const w of pipe.waiting.splice(0)) {
      clearTimeout(w.timer)
      w.reject(err)
    }
  }
}

/** One RpcChannel per peer for a protocol, dropped when the peer disconnects. */
export class ChannelPool<Req, Res> {
  private readonly channels = new Map<string, RpcChannel<Req, Res>>()
  /** the disconnect listener is added with the first channel and removed by close(), so a pool can be closed and used again */
  private listening = false
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const key = evt.detail.toString()
    this.channels.get(key)?.close()
    this.channels.delete(key)
  }

  constructor (
    private readonly host: Libp2p,
    private readonly protocol: string,
    private readonly codecs: { req: WireCodec<Req>, res: WireCodec<Res> },
    private readonly opts: RpcOptions
  ) {}

  async call (peer: PeerId, req: Partial<Req>, timeoutMs?: number): Promise<Res> {
    if (!this.listening) {
      this.listening = true
      this.host.addEventListener('peer:disconnect', this.onDisconnect)
    }
    const key = peer.toString()
    let ch = this.channels.get(key)
    if (ch == null) this.channels.set(key, ch = new RpcChannel(this.host, peer, this.protocol, this.codecs, this.opts))
    return ch.call(req, timeoutMs)
  }

  close (): void {
    this.listening = false
    this.host.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const ch of this.channels.values()) ch.close()
    this.channels.clear()
  }
}

