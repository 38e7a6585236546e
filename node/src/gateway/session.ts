import { CLIENT_PROTOCOL_VERSION } from '../../../client/src/protocol/ids.js'
import { decodeClientFrame } from '../../../client/src/protocol/codec.js'
import { ServerFrame as ServerFrameCodec } from '../../../client/src/protocol/pb/client.js'
import { checkProof } from '../../../client/src/protocol/login.js'
import { decodeDisplayName } from '../../../client/src/protocol/validate.js'
import { AuthFailedError, ErrorCode, HelloRequiredError, MeshchatError, UnsupportedError, VersionError, asMeshchatError, InvalidQueryError, TooSlowError, RateLimitedError } from '../../../client/src/protocol/errors.js'
import { TokenBucket } from '../state/rate-limiter.js'
import { SessionBudget } from '../state/budgets.js'
import type { Budgets, RequestKind } from '../state/budgets.js'
import type { ClientFrame, ServerFrame, Cursor as WireCursor, HistoryPage, PublishAck, UserPresence, Redirect } from '../../../client/src/protocol/pb/client.js'
import type { Cursor } from '../store/message-store.js'
import type { Logger } from '@libp2p/interface'
import type { PresenceStatus } from '../../../client/src/protocol/validate.js'
import type { Uint8ArrayList } from 'uint8arraylist'
import { systemClock } from '../components.js'
import type { Clock } from '../components.js'
import type { StampedEvent } from '../mesh/peer-events.js'

/**
 * What a session needs from the transport it runs on. A session consumes and
 * produces protocol frames and knows nothing of libp2p, so another attach
 * transport (a plain WebSocket, a test harness) can drive the same logic.
 */
export interface SessionTransport {
  /** send one encoded ServerFrame (framing, a length prefix or a WebSocket message, is the transport's); must not throw once the transport is gone */
  send: (frame: Uint8Array) => void
  /** flush and close */
  close: () => void
}


/** What a session asks of the node it is attached to. */
export interface SessionHost {
  readonly nodeId: string
  /** register a session after hello; returns a redirect instead when the client should go elsewhere; may throw NodeFullError */
  attach: (session: ClientSession, hello: { rooms: string[], noRedirect: boolean, affinity: boolean }) => Redirect | undefined
  /** the encoded ServerFrame `{ req, welcome }` for this session */
  welcomeFrame: (session: ClientSession, req: number) => Uint8Array
  /**
   * the session is over: its device leaves presence, at once or, with `linger` (a connection that
   * dropped without the client saying it is leaving), after the node's presence grace
   */
  detach: (session: ClientSession, opts?: { linger?: boolean }) => void
  /**
   * join a room; replayed events are delivered through `session` before this
   * resolves with their count and the position the session is now up to date with
   */
  join: (session: ClientSession, room: string, after: Cursor | undefined, backlog: number, have?: Have) => Promise<{ count: number, head: bigint, stable: bigint, more: boolean }>
  leave: (session: ClientSession, room: string) => void
  publish: (session: ClientSession, event: Uint8Array) => Promise<PublishAck>
  history: (session: ClientSession, room: string, q: { before?: Cursor, after?: Cursor, limit: number }) => Promise<HistoryPage>
  /** a page of a DM conversation; NotParticipantError unless the session's user takes part in it */
  dmHistory: (session: ClientSession, conversation: string, q: { before?: Cursor, after?: Cursor, limit: number }) => Promise<HistoryPage>
  dmAck: (session: ClientSession, ids: Uint8Array[]) => Promise<void>
  watch: (session: ClientSession, users: string[]) => UserPresence[]
  setStatus: (session: ClientSession, status: PresenceStatus) => void
  /** the session is welcome: its queued DMs are delivered now */
  afterWelcome: (session: ClientSession) => void
  /**
   * charge `n` units of `kind` to the session's and its user's budgets before the work is done;
   * throws RateLimitedError when either is spent
   */
  charge: (session: ClientSession, kind: RequestKind, n?: number) => void
  /** the session is being closed for abuse: its user's next sessions wait a while (see penaltyLeft); returns how long (ms) */
  penalize?: (session: ClientSession) => number
  /** ms the session's user must still wait after a session closed for abuse; 0 when it may attach */
  penaltyLeft?: (session: ClientSession) => number
  /** charge `n` units of `kind` for work already done, even into debt (later requests wait it out) */
  debit: (session: ClientSession, kind: RequestKind, n: number) => void
  /** a request was refused with this error (metrics) */
  refused: (err: MeshchatError) => void
}

