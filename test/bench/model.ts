/**
 * The million-user model of docs/scaling.md, computed from a benchmark run's measured costs.
 * A MODEL: it multiplies per-client and per-message costs measured on one small machine by an
 * assumed usage profile; it is not a measurement of a million users.
 *
 *   node dist/test/bench/model.js [results.json]      (default: test/bench/results/latest.json)
 *
 * run.ts appends the same tables to latest.md after every run.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { table } from './lib/report.js'
import type { StepResult } from './lib/system.js'
import type { AttachRow } from './scenarios/attach.js'
import type { PresenceResult } from './scenarios/presence.js'

export interface ModelResults {
  attach: AttachRow[]
  memory?: AttachRow[]
  idle?: AttachRow[]
  steps: StepResult[]
  presence: PresenceResult[]
  presenceMemory?: { bytesPerEntry: number }
  machine: { cpu: string, cores: number, date: string }
  kind: string
}

/** the assumed usage profile: every figure of the model scales from these */
export const PROFILE = {
  users: 1_000_000,
  /** client connections a node accepts (the node's default maxClients) */
  clientsPerNode: 10_000,
  /** messages per connected user per second: one every 5 minutes */
  msgsPerUserPerSec: 1 / 300,
  /** share of messages that are DMs */
  dmShare: 0.2,
  /** members per room */
  roomSize: 10,
  /**
   * nodes carrying a room: its members' nodes plus K = 2 archive replicas. With affinity placement a
   * room's members sit on one or two nodes; the room-local workload measures about this.
   */
  nodesPerRoom: 3,
  /** reconnects per user per second (each: a detach, an attach and room joins): one every 30 minutes */
  churnPerUserPerSec: 1 / 1800,
  /** cores per node and the CPU utilisation to plan for */
  coresPerNode: 8,
  cpuTarget: 0.6,
  /** RAM per node */
  ramGiB: 32
}

interface Fit { perMsgAtK: (k: number) => number, a: number, b: number, points: Array<{ workload: string, rate: number, k: number, cpuPerMsg: number }> }

const GiB = 1024 ** 3
const KiB = 1024

/** steps below saturation for a system and workload, highest rate first */
function good (steps: StepResult[], system: string, workload: string): StepResult[] {
  return steps.filter(s => s.system === system && s.workload === workload && s.latency.p99 <= 100 && s.lossPct < 0.5 && s.latency.count > 0)
    .sort((a, b) => b.offered - a.offered)
}

/** nodes that carried each room message: the ingress node plus every node that received it from the mesh */
function carried (s: StepResult): number {
  const sent = s.offered * s.counterSeconds
  const fromMesh = s.perServer.reduce((n, p) => n + (p.counters.roomMeshIn ?? 0), 0)
  return 1 + fromMesh / Math.max(1, sent)
}

/** CPU-seconds per message over all server processes, above what the same attached users cost with nobody sending */
function cpuPerMsg (s: StepResult): number {
  const cores = s.perServer.reduce((n, p) => n + p.cpuUtil, 0)
  return Math.max(0, cores - (s.idleCores ?? 0)) / s.offered
}

/** CPU-seconds per room message = a·k + b, from the spread and room-local workloads (different k, same room size) */
function fitCpu (steps: StepResult[]): Fit | undefined {
  const pts = ['room chat (spread)', 'room-local'].map(w => good(steps, 'meshchat', w)[0]).filter((s): s is StepResult => s != null)
  if (pts.length < 2) return undefined
  const [p1, p2] = pts as [StepResult, StepResult]
  const k1 = carried(p1)
  const k2 = carried(p2)
  const c1 = cpuPerMsg(p1)
  const c2 = cpuPerMsg(p2)
  const a = Math.abs(k1 - k2) < 0.2 ? 0 : (c1 - c2) / (k1 - k2)
  const b = Math.abs(k1 - k2) < 0.2 ? (c1 + c2) / 2 : c1 - a * k1
  // a negative b means the cost per carrying node rose faster than k between the two points (more busy
  // processes sharing the cores); the line is then only an interpolation, never below the cheaper point
  const floor = b < 0 ? (k1 < k2 ? c1 : c2) : 0
  return { a, b, perMsgAtK: k => Math.max(floor, a * k + b), points: pts.map(s => ({ workload: s.workload, rate: s.ratePerUser, k: carried(s), cpuPerMsg: cpuPerMsg(s) })) }
}

