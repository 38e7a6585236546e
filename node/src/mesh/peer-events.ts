import { nodePeerId } from './peer-ids.js'
import { BadTimestampError, InvalidEventError } from '../../../client/src/protocol/errors.js'
import { describeStampProblem, stampProblem } from '../state/stamps.js'
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

/** the ingress node id an event carries must be a node id */
export function checkOrigin (origin: string): void {
  if (originCache.has(origin)) return
  let ok = origin.length <= 128
  if (ok) {
    try {
      nodePeerId(origin)
    } catch {
      ok = false
    }
  }
  if (!ok) throw new InvalidEventError('origin is not a node id')
  if (originCache.size > 10_000) originCache.clear()
  originCache.add(origin)
}

/** the clock rule as a typed error (BadTimestampError) */
export function checkStamps (hlc: bigint, authorTs: number, now: number, rule: StampRule): void {
  const problem = stampProblem(hlc, authorTs, now, rule)
  if (problem != null) throw new BadTimestampError(describeStampProblem(problem, rule))
}
