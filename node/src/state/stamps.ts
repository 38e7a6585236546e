/**
 * The one clock rule for stamped events, applied on every path that stores or forwards one:
 * gossip, replication to a replica, backfill, remote history pages, DM hand-offs and mailboxes.
 *
 * An event carries two times. The ingress node's HLC stamp orders it; the author's own clock (`ts`,
 * inside the signature) is what the author claims. Both are bounded:
 *
 * - the stamp may be at most `maxDriftMs` ahead of the receiving node's wall clock. A stamp from the
 *   far future would stay the newest message of its room for ever, and a client that saw it would
 *   resume from it and miss everything sent in between;
 * - the author's time may be at most `maxDriftMs` ahead of the stamp and at most `maxAuthorLagMs`
 *   behind it. The stamp was taken when the ingress node accepted the event, so an honest author's
 *   clock sits close to it; the lag allows for a client that queued a message while offline and
 *   sent the same signed bytes later.
 *
 * Pure: no clock of its own, `now` is passed in.
 */

import { hlcPhysical } from './hlc.js'

export interface StampRule {
  /** how far a stamp (or an author time, relative to its stamp) may be ahead; default 60 s */
  maxDriftMs: number
  /** how far an author time may be behind its stamp; default 24 h */
  maxAuthorLagMs: number
}

export const DEFAULT_STAMP_RULE: StampRule = {
  // the same bound the HLC applies when it merges a remote stamp
  maxDriftMs: 60_000,
  maxAuthorLagMs: 24 * 3600_000
}

export type StampProblem = 'stamp-ahead' | 'author-ahead' | 'author-behind'

/** What is wrong with an event's times, or undefined when they are within the rule. */
export function stampProblem (hlc: bigint, authorTs: number, now: number, rule: StampRule): StampProblem | undefined {
  const stampMs = hlcPhysical(hlc)
  if (stampMs > now + rule.maxDriftMs) return 'stamp-ahead'
  if (authorTs > stampMs + rule.maxDriftMs) return 'author-ahead'
  if (authorTs < stampMs - rule.maxAuthorLagMs) return 'author-behind'
  return undefined
}

export function describeStampProblem (p: StampProblem, rule: StampRule): string {
  switch (p) {
    case 'stamp-ahead': return `stamped more than ${rule.maxDriftMs} ms in the future`
    case 'author-ahead': return `the author's clock is more than ${rule.maxDriftMs} ms ahead`
    case 'author-behind': return `the author's timestamp is more than ${rule.maxAuthorLagMs} ms old`
  }
}
