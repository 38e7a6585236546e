/**
 * Data links: one plain TCP connection per pair of nodes, beside their libp2p connection, that
 * carries the per-message traffic (room events handed to carrying nodes one way, the replication
 * requests the acknowledgement waits for, DM deliveries and DM history copies) without the libp2p
 * stream machinery.
 *
 * Why: on the mesh connection every frame goes through the private-network cipher, noise, yamux
 * and libp2p's stream objects and events on both sides. Measured with test/bench/mesh-rtt.ts, a
 * one-way 500-byte frame cost the sender and the receiver 311 + 308 µs of CPU, more than a request
 * and its answer on a bare TCP socket (200 + 127 µs), and the event itself (its signature check and
 * its insert) is the smaller part of a carrier's work.
 *
 * How a link is made (A wants one to B):
 * 1. A asks B over the libp2p connection (`/meshchat/link/1.0.0`: authenticated by noise, inside
 *    the mesh key) with 32 fresh random bytes; B answers with a one-time token, 32 random bytes
 *    of its own and the port it takes links on. Nobody but A and B has seen these bytes.
 * 2. A opens TCP to B's port at the address of their libp2p connection and sends the version and
 *    the token. B takes a token once, for 10 s, and binds the socket to A (its libp2p identity).
 * 3. Every frame after that is sealed with ChaCha20-Poly1305 under a key per direction, derived
 *    from both random values, both node ids and the token; the nonce is the frame's count. A frame
 *    that does not open, or arrives out of order, or is replayed, ends the link.
 *
 * A link lives while the nodes' libp2p connection does: it is closed when the peer disconnects,
 * when its socket fails, and on any frame it cannot open or place. Whatever was sent on it in the
 * last moments is reported lost (as `OneWayPool` does) and pending requests fail, so the sender
 * takes the path it had before: the libp2p streams, gossip, the mailbox. A one-way frame the
 * receiver's handler refuses is answered with a notice naming it, and only that one is reported.
 * A node without a link to a peer (none yet, refused, an older version, a firewall) uses the libp2p
 * streams; nothing depends on a link.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { connect, createServer } from 'node:net'
import { sodium } from '../../../client/src/protocol/sodium-node.js'
import { BadFrameError, ErrorCode, MeshchatError, TimeoutError, UnavailableError } from '../../../client/src/protocol/errors.js'
import { request, serve } from './rpc.js'
import type { WireCodec } from './rpc.js'
import type { Sodium } from '../../../client/src/protocol/sodium-node.js'
import type { Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { Server, Socket } from 'node:net'
import type { Uint8ArrayList } from 'uint8arraylist'

export const LINK_PROTOCOL = '/meshchat/link/1.0.0'
const VERSION = 1
const TOKEN_BYTES = 16
const NONCE_BYTES = 32
const TAG_BYTES = 16
/** a token is good this long after it was given */
const TOKEN_TTL_MS = 10_000
/** tokens given and not yet used, per peer and in all */
const MAX_TOKENS_PER_PEER = 4
const MAX_TOKENS = 1024
/** sockets that have not shown a token yet, at most; past this new ones are closed at once */
const MAX_UNPROVEN = 64
/** a failed attempt to make a link to a peer is not tried again for this long */
const RETRY_AFTER_MS = 10_000

/** what a plaintext frame is */
const KIND_ONE_WAY = 1
const KIND_REQUEST = 2
const KIND_ANSWER = 3
const KIND_REFUSED = 4
/** a one-way frame the receiver did not take (its id, and why): the sender sends it another way */
const KIND_NOT_TAKEN = 5

/** why a link ended or a socket was refused, for `onEvent` (meshchat_link_events_total) */
export type LinkEvent = 'opened' | 'accepted' | 'closed' | 'lost' | 'failed' | 'refused_token' | 'refused_unproven' | 'bad_frame' | 'oversize' | 'slow_reader' | 'handler_refused' | 'not_taken'

export interface DataLinkInit {
  /** the address links are taken on (the mesh's listen host); port 0 = any free port */
  host: string
  port: number
  /** deadline of the exchange that makes a link, of a request on it, and of a token's first bytes */
  timeoutMs: number
  /** largest plaintext frame, either way */
  maxFrameBytes?: number
  /** bytes queued to a link's socket, at most: past this the peer is not reading and the link is closed */
  maxQueuedBytes?: number
  /** handler calls running per link, at most: past this the socket is not read until one settles */
  maxPending?: number
  /** how long a one-way frame is remembered for `onLost`, and how many per link */
  recentMs?: number
  maxRecent?: number
}

