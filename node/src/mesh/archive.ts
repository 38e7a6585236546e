import { roomTopic } from '../../../client/src/protocol/ids.js'
import { InvalidEventError } from '../../../client/src/protocol/errors.js'
import type { EventOpener, EventPath } from './event-opener.js'
import type { StampRule } from '../state/stamps.js'
import { rendezvousOwners } from '../state/rendezvous.js'
import { idToHex, signedEventId } from '../../../client/src/protocol/signing.js'
import { asMeshchatError } from '../../../client/src/protocol/errors.js'
import type { RoomService } from './rooms.js'
import type { PresenceService } from './presence-service.js'
import type { PresenceChange } from '../state/presence.js'
import type { SyncService, RoomHandler } from './sync.js'
import type { StampedEvent as WireStoredEvent } from '../../../client/src/protocol/pb/mesh.js'
import type { Authored, Cursor, MessageStore, Page, RangeDigest, RetentionPolicy, StoredRoomEvent } from '../store/message-store.js'
import type { NodeMetrics } from '../metrics.js'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Logger, Startable } from '@libp2p/interface'
import { Debounced } from '../supervisor.js'
import type { Supervisor } from '../supervisor.js'
import type { Clock } from '../components.js'
import type { MeshLibp2p } from './mesh-host.js'
import { nodePeerId } from './peer-ids.js'
import { HealMarks, healFrom } from '../state/heal-marks.js'
import { BoundedMap, BoundedSet } from '../state/bounded.js'
import type { PeerId } from '@libp2p/interface'

/** how often a room's first backfill is tried while no copy answers (a node that just started) */
const FIRST_BACKFILL_ATTEMPTS = 15

/**
 * a catch-up after lost contact starts at most this long before the loss: past the connection
 * monitor's ping interval and timeout (the time a connection outlives a cut link) with room to spare
 */
const HEAL_LOOKBACK_MS = 60_000
/**
 * a loss older than this no longer lowers a resumed member's floor (lateFrom): a node gone for good
 * would otherwise hold every later resume's floor at the moment it was lost
 */
const LATE_HORIZON_MS = 60 * 60_000

/**
 * Anti-entropy: every catch-up delay × PROBE_EVERY, this node compares up to PROBE_ROOMS carried
 * rooms (in turn) with one other copy each: the count and stamp sum of the events stamped in the
 * last DIGEST_WINDOW_MS (up to the probe's settle time). Where the copies differ, the range is halved
 * until a part holds at most a page at the peer (or DIGEST_DEPTH halvings), and that part is fetched
 * from it. The catch-ups after lost contact miss what a peer publishes after the catch-up ran but
 * before gossip has taken this node back into the room's traffic, and a catch-up that found the peer
 * itself incomplete leaves a hole behind the newest event; this finds both, and copies of one message
 * with two stamps (they take the later). Two index reads per room and round while the copies agree:
 * nothing per message. A round's rooms are compared together, over the sync protocol's probe lane
 * (one long-lived stream per peer), so an idle round costs a write or two per peer, not a stream per room;
 * the fetches of ranges that differ still go one at a time.
 */
const PROBE_EVERY = 3
const PROBE_ROOMS = 32
const DIGEST_WINDOW_MS = 15 * 60_000
const DIGEST_DEPTH = 8
/** digest requests per room and round, at most: a peer whose every range differs (one that lies) costs this much, then FRUITLESS_ROUNDS of nothing */
const DIGEST_REQUESTS = 16
/** a range whose fetch brought nothing (the peer holds events that do not verify here) is not fetched from that peer again for this many rounds */
const FRUITLESS_ROUNDS = 20
/** peers remembered as not serving the archive's protocol, at most */
const NO_ARCHIVE_MAX = 256
/** a peer that did not answer a request to store a fresh event is not waited for again for this long, unless it answers one before */
export const UNANSWERED_MS = 60_000
/** peers remembered as not answering, at most */
const UNANSWERED_MAX = 1024
/** after the first nodes asked to store a fresh event fail, this many are asked at once (ArchiveService.confirmFrom) */
export const CONFIRM_FANOUT = 8
/** nodes are asked to store a fresh event for this many request timeouts at most (a round started before then runs out) */
export const CONFIRM_TIMEOUTS = 2

/** contact lost with a node: what it published since is fetched when it is back */
interface Loss {
  /** when (local wall clock) */
  at: number
  /** per carried room, the newest stamp received from that node before the loss */
  marks: Map<string, bigint>
  /** the rooms it hosted members of when contact was lost (as presence showed them) */
  hosted: Set<string>
  /** contact was lost again while a catch-up ran */
  again: boolean
  tries: number
  /** this is the second pass after a catch-up that succeeded (nothing was lost since) */
  confirm: boolean
}

/** events retention deletes per turn of the event loop (30–40 µs each: a step of 500 is about 20 ms) */
export const PRUNE_STEP_EVENTS = 500

export interface ArchiveInit {
  /** archive owners per room (DESIGN: K = 2) */
  replicas: number
  /**
   * other nodes that must hold a fresh event before the client's send resolves
   * (0 = the ingress node's own durable write is enough). With 1, an
   * acknowledged message survives the ingress node dying the next instant.
   */
  ackReplicas: number
  /** most events a newly subscribed node fetches for one room */
  backfillMax: number
  /** a join waits at most this long for its room's backfill before replaying what is local */
  readyTimeoutMs: number
  /**
   * a node up this long that finds no other node to backfill a newly carried room from is alone: a
   * join replays what is local at once (the backfill keeps trying in the background). Younger, it may
   * not have heard of the other nodes yet, and a join waits for them (up to readyTimeoutMs).
   */
  aloneAfterMs: number
  /** deadline of one replication or history request */
  requestTimeoutMs: number
  retention: RetentionPolicy
  pruneIntervalMs: number
  maxEventBytes: number
  /** the clock rule applied to every event taken from a peer */
  stamps: StampRule
  /** ownership is recomputed this long after the last membership change, so a burst of changes costs one pass */
  rebalanceDelayMs: number
  /** the first backfill waits this long after subscribing, for the subscription to reach the peers */
  subscribeSettleMs: number
  /** the catch-up backfill runs this long after subscribing (a couple of gossipsub heartbeats) */
  catchUpDelayMs: number
  /** and starts this far before the subscription, to cover clock skew between nodes */
  catchUpSlackMs: number
  /** a replica asked to confirm an event coming by gossip waits this long for it before asking for the event itself */
  confirmWaitMs: number
  /**
   * a room carried by at most this many other nodes gets each fresh event from its ingress node by
   * replication request, not gossip (`replicate`); 0 sends every room's events by gossip
   */
  directMax: number
}

