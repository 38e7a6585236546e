/**
 * Node liveness over the direct connections, /meshchat/beat/1.0.0. Every H a node writes its
 * heartbeat to each peer it is connected to, on one long-lived stream per peer, one way. The
 * connection's handshake authenticates the sender, so a beat names no node and carries no
 * signature: it speaks for the peer it comes from and for nobody else. It carries what a slim
 * heartbeat carries (incarnation, delta seq, beat count, load, the addresses' version) and never the
 * addresses: a receiver that does not hold that version pulls the node's full state.
 *
 * The signed heartbeat on the presence topic stays for what a direct link cannot do: reach nodes
 * through a relay (a bootstrap daemon between nodes not connected to each other), carry the
 * addresses, and introduce a node to peers that do not know it yet. The presence service sends it
 * every beat while some live node has no beat stream from it, and otherwise once in a while.
 *
 * What a beat costs a receiver: one small protobuf decode, no signature check, no gossip machinery
 * (message ids, seen cache, message cache, IHAVE); what it costs the sender: one write per peer and
 * no signature.
 *
 * Where a data link to the peer is open (data-link.ts), the beat goes on it instead, as a one-way
 * frame on channel LINK_BEAT: the link is bound to the same libp2p identity, and a frame on it costs a
 * seal and a socket write rather than the stream, muxer, noise and private-network layers. Asking
 * for a beat's link makes one, so every pair of nodes that beats has a link. The stream stays open
 * beside it and takes the beats again whenever there is no link.
 */
