/**
 * DM history: every DM is kept, like a room message, in its conversation's
 * history on the conversation's K owners (rendezvous hashing of the
 * conversation id over live nodes), so a reload, another device or another
 * node finds it. Pages are read from every current owner and merged, so an
 * owner that died (or a new owner that has not been handed the history yet)
 * costs nothing; after membership changes, holders copy their conversations to
 * the new owners. Retention is the rooms' (MessageStore.prune).
 */
import { conversationId, conversationParticipants } from '../../../client/src/protocol/conversation.js'
import { NotEntitledError, asMeshchatError } from '../../../client/src/protocol/errors.js'
import { idToHex } from '../../../client/src/protocol/signing.js'
import { rendezvousOwners } from '../state/rendezvous.js'
import { BoundedMap } from '../state/bounded.js'
import { cursorToWire, storedToWire } from './sync.js'
import type { SyncService } from './sync.js'
import type { EventOpener } from './event-opener.js'
import type { PresenceService } from './presence-service.js'
import type { OpenedEvent } from '../../../client/src/protocol/signing.js'
import type { StampedEvent as WireStoredEvent } from '../../../client/src/protocol/pb/mesh.js'
import type { Authored, Cursor, DmPage, MessageStore, PageQuery, StoredDmEvent } from '../store/message-store.js'
import type { NodeMetrics } from '../metrics.js'
import type { Logger } from '@libp2p/interface'
import type { Clock } from '../components.js'

export interface DmHistoryInit {
  /** owners per conversation (DESIGN: K = 2) */
  replicas: number
  requestTimeoutMs: number
  /** most DMs one page holds (client and node-to-node) */
  maxPage: number
  /** most DMs of one conversation copied to a new owner at a rebalance */
  handOffMax: number
  /** waits for presence to show a participant on an asking node (see DmInit.entitlementWaitMs) */
  entitled: (check: () => boolean) => Promise<boolean>
}

export interface DmHistoryComponents {
  nodeId: string
  presence: PresenceService
  store: MessageStore
  sync: SyncService
  opener: EventOpener
  clock: Clock
  metrics: NodeMetrics
  log: Logger
}

/**
 * DMs (and their positions) this node handled recently, by id: what a read receipt may name. The
 * last KNOWN_DMS, or the last KNOWN_DMS_MS, whichever is shorter; an older one is looked up in the store.
 */
const KNOWN_DMS = 20_000
const KNOWN_DMS_MS = 10 * 60_000

/**
 * Merge pages of one query answered by several holders of the same history:
 * each holds a subset, and each answered with up to `limit` events nearest the
 * query's start, so the `limit` nearest of their union are exactly the page.
 * Deduped by id, oldest first.
 */
export function mergePages (pages: DmPage[], q: PageQuery): DmPage {
  const byId = new Map<string, StoredDmEvent>()
  for (const p of pages) for (const e of p.events) byId.set(idToHex(e.id), e)
  const key = (e: StoredDmEvent): string => e.hlc.toString(16).padStart(16, '0') + idToHex(e.id)
  const all = [...byId.values()].sort((a, b) => { const ka = key(a); const kb = key(b); return ka < kb ? -1 : ka > kb ? 1 : 0 })
  const limit = Math.max(1, q.limit)
  const events = q.after != null ? all.slice(0, limit) : all.slice(Math.max(0, all.length - limit))
  return { events, more: all.length > limit || pages.some(p => p.more) }
}

export class DmHistory {
  private readonly init: DmHistoryInit
  private readonly c: DmHistoryComponents
  /**
   * owner set each held conversation had when stored or at the last rebalance; bounded: a
   * conversation that fell out is treated as one found in the store after a restart
   */
  private readonly lastOwners = new BoundedMap<string, string>(100_000)
  /**
   * conversations' owners over the live node set they were computed for (`ownersOf`): one DM asks
   * for them four to six times, each a SHA-256 per live node
   */
  private readonly ownersMemo = new BoundedMap<string, string[]>(10_000)
  private ownersOf = ''
  /** DMs handed to or read through this node: id → conversation and stamp */
  private readonly known: BoundedMap<string, { conversation: string, hlc: bigint }>

  constructor (init: DmHistoryInit, components: DmHistoryComponents) {
    this.init = init
    this.c = components
    this.known = new BoundedMap(KNOWN_DMS, { maxAgeMs: KNOWN_DMS_MS, now: () => components.clock.now() })
  }

