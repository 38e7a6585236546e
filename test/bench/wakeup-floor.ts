/**
 * The floor under a room message's CPU on this machine: a server process with no chat code at all,
 * plain `node:net` sockets on loopback, taking one frame from a sender and writing it to ten
 * receivers (the sender among them, as an ack would be), at each of a series of rates. What it costs
 * per message is what a wake-up, one read and ten writes cost here before a chat server does
 * anything of its own: the share of meshchat's and Socket.IO's CPU per message that no change to
 * either can take away. A second row per rate echoes to the sender alone (one read, one write).
 *
 *   node dist/test/bench/wakeup-floor.js [--rates 50,100,200,400,1600] [--seconds 10] [--bytes 300] [--out file]
 *
 * The server is a child process (this script, forked); its CPU is its own `process.cpuUsage()` over
 * each window, all threads, read through the IPC channel before and after the window. The sender
 * sends on a timer at the rate (the same one-at-a-time arrival as the room benchmarks' load
 * generators at low rates). Prints a table; writes JSON (default test/bench/results/wakeup-floor.json).
 */
import { fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { table } from './lib/report.js'
import type { Socket } from 'node:net'

const RECEIVERS = 10

if (process.argv[2] === 'server') {
  // the child: every frame from the first socket goes to the first `fanOut` sockets
  let fanOut = RECEIVERS
  const socks: Socket[] = []
  const srv = createServer(s => {
    s.setNoDelay(true)
    socks.push(s)
    if (socks.length === 1) s.on('data', d => { for (let i = 0; i < fanOut && i < socks.length; i++) socks[i]!.write(d) })
    else s.resume()
  })
  srv.listen(0, '127.0.0.1', () => {
    const a = srv.address()
    process.send?.({ port: typeof a === 'object' && a != null ? a.port : 0 })
  })
  process.on('message', (m: { fanOut?: number, cpu?: true, stop?: true }) => {
    if (m.fanOut != null) fanOut = m.fanOut
    if (m.cpu === true) {
      const u = process.cpuUsage()
      process.send?.({ cpuUs: u.user + u.system })
    }
    if (m.stop === true) process.exit(0)
  })
} else {
  const ROOT = resolve(import.meta.dirname, '..', '..', '..')
  const { values: argv } = parseArgs({ options: { rates: { type: 'string' }, seconds: { type: 'string' }, bytes: { type: 'string' }, out: { type: 'string' } } })
  const rates = (argv.rates ?? '50,100,200,400,1600').split(',').map(Number)
  const seconds = Number(argv.seconds ?? 10)
  const bytes = Number(argv.bytes ?? 300)
  if (rates.some(r => !Number.isInteger(r) || r < 1 || r > 10_000) || !Number.isInteger(seconds) || seconds < 1 || seconds > 600 || !Number.isInteger(bytes) || bytes < 1 || bytes > 65_536) {
    console.error('--rates takes whole numbers from 1 to 10,000 a second, --seconds 1 to 600, --bytes 1 to 65,536')
    process.exit(2)
  }
  const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'wakeup-floor.json')

  const child = fork(import.meta.filename, ['server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const next = async <T>(): Promise<T> => new Promise(resolve => child.once('message', m => { resolve(m as T) }))
  const { port } = await next<{ port: number }>()
  const serverCpuUs = async (): Promise<number> => {
    const p = next<{ cpuUs: number }>()
    child.send({ cpu: true })
    return (await p).cpuUs
  }
  const sockets: Socket[] = []
  for (let i = 0; i < RECEIVERS; i++) {
    const s = connect(port, '127.0.0.1')
    s.setNoDelay(true)
    await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
    sockets.push(s)
    // the server takes the sockets in the order they connect: the first one sends
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  let received = 0
  for (const s of sockets) s.on('data', (d: Buffer) => { received += d.length })
  const payload = Buffer.alloc(bytes, 0x61)
  const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

  interface Row { shape: string, rate: number, sent: number, receivedShare: number, serverUsPerMessage: number }
  const rows: Row[] = []
  for (const rate of rates) {
    for (const [shape, fanOut] of [[`one in, ${RECEIVERS} out`, RECEIVERS], ['echo (one in, one out)', 1]] as const) {
      child.send({ fanOut })
      // a second at the rate first, unmeasured
      for (const measured of [false, true]) {
        const c0 = await serverCpuUs()
        const r0 = received
        let sent = 0
        const t0 = performance.now()
        const windowMs = measured ? seconds * 1000 : 1000
        await new Promise<void>(resolve => {
          const timer = setInterval(() => {
            // as many as the rate owes by now: timers on a busy machine fire late
            const due = Math.floor((performance.now() - t0) * rate / 1000)
            while (sent < due) { sockets[0]!.write(payload); sent++ }
            if (performance.now() - t0 >= windowMs) { clearInterval(timer); resolve() }
          }, Math.max(1, Math.floor(1000 / rate)))
        })
        await sleep(200)
        const cpu = await serverCpuUs() - c0
        if (measured) {
          rows.push({ shape, rate, sent, receivedShare: (received - r0) / (sent * bytes * fanOut), serverUsPerMessage: Math.round(cpu / sent) })
        }
      }
    }
  }
  child.send({ stop: true })
  for (const s of sockets) s.destroy()

  console.log(`a server with no chat code: node:net on loopback, ${bytes}-byte frames, ${seconds} s a rate (Node ${process.version})\n`)
  console.log(table(['shape', 'msg/s', 'sent', 'received', 'server CPU per message (µs)'],
    rows.map(r => [r.shape, r.rate.toLocaleString('en-US'), r.sent.toLocaleString('en-US'), `${(r.receivedShare * 100).toFixed(1)} %`, r.serverUsPerMessage])))
  writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), node: process.version, bytes, seconds, receivers: RECEIVERS, rows }, null, 2) + '\n')
  console.log(`\nresults: ${out}`)
}
