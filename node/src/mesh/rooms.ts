import { TopicValidatorResult } from '@libp2p/gossipsub'
import { MAX_CARRIED_ROOMS } from '../config.js'
import { roomFromTopic, roomTopic } from '../../../client/src/protocol/ids.js'
import { StampedEvent } from '../../../client/src/protocol/pb/mesh.js'
import { scoreTopic } from './mesh-host.js'
import { checkStamps } from './peer-events.js'
import type { EventOpener } from './event-opener.js'
import type { GroupCommit } from '../store/group-commit.js'
import { BoundedMap, BoundedSet } from '../state/bounded.js'
import { idToHex } from '../../../client/src/protocol/signing.js'
import { BadFrameError, asMeshchatError } from '../../../client/src/protocol/errors.js'
import { DEFAULT_STAMP_RULE } from '../state/stamps.js'
import type { StampRule } from '../state/stamps.js'
import { hlcPhysical } from '../state/hlc.js'
import type { OpenedEvent } from '../../../client/src/protocol/signing.js'
import type { HybridClock } from '../state/hlc.js'
import type { Authored, MessageStore, StoredRoomEvent } from '../store/message-store.js'
import { stampTakesOver } from '../store/stamp-rank.js'
import type { LocalDelivery } from './local-delivery.js'
import type { NodeMetrics } from '../metrics.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { Logger, PeerId, Startable } from '@libp2p/interface'
import type { Supervisor } from '../supervisor.js'
import type { Clock } from '../components.js'

export interface RoomsInit {
  /** signed event limit; larger gossip is rejected */
  maxEventBytes: number
  /** the clock rule for stamps and author times (state/stamps.ts) */
  stamps?: StampRule
  /** typing and other unstored events remembered for dedupe; default 10,000 */
  recentIds?: number
  /**
   * an event that reaches this node more than this long after its stamp arrived late (a partition
   * healed; default 10 s, the resume slack): it is kept a while for resumes (lateArrivals)
   */
  lateAfterMs?: number
  /** rooms this node carries at most (`maxCarriedRooms`); default `MAX_CARRIED_ROOMS` */
  maxCarried?: number
}

/** late arrivals are offered to resumes for this long; at most this many are kept, over all rooms (about 0.5 KB each) */
const LATE_KEEP_MS = 10 * 60_000
const LATE_KEEP = 10_000
/** an event arriving more than this after its stamp is old history repaired (anti-entropy), not kept for resumes */
const LATE_AT_MOST_MS = 60 * 60_000
/** a resume is offered at most this many late arrivals of a room (the newest) */
const LATE_OFFER = 1000

export interface RoomsComponents {
  nodeId: string
  pubsub: GossipSub
  store: MessageStore
  /** message stamps */
  hlc: HybridClock
  /** wall-clock time */
  clock: Clock
  /** this node's clients (the gateway) */
  deliver: LocalDelivery
  metrics: NodeMetrics
  log: Logger
  supervisor: Supervisor
  opener: EventOpener
  /** the store's group commit for room events */
  writer: GroupCommit
  /** called when this node starts carrying a room (first local member, or archive ownership) */
  onSubscribe?: (room: string) => void
  /**
   * send a fresh event to the other nodes carrying its room and to other replicas before it is
   * acknowledged, directly or by calling `gossip`; resolves with how many replicas confirmed
   */
  replicate?: (room: string, event: { event: Uint8Array<ArrayBuffer>, hlc: bigint, origin: string }, gossip: () => Promise<unknown>) => Promise<number>
  /** whether the room carries events of this ephemeral kind (read receipts, typing: it is small enough); all do if not given */
  carries?: (room: string, kind: 'receipt' | 'typing') => boolean
}

/** why this node carries a room's topic */
export type Interest = 'local' | 'archive'

interface Validated {
  env: StampedEvent
  opened: OpenedEvent
}

/** A room event accepted at ingress: what the client's ack reports. */
export interface Accepted {
  hlc: bigint
  /** false when the id was already stored (a retried send) */
  fresh: boolean
}

/**
 * Rooms over gossipsub. A node subscribes to a room's topic only while it has
 * a reason to (a local member, or being one of the room's archive replicas),
 * so rooms cost nothing on nodes that do not carry them. Every event is
 * verified before gossipsub accepts it; the message handler stores, dedupes by
 * id and fans out to local members.
 */
