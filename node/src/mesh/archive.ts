import { roomTopic } from '../../../client/src/protocol/ids.js'
import { InvalidEventError } from '../../../client/src/protocol/errors.js'
import type { EventOpener, EventPath } from './event-opener.js'
import type { StampRule } from '../state/stamps.js'
import { rendezvousOwners } from '../state/rendezvous.js'
import { idToHex, signedEventId } from '../../../client/src/protocol/signing.js'
import { asMeshchatError } from '../../../client/src/protocol/errors.js'
import type { RoomService } from './rooms.js'
import type { PresenceService } from './presence-service.js'
import type { SyncService, RoomHandler } from './sync.js'
import type { StampedEvent as WireStoredEvent } from '../../../client/src/protocol/pb/mesh.js'
import type { Cursor, MessageStore, Page, RetentionPolicy, StoredRoomEvent } from '../store/message-store.js'
import type { NodeMetrics } from '../metrics.js'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Logger, Startable } from '@libp2p/interface'
import { Debounced } from '../supervisor.js'
import type { Supervisor } from '../supervisor.js'
import type { Clock } from '../components.js'

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
}

export interface ArchiveComponents {
  /** wall-clock time */
  clock: Clock
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
  /** a page of history: from this node's store, or, for rooms it does not carry, from a node that does */
  page: (room: string, q: { before?: Cursor, after?: Cursor, limit: number }) => Promise<Page>
  /** this node's events of a room stamped at or after `fromHlc`, oldest first (a resume's replay) */
  since: (room: string, fromHlc: bigint, limit: number) => StoredRoomEvent[]
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
  /** the node that offered a room, to backfill from first (it may no longer be subscribed) */
  private readonly offeredBy = new Map<string, string>()
  /** owners each room had at the last rebalance, to spot nodes that just became owners */
  private lastOwners = new Map<string, string[]>()
  private readonly rebalancer: Debounced
  private readonly catchUps = new Set<ReturnType<typeof setTimeout>>()
  private pruneTimer?: ReturnType<typeof setInterval>
  private started = false
  private readonly onPresence: (evt: CustomEvent<{ nodes: unknown[], rooms: Array<{ member: unknown }> }>) => void

