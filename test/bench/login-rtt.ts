/**
 * Round trips of a light-edge login: one real node (the CLI), one client at a time connecting
 * through a TCP proxy that holds every chunk for RTT/2 in each direction, from `start()` to the
 * welcome. The slope of connect time over RTT is the number of round trips a login costs
 * (the proxy's own TCP handshake to the client is local, so it is not counted).
 *
 *   node dist/test/bench/login-rtt.js [--rtts 0,20,50,100] [--reps 10] [--out file]
 *
 * Prints a table; writes JSON (default test/bench/results/login-rtt.json).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { execFileSync } from 'node:child_process'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')
const CLI = join(ROOT, 'bin', 'meshchat.js')

const { values: argv } = parseArgs({ options: { rtts: { type: 'string' }, reps: { type: 'string' }, out: { type: 'string' } } })
const rtts = (argv.rtts ?? '0,20,50,100').split(',').map(Number)
const reps = Number(argv.reps ?? 10)
if (rtts.some(r => !(r >= 0 && r <= 1000)) || !(reps >= 1 && reps <= 1000)) {
  console.error('--rtts takes milliseconds from 0 to 1000, comma-separated; --reps 1 to 1000')
  process.exit(2)
}
const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'login-rtt.json')

/** a TCP proxy that delays every chunk by `oneWayMs` in each direction, in order */
async function delayingProxy (target: number, oneWayMs: number): Promise<net.Server> {
  const server = net.createServer(c => {
    const s = net.connect(target, '127.0.0.1')
    c.setNoDelay(true)
    s.setNoDelay(true)
    const pass = (from: net.Socket, to: net.Socket): void => {
      from.on('data', d => { if (oneWayMs === 0) to.write(d); else setTimeout(() => { if (!to.destroyed) to.write(d) }, oneWayMs) })
    }
    pass(c, s)
    pass(s, c)
    c.on('close', () => { setTimeout(() => s.destroy(), oneWayMs) })
    s.on('close', () => { setTimeout(() => c.destroy(), oneWayMs) })
    c.on('error', () => {})
    s.on('error', () => {})
  })
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  return server
}

const dir = mkdtempSync(join(tmpdir(), 'meshchat-login-rtt-'))
const key = join(dir, 'swarm.key')
execFileSync(process.execPath, [CLI, 'keygen', '--out', key])
const node = spawn(process.execPath, [CLI, 'node', '--json', '--data-dir', join(dir, 'node'), '--mesh-key', key,
  '--listen', '/ip4/127.0.0.1/tcp/0', '--gateway', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] })
try {
  const http = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => { reject(new Error('the node did not start in 30 s')) }, 30_000)
    node.once('exit', code => { reject(new Error(`the node exited (${String(code)})`)) })
    createInterface({ input: node.stdout }).on('line', line => {
      try {
        const l = JSON.parse(line) as { msg?: string, http?: string }
        if (l.msg === 'node started' && l.http != null) { clearTimeout(t); resolve(l.http) }
      } catch {}
    })
  })
  const port = Number(new URL(http).port)
  const rows: Array<{ rttMs: number, reps: number, p50Ms: number, minMs: number, maxMs: number }> = []
  for (const rtt of rtts) {
    const proxy = await delayingProxy(port, rtt / 2)
    const url = `ws://127.0.0.1:${(proxy.address() as net.AddressInfo).port}/ws`
    const times: number[] = []
    for (let i = 0; i < reps + 1; i++) {
      const c = createNodeClient({ name: 'rtt', addrs: [url], keyStore: memoryKeyStore(), reconnect: false, redirect: false })
      const t0 = performance.now()
      await c.start()
      // the first connect warms the JIT on both sides and is not counted
      if (i > 0) times.push(performance.now() - t0)
      await c.close()
    }
    await new Promise(resolve => { proxy.close(resolve) })
    times.sort((a, b) => a - b)
    rows.push({ rttMs: rtt, reps, p50Ms: Math.round(times[Math.floor(times.length / 2)]! * 10) / 10, minMs: Math.round(times[0]! * 10) / 10, maxMs: Math.round(times.at(-1)! * 10) / 10 })
  }
  // least-squares slope of p50 over RTT: the round trips a login costs
  const n = rows.length
  const mx = rows.reduce((s, r) => s + r.rttMs, 0) / n
  const my = rows.reduce((s, r) => s + r.p50Ms, 0) / n
  const sxx = rows.reduce((s, r) => s + (r.rttMs - mx) ** 2, 0)
  const slope = sxx === 0 ? NaN : rows.reduce((s, r) => s + (r.rttMs - mx) * (r.p50Ms - my), 0) / sxx
  console.log('| RTT ms | connects | connect p50 ms | min ms | max ms |\n|---:|---:|---:|---:|---:|')
  for (const r of rows) console.log(`| ${r.rttMs} | ${r.reps} | ${r.p50Ms} | ${r.minMs} | ${r.maxMs} |`)
  console.log(`\nround trips per login (slope of p50 over RTT): ${slope.toFixed(2)}`)
  writeFileSync(out, JSON.stringify({ kind: 'login-rtt', at: new Date().toISOString(), node: process.version, rows, roundTrips: Math.round(slope * 100) / 100 }, null, 2) + '\n')
  console.log(`results: ${out}`)
} finally {
  node.kill('SIGTERM')
  await new Promise(resolve => { node.once('exit', resolve); setTimeout(resolve, 5000) })
  rmSync(dir, { recursive: true, force: true })
}
