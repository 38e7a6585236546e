import { TypedEventEmitter } from 'main-event'
import { LIMITS, carriesEphemeral } from './protocol/limits.js'
import { useWebCryptoEd25519 } from './protocol/ed25519-webcrypto.js'
import { DisconnectedError, ErrorCode, MeshchatError, RateLimitedError, TimeoutError, errorFromCode } from './protocol/errors.js'
import { Connection } from './connection.js'
import { CLIENT_PROTOCOL_VERSION } from './protocol/ids.js'
import { DeliveryKind, DmState } from './protocol/pb/client.js'
import { idToHex, openEvent, signEvent } from './protocol/signing.js'
import { cursorOf, positionOf } from './cursor.js'
import { randomNonce } from './random.js'
import { encodeDisplayName, validateRoom } from './protocol/validate.js'
import { loadOrCreateIdentity, memoryKeyStore } from './key-store.js'
import { RoomState, SeenIds } from './room-state.js'
import type { Position } from './room-state.js'
import { webSocketTransport } from './transports/websocket.js'
import { userIdOf } from './protocol/keys.js'
import { conversationId } from './protocol/conversation.js'
import type { SigningKey } from './protocol/keys.js'
import type { EventContent, OpenedEvent } from './protocol/signing.js'
import type { ClientFrame, ServerFrame, Welcome, NodeInfo, Delivery, HistoryPage } from './protocol/pb/client.js'
import type { ClientTransport, FrameChannel } from './transport.js'
import type {
  ChatClientEvents, ChatClientOptions, ChatMessage, ConnectionState, DirectMessage, DmHistoryResult, DmResult, HistoryCursor, HistoryResult,
  PresenceStatus, ReadPosition, ReadReceipt, RosterMember, SendResult, UserState, WelcomeInfo
} from './types.js'

export type * from './types.js'

interface Outgoing {
  event: OpenedEvent
  /** what it says, to sign it again while it has never left this client */
  content: EventContent
  /** handed to a connection at least once: a node may hold it, so it keeps its bytes and id */
  sent: boolean
  resolve: (r: { frame: ServerFrame, event: OpenedEvent }) => void
  reject: (err: Error) => void
}

/** conversations whose newest cursor the client keeps */
const MAX_DM_CURSORS = 1000
/** conversations caught up from their history after a reconnect (each costs one history request) */
const RESUMED_DMS = 10
/** a resume whose replay the node cuts short at its limit continues from the last event, this many times at most */
const MAX_REPLAY_PAGES = 100
/** tries of one room's resume the node answers with RATE_LIMITED (each after the wait it names) */
const RESUME_RATE_LIMITED_ATTEMPTS = 8
/** tries of a history page the node answers with RATE_LIMITED (each after the wait it names) */
const PACED_ATTEMPTS = 8

type Options = Required<Omit<ChatClientOptions, 'privateKey' | 'keyStore' | 'transports' | 'rooms'>> & Pick<ChatClientOptions, 'privateKey' | 'keyStore' | 'transports' | 'rooms'>

/**
 * A roster event's detail: the member list is made when a listener reads it (a room filling up sends
 * one event per member, and most listeners never look at the whole list), once per event.
 */
function rosterDetail (room: string, st: RoomState, snapshot: boolean): { room: string, members: RosterMember[], partial: boolean, count: number, snapshot: boolean } {
  let members: RosterMember[] | undefined
  return {
    room,
    partial: st.partial,
    count: st.count,
    snapshot,
    get members (): RosterMember[] {
      members ??= st.members()
      return members
    }
  }
}

/**
 * A transport's dial with a deadline: a timer cleared when the dial ends, aborting the dial's signal
 * as `AbortSignal.timeout` would (its reason a TimeoutError DOMException). `AbortSignal.timeout` keeps
 * its timer behind a weak reference and a finalizer, which cost more than the rest of a light-edge
 * connect's own bookkeeping; the deadline has no use once the dial has ended.
 */
