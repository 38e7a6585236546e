/**
 * The user directory on the mesh, over /meshchat/dir/1.0.0: every node registers its own devices
 * with each user's K owner nodes (rendezvous hashing over the nodes presence shows up), any node
 * looks a user up or watches it at the owners, and owners push watched users' changes.
 *
 * - Registrations are batched per owner and sent one way (/meshchat/dir-register/1.0.0: no answer)
 *   on one stream per owner, so an owner hears a node's changes in order; every registration is as
 *   of the node's change count, so retries and late answers cannot undo a newer state
 *   (`state/directory.ts`). Nothing comes back: an owner that refuses one resets the stream, and a
 *   stream that breaks after registrations went on it gets the owner a full registration, as a
 *   failed request did. An owner that does not serve the one-way protocol gets requests.
 * - Membership changes move records from the hosting nodes, never between owners: each node sends
 *   the devices whose users gained an owner to that owner, and owners drop users they no longer own.
 * - An owner that restarted, or that saw a node come back from down, asks the node for its devices
 *   of the users it owns (a full registration), which rebuilds exactly what it held.
 * - Owners refuse a registration from a peer for another node's devices, rate-limit each peer's
 *   lookups and watches, and bound records per hosting node, devices per user and watchers.
 *
 * It reads node liveness from global presence. Routing asks it: `locate` answers where a user's
 * devices are (DMs, mailbox pushes, entitlement checks, watch lists) and keeps following the users
 * it was asked about, most recent first, so later answers are local and current.
 */
import { nodePeerId } from './peer-ids.js'
import { TypedEventEmitter } from 'main-event'
import { DirRequest, DirResponse } from '../../../client/src/protocol/pb/directory.js'
import { BadFrameError, InvalidQueryError, NotEntitledError, RateLimitedError, UnavailableError, asMeshchatError, errorFromCode } from '../../../client/src/protocol/errors.js'
import { validateUserId } from '../../../client/src/protocol/signing.js'
import { DirectoryFullError, DirectoryTable, LocalDirectory, directoryOwners } from '../state/directory.js'
import { KeyedRateLimiter } from '../state/rate-limiter.js'
import { ChannelPool, FrameBudget, serve } from './rpc.js'
import { OneWayPool, OneWayUnsupportedError, serveOneWay } from './oneway.js'
import type { DirDevice, DirRegister } from '../../../client/src/protocol/pb/directory.js'
import type { DirectoryChange, DirectoryDevice, DirectoryLimits, DirectoryRecord, Registration } from '../state/directory.js'
import type { PresenceChange } from '../state/presence.js'
import type { PresenceService } from './presence-service.js'
import { Debounced } from '../supervisor.js'
import type { Supervisor } from '../supervisor.js'
import type { Clock } from '../components.js'
import type { Libp2p, Logger, PeerId, Startable } from '@libp2p/interface'
import type { NodeMetrics } from '../metrics.js'

export const DIRECTORY_PROTOCOL = '/meshchat/dir/1.0.0'
/** registrations one way: a `DirRequest` with `register` set per frame, nothing sent back */
export const DIRECTORY_REGISTER_PROTOCOL = '/meshchat/dir-register/1.0.0'

export interface DirectoryInit {
  /**
   * owners per user (the design's K = 2)
   *
   * @default 2
   */
  replicas?: number
  /** deadline of one request to another node */
  requestTimeoutMs: number
  /**
   * this node's device changes within this window go out as one registration per owner
   *
   * @default 10
   */
  batchMs?: number
  /**
   * while changes keep coming (another within twice this of the last registration), they are
   * gathered this long instead: in an attach burst each owner gets a registration every 50 ms, not
   * every 10 ms, and the other nodes wake a fifth as often
   *
   * @default 50
   */
  burstBatchMs?: number
  /** ownership is recomputed this long after the last membership change (a burst costs one pass) */
  rebalanceDelayMs: number
  /**
   * users one peer may name per second in lookups and watches (a sessions pull counts 50): a node
   * asks for what its clients ask, so this is a flood bound, not a quota
   *
   * @default 1000
   */
  lookupsPerSec?: number
  /**
   * burst of the same
   *
   * @default 2000
   */
  lookupBurst?: number
  /**
   * users one request may name
   *
   * @default 1000
   */
  maxUsersPerRequest?: number
  /**
   * users this node watches at most
   *
   * @default 10000
   */
  maxWatched?: number
  /**
   * bytes of directory frames (registrations above all) one peer may send per second, charged at a
   * frame's length prefix, before it is read: a frame is taken while the peer is not in debt and
   * charged whole, so a full registration larger than the burst gets through, and the peer then
   * waits out its size. Without it a keyed peer could keep an owner decoding frames of up to 64 MiB
   * back to back, and hold 64 MiB of its memory on each stream it opens.
   *
   * @default 1 MiB
   */
  registerBytesPerSec?: number
  /**
   * burst of the same: a full registration of a large node (250,000 devices is about 17 MB) fits
   *
   * @default 32 MiB
   */
  registerBurstBytes?: number
  /** the owner's bounds (`DEFAULT_DIRECTORY_LIMITS`) */
  limits?: Partial<DirectoryLimits>
  /**
   * users `locate` keeps following (watched at their owners), most recently asked first; past this
   * the least recently asked is unwatched
   *
   * @default 5000
   */
  maxFollowed?: number
}

