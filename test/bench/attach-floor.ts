/**
 * The floor under the attach target on this machine: the attach section's pattern (2 generator
 * processes, 50 connects in flight each, 1,000 clients to one server process, every process on
 * the same cores) with nothing but the `ws` package on both sides and the light edge's exchange of
 * messages, at the sizes a node of a 5-node mesh and the Node client send: the server sends a
 * challenge when the socket opens, the client answers with its proof of key and hello and with one
 * small request, the server answers each (the welcome lists the other 4 nodes). No key, no
 * signature, no session, no presence: what is left of an attach when the chat server does no work.
 *
 *   node dist/test/bench/attach-floor.js [--clients 1000] [--rounds 3] [--out file]
 *
 * Each round: a warm-up burst of as many clients (attached, then closed), then the timed burst
 * (attached, then closed). Server CPU is the server process's own (process.cpuUsage) over the
 * timed burst, per client; generator CPU likewise. Prints a table; writes JSON (default
 * test/bench/results/attach-floor.json).
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { WebSocket, WebSocketServer } from 'ws'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')
/**
 * byte sizes of the light edge's frames in an attach, as seen on the wire with this build (a client
 * of the ws package attaching to a node of 5): challenge, the client's two frames, the node's two answers
 */
const CHALLENGE_BYTES = 97
const PROOF_BYTES = 119
const REQUEST_BYTES = 17
const REPLY_BYTES = 62
const WELCOME_BYTES = 709
const GENERATORS = 2
const IN_FLIGHT = 50

type FromChild = { ready: true, port?: number } | { cpuMs: number } | { attached: number, ms: number, cpuMs: number, failed: number } | { closed: true }

