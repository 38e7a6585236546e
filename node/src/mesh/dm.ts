import { nodePeerId } from './peer-ids.js'
import { DM_PROTOCOL } from '../../../client/src/protocol/ids.js'
import { DmState } from '../../../client/src/protocol/pb/client.js'
import { idToHex } from '../../../client/src/protocol/signing.js'
import { ErrorCode, MailboxFullError, NotEntitledError, UnavailableError, asMeshchatError, BadFrameError } from '../../../client/src/protocol/errors.js'
import { conversationId } from '../../../client/src/protocol/conversation.js'
import { DmHistory } from './dm-history.js'
import type { DmPage, PageQuery } from '../store/message-store.js'
import { BoundedMap, BoundedSet } from '../state/bounded.js'
import { checkStamps } from './peer-events.js'
import type { StampedEvent } from './peer-events.js'
import type { EventOpener } from './event-opener.js'
import type { StampRule } from '../state/stamps.js'
import { Debounced } from '../supervisor.js'
import type { Supervisor } from '../supervisor.js'
import type { Clock } from '../components.js'
import { directoryOwners } from '../state/directory.js'
import { DmDeliver, DmResult } from '../../../client/src/protocol/pb/mesh.js'
import { ChannelPool, serve } from './rpc.js'
import { LINK_DM, storedToWire } from './sync.js'
import type { SyncService, MailboxHandler } from './sync.js'
import type { StampedEvent as WireStoredEvent } from '../../../client/src/protocol/pb/mesh.js'
import type { OpenedEvent } from '../../../client/src/protocol/signing.js'
import type { HybridClock } from '../state/hlc.js'
import type { MailboxEvent, MessageStore } from '../store/message-store.js'
import type { LocalDelivery } from './local-delivery.js'
import type { PresenceService } from './presence-service.js'
import type { PresenceChange } from '../state/presence.js'
import type { NodeMetrics } from '../metrics.js'
import type { Libp2p, Logger, PeerId, Startable } from '@libp2p/interface'

export interface DmInit {
  /** mailbox replicas per user (DESIGN: K = 2) */
  replicas: number
  /** queued DMs per user */
  maxPerUser: number
  /** queued DMs from one sender in one user's mailbox: one sender cannot fill it for everyone else */
  maxPerSender: number
  /** queued DMs older than this are dropped (0 = kept until collected) */
  maxAgeMs: number
  maxEventBytes: number
  /** the clock rule applied to every DM taken from a client or a peer */
  stamps: StampRule
  requestTimeoutMs: number
  /** mailbox ownership is recomputed this long after the last membership change */
  rebalanceDelayMs: number
  /**
   * a mailbox read or delete from a node that presence does not (yet) show hosting the user waits
   * this long for presence to catch up before it is refused: the recipient's node asks right after
   * the device attached, usually before its presence delta arrived
   */
  entitlementWaitMs: number
  /** how often aged mail is dropped */
  pruneIntervalMs: number
}

export interface DmComponents {
  nodeId: string
  mesh: Libp2p
  presence: PresenceService
  /** this node's clients (the gateway) */
  deliver: LocalDelivery
  store: MessageStore
  sync: SyncService
  /** message stamps */
  hlc: HybridClock
  /** wall-clock time */
  clock: Clock
  metrics: NodeMetrics
  log: Logger
  supervisor: Supervisor
  opener: EventOpener
}

/** a mailbox owner asks the directory this often, this many times at most, whether the asking node hosts the user */
const ENTITLEMENT_RETRY_MS = 50
const ENTITLEMENT_TRIES = 100
/**
 * DM ids remembered for dedupe: ingress retries and repeated hand-offs within this window are one
 * DM. The window is the last RECENT_DMS DMs or the last RECENT_DMS_MS, whichever is shorter: a
 * client retries a send within seconds of reconnecting, a sender's node a hand-off within its
 * request timeout, and a copy that comes later still is dropped by id by the device and the stores.
 */
const RECENT_DMS = 20_000
const RECENT_DMS_MS = 10 * 60_000
/**
 * DMs this node handed to devices as mailbox deliveries, awaiting the device's ack (user/id): the last
 * MAILBOX_HANDED, for at most MAILBOX_HANDED_MS. A device acks within seconds; one that acks on another
 * node, or not at all, would leave its entries here until the count bound, which at ordinary rates
 * takes days. An ack that comes after the window leaves the mailbox copies in place: the device gets
 * the DM again from the mailbox, drops it by id and acks it again.
 */