  /** a conversation's owners over the nodes presence considers up */
  owners (conversation: string): string[] {
    const live = this.c.presence.replica.liveNodes()
    const key = live.join(',')
    if (key !== this.ownersOf) {
      this.ownersMemo.clear()
      this.ownersOf = key
    }
    let owners = this.ownersMemo.get(conversation)
    if (owners == null) this.ownersMemo.set(conversation, owners = rendezvousOwners(conversation, live, this.init.replicas))
    return [...owners]
  }

  /** remember a DM this node handled, so a receipt naming it is recognised */
  remember (e: { id: Uint8Array, hlc: bigint }, conversation: string): void {
    this.known.set(idToHex(e.id), { conversation, hlc: e.hlc })
  }

  /** is `id` (stamped `hlc`) a DM of `conversation` that this node handled or holds? */
  knows (conversation: string, id: Uint8Array, hlc: bigint): boolean {
    const k = this.known.get(idToHex(id))
    if (k != null) return k.conversation === conversation && k.hlc === hlc
    const stored = this.c.store.dmGet(id)
    return stored != null && stored.conversation === conversation && stored.hlc === hlc
  }

  /**
   * `knows`, or else whether the conversation's owners hold that DM at that
   * stamp (a device showing DMs it fetched through another node, or before
   * this node restarted): one page read from just before the stamp.
   */
  async confirm (conversation: string, id: Uint8Array, hlc: bigint): Promise<boolean> {
    if (this.knows(conversation, id, hlc)) return true
    if (hlc <= 0n) return false
    await this.page(conversation, { after: { hlc: hlc - 1n, id: new Uint8Array(32) }, limit: 10 })
    return this.knows(conversation, id, hlc)
  }

  /** a conversation this node holds: what owner set it was stored under, so a later change is seen */
  private held (conversation: string): void {
    if (!this.lastOwners.has(conversation)) this.lastOwners.set(conversation, this.owners(conversation).join(','))
  }

  /**
   * Keep a DM accepted at this node in its conversation's history on every
   * owner; resolves with how many copies were stored (a failed owner is logged:
   * the DM itself was delivered or queued, and the other owner holds it).
   */
  async keep (opened: OpenedEvent, e: { id: Uint8Array, hlc: bigint, origin: string, event: Uint8Array }, skip?: ReadonlySet<string>): Promise<number> {
    const conversation = conversationId(opened.author, opened.to ?? '')
    const stored: Authored<StoredDmEvent> = { ...e, conversation, author: opened.author, ts: opened.ts }
    this.remember(stored, conversation)
    const results = await Promise.all(this.owners(conversation).filter(o => skip?.has(o) !== true).map(async owner => {
      try {
        if (owner === this.c.nodeId) this.keepLocal(stored)
        else await this.c.sync.call(owner, { dmHistoryPut: { events: [storedToWire(stored)] } }, this.init.requestTimeoutMs, 'mailbox')
        return 1
      } catch (err) {
        this.c.log('DM history copy on %s failed - %s', owner, (err as Error).message)
        return 0
      }
    }))
    return results.reduce((a: number, b) => a + b, 0)
  }

  /** this node's copy of a DM's conversation history: a DM this node opened and checked itself */
  keepLocal (e: Authored<StoredDmEvent>): void {
    this.c.store.dmPut(e)
    this.held(e.conversation)
  }

  /**
   * One page of a conversation for a client attached here (the caller checked
   * that its user takes part): every current owner's page merged with this
   * node's own copy. Owners that cannot be reached are skipped.
   */
  async page (conversation: string, q: PageQuery): Promise<DmPage> {
    const limit = Math.min(Math.max(1, q.limit), this.init.maxPage)
    const query = { before: q.before, after: q.after, limit }
    const pages: DmPage[] = [this.c.store.dmPage(conversation, query)]
    await Promise.all(this.owners(conversation).filter(o => o !== this.c.nodeId).map(async owner => {
      try {
        const res = await this.c.sync.call(owner, {
          dmHistory: { conversation, before: cursorToWire(query.before), after: cursorToWire(query.after), limit }
        }, this.init.requestTimeoutMs)
        pages.push({ events: await this.verified(conversation, res.history?.events ?? []), more: res.history?.more ?? false })
      } catch (err) {
        this.c.log('DM history of a conversation from %s failed - %s', owner, (err as Error).message)
      }
    }))
    const page = mergePages(pages, query)
    for (const e of page.events) this.remember(e, conversation)
    return page
  }

