import { TypedEventEmitter } from 'main-event'
import { nodePeerId } from './peer-ids.js'
import { PRESENCE_TOPIC, roomTopic } from '../../../client/src/protocol/ids.js'
import { BadFrameError, InvalidQueryError, NotEntitledError, RateLimitedError, asMeshchatError, errorFromCode } from '../../../client/src/protocol/errors.js'
import { RoomPresenceRequest, RoomPresenceResponse } from '../../../client/src/protocol/pb/room-presence.js'
import { LocalPresence, PresenceReplica, metaVersion } from '../state/presence.js'
import { LocalRoomPresence, RoomPresence } from '../state/room-presence.js'
import { KeyedRateLimiter } from '../state/rate-limiter.js'
import {
  entryToWire, incarnationFromWire, presenceValidator, roomDeltaFromWire, roomDeltaToWire, roomHeadFromWire, roomHeadToWire,
  roomStateFromWire, roomStateToWire, signPresence
} from './presence-wire.js'
import { ChannelPool, FrameBudget, serve } from './rpc.js'
import { BeatLink, beatToWire } from './beats.js'
import type { DataLinks } from './data-link.js'
import { GRAYLIST_THRESHOLD, connectedPeers, peerScore } from './mesh-host.js'
import type { PresenceSigner } from './presence-wire.js'
import type { OpenedPresence } from './presence-wire.js'
import type { DeviceDiff, HostOp, NodeMeta, PresenceChange, PresenceEntry, PresenceFullState, PresenceOp, NodeView, RosterMember } from '../state/presence.js'
import type { RoomDelta, RoomPresenceChange } from '../state/room-presence.js'
import { summarizeDevices } from '../state/presence.js'
import type { UserPresence } from '../state/presence.js'

/** Where users' devices are, for users in no room this node carries: the user directory. */
export interface UserLocator {
  /** the user's devices, asking the user's owners the first time (and following the user after) */
  locate: (userId: string) => Promise<LocatedDevice[]>
  /** the devices of a user already followed; undefined when not known yet */
  known: (userId: string) => LocatedDevice[] | undefined
  /** the user's devices from one of its owners, once, without following the user */
  lookup?: (userId: string) => Promise<LocatedDevice[]>
  addEventListener: (type: 'user', listener: (evt: CustomEvent<{ userId: string, devices: LocatedDevice[] }>) => void) => void
  removeEventListener: (type: 'user', listener: (evt: CustomEvent<{ userId: string, devices: LocatedDevice[] }>) => void) => void
}

export interface LocatedDevice {
  node: string
  /** the hosting node's incarnation the device belongs to */
  incarnation: number
  deviceId: string
  name: string
  status: 'online' | 'away'
  since: number
}

function locatedPresence (userId: string, devices: readonly LocatedDevice[]): UserPresence | undefined {
  const m = summarizeDevices(userId, devices)
  return m === undefined ? undefined : { ...m, rooms: [] }
}
import type { Timings } from '../config.js'
import type { NodeMetrics } from '../metrics.js'
import type { Supervisor } from '../supervisor.js'
import type { Clock } from '../components.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { Libp2p, Logger, PeerId, PrivateKey, Startable } from '@libp2p/interface'

export interface PresenceComponents {
  /** wall-clock time */
  clock: Clock
  nodeId: string
  /** this run of the node; a restart gets a larger one so stale entries cannot come back */
  incarnation: number
  /** signs for the node: every presence message is signed with its key */
  signer: PresenceSigner
  pubsub: GossipSub
  mesh: Libp2p
  metrics: NodeMetrics
  log: Logger
  supervisor: Supervisor
  /** this node's load and addresses for the heartbeat */
  meta: () => NodeMeta
  /** fetch a node's full presence state over /meshchat/sync */
  pullFull: (node: string) => Promise<PresenceFullState>
  /** data links to other nodes: beats go on them when one is open */
  links?: DataLinks
}

/** /meshchat/room-presence/1.0.0: each node's streams of who is in a room, pushed to and pulled by the nodes carrying it */
export const ROOM_PRESENCE_PROTOCOL = '/meshchat/room-presence/1.0.0'

/** heartbeats that carry the addresses after they change (the first ones of an incarnation included) */
const ADDR_BEATS = 3
/** and every this many heartbeats besides */
const ADDRS_EVERY = 60n
/**
 * while every live node gets this node's beats over a direct stream, the signed heartbeat on the
 * presence topic goes out only every this many beats (for relays and peers that do not know it yet)
 */
const SIGNED_EVERY = 10n

/** rooms one pull may name (the .proto limit) */
const MAX_PULL_ROOMS = 1000
/** rooms a peer may pull per second, and its burst: a node pulls what it starts carrying, so this bounds floods only */
const PULL_ROOMS_PER_SEC = 2000
const PULL_ROOMS_BURST = 10_000
/**
 * bytes of room presence frames one peer may send per second, charged at a frame's length prefix,
 * and the burst (two frames of the protocol's 16 MiB): a node pushes its streams' changes as its
 * members come and go, about a hundred bytes a member a room (10,000 clients coming back in 5 rooms
 * each: 5 MB), and decoding a push near the 16 MiB limit takes about a second (200,000 device
 * entries, 18 MiB: 0.8–1.1 s on a 2-core test machine), which a keyed peer could otherwise repeat
 * without a pause
 */
const ROOM_FRAME_BYTES_PER_SEC = 1024 * 1024
const ROOM_FRAME_BURST_BYTES = 32 * 1024 * 1024

export interface PresenceEvents {
  /** anything in the view changed (devices, rosters, users, nodes) */
  change: CustomEvent<PresenceChange>
}

