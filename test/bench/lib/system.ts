/**
 * One system under test during a run: its cluster, its load generators, the users they hold, and
 * the measurement of one workload step (a rate, a duration) as a StepResult.
 */
import { delta } from './cluster.js'
import { Histogram, summarize } from './histogram.js'
import { LoadGen } from './loadgen-client.js'
import { machineBusySec, now, sleep } from './procs.js'
import { dmPartner } from './workload.js'
import type { Cluster, ServerDelta, SystemName } from './cluster.js'
import type { HistogramData } from './histogram.js'
import type { AttachResult, RunResult, Sender, UserSpec } from './loadgen-protocol.js'
import type { ProcRegistry } from './procs.js'
import type { Placement } from './workload.js'

export interface StepOptions {
  kind: 'room' | 'dm'
  ratePerUser: number
  durationMs: number
  warmupMs: number
  drainMs: number
  msgBytes: number
  /** users that send (default: all) */
  senders?: number
  /** called once the step's start time (wall clock, as `now()`) is fixed, before anything is sent */
  onStart?: (startAt: number) => void
}

export interface ServerRow {
  name: string
  role: string
  cpuSec: number
  /** CPU seconds per second of sending */
  cpuUtil: number
  peakRssMiB: number
  /** socket bytes read during the step, by peer kind */
  bytesInClient: number
  bytesInPeer: number
  bytesOutClient: number
  bytesOutPeer: number
  /** messages this process received: from its clients, and from other servers (or Redis) */
  msgsInClient: number
  msgsInPeer: number
  counters: Record<string, number>
}

export interface StepResult {
  system: SystemName
  label: string
  workload: string
  kind: 'room' | 'dm'
  servers: number
  users: number
  ratePerUser: number
  /** messages per second offered by all senders */
  offered: number
  measuredSeconds: number
  /** seconds of sending: per-second rates of the per-server counters (which also include the drain) use this */
  counterSeconds: number
  sent: number
  acked: number
  expected: number
  received: number
  /** copies of a message a receiver already had (not counted in `received`) */
  duplicates: number
  /** meshchat: deliveries that came as a resume replay, and clients that reconnected during the step */
  replayed: number
  reconnects: number
  /** deliveries per second (received in the window / window length) */
  deliveredPerSec: number
  /** messages of the measured window not received by the end of the drain window, % */
  lossPct: number
  /** of those, how many arrived later, once the step settled (the system had fallen behind) */
  lateAfterDrain?: number
  /** never received, even after the step settled, % */
  lostPct?: number
  sendErrors: Record<string, number>
  latency: ReturnType<typeof summarize>
  /** the same latencies as histogram buckets, so steps can be pooled */
  latencyData?: HistogramData
  /** send call to the server's ack */
  ackLatency: ReturnType<typeof summarize>
  genLagP99: number
  genCpuSec: number
  serverCpuSec: number
  /**
   * CPU (in cores) the machine spent on anything but this step's servers, generators and harness:
   * other programs sharing the machine, and the other system's idle cluster
   */
  otherCores: number
  /** CPU (cores) of all server processes with the same users attached and nobody sending, measured before the sweep */
  idleCores?: number
  /** time after the step until every send was answered and the servers were quiet again */
  settleMs: number
  /**
   * server CPU (every server process: nodes + bootstrap, or Socket.IO servers + Redis) per message
   * delivered to a client, µs: CPU seconds per second of sending / deliveries per second
   */
  usPerDelivery: number
  /** the same less the CPU the attached users cost with nobody sending (idleCores), µs */
  usPerDeliveryNet?: number
  /** meshchat only: the nodes' own mesh-hop latency (ingress stamp to hand-off to local clients), from /metrics buckets */
  nodeHop?: { count: number, p50: number, p99: number }
  serverPeakRssMiB: number
  perServer: ServerRow[]
  /**
   * the measured window (after the warm-up, to the end of sending) on CLOCK_MONOTONIC, µs: the
   * clock of process.hrtime and of V8 CPU profiles, so `--profile` can sum the nodes' samples inside it
   */
  profileWindow?: { fromUs: number, toUs: number }
  /** the idle window measured before the sweep this step opens (attached users, nobody sending) */
  idleProfileWindow?: { fromUs: number, toUs: number }
}

const MiB = 1024 * 1024