export class RoomService implements Startable {
  private readonly init: Required<RoomsInit>
  private readonly c: RoomsComponents
  private readonly interest = new Map<string, Set<Interest>>()
  /** validator results for the message handler, so nothing is decoded or verified twice */
  private readonly validated = new WeakMap<Message, Validated>()
  /** room events stored (or being stored) recently, by id, with their stamp: the dedupe before the store */
  private readonly stored = new BoundedMap<string, bigint>(20_000)
  /**
   * the commit of each event ingested and not yet committed, for replicas asked to confirm it; an
   * entry goes when its commit settles (a confirmation asked later finds the id in `stored` and has
   * nothing to wait for), so this holds one group commit's worth, not a window of ids
   */
  private readonly commits = new Map<string, Promise<boolean>>()
  /** confirmations waiting for an event that has not arrived yet */
  private readonly awaited = new Map<string, Set<() => void>>()
  /** per room, events that arrived late lately, with when, oldest first (lateArrivals) */
  private readonly late = new Map<string, Array<{ at: number, event: StoredRoomEvent }>>()
  /** the room of every kept late arrival, oldest first: the oldest goes when LATE_KEEP are kept */
  private readonly lateOrder: string[] = []
  /** when (wall clock, ms) this node subscribed to each room it carries */
  private readonly carriedSince = new Map<string, number>()
  /**
   * archive copies refused at the cap since the node last let a room go: every rebalance asks again,
   * and each is counted once, not once per rebalance (a room let go makes room, so the set starts over)
   */
  private readonly refusedArchive = new Set<string>()
  /** ids of unstored events (typing) seen recently */
  private readonly recent: BoundedSet<string>
  private started = false
  private readonly onMessage: (evt: CustomEvent<Message>) => void
  /** told of every event another node sent this node live (gossip, or handed over by its ingress node), not of backfills */
  onReceived?: (room: string, origin: string, hlc: bigint) => void

  constructor (init: RoomsInit, components: RoomsComponents) {
    this.init = { stamps: DEFAULT_STAMP_RULE, recentIds: 10_000, lateAfterMs: 10_000, maxCarried: MAX_CARRIED_ROOMS, ...init }
    this.recent = new BoundedSet(this.init.recentIds)
    this.c = components
    this.onMessage = components.supervisor.wrap('rooms:message', (evt: CustomEvent<Message>) => { this.receive(evt.detail) })
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.c.pubsub.addEventListener('message', this.onMessage)
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    this.c.pubsub.removeEventListener('message', this.onMessage)
    for (const room of this.interest.keys()) {
      this.c.pubsub.topicValidators.delete(roomTopic(room))
    }
    this.interest.clear()
    this.carriedSince.clear()
    this.refusedArchive.clear()
    this.late.clear()
    this.lateOrder.length = 0
  }

  /** ingested events whose commit has not settled yet */
  get committing (): number {
    return this.commits.size
  }

  /** rooms whose topic this node is subscribed to */
  subscribed (): string[] {
    return [...this.interest.keys()]
  }

  isSubscribed (room: string): boolean {
    return this.interest.has(room)
  }

  reasons (room: string): Interest[] {
    return [...(this.interest.get(room) ?? [])]
  }