export interface ArchiveComponents {
  /** wall-clock time */
  clock: Clock
  /** the mesh host: connection events */
  mesh: MeshLibp2p
  nodeId: string
  rooms: RoomService
  presence: PresenceService
  pubsub: GossipSub
  sync: SyncService
  store: MessageStore
  metrics: NodeMetrics
  log: Logger
  supervisor: Supervisor
  opener: EventOpener
}

/** Room history as the gateway reads it: ready, paged, replayed. */
export interface RoomHistory {
  /** resolves when a room this node just started carrying has been backfilled (or the attempt gave up) */
  ready: (room: string) => Promise<void>
  /**
   * the oldest stamp of the room's events that may still reach this node late: what a node it lost
   * contact with (one that hosted members of the room or published in it, whether up, down or
   * forgotten since) sent meanwhile, which a catch-up brings after the heal; 0 when nothing is owed
   */
  lateFrom: (room: string) => bigint
  /**
   * events of the room stamped below `below` that reached this node late (well after their stamp:
   * a heal's catch-up, anti-entropy, gossip coming round after a partition) in the last minutes,
   * oldest first: a resume whose cursor is past them may have passed their place before they were here
   */
  lateArrivals: (room: string, below: bigint) => StoredRoomEvent[]
  /** a page of history: from this node's store, or, for rooms it does not carry, from a node that does */
  page: (room: string, q: { before?: Cursor, after?: Cursor, limit: number }) => Promise<Page>
  /** this node's events of a room stamped at or after `fromHlc` and up to the cursor `upTo`, oldest first (a resume's replay) */
  since: (room: string, fromHlc: bigint, upTo: Cursor, limit: number) => StoredRoomEvent[]
  /**
   * 0 when this node holds the room as far as it knows; otherwise the stamp from which it may lack
   * events (it lost contact with a node hosting members of the room and has not caught up with it)
   */
  stable: (room: string) => bigint
}

/**
 * Room history across nodes: keeps this node subscribed to the rooms it is an
 * archive owner of (rendezvous hashing over live nodes), backfills rooms it
 * starts carrying from a peer that has them, hands ownership over when
 * membership changes, replicates fresh events to one more node before they are
 * acknowledged, serves history pages for rooms it does not carry by asking a
 * node that does, and applies retention.
 */
export class ArchiveService implements Startable, RoomHistory, RoomHandler {
  private readonly init: ArchiveInit
  private readonly c: ArchiveComponents
  private readonly backfills = new Map<string, Promise<void>>()
  /** per room being backfilled: settles once its first backfill has found this node alone (see aloneAfterMs) */
  private readonly alone = new Map<string, { settled: Promise<void>, settle: () => void }>()
  private startedAt = 0
  /** the node that offered a room, to backfill from first (it may no longer be subscribed) */
  private readonly offeredBy = new Map<string, string>()
  /**
   * `owners(room)` for the replication before an ack, which asks for it on every message: a
   * rendezvous hash per live node and a scan of the room's hosts each time. Cleared when the live
   * nodes or the rooms' hosts change, the only things owners depend on.
   */
  private readonly ownersMemo = new BoundedMap<string, string[]>(10_000)
  /** owners each room had at the last rebalance, to spot nodes that just became owners */
  private lastOwners = new Map<string, string[]>()
  private readonly rebalancer: Debounced
  private readonly catchUps = new Set<ReturnType<typeof setTimeout>>()
  /** when this node lost contact with each node (and whether it lost it again since): what that node published while cut off is fetched when it is back */
  private readonly downSince = new Map<string, Loss>()
  /** per room, the newest stamp received live from each node: where a catch-up from that node starts */
  private readonly marks = new HealMarks()
  private readonly onReceived = (room: string, origin: string, hlc: bigint): void => { this.marks.seen(room, origin, hlc) }
  /** nodes whose catch-up is scheduled or running */
  private readonly healing = new Set<string>()
  private pruneTimer?: ReturnType<typeof setInterval>
  /** a prune is going on, a step per turn */
  private pruning = false
  private probeTimer?: ReturnType<typeof setInterval>
  private probing = false
  /** where the next probe round starts in the list of carried rooms, and which copy it asks */
  private probeTurn = 0
  /** room and peer whose last differing range brought nothing when fetched: the probe round until which they are left alone */
  private readonly fruitless = new Map<string, number>()
  /**
   * connected peers that do not serve the archive's protocol (bootstrap daemons): the search for a
   * replica among all connected peers skips them, or a node with no other chat node would open a
   * stream to each of them, to be refused, for every message. Bounded; a peer that shows up as a
   * live node is tried again.
   */
  private readonly noArchive = new Set<string>()
  /**
   * peers that did not answer a request to store a fresh event (no answer in time, or an error),
   * until when: a send's acknowledgement does not wait for them (a carrier among them still gets the
   * event, by a request nobody waits for, and is waited for again once it answers one), and the
   * search for a replica passes them by. Without it, a peer holding the mesh key that carries a room,
   * or passes for one of its owners, and answers nothing held every send to that room a request
   * timeout. Each is forgotten UNANSWERED_MS after its last failure, and the oldest goes past
   * UNANSWERED_MAX; a node that presence shows coming up (again) is waited for.
   */
  private readonly unanswered = new BoundedSet<string>(UNANSWERED_MAX, { maxAgeMs: UNANSWERED_MS, now: () => this.c.clock.now() })
  private started = false
  private readonly onDisconnect: (evt: CustomEvent<PeerId>) => void
  private readonly onConnect: (evt: CustomEvent<PeerId>) => void
  private readonly onPresence: (evt: CustomEvent<Pick<PresenceChange, 'nodes' | 'hosts'>>) => void

