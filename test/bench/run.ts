/**
 * The meshchat benchmark suite: one entry point (`npm run bench [-- options]`, or `meshchat bench`).
 * Every server (meshchat node, bootstrap daemon, Socket.IO server, redis-server) and every load
 * generator is its own process; see lib/procs.ts for how they are started and always stopped.
 * Prints markdown tables, writes test/bench/results/<run>.json, latest.json, latest.md and the
 * scale-out chart under docs/bench/.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, release, totalmem } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { MeshchatCluster } from './lib/meshchat-cluster.js'
import type { MeshEdge } from './lib/meshchat-cluster.js'
import { ProcRegistry, REPO_ROOT, interrupted } from './lib/procs.js'
import { SocketIoCluster } from './lib/socketio-cluster.js'
import { SystemUnderTest } from './lib/system.js'
import { local, spread } from './lib/workload.js'
import { machineTable } from './lib/report.js'
import { render } from './lib/render.js'
import { summarizeDir, windowsFromSteps, scaleSteps } from './lib/profile.js'
import { convertPerfDir, perfAvailable } from './lib/perf.js'
import { abuseScenario } from './scenarios/abuse.js'
import { oneServer } from './scenarios/attach.js'
import { IDLE_QUIET_MS, capacity, sweep } from './scenarios/main.js'
import { presenceScenario } from './scenarios/presence.js'
import { measurePresenceHeapPerItem, presenceScaleScenario, presenceScaleTable } from './scenarios/presence-scale.js'
import { resumeScenario } from './scenarios/resume.js'
import { scaleOut } from './scenarios/scaleout.js'
import type { AdapterMode } from './lib/socketio-cluster.js'
import type { Machine } from './lib/report.js'
import type { BenchConfig, Results } from './lib/results.js'
import type { PresenceScaleRow } from './scenarios/presence-scale.js'
import type { SystemSpec } from './scenarios/scaleout.js'

const SECTIONS = ['attach', 'memory', 'idle', 'room', 'dm', 'local', 'abuse', 'resume', 'presence', 'presence-memory', 'presence-convergence', 'presence-scale', 'scale', 'web'] as const
type Section = typeof SECTIONS[number]

const HELP = `npm run bench [-- options]      (or: meshchat bench [options])

  --quick               a short run (under 3 minutes on 2 cores): fewer rates, shorter steps, smaller sizes
  --baseline socketio   run only the Socket.IO baseline
  --only <system>       meshchat or socketio
  --adapter <mode>      baseline Redis adapter for the head-to-head runs: classic (default) or sharded
  --sections <list>     comma-separated subset of: ${SECTIONS.join(', ')}
                        (attach: 1,000 clients to one server; memory: 5,000 idle clients on one server;
                        idle: 10,000 idle clients on one server; abuse: honest p99 with and without one
                        abusive client, meshchat only; presence-scale: presence per node on 2, 4 and
                        8 nodes with rooms placed on few nodes and reconnect churn, meshchat only;
                        presence-convergence: join, crash and partition-heal convergence p50/p99 from
                        repeated runs on 5 in-process nodes, meshchat only; web: the web app's main
                        thread in rooms of 51 to 5,001 members with roster churn, in Chromium)
  --base-port <n>       first loopback port (default 17000; the suite uses about 700 from there)
  --nodes <n>           servers per system in the head-to-head runs (default 5)
  --users <n>           users in the head-to-head runs (default 400, quick 200)
  --edge <e>            how meshchat's load generators attach (workloads, presence, resume,
                        scale-out): ws (the light WebSocket edge, default) or libp2p (the
                        libp2p gateway); the attach section measures both either way
  --attach-generators <n>
                        load generator processes the attach section uses (default 1; the other
                        sections use 2): on 2 cores, two generators and the server are three busy
                        processes, and the attach time measures their contention as much as the server
  --attach-warmup <n>   clients attached and dropped before the timed attach of 1,000 (default:
                        1,000, and that first burst's own time is reported too; 100 was the
                        old default, which left the server mid-warm-up)
  --attach-warmup-bursts <n>
                        warm-up bursts before the timed ones (default 3, quick 1): V8 optimizes a
                        function fully after about 3,000 calls, and much of an attach's code runs
                        once per client; in two runs of eight timed bursts after one warm-up,
                        Socket.IO's first three were its slowest in both, meshchat's first two
                        in one run, not in the other (docs/benchmarks.md)
  --jit-warmup <s>      seconds of an unmeasured warm-up step before each sweep (room chat, DMs,
                        room-local) and each scale-out workload, at 2 msg/s per user, for every
                        system alike (default 25, quick 0): the measured steps then run code V8
                        has optimized, as a server that has been up for a while does
  --attach-bursts <n>   timed bursts of 1,000 per row of the light edge and Socket.IO, attached and
                        dropped one after another on the same server (default 5, quick 1): the
                        row gives the median and every burst's time (one burst swings by a
                        third from run to run on a shared 2-core machine)
  --ws-client <c>       WebSocket class of meshchat's light clients in the load generators:
                        node (the client library's NodeWebSocket, createNodeClient's; default),
                        ws (the ws package's client) or undici (Node's global WebSocket)
  --rates <list>        comma-separated msg/s per user for the room, DM and room-local sweeps instead
                        of the preset ones (e.g. --rates 0.5: 100 msg/s at 200 users)
  --scale-sizes <list>  comma-separated server counts for the scale-out section instead of 2,4,8
  --profile             a V8 CPU profile of every server process (node --cpu-prof) in
                        test/bench/results/profiles/<run>/, and a table of where the meshchat nodes'
                        CPU goes (self time per component, in each step's measured window) in
                        latest.md and the run's JSON; the same table for any directory of profiles:
                        node dist/test/bench/lib/profile.js <dir> [--results <run.json>]
  --perf                the same with on-CPU samples from Linux perf (perf record -e cpu-clock on
                        every meshchat node, run with --perf-basic-prof; needs the perf binary,
                        Debian package linux-perf): V8's sampler is wall-clock, and on a machine
                        short of cores it charges a call with the time its process waited for a core
  --report <file.json>  only re-render latest.md, latest.json and the chart from a saved run
  --help                this text

Results: test/bench/results/<date>-<quick|full>.json, latest.json, latest.md; chart: docs/bench/scale-out.svg`

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    only: { type: 'string' },
    adapter: { type: 'string', default: 'classic' },
    sections: { type: 'string' },
    'base-port': { type: 'string', default: '17000' },
    nodes: { type: 'string' },
    users: { type: 'string' },
    'ws-client': { type: 'string', default: 'node' },
    edge: { type: 'string', default: 'ws' },
    rates: { type: 'string' },
    'scale-sizes': { type: 'string' },
    'attach-warmup': { type: 'string' },
    'attach-warmup-bursts': { type: 'string' },
    'jit-warmup': { type: 'string' },
    'attach-generators': { type: 'string' },
    'attach-bursts': { type: 'string' },
    profile: { type: 'boolean', default: false },
    perf: { type: 'boolean', default: false },
    report: { type: 'string' },
    help: { type: 'boolean', default: false }
  },
  allowPositionals: false
})
if (argv.help === true) { console.log(HELP); process.exit(0) }
if (argv.report != null) {
  // re-render latest.md and the chart from a saved run, without running anything
  const saved = JSON.parse(readFileSync(argv.report, 'utf8')) as Results
  const { md, svg } = render(saved)
  if (svg != null) {
    mkdirSync(join(REPO_ROOT, 'docs', 'bench'), { recursive: true })
    writeFileSync(join(REPO_ROOT, 'docs', 'bench', 'scale-out.svg'), svg)
  }
  writeFileSync(join(REPO_ROOT, 'test', 'bench', 'results', 'latest.md'), md)
  writeFileSync(join(REPO_ROOT, 'test', 'bench', 'results', 'latest.json'), JSON.stringify(saved, null, 1))
  console.log(md)
  process.exit(0)
}

const quick = argv.quick === true
const only = argv.baseline != null ? (argv.baseline === 'socketio' ? 'socketio' : undefined) : argv.only
if (argv.baseline != null && argv.baseline !== 'socketio') { console.error('--baseline takes: socketio'); process.exit(2) }
if (only != null && only !== 'meshchat' && only !== 'socketio') { console.error('--only takes: meshchat or socketio'); process.exit(2) }
const runMesh = only !== 'socketio'
const runSio = only !== 'meshchat'
const adapter: AdapterMode = argv.adapter === 'sharded' ? 'sharded' : 'classic'
const sections = new Set<Section>((argv.sections?.split(',').map(s => s.trim()).filter(Boolean) ?? [...SECTIONS]) as Section[])
for (const s of sections) if (!SECTIONS.includes(s)) { console.error(`unknown section ${s}; one of ${SECTIONS.join(', ')}`); process.exit(2) }
const base = Number(argv['base-port'])
const nodes = Number(argv.nodes ?? 5)
const users = Number(argv.users ?? (quick ? 200 : 400))
const wsClient = argv['ws-client'] as 'node' | 'ws' | 'undici'
if (wsClient !== 'node' && wsClient !== 'ws' && wsClient !== 'undici') { console.error('--ws-client takes: node, ws or undici'); process.exit(2) }
if (argv['attach-generators'] != null && !/^[12]$/.test(argv['attach-generators'])) { console.error('--attach-generators takes 1 or 2'); process.exit(2) }
if (argv['attach-warmup'] != null && !/^\d{1,6}$/.test(argv['attach-warmup'])) { console.error('--attach-warmup takes a whole number of clients (0: none)'); process.exit(2) }
if (argv['attach-warmup-bursts'] != null && !/^([1-9]|10)$/.test(argv['attach-warmup-bursts'])) { console.error('--attach-warmup-bursts takes a whole number from 1 to 10'); process.exit(2) }
if (argv['jit-warmup'] != null && !/^(0|[1-9]\d{0,2})$/.test(argv['jit-warmup'])) { console.error('--jit-warmup takes whole seconds from 0 to 999'); process.exit(2) }
if (argv['attach-bursts'] != null && !/^([1-9]|1\d|20)$/.test(argv['attach-bursts'])) { console.error('--attach-bursts takes a whole number from 1 to 20'); process.exit(2) }
// load generators read it at start (loadgen.ts)
process.env.BENCH_WS_CLIENT = wsClient
const edge: MeshEdge = argv.edge === 'libp2p' ? 'libp2p' : 'ws'
if (argv.edge !== 'ws' && argv.edge !== 'libp2p') { console.error('--edge takes: ws or libp2p'); process.exit(2) }
MeshchatCluster.defaultEdge = edge

const attachGenerators = Number(argv['attach-generators'] ?? 1)
const attachBursts = argv['attach-bursts'] != null ? Number(argv['attach-bursts']) : undefined
const attachWarmupBursts = argv['attach-warmup-bursts'] != null ? Number(argv['attach-warmup-bursts']) : undefined
const jitWarmupSec = argv['jit-warmup'] != null ? Number(argv['jit-warmup']) : undefined
/** the warm-up steps' rate: 400 msg/s at 200 users (below where either system falls behind on 2 cores), four times the scale-out's */
const JIT_WARMUP_RATE = 2
const rates = argv.rates?.split(',').map(s => Number(s.trim())).filter(r => r !== 0)
if (rates != null && (rates.length === 0 || rates.some(r => !(r > 0)))) { console.error('--rates takes positive numbers (msg/s per user), comma-separated'); process.exit(2) }

