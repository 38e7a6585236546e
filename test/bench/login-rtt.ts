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
import { writeFileSync } from 'node:fs'
import net from 'node:net'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { OpsRig } from '../ops/cli-proc.js'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')

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

const rig = new OpsRig(join(ROOT, 'bin', 'meshchat.js'))
try {
  const node = rig.node('node', rig.meshKey())
  const http = String((await node.waitFor(l => l.msg === 'node started', 'node started')).http)
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
  await rig.cleanup()
}
