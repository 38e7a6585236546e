import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { TypedEventEmitter } from 'main-event'
import { LIMITS } from './defaults.js'
import { DisconnectedError, ErrorCode, MeshchatError, TimeoutError, errorFromCode } from './errors.js'
import { CLIENT_PROTOCOL, CLIENT_PROTOCOL_VERSION } from './protocol/ids.js'
import { decodeServerFrame, encodeClientFrame, readFrames } from './protocol/codec.js'
import { DeliveryKind, DmState } from './protocol/client.js'
import { idToHex, openEvent, signEvent } from './protocol/signing.js'
import { encodeDisplayName, validateRoom } from './protocol/validate.js'
import { loadOrCreateIdentity, memoryKeyStore } from './key-store.js'
import type { KeyStore } from './key-store.js'
import type { EventContent, OpenedEvent } from './protocol/signing.js'
import type { ClientFrame, ServerFrame, Welcome, NodeInfo, Delivery, RosterMember as WireMember, HistoryPage } from './protocol/client.js'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import type { Libp2pInit } from 'libp2p'

export type PresenceStatus = 'online' | 'away'
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed'

/** A room message as the application sees it. */
export interface ChatMessage {
  /** message id, hex */
  id: string
  room: string
  /** author user id */
  from: string
  /** author display name at send time */
  name: string
  text: string
  /** ingress HLC stamp: ordering key together with id */
  hlc: bigint
  /** author's clock at send time, ms */
  ts: number
  /** ingress node */
  origin: string
  /** how it arrived */
  via: 'live' | 'replay' | 'history'
}

/** A direct message. */
export interface DirectMessage {
  id: string
  from: string
  to: string
  name: string
  text: string
  hlc: bigint
  ts: number
  origin: string
  via: 'live' | 'mailbox'
}

export interface RosterMember {
  userId: string
  name: string
  status: PresenceStatus
  /** nodes hosting the user's devices */
  nodes: string[]
}

export interface UserState {
  userId: string
  online: boolean
  name: string
  status: PresenceStatus | ''
  nodes: string[]
}

export interface SendResult {
  id: string
  hlc: bigint
}

export interface DmResult extends SendResult {
  /** delivered to at least one device of the recipient, or queued in their mailbox */
  state: 'delivered' | 'queued'
  /** devices reached, or mailbox replicas holding it */
  copies: number
}

export interface HistoryResult {
  messages: ChatMessage[]
  /** more messages exist beyond this page */
  more: boolean
}

export interface HistoryCursor {
  hlc: bigint
  /** message id, hex */
  id: string
}

export interface WelcomeInfo {
  nodeId: string
  userId: string
  meshSize: number
  alternates: NodeInfo[]
  httpUrl: string
  /** the address this client is attached through */
  addr: string
}

export interface ChatClientEvents {
  /** a room message (live or replayed after a reconnect); each id at most once */
  message: CustomEvent<ChatMessage>
  /** a direct message to or from this user; each id at most once */
  dm: CustomEvent<DirectMessage>
  typing: CustomEvent<{ room: string, userId: string, name: string, active: boolean }>
  /** a room's full roster, after the snapshot and after every change */
  roster: CustomEvent<{ room: string, members: RosterMember[] }>
  'presence:join': CustomEvent<{ room: string, member: RosterMember }>
  'presence:leave': CustomEvent<{ room: string, userId: string }>
  'presence:update': CustomEvent<{ room: string, member: RosterMember }>
  /** a watched user's online state */
  user: CustomEvent<UserState>
  /** connection state changes */
  state: CustomEvent<{ state: ConnectionState, nodeId?: string, addr?: string }>
  welcome: CustomEvent<WelcomeInfo>
  /** the node moved this client elsewhere */
  redirect: CustomEvent<{ to: string, reason: string }>
  /** an error not tied to a call (a fatal frame, an event that failed verification) */
  error: CustomEvent<MeshchatError>
}