const MAILBOX_HANDED = 50_000
const MAILBOX_HANDED_MS = 10 * 60_000

/**
 * Direct messages. The ingress node looks the recipient up in the directory and
 * hands the DM straight to the node(s) hosting the recipient's devices (and
 * the sender's other devices) over /meshchat/dm. With no device reachable,
 * the DM goes to the recipient's mailbox on K nodes chosen by rendezvous
 * hashing over live nodes; whichever node the recipient attaches to next
 * collects it, and the copies are removed once the client acks. Every DM is
 * also kept in its conversation's history on the conversation's K owners
 * (dm-history.ts). Read receipts for a DM conversation travel the same way as
 * a live DM, and are never stored.
 */
export class DmService implements Startable, MailboxHandler {
  private readonly init: DmInit
  private readonly c: DmComponents
  private started = false
  private readonly rebalancer: Debounced
  /** users whose mailbox is waiting to be pushed to the nodes they are attached to */
  private readonly pushQueue = new Set<string>()
  /** owner set each held mailbox had at the last rebalance */
  private readonly lastOwners = new Map<string, string>()
  private pushTimer?: ReturnType<typeof setTimeout>
  private pruneTimer?: ReturnType<typeof setInterval>
  /** DMs accepted from local clients, by id: a retried send is answered with the first result, not sent again */
  private readonly sent: BoundedMap<string, Promise<{ hlc: bigint, state: DmState, copies: number }>>
  /** DMs handed to local devices live, by id: a repeated hand-off is not shown twice */
  private readonly handed: BoundedSet<string>
  /**
   * DMs handed to a device here as mailbox deliveries, by user/id: an ack removes the mailbox copies of
   * these only, so acks of ids this node never handed out cost a lookup, not a round trip to every owner
   * (a device that acks on another node than the one that handed the DM over gets it again from the
   * mailbox there, drops it by id, and acks it there)
   */
  private readonly mailboxHanded: BoundedSet<string>
  /**
   * Mailbox copies removed here because the user's device acknowledged them, by user/id: a copy that
   * arrives after the delete (another owner's rebalance hand-off, or a sender's put, that read the
   * mailbox before the ack) is not stored again, so an acknowledged DM stays gone
   */
  private readonly acked: BoundedSet<string>
  /** callers waiting for presence to show a user on a node (mailbox entitlement) */
  private readonly presenceWaiters = new Set<() => void>()
  private readonly onPresence: (evt: CustomEvent<PresenceChange>) => void
  /** node → users whose mail could not be pushed to it: pushed again when the connection is back */
  private readonly pushRetry = new Map<string, Set<string>>()
  private readonly onConnect: (evt: CustomEvent<PeerId>) => void

  /** DM hand-offs to each peer share one pipelined stream */
  private readonly channels: ChannelPool<DmDeliver, DmResult>
  /** every DM's conversation history on the conversation's owners */
  readonly history: DmHistory

