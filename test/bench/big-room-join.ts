/**
 * What members cost a node as its rooms fill up: real nodes (the CLI, separate processes), clients
 * over the light edge all on the first node, each joining every one of `--rooms` rooms, in batches
 * until the rooms hold `--members` each. Then, at the full size, `--reconnects` members drop their
 * connection and attach again (their hello names every room: the node decides their placement from
 * the rooms' hosts and resumes them), and then members leave one room and join it again at
 * `--churn` a second. Prints the first node's CPU per join (attach and joins together), per
 * reconnect and per leave or join, and the presence events the members were shown per reconnect; the other node carries none of the members but may be one of
 * the rooms' archive replicas. Every member is told of every arrival in its rooms, so each figure
 * grows with the rooms' size: the tables show by how much.
 *
 *   node dist/test/bench/big-room-join.js [--members 300] [--rooms 10] [--batch 100] [--in-flight 20] [--reconnects 200] [--churn 20] [--seconds 10] [--grace ms] [--out file] [--profile dir]
 *
 * A reconnect drops the connection as a network failure would (the client's `disconnect`, close
 * code 4001), so the node holds the device in presence for its grace (`--grace` sets the nodes'
 * `--presence-grace-ms`, default the node's own); the reconnect phase's window runs on for the
 * grace (at least 5 s) after the last reconnect, so the held devices' ends are in it.
 *
 * `--profile dir` runs the first node under `node --cpu-prof` (its profile in dir/), and the JSON gives
 * each phase's window on the profile's clock (`fromUs`, `toUs`).
 *
 * CPU comes from /proc/<pid>/stat of each process (threads included). Writes JSON (default
 * test/bench/results/big-room-join.json).
 */
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { OpsRig, waitUntil } from '../ops/cli-proc.js'
import { readProcStats } from './lib/procs.js'
import { DEFAULT_CONFIG } from '../../node/src/config.js'
import type { ChatClient } from '../../client/src/node.js'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')

const { values: argv } = parseArgs({
  options: {
    members: { type: 'string' }, rooms: { type: 'string' }, batch: { type: 'string' }, 'in-flight': { type: 'string' },
    reconnects: { type: 'string' }, churn: { type: 'string' }, seconds: { type: 'string' }, grace: { type: 'string' }, out: { type: 'string' }, profile: { type: 'string' }
  }
})
const members = Number(argv.members ?? 300)
const roomCount = Number(argv.rooms ?? 10)
const batch = Number(argv.batch ?? 100)
const inFlight = Number(argv['in-flight'] ?? 20)
const reconnects = Number(argv.reconnects ?? 200)
const churn = Number(argv.churn ?? 20)
const seconds = Number(argv.seconds ?? 10)
const graceMs = Number(argv.grace ?? DEFAULT_CONFIG.presenceGraceMs)
if (!(Number.isInteger(members) && members >= 10 && members <= 10_000) || !(Number.isInteger(roomCount) && roomCount >= 1 && roomCount <= 50) ||
  !(Number.isInteger(batch) && batch >= 10 && batch <= members) || !(Number.isInteger(inFlight) && inFlight >= 1 && inFlight <= 500) ||
  !(Number.isInteger(reconnects) && reconnects >= 0 && reconnects <= members) || !(churn > 0 && churn <= 500) || !(seconds >= 2 && seconds <= 120) ||
  !(Number.isInteger(graceMs) && graceMs >= 0 && graceMs <= 60_000)) {
  console.error('--members takes 10 to 10,000, --rooms 1 to 50, --batch 10 to --members, --in-flight 1 to 500, --reconnects 0 to --members, --churn up to 500 a second, --seconds 2 to 120, --grace 0 to 60000 ms')
  process.exit(2)
}
// every client here keeps the roster of each of its rooms: members² × rooms entries in this process
if (members * members * roomCount > 4_000_000) {
  console.error(`--members ${members} in --rooms ${roomCount} would keep ${members * members * roomCount} roster entries in this process (at most 4,000,000): fewer members or rooms`)
  process.exit(2)
}
const ROOMS = Array.from({ length: roomCount }, (_, i) => `room${i}`)
const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'big-room-join.json')
const profileDir = argv.profile == null ? undefined : resolve(argv.profile)
/** CLOCK_MONOTONIC µs, the clock of the profiles' sample times */
const monoUs = (): number => Number(process.hrtime.bigint() / 1000n)
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