const f = (x: number, d = 0): string => Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a'
const mb = (bytesPerSec: number): string => Number.isFinite(bytesPerSec) ? `${(bytesPerSec / 1e6).toFixed(2)} MB/s` : 'n/a'

export function model (r: ModelResults, presenceMemoryBytes?: number): string {
  const P = PROFILE
  // memory per client from the most clients on one node that was measured; idle CPU from the longest idle window
  const rows = (f: (a: AttachRow) => boolean): AttachRow | undefined => [...(r.memory ?? []), ...(r.idle ?? []), ...r.attach].filter(f)[0]
  const mAttach = rows(a => a.system === 'meshchat')
  const sAttach = rows(a => !a.system.startsWith('meshchat'))
  const mIdle = [...(r.idle ?? []), ...(r.memory ?? []), ...r.attach].find(a => a.system === 'meshchat')
  const fit = fitCpu(r.steps)
  const local = good(r.steps, 'meshchat', 'room-local')[0] ?? good(r.steps, 'meshchat', 'room chat (spread)')[0]
  const spreadStep = good(r.steps, 'meshchat', 'room chat (spread)')[0]
  const dm = good(r.steps, 'meshchat', 'DMs across servers')[0]
  const sioStep = good(r.steps, 'socketio', 'room chat (spread)').sort((a, b) => a.offered - b.offered).find(s => s.offered >= (spreadStep?.offered ?? 0)) ?? good(r.steps, 'socketio', 'room chat (spread)')[0]
  const sioDm = good(r.steps, 'socketio', 'DMs across servers').sort((a, b) => a.offered - b.offered)[0]
  const pres = r.presence.flatMap(p => p.churn)
  const presBig = [...new Set(pres.map(c => c.nodes))].sort((a, b) => b - a)[0]
  const hb = pres.find(c => c.nodes === presBig && c.targetPerSec === 0)
  const churned = pres.filter(c => c.nodes === presBig && c.targetPerSec > 0).sort((a, b) => b.churnPerSec - a.churnPerSec)[0]
  const entryBytes = r.presenceMemory?.bytesPerEntry ?? presenceMemoryBytes ?? NaN

  // ---- measured inputs
  const connHeap = (mAttach?.heapKiBPerClient ?? NaN) * KiB + (mAttach?.externalKiBPerClient ?? 0) * KiB
  const connRss = (mAttach?.rssKiBPerClient ?? NaN) * KiB
  const baseRss = (mAttach?.rssBeforeMiB ?? NaN) * 1024 * KiB
  const kLocal = local == null ? NaN : carried(local)
  const bytesPerCarried = (s: StepResult | undefined): number => {
    if (s == null) return NaN
    const k = carried(s)
    const peerIn = s.perServer.filter(p => p.role === 'server').reduce((n, p) => n + p.bytesInPeer, 0)
    return peerIn / (s.offered * s.counterSeconds * Math.max(0.01, k - 1))
  }
  const meshBytesPerCarried = bytesPerCarried(local)
  const clientOutPerFrame = local == null
    ? NaN
    : local.perServer.reduce((n, p) => n + p.bytesOutClient, 0) / (local.offered * local.counterSeconds * P.roomSize)
  const clientInPerMsg = local == null ? NaN : local.perServer.reduce((n, p) => n + p.bytesInClient, 0) / (local.offered * local.counterSeconds)
  const dmCpu = dm == null ? NaN : cpuPerMsg(dm)
  const dmPeerBytes = dm == null ? NaN : dm.perServer.filter(p => p.role === 'server').reduce((n, p) => n + p.bytesInPeer, 0) / (dm.offered * dm.counterSeconds)
  const hbPerPeer = hb == null ? NaN : hb.presenceBytesInPerSec / Math.max(1, hb.nodes - 1)
  const hbSocketPerPeer = hb == null ? NaN : hb.meshBytesInPerSec / Math.max(1, hb.nodes - 1)
  const perChurn = hb == null || churned == null ? NaN : (churned.presenceBytesInPerSec - hb.presenceBytesInPerSec) / Math.max(0.1, churned.churnPerSec)
  const perChurnSocket = hb == null || churned == null ? NaN : (churned.meshBytesInPerSec - hb.meshBytesInPerSec) / Math.max(0.1, churned.churnPerSec)
  const idleCpuPerPeer = hb == null ? NaN : hb.cpuPerNode / Math.max(1, hb.nodes - 1)
  // CPU per churn event over the whole mesh, h + N·p: the attaching node's handshake and session (h) and
  // every node applying the presence delta (p); fitted when churn was measured at two mesh sizes
  const churnPoints = [...new Set(pres.map(c => c.nodes))].map(n => {
    const base = pres.find(c => c.nodes === n && c.targetPerSec === 0)
    const busy = pres.filter(c => c.nodes === n && c.targetPerSec > 0).sort((a, b) => b.churnPerSec - a.churnPerSec)[0]
    return base == null || busy == null ? undefined : { n, perEvent: (busy.cpuPerNode - base.cpuPerNode) * n / Math.max(0.1, busy.churnPerSec) }
  }).filter((x): x is { n: number, perEvent: number } => x != null).sort((a, b) => a.n - b.n)
  const c0 = churnPoints[0]
  const c1 = churnPoints[churnPoints.length - 1]
  const churnP = c0 != null && c1 != null && c1.n !== c0.n ? Math.max(0, (c1.perEvent - c0.perEvent) / (c1.n - c0.n)) : 0
  const churnH = c1 == null ? NaN : Math.max(0, c1.perEvent - churnP * c1.n)
  const churnCpuAt = (n: number): number => churnH + churnP * n
  const churnCpu = c1?.perEvent ?? NaN
  const sioCpu = sioStep == null ? NaN : cpuPerMsg(sioStep)
  const sioRedisPerMsg = sioStep == null ? NaN : sioStep.perServer.filter(p => p.role === 'server').reduce((n, p) => n + p.bytesInPeer, 0) / sioStep.servers / (sioStep.offered * sioStep.counterSeconds)
  const sioDmCpu = sioDm == null ? NaN : cpuPerMsg(sioDm)
  const sioConnRss = (sAttach?.rssKiBPerClient ?? NaN) * KiB
  const sioConnHeap = (sAttach?.heapKiBPerClient ?? NaN) * KiB
  const idlePerClient = mIdle?.idleCoresAfter == null ? 0 : Math.max(0, mIdle.idleCoresAfter - mIdle.idleCoresBefore) / mIdle.clients
  const memFrom = mAttach == null ? 'not measured' : `${mAttach.clients.toLocaleString('en-US')} idle clients on one node`

  const inputs: Array<[string, string, string]> = [
    ['server memory per idle client, live heap + buffers after GC (meshchat)', `${f(connHeap / KiB, 1)} KiB`, memFrom],
    ['server RSS growth per idle client (meshchat)', `${f(connRss / KiB, 1)} KiB`, memFrom],
    ['node RSS with no clients', `${f(baseRss / 1024 / KiB)} MiB`, 'the same node, before'],
    ['server CPU per idle connected client', `${f(idlePerClient * 1e6, 1)} µs/s`, mIdle == null ? '' : `idle CPU of one node with ${mIdle.clients.toLocaleString('en-US')} clients minus with none`],
    ['presence replica per online device (every node holds all of them)', `${f(entryBytes)} B`, 'presence-memory.ts'],
    ['server CPU per room message, per carrying node (a)', fit == null ? 'n/a' : `${f(fit.a * 1e6)} µs`, 'fit over the spread and room-local steps (room size 10)'],
    ['server CPU per room message, fixed part (b: ingress, 10 client deliveries)', fit == null ? 'n/a' : fit.b < 0 ? `${f(fit.b * 1e6)} µs (below zero: a·k + b is only an interpolation between the two points, and never below the cheaper one)` : `${f(fit.b * 1e6)} µs`, fit == null ? '' : fit.points.map(p => `${p.workload} @${p.rate}/s: k=${p.k.toFixed(2)}, ${f(p.cpuPerMsg * 1e6)} µs/msg`).join('; ')],
    ['server CPU per DM (two nodes)', `${f(dmCpu * 1e6)} µs`, dm == null ? 'no DM step under 100 ms p99' : `DMs @${dm.ratePerUser}/s`],
    ['mesh bytes in per room message per carrying node (socket level)', `${f(meshBytesPerCarried)} B`, local == null ? '' : `${local.workload} @${local.ratePerUser}/s, k=${kLocal.toFixed(2)}`],
    ['mesh bytes in per DM (socket level, both nodes)', `${f(dmPeerBytes)} B`, 'DM step'],
    ['gateway bytes out per delivered frame', `${f(clientOutPerFrame)} B`, 'room-local step'],
    ['gateway bytes in per sent message', `${f(clientInPerMsg)} B`, 'room-local step'],
    ['presence heartbeat payload in, per peer node', `${f(hbPerPeer)} B/s`, hb == null ? '' : `${hb.nodes} nodes, no churn`],
    ['all mesh bytes in with no chat traffic, per peer node (socket level)', `${f(hbSocketPerPeer)} B/s`, hb == null ? '' : `${hb.nodes} nodes, no churn (heartbeats, gossipsub control, pings)`],
    ['presence payload in per churn event, per node', `${f(perChurn)} B`, churned == null ? '' : `${churned.nodes} nodes, ${churned.churnPerSec}/s`],
    ['all mesh bytes in per churn event, per node (socket level)', `${f(perChurnSocket)} B`, ''],
    ['idle CPU per node per peer node', `${f(idleCpuPerPeer * 1000, 2)} ms/s`, ''],
    ['CPU per churn event (whole mesh) = h + N·p', `h ${f(churnH * 1000, 2)} ms, p ${f(churnP * 1000, 3)} ms`, churnPoints.map(c => `${c.n} nodes: ${f(c.perEvent * 1000, 2)} ms`).join('; ')],
    ['Socket.IO: server CPU per room message (server + Redis)', `${f(sioCpu * 1e6)} µs`, sioStep == null ? '' : `spread @${sioStep.ratePerUser}/s`],
    ['Socket.IO: Redis bytes in per broadcast, per server', `${f(sioRedisPerMsg)} B`, 'classic adapter: every server gets every broadcast'],
    ['Socket.IO: server CPU per DM', `${f(sioDmCpu * 1e6)} µs`, ''],
    ['Socket.IO: server RSS / live heap per idle client', `${f(sioConnRss / KiB, 1)} KiB / ${f(sioConnHeap / KiB, 1)} KiB`, '']
  ]

  // ---- the model
  const run = (P: typeof PROFILE): { N: number, feasible: boolean, cpu: (n: number) => number, mem: (n: number, perConn: number) => number, Rroom: number, Rdm: number, R: number, churn: number, k: number, presCpu: number } => {
    const R = P.users * P.msgsPerUserPerSec
    const Rroom = R * (1 - P.dmShare)
    const Rdm = R * P.dmShare
    const churn = P.users * P.churnPerUserPerSec
    const k = P.nodesPerRoom
    const cpu = (N: number): number => (Rroom * (fit?.perMsgAtK(k) ?? NaN) + Rdm * dmCpu + churn * churnCpuAt(N)) / N + idleCpuPerPeer * (N - 1) + (P.users / N) * idlePerClient
    const mem = (N: number, perConn: number): number => baseRss + (P.users / N) * perConn + P.users * entryBytes
    // the smallest N that satisfies connections, CPU and memory (with the RSS figure, the conservative one)
    let N = Math.ceil(P.users / P.clientsPerNode)
    const ok = (n: number): boolean => cpu(n) <= P.coresPerNode * P.cpuTarget && mem(n, connRss) <= P.ramGiB * GiB * 0.8
    while (N < 5000 && !ok(N)) N++
    if (!ok(N)) {
      // nothing fits: report the node count where a node is least loaded
      let best = Math.ceil(P.users / P.clientsPerNode)
      for (let n = best; n <= 5000; n++) if (cpu(n) < cpu(best)) best = n
      N = best
    }
    // the part of a node's CPU no number of nodes can reduce: applying every presence change
    const presCpu = churn * churnP
    return { N, feasible: ok(N), cpu, mem, Rroom, Rdm, R, churn, k, presCpu }
  }
  void churnCpu
  const base = run(P)
  const { N, Rroom, Rdm, R, churn, k } = base
  const cpuFor = base.cpu
  const memFor = base.mem
  const presIn = (N - 1) * hbSocketPerPeer + churn * perChurnSocket
  const meshIn = Rroom * (k - 1) / N * meshBytesPerCarried + Rdm / N * dmPeerBytes + presIn
  const clientOut = (Rroom * P.roomSize + Rdm * 2) / N * clientOutPerFrame
  const clientIn = R / N * clientInPerMsg
  // Socket.IO + Redis (classic adapter) with the same profile and the same number of servers
  const sioRedisIn = (Rroom + Rdm) * sioRedisPerMsg
  const outputs: Array<[string, string, string]> = [
    ['nodes', f(N), `max(users / ${f(P.clientsPerNode)} clients per node, CPU at ${P.cpuTarget * 100} % of ${P.coresPerNode} cores, RAM at 80 % of ${P.ramGiB} GiB)`],
    ['clients per node', f(P.users / N), ''],
    ['room messages / DMs per second (whole mesh)', `${f(Rroom)} / ${f(Rdm)}`, `${f(P.users)} users × ${f(P.msgsPerUserPerSec * 3600, 0)} msgs/h, ${P.dmShare * 100} % DMs`],
    ['churn events per second (whole mesh)', f(churn), `one reconnect per user per ${f(1 / P.churnPerUserPerSec / 60)} min`],
    ['memory per node: base + clients + presence replica', `${f(memFor(N, connHeap) / GiB, 1)} – ${f(memFor(N, connRss) / GiB, 1)} GiB`, `${f(baseRss / 1024 / KiB)} MiB + ${f(P.users / N)} × (${f(connHeap / KiB)}–${f(connRss / KiB)} KiB) + ${f(P.users)} × ${f(entryBytes)} B (presence alone: ${f(P.users * entryBytes / GiB, 2)} GiB on every node)`],
    ['CPU per node', `${f(cpuFor(N), 2)} cores`, `(room msgs × (a·${k} + b) + DMs × c_dm + churn × (h + N·p)) / N + idle per peer × (N − 1) + clients × idle per client`],
    ['  of which applying presence changes (churn × p, the same on every node whatever N)', `${f(base.presCpu, 2)} cores`, ''],
    ['  of which chat messages', `${f((Rroom * (fit?.perMsgAtK(k) ?? NaN) + Rdm * dmCpu) / N, 3)} cores`, ''],
    ['mesh bytes in per node', mb(meshIn), `room msgs × (k − 1) / N × ${f(meshBytesPerCarried)} B + DMs / N × ${f(dmPeerBytes)} B + presence and gossip control`],
    ['  of which presence, heartbeats and gossip control', mb(presIn), `(N − 1) × ${f(hbSocketPerPeer)} B/s + churn × ${f(perChurnSocket)} B: grows with the whole mesh, not with the node's share`],
    ['client bytes out / in per node', `${mb(clientOut)} / ${mb(clientIn)}`, `deliveries / N × ${f(clientOutPerFrame)} B; sends / N × ${f(clientInPerMsg)} B`],
    ['Socket.IO + Redis (classic): Redis bytes in per server', mb(sioRedisIn), 'every server receives every broadcast, whatever N'],
    ['Socket.IO + Redis (classic): Redis bytes out', mb(sioRedisIn * N), `× ${f(N)} servers, one Redis (or a cluster) carries all of it`],
    ['Socket.IO: memory per server for its clients', `${f((P.users / N) * sioConnRss / GiB, 2)} GiB`, 'RSS per idle client × clients per server']
  ]
  // how the answer moves with the two assumptions that matter most
  const variants: Array<[string, typeof PROFILE]> = [
    ['as above', P],
    ['5× the messages (60 per user per hour)', { ...P, msgsPerUserPerSec: 5 * P.msgsPerUserPerSec }],
    ['reconnect every 10 min', { ...P, churnPerUserPerSec: 1 / 600 }],
    ['reconnect every 5 min (mobile clients)', { ...P, churnPerUserPerSec: 1 / 300 }],
    ['rooms spread over 6 nodes (no affinity)', { ...P, nodesPerRoom: 6 }],
    ['10 million users', { ...P, users: 10_000_000 }]
  ]
  const sensitivity = table(['profile', 'nodes', 'CPU per node', 'presence CPU per node (any N)', 'memory per node (live – RSS)', 'mesh bytes in per node'],
    variants.map(([name, v]) => {
      const o = run(v)
      const pin = (o.N - 1) * hbSocketPerPeer + o.churn * perChurnSocket
      const min = o.Rroom * (o.k - 1) / o.N * meshBytesPerCarried + o.Rdm / o.N * dmPeerBytes + pin
      return [name, o.feasible ? f(o.N) : `none fits (least loaded at ${f(o.N)})`, `${f(o.cpu(o.N), 2)} cores`, `${f(o.presCpu, 2)} cores`,
        `${f(o.mem(o.N, connHeap) / GiB, 1)} – ${f(o.mem(o.N, connRss) / GiB, 1)} GiB`, mb(min)]
    }))
  return [
    `Model inputs, measured (${r.kind} run, ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.date.slice(0, 10)}):\n`,
    table(['input', 'value', 'from'], inputs),
    `\nAssumed profile: ${f(P.users)} connected users, ${f(P.msgsPerUserPerSec * 3600, 0)} messages per user per hour (${P.dmShare * 100} % DMs), rooms of ${P.roomSize} carried by ${k} nodes, one reconnect per user every ${f(1 / P.churnPerUserPerSec / 60)} minutes, ${P.coresPerNode}-core ${P.ramGiB} GiB nodes.\n`,
    table(['model output', 'value', 'formula'], outputs),
    '\nSensitivity (same measured inputs, one assumption changed at a time):\n',
    sensitivity
  ].join('\n')
}

// standalone: print the model of a results file
if (process.argv[1] != null && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('../../../', import.meta.url))
  const file = process.argv[2] ?? join(root, 'test', 'bench', 'results', 'latest.json')
  const r = JSON.parse(readFileSync(file, 'utf8')) as ModelResults
  const pm = join(root, 'test', 'bench', 'results', 'presence-memory.json')
  const entry = existsSync(pm) ? (JSON.parse(readFileSync(pm, 'utf8')) as { bytesPerEntry: number }).bytesPerEntry : undefined
  console.log(model(r, entry))
}