async function dialWithin (transport: ClientTransport, addr: string, key: SigningKey, ms: number): Promise<FrameChannel> {
  const ac = new AbortController()
  const timer = setTimeout(() => { ac.abort(new DOMException(`no connection to ${addr} within ${ms} ms`, 'TimeoutError')) }, ms)
  try {
    return await transport.dial(addr, key, ac.signal)
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A meshchat client: attaches to any node, proves the user's key, and keeps
 * the session alive across node failures: it reconnects to another node,
 * rejoins its rooms from their cursors and retries unacknowledged sends with
 * the same message id, so the application sees no gap and no duplicate.
 *
 * The parts: a transport reaches a node (transport.ts), a Connection matches
 * requests to replies over it (connection.ts), RoomState keeps each room's
 * cursor, dedupe window and roster (room-state.ts); this class is the policy
 * on top (reconnects, resume, the outbox) and the public API.
 */
export class ChatClient extends TypedEventEmitter<ChatClientEvents> {
  private readonly opts: Options
  private key?: SigningKey
  /** userId of `key`, once asked for */
  private ownId?: string
  private readonly transports: ClientTransport[]
  private conn?: Connection
  private readonly outbox: Outgoing[] = []
  private readonly rooms = new Map<string, RoomState>()
  private readonly dmSeen: SeenIds
  private readonly dmAckQueue: Uint8Array[] = []
  /** read positions by room ('#' + room) or DM peer ('@' + user id), then by reader */
  private readonly reads = new Map<string, Map<string, ReadPosition>>()
  /** the newest DM cursor seen per conversation, by peer */
  private readonly dmCursors = new Map<string, string>()
  /** the last position this device sent a receipt for, by the same keys */
  private readonly readSent = new Map<string, string>()
  private dmAckTimer?: ReturnType<typeof setTimeout>
  private watched: string[] = []
  private alternates: NodeInfo[] = []
  private _state: ConnectionState = 'idle'
  private _welcome?: WelcomeInfo
  private status: PresenceStatus
  private attempt = 0
  private connecting?: Promise<WelcomeInfo>
  private reconnectTimer?: ReturnType<typeof setTimeout>
  private limits = { maxEventBytes: LIMITS.maxEventBytes as number, resumeSlackMs: 0 }
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
    // event checks on the platform's native Ed25519 where it has one (browsers); Node programs install their own first
    void useWebCryptoEd25519()
    this.opts = {
      reconnect: true,
      backoff: { minMs: 250, maxMs: 5000 },
      requestTimeoutMs: 10_000,
      status: 'online',
      dedupeWindow: 5000,
      affinity: false,
      redirect: true,
      receipts: true,
      ...opts
    }
    this.status = this.opts.status
    this.dmSeen = new SeenIds(this.opts.dedupeWindow)
    this.transports = opts.transports ?? [webSocketTransport()]
    for (const room of opts.rooms ?? []) this.rooms.set(validateRoom(room), new RoomState(this.opts.dedupeWindow))
  }

  /** the user id (PeerId string); available after connect() */
  get userId (): string {
    if (this.key == null) return ''
    // asked for every event received (is it this user's own?): the key's base58 form is made once
    this.ownId ??= userIdOf(this.key.publicKey.raw)
    return this.ownId
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
    return this.rooms.get(room)?.members() ?? []
  }

  /** whether the room has more members than its roster holds (a big room's snapshot carries `LIMITS.maxRosterSnapshot`) */
  rosterPartial (room: string): boolean {
    return this.rooms.get(room)?.partial ?? false
  }

  /** how many members a room has, as the node counts them: more than `roster(room)` holds when the roster is partial */
  rosterCount (room: string): number {
    return this.rooms.get(room)?.count ?? 0
  }

  /** the resume cursor of a room (last message seen) */
  cursor (room: string): HistoryCursor | undefined {
    const c = this.rooms.get(room)?.cursor
    return c == null ? undefined : cursorOf(c)
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

  /**
   * Attach and stay attached: like connect(), but while no node can be
   * reached it keeps trying with the reconnect backoff, so an application
   * needs no retry loop of its own. Rejects only with refusals that trying
   * again cannot fix (a display name or protocol version the node does not
   * accept), or when the client is closed.
   */
  async start (opts: { addrs?: string[] } = {}): Promise<WelcomeInfo> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.connect(attempt === 0 ? opts : {})
      } catch (err) {
        const transient = err instanceof DisconnectedError || err instanceof TimeoutError ||
          (err instanceof MeshchatError && (err.code === ErrorCode.NODE_FULL || err.code === ErrorCode.UNAVAILABLE))
        if (!transient || this._state === 'closed') throw err
        this.setState('reconnecting')
        const { minMs, maxMs } = this.opts.backoff
        await new Promise(resolve => setTimeout(resolve, Math.min(maxMs, minMs * 2 ** attempt) * (0.75 + Math.random() / 2)))
        if ((this._state as ConnectionState) === 'closed') throw new DisconnectedError('client closed')
      }
    }
  }

  private async identity (): Promise<SigningKey> {
    this.key ??= this.opts.privateKey ?? await loadOrCreateIdentity(this.opts.keyStore ?? memoryKeyStore())
    return this.key
  }

  /** addresses to try: a redirect target first, then the configured ones, then the alternates of the last welcome */
  private candidates (): string[] {
    const list = [...(this.redirectTo ?? []), ...(this.preferred ?? []), ...this.opts.addrs, ...this.alternates.flatMap(a => a.addrs)]
    this.redirectTo = undefined
    this.preferred = undefined
    return [...new Set(list)].filter(a => this.transports.some(t => t.handles(a)))
  }

  private open (channel: Connection['channel']): Connection {
    const conn: Connection = new Connection(channel, {
      requestTimeoutMs: this.opts.requestTimeoutMs,
      onFrame: async f => { await this.onFrame(f) },
      onError: err => { this.safeDispatchEvent('error', { detail: err }) },
      onClose: () => {
        if (this.conn !== conn) return
        this.conn = undefined
        // while connect() is running it decides what comes next itself
        if (this.connecting == null) this.lost()
      }
    })
    return conn
  }

  private async connectOnce (state: ConnectionState): Promise<WelcomeInfo> {
    this.setState(state)
    const key = await this.identity()
    const noRedirect = this.redirectTo != null || state === 'reconnecting' || !this.opts.redirect
    // made only when every address failed: an error's stack trace costs more than the rest of a connect
    let lastErr: Error | undefined
    for (const addr of this.candidates()) {
      if (this._state === 'closed') throw new DisconnectedError('client closed')
      const transport = this.transports.find(t => t.handles(addr))
      if (transport == null) continue
      let conn: Connection
      try {
        conn = this.open(await dialWithin(transport, addr, key, this.opts.requestTimeoutMs))
      } catch (err) {
        lastErr = err as Error
        continue
      }
      this.conn = conn
      let reply: ServerFrame
      try {
        reply = await conn.request({
          hello: {
            version: CLIENT_PROTOCOL_VERSION,
            name: encodeDisplayName(this.opts.name),
            status: this.status,
            rooms: [...this.rooms.keys()],
            noRedirect,
            affinity: this.opts.affinity
          }
        })
      } catch (err) {
        this.drop(conn, err as Error)
        // a full or draining node (UNAVAILABLE): the next address may take the client
        if (err instanceof MeshchatError && err.code !== ErrorCode.NODE_FULL && err.code !== ErrorCode.UNAVAILABLE && err.code !== ErrorCode.DISCONNECTED && err.code !== ErrorCode.TIMEOUT) throw err
        lastErr = err as Error
        continue
      }
      if (reply.redirect?.to != null) {
        this.safeDispatchEvent('redirect', { detail: { to: reply.redirect.to.id, reason: reply.redirect.reason } })
        this.redirectTo = reply.redirect.to.addrs
        this.drop(conn, new Error('redirected'))
        return this.connectOnce(state)
      }
      const w = reply.welcome
      if (w == null) {
        this.drop(conn, new Error('no welcome'))
        continue
      }
      try {
        return await this.attached(conn, w, addr)
      } catch (err) {
        this.drop(conn, err as Error)
        lastErr = err as Error
      }
    }
    this.setState(this.opts.reconnect && this._state !== 'closed' ? 'reconnecting' : 'idle')
    if (lastErr == null) throw new DisconnectedError('no gateway address to connect to')
    throw lastErr instanceof MeshchatError ? lastErr : new DisconnectedError(`could not reach any node: ${lastErr.message}`)
  }

  private drop (conn: Connection, err: Error): void {
    if (this.conn === conn) this.conn = undefined
    conn.channel.abort(err)
  }

  /** a join's reply: the room is up to date as of `head`, so a resume never starts earlier than that */
  private applyJoin (room: string, reply: ServerFrame): number {
    const head = reply.replayDone?.head
    const st = this.rooms.get(room)
    if (head != null) st?.advance(head)
    st?.noteStable(reply.replayDone?.stable ?? 0n)
    return reply.replayDone?.count ?? 0
  }

  private async attached (conn: Connection, w: Welcome, addr: string): Promise<WelcomeInfo> {
    this.attempt = 0
    this.alternates = w.alternates
    if (w.limits != null) this.limits = { maxEventBytes: w.limits.maxEventBytes, resumeSlackMs: w.limits.resumeSlackMs }
    // the welcome left the node at most one round trip ago: good enough for a window of a minute
    if (w.time > 0n) this.clockOffsetMs = Number(w.time) - Date.now()
    this._welcome = { nodeId: w.nodeId, userId: w.userId, meshSize: w.meshSize, alternates: w.alternates, httpUrl: w.httpUrl, addr }
    // resume: every joined room from its cursor, in order, before anything new is sent
    for (const [room, st] of this.rooms) {
      try {
        let from = st.resumeFrom()
        for (let attempt = 1, pages = 1; ; attempt++) {
          try {
            const reply = await conn.request({ join: this.joinFrame(room, st, from, 0) })
            this.applyJoin(room, reply)
            // the replay stopped at the node's limit: the rest, from the last event replayed
            if (reply.replayDone?.more !== true || st.cursor == null || ++pages > MAX_REPLAY_PAGES) break
            from = st.cursor
            attempt = 0
          } catch (err) {
            // a long absence replays a lot, and the node meters what it sends back: wait as told, then go on
            if (!(err instanceof RateLimitedError) || attempt >= RESUME_RATE_LIMITED_ATTEMPTS) throw err
            await new Promise(resolve => setTimeout(resolve, Math.min(Math.max(err.retryAfterMs, 50), 30_000)))
            if (!conn.open) throw new DisconnectedError('connection lost while resuming')
          }
        }
      } catch (err) {
        if (err instanceof DisconnectedError || err instanceof TimeoutError) throw err
        // the node refuses this room now (limits changed): report it, keep the rest of the session
        this.rooms.delete(room)
        this.safeDispatchEvent('error', { detail: err as MeshchatError })
      }
    }
    if (this.watched.length > 0) await conn.request({ watch: { users: this.watched } })
    await this.signUnsentAgain()
    this.setState('connected', addr)
    this.safeDispatchEvent('welcome', { detail: this._welcome })
    this.flushOutbox()
    this.resumeDms()
    return this._welcome
  }

  /**
   * After a reconnect: the DMs of the conversations this client has seen that
   * arrived while it was away (another device of the user took them live, so
   * no mailbox kept them), from each conversation's history, as `dm` events.
   * The most recently active conversations only (RESUMED_DMS), best effort.
   */
  private resumeDms (): void {
    const peers = [...this.dmCursors.keys()].slice(-RESUMED_DMS)
    void (async () => {
      for (const peer of peers) {
        if (this._state !== 'connected') return
        try {
          for (const m of (await this.dmHistory(peer, { after: this.dmCursors.get(peer), limit: 100 })).messages) {
            if (this.dmSeen.add(m.id)) this.safeDispatchEvent('dm', { detail: m })
          }
        } catch {
          // the next reconnect tries again; the conversation's history has it meanwhile
        }
      }
    })()
  }

  /** the channel to the node is gone */
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
    if (f.delivery != null) {
      await this.onDelivery(f.delivery)
    } else if (f.roster != null) {
      const st = this.rooms.get(f.roster.room)
      if (st == null) return
      st.setRoster(f.roster.members, f.roster.partial === true, f.roster.count)
      this.safeDispatchEvent('roster', { detail: rosterDetail(f.roster.room, st, true) })
    } else if (f.rosterDiff != null) {
      const d = f.rosterDiff
      const st = this.rooms.get(d.room)
      if (st == null) return
      const change = st.applyDiff(d.userId, d.member, d.count)
      if (change == null) return
      if (change.kind === 'leave') this.safeDispatchEvent('presence:leave', { detail: { room: d.room, userId: d.userId } })
      else this.safeDispatchEvent(change.kind === 'update' ? 'presence:update' : 'presence:join', { detail: { room: d.room, member: change.member } })
      this.safeDispatchEvent('roster', { detail: rosterDetail(d.room, st, false) })
    } else if (f.user != null) {
      const u = f.user
      this.safeDispatchEvent('user', { detail: { userId: u.userId, online: u.online, name: u.name, status: u.status === 'away' ? 'away' : u.online ? 'online' : '', nodes: u.nodes } })
    } else if (f.error != null) {
      this.safeDispatchEvent('error', { detail: errorFromCode(f.error.code, f.error.message, f.error.retryAfterMs) })
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
    if (ev.kind === 'receipt') {
      this.onReceipt(ev)
      return
    }
    if (ev.kind === 'dm') {
      // acked live or from the mailbox: a node keeps a live DM until the device says it has it, and sends
      // it to the mailbox if the connection ends first (a write just before a drop is lost)
      this.queueDmAck(ev.id)
      if (!this.dmSeen.add(ev.idHex)) return
      const cursor = cursorOf({ hlc: d.hlc, id: ev.id })
      this.advanceDm(ev.author === this.userId ? ev.to ?? '' : ev.author, cursor)
      this.safeDispatchEvent('dm', {
        detail: { id: ev.idHex, from: ev.author, to: ev.to ?? '', name: ev.name, text: ev.text ?? '', cursor, ts: ev.ts, origin: d.origin, via: d.kind === DeliveryKind.MAILBOX ? 'mailbox' : 'live' }
      })
      return
    }
    const st = this.rooms.get(ev.room ?? '')
    if (st == null) return
    if (d.kind === DeliveryKind.LIVE) st.noteStable(d.stable)
    if (!st.accept({ hlc: d.hlc, id: ev.id }, ev.idHex)) return
    this.safeDispatchEvent('message', { detail: this.toMessage(ev, d, d.kind === DeliveryKind.REPLAY ? 'replay' : 'live') })
  }

  /** a verified receipt: kept as the reader's position when it moves forward, then shown */
  private onReceipt (ev: OpenedEvent): void {
    if (ev.read == null) return
    let key: string
    const detail: ReadReceipt = { userId: ev.author, name: ev.name, id: idToHex(ev.read.id), cursor: cursorOf(ev.read) }
    if (ev.room != null) {
      if (!this.rooms.has(ev.room)) return
      key = '#' + ev.room
      detail.room = ev.room
    } else {
      // a DM receipt concerns this user's conversation with its other participant
      const peer = ev.author === this.userId ? ev.to : ev.to === this.userId ? ev.author : undefined
      if (peer == null) return
      key = '@' + peer
      detail.peer = peer
    }
    let byUser = this.reads.get(key)
    if (byUser == null) this.reads.set(key, byUser = new Map())
    const before = byUser.get(ev.author)
    if (before != null && before.cursor >= detail.cursor) return
    byUser.set(ev.author, { userId: ev.author, name: ev.name, cursor: detail.cursor })
    // this device's own receipt coming back is not news; another device of the same user's is
    const own = ev.author === this.userId && (this.readSent.get(key) ?? '') >= detail.cursor
    if (!own) this.safeDispatchEvent('receipt', { detail })
  }

  private toMessage (ev: OpenedEvent, d: Delivery, via: ChatMessage['via']): ChatMessage {
    return { id: ev.idHex, room: ev.room ?? '', from: ev.author, name: ev.name, text: ev.text ?? '', cursor: cursorOf({ hlc: d.hlc, id: ev.id }), ts: ev.ts, origin: d.origin, via }
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
    const conn = this.conn
    if (conn == null) throw new DisconnectedError('not connected')
    return conn.request(body)
  }

  /**
   * A join: a resume from `after` (with what this client holds of the window before it, so the node
   * need not send that again), or a fresh join with `backlog`.
   */
  private joinFrame (room: string, st: RoomState, after: Position | undefined, backlog: number): { room: string, after?: { hlc: bigint, id: Uint8Array<ArrayBuffer> }, backlog: number, have?: Uint8Array<ArrayBuffer>, haveFrom?: bigint } {
    if (after == null) return { room, backlog }
    return { room, after: after as { hlc: bigint, id: Uint8Array<ArrayBuffer> }, backlog, ...st.have(after, this.limits.resumeSlackMs) }
  }

  /** join a room; with `backlog`, the last messages arrive as `message` events (via 'replay') first */
  async join (room: string, opts: { backlog?: number } = {}): Promise<{ replayed: number }> {
    validateRoom(room)
    let st = this.rooms.get(room)
    const fresh = st == null
    if (st == null) this.rooms.set(room, st = new RoomState(this.opts.dedupeWindow))
    try {
      let reply = await this.request({ join: this.joinFrame(room, st, st.resumeFrom(), opts.backlog ?? 0) })
      let replayed = this.applyJoin(room, reply)
      // a rejoin whose replay stopped at the node's limit: the rest, from the last event replayed
      for (let pages = 1; reply.replayDone?.more === true && st.cursor != null && pages < MAX_REPLAY_PAGES; pages++) {
        reply = await this.request({ join: this.joinFrame(room, st, st.cursor, 0) })
        replayed += this.applyJoin(room, reply)
      }
      return { replayed }
    } catch (err) {
      if (fresh && !(err instanceof DisconnectedError)) this.rooms.delete(room)
      throw err
    }
  }

  async leave (room: string): Promise<void> {
    this.rooms.delete(room)
    this.reads.delete('#' + room)
    this.readSent.delete('#' + room)
    await this.request({ leave: { room } })
  }

  private async sign (content: EventContent): Promise<OpenedEvent> {
    const key = await this.identity()
    return signEvent(key, this.opts.name, content, { now: Date.now() + this.clockOffsetMs, nonce: randomNonce(), maxEventBytes: this.limits.maxEventBytes })
  }

  /**
   * Send to a room. Resolves once the node has stored and published it. If
   * the connection drops first, the same signed event (same id) is sent again
   * after reconnecting, so a retry never creates a duplicate. A message sent
   * while no node is attached waits, and is signed again when it first leaves
   * (no node has seen its first id): its author time is when it went out, so
   * the node's stamp follows it at once, as for any message sent online.
   */
  async send (room: string, text: string): Promise<SendResult> {
    if (!this.rooms.has(room)) validateRoom(room)
    const content: EventContent = { kind: 'room', room, text }
    const { frame, event } = await this.submit(await this.sign(content), content)
    const ack = frame.publishAck
    return { id: event.idHex, cursor: cursorOf({ hlc: ack?.hlc ?? 0n, id: event.id }) }
  }

  /** send a direct message; resolves with delivered (a device has it) or queued (in the mailbox) */
  async dm (userId: string, text: string): Promise<DmResult> {
    const content: EventContent = { kind: 'dm', to: userId, text }
    const { frame, event } = await this.submit(await this.sign(content), content)
    const ack = frame.publishAck
    const cursor = cursorOf({ hlc: ack?.hlc ?? 0n, id: event.id })
    this.advanceDm(userId, cursor)
    return {
      id: event.idHex,
      cursor,
      state: ack?.dm === DmState.QUEUED ? 'queued' : 'delivered',
      copies: ack?.copies ?? 0
    }
  }

  /**
   * tell a room this user is (or stopped) typing; best effort, never retried, and not sent to a room
   * of more than `LIMITS.maxTypingRoom` members (each notice would go to every member)
   */
  async typing (room: string, active = true): Promise<void> {
    if (!carriesEphemeral('typing', this.rooms.get(room)?.count ?? 0)) return
    const event = await this.sign({ kind: 'typing', room, active })
    await this.request({ publish: { event: event.bytes as Uint8Array<ArrayBuffer> } })
  }

  /**
   * queue a signed event until it is acknowledged; survives reconnects. Resolves with the node's
   * answer and the event as it went out (signed again if it waited for a connection)
   */
  private async submit (event: OpenedEvent, content: EventContent): Promise<{ frame: ServerFrame, event: OpenedEvent }> {
    if (this._state === 'idle' || this._state === 'closed') throw new DisconnectedError('not connected')
    return new Promise((resolve, reject) => {
      this.outbox.push({ event, content, sent: false, resolve, reject })
      if (this._state === 'connected') this.flushOutbox()
    })
  }

  /**
   * Sign again, in order, the queued events that never left this client, now that a node is attached
   * and the clock is set by its welcome. Signed when they were written, they would reach the node
   * with an author time long past, and every honest stamp of them would be late: a peer holding the
   * mesh key could then stamp them later still, or earlier, behind the cursors of devices that were
   * away meanwhile (the stamp that is prompt, close to the author time, wins).
   */
  private async signUnsentAgain (): Promise<void> {
    // the outbox as it grows: what is sent meanwhile is queued here too, and signed in its turn
    for (let i = 0; i < this.outbox.length; i++) {
      const item = this.outbox[i] as Outgoing
      if (item.sent) continue
      try {
        item.event = await this.sign(item.content)
      } catch {
        // it was signed once already: it goes out as it was
      }
    }
  }

  /** send every queued event in order; failures other than a lost connection reject the caller */
  private flushOutbox (): void {
    const batch = this.outbox.splice(0)
    for (const item of batch) {
      item.sent = true
      this.request({ publish: { event: item.event.bytes as Uint8Array<ArrayBuffer> } })
        .then(frame => { item.resolve({ frame, event: item.event }) })
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

  /**
   * A request the node meters by what it sends back (history pages): when the node says
   * RATE_LIMITED, wait as told and ask again, a few times, so paging back through a long history
   * slows down instead of failing.
   */
  private async paced (frame: Parameters<ChatClient['request']>[0]): Promise<ServerFrame> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request(frame)
      } catch (err) {
        if (!(err instanceof RateLimitedError) || attempt >= PACED_ATTEMPTS || this._state === 'closed') throw err
        await new Promise(resolve => setTimeout(resolve, Math.min(Math.max(err.retryAfterMs, 50), 30_000)))
      }
    }
  }

  /** a page of a room's history, oldest first */
  async history (room: string, opts: { before?: HistoryCursor, after?: HistoryCursor, limit?: number } = {}): Promise<HistoryResult> {
    const c = (x?: HistoryCursor): { hlc: bigint, id: Uint8Array<ArrayBuffer> } | undefined => x == null ? undefined : positionOf(x)
    const reply = await this.paced({ history: { room, before: c(opts.before), after: c(opts.after), limit: opts.limit ?? 50 } })
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

  /**
   * A page of this user's DM conversation with `peer`, oldest first: the
   * conversation's history is kept on the mesh, so it survives reloads and is
   * the same on every device. Page back with `before` (the oldest message's
   * cursor), resume with `after` (the newest one's).
   */
  async dmHistory (peer: string, opts: { before?: HistoryCursor, after?: HistoryCursor, limit?: number } = {}): Promise<DmHistoryResult> {
    const key = await this.identity()
    const conversation = conversationId(userIdOf(key.publicKey.raw), peer)
    const c = (x?: HistoryCursor): { hlc: bigint, id: Uint8Array<ArrayBuffer> } | undefined => x == null ? undefined : positionOf(x)
    const reply = await this.paced({ dmHistory: { conversation, before: c(opts.before), after: c(opts.after), limit: opts.limit ?? 50 } })
    const page: HistoryPage = reply.dmHistory ?? { room: conversation, events: [], more: false }
    const messages: DirectMessage[] = []
    for (const d of page.events) {
      try {
        const ev = await openEvent(d.event, { maxEventBytes: this.limits.maxEventBytes })
        // only what belongs to this conversation: a node cannot slip in anything else
        if (ev.kind !== 'dm' || conversationId(ev.author, ev.to ?? '') !== conversation) continue
        const cursor = cursorOf({ hlc: d.hlc, id: ev.id })
        this.advanceDm(peer, cursor)
        messages.push({ id: ev.idHex, from: ev.author, to: ev.to ?? '', name: ev.name, text: ev.text ?? '', cursor, ts: ev.ts, origin: d.origin, via: 'history' })
      } catch (err) {
        this.safeDispatchEvent('error', { detail: err as MeshchatError })
      }
    }
    return { messages, more: page.more }
  }

  /**
   * Tell the room this user has read up to the message at `cursor` (a
   * ChatMessage's cursor). Sent only when it moves this device's position
   * forward, and not at all with the `receipts: false` option or in a room of
   * more than `LIMITS.maxReceiptRoom` members (each receipt would go to every
   * member). Ephemeral: not retried, not stored. A message the node does not
   * know there is refused (UnknownEventError).
   */
  async read (room: string, cursor: HistoryCursor): Promise<void> {
    validateRoom(room)
    // a room past LIMITS.maxReceiptRoom members carries no receipts: the node would drop it
    if (!carriesEphemeral('receipt', this.rooms.get(room)?.count ?? 0)) return
    await this.sendReceipt('#' + room, { room }, cursor)
  }

  /** the same as `read`, for the DM conversation with `peer` (a DirectMessage's cursor) */
  async readDm (peer: string, cursor: HistoryCursor): Promise<void> {
    await this.sendReceipt('@' + peer, { peer }, cursor)
  }

  private async sendReceipt (key: string, target: { room?: string, peer?: string }, cursor: HistoryCursor): Promise<void> {
    const pos = positionOf(cursor)
    if (!this.opts.receipts) return
    const last = this.readSent.get(key)
    if (last != null && last >= cursor) return
    const event = await this.sign({ kind: 'receipt', ...target, id: pos.id, hlc: pos.hlc })
    this.readSent.set(key, cursor)
    try {
      await this.request({ publish: { event: event.bytes as Uint8Array<ArrayBuffer> } })
    } catch (err) {
      if (this.readSent.get(key) === cursor) {
        if (last == null) this.readSent.delete(key)
        else this.readSent.set(key, last)
      }
      throw err
    }
  }

  /**
   * the newest DM of the conversation with `peer` this client has seen (live,
   * from the mailbox, sent, or in a history page): `dmHistory(peer, { after })`
   * from it fetches what this device missed
   */
  dmCursor (peer: string): HistoryCursor | undefined {
    return this.dmCursors.get(peer)
  }

  private advanceDm (peer: string, cursor: HistoryCursor): void {
    const before = this.dmCursors.get(peer)
    if (before != null && before >= cursor) return
    // kept in order of activity (the newest last), and bounded
    this.dmCursors.delete(peer)
    this.dmCursors.set(peer, cursor)
    if (this.dmCursors.size > MAX_DM_CURSORS) {
      const oldest = this.dmCursors.keys().next().value
      if (oldest !== undefined) this.dmCursors.delete(oldest)
    }
  }

  /** how far each member has read in a room, as the receipts received so far tell (this user's other devices included) */
  readBy (room: string): ReadPosition[] {
    return [...(this.reads.get('#' + room)?.values() ?? [])]
  }

  /** how far `peer` has read in this user's DM conversation with them, if they said */
  dmReadBy (peer: string): ReadPosition | undefined {
    return this.reads.get('@' + peer)?.get(peer)
  }

  /** follow these users' online state (replaces the previous list); resolves with their current state */
  async watch (users: string[]): Promise<UserState[]> {
    this.watched = [...new Set(users)]
    const states: UserState[] = []
    const collect = (evt: CustomEvent<UserState>): void => { states.push(evt.detail) }
    this.addEventListener('user', collect)
    try {
      await this.request({ watch: { users: this.watched } })
      await this.conn?.settled()
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
    this.conn?.channel.abort(new Error('disconnected by the application'))
  }

  /** close for good: no reconnect; unacknowledged sends are rejected */
  async close (): Promise<void> {
    if (this._state === 'closed') return
    this.setState('closed')
    clearTimeout(this.reconnectTimer)
    clearTimeout(this.dmAckTimer)
    for (const item of this.outbox.splice(0)) item.reject(new DisconnectedError('client closed'))
    const conn = this.conn
    this.conn = undefined
    if (conn != null) {
      await conn.channel.close()
      conn.failPending(new DisconnectedError('client closed'))
    }
    await Promise.all(this.transports.map(async t => t.stop()))
  }
}