export interface DirectoryComponents {
  nodeId: string
  /** this run of the node (presence's incarnation) */
  incarnation: number
  mesh: Libp2p
  presence: PresenceService
  clock: Clock
  log: Logger
  supervisor: Supervisor
  /** directory bytes are counted as presence bytes too */
  metrics?: Pick<NodeMetrics, 'presenceBytes' | 'directoryBytes' | 'directoryRequests' | 'presenceWork' | 'rejected'>
}

/** A watched user's devices as this node now sees them (empty: offline). */
export interface DirectoryUserEvent {
  userId: string
  devices: DirectoryRecord[]
}

/** Users whose devices on `node` changed in a registration this node, as their owner, accepted. */
export interface DirectoryHostedEvent {
  node: string
  users: string[]
}

export interface DirectoryEvents {
  /** a watched user's devices changed */
  user: CustomEvent<DirectoryUserEvent>
  /** as an owner: users a node registered a new or changed device of (their mailbox goes there) */
  hosted: CustomEvent<DirectoryHostedEvent>
}

const STRING_MAX = 256
/** tokens a sessions pull costs (a node pulls once per node it sees come up, and once per departure) */
const SESSIONS_PULL_COST = 50

/**
 * Registers this node's devices with their owners, owns its share of users, and answers and asks
 * lookups and watches.
 */
export class DirectoryService extends TypedEventEmitter<DirectoryEvents> implements Startable {
  readonly local: LocalDirectory
  readonly table: DirectoryTable
  private readonly init: Required<Omit<DirectoryInit, 'limits'>>
  private readonly c: DirectoryComponents
  private readonly channels: ChannelPool<DirRequest, DirResponse>
  /** registrations to owners, one way */
  private readonly registrations: OneWayPool<DirRequest>
  private readonly limiter: KeyedRateLimiter<string>
  /** bytes of directory frames per peer, charged at their length prefixes (`registerBytesPerSec`) */
  private readonly byteBudget: FrameBudget
  private started = false
  private readonly flusher: Debounced
  private readonly rebalancer: Debounced
  private readonly retrier: Debounced
  /** the live nodes (with incarnations) at the last rebalance: handover is computed from them */
  private lastLive = new Map<string, number>()
  /** owners whose last registration from here failed: they get a full one */
  private readonly behind = new Set<string>()
  /** nodes asked for their devices in this run, with the incarnation asked */
  private readonly pulled = new Map<string, number>()
  /** watched users → owner → the devices that owner last reported */
  private readonly watching = new Map<string, Map<string, DirectoryRecord[]>>()
  /** watched users → the owners asked to push them here (a push from anyone else is refused) */
  private readonly asked = new Map<string, Set<string>>()
  /** watched users → the view last emitted */
  private readonly shown = new Map<string, DirectoryRecord[]>()
  /** users `locate` follows, least recently asked first */
  private readonly followed = new Map<string, true>()
  /** locate calls in flight, by user: one watch per user however many ask */
  private readonly locating = new Map<string, Promise<void>>()
  private readonly onPresence: (evt: CustomEvent<PresenceChange>) => void

