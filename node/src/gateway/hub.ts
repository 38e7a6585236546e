import { DeliveryKind, DmState, ServerFrame, Welcome as WelcomeCodec } from '../../../client/src/protocol/pb/client.js'
import { welcomeFrame } from '../../../client/src/protocol/codec.js'
import { DecodedEvent, idSetDigest, idToHex } from '../../../client/src/protocol/signing.js'
import { validateRoom } from '../../../client/src/protocol/validate.js'
import { LIMITS, carriesEphemeral } from '../../../client/src/protocol/limits.js'
import {
  InvalidQueryError, NodeFullError, NotJoinedError, RateLimitedError, TooManyRoomsError, WrongAuthorError, InvalidEventError,
  NotParticipantError, UnknownEventError, UnavailableError
} from '../../../client/src/protocol/errors.js'
import { conversationId, conversationParticipants } from '../../../client/src/protocol/conversation.js'
import { validateUserId } from '../../../client/src/protocol/signing.js'
import { UserBudgets } from '../state/budgets.js'
import { BoundedMap } from '../state/bounded.js'
import type { Budgets, RequestKind } from '../state/budgets.js'
import type { MeshchatError } from '../../../client/src/protocol/errors.js'
import type { HybridClock } from '../state/hlc.js'
import { decidePlacement } from '../state/placement.js'
import type { NodeConfig } from '../config.js'
import type { ClientSession, Have, SessionEdge, SessionHost } from './session.js'
import type { PresenceStatus } from '../../../client/src/protocol/validate.js'
import type { SessionRegistry } from './registry.js'
import type { RoomService } from '../mesh/rooms.js'
import type { PresenceService } from '../mesh/presence-service.js'
import type { Cursor, MessageStore, StoredRoomEvent } from '../store/message-store.js'
import type { DmService } from '../mesh/dm.js'
import type { RoomHistory } from '../mesh/archive.js'
import { deliveryFrame, toDelivery } from './session-delivery.js'
import type { NodeMetrics } from '../metrics.js'
import type { PresenceChange, RosterMember, UserPresence as PresenceUser } from '../state/presence.js'
import type { HistoryPage, NodeInfo, PublishAck, Redirect, UserPresence, Welcome, Delivery } from '../../../client/src/protocol/pb/client.js'
import type { OpenedEvent } from '../../../client/src/protocol/signing.js'
import type { Logger } from '@libp2p/interface'
import type { Supervisor } from '../supervisor.js'
import type { EventOpener } from '../mesh/event-opener.js'
import type { Clock } from '../components.js'

export interface HubComponents {
  nodeId: string
  /** message stamps */
  hlc: HybridClock
  /** wall-clock time */
  clock: Clock
  config: NodeConfig
  registry: SessionRegistry
  rooms: RoomService
  presence: PresenceService
  metrics: NodeMetrics
  log: Logger
  supervisor: Supervisor
  opener: EventOpener
  dm: DmService
  history: RoomHistory
  /** the node's store: a room receipt names a message this node holds */
  store: MessageStore
  /** gateway addresses clients can dial, and the web app URL */
  gatewayAddrs: () => string[]
  httpUrl: () => string | undefined
  /** true while the node drains (lame duck): every new session is sent elsewhere */
  draining?: () => boolean
}

function memberToWire (m: RosterMember): { userId: string, name: string, status: string, nodes: string[] } {
  return { userId: m.userId, name: m.name, status: m.status, nodes: m.nodes }
}

function userToWire (userId: string, p: PresenceUser | undefined | null): UserPresence {
  return p == null
    ? { userId, online: false, name: '', status: '', nodes: [] }
    : { userId, online: true, name: p.name, status: p.status, nodes: p.nodes }
}

/** the first penalty of a user whose session was closed for abuse, its ceiling, and how long strikes are remembered */
const PENALTY_BASE_MS = 1000
const PENALTY_MAX_MS = 60_000
const PENALTY_MEMORY_MS = 10 * 60_000

/**
 * The node as its sessions see it: admission and placement, rooms, sends, history,
 * presence subscriptions and DMs, with the per-user limits applied in one place.
 */
