import { nodePeerId } from './peer-ids.js'
import { HANDOFF_PROTOCOL, SYNC_PROTOCOL } from '../../../client/src/protocol/ids.js'
import { validateRoom } from '../../../client/src/protocol/validate.js'
import { StoreEvent, SyncRequest, SyncResponse } from '../../../client/src/protocol/pb/mesh.js'
import { ChannelPool, FrameBudget, RpcError, request, serve } from './rpc.js'
import { OneWayPool, serveOneWay } from './oneway.js'
import type { DataLinks } from './data-link.js'
import { BadFrameError, InvalidQueryError, NotEntitledError, RateLimitedError, UnavailableError, UnsupportedError, asMeshchatError, errorFromCode } from '../../../client/src/protocol/errors.js'
import { fullFromWire, fullToWire } from './presence-wire.js'
import type { CursorMsg, StampedEvent as WireStoredEvent } from '../../../client/src/protocol/pb/mesh.js'
import type { MeshchatError } from '../../../client/src/protocol/errors.js'
import type { PresenceFullState } from '../state/presence.js'
import type { Cursor, Page, RangeDigest, StoredEvent } from '../store/message-store.js'
import type { Libp2p, Logger, PeerId, Startable } from '@libp2p/interface'

/** the largest stamp a store holds (SQLite integers are signed 64-bit) */
const MAX_STAMP = (1n << 63n) - 1n

export interface SyncInit {
  timeoutMs: number
  /** largest sync message (a presence full state of a node with 100k users is ~10 MB) */
  maxBytes?: number
  /** history events per page */
  historyPage?: number
  /**
   * What one peer may read from this node per second, in events: of room history, mailboxes and DM
   * history, as many as a page holds and one more per PAGE_BYTES_PER_EVENT of their bytes; a
   * presence pull, an entry per device; a digest, one per DIGEST_ROWS_PER_EVENT events it counts.
   * A read is admitted while neither the peer nor every peer together (PEERS_TOGETHER times this
   * rate, BURSTS_TOGETHER times this burst) is in debt, and charged to both: its page's limit when
   * admitted, what it read once answered. One that comes while either is in debt waits until
   * neither is (so a peer asking back to back on its streams is paced at this rate, and peers
   * asking at once at the shared one), or is refused (RATE_LIMITED, with the wait) when it would
   * wait more than READ_HOLD_MAX_MS, and an honest node then waits as told and asks again (`call`
   * does).
   */
  readsPerSec?: number
  /** burst of the same */
  readBurst?: number
}

/**
 * A digest counts and sums an index range: about 0.1 µs an event, against 3–7 µs to read an event
 * for a page (and as much again to encode and send it); so a digest is charged an event per this many
 */
const DIGEST_ROWS_PER_EVENT = 64
/** an event of a page is charged one, and one more for each this many bytes of it (an event may be 64 KiB) */
const PAGE_BYTES_PER_EVENT = 4096

function pageCost (events: WireStoredEvent[]): number {
  let bytes = 0
  for (const e of events) bytes += e.event.byteLength
  return events.length + Math.floor(bytes / PAGE_BYTES_PER_EVENT)
}

/**
 * Bytes of sync requests one peer may send per second, charged at each frame's length prefix before
 * it is read (`FrameBudget`): a request may be 64 MiB (a mailbox put of 1,000 DMs of 64 KiB), and
 * without a budget a keyed peer could hold that much of the node's memory on each of 64 streams. The
 * honest large ones (mailbox and DM history hand-offs when owners change) are rare, and `call` sends
 * one that is refused again after the wait; the per-message ones are small and mostly go on data
 * links (200 replications a second of the largest room events, 64 KiB, stay below the rate).
 */
const REQUEST_BYTES_PER_SEC = 32 * 1024 * 1024
const REQUEST_BURST_BYTES = 128 * 1024 * 1024

/**
 * A read that comes while its peer (or every peer together) is in debt is held until the debt is
 * paid, for at most this long in all (64 streams of full pages at the default rate are about 3.4 s
 * of debt), and refused with the wait if it would be held longer
 */
const READ_HOLD_MAX_MS = 5_000