  constructor (init: DmInit, components: DmComponents) {
    this.init = init
    this.c = components
    const recent = { maxAgeMs: RECENT_DMS_MS, now: () => components.clock.now() }
    this.sent = new BoundedMap(RECENT_DMS, recent)
    this.handed = new BoundedSet(RECENT_DMS, recent)
    this.mailboxHanded = new BoundedSet(MAILBOX_HANDED, { maxAgeMs: MAILBOX_HANDED_MS, now: () => components.clock.now() })
    this.acked = new BoundedSet(MAILBOX_HANDED, { maxAgeMs: MAILBOX_HANDED_MS, now: () => components.clock.now() })
    this.rebalancer = new Debounced(components.supervisor, 'dm:rebalance', init.rebalanceDelayMs, async () => this.rebalance())
    this.channels = new ChannelPool(components.mesh, DM_PROTOCOL, { req: DmDeliver, res: DmResult }, { timeoutMs: init.requestTimeoutMs, maxBytes: 4096 })
    this.history = new DmHistory({
      replicas: init.replicas,
      requestTimeoutMs: init.requestTimeoutMs,
      maxPage: 500,
      handOffMax: 5000,
      entitled: async check => this.waitFor(check)
    }, components)
    this.onPresence = components.supervisor.wrap('dm:presence', (evt: CustomEvent<PresenceChange>) => {
      if (evt.detail.nodes.length > 0) this.scheduleRebalance()
      // a user with mail here just came online somewhere: hand the mail to that node now, instead of
      // relying on its attach-time collection (which may have run before this node's DMs were queued)
      for (const u of evt.detail.users) {
        if (u.presence != null && this.c.store.mailboxCount(u.userId) > 0) this.schedulePush(u.userId)
      }
      for (const wake of [...this.presenceWaiters]) wake()
    })
    // a partition can cut this node from the recipient's node while presence (relayed by a third peer)
    // still shows the recipient there: nothing else would push the mail again once the link is back
    this.onConnect = components.supervisor.wrap('dm:connect', (evt: CustomEvent<PeerId>) => {
      const users = this.pushRetry.get(evt.detail.toString())
      if (users == null) return
      this.pushRetry.delete(evt.detail.toString())
      for (const u of users) this.schedulePush(u)
    })
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.c.sync.mailbox = this
    this.c.sync.dmHistory = this.history
    this.c.presence.addEventListener('change', this.onPresence)
    this.c.mesh.addEventListener('peer:connect', this.onConnect)
    this.pruneTimer = this.c.supervisor.interval('dm:prune', () => { this.prune() }, this.init.pruneIntervalMs)
    this.pruneTimer.unref?.()
    // the same handler on a data link, one DM after another as on a stream
    this.c.sync.links?.handleRequest(LINK_DM, async (payload, from) => DmResult.encode(await this.receive(DmDeliver.decode(payload), from)), { ordered: true })
    await serve(this.c.mesh, DM_PROTOCOL, { req: DmDeliver, res: DmResult }, async (req, from) => this.receive(req, from), {
      maxBytes: this.init.maxEventBytes + 4096,
      timeoutMs: this.init.requestTimeoutMs,
      log: this.c.log
    })
  }

  /** a DM (or a receipt) to the node hosting its recipient: on the data link to it when one is open, else on the pipelined stream */
  private async deliverTo (node: string, req: Partial<DmDeliver>): Promise<DmResult> {
    const peer = nodePeerId(node)
    const link = this.c.sync.links?.get(peer)
    if (link != null) {
      this.c.sync.linkFrame('request')
      return DmResult.decode(await link.request(LINK_DM, DmDeliver.encode(req), this.init.requestTimeoutMs))
    }
    return await this.channels.call(peer, req)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.rebalancer.cancel()
    clearTimeout(this.pushTimer)
    clearInterval(this.pruneTimer)
    for (const wake of [...this.presenceWaiters]) wake()
    this.channels.close()
    this.c.presence.removeEventListener('change', this.onPresence)
    this.c.mesh.removeEventListener('peer:connect', this.onConnect)
    this.pushRetry.clear()
    if (this.c.sync.mailbox === this) this.c.sync.mailbox = undefined
    if (this.c.sync.dmHistory === this.history) this.c.sync.dmHistory = undefined
    await this.c.mesh.unhandle(DM_PROTOCOL)
  }

  /** the user's mailbox owners over the nodes presence considers up */
  owners (user: string): string[] {
    // the user's directory owners: a mailbox owner asked by the user's node finds the user's devices
    // in its own directory table, without asking anyone
    return directoryOwners(user, this.c.presence.replica.liveNodes(), this.init.replicas)
  }

  /**
   * Route a verified DM sent by a local device; resolves with where it went.
   * A DM whose id this node already accepted (a retry after a lost ack, or the
   * same bytes sent again) gets the first answer and is not delivered again.
   */
  async send (opened: OpenedEvent, fromDevice: string): Promise<{ hlc: bigint, state: DmState, copies: number }> {
    const previous = this.sent.get(opened.idHex)
    if (previous != null) {
      this.c.metrics.duplicates.inc()
      return previous
    }
    const hlc = this.c.hlc.now(this.c.clock.now())
    checkStamps(hlc, opened.ts, this.c.clock.now(), this.init.stamps)
    const result = this.route(opened, fromDevice, hlc)
    this.sent.set(opened.idHex, result)
    // a failed attempt may be retried with the same id
    result.catch(() => { if (this.sent.get(opened.idHex) === result) this.sent.delete(opened.idHex) })
    return result
  }

