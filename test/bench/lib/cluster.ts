/**
 * What the workloads need from a cluster of chat servers, whichever system it is: where clients
 * attach, and per-process snapshots (CPU, memory, socket bytes, message counters) that are
 * subtracted to get one measurement window.
 */
import type { IoSnapshot, Proc, ProcStats } from './procs.js'

export type SystemName = 'meshchat' | 'socketio'
export type Traffic = 'client' | 'peer' | 'control'

export interface ServerSnapshot {
  name: string
  role: 'server' | 'bootstrap' | 'redis'
  proc: ProcStats
  /** bytes read/written at the socket, by kind of peer */
  bytesIn: Record<Traffic, number>
  bytesOut: Record<Traffic, number>
  /** application counters (messages in from clients / from other servers, duplicates, presence bytes...) */
  counters: Record<string, number>
}

export interface ClusterSnapshot {
  t: number
  servers: ServerSnapshot[]
}

export interface Cluster {
  readonly system: SystemName
  /** a label for tables, e.g. "Socket.IO + Redis (classic adapter)" */
  readonly label: string
  /** number of chat server processes */
  readonly size: number
  /** the address a client uses to attach to server i */
  clientAddr: (i: number) => string
  /** an id a client can compare its welcome against (meshchat node id); '' when not applicable */
  serverId: (i: number) => string
  /** chat server i's process */
  serverProc: (i: number) => Proc
  /** every process of the cluster: chat servers plus bootstrap or Redis */
  processes: () => Array<{ name: string, role: ServerSnapshot['role'], proc: Proc }>
  /** with `gc`, every node process collects garbage first (memory readings only: it pauses the process) */
  snapshot: (gc?: boolean) => Promise<ClusterSnapshot>
  /** reset peak RSS counters of every process */
  resetPeaks: () => void
  stop: () => Promise<void>
}

export function emptyTraffic (): Record<Traffic, number> {
  return { client: 0, peer: 0, control: 0 }
}

/** sum socket counters into traffic classes with `classify(key)` (keys are `in:<port>` / `out:<port>`) */
export function classifyIo (io: IoSnapshot, classify: (key: string) => Traffic): { bytesIn: Record<Traffic, number>, bytesOut: Record<Traffic, number> } {
  const bytesIn = emptyTraffic()
  const bytesOut = emptyTraffic()
  for (const [key, t] of Object.entries(io.sockets)) {
    const c = classify(key)
    bytesIn[c] += t.read
    bytesOut[c] += t.written
  }
  return { bytesIn, bytesOut }
}

export interface ServerDelta {
  name: string
  role: ServerSnapshot['role']
  cpuSec: number
  peakRssBytes: number
  rssBytes: number
  bytesIn: Record<Traffic, number>
  bytesOut: Record<Traffic, number>
  counters: Record<string, number>
}

/** what happened between two snapshots, per process; peak RSS is the one at `b` (reset at `a`) */
export function delta (a: ClusterSnapshot, b: ClusterSnapshot): { seconds: number, servers: ServerDelta[] } {
  const servers: ServerDelta[] = []
  for (const sb of b.servers) {
    const sa = a.servers.find(s => s.name === sb.name)
    // counters are subtracted; gauges (g_ prefix) are taken as they are at the end
    const sub = (x: Record<string, number>, y: Record<string, number> | undefined): Record<string, number> =>
      Object.fromEntries(Object.entries(x).map(([k, v]) => [k, k.startsWith('g_') ? v : v - (y?.[k] ?? 0)]))
    servers.push({
      name: sb.name,
      role: sb.role,
      cpuSec: sb.proc.cpuSec - (sa?.proc.cpuSec ?? 0),
      peakRssBytes: sb.proc.hwmBytes,
      rssBytes: sb.proc.rssBytes,
      bytesIn: sub(sb.bytesIn, sa?.bytesIn) as Record<Traffic, number>,
      bytesOut: sub(sb.bytesOut, sa?.bytesOut) as Record<Traffic, number>,
      counters: sub(sb.counters, sa?.counters)
    })
  }
  return { seconds: (b.t - a.t) / 1000, servers }
}
