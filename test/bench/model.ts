/**
 * The million-user model of docs/scaling.md, computed from a benchmark run's measured costs.
 * A MODEL: it multiplies per-client and per-message costs measured on one small machine by an
 * assumed usage profile; it is not a measurement of a million users.
 *
 *   node dist/test/bench/model.js [results.json] [--presence run.json]
 *                                  (default: test/bench/results/latest.json; --presence: the presence
 *                                  section's rows from another run)
 *
 * Chat, DM and client costs come from the run; presence costs from the presence-scale section
 * (presence-scale.json) and the heap measurement of room presence (room-presence-memory.json),
 * read next to the results file or from test/bench/results/. run.ts appends the same tables to
 * latest.md after every run.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
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

/** One row of presence-scale.json: per node, at one mesh size and one churn rate (later fields optional). */
export interface PresenceScaleRow {
  nodes: number
  users: number
  rooms: number
  churnTarget?: number
  churnPerSec: number
  entriesPerNode: number
  hostPairsPerNode: number
  presenceBytesInPerSec: number
  roomBytesInPerSec: number
  directoryBytesInPerSec?: number
  /** directory requests between nodes per reconnect, mesh-wide */
  directoryRequestsPerReconnect?: number
  presenceCpuPerNode?: number
  idleCpuPerNode: number
  churnCpuPerNode: number
}

/** room-presence-memory.json: heap per held item */
export interface RoomPresenceMemory {
  roomPresence: { bytesPerDevice: number }
  hosts: { bytesPerPair: number }
  directory?: { bytesPerRecord: number }
  /** gossipsub's table of the peers' topic subscriptions, per (topic, peer) pair (later runs) */
  gossipsubSubscriptions?: { bytesPerPair: number }
}

/** The presence measurements the model reads, and the files they came from. */
export interface PresenceInputs {
  scale?: { at?: string, rows: PresenceScaleRow[] }
  scaleFrom?: string
  memory?: RoomPresenceMemory
  memoryFrom?: string
}

function readJson<T> (file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T
  } catch {
    return undefined
  }
}

/** the repository root: the nearest directory above this file with a package.json */
function repoRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir
    dir = dirname(dir)
  }
  return process.cwd()
}

/**
 * Reads presence-scale.json and room-presence-memory.json next to `resultsFile` or, failing that,
 * from test/bench/results/. A file that is absent or unreadable is left out (the model then says
 * "not measured").
 */
export function loadPresenceInputs (resultsFile?: string): PresenceInputs {
  const dirs = [...(resultsFile == null ? [] : [dirname(resultsFile)]), join(repoRoot(), 'test', 'bench', 'results')]
  const find = <T>(name: string, ok: (x: T) => boolean): { value: T, from: string } | undefined => {
    for (const d of dirs) {
      const file = join(d, name)
      const value = existsSync(file) ? readJson<T>(file) : undefined
      if (value != null && ok(value)) return { value, from: file }
    }
    return undefined
  }
  const scale = find<{ at?: string, rows: PresenceScaleRow[] }>('presence-scale.json', x => Array.isArray(x.rows) && x.rows.length > 0)
  const memory = find<RoomPresenceMemory>('room-presence-memory.json', x => x.roomPresence?.bytesPerDevice > 0 && x.hosts?.bytesPerPair > 0)
  return { scale: scale?.value, scaleFrom: scale?.from, memory: memory?.value, memoryFrom: memory?.from }
}

/** What the model takes from the presence-scale rows; NaN where it was not measured. */
export interface PresenceFit {
  /** room presence device records a node held per (own device, room), with every room's members on one node: 1 + m at m = 1 */
  recordsPerOwnDeviceRoom: number
  /** global presence payload in per peer node (heartbeats; host changes when rooms appear on or leave a node), B/s */
  hbPayloadPerPeer: number
  /** room presence payload per reconnect, mesh-wide (one room per user in the bench), B */
  roomBytesPerReconnect: number
  /** directory payload per reconnect, mesh-wide, B (NaN: not measured apart; then inside hbPayloadPerPeer), per mesh size and as h + p·N */
  dirBytesByN: Array<{ n: number, v: number }>
  dirBytes: Line
  /** process CPU per reconnect, mesh-wide, per mesh size (all of a reconnect: session, key proof, join, presence, directory) */
  cpuPerReconnectByN: Array<{ n: number, v: number }>
  /** the line h + p·N through them */
  cpuPerReconnectLine: Line
  /**
   * directory requests between nodes per reconnect, mesh-wide, per mesh size (empty: not measured).
   * A reconnect's detach and attach each go to the user's K owners, less those that are the node
   * itself (K/N of them) and those that share a request: r(N) ≤ 2·K·(N − 1)/N < 2·K, however large
   * the mesh
   */
  requestsByN: Array<{ n: number, v: number }>
  /**
   * c_r = h + q·r: the CPU per reconnect over the directory requests per reconnect, through the
   * measured mesh sizes (NaN when the requests were not measured). What the model uses: the part
   * that grows with N is the requests to other owners, and they stop growing at 2·K
   */
  cpuOverRequests: Line
  /** directory payload per request, B (mean over the mesh sizes): b_dir(N) = this · r(N) */
  dirBytesPerRequest: number
  /** the largest of them: the model's alternative reading, a cost per reconnect that does not grow with N */
  cpuPerReconnect: number
  /** presence and directory code's CPU per reconnect, mesh-wide (NaN: not measured), the largest over mesh sizes */
  presenceCpuPerReconnect: number
  presenceCpuByN: Array<{ n: number, v: number }>
  /** true when presence CPU per reconnect is a slope over two or more churn rates (else presence CPU ÷ churn, heartbeats included) */
  presenceCpuIsSlope: boolean
  /** mesh sizes and churn rates measured */
  sizes: number[]
  rates: number[]
  usersInBench: number
}

