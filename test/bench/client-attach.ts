/**
 * What a Node program's ChatClient spends to attach: one node (the CLI, its own process), and in
 * this process rounds of clients made by `createNodeClient`, each with a new key
 * (`memoryKeyStore`), started `--in-flight` at a time over the light edge (ws:// URL). Prints, per
 * round, the time from the first start to the last welcome and this process's CPU per attach (the
 * client library's side: key, WebSocket connect, proof of key, hello, welcome); the first round
 * runs code the JIT has not optimized yet. The node's side of both ends of a session: its CPU (all
 * its threads, from /proc/<pid>/task/<tid>/schedstat) per attach, and per close (the clients' close()
 * and half a second for the node to see them go, less the node's idle CPU over as long a time).
 *
 *   node dist/test/bench/client-attach.js [--clients 1000] [--rounds 4] [--in-flight 50] [--websocket node|ws|undici] [--noble-keys] [--out file]
 *
 * `--websocket ws` gives the light edge the `ws` package's client, `undici` Node's global
 * WebSocket, instead of the client library's NodeWebSocket (createNodeClient's default);
 * `--noble-keys` derives each new key's public half in JavaScript (noble) instead of libsodium or
 * node:crypto. Writes JSON (default test/bench/results/client-attach.json).
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { WebSocket as WsClient } from 'ws'
import { webSocketTransport } from '../../client/src/transports/websocket.js'
import { setEd25519PublicKeyOf } from '../../client/src/protocol/keys.js'
import { OpsRig } from '../ops/cli-proc.js'
import type { ChatClient } from '../../client/src/node.js'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')
const { values: argv } = parseArgs({
  options: {
    clients: { type: 'string' }, rounds: { type: 'string' }, 'in-flight': { type: 'string' },
    websocket: { type: 'string' }, 'noble-keys': { type: 'boolean' }, out: { type: 'string' }
  }
})
const clients = Number(argv.clients ?? 1000)
const rounds = Number(argv.rounds ?? 4)
const inFlight = Number(argv['in-flight'] ?? 50)
const websocket = argv.websocket ?? 'node'
const nobleKeys = argv['noble-keys'] === true
if (!Number.isInteger(clients) || clients < 1 || clients > 10_000 || !Number.isInteger(rounds) || rounds < 1 || rounds > 20 ||
  !Number.isInteger(inFlight) || inFlight < 1 || inFlight > 1000 || (websocket !== 'node' && websocket !== 'ws' && websocket !== 'undici')) {
  console.error('--clients takes 1 to 10,000, --rounds 1 to 20, --in-flight 1 to 1,000, --websocket node, ws or undici')
  process.exit(2)
}
const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'client-attach.json')

interface Round { round: number, seconds: number, cpuMsPerAttach: number, nodeMsPerAttach: number, nodeMsPerClose: number }
const rows: Round[] = []

/** CPU time of every thread of process `pid` so far, in ns (schedstat: the JIT's and GC's helper threads count) */
function cpuNs (pid: number): number {
  let ns = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // a thread that ended meanwhile
    }
  }
  return ns
}
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
/** after the clients' close() calls return, the node is given this long to see every connection go */
const CLOSE_SETTLE_MS = 500
const rig = new OpsRig(join(ROOT, 'bin', 'meshchat.js'))
try {
  const meshKey = rig.meshKey()
  const boot = await rig.bootstrap(meshKey)
  const node = rig.node('n0', meshKey, ['--bootstrap', boot.addr, '--max-clients', '20000', '--max-clients-per-ip', '20000'])
  const started = await node.waitFor(l => l.msg === 'node started', 'node started')
  const url = (started.ws as string[] | undefined)?.[0]
  if (url == null) throw new Error('the node names no WebSocket URL')
  const pid = node.proc.pid
  if (pid == null) throw new Error('the node has no process id')
  for (let round = 0; round < rounds; round++) {
    const made: ChatClient[] = Array.from({ length: clients }, (_, i) => createNodeClient({
      name: `u${round}-${i}`,
      addrs: [url],
      keyStore: memoryKeyStore(),
      reconnect: false,
      redirect: false,
      requestTimeoutMs: 30_000,
      // node: createNodeClient's own transports, as a Node program gets them
      ...(websocket === 'undici' ? { transports: [webSocketTransport({ WebSocket: globalThis.WebSocket })] } : {}),
      ...(websocket === 'ws' ? { transports: [webSocketTransport({ WebSocket: WsClient as unknown as typeof globalThis.WebSocket, binaryType: 'nodebuffer' })] } : {})
    }))
    // createNodeClient installs the platform's derivation; taken off again for the noble figures
    if (nobleKeys) setEd25519PublicKeyOf(undefined)
    const cpu0 = process.cpuUsage()
    const node0 = cpuNs(pid)
    const t0 = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: Math.min(inFlight, clients) }, async () => {
      while (next < made.length) await made[next++]?.start()
    }))
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const nodeAttachNs = cpuNs(pid) - node0
    // the clients close (each one's close handshake), and the node's CPU from then until it has had
    // time to see them all go, less what it spends idle in as long a time right after
    const close0 = cpuNs(pid)
    const tc = performance.now()
    await Promise.all(made.map(async c => { await c.close() }))
    await sleep(CLOSE_SETTLE_MS)
    const closeNs = cpuNs(pid) - close0
    const closeWindowMs = performance.now() - tc
    const idle0 = cpuNs(pid)
    await sleep(closeWindowMs)
    const idleNs = cpuNs(pid) - idle0
    rows.push({
      round,
      seconds: Math.round(seconds * 1000) / 1000,
      cpuMsPerAttach: Math.round((cpu.user + cpu.system) / clients) / 1000,
      nodeMsPerAttach: Math.round(nodeAttachNs / clients / 1000) / 1000,
      nodeMsPerClose: Math.round(Math.max(0, closeNs - idleNs) / clients / 1000) / 1000
    })
  }
} finally {
  await rig.cleanup()
}
console.log(`${clients} clients a round, ${inFlight} in flight, light edge WebSocket: ${websocket === 'node' ? 'NodeWebSocket' : websocket === 'ws' ? 'the ws package' : "Node's global (undici)"}, public keys: ${nobleKeys ? 'noble' : 'libsodium or node:crypto'}\n`)
console.log('| round | attach all (s) | client CPU per attach (ms) | node CPU per attach (ms) | node CPU per close (ms) |\n|---:|---:|---:|---:|---:|')
for (const r of rows) console.log(`| ${r.round}${r.round === 0 ? ' (first)' : ''} | ${r.seconds.toFixed(2)} | ${r.cpuMsPerAttach.toFixed(3)} | ${r.nodeMsPerAttach.toFixed(3)} | ${r.nodeMsPerClose.toFixed(3)} |`)
writeFileSync(out, JSON.stringify({ clients, inFlight, websocket, nobleKeys, rounds: rows, nodeVersion: process.version, date: new Date().toISOString() }, null, 2) + '\n')
console.log(`\nresults: ${out}`)