export class Hub implements SessionHost {
  /** users whose sessions were closed for abuse lately (bounded: the oldest are forgotten first) */
  private readonly penalties = new BoundedMap<string, { at: number, strikes: number, until: number }>(10_000)
  readonly nodeId: string
  private readonly c: HubComponents
  /** every user's request budgets (each session keeps its own as well); replaced on a reload */
  private budgets: UserBudgets
  /** userId → sessions that watch that user's presence */
  private readonly watchers = new Map<string, Set<ClientSession>>()
  /** clients redirected to each node since its load was last reported */
  private readonly redirects = new Map<string, { since: number, count: number }>()

  private readonly onPresenceEvent: (evt: CustomEvent<PresenceChange>) => void
  private started = false
  /**
   * per edge, the encoded fields of the welcome every session on it is told (this node, the other
   * nodes and their loads, the limits), with what they were made from (welcomeFrame)
   */
  private readonly welcomeShared = new Map<SessionEdge, { from: unknown[], bytes: Uint8Array }>()
  /**
   * devices whose connection dropped without the client saying it is leaving, still in presence
   * until their grace ends (detach), by device id, with the rooms they were in and the user
   */
  private readonly lingering = new Map<string, { userId: string, rooms: string[], timer: ReturnType<typeof setTimeout> }>()
  /** rooms of the lingering devices, with how many of them are in each: carried while any is */
  private readonly lingerRooms = new Map<string, number>()
  /** each user's held device here (one at most: a newer drop replaces it, and the member does not change) */
  private readonly heldByUser = new Map<string, string>()

  private recentRedirects (node: string, now: number): number {
    const r = this.redirects.get(node)
    return r != null && now - r.since < this.c.config.timings.heartbeatMs ? r.count : 0
  }

  constructor (components: HubComponents) {
    this.c = components
    this.nodeId = components.nodeId
    const cfg = components.config
    this.budgets = new UserBudgets(cfg.budgets)
    this.onPresenceEvent = components.supervisor.wrap('hub:presence', (evt: CustomEvent<PresenceChange>) => { this.onPresence(evt.detail) })
  }

  /** new per-user budgets (a settings reload): every user starts from a full bucket of the new size */
  setBudgets (budgets: Budgets): void {
    this.budgets = new UserBudgets(budgets)
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.c.presence.addEventListener('change', this.onPresenceEvent)
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    this.c.presence.removeEventListener('change', this.onPresenceEvent)
    for (const id of [...this.lingering.keys()]) this.endGrace(id, 'released')
  }

  /** devices kept in presence after their connection dropped, until their grace ends */
  get lingeringDevices (): number {
    return this.lingering.size
  }

  /**
   * the live nodes' load in the form placement and the welcome use, with the addresses a client of
   * `edge` can dial: WebSocket URLs for the light edge, multiaddrs for the libp2p gateway (a light
   * client cannot dial multiaddrs, and the address lists were most of its time decoding a welcome)
   */
  private nodeInfos (edge: SessionEdge): Array<NodeInfo & { rooms: string[] }> {
    return this.c.presence.liveNodes().map(n => {
      const self = n.id === this.nodeId
      return {
        id: n.id,
        addrs: addrsFor(self ? this.c.gatewayAddrs() : n.meta?.gatewayAddrs ?? NO_ADDRS, edge),
        clients: self ? this.c.registry.size : n.meta?.load.clients ?? 0,
        maxClients: self ? this.c.config.maxClients : n.meta?.load.maxClients ?? 0,
        httpUrl: (self ? this.c.httpUrl() : n.meta?.httpUrl) ?? '',
        rooms: []
      }
    })
  }

  /** count a client sent to `node`, so placement reckons with it until that node reports its load again */
  private noteRedirect (node: string, reason: string, now: number): void {
    const r = this.redirects.get(node)
    this.redirects.set(node, r != null && now - r.since < this.c.config.timings.heartbeatMs ? { since: r.since, count: r.count + 1 } : { since: now, count: 1 })
    this.c.metrics.redirects.inc({ reason })
  }

  /**
   * A draining node takes no new session on either edge: the client is sent
   * to the least loaded other node that takes clients (whatever its hello's
   * noRedirect says), or refused with UnavailableError when this node knows
   * none, so the client goes on to the next address it has.
   */
  private drainRedirect (edge: SessionEdge, now: number): Redirect {
    const load = (n: { id: string, clients: number, maxClients: number }): number => (n.clients + this.recentRedirects(n.id, now)) / n.maxClients
    const target = this.nodeInfos(edge)
      // a draining node reports a capacity of 0: two draining nodes never send clients to each other
      .filter(n => n.id !== this.nodeId && n.addrs.length > 0 && n.maxClients > 0 && n.clients + this.recentRedirects(n.id, now) < n.maxClients)
      .sort((a, b) => load(a) - load(b))[0]
    if (target == null) {
      this.c.metrics.redirects.inc({ reason: 'draining_nowhere' })
      throw new UnavailableError('this node is draining and knows no other node to send you to: try another address')
    }
    this.noteRedirect(target.id, 'draining', now)
    const { rooms: _r, ...to } = target
    return { to, reason: 'draining' }
  }