export interface ChatClientOptions {
  /** display name */
  name: string
  /** gateway multiaddrs (with /p2p/) of any node(s); tried in order */
  addrs: string[]
  /** the user's identity; otherwise loaded from (or created in) `keyStore` */
  privateKey?: PrivateKey
  /** where the identity key lives; default: memory only */
  keyStore?: KeyStore
  /** libp2p transports; default WebSockets (add TCP in Node via `client/src/node.ts`) */
  transports?: Libp2pInit['transports']
  /** reconnect after losing the node; default true */
  reconnect?: boolean
  /** reconnect backoff bounds; defaults 250 ms and 5 s */
  backoff?: { minMs: number, maxMs: number }
  /** per-request deadline; default 10 s */
  requestTimeoutMs?: number
  status?: PresenceStatus
  /** message ids remembered per room to drop duplicates after a resume; default 5,000 */
  dedupeWindow?: number
  /**
   * ask to be placed on the node that already hosts most of this client's
   * rooms (fewer nodes per room, less mesh traffic); default false: stay on
   * the node dialed unless it is full or overloaded
   */
  affinity?: boolean
  /** rooms to be in from the start: joined as soon as the client is attached (and named in the hello, for affinity) */
  rooms?: string[]
  /**
   * accept being moved to a lighter node when the one dialed is overloaded;
   * default true. With false the client stays where it dialed unless that node
   * is full.
   */
  redirect?: boolean
}

interface Pending {
  resolve: (f: ServerFrame) => void
  reject: (err: Error) => void
  timer: ReturnType<typeof setTimeout>
}

interface Outgoing {
  event: OpenedEvent
  resolve: (f: ServerFrame) => void
  reject: (err: Error) => void
}

interface RoomState {
  /** last (hlc, id) seen: where a resume starts */
  cursor?: { hlc: bigint, id: Uint8Array }
  seen: Set<string>
  roster: Map<string, RosterMember>
}

function toMember (m: WireMember): RosterMember {
  return { userId: m.userId, name: m.name, status: m.status === 'away' ? 'away' : 'online', nodes: m.nodes }
}

function hexToBytes (hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new MeshchatError(ErrorCode.INVALID_QUERY, 'message ids are 64 hex digits')
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

function compareCursor (a: { hlc: bigint, id: Uint8Array }, b: { hlc: bigint, id: Uint8Array }): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1
  const ha = idToHex(a.id)
  const hb = idToHex(b.id)
  return ha < hb ? -1 : ha > hb ? 1 : 0
}

function randomNonce (): Uint8Array {
  const n = new Uint8Array(LIMITS.nonceBytes)
  globalThis.crypto.getRandomValues(n)
  return n
}

/**
 * A meshchat client: attaches to any node's gateway over libp2p (WebSockets in
 * browsers, TCP or WebSockets in Node), proves the user's key through noise,
 * and keeps the session alive across node failures: it reconnects to another
 * node, rejoins its rooms from their cursors and retries unacknowledged sends
 * with the same message id, so the application sees no gap and no duplicate.
 */
export class ChatClient extends TypedEventEmitter<ChatClientEvents> {
  private readonly opts: Required<Omit<ChatClientOptions, 'privateKey' | 'keyStore' | 'transports' | 'rooms'>> & Pick<ChatClientOptions, 'privateKey' | 'keyStore' | 'transports' | 'rooms'>
  private key?: PrivateKey
  private node?: Libp2p
  private stream?: Stream
  private nextReq = 1
  private readonly pending = new Map<number, Pending>()
  private readonly outbox: Outgoing[] = []
  private readonly rooms = new Map<string, RoomState>()
  private readonly dmSeen = new Set<string>()
  private readonly dmAckQueue: Uint8Array[] = []
  private dmAckTimer?: ReturnType<typeof setTimeout>
  private watched: string[] = []
  private alternates: NodeInfo[] = []
  private _state: ConnectionState = 'idle'
  private _welcome?: WelcomeInfo
  private status: PresenceStatus
  private attempt = 0
  private connecting?: Promise<WelcomeInfo>
  private reconnectTimer?: ReturnType<typeof setTimeout>
  /** frames are handled strictly in order; verification is async */
  private inbound: Promise<void> = Promise.resolve()
  private limits = { maxEventBytes: LIMITS.maxEventBytes as number }
  private redirectTo?: string[]
  private preferred?: string[]
  /** set by disconnect({ reconnect: false }): stay offline until connect() */
  private paused = false
  /**
   * how far this device's clock is behind the node's (ms, from the welcome): events are signed with
   * the corrected time, since nodes refuse an author time far from their own stamp
   */
  private clockOffsetMs = 0