export interface DataLinkComponents {
  nodeId: string
  mesh: Libp2p
  log: Logger
  /** counted by the node in meshchat_link_events_total */
  onEvent?: (event: LinkEvent) => void
}

type OneWayHandler = (payload: Uint8Array, from: PeerId) => Promise<unknown>
type RequestHandler = (payload: Uint8Array, from: PeerId) => Promise<Uint8Array>

interface Sent { at: number, id: number, onLost: () => void }

export interface Offer { nonce: Uint8Array }
export interface Answer { token: Uint8Array, nonce: Uint8Array, port: number }

/** the link exchange's request and answer (fixed layouts: a version byte first) */
export const LINK_OFFER: WireCodec<Offer> = {
  encode: o => {
    const out = new Uint8Array(1 + NONCE_BYTES)
    out[0] = VERSION
    out.set(o.nonce ?? new Uint8Array(NONCE_BYTES), 1)
    return out
  },
  decode: buf => {
    const b = flat(buf)
    if (b.byteLength !== 1 + NONCE_BYTES || b[0] !== VERSION) throw new BadFrameError('a link offer is a version and 32 random bytes')
    return { nonce: b.slice(1) }
  }
}

export const LINK_ANSWER: WireCodec<Answer> = {
  encode: a => {
    const out = new Uint8Array(1 + TOKEN_BYTES + NONCE_BYTES + 2)
    out[0] = VERSION
    out.set(a.token ?? new Uint8Array(TOKEN_BYTES), 1)
    out.set(a.nonce ?? new Uint8Array(NONCE_BYTES), 1 + TOKEN_BYTES)
    new DataView(out.buffer).setUint16(1 + TOKEN_BYTES + NONCE_BYTES, a.port ?? 0)
    return out
  },
  decode: buf => {
    const b = flat(buf)
    if (b.byteLength !== 1 + TOKEN_BYTES + NONCE_BYTES + 2 || b[0] !== VERSION) throw new BadFrameError('a link answer is a version, a token, 32 random bytes and a port')
    return { token: b.slice(1, 1 + TOKEN_BYTES), nonce: b.slice(1 + TOKEN_BYTES, 1 + TOKEN_BYTES + NONCE_BYTES), port: new DataView(b.buffer, b.byteOffset).getUint16(1 + TOKEN_BYTES + NONCE_BYTES) }
  }
}

function flat (buf: Uint8Array | Uint8ArrayList): Uint8Array {
  return buf instanceof Uint8Array ? buf : buf.subarray()
}

/** the two keys of a link: initiator → responder, responder → initiator */
export function linkKeys (a: Uint8Array, b: Uint8Array, initiator: string, responder: string, token: Uint8Array): { forward: Buffer, backward: Buffer } {
  const base = createHash('sha256').update('meshchat link v1\0').update(a).update(b).update(`${initiator}\0${responder}\0`).update(token).digest()
  return {
    forward: createHash('sha256').update(base).update('\x01').digest(),
    backward: createHash('sha256').update(base).update('\x02').digest()
  }
}

/**
 * ChaCha20-Poly1305 (IETF) under one key, the nonce a frame count: the sender's and the receiver's
 * counts move together, so a frame dropped, reordered or replayed does not open.
 */
export class FrameSealer {
  private count = 0n
  private readonly nonce = Buffer.alloc(12)

  /** `s`: libsodium, or null for node:crypto's ChaCha20-Poly1305 (the same bytes either way) */
  constructor (private readonly key: Buffer, private readonly s: Sodium | null | undefined = sodium) {}

  private next (): Buffer {
    this.nonce.writeBigUInt64LE(this.count, 4)
    this.count++
    return this.nonce
  }

  /** `plain` sealed into `out` (its length + 16 bytes of tag) */
  seal (plain: Uint8Array, out: Uint8Array): void {
    const nonce = this.next()
    const s = this.s
    if (s != null) {
      s.crypto_aead_chacha20poly1305_ietf_encrypt(out, plain, null, null, nonce, this.key)
      return
    }
    const c = createCipheriv('chacha20-poly1305', this.key, nonce, { authTagLength: TAG_BYTES })
    const body = c.update(plain)
    c.final()
    out.set(body, 0)
    out.set(c.getAuthTag(), body.byteLength)
  }

