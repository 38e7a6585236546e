/**
 * What an idle mesh costs: N meshchat nodes (and the bootstrap daemon) on this machine, no clients
 * and no messages, only what every node does on its own (heartbeats, failure checks, gossipsub's
 * heartbeat and gossip, the dialer, pings). After the mesh has converged and settled, each node's
 * CPU is read from /proc over a window: user and system time, by thread (the main thread, V8's
 * worker threads for GC and compilation, the rest), and the main thread's voluntary context
 * switches, which count its wake-ups (each time its event loop went back to waiting).
 *
 *   node dist/test/bench/idle-mesh.js [--nodes 8] [--seconds 30] [--settle 15] [--rounds 1] [--out file]
 *
 * Prints a table with a row per round and the mean; writes JSON (default
 * test/bench/results/idle-mesh.json). Idle CPU is paid by every node all the time: at the scale-out
 * section's 160 msg/s on 8 nodes it is about a fifth of the nodes' CPU per delivered message.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { MeshchatCluster } from './lib/meshchat-cluster.js'
import { ProcRegistry } from './lib/procs.js'
import { table } from './lib/report.js'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')
/** /proc reports CPU time in clock ticks of 10 ms on Linux */
const TICK_MS = 10

const { values: argv } = parseArgs({
  options: {
    nodes: { type: 'string' },
    seconds: { type: 'string' },
    settle: { type: 'string' },
    rounds: { type: 'string' },
    out: { type: 'string' },
    base: { type: 'string' }
  }
})
const whole = (s: string | undefined, d: number, min: number, max: number, what: string): number => {
  const n = s == null ? d : Number(s)
  if (!Number.isInteger(n) || n < min || n > max) { console.error(`--${what} takes a whole number from ${min} to ${max}`); process.exit(2) }
  return n
}
const nodes = whole(argv.nodes, 8, 1, 29, 'nodes')
const seconds = whole(argv.seconds, 30, 1, 3600, 'seconds')
const settle = whole(argv.settle, 15, 0, 600, 'settle')
const rounds = whole(argv.rounds, 1, 1, 20, 'rounds')
const basePort = whole(argv.base, 19_000, 1024, 60_000, 'base')
const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'idle-mesh.json')

interface ThreadTimes { main: number, v8: number, other: number }
interface Reading { user: number, sys: number, threads: ThreadTimes, wakeups: number }

/** CPU ms (user, system), by thread, and the main thread's voluntary context switches of process `pid` */
function read (pid: number): Reading {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const threads: ThreadTimes = { main: 0, v8: 0, other: 0 }
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let t: string
    try { t = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8') } catch { continue }
    const name = t.slice(t.indexOf('(') + 1, t.lastIndexOf(')'))
    const tf = t.slice(t.lastIndexOf(')') + 2).split(' ')
    const ms = (Number(tf[11]) + Number(tf[12])) * TICK_MS
    if (Number(tid) === pid) threads.main += ms
    else if (name.startsWith('V8Worker') || name.startsWith('DelayedTask')) threads.v8 += ms
    else threads.other += ms
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const wakeups = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? NaN)
  return { user: Number(f[11]) * TICK_MS, sys: Number(f[12]) * TICK_MS, threads, wakeups }
}

interface Round { round: number, nodes: number, seconds: number, userMsPerSec: number, sysMsPerSec: number, cpuMsPerSec: number, mainMsPerSec: number, v8WorkersMsPerSec: number, otherThreadsMsPerSec: number, wakeupsPerSec: number, perNodeCpuMsPerSec: number[] }

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function round (i: number): Promise<Round> {
  const reg = await ProcRegistry.create()
  try {
    const cluster = await MeshchatCluster.start(reg, { base: basePort, nodes })
    await cluster.converged(nodes)
    await sleep(settle * 1000)
    const pids = cluster.live().map(n => n.proc.pid)
    const before = pids.map(read)
    await sleep(seconds * 1000)
    const after = pids.map(read)
    const per = (pick: (r: Reading) => number): number => after.reduce((s, r, k) => s + pick(r) - pick(before[k]!), 0) / pids.length / seconds
    return {
      round: i,
      nodes,
      seconds,
      userMsPerSec: per(r => r.user),
      sysMsPerSec: per(r => r.sys),
      cpuMsPerSec: per(r => r.user + r.sys),
      mainMsPerSec: per(r => r.threads.main),
      v8WorkersMsPerSec: per(r => r.threads.v8),
      otherThreadsMsPerSec: per(r => r.threads.other),
      wakeupsPerSec: per(r => r.wakeups),
      perNodeCpuMsPerSec: after.map((r, k) => (r.user + r.sys - before[k]!.user - before[k]!.sys) / seconds)
    }
  } finally {
    await reg.stopAll()
  }
}

const results: Round[] = []
for (let i = 1; i <= rounds; i++) {
  console.error(`round ${i} of ${rounds}: ${nodes} nodes, ${settle} s to settle, ${seconds} s measured`)
  results.push(await round(i))
}
const mean = (pick: (r: Round) => number): number => results.reduce((s, r) => s + pick(r), 0) / results.length
const f = (x: number): string => x.toFixed(2)
const rows = results.map(r => [String(r.round), f(r.cpuMsPerSec), f(r.userMsPerSec), f(r.sysMsPerSec), f(r.mainMsPerSec), f(r.v8WorkersMsPerSec), f(r.otherThreadsMsPerSec), r.wakeupsPerSec.toFixed(1)])
if (results.length > 1) rows.push(['mean', f(mean(r => r.cpuMsPerSec)), f(mean(r => r.userMsPerSec)), f(mean(r => r.sysMsPerSec)), f(mean(r => r.mainMsPerSec)), f(mean(r => r.v8WorkersMsPerSec)), f(mean(r => r.otherThreadsMsPerSec)), mean(r => r.wakeupsPerSec).toFixed(1)])
console.log(`idle mesh of ${nodes} nodes, per node (ms of CPU a second; wake-ups of the main thread a second)\n`)
console.log(table(['round', 'CPU', 'user', 'system', 'main thread', 'V8 workers', 'other threads', 'wake-ups'], rows))
writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), nodes, seconds, settle, rounds: results, meanCpuMsPerSec: mean(r => r.cpuMsPerSec), meanWakeupsPerSec: mean(r => r.wakeupsPerSec) }, null, 2) + '\n')
console.log(`\nresults: ${out}`)