  /**
   * Add or drop one reason to carry `room`; subscribes on the first reason, unsubscribes after the
   * last. False when the room would be one more than the node may carry (nothing changed).
   */
  want (room: string, why: Interest, on: boolean): boolean {
    let set = this.interest.get(room)
    if (on) {
      if (set == null) {
        if (this.interest.size >= this.init.maxCarried) {
          if (why !== 'archive' || !this.refusedArchive.has(room)) {
            if (why === 'archive') this.refusedArchive.add(room)
            this.c.metrics.roomsRefused.inc({ reason: why })
            this.c.log('not carrying room %s (%s): this node carries %d rooms, its most', room, why, this.interest.size)
          }
          return false
        }
        this.refusedArchive.delete(room)
        this.interest.set(room, set = new Set([why]))
        this.carriedSince.set(room, this.c.clock.now())
        const topic = roomTopic(room)
        this.c.pubsub.topicValidators.set(topic, async (peer, msg) => this.validate(peer, msg, room))
        scoreTopic(this.c.pubsub, topic, true)
        this.c.pubsub.subscribe(topic)
        this.c.log('subscribed to room %s (%s)', room, why)
        this.c.onSubscribe?.(room)
      } else {
        set.add(why)
      }
    } else if (set != null) {
      set.delete(why)
      if (set.size === 0) {
        this.interest.delete(room)
        this.carriedSince.delete(room)
        this.refusedArchive.clear()
        const topic = roomTopic(room)
        this.c.pubsub.unsubscribe(topic)
        this.c.pubsub.topicValidators.delete(topic)
        scoreTopic(this.c.pubsub, topic, false)
        this.c.log('unsubscribed from room %s', room)
      }
    }
    return true
  }

  /**
   * Accept a verified room or typing event from a local client: stamp, store,
   * hand to local members and publish. Resolves once stored and published. A
   * retried send of a stored id is acknowledged with the stored stamp and not
   * published again.
   */
  async publish (opened: OpenedEvent): Promise<Accepted> {
    const room = opened.room ?? ''
    if (opened.kind === 'room') {
      const existing = this.stored.get(opened.idHex) ?? this.c.store.get(opened.id)?.hlc
      if (existing != null) {
        this.c.metrics.duplicates.inc()
        return { hlc: existing, fresh: false }
      }
    }
    const hlc = this.c.hlc.now(this.c.clock.now())
    // the author's clock against the stamp: the same rule every other node applies to this event
    checkStamps(hlc, opened.ts, this.c.clock.now(), this.init.stamps)
    const env: StampedEvent = { event: opened.bytes as Uint8Array<ArrayBuffer>, hlc, origin: this.c.nodeId }
    let committed: Promise<unknown> = Promise.resolve()
    if (opened.kind === 'room') {
      this.stored.set(opened.idHex, hlc)
      committed = this.c.writer.put({ id: opened.id, room, hlc, origin: this.c.nodeId, author: opened.author, event: opened.bytes, ts: opened.ts })
    } else {
      this.remember(opened.idHex)
    }
    this.c.metrics.messagesIn.inc({ source: 'client', kind: opened.kind })
    this.fanOut(room, env, opened.kind)
    const gossip = async (): Promise<unknown> => {
      this.c.metrics.gossipPublished.inc()
      return this.c.pubsub.publish(roomTopic(room), StampedEvent.encode(env))
    }
    // the ack waits for the group commit that holds the event, its sends to the other carrying nodes
    // (or its gossip send) and one more replica
    if (opened.kind === 'room' && this.c.replicate != null) {
      await Promise.all([committed, this.c.replicate(room, env, gossip)])
    } else {
      await Promise.all([committed, gossip()])
    }
    return { hlc, fresh: true }
  }

  /**
   * Store a verified room event that reached this node from another node (by
   * gossip, or handed over by its ingress node) and give it to local members
   * at once; resolves when it is committed, with false when it was a
   * duplicate. The second copy of an event (a replica gets both) is dropped by
   * id before anything is done with it.
   */
  async ingest (e: Authored<StoredRoomEvent>, idHex = idToHex(e.id)): Promise<boolean> {
    const held = this.stored.get(idHex)
    if (held != null) {
      this.c.metrics.duplicates.inc()
      // the same message stamped by another node (a retried send): every copy keeps the same stamp
      // (stamp-rank.ts; a tie of stamps is the store's to settle, by origin). Members have it already,
      // and drop it by id when a resume replays it at its new place
      if (e.hlc !== held && stampTakesOver(e, { hlc: held, origin: '' }, e.ts)) {
        this.stored.set(idHex, e.hlc)
        this.restamped(1)
        // moved earlier: a resume from a cursor between the two places is offered it
        if (e.hlc < held) this.keepIfLate(e, this.c.clock.now())
        await this.c.writer.put(e)
      }
      return false
    }
    this.stored.set(idHex, e.hlc)
    this.onReceived?.(e.room, e.origin, e.hlc)
    const now = this.c.clock.now()
    this.keepIfLate(e, now)
    this.c.metrics.messagesIn.inc({ source: 'mesh', kind: 'room' })
    this.c.metrics.deliveryLatency.observe(Math.max(0, now - Number(hlcPhysical(e.hlc))) / 1000)
    this.fanOut(e.room, { event: e.event as Uint8Array<ArrayBuffer>, hlc: e.hlc, origin: e.origin }, 'room')
    const commit = this.c.writer.put(e)
    this.commits.set(idHex, commit)
    for (const wake of this.awaited.get(idHex) ?? []) wake()
    let fresh: boolean
    try {
      fresh = await commit
    } finally {
      if (this.commits.get(idHex) === commit) this.commits.delete(idHex)
    }
    // stored before this node's memory of recent ids goes back (an old event coming round again)
    if (!fresh) this.c.metrics.duplicates.inc()
    return fresh
  }