  constructor (init: DirectoryInit, components: DirectoryComponents) {
    super()
    this.init = {
      replicas: 2,
      batchMs: 10,
      burstBatchMs: 50,
      lookupsPerSec: 1000,
      lookupBurst: 2000,
      maxUsersPerRequest: 1000,
      maxWatched: 10_000,
      maxFollowed: 5000,
      registerBytesPerSec: 1 << 20,
      registerBurstBytes: 32 << 20,
      ...init
    }
    this.c = components
    this.local = new LocalDirectory(components.nodeId, components.incarnation)
    this.table = new DirectoryTable(components.nodeId, init.limits)
    this.channels = new ChannelPool(components.mesh, DIRECTORY_PROTOCOL, { req: DirRequest, res: DirResponse }, { timeoutMs: init.requestTimeoutMs, maxBytes: 64 << 20, onBytes: this.onBytes })
    this.registrations = new OneWayPool(components.mesh, DIRECTORY_REGISTER_PROTOCOL, DirRequest, {
      timeoutMs: init.requestTimeoutMs,
      // a break is what matters, not which registration it took: the owner then gets a full one, so
      // the last few are remembered however old (one of them reports the break)
      recentMs: 24 * 3600_000,
      maxRecent: 8,
      onBytes: bytes => { this.onBytes('out', bytes) }
    })
    this.limiter = new KeyedRateLimiter({ ratePerSec: this.init.lookupsPerSec, burst: this.init.lookupBurst, maxKeys: 10_000 })
    this.byteBudget = new FrameBudget('directory frames', this.init.registerBytesPerSec, this.init.registerBurstBytes)
    const sup = components.supervisor
    this.flusher = new Debounced(sup, 'directory:flush', this.init.batchMs, () => { this.work(() => { this.flush() }) }, { delayMs: this.init.burstBatchMs, now: () => components.clock.now() })
    this.rebalancer = new Debounced(sup, 'directory:rebalance', init.rebalanceDelayMs, async () => this.rebalance())
    // missed changes are repaired with a full registration, once the owner can be reached
    this.retrier = new Debounced(sup, 'directory:retry', init.rebalanceDelayMs, () => { this.retryBehind() })
    this.onPresence = components.supervisor.wrap('directory:presence', (evt: CustomEvent<PresenceChange>) => { this.work(() => { this.presenceChanged(evt.detail) }) })
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.c.presence.addEventListener('change', this.onPresence)
    // devices already attached (none on a fresh start, but a restarted service must not miss them)
    for (const e of this.c.presence.local.entries()) this.local.put(toDevice(e))
    this.lastLive = this.liveWithIncarnations()
    await serve(this.c.mesh, DIRECTORY_PROTOCOL, { req: DirRequest, res: DirResponse }, async (req, from) => this.work(async () => this.answer(req, from)), {
      maxBytes: 64 << 20,
      timeoutMs: this.init.requestTimeoutMs,
      log: this.c.log,
      onBytes: this.onBytes,
      admit: (bytes, from) => { this.admit(bytes, from, false) },
      refused: err => {
        const e = asMeshchatError(err)
        return { error: { code: e.code, message: e.message, retryAfterMs: e.retryAfterMs } }
      }
    })
    await serveOneWay(this.c.mesh, DIRECTORY_REGISTER_PROTOCOL, DirRequest, async (req, from) => {
      if (req.register == null) throw new BadFrameError('a one-way directory frame carries a registration')
      const reg = req.register
      this.work(() => { this.take(reg, from.toString()) })
    }, {
      maxBytes: 64 << 20,
      timeoutMs: this.init.requestTimeoutMs,
      log: this.c.log,
      onBytes: bytes => { this.onBytes('in', bytes) },
      admit: (bytes, from) => { this.admit(bytes, from, true) },
      // the stream is reset: the sender learns of it and sends a full registration once it can
      onRefused: (err, from) => { this.c.log('registration from %p refused - %s', from, err.message) }
    })
    this.flusher.schedule()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.flusher.cancel()
    this.rebalancer.cancel()
    this.retrier.cancel()
    this.c.presence.removeEventListener('change', this.onPresence)
    this.channels.close()
    this.registrations.close()
    await this.c.mesh.unhandle(DIRECTORY_PROTOCOL)
    await this.c.mesh.unhandle(DIRECTORY_REGISTER_PROTOCOL)
  }

  /** the user's owners over the nodes presence shows up */
  owners (userId: string): string[] {
    return directoryOwners(userId, this.live(), this.init.replicas)
  }

  /**
   * The user's devices, from the first of its owners that answers (this node's own table when it
   * is one). Throws the last owner's error when none answers.
   */
  async lookup (userId: string): Promise<DirectoryRecord[]> {
    validateUserId(userId)
    let last: unknown = new UnavailableError('no owner of the user is up')
    const owners = this.owners(userId)
    // an owner answers from its own table
    if (owners.includes(this.c.nodeId)) return this.table.lookup(userId)
    for (const owner of owners) {
      try {
        const res = await this.call(owner, { lookup: { users: [userId] } })
        const answer = res.users?.users.find(u => u.user === userId)
        return (answer?.devices ?? []).map(recordFromWire)
      } catch (err) {
        last = err
      }
    }
    throw last
  }