/** y = h + p·x, both parts at least zero; NaN when fewer than one point */
export interface Line { h: number, p: number }

/** the least-squares line through (N, value) points, its slope and intercept clamped at zero; one point: flat */
export function lineOverN (pts: ReadonlyArray<{ n: number, v: number }>): Line {
  const ok = pts.filter(x => Number.isFinite(x.v))
  if (ok.length === 0) return { h: NaN, p: NaN }
  const p = ok.length < 2 ? 0 : Math.max(0, slope(ok.map(x => [x.n, x.v])))
  const h = Math.max(0, mean(ok.map(x => x.v)) - p * mean(ok.map(x => x.n)))
  return { h, p: Number.isFinite(p) ? p : 0 }
}

/** slope of y over x through the points (least squares) */
function slope (pts: Array<[number, number]>): number {
  if (pts.length < 2) return NaN
  const mx = pts.reduce((n, p) => n + p[0], 0) / pts.length
  const my = pts.reduce((n, p) => n + p[1], 0) / pts.length
  const sxx = pts.reduce((n, p) => n + (p[0] - mx) ** 2, 0)
  const sxy = pts.reduce((n, p) => n + (p[0] - mx) * (p[1] - my), 0)
  return sxx === 0 ? NaN : sxy / sxx
}

const mean = (xs: number[]): number => xs.length === 0 ? NaN : xs.reduce((n, x) => n + x, 0) / xs.length
const maxOf = (xs: number[]): number => xs.filter(Number.isFinite).reduce((m, x) => Math.max(m, x), -Infinity)

/**
 * The presence inputs from the presence-scale rows. In that workload every room's members sit on one
 * node, so every change a node handles is of its own reconnects or of the users it owns in the
 * directory, all in proportion to churn / N: the CPU per reconnect is the slope of a node's CPU over
 * churn / N, with the idle window as the zero-churn point.
 */