export interface SessionOptions {
  /** device id, unique on this node */
  id: string
  /**
   * the user id the transport authenticated (noise, on the libp2p gateway); absent when the
   * session itself must get a proof of key first (the plain WebSocket edge)
   */
  userId?: string
  /** with no userId: the challenge this session sent, and how to verify the answer */
  login?: { nodeId: string, nonce: Uint8Array, verify: (publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array) => boolean }
  host: SessionHost
  transport: SessionTransport
  log: Logger
  /** where the client connected from, for logs */
  remote?: string
  /** per-kind request budgets of this session */
  budgets: Budgets
  /** a client that has not sent its hello this long after connecting is disconnected */
  helloTimeoutMs: number
  /** wall-clock time; default the system clock */
  clock?: Clock
  /**
   * the edge the client came in on: `ws` (a WebSocket URL) or `libp2p` (a multiaddr); default `ws` for a
   * session that logs in by proof of key, else `libp2p`
   */
  edge?: SessionEdge
}

/** how a client reaches a node: the light WebSocket edge (URLs) or the libp2p gateway (multiaddrs) */
export type SessionEdge = 'ws' | 'libp2p'

/**
 * Invalid input a session tolerates before it is treated as garbage and
 * disconnected: 20 refusals, refilled at 1/s. A buggy but honest client that
 * trips validation now and then keeps its session.
 */
const STRIKE_BURST = 20
const STRIKE_RATE = 1

/**
 * Requests refused for being over budget a session may make before it is
 * disconnected: a client that backs off when told to never gets near this; one
 * that keeps hammering at its limits is cut off.
 */
const OVER_BUDGET_BURST = 50
const OVER_BUDGET_RATE = 2

/** how long the refusal of a penalized user's hello is held back (at most the penalty left) */
const PENALTY_REPLY_HOLD_MS = 2000

/** stamps are SQLite integers (signed 64-bit) */
const MAX_HLC = (1n << 63n) - 1n
/**
 * What a session with no rooms, floors or watches reads: an empty Map or Set costs 150–185 B of
 * heap, and most idle devices have none of these, nor pending DMs or held deliveries, so each is
 * made when the first entry comes (and, but for pending DMs, dropped when the last goes).
 */
const NOTHING: ReadonlySet<string> = new Set()
const NO_FLOORS: ReadonlyMap<string, bigint> = new Map()

/** live DMs a session keeps until its device acknowledges them (a client acks within ~50 ms) */
const MAX_PENDING_DMS = 1000

function toCursor (c: WireCursor | undefined): Cursor | undefined {
  if (c == null) return undefined
  if (c.id.byteLength !== 32) throw new InvalidQueryError('cursor id must be 32 bytes')
  if (c.hlc > MAX_HLC) throw new InvalidQueryError('cursor stamp is out of range')
  return { hlc: c.hlc, id: c.id }
}

/** what a resuming client holds of the window before its cursor (Join.have): the digest of its ids, and where the window starts */
export interface Have { digest: Uint8Array, from: bigint }

function toHave (digest: Uint8Array | undefined, from: bigint | undefined): Have | undefined {
  if (digest == null || digest.byteLength === 0) return undefined
  if (digest.byteLength !== 32) throw new InvalidQueryError('have must be 32 bytes')
  return { digest, from: from ?? 0n }
}

function parseStatus (s: string): PresenceStatus {
  if (s === '' || s === 'online') return 'online'
  if (s === 'away') return 'away'
  throw new MeshchatError(ErrorCode.INVALID_QUERY, `unknown status "${s.slice(0, 32)}"`)
}

/**
 * One attached client device. Frames are handled one at a time, in order, so a
 * client's own sends keep their order and replies line up with requests.
 */
export class ClientSession {
  readonly id: string
  /** the user; '' until a light-edge session has proven its key */
  userId: string
  readonly remote: string
  /** the edge this client came in on: the addresses it is handed (alternates, redirects) are of that edge */
  readonly edge: SessionEdge
  name = ''
  status: PresenceStatus = 'online'
  readonly attachedAt: number
  private readonly clock: Clock
  /** rooms this device has joined (changed through the registry's join and leave) */
  get rooms (): ReadonlySet<string> {
    return this.#rooms ?? NOTHING
  }