const cfg: BenchConfig = quick
  ? {
      users, rooms: Math.max(1, Math.round(users / 10)), generators: 2,
      roomRates: [0.5, 2], dmRates: [1], localRates: [1],
      step: { durationMs: 3000, warmupMs: 1000, drainMs: 1000, msgBytes: 100 },
      attachClients: 1000, attachGenerators, attachBursts: attachBursts ?? 1, attachWarmupBursts: attachWarmupBursts ?? 1, jitWarmup: { ms: (jitWarmupSec ?? 0) * 1000, ratePerUser: JIT_WARMUP_RATE }, memoryClients: 5000, idleClients: 10_000, attachConcurrency: 50, idleMs: 2000, idleLongMs: 5000,
      presence: [{ nodes: 5, reps: 1 }], presenceChurn: [0, 10], churnSeconds: 2.5, churnPopulation: 8, usersPerVictim: 5,
      presenceConvergence: { joins: 10, reps: 2 },
      resume: { fill: 1000, missed: 300, writers: 10, historyPages: 10 },
      scale: { sizes: [2, 4, 8], workloads: ['spread'], users: 120, rooms: 12, rate: 1, adapters: [adapter], step: { durationMs: 2000, warmupMs: 500, drainMs: 800, msgBytes: 100 } },
      // the lowest room rate (100 msg/s at 200 users): below saturation on an otherwise idle 2-core machine
      abuse: { ratePerUser: 0.5, overdrive: 1.5, leadMs: 500, sessions: 5, rounds: 1, step: { durationMs: 6000, warmupMs: 1500, drainMs: 1000, msgBytes: 100 } }
    }
  : {
      users, rooms: Math.max(1, Math.round(users / 10)), generators: 2,
      roomRates: [0.25, 0.5, 1, 2, 4, 8, 16, 32], dmRates: [0.5, 2, 8], localRates: [0.5, 1, 2, 4, 8],
      step: { durationMs: 15000, warmupMs: 3000, drainMs: 3000, msgBytes: 100 },
      // the long idle window covers one keep-alive round of either system (meshchat pings every 30 s, Socket.IO every 25 s)
      attachClients: 1000, attachGenerators, attachBursts: attachBursts ?? 5, attachWarmupBursts: attachWarmupBursts ?? 3, jitWarmup: { ms: (jitWarmupSec ?? 25) * 1000, ratePerUser: JIT_WARMUP_RATE }, memoryClients: 5000, idleClients: 10_000, attachConcurrency: 50, idleMs: 5000, idleLongMs: 31_000,
      presence: [{ nodes: 5, reps: 3 }, { nodes: 20, reps: 3 }], presenceChurn: [0, 10, 50], churnSeconds: 10, churnPopulation: 20, usersPerVictim: 5,
      presenceConvergence: { joins: 40, reps: 12 },
      resume: { fill: 10_000, missed: 2000, writers: 12, historyPages: 10 },
      scale: { sizes: [2, 4, 8], workloads: ['spread', 'room-local'], users: 320, rooms: 32, rate: 0.5, adapters: ['classic', 'sharded'], step: { durationMs: 10000, warmupMs: 2000, drainMs: 2000, msgBytes: 100 } },
      // 100 msg/s at 400 users (the next rate, 200 msg/s, is where meshchat's p99 passes 100 ms on 2 cores)
      abuse: { ratePerUser: 0.25, overdrive: 1.5, leadMs: 500, sessions: 5, rounds: 3, step: { durationMs: 20000, warmupMs: 4000, drainMs: 3000, msgBytes: 100 } }
    }

