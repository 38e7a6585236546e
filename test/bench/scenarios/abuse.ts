/**
 * Honest users' latency with and without one abusive client (meshchat only: the Socket.IO baseline
 * has no request budgets to compare). The same room-chat workload runs in rounds on the main
 * cluster, each round once without and once with test/bench/abuser.ts attached to the node that
 * hosts the most honest users, sending at (and beyond) every request kind's per-session budget; a
 * fresh abusive user (a new key) in every round. The move is measured on the rounds pooled (all
 * "without" latencies against all "with" latencies), so that one noisy 20 s window does not decide it.
 */
import { DEFAULT_BUDGETS } from '../../../node/src/state/budgets.js'
import { Abuser } from '../lib/abuser-client.js'
import { ABUSE_KINDS, disconnects, refusedPct, sent } from '../lib/abuser-protocol.js'
import { Histogram, summarize } from '../lib/histogram.js'
import { MeshchatCluster } from '../lib/meshchat-cluster.js'
import { sleep } from '../lib/procs.js'
import { round } from '../lib/system.js'
import type { AbuseKind, AbuseStats } from '../lib/abuser-protocol.js'
import type { ProcRegistry } from '../lib/procs.js'
import type { StepConfig } from '../lib/results.js'
import type { StepResult, SystemUnderTest } from '../lib/system.js'
import type { Placement } from '../lib/workload.js'

const round2 = (x: number): number => round(x, 2)

export interface AbuseConfig {
  /** honest room-chat rate, msg/s per user */
  ratePerUser: number
  step: StepConfig
  /** the abuser's rate of each kind, as a multiple of the per-session budget's rate */
  overdrive: number
  /** the abuser starts this long before the step is scheduled */
  leadMs: number
  /**
   * sessions the abusive user keeps open (1 to 5): with one, every kind waits in the node's
   * one-at-a-time handling of that session's requests behind the slowest (DM acks and DMs wait on
   * other nodes), and the abuser cannot reach most limits
   */
  sessions: number
  /** rounds of (without, with) */
  rounds: number
}

export interface AbuseRow {
  run: 'without' | 'with'
  /** 1-based */
  round: number
  /** the honest workload's step */
  step: StepResult
  /** CPU (cores) of the node the abuser is attached to, over the step */
  abusedNodeCores: number
  /** CPU (cores) of all servers, over the step */
  serverCores: number
  abuser?: AbuseStats
}

export interface AbuseReport {
  workload: string
  ratePerUser: number
  /** index of the node under attack, and the honest users it hosts */
  node: number
  honestOnNode: number
  /** the room the abuser sends to and reads history of, and its messages before the runs */
  room: string
  roomMessages: number
  overdrive: number
  /** what the abuser was told to send, per second and as an opening burst, per kind */
  rates: Record<AbuseKind, number>
  bursts: Record<AbuseKind, number>
  watchSize: number
  historyLimit: number
  /** the abuser's sessions and the kinds each sent */
  sessions: AbuseKind[][]
  rows: AbuseRow[]
  /** every round's "without" latencies pooled, and every round's "with" latencies */
  pooled: { without: ReturnType<typeof summarize>, with: ReturnType<typeof summarize> }
  /** (p99 with - p99 without) / p99 without, in %, pooled over the rounds */
  p99MovePct: number
  p50MovePct: number
  /** the same, round by round */
  roundMoves: Array<{ round: number, p99MovePct: number, p50MovePct: number }>
}

const WATCH_SIZE = 1024
const HISTORY_LIMIT = 500
const DMACK_IDS = 100
/** the abuser's requests in flight at most: the node reads a session's frames one at a time, so more would only wait in buffers */
const MAX_IN_FLIGHT = 256
/** kinds that go together on one session, when the abuser has several */
const SESSION_GROUPS: AbuseKind[][] = [['room', 'badSig', 'typing'], ['dm'], ['dmAck'], ['join', 'leave', 'status', 'ping'], ['history', 'watch']]

export function abuseSessions (n: number): AbuseKind[][] {
  const count = Math.max(1, Math.min(SESSION_GROUPS.length, Math.floor(n)))
  const out: AbuseKind[][] = Array.from({ length: count }, () => [])
  SESSION_GROUPS.forEach((g, i) => { out[i % count]?.push(...g) })
  return out
}