function isEmpty (c: PresenceChange): boolean {
  return c.devices.length === 0 && c.rooms.length === 0 && c.users.length === 0 && c.nodes.length === 0 && c.needsSync.length === 0
}

/**
 * The global replica as the rest of the node reads it: a room's roster comes from room presence
 * where the room is carried, a user from the directory and the carried rooms. Node liveness and
 * the rooms' hosts are the replica's own.
 */
class PresenceView extends PresenceReplica {
  private readonly view: { rooms: () => RoomPresence, user: (userId: string) => UserPresence | undefined }

  constructor (self: string, view: { rooms: () => RoomPresence, user: (userId: string) => UserPresence | undefined }) {
    super(self)
    this.view = view
  }

  override roomRoster (room: string): RosterMember[] {
    const rooms = this.view.rooms()
    return rooms.carries(room) ? rooms.roster(room) : super.roomRoster(room)
  }

  override user (userId: string): UserPresence | undefined {
    return this.view.user(userId)
  }
}

function emptyChange (): PresenceChange {
  return { devices: [], rooms: [], users: [], needsSync: [], nodes: [] }
}

/**
 * Drives presence in two layers.
 *
 * Node liveness, on the global presence topic, O(nodes): a small heartbeat
 * every H, incarnations, failure detection (down after 3H, sooner when every
 * connection to a node dropped), goodbye on a graceful stop, and each node's
 * set of hosted rooms (room names, no users) in deltas with a per-node
 * sequence number and full-state pulls on a gap.
 *
 * Who is in a room, only on the nodes that host its members: this node's
 * devices are split into one stream per room (`room-presence.ts`), pushed over
 * /meshchat/room-presence to the other nodes hosting devices in that room
 * (global presence names them), with each changed stream's head pushed again
 * at the next heartbeat so a lost tail shows; a node that starts hosting a
 * room, sees a gap, or sees a host come back pulls the hosts' streams of it.
 * An archive replica with no member of the room follows nobody in it. A node declared down or gone takes its
 * devices out of every room at once.
 */
export class PresenceService extends TypedEventEmitter<PresenceEvents> implements Startable {
  readonly local: LocalPresence
  readonly replica: PresenceReplica
  /** this node's devices, one stream per room */
  readonly localRooms: LocalRoomPresence
  /** who is in the rooms this node carries */
  readonly roomPresence: RoomPresence
  private readonly c: PresenceComponents
  private readonly timings: Timings
  private pending: PresenceOp[] = []
  /** callers of published() waiting for the next flush */
  private readonly afterFlush: Array<() => void> = []
  private flushTimer?: ReturnType<typeof setTimeout>
  private beatTimer?: ReturnType<typeof setTimeout>
  /** a repair a quarter of a heartbeat after a pull failed */
  private retryTimer?: ReturnType<typeof setTimeout>
  /** the failure check's timer, set for the earliest moment a node could go down (armCheck) */
  private checkTimer?: ReturnType<typeof setTimeout>
  private beat = 0n
  /** the latest direct beat written to the peers, for a beat stream that opens between ticks */
  private lastBeatFrame?: Uint8Array
  /** the addresses' version last sent, and how many more heartbeats carry them */
  private addrsVersion = 0
  private addrBeats = 0
  private readonly pulling = new Set<string>()
  /** nodes whose room streams are being pulled */
  private readonly pullingRooms = new Set<string>()
  /** room streams to pull per node, sent together at the next turn */
  private readonly toPull = new Map<string, Set<string>>()
  /** room streams to pull per node after a pull of them failed (at the next repair: a tick, a beat, a message) */
  private readonly later = new Map<string, Set<string>>()
  /** room streams asked of a node while a pull from it was running: pulled as soon as it ends */
  private readonly waiting = new Map<string, Set<string>>()
  /** where users in no carried room are found: the user directory */
  private locator?: UserLocator
  private pullTimer?: ReturnType<typeof setTimeout>
  /** rooms newly followed, with the hosts whose streams are still to come */
  private readonly firstPulls = new Map<string, { nodes: Set<string>, done: () => void, promise: Promise<void> }>()
  /** rooms whose stream here changed since their head was last pushed */
  private readonly dirty = new Set<string>()
  private readonly channels: ChannelPool<RoomPresenceRequest, RoomPresenceResponse>
  /** liveness over the direct connections */
  private readonly beats: BeatLink
  private readonly pullLimiter = new KeyedRateLimiter<string>({ ratePerSec: PULL_ROOMS_PER_SEC, burst: PULL_ROOMS_BURST, maxKeys: 10_000 })
  private readonly roomFrames = new FrameBudget('room presence frames', ROOM_FRAME_BYTES_PER_SEC, ROOM_FRAME_BURST_BYTES)
  private started = false
  /** validator results for the message handler, so nothing is decoded or verified twice */
  private readonly validated = new WeakMap<Message, OpenedPresence>()
  /** presence messages are signed in order, one at a time, so they are published in the order they were made */
  private publishing: Promise<void> = Promise.resolve()
  private readonly onMessage: (evt: CustomEvent<Message>) => void
  private readonly onDisconnect: (evt: CustomEvent<PeerId>) => void
  /** room presence payload bytes (pushes, pulls and their answers, as the RPC layer sends and reads them), counted as presence bytes too */
  private readonly onRoomBytes = (direction: 'in' | 'out', bytes: number): void => {
    this.c.metrics.presenceBytes.inc({ direction }, bytes)
    this.c.metrics.roomPresenceBytes.inc({ direction }, bytes)
  }

