/**
 * One chaos run: the rig, the load generator, a seeded fault schedule played against them, then the
 * final heal, and the checker over everything that was observed. Used by `npm run chaos` and by
 * the short run in `npm test`.
 */
import { readFile } from 'node:fs/promises'
import { Rig } from './rig.js'
import { check, describe } from './checker.js'
import { describeAction, generate } from './schedule.js'
import type { CheckResult, ScheduleMark } from './checker.js'
import type { NodeSample, Observation } from './observations.js'
import type { Action, FaultKind, Schedule } from './schedule.js'

export interface ChaosOptions {
  seed: number
  nodes: number
  clients: number
  rooms: number
  roomsPerClient: number
  ratePerClient: number
  dmShare: number
  /** fault phase, ms */
  durationMs: number
  kinds?: FaultKind[]
  maxClockOffsetMs?: number
  longPartitionMs?: number
  /** the nodes' presence forget window (a `forget` fault outlasts it); default the node's own */
  forgetAfterMs?: number
  /** after the final heal: how long acks, deliveries and presence may take to settle (a deadline, not a figure) */
  settleMs?: number
  /** keep the run directory (logs, observations) */
  keep?: boolean
  dir?: string
  log?: (line: string) => void
}

export interface ChaosReport {
  seed: number
  schedule: Schedule
  marks: ScheduleMark[]
  result: CheckResult
  /** ms from the final heal until every acked message and DM had reached everyone */
  deliverySettleMs: number
  settled: boolean
  /** per node: ms from the final heal until its rosters matched the sessions (absent: never) */
  presenceMs: Record<string, number>
  /** sends still unacknowledged when traffic was drained */
  inflightAtEnd: number
  faultEvents: number
  dir: string
  lines: string[]
}

async function sleepUntil (t: number): Promise<void> {
  const wait = t - Date.now()
  if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
}

export async function runChaos (opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => {})
  const schedule = generate({ seed: opts.seed, nodes: opts.nodes, clients: opts.clients, durationMs: opts.durationMs, kinds: opts.kinds, maxClockOffsetMs: opts.maxClockOffsetMs, longPartitionMs: opts.longPartitionMs, forgetAfterMs: opts.forgetAfterMs })
  log(`seed ${opts.seed}: ${opts.nodes} nodes, ${opts.clients} clients, ${opts.rooms} rooms, ${schedule.faults} faults over ${opts.durationMs / 1000} s`)
  log(`clock offsets: ${schedule.clockOffsetsMs.map((o, i) => `n${i} ${o >= 0 ? '+' : ''}${o} ms`).join(', ')}`)
  for (const a of schedule.actions) log(`  ${(a.at / 1000).toFixed(1).padStart(6)} s  ${describeAction(a)}`)
  if (opts.forgetAfterMs != null) log(`presence forget window ${opts.forgetAfterMs / 1000} s`)
  const rig = new Rig({ nodes: opts.nodes, clockOffsetsMs: schedule.clockOffsetsMs, forgetAfterMs: opts.forgetAfterMs, keep: opts.keep, dir: opts.dir, log })
  const marks: ScheduleMark[] = []
  // a failed run keeps its node logs and observations
  let failed = true
  try {
    await rig.start()
    log(`mesh up: ${rig.nodes.map(n => `n${n.index}=${n.host.addr} …${n.id.slice(-6)}`).join(', ')} (run directory ${rig.dir})`)
    const { obsFile, t0, mark } = await startTraffic(rig, opts, marks)
    let events = 0
    for (const a of schedule.actions) {
      await sleepUntil(t0 + a.at)
      await perform(rig, a)
      events++
      mark(describeAction(a))
    }
    await sleepUntil(t0 + opts.durationMs)
    const end = await finish(rig, obsFile, marks, mark, opts.settleMs ?? 60_000, log)
    log(`fault events ${events}`)
    failed = end.failed
    return { seed: opts.seed, schedule, marks, faultEvents: events, dir: rig.dir, ...end }
  } finally {
    await rig.stop(failed)
  }
}