  constructor (init: ArchiveInit, components: ArchiveComponents) {
    this.init = init
    this.c = components
    this.rebalancer = new Debounced(components.supervisor, 'archive:rebalance', init.rebalanceDelayMs, async () => this.rebalance())
    this.onPresence = components.supervisor.wrap('archive:presence', (evt: CustomEvent<Pick<PresenceChange, 'nodes' | 'hosts'>>) => {
      // ownership depends on the live node set and on which nodes host which rooms (global presence),
      // not on who is in a room: a join or a leave that leaves the room's hosts as they were, the
      // common case of a reconnect, recomputes nothing
      if (evt.detail.nodes.length === 0 && (evt.detail.hosts?.length ?? 0) === 0) return
      this.ownersMemo.clear()
      this.scheduleRebalance()
      for (const d of evt.detail.nodes) {
        if (d.up) {
          this.noArchive.delete(d.node)
          this.unanswered.delete(d.node)
          this.lostContactEnded(d.node)
        } else {
          // presence has already taken the node's rooms away: the change says which they were
          this.lostContact(d.node, (evt.detail.hosts ?? []).filter(h => h.node === d.node && !h.on).map(h => h.room))
        }
      }
    })
    // a partition can cut the room traffic between two nodes while their presence still flows through
    // a third (a bootstrap daemon relays the presence topic, not the rooms): the connection is the signal
    this.onDisconnect = components.supervisor.wrap('archive:disconnect', (evt: CustomEvent<PeerId>) => { this.lostContact(evt.detail.toString()) })
    this.onConnect = components.supervisor.wrap('archive:connect', (evt: CustomEvent<PeerId>) => { this.lostContactEnded(evt.detail.toString()) })
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.startedAt = this.c.clock.now()
    this.ownersMemo.clear()
    this.c.sync.rooms = this
    this.c.rooms.onReceived = this.onReceived
    this.c.presence.addEventListener('change', this.onPresence)
    this.c.mesh.addEventListener('peer:disconnect', this.onDisconnect)
    this.c.mesh.addEventListener('peer:connect', this.onConnect)
    this.pruneTimer = this.c.supervisor.interval('archive:prune', () => { this.prune() }, this.init.pruneIntervalMs)
    this.pruneTimer.unref?.()
    this.probeTimer = this.c.supervisor.interval('archive:probe', async () => { await this.probe() }, this.init.catchUpDelayMs * PROBE_EVERY)
    this.probeTimer.unref?.()
    this.scheduleRebalance()
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    this.rebalancer.cancel()
    clearInterval(this.pruneTimer)
    clearInterval(this.probeTimer)
    this.fruitless.clear()
    for (const t of this.catchUps) clearTimeout(t)
    this.catchUps.clear()
    this.c.presence.removeEventListener('change', this.onPresence)
    this.c.mesh.removeEventListener('peer:disconnect', this.onDisconnect)
    this.c.mesh.removeEventListener('peer:connect', this.onConnect)
    this.downSince.clear()
    this.healing.clear()
    if (this.c.sync.rooms === this) this.c.sync.rooms = undefined
    if (this.c.rooms.onReceived === this.onReceived) this.c.rooms.onReceived = undefined
  }

  /**
   * The room's archive owners: the nodes that host its members first (they
   * carry the room anyway, so a copy there costs no extra traffic), then
   * others in rendezvous order over the nodes presence considers up. A room
   * whose members sit on one node is carried by two nodes, not three.
   */
  owners (room: string): string[] {
    const live = this.c.presence.replica.liveNodes()
    const order = rendezvousOwners(room, live, live.length)
    const hosting = new Set(this.c.presence.replica.roomHosts(room))
    return [...order.filter(n => hosting.has(n)), ...order.filter(n => !hosting.has(n))].slice(0, this.init.replicas)
  }

  private scheduleRebalance (): void {
    if (this.started) this.rebalancer.schedule()
  }

  /**
   * Subscribe to owned rooms that have members somewhere, drop archive
   * interest in the others, and offer held rooms to new owners. A room with no
   * member anywhere carries no traffic, so nobody stays subscribed to it: its
   * history stays in the owners' stores, where backfill and history pages find
   * it, and the owners subscribe again when someone joins.
   */
  rebalance (): void {
    const self = this.c.nodeId
    const held = new Set(this.c.store.rooms())
    const active = new Set(this.c.presence.replica.rooms())
    const known = new Set([...held, ...active, ...this.c.rooms.subscribed()])
    const offers = new Map<string, string[]>()
    const next = new Map<string, string[]>()
    for (const room of known) {
      const owners = this.owners(room)
      next.set(room, owners)
      this.c.rooms.want(room, 'archive', owners.includes(self) && active.has(room))
      if (!held.has(room)) continue
      const before = this.lastOwners.get(room) ?? []
      for (const o of owners) {
        if (o === self || before.includes(o)) continue
        let list = offers.get(o)
        if (list == null) offers.set(o, list = [])
        list.push(room)
      }
    }
    this.lastOwners = next
    for (const [owner, rooms] of offers) {
      for (let i = 0; i < rooms.length; i += 1000) {
        this.c.sync.call(owner, { archive: { rooms: rooms.slice(i, i + 1000) } }, this.init.requestTimeoutMs)
          .catch(err => { this.c.log('archive offer to %s failed - %s', owner, (err as Error).message) })
      }
    }
  }

  /** nodes to ask for a room's history: its other owners first, then any subscriber */
  private sources (room: string, owners = this.owners(room)): string[] {
    const self = this.c.nodeId
    const subs = this.c.pubsub.getSubscribers(roomTopic(room)).map(p => p.toString())
    return [...new Set([...owners, ...subs])].filter(n => n !== self)
  }

  private cachedOwners (room: string): string[] {
    let owners = this.ownersMemo.get(room)
    if (owners == null) this.ownersMemo.set(room, owners = this.owners(room))
    return owners
  }