  /**
   * Resolves true once the event with this id is stored here (it may still be
   * on its way by gossip), false if it has not come within `timeoutMs`.
   */
  async awaitStored (idHex: string, timeoutMs: number): Promise<boolean> {
    if (!this.stored.has(idHex)) {
      const arrived = await new Promise<boolean>(resolve => {
        let set = this.awaited.get(idHex)
        if (set == null) this.awaited.set(idHex, set = new Set())
        const done = (ok: boolean): void => {
          clearTimeout(timer)
          set?.delete(wake)
          if (set?.size === 0) this.awaited.delete(idHex)
          resolve(ok)
        }
        const wake = (): void => { done(true) }
        const timer = setTimeout(() => { done(false) }, timeoutMs)
        set.add(wake)
      })
      if (!arrived) return false
    }
    // stored with this node's publish, a backfill, or an ingest: wait for the commit when there is one
    await (this.commits.get(idHex) ?? Promise.resolve(true)).catch(() => false)
    return true
  }

  /**
   * Commit what waits for the group commit, now. A join reads its replay from
   * the store, and an event is given to the room's members before its commit:
   * one handed out just before a session became a member, and not committed
   * yet when that session's replay is read, would reach it neither way.
   */
  commitPending (): void {
    this.c.writer.flush()
  }

  /**
   * Store backfilled events in one transaction and give the new ones to the
   * local members that may be missing them: an event that only arrives by
   * backfill was missed live, and a member who joined or resumed meanwhile
   * must still see it (clients order by hlc and drop what they already
   * have). Returns how many were new, and how many took another stamp of their id (stamp-rank.ts).
   */
  ingestMany (events: Array<Authored<StoredRoomEvent>>): { fresh: number, restamped: number } {
    const restamped: Array<Authored<StoredRoomEvent>> = []
    const fresh = this.c.store.insertMany(events, restamped)
    const now = this.c.clock.now()
    for (const e of restamped) {
      const idHex = idToHex(e.id)
      if (this.stored.has(idHex)) this.stored.set(idHex, e.hlc)
      // one that moved earlier may now lie behind a resuming device's cursor (a later stamp is not late)
      this.keepIfLate(e, now)
    }
    if (restamped.length > 0) this.restamped(restamped.length)
    for (const e of fresh) {
      this.keepIfLate(e, now)
      this.stored.set(idToHex(e.id), e.hlc)
      const n = this.c.deliver.late(e.room, e)
      if (n > 0) this.c.metrics.messagesOut.inc({ kind: 'room' }, n)
    }
    return { fresh: fresh.length, restamped: restamped.length }
  }

  /**
   * Keep an event that reached this node well after its stamp, though the node carried the room
   * then (a partition cut it off; a heal's catch-up, anti-entropy or an ingress node's retry brought
   * it, whatever the path). A device that resumes from a cursor past its place is replayed from a
   * little before the cursor only, and the event was not here when the device went by it: the resume
   * offers it (the device drops it by id if it had it from elsewhere).
   */
  private keepIfLate (e: StoredRoomEvent, now: number): void {
    const at = Number(hlcPhysical(e.hlc))
    const since = this.carriedSince.get(e.room)
    // stamped before this node carried the room: history it fetched, not an event it missed live
    if (since == null || at < since) return
    const lateBy = now - at
    if (lateBy <= this.init.lateAfterMs || lateBy > LATE_AT_MOST_MS) return
    let list = this.late.get(e.room)
    if (list == null) this.late.set(e.room, list = [])
    list.push({ at: now, event: e })
    this.lateOrder.push(e.room)
    if (this.lateOrder.length > LATE_KEEP) {
      const room = this.lateOrder.shift() ?? ''
      const oldest = this.late.get(room)
      oldest?.shift()
      if (oldest?.length === 0) this.late.delete(room)
    }
  }