  constructor (timings: Timings, components: PresenceComponents) {
    super()
    this.c = components
    this.timings = timings
    this.local = new LocalPresence(components.nodeId, components.incarnation)
    this.replica = new PresenceView(components.nodeId, { rooms: () => this.roomPresence, user: userId => this.user(userId) })
    this.localRooms = new LocalRoomPresence(components.nodeId, components.incarnation)
    this.roomPresence = new RoomPresence()
    this.channels = new ChannelPool(components.mesh, ROOM_PRESENCE_PROTOCOL, { req: RoomPresenceRequest, res: RoomPresenceResponse }, { timeoutMs: timings.requestTimeoutMs, maxBytes: 16 << 20, onBytes: this.onRoomBytes })
    const sup = components.supervisor
    this.beats = new BeatLink(components.mesh, {
      timeoutMs: timings.requestTimeoutMs,
      // five times the down bound: presence has long declared such a node down by then
      staleAfterMs: 5 * timings.downAfterMs,
      log: components.log,
      links: components.links,
      onBeat: (hb, bytes) => {
        this.c.metrics.presenceWork('heartbeat', () => {
          this.c.metrics.presenceBytes.inc({ direction: 'in' }, bytes)
          if (!this.started || hb.node === this.c.nodeId) return
          // a peer gossipsub has graylisted is not heard on this path either
          if (peerScore(this.c.pubsub, hb.node) < GRAYLIST_THRESHOLD) return
          try {
            this.emitGlobal(this.replica.heartbeat(hb, this.c.clock.now()))
            this.repair()
          } catch (err) {
            this.c.supervisor.report('presence:beat', err)
          }
        })
      },
      onInvalid: (from, err) => {
        this.c.metrics.rejected.inc({ code: err.name })
        this.c.log('beat stream from %s refused - %s', from, err.message)
      },
      onSent: (bytes, on) => {
        this.c.metrics.presenceBytes.inc({ direction: 'out' }, bytes)
        this.c.metrics.beatsSent.inc({ on })
      },
      // a new connection hears this node's latest beat at once: a healed partition or a node just up
      // is marked up by its peers now, not at the next tick (up to H later)
      onOpened: peer => {
        const frame = this.lastBeatFrame
        if (frame !== undefined && this.started) this.beats.send(peer, frame)
      },
      onStale: (peer, silentMs) => {
        this.c.metrics.staleLinks.inc()
        this.c.log('closed the connections of %s: no beat for %d ms', peer, silentMs)
      }
    })
    this.onMessage = sup.wrap('presence:message', (evt: CustomEvent<Message>) => {
      if (evt.detail.topic === PRESENCE_TOPIC) this.c.metrics.presenceWork('gossip', () => { this.receive(evt.detail) })
    })
    this.onDisconnect = sup.wrap('presence:disconnect', (evt: CustomEvent<PeerId>) => {
      // a crash shows up as dropped connections long before three missed heartbeats
      const id = evt.detail.toString()
      if (this.c.mesh.getConnections(evt.detail).length === 0) {
        this.c.metrics.presenceWork('heartbeat', () => {
          const now = this.c.clock.now()
          this.emitGlobal(this.replica.suspect(id, now, this.timings.suspectGraceMs))
          // its moment may now come before the check is set for
          this.armCheck(now)
        })
      }
    })
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await serve(this.c.mesh, ROOM_PRESENCE_PROTOCOL, { req: RoomPresenceRequest, res: RoomPresenceResponse }, async (req, from) => this.c.metrics.presenceWork('rooms', async () => this.answer(req, from.toString())), {
      maxBytes: 16 << 20,
      timeoutMs: this.timings.requestTimeoutMs,
      log: this.c.log,
      onBytes: this.onRoomBytes,
      admit: (bytes, from) => { this.roomFrames.charge(from.toString(), this.c.clock.now(), bytes) },
      refused: err => {
        const e = asMeshchatError(err)
        this.c.metrics.rejected.inc({ code: e.name })
        return { error: { code: e.code, message: e.message } }
      }
    })
    const validate = presenceValidator({
      onValid: (msg, opened) => { this.validated.set(msg, opened) },
      // straight from the node it names: applied here (the validator's answer keeps it out of gossip)
      onDirect: (msg, opened) => {
        try {
          this.apply(opened, msg.data.byteLength)
        } catch (err) {
          this.c.supervisor.report('presence:message', err)
        }
      },
      onInvalid: err => {
        this.c.metrics.rejected.inc({ code: 'InvalidPresenceError' })
        this.c.log('rejected presence gossip - %s', err.message)
      }
    })
    this.c.pubsub.topicValidators.set(PRESENCE_TOPIC, (peer, msg) => this.c.metrics.presenceWork('gossip', () => validate(peer, msg)))
    await this.beats.start()
    this.c.pubsub.subscribe(PRESENCE_TOPIC)
    this.c.pubsub.addEventListener('message', this.onMessage)
    this.c.mesh.addEventListener('peer:disconnect', this.onDisconnect)
    this.scheduleBeat()
    this.tick()
  }

  /**
   * The next beat, at the next multiple of H on the wall clock (at least H/2 from now). Every node
   * beats in the same moment, so a node's peers' beats reach it together, right after its own: one
   * wake-up that handles them all, instead of one in every gap of the second, each running the
   * beat's code and the transport's again from cold caches.
   */
  private scheduleBeat (): void {
    if (!this.started) return
    const h = this.timings.heartbeatMs
    let wait = h - (Date.now() % h)
    if (wait < h / 2) wait += h
    this.beatTimer = this.c.supervisor.timeout('presence:heartbeat', () => {
      this.scheduleBeat()
      this.c.metrics.presenceWork('heartbeat', () => { this.tick() })
    }, wait)
  }