  /**
   * Follow these users: their owners push every change, and `user` events report them. Resolves
   * once every owner was asked (one that cannot be reached is asked again at the next rebalance).
   */
  async watch (userIds: readonly string[]): Promise<void> {
    const users = [...new Set(userIds)].map(u => validateUserId(u))
    const added = users.filter(u => !this.watching.has(u))
    if (this.watching.size + added.length > this.init.maxWatched) throw new DirectoryFullError('maxWatchesPerNode', `this node watches ${this.watching.size} users (at most ${this.init.maxWatched})`)
    for (const u of added) this.watching.set(u, new Map())
    await this.subscribe(added, this.live())
  }

  /** Stop following these users. */
  async unwatch (userIds: readonly string[]): Promise<void> {
    const byOwner = new Map<string, string[]>()
    for (const u of userIds) {
      const views = this.watching.get(u)
      if (views === undefined) continue
      this.watching.delete(u)
      this.shown.delete(u)
      const asked = this.asked.get(u) ?? new Set()
      this.asked.delete(u)
      for (const owner of new Set([...views.keys(), ...asked])) {
        let list = byOwner.get(owner)
        if (list === undefined) byOwner.set(owner, list = [])
        list.push(u)
      }
    }
    await Promise.all([...byOwner].map(async ([owner, users]) => {
      if (owner === this.c.nodeId) {
        this.table.unwatch(owner, users)
        return
      }
      await this.call(owner, { unwatch: { users } }).catch(err => { this.c.log('unwatch at %s failed - %s', owner, (err as Error).message) })
    }))
  }

  /**
   * Where the user's devices are: the view of a followed user, or (the first time) the owners'
   * answer, after which the user is followed so the next answer is local. An empty list when the
   * user is offline or no owner answered.
   */
  async locate (userId: string): Promise<DirectoryRecord[]> {
    validateUserId(userId)
    this.follow(userId)
    if (!this.shown.has(userId)) {
      let pending = this.locating.get(userId)
      if (pending === undefined) {
        pending = this.watch([userId]).catch(err => { this.c.log('locating %s failed - %s', userId, (err as Error).message) })
          .finally(() => { this.locating.delete(userId) })
        this.locating.set(userId, pending)
      }
      await pending
    }
    return this.view(userId)
  }

  /** The devices of a user `locate` follows, as last reported; undefined when not known yet. */
  known (userId: string): DirectoryRecord[] | undefined {
    if (!this.shown.has(userId)) return undefined
    this.follow(userId)
    return this.view(userId)
  }

  /** mark the user most recently asked; past the bound, stop following the least recently asked */
  private follow (userId: string): void {
    this.followed.delete(userId)
    this.followed.set(userId, true)
    while (this.followed.size > this.init.maxFollowed) {
      const oldest = this.followed.keys().next().value
      if (oldest === undefined) break
      this.followed.delete(oldest)
      void this.unwatch([oldest])
    }
  }

  /** A watched user's devices as last reported, from its first owner that reported; undefined if not watched. */
  watched (userId: string): DirectoryRecord[] | undefined {
    return this.watching.has(userId) ? this.view(userId) : undefined
  }

