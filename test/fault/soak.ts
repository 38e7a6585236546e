/**
 * Soak mode (`npm run chaos -- --soak --minutes 60`): the rig with steady traffic and client churn
 * (members dropping their connections and coming back, short-lived sessions attaching and leaving)
 * and no faults, every node's process figures (RSS, heap, handles, event-loop delay) read from its
 * /metrics every few seconds, the heap's growth over the run, and the checker at the end. The
 * summary is pure and unit-tested; the run writes a table and a JSON file.
 */
import { Rig } from './rig.js'
import { finish, startTraffic } from './run.js'
import { Prng } from './prng.js'
import type { ChaosOptions, RunEnd } from './run.js'
import type { ScheduleMark } from './checker.js'
import type { NodeSample } from './observations.js'

export interface SoakOptions extends Pick<ChaosOptions, 'seed' | 'nodes' | 'clients' | 'rooms' | 'roomsPerClient' | 'ratePerClient' | 'dmShare' | 'durationMs' | 'settleMs' | 'keep' | 'log'> {
  /** how often every node's figures are read */
  sampleMs?: number
  /** a member drops its connection every this often (it reconnects by itself) */
  bounceEveryMs?: number
  /** this many short-lived sessions attach, join a room and leave, every `bounceEveryMs` */
  visitors?: number
  /** readings before this are the warm-up: not part of the growth figure */
  warmupMs?: number
  /** the nodes' backlog budget, events a second a session, so the final read of every history is quick; default 5,000 */
  backlogPerSec?: number
}

/** one reading: ms since traffic started, and every node's figures */
export interface SoakReading {
  t: number
  nodes: NodeSample[]
}

export interface NodeSoakSummary {
  node: string
  readings: number
  failedReadings: number
  rssFirstMb: number
  rssLastMb: number
  rssMaxMb: number
  /** the heap kept in the first and the last window after the warm-up (see `heapMeasure`) */
  heapFloorFirstMb: number
  heapFloorLastMb: number
  /** growth of that figure from the first window to the last, % */
  heapGrowthPct: number
  /**
   * 'live': the median, per window, of the heap after the node's latest full collection
   * (meshchat_heap_live_bytes); 'floor': the lowest heap used per window, for nodes that do not
   * report the former (a reading includes garbage not yet collected; the lowest is the closest)
   */
  heapMeasure: 'live' | 'floor'
  handlesFirst: number
  handlesLast: number
  handlesMax: number
  /** event-loop delay: median and highest of the per-interval p99s, and the highest delay seen, ms */
  lagP99MedianMs: number
  lagP99MaxMs: number
  lagMaxMs: number
}

const MB = 1024 * 1024

function quantile (xs: number[], q: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d

/**
 * Per node: RSS, handles and event-loop delay over the run, and the heap's growth. The readings
 * after `warmupMs` are cut into `windows` equal windows; each window's figure is the median of the
 * heap after the latest full collection, or, for a node that does not report that, its lowest heap
 * used (a heap reading includes garbage not yet collected, the lowest one is the closest to what
 * is live); the growth is the last window's against the first's. A node restarted during the run
 * is not expected here (a soak injects no faults).
 */
export function summarize (readings: SoakReading[], warmupMs: number, windows = 5): NodeSoakSummary[] {
  const ids = [...new Set(readings.flatMap(r => r.nodes.map(n => n.node)))]
  const end = Math.max(0, ...readings.map(r => r.t))
  const span = Math.max(1, end - warmupMs)
  return ids.map(node => {
    const mine = readings.map(r => ({ t: r.t, s: r.nodes.find(n => n.node === node) }))
    const ok = mine.filter((x): x is { t: number, s: NodeSample } => x.s != null && x.s.error == null && x.s.heapUsed != null)
    const after = ok.filter(x => x.t >= warmupMs)
    const live = after.some(x => (x.s.heapLive ?? 0) > 0)
    const floorIn = (w: number): number => {
      const inWin = after.filter(x => Math.min(windows - 1, Math.floor((x.t - warmupMs) / span * windows)) === w)
      if (!live) return Math.min(...inWin.map(x => x.s.heapUsed ?? Infinity))
      const kept = inWin.map(x => x.s.heapLive ?? 0).filter(b => b > 0)
      return kept.length === 0 ? Infinity : quantile(kept, 0.5)
    }
    const first = floorIn(0)
    const last = floorIn(windows - 1)
    const rss = ok.map(x => x.s.rss ?? 0)
    const handles = ok.map(x => x.s.handles ?? 0)
    const p99s = ok.map(x => (x.s.lagP99 ?? 0) * 1000)
    return {
      node,
      readings: mine.length,
      failedReadings: mine.length - ok.length,
      rssFirstMb: round((rss[0] ?? 0) / MB),
      rssLastMb: round((rss.at(-1) ?? 0) / MB),
      rssMaxMb: round(Math.max(0, ...rss) / MB),
      heapFloorFirstMb: round(first / MB),
      heapFloorLastMb: round(last / MB),
      heapGrowthPct: Number.isFinite(first) && Number.isFinite(last) && first > 0 ? round((last - first) / first * 100) : NaN,
      heapMeasure: live ? 'live' : 'floor',
      handlesFirst: handles[0] ?? 0,
      handlesLast: handles.at(-1) ?? 0,
      handlesMax: Math.max(0, ...handles),
      lagP99MedianMs: round(quantile(p99s, 0.5)),
      lagP99MaxMs: round(Math.max(0, ...p99s)),
      lagMaxMs: round(Math.max(0, ...ok.map(x => (x.s.lagMax ?? 0) * 1000)))
    }
  })
}

/** the summary as a table, one row per node */
export function table (rows: NodeSoakSummary[]): string[] {
  const head = ['node', 'RSS MB first/last/max', 'heap kept MB first → last', 'heap growth', 'handles first/last/max', 'loop p99 ms median/max', 'loop max ms']
  const body = rows.map(r => [
    `…${r.node.slice(-6)}`,
    `${r.rssFirstMb} / ${r.rssLastMb} / ${r.rssMaxMb}`,
    `${r.heapFloorFirstMb} → ${r.heapFloorLastMb}${r.heapMeasure === 'floor' ? ' (lowest reading)' : ''}`,
    `${r.heapGrowthPct >= 0 ? '+' : ''}${r.heapGrowthPct} %`,
    `${r.handlesFirst} / ${r.handlesLast} / ${r.handlesMax}`,
    `${r.lagP99MedianMs} / ${r.lagP99MaxMs}`,
    `${r.lagMaxMs}`
  ])
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map(r => `| ${r.join(' | ')} |`)]
}