  /** stop timers and listeners; with `goodbye`, first tell the mesh this node is leaving */
  async stop (opts: { goodbye?: boolean } = {}): Promise<void> {
    if (!this.started) return
    this.started = false
    clearTimeout(this.beatTimer)
    clearTimeout(this.checkTimer)
    this.checkTimer = undefined
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    clearTimeout(this.flushTimer)
    clearTimeout(this.pullTimer)
    this.pullTimer = undefined
    for (const f of this.firstPulls.values()) f.done()
    this.firstPulls.clear()
    this.channels.close()
    await this.beats.stop()
    await this.c.mesh.unhandle(ROOM_PRESENCE_PROTOCOL).catch(() => {})
    if (opts.goodbye === true) {
      // after the deltas already on their way, so the goodbye is the last thing the mesh hears
      await this.publishing
      try {
        const msg = await signPresence(this.c.signer, { goodbye: { node: this.c.nodeId, incarnation: BigInt(this.local.incarnation) } })
        await this.c.pubsub.publish(PRESENCE_TOPIC, msg)
      } catch (err) {
        this.c.log('goodbye not sent - %e', err)
      }
    }
    this.c.pubsub.removeEventListener('message', this.onMessage)
    this.c.mesh.removeEventListener('peer:disconnect', this.onDisconnect)
    this.c.pubsub.topicValidators.delete(PRESENCE_TOPIC)
  }

  /** announce (or update) one of this node's devices */
  put (entry: PresenceEntry): void {
    this.queue({ op: 'put', entry })
  }

  /** a device of this node went away */
  del (deviceId: string): void {
    this.queue({ op: 'del', deviceId })
  }

  /** live nodes with their heartbeat metadata (self included) */
  liveNodes (): NodeView[] {
    return this.replica.nodes().filter(n => n.up)
  }

  /**
   * Route user lookups through the directory: `userNodes` adds what it knows, `locate` asks it, and
   * the users it follows come out as `users` diffs.
   */
  useLocator (locator: UserLocator): void {
    this.locator?.removeEventListener('user', this.onLocated)
    this.locator = locator
    locator.addEventListener('user', this.onLocated)
  }

  private readonly onLocated = (evt: CustomEvent<{ userId: string, devices: LocatedDevice[] }>): void => {
    const { userId } = evt.detail
    this.emitChange({ ...emptyChange(), users: [{ userId, presence: locatedPresence(userId, this.known(userId) ?? []) ?? null }] })
  }

  /**
   * Where the user's devices are: the carried rooms' view and the directory's, asking the
   * directory when it does not know the user yet.
   */
  async locate (userId: string): Promise<string[]> {
    if (this.locator != null && this.locator.known(userId) === undefined) {
      await this.locator.locate(userId).catch(err => { this.c.log('locating %s failed - %s', userId, (err as Error).message) })
    }
    // what the lookup found, without another lookup: a user no owner knows (or none could be asked)
    // would otherwise be looked up again and again in one chain of promises, and the node would answer nothing else
    return this.nodesOf(userId, false)
  }

  /**
   * The directory's devices of the user on nodes that are up in the incarnation the devices belong
   * to (a view can lag a crash or a restart by a rebalance); undefined when not known yet.
   */
  private known (userId: string): LocatedDevice[] | undefined {
    const devices = this.locator?.known(userId)
    if (devices === undefined) return undefined
    const live = new Map(this.replica.nodes().filter(n => n.up).map(n => [n.id, n.incarnation]))
    return devices.filter(d => live.get(d.node) === d.incarnation)
  }

  /** the user as this node knows them (carried rooms, the directory), starting to follow them */
  user (userId: string): UserPresence | undefined {
    const devices = this.known(userId)
    if (devices === undefined) void this.locate(userId)
    const fromRooms = this.roomUser(userId)
    const fromDirectory = devices === undefined ? undefined : locatedPresence(userId, devices)
    if (fromDirectory !== undefined) return fromDirectory
    return fromRooms === undefined ? undefined : { ...fromRooms, rooms: [] }
  }

  /** this node's full presence state with its load and addresses, as a pull is answered */
  fullState (): PresenceFullState {
    const meta = this.c.meta()
    return { ...this.local.fullState(), meta: { ...meta, version: metaVersion(meta) } }
  }

  /** the room's members, for a room this node carries (its own rooms always are) */
  roster (room: string): RosterMember[] {
    return this.roomPresence.roster(room)
  }

  /** how many members the room has, for a room this node carries (0 for one it does not) */
  rosterSize (room: string): number {
    return this.roomPresence.size(room)
  }

  /** nodes hosting devices in the room, from global presence: known for every room, carried or not */
  roomHosts (room: string): string[] {
    return this.replica.roomHosts(room)
  }

  /**
   * Nodes that host a device of `userId`, as the directory (for a user it follows) and the rooms
   * this node carries show it. A user not known yet is looked up in the background; `locate` waits.
   */
  userNodes (userId: string): string[] {
    return this.nodesOf(userId, true)
  }

  private nodesOf (userId: string, lookUp: boolean): string[] {
    const nodes = new Set<string>()
    const known = this.known(userId)
    if (known === undefined && lookUp && this.locator != null) void this.locate(userId)
    for (const d of known ?? []) nodes.add(d.node)
    for (const room of this.roomPresence.roomsOf(userId)) for (const n of this.roomPresence.member(userId, room)?.nodes ?? []) nodes.add(n)
    return [...nodes].sort()
  }