  /**
   * RoomService.onSubscribe: fetch what this node missed while it did not
   * carry the room. Then, two heartbeats later, fetch once more from just
   * before the subscription: an event published by a peer that had not yet
   * seen the subscription (a slow or busy peer) came neither by gossip nor by
   * the first backfill.
   */
  onSubscribe (room: string, from?: string): void {
    if (this.backfills.has(room)) return
    from ??= this.offeredBy.get(room)
    this.offeredBy.delete(room)
    const slack = BigInt(this.init.catchUpSlackMs) << 16n
    const now = BigInt(this.c.clock.now()) << 16n
    const since: Cursor = { hlc: now > slack ? now - slack : 0n, id: new Uint8Array(0) }
    // give the subscription a moment to reach the peers first: what they publish after that comes by
    // gossip, what they published before is in the backfill, so the two meet without a gap
    let settle = (): void => {}
    const settled = new Promise<void>(resolve => { settle = resolve })
    this.alone.set(room, { settled, settle })
    const run = new Promise(resolve => setTimeout(resolve, this.init.subscribeSettleMs))
      .then(async () => this.firstBackfill(room, from))
      .catch(err => { this.c.log('backfill of %s failed - %s', room, (err as Error).message) })
      .finally(() => {
        this.backfills.delete(room)
        this.alone.delete(room)
      })
    this.backfills.set(room, run)
    const timer = this.c.supervisor.timeout('archive:catch-up', async () => {
      this.catchUps.delete(timer)
      if (!this.started || !this.c.rooms.isSubscribed(room)) return
      await this.backfill(room, from, since).catch(err => { this.c.log('catch-up of %s failed - %s', room, (err as Error).message) })
    }, this.init.catchUpDelayMs)
    this.catchUps.add(timer)
  }

  private lostContact (node: string, hosted: Iterable<string> = this.c.presence.replica.hostedBy(node)): void {
    if (node === this.c.nodeId) return
    const lost = this.downSince.get(node)
    // a loss not yet caught up keeps its start: the window runs from the earliest one
    if (lost != null) {
      lost.again = true
      lost.confirm = false
      for (const room of hosted) lost.hosted.add(room)
      return
    }
    this.downSince.set(node, { at: this.c.clock.now(), marks: this.marks.snapshot(node, this.c.rooms.subscribed()), hosted: new Set(hosted), again: false, tries: 0, confirm: false })
    // nodes that never come back: keep the most recent 10,000
    if (this.downSince.size > 10_000) this.downSince.delete(this.downSince.keys().next().value ?? '')
  }

  /**
   * A node this node lost contact with is back (a partition healed, a connection came back, it
   * restarted). While they were cut off neither got what the other published: gossip does not resend
   * it, and a backfill on subscribe starts after the newest local event, which may be newer than what
   * was missed. So every carried room is fetched from that node, once the connection has settled,
   * from a little before the newest event received from it in that room before the loss (the link
   * may have been cut well before the connection dropped), at most {@link HEAL_LOOKBACK_MS} before
   * the loss. The loss is forgotten only once every room was fetched: a catch-up that fails (the
   * link dropped again) runs again while connected, then at the next reconnect, from the same point.
   * A catch-up that succeeded is followed by a second pass from when it began: what the node
   * published after the catch-up but before the gossip mesh took this node back comes that way.
   */
  private lostContactEnded (node: string): void {
    const lost = this.downSince.get(node)
    if (lost == null || this.healing.has(node)) return
    this.healing.add(node)
    lost.again = false
    const window = { slackMs: this.init.catchUpSlackMs, lookbackMs: HEAL_LOOKBACK_MS }
    const timer = this.c.supervisor.timeout('archive:heal', async () => {
      this.catchUps.delete(timer)
      const began = this.c.clock.now()
      const marks = this.marks.snapshot(node, this.c.rooms.subscribed())
      try {
        // only nodes answer history requests (not a bootstrap daemon); a node presence does not show up
        // yet (its heartbeat has not come through) is tried again below, while connected
        if (this.started && this.c.presence.replica.liveNodes().includes(node)) {
          let failed = 0
          for (const room of this.c.rooms.subscribed()) {
            const from: Cursor = { hlc: healFrom(lost.at, lost.marks.get(room), window), id: new Uint8Array(0) }
            await this.backfillFrom(room, node, from).catch(err => {
              failed++
              this.c.log('heal catch-up of %s from %s failed - %s', room, node, (err as Error).message)
            })
          }
          if (failed === 0 && !lost.again && this.downSince.get(node) === lost) {
            if (lost.confirm) this.downSince.delete(node)
            else this.downSince.set(node, { at: began, marks, hosted: lost.hosted, again: false, tries: 0, confirm: true })
          }
        }
      } finally {
        this.healing.delete(node)
      }
      const next = this.downSince.get(node)
      if (!this.started || next == null || this.c.mesh.getConnections(nodePeerId(node)).length === 0) return
      // the second pass; or contact was lost (and maybe regained) again while this ran, or a room
      // failed: once more while connected
      if (next !== lost || ++lost.tries < 10) this.lostContactEnded(node)
    }, this.init.catchUpDelayMs)
    this.catchUps.add(timer)
  }

  /** one anti-entropy round (see PROBE_EVERY) */
  private async probe (): Promise<void> {
    if (this.probing || !this.started) return
    this.probing = true
    try {
      const rooms = this.c.rooms.subscribed()
      const n = Math.min(rooms.length, PROBE_ROOMS)
      const turn = this.probeTurn++
      // the rooms together: their first digests to one peer leave in one write on the probe lane
      const probed = new Set<string>()
      for (let i = 0; i < n; i++) {
        const room = rooms[(turn * PROBE_ROOMS + i) % rooms.length]
        if (room != null) probed.add(room)
      }
      // the fetches of ranges that differ go one at a time, as when rooms were compared in turn: a peer
      // serving full pages for every room holds one page in memory here, not one per room
      let fetching: Promise<unknown> = Promise.resolve()
      const oneAtATime = async <T>(fetch: () => Promise<T>): Promise<T> => {
        const run = fetching.then(fetch, fetch)
        fetching = run.catch(() => {})
        return await run
      }
      await Promise.all([...probed].map(async room => { if (this.started) await this.probeRoom(room, turn, oneAtATime) }))
      for (const [key, until] of this.fruitless) if (until <= turn) this.fruitless.delete(key)
    } finally {
      this.probing = false
    }
  }