  constructor (opts: ChatClientOptions) {
    super()
    this.opts = {
      reconnect: true,
      backoff: { minMs: 250, maxMs: 5000 },
      requestTimeoutMs: 10_000,
      status: 'online',
      dedupeWindow: 5000,
      affinity: false,
      redirect: true,
      ...opts
    }
    this.status = this.opts.status
    for (const room of opts.rooms ?? []) this.rooms.set(validateRoom(room), { seen: new Set(), roster: new Map() })
  }

  /** the user id (PeerId string); available after connect() */
  get userId (): string {
    return this.node?.peerId.toString() ?? ''
  }

  get state (): ConnectionState {
    return this._state
  }

  /** the node this client is attached to */
  get nodeId (): string | undefined {
    return this._welcome?.nodeId
  }

  get welcomeInfo (): WelcomeInfo | undefined {
    return this._welcome
  }

  /** rooms this client has joined */
  get joined (): string[] {
    return [...this.rooms.keys()]
  }

  /** a room's current roster */
  roster (room: string): RosterMember[] {
    return [...(this.rooms.get(room)?.roster.values() ?? [])].sort((a, b) => a.userId < b.userId ? -1 : 1)
  }

  /** the resume cursor of a room (last message seen) */
  cursor (room: string): HistoryCursor | undefined {
    const c = this.rooms.get(room)?.cursor
    return c == null ? undefined : { hlc: c.hlc, id: idToHex(c.id) }
  }

  private setState (state: ConnectionState, addr?: string): void {
    this._state = state
    this.safeDispatchEvent('state', { detail: { state, nodeId: this._welcome?.nodeId, addr } })
  }

  /**
   * Attach to the first reachable node; resolves with the welcome. `addrs`
   * are tried before the configured addresses and the last welcome's
   * alternates. After a `disconnect({ reconnect: false })` this resumes: every
   * joined room is replayed from its cursor.
   */
  async connect (opts: { addrs?: string[] } = {}): Promise<WelcomeInfo> {
    this.paused = false
    if (opts.addrs != null) this.preferred = opts.addrs
    if (this._state === 'connected' && this._welcome != null) return this._welcome
    if (this.connecting != null) return this.connecting
    this.connecting = this.connectOnce(this._state === 'idle' ? 'connecting' : 'reconnecting')
    try {
      return await this.connecting
    } finally {
      this.connecting = undefined
    }
  }