  /**
   * Whether `node` hosts a device of `userId`, from what this node knows (the rooms it follows, the
   * users it follows) or else from one directory lookup, without following the user: for one-off
   * checks such as a mailbox owner asked by the user's node, where following would bring every later
   * change of the user here for nothing.
   */
  async hostsUser (userId: string, node: string): Promise<boolean> {
    const known = this.known(userId)
    if (known?.some(d => d.node === node) === true) return true
    for (const room of this.roomPresence.roomsOf(userId)) if (this.roomPresence.member(userId, room)?.nodes.includes(node) === true) return true
    if (known !== undefined || this.locator?.lookup == null) return false
    const live = new Map(this.replica.nodes().filter(n => n.up).map(n => [n.id, n.incarnation]))
    const devices = await this.locator.lookup(userId)
    return devices.some(d => d.node === node && live.get(d.node) === d.incarnation)
  }

  /** a member as the carried rooms show them: over their devices in those rooms (undefined if in none) */
  roomUser (userId: string): RosterMember | undefined {
    let best: RosterMember | undefined
    const nodes = new Set<string>()
    for (const room of this.roomPresence.roomsOf(userId)) {
      const m = this.roomPresence.member(userId, room)
      if (m === undefined) continue
      for (const n of m.nodes) nodes.add(n)
      if (best === undefined || (best.status === 'away' && m.status === 'online')) best = m
    }
    return best === undefined ? undefined : { ...best, nodes: [...nodes].sort() }
  }

  /**
   * Start following who is in `room` (this node now hosts a member): pull the streams of the nodes
   * global presence shows hosting it. Resolves once those first pulls are over, so a joining client's
   * roster snapshot can hold the members already there. Rooms this node stops hosting are dropped at
   * the next heartbeat.
   */
  async carry (room: string): Promise<void> {
    if (!this.started) return
    if (this.roomPresence.carries(room)) return await this.firstPulls.get(room)?.promise
    try {
      this.roomPresence.carry(room)
    } catch (err) {
      this.c.log('not following presence in %s - %s', room, (err as Error).message)
      return
    }
    const hosts = this.replica.roomHosts(room).filter(n => n !== this.c.nodeId)
    if (hosts.length === 0) return
    let done = (): void => {}
    const promise = new Promise<void>(resolve => { done = resolve })
    this.firstPulls.set(room, { nodes: new Set(hosts), done, promise })
    for (const node of hosts) this.schedulePull(node, room)
    return await promise
  }

  private queue (op: PresenceOp): void {
    this.pending.push(op)
    // batch a burst of attaches/joins into one delta
    this.flushTimer ??= this.c.supervisor.timeout('presence:flush', () => { this.flush() }, this.timings.presenceBatchMs)
  }

  /**
   * Resolves once what is pending now has gone out (signed and handed to
   * gossip): for work that other nodes check against this node's presence,
   * such as a mailbox read for a user who just attached. A burst of attaches
   * still makes one delta.
   */
  async published (): Promise<void> {
    if (this.pending.length > 0) await new Promise<void>(resolve => { this.afterFlush.push(resolve) })
    await this.publishing
  }

  /** publish the pending ops as one delta now */
  flush (): void {
    this.c.metrics.presenceWork('local', () => { this.flushNow() })
  }

  private flushNow (): void {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    const waiting = this.afterFlush.splice(0)
    for (const wake of waiting) wake()
    if (this.pending.length === 0) return
    const ops = this.pending
    this.pending = []
    const now = this.c.clock.now()
    const change = emptyChange()
    // this node's own devices, as the directory registers them. A device put and removed within one
    // batch (a session that attached and went in a few milliseconds) is told as both: its removal
    // read against the devices before the batch once let the put through alone, and the directory
    // kept a device no session had any more, for as long as the node ran
    const present = new Map<string, boolean>()
    for (const op of ops) {
      const deviceId = op.op === 'put' ? op.entry.deviceId : op.deviceId
      const had = present.get(deviceId) ?? this.localRooms.device(deviceId) !== undefined
      present.set(deviceId, op.op === 'put')
      if (op.op === 'put' || had) change.devices.push({ node: this.c.nodeId, deviceId, entry: op.op === 'put' ? { ...op.entry, rooms: [...new Set(op.entry.rooms)].sort() } : null })
    }
    const before = new Set(this.localRooms.rooms())
    const deltas = this.localRooms.apply(ops)
    const after = new Set(this.localRooms.rooms())
    const hosts: HostOp[] = [
      ...[...after].filter(r => !before.has(r)).map(room => ({ room, on: true })),
      ...[...before].filter(r => !after.has(r)).map(room => ({ room, on: false }))
    ]
    for (const d of deltas) {
      this.dirty.add(d.room)
      // the rooms this node hosts are carried (subscribed) by it
      if (!this.roomPresence.carries(d.room)) void this.carry(d.room)
      this.mergeRooms(change, this.applyRoom(() => this.roomPresence.applyDelta(d)))
    }
    this.pushDeltas(deltas)
    const delta = this.local.apply([], hosts)
    if (delta != null) {
      this.mergeGlobal(change, this.replica.applyDelta(delta, now))
      this.publish({
        delta: {
          node: delta.node,
          incarnation: BigInt(delta.incarnation),
          seq: BigInt(delta.seq),
          ops: [
            ...delta.ops.map(o => o.op === 'put' ? { put: entryToWire(o.entry), del: '' } : { del: o.deviceId }),
            ...(delta.hosts ?? []).map(h => ({ del: '', host: { room: h.room, on: h.on } }))
          ]
        }
      })
    }
    this.emitChange(change)
  }

  /** sign and publish, in the order the messages were made (a delta must not overtake the one before it) */
  private publish (msg: Parameters<typeof signPresence>[1]): void {
    if (!this.started) return
    this.publishing = this.publishing
      .then(async () => {
        const signed = await signPresence(this.c.signer, msg)
        if (!this.started) return
        this.c.metrics.presenceBytes.inc({ direction: 'out' }, signed.byteLength)
        this.c.pubsub.publish(PRESENCE_TOPIC, signed).catch(err => { this.c.log('presence publish failed - %e', err) })
      })
      .catch(err => { this.c.supervisor.report('presence:publish', err) })
  }