  /** the room's events stamped below `below` that arrived late in the last minutes, oldest first */
  lateArrivals (room: string, below: bigint): StoredRoomEvent[] {
    const list = this.late.get(room)
    if (list == null) return []
    const since = this.c.clock.now() - LATE_KEEP_MS
    return list.filter(x => x.at >= since && x.event.hlc < below).map(x => x.event)
      .sort((x, y) => x.hlc < y.hlc ? -1 : x.hlc > y.hlc ? 1 : 0).slice(-LATE_OFFER)
  }

  private restamped (n: number): void {
    this.c.metrics.restamped.inc(n)
    this.c.log('%d events took another stamp of their id', n)
  }

  /** hand an event to this node's members of `room` */
  private fanOut (room: string, env: StampedEvent, kind: OpenedEvent['kind']): void {
    const n = this.c.deliver.room(room, env, kind)
    if (n > 0) this.c.metrics.messagesOut.inc({ kind }, n)
  }

  /**
   * Gossipsub validator: only events that decode, verify, belong to this
   * topic's room and are not stamped in the future are accepted; everything
   * else is rejected (the sending peer is penalised) or ignored.
   */
  private async validate (_peer: PeerId, msg: Message, room: string): Promise<TopicValidatorResult> {
    let env: StampedEvent
    let opened: OpenedEvent
    try {
      try {
        env = StampedEvent.decode(msg.data)
      } catch (err) {
        throw new BadFrameError(`room envelope does not decode: ${(err as Error).message}`)
      }
      opened = await this.c.opener.openStamped(env, this.c.clock.now(), 'gossip')
    } catch (err) {
      const e = asMeshchatError(err)
      this.c.log('rejected gossip on %s - %s', room, e.message)
      this.c.metrics.rejected.inc({ code: e.name })
      // a stamp just past the bound may be our own clock's fault: not the relaying peer's, so no penalty
      return e.name === 'BadTimestampError' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
    }
    if ((opened.kind !== 'room' && opened.kind !== 'typing' && opened.kind !== 'receipt') || opened.room !== room) {
      this.c.metrics.rejected.inc({ code: 'WrongTopic' })
      return TopicValidatorResult.Reject
    }
    this.validated.set(msg, { env, opened })
    return TopicValidatorResult.Accept
  }

  private receive (msg: Message): void {
    const room = roomFromTopic(msg.topic)
    if (room == null) return
    this.c.metrics.gossipDelivered.inc()
    const v = this.validated.get(msg)
    if (v == null) return
    const { env, opened } = v
    this.observe(env.hlc)
    if (opened.kind === 'room') {
      this.c.supervisor.track('rooms:store', this.ingest({ id: opened.id, room, hlc: env.hlc, origin: env.origin, author: opened.author, event: env.event, ts: opened.ts }, opened.idHex))
      return
    }
    if (!this.remember(opened.idHex)) {
      this.c.metrics.duplicates.inc()
      return
    }
    if ((opened.kind === 'receipt' || opened.kind === 'typing') && this.c.carries?.(room, opened.kind) === false) {
      this.c.metrics.withheld.inc({ kind: opened.kind, source: 'mesh' })
      return
    }
    this.c.metrics.messagesIn.inc({ source: 'mesh', kind: opened.kind })
    this.fanOut(room, env, opened.kind)
  }

  /** move this node's clock past a stamp another node gave an event it sent here */
  observe (hlc: bigint): void {
    try {
      this.c.hlc.update(hlc, this.c.clock.now())
    } catch {
      // stamped beyond the drift bound since it was checked (our clock moved): keep our clock sane regardless
    }
  }

  /** remember an unstored event id; false if it was already remembered */
  private remember (idHex: string): boolean {
    return this.recent.add(idHex)
  }

}