export class SystemUnderTest {
  readonly cluster: Cluster
  readonly gens: LoadGen[]
  /** user key → attach result */
  readonly attached = new Map<number, { userId: string, server: string, gen: number }>()
  placement?: Placement
  lastAttach: AttachResult[] = []
  /**
   * how many of the generators (the first ones) take users; all unless a section asks for fewer
   * (`useGenerators`). Users are spread over them by key.
   */
  private activeGens: number

  constructor (reg: ProcRegistry, cluster: Cluster, generators: number) {
    this.cluster = cluster
    this.gens = Array.from({ length: generators }, (_, i) => new LoadGen(reg, `${cluster.system}-gen${i}`))
    this.activeGens = this.gens.length
  }

  /**
   * Put users on the first `n` generators only (the others get none), or on all of them again with
   * no argument. Only while nobody is attached: a user's generator follows from its key.
   */
  useGenerators (n?: number): void {
    if (this.attached.size > 0) throw new Error('useGenerators: users are attached')
    this.activeGens = Math.max(1, Math.min(this.gens.length, n ?? this.gens.length))
  }

  /** generators that take users now */
  get generatorsInUse (): number {
    return this.activeGens
  }

  get system (): SystemName {
    return this.cluster.system
  }

  /** generator of a user key */
  genOf (key: number): number {
    return key % this.activeGens
  }

  specs (p: Placement, pin: boolean): UserSpec[] {
    return p.seats.map(s => ({
      key: s.key,
      name: `user${s.key}`,
      addr: this.cluster.clientAddr(s.server),
      expect: pin ? this.cluster.serverId(s.server) : '',
      rooms: s.rooms
    }))
  }

  /**
   * make the Ed25519 keys of every seat of `p` in its generator, for the users that have none yet
   * (meshchat; a no-op for Socket.IO): an attach after it times no key generation, and neither does
   * a reading of the generators' CPU taken after it
   */
  async makeKeys (p: Placement): Promise<void> {
    if (this.system !== 'meshchat') return
    const seats = p.seats.map(s => s.key)
    await Promise.all(this.gens.map(async (g, i) => g.keys(seats.filter(k => this.genOf(k) === i))))
  }

  /**
   * attach every seat of `p` (pinned to its server) and join its rooms. Users' keys are made first;
   * then every generator starts connecting at the same moment. `wallMs` is from that moment to the
   * last join, `connectWallMs` to the last welcome (first connect to last welcome over all generators).
   */
  async attach (p: Placement, opts: { concurrency?: number, join?: boolean, pin?: boolean, allowFailures?: boolean } = {}): Promise<{ wallMs: number, connectWallMs: number, failed: number, results: AttachResult[] }> {
    this.placement = p
    const specs = this.specs(p, opts.pin ?? true)
    const byGen = this.gens.map((_, i) => specs.filter(s => this.genOf(s.key) === i))
    await this.makeKeys(p)
    const t0 = now() + 50
    const results = await Promise.all(this.gens.map(async (g, i) => g.attach({
      system: this.system,
      users: byGen[i] ?? [],
      concurrency: opts.concurrency ?? 25,
      join: opts.join ?? true,
      startAt: t0
    })))
    const wallMs = now() - t0
    const ran = results.filter(r => r.users.length > 0 || r.failed > 0)
    const connectWallMs = ran.length === 0 ? 0 : Math.max(...ran.map(r => r.connectEnd)) - Math.min(...ran.map(r => r.connectStart))
    for (const [gi, r] of results.entries()) {
      for (const u of r.users) this.attached.set(u.key, { userId: u.userId, server: u.server, gen: gi })
    }
    this.lastAttach = results
    const failed = results.reduce((n, r) => n + r.failed, 0)
    if (failed > 0 && opts.allowFailures !== true) {
      const msg = results.map(r => r.firstError).find(e => e != null) ?? ''
      throw new Error(`${this.system}: ${failed} of ${specs.length} clients failed to attach or join: ${msg}`)
    }
    return { wallMs, connectWallMs, failed, results }
  }

  async detach (): Promise<void> {
    await Promise.all(this.gens.map(async g => g.detach()))
    this.attached.clear()
  }