/** per-second rates and opening bursts (frames) of each kind, from the per-session budgets */
export function abuseRates (overdrive: number): { rates: Record<AbuseKind, number>, bursts: Record<AbuseKind, number> } {
  const b = DEFAULT_BUDGETS
  // room messages, events with bad signatures and DMs share the message budget: 5 : 2 : 5
  const msg = (share: number, x: number): number => x * share / 12
  const rates: Record<AbuseKind, number> = {
    room: msg(5, b.message.session.ratePerSec),
    badSig: msg(2, b.message.session.ratePerSec),
    dm: msg(5, b.message.session.ratePerSec),
    typing: b.typing.session.ratePerSec,
    // joins and leaves share the join budget
    join: b.join.session.ratePerSec / 2,
    leave: b.join.session.ratePerSec / 2,
    history: b.history.session.ratePerSec,
    // watch and dmAck are charged per user named / id acknowledged
    watch: b.watch.session.ratePerSec / WATCH_SIZE,
    status: b.status.session.ratePerSec,
    ping: b.ping.session.ratePerSec,
    dmAck: b.dmAck.session.ratePerSec / DMACK_IDS
  }
  const bursts: Record<AbuseKind, number> = {
    room: Math.floor(msg(5, b.message.session.burst)),
    badSig: Math.floor(msg(2, b.message.session.burst)),
    dm: Math.floor(msg(5, b.message.session.burst)),
    typing: b.typing.session.burst,
    join: Math.floor(b.join.session.burst / 2),
    leave: Math.floor(b.join.session.burst / 2),
    history: b.history.session.burst,
    watch: Math.floor(b.watch.session.burst / WATCH_SIZE),
    status: b.status.session.burst,
    ping: b.ping.session.burst,
    dmAck: Math.floor(b.dmAck.session.burst / DMACK_IDS)
  }
  for (const k of ABUSE_KINDS) rates[k] = round(rates[k] * overdrive, 3)
  return { rates, bursts }
}