  private async route (opened: OpenedEvent, fromDevice: string, hlc: bigint): Promise<{ hlc: bigint, state: DmState, copies: number }> {
    const to = opened.to ?? ''
    const stored: MailboxEvent = { id: opened.id, hlc, origin: this.c.nodeId, event: opened.bytes, sender: opened.author }
    this.handed.add(opened.idHex)
    this.c.metrics.messagesIn.inc({ source: 'client', kind: 'dm' })
    // every node hosting a device of the recipient, or another device of the sender
    const targets = new Map<string, Set<string>>()
    const add = (node: string, user: string): void => {
      let set = targets.get(node)
      if (set == null) targets.set(node, set = new Set())
      set.add(user)
    }
    // the directory knows where both are (answered locally once a user is followed)
    const [toNodes, authorNodes] = await Promise.all([this.c.presence.locate(to), this.c.presence.locate(opened.author)])
    for (const n of toNodes) add(n, to)
    for (const n of authorNodes) add(n, opened.author)
    add(this.c.nodeId, to)
    add(this.c.nodeId, opened.author)
    /** a node that hosts a device of the recipient could not be reached */
    let missed = false
    // the conversation's history is written alongside the delivery; the ack waits for both. A node
    // the DM is handed to that is also one of the conversation's owners keeps its history copy from
    // the hand-off: one request to it, not two, and one check of the signature there
    const conversation = conversationId(opened.author, to)
    const handOffOwners = new Set(this.history.owners(conversation).filter(o => o !== this.c.nodeId && targets.has(o)))
    const kept = this.history.keep(opened, stored, handOffOwners)
    /** the history put to `node` alone, for a hand-off that did not carry the copy */
    const putTo = async (node: string): Promise<number> => this.history.keep(opened, stored, new Set(this.history.owners(conversation).filter(o => o !== node)))
    const keptByHandOff: Array<Promise<number>> = []
    const results = await Promise.all([...targets].map(async ([node, users]) => {
      if (node === this.c.nodeId) {
        let delivered = 0
        if (users.has(to)) delivered += this.c.deliver.user(to, stored, 'live')
        // the sender's own other devices get a copy; the sending device already has it
        if (to !== opened.author) this.c.deliver.user(opened.author, stored, 'live', fromDevice)
        return delivered
      }
      const keep = handOffOwners.has(node)
      try {
        const res = await this.deliverTo(node, { event: storedToWire(stored), users: [...users], keep })
        this.c.metrics.dms.inc({ outcome: 'forwarded' })
        // a node that did not keep it (one that does not know the flag) gets the history put after all
        if (keep) keptByHandOff.push(res.kept ? Promise.resolve(1) : putTo(node))
        return res.delivered
      } catch (err) {
        this.c.log('DM hand-off to %s failed - %s', node, (err as Error).message)
        if (users.has(to)) missed = true
        // its history copy did not come with it: the put, as to any other owner, without holding up the
        // ack for a second timeout when the node is unreachable
        if (keep) this.c.supervisor.track('dm:history', putTo(node))
        return 0
      }
    }))
    const delivered = results.reduce((a, b) => a + b, 0)
    const historyCopies = await kept + (await Promise.all(keptByHandOff)).reduce((a, b) => a + b, 0)
    if (historyCopies === 0) this.c.log('DM %s is in no history copy', opened.idHex)
    if (delivered > 0) {
      this.c.metrics.dms.inc({ outcome: 'delivered' })
      // a device of the recipient was not reached: the mailbox gets a copy too, and its owners push it
      // to that device's node as soon as they can (the devices that already have it drop it by id)
      if (missed) await this.enqueue(to, stored).catch(err => { this.c.log('mailbox copy for a missed device failed - %s', (err as Error).message) })
      return { hlc: stored.hlc, state: DmState.DELIVERED, copies: delivered }
    }
    const copies = await this.enqueue(to, stored)
    this.c.metrics.dms.inc({ outcome: 'queued' })
    return { hlc: stored.hlc, state: DmState.QUEUED, copies }
  }

  /** put a DM in the recipient's mailbox on its K owners; throws when none holds it */
  private async enqueue (user: string, e: MailboxEvent): Promise<number> {
    let full = false
    const results = await Promise.all(this.owners(user).map(async owner => {
      try {
        if (owner === this.c.nodeId) {
          this.putLocal(user, e)
        } else {
          await this.c.sync.call(owner, { mailboxPut: { user, events: [storedToWire(e)] } }, this.init.requestTimeoutMs, 'mailbox')
        }
        return 1
      } catch (err) {
        if (err instanceof MailboxFullError) full = true
        this.c.log('mailbox put on %s failed - %s', owner, (err as Error).message)
        return 0
      }
    }))
    const copies = results.reduce((a: number, b) => a + b, 0)
    if (copies === 0) {
      if (full) throw new MailboxFullError(`the recipient's mailbox is full (at most ${this.init.maxPerUser} messages, ${this.init.maxPerSender} from one sender)`)
      throw new UnavailableError('no mailbox replica could store the message; try again')
    }
    return copies
  }