import { HeartbeatMsg } from '../../../client/src/protocol/pb/mesh.js'
import { lengthPrefixed, readFrames } from '../../../client/src/protocol/codec.js'
import { MeshchatError } from '../../../client/src/protocol/errors.js'
import { TokenBucket } from '../state/rate-limiter.js'
import { InvalidPresenceError } from './presence-wire.js'
import type { NodeMeta, PresenceHeartbeat } from '../state/presence.js'
import { nodePeerId } from './peer-ids.js'
import type { Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import type { DataLinks, Link } from './data-link.js'

export const BEAT_PROTOCOL = '/meshchat/beat/1.0.0'

/** the data link channel beats take (sync.ts has 1 to 3) */
export const LINK_BEAT = 4

/** a beat is about 20 bytes; anything near this is not one */
const MAX_BEAT_BYTES = 256
/** beats one stream may carry per second, and its burst: a node beats once per H (1 s; tests use less) */
const BEATS_PER_SEC = 20
const BEAT_BURST = 40
/** bytes queued on an outbound beat stream past which beats are skipped: a peer that does not read gets no more */
const MAX_QUEUED_BYTES = 4096

export interface BeatLinkInit {
  /** deadline for opening a stream, and for a half-written frame */
  timeoutMs: number
  /** a beat came from `from` (checked); `bytes` is its size on the wire */
  onBeat: (hb: PresenceHeartbeat, bytes: number) => void
  /** a beat stream from `from` broke the rules; the stream is closed */
  onInvalid: (from: string, err: Error) => void
  /** bytes of beats written, and what carried them */
  onSent?: (bytes: number, on: 'link' | 'stream') => void
  /** a silent peer's connections were closed */
  onStale?: (peer: string, silentMs: number) => void
  /**
   * a beat stream to `peer` just opened (a new connection: a node just up, a healed partition):
   * the owner may write its latest beat on it at once, so the peer hears of this node now and
   * not up to a heartbeat interval later
   */
  onOpened?: (peer: PeerId) => void
  /**
   * a connection whose peer has beaten on it before and then sent no beat for this long is closed
   * (`sweep`): the peer is gone or hung, and a redial finds out which. This is what a ping per
   * connection would tell, at no cost of its own.
   */
  staleAfterMs: number
  log: Logger
  /** data links to the peers: a beat goes on the peer's link when one is open */
  links?: DataLinks
}

/** What a beat says, before the receiver names the node from the connection. */
export interface BeatFields {
  incarnation: number
  seq: number
  beat: number
  meta: Pick<NodeMeta, 'load' | 'version'>
  /** sender wall clock, ms */
  time: number
}

/** A beat on the wire: a HeartbeatMsg with no node, no addresses and addrsOmitted set. */
export function beatToWire (b: BeatFields): Uint8Array {
  return HeartbeatMsg.encode({
    node: '',
    incarnation: BigInt(b.incarnation),
    seq: BigInt(b.seq),
    load: b.meta.load,
    beat: BigInt(b.beat),
    time: BigInt(b.time),
    metaVersion: b.meta.version ?? 0,
    addrsOmitted: true
  })
}

function noop (): void {}

function fail (message: string): never {
  throw new InvalidPresenceError(`beat: ${message}`)
}

function safe (v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} is out of range`)
  return Number(v)
}

/**
 * A beat from `from`, every field checked; throws InvalidPresenceError. A beat may name no node but
 * its sender, and carries no addresses.
 */
export function beatFromWire (buf: Uint8Array | Parameters<typeof HeartbeatMsg.decode>[0], from: string): PresenceHeartbeat {
  let m: HeartbeatMsg
  try {
    m = HeartbeatMsg.decode(buf)
  } catch (err) {
    fail(`does not decode: ${(err as Error).message}`)
  }
  if (m.node !== '' && m.node !== from) fail(`${from} sent a beat for another node`)
  if (!m.addrsOmitted || m.gatewayAddrs.length > 0 || m.meshAddrs.length > 0 || m.httpUrl !== '') fail('a beat carries no addresses')
  const beat = safe(m.beat, 'beat')
  if (beat === 0) fail('beat 0')
  return {
    node: from,
    incarnation: safe(m.incarnation, 'incarnation'),
    seq: safe(m.seq, 'seq'),
    beat,
    meta: { load: m.load ?? { clients: 0, rooms: 0, maxClients: 0 }, gatewayAddrs: [], meshAddrs: [], ...(m.metaVersion === 0 ? {} : { version: m.metaVersion }) },
    addrsOmitted: true,
    direct: true
  }
}

interface Outbound {
  stream?: Stream
  opening?: boolean
  /** the peer does not speak the protocol (a bootstrap daemon): no beats until it reconnects */
  unsupported?: boolean
}

/** Writes this node's beats to its peers and reads theirs. */
export class BeatLink {
  private readonly mesh: Libp2p
  private readonly init: BeatLinkInit
  private readonly self: string
  private readonly out = new Map<string, Outbound>()
  private readonly inbound = new Set<Stream>()
  /** the rate of beats each peer's data link may carry (a stream has its own bucket) */
  private readonly linkBuckets = new Map<string, TokenBucket>()
  /** when each peer's last beat came */
  private readonly lastBeat = new Map<string, number>()
  private lastSweep = 0
  private started = false
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const key = evt.detail.toString()
    if (this.mesh.getConnections(evt.detail).length > 0) return
    this.out.get(key)?.stream?.abort(new Error('peer disconnected'))
    this.out.delete(key)
    this.lastBeat.delete(key)
    this.linkBuckets.delete(key)
  }

  /** a new connection gets its beat stream at once, so the next beat (a heal, a node just up) reaches it */
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    const key = evt.detail.toString()
    let o = this.out.get(key)
    if (o === undefined) this.out.set(key, o = {})
    if (o.stream === undefined && o.opening !== true && o.unsupported !== true) this.open(evt.detail, key, o)
  }

  constructor (mesh: Libp2p, init: BeatLinkInit) {
    this.mesh = mesh
    this.init = init
    this.self = mesh.peerId.toString()
    // taken from the moment links are (they start first): a beat that comes before this starts is dropped
    init.links?.handleOneWay(LINK_BEAT, async (payload, peer) => { this.fromLink(payload, peer.toString()) })
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.mesh.addEventListener('peer:disconnect', this.onDisconnect)
    this.mesh.addEventListener('peer:connect', this.onConnect)
    await this.mesh.handle(BEAT_PROTOCOL, async (stream, connection) => { await this.read(stream, connection.remotePeer.toString()) }, { maxInboundStreams: 2 })
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.mesh.removeEventListener('peer:disconnect', this.onDisconnect)
    this.mesh.removeEventListener('peer:connect', this.onConnect)
    for (const o of this.out.values()) o.stream?.abort(new Error('stopping'))
    this.out.clear()
    for (const s of this.inbound) s.abort(new Error('stopping'))
    this.inbound.clear()
    this.lastBeat.clear()
    this.linkBuckets.clear()
    await this.mesh.unhandle(BEAT_PROTOCOL).catch(() => {})
  }

  /**
   * Write one beat to `peer` on its data link if one is open, else on its beat stream if that is
   * open (true); else start opening a stream over the existing connection, never dialling (false:
   * this beat does not reach it).
   */
  send (peer: PeerId, frame: Uint8Array): boolean {
    if (!this.started) return false
    const key = peer.toString()
    let o = this.out.get(key)
    if (o === undefined) this.out.set(key, o = {})
    // a beat is never sent again: one the link loses is followed by the next one
    if (this.link(peer, key)?.send(LINK_BEAT, frame, noop) === true) {
      this.init.onSent?.(frame.byteLength, 'link')
      return true
    }
    const s = o.stream
    if (s !== undefined && s.writeStatus === 'writable') {
      if (s.writeBufferLength > MAX_QUEUED_BYTES) return false
      try {
        s.send(lengthPrefixed(frame))
        this.init.onSent?.(frame.byteLength, 'stream')
        return true
      } catch (err) {
        s.abort(err as Error)
        o.stream = undefined
      }
    }
    if (o.opening !== true && o.unsupported !== true) this.open(peer, key, o)
    return false
  }

  /**
   * The data link a beat to `peer` takes. Of two nodes, the one with the smaller id asks for it, so
   * both beating at once make one link between them and not two; the other takes it once it is
   * there (or one its own traffic asked for).
   */
  private link (peer: PeerId, key: string): Link | undefined {
    const links = this.init.links
    if (links === undefined) return undefined
    return this.self < key ? links.get(peer) : links.current(key)
  }

  /** whether a beat to `peer` would be written now (an open link, or an open stream that is not backed up) */
  reaches (peer: string): boolean {
    if (this.init.links?.current(peer)?.writable === true) return true
    const s = this.out.get(peer)?.stream
    return s !== undefined && s.writeStatus === 'writable' && s.writeBufferLength <= MAX_QUEUED_BYTES
  }

  /**
   * Close the connections of peers that beat here before and have been silent for `staleAfterMs`.
   * Called often (every failure check); a sweep that comes late (this node's own event loop was held
   * up, so its peers' beats may be sitting unread) closes nothing and starts the count again.
   */
  sweep (now: number): void {
    const late = this.lastSweep > 0 && now - this.lastSweep > Math.min(2000, this.init.staleAfterMs / 2)
    this.lastSweep = now
    for (const [peer, at] of [...this.lastBeat]) {
      if (late) {
        this.lastBeat.set(peer, Math.max(at, now))
        continue
      }
      if (now - at <= this.init.staleAfterMs) continue
      this.lastBeat.delete(peer)
      const conns = this.mesh.getConnections(nodePeerId(peer))
      if (conns.length === 0) continue
      this.init.log('no beat from %s for %d ms: closing its connections', peer, now - at)
      this.init.onStale?.(peer, now - at)
      for (const c of conns) c.abort(new Error(`no beat for ${now - at} ms`))
    }
  }

  private open (peer: PeerId, key: string, o: Outbound): void {
    const conn = this.mesh.getConnections(peer).find(c => c.status === 'open')
    if (conn === undefined) return
    o.opening = true
    conn.newStream(BEAT_PROTOCOL, { signal: AbortSignal.timeout(this.init.timeoutMs) })
      .then(stream => {
        o.opening = false
        if (!this.started || this.out.get(key) !== o) {
          stream.abort(new Error('not needed'))
          return
        }
        o.stream = stream
        stream.addEventListener('close', () => { if (o.stream === stream) o.stream = undefined })
        try {
          this.init.onOpened?.(peer)
        } catch (err) {
          this.init.log('beat stream to %s: onOpened failed - %s', key, (err as Error).message)
        }
      }, (err: Error) => {
        o.opening = false
        if (err.name === 'UnsupportedProtocolError') o.unsupported = true
        this.init.log('beat stream to %s not opened - %s', key, err.message)
      })
  }

  /** one beat from `from`, on a stream or a link: within its rate, checked, then heard; throws InvalidPresenceError */
  private take (buf: Parameters<typeof beatFromWire>[0], from: string, bucket: TokenBucket): void {
    const now = Date.now()
    if (!bucket.take(now)) throw new InvalidPresenceError(`beat: ${from} sends more than ${BEATS_PER_SEC} beats a second`)
    const hb = beatFromWire(buf, from)
    this.lastBeat.set(from, now)
    this.init.onBeat(hb, buf.byteLength)
  }

  /** a beat on `from`'s data link; one that breaks the rules is refused (the link answers that it was not taken) */
  private fromLink (frame: Uint8Array, from: string): void {
    if (!this.started) return
    try {
      if (frame.byteLength > MAX_BEAT_BYTES) throw new InvalidPresenceError(`beat: ${frame.byteLength} bytes`)
      let bucket = this.linkBuckets.get(from)
      if (bucket === undefined) this.linkBuckets.set(from, bucket = new TokenBucket({ ratePerSec: BEATS_PER_SEC, burst: BEAT_BURST }))
      this.take(frame, from, bucket)
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      if (e instanceof MeshchatError) this.init.onInvalid(from, e)
      throw e
    }
  }

  private async read (stream: Stream, from: string): Promise<void> {
    this.inbound.add(stream)
    const bucket = new TokenBucket({ ratePerSec: BEATS_PER_SEC, burst: BEAT_BURST })
    try {
      for await (const buf of readFrames(stream, MAX_BEAT_BYTES, { frameTimeoutMs: this.init.timeoutMs, onStall: err => { stream.abort(err) } })) {
        this.take(buf, from, bucket)
      }
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      // what the peer sent broke the rules (a bad or oversize frame, too many beats, half a frame left
      // hanging); a stream that merely ended with its connection is not counted
      if (this.started && e instanceof MeshchatError) this.init.onInvalid(from, e)
      else this.init.log('beat stream from %s ended - %s', from, e.message)
      stream.abort(e)
    } finally {
      this.inbound.delete(stream)
    }
  }
}