  /** answer one decoded request from `from` (what the stream handler calls; public for tests and fuzzing) */
  async answer (req: DirRequest, from: PeerId): Promise<Partial<DirResponse>> {
    const peer = from.toString()
    try {
      if (req.register != null) {
        this.take(req.register, peer)
        return { ok: { count: req.register.put.length + req.register.del.length } }
      }
      if (req.notify != null) {
        const userId = req.notify.user
        // only an owner this node asked may tell it about a user
        const views = this.watching.get(userId)
        if (views === undefined || this.asked.get(userId)?.has(peer) !== true) throw new NotEntitledError(`node ${peer} is not where this node watches ${userId}`)
        if (req.notify.devices.length > (this.table.limits.maxDevicesPerUser)) throw new BadFrameError('too many devices')
        views.set(peer, req.notify.devices.map(recordFromWire))
        this.emitView(userId)
        return { ok: { count: 1 } }
      }
      if (req.lookup != null || req.watch != null || req.unwatch != null) {
        const users = this.checkUsers((req.lookup ?? req.watch ?? req.unwatch)!.users)
        this.charge(peer, users.length)
        if (req.unwatch != null) {
          this.table.unwatch(peer, users)
          return { ok: { count: users.length } }
        }
        const answer = req.watch != null
          ? this.table.watch(peer, users)
          : users.map(userId => ({ userId, devices: this.table.lookup(userId) }))
        return { users: { users: answer.map(u => ({ user: u.userId, devices: u.devices.map(recordToWire) })) } }
      }
      if (req.sessions != null) {
        // a pull hashes every device of this node against every node listed: it costs more than a lookup,
        // and the lists may not be much longer than the mesh this node knows
        this.charge(peer, SESSIONS_PULL_COST)
        const { live, before } = req.sessions
        const most = 2 * this.live().length + 8
        if (live.length > most || before.length > most) throw new InvalidQueryError(`a sessions pull lists at most ${most} nodes`)
        if (!live.includes(peer)) throw new InvalidQueryError('the asking node must be in its own live list')
        if (before.length === 0) return { sessions: registrationToWire(this.local.sessionsFor(peer, live, this.init.replicas)) }
        const gained = this.local.handover(before, live, this.init.replicas).get(peer) ??
          { node: this.c.nodeId, incarnation: this.c.incarnation, version: this.local.version, ops: [] }
        return { sessions: registrationToWire(gained) }
      }
      throw new BadFrameError('empty directory request')
    } catch (err) {
      const e = asMeshchatError(err)
      if (e.codeName !== 'RATE_LIMITED') this.c.log('directory request from %s refused - %s', peer, e.message)
      return { error: { code: e.code, message: e.message, retryAfterMs: e.retryAfterMs } }
    }
  }

  /** apply a registration from `peer` (a request or a one-way frame), or throw why not */
  private take (reg: DirRegister, peer: string): void {
    // a keyed peer that is not a live node here writes nothing (nor does a node presence shows down:
    // its late registrations would bring back what went down with it); it is asked once it is up
    if (!this.live().includes(peer)) throw new NotEntitledError(`node ${peer} is not up here`)
    this.registered(this.table.register(this.ownedOnly(registrationFromWire(reg, peer)), peer), peer)
  }

  /**
   * A peer's directory frame of `bytes`, at its length prefix: charged to the peer's byte budget,
   * refused (RATE_LIMITED, with the wait) while the peer is in debt. A registration is refused
   * (NOT_ENTITLED) first if the peer is not a live node here, as `take` would refuse it decoded.
   */
  private admit (bytes: number, from: PeerId, registration: boolean): void {
    const peer = from.toString()
    try {
      if (registration && !this.live().includes(peer)) throw new NotEntitledError(`node ${peer} is not up here`)
      this.byteBudget.charge(peer, this.c.clock.now(), bytes)
    } catch (err) {
      this.c.metrics?.rejected.inc({ code: (err as Error).name })
      throw err
    }
  }

  private checkUsers (users: string[]): string[] {
    if (users.length === 0 || users.length > this.init.maxUsersPerRequest) throw new InvalidQueryError(`a directory request names 1 to ${this.init.maxUsersPerRequest} users`)
    return users.map(u => validateUserId(u))
  }

  private charge (peer: string, n: number): void {
    const now = this.c.clock.now()
    if (!this.limiter.take(peer, now, n)) {
      throw new RateLimitedError(`directory requests from ${peer} over ${this.init.lookupsPerSec}/s`, Math.min(60_000, this.limiter.retryAfterMs(peer, now, n)))
    }
  }

  private live (): readonly string[] {
    return this.c.presence.replica.liveNodes()
  }

  private liveWithIncarnations (): Map<string, number> {
    const out = new Map<string, number>()
    for (const n of this.c.presence.replica.nodes()) if (n.up) out.set(n.id, n.incarnation)
    out.set(this.c.nodeId, this.c.incarnation)
    return out
  }

  private presenceChanged (c: PresenceChange): void {
    if (!this.started) return
    let ownDevices = false
    for (const d of c.devices) {
      if (d.node !== this.c.nodeId) continue
      ownDevices = true
      if (d.entry == null) this.local.del(d.deviceId)
      else this.local.put(toDevice(d.entry))
    }
    if (ownDevices) this.flusher.schedule()
    for (const n of c.nodes) {
      if (n.node === this.c.nodeId) continue
      if (!n.up) {
        this.notify(this.table.nodeDown(n.node, n.incarnation))
        this.pulled.delete(n.node)
        // watched users' views from an owner that is gone are dropped at the rebalance
      } else {
        const { pull, change } = this.table.nodeUp(n.node, n.incarnation)
        this.notify(change)
        // rebuild: everything this node owns of the node's devices, once per incarnation, and again after it was down
        if (pull || this.pulled.get(n.node) !== n.incarnation) this.pull(n.node, n.incarnation)
      }
    }
    if (c.nodes.length > 0) this.rebalancer.schedule()
  }