const scaleSizes = argv['scale-sizes']?.split(',').map(s => Number(s.trim()))
if (scaleSizes != null && (scaleSizes.length === 0 || scaleSizes.some(n => !Number.isInteger(n) || n < 1 || n > 29))) { console.error('--scale-sizes takes whole numbers of servers from 1 to 29, comma-separated'); process.exit(2) }
if (scaleSizes != null) cfg.scale.sizes = scaleSizes

if (rates != null) {
  cfg.roomRates = rates
  cfg.dmRates = rates
  cfg.localRates = rates
}

function version (pkg: string): string {
  try { return (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version } catch { return '?' }
}

function machine (): Machine {
  let commit = '?'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT }).toString().trim()
    if (execFileSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT }).toString().trim() !== '') commit += '+dirty'
  } catch {}
  let redis = '?'
  try { redis = /v=(\S+)/.exec(execFileSync('redis-server', ['--version']).toString())?.[1] ?? '?' } catch {}
  return {
    cpu: cpus()[0]?.model ?? '?',
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    os: `Linux ${release()}`,
    date: new Date().toISOString(),
    commit,
    versions: {
      libp2p: version('libp2p'),
      '@libp2p/gossipsub': version('@libp2p/gossipsub'),
      'socket.io': version('socket.io'),
      '@socket.io/redis-adapter': version('@socket.io/redis-adapter'),
      redis: version('redis'),
      'redis-server': redis
    }
  }
}