  #rooms?: Set<string>
  /**
   * per room, the oldest HLC this device may still be missing (its resume
   * cursor or its join time, minus the resume slack): events that reach the
   * node late, by backfill, are delivered to it only from here on
   */
  get floors (): ReadonlyMap<string, bigint> {
    return this.#floors ?? NO_FLOORS
  }

  #floors?: Map<string, bigint>
  /** users whose presence this device follows (a watch request replaces the whole set) */
  watching: ReadonlySet<string> = NOTHING
  /**
   * DMs handed to this device live and not yet acknowledged by it, by id: a connection that drops
   * right after a write loses what was written, so what is left here when the session ends goes to
   * the user's mailbox (at most MAX_PENDING_DMS, the oldest dropped first)
   */
  #pendingDms?: Map<string, StampedEvent>
  private state: 'login' | 'new' | 'ready' | 'closed'
  private readonly host: SessionHost
  private readonly transport: SessionTransport
  private readonly log: Logger
  /** made at the first strike or refusal: a bucket starts full, so one made then is the bucket made at the attach */
  #strikes?: TokenBucket
  #overBudget?: TokenBucket
  /** this session's request budgets (the user's are kept by the host) */
  readonly budget: SessionBudget
  private helloTimer?: ReturnType<typeof setTimeout>
  /** live deliveries held back while a room's replay is being sent, so replay always comes first */
  #held?: Map<string, Uint8Array[]>
  /** the challenge this session sent, until the proof of key is in (then the nonce is of no more use) */
  private login?: SessionOptions['login']

  constructor (opts: SessionOptions) {
    this.id = opts.id
    this.userId = opts.userId ?? ''
    this.login = opts.login
    if (opts.userId == null && opts.login == null) throw new TypeError('a session needs an authenticated user or a login challenge')
    this.state = opts.userId == null ? 'login' : 'new'
    this.host = opts.host
    this.transport = opts.transport
    this.log = opts.log
    this.remote = opts.remote ?? ''
    this.edge = opts.edge ?? (opts.login != null ? 'ws' : 'libp2p')
    this.budget = new SessionBudget(opts.budgets)
    this.clock = opts.clock ?? systemClock
    this.attachedAt = this.clock.now()
    // a connection that never proves its key or says hello would otherwise hold its buffers for ever
    this.helloTimer = setTimeout(() => {
      if (this.state === 'new' || this.state === 'login') this.fatal(new TooSlowError(`no hello within ${opts.helloTimeoutMs} ms`), 0)
    }, opts.helloTimeoutMs)
  }

  get ready (): boolean {
    return this.state === 'ready'
  }

  get closed (): boolean {
    return this.state === 'closed'
  }

  /** handle one frame payload (without length prefix) */
  async handle (buf: Uint8ArrayList | Uint8Array): Promise<void> {
    if (this.state === 'closed') return
    let frame: ClientFrame
    try {
      frame = decodeClientFrame(buf)
    } catch (err) {
      this.fatal(asMeshchatError(err), 0)
      return
    }
    try {
      await this.dispatch(frame)
    } catch (err) {
      const e = asMeshchatError(err)
      if (e.code === ErrorCode.INTERNAL) {
        this.log.error('session %s request %d failed - %e', this.id, frame.req, err)
      }
      this.refuse(e, frame.req)
    }
  }