interface Window { fromUs: number, toUs: number }
interface JoinRow extends Window { from: number, to: number, seconds: number, nodeUsPerJoin: number, otherUsPerJoin: number }
interface ReconnectRow extends Window { members: number, reconnects: number, failed: number, seconds: number, graceMs: number, nodeUsPerReconnect: number, otherUsPerReconnect: number, presenceEventsPerReconnect: number }
interface ChurnRow extends Window { members: number, changes: number, failed: number, nodeUsPerChange: number, otherUsPerChange: number }

const rig = new OpsRig(join(ROOT, 'bin', 'meshchat.js'))
const clients: ChatClient[] = []
const joins: JoinRow[] = []
let reconnectRow: ReconnectRow | undefined
let churnRow: ChurnRow | undefined
try {
  const meshKey = rig.meshKey()
  const boot = await rig.bootstrap(meshKey)
  const limits = ['--max-clients', '20000', '--max-clients-per-ip', '20000', '--max-room-members', '10000', '--presence-grace-ms', String(graceMs)]
  const nodes = [rig.node('n0', meshKey, ['--bootstrap', boot.addr, ...limits], profileDir == null ? undefined : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` }), rig.node('n1', meshKey, ['--bootstrap', boot.addr, ...limits])]
  const started = await Promise.all(nodes.map(async p => p.waitFor(l => l.msg === 'node started', 'node started')))
  const url = (started[0]?.ws as string[] | undefined)?.[0]
  if (url == null) throw new Error('the first node names no WebSocket URL')
  await waitUntil(() => nodes.every(p => p.lines.some(l => l.msg === 'node up')), 'the two nodes see each other', 60_000)
  const pids = nodes.map(p => p.proc.pid ?? 0)
  const cpu = (): number[] => pids.map(pid => readProcStats(pid).cpuSec)
  /** µs of CPU per item, the first node's and the other's, between two readings of `cpu()` */
  const usEach = (c0: number[], c1: number[], items: number): [number, number] => {
    const us = (i: number): number => Math.round(((c1[i] ?? 0) - (c0[i] ?? 0)) / Math.max(1, items) * 1e6)
    return [us(0), us(1)]
  }

  /** presence events (a member joining, leaving or changing) shown to the clients, all together */
  let presenceEvents = 0
  const joinOne = async (i: number): Promise<void> => {
    const c = createNodeClient({ name: `m${i}`, addrs: [url], keyStore: memoryKeyStore(), reconnect: false, redirect: false, requestTimeoutMs: 60_000 })
    for (const kind of ['presence:join', 'presence:leave', 'presence:update'] as const) c.addEventListener(kind, () => { presenceEvents++ })
    clients.push(c)
    await c.start()
    for (const room of ROOMS) await c.join(room, { backlog: 0 })
  }
  for (let from = 0; from < members; from += batch) {
    const to = Math.min(members, from + batch)
    await sleep(1000)
    const c0 = cpu()
    const t0 = performance.now()
    const fromUs = monoUs()
    let next = from
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < to) await joinOne(next++)
    }))
    // the node's presence pushes and the members' roster updates settle
    await sleep(500)
    const [nodeUsPerJoin, otherUsPerJoin] = usEach(c0, cpu(), to - from)
    const row: JoinRow = { fromUs, toUs: monoUs(), from, to, seconds: Math.round((performance.now() - t0) / 10) / 100, nodeUsPerJoin, otherUsPerJoin }
    joins.push(row)
    console.error(`joined ${to}: ${row.nodeUsPerJoin} µs of the node's CPU per member`)
  }

  // reconnects at the full size: a member drops its connection and attaches again, naming its rooms
  if (reconnects > 0) {
    await sleep(2000)
    let failed = 0
    const c0 = cpu()
    const e0 = presenceEvents
    const t0 = performance.now()
    const fromUs = monoUs()
    let next = 0
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < reconnects) {
        const c = clients[next++]
        if (c == null) break
        try {
          c.disconnect({ reconnect: false })
          // the drop is seen a turn later: until then connect() would answer with the old welcome
          for (let i = 0; i < 500 && c.state === 'connected'; i++) await sleep(2)
          if (c.state === 'connected') throw new Error('the connection did not drop')
          await c.connect()
        } catch {
          failed++
        }
      }
    }))
    const seconds = Math.round((performance.now() - t0) / 10) / 100
    // the held devices' graces end in the window too; the same window whatever the grace (at least
    // 5 s on), so runs with and without one are read over the same idle time
    await sleep(500 + Math.max(graceMs, 5000))
    const [nodeUsPerReconnect, otherUsPerReconnect] = usEach(c0, cpu(), reconnects)
    const presenceEventsPerReconnect = Math.round((presenceEvents - e0) / Math.max(1, reconnects) * 10) / 10
    reconnectRow = { fromUs, toUs: monoUs(), members: clients.length, reconnects, failed, seconds, graceMs, nodeUsPerReconnect, otherUsPerReconnect, presenceEventsPerReconnect }
  }

  // churn at the full size: one member at a time leaves and joins again
  await sleep(2000)
  let changes = 0
  let failed = 0
  const c0 = cpu()
  const t0 = performance.now()
  const fromUs = monoUs()
  const period = 1000 / churn
  const pending: Array<Promise<void>> = []
  for (let k = 0; performance.now() - t0 < seconds * 1000; k++) {
    const due = t0 + k * period
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    const c = clients[(k * 7919) % clients.length]
    if (c == null) break
    pending.push((async () => {
      try {
        const room = ROOMS[k % ROOMS.length] ?? ''
        await c.leave(room)
        await c.join(room, { backlog: 0 })
        changes += 2
      } catch {
        failed++
      }
    })())
  }
  await Promise.all(pending)
  await sleep(500)
  const [nodeUsPerChange, otherUsPerChange] = usEach(c0, cpu(), changes)
  churnRow = { fromUs, toUs: monoUs(), members: clients.length, changes, failed, nodeUsPerChange, otherUsPerChange }
} finally {
  await Promise.all(clients.map(async c => c.close().catch(() => {})))
  await rig.cleanup()
}

