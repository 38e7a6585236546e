/** Markdown tables for the console, latest.md and the README. */
import { ABUSE_KINDS, disconnects, refusedPct, sent } from './abuser-protocol.js'
import type { AbuseReport } from '../scenarios/abuse.js'
import type { AttachRow } from '../scenarios/attach.js'
import type { CapacityRow } from '../scenarios/main.js'
import type { PresenceResult } from '../scenarios/presence.js'
import type { ResumeReport } from '../scenarios/resume.js'
import type { ScaleRow } from '../scenarios/scaleout.js'
import type { StepResult } from './system.js'

export interface Machine {
  cpu: string
  cores: number
  ramGiB: number
  node: string
  os: string
  date: string
  commit: string
  versions: Record<string, string>
}

export function table (head: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map(r => r.map(c => String(c)))
  const align = head.map((_, i) => cells.every(r => /^[-+~<>≤≥]?[\d.,]+( ?[%a-zA-Z/]+)?$|^n\/a$|^–$/.test(r[i] ?? '')) ? '---:' : '---')
  return [`| ${head.join(' | ')} |`, `|${align.join('|')}|`, ...cells.map(r => `| ${r.join(' | ')} |`)].join('\n')
}

const n0 = (x: number): string => Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a'
const n1 = (x: number): string => Number.isFinite(x) ? x.toFixed(1) : 'n/a'
const n2 = (x: number): string => Number.isFinite(x) ? x.toFixed(2) : 'n/a'
const n3 = (x: number): string => Number.isFinite(x) ? x.toFixed(3) : 'n/a'
const ms = (x: number): string => !Number.isFinite(x) ? 'n/a' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US')
export function bytes (x: number): string {
  if (!Number.isFinite(x)) return 'n/a'
  if (x >= 1024 * 1024) return `${(x / 1024 / 1024).toFixed(2)} MiB`
  if (x >= 1024) return `${(x / 1024).toFixed(1)} KiB`
  return `${Math.round(x)} B`
}

export function machineTable (m: Machine): string {
  return table(['CPU', 'cores', 'RAM', 'Node', 'OS', 'date', 'commit'],
    [[m.cpu, m.cores, `${m.ramGiB} GiB`, m.node, m.os, m.date, m.commit]]) +
    '\n\n' + Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')
}

const kib = (x: number): string => Number.isFinite(x) ? `${x.toFixed(1)} KiB` : 'n/a'
const eldText = (e: AttachRow['eldBefore']): string => e == null ? 'n/a' : `${ms(e.p50)} / ${ms(e.p99)} / ${ms(e.max)}`
/** "✓" when `x` meets the target (at most `target`), else how far over it is */
function target (x: number, max: number): string {
  if (!Number.isFinite(x)) return 'n/a'
  return x <= max ? `≤ ${max} ✓` : `≤ ${max}: ${(x / max).toFixed(2)}× over`
}

/** clients attached to one server: wall time and connect latency (meshchat rows: target 0.5 s) */
export function attachTable (rows: AttachRow[]): string {
  return table(['system', 'clients → server', 'attach all (s; median of the timed bursts)', 'meshchat target', 'each timed burst (s)', 'first burst after start (s)', 'its server CPU per attach (ms)', 'connect p50 (ms)', 'connect p99 (ms)', 'connect max (ms)', 'failed', 'server CPU per attach (ms)', 'server ↔ other servers per attach', 'generator CPU per attach (ms)', 'generator RSS / client', 'redirected', 'generators × in flight'],
    rows.map(r => [r.system, `${n0(r.clients)} → ${r.node ?? `${r.servers} servers`}`, n2(r.attachSec), r.system === 'meshchat' ? target(r.attachSec, 0.5) : '–',
      r.bursts == null ? n2(r.attachSec) : r.bursts.map(b => n2(b.attachSec)).join(', '), r.firstAttachSec == null ? '–' : n2(r.firstAttachSec),
      r.firstServerCpuMsPerAttach == null ? '–' : n2(r.firstServerCpuMsPerAttach), ms(r.connectP50Ms), ms(r.connectP99Ms), ms(r.connectMaxMs),
      r.failed ?? 0, n2(r.serverCpuMsPerAttach), bytes(r.peerBytesPerAttach ?? NaN), n2(r.clientCpuMsPerAttach), kib(r.clientKiBPerClient), r.redirected, `${r.generators} × ${r.concurrency}`]))
}

