/**
 * What one request and its answer cost between two mesh hosts, with nothing of the chat service in
 * them: two processes, each a mesh host as the daemons build it (TCP, pnet, noise, yamux,
 * gossipsub idle), the caller sending requests of `--bytes` over one long-lived pipelined stream
 * (`RpcChannel`, as a room event's hand-off to the carrier whose copy the ack waits for goes) at
 * `--rate` a second, the other answering each with 32 bytes (`serve`, as that carrier answers once
 * stored). "oneway" sends the same requests on a one-way stream with no answer (as the other
 * carriers get them); "tcp" makes the exchange over a bare TCP socket (length-prefixed, no
 * encryption, no muxer), the floor under it: what the kernel and one event-loop turn on each side
 * cost.
 *
 *   node dist/test/bench/mesh-rtt.js [--rate 100] [--bytes 500] [--seconds 10] [--rounds 3] [--only mesh|oneway|tcp] [--profile dir] [--out file]
 *
 * CPU per exchange is each process's own (`process.cpuUsage`, threads included) over the sending
 * window, less its rate over an idle window of the same length before it. Prints a table; writes
 * JSON (default test/bench/results/mesh-rtt.json).
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import type { Socket } from 'node:net'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createMeshHost } from '../../node/src/mesh/mesh-host.js'
import type { MeshLibp2p } from '../../node/src/mesh/mesh-host.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { generateSwarmKey, SWARM_KEY_LENGTH } from '../../node/src/mesh/pnet.js'
import { RpcChannel, serve } from '../../node/src/mesh/rpc.js'
import { lengthPrefixed, readFrames } from '../../client/src/protocol/codec.js'
import type { Stream } from '@libp2p/interface'
import type { WireCodec } from '../../node/src/mesh/rpc.js'
import { logger } from '@libp2p/logger'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')
const PROTOCOL = '/meshchat-bench/rtt/1.0.0'
const ONEWAY = '/meshchat-bench/oneway/1.0.0'
const ANSWER_BYTES = 32

type Transport = 'mesh' | 'tcp' | 'oneway'
interface Args { transport: Transport, rate: number, bytes: number, seconds: number, psk?: string, profile?: string }
type FromChild = { ready: true, addr: string } | { cpuMs: number }

function cpuMs (): number {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** raw bytes both ways: the benchmark measures the path, not a codec */
const raw: WireCodec<Uint8Array> = {
  encode: (obj: Partial<Uint8Array>) => obj as Uint8Array,
  decode: buf => buf instanceof Uint8Array ? buf : buf.subarray()
}

async function meshHost (psk: Uint8Array): Promise<MeshLibp2p> {
  const host = await createMeshHost({ privateKey: await generateKeyPair('Ed25519'), psk, listen: ['/ip4/127.0.0.1/tcp/0'], trustedIps: ['127.0.0.1'], linkControl: new LinkControl() })
  await host.start()
  return host
}

/** length-prefixed frames (4-byte big-endian length) off a socket, each handed to `onFrame` */
function frameReader (sock: Socket, onFrame: (frame: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0)
  sock.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    while (pending.length >= 4) {
      const len = pending.readUInt32BE(0)
      if (pending.length < 4 + len) break
      onFrame(pending.subarray(4, 4 + len))
      pending = pending.subarray(4 + len)
    }
  })
}

function frame (body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length)
  out.writeUInt32BE(body.length, 0)
  out.set(body, 4)
  return out
}

