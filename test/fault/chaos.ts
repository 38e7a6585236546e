/**
 * `npm run chaos -- --seed 42 --minutes 10`: a seeded fault run against real node processes in
 * network namespaces (needs root), printing the schedule, then the checker's verdict. Exit code 1
 * when the checker found a violation, 2 when the rig cannot run here. `--soak`: steady traffic and
 * client churn without faults, every node's process figures sampled, a table and a JSON file.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runChaos } from './run.js'
import { runSoak, table } from './soak.js'
import { NetnsUnavailableError } from './netns.js'
import { FAULT_KINDS } from './schedule.js'
import type { FaultKind } from './schedule.js'

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '42' },
    minutes: { type: 'string', default: '10' },
    nodes: { type: 'string', default: '5' },
    clients: { type: 'string', default: '20' },
    rooms: { type: 'string', default: '6' },
    'rooms-per-client': { type: 'string', default: '2' },
    rate: { type: 'string', default: '1', short: 'r' },
    'dm-share': { type: 'string', default: '0.2' },
    faults: { type: 'string' },
    'max-clock-offset': { type: 'string', default: '2000' },
    'long-partition': { type: 'string', default: '6000' },
    'forget-after': { type: 'string' },
    keep: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    'sample-every': { type: 'string', default: '5' },
    warmup: { type: 'string' },
    visitors: { type: 'string', default: '3' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (values.help) {
  console.log(`npm run chaos -- [options]
  --seed N                 schedule seed (default 42): the same seed replays the same faults
  --minutes M              length of the fault phase (default 10)
  --nodes N                meshchat nodes (default 5), each in its own network namespace
  --clients N              clients in the load generator (default 20)
  --rooms N                rooms (default 6); --rooms-per-client N (default 2)
  --rate R                 sends per client per second (default 1); --dm-share F of them DMs (default 0.2)
  --faults a,b             fault kinds: partition, one-way, flap, loss, kill, pause, isolate (default:
                           these seven), forget
  --max-clock-offset MS    each node's wall clock is offset by up to ±MS (default 2000)
  --long-partition MS      an isolated node stays cut off at least this long (default 6000)
  --forget-after MS        the nodes' presence forget window (default 10 minutes; 30000 when the
                           faults include forget: a node cut off from every node and the bootstrap
                           for longer than this window)
  --keep                   keep the run directory (node logs, observations)
  --soak                   no faults: steady traffic, a member dropping its connection every 5 s and
                           --visitors N (default 3) short sessions attaching and leaving with it; every
                           node's RSS, heap, handles and event-loop delay read every --sample-every S
                           (default 5) seconds; the table and test/fault/results/soak-*.json at the end;
                           heap growth (the heap after full collections, meshchat_heap_live_bytes) is
                           measured after --warmup M minutes (default 2, or a fifth of the run if
                           shorter), once bounded caches have filled (about 15 minutes at the default
                           rate: the room dedupe maps and the signature cache hold 20,000 events)
  --out FILE               write the report as JSON`)
  process.exit(0)
}

const num = (s: string | undefined, name: string): number => {
  const n = Number(s)
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} takes a number, got ${String(s)}`)
    process.exit(2)
  }
  return n
}

const kinds = values.faults?.split(',').map(s => s.trim()) as FaultKind[] | undefined
const unknown = kinds?.filter(k => !FAULT_KINDS.includes(k)) ?? []
if (unknown.length > 0 || kinds?.length === 0) {
  console.error(`--faults takes a comma-separated list of ${FAULT_KINDS.join(', ')}; got ${String(values.faults)}`)
  process.exit(2)
}

/** what a chaos run and a soak have in common */
const common = {
  seed: num(values.seed, 'seed'),
  durationMs: Math.round(num(values.minutes, 'minutes') * 60_000),
  nodes: Math.max(2, num(values.nodes, 'nodes')),
  clients: Math.max(2, num(values.clients, 'clients')),
  rooms: Math.max(1, num(values.rooms, 'rooms')),
  roomsPerClient: Math.max(1, num(values['rooms-per-client'], 'rooms-per-client')),
  ratePerClient: num(values.rate, 'rate'),
  dmShare: num(values['dm-share'], 'dm-share'),
  keep: values.keep,
  log: (line: string) => { console.log(line) }
}

/** the soak run: its table, its JSON, and the exit code (1 when the checker found something) */
async function soak (): Promise<number> {
  const minutes = common.durationMs / 60_000
  const report = await runSoak({
    ...common,
    sampleMs: Math.max(1000, num(values['sample-every'], 'sample-every') * 1000),
    ...(values.warmup != null ? { warmupMs: Math.round(num(values.warmup, 'warmup') * 60_000) } : {}),
    visitors: num(values.visitors, 'visitors')
  })
  const lines = table(report.summary)
  for (const l of lines) console.log(l)
  const worst = Math.max(...report.summary.map(r => r.heapGrowthPct))
  console.log(`heap growth (heap kept after full collections, first window after the warm-up against the last): at most ${worst} % on any node; ${worst < 5 ? 'under' : 'NOT under'} 5 %`)
  console.log(`${report.bounces} connection drops, ${report.visitorSessions} short sessions`)
  const file = values.out ?? fileURLToPath(new URL(`../../../test/fault/results/soak-${minutes}min-${new Date().toISOString().slice(0, 16).replace(/:/g, '-')}.json`, import.meta.url))
  await mkdir(dirname(file), { recursive: true })
  const { end, ...rest } = report
  await writeFile(file, JSON.stringify({ ...rest, stats: end.result.stats, violations: end.result.violations, settled: end.settled, deliverySettleMs: end.deliverySettleMs, presenceMs: end.presenceMs, table: lines }, null, 2) + '\n')
  console.log(`written to ${file}`)
  return end.failed || !(worst < 5) ? 1 : 0
}

try {
  if (values.soak) process.exit(await soak())
  const report = await runChaos({
    ...common,
    kinds,
    maxClockOffsetMs: num(values['max-clock-offset'], 'max-clock-offset'),
    longPartitionMs: num(values['long-partition'], 'long-partition'),
    forgetAfterMs: values['forget-after'] != null ? num(values['forget-after'], 'forget-after') : kinds?.includes('forget') === true ? 30_000 : undefined
  })
  if (values.out != null) {
    const { schedule, marks, result, ...rest } = report
    await writeFile(values.out, JSON.stringify({ ...rest, stats: result.stats, violations: result.violations, schedule, marks }, null, 2) + '\n')
  }
  if (values.keep) console.log(`run directory kept: ${report.dir}`)
  process.exit(report.result.violations.length === 0 && report.settled ? 0 : 1)
} catch (err) {
  if (err instanceof NetnsUnavailableError) {
    console.error(err.message)
    process.exit(2)
  }
  console.error(err)
  process.exit(1)
}
