/**
 * Presence as nodes are added (meshchat only): the same users on N = 2, 4, 8 nodes, sitting in
 * rooms of 10 placed on one node each (room k on node k mod N, every member attached there), with
 * reconnect churn (a member closes and a new one attaches to the same node and joins the same room,
 * the population held constant).
 *
 * Per node: presence entries held (who is in the followed rooms, plus global presence's room-host
 * pairs, from /healthz), node-to-node presence bytes in and out (meshchat_presence_bytes_total: the
 * presence topic's gossip payloads, the room presence pushes and pulls, and the user directory's
 * requests and answers), presence CPU (meshchat_presence_cpu_seconds_total: the main thread's CPU
 * in presence and directory code, the transport under it not included), and the whole process's
 * CPU over an idle window and over each churn window of the same length. The process CPU of a
 * churn window includes the sessions that churn (attach, key proof, joins), not presence alone.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { churnWindow } from '../lib/churn.js'
import { LoadGen } from '../lib/loadgen-client.js'
import { MeshchatCluster } from '../lib/meshchat-cluster.js'
import { REPO_ROOT, sleep } from '../lib/procs.js'
import type { UserSpec } from '../lib/loadgen-protocol.js'
import type { ClusterSnapshot } from '../lib/cluster.js'
import type { ProcRegistry } from '../lib/procs.js'

export interface PresenceScaleRow {
  nodes: number
  users: number
  rooms: number
  /** churn asked for (closes per second) */
  churnTarget?: number
  /** churn achieved: closes per second, each followed by an attach and a join */
  churnPerSec: number
  seconds: number
  /** presence entries per node (mean, max): devices in carried rooms + global device entries + room-host pairs */
  entriesPerNode: number
  maxEntriesPerNode: number
  /** of which room-host pairs in global presence (mean) */
  hostPairsPerNode: number
  /** user directory records a node holds as an owner (mean; not in `entriesPerNode`) */
  directoryRecordsPerNode?: number
  /**
   * presence state per node in bytes of heap (mean), estimated: room presence devices, room-host
   * pairs and directory records, each times its heap per item as measured in-process
   * (room-presence-memory.js, run by the section first)
   */
  presenceHeapPerNode?: number
  /** node-to-node presence payload per node, churn window, B/s (mean) */
  presenceBytesInPerSec: number
  presenceBytesOutPerSec: number
  /** of the bytes in, room presence (pushes and pulls) and the user directory; the rest is the global topic (heartbeats, hosts) */
  roomBytesInPerSec: number
  directoryBytesInPerSec?: number
  /**
   * directory requests between nodes per reconnect, mesh-wide (all kinds; of them registrations):
   * a reconnect's detach and attach each go to the user's K owners, so at most 2·K, fewer when an
   * owner is the node itself or one request carries several changes
   */
  directoryRequestsPerReconnect?: number
  directoryRegistrationsPerReconnect?: number
  /** presence and directory code's CPU per node (cores, mean), churn window */
  presenceCpuPerNode?: number
  /** the same by part (gossip, heartbeat, local, rooms, directory), churn window */
  presenceCpuParts?: Record<string, number>
  /** presence and directory code's CPU per node (cores, mean) in the idle window: liveness, O(nodes) */
  idlePresenceCpuPerNode?: number
  /** CPU per node in cores (mean): idle window, churn window */
  idleCpuPerNode: number
  churnCpuPerNode: number
  /** the churn window on CLOCK_MONOTONIC µs (the clock of V8 CPU profiles: `--profile` sums the nodes' samples in it) */
  profileWindow?: { fromUs: number, toUs: number }
}

interface PresenceHealth {
  presence?: { devices?: number, hosted?: number }
  directory?: { records?: number }
}

/** heap per held item of each kind of presence state, bytes */
export interface PresenceHeapPerItem {
  roomDevice: number
  hostPair: number
  directoryRecord: number
}

/**
 * Runs room-presence-memory.js (its own process, with --expose-gc) and reads the heap per item it
 * measured: what the estimate of each node's presence heap multiplies the counts by.
 */
export function measurePresenceHeapPerItem (): PresenceHeapPerItem {
  const script = fileURLToPath(new URL('../room-presence-memory.js', import.meta.url))
  execFileSync(process.execPath, ['--expose-gc', script], { cwd: REPO_ROOT, stdio: 'ignore', timeout: 120_000 })
  const m = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'bench', 'results', 'room-presence-memory.json'), 'utf8')) as {
    roomPresence: { bytesPerDevice: number }, hosts: { bytesPerPair: number }, directory: { bytesPerRecord: number }
  }
  return { roomDevice: m.roomPresence.bytesPerDevice, hostPair: m.hosts.bytesPerPair, directoryRecord: m.directory.bytesPerRecord }
}

const ROOM_SIZE = 10
/** the parts meshchat_presence_cpu_seconds_total counts */
const PRESENCE_PARTS = ['gossip', 'heartbeat', 'local', 'rooms', 'directory'] as const