const started = Date.now()
const m = machine()
const results: Results = {
  kind: quick ? 'quick' : 'full',
  machine: m,
  options: { quick, only: only ?? 'both', adapter, sections: [...sections], basePort: base, nodes, users, wsClient, edge, ...(rates != null ? { rates } : {}), ...(argv.profile === true || argv.perf === true ? { profile: argv.perf === true ? 'perf' as const : true } : {}) },
  config: cfg,
  startedAt: new Date(started).toISOString(),
  sectionSeconds: {},
  errors: [],
  attach: [],
  steps: [],
  capacity: [],
  presence: [],
  scale: []
}
const resultsDir = join(REPO_ROOT, 'test', 'bench', 'results')
/** the presence-scale section's rows, for the profile tables of its churn windows */
let presenceScaleRows: PresenceScaleRow[] = []
const chartDir = join(REPO_ROOT, 'docs', 'bench')
mkdirSync(resultsDir, { recursive: true })
const stamp = results.startedAt.replace(/[:.]/g, '-').slice(0, 19)
const jsonPath = join(resultsDir, `${stamp}-${results.kind}.json`)
// --profile: every server process the registry starts writes <seq>-<name>.cpuprofile here on exit (procs.ts)
// --perf: every meshchat node is recorded by perf into <seq>-<name>.perf.data here, converted after the run (perf.ts)
const profileDir = argv.profile === true || argv.perf === true ? join(resultsDir, 'profiles', stamp) : undefined
if (argv.perf === true && !perfAvailable()) {
  console.error('--perf needs the perf binary (Debian: apt-get install -y linux-perf)')
  process.exit(2)
}
if (profileDir != null) {
  mkdirSync(profileDir, { recursive: true })
  if (argv.perf === true) process.env.MESHCHAT_BENCH_PERF = profileDir
  else process.env.MESHCHAT_BENCH_CPU_PROF = profileDir
}

