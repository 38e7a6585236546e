/** Messages between the harness and a load generator process (Node IPC, JSON). */
import type { HistogramData } from './histogram.js'
import type { SystemName } from './cluster.js'

export interface UserSpec {
  /** global user index (stable across systems) */
  key: number
  name: string
  /** the server this user attaches to */
  addr: string
  /** server id the user must end up on (meshchat node id); '' = wherever placement puts it */
  expect: string
  rooms: string[]
  /** reconnect after losing the node (default true); presence tests turn it off for users of a node they stop */
  reconnect?: boolean
}

export interface AttachArgs {
  system: SystemName
  users: UserSpec[]
  /** connects in flight at once in this generator */
  concurrency: number
  /** join each user's rooms after connecting */
  join: boolean
  /** wall-clock ms (performance.timeOrigin + now()) at which the first connects start: every generator at once */
  startAt?: number
}

export interface AttachResult {
  users: Array<{ key: number, userId: string, server: string, redirected: boolean }>
  /** wall-clock ms when the first connect started and when the last one had its welcome */
  connectStart: number
  connectEnd: number
  /** wall time from the first connect to the last, ms */
  connectWallMs: number
  /** per client connect time */
  connectMs: HistogramData
  joinWallMs: number
  /** clients moved back to their intended node after a placement redirect */
  repinned: number
  failed: number
  firstError?: string
  rssBefore: number
  rssAfter: number
}

export interface Sender {
  key: number
  /** room to send to, or ... */
  room?: string
  /** ... the recipient of a DM (user id for meshchat, user key for Socket.IO) */
  to?: string
  /** offset within one period, ms */
  phaseMs: number
}

export interface RunArgs {
  kind: 'room' | 'dm'
  ratePerUser: number
  /** wall-clock ms (performance.timeOrigin + now()) at which sending starts */
  startAt: number
  warmupMs: number
  /** sending stops at startAt + durationMs; only sends in [startAt + warmupMs, startAt + durationMs) are measured */
  durationMs: number
  /** wait after the last send for deliveries to arrive */
  drainMs: number
  msgBytes: number
  senders: Sender[]
  /** members per room (for expected deliveries) */
  roomSizes: Record<string, number>
}

export interface RunResult {
  sent: number
  sentTotal: number
  acked: number
  sendErrors: Record<string, number>
  expected: number
  /** deliveries of messages sent in the measured window, one per message and receiver */
  received: number
  /** further copies of a message a receiver already had (not in `received`) */
  duplicates: number
  /** meshchat: deliveries that came as a resume replay after a reconnect */
  replayed: number
  /** meshchat: clients that lost their node during the run and reconnected */
  reconnects: number
  latency: HistogramData
  /** how late the generator sent compared with the schedule (its own saturation) */
  lag: HistogramData
  /** send call to the server's acknowledgement (meshchat: stored, published and held by an archive replica) */
  ack: HistogramData
  cpuSec: number
}

export interface PresenceEvent { observer: number, type: 'join' | 'leave', userId: string, t: number }

export interface ResumeArgs {
  room: string
  fill: number
  missed: number
  writers: number
  writerAddrs: string[]
  readerFrom: string
  readerTo: string
  historyAddrs: string[]
  historyPageSizes: number[]
  /** history pages read per node and page size */
  historyPages: number
}

export interface ResumeResult {
  fillMs: number
  fillRate: number
  fillErrors: Record<string, number>
  readerGotFill: number
  missed: number
  /** go-online to last missed message, ms */
  resumeMs: number
  /** go-online to the welcome of the new node (replay is sent before it), ms */
  reattachMs: number
  gotMissed: number
  duplicates: number
  outOfOrder: number
  /** missed messages that came as replay (the rest came live after the resume) */
  replayed: number
  history: Array<{ node: number, limit: number, pages: number, messages: number, latency: HistogramData }>
}

export type Command =
  | { cmd: 'keys', args: { keys: number[] } }
  | { cmd: 'attach', args: AttachArgs }
  | { cmd: 'run', args: RunArgs }
  | { cmd: 'observe' }
  | { cmd: 'events' }
  | { cmd: 'join', args: { keys: number[], room: string } }
  | { cmd: 'close', args: { keys: number[] } }
  | { cmd: 'resume', args: ResumeArgs }
  | { cmd: 'detach' }
  | { cmd: 'stats' }
  /** messages of the last run's measured window that arrived after it reported; ends that window */
  | { cmd: 'late' }

export interface Request { id: number, command: Command }
export interface Response { id: number, ok: boolean, result?: unknown, error?: string }