  attach (session: ClientSession, hello: { rooms: string[], noRedirect: boolean, affinity: boolean }): Redirect | undefined {
    if (this.c.draining?.() === true) return this.drainRedirect(session.edge, this.c.clock.now())
    const full = this.c.registry.size >= this.c.config.maxClients
    const infos = this.nodeInfos(session.edge)
    if (!infos.some(n => n.id === this.nodeId)) {
      infos.push({ id: this.nodeId, addrs: addrsFor(this.c.gatewayAddrs(), session.edge), clients: this.c.registry.size, maxClients: this.c.config.maxClients, httpUrl: this.c.httpUrl() ?? '', rooms: [] })
    }
    const rooms = hello.rooms.filter(r => { try { validateRoom(r); return true } catch { return false } })
    // which of the client's rooms each node already hosts, from the rooms' hosts in global presence
    // (asked once per room, not once per room and node)
    const hostsOf = rooms.map(r => new Set(this.c.presence.roomHosts(r)))
    for (const info of infos) {
      info.rooms = rooms.filter((_, i) => hostsOf[i]?.has(info.id) === true)
    }
    const now = this.c.clock.now()
    const decision = decidePlacement({
      self: this.nodeId,
      // other nodes' loads are up to a heartbeat old: count the clients this node sent them since
      nodes: infos.map(n => ({ id: n.id, clients: n.clients + this.recentRedirects(n.id, now), maxClients: n.maxClients, rooms: n.rooms })),
      userId: session.userId,
      rooms,
      overloadFactor: this.c.config.overloadFactor,
      // a spread of 1 % of capacity is noise, not overload (and lagging heartbeats make small spreads common)
      minSpread: Math.max(10, Math.ceil(this.c.config.maxClients / 100)),
      affinity: hello.affinity && rooms.length > 0
    })
    const target = decision.redirect == null ? undefined : infos.find(n => n.id === decision.redirect && n.addrs.length > 0)
    if (target != null && (!hello.noRedirect || full)) {
      const { rooms: _r, ...to } = target
      const reason = decision.reason ?? 'placement'
      this.noteRedirect(target.id, reason, now)
      return { to, reason }
    }
    if (full) {
      throw new NodeFullError(`this node is at its limit of ${this.c.config.maxClients} clients`)
    }
    this.c.registry.add(session)
    this.c.presence.put(this.entry(session))
    return undefined
  }

  welcome (session: ClientSession): Welcome {
    const infos = this.nodeInfos(session.edge)
    const alternates = infos
      .filter(n => n.id !== this.nodeId && n.addrs.length > 0)
      // a node that takes no clients (draining: it reports a capacity of 0) comes last
      .sort((a, b) => (a.maxClients > 0 ? a.clients / a.maxClients : Infinity) - (b.maxClients > 0 ? b.clients / b.maxClients : Infinity))
      .slice(0, 16)
      .map(({ rooms: _r, ...n }) => n)
    const cfg = this.c.config
    return {
      nodeId: this.nodeId,
      userId: session.userId,
      meshSize: Math.max(1, infos.length),
      alternates,
      time: BigInt(this.c.clock.now()),
      limits: {
        maxEventBytes: cfg.maxEventBytes,
        maxRooms: cfg.maxRoomsPerUser,
        maxBodyBytes: cfg.maxEventBytes,
        ratePerSec: cfg.ratePerSec,
        burst: cfg.burst,
        resumeSlackMs: cfg.resumeSlackMs
      },
      httpUrl: this.c.httpUrl() ?? ''
    }
  }