const log = (s: string): void => { console.log(s) }
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`

function save (): void {
  results.seconds = Math.round((Date.now() - started) / 1000)
  results.capacity = capacity(results.steps)
  const body = JSON.stringify(results, null, 1)
  writeFileSync(jsonPath, body)
  writeFileSync(join(resultsDir, 'latest.json'), body)
}

async function section (name: string, fn: () => Promise<void>): Promise<void> {
  if (interrupted()) return
  const t = Date.now()
  log(`\n## ${name} (at ${elapsed()})`)
  try {
    await fn()
  } catch (err) {
    if (interrupted()) return
    const msg = (err as Error).stack ?? String(err)
    results.errors.push({ section: name, error: (err as Error).message })
    console.error(`section "${name}" failed: ${msg}`)
  } finally {
    results.sectionSeconds[name] = Math.round((Date.now() - t) / 1000)
    save()
  }
}

const reg = await ProcRegistry.create()
log(`# meshchat benchmarks (${results.kind})\n\n${machineTable(m)}\n\nprocess logs: ${reg.dir}`)

const scaleDone = new Set<number>()
/** scale-out at `sizes`; systems in `reuse` (already running at one of the sizes) are measured as they are */
async function runScale (sizes: number[], reuse: SystemUnderTest[]): Promise<void> {
  await section(`scale-out: the same workload on ${sizes.join(', ')} servers`, async () => {
    const systems: SystemSpec[] = [
      ...(runMesh ? [{ system: 'meshchat' as const }] : []),
      ...(runSio ? cfg.scale.adapters.map(a => ({ system: 'socketio' as const, adapter: a })) : [])
    ]
    results.scale.push(...await scaleOut(reg, {
      base: base + 400,
      sizes,
      workloads: cfg.scale.workloads,
      systems,
      users: cfg.scale.users,
      rooms: cfg.scale.rooms,
      step: { ...cfg.scale.step, ratePerUser: cfg.scale.rate },
      generators: cfg.generators,
      log,
      reuse,
      quietMs: quick ? 2000 : IDLE_QUIET_MS,
      warm: cfg.jitWarmup
    }))
    results.scale.sort((a, b) => a.workload.localeCompare(b.workload) || a.servers - b.servers || a.system.localeCompare(b.system))
    for (const n of sizes) scaleDone.add(n)
  })
}