export interface SoakReport {
  seed: number
  minutes: number
  readings: SoakReading[]
  summary: NodeSoakSummary[]
  bounces: number
  visitorSessions: number
  end: RunEnd
  dir: string
}

export async function runSoak (opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => {})
  const sampleMs = opts.sampleMs ?? 5000
  const bounceEveryMs = opts.bounceEveryMs ?? 5000
  const warmupMs = opts.warmupMs ?? Math.min(120_000, opts.durationMs / 5)
  const rnd = new Prng(opts.seed)
  // the final read pages every room's whole history on every node: at the default 100 events/s a session an hour's worth takes twenty minutes
  const rig = new Rig({ nodes: opts.nodes, keep: opts.keep, log, backlogPerSec: opts.backlogPerSec ?? 5000 })
  const marks: ScheduleMark[] = []
  const readings: SoakReading[] = []
  let failed = true
  try {
    await rig.start()
    log(`soak: ${opts.nodes} nodes, ${opts.clients} clients, ${opts.rooms} rooms, ${opts.durationMs / 60_000} min, a reading every ${sampleMs / 1000} s (run directory ${rig.dir})`)
    const { obsFile, t0, mark } = await startTraffic(rig, opts, marks)
    let bounces = 0
    let visitorSessions = 0
    let nextSample = t0
    let nextBounce = t0 + bounceEveryMs
    for (let i = 0; i < 1_000_000 && Date.now() < t0 + opts.durationMs; i++) {
      const now = Date.now()
      if (now >= nextSample) {
        nextSample += sampleMs
        const { samples } = await rig.command('sample') as { samples: NodeSample[] }
        readings.push({ t: now - t0, nodes: samples })
        if (readings.length % Math.max(1, Math.round(60_000 / sampleMs)) === 0) {
          const s = samples.map(x => x.error != null ? 'no answer' : `${round((x.rss ?? 0) / MB)}/${round((x.heapUsed ?? 0) / MB)}/${round((x.heapLive ?? 0) / MB)}`).join(', ')
          log(`${round((now - t0) / 60_000)} min: RSS/heap used/heap after the last full collection, MB: ${s}`)
        }
      }
      if (now >= nextBounce) {
        nextBounce += bounceEveryMs
        const c = rnd.int(0, opts.clients - 1)
        await rig.command('bounce', { c })
        mark(`client ${c} drops its connection`)
        bounces++
        if ((opts.visitors ?? 3) > 0) {
          const { sessions } = await rig.command('churn', { n: opts.visitors ?? 3 })
          visitorSessions += Number(sessions)
        }
      }
      await new Promise(resolve => setTimeout(resolve, Math.max(0, Math.min(nextSample, nextBounce) - Date.now())))
    }
    const end = await finish(rig, obsFile, marks, mark, opts.settleMs ?? 60_000, log)
    failed = end.failed
    const summary = summarize(readings, warmupMs)
    return { seed: opts.seed, minutes: opts.durationMs / 60_000, readings, summary, bounces, visitorSessions, end, dir: rig.dir }
  } finally {
    await rig.stop(failed)
  }
}