  /** heartbeat, failure detection and gap repair; runs every H */
  private tick (): void {
    const now = this.c.clock.now()
    this.flush()
    const meta = this.c.meta()
    const version = metaVersion(meta)
    const hb = this.local.heartbeat({ ...meta, version })
    this.emitGlobal(this.replica.heartbeat(hb, now))
    this.beat++
    // the addresses go out when they are new (the incarnation's first beats, a change) and once a
    // minute; every other beat carries their version, and a receiver that lacks it pulls them
    if (version !== this.addrsVersion) {
      this.addrsVersion = version
      this.addrBeats = ADDR_BEATS
    }
    const withAddrs = this.addrBeats > 0 || this.beat % ADDRS_EVERY === 0n
    if (this.addrBeats > 0) this.addrBeats--
    // a beat that carries the addresses goes out signed only, to everyone: a direct beat of the same
    // count would come first and the addresses would be dropped with the later copy
    let everyLiveNodeBeaten = false
    if (!withAddrs) {
      const frame = beatToWire({ incarnation: hb.incarnation, seq: hb.seq, beat: Number(this.beat), meta: { load: meta.load, version }, time: now })
      this.lastBeatFrame = frame
      const peers = connectedPeers(this.c.mesh)
      everyLiveNodeBeaten = this.replica.liveNodes().every(id => id === this.c.nodeId || this.beats.reaches(id))
      // the writes are transport, as the topic's publish is: they run after this measured section
      queueMicrotask(() => { for (const peer of peers) this.beats.send(peer, frame) })
    }
    if (withAddrs || !everyLiveNodeBeaten || this.beat % SIGNED_EVERY === 0n) this.publish({
      heartbeat: {
        node: hb.node,
        incarnation: BigInt(hb.incarnation),
        seq: BigInt(hb.seq),
        load: meta.load,
        gatewayAddrs: withAddrs ? meta.gatewayAddrs : [],
        meshAddrs: withAddrs ? meta.meshAddrs : [],
        httpUrl: withAddrs ? meta.httpUrl ?? '' : '',
        beat: this.beat,
        time: BigInt(now),
        metaVersion: version,
        addrsOmitted: !withAddrs
      }
    })
    this.check(now)
    for (const n of this.replica.nodes()) {
      if (!n.up && now - n.lastHeard > this.timings.forgetAfterMs && this.replica.forget(n.id)) this.roomPresence.forget(n.id)
    }
    this.pushHeads()
    this.followCarried()
  }

  /**
   * Follow who is in the rooms this node hosts devices in, and stop following the others. A node
   * that carries a room only to keep its history (an archive replica with no member here) has no
   * client to show a roster to, so it follows nobody in it.
   */
  private followCarried (): void {
    const carried = new Set(this.localRooms.rooms())
    for (const room of carried) void this.carry(room)
    const change = emptyChange()
    for (const room of this.roomPresence.rooms()) {
      if (carried.has(room)) continue
      this.mergeRooms(change, this.roomPresence.drop(room))
      this.firstPulls.get(room)?.done()
      this.firstPulls.delete(room)
    }
    this.emitChange(change)
  }

  /** the other nodes that host devices in the room (global presence knows them for every room): they follow who is in it */
  private carriers (room: string): string[] {
    return this.replica.roomHosts(room).filter(n => n !== this.c.nodeId)
  }

  /** each carrier of each room gets that room's deltas, in order, in one push */
  private pushDeltas (deltas: readonly RoomDelta[]): void {
    const byPeer = new Map<string, RoomDelta[]>()
    for (const d of deltas) {
      for (const peer of this.carriers(d.room)) {
        let list = byPeer.get(peer)
        if (list === undefined) byPeer.set(peer, list = [])
        list.push(d)
      }
    }
    for (const [peer, list] of byPeer) {
      for (let i = 0; i < list.length; i += 1000) {
        this.push(peer, { incarnation: BigInt(this.localRooms.incarnation), deltas: list.slice(i, i + 1000).map(roomDeltaToWire), heads: [] })
      }
    }
  }

  /** the heads of the streams that changed since the last heartbeat, to their rooms' carriers */
  private pushHeads (): void {
    if (this.dirty.size === 0) return
    const byPeer = new Map<string, string[]>()
    for (const room of this.dirty) {
      for (const peer of this.carriers(room)) {
        let list = byPeer.get(peer)
        if (list === undefined) byPeer.set(peer, list = [])
        list.push(room)
      }
    }
    this.dirty.clear()
    for (const [peer, rooms] of byPeer) {
      for (let i = 0; i < rooms.length; i += 10_000) {
        this.push(peer, { incarnation: BigInt(this.localRooms.incarnation), deltas: [], heads: rooms.slice(i, i + 10_000).map(r => roomHeadToWire(this.localRooms.beat(r))) })
      }
    }
  }

  private push (peer: string, push: RoomPresenceRequest['push']): void {
    if (!this.started || push == null) return
    this.c.supervisor.track('presence:push', this.channels.call(nodePeerId(peer), { push })
      .then(res => {
        if (res.error != null) throw errorFromCode(res.error.code, res.error.message)
      })
      .catch(err => {
        // the carrier pulls when it sees the gap, or when this node next comes up for it
        this.c.log('room presence push to %s failed - %s', peer, (err as Error).message)
      }))
  }