export async function presenceScaleScenario (reg: ProcRegistry, opts: {
  base: number
  nodeCounts: number[]
  users: number
  /** one churn window per rate, each after the idle window */
  churnRates: number[]
  seconds: number
  /** heap per item, for the estimate of each node's presence heap (left out when not given) */
  heapPerItem?: PresenceHeapPerItem
  log: (s: string) => void
}): Promise<PresenceScaleRow[]> {
  const rows: PresenceScaleRow[] = []
  for (const nodes of opts.nodeCounts) {
    const { log } = opts
    const t0 = Date.now()
    const mesh = await MeshchatCluster.start(reg, { base: opts.base, nodes, tag: `pscale${nodes}` })
    log(`  ${nodes}-node mesh up in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    const gen = new LoadGen(reg, `pscale${nodes}-gen`)
    try {
      const rooms = Math.ceil(opts.users / ROOM_SIZE)
      let nextKey = 0
      const spec = (room: number): UserSpec => {
        const key = nextKey++
        const node = room % nodes
        return { key, name: `s${key}`, addr: mesh.clientAddr(node), expect: mesh.serverId(node), rooms: [`scale-${room}`], reconnect: true }
      }
      const population = Array.from({ length: opts.users }, (_, i) => spec(i % rooms))
      const roomOf = new Map(population.map(s => [s.key, Number(s.rooms[0]?.slice(6))]))
      await gen.attach({ system: 'meshchat', users: population, concurrency: 20, join: true })
      const alive = population.map(s => s.key)
      await sleep(3000)

      const cpu = (a: ClusterSnapshot, b: ClusterSnapshot): number[] => b.servers.filter(s => s.role === 'server').map(s => {
        const before = a.servers.find(x => x.name === s.name)
        return (s.proc.cpuSec - (before?.proc.cpuSec ?? 0)) / ((b.t - a.t) / 1000)
      })
      const mean = (xs: number[]): number => xs.reduce((n, x) => n + x, 0) / Math.max(1, xs.length)

      const idleStart = await mesh.snapshot()
      await sleep(opts.seconds * 1000)
      const idleEnd = await mesh.snapshot()
      const idleCpu = mean(cpu(idleStart, idleEnd))
      const idlePresenceCpu = mean(idleEnd.servers.filter(s => s.role === 'server').map(s => {
        const b = idleStart.servers.find(x => x.name === s.name)
        return ((s.counters.presenceCpuSec ?? 0) - (b?.counters.presenceCpuSec ?? 0)) / ((idleEnd.t - idleStart.t) / 1000)
      }))

      for (const churnPerSec of opts.churnRates) {
        const before = await mesh.snapshot()
        const fromUs = Number(process.hrtime.bigint() / 1000n)
        const churned = await churnWindow(gen, alive, {
          ratePerSec: churnPerSec,
          seconds: opts.seconds,
          replace: out => out.map(k => {
            const s = spec(roomOf.get(k) ?? 0)
            roomOf.set(s.key, roomOf.get(k) ?? 0)
            roomOf.delete(k)
            return s
          })
        })
        const toUs = Number(process.hrtime.bigint() / 1000n)
        const after = await mesh.snapshot()
        const seconds = (after.t - before.t) / 1000
        const per = after.servers.filter(s => s.role === 'server').map(s => {
          const b = before.servers.find(x => x.name === s.name)
          const d = (k: string): number => ((s.counters[k] ?? 0) - (b?.counters[k] ?? 0)) / seconds
          const parts = Object.fromEntries(PRESENCE_PARTS.map(p => [p, d(`presenceCpuSec_${p}`)]))
          return { pin: d('presenceBytesIn'), pout: d('presenceBytesOut'), room: d('roomPresenceBytesIn'), dir: d('directoryBytesIn'), dreq: d('directoryRequestsOut'), dreg: d('directoryRegistrationsOut'), pcpu: d('presenceCpuSec'), parts }
        })
        // what each node holds once the churn settled
        await sleep(2000)
        const healths = await Promise.all(Array.from({ length: nodes }, async (_, i) => await mesh.health(i) as unknown as PresenceHealth))
        const entries = healths.map(h => (h.presence?.devices ?? 0) + (h.presence?.hosted ?? 0))
        const records = healths.map(h => h.directory?.records ?? 0)
        const heap = opts.heapPerItem
        const heapOf = (h: PresenceHealth): number => heap == null
          ? NaN
          : (h.presence?.devices ?? 0) * heap.roomDevice + (h.presence?.hosted ?? 0) * heap.hostPair + (h.directory?.records ?? 0) * heap.directoryRecord
        rows.push({
          nodes,
          users: opts.users,
          rooms,
          churnTarget: churnPerSec,
          churnPerSec: Math.round(churned / seconds * 10) / 10,
          seconds: Math.round(seconds),
          entriesPerNode: Math.round(mean(entries)),
          maxEntriesPerNode: Math.max(...entries),
          hostPairsPerNode: Math.round(mean(healths.map(h => h.presence?.hosted ?? 0))),
          directoryRecordsPerNode: Math.round(mean(records)),
          ...(heap == null ? {} : { presenceHeapPerNode: Math.round(mean(healths.map(heapOf))) }),
          presenceBytesInPerSec: Math.round(mean(per.map(x => x.pin))),
          presenceBytesOutPerSec: Math.round(mean(per.map(x => x.pout))),
          roomBytesInPerSec: Math.round(mean(per.map(x => x.room))),
          directoryBytesInPerSec: Math.round(mean(per.map(x => x.dir))),
          directoryRequestsPerReconnect: churned > 0 ? Math.round(per.reduce((n, x) => n + x.dreq, 0) * seconds / churned * 100) / 100 : 0,
          directoryRegistrationsPerReconnect: churned > 0 ? Math.round(per.reduce((n, x) => n + x.dreg, 0) * seconds / churned * 100) / 100 : 0,
          presenceCpuPerNode: Math.round(mean(per.map(x => x.pcpu)) * 10000) / 10000,
          presenceCpuParts: Object.fromEntries(PRESENCE_PARTS.map(p => [p, Math.round(mean(per.map(x => x.parts[p] ?? 0)) * 100000) / 100000])),
          idlePresenceCpuPerNode: Math.round(idlePresenceCpu * 10000) / 10000,
          idleCpuPerNode: Math.round(idleCpu * 1000) / 1000,
          churnCpuPerNode: Math.round(mean(cpu(before, after)) * 1000) / 1000,
          profileWindow: { fromUs, toUs }
        })
        const r = rows[rows.length - 1]!
        log(`  ${nodes} nodes, churn ${r.churnPerSec}/s: ${r.entriesPerNode} entries/node, ${r.directoryRecordsPerNode} directory records/node${r.presenceHeapPerNode == null ? '' : `, presence heap about ${(r.presenceHeapPerNode / 1024).toFixed(1)} KiB/node`}, presence in ${r.presenceBytesInPerSec} B/s/node (room ${r.roomBytesInPerSec}, directory ${r.directoryBytesInPerSec}; ${r.directoryRequestsPerReconnect} directory requests per reconnect, ${r.directoryRegistrationsPerReconnect} of them registrations), presence CPU ${r.presenceCpuPerNode} cores/node (${Object.entries(r.presenceCpuParts ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}; idle window ${r.idlePresenceCpuPerNode}), process CPU idle ${r.idleCpuPerNode} / churn ${r.churnCpuPerNode} cores/node`)
      }
    } finally {
      await gen.stop()
      await mesh.stop()
    }
  }
  return rows
}

/** The rows as a Markdown table per churn rate, with each figure's ratio to the smallest mesh at that rate. */
export function presenceScaleTable (rows: readonly PresenceScaleRow[]): string {
  const rates = [...new Set(rows.map(r => r.churnTarget ?? r.churnPerSec))]
  const ratio = (v: number | undefined, b: number | undefined): string => v == null || b == null || b === 0 ? '' : ` (${(v / b).toFixed(2)}×)`
  const n = (v: number | undefined): string => v == null ? '–' : String(v)
  const lines = [
    '| nodes | users / rooms | churn/s | presence entries per node (max) | of which room hosts | directory records per node | presence heap per node, estimated (KiB) | presence B/s in per node | of which room presence | of which directory | directory requests per reconnect, mesh-wide | global (heartbeats, hosts) | out per node | presence CPU per node (cores) | process CPU per node idle | process CPU per node churn |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
  ]
  for (const rate of rates) {
    const group = rows.filter(r => (r.churnTarget ?? r.churnPerSec) === rate)
    const first = group[0]
    for (const r of group) {
      const global = r.presenceBytesInPerSec - r.roomBytesInPerSec - (r.directoryBytesInPerSec ?? 0)
      lines.push(`| ${r.nodes} | ${r.users} / ${r.rooms} | ${r.churnPerSec} | ${r.entriesPerNode}${ratio(r.entriesPerNode, first?.entriesPerNode)} (${r.maxEntriesPerNode}) | ${r.hostPairsPerNode} | ${n(r.directoryRecordsPerNode)}${ratio(r.directoryRecordsPerNode, first?.directoryRecordsPerNode)} | ${r.presenceHeapPerNode == null ? '–' : (r.presenceHeapPerNode / 1024).toFixed(1)}${ratio(r.presenceHeapPerNode, first?.presenceHeapPerNode)} | ${r.presenceBytesInPerSec}${ratio(r.presenceBytesInPerSec, first?.presenceBytesInPerSec)} | ${r.roomBytesInPerSec} | ${n(r.directoryBytesInPerSec)}${ratio(r.directoryBytesInPerSec, first?.directoryBytesInPerSec)} | ${n(r.directoryRequestsPerReconnect)} | ${global}${ratio(global, first == null ? undefined : first.presenceBytesInPerSec - first.roomBytesInPerSec - (first.directoryBytesInPerSec ?? 0))} | ${r.presenceBytesOutPerSec} | ${n(r.presenceCpuPerNode)}${ratio(r.presenceCpuPerNode, first?.presenceCpuPerNode)} | ${r.idleCpuPerNode} | ${r.churnCpuPerNode}${ratio(r.churnCpuPerNode, first?.churnCpuPerNode)} |`)
    }
  }
  return lines.join('\n')
}