  constructor (init: ArchiveInit, components: ArchiveComponents) {
    this.init = init
    this.c = components
    this.rebalancer = new Debounced(components.supervisor, 'archive:rebalance', init.rebalanceDelayMs, async () => this.rebalance())
    this.onPresence = components.supervisor.wrap('archive:presence', (evt: CustomEvent<{ nodes: unknown[], rooms: Array<{ member: unknown }> }>) => {
      // ownership depends on the live node set and on which rooms exist
      if (evt.detail.nodes.length > 0 || evt.detail.rooms.length > 0) this.scheduleRebalance()
    })
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.c.sync.rooms = this
    this.c.presence.addEventListener('change', this.onPresence)
    this.pruneTimer = this.c.supervisor.interval('archive:prune', () => { this.prune() }, this.init.pruneIntervalMs)
    this.pruneTimer.unref?.()
    this.scheduleRebalance()
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    this.rebalancer.cancel()
    clearInterval(this.pruneTimer)
    for (const t of this.catchUps) clearTimeout(t)
    this.catchUps.clear()
    this.c.presence.removeEventListener('change', this.onPresence)
    if (this.c.sync.rooms === this) this.c.sync.rooms = undefined
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
    const hosting = new Set(this.c.presence.replica.roomRoster(room).flatMap(m => m.nodes))
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
  private sources (room: string): string[] {
    const self = this.c.nodeId
    const subs = this.c.pubsub.getSubscribers(roomTopic(room)).map(p => p.toString())
    return [...new Set([...this.owners(room), ...subs])].filter(n => n !== self)
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
    const run = new Promise(resolve => setTimeout(resolve, this.init.subscribeSettleMs))
      .then(async () => this.backfill(room, from))
      .catch(err => { this.c.log('backfill of %s failed - %s', room, (err as Error).message) })
      .finally(() => { this.backfills.delete(room) })
    this.backfills.set(room, run)
    const timer = this.c.supervisor.timeout('archive:catch-up', async () => {
      this.catchUps.delete(timer)
      if (!this.started || !this.c.rooms.isSubscribed(room)) return
      await this.backfill(room, from, since).catch(err => { this.c.log('catch-up of %s failed - %s', room, (err as Error).message) })
    }, this.init.catchUpDelayMs)
    this.catchUps.add(timer)
  }

  async ready (room: string): Promise<void> {
    const pending = this.backfills.get(room)
    if (pending == null) return
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([pending, new Promise<void>(resolve => { timer = setTimeout(resolve, this.init.readyTimeoutMs) })])
    clearTimeout(timer)
  }

  private async verified (room: string, events: WireStoredEvent[], path: EventPath): Promise<StoredRoomEvent[]> {
    return this.c.opener.openMany(events, this.c.clock.now(), path,
      (opened, e) => opened.kind === 'room' && opened.room === room
        ? { id: opened.id, room, author: opened.author, hlc: e.hlc, origin: e.origin, event: e.event }
        : undefined,
      err => {
        // a history source is a peer, not an authority: what does not verify is dropped
        this.c.metrics.rejected.inc({ code: asMeshchatError(err).name })
        this.c.log('dropped a history event - %s', err.message)
      })
  }

  /**
   * Page through a peer's copy of the room, up to backfillMax: forward from
   * `from` if given, else forward from the newest local event, or, with
   * nothing local, backwards from the newest. New events are stored and given
   * to local members.
   */
  private async backfill (room: string, preferred?: string, from?: Cursor): Promise<void> {
    const sources = preferred == null ? this.sources(room) : [preferred, ...this.sources(room).filter(s => s !== preferred)]
    const pageSize = this.c.sync.pageSize
    for (const peer of sources) {
      try {
        const newest = this.c.store.page(room, { limit: 1 }).events[0]
        let fetched = 0
        let added = 0
        let cursor: Cursor | undefined = from ?? (newest == null ? undefined : { hlc: newest.hlc, id: newest.id })
        const forward = cursor != null
        while (fetched < this.init.backfillMax) {
          const limit = Math.min(pageSize, this.init.backfillMax - fetched)
          const page = await this.c.sync.historyPage(peer, room, forward ? { after: cursor, limit } : { before: cursor, limit })
          const events = await this.verified(room, page.events, 'backfill')
          added += this.c.rooms.ingestMany(events)
          fetched += page.events.length
          if (!page.more || events.length === 0) break
          const edge = forward ? events.at(-1) : events[0]
          if (edge == null) break
          cursor = { hlc: edge.hlc, id: edge.id }
        }
        if (added > 0) {
          this.c.metrics.backfilled.inc(added)
          this.c.log('backfilled %d events of %s from %s', added, room, peer)
        }
        return
      } catch (err) {
        this.c.log('backfill of %s from %s failed - %s', room, peer, (err as Error).message)
      }
    }
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
   * Hand a fresh event to `ackReplicas` other nodes carrying the room (owners
   * first) before the client is acknowledged. Returns how many confirmed.
   */
  async replicate (room: string, event: WireStoredEvent): Promise<number> {
    if (this.init.ackReplicas <= 0) return 0
    let confirmed = 0
    // owners and subscribers first; then any connected node: a node that does not carry the room
    // still stores it, and offers it to the owners at its next rebalance (this covers a node that
    // has not yet heard of the others, right after it started)
    const sources = this.sources(room)
    const others = this.c.pubsub.getPeers().map(p => p.toString()).filter(p => p !== this.c.nodeId && !sources.includes(p))
    const subscribers = new Set(this.c.pubsub.getSubscribers(roomTopic(room)).map(p => p.toString()))
    const id = signedEventId(event.event)
    for (const peer of [...sources, ...others]) {
      try {
        // a node subscribed to the room gets the event by gossip: ask it only to confirm it stored it,
        // so the event crosses the link once; send the event itself when it does not have it
        let held = false
        if (subscribers.has(peer)) {
          held = await this.c.sync.call(peer, { store: { room, id: id as Uint8Array<ArrayBuffer> } }, this.init.requestTimeoutMs, 'replication')
            .then(() => true, () => false)
        }
        if (!held) await this.c.sync.call(peer, { store: { room, event, id: new Uint8Array(0) } }, this.init.requestTimeoutMs, 'replication')
        if (++confirmed >= this.init.ackReplicas) break
      } catch (err) {
        this.c.log('replicating to %s failed - %s', peer, (err as Error).message)
      }
    }
    return confirmed
  }

  /** RoomHandler.confirm: the event is coming by gossip; answer once it is stored */
  async confirm (room: string, id: Uint8Array): Promise<boolean> {
    if (!this.c.rooms.isSubscribed(room)) return false
    return this.c.rooms.awaitStored(idToHex(id), this.init.confirmWaitMs)
  }

  since (room: string, fromHlc: bigint, limit: number): StoredRoomEvent[] {
    return this.c.store.since(room, fromHlc, limit)
  }

  /** RoomHandler.localPage: serve a peer's history request from the local store */
  localPage (room: string, q: { before?: Cursor, after?: Cursor, limit: number }): Page {
    return this.c.store.page(room, q)
  }

  /** RoomHandler.store: an ingress node hands over a fresh event */
  async store (room: string, event: WireStoredEvent): Promise<boolean> {
    let problem: Error | undefined
    const [ev] = await this.c.opener.openMany([event], this.c.clock.now(), 'replica',
      (opened, e) => opened.kind === 'room' && opened.room === room
        ? { id: opened.id, room, author: opened.author, hlc: e.hlc, origin: e.origin, event: e.event }
        : undefined,
      err => { problem = err })
    if (ev == null) throw problem ?? new InvalidEventError('event is not for this room')
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
        this.c.rooms.want(room, 'archive', true)
      } else {
        this.c.supervisor.track('archive:copy', this.backfill(room, from))
      }
    }
  }

  private prune (): void {
    const n = this.c.store.prune(this.init.retention, this.c.clock.now())
    if (n > 0) this.c.log('retention pruned %d events', n)
  }
}