  /**
   * The welcome frame for `session`: the fields every session on its edge is told are encoded once
   * and kept while the live nodes, their reports (each heartbeat brings a new one: loads and
   * addresses) and this node's URL and limits stay the same; only the user id and the time are
   * encoded per session. Bytes equal to `ServerFrame.encode({ req, welcome: this.welcome(session) })`
   * in what they decode to.
   */
  welcomeFrame (session: ClientSession, req: number): Uint8Array {
    const cfg = this.c.config
    const from: unknown[] = [this.c.httpUrl() ?? '', cfg.maxEventBytes, cfg.maxRoomsPerUser, cfg.ratePerSec, cfg.burst, cfg.resumeSlackMs]
    for (const n of this.c.presence.liveNodes()) from.push(n.id, n.meta)
    let shared = this.welcomeShared.get(session.edge)
    if (shared == null || shared.from.length !== from.length || shared.from.some((v, i) => v !== from[i])) {
      const { userId: _u, time: _t, ...rest } = this.welcome(session)
      shared = { from, bytes: WelcomeCodec.encode(rest) }
      this.welcomeShared.set(session.edge, shared)
    }
    return welcomeFrame(req, [shared.bytes, WelcomeCodec.encode({ userId: session.userId, time: BigInt(this.c.clock.now()) })])
  }

  afterWelcome (session: ClientSession): void {
    this.c.dm.collect(session.userId, session.id)
  }

  detach (session: ClientSession, opts: { linger?: boolean } = {}): void {
    if (!this.c.registry.has(session)) return
    // every room the device was in, before the registry takes them off the session
    const rooms = [...session.rooms]
    const emptied = this.c.registry.remove(session)
    for (const u of session.watching) this.unwatch(session, u)
    // a connection that dropped on its own (a network failure, a client that will reconnect): the
    // device stays in presence, and its rooms carried, for the grace; a reconnect within it puts a
    // device with the same name and status beside it, so no member sees a leave or a join
    const graceMs = opts.linger === true && this.started ? this.c.config.presenceGraceMs : 0
    if (graceMs > 0 && this.lingering.size < this.c.config.maxClients) {
      const older = this.heldByUser.get(session.userId)
      if (older != null) this.endGrace(older, 'replaced')
      this.heldByUser.set(session.userId, session.id)
      for (const r of rooms) this.lingerRooms.set(r, (this.lingerRooms.get(r) ?? 0) + 1)
      const timer = setTimeout(() => { this.endGrace(session.id) }, graceMs)
      timer.unref?.()
      this.lingering.set(session.id, { userId: session.userId, rooms, timer })
      this.c.metrics.presenceGrace.inc({ outcome: 'held' })
    } else {
      if (graceMs > 0) this.c.metrics.presenceGrace.inc({ outcome: 'released' })
      for (const room of emptied) this.unwant(room)
      this.c.presence.del(session.id)
    }
    // live DMs the device never acknowledged may have died with its connection: the mailbox gets them,
    // and the user's next attach (or another device, now) collects them; what the device has it drops by id
    const left = session.takePendingDms()
    if (left.length > 0) {
      this.c.supervisor.track('gateway:requeue-dms', this.c.dm.requeue(session.userId, left))
    }
  }

  /** a lingering device's grace is over (or the node stops): it leaves presence, and its rooms no one here is in any more are let go */
  private endGrace (id: string, outcome?: 'released' | 'replaced'): void {
    const l = this.lingering.get(id)
    if (l == null) return
    this.lingering.delete(id)
    if (this.heldByUser.get(l.userId) === id) this.heldByUser.delete(l.userId)
    clearTimeout(l.timer)
    for (const r of l.rooms) {
      const n = (this.lingerRooms.get(r) ?? 1) - 1
      if (n > 0) this.lingerRooms.set(r, n)
      else this.lingerRooms.delete(r)
    }
    for (const r of l.rooms) if (!this.c.registry.hasRoom(r)) this.unwant(r)
    this.c.presence.del(id)
    this.c.metrics.presenceGrace.inc({ outcome: outcome ?? (this.c.registry.userSessionCount(l.userId) > 0 ? 'returned' : 'expired') })
  }

  /** no session here is in `room` any more: stop carrying it for local members, unless a lingering device is still in it */
  private unwant (room: string): void {
    if (!this.lingerRooms.has(room)) this.c.rooms.want(room, 'local', false)
  }

  private entry (s: ClientSession): { userId: string, deviceId: string, name: string, status: PresenceStatus, rooms: string[], since: number } {
    return { userId: s.userId, deviceId: s.id, name: s.name, status: s.status, rooms: [...s.rooms].sort(), since: s.attachedAt }
  }

