import { DecodedEvent, openDecoded } from '../../../client/src/protocol/signing.js'
import { InvalidEventError, asMeshchatError } from '../../../client/src/protocol/errors.js'
import { checkOrigin, checkStamps } from './peer-events.js'
import type { OpenedEvent } from '../../../client/src/protocol/signing.js'
import type { StampRule } from '../state/stamps.js'
import type { StampedEvent } from './peer-events.js'
import type { NodeMetrics } from '../metrics.js'

export interface EventOpenerInit {
  maxEventBytes: number
  stamps: StampRule
  /** verified events remembered by id (default 20,000: several minutes of a busy node's traffic) */
  cacheSize?: number
  /** and the memory they may take (default 32 MiB): 20,000 events at the size limit would be over 2 GB */
  cacheBytes?: number
  /**
   * whether this node stores an event with this id (checked when it was taken): asked for an event
   * a peer sent unasked (UNASKED) that is not in the cache and whose author's time is more than
   * HELD_AFTER_MS old, so that one this node holds is not checked again
   */
  held?: (id: Uint8Array) => boolean
}

/**
 * An event whose author's time is this much older than the node's clock may be one the node holds
 * already, fallen out of the cache: a keyed peer can send old events again, as gossip or hand-offs,
 * to make the node check their signatures (64–67 µs an event, against 24–31 µs to find it by id
 * and open it unchecked, among 200,000 stored: `test/bench/replay-cost.ts`). A fresh event is in the
 * cache if it came before, and is not looked up.
 */
export const HELD_AFTER_MS = 60_000

/**
 * The paths on which a peer sends events unasked, and so can send the same ones again and again.
 * What comes in answer to this node's own questions (backfill, history and mailbox pages) is mostly
 * what it lacks: a lookup there would cost 7–11 µs an event more for the ones it does not hold.
 * Mailbox puts are sent unasked too, but what they hold is looked up in the recipient's mailbox,
 * which the caller names (`open`'s `held`).
 */
const UNASKED: ReadonlySet<EventPath> = new Set<EventPath>(['gossip', 'replica', 'dm'])

/** what a remembered event costs: its bytes, what was decoded from them (text as UTF-16 at most twice its UTF-8), the object */
function cost (e: OpenedEvent): number {
  return 3 * e.bytes.byteLength + 512
}

/** a copy of a view that shares a larger buffer (a frame, a gossip batch), so the cache does not keep the whole buffer */
function own (b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice()
}

/** where an event came from, for the metrics */
export type EventPath = 'client' | 'gossip' | 'replica' | 'backfill' | 'history' | 'dm' | 'mailbox'

/**
 * Every signed event a node takes in, from a client or a peer, is opened here:
 * decoded, its author's signature verified, its content checked, and (for an
 * event from a peer) its stamps held to the clock rule. Each event is verified
 * once per node: the same event often arrives twice (a replica gets it over
 * the replication stream and then by gossip; a backfill page repeats what came
 * live), and its id (the hash of exactly the signed bytes) finds the earlier
 * result first. The signature checks are counted and timed by path.
 */
export class EventOpener {
  /** oldest first */
  private readonly cache = new Map<string, OpenedEvent>()
  private cachedBytes = 0
  private readonly maxEntries: number
  private readonly maxBytes: number

  constructor (private readonly init: EventOpenerInit, private readonly metrics?: NodeMetrics) {
    this.maxEntries = init.cacheSize ?? 20_000
    this.maxBytes = init.cacheBytes ?? 32 * 1024 * 1024
  }

  /** what the cache holds, in events and in the bytes `cost` counts */
  get cached (): { events: number, bytes: number } {
    return { events: this.cache.size, bytes: this.cachedBytes }
  }