  /**
   * Ask `node` for its devices of the users this node owns, and hold exactly those; with `before`,
   * only of the users this node gained since that membership.
   */
  private pull (node: string, incarnation: number, before: string[] = []): void {
    if (before.length === 0) this.pulled.set(node, incarnation)
    const live = this.live()
    this.c.supervisor.track('directory:pull', (async () => {
      const res = await this.call(node, { sessions: { live: [...live], before } })
      if (res.sessions == null) throw new BadFrameError('a sessions pull answered without sessions')
      if (!this.started) return
      this.registered(this.table.register(this.ownedOnly(registrationFromWire(res.sessions, node)), node), node)
    })().catch(err => {
      // asked again when it next comes up, or on the next membership change
      if (before.length === 0 && this.pulled.get(node) === incarnation) this.pulled.delete(node)
      this.c.log('directory pull from %s failed - %s', node, (err as Error).message)
    }))
  }

  /**
   * The registration without the devices of users this node does not own by its own view. A node
   * whose view of the mesh differs for a moment may send to a node that is not an owner; kept, such
   * a record would outlive the difference (the non-owner has no membership change to drop it at).
   * A view can only lack nodes for a moment, which makes this node own more, not less; a node it
   * wrongly counts as live is repaired when that node goes down (see `rebalance`).
   */
  private ownedOnly (reg: Registration): Registration {
    const live = this.live()
    const owned = new Map<string, boolean>()
    const owns = (userId: string): boolean => {
      let o = owned.get(userId)
      if (o === undefined) owned.set(userId, o = directoryOwners(userId, live, this.init.replicas).includes(this.c.nodeId))
      return o
    }
    return { ...reg, ops: reg.ops.filter(op => op.op === 'del' || owns(op.device.userId)) }
  }

  /** send this node's pending changes to their owners */
  private flush (): void {
    if (!this.started) return
    for (const [owner, reg] of this.local.flush(this.live(), this.init.replicas)) this.send(owner, reg)
  }

  private send (owner: string, reg: Registration): void {
    if (owner === this.c.nodeId) {
      this.registered(this.table.register(reg, owner), owner)
      return
    }
    const req = { register: registrationToWire(reg) }
    const failed = (err: Error): void => {
      this.c.log('registration with %s failed - %s', owner, err.message)
      this.fellBehind(owner)
    }
    if (!this.registrations.supports(owner)) {
      this.c.supervisor.track('directory:register', this.call(owner, req).catch(failed))
      return
    }
    // sent after this turn's presence work, as a request is (its encoding and the transport are not
    // presence code: meshchat_presence_cpu_seconds_total leaves them out either way)
    this.c.supervisor.track('directory:register', Promise.resolve().then(async () => this.registrations.send(nodePeerId(owner), req, () => {
      this.c.log('registration stream to %s broke', owner)
      this.fellBehind(owner)
    })).then(() => { this.c.metrics?.directoryRequests.inc({ kind: 'register' }) }, async (err: Error) => {
      // an owner of an older version: the same registration as a request
      if (err instanceof OneWayUnsupportedError) await this.call(owner, req).catch(failed)
      else failed(err)
    }))
  }

  /** `owner` may have missed registrations: it gets a full one once it can be reached */
  private fellBehind (owner: string): void {
    this.behind.add(owner)
    this.retrier.schedule()
  }

  private retryBehind (): void {
    if (!this.started) return
    const live = this.live()
    for (const owner of [...this.behind]) {
      this.behind.delete(owner)
      if (live.includes(owner)) this.send(owner, this.local.sessionsFor(owner, live, this.init.replicas))
    }
  }