  private async probeRoom (room: string, turn: number, oneAtATime: <T>(fetch: () => Promise<T>) => Promise<T>): Promise<void> {
    const peers = this.sources(room)
    const peer = peers[turn % Math.max(1, peers.length)]
    if (peer == null) return
    const key = `${room}\n${peer}`
    if ((this.fruitless.get(key) ?? 0) > turn) return
    // older than a gossip round trip and the clock skew between nodes: what should be here by now
    const now = this.c.clock.now()
    const to = BigInt(Math.max(0, now - 2 * this.init.catchUpDelayMs)) << 16n
    const from = BigInt(Math.max(0, now - DIGEST_WINDOW_MS)) << 16n
    try {
      const r = await this.reconcile(room, peer, from, to, 0, { left: DIGEST_REQUESTS, oneAtATime })
      if (r.fetched && r.added === 0) this.fruitless.set(key, turn + FRUITLESS_ROUNDS)
    } catch (err) {
      this.c.metrics.antiEntropy.inc({ result: 'failed' })
      this.c.log('anti-entropy of %s with %s: %s', room, peer, (err as Error).message)
    }
  }

  /**
   * Compare [from, to) of a room with `peer`'s copy and fetch what differs (see DIGEST_WINDOW_MS).
   * Returns whether anything was fetched and how many events it added or restamped here.
   */
  private async reconcile (room: string, peer: string, from: bigint, to: bigint, depth: number, budget: { left: number, oneAtATime: <T>(fetch: () => Promise<T>) => Promise<T> }): Promise<{ fetched: boolean, added: number }> {
    if (budget.left-- <= 0) return { fetched: false, added: 0 }
    const theirs = await this.c.sync.digest(peer, room, from, to)
    const mine = this.c.store.digest(room, from, to)
    if (theirs.count === mine.count && theirs.sum === mine.sum) {
      this.c.metrics.antiEntropy.inc({ result: 'same' })
      return { fetched: false, added: 0 }
    }
    this.c.metrics.antiEntropy.inc({ result: 'differ' })
    // nothing there this node lacks: the peer finds what it lacks itself, in its own rounds
    if (theirs.count === 0) return { fetched: false, added: 0 }
    if (theirs.count <= this.c.sync.pageSize || depth >= DIGEST_DEPTH || to - from < 2n) {
      const added = await budget.oneAtATime(async () => this.backfillFrom(room, peer, { hlc: from, id: new Uint8Array(0) }, to))
      if (added > 0) this.c.log('anti-entropy: %d events of %s from %s', added, room, peer)
      return { fetched: true, added }
    }
    const mid = from + (to - from) / 2n
    const a = await this.reconcile(room, peer, from, mid, depth + 1, budget)
    const b = await this.reconcile(room, peer, mid, to, depth + 1, budget)
    return { fetched: a.fetched || b.fetched, added: a.added + b.added }
  }

  async ready (room: string): Promise<void> {
    const pending = this.backfills.get(room)
    if (pending == null) return
    let timer: ReturnType<typeof setTimeout> | undefined
    const waits = [pending, new Promise<void>(resolve => { timer = setTimeout(resolve, this.init.readyTimeoutMs) })]
    const alone = this.alone.get(room)
    if (alone != null) waits.push(alone.settled)
    await Promise.race(waits)
    clearTimeout(timer)
  }

  private async verified (room: string, events: WireStoredEvent[], path: EventPath): Promise<Array<Authored<StoredRoomEvent>>> {
    return this.c.opener.openMany(events, this.c.clock.now(), path,
      (opened, e) => opened.kind === 'room' && opened.room === room
        ? { id: opened.id, room, author: opened.author, hlc: e.hlc, origin: e.origin, event: e.event, ts: opened.ts }
        : undefined,
      err => {
        // a history source is a peer, not an authority: what does not verify is dropped
        this.c.metrics.rejected.inc({ code: asMeshchatError(err).name })
        this.c.log('dropped a history event - %s', err.message)
      })
  }

  /**
   * Page through the copies of the room on `replicas` peers (the preferred one, then owners, then
   * subscribers), up to backfillMax each: forward from `from` if given, else backwards from the
   * newest until a page brings nothing new. New events are stored and given to local members.
   *
   * Not forward from the newest local event: the local copy is not always a prefix of the room (a
   * node that does not carry a room still stores an event replicated to it while the owners were
   * unreachable, and one that carried the room through a partition has the events of its side
   * only), and whatever lies before the newest local event would never be fetched. More than one
   * copy: a peer that is itself catching up (just restarted, back from a partition) has a hole
   * where it was away.
   */
  /** fetch a room from up to `replicas` copies; returns how many copies answered */
  private async backfill (room: string, preferred?: string, from?: Cursor): Promise<number> {
    const sources = preferred == null ? this.sources(room) : [preferred, ...this.sources(room).filter(s => s !== preferred)]
    let copies = 0
    for (const peer of sources) {
      try {
        await this.backfillFrom(room, peer, from)
        if (++copies >= Math.max(1, this.init.replicas)) break
      } catch (err) {
        this.c.log('backfill of %s from %s failed - %s', room, peer, (err as Error).message)
      }
    }
    return copies
  }

  /**
   * The backfill of a room this node starts carrying. A node that has just started subscribes to the
   * rooms it is an archive owner of before it knows any peer: with nobody to ask, the backfill is tried
   * again (every catch-up delay, a bounded number of times) until some copy answers, or what the node
   * missed while it was down would stay missing. A node alone (no other node to ask, up for
   * aloneAfterMs) keeps trying, but joins to the room no longer wait for it.
   */
  private async firstBackfill (room: string, from?: string): Promise<void> {
    for (let attempt = 0; attempt < FIRST_BACKFILL_ATTEMPTS; attempt++) {
      if (await this.backfill(room, from) > 0) return
      if (!this.started || !this.c.rooms.isSubscribed(room)) return
      // nobody to ask, and up long enough to have heard of any other node: joins stop waiting for this
      if (this.sources(room).length === 0 && this.c.clock.now() - this.startedAt >= this.init.aloneAfterMs) this.alone.get(room)?.settle()
      await new Promise(resolve => setTimeout(resolve, this.init.catchUpDelayMs).unref())
      if (!this.started || !this.c.rooms.isSubscribed(room)) return
    }
  }

