import { peerIdFromString } from '@libp2p/peer-id'
import { openEvent } from '../../../client/src/protocol/signing.js'
import { BadTimestampError, InvalidEventError } from '../../../client/src/protocol/errors.js'
import { describeStampProblem, stampProblem } from '../state/stamps.js'
import type { OpenedEvent } from '../../../client/src/protocol/signing.js'
import type { StampRule } from '../state/stamps.js'

/** What a node checks on every signed event it takes from another node. */
export interface PeerEventRules {
  maxEventBytes: number
  stamps: StampRule
}

/** A stamped event as nodes hand it to each other (gossip envelope, replication, backfill, DM, mailbox). */
export interface StampedEvent {
  event: Uint8Array
  hlc: bigint
  origin: string
}

const originCache = new Set<string>()

function checkOrigin (origin: string): void {
  if (originCache.has(origin)) return
  let ok = origin.length <= 128
  if (ok) {
    try {
      peerIdFromString(origin)
    } catch {
      ok = false
    }
  }
  if (!ok) throw new InvalidEventError('origin is not a node id')
  if (originCache.size > 10_000) originCache.clear()
  originCache.add(origin)
}

/**
 * Open an event another node handed over: decode, verify the author's
 * signature, and apply the clock rule to its stamp and author time. A node is
 * trusted to relay, not to write: whatever it sends is checked as strictly as
 * what a client sends. Throws the typed error of the first problem found.
 */
export async function openPeerEvent (e: StampedEvent, rules: PeerEventRules, now: number): Promise<OpenedEvent> {
  checkOrigin(e.origin)
  const opened = await openEvent(e.event, { maxEventBytes: rules.maxEventBytes })
  checkStamps(e.hlc, opened.ts, now, rules.stamps)
  return opened
}

/** the clock rule as a typed error (BadTimestampError) */
export function checkStamps (hlc: bigint, authorTs: number, now: number, rule: StampRule): void {
  const problem = stampProblem(hlc, authorTs, now, rule)
  if (problem != null) throw new BadTimestampError(describeStampProblem(problem, rule))
}

/**
 * Open a batch of events from a peer (a history page, a mailbox transfer),
 * keeping those that open and that `accept` maps to something; the rest are
 * reported to `onDrop` and left out: a peer is a source, not an authority.
 */
export async function openPeerEvents<T> (
  events: StampedEvent[],
  rules: PeerEventRules,
  now: number,
  accept: (opened: OpenedEvent, e: StampedEvent) => T | undefined,
  onDrop: (err: Error) => void
): Promise<T[]> {
  const out: T[] = []
  for (const e of events) {
    try {
      const kept = accept(await openPeerEvent(e, rules, now), e)
      if (kept === undefined) throw new InvalidEventError('event is not what was asked for')
      out.push(kept)
    } catch (err) {
      onDrop(err as Error)
    }
  }
  return out
}