  private async dispatch (f: ClientFrame): Promise<void> {
    const req = f.req
    if (this.state === 'login') {
      // nothing but the proof of key is read before the key is proven
      if (f.auth == null || this.login == null) {
        this.fatal(new AuthFailedError('prove your key first: answer the challenge'), req)
        return
      }
      try {
        this.userId = checkProof(f.auth, this.login, this.clock.now(), this.login.verify)
      } catch (err) {
        this.fatal(asMeshchatError(err), req)
        return
      }
      this.state = 'new'
      this.login = undefined
      this.send({ req, ok: { detail: this.userId } })
      return
    }
    if (f.auth != null) throw new UnsupportedError('this session has already proven its key')
    if (f.hello != null) {
      if (this.state !== 'new') throw new HelloRequiredError('hello was already sent')
      if (f.hello.version !== CLIENT_PROTOCOL_VERSION) {
        this.fatal(new VersionError(`protocol version ${f.hello.version} is not supported (this node speaks ${CLIENT_PROTOCOL_VERSION})`), req)
        return
      }
      this.name = decodeDisplayName(f.hello.name)
      this.status = parseStatus(f.hello.status)
      const wait = this.host.penaltyLeft?.(this) ?? 0
      if (wait > 0) {
        // the answer itself comes slowly: a client that reconnects the moment it is refused makes a
        // few attempts a penalty, not dozens a second (each one a handshake for the node)
        const hold = Math.min(wait, PENALTY_REPLY_HOLD_MS)
        await new Promise(resolve => { setTimeout(resolve, hold).unref?.() })
        const left = Math.max(1, Math.ceil(wait - hold))
        this.fatal(new RateLimitedError(`a session of this user was closed for abuse a moment ago: try again in ${Math.ceil(left / 1000)} s`, left), req)
        return
      }
      const redirect = this.host.attach(this, { rooms: f.hello.rooms, noRedirect: f.hello.noRedirect, affinity: f.hello.affinity })
      if (redirect != null) {
        this.send({ req, redirect })
        this.close()
        return
      }
      this.state = 'ready'
      clearTimeout(this.helloTimer)
      // a cleared timer still holds its callback and, through it, the options the session was made with
      this.helloTimer = undefined
      this.sendEncoded(this.host.welcomeFrame(this, req))
      this.host.afterWelcome(this)
      return
    }
    if (this.state !== 'ready') {
      throw new HelloRequiredError('send hello first')
    }
    if (f.publish != null) {
      const ack = await this.host.publish(this, f.publish.event)
      this.send({ req, publishAck: ack })
    } else if (f.join != null) {
      this.host.charge(this, 'join')
      // the events it sends back are paid for once counted: one to start, the rest after
      this.host.charge(this, 'backlog')
      const { count, head, stable, more } = await this.host.join(this, f.join.room, toCursor(f.join.after), f.join.backlog, toHave(f.join.have, f.join.haveFrom))
      if (count > 1) this.host.debit(this, 'backlog', count - 1)
      this.send({ req, replayDone: { room: f.join.room, count, head: { hlc: head, id: new Uint8Array(32) }, stable, more } })
    } else if (f.leave != null) {
      this.host.charge(this, 'join')
      this.host.leave(this, f.leave.room)
      this.send({ req, ok: { detail: '' } })
    } else if (f.history != null) {
      this.host.charge(this, 'history')
      const q = f.history
      if (q.before != null && q.after != null) throw new InvalidQueryError('history query takes before or after, not both')
      this.host.charge(this, 'backlog')
      const page = await this.host.history(this, q.room, { before: toCursor(q.before), after: toCursor(q.after), limit: q.limit })
      if (page.events.length > 1) this.host.debit(this, 'backlog', page.events.length - 1)
      this.send({ req, history: page })
    } else if (f.dmHistory != null) {
      this.host.charge(this, 'history')
      const q = f.dmHistory
      if (q.before != null && q.after != null) throw new InvalidQueryError('history query takes before or after, not both')
      this.host.charge(this, 'backlog')
      const page = await this.host.dmHistory(this, q.conversation, { before: toCursor(q.before), after: toCursor(q.after), limit: q.limit })
      if (page.events.length > 1) this.host.debit(this, 'backlog', page.events.length - 1)
      this.send({ req, dmHistory: page })
    } else if (f.dmAck != null) {
      this.host.charge(this, 'dmAck', Math.max(1, f.dmAck.ids.length))
      await this.host.dmAck(this, f.dmAck.ids)
      this.send({ req, ok: { detail: '' } })
    } else if (f.watch != null) {
      this.host.charge(this, 'watch', Math.max(1, f.watch.users.length))
      for (const user of this.host.watch(this, f.watch.users)) this.send({ req: 0, user })
      this.send({ req, ok: { detail: '' } })
    } else if (f.status != null) {
      this.host.charge(this, 'status')
      this.status = parseStatus(f.status.status)
      this.host.setStatus(this, this.status)
      this.send({ req, ok: { detail: '' } })
    } else if (f.ping != null) {
      this.host.charge(this, 'ping')
      this.send({ req, pong: { time: f.ping.time } })
    } else {
      throw new UnsupportedError('empty or unknown frame kind')
    }
  }

  /** send a frame built for this session */
  send (frame: ServerFrame): void {
    if (this.state === 'closed') return
    this.transport.send(ServerFrameCodec.encode(frame))
  }

