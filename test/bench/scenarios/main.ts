/**
 * The head-to-head workloads on one meshchat mesh and one Socket.IO cluster of the same size, both
 * up for the whole phase; the systems take turns at each rate so that a noisy machine hits both.
 */
import { sleep } from '../lib/procs.js'
import { round } from '../lib/system.js'
import type { SystemUnderTest, StepOptions, StepResult } from '../lib/system.js'
import type { Placement } from '../lib/workload.js'

/** after the users attach and the backlog settles, the pause before the idle window (see sweep) */
export const IDLE_QUIET_MS = 12_000
/**
 * the idle window itself: an idle mesh's CPU comes in bursts on every node at once about every 30 s
 * (4 nodes, 200 users: 50–60 ms of CPU in one second against 10–20 ms in the others, per node), so a
 * window of a few seconds reads high or low as it meets one or not (4-s windows of one setup, taken
 * one after another: 0.047 to 0.114 cores for the 4 nodes); 30 s holds one cycle
 */
export const IDLE_WINDOW_MS = 30_000

/** a step is saturated past use: later, higher rates are skipped for that system */
export function saturated (r: StepResult): boolean {
  return r.latency.p99 > 3000 || r.lossPct > 10 || !(r.latency.count > 0)
}

/** an unmeasured step before the measured ones (BenchConfig.jitWarmup) */
export interface JitWarmup { ms: number, ratePerUser: number }

/**
 * The workload at `warm.ratePerUser` for `warm.ms`, unmeasured, then the backlog settled. V8 runs a
 * function from bytecode until it has been called a few hundred times (Maglev) and optimizes it fully
 * after about 3,000 calls (TurboFan): a step of 15 s at 50 msg/s measured code still on its way
 * there, on each system as far as its own call counts had taken it. Past the warm-up both run the
 * code a server that has been up a while runs.
 */
export async function jitWarmup (s: SystemUnderTest, workload: string, kind: 'room' | 'dm', step: Omit<StepOptions, 'kind' | 'ratePerUser'>, warm: JitWarmup | undefined, log: (s: string) => void): Promise<void> {
  if (warm == null || warm.ms <= 0) return
  const r = await s.step(`${workload} (warm-up)`, { ...step, kind, ratePerUser: warm.ratePerUser, durationMs: warm.ms, warmupMs: 0 })
  await s.settle()
  log(`  ${s.cluster.label}: warm-up, ${workload} at ${warm.ratePerUser}/s/user for ${warm.ms / 1000} s (${Math.round(r.deliveredPerSec)} deliveries/s, not measured)`)
}