  /** the sending users of a step and their targets */
  private senders (o: StepOptions): Map<number, Sender[]> {
    const p = this.placement
    if (p == null) throw new Error('attach first')
    const seats = o.senders == null ? p.seats : p.seats.slice(0, o.senders)
    const period = 1000 / o.ratePerUser
    const byGen = new Map<number, Sender[]>()
    seats.forEach((s, idx) => {
      const phaseMs = (idx / seats.length) * period
      let sender: Sender
      if (o.kind === 'room') {
        sender = { key: s.key, room: s.rooms[0] ?? '', phaseMs }
      } else {
        const partner = dmPartner(s.key, p.seats.length)
        const to = this.system === 'meshchat' ? this.attached.get(partner)?.userId ?? '' : `u${partner}`
        sender = { key: s.key, to, phaseMs }
      }
      const g = this.genOf(s.key)
      const list = byGen.get(g) ?? []
      list.push(sender)
      byGen.set(g, list)
    })
    return byGen
  }

  async step (workload: string, o: StepOptions): Promise<StepResult> {
    const p = this.placement
    if (p == null) throw new Error('attach first')
    const senders = this.senders(o)
    const nSenders = [...senders.values()].reduce((n, l) => n + l.length, 0)
    this.cluster.resetPeaks()
    const [before, genBefore] = await Promise.all([this.cluster.snapshot(), Promise.all(this.gens.map(async g => g.stats()))])
    const machine0 = machineBusySec()
    const self0 = process.cpuUsage()
    // the same moment on CLOCK_MONOTONIC (µs), the clock of the nodes' V8 CPU profiles
    const mono = Number(process.hrtime.bigint() / 1000n)
    const startAt = now() + 300
    const profileWindow = { fromUs: mono + (300 + o.warmupMs) * 1000, toUs: mono + (300 + o.durationMs) * 1000 }
    o.onStart?.(startAt)
    const results: RunResult[] = await Promise.all(this.gens.map(async (g, i) => g.run({
      kind: o.kind,
      ratePerUser: o.ratePerUser,
      startAt,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      drainMs: o.drainMs,
      msgBytes: o.msgBytes,
      senders: senders.get(i) ?? [],
      roomSizes: p.roomSizes
    })))
    const machineSec = machineBusySec() - machine0
    const selfCpu = process.cpuUsage(self0)
    const [after, genAfter] = await Promise.all([this.cluster.snapshot(), Promise.all(this.gens.map(async g => g.stats()))])
    const d = delta(before, after)
    const wallSec = (after.t - before.t) / 1000
    // rates are per second of sending: the drain after it only carries the tail of the same messages
    const sendSeconds = o.durationMs / 1000
    const perServer = d.servers.map(s => serverRow(s, this.system, sendSeconds))
    const latency = Histogram.from(...results.map(r => r.latency))
    const lag = Histogram.from(...results.map(r => r.lag))
    const measuredSeconds = (o.durationMs - o.warmupMs) / 1000
    const sum = (f: (r: RunResult) => number): number => results.reduce((n, r) => n + f(r), 0)
    const sendErrors: Record<string, number> = {}
    for (const r of results) for (const [k, v] of Object.entries(r.sendErrors)) sendErrors[k] = (sendErrors[k] ?? 0) + v
    const expected = sum(r => r.expected)
    const received = sum(r => r.received)
    const settleMs = await this.settle()
    // what came after the drain window: late, not lost (settle waited for every send to be answered)
    const late = (await Promise.all(this.gens.map(async g => g.late()))).reduce((a, b) => a + b, 0)
    const chat = perServer.filter(s => s.role === 'server')
    const genCpuSec = genAfter.reduce((n, g, i) => n + g.cpuSec - (genBefore[i]?.cpuSec ?? 0), 0)
    const serverCpuSec = perServer.reduce((n, s) => n + s.cpuSec, 0)
    const ours = genCpuSec + serverCpuSec + (selfCpu.user + selfCpu.system) / 1e6
    return {
      system: this.system,
      label: this.cluster.label,
      workload,
      kind: o.kind,
      servers: this.cluster.size,
      users: p.seats.length,
      ratePerUser: o.ratePerUser,
      offered: nSenders * o.ratePerUser,
      measuredSeconds,
      counterSeconds: sendSeconds,
      sent: sum(r => r.sent),
      acked: sum(r => r.acked),
      expected,
      received,
      duplicates: sum(r => r.duplicates ?? 0),
      replayed: sum(r => r.replayed ?? 0),
      reconnects: sum(r => r.reconnects ?? 0),
      deliveredPerSec: received / measuredSeconds,
      lossPct: expected === 0 ? 0 : Math.max(0, 100 * (expected - received) / expected),
      lateAfterDrain: late,
      lostPct: expected === 0 ? 0 : Math.max(0, 100 * (expected - received - late) / expected),
      sendErrors,
      latency: summarize(latency),
      latencyData: latency.toJSON(),
      ackLatency: summarize(Histogram.from(...results.map(r => r.ack))),
      genLagP99: Math.round(lag.quantile(0.99) * 10) / 10,
      genCpuSec,
      serverCpuSec,
      otherCores: round(Math.max(0, machineSec - ours) / wallSec, 2),
      settleMs: Math.round(settleMs),
      usPerDelivery: received === 0 ? NaN : round(serverCpuSec / sendSeconds / (received / measuredSeconds) * 1e6, 1),
      nodeHop: nodeHop(d.servers),
      serverPeakRssMiB: Math.max(...chat.map(s => s.peakRssMiB)),
      perServer,
      profileWindow
    }
  }