  /** send a pre-encoded frame (fan-out: one encoding shared by every recipient) */
  sendEncoded (frame: Uint8Array): void {
    if (this.state === 'closed') return
    this.transport.send(frame)
  }

  /** the registry's half of a join */
  addRoom (room: string): void {
    (this.#rooms ??= new Set()).add(room)
  }

  /** the registry's half of a leave: the room and its floor go */
  removeRoom (room: string): void {
    this.#rooms?.delete(room)
    if (this.#rooms?.size === 0) this.#rooms = undefined
    this.#floors?.delete(room)
    if (this.#floors?.size === 0) this.#floors = undefined
  }

  setFloor (room: string, hlc: bigint): void {
    (this.#floors ??= new Map()).set(room, hlc)
  }

  /** live DMs written to this device and not acknowledged yet */
  get pendingDmCount (): number {
    return this.#pendingDms?.size ?? 0
  }

  /** the device acknowledged this DM */
  ackedDm (idHex: string): void {
    // the table stays once made: a device that gets DMs gets them one after another, and a table per DM
    // would be an allocation on every delivery
    this.#pendingDms?.delete(idHex)
  }

  /** every live DM not acknowledged, taken out (the session is over: they go to the mailbox) */
  takePendingDms (): StampedEvent[] {
    const left = [...(this.#pendingDms?.values() ?? [])]
    this.#pendingDms = undefined
    return left
  }

  /** a live room delivery: held while the room's replay is in flight */
  deliverLive (room: string, frame: Uint8Array): void {
    const held = this.#held?.get(room)
    if (held != null) {
      held.push(frame)
    } else {
      this.sendEncoded(frame)
    }
  }

  /** a DM written to this device live: kept until the device acknowledges it */
  pendingDm (idHex: string, e: StampedEvent): void {
    const pending = this.#pendingDms ??= new Map()
    pending.set(idHex, e)
    if (pending.size > MAX_PENDING_DMS) pending.delete(pending.keys().next().value ?? '')
  }

  /** hold live deliveries of `room` until endReplay */
  beginReplay (room: string): void {
    const held = this.#held ??= new Map()
    if (!held.has(room)) held.set(room, [])
  }

  /** release held live deliveries (the client drops any it already got by id) */
  endReplay (room: string): void {
    const held = this.#held?.get(room)
    this.#held?.delete(room)
    if (this.#held?.size === 0) this.#held = undefined
    for (const f of held ?? []) this.sendEncoded(f)
  }

  /** a refusal the session survives, unless the client keeps sending garbage */
  refuse (err: MeshchatError, req: number): void {
    this.host.refused(err)
    const garbage = err.code !== ErrorCode.RATE_LIMITED && err.code !== ErrorCode.INTERNAL &&
      err.code !== ErrorCode.UNAVAILABLE && err.code !== ErrorCode.MAILBOX_FULL
    if (garbage && !(this.#strikes ??= new TokenBucket({ ratePerSec: STRIKE_RATE, burst: STRIKE_BURST })).take(this.clock.now())) {
      const wait = this.host.penalize?.(this) ?? 0
      this.fatal(new MeshchatError(err.code, `too much invalid input; last: ${err.message}`, wait), req)
      return
    }
    if (err.code === ErrorCode.RATE_LIMITED && !(this.#overBudget ??= new TokenBucket({ ratePerSec: OVER_BUDGET_RATE, burst: OVER_BUDGET_BURST })).take(this.clock.now())) {
      const wait = this.host.penalize?.(this) ?? 0
      this.fatal(new MeshchatError(err.code, `kept sending over the limits; last: ${err.message}`, wait), req)
      return
    }
    this.send({ req, error: { code: err.code, message: err.message, retryAfterMs: err.retryAfterMs, fatal: false } })
  }

  /** send a final error frame and close the stream; the node keeps serving everyone else */
  fatal (err: MeshchatError, req: number): void {
    if (this.state === 'closed') return
    this.host.refused(err)
    this.log('session %s closed: %s', this.id, err.message)
    this.send({ req, error: { code: err.code, message: err.message, retryAfterMs: err.retryAfterMs, fatal: true } })
    this.close()
  }

  close (): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    clearTimeout(this.helloTimer)
    this.#held = undefined
    this.transport.close()
  }
}
