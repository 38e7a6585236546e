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
import type { Observation } from './observations.js'
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
  const schedule = generate({ seed: opts.seed, nodes: opts.nodes, clients: opts.clients, durationMs: opts.durationMs, kinds: opts.kinds, maxClockOffsetMs: opts.maxClockOffsetMs, longPartitionMs: opts.longPartitionMs })
  log(`seed ${opts.seed}: ${opts.nodes} nodes, ${opts.clients} clients, ${opts.rooms} rooms, ${schedule.faults} faults over ${opts.durationMs / 1000} s`)
  log(`clock offsets: ${schedule.clockOffsetsMs.map((o, i) => `n${i} ${o >= 0 ? '+' : ''}${o} ms`).join(', ')}`)
  for (const a of schedule.actions) log(`  ${(a.at / 1000).toFixed(1).padStart(6)} s  ${describeAction(a)}`)
  const rig = new Rig({ nodes: opts.nodes, clockOffsetsMs: schedule.clockOffsetsMs, keep: opts.keep, dir: opts.dir, log })
  const marks: ScheduleMark[] = []
  // a failed run keeps its node logs and observations
  let failed = true
  try {
    await rig.start()
    log(`mesh up: ${rig.nodes.map(n => `n${n.index}=${n.host.addr} …${n.id.slice(-6)}`).join(', ')} (run directory ${rig.dir})`)
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
    let events = 0
    for (const a of schedule.actions) {
      await sleepUntil(t0 + a.at)
      await perform(rig, a)
      events++
      mark(describeAction(a))
    }
    await sleepUntil(t0 + opts.durationMs)
    // the final heal: every network fault lifted, every paused node resumed, every killed node back
    await rig.healAll()
    for (const n of rig.nodes) await rig.restart(n.index)
    mark('final heal')
    const healedAt = Date.now()
    log('final heal; draining')
    const settleMs = opts.settleMs ?? 60_000
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
      `fault events ${events}; rosters matched the sessions on each node ${Object.values(view.presenceMs).join(', ')} ms after the final heal; histories read ${view.historyMs ?? '?'} ms after it`,
      ...describe(result.violations, marks)
    ]
    failed = result.violations.length > 0 || settle.settled !== true
    if (failed) lines.push(`node logs and observations kept in ${rig.dir}`)
    for (const l of lines) log(l)
    return {
      seed: opts.seed,
      schedule,
      marks,
      result,
      deliverySettleMs,
      settled: settle.settled === true,
      presenceMs: view.presenceMs,
      inflightAtEnd: Number(drained.inflight),
      faultEvents: events,
      dir: rig.dir,
      lines
    }
  } finally {
    await rig.stop(failed)
  }
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