function cpuMs (): number {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

async function serverRole (): Promise<void> {
  const challenge = Buffer.alloc(CHALLENGE_BYTES, 1)
  const welcome = Buffer.alloc(WELCOME_BYTES, 2)
  const reply = Buffer.alloc(REPLY_BYTES, 4)
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws', maxPayload: 64 * 1024 })
  wss.on('connection', ws => {
    ws.send(challenge)
    let n = 0
    ws.on('message', () => { ws.send(n++ === 0 ? welcome : reply) })
    ws.on('error', () => {})
  })
  await new Promise<void>(resolve => { wss.once('listening', () => { resolve() }) })
  const addr = wss.address()
  process.on('message', (m: { cpu?: true }) => { if (m.cpu === true) process.send?.({ cpuMs: cpuMs() }) })
  process.send?.({ ready: true, port: typeof addr === 'object' && addr != null ? addr.port : 0 })
}

async function generatorRole (port: number): Promise<void> {
  const proof = Buffer.alloc(PROOF_BYTES, 3)
  const request = Buffer.alloc(REQUEST_BYTES, 5)
  let open: WebSocket[] = []
  const attachOne = async (): Promise<WebSocket> => await new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`)
    let step = 0
    ws.on('message', () => {
      if (step === 0) {
        ws.send(proof)
        ws.send(request)
      } else if (step === 2) {
        resolve(ws)
      }
      step++
    })
    ws.on('error', reject)
    ws.on('close', () => { reject(new Error('closed before the welcome')) })
  })
  process.on('message', (m: { attach?: number, close?: true }) => {
    if (m.close === true) {
      for (const ws of open) ws.terminate()
      open = []
      process.send?.({ closed: true })
      return
    }
    const n = m.attach ?? 0
    void (async () => {
      const c0 = cpuMs()
      const t0 = performance.now()
      let next = 0
      let failed = 0
      await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, n) }, async () => {
        while (next < n) {
          next++
          try {
            open.push(await attachOne())
          } catch {
            failed++
          }
        }
      }))
      process.send?.({ attached: n - failed, failed, ms: performance.now() - t0, cpuMs: cpuMs() - c0 })
    })()
  })
  process.send?.({ ready: true })
}

async function ask (child: ChildProcess, msg: object, until: (m: FromChild) => boolean): Promise<FromChild> {
  return await new Promise(resolve => {
    const on = (m: FromChild): void => {
      if (!until(m)) return
      child.off('message', on)
      resolve(m)
    }
    child.on('message', on)
    child.send(msg)
  })
}

async function main (): Promise<void> {
  const { values: argv } = parseArgs({ options: { clients: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' } } })
  const clients = Number(argv.clients ?? 1000)
  const rounds = Number(argv.rounds ?? 3)
  if (!(Number.isInteger(clients) && clients >= 2 && clients <= 20_000) || !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)) {
    console.error('--clients takes 2 to 20000, --rounds 1 to 20')
    process.exit(2)
  }
  const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'attach-floor.json')
  const self = new URL(import.meta.url).pathname
  const server = fork(self, ['server'], { stdio: 'inherit' })
  const ready = await new Promise<FromChild>(resolve => server.once('message', resolve))
  const port = 'port' in ready ? ready.port ?? 0 : 0
  const gens = Array.from({ length: GENERATORS }, () => fork(self, ['generator', String(port)], { stdio: 'inherit' }))
  await Promise.all(gens.map(async g => await new Promise(resolve => g.once('message', resolve))))
  const share = (i: number): number => Math.floor(clients / GENERATORS) + (i < clients % GENERATORS ? 1 : 0)
  const burst = async (): Promise<{ ms: number, serverCpuMs: number, genCpuMs: number, failed: number }> => {
    const s0 = await ask(server, { cpu: true }, m => 'cpuMs' in m && !('attached' in m)) as { cpuMs: number }
    const t0 = performance.now()
    const res = await Promise.all(gens.map(async (g, i) => await ask(g, { attach: share(i) }, m => 'attached' in m) as { attached: number, failed: number, ms: number, cpuMs: number }))
    const ms = performance.now() - t0
    const s1 = await ask(server, { cpu: true }, m => 'cpuMs' in m && !('attached' in m)) as { cpuMs: number }
    await Promise.all(gens.map(async g => await ask(g, { close: true }, m => 'closed' in m)))
    await new Promise(resolve => setTimeout(resolve, 500))
    return { ms, serverCpuMs: s1.cpuMs - s0.cpuMs, genCpuMs: res.reduce((n, r) => n + r.cpuMs, 0), failed: res.reduce((n, r) => n + r.failed, 0) }
  }
  const rows: Array<{ round: number, warmupSec: number, attachSec: number, serverCpuMsPerAttach: number, generatorCpuMsPerAttach: number, failed: number }> = []
  for (let round = 1; round <= rounds; round++) {
    const warm = await burst()
    const timed = await burst()
    rows.push({
      round,
      warmupSec: warm.ms / 1000,
      attachSec: timed.ms / 1000,
      serverCpuMsPerAttach: timed.serverCpuMs / clients,
      generatorCpuMsPerAttach: timed.genCpuMs / clients,
      failed: warm.failed + timed.failed
    })
  }
  for (const g of gens) g.kill()
  server.kill()
  const f = (x: number, d = 2): string => x.toFixed(d)
  console.log(`attach floor: ${clients.toLocaleString('en-US')} clients, ${GENERATORS} generators × ${IN_FLIGHT} in flight, bare ws on both sides (challenge ${CHALLENGE_BYTES} B; answers ${PROOF_BYTES} and ${REQUEST_BYTES} B; welcome ${WELCOME_BYTES} B and ${REPLY_BYTES} B), ${cpus().length} cores\n`)
  console.log('| round | warm-up burst (s) | timed attach all (s) | server CPU per attach (ms) | generator CPU per attach (ms) | failed |')
  console.log('|---:|---:|---:|---:|---:|---:|')
  for (const r of rows) console.log(`| ${r.round} | ${f(r.warmupSec)} | ${f(r.attachSec)} | ${f(r.serverCpuMsPerAttach, 3)} | ${f(r.generatorCpuMsPerAttach, 3)} | ${r.failed} |`)
  writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), clients, generators: GENERATORS, inFlight: IN_FLIGHT, bytes: { challenge: CHALLENGE_BYTES, proof: PROOF_BYTES, request: REQUEST_BYTES, welcome: WELCOME_BYTES, reply: REPLY_BYTES }, cores: cpus().length, rows }, null, 2) + '\n')
  console.log(`\nresults: ${out}`)
}

const role = process.argv[2]
if (role === 'server') await serverRole()
else if (role === 'generator') await generatorRole(Number(process.argv[3]))
else await main()