  /**
   * Wait until a step's backlog is gone (every send answered, servers and generators near idle),
   * so a saturated step does not spill into the next one, which may be the other system's.
   */
  async settle (timeoutMs = 20_000): Promise<number> {
    const t0 = now()
    const procs = [...this.cluster.processes().map(p => p.proc), ...this.gens.map(g => g.proc)]
    const cpu = (): number => procs.reduce((n, p) => n + (p.alive ? p.stats().cpuSec : 0), 0)
    while (now() - t0 < timeoutMs) {
      const stats = await Promise.all(this.gens.map(async g => g.stats()))
      const c0 = cpu()
      await sleep(400)
      const busy = (cpu() - c0) / 0.4
      if (stats.every(s => s.inflight === 0) && busy < 0.25) break
    }
    return now() - t0
  }

  /** CPU (cores) all server processes use over `ms` with nobody sending: heartbeats, keep-alives, timers */
  async idleCpu (ms = 3000): Promise<number> {
    const procs = this.cluster.processes().map(p => p.proc)
    const cpu = (): number => procs.reduce((n, p) => n + (p.alive ? p.stats().cpuSec : 0), 0)
    const c0 = cpu()
    const t0 = now()
    const fromUs = Number(process.hrtime.bigint() / 1000n)
    await sleep(ms)
    this.lastIdleWindow = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) }
    return (cpu() - c0) / ((now() - t0) / 1000)
  }

  /** the last idleCpu window on CLOCK_MONOTONIC (µs), the clock of the nodes' V8 CPU profiles */
  lastIdleWindow?: { fromUs: number, toUs: number }

  async stop (): Promise<void> {
    await Promise.all(this.gens.map(async g => g.stop()))
    await this.cluster.stop()
  }
}

function serverRow (s: ServerDelta, system: SystemName, seconds: number): ServerRow {
  const c = s.counters
  return {
    name: s.name,
    role: s.role,
    cpuSec: round(s.cpuSec, 2),
    cpuUtil: round(s.cpuSec / seconds, 3),
    peakRssMiB: round(s.peakRssBytes / MiB, 1),
    bytesInClient: s.bytesIn.client,
    bytesInPeer: s.bytesIn.peer,
    bytesOutClient: s.bytesOut.client,
    bytesOutPeer: s.bytesOut.peer,
    msgsInClient: c.clientIn ?? 0,
    msgsInPeer: system === 'meshchat' ? (c.roomCopiesIn ?? ((c.meshIn ?? 0) + (c.dmReceived ?? 0) + (c.duplicates ?? 0))) : (c.peerIn ?? 0),
    counters: c
  }
}

/** merge the nodes' meshchat_delivery_latency_seconds bucket deltas (counters `hop_le_<le>`) into p50/p99 (bucket upper bounds, ms) */
function nodeHop (servers: ServerDelta[]): StepResult['nodeHop'] {
  const buckets = new Map<number, number>()
  for (const s of servers) {
    for (const [k, v] of Object.entries(s.counters)) {
      if (!k.startsWith('hop_le_')) continue
      const le = k === 'hop_le_+Inf' ? Infinity : Number(k.slice(7))
      buckets.set(le, (buckets.get(le) ?? 0) + v)
    }
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0])
  const count = sorted[sorted.length - 1]?.[1] ?? 0
  if (count <= 0) return undefined
  const q = (p: number): number => {
    const want = p * count
    const hit = sorted.find(([, c]) => c >= want)
    return hit == null ? NaN : hit[0] * 1000
  }
  return { count, p50: q(0.5), p99: q(0.99) }
}

export function round (x: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

export { sleep }