/** an honest node told to wait (RATE_LIMITED) waits, in all, at most this long for one request before giving up */
const RATE_LIMITED_WAIT_MAX_MS = 30_000

/** Answers for mailbox requests (the DM service). */
export interface MailboxHandler {
  /** the oldest queued DMs of `user`, for node `from` (refused unless it owns the mailbox or hosts the user) */
  pull: (user: string, limit: number, from: string) => Promise<StoredEvent[]>
  /** store transferred DMs (the handler verifies them); returns how many were new */
  put: (user: string, events: WireStoredEvent[]) => Promise<number>
  /** remove delivered DMs, for node `from` (same rule as pull) */
  remove: (user: string, ids: Uint8Array[], from: string) => Promise<number>
}

/** Answers for DM history requests (the DM service's history). */
export interface DmHistoryHandler {
  /** a page of a conversation, for node `from` (refused unless it owns the conversation or hosts a participant) */
  pull: (conversation: string, q: { before?: Cursor, after?: Cursor, limit: number }, from: string) => Promise<{ events: StoredEvent[], more: boolean }>
  /** store handed-over DMs (the handler verifies them); returns how many were new */
  put: (events: WireStoredEvent[]) => Promise<number>
}

/** Answers for room requests (the archive service). */
export interface RoomHandler {
  localPage: (room: string, q: { before?: Cursor, after?: Cursor, limit: number }) => Page
  /** what this node holds of a room stamped in [from, to) (anti-entropy) */
  digest: (room: string, from: bigint, to: bigint) => RangeDigest
  /** store one fresh event handed over by its ingress node; resolves once it is stored */
  store: (room: string, event: WireStoredEvent) => Promise<boolean>
  /** resolves true once the event with this id (coming by gossip) is stored here, false if it does not come in time */
  confirm: (room: string, id: Uint8Array) => Promise<boolean>
  /** `from` holds these rooms and says this node is now one of their archive owners */
  offer: (from: string, rooms: string[]) => void
}

export interface SyncComponents {
  nodeId: string
  mesh: Libp2p
  log: Logger
  /** this node's own full presence state */
  presence: () => PresenceFullState
  /** a room event handed over one way that this node did not take (it does not verify, or is not for a room handled here) */
  onHandOffRefused?: (err: Error) => void
  /** plain TCP links to other nodes: fresh room events go on them when one is open (data-link.ts) */
  links?: DataLinks
  /** a room event sent on a data link: one way, or a replication request */
  onLinkFrame?: (kind: 'oneway' | 'request') => void
  /** a request refused for its peer's budget: of bytes (at its length prefix) or of reads */
  onRefused?: (err: MeshchatError) => void
}

/** what a data link carries: room hand-offs one way, store requests (of room events and DM history copies), DM deliveries (and beats: LINK_BEAT, 4, in beats.ts) */
export const LINK_HANDOFF = 1
export const LINK_STORE = 2
export const LINK_DM = 3

/** the largest one-way hand-off: a room event (at most 64 KiB of body) with its envelope */
const MAX_HANDOFF_BYTES = 1024 * 1024

/** the pipelined lanes of sync requests (see SyncService.channels) */
export type SyncLane = 'replication' | 'mailbox' | 'probe'

/** a refusal as a sync answer: the error's own wire code (client and node-to-node codes are one table) */
function refusal (err: unknown): Partial<SyncResponse> {
  const e = asMeshchatError(err)
  return { error: { code: e.code, message: e.message, retryAfterMs: e.retryAfterMs } }
}

/** a request that reads (and only reads) what this node holds: charged to its peer's read budget */
function isRead (req: Partial<SyncRequest>): boolean {
  return req.presence != null || req.history != null || req.digest != null || req.mailbox != null || req.dmHistory != null
}

/**
 * What a read is charged when it is admitted, before it is answered (its page's limit, as the node
 * clamps it): reads that come at once on many streams are admitted against what those before them
 * will cost, not all while the peer is still out of debt. The answer's cost settles it (`readCost`).
 */