  private async libp2p (): Promise<Libp2p> {
    if (this.node != null) return this.node
    this.key ??= this.opts.privateKey ?? await loadOrCreateIdentity(this.opts.keyStore ?? memoryKeyStore())
    this.node = await createLibp2p({
      privateKey: this.key,
      transports: this.opts.transports ?? [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // gateways sit on private and loopback addresses as often as on public ones
      connectionGater: { denyDialMultiaddr: () => false },
      connectionMonitor: { enabled: false }
    })
    return this.node
  }

  /** addresses to try: a redirect target first, then the configured ones, then the alternates of the last welcome */
  private candidates (): string[] {
    const list = [...(this.redirectTo ?? []), ...(this.preferred ?? []), ...this.opts.addrs, ...this.alternates.flatMap(a => a.addrs)]
    this.redirectTo = undefined
    this.preferred = undefined
    return [...new Set(list)]
  }

  private async connectOnce (state: ConnectionState): Promise<WelcomeInfo> {
    this.setState(state)
    const node = await this.libp2p()
    const noRedirect = this.redirectTo != null || state === 'reconnecting' || !this.opts.redirect
    let lastErr: Error = new DisconnectedError('no gateway address to connect to')
    for (const addr of this.candidates()) {
      if (this._state === 'closed') throw new DisconnectedError('client closed')
      let stream: Stream
      try {
        stream = await node.dialProtocol(multiaddr(addr), CLIENT_PROTOCOL, { signal: AbortSignal.timeout(this.opts.requestTimeoutMs) })
      } catch (err) {
        lastErr = err as Error
        continue
      }
      this.stream = stream
      this.inbound = Promise.resolve()
      void this.readLoop(stream)
      let reply: ServerFrame
      try {
        reply = await this.request({
          hello: {
            version: CLIENT_PROTOCOL_VERSION,
            name: encodeDisplayName(this.opts.name),
            status: this.status,
            dmCursor: 0n,
            rooms: [...this.rooms.keys()],
            noRedirect,
            affinity: this.opts.affinity
          }
        })
      } catch (err) {
        this.stream = undefined
        stream.abort(err as Error)
        if (err instanceof MeshchatError && err.code !== ErrorCode.NODE_FULL && err.code !== ErrorCode.DISCONNECTED && err.code !== ErrorCode.TIMEOUT) throw err
        lastErr = err as Error
        continue
      }
      if (reply.redirect?.to != null) {
        this.safeDispatchEvent('redirect', { detail: { to: reply.redirect.to.id, reason: reply.redirect.reason } })
        this.redirectTo = reply.redirect.to.addrs
        this.stream = undefined
        stream.abort(new Error('redirected'))
        return this.connectOnce(state)
      }
      const w = reply.welcome
      if (w == null) {
        this.stream = undefined
        stream.abort(new Error('no welcome'))
        continue
      }
      try {
        return await this.attached(w, addr)
      } catch (err) {
        this.stream = undefined
        stream.abort(err as Error)
        lastErr = err as Error
      }
    }
    this.setState(this.opts.reconnect && this._state !== 'closed' ? 'reconnecting' : 'idle')
    throw lastErr instanceof MeshchatError ? lastErr : new DisconnectedError(`could not reach any node: ${lastErr.message}`)
  }

  /** a join's reply: the room is up to date as of `head`, so a resume never starts earlier than that */
  private applyJoin (room: string, reply: ServerFrame): number {
    const st = this.rooms.get(room)
    const head = reply.replayDone?.head
    if (st != null && head != null && (st.cursor == null || compareCursor(head, st.cursor) > 0)) st.cursor = { hlc: head.hlc, id: head.id }
    return reply.replayDone?.count ?? 0
  }

  private async attached (w: Welcome, addr: string): Promise<WelcomeInfo> {
    this.attempt = 0
    this.alternates = w.alternates
    // the welcome left the node at most one round trip ago: good enough for a window of a minute
    if (w.time > 0n) this.clockOffsetMs = Number(w.time) - Date.now()
    if (w.limits != null) this.limits = { maxEventBytes: w.limits.maxEventBytes }
    this._welcome = { nodeId: w.nodeId, userId: w.userId, meshSize: w.meshSize, alternates: w.alternates, httpUrl: w.httpUrl, addr }
    // resume: every joined room from its cursor, in order, before anything new is sent
    for (const [room, st] of this.rooms) {
      try {
        this.applyJoin(room, await this.request({ join: { room, after: st.cursor as { hlc: bigint, id: Uint8Array<ArrayBuffer> } | undefined, backlog: 0 } }))
      } catch (err) {
        if (err instanceof DisconnectedError || err instanceof TimeoutError) throw err
        // the node refuses this room now (limits changed): report it, keep the rest of the session
        this.rooms.delete(room)
        this.safeDispatchEvent('error', { detail: err as MeshchatError })
      }
    }
    if (this.watched.length > 0) await this.request({ watch: { users: this.watched } })
    this.setState('connected', addr)
    this.safeDispatchEvent('welcome', { detail: this._welcome })
    this.flushOutbox()
    return this._welcome
  }

  private async readLoop (stream: Stream): Promise<void> {
    try {
      for await (const buf of readFrames(stream, LIMITS.maxServerFrameBytes)) {
        let frame: ServerFrame
        try {
          frame = decodeServerFrame(buf)
        } catch (err) {
          this.safeDispatchEvent('error', { detail: err as MeshchatError })
          continue
        }
        this.inbound = this.inbound.then(async () => this.onFrame(frame)).catch(err => {
          this.safeDispatchEvent('error', { detail: err instanceof MeshchatError ? err : new MeshchatError(ErrorCode.INTERNAL, String(err)) })
        })
      }
    } catch {
      // the stream broke; handled below like a close
    }
    await this.inbound
    if (this.stream !== stream) return
    this.stream = undefined
    this.failPending(new DisconnectedError('connection to the node was lost'))
    // while connect() is running it decides what comes next itself
    if (this.connecting == null) this.lost()
  }

  private failPending (err: Error): void {
    for (const [req, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(err)
      this.pending.delete(req)
    }
  }

  /** the stream to the node is gone */
  private lost (): void {
    if (this._state === 'closed') return
    if (!this.opts.reconnect || this.paused) {
      this.setState('idle')
      return
    }
    this.setState('reconnecting')
    this.scheduleReconnect()
  }

  private scheduleReconnect (): void {
    if (this.reconnectTimer != null || this._state === 'closed') return
    const { minMs, maxMs } = this.opts.backoff
    const delay = Math.min(maxMs, minMs * 2 ** this.attempt) * (0.75 + Math.random() / 2)
    this.attempt++
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      this.connect().catch(() => { this.scheduleReconnect() })
    }, this.attempt === 1 ? 0 : delay)
  }