/** the answering side, in a child process */
async function answerer (a: Args): Promise<void> {
  const answer = new Uint8Array(ANSWER_BYTES).fill(7)
  let addr: string
  if (a.transport === 'mesh' || a.transport === 'oneway') {
    const host = await meshHost(Buffer.from(a.psk ?? '', 'base64'))
    await serve(host, PROTOCOL, { req: raw, res: raw }, async () => answer, { maxBytes: 1 << 20, timeoutMs: 10_000, log: logger('bench') })
    await host.handle(ONEWAY, async (stream: Stream) => {
      let n = 0
      for await (const frame of readFrames(stream, 1 << 20)) n += frame.byteLength
      if (n < 0) console.log(n)
    })
    addr = host.getMultiaddrs().map(String).find(a => a.includes('/tcp/')) ?? ''
  } else {
    const server = createServer(sock => {
      sock.setNoDelay(true)
      const out = frame(answer)
      frameReader(sock, () => { sock.write(out) })
      sock.on('error', () => {})
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    addr = `127.0.0.1:${port}`
  }
  process.on('message', (m: { cpu?: true }) => { if (m.cpu === true) process.send?.({ cpuMs: cpuMs() }) })
  // exit through process.exit, so a --cpu-prof profile is written
  process.on('SIGTERM', () => { process.exit(0) })
  process.send?.({ ready: true, addr })
}

async function ask (child: ChildProcess): Promise<number> {
  return await new Promise(resolve => {
    const on = (m: FromChild): void => {
      if ('cpuMs' in m) { child.off('message', on); resolve(m.cpuMs) }
    }
    child.on('message', on)
    child.send({ cpu: true })
  })
}

interface Row { transport: Transport, round: number, rate: number, bytes: number, exchanges: number, callerUs: number, answererUs: number, callerIdleCores: number, answererIdleCores: number, rttP50Ms: number | null, rttP99Ms: number | null }

async function round (a: Args, n: number): Promise<Row> {
  let psk: Uint8Array | undefined
  if (a.transport === 'mesh' || a.transport === 'oneway') {
    const file = new Uint8Array(SWARM_KEY_LENGTH)
    generateSwarmKey(file)
    psk = file
  }
  const child = fork(join(ROOT, 'dist', 'test', 'bench', 'mesh-rtt.js'), ['--role', 'answer', '--transport', a.transport, '--psk', psk == null ? '' : Buffer.from(psk).toString('base64')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: a.profile == null ? [] : ['--cpu-prof', '--cpu-prof-dir', join(a.profile, a.transport)] })
  const ready = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: FromChild) => { if ('ready' in m) resolve(m.addr); else reject(new Error('unexpected message')) })
    child.once('exit', code => { reject(new Error(`answerer exited with ${String(code)}`)) })
  })
  const request = new Uint8Array(a.bytes).fill(3)
  let call: () => Promise<void>
  let stop: () => Promise<void>
  if (a.transport === 'mesh') {
    const host = await meshHost(psk as Uint8Array)
    const ma = multiaddr(ready)
    const peer = peerIdFromString(ma.getComponents().find(c => c.name === 'p2p')?.value ?? '')
    await host.dial(ma)
    const ch = new RpcChannel(host, peer, PROTOCOL, { req: raw, res: raw }, { timeoutMs: 10_000, maxBytes: 1 << 20 })
    call = async () => { await ch.call(request) }
    stop = async () => { ch.close(); await host.stop() }
  } else if (a.transport === 'oneway') {
    const host = await meshHost(psk as Uint8Array)
    const ma = multiaddr(ready)
    await host.dial(ma)
    const stream = await host.dialProtocol(ma, ONEWAY)
    call = async () => { stream.send(lengthPrefixed(request)) }
    stop = async () => { await stream.close(); await host.stop() }
  } else {
    const [host, port] = ready.split(':')
    const sock = createConnection({ host, port: Number(port) })
    sock.setNoDelay(true)
    await new Promise<void>(resolve => sock.once('connect', resolve))
    const waiting: Array<() => void> = []
    frameReader(sock, () => { waiting.shift()?.() })
    const out = frame(request)
    call = async () => { await new Promise<void>(resolve => { waiting.push(resolve); sock.write(out) }) }
    stop = async () => { sock.destroy() }
  }
  // warm-up: a second of exchanges, then the idle window
  const every = 1000 / a.rate
  for (let i = 0; i < a.rate; i++) { await call(); await sleep(every) }
  await sleep(1000)
  let c0 = cpuMs(); let s0 = await ask(child); let t0 = performance.now()
  await sleep(a.seconds * 1000)
  const idleMs = performance.now() - t0
  const callerIdle = cpuMs() - c0; const answererIdle = await ask(child) - s0
  // the sending window: requests at fixed times, each timed to its answer
  const rtts: number[] = []
  const inFlight: Array<Promise<void>> = []
  c0 = cpuMs(); s0 = await ask(child); t0 = performance.now()
  const count = Math.round(a.rate * a.seconds)
  for (let i = 0; i < count; i++) {
    const due = t0 + i * every
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    const sent = performance.now()
    inFlight.push(call().then(() => { rtts.push(performance.now() - sent) }))
  }
  await Promise.all(inFlight)
  const busyMs = performance.now() - t0
  const callerBusy = cpuMs() - c0; const answererBusy = await ask(child) - s0
  await stop()
  child.kill()
  rtts.sort((x, y) => x - y)
  const net = (busy: number, idle: number): number => (busy - idle * busyMs / idleMs) / count * 1000
  return {
    transport: a.transport,
    round: n,
    rate: a.rate,
    bytes: a.bytes,
    exchanges: count,
    callerUs: Math.round(net(callerBusy, callerIdle)),
    answererUs: Math.round(net(answererBusy, answererIdle)),
    callerIdleCores: Number((callerIdle / idleMs).toFixed(4)),
    answererIdleCores: Number((answererIdle / idleMs).toFixed(4)),
    // a one-way send has no answer to time
    rttP50Ms: a.transport === 'oneway' ? null : Number((rtts[Math.floor(rtts.length * 0.5)] ?? NaN).toFixed(2)),
    rttP99Ms: a.transport === 'oneway' ? null : Number((rtts[Math.floor(rtts.length * 0.99)] ?? NaN).toFixed(2))
  }
}