  /** sync: a page of this node's copy, for an owner or a node hosting a participant */
  async pull (conversationRaw: string, q: PageQuery, from: string): Promise<DmPage> {
    const [a, b] = conversationParticipants(conversationRaw)
    const conversation = a + ':' + b
    const ok = (): boolean => this.owners(conversation).includes(from) ||
      this.c.presence.userNodes(a).includes(from) || this.c.presence.userNodes(b).includes(from)
    if (!ok() && !await this.init.entitled(ok)) {
      this.c.metrics.rejected.inc({ code: 'NotEntitledError' })
      throw new NotEntitledError('only the owners of a conversation and the nodes hosting its participants may read it')
    }
    const limit = Math.min(Math.max(1, q.limit), this.init.maxPage)
    return this.c.store.dmPage(conversation, { before: q.before, after: q.after, limit })
  }

  /** sync: DMs handed over for this node's copy; every one is verified first, and a forged one refuses them all. Returns how many were new. */
  async put (events: WireStoredEvent[]): Promise<number> {
    const opened = await this.c.opener.openMany(events, this.c.clock.now(), 'dm',
      (o, e): Authored<StoredDmEvent> | undefined => o.kind === 'dm'
        ? { id: o.id, hlc: e.hlc, origin: e.origin, event: e.event, author: o.author, conversation: conversationId(o.author, o.to ?? ''), ts: o.ts }
        : undefined,
      err => {
        this.c.metrics.rejected.inc({ code: asMeshchatError(err).name })
        this.c.log('dropped a DM history event - %s', err.message)
      }, { refuseForged: true })
    const n = this.c.store.dmPutMany(opened)
    for (const e of opened) this.held(e.conversation)
    return n
  }

  /** DMs of `conversation` from a peer, opened and checked; what does not verify or belongs elsewhere is dropped */
  private async verified (conversation: string, events: WireStoredEvent[]): Promise<StoredDmEvent[]> {
    return this.c.opener.openMany(events, this.c.clock.now(), 'history',
      (o, e): StoredDmEvent | undefined => o.kind === 'dm' && conversationId(o.author, o.to ?? '') === conversation
        ? { id: o.id, hlc: e.hlc, origin: e.origin, event: e.event, author: o.author, conversation }
        : undefined,
      err => {
        this.c.metrics.rejected.inc({ code: asMeshchatError(err).name })
        this.c.log('dropped a DM history event - %s', err.message)
      })
  }

  /**
   * After a membership change, copy every conversation held here to owners
   * that were not owners when it was stored or at the last pass (newest
   * first, up to `handOffMax`). A conversation found in the store with no
   * such record (this node restarted) is handed over only when this node is
   * no longer one of its owners: otherwise the owner that stayed up does it.
   * This node keeps its copy; retention removes it in time.
   */
  async rebalance (): Promise<void> {
    for (const conversation of this.c.store.dmConversations()) {
      const owners = this.owners(conversation)
      const key = owners.join(',')
      const before = this.lastOwners.get(conversation)
      if (before === key) continue
      this.lastOwners.set(conversation, key)
      const previous = new Set(before?.split(',') ?? (owners.includes(this.c.nodeId) ? owners : []))
      const fresh = owners.filter(o => o !== this.c.nodeId && !previous.has(o))
      if (fresh.length === 0) continue
      let cursor: Cursor | undefined
      let sent = 0
      let failed = false
      while (sent < this.init.handOffMax && !failed) {
        const page = this.c.store.dmPage(conversation, { before: cursor, limit: Math.min(this.init.maxPage, this.init.handOffMax - sent) })
        if (page.events.length === 0) break
        for (const owner of fresh) {
          try {
            await this.c.sync.call(owner, { dmHistoryPut: { events: page.events.map(storedToWire) } }, this.init.requestTimeoutMs)
          } catch (err) {
            failed = true
            this.c.log('DM history hand-off to %s failed - %s', owner, (err as Error).message)
          }
        }
        sent += page.events.length
        const oldest = page.events[0]
        if (!page.more || oldest == null) break
        cursor = { hlc: oldest.hlc, id: oldest.id }
      }
      // try again at the next pass
      if (failed) this.lastOwners.delete(conversation)
    }
  }
}