  /**
   * Membership changed: hand this node's devices to the owners that gained them (a restarted node
   * counts as new: it holds nothing), drop the users this node no longer owns, and watch users at
   * their new owners.
   */
  private async rebalance (): Promise<void> {
    if (!this.started) return
    const now = this.liveWithIncarnations()
    const after = [...now.keys()]
    const before = [...this.lastLive].filter(([id, inc]) => now.get(id) === undefined || now.get(id) === inc).map(([id]) => id)
    const previous = [...this.lastLive.keys()]
    // an owner that restarted holds nothing it was asked before: its views are dropped and it is asked again
    const restarted = [...this.lastLive].filter(([id, inc]) => now.has(id) && now.get(id) !== inc).map(([id]) => id)
    for (const [userId, views] of this.watching) {
      for (const id of restarted) {
        views.delete(id)
        this.asked.get(userId)?.delete(id)
      }
    }
    this.lastLive = now
    // nodes left: this node may own users it did not, whose hosts may not have seen the same change
    if (previous.some(id => !now.has(id))) {
      for (const node of after) if (node !== this.c.nodeId) this.pull(node, now.get(node) ?? 0, previous)
    }
    this.flush()
    for (const [owner, reg] of this.local.handover(before, after, this.init.replicas)) this.send(owner, reg)
    this.table.retain(after, this.init.replicas)
    // watches: drop views from nodes that are no longer owners, ask the new owners
    const resubscribe: string[] = []
    for (const [userId, views] of this.watching) {
      const owners = directoryOwners(userId, after, this.init.replicas)
      const asked = this.asked.get(userId)
      for (const o of [...views.keys()]) if (!owners.includes(o)) views.delete(o)
      for (const o of [...(asked ?? [])]) if (!owners.includes(o)) asked?.delete(o)
      if (owners.some(o => asked?.has(o) !== true)) resubscribe.push(userId)
      this.emitView(userId)
    }
    if (resubscribe.length > 0) await this.subscribe(resubscribe, after)
  }

  /** ask every owner (over `live`) of these users that this node does not yet watch them at */
  private async subscribe (users: readonly string[], live: readonly string[]): Promise<void> {
    const byOwner = new Map<string, string[]>()
    for (const u of users) {
      if (!this.watching.has(u)) continue
      let asked = this.asked.get(u)
      if (asked === undefined) this.asked.set(u, asked = new Set())
      for (const owner of directoryOwners(u, live, this.init.replicas)) {
        if (asked.has(owner)) continue
        // asked before the request goes: the owner's first push may come before its answer
        asked.add(owner)
        let list = byOwner.get(owner)
        if (list === undefined) byOwner.set(owner, list = [])
        list.push(u)
      }
    }
    await Promise.all([...byOwner].map(async ([owner, list]) => {
      for (let i = 0; i < list.length; i += this.init.maxUsersPerRequest) {
        const chunk = list.slice(i, i + this.init.maxUsersPerRequest)
        try {
          const answer = owner === this.c.nodeId
            ? this.table.watch(owner, chunk)
            : (await this.call(owner, { watch: { users: chunk } })).users?.users.map(u => ({ userId: u.user, devices: u.devices.map(recordFromWire) })) ?? []
          for (const u of answer) {
            const views = this.watching.get(u.userId)
            // a push that came before the answer is newer than it
            if (views === undefined || views.has(owner)) continue
            views.set(owner, u.devices)
            this.emitView(u.userId)
          }
        } catch (err) {
          for (const u of chunk) this.asked.get(u)?.delete(owner)
          this.c.log('watch at %s failed - %s', owner, (err as Error).message)
          this.rebalancer.schedule()
        }
      }
    }))
  }

  /** a registration from `node` was applied: tell the watchers, and say which users `node` now hosts differently */
  private registered (change: DirectoryChange, node: string): void {
    this.notify(change)
    if (change.users.length === 0 || this.listenerCount('hosted') === 0) return
    const users = change.users.filter(u => u.devices.some(d => d.node === node)).map(u => u.userId)
    if (users.length > 0) this.safeDispatchEvent('hosted', { detail: { node, users } })
  }

  /** push the users' new devices to the nodes watching them */
  private notify (change: DirectoryChange): void {
    for (const u of change.users) {
      for (const watcher of this.table.watchers(u.userId)) {
        if (watcher === this.c.nodeId) {
          const views = this.watching.get(u.userId)
          if (views === undefined) continue
          views.set(watcher, u.devices)
          this.emitView(u.userId)
          continue
        }
        this.c.supervisor.track('directory:notify', this.call(watcher, { notify: { user: u.userId, devices: u.devices.map(recordToWire) } })
          .catch(err => { this.c.log('notify %s failed - %s', watcher, (err as Error).message) }))
      }
    }
  }

  /** the user's devices as the first owner (in rendezvous order) that reported has them */
  private view (userId: string): DirectoryRecord[] {
    const views = this.watching.get(userId)
    if (views === undefined) return []
    for (const owner of this.owners(userId)) {
      const v = views.get(owner)
      if (v !== undefined) return v
    }
    return [...views.values()][0] ?? []
  }