  /** answer a push or a pull from `peer` (the stream handler calls this; public for tests and fuzzing) */
  async answer (req: RoomPresenceRequest, peer: string): Promise<Partial<RoomPresenceResponse>> {
    try {
      if (req.push != null) {
        const view = this.replica.nodes().find(n => n.id === peer)
        // only a node global presence knows may write; a keyed peer that is not one (a bootstrap daemon) writes nothing
        if (view === undefined || peer === this.c.nodeId) throw new NotEntitledError(`${peer} is not a node here`)
        const incarnation = incarnationFromWire(req.push.incarnation)
        const deltas = req.push.deltas.map(d => roomDeltaFromWire(d, peer, incarnation))
        const heads = req.push.heads.map(h => roomHeadFromWire(h, peer, incarnation))
        const change = emptyChange()
        for (const d of deltas) this.mergeRooms(change, this.roomPresence.applyDelta(d))
        for (const h of heads) this.mergeRooms(change, this.roomPresence.beat(h))
        this.emitChange(change)
        this.repair()
        return { ok: { count: deltas.length + heads.length } }
      }
      if (req.pull != null) {
        const rooms = req.pull.rooms
        if (rooms.length === 0 || rooms.length > MAX_PULL_ROOMS) throw new InvalidQueryError(`a pull names 1 to ${MAX_PULL_ROOMS} rooms`)
        const now = this.c.clock.now()
        if (!this.pullLimiter.take(peer, now, rooms.length)) throw new RateLimitedError(`room presence pulls from ${peer} over ${PULL_ROOMS_PER_SEC} rooms/s`, 1000)
        return { states: { incarnation: BigInt(this.localRooms.incarnation), rooms: rooms.map(r => roomStateToWire(this.localRooms.state(r))) } }
      }
      throw new BadFrameError('empty room presence request')
    } catch (err) {
      const e = asMeshchatError(err)
      this.c.metrics.rejected.inc({ code: (err as Error).name })
      this.c.log('room presence request from %s refused - %s', peer, e.message)
      return { error: { code: e.code, message: e.message } }
    }
  }

  private schedulePull (node: string, room: string): void {
    if (node === this.c.nodeId || !this.started) return
    let rooms = this.toPull.get(node)
    if (rooms === undefined) this.toPull.set(node, rooms = new Set())
    rooms.add(room)
    this.pullTimer ??= this.c.supervisor.timeout('presence:pull', () => {
      this.pullTimer = undefined
      const all = [...this.toPull]
      this.toPull.clear()
      for (const [n, set] of all) this.pullRooms(n, [...set])
    }, 0)
  }

  /** pull `node`'s own streams of these rooms and apply them */
  private pullRooms (node: string, rooms: string[]): void {
    if (this.pullingRooms.has(node)) {
      // one pull per node at a time: the rest goes as soon as it ends
      let waiting = this.waiting.get(node)
      if (waiting === undefined) this.waiting.set(node, waiting = new Set())
      for (const r of rooms) waiting.add(r)
      return
    }
    this.pullingRooms.add(node)
    this.c.metrics.presenceSyncs.inc()
    this.c.supervisor.track('presence:pull-rooms', (async () => {
      for (let i = 0; i < rooms.length; i += MAX_PULL_ROOMS) {
        const chunk = rooms.slice(i, i + MAX_PULL_ROOMS)
        const res = await this.channels.call(nodePeerId(node), { pull: { rooms: chunk } })
        if (res.error != null) throw errorFromCode(res.error.code, res.error.message)
        if (res.states == null) throw new BadFrameError('a room presence pull answered without states')
        if (!this.started) return
        const states = res.states
        this.c.metrics.presenceWork('rooms', () => {
          const incarnation = incarnationFromWire(states.incarnation)
          const change = emptyChange()
          for (const st of states.rooms) {
            if (!chunk.includes(st.room)) throw new BadFrameError(`${node} answered with a room not asked for`)
            this.mergeRooms(change, this.applyRoom(() => this.roomPresence.applyState(roomStateFromWire(st, node, incarnation))))
          }
          this.emitChange(change)
        })
      }
    })().catch(err => {
      this.c.log('room presence pull from %s failed - %s', node, (err as Error).message)
      // tried again at the next repair while the node is up and the rooms are carried (retrySoon)
      if (this.started && this.replica.liveNodes().includes(node)) {
        for (const r of rooms) if (this.roomPresence.carries(r)) this.schedulePullLater(node, r)
        this.retrySoon()
      }
    }).finally(() => {
      this.pullingRooms.delete(node)
      // a pull that failed counts as done for whoever waits on a room's first roster: it is retried later
      this.pulled(node, rooms)
      const waiting = this.waiting.get(node)
      this.waiting.delete(node)
      if (waiting !== undefined && this.started) for (const r of waiting) this.schedulePull(node, r)
    }))
  }

  /** `node`'s streams of these rooms came (or the pull is over): a room whose first pulls are all done is followed */
  private pulled (node: string, rooms: readonly string[]): void {
    for (const room of rooms) {
      const f = this.firstPulls.get(room)
      if (f === undefined || !f.nodes.delete(node) || f.nodes.size > 0) continue
      this.firstPulls.delete(room)
      f.done()
    }
  }

  private schedulePullLater (node: string, room: string): void {
    let rooms = this.later.get(node)
    if (rooms === undefined) this.later.set(node, rooms = new Set())
    rooms.add(room)
  }

  /** a refusal by the pure state (a stream past its bound) is logged and counted, never thrown at the caller */
  private applyRoom (fn: () => RoomPresenceChange): RoomPresenceChange {
    try {
      return fn()
    } catch (err) {
      this.c.metrics.rejected.inc({ code: (err as Error).name })
      this.c.log('room presence refused - %s', (err as Error).message)
      return { rooms: [], needsSync: [] }
    }
  }

