/**
 * Presence as nodes are added (meshchat only): the same users on N = 2, 4, 8 nodes, sitting in
 * rooms of 10 placed on one node each (room k on node k mod N, every member attached there), with
 * reconnect churn (a member closes and a new one attaches to the same node and joins the same room,
 * the population held constant).
 *
 * Per node: presence entries held (who is in the carried rooms, plus global presence's room-host
 * pairs and device entries, from /healthz), node-to-node presence bytes in and out
 * (meshchat_presence_bytes_total: the presence topic's gossip payloads and the room presence
 * pushes and pulls), and CPU over an idle window and a churn window of the same length. The churn
 * window's CPU includes the sessions that churn (attach, key proof, joins), not presence alone.
 */
import { LoadGen } from '../lib/loadgen-client.js'
import { MeshchatCluster } from '../lib/meshchat-cluster.js'
import { sleep } from '../lib/procs.js'
import type { UserSpec } from '../lib/loadgen-protocol.js'
import type { ClusterSnapshot } from '../lib/cluster.js'
import type { ProcRegistry } from '../lib/procs.js'

export interface PresenceScaleRow {
  nodes: number
  users: number
  rooms: number
  /** churn achieved: closes per second, each followed by an attach and a join */
  churnPerSec: number
  seconds: number
  /** presence entries per node (mean, max): devices in carried rooms + global device entries + room-host pairs */
  entriesPerNode: number
  maxEntriesPerNode: number
  /** of which room-host pairs in global presence (mean) */
  hostPairsPerNode: number
  /** node-to-node presence payload per node, churn window, B/s (mean) */
  presenceBytesInPerSec: number
  presenceBytesOutPerSec: number
  /** of the bytes in, room presence (pushes and pulls); the rest is the global topic (heartbeats, hosts) */
  roomBytesInPerSec: number
  /** CPU per node in cores (mean): idle window, churn window */
  idleCpuPerNode: number
  churnCpuPerNode: number
}

interface PresenceHealth {
  presence?: { devices?: number, hosted?: number }
}

const ROOM_SIZE = 10

export async function presenceScaleScenario (reg: ProcRegistry, opts: {
  base: number
  nodeCounts: number[]
  users: number
  churnPerSec: number
  seconds: number
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

      const before = await mesh.snapshot()
      const end = Date.now() + opts.seconds * 1000
      let debt = 0
      let last = Date.now()
      let churned = 0
      const inflight = new Set<Promise<void>>()
      while (Date.now() < end) {
        const t = Date.now()
        debt += opts.churnPerSec * (t - last) / 1000
        last = t
        const n = Math.floor(debt)
        if (n > 0 && inflight.size < 8) {
          debt -= n
          const out = alive.splice(0, Math.min(n, alive.length))
          churned += out.length
          const fresh = out.map(k => {
            const s = spec(roomOf.get(k) ?? 0)
            roomOf.set(s.key, roomOf.get(k) ?? 0)
            roomOf.delete(k)
            return s
          })
          const p: Promise<void> = Promise.all([
            gen.close(out),
            gen.attach({ system: 'meshchat', users: fresh, concurrency: 20, join: true })
          ]).then(() => { alive.push(...fresh.map(s => s.key)) }).finally(() => { inflight.delete(p) })
          inflight.add(p)
        }
        await sleep(50)
      }
      await Promise.all(inflight)
      const after = await mesh.snapshot()
      const seconds = (after.t - before.t) / 1000
      const per = after.servers.filter(s => s.role === 'server').map(s => {
        const b = before.servers.find(x => x.name === s.name)
        return {
          pin: ((s.counters.presenceBytesIn ?? 0) - (b?.counters.presenceBytesIn ?? 0)) / seconds,
          pout: ((s.counters.presenceBytesOut ?? 0) - (b?.counters.presenceBytesOut ?? 0)) / seconds,
          room: ((s.counters.roomPresenceBytesIn ?? 0) - (b?.counters.roomPresenceBytesIn ?? 0)) / seconds
        }
      })
      // what each node holds once the churn settled
      await sleep(2000)
      const healths = await Promise.all(Array.from({ length: nodes }, async (_, i) => await mesh.health(i) as unknown as PresenceHealth))
      const entries = healths.map(h => (h.presence?.devices ?? 0) + (h.presence?.hosted ?? 0))
      rows.push({
        nodes,
        users: opts.users,
        rooms,
        churnPerSec: Math.round(churned / seconds * 10) / 10,
        seconds: Math.round(seconds),
        entriesPerNode: Math.round(mean(entries)),
        maxEntriesPerNode: Math.max(...entries),
        hostPairsPerNode: Math.round(mean(healths.map(h => h.presence?.hosted ?? 0))),
        presenceBytesInPerSec: Math.round(mean(per.map(x => x.pin))),
        presenceBytesOutPerSec: Math.round(mean(per.map(x => x.pout))),
        roomBytesInPerSec: Math.round(mean(per.map(x => x.room))),
        idleCpuPerNode: Math.round(idleCpu * 1000) / 1000,
        churnCpuPerNode: Math.round(mean(cpu(before, after)) * 1000) / 1000
      })
      const r = rows[rows.length - 1]!
      log(`  ${nodes} nodes: ${r.entriesPerNode} entries/node, presence in ${r.presenceBytesInPerSec} B/s/node, CPU idle ${r.idleCpuPerNode} / churn ${r.churnCpuPerNode} cores/node`)
    } finally {
      await gen.stop()
      await mesh.stop()
    }
  }
  return rows
}

/** The rows as a Markdown table, with each figure's ratio to the smallest mesh. */
export function presenceScaleTable (rows: readonly PresenceScaleRow[]): string {
  const first = rows[0]
  const ratio = (v: number, b: number | undefined): string => b == null || b === 0 ? '' : ` (${(v / b).toFixed(2)}×)`
  const lines = [
    '| nodes | users / rooms | churn/s | presence entries per node (max) | of which room hosts | presence B/s in per node | of which room presence | global (heartbeats, hosts) | out per node | CPU per node idle | CPU per node churn |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
  ]
  for (const r of rows) {
    lines.push(`| ${r.nodes} | ${r.users} / ${r.rooms} | ${r.churnPerSec} | ${r.entriesPerNode}${ratio(r.entriesPerNode, first?.entriesPerNode)} (${r.maxEntriesPerNode}) | ${r.hostPairsPerNode} | ${r.presenceBytesInPerSec}${ratio(r.presenceBytesInPerSec, first?.presenceBytesInPerSec)} | ${r.roomBytesInPerSec}${ratio(r.roomBytesInPerSec, first?.roomBytesInPerSec)} | ${r.presenceBytesInPerSec - r.roomBytesInPerSec} | ${r.presenceBytesOutPerSec} | ${r.idleCpuPerNode} | ${r.churnCpuPerNode}${ratio(r.churnCpuPerNode, first?.churnCpuPerNode)} |`)
  }
  return lines.join('\n')
}