const mainNeeded = (['attach', 'memory', 'idle', 'room', 'dm', 'local', 'resume'] as Section[]).some(s => sections.has(s)) || (sections.has('abuse') && runMesh)
/** the Socket.IO cluster is only started for sections that compare the two systems */
const sioNeeded = runSio && (['attach', 'memory', 'idle', 'room', 'dm', 'local', 'scale'] as Section[]).some(s => sections.has(s))
try {
  if (mainNeeded) {
    const suts: SystemUnderTest[] = []
    let mesh: MeshchatCluster | undefined
    await section(`start ${[runMesh ? `${nodes} meshchat nodes` : '', sioNeeded ? `${nodes} Socket.IO servers` : ''].filter(Boolean).join(' and ')}`, async () => {
      const [mc, sio] = await Promise.all([
        runMesh ? MeshchatCluster.start(reg, { base, nodes, tag: 'main' }) : undefined,
        sioNeeded ? SocketIoCluster.start(reg, { base: base + 150, servers: nodes, adapter }) : undefined
      ])
      mesh = mc
      if (mc != null) suts.push(new SystemUnderTest(reg, mc, cfg.generators))
      if (sio != null) suts.push(new SystemUnderTest(reg, sio, cfg.generators))
    })
    try {
      // clients on one server: each use takes a server that held no clients before (attach: 0, and 1 for
      // meshchat over libp2p; memory: 2; idle: 3), so RSS an earlier use left behind hides nothing
      const one = { concurrency: cfg.attachConcurrency, warmup: 100, log }
      // the attach itself is timed on a server past its first burst: a warm-up of as many clients (its
      // own time is reported too, as the server's first burst after start)
      // as many connects in flight in all as the other sections' generators have (2 × attachConcurrency), on fewer processes
      const attachOne = { ...one, concurrency: Math.round(cfg.attachConcurrency * cfg.generators / (cfg.attachGenerators ?? cfg.generators)), warmup: argv['attach-warmup'] != null ? Number(argv['attach-warmup']) : cfg.attachClients }
      if (sections.has('attach')) {
        await section(`attach ${cfg.attachClients.toLocaleString('en-US')} clients to one server`, async () => {
          for (const s of suts) {
            // one generator unless told otherwise (--attach-generators): the others sit idle meanwhile
            await s.detach()
            s.useGenerators(cfg.attachGenerators)
            try {
              if (!(s.cluster instanceof MeshchatCluster)) {
                results.attach.push(await oneServer(s, { ...attachOne, clients: cfg.attachClients, server: 0, idleMs: cfg.idleMs, bursts: cfg.attachBursts, warmupBursts: cfg.attachWarmupBursts }))
                continue
              }
              // meshchat over the light edge, then over the libp2p gateway (noise handshake, yamux, a
              // libp2p node per client in the generators), whichever edge the workloads use
              const workloadEdge = s.cluster.edge
              try {
                s.cluster.edge = 'ws'
                results.attach.push(await oneServer(s, { ...attachOne, clients: cfg.attachClients, server: 0, idleMs: cfg.idleMs, bursts: cfg.attachBursts, warmupBursts: cfg.attachWarmupBursts }))
                s.cluster.edge = 'libp2p'
                results.attach.push(await oneServer(s, { ...attachOne, clients: cfg.attachClients, server: 1, idleMs: cfg.idleMs }))
              } finally {
                s.cluster.edge = workloadEdge
              }
            } finally {
              // every generator again for the sections after; after a failure, its users go first
              await s.detach()
              s.useGenerators()
            }
          }
        })
      }
      if (sections.has('memory')) {
        await section(`idle memory: ${cfg.memoryClients.toLocaleString('en-US')} clients on one server`, async () => {
          results.memory ??= []
          for (const s of suts) results.memory.push(await oneServer(s, { ...one, clients: cfg.memoryClients, server: 2, idleMs: cfg.idleLongMs }))
        })
      }
      if (sections.has('idle')) {
        await section(`${cfg.idleClients.toLocaleString('en-US')} idle clients on one server`, async () => {
          results.idle ??= []
          for (const s of suts) results.idle.push(await oneServer(s, { ...one, clients: cfg.idleClients, server: 3, idleMs: cfg.idleLongMs }))
        })
      }
      const step = cfg.step
      const spreadPlacement = (): ReturnType<typeof spread> => spread(cfg.users, cfg.rooms, nodes)
      let spreadAttached = false
      if (sections.has('room')) {
        await section(`room chat: ${cfg.users} users in ${cfg.rooms} rooms spread over ${nodes} servers`, async () => {
          results.steps.push(...await sweep(suts, 'room chat (spread)', spreadPlacement, 'room', cfg.roomRates, step, log, true, quick, cfg.jitWarmup))
          spreadAttached = true
        })
      }
      if (sections.has('dm')) {
        await section('direct messages to a user on another server', async () => {
          results.steps.push(...await sweep(suts, 'DMs across servers', spreadPlacement, 'dm', cfg.dmRates, step, log, !spreadAttached, quick, cfg.jitWarmup))
        })
      }
      if (sections.has('local')) {
        await section('room-local: each room on one or two servers', async () => {
          results.steps.push(...await sweep(suts, 'room-local', () => local(cfg.users, cfg.rooms, nodes), 'room', cfg.localRates, step, log, true, quick, cfg.jitWarmup))
        })
      }
      const meshSut = suts.find(s => s.system === 'meshchat')
      if (sections.has('abuse') && meshSut != null && cfg.abuse != null) {
        const abuseCfg = cfg.abuse
        await section(`abuse: honest room chat at ${abuseCfg.ratePerUser} msg/s per user, without and with one abusive client (meshchat)`, async () => {
          // the other system sits idle meanwhile: no clients of its own on the machine
          for (const s of suts) if (s !== meshSut) await s.detach()
          results.abuse = await abuseScenario(reg, meshSut, {
            workload: 'room chat (spread)',
            placement: spreadPlacement,
            cfg: abuseCfg,
            attach: false,
            log
          })
        })
      }
      if (sections.has('scale') && cfg.scale.sizes.includes(nodes) && suts.length > 0) {
        // the head-to-head clusters already have the size of one scale-out point: measure it on them
        for (const s of suts) await s.detach()
        await runScale([nodes], suts)
      }
      if (sections.has('resume') && mesh != null) {
        await section(`resume and history on a ${cfg.resume.fill.toLocaleString('en-US')}-message room (meshchat)`, async () => {
          for (const s of suts) await s.detach()
          if (mesh == null) return
          results.resume = await resumeScenario(reg, mesh, cfg.resume)
          log(`  resume after ${results.resume.missed} missed: ${results.resume.resumeMs} ms; fill ${results.resume.fillRate} msg/s`)
        })
      }
    } finally {
      await Promise.all(suts.map(async s => s.stop()))
    }
  }

  if (sections.has('presence') && runMesh) {
    for (const p of cfg.presence) {
      await section(`presence on ${p.nodes} nodes (meshchat)`, async () => {
        results.presence.push(await presenceScenario(reg, {
          base: base + 200,
          nodes: p.nodes,
          reps: p.reps,
          usersPerVictim: cfg.usersPerVictim,
          churnRates: cfg.presenceChurn,
          churnSeconds: cfg.churnSeconds,
          churnPopulationPerNode: cfg.churnPopulation,
          log
        }))
      })
    }
  }

  if (sections.has('presence-memory') && runMesh) {
    await section('presence replica memory (presence-memory.ts)', async () => {
      const script = fileURLToPath(new URL('./presence-memory.js', import.meta.url))
      const p = reg.spawn({ name: 'presence-memory', command: process.execPath, args: ['--expose-gc', script] })
      const exit = await p.exited
      if (exit.code !== 0) throw new Error(`presence-memory exited with ${exit.code ?? exit.signal ?? ''}\n${p.lastLines()}`)
      results.presenceMemory = JSON.parse(readFileSync(join(resultsDir, 'presence-memory.json'), 'utf8')) as Results['presenceMemory']
      log(`  ${results.presenceMemory?.bytesPerEntry ?? '?'} bytes per presence entry (${results.presenceMemory?.entries ?? '?'} entries)`)
    })
  }

  if (sections.has('web') && runMesh) {
    await section('the web app in a big room, in Chromium (web-big-room.ts)', async () => {
      const script = fileURLToPath(new URL('./web-big-room.js', import.meta.url))
      const p = reg.spawn({ name: 'web-big-room', command: process.execPath, args: [script] })
      const exit = await p.exited
      if (exit.code !== 0) throw new Error(`web-big-room exited with ${exit.code ?? exit.signal ?? ''}\n${p.lastLines()}`)
      results.webBigRoom = JSON.parse(readFileSync(join(resultsDir, 'web-big-room.json'), 'utf8')) as Results['webBigRoom']
      for (const r of results.webBigRoom?.rows ?? []) log(`  ${r.members} members, ${r.churnPerSec} changes/s: page main thread ${r.busy} cores, join to count ${r.joinToCountMs} ms`)
    })
  }

  if (sections.has('presence-convergence') && runMesh) {
    const pc = cfg.presenceConvergence ?? { joins: 40, reps: 12 }
    await section(`presence convergence from repeated runs: ${pc.joins} joins, ${pc.reps} crashes, ${pc.reps} heals (presence-convergence.ts)`, async () => {
      const script = fileURLToPath(new URL('./presence-convergence.js', import.meta.url))
      const out = join(resultsDir, 'presence-convergence.json')
      const p = reg.spawn({ name: 'presence-convergence', command: process.execPath, args: [script, '--joins', String(pc.joins), '--reps', String(pc.reps), '--out', out] })
      const exit = await p.exited
      if (exit.code !== 0) throw new Error(`presence-convergence exited with ${exit.code ?? exit.signal ?? ''}\n${p.lastLines()}`)
      results.presenceConvergence = JSON.parse(readFileSync(out, 'utf8')) as Results['presenceConvergence']
      for (const f of results.presenceConvergence?.figures ?? []) log(`  ${f.event}: p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms over ${f.samples} (bound ${f.boundMs} ms)`)
    })
  }

  if (sections.has('presence-scale') && runMesh) {
    await section('presence as nodes are added: 2, 4, 8 nodes (meshchat)', async () => {
      const heapPerItem = measurePresenceHeapPerItem()
      log(`  heap per item (room-presence-memory.js): room presence device ${heapPerItem.roomDevice} B, room-host pair ${heapPerItem.hostPair} B, directory record ${heapPerItem.directoryRecord} B`)
      const rows = await presenceScaleScenario(reg, { base: base + 400, nodeCounts: [2, 4, 8], users: quick ? 80 : 320, churnRates: quick ? [10] : [10, 50], seconds: quick ? 5 : 10, heapPerItem, log })
      presenceScaleRows = rows
      const table = presenceScaleTable(rows)
      log(table)
      writeFileSync(join(resultsDir, 'presence-scale.json'), JSON.stringify({ at: new Date().toISOString(), rows, table }, null, 2) + '\n')
    })
  }

  if (sections.has('scale')) {
    const other = cfg.scale.sizes.filter(n => !scaleDone.has(n))
    if (other.length > 0) await runScale(other, [])
  }
} finally {
  await reg.stopAll()
}