  /**
   * one peer's part of {@link backfill}: forward from `from`, or backwards from the newest until a
   * page holds nothing this node lacks; throws when the peer cannot be asked
   */
  private async backfillFrom (room: string, peer: string, from: Cursor | undefined, until?: bigint): Promise<number> {
    const pageSize = this.c.sync.pageSize
    let fetched = 0
    let added = 0
    let changed = 0
    let cursor: Cursor | undefined = from
    const forward = cursor != null
    while (fetched < this.init.backfillMax) {
      const limit = Math.min(pageSize, this.init.backfillMax - fetched)
      const page = await this.c.sync.historyPage(peer, room, forward ? { after: cursor, limit } : { before: cursor, limit })
      const events = await this.verified(room, page.events, 'backfill')
      const r = this.c.rooms.ingestMany(events)
      added += r.fresh
      changed += r.fresh + r.restamped
      fetched += page.events.length
      if (!page.more || events.length === 0 || (!forward && r.fresh === 0)) break
      const edge = forward ? events.at(-1) : events[0]
      if (edge == null || (until != null && edge.hlc >= until)) break
      cursor = { hlc: edge.hlc, id: edge.id }
    }
    if (added > 0) {
      this.c.metrics.backfilled.inc(added)
      this.c.log('backfilled %d events of %s from %s', added, room, peer)
    }
    return changed
  }

  /** history for a client: local for carried rooms, otherwise from a node that carries it */
  async page (room: string, q: { before?: Cursor, after?: Cursor, limit: number }): Promise<Page> {
    if (this.c.rooms.isSubscribed(room)) {
      await this.ready(room)
      return this.c.store.page(room, q)
    }
    for (const peer of this.sources(room)) {
      try {
        const page = await this.c.sync.historyPage(peer, room, q)
        return { events: await this.verified(room, page.events, 'history'), more: page.more }
      } catch (err) {
        this.c.log('history of %s from %s failed - %s', room, peer, (err as Error).message)
      }
    }
    return this.c.store.page(room, q)
  }

  /**
   * Send a fresh event on its way from its ingress node, and hand it to
   * `ackReplicas` other nodes before the client is acknowledged. Returns how
   * many confirmed.
   *
   * A room carried by at most `directMax` other nodes gets the event straight
   * from here, and no gossip: each carrier verifies, stores and gives it to its
   * members. `ackReplicas` of the carriers (its archive owners first) get it by
   * replication request and answer once it is committed: those answers are the
   * confirmation the ack waits for. The other carriers get it one way
   * (`SyncService.handOff`), without an answer, which would confirm nothing the
   * ack needs and costs each side about as much again as the event itself
   * (test/bench/mesh-rtt.ts); a node that does not take one-way hand-offs gets a
   * request as before. A send that fails (an error, no answer in time, a one-way
   * stream that breaks soon after) puts the event on gossip after all, where
   * floodPublish and lazy gossip reach every subscriber; carriers drop the second
   * copy by id. A room carried by more nodes goes by `gossip` (floodPublish) and
   * one owner is asked to confirm it stored the copy, as before.
   */
  async replicate (room: string, event: WireStoredEvent, gossip: () => Promise<unknown>): Promise<number> {
    const self = this.c.nodeId
    // PeerIds as gossipsub holds them: each hand-off below would otherwise parse its peer's id again
    const carriers = this.c.pubsub.getSubscribers(roomTopic(room)).filter(p => p.toString() !== self)
    if (carriers.length === 0 || carriers.length > this.init.directMax) {
      const [, confirmed] = await Promise.all([gossip(), this.confirmFrom(room, event, new Set(carriers.map(String)), [], this.init.ackReplicas)])
      return confirmed
    }
    const { answered, oneWay, quiet } = this.splitCarriers(room, carriers, this.init.ackReplicas)
    const direct = await this.handTo(room, event, answered, oneWay, quiet, gossip)
    if (direct >= this.init.ackReplicas) return direct
    // fewer answers than the acknowledgement needs: carriers that got it one way are asked to confirm
    // it (by id: they hold it), then owners and other nodes store it too
    return direct + await this.confirmFrom(room, event, new Set(oneWay.map(String)), answered.map(String), this.init.ackReplicas - direct)
  }

  /**
   * The carriers whose answers the acknowledgement waits for (`need` of them: the room's archive
   * owners first, the same ones for every event of the room while its owners stay), and the rest,
   * which get the event one way; a carrier that does not take one-way hand-offs is answered too.
   */
  private splitCarriers (room: string, carriers: PeerId[], ackReplicas: number): { answered: PeerId[], oneWay: PeerId[], quiet: PeerId[] } {
    let quiet: PeerId[] = []
    if (this.unanswered.size > 0) {
      quiet = carriers.filter(p => this.unanswered.has(p.toString()))
      if (quiet.length > 0) carriers = carriers.filter(p => !quiet.includes(p))
    }
    const need = Math.min(ackReplicas, carriers.length)
    if (need >= carriers.length) return { answered: carriers, oneWay: [], quiet }
    const owners = this.cachedOwners(room)
    const rank = (p: PeerId): number => {
      const i = owners.indexOf(p.toString())
      return i < 0 ? owners.length : i
    }
    const ordered = [...carriers].sort((a, b) => rank(a) - rank(b))
    const answered = ordered.slice(0, need)
    const oneWay: PeerId[] = []
    for (const p of ordered.slice(need)) {
      if (this.c.sync.takesHandOffs(p)) oneWay.push(p)
      else answered.push(p)
    }
    return { answered, oneWay, quiet }
  }