/** idle clients on one server: live heap (after a full GC) and RSS per client (meshchat targets 8 and 16 KiB) */
export function memoryTable (rows: AttachRow[]): string {
  return table(['system', 'clients → server', 'live heap before → after (after full GC)', 'live heap / client', 'target', 'buffers / client', 'V8 heap committed before → after', 'RSS before → 2 s after the attach → after the idle window', 'RSS / client', 'target', 'each other server: heap / RSS per client', 'attach all (s)'],
    rows.map(r => {
      const mesh = r.system.startsWith('meshchat')
      return [r.system, `${n0(r.clients)} → ${r.node ?? `${r.servers} servers`}`, `${n1(r.heapBeforeMiB)} → ${n1(r.heapAfterMiB)} MiB`, kib(r.heapKiBPerClient), mesh ? target(r.heapKiBPerClient, 8) : '–', kib(r.externalKiBPerClient),
        `${n1(r.heapTotalBeforeMiB ?? NaN)} → ${n1(r.heapTotalAfterMiB ?? NaN)} MiB`, `${n1(r.rssBeforeMiB)} → ${n1(r.rssEarlyMiB ?? NaN)} → ${n1(r.rssAfterMiB)} MiB`, kib(r.rssKiBPerClient), mesh ? target(r.rssKiBPerClient, 16) : '–',
        `${kib(r.otherHeapKiBPerClient)} / ${kib(r.otherRssKiBPerClient)}`, n2(r.attachSec)]
    }))
}

/** many idle clients on one server: RSS, CPU and event-loop delay over an idle window */
export function idleTable (rows: AttachRow[]): string {
  return table(['system', 'clients → server', 'RSS no clients → idle clients', 'RSS / client', 'live heap with the clients', 'CPU idle (cores): no clients → clients', 'event-loop delay p50 / p99 / max (ms): no clients', 'with the clients', 'window (s)', 'attach all (s)'],
    rows.map(r => [r.system, `${n0(r.clients)} → ${r.node ?? `${r.servers} servers`}`, `${n1(r.rssBeforeMiB)} → ${n1(r.rssAfterMiB)} MiB`, kib(r.rssKiBPerClient), `${n1(r.heapAfterMiB)} MiB`,
      `${n3(r.idleCoresBefore)} → ${n3(r.idleCoresAfter)}`, eldText(r.eldBefore), eldText(r.eldAfter), n1(r.idleWindowSec), n2(r.attachSec)]))
}

/** server CPU per delivered message, meshchat against Socket.IO at each rate both ran */
export function cpuPerDeliveryTable (steps: StepResult[]): string {
  const targets: Record<string, number> = { 'room-local': 0.8, 'room chat (spread)': 1.5 }
  const rows: Array<Array<string | number>> = []
  const workloads = [...new Set(steps.map(s => s.workload))]
  for (const w of workloads) {
    const mine = steps.filter(s => s.workload === w && s.system === 'meshchat')
    for (const m of mine) {
      const o = steps.find(s => s.workload === w && s.system === 'socketio' && s.ratePerUser === m.ratePerUser)
      const ratio = o == null ? NaN : m.usPerDelivery / o.usPerDelivery
      const ratioNet = o == null ? NaN : (m.usPerDeliveryNet ?? NaN) / (o.usPerDeliveryNet ?? NaN)
      const t = targets[w]
      rows.push([w, m.ratePerUser, n0(m.deliveredPerSec), o == null ? 'n/a' : n0(o.deliveredPerSec), n1(m.usPerDelivery), o == null ? 'n/a' : n1(o.usPerDelivery),
        Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a', t == null ? '–' : !Number.isFinite(ratio) ? 'n/a' : ratio <= t ? `≤ ${t}× ✓` : `≤ ${t}×: missed by ${(ratio / t).toFixed(2)}×`,
        n1(m.usPerDeliveryNet ?? NaN), o == null ? 'n/a' : n1(o.usPerDeliveryNet ?? NaN), Number.isFinite(ratioNet) ? `${ratioNet.toFixed(2)}×` : 'n/a'])
    }
  }
  return table(['workload', 'rate/user', 'meshchat deliveries/s', 'Socket.IO deliveries/s', 'meshchat µs / delivery', 'Socket.IO µs / delivery', 'meshchat / Socket.IO', 'target', 'meshchat µs / delivery, less idle', 'Socket.IO, less idle', 'ratio, less idle'], rows)
}