  /** the plaintext of `sealed`, or a BadFrameError when it does not open */
  open (sealed: Uint8Array): Uint8Array {
    if (sealed.byteLength < TAG_BYTES) throw new BadFrameError('a link frame shorter than its tag')
    const nonce = this.next()
    const out = new Uint8Array(sealed.byteLength - TAG_BYTES)
    const s = this.s
    try {
      if (s != null) {
        s.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, null, nonce, this.key)
        return out
      }
      const d = createDecipheriv('chacha20-poly1305', this.key, nonce, { authTagLength: TAG_BYTES })
      d.setAuthTag(sealed.subarray(sealed.byteLength - TAG_BYTES))
      out.set(d.update(sealed.subarray(0, sealed.byteLength - TAG_BYTES)), 0)
      d.final()
      return out
    } catch {
      throw new BadFrameError('a link frame that does not open (wrong key, or out of order)')
    }
  }
}

/** the link was closed, or closed on the way: the request may or may not have been taken */
export class LinkClosedError extends MeshchatError {
  static override name = 'LinkClosedError'
  constructor (message: string) {
    super(ErrorCode.UNAVAILABLE, message)
    this.name = 'LinkClosedError'
  }
}

/** One open link to a peer, in either direction. */
export class Link {
  readonly peer: PeerId
  readonly key: string
  private readonly tx: FrameSealer
  private readonly rx: FrameSealer
  private open = true
  private recent: Sent[] = []
  private readonly requests = new Map<number, { resolve: (b: Uint8Array) => void, reject: (e: Error) => void, timer: ReturnType<typeof setTimeout> }>()
  private nextId = 1
  private pending = 0
  /** buffered input: chunks not yet parsed into whole frames */
  private chunks: Buffer[] = []
  private buffered = 0
  private corked = false
  /** per ordered channel, the last request started (the next waits for it) */
  private readonly chains = new Map<number, Promise<unknown>>()