  private async onFrame (f: ServerFrame): Promise<void> {
    if (f.req !== 0) {
      const p = this.pending.get(f.req)
      if (p != null) {
        this.pending.delete(f.req)
        clearTimeout(p.timer)
        if (f.error != null) p.reject(errorFromCode(f.error.code, f.error.message, f.error.retryAfterMs))
        else p.resolve(f)
        return
      }
    }
    if (f.delivery != null) {
      await this.onDelivery(f.delivery)
    } else if (f.roster != null) {
      const st = this.rooms.get(f.roster.room)
      if (st == null) return
      st.roster = new Map(f.roster.members.map(m => [m.userId, toMember(m)]))
      this.safeDispatchEvent('roster', { detail: { room: f.roster.room, members: this.roster(f.roster.room) } })
    } else if (f.rosterDiff != null) {
      const d = f.rosterDiff
      const st = this.rooms.get(d.room)
      if (st == null) return
      if (d.member == null) {
        if (!st.roster.delete(d.userId)) return
        this.safeDispatchEvent('presence:leave', { detail: { room: d.room, userId: d.userId } })
      } else {
        const m = toMember(d.member)
        const had = st.roster.has(m.userId)
        st.roster.set(m.userId, m)
        this.safeDispatchEvent(had ? 'presence:update' : 'presence:join', { detail: { room: d.room, member: m } })
      }
      this.safeDispatchEvent('roster', { detail: { room: d.room, members: this.roster(d.room) } })
    } else if (f.user != null) {
      const u = f.user
      this.safeDispatchEvent('user', { detail: { userId: u.userId, online: u.online, name: u.name, status: u.status === 'away' ? 'away' : u.online ? 'online' : '', nodes: u.nodes } })
    } else if (f.error != null) {
      const err = errorFromCode(f.error.code, f.error.message, f.error.retryAfterMs)
      this.safeDispatchEvent('error', { detail: err })
    }
  }

  private async onDelivery (d: Delivery): Promise<void> {
    let ev: OpenedEvent
    try {
      // verified again end to end: a node can neither forge nor alter a user's message
      ev = await openEvent(d.event, { maxEventBytes: this.limits.maxEventBytes })
    } catch (err) {
      this.safeDispatchEvent('error', { detail: err as MeshchatError })
      return
    }
    if (ev.kind === 'typing') {
      if (ev.author === this.userId || !this.rooms.has(ev.room ?? '')) return
      this.safeDispatchEvent('typing', { detail: { room: ev.room ?? '', userId: ev.author, name: ev.name, active: ev.active === true } })
      return
    }
    if (ev.kind === 'dm') {
      if (d.kind === DeliveryKind.MAILBOX) this.queueDmAck(ev.id)
      if (this.dmSeen.has(ev.idHex)) return
      this.remember(this.dmSeen, ev.idHex)
      this.safeDispatchEvent('dm', {
        detail: { id: ev.idHex, from: ev.author, to: ev.to ?? '', name: ev.name, text: ev.text ?? '', hlc: d.hlc, ts: ev.ts, origin: d.origin, via: d.kind === DeliveryKind.MAILBOX ? 'mailbox' : 'live' }
      })
      return
    }
    const room = ev.room ?? ''
    const st = this.rooms.get(room)
    if (st == null) return
    const pos = { hlc: d.hlc, id: ev.id }
    if (st.cursor == null || compareCursor(pos, st.cursor) > 0) st.cursor = pos
    if (st.seen.has(ev.idHex)) return
    this.remember(st.seen, ev.idHex)
    this.safeDispatchEvent('message', { detail: this.toMessage(ev, d, d.kind === DeliveryKind.REPLAY ? 'replay' : 'live') })
  }