  async join (session: ClientSession, roomName: string, after: Cursor | undefined, backlog: number, have?: Have): Promise<{ count: number, head: bigint, stable: bigint, more: boolean }> {
    const room = validateRoom(roomName)
    if (!session.rooms.has(room)) {
      const userRooms = this.c.registry.userRooms(session.userId)
      if (!userRooms.has(room) && userRooms.size >= this.c.config.maxRoomsPerUser) {
        throw new TooManyRoomsError(`a user can be in at most ${this.c.config.maxRoomsPerUser} rooms`)
      }
    }
    const wasMember = session.rooms.has(room)
    // who is in a room travels as each node's stream of its devices there, and a stream of more than
    // MAX_ROOM_MEMBERS is refused by the other nodes whole: they would show none of them
    // held devices are in the room's stream too: the joining user's own gives its place up first
    const held = this.heldByUser.get(session.userId)
    if (!wasMember && held != null && this.lingering.get(held)?.rooms.includes(room) === true &&
      this.c.registry.roomSize(room) + (this.lingerRooms.get(room) ?? 0) >= this.c.config.maxRoomMembers) this.endGrace(held, 'replaced')
    if (!wasMember && this.c.registry.roomSize(room) + (this.lingerRooms.get(room) ?? 0) >= this.c.config.maxRoomMembers) {
      this.c.metrics.roomsRefused.inc({ reason: 'members' })
      throw new NodeFullError(`this node holds the most members of room ${room} it may (${this.c.config.maxRoomMembers}); join it through another node`)
    }
    // live traffic for the room is held back from here until the replay below has been sent
    session.beginReplay(room)
    // a resuming device may miss anything from a little before its cursor; a fresh one only what comes after now
    const slack = BigInt(this.c.config.resumeSlackMs) << 16n
    const floorBefore = session.floors.get(room)
    const replayFrom = after == null ? this.c.hlc.now(this.c.clock.now()) : after.hlc > slack ? after.hlc - slack : 0n
    // a resume may already be past events this node does not hold yet: what a node it lost contact with
    // sent meanwhile comes late, by a catch-up after the heal, and goes to every member whose floor it
    // is above; the device drops by id what it had from elsewhere
    const late = after == null ? 0n : this.c.history.lateFrom(room)
    session.setFloor(room, late > 0n && late < replayFrom ? late : replayFrom)
    try {
      this.c.registry.join(session, room)
      if (!this.c.rooms.want(room, 'local', true)) {
        throw new NodeFullError(`this node carries the most rooms it may (${this.c.config.maxCarriedRooms}); join the room through another node`)
      }
      // a member here: this node follows who is in the room; the snapshot waits (a little) for the
      // first pulls from the room's other hosts, so it holds the members already there
      const following = this.c.presence.carry(room)
      this.c.presence.put(this.entry(session))
      await Promise.race([following, new Promise<void>(resolve => { setTimeout(resolve, this.c.config.timings.firstRosterWaitMs).unref?.() })])
      session.send({ req: 0, roster: rosterSnapshot(room, this.c.presence.roster(room), session.userId) })
      await this.c.history.ready(room)
      // every event handed to the room's members before this session was one is in the store from here on
      this.c.rooms.commitPending()
      let events: StoredRoomEvent[] = []
      let more = false
      if (after != null) {
        const max = this.c.config.maxReplay
        // from a little before the cursor up to it: events stamped just before it may have arrived after
        // it (sent again; the client drops what it has), then at most `max` after it, the limit that
        // makes the client come back for more: a resume always moves on, however busy the slack window
        let before = this.c.history.since(room, replayFrom, after, max)
        // the client says which of that window it holds: when it is all of it, none goes again
        if (have != null && have.from === replayFrom && before.length < max && Buffer.compare(idSetDigest(before.map(e => e.id)), have.digest) === 0) {
          this.c.metrics.resumeSlack.inc({ outcome: 'held' }, before.length)
          before = []
        } else {
          this.c.metrics.resumeSlack.inc({ outcome: 'sent' }, before.length)
        }
        const newer = (await this.c.history.page(room, { after, limit: max + 1 })).events
        more = newer.length > max
        // and what reached this node late, below where the replay starts: the device may have passed
        // its place before it was here (it drops by id what it has)
        events = [...this.c.history.lateArrivals(room, replayFrom), ...before, ...newer.slice(0, max)]
      } else if (backlog > 0) {
        events = (await this.c.history.page(room, { limit: Math.min(backlog, LIMITS.maxHistoryPage) })).events
      }
      for (const e of events) {
        session.sendEncoded(deliveryFrame(e, DeliveryKind.REPLAY))
      }
      if (events.length > 0) this.c.metrics.messagesOut.inc({ kind: 'replay' }, events.length)
      // cut short: the client is up to date only as far as the last event replayed, and asks for the rest
      const head = more ? (events.at(-1)?.hlc ?? 0n) : this.c.hlc.now(this.c.clock.now())
      return { count: events.length, head, stable: this.c.history.stable(room), more }
    } catch (err) {
      // a join that fails leaves nothing behind: no membership, no subscription, no presence entry
      if (!wasMember) {
        if (this.c.registry.leave(session, room)) this.unwant(room)
        if (this.c.registry.has(session)) this.c.presence.put(this.entry(session))
      } else if (floorBefore != null) {
        session.setFloor(room, floorBefore)
      }
      throw err
    } finally {
      session.endReplay(room)
    }
  }

