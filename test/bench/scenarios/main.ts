/**
 * The head-to-head workloads on one meshchat mesh and one Socket.IO cluster of the same size, both
 * up for the whole phase; the systems take turns at each rate so that a noisy machine hits both.
 */
import { Histogram, summarize } from '../lib/histogram.js'
import { round } from '../lib/system.js'
import { sleep } from '../lib/procs.js'
import type { SystemUnderTest, StepOptions, StepResult } from '../lib/system.js'
import type { Placement } from '../lib/workload.js'

export interface AttachRow {
  system: string
  clients: number
  servers: number
  /** wall time to connect every client (generators in parallel, `concurrency` each) */
  attachSec: number
  connectP50Ms: number
  connectP99Ms: number
  /** clients a meshchat node redirected to another node (placement) */
  redirected: number
  /** server RSS growth per idle connected client, summed over the chat servers */
  serverKiBPerClient: number
  /** V8 heap growth per client after a full GC on every server: live memory a client holds on the server side */
  serverHeapKiBPerClient: number
  /** Buffers and ArrayBuffers outside the heap, per client, after the same GC */
  serverExternalKiBPerClient: number
  /** server CPU (cores, all server processes) with no clients, and with every client attached and idle */
  idleCoresBefore: number
  idleCoresAfter: number
  /** the same, client side: load generator RSS growth per client */
  clientKiBPerClient: number
  serverRssBeforeMiB: number
  serverRssAfterMiB: number
}

export async function attachScenario (sut: SystemUnderTest, clients: number, concurrency: number, idleMs = 3000): Promise<AttachRow> {
  const servers = sut.cluster.size
  const placement: Placement = {
    name: 'idle',
    servers,
    seats: Array.from({ length: clients }, (_, key) => ({ key, server: key % servers, rooms: [] })),
    roomSizes: {}
  }
  await sleep(500)
  const mem = async (): Promise<{ rss: number, heap: number, ext: number }> => {
    const chat = (await sut.cluster.snapshot(true)).servers.filter(s => s.role === 'server')
    const sum = (f: (s: typeof chat[number]) => number): number => chat.reduce((n, s) => n + f(s), 0)
    return { rss: sum(s => s.proc.rssBytes), heap: sum(s => s.counters.g_heapUsed ?? NaN), ext: sum(s => s.counters.g_external ?? NaN) }
  }
  const { rss: before, heap: heapBefore, ext: extBefore } = await mem()
  const idleBefore = await sut.idleCpu(idleMs)
  const { wallMs, results } = await sut.attach(placement, { concurrency, join: false, pin: false })
  // let the attach burst settle (timers, presence gossip) before reading
  await sleep(1500)
  const { rss: after, heap: heapAfter, ext: extAfter } = await mem()
  const idleAfter = await sut.idleCpu(idleMs)
  const connect = Histogram.from(...results.map(r => r.connectMs))
  const s = summarize(connect)
  const row: AttachRow = {
    system: sut.cluster.label,
    clients,
    servers,
    attachSec: round(wallMs / 1000, 2),
    connectP50Ms: round(s.p50, 1),
    connectP99Ms: round(s.p99, 1),
    redirected: results.reduce((n, r) => n + r.users.filter(u => u.redirected).length, 0),
    serverKiBPerClient: round((after - before) / clients / 1024, 1),
    serverHeapKiBPerClient: round((heapAfter - heapBefore) / clients / 1024, 1),
    serverExternalKiBPerClient: round((extAfter - extBefore) / clients / 1024, 1),
    clientKiBPerClient: round(results.reduce((n, r) => n + r.rssAfter - r.rssBefore, 0) / clients / 1024, 1),
    idleCoresBefore: round(idleBefore, 3),
    idleCoresAfter: round(idleAfter, 3),
    serverRssBeforeMiB: round(before / 1024 / 1024, 1),
    serverRssAfterMiB: round(after / 1024 / 1024, 1)
  }
  await sut.detach()
  return row
}

/** a step is saturated past use: later, higher rates are skipped for that system */
export function saturated (r: StepResult): boolean {
  return r.latency.p99 > 3000 || r.lossPct > 10 || !(r.latency.count > 0)
}

export async function sweep (suts: SystemUnderTest[], workload: string, placement: (sut: SystemUnderTest) => Placement, kind: 'room' | 'dm', rates: number[],
  step: Omit<StepOptions, 'kind' | 'ratePerUser'>, log: (s: string) => void, attach = true, quickIdle = false): Promise<StepResult[]> {
  if (attach) {
    for (const s of suts) {
      await s.detach()
      const a = await s.attach(placement(s))
      log(`  ${s.cluster.label}: ${placement(s).seats.length} users attached and joined in ${(a.wallMs / 1000).toFixed(1)} s${s.system === 'meshchat' ? ` (${a.results.reduce((n, r) => n + r.repinned, 0)} moved back after a placement redirect)` : ''}`)
    }
  }
  const out: StepResult[] = []
  const done = new Set<string>()
  // what the attached users cost with nobody sending, so per-message CPU can be told from the baseline
  const idle = new Map<string, number>()
  for (const s of suts) {
    await s.settle()
    idle.set(s.cluster.label, await s.idleCpu(quickIdle ? 1200 : 4000))
  }
  for (const [i, rate] of rates.entries()) {
    const order = i % 2 === 0 ? suts : [...suts].reverse()
    for (const s of order) {
      if (done.has(s.cluster.label)) continue
      const r = await s.step(workload, { ...step, kind, ratePerUser: rate })
      r.idleCores = Math.round((idle.get(s.cluster.label) ?? NaN) * 1000) / 1000
      out.push(r)
      const errs = Object.entries(r.sendErrors).map(([k, v]) => `${k}×${v}`).join(' ')
      log(`  ${workload} ${rate}/s/user ${s.cluster.label}: ${Math.round(r.deliveredPerSec)} deliveries/s, p50 ${r.latency.p50} p99 ${r.latency.p99} p99.9 ${r.latency.p999} ms, loss ${r.lossPct.toFixed(2)} %, server CPU ${r.serverCpuSec.toFixed(1)} s, gen lag p99 ${r.genLagP99} ms${errs !== '' ? `, errors ${errs}` : ''}`)
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