  private emitView (userId: string): void {
    if (!this.watching.has(userId)) return
    const next = this.view(userId)
    const prev = this.shown.get(userId)
    if (prev !== undefined && sameRecords(prev, next)) return
    this.shown.set(userId, next)
    this.safeDispatchEvent('user', { detail: { userId, devices: next } })
  }

  /** directory work is presence work (meshchat_presence_cpu_seconds_total) */
  private work<T> (fn: () => T): T {
    const m = this.c.metrics
    return m == null ? fn() : m.presenceWork('directory', fn)
  }

  /** directory payload bytes (requests and answers, as the RPC layer sends and reads them), counted as presence bytes too */
  private readonly onBytes = (direction: 'in' | 'out', bytes: number): void => {
    const m = this.c.metrics
    if (m == null) return
    m.directoryBytes.inc({ direction }, bytes)
    m.presenceBytes.inc({ direction }, bytes)
  }

  private async call (node: string, req: Partial<DirRequest>): Promise<DirResponse> {
    this.c.metrics?.directoryRequests.inc({ kind: requestKind(req) })
    const res = await this.channels.call(nodePeerId(node), req)
    if (res.error != null) throw errorFromCode(res.error.code, res.error.message, res.error.retryAfterMs)
    return res
  }
}

const REQUEST_KINDS = ['register', 'lookup', 'watch', 'unwatch', 'sessions', 'notify'] as const

function requestKind (req: Partial<DirRequest>): string {
  return REQUEST_KINDS.find(k => req[k] != null) ?? 'other'
}

function toDevice (e: { userId: string, deviceId: string, name: string, status: 'online' | 'away', rooms: string[], since: number }): DirectoryDevice {
  return { userId: e.userId, deviceId: e.deviceId, name: e.name, status: e.status, rooms: e.rooms.length, since: e.since }
}

function checkString (s: string, what: string): string {
  if (s.length === 0 || s.length > STRING_MAX) throw new BadFrameError(`${what} must be 1 to ${STRING_MAX} characters`)
  return s
}

function deviceFromWire (d: DirDevice): DirectoryDevice {
  if (d.name.length > STRING_MAX) throw new BadFrameError('device name too long')
  return {
    userId: validateUserId(d.user),
    deviceId: checkString(d.device, 'device id'),
    name: d.name,
    status: d.away ? 'away' : 'online',
    rooms: d.rooms,
    since: safeNumber(d.since)
  }
}

function recordFromWire (d: DirDevice): DirectoryRecord {
  return { node: checkString(d.node, 'node id'), incarnation: safeNumber(d.incarnation), ...deviceFromWire(d) }
}

function deviceToWire (d: DirectoryDevice): DirDevice {
  return { user: d.userId, device: d.deviceId, name: d.name, away: d.status === 'away', rooms: d.rooms, since: BigInt(d.since), node: '', incarnation: 0n }
}

function recordToWire (r: DirectoryRecord): DirDevice {
  return { ...deviceToWire(r), node: r.node, incarnation: BigInt(r.incarnation) }
}

/** a registration from `sender`; one that names no node is the sender's own (the connection authenticates it) */
function registrationFromWire (r: DirRegister, sender: string): Registration {
  const ops: Registration['ops'] = [
    ...r.del.map(d => ({ op: 'del' as const, userId: validateUserId(d.user), deviceId: checkString(d.device, 'device id') })),
    ...r.put.map(d => ({ op: 'put' as const, device: deviceFromWire(d) }))
  ]
  return { node: r.node === '' ? sender : checkString(r.node, 'node id'), incarnation: safeNumber(r.incarnation), version: safeNumber(r.version), ops, full: r.full }
}

/** a registration of this node's own devices: the node id is left out (the receiver knows who sent it) */
function registrationToWire (r: Registration): DirRegister {
  return {
    node: '',
    incarnation: BigInt(r.incarnation),
    version: BigInt(r.version),
    put: r.ops.flatMap(op => op.op === 'put' ? [deviceToWire(op.device)] : []),
    del: r.ops.flatMap(op => op.op === 'del' ? [{ user: op.userId, device: op.deviceId }] : []),
    full: r.full === true
  }
}

function safeNumber (n: bigint): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadFrameError('number out of range')
  return Number(n)
}

function sameRecords (a: readonly DirectoryRecord[], b: readonly DirectoryRecord[]): boolean {
  return a.length === b.length && a.every((r, i) => {
    const s = b[i]
    return s !== undefined && r.node === s.node && r.deviceId === s.deviceId && r.userId === s.userId &&
      r.status === s.status && r.name === s.name && r.rooms === s.rooms && r.since === s.since && r.incarnation === s.incarnation
  })
}
