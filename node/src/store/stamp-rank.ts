/**
 * Which stamp of an event the store keeps when one id comes stamped twice. Pure; the store (every
 * put and backfill) and the rooms' memory of recent ids apply the same order.
 */

/**
 * How long after its author's time a stamp counts as prompt. An honest ingress node stamps an event
 * moments after its author signed it (clients set their clock by the node's at login), and a send
 * retried while its first try is unanswered follows within seconds of it; a message queued while
 * its author was offline is stamped later, by whichever node it reaches first.
 */
export const PROMPT_STAMP_MS = 120_000

/** the first stamp that is no longer prompt for an event of author time `ts` (ms) */
export function promptBelow (ts: number): bigint {
  const t = Number.isFinite(ts) && ts > 0 ? Math.floor(ts) : 0
  return BigInt(t + PROMPT_STAMP_MS + 1) << 16n
}

/**
 * Which of two stamps of one event (same id, same author time `ts`) every copy keeps, whatever
 * order they meet in: a total order on stamps, so all copies agree. A prompt stamp (within
 * PROMPT_STAMP_MS of the author's time) beats one that is not; between two of the same kind the
 * later wins, then the greater origin node id.
 *
 * The later one, because a resume replays from a client's cursor forward: a message that moves later
 * is replayed to a client that missed it, while one that moves earlier could land behind a cursor.
 * Prompt first, because the later rule alone let any node holding the mesh key take an event of the
 * last day that every node stores and send it again stamped now: every copy would move it to the end
 * of its room's history. Now a stamp can only move an event to within PROMPT_STAMP_MS of when its
 * author wrote it. An event moved earlier (a prompt stamp met a later one) is kept among the room's
 * late arrivals, which resumes offer behind the cursor.
 *
 * Returns true when `next` (hlc, origin) takes over from `held`.
 */
export function stampTakesOver (next: { hlc: bigint, origin: string }, held: { hlc: bigint, origin: string }, ts: number): boolean {
  const limit = promptBelow(ts)
  const nextPrompt = next.hlc < limit
  const heldPrompt = held.hlc < limit
  if (nextPrompt !== heldPrompt) return nextPrompt
  return next.hlc > held.hlc || (next.hlc === held.hlc && next.origin > held.origin)
}