  private remember (opened: OpenedEvent): void {
    if (this.cache.has(opened.idHex)) return
    const kept: OpenedEvent = { ...opened, bytes: own(opened.bytes) }
    if (opened.read != null) kept.read = { ...opened.read, id: own(opened.read.id) }
    const c = cost(kept)
    if (c > this.maxBytes || this.maxEntries < 1) return
    for (const [id, old] of this.cache) {
      if (this.cache.size < this.maxEntries && this.cachedBytes + c <= this.maxBytes) break
      this.cache.delete(id)
      this.cachedBytes -= cost(old)
    }
    this.cache.set(kept.idHex, kept)
    this.cachedBytes += c
  }

  /**
   * Open signed event bytes, or an event already decoded (decoded once per node: the id for the cache
   * and the content for the check come from the same decode); throws the typed error of the first problem.
   * `held` asks where this path keeps what it takes (a mailbox put: that user's mailbox) in place of
   * the node's store, which unasked paths are looked up in
   */
  async open (input: Uint8Array | DecodedEvent, path: EventPath, held?: (id: Uint8Array) => boolean): Promise<OpenedEvent> {
    const opts = { maxEventBytes: this.init.maxEventBytes }
    let decoded: DecodedEvent
    try {
      decoded = input instanceof Uint8Array ? DecodedEvent.from(input, opts) : input
    } catch (err) {
      this.metrics?.signatureChecks.inc({ path, result: asMeshchatError(err).name })
      throw err
    }
    const hit = this.cache.get(decoded.idHex)
    if (hit != null) {
      this.metrics?.signatureChecks.inc({ path, result: 'cached' })
      return hit
    }
    const started = performance.now()
    try {
      const lookup = held ?? (UNASKED.has(path) ? this.init.held : undefined)
      if (lookup != null && Date.now() - Number(decoded.event.ts) > HELD_AFTER_MS && lookup(decoded.id)) {
        const opened = await openDecoded(decoded, { ...opts, heldBefore: true })
        this.remember(opened)
        this.metrics?.signatureChecks.inc({ path, result: 'held' })
        return opened
      }
      const opened = await openDecoded(decoded, { ...opts, checkAgain: true })
      this.remember(opened)
      this.metrics?.signatureChecks.inc({ path, result: 'valid' })
      return opened
    } catch (err) {
      this.metrics?.signatureChecks.inc({ path, result: asMeshchatError(err).name })
      throw err
    } finally {
      this.metrics?.signatureCheckSeconds.inc({ path }, (performance.now() - started) / 1000)
    }
  }

  /**
   * Open an event another node handed over: its origin must be a node id and
   * its stamps within the clock rule. A node is trusted to relay, not to
   * write: whatever it sends is checked as strictly as what a client sends.
   */
  async openStamped (e: StampedEvent, now: number, path: EventPath, held?: (id: Uint8Array) => boolean): Promise<OpenedEvent> {
    checkOrigin(e.origin)
    const opened = await this.open(e.event, path, held)
    checkStamps(e.hlc, opened.ts, now, this.init.stamps)
    return opened
  }

  /**
   * Open a batch from a peer (a history page, a mailbox transfer), keeping the
   * events that open and that `accept` maps to something; the rest go to
   * `onDrop`: a peer is a source, not an authority. With `refuseForged`, the
   * first event whose signature does not verify ends the batch with its error
   * (after `onDrop`), and nothing of it is kept: for what a peer sends
   * unasked, where one forged event shows the whole batch for a lie (an
   * honest node hands on only events it checked), and checking the rest would
   * cost a signature check each for nothing. `held` as for `open`.
   */
  async openMany<T> (
    events: StampedEvent[],
    now: number,
    path: EventPath,
    accept: (opened: OpenedEvent, e: StampedEvent) => T | undefined,
    onDrop: (err: Error) => void,
    opts: { refuseForged?: boolean, held?: (id: Uint8Array) => boolean } = {}
  ): Promise<T[]> {
    const out: T[] = []
    for (const e of events) {
      try {
        const kept = accept(await this.openStamped(e, now, path, opts.held), e)
        if (kept === undefined) throw new InvalidEventError('event is not what was asked for')
        out.push(kept)
      } catch (err) {
        onDrop(err as Error)
        if (opts.refuseForged === true && (err as Error).name === 'BadSignatureError') throw err
      }
    }
    return out
  }
}