/** the load generator's clients attached and sending; `mark` notes an event at the load generator's time */
export async function startTraffic (rig: Rig, opts: Pick<ChaosOptions, 'clients' | 'rooms' | 'roomsPerClient' | 'ratePerClient' | 'dmShare' | 'seed'>, marks: ScheduleMark[]): Promise<{ obsFile: string, t0: number, mark: (what: string) => void }> {
  const obsFile = await rig.startLoadgen({
    clients: opts.clients,
    rooms: opts.rooms,
    roomsPerClient: opts.roomsPerClient,
    ratePerClient: opts.ratePerClient,
    dmShare: opts.dmShare,
    maxInflight: 3,
    tickMs: 50,
    seed: opts.seed
  })
  await rig.command('start-clients')
  const on = await rig.command('traffic', { on: true })
  const t0 = Date.now()
  const lgT0 = Number(on.t)
  const mark = (what: string): void => { marks.push({ t: lgT0 + Date.now() - t0, what }) }
  mark('traffic on')
  return { obsFile, t0, mark }
}

/** what the end of a run found: the checker's verdict and the convergence times */
export interface RunEnd {
  result: CheckResult
  deliverySettleMs: number
  settled: boolean
  presenceMs: Record<string, number>
  inflightAtEnd: number
  lines: string[]
  failed: boolean
}

/**
 * The end of a run: the final heal (every network fault lifted, every paused node resumed, every
 * killed node back), the load generator drained and settled, what every node shows, and the checker.
 */
export async function finish (rig: Rig, obsFile: string, marks: ScheduleMark[], mark: (what: string) => void, settleMs: number, log: (line: string) => void): Promise<RunEnd> {
  await rig.healAll()
  for (const n of rig.nodes) await rig.restart(n.index)
  mark('final heal')
  const healedAt = Date.now()
  // a node whose process no longer answers (a stuck event loop) is named here, before anything waits on it
  const { samples } = await rig.command('sample') as { samples: NodeSample[] }
  for (const x of samples.filter(x => x.error != null)) {
    log(`node …${x.node.slice(-6)} does not answer /metrics after the final heal: ${x.error ?? ''}`)
    const i = rig.nodes.findIndex(n => n.id === x.node)
    if (i >= 0) log(await rig.diagnose(i))
  }
  log('final heal; draining')
  const drained = await rig.command('drain', { timeoutMs: settleMs })
  await rig.command('connected', { timeoutMs: settleMs })
  const settle = await rig.command('settle', { timeoutMs: settleMs })
  const deliverySettleMs = Date.now() - healedAt
  log(`deliveries ${settle.settled === true ? 'settled' : 'did NOT settle'} ${deliverySettleMs} ms after the final heal`)
  const view = await rig.finalView(settleMs, Date.now() - healedAt)
  mark('final view read')
  await rig.command('close').catch(() => ({}))
  const observations = (await readFile(obsFile, 'utf8')).split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Observation)
  const result = check(observations, view)
  const lines = [
    `acked room messages ${result.stats.acked}, acked DMs ${result.stats.dmsAcked}, deliveries ${result.stats.deliveries} (${result.stats.replayed} by replay), ` +
      `failed sends ${result.stats.failedSends}, unacked at the end ${Number(drained.inflight)}, live deliveries out of stamp order ${result.stats.liveReordered}`,
    `rosters matched the sessions on each node ${Object.values(view.presenceMs).join(', ')} ms after the final heal; histories read ${view.historyMs ?? '?'} ms after it`,
    ...describe(result.violations, marks)
  ]
  const failed = result.violations.length > 0 || settle.settled !== true
  if (failed) lines.push(`node logs and observations kept in ${rig.dir}`)
  for (const l of lines) log(l)
  return { result, deliverySettleMs, settled: settle.settled === true, presenceMs: view.presenceMs, inflightAtEnd: Number(drained.inflight), lines, failed }
}

async function perform (rig: Rig, a: Action): Promise<void> {
  switch (a.do) {
    case 'block': await rig.block(a.from, a.to); return
    case 'unblock': await rig.unblock(a.from, a.to); return
    case 'loss': await rig.setLoss(a.node, a.pct); return
    case 'kill': await rig.kill(a.node); return
    case 'restart': await rig.restart(a.node); return
    case 'pause': rig.pause(a.node); return
    case 'resume': rig.resume(a.node); return
    case 'bounce': await rig.command('bounce', { c: a.client }); return
  }
}