function readEstimate (req: Partial<SyncRequest>, historyPage: number): number {
  const limit = req.history?.limit ?? req.dmHistory?.limit
  if (limit != null) return 1 + Math.min(Math.max(1, limit), historyPage)
  if (req.mailbox != null) return 1 + Math.min(Math.max(1, req.mailbox.limit), 1000)
  return 1
}

/** what an answer to a read cost, in events (SyncInit.readsPerSec): at least one, a refusal too */
function readCost (res: Partial<SyncResponse>): number {
  if (res.history != null) return 1 + pageCost(res.history.events)
  if (res.mailbox != null) return 1 + pageCost(res.mailbox.events)
  if (res.presence != null) return 1 + res.presence.entries.length
  if (res.digest != null) return 1 + Math.ceil(res.digest.count / DIGEST_ROWS_PER_EVENT)
  return 1
}

export function storedToWire (e: StoredEvent): WireStoredEvent {
  return { event: e.event as Uint8Array<ArrayBuffer>, hlc: e.hlc, origin: e.origin }
}

export function cursorToWire (c: Cursor | undefined): CursorMsg | undefined {
  return c == null ? undefined : { hlc: c.hlc, id: c.id as Uint8Array<ArrayBuffer> }
}

/** stamps are SQLite integers (signed 64-bit) */
const MAX_HLC = (1n << 63n) - 1n

/** a peer's cursor; InvalidQueryError for a stamp the store cannot hold */
function cursorFromWire (c: CursorMsg | undefined): Cursor | undefined {
  if (c == null) return undefined
  if (c.hlc > MAX_HLC) throw new InvalidQueryError('cursor stamp is out of range')
  return { hlc: c.hlc, id: c.id }
}

/**
 * /meshchat/sync/1.0.0: presence full-state pulls, room history pages,
 * replicated stores, archive hand-offs and mailbox transfer, one request and
 * one response per stream. Services plug their handlers in; requests for a
 * handler that is not there get an UNSUPPORTED answer.
 */
export class SyncService implements Startable {
  private readonly init: Required<SyncInit>
  private readonly c: SyncComponents
  private started = false
  mailbox?: MailboxHandler
  rooms?: RoomHandler
  dmHistory?: DmHistoryHandler
  /**
   * Long-lived pipelined streams per peer, in three lanes: replication (small,
   * frequent, latency-sensitive), mailboxes (a read may wait for presence to
   * show its user), so a mailbox request never holds up a replication, and the
   * anti-entropy digests (a round's requests to one peer go out together, on a
   * stream already open, instead of a stream each).
   */
  private readonly channels: Record<SyncLane, ChannelPool<SyncRequest, SyncResponse>>
  /** fresh room events to carrying nodes whose answer nobody waits for (`handOff`) */
  private readonly handOffs: OneWayPool<StoreEvent>
  private readonly reads: FrameBudget
  private readonly requestBytes = new FrameBudget('sync request bytes', REQUEST_BYTES_PER_SEC, REQUEST_BURST_BYTES)

  constructor (init: SyncInit, components: SyncComponents) {
    this.init = { maxBytes: 64 * 1024 * 1024, historyPage: 500, readsPerSec: 10_000, readBurst: 100_000, ...init }
    this.reads = new FrameBudget('reads', this.init.readsPerSec, this.init.readBurst, 'events')
    this.c = components
    const pool = (): ChannelPool<SyncRequest, SyncResponse> => new ChannelPool(components.mesh, SYNC_PROTOCOL, { req: SyncRequest, res: SyncResponse }, { timeoutMs: this.init.timeoutMs, maxBytes: this.init.maxBytes })
    this.channels = { replication: pool(), mailbox: pool(), probe: pool() }
    this.handOffs = new OneWayPool(components.mesh, HANDOFF_PROTOCOL, StoreEvent, { timeoutMs: this.init.timeoutMs })
  }