  private toMessage (ev: OpenedEvent, d: Delivery, via: ChatMessage['via']): ChatMessage {
    return { id: ev.idHex, room: ev.room ?? '', from: ev.author, name: ev.name, text: ev.text ?? '', hlc: d.hlc, ts: ev.ts, origin: d.origin, via }
  }

  private remember (set: Set<string>, id: string): void {
    set.add(id)
    if (set.size > this.opts.dedupeWindow) {
      const oldest = set.values().next().value
      if (oldest !== undefined) set.delete(oldest)
    }
  }

  private queueDmAck (id: Uint8Array): void {
    this.dmAckQueue.push(id)
    this.dmAckTimer ??= setTimeout(() => {
      this.dmAckTimer = undefined
      const ids = this.dmAckQueue.splice(0, 1000)
      this.request({ dmAck: { ids: ids as Array<Uint8Array<ArrayBuffer>> } }).catch(() => {
        // not acknowledged: the node keeps the copies and delivers them again; they are dropped by id here
      })
    }, 50)
  }

  private async request (body: Omit<ClientFrame, 'req'>): Promise<ServerFrame> {
    const stream = this.stream
    if (stream == null || stream.writeStatus !== 'writable') throw new DisconnectedError('not connected')
    const req = this.nextReq++
    if (this.nextReq > 0xffffffff) this.nextReq = 1
    return new Promise<ServerFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req)
        reject(new TimeoutError(`no reply within ${this.opts.requestTimeoutMs} ms`))
      }, this.opts.requestTimeoutMs)
      this.pending.set(req, { resolve, reject, timer })
      try {
        stream.send(encodeClientFrame({ req, ...body }))
      } catch (err) {
        clearTimeout(timer)
        this.pending.delete(req)
        reject(new DisconnectedError(`send failed: ${(err as Error).message}`))
      }
    })
  }

  /** join a room; with `backlog`, the last messages arrive as `message` events (via 'replay') first */
  async join (room: string, opts: { backlog?: number } = {}): Promise<{ replayed: number }> {
    validateRoom(room)
    let st = this.rooms.get(room)
    const fresh = st == null
    if (st == null) this.rooms.set(room, st = { seen: new Set(), roster: new Map() })
    try {
      const reply = await this.request({ join: { room, after: st.cursor as { hlc: bigint, id: Uint8Array<ArrayBuffer> } | undefined, backlog: opts.backlog ?? 0 } })
      return { replayed: this.applyJoin(room, reply) }
    } catch (err) {
      if (fresh && !(err instanceof DisconnectedError)) this.rooms.delete(room)
      throw err
    }
  }

  async leave (room: string): Promise<void> {
    this.rooms.delete(room)
    await this.request({ leave: { room } })
  }

  private async sign (content: EventContent): Promise<OpenedEvent> {
    if (this.key == null) await this.libp2p()
    if (this.key == null) throw new DisconnectedError('no identity')
    return signEvent(this.key, this.opts.name, content, { now: Date.now() + this.clockOffsetMs, nonce: randomNonce(), maxEventBytes: this.limits.maxEventBytes })
  }

  /**
   * Send to a room. Resolves once the node has stored and published it. If
   * the connection drops first, the same signed event (same id) is sent again
   * after reconnecting, so a retry never creates a duplicate.
   */
  async send (room: string, text: string): Promise<SendResult> {
    if (!this.rooms.has(room)) validateRoom(room)
    const event = await this.sign({ kind: 'room', room, text })
    const ack = (await this.submit(event)).publishAck
    return { id: event.idHex, hlc: ack?.hlc ?? 0n }
  }

  /** send a direct message; resolves with delivered (a device has it) or queued (in the mailbox) */
  async dm (userId: string, text: string): Promise<DmResult> {
    const event = await this.sign({ kind: 'dm', to: userId, text })
    const ack = (await this.submit(event)).publishAck
    return {
      id: event.idHex,
      hlc: ack?.hlc ?? 0n,
      state: ack?.dm === DmState.QUEUED ? 'queued' : 'delivered',
      copies: ack?.copies ?? 0
    }
  }

  /** tell a room this user is (or stopped) typing; best effort, never retried */
  async typing (room: string, active = true): Promise<void> {
    const event = await this.sign({ kind: 'typing', room, active })
    await this.request({ publish: { event: event.bytes as Uint8Array<ArrayBuffer> } })
  }

  /** queue a signed event until it is acknowledged; survives reconnects */
  private async submit (event: OpenedEvent): Promise<ServerFrame> {
    if (this._state === 'idle' || this._state === 'closed') throw new DisconnectedError('not connected')
    return new Promise<ServerFrame>((resolve, reject) => {
      this.outbox.push({ event, resolve, reject })
      if (this._state === 'connected') this.flushOutbox()
    })
  }

  /** send every queued event in order; failures other than a lost connection reject the caller */
  private flushOutbox (): void {
    const batch = this.outbox.splice(0)
    for (const item of batch) {
      this.request({ publish: { event: item.event.bytes as Uint8Array<ArrayBuffer> } })
        .then(item.resolve)
        .catch(err => {
          if ((err instanceof DisconnectedError || err instanceof TimeoutError) && this.opts.reconnect && this._state !== 'closed') {
            // keep it, with the same id, for the next connection (or the next try on this one)
            this.outbox.push(item)
            if (err instanceof TimeoutError && this._state === 'connected') setTimeout(() => { this.flushOutbox() }, 0)
          } else {
            item.reject(err as Error)
          }
        })
    }
  }

  /** a page of a room's history, oldest first */
  async history (room: string, opts: { before?: HistoryCursor, after?: HistoryCursor, limit?: number } = {}): Promise<HistoryResult> {
    const c = (x?: HistoryCursor): { hlc: bigint, id: Uint8Array<ArrayBuffer> } | undefined =>
      x == null ? undefined : { hlc: x.hlc, id: hexToBytes(x.id) as Uint8Array<ArrayBuffer> }
    const reply = await this.request({ history: { room, before: c(opts.before), after: c(opts.after), limit: opts.limit ?? 50 } })
    const page: HistoryPage = reply.history ?? { room, events: [], more: false }
    const messages: ChatMessage[] = []
    for (const d of page.events) {
      try {
        const ev = await openEvent(d.event, { maxEventBytes: this.limits.maxEventBytes })
        if (ev.kind === 'room' && ev.room === room) messages.push(this.toMessage(ev, d, 'history'))
      } catch (err) {
        this.safeDispatchEvent('error', { detail: err as MeshchatError })
      }
    }
    return { messages, more: page.more }
  }

  /** follow these users' online state (replaces the previous list); resolves with their current state */
  async watch (users: string[]): Promise<UserState[]> {
    this.watched = [...new Set(users)]
    const states: UserState[] = []
    const collect = (evt: CustomEvent<UserState>): void => { states.push(evt.detail) }
    this.addEventListener('user', collect)
    try {
      await this.request({ watch: { users: this.watched } })
      await this.inbound
    } finally {
      this.removeEventListener('user', collect)
    }
    return states
  }

  async setStatus (status: PresenceStatus): Promise<void> {
    this.status = status
    await this.request({ status: { status } })
  }

  /** round trip to the node, ms */
  async ping (): Promise<number> {
    const start = Date.now()
    await this.request({ ping: { time: BigInt(start) } })
    return Date.now() - start
  }

  /**
   * Drop the connection without closing the client, as a network failure
   * would: the client reconnects (to the same or another node) and resumes.
   * With `reconnect: false` it stays offline, keeping its rooms and cursors,
   * until `connect()` is called.
   */
  disconnect (opts: { reconnect?: boolean } = {}): void {
    if (opts.reconnect === false) {
      this.paused = true
      clearTimeout(this.reconnectTimer)
      this.reconnectTimer = undefined
    }
    this.stream?.abort(new Error('disconnected by the application'))
  }

  /** close for good: no reconnect; unacknowledged sends are rejected */
  async close (): Promise<void> {
    if (this._state === 'closed') return
    this.setState('closed')
    clearTimeout(this.reconnectTimer)
    clearTimeout(this.dmAckTimer)
    for (const item of this.outbox.splice(0)) item.reject(new DisconnectedError('client closed'))
    const stream = this.stream
    this.stream = undefined
    if (stream != null) await stream.close({ signal: AbortSignal.timeout(1000) }).catch(() => { stream.abort(new Error('closing')) })
    this.failPending(new DisconnectedError('client closed'))
    await this.node?.stop()
  }
}