  /** `peer` did not answer a request to store a fresh event: not waited for until UNANSWERED_MS from now */
  private noAnswer (peer: string): void {
    this.unanswered.delete(peer)
    this.unanswered.add(peer)
  }

  /**
   * Send the event to every one of `answered` by request and to every one of
   * `oneWay` one way, at once; resolves with how many confirmed once
   * `ackReplicas` of `answered` have (or every request has settled). `quiet`
   * carriers (they did not answer lately) get it by request too, not waited
   * for; one that answers is waited for again. The first failure puts the
   * event on gossip.
   */
  private async handTo (room: string, event: WireStoredEvent, answered: PeerId[], oneWay: PeerId[], quiet: PeerId[], gossip: () => Promise<unknown>): Promise<number> {
    const need = Math.min(this.init.ackReplicas, answered.length)
    let confirmed = 0
    let settled = 0
    let gossiped = false
    this.c.metrics.handOffs.inc(answered.length + oneWay.length + quiet.length)
    const req = { store: { room, event, id: new Uint8Array(0) } }
    const failed = (peer: PeerId, why: string): void => {
      this.c.log('handing an event of %s to %s failed - %s; it goes by gossip', room, peer, why)
      this.c.metrics.handOffFailures.inc()
      if (!gossiped) {
        gossiped = true
        this.c.supervisor.track('archive:gossip', gossip().then(() => {}))
      }
    }
    for (const peer of oneWay) {
      this.c.metrics.handOffsOneWay.inc()
      this.c.sync.handOff(peer, room, event, () => { failed(peer, 'its one-way stream broke') }).catch(() => {
        // no one-way stream to it (an older node, or the stream would not open): by request, as before
        this.c.sync.call(peer, req, this.init.requestTimeoutMs, 'replication').catch(err => { failed(peer, (err as Error).message) })
      })
    }
    for (const peer of quiet) {
      this.c.sync.call(peer, req, this.init.requestTimeoutMs, 'replication').then(() => { this.unanswered.delete(peer.toString()) }, err => {
        failed(peer, (err as Error).message)
        this.noAnswer(peer.toString())
      })
    }
    return new Promise<number>(resolve => {
      if (need <= 0) resolve(0)
      for (const peer of answered) {
        this.c.sync.call(peer, req, this.init.requestTimeoutMs, 'replication').then(() => { confirmed++ }, err => {
          failed(peer, (err as Error).message)
          this.noAnswer(peer.toString())
        }).finally(() => {
          settled++
          if (confirmed >= need || settled === answered.length) resolve(confirmed)
        })
      }
    })
  }

  /**
   * Ask nodes (owners and subscribers first, then any connected node, none of
   * `skip`) until `need` hold the event. A subscriber in `gossiped` gets the
   * event by gossip: it is asked only to confirm it stored it, so the event
   * crosses the link once; it is sent the event when it does not have it.
   *
   * The first `need` are asked at once; when they do not all confirm, the next
   * ones CONFIRM_FANOUT at a time (a round ends as soon as enough have
   * confirmed); no round starts once CONFIRM_TIMEOUTS request timeouts have
   * passed. One at a time, the acknowledgement waited for every peer that
   * failed, one after another: a node with no other archive node in reach
   * (alone, or cut off) made its first send wait a request timeout for each
   * connected peer that answered nothing, and a peer holding the mesh key can
   * connect as many identities as it likes.
   */
  private async confirmFrom (room: string, event: WireStoredEvent, gossiped: Set<string>, skip: string[], need: number): Promise<number> {
    if (need <= 0) return 0
    let confirmed = 0
    // a node that does not carry the room still stores it, and offers it to the owners at its next
    // rebalance (this covers a node that has not yet heard of the others, right after it started)
    const sources = this.sources(room, this.cachedOwners(room)).filter(p => !skip.includes(p))
    // the id only for a node that got the event by gossip (asked to confirm it by id): not for every event of a room no other node carries
    let id: Uint8Array | undefined
    // the other connected nodes only when no source confirmed (the list is built then, not for every message)
    const noArchive = this.noArchive
    const unanswered = this.unanswered
    const answers = (peer: string): boolean => !unanswered.has(peer)
    const candidates = (function * (self: string, pubsub: ArchiveComponents['pubsub']): Generator<string> {
      for (const peer of sources) if (answers(peer)) yield peer
      for (const p of pubsub.getPeers()) {
        const peer = p.toString()
        if (peer !== self && !sources.includes(peer) && !skip.includes(peer) && !noArchive.has(peer) && answers(peer)) yield peer
      }
    })(this.c.nodeId, this.c.pubsub)
    const storeOn = async (peer: string): Promise<boolean> => {
      try {
        let held = false
        if (gossiped.has(peer)) {
          id ??= signedEventId(event.event)
          held = await this.c.sync.call(peer, { store: { room, id: id as Uint8Array<ArrayBuffer> } }, this.init.requestTimeoutMs, 'replication')
            .then(() => true, () => false)
        }
        if (!held) await this.c.sync.call(peer, { store: { room, event, id: new Uint8Array(0) } }, this.init.requestTimeoutMs, 'replication')
        return true
      } catch (err) {
        this.c.log('replicating to %s failed - %s', peer, (err as Error).message)
        if ((err as Error).name === 'UnsupportedProtocolError' && !sources.includes(peer)) {
          if (noArchive.size >= NO_ARCHIVE_MAX) noArchive.clear()
          noArchive.add(peer)
        } else {
          this.noAnswer(peer)
        }
        return false
      }
    }
    const until = this.c.clock.now() + CONFIRM_TIMEOUTS * this.init.requestTimeoutMs
    let round = need
    while (confirmed < need) {
      const asked: string[] = []
      while (asked.length < round) {
        const next = candidates.next()
        if (next.done === true) break
        asked.push(next.value)
      }
      if (asked.length === 0) break
      // a round ends when enough have confirmed, or when every one asked has answered or failed
      confirmed += await new Promise<number>(resolve => {
        let ok = 0
        let settled = 0
        for (const peer of asked) {
          void storeOn(peer).then(stored => {
            settled++
            if (stored) ok++
            if (confirmed + ok >= need || settled === asked.length) resolve(ok)
          })
        }
      })
      if (confirmed >= need) break
      if (this.c.clock.now() >= until) {
        this.c.log('no more nodes asked to store an event of %s: %d of %d confirmed in %d ms', room, confirmed, need, CONFIRM_TIMEOUTS * this.init.requestTimeoutMs)
        break
      }
      round = Math.max(need - confirmed, CONFIRM_FANOUT)
    }
    return confirmed
  }