  private putLocal (user: string, e: MailboxEvent): boolean {
    // held already: not a new message, whether or not the mailbox is full
    if (this.holds(user, e.id)) return false
    if (this.c.store.mailboxCount(user) >= this.init.maxPerUser) {
      throw new MailboxFullError(`mailbox of ${user} is full`)
    }
    if (this.c.store.mailboxSenderCount(user, e.sender) >= this.init.maxPerSender) {
      throw new MailboxFullError(`mailbox of ${user} holds as many messages from this sender as it takes`)
    }
    const fresh = this.c.store.mailboxPut(user, e)
    if (fresh) {
      // the sender's node may have had a stale view; if this node knows the user is online, deliver now
      if (this.c.presence.userNodes(user).length > 0) this.schedulePush(user)
    }
    return fresh
  }

  private schedulePush (user: string): void {
    this.pushQueue.add(user)
    this.pushTimer ??= this.c.supervisor.timeout('dm:push', () => {
      this.pushTimer = undefined
      const users = [...this.pushQueue]
      this.pushQueue.clear()
      for (const u of users) void this.push(u).catch(err => { this.c.log('mailbox push for %s failed - %s', u, (err as Error).message) })
    }, 10)
  }

  /**
   * As the user's directory owner: `node` registered a new or changed device of these users. Their
   * mail held here goes to that node now, so the node's attach needs no mailbox pull from the owners
   * (its own copy, when it holds one, the node delivers at the attach: see `collect`).
   */
  hosted (node: string, users: readonly string[]): void {
    if (!this.started || node === this.c.nodeId) return
    for (const user of users) {
      if (this.c.store.mailboxCount(user) === 0) continue
      this.c.supervisor.track('dm:hosted', this.push(user, [node]).catch(err => { this.c.log('mailbox push for %s to %s failed - %s', user, node, (err as Error).message) }))
    }
  }

  /** hand a user's queued DMs to the nodes their devices are attached to, as mailbox deliveries the client acks */
  private async push (user: string, nodes?: readonly string[]): Promise<void> {
    const events = this.c.store.mailboxList(user, this.init.maxPerUser)
    if (events.length === 0) return
    for (const node of nodes ?? await this.c.presence.locate(user)) {
      if (node === this.c.nodeId) {
        for (const e of events) {
          this.mailboxHanded.add(`${user}/${idToHex(e.id)}`)
          this.c.deliver.user(user, e, 'mailbox')
        }
        continue
      }
      try {
        for (const e of events) {
          await this.deliverTo(node, { event: storedToWire(e), users: [user], mailbox: true })
        }
      } catch (err) {
        let users = this.pushRetry.get(node)
        if (users == null && this.pushRetry.size < 10_000) this.pushRetry.set(node, users = new Set())
        if (users != null && users.size < 10_000) users.add(user)
        this.c.log('mailbox push for %s to %s failed, again when connected - %s', user, node, (err as Error).message)
      }
    }
  }