  leave (session: ClientSession, roomName: string): void {
    const room = validateRoom(roomName)
    if (!session.rooms.has(room)) return
    if (this.c.registry.leave(session, room)) this.unwant(room)
    this.c.presence.put(this.entry(session))
  }

  /** take `n` of `kind` from the session's and the user's budgets; RateLimitedError when either is spent */
  charge (session: ClientSession, kind: RequestKind, n = 1): void {
    const now = this.c.clock.now()
    const wait = Math.max(session.budget.take(kind, now, n), this.budgets.take(session.userId, kind, now, n))
    if (wait > 0) {
      throw new RateLimitedError(`slow down: too many ${kind} requests`, Number.isFinite(wait) ? Math.ceil(wait) : 60_000)
    }
  }

  /**
   * A session closed for abuse (garbage, or pushing past its budgets) puts its user in a penalty box:
   * new sessions of that user are refused at hello, before the attach does any work (presence, the
   * directory, mailboxes), for 1 s, doubling with every repeat within 10 minutes, up to a minute.
   * Reconnecting at once would otherwise buy a fresh session budget for the price of a handshake.
   * The user's budgets on this node are emptied until the wait ends, so the user's other sessions
   * slow down too and a session admitted after the wait starts with no burst to spend.
   */
  penalize (session: ClientSession): number {
    const now = this.c.clock.now()
    const p = this.penalties.get(session.userId)
    const strikes = p != null && now - p.at < PENALTY_MEMORY_MS ? p.strikes + 1 : 1
    const ms = Math.min(PENALTY_MAX_MS, PENALTY_BASE_MS * 2 ** (strikes - 1))
    this.penalties.set(session.userId, { at: now, strikes, until: now + ms })
    this.budgets.emptyUntil(session.userId, now, now + ms)
    return ms
  }

  /** how long (ms) the session's user must still wait before a new session is admitted; 0 when it may attach */
  penaltyLeft (session: ClientSession): number {
    const p = this.penalties.get(session.userId)
    return p == null ? 0 : Math.max(0, p.until - this.c.clock.now())
  }

  /** take `n` of `kind` for work already done, even into debt */
  debit (session: ClientSession, kind: RequestKind, n: number): void {
    const now = this.c.clock.now()
    session.budget.debit(kind, now, n)
    this.budgets.debit(session.userId, kind, now, n)
  }

  /** count a refusal by its code */
  refused (err: MeshchatError): void {
    this.c.metrics.rejected.inc({ code: err.name })
  }

