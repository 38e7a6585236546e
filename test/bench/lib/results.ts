/** The shape of one run's JSON (test/bench/results/<date>-<kind>.json). */
import type { AdapterMode } from './socketio-cluster.js'
import type { Machine } from './report.js'
import type { ProfileTable } from './profile.js'
import type { StepResult } from './system.js'
import type { AbuseConfig, AbuseReport } from '../scenarios/abuse.js'
import type { AttachRow } from '../scenarios/attach.js'
import type { CapacityRow } from '../scenarios/main.js'
import type { PresenceResult } from '../scenarios/presence.js'
import type { ConvergenceReport } from './presence-convergence.js'
import type { ResumeReport } from '../scenarios/resume.js'
import type { ScaleRow } from '../scenarios/scaleout.js'

export interface StepConfig { durationMs: number, warmupMs: number, drainMs: number, msgBytes: number }

export interface BenchConfig {
  users: number
  rooms: number
  generators: number
  roomRates: number[]
  dmRates: number[]
  localRates: number[]
  step: StepConfig
  /** clients attached to one server: wall time and connect latency */
  attachClients: number
  /** idle clients on one server: live heap and RSS per client */
  memoryClients: number
  /** idle clients on one server: RSS and event-loop delay */
  idleClients: number
  /** connects in flight per generator in those three */
  attachConcurrency: number
  /** load generators the attach section uses (the others take no users meanwhile); absent in runs before 2026-12-04, which used all of them */
  attachGenerators?: number
  /** timed bursts per attach row of the light edge and Socket.IO (the libp2p gateway's row takes one); absent in runs before 2026-12-06, which timed one */
  attachBursts?: number
  /**
   * warm-up bursts of the attach rows before the timed ones (each as many clients, attached and
   * dropped); absent in runs before the full run of 2026-12-06 06:27, which took one
   */
  attachWarmupBursts?: number
  /**
   * a warm-up step before each sweep and each scale-out workload, not measured: every system runs the
   * workload at `ratePerUser` for `ms`, so the measured steps run code V8 has optimized (see
   * docs/benchmarks.md); absent (none) in runs before the full run of 2026-12-06 06:27
   */
  jitWarmup?: { ms: number, ratePerUser: number }
  /** idle window (no clients, then all of them) of the attach step, ms; the memory and idle steps get idleLongMs */
  idleMs: number
  idleLongMs: number
  presence: Array<{ nodes: number, reps: number }>
  presenceChurn: number[]
  churnSeconds: number
  churnPopulation: number
  usersPerVictim: number
  /** presence-convergence.ts: join samples, and repetitions of the crash and of the partition heal */
  presenceConvergence?: { joins: number, reps: number }
  resume: { fill: number, missed: number, writers: number, historyPages: number }
  scale: { sizes: number[], workloads: Array<'spread' | 'room-local'>, users: number, rooms: number, rate: number, adapters: AdapterMode[], step: StepConfig }
  /** honest room chat with and without one abusive client (meshchat only) */
  abuse?: AbuseConfig
}

export interface Results {
  kind: 'quick' | 'full'
  machine: Machine
  options: { quick: boolean, only: string, adapter: AdapterMode, sections: string[], basePort: number, nodes: number, users: number, wsClient?: string, edge?: string, rates?: number[], profile?: boolean | 'perf' }
  config: BenchConfig
  startedAt: string
  seconds?: number
  sectionSeconds: Record<string, number>
  errors: Array<{ section: string, error: string }>
  /** clients attached to one server (meshchat over the light edge, over libp2p, Socket.IO) */
  attach: AttachRow[]
  /** idle clients on one server: memory per client */
  memory?: AttachRow[]
  /** many idle clients on one server: RSS, CPU and event-loop delay */
  idle?: AttachRow[]
  steps: StepResult[]
  capacity: CapacityRow[]
  presence: PresenceResult[]
  resume?: ResumeReport
  /** test/bench/presence-memory.ts (heap per presence entry), run as part of the suite */
  presenceMemory?: { entries: number, nodes: number, rooms: number, roomsPerUser: number, bytesPerEntry: number, buildMs: number }
  /** test/bench/presence-convergence.ts (join, crash and heal convergence from repeated runs), run as part of the suite */
  presenceConvergence?: ConvergenceReport
  /** test/bench/web-big-room.ts (the web app's main thread in a big room, in Chromium), run as part of the suite */
  webBigRoom?: { rows: Array<{ members: number, churnPerSec: number, busy: number, joinToCountMs: number }>, table: string, busyTable?: string, mentionTable?: string }
  scale: ScaleRow[]
  /** honest users' latency without and with one abusive client on their node (meshchat only) */
  abuse?: AbuseReport
  /** --profile / --perf: where the meshchat nodes' CPU went, per component, from their V8 CPU profiles or perf's on-CPU samples (profile.ts, perf.ts) */
  profile?: { dir: string, sampler?: 'v8' | 'perf', tables: ProfileTable[] }
}