export function stepTable (steps: StepResult[]): string {
  return table(['system', 'rate/user', 'offered msg/s', 'delivered/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'ack p50 ms', 'ack p99 ms', 'loss', 'duplicates / reconnects', 'send errors', 'server CPU (cores)', 'of which idle', 'server CPU µs / delivery', 'peak RSS (max server)', 'bytes in / server / s', 'gen CPU (cores)', 'gen lag p99 ms', 'other load (cores)'],
    steps.map(s => {
      const chat = s.perServer.filter(p => p.role === 'server')
      const bytesIn = chat.reduce((n, p) => n + p.bytesInClient + p.bytesInPeer, 0) / Math.max(1, chat.length)
      const cpu = s.perServer.reduce((n, p) => n + p.cpuUtil, 0)
      const errs = Object.entries(s.sendErrors).map(([k, v]) => `${k} ${v}`).join(', ')
      return [s.label, s.ratePerUser, n0(s.offered), n0(s.deliveredPerSec), ms(s.latency.p50), ms(s.latency.p99), ms(s.latency.p999), ms(s.ackLatency.p50), ms(s.ackLatency.p99), `${n2(s.lossPct)} %${(s.lateAfterDrain ?? 0) > 0 ? ` (${n0(s.lateAfterDrain!)} late, ${n2(s.lostPct ?? NaN)} % never)` : ''}`, `${n0(s.duplicates ?? NaN)} / ${n0(s.reconnects ?? NaN)}`,
        errs === '' ? '0' : errs, n2(cpu), n2(s.idleCores ?? NaN), n1(s.usPerDelivery ?? NaN), `${n1(s.serverPeakRssMiB)} MiB`, `${bytes(bytesIn / s.counterSeconds)}`, n2(s.genCpuSec / s.counterSeconds), ms(s.genLagP99), n2(s.otherCores)]
    }))
}


/** meshchat steps: the nodes' own view of a mesh hop next to the end-to-end figure */
export function nodeHopTable (steps: StepResult[]): string {
  const rows = steps.filter(s => s.nodeHop != null)
  return table(['workload', 'rate/user', 'end-to-end p50 ms', 'end-to-end p99 ms', 'node mesh hop p50 ms (≤)', 'node mesh hop p99 ms (≤)', 'hops measured'],
    rows.map(s => [s.workload, s.ratePerUser, ms(s.latency.p50), ms(s.latency.p99), ms(s.nodeHop?.p50 ?? NaN), ms(s.nodeHop?.p99 ?? NaN), n0(s.nodeHop?.count ?? NaN)]))
}

export function capacityTable (rows: CapacityRow[]): string {
  return table(['workload', 'system', 'highest offered msg/s with p99 ≤ 100 ms', 'lowest offered msg/s with p99 > 100 ms', 'most deliveries/s seen'],
    rows.map(r => [r.workload, r.system, r.lastGood == null ? 'none tested' : n0(r.lastGood), r.firstBad == null ? 'not reached' : n0(r.firstBad), n0(r.maxDeliveredPerSec)]))
}

export function perProcessTable (s: StepResult): string {
  const secs = s.counterSeconds
  return table(['process', 'CPU s', 'CPU (cores)', 'peak RSS', 'in from clients', 'in from peers', 'out to clients', 'out to peers', 'msgs in from clients', 'msgs in from peers'],
    s.perServer.map(p => [p.name, n2(p.cpuSec), n2(p.cpuUtil), `${n1(p.peakRssMiB)} MiB`, `${bytes(p.bytesInClient / secs)}/s`, `${bytes(p.bytesInPeer / secs)}/s`,
      `${bytes(p.bytesOutClient / secs)}/s`, `${bytes(p.bytesOutPeer / secs)}/s`, n0(p.msgsInClient / secs), n0(p.msgsInPeer / secs)]))
}

export function duplicatesTable (s: StepResult): string {
  const secs = s.counterSeconds
  return table(['node', 'room msgs from mesh /s (unique)', 'handed over /s', 'meshchat_duplicates_total /s', 'gossipsub duplicates /s', 'gossipsub bytes in /s', 'gossipsub bytes in per unique msg', 'rooms carried'],
    s.perServer.filter(p => p.role === 'server').map(p => {
      const c = p.counters
      const uniq = c.roomMeshIn ?? 0
      return [p.name, n0(uniq / secs), c.handOffsIn == null ? 'n/a' : n0(c.handOffsIn / secs), n1((c.duplicates ?? 0) / secs), c.gossipDuplicates == null ? 'n/a' : n1(c.gossipDuplicates / secs),
        bytes((c.meshsubBytesIn ?? 0) / secs), uniq > 0 ? bytes((c.meshsubBytesIn ?? 0) / uniq) : 'n/a', n0(c.g_rooms ?? NaN)]
    }))
}

export function presenceTables (results: PresenceResult[]): string {
  const conv = table(['nodes', 'event', 'samples', 'p50 ms', 'max ms', 'note'],
    results.flatMap(r => r.convergence.map(c => [c.nodes, c.event, c.samples, n0(c.p50Ms), n0(c.maxMs), c.note ?? ''])))
  const churn = table(['nodes', 'churn asked /s', 'churn done /s', 'users online', 'presence bytes in / node / s', 'presence bytes out / node / s', 'max node presence in /s', 'all mesh bytes in / node / s', 'CPU / node (cores)'],
    results.flatMap(r => r.churn.map(c => [c.nodes, c.targetPerSec, n1(c.churnPerSec), c.population, bytes(c.presenceBytesInPerSec), bytes(c.presenceBytesOutPerSec), bytes(c.maxNodeBytesInPerSec), bytes(c.meshBytesInPerSec), n2(c.cpuPerNode)])))
  return `${conv}\n\n${churn}`
}

export function resumeTables (r: ResumeReport): string {
  const head = table(['room size', 'fill rate (acked msg/s)', 'missed while offline', 'resume: back online → last missed shown', 'reattach (welcome, after replay)', 'missed shown', 'of which replayed', 'duplicates shown', 'replay out of order', 'window before the cursor: not sent again / sent'],
    [[n0(r.fill), n0(r.fillRate), n0(r.missed), `${n0(r.resumeMs)} ms`, `${n0(r.reattachMs)} ms`, `${n0(r.gotMissed)}/${n0(r.missed)}`, n0(r.replayed), r.duplicates, r.outOfOrder,
      r.windowHeld == null || r.windowSent == null ? '–' : `${n0(r.windowHeld)} / ${n0(r.windowSent)}`]])
  const hist = table(['node', 'page size', 'pages', 'p50 ms', 'p99 ms', 'max ms', 'msgs/s paged'],
    r.history.map(h => [h.node, h.limit, h.pages, ms(h.p50Ms), ms(h.p99Ms), ms(h.maxMs), n0(h.msgsPerSec)]))
  return `${head}\n\n${hist}`
}

export function scaleTable (rows: ScaleRow[]): string {
  return table(['workload', 'system', 'servers', 'servers per room', 'offered msg/s', 'delivered/s', 'p50 ms', 'p99 ms', 'loss', 'bytes in / server / s', 'of which from peers', 'msgs in / server / s', 'of which from peers', 'CPU / server (cores)', 'Redis or bootstrap CPU', 'server CPU µs / delivery'],
    rows.map(r => [r.workload, r.system, r.servers, n2(r.serversPerRoom), n0(r.offered), n0(r.deliveredPerSec), ms(r.p50), ms(r.p99), `${n2(r.lossPct)} %`, bytes(r.bytesInPerServer), bytes(r.peerBytesInPerServer),
      n0(r.msgsInPerServer), n0(r.peerMsgsInPerServer), n2(r.cpuPerServer), n2(r.hubCpu), n1(r.step.usPerDelivery ?? NaN)]))
}

/** the abuse step: honest users without and with the abuser, and what the abuser sent, kind by kind */
export function abuseTables (a: AbuseReport): string {
  const main = table(['run', 'offered msg/s', 'deliveries/s', 'p50 / p99 ms', 'loss', 'server CPU (cores)', `node${a.node} CPU (cores)`, 'abuser requests/s', 'refused %', 'disconnects', 'gen lag p99 ms', 'other load (cores)'],
    a.rows.map(r => {
      const s = r.step
      const ab = r.abuser
      return [`${r.round ?? 1}: ${r.run === 'with' ? 'with abuser' : 'without abuser'}`, n0(s.offered), n0(s.deliveredPerSec), `${ms(s.latency.p50)} / ${ms(s.latency.p99)}`, `${n2(s.lossPct)} %`,
        n2(r.serverCores), n2(r.abusedNodeCores), ab == null ? '–' : n0(sent(ab) / ab.seconds), ab == null ? '–' : `${n1(refusedPct(ab))} %`,
        ab == null ? '–' : `${disconnects(ab)} (${ab.sessions} sessions opened)`, ms(s.genLagP99), n2(s.otherCores)]
    }))
  const pct = (x: number): string => Number.isFinite(x) ? `${x > 0 ? '+' : ''}${x.toFixed(1)}` : 'n/a'
  const rounds = a.roundMoves ?? []
  const pooled = a.pooled == null ? '' : `, pooled over ${rounds.length} rounds: p99 ${ms(a.pooled.without.p99)} → ${ms(a.pooled.with.p99)} ms, p50 ${ms(a.pooled.without.p50)} → ${ms(a.pooled.with.p50)} ms`
  const byRound = rounds.length > 1 ? `; round by round: ${rounds.map(m => `${pct(m.p99MovePct)} %`).join(', ')}` : ''
  const move = `honest p99 moved by ${pct(a.p99MovePct)} % (p50 by ${pct(a.p50MovePct)} %)${pooled}${byRound}`
  const ab = a.rows.find(r => r.abuser != null)?.abuser
  if (ab == null) return `${main}\n\n${move}`
  const codes = (c: Record<string, number>): string => Object.entries(c).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ') || '0'
  const serviceTotal = ABUSE_KINDS.reduce((n, k) => n + (ab.byKind[k].serviceSumMs ?? 0), 0)
  const kinds = table(['kind', 'asked /s', 'opening burst', 'sent', 'sent /s', 'accepted', 'refused', 'dropped', 'unanswered at the end', 'held back (node not reading)', 'reply p50 / p99 / max ms', 'node time p50 / p99 ms', 'node time, share'],
    ABUSE_KINDS.map(k => {
      const c = ab.byKind[k]
      return [k, n1(a.rates[k]), a.bursts[k], n0(c.sent), n1(c.sent / ab.seconds), n0(c.accepted), codes(c.refused), n0(c.dropped), n0(c.unanswered), n0(c.held),
        `${ms(c.replyP50Ms ?? NaN)} / ${ms(c.replyP99Ms ?? NaN)} / ${ms(c.replyMaxMs ?? NaN)}`,
        `${ms(c.serviceP50Ms ?? NaN)} / ${ms(c.serviceP99Ms ?? NaN)}`, `${n0(100 * (c.serviceSumMs ?? 0) / Math.max(1e-9, serviceTotal))} %`]
    }))
  const why = Object.entries(ab.disconnects).map(([k, v]) => `${k} ${v}`).join(', ')
  return `${main}\n\n**${move}.**\n\nThe abuser of round 1, kind by kind (${n1(ab.seconds)} s, ${ab.sessions} sessions opened; disconnected by the node: ${why === '' ? 'never' : why}; ${ab.connectFailures} failed reconnects; ${n0(ab.pushed)} frames pushed to it unasked; abuser CPU ${n2(ab.cpuSec / ab.seconds)} cores):\n\n${kinds}`
}
