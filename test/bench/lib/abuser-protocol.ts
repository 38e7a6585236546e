/** Messages between the harness and the abusive client process (test/bench/abuser.ts; Node IPC, JSON). */

/** what the abuser sends, one entry per kind of request it makes */
export type AbuseKind = 'room' | 'badSig' | 'dm' | 'typing' | 'join' | 'leave' | 'history' | 'watch' | 'status' | 'ping' | 'dmAck'
export const ABUSE_KINDS: AbuseKind[] = ['room', 'badSig', 'dm', 'typing', 'join', 'leave', 'history', 'watch', 'status', 'ping', 'dmAck']

export interface AbuseArgs {
  /** gateway multiaddr of the node under attack */
  addr: string
  /** the room it stays in, sends to, types in and reads history of (the busiest room on that node) */
  room: string
  /** rooms it joins and leaves in turn */
  churnRooms: string[]
  /** honest users' ids: DM recipients and the start of its watch list */
  honest: string[]
  /**
   * the user's sessions (each its own connection, same key), and the kinds each sends: the node handles a
   * session's requests one at a time, so kinds that wait on the mesh (DMs, acks) get sessions of their own
   */
  sessions: AbuseKind[][]
  /** requests per second of each kind (frames; a watch list of `watchSize` users is one frame) */
  rates: Record<AbuseKind, number>
  /** frames of each kind sent at once when a session opens (its budgets' bursts), before the steady rates */
  bursts: Record<AbuseKind, number>
  /** requests sent but not yet answered at most; past it, due requests are counted as held, not sent */
  maxInFlight: number
  /** users named in each watch list */
  watchSize: number
  /** history page size and join backlog asked for */
  historyLimit: number
  /** ids per dmAck frame */
  dmAckIds: number
  msgBytes: number
}

export interface FillArgs {
  addr: string
  room: string
  /** the room should hold at least this many messages */
  atLeast: number
  /** users filling it at once (each at most `perSec`) */
  writers: number
  perSec: number
}

export interface KindCounts {
  /** frames sent */
  sent: number
  /** answered with success (ok, publishAck, pong, history page, replayDone) */
  accepted: number
  /** typing notices the node acknowledged without passing on (over the typing budget: coalesced away) */
  dropped: number
  /** answered with an error frame, by error name (RATE_LIMITED, BAD_SIGNATURE, ...) */
  refused: Record<string, number>
  /** still unanswered when the session ended (or the abuser stopped) */
  unanswered: number
  /** not sent: the node had not yet read this many of the session's requests (it handles them one at a time) */
  held: number
  /** send to reply, ms, of the answered ones */
  replyP50Ms: number
  replyP99Ms: number
  replyMaxMs: number
  /**
   * the node's time on each request: from the previous reply (or the send, if later) to this reply;
   * the node handles a session's requests one at a time, in order
   */
  serviceP50Ms: number
  serviceP99Ms: number
  serviceSumMs: number
}

export interface AbuseStats {
  /** wall seconds from start to stop */
  seconds: number
  byKind: Record<AbuseKind, KindCounts>
  /** sessions the node ended, by the code of its last (fatal) error frame, or "ended" without one */
  disconnects: Record<string, number>
  /** connect or hello attempts that failed (and were retried) */
  connectFailures: number
  sessions: number
  /** frames the node pushed unasked (room deliveries, rosters, presence) */
  pushed: number
  cpuSec: number
}

export type AbuseCommand =
  | { cmd: 'fill', args: FillArgs }
  | { cmd: 'start', args: AbuseArgs }
  /** stop at wall-clock `at` (performance.timeOrigin + now(); now if absent) and report */
  | { cmd: 'stop', args: { at?: number } }

export interface AbuseRequest { id: number, command: AbuseCommand }
export interface AbuseResponse { id: number, ok: boolean, result?: unknown, error?: string }

/** frames the abuser sent, all kinds */
export function sent (a: AbuseStats): number {
  return Object.values(a.byKind).reduce((n, c) => n + c.sent, 0)
}

/** refused (error frame) or dropped (typing over budget), as a share of the requests sent */
export function refusedPct (a: AbuseStats): number {
  const total = sent(a)
  const refused = Object.values(a.byKind).reduce((n, c) => n + c.dropped + Object.values(c.refused).reduce((m, v) => m + v, 0), 0)
  return total === 0 ? 0 : 100 * refused / total
}

export function disconnects (a: AbuseStats): number {
  return Object.values(a.disconnects).reduce((n, v) => n + v, 0)
}
