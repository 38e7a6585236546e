/**
 * Where a room message's server CPU goes, node by node: real nodes (the CLI, separate processes),
 * every client on the first node over the light edge, R rooms of M members, each room's first
 * member sending. Run with 1 node (no other node to hand the event to), then with 2 and more
 * (the event is handed to a carrying node and stored there before the ack), the per-message CPU
 * of the ingress node and of the other nodes shows what the hand-off and the second copy cost
 * against the ingress node's own work (verification, storage, fan-out to M − 1 sessions).
 *
 *   node dist/test/bench/message-cost.js [--nodes 1,2] [--rooms 10] [--members 10] [--rate 100] [--seconds 10] [--out file] [--profile dir [--top n]] [--alloc-profile dir]
 *
 * `--profile dir` runs every node under `node --cpu-prof` (profiles in dir/<n>-nodes/<node>/) and
 * prints, for each node, where its main thread's time went inside the measured window, by component
 * (the same buckets as `npm run bench -- --profile`), and with `--top n` the n functions with the
 * most self time. The profiler adds to every figure.
 *
 * `--alloc-profile dir` runs V8's sampling heap profiler in every node over the measured window
 * (lib/alloc-sampler.ts, started and stopped by signals; dir/<n>-nodes-<node>.heapprofile) and prints,
 * for each node, the bytes its code allocated per delivered message, by component and by
 * allocating function (lib/alloc-profile.ts): what its garbage collector had to deal with. The
 * sampler adds to the CPU figures too.
 *
 * CPU comes from /proc/<pid>/stat of each process (threads included), over the sending window and
 * over an idle window of the same clients before it; "net" takes the idle rate off. Prints a table;
 * writes JSON (default test/bench/results/message-cost.json).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { OpsRig, waitUntil } from '../ops/cli-proc.js'
import { readProcStats } from './lib/procs.js'
import { profileTable, summarizeDir, topTable } from './lib/profile.js'
import { allocTable, readHeapProfile, summarizeAlloc } from './lib/alloc-profile.js'
import type { ChatClient } from '../../client/src/node.js'
import type { CliProc } from '../ops/cli-proc.js'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')

const { values: argv } = parseArgs({
  options: {
    nodes: { type: 'string' }, rooms: { type: 'string' }, members: { type: 'string' },
    rate: { type: 'string' }, seconds: { type: 'string' }, out: { type: 'string' }, profile: { type: 'string' }, top: { type: 'string' },
    'alloc-profile': { type: 'string' }
  }
})
const nodeCounts = (argv.nodes ?? '1,2').split(',').map(Number)
const rooms = Number(argv.rooms ?? 10)
const members = Number(argv.members ?? 10)
const rate = Number(argv.rate ?? 100)
const seconds = Number(argv.seconds ?? 10)
if (nodeCounts.some(n => !Number.isInteger(n) || n < 1 || n > 8) || !(rooms >= 1 && rooms <= 100) ||
  !(members >= 2 && members <= 100) || !(rate > 0 && rate <= 2000) || !(seconds >= 2 && seconds <= 600)) {
  console.error('--nodes takes 1 to 8 (comma-separated), --rooms 1 to 100, --members 2 to 100, --rate up to 2000 msg/s, --seconds 2 to 600')
  process.exit(2)
}
const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'message-cost.json')
const profileRoot = argv.profile == null ? undefined : resolve(argv.profile)
const top = Math.max(0, Math.min(200, Number(argv.top ?? 0) || 0))
const allocRoot = argv['alloc-profile'] == null ? undefined : resolve(argv['alloc-profile'])
const ALLOC_SAMPLER = pathToFileURL(join(import.meta.dirname, 'lib', 'alloc-sampler.js')).href
/** CLOCK_MONOTONIC µs, the clock of the profiles' sample times */
const monoUs = (): number => Number(process.hrtime.bigint() / 1000n)
/** the main thread's profile (workers write their own, with another thread number) */
const MAIN_THREAD_PROFILE = /\.0\.\d+\.cpuprofile$/
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

interface Row {
  nodes: number
  sent: number
  sendErrors: number
  deliveries: number
  /** deliveries / (sent × (members − 1)) */
  deliveredShare: number
  /** CPU per message sent, µs: the ingress node, all other nodes together, the bootstrap */
  ingressUsPerMsg: number
  othersUsPerMsg: number
  bootstrapUsPerMsg: number
  /** the same with each process's idle rate (same clients, nobody sending) taken off */
  ingressNetUsPerMsg: number
  othersNetUsPerMsg: number
  /** all server processes, per delivery */
  usPerDelivery: number
  netUsPerDelivery: number
  idleCores: number
  /** with --profile: each node's table of where its main thread's time went in the measured window */
  profiles?: Array<{ node: string, table: string }>
  /** with --alloc-profile: each node's bytes allocated per delivery in the measured window, and its table */
  allocations?: Array<{ node: string, bytesPerDelivery?: number, table: string }>
}