  get pageSize (): number {
    return this.init.historyPage
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await serve(this.c.mesh, SYNC_PROTOCOL, { req: SyncRequest, res: SyncResponse }, async (req, from) => this.answer(req, from), {
      maxBytes: this.init.maxBytes,
      timeoutMs: this.init.timeoutMs,
      log: this.c.log,
      // fresh room events and confirmations of them: each stands alone
      concurrent: req => req.store != null,
      admit: (bytes, from) => {
        try {
          this.requestBytes.charge(from.toString(), Date.now(), bytes)
        } catch (err) {
          this.c.onRefused?.(err as MeshchatError)
          throw err
        }
      },
      refused: err => refusal(err)
    })
    await serveOneWay(this.c.mesh, HANDOFF_PROTOCOL, StoreEvent, async msg => {
      const rooms = this.rooms
      if (rooms == null) throw new UnsupportedError('no room archive on this node')
      if (msg.event == null) throw new BadFrameError('hand-off without an event')
      await rooms.store(validateRoom(msg.room), msg.event)
    }, {
      maxBytes: MAX_HANDOFF_BYTES,
      timeoutMs: this.init.timeoutMs,
      log: this.c.log,
      onRefused: (err, from) => {
        this.c.log('a room event handed over by %p was refused - %s', from, err.message)
        this.c.onHandOffRefused?.(err)
      }
    })
    const links = this.c.links
    if (links != null) {
      // the same handlers as the libp2p streams': a refused hand-off is answered with a notice naming
      // it (the sender puts it on gossip), as a stream is reset
      links.handleOneWay(LINK_HANDOFF, async payload => {
        const rooms = this.rooms
        try {
          const msg = StoreEvent.decode(payload)
          if (rooms == null) throw new UnsupportedError('no room archive on this node')
          if (msg.event == null) throw new BadFrameError('hand-off without an event')
          await rooms.store(validateRoom(msg.room), msg.event)
        } catch (err) {
          this.c.onHandOffRefused?.(err as Error)
          throw err
        }
      })
      links.handleRequest(LINK_STORE, async (payload, from) => {
        const req = SyncRequest.decode(payload)
        // only what goes on a link: a store of a room event or of its id, a DM's history copy
        const res = req.store != null || req.dmHistoryPut != null ? await this.answer(req, from) : refusal(new UnsupportedError('a data link carries store requests only'))
        return SyncResponse.encode(res)
      })
    }
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const lane of Object.values(this.channels)) lane.close()
    this.handOffs.close()
    await this.c.mesh.unhandle(SYNC_PROTOCOL)
    await this.c.mesh.unhandle(HANDOFF_PROTOCOL)
  }

  /** answer one decoded sync request from `from` (what the stream handler calls; public for tests and fuzzing) */
  async answer (req: SyncRequest, from: PeerId): Promise<Partial<SyncResponse>> {
    if (!isRead(req)) return this.answerRequest(req, from)
    // a read: held while its peer, or every peer together, is in debt (its stream waits: a peer asking
    // back to back is paced, not answered a refusal at once to ask again), refused if it would be held
    // longer than READ_HOLD_MAX_MS in all; charged its page's limit when admitted, and what it read
    // once answered. Reads that come (or wake from a hold) together are admitted one after another,
    // each against the charges of those before it, so a peer's many streams are paced too
    const peer = from.toString()
    const held = Date.now()
    for (;;) {
      const now = Date.now()
      const wait = this.reads.waitMs(peer, now)
      if (wait <= 0) break
      const err = now - held + wait > READ_HOLD_MAX_MS ? this.reads.refusal(peer, now) : undefined
      if (err != null) {
        this.c.onRefused?.(err)
        return refusal(err)
      }
      await new Promise(resolve => setTimeout(resolve, wait))
      if (!this.started) return refusal(new UnavailableError('stopping'))
    }
    const estimate = readEstimate(req, this.init.historyPage)
    this.reads.debit(peer, Date.now(), estimate)
    const res = await this.answerRequest(req, from)
    this.reads.debit(peer, Date.now(), readCost(res) - estimate)
    return res
  }

  private async answerRequest (req: SyncRequest, from: PeerId): Promise<Partial<SyncResponse>> {
    // built only when needed: an error object captures a stack, too dear for every request
    const unsupported = (): Partial<SyncResponse> => refusal(new UnsupportedError('not handled by this node'))
    if (req.presence != null) {
      if (req.presence.node !== this.c.nodeId) {
        return refusal(new NotEntitledError('only a node answers for its own presence'))
      }
      return { presence: fullToWire(this.c.presence()) }
    }
    const rooms = this.rooms
    if (req.history != null || req.store != null || req.archive != null || req.digest != null) {
      if (rooms == null) return unsupported()
      try {
        if (req.history != null) {
          const h = req.history
          const limit = Math.min(Math.max(1, h.limit), this.init.historyPage)
          const page = rooms.localPage(validateRoom(h.room), { before: cursorFromWire(h.before), after: cursorFromWire(h.after), limit })
          return { history: { events: page.events.map(storedToWire), more: page.more } }
        }
        if (req.digest != null) {
          // stamps are stored as signed 64-bit integers: a bound above that means "to the end"
          const clamp = (v: bigint): bigint => v > MAX_STAMP ? MAX_STAMP : v
          const d = rooms.digest(validateRoom(req.digest.room), clamp(req.digest.from), clamp(req.digest.to))
          return { digest: { count: d.count, sum: d.sum } }
        }
        if (req.store != null) {
          const room = validateRoom(req.store.room)
          if (req.store.event != null) return { ok: { count: await rooms.store(room, req.store.event) ? 1 : 0 } }
          if (req.store.id.byteLength !== 32) throw new BadFrameError('store request without an event or its id')
          if (!await rooms.confirm(room, req.store.id)) throw new UnavailableError('not held here (yet): send the event')
          return { ok: { count: 0 } }
        }
        if (req.archive != null) {
          rooms.offer(from.toString(), req.archive.rooms.filter(r => { try { return validateRoom(r) === r } catch { return false } }))
          return { ok: { count: req.archive.rooms.length } }
        }
      } catch (err) {
        return refusal(err)
      }
    }
    const mb = this.mailbox
    if (req.mailbox != null || req.mailboxPut != null || req.mailboxDelete != null) {
      if (mb == null) return unsupported()
      try {
        if (req.mailbox != null) {
          const limit = Math.min(Math.max(1, req.mailbox.limit), 1000)
          const events = await mb.pull(req.mailbox.user, limit + 1, from.toString())
          return { mailbox: { events: events.slice(0, limit).map(storedToWire), more: events.length > limit } }
        }
        if (req.mailboxPut != null) {
          return { ok: { count: await mb.put(req.mailboxPut.user, req.mailboxPut.events) } }
        }
        if (req.mailboxDelete != null) {
          return { ok: { count: await mb.remove(req.mailboxDelete.user, req.mailboxDelete.ids, from.toString()) } }
        }
      } catch (err) {
        return refusal(err)
      }
    }
    const dh = this.dmHistory
    if (req.dmHistory != null || req.dmHistoryPut != null) {
      if (dh == null) return unsupported()
      try {
        if (req.dmHistory != null) {
          const q = req.dmHistory
          const limit = Math.min(Math.max(1, q.limit), this.init.historyPage)
          const page = await dh.pull(q.conversation, { before: cursorFromWire(q.before), after: cursorFromWire(q.after), limit }, from.toString())
          return { history: { events: page.events.map(storedToWire), more: page.more } }
        }
        if (req.dmHistoryPut != null) return { ok: { count: await dh.put(req.dmHistoryPut.events) } }
      } catch (err) {
        return refusal(err)
      }
    }
    return refusal(new UnsupportedError('empty sync request'))
  }

  /**
   * Send one sync request; an error answer is thrown as the typed error of its code.
   * `pipelined` requests share one long-lived stream per peer (small, frequent
   * ones: replication of fresh events); the others get a stream each, so a
   * large presence or history transfer never holds them up.
   */
  async call (peer: PeerId | string, req: Partial<SyncRequest>, timeoutMs?: number, pipelined: SyncLane | false = false): Promise<SyncResponse> {
    // a request the peer refuses for this node's budget there (it read or sent a lot lately: a
    // catch-up, a rebalance's hand-offs) is sent again once the wait it named is over, up to
    // RATE_LIMITED_WAIT_MAX_MS in all; so a hand-off is paced by the budget, not dropped
    for (let waited = 0; ;) {
      try {
        return await this.callOnce(peer, req, timeoutMs, pipelined)
      } catch (err) {
        if (!(err instanceof RateLimitedError) || !this.started) throw err
        const wait = Math.max(err.retryAfterMs, 50)
        if (waited + wait > RATE_LIMITED_WAIT_MAX_MS) throw err
        waited += wait
        await new Promise(resolve => setTimeout(resolve, wait))
      }
    }
  }

  private async callOnce (peer: PeerId | string, req: Partial<SyncRequest>, timeoutMs?: number, pipelined: SyncLane | false = false): Promise<SyncResponse> {
    const id = typeof peer === 'string' ? nodePeerId(peer) : peer
    if ((pipelined === 'replication' && req.store != null) || (pipelined === 'mailbox' && req.dmHistoryPut != null)) {
      const link = this.c.links?.get(id)
      if (link != null) {
        this.c.onLinkFrame?.('request')
        const res = SyncResponse.decode(await link.request(LINK_STORE, SyncRequest.encode(req), timeoutMs ?? this.init.timeoutMs))
        if (res.error != null) throw errorFromCode(res.error.code, `${id.toString()} refused: ${res.error.message}`, res.error.retryAfterMs)
        return res
      }
    }
    const res = pipelined !== false
      ? await this.channels[pipelined].call(id, req, timeoutMs ?? this.init.timeoutMs)
      : await request(this.c.mesh, id, SYNC_PROTOCOL, { req: SyncRequest, res: SyncResponse }, req, {
        timeoutMs: timeoutMs ?? this.init.timeoutMs,
        maxBytes: this.init.maxBytes
      })
    if (res.error != null) throw errorFromCode(res.error.code, `${id.toString()} refused: ${res.error.message}`, res.error.retryAfterMs)
    return res
  }

  /**
   * Hand a fresh room event to `peer` one way: no answer comes, so it confirms
   * nothing (see `OneWayPool`). Resolves once the event is on the stream; rejects
   * when no stream opens (`OneWayUnsupportedError`: the peer does not serve the
   * protocol), and then `onLost` is not called. `onLost` is called if the stream
   * breaks soon after.
   */
  async handOff (peer: PeerId, room: string, event: WireStoredEvent, onLost: () => void): Promise<void> {
    const msg = { room, event, id: new Uint8Array(0) }
    const link = this.c.links?.get(peer)
    if (link != null && link.send(LINK_HANDOFF, StoreEvent.encode(msg), onLost)) {
      this.c.onLinkFrame?.('oneway')
      return
    }
    await this.handOffs.send(peer, msg, onLost)
  }

  /** the node's data links (undefined when it has none) */
  get links (): DataLinks | undefined {
    return this.c.links
  }

  /** count a frame another service sent on a data link */
  linkFrame (kind: 'oneway' | 'request'): void {
    this.c.onLinkFrame?.(kind)
  }

  /** false for a peer known not to take one-way hand-offs (until it reconnects); a data link takes them */
  takesHandOffs (peer: PeerId | string): boolean {
    return this.c.links?.current(peer)?.writable === true || this.handOffs.supports(peer)
  }

  /** a node's full presence state, from that node */
  async pullPresence (node: string): Promise<PresenceFullState> {
    const res = await this.call(node, { presence: { node } })
    if (res.presence == null) throw new RpcError(`no presence state in answer from ${node}`)
    return fullFromWire(res.presence, node)
  }

  /** what `peer` holds of a room stamped in [from, to): a count and a sum, compared with this node's own */
  async digest (peer: string, room: string, from: bigint, to: bigint): Promise<RangeDigest> {
    const res = await this.call(peer, { digest: { room, from, to } }, undefined, 'probe')
    if (res.digest == null) throw new RpcError(`no digest in answer from ${peer}`)
    return { count: res.digest.count, sum: res.digest.sum }
  }

  /** one page of a room's history from `peer` (events are not verified here) */
  async historyPage (peer: string, room: string, q: { before?: Cursor, after?: Cursor, limit: number }): Promise<{ events: WireStoredEvent[], more: boolean }> {
    const res = await this.call(peer, { history: { room, before: cursorToWire(q.before), after: cursorToWire(q.after), limit: q.limit } })
    return { events: res.history?.events ?? [], more: res.history?.more ?? false }
  }
}