export function fitPresence (rows: readonly PresenceScaleRow[]): PresenceFit {
  const churned = rows.filter(r => r.churnPerSec > 0 && r.nodes > 1)
  const sizes = [...new Set(churned.map(r => r.nodes))].sort((a, b) => a - b)
  const rates = [...new Set(churned.map(r => r.churnTarget ?? r.churnPerSec))].sort((a, b) => a - b)
  const records = mean(churned.map(r => (r.entriesPerNode - r.hostPairsPerNode) * r.nodes / Math.max(1, r.users)))
  const biggest = churned.filter(r => r.nodes === sizes[sizes.length - 1])
  const global = (r: PresenceScaleRow): number => r.presenceBytesInPerSec - r.roomBytesInPerSec - (r.directoryBytesInPerSec ?? 0)
  const hb = mean(biggest.map(r => global(r) / (r.nodes - 1)))
  const roomBytes = mean(churned.map(r => r.roomBytesInPerSec * r.nodes / r.churnPerSec))
  const dirRows = churned.filter(r => r.directoryBytesInPerSec != null)
  const dirBytesByN = [...new Set(dirRows.map(r => r.nodes))].sort((a, b) => a - b)
    .map(n => ({ n, v: mean(dirRows.filter(r => r.nodes === n).map(r => (r.directoryBytesInPerSec ?? 0) * n / r.churnPerSec)) }))
  const cpuPerReconnectByN = sizes.map(n => {
    const at = churned.filter(r => r.nodes === n)
    const pts: Array<[number, number]> = [[0, mean(at.map(r => r.idleCpuPerNode))], ...at.map(r => [r.churnPerSec / n, r.churnCpuPerNode] as [number, number])]
    return { n, v: Math.max(0, slope(pts)) }
  })
  const reqRows = churned.filter(r => r.directoryRequestsPerReconnect != null)
  const requestsByN = [...new Set(reqRows.map(r => r.nodes))].sort((a, b) => a - b)
    .map(n => ({ n, v: mean(reqRows.filter(r => r.nodes === n).map(r => r.directoryRequestsPerReconnect ?? NaN)) }))
  const reqAt = new Map(requestsByN.map(x => [x.n, x.v]))
  const cpuOverRequests = lineOverN(cpuPerReconnectByN.filter(x => reqAt.has(x.n)).map(x => ({ n: reqAt.get(x.n) ?? NaN, v: x.v })))
  const dirBytesPerRequest = mean(dirBytesByN.filter(x => (reqAt.get(x.n) ?? 0) > 0).map(x => x.v / (reqAt.get(x.n) ?? NaN)))
  const pRows = churned.filter(r => r.presenceCpuPerNode != null)
  const pSizes = [...new Set(pRows.map(r => r.nodes))].sort((a, b) => a - b)
  const presenceCpuIsSlope = pSizes.length > 0 && pSizes.every(n => pRows.filter(r => r.nodes === n).length >= 2)
  const presenceCpuByN = pSizes.map(n => {
    const at = pRows.filter(r => r.nodes === n)
    const v = presenceCpuIsSlope
      ? slope(at.map(r => [r.churnPerSec / n, r.presenceCpuPerNode ?? 0]))
      : mean(at.map(r => (r.presenceCpuPerNode ?? 0) / (r.churnPerSec / n)))
    return { n, v: Math.max(0, v) }
  })
  return {
    recordsPerOwnDeviceRoom: records,
    hbPayloadPerPeer: hb,
    roomBytesPerReconnect: roomBytes,
    dirBytesByN,
    dirBytes: lineOverN(dirBytesByN),
    cpuPerReconnectByN,
    cpuPerReconnectLine: lineOverN(cpuPerReconnectByN),
    requestsByN,
    cpuOverRequests: requestsByN.length >= 2 ? cpuOverRequests : { h: NaN, p: NaN },
    dirBytesPerRequest: requestsByN.length >= 2 ? dirBytesPerRequest : NaN,
    cpuPerReconnect: cpuPerReconnectByN.length === 0 ? NaN : maxOf(cpuPerReconnectByN.map(x => x.v)),
    presenceCpuPerReconnect: presenceCpuByN.length === 0 ? NaN : maxOf(presenceCpuByN.map(x => x.v)),
    presenceCpuByN,
    presenceCpuIsSlope,
    sizes,
    rates,
    usersInBench: churned[0]?.users ?? 0
  }
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
  /** rooms each user is in (the churn measurements join two per reconnect) */
  roomsPerUser: 2,
  /**
   * nodes carrying a room: its members' nodes plus K = 2 archive replicas. With affinity placement a
   * room's members sit on one or two nodes; the room-local workload measures about this.
   */
  nodesPerRoom: 3,
  /** nodes hosting a room's members (m): they, and only they, follow who is in the room */
  memberNodesPerRoom: 2,
  /** directory owners per user (K, rendezvous hashing, as mailboxes) */
  directoryOwners: 2,
  /** users a node follows for its clients' DMs and watch lists: the directory service's bound, taken in full */
  followedPerNode: 5000,
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

/** a presence term's value, or "not measured" */
const nm = (x: number, show: (x: number) => string): string => Number.isFinite(x) ? show(x) : 'not measured'

/**
 * The model's tables for a run: chat, DM and client costs from `r`, presence costs from `presence`
 * (by default presence-scale.json and room-presence-memory.json in test/bench/results/).
 */
export function model (r: ModelResults, presence: PresenceInputs = loadPresenceInputs()): string {
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

  // ---- measured inputs: chat, DMs, clients (the run)
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
  const sioCpu = sioStep == null ? NaN : cpuPerMsg(sioStep)
  const sioRedisPerMsg = sioStep == null ? NaN : sioStep.perServer.filter(p => p.role === 'server').reduce((n, p) => n + p.bytesInPeer, 0) / sioStep.servers / (sioStep.offered * sioStep.counterSeconds)
  const sioDmCpu = sioDm == null ? NaN : cpuPerMsg(sioDm)
  const sioConnRss = (sAttach?.rssKiBPerClient ?? NaN) * KiB
  const sioConnHeap = (sAttach?.heapKiBPerClient ?? NaN) * KiB
  const idlePerClient = mIdle?.idleCoresAfter == null ? 0 : Math.max(0, mIdle.idleCoresAfter - mIdle.idleCoresBefore) / mIdle.clients
  const memFrom = mAttach == null ? 'not measured' : `${mAttach.clients.toLocaleString('en-US')} idle clients on one node`

  // ---- the mesh's fixed cost per peer node (the run's no-churn presence rows): idle CPU = i0 + i·(N − 1)
  const pres = r.presence.flatMap(p => p.churn)
  const idleRows = [...new Set(pres.map(c => c.nodes))].sort((a, b) => a - b)
    .map(n => pres.find(c => c.nodes === n && c.targetPerSec === 0)).filter((c): c is NonNullable<typeof c> => c != null)
  const hb = idleRows[idleRows.length - 1]
  const hb0 = idleRows[0]
  const twoSizes = hb != null && hb0 != null && hb.nodes !== hb0.nodes
  const idlePerPeer = hb == null ? NaN : twoSizes ? Math.max(0, (hb.cpuPerNode - hb0.cpuPerNode) / (hb.nodes - hb0.nodes)) : hb.cpuPerNode / Math.max(1, hb.nodes - 1)
  const idleBase = hb == null ? NaN : twoSizes ? Math.max(0, hb.cpuPerNode - idlePerPeer * (hb.nodes - 1)) : 0
  // node-to-node bytes per peer with no chat: the run's socket-level figure less its presence payload
  // (gossipsub control, pings, framing), plus today's heartbeat payload from presence-scale
  const otherPerPeer = hb == null ? NaN : Math.max(0, (hb.meshBytesInPerSec - hb.presenceBytesInPerSec) / Math.max(1, hb.nodes - 1))

  // ---- presence (presence-scale.json, room-presence-memory.json)
  const pf = presence.scale == null ? undefined : fitPresence(presence.scale.rows)
  const hbPayload = pf?.hbPayloadPerPeer ?? NaN
  const idleBytesPerPeer = otherPerPeer + hbPayload
  const ePres = presence.memory?.roomPresence.bytesPerDevice ?? NaN
  const eHost = presence.memory?.hosts.bytesPerPair ?? NaN
  // not presence: the transport's own table of who carries each room (every carrier of every room, on
  // every node it is connected to); counted in memory when measured, 0 (and said so) when not
  const eSubMeasured = presence.memory?.gossipsubSubscriptions?.bytesPerPair
  const eSub = eSubMeasured ?? 0
  const memSubsAt = (P: Profile): number => P.users * P.roomsPerUser / P.roomSize * P.nodesPerRoom * eSub
  const eDirMeasured = presence.memory?.directory?.bytesPerRecord
  const eDir = eDirMeasured ?? ePres
  const cLine = pf?.cpuPerReconnectLine ?? { h: NaN, p: NaN }
  const cMax = pf?.cpuPerReconnect ?? NaN
  // the reading of the reconnect cost the model uses: over the directory requests per reconnect
  // when they were measured (bounded whatever N), else the line over N through the measured sizes
  const cReq = pf?.cpuOverRequests ?? { h: NaN, p: NaN }
  const byRequests = Number.isFinite(cReq.h) && Number.isFinite(cReq.p) && Number.isFinite(pf?.dirBytesPerRequest ?? NaN)
  const bPerReq = pf?.dirBytesPerRequest ?? NaN
  /** directory requests to other nodes per reconnect, mesh-wide, at N nodes: no request shared, none to the node itself only when it is an owner */
  const rAt = (P: typeof PROFILE, N: number): number => 2 * P.directoryOwners * (N - 1) / N
  const pRxMeasured = pf != null && Number.isFinite(pf.presenceCpuPerReconnect)
  const pRx = pf == null ? NaN : pRxMeasured ? pf.presenceCpuPerReconnect : pf.cpuPerReconnect
  // room presence bytes per reconnect: measured when a room of presence-scale spans nodes; when none
  // did (every room on one node: nothing to push), the run's presence payload per node per reconnect
  // anywhere (its largest churned mesh) stands in, an upper bound for one push
  const runChurned = pres.filter(c => c.targetPerSec > 0 && c.churnPerSec > 0 && hb != null && c.nodes === hb.nodes).sort((a, b) => b.churnPerSec - a.churnPerSec)[0]
  const runPerReconnect = runChurned == null || hb == null ? NaN : Math.max(0, (runChurned.presenceBytesInPerSec - hb.presenceBytesInPerSec) / runChurned.churnPerSec)
  const bRoomMeasured = pf != null && pf.roomBytesPerReconnect > 0
  const bRoom = bRoomMeasured ? (pf?.roomBytesPerReconnect ?? NaN) : runPerReconnect
  const dirApart = pf != null && pf.dirBytesByN.length > 0
  const bDir: Line = dirApart && pf != null ? pf.dirBytes : { h: 0, p: 0 }
  const bDirMax = dirApart && pf != null ? maxOf(pf.dirBytesByN.map(x => x.v)) : 0
  const scaleName = presence.scaleFrom == null ? 'presence-scale.json not found: not measured' : `presence-scale.json (${presence.scale?.at?.slice(0, 16) ?? '?'}), N = ${pf?.sizes.join(', ') ?? '?'}, ${pf?.usersInBench ?? '?'} users, churn ${pf?.rates.join(' and ') ?? '?'}/s`
  const memName = presence.memoryFrom == null ? 'room-presence-memory.json not found: not measured' : 'room-presence-memory.json'
  const byN = (xs: Array<{ n: number, v: number }>, unit: (v: number) => string): string => xs.map(x => `N = ${x.n}: ${unit(x.v)}`).join('; ')
  const ms = (v: number): string => `${f(v * 1000, 1)} ms`

  const inputs: Array<[string, string, string]> = [
    ['server memory per idle client, live heap + buffers after GC (meshchat)', `${f(connHeap / KiB, 1)} KiB`, memFrom],
    ['server RSS growth per idle client (meshchat)', `${f(connRss / KiB, 1)} KiB`, memFrom],
    ['node RSS with no clients', `${f(baseRss / 1024 / KiB)} MiB`, 'the same node, before'],
    ['server CPU per idle connected client', `${f(idlePerClient * 1e6, 1)} µs/s`, mIdle == null ? '' : `idle CPU of one node with ${mIdle.clients.toLocaleString('en-US')} clients minus with none`],
    ['server CPU per room message, per carrying node (a)', fit == null ? 'n/a' : `${f(fit.a * 1e6)} µs`, 'fit over the spread and room-local steps (room size 10)'],
    ['server CPU per room message, fixed part (b: ingress, 10 client deliveries)', fit == null ? 'n/a' : fit.b < 0 ? `${f(fit.b * 1e6)} µs (below zero: a·k + b is only an interpolation between the two points, and never below the cheaper one)` : `${f(fit.b * 1e6)} µs`, fit == null ? '' : fit.points.map(p => `${p.workload} @${p.rate}/s: k=${p.k.toFixed(2)}, ${f(p.cpuPerMsg * 1e6)} µs/msg`).join('; ')],
    ['server CPU per DM (two nodes)', `${f(dmCpu * 1e6)} µs`, dm == null ? 'no DM step under 100 ms p99' : `DMs @${dm.ratePerUser}/s`],
    ['mesh bytes in per room message per carrying node (socket level)', `${f(meshBytesPerCarried)} B`, local == null ? '' : `${local.workload} @${local.ratePerUser}/s, k=${kLocal.toFixed(2)}`],
    ['mesh bytes in per DM (socket level, both nodes)', `${f(dmPeerBytes)} B`, 'DM step'],
    ['gateway bytes out per delivered frame', `${f(clientOutPerFrame)} B`, 'room-local step'],
    ['gateway bytes in per sent message', `${f(clientInPerMsg)} B`, 'room-local step'],
    ['idle CPU per node = i0 + i·(N − 1)', hb == null ? 'not measured' : `i0 ${f(idleBase, 3)} cores, i ${f(idlePerPeer * 1000, 2)} ms/s per peer`, idleRows.map(c => `${c.nodes} nodes, no churn: ${f(c.cpuPerNode, 3)} cores`).join('; ') + (twoSizes ? ' (line through the two)' : ' (all of it per peer)')],
    ['B_mesh: node-to-node bytes in per peer with no chat, not presence (socket level: gossipsub control, pings, framing)', nm(otherPerPeer, x => `${f(x)} B/s`), hb == null ? '' : `${hb.nodes} nodes, no churn: all mesh bytes less presence payload`],
    ['B_hb: global presence payload in per peer (heartbeats)', nm(hbPayload, x => `${f(x)} B/s`), `${scaleName}; the largest mesh, churn window (global topic${dirApart ? '' : ' and directory'} bytes ÷ (N − 1))`],
    ['e_rp: room presence, heap per held device record', nm(ePres, x => `${f(x)} B`), memName],
    ['e_host: room-host pair in global presence, on every node', nm(eHost, x => `${f(x)} B`), memName],
    ['e_sub: a peer\'s subscription to a room topic in gossipsub, on every node', eSubMeasured == null ? 'not measured (counted as 0)' : `${f(eSubMeasured)} B`, eSubMeasured == null ? '' : `${memName} (a real gossipsub fed 20 peers' SUBSCRIBEs)`],
    ['e_dir: directory record', eDirMeasured != null ? `${f(eDir)} B` : nm(eDir, x => `${f(x)} B (not measured: e_rp stands in, the same fields)`), eDirMeasured != null ? memName : ''],
    ['room presence device records a node reports per (own device, room), every room on one node', nm(pf?.recordsPerOwnDeviceRoom ?? NaN, x => f(x, 2)), 'presence-scale: (entries − host pairs) · N ÷ users (the receiving side; the formula adds the writer\'s own copy: 1 + m per device and room)'],
    ['b_rp: room presence payload per reconnect and room, to one other member node', bRoomMeasured ? `${f(bRoom)} B` : nm(bRoom, x => `${f(x)} B (stand-in)`), bRoomMeasured ? 'presence-scale: room presence bytes in · N ÷ churn (one room per user there)' : `not measured apart (no presence-scale room spans two nodes): the run's presence payload per node per reconnect${runChurned == null ? '' : ` (${runChurned.nodes} nodes, ${runChurned.churnPerSec}/s)`}, an upper bound`],
    [`b_dir(N) = h + p·N: directory payload per reconnect, mesh-wide${byRequests ? ', as a line over N (sensitivity)' : ''}`, dirApart ? `h ${f(bDir.h)} B, p ${f(bDir.p)} B per node` : pf == null ? 'not measured' : 'not measured apart (inside B_hb)', dirApart && pf != null ? `presence-scale: directory bytes in · N ÷ churn, ${byN(pf.dirBytesByN, v => `${f(v)} B`)}; line through them` : ''],
    ...(byRequests && pf != null
      ? [['r(N): directory requests to other nodes per reconnect, mesh-wide', byN(pf.requestsByN, v => f(v, 2)), `presence-scale (a detach and an attach, each to the user's K = ${P.directoryOwners} owners less the node itself, several changes to one owner sharing a request); the model takes r(N) = 2·K·(N − 1)/N, none shared: ${f(rAt(P, 100), 2)} at 100 nodes, below 2·K = ${2 * P.directoryOwners} at any N`] as [string, string, string],
          ['c_r(N) = h + q·r(N): process CPU per reconnect, mesh-wide (session, key proof, join, room presence, directory)', `h ${ms(cReq.h)}, q ${ms(cReq.p)} per directory request`, `the same CPU per reconnect as the line below (${byN(pf.cpuPerReconnectByN, ms)}), over the requests per reconnect at each mesh size; line through them`] as [string, string, string],
          ['b_dir(N) = b_req · r(N): directory payload per reconnect, mesh-wide', `b_req ${f(bPerReq)} B per request`, `presence-scale: directory bytes in · N ÷ churn ÷ r(N), mean over the mesh sizes (${byN(pf.dirBytesByN, v => `${f(v)} B`)})`] as [string, string, string]]
      : []),
    [`c_r(N) = h + p·N: process CPU per reconnect, mesh-wide${byRequests ? ', as a line over N (a sensitivity row; the model uses c_r over r(N))' : ' (session, key proof, join, room presence, directory)'}`, Number.isFinite(cLine.h) ? `h ${ms(cLine.h)}, p ${f(cLine.p * 1000, 2)} ms per node` : 'not measured', pf == null ? '' : `slope of a node's CPU over its reconnects/s (idle window = 0): ${byN(pf.cpuPerReconnectByN, ms)}; line through them`],
    ['p_rx: CPU per room presence change a node receives', pRxMeasured ? ms(pRx) : nm(pRx, x => `${ms(x)} (presence CPU not measured: c_r stands in)`), pRxMeasured && pf != null ? `presence and directory code's CPU per reconnect, ${pf.presenceCpuIsSlope ? 'slope over the churn rates' : 'heartbeats included'}, largest of ${byN(pf.presenceCpuByN, ms)} (an upper bound: all of a reconnect's presence work)` : 'an upper bound'],
    ['Socket.IO: server CPU per room message (server + Redis)', `${f(sioCpu * 1e6)} µs`, sioStep == null ? '' : `spread @${sioStep.ratePerUser}/s`],
    ['Socket.IO: Redis bytes in per broadcast, per server', `${f(sioRedisPerMsg)} B`, 'classic adapter: every server gets every broadcast'],
    ['Socket.IO: server CPU per DM', `${f(sioDmCpu * 1e6)} µs`, ''],
    ['Socket.IO: server RSS / live heap per idle client', `${f(sioConnRss / KiB, 1)} KiB / ${f(sioConnHeap / KiB, 1)} KiB`, '']
  ]

  // ---- the model
  type Profile = typeof PROFILE
  /** presence per node with N nodes: memory (B), CPU (cores), node-to-node bytes in (B/s) */
  type Reading = 'requests' | 'line' | 'flat'
  const main: Reading = byRequests ? 'requests' : 'line'
  const cAt = (P: Profile, N: number, how: Reading): number => how === 'flat' ? cMax : how === 'requests' ? cReq.h + cReq.p * rAt(P, N) : cLine.h + cLine.p * N
  const bDirAt = (P: Profile, N: number, how: Reading): number => how === 'flat' ? bDirMax : how === 'requests' ? bPerReq * rAt(P, N) : bDir.h + bDir.p * N
  const presenceAt = (P: Profile, N: number, how: Reading = main): { memRooms: number, memHosts: number, memDir: number, mem: number, cpuLive: number, cpuOwn: number, cpuRx: number, cpuFollow: number, cpu: number, bytesLive: number, bytesChurn: number, bytes: number } => {
    const U = P.users
    const rho = P.roomsPerUser
    const m = P.memberNodesPerRoom
    const F = Math.min(P.followedPerNode, U)
    const churn = U * P.churnPerUserPerSec
    const memRooms = U * rho * (1 + m) / N * ePres
    const memHosts = U * rho / P.roomSize * m * eHost
    const memDir = (U * P.directoryOwners / N + F) * eDir
    const cpuLive = idleBase + idlePerPeer * (N - 1)
    const cpuOwn = churn / N * cAt(P, N, how)
    const cpuRx = churn * rho * (m - 1) / N * pRx
    const cpuFollow = F * P.churnPerUserPerSec * pRx
    const bytesLive = (N - 1) * idleBytesPerPeer
    const bytesChurn = churn / N * (rho * (m - 1) * bRoom + bDirAt(P, N, how)) + F * P.churnPerUserPerSec * bRoom
    return { memRooms, memHosts, memDir, mem: memRooms + memHosts + memDir, cpuLive, cpuOwn, cpuRx, cpuFollow, cpu: cpuLive + cpuOwn + cpuRx + cpuFollow, bytesLive, bytesChurn, bytes: bytesLive + bytesChurn }
  }
  const run = (P: Profile, how: Reading = main): { N: number, feasible: boolean, limit: string, cpu: (n: number) => number, chatCpu: (n: number) => number, mem: (n: number, perConn: number) => number, meshIn: (n: number) => number, Rroom: number, Rdm: number, R: number, churn: number, k: number } => {
    const R = P.users * P.msgsPerUserPerSec
    const Rroom = R * (1 - P.dmShare)
    const Rdm = R * P.dmShare
    const churn = P.users * P.churnPerUserPerSec
    const k = P.nodesPerRoom
    const chatCpu = (N: number): number => (Rroom * (fit?.perMsgAtK(k) ?? NaN) + Rdm * dmCpu) / N
    const cpu = (N: number): number => chatCpu(N) + (P.users / N) * idlePerClient + presenceAt(P, N, how).cpu
    const mem = (N: number, perConn: number): number => baseRss + (P.users / N) * perConn + presenceAt(P, N, how).mem + memSubsAt(P)
    const meshIn = (N: number): number => Rroom * (k - 1) / N * meshBytesPerCarried + Rdm / N * dmPeerBytes + presenceAt(P, N, how).bytes
    const cpuMax = P.coresPerNode * P.cpuTarget
    const memMax = P.ramGiB * GiB * 0.8
    // the smallest N that satisfies connections, CPU and memory (with the RSS figure, the conservative one)
    const first = Math.ceil(P.users / P.clientsPerNode)
    const last = first * 20
    const ok = (n: number): boolean => cpu(n) <= cpuMax && mem(n, connRss) <= memMax
    let N = first
    while (N < last && !ok(N)) N++
    const feasible = ok(N)
    let limit: string
    if (!Number.isFinite(cpu(first)) || !Number.isFinite(mem(first, connRss))) {
      N = first
      limit = `not measured (${[!Number.isFinite(cpu(first)) ? 'CPU' : '', !Number.isFinite(mem(first, connRss)) ? 'memory' : ''].filter(x => x !== '').join(' and ')} inputs missing from this run)`
    } else if (feasible) {
      limit = N === first ? `clients per node (${f(P.clientsPerNode)})` : cpu(N - 1) > cpuMax ? 'CPU' : 'memory'
    } else {
      // nothing fits: report the node count where a node is least loaded, and by how much it is over
      let best = first
      for (let n = first; n <= last; n++) if (cpu(n) < cpu(best)) best = n
      N = best
      const over: string[] = []
      if (!(cpu(N) <= cpuMax)) over.push(`CPU ${f(cpu(N), 2)} of ${f(cpuMax, 1)} cores, of which ${f(presenceAt(P, N, how).cpu, 2)} presence and reconnects${how === 'line' ? ` (c·p, the same at any N: ${f(churn * cLine.p, 2)})` : ''}`)
      if (!(mem(N, connRss) <= memMax)) over.push(`memory ${f(mem(N, connRss) / GiB, 1)} of ${f(memMax / GiB, 1)} GiB`)
      limit = over.join(', ')
    }
    return { N, feasible, limit, cpu, chatCpu, mem, meshIn, Rroom, Rdm, R, churn, k }
  }
  const base = run(P)
  const { N, Rroom, Rdm, R, churn, k } = base
  const pr = presenceAt(P, N)
  const clientOut = (Rroom * P.roomSize + Rdm * 2) / N * clientOutPerFrame
  const clientIn = R / N * clientInPerMsg
  // Socket.IO + Redis (classic adapter) with the same profile and the same number of servers
  const sioRedisIn = (Rroom + Rdm) * sioRedisPerMsg
  const mib = (x: number): string => `${f(x / (1024 * KiB), 1)} MiB`
  const chatIn = Rroom * (k - 1) / N * meshBytesPerCarried + Rdm / N * dmPeerBytes
  const outputs: Array<[string, string, string]> = [
    ['nodes', Number.isFinite(base.cpu(N)) && Number.isFinite(base.mem(N, connRss)) ? f(N) : 'n/a', `max(users / ${f(P.clientsPerNode)} clients per node, CPU at ${P.cpuTarget * 100} % of ${P.coresPerNode} cores, RAM at 80 % of ${P.ramGiB} GiB): ${base.feasible ? `${base.limit} decides` : base.limit.startsWith('not measured') ? base.limit : `none fits (${base.limit})`}`],
    ['clients per node', f(P.users / N), ''],
    ['room messages / DMs per second (whole mesh)', `${f(Rroom)} / ${f(Rdm)}`, `${f(P.users)} users × ${f(P.msgsPerUserPerSec * 3600, 0)} msgs/h, ${P.dmShare * 100} % DMs`],
    ['reconnects per second (whole mesh)', f(churn), `one reconnect per user per ${f(1 / P.churnPerUserPerSec / 60)} min`],
    ['memory per node', `${f(base.mem(N, connHeap) / GiB, 2)} – ${f(base.mem(N, connRss) / GiB, 2)} GiB`, `${f(baseRss / 1024 / KiB)} MiB + ${f(P.users / N)} clients × (${f(connHeap / KiB)}–${f(connRss / KiB)} KiB) + presence${eSubMeasured == null ? '' : ' + gossipsub subscriptions'}`],
    ['  of which presence', mib(pr.mem), ''],
    ['    room presence: U·ρ·(1 + m) / N · e_rp', mib(pr.memRooms), `${f(P.users)} × ${P.roomsPerUser} × ${1 + P.memberNodesPerRoom} / ${f(N)} × ${f(ePres)} B`],
    ['    room-host pairs, on every node: U·ρ / room size · m · e_host', mib(pr.memHosts), `${f(P.users * P.roomsPerUser / P.roomSize)} rooms × ${P.memberNodesPerRoom} × ${f(eHost)} B (grows with the rooms, not with N)`],
    ['    directory: (U·K / N + F) · e_dir', mib(pr.memDir), `(${f(P.users)} × ${P.directoryOwners} / ${f(N)} + ${f(P.followedPerNode)} followed) × ${f(eDir)} B`],
    ['  of which gossipsub subscriptions, on every node: U·ρ / room size · k · e_sub', eSubMeasured == null ? 'not measured' : mib(memSubsAt(P)), `${f(P.users * P.roomsPerUser / P.roomSize)} rooms × ${P.nodesPerRoom} carrying nodes × ${f(eSub)} B (the transport's; grows with the rooms, not with N)`],
    ['CPU per node', `${f(base.cpu(N), 2)} cores`, 'chat + clients + presence'],
    ['  of which chat messages', `${f(base.chatCpu(N), 3)} cores`, `(room msgs × (a·${k} + b) + DMs × c_dm) / N`],
    ['  of which idle clients', `${f((P.users / N) * idlePerClient, 3)} cores`, 'clients × idle per client'],
    ['  of which node liveness: i0 + i·(N − 1)', `${f(pr.cpuLive, 3)} cores`, `${f(idleBase, 3)} + ${f(idlePerPeer * 1000, 2)} ms/s × ${f(N - 1)} peers`],
    byRequests
      ? ['  of which reconnects: c / N · (h + q·r(N))', `${f(pr.cpuOwn, 3)} cores`, `${f(churn)} / ${f(N)} × (${ms(cReq.h)} + ${ms(cReq.p)} × ${f(rAt(P, N), 2)}): falls as 1/N`]
      : ['  of which reconnects: c / N · (h + p·N)', `${f(pr.cpuOwn, 3)} cores`, `${f(churn)} / ${f(N)} × ${ms(cLine.h)} + ${f(churn)} × ${f(cLine.p * 1000, 2)} ms (the second part is the same on every node whatever N: ${f(churn * cLine.p, 2)} cores)`],
    ['  of which room presence received: c·ρ·(m − 1) / N · p_rx', `${f(pr.cpuRx, 3)} cores`, `${f(churn)} × ${P.roomsPerUser} × ${P.memberNodesPerRoom - 1} / ${f(N)} × ${ms(pRx)}`],
    ['  of which followed users\' changes: F · c/U · p_rx', `${f(pr.cpuFollow, 3)} cores`, `${f(P.followedPerNode)} × ${f(P.churnPerUserPerSec * 3600, 0)}/h × ${ms(pRx)}`],
    ['mesh bytes in per node', mb(base.meshIn(N)), 'chat + DMs + liveness + presence changes'],
    ['  of which chat and DMs', mb(chatIn), `room msgs × (k − 1) / N × ${f(meshBytesPerCarried)} B + DMs / N × ${f(dmPeerBytes)} B`],
    ['  of which liveness and gossip control: (N − 1) · (B_mesh + B_hb)', mb(pr.bytesLive), `${f(N - 1)} × (${f(otherPerPeer)} + ${f(hbPayload)}) B/s: O(N), not O(users)`],
    ['  of which presence changes', mb(pr.bytesChurn), `c / N × (ρ · (m − 1) × ${f(bRoom)} B + ${byRequests ? `${f(bPerReq)} B × ${f(rAt(P, N), 2)}` : `${f(bDir.h)} B + ${f(bDir.p)} B × N`}) + F · c/U × ${f(bRoom)} B`],
    ['client bytes out / in per node', `${mb(clientOut)} / ${mb(clientIn)}`, `deliveries / N × ${f(clientOutPerFrame)} B; sends / N × ${f(clientInPerMsg)} B`],
    ['Socket.IO + Redis (classic): Redis bytes in per server', mb(sioRedisIn), 'every server receives every broadcast, whatever N'],
    ['Socket.IO + Redis (classic): Redis bytes out', mb(sioRedisIn * N), `× ${f(N)} servers, one Redis (or a cluster) carries all of it`],
    ['Socket.IO: memory per server for its clients', `${f((P.users / N) * sioConnRss / GiB, 2)} GiB`, 'RSS per idle client × clients per server']
  ]
  // how the answer moves with the assumptions that matter most
  const variants: Array<[string, Profile, Reading?]> = [
    ['as above', P],
    ['5× the messages (60 per user per hour)', { ...P, msgsPerUserPerSec: 5 * P.msgsPerUserPerSec }],
    ['reconnect every 10 min', { ...P, churnPerUserPerSec: 1 / 600 }],
    ['reconnect every 5 min (mobile clients)', { ...P, churnPerUserPerSec: 1 / 300 }],
    ['rooms spread over 6 nodes (no affinity)', { ...P, nodesPerRoom: 6, memberNodesPerRoom: 6 }],
    ['each user in 10 rooms', { ...P, roomsPerUser: 10 }],
    ['10 million users', { ...P, users: 10_000_000 }],
    ['10 million users, reconnect every 5 min', { ...P, users: 10_000_000, churnPerUserPerSec: 1 / 300 }],
    ...(byRequests
      ? [[`cost per reconnect on the line h + p·N through the measured sizes (h ${ms(cLine.h)}, p ${f(cLine.p * 1000, 2)} ms per node: growing without bound)`, P, 'line'],
          ['  the same, reconnect every 5 min', { ...P, churnPerUserPerSec: 1 / 300 }, 'line'],
          ['  the same, 10 million users', { ...P, users: 10_000_000 }, 'line'],
          ['  the same, 10 million users, reconnect every 5 min', { ...P, users: 10_000_000, churnPerUserPerSec: 1 / 300 }, 'line']] as Array<[string, Profile, Reading]>
      : [[`cost per reconnect not growing with N (c_r = ${ms(cMax)}, b_dir = ${f(bDirMax)} B: their largest measured)`, P, 'flat'],
          ['  the same, reconnect every 5 min', { ...P, churnPerUserPerSec: 1 / 300 }, 'flat'],
          ['  the same, 10 million users', { ...P, users: 10_000_000 }, 'flat'],
          ['  the same, 10 million users, reconnect every 5 min', { ...P, users: 10_000_000, churnPerUserPerSec: 1 / 300 }, 'flat']] as Array<[string, Profile, Reading]>)
  ]
  const sensitivity = table(['profile', 'nodes', 'decided by', 'CPU per node', 'of which presence and reconnects', 'memory per node (live – RSS)', 'of which presence', 'mesh bytes in per node'],
    variants.map(([name, v, how]) => {
      const o = run(v, how ?? main)
      const p = presenceAt(v, o.N, how ?? main)
      const measured = Number.isFinite(o.cpu(o.N)) && Number.isFinite(o.mem(o.N, connRss))
      return [name, !measured ? 'n/a' : o.feasible ? f(o.N) : `none fits (least loaded at ${f(o.N)})`, o.limit, `${f(o.cpu(o.N), 2)} cores`, `${f(p.cpu, 2)} cores`,
        `${f(o.mem(o.N, connHeap) / GiB, 2)} – ${f(o.mem(o.N, connRss) / GiB, 2)} GiB`, `${f(p.mem / GiB, 2)} GiB`, mb(o.meshIn(o.N))]
    }))
  return [
    `Model inputs, measured (${r.kind} run, ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.date.slice(0, 10)}; presence from ${presence.scaleFrom == null ? 'nothing: presence-scale.json not found' : scaleName}):\n`,
    table(['input', 'value', 'from'], inputs),
    `\nAssumed profile: ${f(P.users)} connected users, ${f(P.msgsPerUserPerSec * 3600, 0)} messages per user per hour (${P.dmShare * 100} % DMs), rooms of ${P.roomSize} carried by k = ${k} nodes of which m = ${P.memberNodesPerRoom} host members, ρ = ${P.roomsPerUser} rooms per user, K = ${P.directoryOwners} directory owners per user, F = ${f(P.followedPerNode)} users followed per node, one reconnect per user every ${f(1 / P.churnPerUserPerSec / 60)} minutes, ${P.coresPerNode}-core ${P.ramGiB} GiB nodes.\n`,
    table(['model output', 'value', 'formula'], outputs),
    '\nSensitivity (same measured inputs, one assumption changed at a time):\n',
    sensitivity
  ].join('\n')
}

// standalone: print the model of a results file; `--presence <run.json>` takes the presence section's
// rows (node liveness, mesh bytes per peer) from another run, such as one of `--sections presence` alone
if (process.argv[1] != null && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2)
  const at = args.indexOf('--presence')
  const presenceFile = at >= 0 ? args.splice(at, 2)[1] : undefined
  const file = args[0] ?? join(repoRoot(), 'test', 'bench', 'results', 'latest.json')
  const r = JSON.parse(readFileSync(file, 'utf8')) as ModelResults
  if (presenceFile != null) r.presence = (JSON.parse(readFileSync(presenceFile, 'utf8')) as ModelResults).presence
  console.log(model(r, loadPresenceInputs(file)))
}