  async publish (session: ClientSession, bytes: Uint8Array): Promise<PublishAck> {
    // the budget is charged before the signature is checked: a flood costs a protobuf decode per event,
    // and that one decode (and hash) is all the event gets here, the check included
    const decoded = DecodedEvent.from(bytes, { maxEventBytes: this.c.config.maxEventBytes })
    const kind = decoded.kind
    if (kind == null) throw new InvalidEventError('event has no kind')
    if (kind === 'typing' || kind === 'receipt') {
      try {
        this.charge(session, kind)
      } catch {
        // typing notices and receipts are ephemeral: past the limit they are coalesced away, not refused
        return { id: new Uint8Array(32), hlc: 0n, dm: DmState.NONE, copies: 0 }
      }
    } else {
      try {
        this.charge(session, 'message')
      } catch (err) {
        throw new RateLimitedError(`slow down: at most ${this.c.config.ratePerSec} messages/s`, (err as MeshchatError).retryAfterMs)
      }
    }
    const opened = await this.c.opener.open(decoded, 'client')
    if (opened.author !== session.userId) {
      throw new WrongAuthorError('the event is signed by another user than the one attached on this session')
    }
    if (opened.kind === 'typing') {
      if (!session.rooms.has(opened.room ?? '')) throw new NotJoinedError(`not in room ${opened.room ?? ''}`)
      // a very big room carries no typing notices (each would go to every member): acknowledged and dropped
      if (!carriesEphemeral('typing', this.c.presence.rosterSize(opened.room ?? ''))) {
        this.c.metrics.withheld.inc({ kind: 'typing', source: 'client' })
        return { id: opened.id as Uint8Array<ArrayBuffer>, hlc: 0n, dm: DmState.NONE, copies: 0 }
      }
      await this.c.rooms.publish(opened)
      return { id: opened.id as Uint8Array<ArrayBuffer>, hlc: 0n, dm: DmState.NONE, copies: 0 }
    }
    if (opened.kind === 'receipt') return this.receipt(session, opened)
    if (opened.kind === 'room') {
      if (!session.rooms.has(opened.room ?? '')) throw new NotJoinedError(`join ${opened.room ?? ''} before sending to it`)
      const accepted = await this.c.rooms.publish(opened)
      return { id: opened.id as Uint8Array<ArrayBuffer>, hlc: accepted.hlc, dm: DmState.NONE, copies: 0 }
    }
    if (opened.kind === 'dm') {
      const r = await this.c.dm.send(opened, session.id)
      return { id: opened.id as Uint8Array<ArrayBuffer>, hlc: r.hlc, dm: r.state, copies: r.copies }
    }
    throw new InvalidEventError('unknown event kind')
  }

  async history (session: ClientSession, roomName: string, q: { before?: Cursor, after?: Cursor, limit: number }): Promise<HistoryPage> {
    const room = validateRoom(roomName)
    if (q.limit < 0) throw new InvalidQueryError('limit must be positive')
    const limit = Math.min(Math.max(1, q.limit === 0 ? 50 : q.limit), LIMITS.maxHistoryPage)
    const page = await this.c.history.page(room, { before: q.before, after: q.after, limit })
    this.c.metrics.messagesOut.inc({ kind: 'history' }, page.events.length)
    void session
    return { room, events: page.events.map(e => toDelivery(e, DeliveryKind.HISTORY)), more: page.more }
  }

  /**
   * A read receipt from a local device: the reader must be in the room (or
   * take part in the conversation) and the message must be one this node knows
   * there, at the stamp the receipt names: a receipt for a message the user
   * never received is refused, not relayed.
   */
  private async receipt (session: ClientSession, opened: OpenedEvent): Promise<PublishAck> {
    const read = opened.read
    if (read == null) throw new InvalidEventError('a receipt names a message')
    if (opened.room != null) {
      const room = opened.room
      if (!session.rooms.has(room)) throw new NotJoinedError(`not in room ${room}`)
      const stored = this.c.store.get(read.id)
      if (stored == null || stored.room !== room || stored.hlc !== read.hlc) throw new UnknownEventError(`no such message in ${room}`)
      // a big room carries no receipts (each would go to every member): acknowledged and dropped, like typing past its budget
      if (!carriesEphemeral('receipt', this.c.presence.rosterSize(room))) {
        this.c.metrics.withheld.inc({ kind: 'receipt', source: 'client' })
        return { id: opened.id as Uint8Array<ArrayBuffer>, hlc: 0n, dm: DmState.NONE, copies: 0 }
      }
      await this.c.rooms.publish(opened)
    } else {
      const conversation = conversationId(opened.author, opened.to ?? '')
      if (!await this.c.dm.history.confirm(conversation, read.id, read.hlc)) throw new UnknownEventError('no such message in this conversation')
      await this.c.dm.sendReceipt(opened, session.id)
    }
    return { id: opened.id as Uint8Array<ArrayBuffer>, hlc: 0n, dm: DmState.NONE, copies: 0 }
  }