  /** /meshchat/dm: a DM for devices attached here (what the stream handler calls; public for tests and fuzzing) */
  async receive (req: DmDeliver, from: PeerId): Promise<Partial<DmResult>> {
    if (req.event == null) return { delivered: 0, error: { code: ErrorCode.BAD_FRAME, message: 'no event', retryAfterMs: 0 } }
    let opened: OpenedEvent
    try {
      opened = await this.c.opener.openStamped(req.event, this.c.clock.now(), 'dm')
      if (opened.kind !== 'dm' && !(opened.kind === 'receipt' && opened.to != null && !req.mailbox)) throw new BadFrameError('not a DM')
    } catch (err) {
      const e = asMeshchatError(err)
      this.c.log('DM from %p refused - %s', from, e.message)
      this.c.metrics.rejected.inc({ code: e.name })
      return { delivered: 0, error: { code: e.code, message: e.message, retryAfterMs: 0 } }
    }
    try {
      this.c.hlc.update(req.event.hlc, this.c.clock.now())
    } catch {
      // within the drift bound a moment ago (openPeerEvent checked it); our clock stays as it is
    }
    if (opened.kind === 'receipt') return { delivered: this.receiveReceipt(opened, req) }
    this.c.metrics.dms.inc({ outcome: 'received' })
    const conversation = conversationId(opened.author, opened.to ?? '')
    this.history.remember({ id: opened.id, hlc: req.event.hlc }, conversation)
    // the sender's node counts this node among the conversation's owners: its history copy, from here
    let kept = false
    if (req.keep && !req.mailbox) {
      try {
        this.history.keepLocal({ id: opened.id, hlc: req.event.hlc, origin: req.event.origin, event: req.event.event, author: opened.author, conversation, ts: opened.ts })
        kept = true
      } catch (err) {
        this.c.log('DM history copy of %s failed - %s', opened.idHex, (err as Error).message)
      }
    }
    // a live hand-off of a DM this node already handed to its devices is not shown twice; a mailbox
    // push is delivered again (the client acknowledges it, which is what removes the copies)
    if (!req.mailbox && !this.handed.add(opened.idHex)) {
      this.c.metrics.duplicates.inc()
      return { delivered: this.c.deliver.devices(opened.to ?? ''), kept }
    }
    const how = req.mailbox ? 'mailbox' : 'live'
    if (req.mailbox && opened.to != null && req.users.includes(opened.to)) this.mailboxHanded.add(`${opened.to}/${opened.idHex}`)
    let delivered = 0
    for (const user of new Set(req.users)) {
      // only the two parties of the DM may be addressed
      if (user === opened.to) delivered += this.c.deliver.user(user, req.event, how)
      else if (user === opened.author) this.c.deliver.user(user, req.event, how)
    }
    return { delivered, kept }
  }

  /**
   * A device of `user` attached: the mailbox copy this node holds goes to it now. The other owners'
   * copies come to this node without being asked: the attach registers the device with the user's
   * directory owners, who are the mailbox owners, and an owner that holds mail for a user hands it to
   * the node that registered the device (`hosted`). A registration that fails is retried until an
   * owner takes it, and the mail follows it then.
   */
  collect (user: string, deviceId: string): void {
    // most attaches find no mail here: the store's per-user counts answer that without a query
    if (this.c.store.mailboxCount(user) === 0) return
    this.c.supervisor.track('dm:collect', Promise.resolve().then(() => this.collectNow(user, deviceId)))
  }

  private collectNow (user: string, deviceId: string): number {
    const events = this.c.store.mailboxList(user, 1000)
    if (events.length === 0) return 0
    for (const e of events) {
      this.history.remember(e, conversationId(e.sender, user))
      this.mailboxHanded.add(`${user}/${idToHex(e.id)}`)
    }
    const n = this.c.deliver.device(deviceId, events, 'mailbox')
    if (n > 0) this.c.metrics.messagesOut.inc({ kind: 'mailbox' }, n)
    return events.length
  }

  /**
   * DMs handed live to a device of `user` that ended its session without acknowledging them: into the
   * user's mailbox, whose owners push them to wherever the user is attached now (or at the next
   * attach). Only DMs to `user` (not the copies of the user's own DMs sent to its other devices).
   */
  async requeue (user: string, events: StampedEvent[]): Promise<number> {
    const mail = await this.verified(user, events.map(e => ({ event: e.event as Uint8Array<ArrayBuffer>, hlc: e.hlc, origin: e.origin })))
    let n = 0
    for (const e of mail) {
      try {
        await this.enqueue(user, e)
        n++
      } catch (err) {
        this.c.log('requeue of an unacknowledged DM for %s failed - %s', user, (err as Error).message)
      }
    }
    if (n > 0) this.c.metrics.dms.inc({ outcome: 'requeued' }, n)
    return n
  }

  /** a device of `user` has the DMs: remove every copy */
  async ack (user: string, ids: Uint8Array[]): Promise<void> {
    ids = ids.filter(id => this.mailboxHanded.delete(`${user}/${idToHex(id)}`))
    if (ids.length === 0) return
    const owners = new Set([...this.owners(user), this.c.nodeId])
    await Promise.all([...owners].map(async owner => {
      try {
        if (owner === this.c.nodeId) this.removeAcked(user, ids)
        else await this.c.sync.call(owner, { mailboxDelete: { user, ids: ids as Array<Uint8Array<ArrayBuffer>> } }, this.init.requestTimeoutMs, 'mailbox')
      } catch (err) {
        // a copy left behind is delivered again later and dropped by id on the client
        this.c.log('mailbox delete on %s failed - %s', owner, (err as Error).message)
      }
    }))
  }