console.log(`${roomCount} rooms filled to ${members} members each on one node (every member in every room), ${inFlight} at a time; ${reconnects} reconnects; then ${churn} leave-and-join pairs a second for ${seconds} s\n`)
console.log(`| members before → after | seconds | node CPU per member: attach and ${roomCount} joins (µs) | other node (µs) |`)
console.log('|---|---:|---:|---:|')
for (const r of joins) console.log(`| ${r.from} → ${r.to} | ${r.seconds} | ${r.nodeUsPerJoin} | ${r.otherUsPerJoin} |`)
if (reconnectRow != null) {
  console.log('\n| members | reconnects | failed | seconds | presence grace (ms) | node CPU per reconnect (µs) | other node (µs) | presence events shown to members per reconnect |')
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|')
  console.log(`| ${reconnectRow.members} | ${reconnectRow.reconnects} | ${reconnectRow.failed} | ${reconnectRow.seconds} | ${reconnectRow.graceMs} | ${reconnectRow.nodeUsPerReconnect} | ${reconnectRow.otherUsPerReconnect} | ${reconnectRow.presenceEventsPerReconnect} |`)
}
if (churnRow != null) {
  console.log('\n| members | leaves and joins | failed | node CPU per change (µs) | other node CPU per change (µs) |')
  console.log('|---:|---:|---:|---:|---:|')
  console.log(`| ${churnRow.members} | ${churnRow.changes} | ${churnRow.failed} | ${churnRow.nodeUsPerChange} | ${churnRow.otherUsPerChange} |`)
}
writeFileSync(out, JSON.stringify({ kind: 'big-room-join', at: new Date().toISOString(), members, rooms: roomCount, batch, reconnects, reconnect: reconnectRow, inFlight, churnPerSec: churn, seconds, joins, churnStep: churnRow }, null, 2) + '\n')
console.log(`\nresults: ${out}`)