async function measure (n: number): Promise<Row> {
  const t00 = performance.now()
  const phase = (what: string): void => { console.error(`${n} node(s): ${what} at ${((performance.now() - t00) / 1000).toFixed(1)} s`) }
  const rig = new OpsRig(join(ROOT, 'bin', 'meshchat.js'))
  const clients: ChatClient[] = []
  try {
    const meshKey = rig.meshKey()
    const boot = await rig.bootstrap(meshKey)
    const limits = ['--max-clients', '20000', '--max-clients-per-ip', '20000']
    const nodes: CliProc[] = []
    const profDir = (i: number): string | undefined => profileRoot == null ? undefined : join(profileRoot, `${n}-nodes`, i === 0 ? 'ingress' : `other${i}`)
    const allocFile = (i: number): string | undefined => allocRoot == null ? undefined : join(allocRoot, `${n}-nodes-${i === 0 ? 'ingress' : `other${i}`}.heapprofile`)
    if (allocRoot != null) mkdirSync(allocRoot, { recursive: true })
    for (let i = 0; i < n; i++) {
      const dir = profDir(i)
      const alloc = allocFile(i)
      const options = [...(dir == null ? [] : [`--cpu-prof --cpu-prof-dir=${dir}`]), ...(alloc == null ? [] : [`--import=${ALLOC_SAMPLER}`])]
      const env: Record<string, string> = {}
      if (options.length > 0) env.NODE_OPTIONS = options.join(' ')
      if (alloc != null) {
        // a profile left by an earlier run in the same directory would be taken for this run's
        rmSync(alloc, { force: true })
        env.MESHCHAT_ALLOC_PROF_OUT = alloc
      }
      nodes.push(rig.node(`n${i}`, meshKey, ['--bootstrap', boot.addr, ...limits], Object.keys(env).length === 0 ? undefined : env))
    }
    /** the allocation sampler's signal to every node: the first starts it, the second writes its profile */
    const toggleSampler = (): void => { if (allocRoot != null) for (const p of nodes) p.proc.kill('SIGUSR2') }
    const started = await Promise.all(nodes.map(async p => p.waitFor(l => l.msg === 'node started', 'node started')))
    const url = (started[0]?.ws as string[] | undefined)?.[0]
    if (url == null) throw new Error('the first node names no WebSocket URL')
    // every node sees every other before clients come (the room's carrying node is chosen among them)
    await waitUntil(() => nodes.every(p => p.lines.filter(l => l.msg === 'node up').length >= n - 1), `every node sees ${n - 1} others`, 60_000)
    phase('mesh up')
    await sleep(2000)
    let deliveries = 0
    const senders: ChatClient[] = []
    // each room's members join together (the first join of a room waits for the room's first backfill)
    for (let r = 0; r < rooms; r++) {
      const joined = await Promise.all(Array.from({ length: members }, async (_, m) => {
        const c = createNodeClient({ name: `r${r}m${m}`, addrs: [url], keyStore: memoryKeyStore(), reconnect: false, redirect: false, requestTimeoutMs: 30_000 })
        clients.push(c)
        await c.start()
        await c.join(`room${r}`)
        c.addEventListener('message', e => { if (e.detail.from !== c.userId) deliveries++ })
        return c
      }))
      senders.push(joined[0]!)
    }
    phase('clients in rooms')
    // a warm-up at the same rate (JIT, the rooms' carrying nodes), then an idle window, then the measured one
    const pids = [boot.proc, ...nodes].map(p => p.proc.pid ?? 0)
    const cpu = (): number[] => pids.map(pid => readProcStats(pid).cpuSec)
    const send = async (ms: number): Promise<{ sent: number, errors: number }> => {
      let sent = 0
      let errors = 0
      const period = 1000 / rate
      const t0 = performance.now()
      const inflight: Array<Promise<unknown>> = []
      while (performance.now() - t0 < ms) {
        const due = Math.floor((performance.now() - t0) / period)
        while (sent < due) {
          const room = sent % rooms
          inflight.push(senders[room]!.send(`room${room}`, 'x'.repeat(200)).catch(() => { errors++ }))
          sent++
        }
        await sleep(5)
      }
      await Promise.all(inflight)
      return { sent, errors }
    }
    await send(2000)
    // the idle window well after the joins and the warm-up: in their first seconds a mesh the
    // users just joined is still at work (backfills of the rooms, presence), which is not idle work
    await sleep(10_000)
    const i0 = cpu()
    const it0 = performance.now()
    await sleep(3000)
    const i1 = cpu()
    const idleSec = (performance.now() - it0) / 1000
    const idleRate = i1.map((c, i) => (c - (i0[i] ?? 0)) / idleSec)
    deliveries = 0
    const c0 = cpu()
    const t0 = performance.now()
    const fromUs = monoUs()
    toggleSampler()
    const { sent, errors } = await send(seconds * 1000)
    await sleep(500)
    toggleSampler()
    const c1 = cpu()
    const toUs = monoUs()
    phase('measured')
    const wall = (performance.now() - t0) / 1000
    const used = c1.map((c, i) => c - (c0[i] ?? 0))
    const net = used.map((u, i) => u - (idleRate[i] ?? 0) * wall)
    const us = (s: number, per: number): number => Math.round(s / per * 1e6)
    const othersUsed = used.slice(2).reduce((a, b) => a + b, 0)
    const othersNet = net.slice(2).reduce((a, b) => a + b, 0)
    const all = used.reduce((a, b) => a + b, 0)
    const allNet = net.reduce((a, b) => a + b, 0)
    let allocations: Row['allocations']
    if (allocRoot != null) {
      phase('waiting for the allocation profiles')
      await waitUntil(() => nodes.every((_, i) => existsSync(allocFile(i) ?? '')), 'every node\'s allocation profile', 60_000)
      allocations = nodes.map((_, i) => {
        const node = i === 0 ? 'ingress node' : `other node ${i}`
        const t = summarizeAlloc([readHeapProfile(allocFile(i) ?? '')], `${n} node(s), ${node}, allocations in the measured window`, { deliveries, top: top > 0 ? top : 20 })
        return { node, ...(t.bytesPerDelivery == null ? {} : { bytesPerDelivery: Math.round(t.bytesPerDelivery) }), table: allocTable(t) }
      })
    }
    let profiles: Row['profiles']
    if (profileRoot != null) {
      // the nodes write their profiles as they exit
      phase('stopping the nodes for their profiles')
      await Promise.all(nodes.map(async p => p.stop('SIGTERM', 20_000)))
      profiles = nodes.map((_, i) => {
        const node = i === 0 ? 'ingress node' : `other node ${i}`
        const [t] = summarizeDir(profDir(i) ?? '', [{ label: `${n} node(s), ${node}, measured window`, fromUs, toUs, deliveries }], { match: MAIN_THREAD_PROFILE, top })
        return { node, table: t == null ? 'no profile written' : [profileTable(t), topTable(t)].filter(x => x !== '').join('\n\n') }
      })
    }
    return {
      nodes: n,
      sent,
      sendErrors: errors,
      deliveries,
      deliveredShare: Math.round(deliveries / (sent * (members - 1)) * 1000) / 1000,
      ingressUsPerMsg: us(used[1] ?? NaN, sent),
      othersUsPerMsg: n > 1 ? us(othersUsed, sent) : 0,
      bootstrapUsPerMsg: us(used[0] ?? NaN, sent),
      ingressNetUsPerMsg: us(net[1] ?? NaN, sent),
      othersNetUsPerMsg: n > 1 ? us(othersNet, sent) : 0,
      usPerDelivery: us(all, deliveries),
      netUsPerDelivery: us(allNet, deliveries),
      idleCores: Math.round(idleRate.reduce((a, b) => a + b, 0) * 1000) / 1000,
      ...(profiles == null ? {} : { profiles }),
      ...(allocations == null ? {} : { allocations })
    }
  } finally {
    phase('stopping')
    await Promise.all(clients.map(async c => c.close().catch(() => {})))
    await rig.cleanup()
  }
}