  /** RoomHandler.confirm: the event is coming by gossip; answer once it is stored */
  async confirm (room: string, id: Uint8Array): Promise<boolean> {
    if (!this.c.rooms.isSubscribed(room)) return false
    return this.c.rooms.awaitStored(idToHex(id), this.init.confirmWaitMs)
  }

  stable (room: string): bigint {
    if (this.downSince.size === 0) return 0n
    const window = { slackMs: this.init.catchUpSlackMs, lookbackMs: HEAL_LOOKBACK_MS }
    const liveNodes = this.c.presence.replica.liveNodes()
    let hosts: Set<string> | undefined
    let from = 0n
    // only nodes that host members of the room publish in it, and only a node that is up can be caught
    // up with. Who hosts the room is what presence showed when contact was lost (or what this node got
    // from it there) as well as what it shows now: a node cut off from another stops hearing which
    // rooms that one hosts, and forgetting them would say the room is whole while it is not. Asked on
    // every live delivery: the losses are walked when they are fewer than the live nodes (nodes gone
    // for good stay among them, up to 10,000), the live nodes otherwise.
    const live = this.downSince.size <= liveNodes.length ? new Set(liveNodes) : undefined
    for (const node of live != null ? this.downSince.keys() : liveNodes) {
      const lost = this.downSince.get(node)
      if (lost == null || (live != null && !live.has(node))) continue
      if (!lost.hosted.has(room) && !lost.marks.has(room) && !(hosts ??= new Set(this.c.presence.replica.roomHosts(room))).has(node)) continue
      const f = healFrom(lost.at, lost.marks.get(room), window)
      if (from === 0n || f < from) from = f
    }
    return from
  }

  lateFrom (room: string): bigint {
    if (this.downSince.size === 0) return 0n
    const window = { slackMs: this.init.catchUpSlackMs, lookbackMs: HEAL_LOOKBACK_MS }
    const horizon = this.c.clock.now() - LATE_HORIZON_MS
    let hosts: Set<string> | undefined
    let from = 0n
    for (const [node, lost] of this.downSince) {
      if (lost.at < horizon) continue
      if (!lost.hosted.has(room) && !lost.marks.has(room) && !(hosts ??= new Set(this.c.presence.replica.roomHosts(room))).has(node)) continue
      const f = healFrom(lost.at, lost.marks.get(room), window)
      if (from === 0n || f < from) from = f
    }
    return from
  }

  lateArrivals (room: string, below: bigint): StoredRoomEvent[] {
    return this.c.rooms.lateArrivals(room, below)
  }

  since (room: string, fromHlc: bigint, upTo: Cursor, limit: number): StoredRoomEvent[] {
    return this.c.store.since(room, fromHlc, upTo, limit)
  }

  /** RoomHandler.localPage: serve a peer's history request from the local store */
  localPage (room: string, q: { before?: Cursor, after?: Cursor, limit: number }): Page {
    return this.c.store.page(room, q)
  }

  /** RoomHandler.digest: what this node holds of a room in a stamp range, for a peer's anti-entropy */
  digest (room: string, from: bigint, to: bigint): RangeDigest {
    return this.c.store.digest(room, from, to)
  }

  /** RoomHandler.store: an ingress node hands over a fresh event */
  async store (room: string, event: WireStoredEvent): Promise<boolean> {
    this.c.metrics.handOffsIn.inc()
    let problem: Error | undefined
    const [ev] = await this.c.opener.openMany([event], this.c.clock.now(), 'replica',
      (opened, e) => opened.kind === 'room' && opened.room === room
        ? { id: opened.id, room, author: opened.author, hlc: e.hlc, origin: e.origin, event: e.event, ts: opened.ts }
        : undefined,
      err => { problem = err })
    if (ev == null) throw problem ?? new InvalidEventError('event is not for this room')
    this.c.rooms.observe(ev.hlc)
    return this.c.rooms.ingest(ev)
  }

  /**
   * RoomHandler.offer: `from` says this node now owns these rooms. A room with
   * members somewhere is carried (subscribed, then backfilled); one without is
   * only copied into the store, since nothing will travel on its topic.
   */
  offer (from: string, rooms: string[]): void {
    const active = new Set(this.c.presence.replica.rooms())
    for (const room of rooms) {
      if (!this.owners(room).includes(this.c.nodeId)) continue
      if (this.c.rooms.isSubscribed(room)) {
        this.onSubscribe(room, from)
      } else if (active.has(room)) {
        this.offeredBy.set(room, from)
        // refused at the cap: nothing will subscribe, so nothing would take the offer up
        if (!this.c.rooms.want(room, 'archive', true)) this.offeredBy.delete(room)
      } else {
        this.c.supervisor.track('archive:copy', this.backfill(room, from))
      }
    }
  }

  /**
   * Retention, a step at a time: at most PRUNE_STEP_EVENTS events deleted per turn of the event
   * loop (a minute's worth of expired history at a few hundred messages a second would otherwise
   * be deleted in one go, a few tenths of a second with everything else waiting)
   */
  private prune (): void {
    if (this.pruning) return
    this.pruning = true
    const now = this.c.clock.now()
    let total = 0
    const step = (): void => {
      let done = true
      try {
        if (this.started && this.c.store.isOpen) {
          const s = this.c.store.pruneStep(this.init.retention, now, PRUNE_STEP_EVENTS)
          total += s.deleted
          done = s.done
        }
      } finally {
        if (done) {
          this.pruning = false
          if (total > 0) this.c.log('retention pruned %d events', total)
        } else {
          setImmediate(this.c.supervisor.wrap('archive:prune', step))
        }
      }
    }
    step()
  }
}