  /**
   * DMs to `user` from a peer, opened and checked; what does not verify is dropped, or with
   * `refuseForged` (a put the peer sent unasked) a forged signature refuses them all. A put's DMs
   * that this node holds in the user's mailbox, or saw acknowledged, are not checked again (when
   * their author's time is old enough to have left the opener's cache): the put keeps nothing of them
   */
  private async verified (user: string, events: WireStoredEvent[], refuseForged = false): Promise<MailboxEvent[]> {
    const held = refuseForged ? (id: Uint8Array) => this.holds(user, id) : undefined
    return this.c.opener.openMany(events, this.c.clock.now(), 'mailbox',
      (opened, e) => opened.kind === 'dm' && opened.to === user
        ? { id: opened.id, hlc: e.hlc, origin: e.origin, event: e.event, sender: opened.author }
        : undefined,
      err => {
        this.c.metrics.rejected.inc({ code: asMeshchatError(err).name })
        this.c.log('dropped a mailbox event - %s', err.message)
      }, { refuseForged, held })
  }

  /** whether a put of this DM to `user`'s mailbox would keep nothing: it is there, or was acknowledged */
  private holds (user: string, id: Uint8Array): boolean {
    return this.acked.has(`${user}/${idToHex(id)}`) || this.c.store.mailboxHolds(user, id)
  }

  /**
   * May `node` read or empty `user`'s mailbox? Only the nodes that own the
   * mailbox and the nodes hosting one of the user's devices may. A node that
   * just attached the user asks before its presence delta arrives, so the
   * answer waits a moment for presence to catch up.
   */
  private async entitled (user: string, node: string): Promise<boolean> {
    if (this.owners(user).includes(node)) return true
    // asked of the directory without following the user: a mailbox owner has no use for the user's
    // later changes. The user's registration may still be on its way: ask again a few times.
    const deadline = this.c.clock.now() + this.init.entitlementWaitMs
    for (let tries = 0; this.started; tries++) {
      if (await this.c.presence.hostsUser(user, node).catch(() => false)) return true
      if (this.owners(user).includes(node)) return true
      const left = deadline - this.c.clock.now()
      if (left <= 0 || tries >= ENTITLEMENT_TRIES) return false
      await new Promise<void>(resolve => setTimeout(resolve, Math.min(left, ENTITLEMENT_RETRY_MS)))
    }
    return false
  }