const rows: Row[] = []
for (const n of nodeCounts) rows.push(await measure(n))
console.log(`${rooms} rooms of ${members} on the first node, ${rate} msg/s for ${seconds} s\n`)
console.log('| nodes | sent | send errors | delivered | ingress node µs / msg (net) | other nodes µs / msg (net) | bootstrap µs / msg | all servers µs / delivery (net) | idle cores |')
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for (const r of rows) {
  console.log(`| ${r.nodes} | ${r.sent} | ${r.sendErrors} | ${(r.deliveredShare * 100).toFixed(1)} % | ${r.ingressUsPerMsg} (${r.ingressNetUsPerMsg}) | ${r.othersUsPerMsg} (${r.othersNetUsPerMsg}) | ${r.bootstrapUsPerMsg} | ${r.usPerDelivery} (${r.netUsPerDelivery}) | ${r.idleCores} |`)
}
for (const r of rows) for (const p of r.profiles ?? []) console.log(`\n${p.table}`)
for (const r of rows) for (const a of r.allocations ?? []) console.log(`\n${a.table}`)
writeFileSync(out, JSON.stringify({ kind: 'message-cost', at: new Date().toISOString(), node: process.version, rooms, members, rate, seconds, rows }, null, 2) + '\n')
console.log(`\nresults: ${out}`)