export async function sweep (suts: SystemUnderTest[], workload: string, placement: (sut: SystemUnderTest) => Placement, kind: 'room' | 'dm', rates: number[],
  step: Omit<StepOptions, 'kind' | 'ratePerUser'>, log: (s: string) => void, attach = true, quickIdle = false, warm?: JitWarmup): Promise<StepResult[]> {
  if (attach) {
    for (const s of suts) {
      await s.detach()
      const a = await s.attach(placement(s))
      log(`  ${s.cluster.label}: ${placement(s).seats.length} users attached and joined in ${(a.wallMs / 1000).toFixed(1)} s${s.system === 'meshchat' ? ` (${a.results.reduce((n, r) => n + r.repinned, 0)} moved back after a placement redirect)` : ''}`)
    }
  }
  for (const s of suts) await jitWarmup(s, workload, kind, step, warm, log)
  const out: StepResult[] = []
  const done = new Set<string>()
  // what the attached users cost with nobody sending, so per-message CPU can be told from the baseline
  const idle = new Map<string, number>()
  const idleWindows = new Map<string, { fromUs: number, toUs: number }>()
  for (const s of suts) {
    await s.settle()
    // settle() waits for the backlog and for the processes to drop under a quarter of a core; a
    // mesh that users just joined keeps working for several seconds after that (in one node's
    // profile: backfills of the rooms it now carries, gossipsub control, presence), at twice its lasting
    // idle rate in the first 4 s (0.15 against 0.07 cores: 4 nodes and a bootstrap, 200 users in
    // 20 rooms). Taken then, "idle" would take part of that work off every step's figures.
    await sleep(quickIdle ? 2000 : IDLE_QUIET_MS)
    idle.set(s.cluster.label, await s.idleCpu(quickIdle ? 1200 : IDLE_WINDOW_MS))
    if (s.lastIdleWindow != null) idleWindows.set(s.cluster.label, s.lastIdleWindow)
  }
  for (const [i, rate] of rates.entries()) {
    const order = i % 2 === 0 ? suts : [...suts].reverse()
    for (const s of order) {
      if (done.has(s.cluster.label)) continue
      const r = await s.step(workload, { ...step, kind, ratePerUser: rate })
      r.idleCores = Math.round((idle.get(s.cluster.label) ?? NaN) * 1000) / 1000
      if (i === 0) r.idleProfileWindow = idleWindows.get(s.cluster.label)
      const busy = r.serverCpuSec / r.counterSeconds - r.idleCores
      r.usPerDeliveryNet = r.deliveredPerSec > 0 && Number.isFinite(busy) ? round(busy / r.deliveredPerSec * 1e6, 1) : NaN
      out.push(r)
      const errs = Object.entries(r.sendErrors).map(([k, v]) => `${k}×${v}`).join(' ')
      log(`  ${workload} ${rate}/s/user ${s.cluster.label}: ${Math.round(r.deliveredPerSec)} deliveries/s, p50 ${r.latency.p50} p99 ${r.latency.p99} p99.9 ${r.latency.p999} ms, loss ${r.lossPct.toFixed(2)} %${(r.lateAfterDrain ?? 0) > 0 ? ` (${r.lateAfterDrain} arrived after the drain window, ${(r.lostPct ?? NaN).toFixed(2)} % never)` : ''}${r.duplicates > 0 || r.reconnects > 0 ? ` (${r.duplicates} duplicates, ${r.replayed} replayed, ${r.reconnects} reconnects)` : ''}, server CPU ${r.serverCpuSec.toFixed(1)} s (${r.usPerDelivery} µs per delivery), gen CPU ${(r.genCpuSec / r.counterSeconds).toFixed(2)} cores, gen lag p99 ${r.genLagP99} ms${errs !== '' ? `, errors ${errs}` : ''}`)
      if (saturated(r) || r.latency.p99 > 100) {
        // the rate at which p99 passes 100 ms is found; higher rates would only overload the machine
        done.add(s.cluster.label)
        log(`  ${s.cluster.label}: p99 above 100 ms at ${rate}/s/user; higher rates skipped`)
      }
    }
  }
  return out
}

export interface CapacityRow {
  system: string
  workload: string
  /** highest offered rate with p99 <= 100 ms */
  lastGood: number | null
  /** lowest offered rate with p99 > 100 ms */
  firstBad: number | null
  maxDeliveredPerSec: number
}

export function capacity (steps: StepResult[]): CapacityRow[] {
  const keys = [...new Set(steps.map(s => `${s.label}\u0000${s.workload}`))]
  return keys.map(k => {
    const [label = '', workload = ''] = k.split('\u0000')
    const rows = steps.filter(s => s.label === label && s.workload === workload).sort((a, b) => a.offered - b.offered)
    const badAt = rows.findIndex(r => r.latency.p99 > 100 || r.lossPct >= 1)
    const good = badAt === -1 ? rows : rows.slice(0, badAt)
    const bad = badAt === -1 ? undefined : rows[badAt]
    return {
      system: label,
      workload,
      lastGood: good.length === 0 ? null : Math.max(...good.map(r => r.offered)),
      firstBad: bad?.offered ?? null,
      maxDeliveredPerSec: Math.round(Math.max(...rows.map(r => r.deliveredPerSec)))
    }
  })
}