  async dmHistory (session: ClientSession, conversation: string, q: { before?: Cursor, after?: Cursor, limit: number }): Promise<HistoryPage> {
    const [a, b] = conversationParticipants(conversation)
    if (session.userId !== a && session.userId !== b) {
      throw new NotParticipantError('only its two participants may read a conversation')
    }
    if (q.limit < 0) throw new InvalidQueryError('limit must be positive')
    const limit = Math.min(Math.max(1, q.limit === 0 ? 50 : q.limit), LIMITS.maxHistoryPage)
    const page = await this.c.dm.historyPage(conversation, { before: q.before, after: q.after, limit })
    this.c.metrics.messagesOut.inc({ kind: 'history' }, page.events.length)
    return { room: conversation, events: page.events.map(e => toDelivery(e, DeliveryKind.HISTORY)), more: page.more }
  }

  async dmAck (session: ClientSession, ids: Uint8Array[]): Promise<void> {
    for (const id of ids) {
      if (id.byteLength !== 32) throw new InvalidQueryError('message ids are 32 bytes')
    }
    for (const id of ids) session.ackedDm(idToHex(id))
    await this.c.dm.ack(session.userId, ids)
  }

  watch (session: ClientSession, users: string[]): UserPresence[] {
    const next = new Set(users.map(u => validateUserId(u)))
    for (const u of session.watching) if (!next.has(u)) this.unwatch(session, u)
    for (const u of next) {
      let set = this.watchers.get(u)
      if (set == null) this.watchers.set(u, set = new Set())
      set.add(session)
    }
    session.watching = next
    // from the carried rooms and the directory; a user the directory did not know yet follows as a diff
    return [...next].map(u => userToWire(u, this.c.presence.user(u)))
  }

  private unwatch (session: ClientSession, user: string): void {
    const set = this.watchers.get(user)
    set?.delete(session)
    if (set?.size === 0) this.watchers.delete(user)
  }

  setStatus (session: ClientSession, status: PresenceStatus): void {
    session.status = status
    this.c.presence.put(this.entry(session))
  }

  /** presence diffs to the sessions that follow them: room rosters to members, users to watchers */
  private onPresence (change: PresenceChange): void {
    for (const d of change.rooms) {
      if (!this.c.registry.hasRoom(d.room)) continue
      const frame = ServerFrame.encode({
        req: 0,
        rosterDiff: { room: d.room, userId: d.userId, member: d.member == null ? undefined : memberToWire(d.member), count: this.c.presence.rosterSize(d.room) }
      })
      for (const s of this.c.registry.roomSessions(d.room)) s.sendEncoded(frame)
    }
    for (const d of change.users) {
      const set = this.watchers.get(d.userId)
      if (set == null) continue
      const frame = ServerFrame.encode({ req: 0, user: userToWire(d.userId, d.presence) })
      for (const s of set) s.sendEncoded(frame)
    }
  }
}

/**
 * A room's roster as a join sends it: every member, or in a room of more than
 * `LIMITS.maxRosterSnapshot` that many, the joining user first, marked partial, with the whole count. The whole list of a
 * room of tens of thousands is megabytes in one frame, against a session's send queue bound (4 MiB):
 * with 36,000 members over 4 nodes a join lost its connection, cut as too slow.
 */
export function rosterSnapshot (room: string, roster: RosterMember[], self: string): { room: string, members: ReturnType<typeof memberToWire>[], partial: boolean, count: number } {
  const count = roster.length
  if (count <= LIMITS.maxRosterSnapshot) return { room, members: roster.map(memberToWire), partial: false, count }
  const mine = roster.find(m => m.userId === self)
  const shown = roster.filter(m => m.userId !== self).slice(0, LIMITS.maxRosterSnapshot - (mine == null ? 0 : 1))
  return { room, members: (mine == null ? shown : [mine, ...shown]).map(memberToWire), partial: true, count }
}

const NO_ADDRS: readonly string[] = []

/** per address list (the daemon's own, or one from a node's announcement), its URLs and its multiaddrs */
const ADDRS_BY_EDGE = new WeakMap<readonly string[], Record<SessionEdge, string[]>>()

/** the addresses in `addrs` a client of `edge` can dial: ws:// and wss:// URLs, or multiaddrs */
export function addrsFor (addrs: readonly string[], edge: SessionEdge): string[] {
  let split = ADDRS_BY_EDGE.get(addrs)
  if (split == null) {
    split = { ws: addrs.filter(a => /^wss?:\/\//i.test(a)), libp2p: addrs.filter(a => a.startsWith('/')) }
    ADDRS_BY_EDGE.set(addrs, split)
  }
  return split[edge]
}