  private mergeRooms (into: PresenceChange, c: RoomPresenceChange): void {
    into.rooms.push(...c.rooms)
  }

  /** a change of the global layer, and what it means for who is in the carried rooms */
  private mergeGlobal (into: PresenceChange, c: PresenceChange): void {
    into.devices.push(...c.devices.filter((d: DeviceDiff) => d.node === this.c.nodeId))
    into.rooms.push(...c.rooms)
    into.users.push(...c.users)
    into.needsSync.push(...c.needsSync)
    into.nodes.push(...c.nodes)
    if (c.hosts != null) (into.hosts ??= []).push(...c.hosts)
    const views = c.nodes.length > 0 ? new Map(this.replica.nodes().map(n => [n.id, n])) : undefined
    for (const n of c.nodes) {
      if (n.node === this.c.nodeId) continue
      if (!n.up) {
        this.mergeRooms(into, this.roomPresence.nodeDown(n.node, n.incarnation, views?.get(n.node)?.left === true))
        continue
      }
      this.mergeRooms(into, this.roomPresence.nodeUp(n.node, n.incarnation))
      // back (or new): whatever it hosts in the carried rooms comes by a pull
      for (const room of this.replica.hostedBy(n.node)) if (this.roomPresence.carries(room)) this.schedulePull(n.node, room)
    }
    for (const h of c.hosts ?? []) {
      if (!h.on || h.node === this.c.nodeId || !this.roomPresence.carries(h.room)) continue
      if (this.roomPresence.devices(h.room, h.node).length === 0) this.schedulePull(h.node, h.room)
      // a new host of a room this node hosts too gets this node's head at the next heartbeat: a change
      // made here between its pull and its arrival in global presence shows as a gap there
      if (this.localRooms.rooms().includes(h.room)) this.dirty.add(h.room)
    }
  }

  /** mark silent and suspect nodes down, and pull what is missing (at every tick, and when a node's time is up) */
  private check (now: number): void {
    this.emitGlobal(this.replica.expire(now, this.timings.downAfterMs))
    this.repair()
    this.beats.sweep(Date.now())
    this.armCheck(now)
  }

  /**
   * Set the failure check for the earliest moment a node could go down, so a node is declared down
   * the moment its time is up. Every tick checks and sets it again; while every node beats, each
   * moment moves later before it comes, and the timer never fires. (A check four times per heartbeat
   * was four wake-ups a second on every node, which found nothing almost every time.)
   */
  private armCheck (now: number): void {
    clearTimeout(this.checkTimer)
    this.checkTimer = undefined
    if (!this.started) return
    const at = this.replica.nextExpiry(this.timings.downAfterMs)
    if (at === Infinity) return
    // expire takes a node down once now is past its moment
    this.checkTimer = this.c.supervisor.timeout('presence:check', () => {
      this.checkTimer = undefined
      this.c.metrics.presenceWork('heartbeat', () => { this.check(this.c.clock.now()) })
    }, Math.max(0, at - now) + 1)
  }

  private receive (msg: Message): void {
    const m = this.validated.get(msg)
    if (m == null) {
      this.c.metrics.presenceBytes.inc({ direction: 'in' }, msg.data.byteLength)
      return
    }
    this.apply(m, msg.data.byteLength)
  }

  /** a presence message from the topic, opened and checked */
  private apply (m: OpenedPresence, bytes: number): void {
    const now = this.c.clock.now()
    this.c.metrics.presenceBytes.inc({ direction: 'in' }, bytes)
    if (m.kind === 'delta') {
      if (m.delta.node === this.c.nodeId) return
      this.emitGlobal(this.replica.applyDelta(m.delta, now))
    } else if (m.kind === 'heartbeat') {
      if (m.heartbeat.node === this.c.nodeId) return
      this.emitGlobal(this.replica.heartbeat(m.heartbeat, now))
    } else {
      if (m.node === this.c.nodeId) return
      this.emitGlobal(this.replica.depart(m.node, m.incarnation, now))
    }
    this.repair()
  }

  /** a repair a quarter of a heartbeat from now, after a pull failed (the failure check used to repair that often) */
  private retrySoon (): void {
    if (!this.started) return
    this.retryTimer ??= this.c.supervisor.timeout('presence:retry', () => {
      this.retryTimer = undefined
      if (this.started) this.repair()
    }, Math.max(10, this.timings.heartbeatMs / 4))
  }

  /** pull the full state of every node whose deltas we can no longer follow, and every room stream with a gap */
  private repair (): void {
    for (const { room, node } of this.roomPresence.needsSync()) {
      if (!this.pullingRooms.has(node)) this.schedulePull(node, room)
    }
    for (const [node, rooms] of [...this.later]) {
      if (this.pullingRooms.has(node)) continue
      this.later.delete(node)
      for (const r of rooms) this.schedulePull(node, r)
    }
    for (const node of this.replica.needsSync()) {
      if (this.pulling.has(node) || node === this.c.nodeId) continue
      this.pulling.add(node)
      this.c.metrics.presenceSyncs.inc()
      this.c.pullFull(node)
        .then(state => {
          if (this.started) this.emitGlobal(this.replica.applyFull(state, this.c.clock.now()))
        })
        .catch(err => {
          this.c.log('presence pull from %s failed - %s', node, (err as Error).message)
          this.retrySoon()
        })
        .finally(() => { this.pulling.delete(node) })
    }
  }

  private emitGlobal (c: PresenceChange): void {
    const change = emptyChange()
    this.mergeGlobal(change, c)
    this.emitChange(change)
  }

  private emitChange (c: PresenceChange): void {
    if (isEmpty(c) && (c.hosts?.length ?? 0) === 0) return
    this.safeDispatchEvent('change', { detail: c })
  }
}