  constructor (
    private readonly socket: Socket,
    peer: PeerId,
    keys: { tx: Buffer, rx: Buffer },
    private readonly owner: DataLinks,
    /** bytes already read after the token (the responder's first chunk may hold frames too) */
    rest?: Buffer
  ) {
    this.peer = peer
    this.key = peer.toString()
    this.tx = new FrameSealer(keys.tx)
    this.rx = new FrameSealer(keys.rx)
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => { this.onData(chunk) })
    socket.on('error', err => { this.close('failed', err.message) })
    socket.on('close', () => { this.close('lost', 'socket closed') })
    if (rest != null && rest.byteLength > 0) this.onData(rest)
  }

  get writable (): boolean {
    return this.open && this.socket.writable
  }

  /** not yet ended */
  get isOpen (): boolean {
    return this.open
  }

  /**
   * Put a one-way frame on the link; false when the link cannot take it (closed, or the frame too
   * large), and then `onLost` is not called. After true, `onLost` is called (once) if the
   * receiver does not take it, or the link ends, within `recentMs`.
   */
  send (channel: number, payload: Uint8Array, onLost: () => void): boolean {
    if (!this.writable || payload.byteLength > this.owner.maxFrameBytes) return false
    const now = Date.now()
    const recent = this.recent
    let drop = 0
    while (drop < recent.length && (now - (recent[drop] as Sent).at > this.owner.recentMs || recent.length - drop >= this.owner.maxRecent)) drop++
    if (drop > 0) recent.splice(0, drop)
    const id = this.nextId
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1
    recent.push({ at: now, id, onLost })
    this.write(KIND_ONE_WAY, channel, id, payload)
    return true
  }

  /** a request on the link and its answer; rejects with LinkClosedError if the link ends first, TimeoutError past `timeoutMs` */
  async request (channel: number, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (!this.writable) throw new LinkClosedError(`no link to ${this.key}`)
    if (payload.byteLength > this.owner.maxFrameBytes) throw new BadFrameError(`a link request of ${payload.byteLength} bytes`)
    const id = this.nextId
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1
    return await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(id)
        reject(new TimeoutError(`link request to ${this.key} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      this.requests.set(id, { resolve, reject, timer })
      this.write(KIND_REQUEST, channel, id, payload)
    })
  }

  /** seal and queue one frame; frames of one turn leave in one write */
  private write (kind: number, channel: number, id: number, payload: Uint8Array): void {
    const plainLen = 6 + payload.byteLength
    const plain = Buffer.allocUnsafe(plainLen)
    plain[0] = kind
    plain[1] = channel
    plain.writeUInt32BE(id, 2)
    plain.set(payload, 6)
    const out = Buffer.allocUnsafe(4 + plainLen + TAG_BYTES)
    out.writeUInt32BE(plainLen + TAG_BYTES, 0)
    this.tx.seal(plain, out.subarray(4))
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(() => {
        this.corked = false
        this.socket.uncork()
      })
    }
    this.socket.write(out)
    if (this.socket.writableLength > this.owner.maxQueuedBytes) this.close('slow_reader', `${this.socket.writableLength} bytes queued`)
  }

  private onData (chunk: Buffer): void {
    if (!this.open) return
    this.chunks.push(chunk)
    this.buffered += chunk.byteLength
    while (this.open && this.buffered >= 4) {
      let head = this.chunks[0] as Buffer
      if (head.byteLength < 4) head = this.join()
      const len = head.readUInt32BE(0)
      if (len > this.owner.maxFrameBytes + 6 + TAG_BYTES) {
        this.close('oversize', `a frame of ${len} bytes`)
        return
      }
      if (this.buffered < 4 + len) return
      if (head.byteLength < 4 + len) head = this.join()
      const sealed = head.subarray(4, 4 + len)
      if (head.byteLength === 4 + len) this.chunks.shift()
      else this.chunks[0] = head.subarray(4 + len)
      this.buffered -= 4 + len
      let plain: Uint8Array
      try {
        plain = this.rx.open(sealed)
        if (plain.byteLength < 6) throw new BadFrameError('a link frame without its header')
      } catch (err) {
        this.close('bad_frame', (err as Error).message)
        return
      }
      this.take(plain)
    }
  }

  private join (): Buffer {
    const all = Buffer.concat(this.chunks, this.buffered)
    this.chunks = [all]
    return all
  }

  private take (plain: Uint8Array): void {
    const kind = plain[0]
    const channel = plain[1] as number
    const id = new DataView(plain.buffer, plain.byteOffset).getUint32(2)
    const payload = plain.subarray(6)
    if (kind === KIND_ANSWER || kind === KIND_REFUSED) {
      const r = this.requests.get(id)
      if (r == null) return
      this.requests.delete(id)
      clearTimeout(r.timer)
      if (kind === KIND_ANSWER) r.resolve(payload)
      else r.reject(new UnavailableError(`${this.key} refused a link request: ${new TextDecoder().decode(payload)}`))
      return
    }
    if (kind === KIND_NOT_TAKEN) {
      const i = this.recent.findIndex(x => x.id === id)
      if (i < 0) return
      const [sent] = this.recent.splice(i, 1)
      this.owner.notTaken()
      try {
        sent?.onLost()
      } catch {}
      return
    }
    if (kind !== KIND_ONE_WAY && kind !== KIND_REQUEST) {
      this.close('bad_frame', `a frame of kind ${String(kind)}`)
      return
    }
    const handler = kind === KIND_ONE_WAY ? this.owner.oneWayHandler(channel) : this.owner.requestHandler(channel)
    if (handler == null) {
      this.close('bad_frame', `nothing takes channel ${channel} here`)
      return
    }
    this.pending++
    if (this.pending >= this.owner.maxPending) this.socket.pause()
    const settle = (): void => {
      this.pending--
      if (this.pending < this.owner.maxPending / 2 && this.open && this.socket.isPaused()) this.socket.resume()
    }
    let run: Promise<unknown>
    if (kind === KIND_REQUEST && this.owner.ordered(channel)) {
      const before = this.chains.get(channel) ?? Promise.resolve()
      const p = before.then(async () => await handler(payload, this.peer))
      // the next request of the channel waits for this one, whatever its outcome
      this.chains.set(channel, p.then(() => {}, () => {}))
      run = p
    } else {
      run = handler(payload, this.peer)
    }
    run.then(answer => {
      settle()
      if (kind === KIND_REQUEST && this.writable) this.write(KIND_ANSWER, channel, id, answer instanceof Uint8Array ? answer : new Uint8Array(0))
    }, (err: Error) => {
      settle()
      this.owner.log('a link frame from %s was refused - %s', this.key, err.message)
      this.owner.refused()
      // the sender learns which frame was not taken, and sends that one another way; a request
      // whose handler failed (its refusals are answers) ends the link, as it resets a stream
      if (kind === KIND_ONE_WAY && this.writable) this.write(KIND_NOT_TAKEN, channel, id, new TextEncoder().encode(err.message.slice(0, 200)))
      else this.close('bad_frame', err.message)
    })
  }

  /** end the link; `quiet` (this node closing it) reports nothing lost */
  close (why: LinkEvent, detail: string, quiet = false): void {
    if (!this.open) return
    this.open = false
    this.owner.ended(this, why, detail)
    this.socket.destroy()
    this.chunks = []
    for (const r of this.requests.values()) {
      clearTimeout(r.timer)
      r.reject(new LinkClosedError(`the link to ${this.key} ended (${why})`))
    }
    this.requests.clear()
    const lost = this.recent.splice(0)
    if (quiet) return
    const since = Date.now() - this.owner.recentMs
    for (const s of lost) {
      if (s.at < since) continue
      try {
        s.onLost()
      } catch {}
    }
  }
}

/**
 * This node's data links: the listener that takes them, the exchange that makes them, and the
 * open ones by peer.
 */
export class DataLinks {
  readonly maxFrameBytes: number
  readonly maxQueuedBytes: number
  readonly maxPending: number
  readonly recentMs: number
  readonly maxRecent: number
  private server?: Server
  private port = 0
  private started = false
  /** each peer's current link (what is sent goes on it) */
  private readonly links = new Map<string, Link>()
  /** every open link, current or not (two made at once: the older one stays for what is on its way) */
  private readonly all = new Set<Link>()
  private readonly opening = new Map<string, Promise<void>>()
  /** peers a link could not be made to, until when */
  private readonly failedUntil = new Map<string, number>()
  /** peers that do not serve the protocol, until they disconnect */
  private readonly unsupported = new Set<string>()
  /** tokens given: hex → who and the keys */
  private readonly tokens = new Map<string, { peer: PeerId, keys: { tx: Buffer, rx: Buffer }, until: number }>()
  private unproven = 0
  private readonly oneWay = new Map<number, OneWayHandler>()
  private readonly requests = new Map<number, RequestHandler>()
  /** request channels whose requests are answered one after another, in the order they came */
  private readonly orderedChannels = new Set<number>()
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const key = evt.detail.toString()
    this.unsupported.delete(key)
    this.failedUntil.delete(key)
    // the link lives no longer than the libp2p connection: a partition cuts both
    if (this.c.mesh.getConnections(evt.detail).length > 0) return
    for (const link of [...this.all]) if (link.key === key) link.close('closed', 'the peer disconnected')
  }

  constructor (private readonly init: DataLinkInit, private readonly c: DataLinkComponents) {
    this.maxFrameBytes = init.maxFrameBytes ?? 1024 * 1024
    this.maxQueuedBytes = init.maxQueuedBytes ?? 4 * 1024 * 1024
    this.maxPending = init.maxPending ?? 64
    this.recentMs = init.recentMs ?? 5000
    this.maxRecent = init.maxRecent ?? 4096
  }

  get log (): Logger {
    return this.c.log
  }

  /** the port links are taken on (0 before start) */
  get listenPort (): number {
    return this.port
  }

  /** open links, current or not */
  get size (): number {
    return this.all.size
  }

  handleOneWay (channel: number, handler: OneWayHandler): void {
    this.oneWay.set(channel, handler)
  }

  /** `ordered`: each request of the channel starts once the one before it (on the same link) is answered, as on one libp2p stream */
  handleRequest (channel: number, handler: RequestHandler, opts: { ordered?: boolean } = {}): void {
    this.requests.set(channel, handler)
    if (opts.ordered === true) this.orderedChannels.add(channel)
    else this.orderedChannels.delete(channel)
  }

  ordered (channel: number): boolean {
    return this.orderedChannels.has(channel)
  }

  oneWayHandler (channel: number): OneWayHandler | undefined {
    return this.oneWay.get(channel)
  }

  requestHandler (channel: number): RequestHandler | undefined {
    return this.requests.get(channel)
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    const server = createServer({ noDelay: true }, socket => { this.accept(socket) })
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.init.port, this.init.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const addr = server.address()
    this.port = typeof addr === 'object' && addr != null ? addr.port : 0
    this.c.mesh.addEventListener('peer:disconnect', this.onDisconnect)
    await serve(this.c.mesh, LINK_PROTOCOL, { req: LINK_OFFER, res: LINK_ANSWER }, async (offer, from) => this.give(offer, from), {
      maxBytes: 256,
      timeoutMs: this.init.timeoutMs,
      log: this.c.log,
      maxInboundStreams: 8
    })
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.c.mesh.removeEventListener('peer:disconnect', this.onDisconnect)
    await this.c.mesh.unhandle(LINK_PROTOCOL).catch(() => {})
    for (const link of [...this.all]) link.close('closed', 'node stopping', true)
    this.links.clear()
    this.all.clear()
    this.tokens.clear()
    const server = this.server
    this.server = undefined
    if (server != null) await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  }

  /**
   * The open link to `peer`, if there is one; when there is none, one is asked for in the
   * background (unless a recent attempt failed or the peer does not serve links), and the caller
   * takes its other path meanwhile.
   */
  get (peer: PeerId): Link | undefined {
    const key = peer.toString()
    const link = this.links.get(key)
    if (link != null && link.writable) return link
    if (!this.started || this.opening.has(key) || this.unsupported.has(key)) return undefined
    const until = this.failedUntil.get(key)
    if (until != null && Date.now() < until) return undefined
    const p = this.connect(peer, key).catch((err: Error) => {
      this.failedUntil.set(key, Date.now() + RETRY_AFTER_MS)
      if (err.name === 'UnsupportedProtocolError') this.unsupported.add(key)
      else this.c.log('no data link to %s - %s', key, err.message)
      this.c.onEvent?.('failed')
    }).finally(() => { this.opening.delete(key) })
    this.opening.set(key, p)
    return undefined
  }

  /** resolves once the pending attempt to link to `peer` (if any) has settled: for tests */
  async settled (peer: PeerId): Promise<void> {
    await this.opening.get(peer.toString())
  }

  /** the link to `peer` now open, if any (without asking for one) */
  current (peer: PeerId | string): Link | undefined {
    return this.links.get(peer.toString())
  }

  private async connect (peer: PeerId, key: string): Promise<void> {
    const conn = this.c.mesh.getConnections(peer).find(c => c.status === 'open')
    if (conn == null) throw new UnavailableError(`not connected to ${key}`)
    const host = conn.remoteAddr.getComponents().find(x => x.name === 'ip4' || x.name === 'ip6')?.value ?? ''
    if (host === '') throw new UnavailableError(`the connection to ${key} is not over IP`)
    const a = randomBytes(NONCE_BYTES)
    const answer = await request(this.c.mesh, peer, LINK_PROTOCOL, { req: LINK_OFFER, res: LINK_ANSWER }, { nonce: a }, { timeoutMs: this.init.timeoutMs, maxBytes: 256 })
    if (answer.port === 0) throw new UnavailableError(`${key} takes no data links`)
    const keys = linkKeys(a, answer.nonce, this.c.nodeId, key, answer.token)
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port: answer.port, noDelay: true })
      const timer = setTimeout(() => { s.destroy(); reject(new TimeoutError(`data link to ${key} at ${host}:${answer.port}: no connection in time`)) }, this.init.timeoutMs)
      s.once('connect', () => { clearTimeout(timer); s.removeAllListeners('error'); resolve(s) })
      s.once('error', err => { clearTimeout(timer); reject(err) })
    })
    if (!this.started || this.c.mesh.getConnections(peer).length === 0) {
      socket.destroy()
      throw new UnavailableError(`${key} went away while its data link was made`)
    }
    const hello = Buffer.allocUnsafe(1 + TOKEN_BYTES)
    hello[0] = VERSION
    hello.set(answer.token, 1)
    socket.write(hello)
    this.adopt(new Link(socket, peer, { tx: keys.forward, rx: keys.backward }, this), 'opened')
  }

  /** a peer asks for a link: a token and the keys, kept for a moment */
  private async give (offer: Offer, from: PeerId): Promise<Partial<Answer>> {
    if (!this.started || this.port === 0) return { token: new Uint8Array(TOKEN_BYTES), nonce: new Uint8Array(NONCE_BYTES), port: 0 }
    const now = Date.now()
    for (const [t, v] of this.tokens) if (v.until < now) this.tokens.delete(t)
    const peerKey = from.toString()
    let mine = 0
    for (const v of this.tokens.values()) if (v.peer.toString() === peerKey) mine++
    if (mine >= MAX_TOKENS_PER_PEER || this.tokens.size >= MAX_TOKENS) return { token: new Uint8Array(TOKEN_BYTES), nonce: new Uint8Array(NONCE_BYTES), port: 0 }
    const token = randomBytes(TOKEN_BYTES)
    const b = randomBytes(NONCE_BYTES)
    const keys = linkKeys(offer.nonce, b, peerKey, this.c.nodeId, token)
    this.tokens.set(token.toString('hex'), { peer: from, keys: { tx: keys.backward, rx: keys.forward }, until: now + TOKEN_TTL_MS })
    return { token, nonce: b, port: this.port }
  }

  /** a socket on the link port: its first bytes must be the version and a token this node gave */
  private accept (socket: Socket): void {
    if (!this.started || this.unproven >= MAX_UNPROVEN) {
      this.c.onEvent?.('refused_unproven')
      socket.destroy()
      return
    }
    this.unproven++
    let proven = false
    let got: Buffer = Buffer.alloc(0)
    const refuse = (why: LinkEvent, detail: string): void => {
      this.c.onEvent?.(why)
      this.c.log('data link socket from %s refused - %s', socket.remoteAddress, detail)
      socket.destroy()
    }
    const timer = setTimeout(() => { refuse('refused_token', 'no token in time') }, this.init.timeoutMs)
    const onData = (chunk: Buffer): void => {
      got = got.byteLength === 0 ? chunk : Buffer.concat([got, chunk])
      if (got.byteLength < 1 + TOKEN_BYTES) return
      socket.off('data', onData)
      clearTimeout(timer)
      proven = true
      this.unproven--
      const token = got.subarray(1, 1 + TOKEN_BYTES).toString('hex')
      const t = this.tokens.get(token)
      this.tokens.delete(token)
      if (got[0] !== VERSION || t == null || t.until < Date.now()) {
        refuse('refused_token', got[0] !== VERSION ? `version ${String(got[0])}` : 'a token this node did not give, or gave too long ago')
        return
      }
      if (this.c.mesh.getConnections(t.peer).length === 0) {
        refuse('refused_token', `${t.peer.toString()} is not connected`)
        return
      }
      this.adopt(new Link(socket, t.peer, t.keys, this, got.subarray(1 + TOKEN_BYTES)), 'accepted')
    }
    socket.on('data', onData)
    socket.on('error', () => {})
    socket.once('close', () => {
      clearTimeout(timer)
      if (!proven) {
        proven = true
        this.unproven--
      }
    })
  }

  private adopt (link: Link, how: 'opened' | 'accepted'): void {
    // ended already (its first bytes, read with the token, did not open): nothing to keep
    if (!link.isOpen) return
    // two links made at once (each side asked): the newer one carries what is sent from now on,
    // and the older one stays open for what is on its way
    this.links.set(link.key, link)
    this.all.add(link)
    this.c.onEvent?.(how)
  }

  /** a frame a handler did not take (meshchat_data_link_events_total{event="handler_refused"}) */
  refused (): void {
    this.c.onEvent?.('handler_refused')
  }

  /** a one-way frame of this node's that the peer did not take */
  notTaken (): void {
    this.c.onEvent?.('not_taken')
  }

  /** a link ended: it is no longer the peer's */
  ended (link: Link, why: LinkEvent, detail: string): void {
    if (this.links.get(link.key) === link) this.links.delete(link.key)
    this.all.delete(link)
    this.c.onEvent?.(why)
    if (why !== 'closed' && why !== 'lost') this.c.log('data link with %s ended (%s) - %s', link.key, why, detail)
  }
}