  /** true once `ok()` holds, waiting up to entitlementWaitMs for presence changes; false if it never does */
  private async waitFor (ok: () => boolean): Promise<boolean> {
    if (ok()) return true
    const deadline = this.c.clock.now() + this.init.entitlementWaitMs
    while (this.started && this.c.clock.now() < deadline) {
      await new Promise<void>(resolve => {
        const wake = (): void => {
          this.presenceWaiters.delete(wake)
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(wake, Math.max(1, deadline - this.c.clock.now()))
        this.presenceWaiters.add(wake)
      })
      if (ok()) return true
    }
    return false
  }

  private async requireEntitled (user: string, from: string): Promise<void> {
    if (!await this.entitled(user, from)) {
      this.c.metrics.rejected.inc({ code: 'NotEntitledError' })
      throw new NotEntitledError('only the nodes that own this mailbox or host its user may read or change it')
    }
  }

  // MailboxHandler (sync requests from other nodes)

  async pull (user: string, limit: number, from: string): Promise<MailboxEvent[]> {
    await this.requireEntitled(user, from)
    return this.c.store.mailboxList(user, limit)
  }

  async put (user: string, events: WireStoredEvent[]): Promise<number> {
    let n = 0
    for (const e of await this.verified(user, events, true)) {
      if (this.putLocal(user, e)) n++
    }
    return n
  }

  async remove (user: string, ids: Uint8Array[], from: string): Promise<number> {
    await this.requireEntitled(user, from)
    return this.removeAcked(user, ids)
  }

  /** delete acknowledged copies, and remember their ids so a late copy of one is not stored again */
  private removeAcked (user: string, ids: Uint8Array[]): number {
    for (const id of ids) this.acked.add(`${user}/${idToHex(id)}`)
    return this.c.store.mailboxDelete(user, ids)
  }

  /** a page of a DM conversation for a client whose user takes part in it (the gateway checked that) */
  async historyPage (conversation: string, q: PageQuery): Promise<DmPage> {
    return this.history.page(conversation, q)
  }

  /**
   * Relay a verified read receipt for a DM conversation from a local device:
   * to the devices of the other participant and the reader's other devices,
   * like a DM but never stored or queued. Resolves with how many devices got it.
   */
  async sendReceipt (opened: OpenedEvent, fromDevice: string): Promise<number> {
    const peer = opened.to ?? ''
    if (!this.handed.add(opened.idHex)) return 0
    const hlc = this.c.hlc.now(this.c.clock.now())
    const stamped = { event: opened.bytes, hlc, origin: this.c.nodeId }
    const targets = new Map<string, Set<string>>()
    const located = await Promise.all([this.c.presence.locate(peer), this.c.presence.locate(opened.author)])
    for (const [user, nodes] of [[peer, located[0]], [opened.author, located[1]]] as const) {
      for (const n of nodes) {
        if (n === this.c.nodeId) continue
        let set = targets.get(n)
        if (set == null) targets.set(n, set = new Set())
        set.add(user)
      }
    }
    let delivered = this.c.deliver.user(peer, stamped, 'live')
    if (peer !== opened.author) delivered += this.c.deliver.user(opened.author, stamped, 'live', fromDevice)
    const results = await Promise.all([...targets].map(async ([node, users]) => {
      try {
        return (await this.deliverTo(node, { event: { event: stamped.event as Uint8Array<ArrayBuffer>, hlc, origin: stamped.origin }, users: [...users] })).delivered
      } catch (err) {
        // ephemeral: a receipt that does not get through is not retried
        this.c.log('receipt hand-off to %s failed - %s', node, (err as Error).message)
        return 0
      }
    }))
    return results.reduce((a, b) => a + b, delivered)
  }

  /** a DM receipt handed over by the reader's node: to the two participants' devices here */
  private receiveReceipt (opened: OpenedEvent, req: DmDeliver): number {
    if (req.event == null || !this.handed.add(opened.idHex)) return 0
    let delivered = 0
    for (const user of new Set(req.users)) {
      if (user === opened.to || user === opened.author) delivered += this.c.deliver.user(user, req.event, 'live')
    }
    return delivered
  }

  private prune (): void {
    const n = this.c.store.mailboxPrune(this.init.maxAgeMs, this.c.clock.now())
    if (n > 0) this.c.log('dropped %d queued DMs past their age', n)
  }

  private scheduleRebalance (): void {
    if (this.started) this.rebalancer.schedule()
  }

  /**
   * After a membership change, copy every mailbox held here to its current
   * owners; a node that is no longer an owner drops its copy only once every
   * current owner has confirmed, so a change never loses a queued DM. DM
   * history is handed to its new owners at the same time (DmHistory.rebalance).
   */
  async rebalance (): Promise<void> {
    // DM history hand-offs run beside the mailboxes': a long history never holds up queued mail
    const history = this.history.rebalance().catch(err => { this.c.log('DM history rebalance failed - %s', (err as Error).message) })
    await this.rebalanceMailboxes()
    await history
  }

  private async rebalanceMailboxes (): Promise<void> {
    for (const user of this.c.store.mailboxUsers()) {
      const owners = this.owners(user)
      const key = owners.join(',')
      // unchanged owner set: every owner already got this mailbox at the last pass (or from the sender)
      if (this.lastOwners.get(user) === key) continue
      this.lastOwners.set(user, key)
      const events = this.c.store.mailboxList(user, this.init.maxPerUser)
      if (events.length === 0) continue
      let confirmed = 0
      const others = owners.filter(o => o !== this.c.nodeId)
      for (const owner of others) {
        try {
          await this.c.sync.call(owner, { mailboxPut: { user, events: events.map(storedToWire) } }, this.init.requestTimeoutMs)
          confirmed++
        } catch (err) {
          this.c.log('mailbox hand-off of %s to %s failed - %s', user, owner, (err as Error).message)
        }
      }
      if (confirmed < others.length) {
        // try again at the next pass
        this.lastOwners.delete(user)
      } else if (!owners.includes(this.c.nodeId) && confirmed > 0) {
        this.c.store.mailboxDelete(user, events.map(e => e.id))
        this.lastOwners.delete(user)
      }
    }
  }
}