if (profileDir != null && !interrupted()) {
  // the nodes wrote their profiles as they exited: one table per meshchat step (its measured window),
  // and one per presence-scale churn window
  try {
    const windows = [
      ...windowsFromSteps(results.steps),
      ...windowsFromSteps(scaleSteps(results.scale)),
      ...results.attach.flatMap(r => r.profileWindow == null || !r.system.startsWith('meshchat') ? [] : [{ label: `attach ${r.clients} to ${r.node} (${r.system})`, ...r.profileWindow }]),
      ...presenceScaleRows.flatMap(r => r.profileWindow == null ? [] : [{ label: `presence-scale, ${r.nodes} nodes, ${r.churnPerSec} reconnects/s`, ...r.profileWindow }])
    ]
    if (argv.perf === true) {
      await reg.perfDone()
      await convertPerfDir(profileDir, reg.perfPids)
    }
    results.profile = {
      dir: relative(REPO_ROOT, profileDir),
      sampler: argv.perf === true ? 'perf' : 'v8',
      tables: summarizeDir(profileDir, windows.length > 0 ? windows : undefined, { top: 25 })
    }
  } catch (err) {
    results.errors.push({ section: 'profile summary', error: (err as Error).message })
  }
}

// ---- report
const { md: mdText, svg } = render(results)
if (svg != null) {
  mkdirSync(chartDir, { recursive: true })
  writeFileSync(join(chartDir, 'scale-out.svg'), svg)
}
writeFileSync(join(resultsDir, 'latest.md'), mdText)
save()
console.log('\n' + mdText)
console.log(`results: ${jsonPath}\ntables: ${join(resultsDir, 'latest.md')}`)
if (results.errors.length === 0 && !interrupted()) await reg.removeDir()
else console.log(`process logs kept in ${reg.dir}`)
process.exit(results.errors.length > 0 ? 1 : 0)