async function main (): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      role: { type: 'string' }, transport: { type: 'string' }, psk: { type: 'string' },
      rate: { type: 'string' }, bytes: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' }, profile: { type: 'string' }, only: { type: 'string' }
    }
  })
  if (v.role === 'answer') {
    await answerer({ transport: v.transport as Transport, rate: 0, bytes: 0, seconds: 0, psk: v.psk })
    return
  }
  const rate = Number(v.rate ?? 100)
  const bytes = Number(v.bytes ?? 500)
  const seconds = Number(v.seconds ?? 10)
  const rounds = Number(v.rounds ?? 3)
  const rows: Row[] = []
  for (let r = 1; r <= rounds; r++) {
    // alternate which goes first, so neither always meets the machine warmer
    const order: Transport[] = r % 2 === 1 ? ['mesh', 'oneway', 'tcp'] : ['tcp', 'oneway', 'mesh']
    for (const transport of order.filter(t => v.only == null || v.only === t)) rows.push(await round({ transport, rate, bytes, seconds, profile: v.profile == null ? undefined : resolve(v.profile) }, r))
  }
  console.log(`\n${rate} exchanges/s, ${bytes}-byte requests, ${ANSWER_BYTES}-byte answers, ${seconds} s a window; CPU per exchange less the idle rate\n`)
  console.log('| transport | round | caller µs | answerer µs | rtt p50 ms | rtt p99 ms | idle cores (caller / answerer) |')
  console.log('|---|---:|---:|---:|---:|---:|---|')
  for (const row of rows) console.log(`| ${row.transport} | ${row.round} | ${row.callerUs} | ${row.answererUs} | ${row.rttP50Ms ?? '–'} | ${row.rttP99Ms ?? '–'} | ${row.callerIdleCores} / ${row.answererIdleCores} |`)
  const median = (xs: number[]): number => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)] ?? NaN }
  const summary: Record<string, { callerUs: number, answererUs: number }> = {}
  for (const t of ['mesh', 'oneway', 'tcp'] as const) {
    const mine = rows.filter(r => r.transport === t)
    if (mine.length > 0) summary[t] = { callerUs: median(mine.map(r => r.callerUs)), answererUs: median(mine.map(r => r.answererUs)) }
  }
  console.log('\nmedians: ' + Object.entries(summary).map(([t, m]) => `${t} ${m.callerUs} / ${m.answererUs} µs (caller / answerer)`).join('; '))
  const out = v.out ?? join(ROOT, 'test', 'bench', 'results', 'mesh-rtt.json')
  writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), rate, bytes, answerBytes: ANSWER_BYTES, seconds, rows, medians: summary }, null, 2) + '\n')
  console.log(`\nwrote ${out}`)
  process.exit(0)
}

await main()
