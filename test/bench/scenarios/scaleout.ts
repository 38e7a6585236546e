/**
 * Scale-out: the same total workload (users, rooms, per-user rate) on N = 2, 4, 8 server processes,
 * for each system, on fresh clusters. What matters is what one server receives as N grows: a
 * server that receives every message of the cluster (a broadcast bus) does not get lighter by
 * adding servers; one that receives only the rooms it hosts does.
 */
import { MeshchatCluster } from '../lib/meshchat-cluster.js'
import { SocketIoCluster } from '../lib/socketio-cluster.js'
import { SystemUnderTest } from '../lib/system.js'
import { local, meanServersPerRoom, spread } from '../lib/workload.js'
import type { AdapterMode } from '../lib/socketio-cluster.js'
import { sleep } from '../lib/procs.js'
import { jitWarmup } from './main.js'
import type { JitWarmup } from './main.js'
import type { ProcRegistry } from '../lib/procs.js'
import type { StepOptions, StepResult } from '../lib/system.js'

export interface ScaleRow {
  system: string
  workload: string
  servers: number
  serversPerRoom: number
  offered: number
  deliveredPerSec: number
  p50: number
  p99: number
  lossPct: number
  /** per chat server, mean over servers, per second of sending */
  bytesInPerServer: number
  peerBytesInPerServer: number
  clientBytesInPerServer: number
  msgsInPerServer: number
  peerMsgsInPerServer: number
  cpuPerServer: number
  /** Redis (baseline) or bootstrap (meshchat): the process every server talks to */
  hubCpu: number
  hubBytesIn: number
  step: StepResult
}

export type SystemSpec = { system: 'meshchat' } | { system: 'socketio', adapter: AdapterMode }

export async function scaleOut (reg: ProcRegistry, opts: {
  base: number
  sizes: number[]
  workloads: Array<'spread' | 'room-local'>
  systems: SystemSpec[]
  users: number
  rooms: number
  step: Omit<StepOptions, 'kind'>
  generators: number
  log: (s: string) => void
  /** systems already running at one of the sizes (the head-to-head clusters): used as they are, not stopped */
  reuse?: SystemUnderTest[]
  /**
   * after the users attach and the backlog settles, the pause before the step: a mesh the users just
   * joined (after the other workload's placement left) keeps moving rooms' backfills and presence
   * for several seconds, and the step's byte and CPU counters would count that as the workload's
   */
  quietMs: number
  /** an unmeasured step of the workload before the measured one (main.ts, jitWarmup) */
  warm?: JitWarmup
}): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = []
  for (const [si, n] of opts.sizes.entries()) {
    // every system's cluster for this size at once (separate ports), then the systems take turns
    const reused = (spec: SystemSpec): SystemUnderTest | undefined => opts.reuse?.find(s => s.cluster.size === n &&
      (spec.system === 'meshchat' ? s.system === 'meshchat' : s.cluster instanceof SocketIoCluster && s.cluster.mode === spec.adapter))
    const suts = await Promise.all(opts.systems.map(async (spec, i) => reused(spec) ?? new SystemUnderTest(reg, spec.system === 'meshchat'
      ? await MeshchatCluster.start(reg, { base: opts.base, nodes: n, tag: `scale${n}` })
      : await SocketIoCluster.start(reg, { base: opts.base + 150 + 20 * i, servers: n, adapter: spec.adapter }), opts.generators)))
    try {
      for (const [wi, w] of opts.workloads.entries()) {
        const order = (si + wi) % 2 === 0 ? suts : [...suts].reverse()
        for (const sut of order) {
          const cluster = sut.cluster
          const p = w === 'spread' ? spread(opts.users, opts.rooms, n) : local(opts.users, opts.rooms, n)
          await sut.attach(p)
          await sut.settle()
          await jitWarmup(sut, `scale-out ${w}`, 'room', opts.step, opts.warm, opts.log)
          await sleep(opts.quietMs)
          const step = await sut.step(`scale-out ${w}`, { ...opts.step, kind: 'room' })
          await sut.detach()
          const chat = step.perServer.filter(s => s.role === 'server')
          const hub = step.perServer.find(s => s.role !== 'server')
          const secs = step.counterSeconds
          const mean = (f: (s: typeof chat[number]) => number): number => chat.reduce((x, s) => x + f(s), 0) / Math.max(1, chat.length)
          const row: ScaleRow = {
            system: cluster.label,
            workload: w,
            servers: n,
            serversPerRoom: Math.round(meanServersPerRoom(p) * 100) / 100,
            offered: step.offered,
            deliveredPerSec: Math.round(step.deliveredPerSec),
            p50: step.latency.p50,
            p99: step.latency.p99,
            lossPct: Math.round(step.lossPct * 100) / 100,
            bytesInPerServer: Math.round(mean(s => s.bytesInClient + s.bytesInPeer) / secs),
            peerBytesInPerServer: Math.round(mean(s => s.bytesInPeer) / secs),
            clientBytesInPerServer: Math.round(mean(s => s.bytesInClient) / secs),
            msgsInPerServer: Math.round(mean(s => s.msgsInClient + s.msgsInPeer) / secs),
            peerMsgsInPerServer: Math.round(mean(s => s.msgsInPeer) / secs),
            cpuPerServer: Math.round(mean(s => s.cpuUtil) * 1000) / 1000,
            hubCpu: Math.round((hub?.cpuUtil ?? 0) * 1000) / 1000,
            hubBytesIn: Math.round((hub?.bytesInPeer ?? 0) / secs),
            step
          }
          rows.push(row)
          opts.log(`  N=${n} ${cluster.label} ${w}: ${row.bytesInPerServer} B/s and ${row.msgsInPerServer} msgs/s in per server, p99 ${row.p99} ms, loss ${row.lossPct} %`)
        }
      }
    } finally {
      await Promise.all(suts.filter(s => !(opts.reuse ?? []).includes(s)).map(async s => s.stop()))
    }
  }
  return rows
}