export async function abuseScenario (reg: ProcRegistry, sut: SystemUnderTest, opts: {
  workload: string
  placement: () => Placement
  cfg: AbuseConfig
  attach: boolean
  log: (s: string) => void
}): Promise<AbuseReport> {
  const { cfg, log } = opts
  if (opts.attach || sut.placement?.name !== opts.placement().name) {
    await sut.detach()
    const a = await sut.attach(opts.placement())
    log(`  ${sut.cluster.label}: ${sut.attached.size} users attached and joined in ${(a.wallMs / 1000).toFixed(1)} s`)
  }
  const p = sut.placement
  if (p == null) throw new Error('attach first')
  // the node hosting the most honest users, and the busiest room there (most members on it)
  const perNode = new Map<number, number>()
  for (const s of p.seats) perNode.set(s.server, (perNode.get(s.server) ?? 0) + 1)
  const [node, honestOnNode] = [...perNode].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] ?? [0, 0]
  const onNode = new Map<string, number>()
  for (const s of p.seats) if (s.server === node) for (const r of s.rooms) onNode.set(r, (onNode.get(r) ?? 0) + 1)
  const room = [...onNode].sort((a, b) => b[1] - a[1] || (p.roomSizes[b[0]] ?? 0) - (p.roomSizes[a[0]] ?? 0) || a[0].localeCompare(b[0]))[0]?.[0] ?? ''
  const churnRooms = Object.keys(p.roomSizes).filter(r => r !== room).sort()
  const honest = [...sut.attached.entries()].sort((a, b) => a[0] - b[0]).map(([, u]) => u.userId)
  const { rates, bursts } = abuseRates(cfg.overdrive)
  const sessions = abuseSessions(cfg.sessions)
  const step = { ...cfg.step, kind: 'room' as const, ratePerUser: cfg.ratePerUser }
  // the abuser speaks the raw client protocol over the libp2p gateway (test/helpers/raw-client.ts)
  const addr = sut.cluster instanceof MeshchatCluster ? sut.cluster.gatewayAddr(node) : sut.cluster.clientAddr(node)

  const abuser = new Abuser(reg)
  try {
    // history pages of the busiest room should be full pages
    // each writer is its own user, under the message budget
    const fillRate = DEFAULT_BUDGETS.message.user.ratePerSec * 0.8
    const f = await abuser.fill({ addr, room, atLeast: HISTORY_LIMIT, writers: Math.ceil(HISTORY_LIMIT / (fillRate * 8)), perSec: fillRate })
    log(`  abused node: node${node} (${honestOnNode} honest users); busiest room ${room}: ${f.before} messages, ${f.added} added in ${(f.ms / 1000).toFixed(1)} s`)
    await sut.settle()

    const rows: AbuseRow[] = []
    const row = (run: AbuseRow['run'], round: number, r: StepResult, abuse?: AbuseStats): AbuseRow => {
      const out: AbuseRow = {
        run,
        round,
        step: r,
        abusedNodeCores: round2((r.perServer.find(s => s.name === `node${node}`)?.cpuSec ?? NaN) / r.counterSeconds),
        serverCores: round2(r.serverCpuSec / r.counterSeconds),
        abuser: abuse
      }
      const a = abuse == null ? '' : `; abuser ${Math.round(sent(abuse) / abuse.seconds)} req/s, ${refusedPct(abuse).toFixed(1)} % refused or dropped, ${disconnects(abuse)} disconnects, ${abuse.sessions} sessions`
      log(`  round ${round}, ${run} abuser: ${Math.round(r.deliveredPerSec)} deliveries/s, p50 ${r.latency.p50} p99 ${r.latency.p99} ms, loss ${r.lossPct.toFixed(2)} %, server CPU ${out.serverCores} cores (node${node} ${out.abusedNodeCores}), gen lag p99 ${r.genLagP99} ms${a}`)
      return out
    }

    const rounds = Math.max(1, Math.floor(cfg.rounds))
    for (let k = 1; k <= rounds; k++) {
      rows.push(row('without', k, await sut.step(opts.workload, step)))
      await sut.settle()

      await abuser.start({ addr, room, churnRooms, honest, sessions, rates, bursts, watchSize: WATCH_SIZE, historyLimit: HISTORY_LIMIT, dmAckIds: DMACK_IDS, maxInFlight: MAX_IN_FLIGHT, msgBytes: cfg.step.msgBytes })
      await sleep(cfg.leadMs)
      let stopped: Promise<AbuseStats> | undefined
      let r: StepResult
      try {
        // the abuser stops when the honest senders do (the step's drain and settle run without it)
        r = await sut.step(opts.workload, { ...step, onStart: at => { stopped = abuser.stopAt(at + cfg.step.durationMs) } })
      } finally {
        stopped ??= abuser.stopAt()
      }
      rows.push(row('with', k, r, await stopped))
      await sut.settle()
    }
    const move = (a = NaN, b = NaN): number => round(100 * (b - a) / a, 1)
    const pool = (run: AbuseRow['run']): ReturnType<typeof summarize> =>
      summarize(Histogram.from(...rows.filter(x => x.run === run).flatMap(x => x.step.latencyData == null ? [] : [x.step.latencyData])))
    const pooled = { without: pool('without'), with: pool('with') }
    const roundMoves = Array.from({ length: rounds }, (_, i) => {
      const [w0, w1] = [rows.find(x => x.round === i + 1 && x.run === 'without')?.step.latency, rows.find(x => x.round === i + 1 && x.run === 'with')?.step.latency]
      return { round: i + 1, p99MovePct: move(w0?.p99, w1?.p99), p50MovePct: move(w0?.p50, w1?.p50) }
    })
    const report: AbuseReport = {
      workload: opts.workload,
      ratePerUser: cfg.ratePerUser,
      node,
      honestOnNode,
      room,
      roomMessages: f.before + f.added,
      overdrive: cfg.overdrive,
      rates,
      bursts,
      watchSize: WATCH_SIZE,
      historyLimit: HISTORY_LIMIT,
      sessions,
      rows,
      pooled,
      p99MovePct: move(pooled.without.p99, pooled.with.p99),
      p50MovePct: move(pooled.without.p50, pooled.with.p50),
      roundMoves
    }
    log(`  honest p99 over ${rounds} rounds pooled: ${pooled.without.p99} → ${pooled.with.p99} ms, moved by ${report.p99MovePct} % (p50 by ${report.p50MovePct} %); round by round ${roundMoves.map(m => `${m.p99MovePct} %`).join(', ')}`)
    return report
  } finally {
    await abuser.stop()
  }
}
