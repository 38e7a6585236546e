/**
 * Loaded with `node --import` into every server process the benchmarks start (meshchat nodes, the
 * bootstrap daemon, Socket.IO servers), so bytes are counted the same way for both systems: at the
 * socket, whatever protocol runs on top (noise + yamux + gossipsub, WebSocket frames, RESP from Redis).
 *
 * - Every TCP socket the process accepts or opens is tracked through the `net.server.socket` and
 *   `net.client.socket` diagnostics channels; bytes are read from the socket's own counters
 *   (`bytesRead`/`bytesWritten`, kept by libuv, so data the HTTP parser consumes natively is included).
 *   Accepted sockets are keyed `in:<local port>`, opened ones `out:<remote port>`; the harness knows
 *   which port is a client gateway, a mesh port, Redis or HTTP.
 * - On SIGUSR2 and at exit, the totals (plus `globalThis.__benchCounters`, which a
 *   server program may fill, and the V8 heap in use) are written to BENCH_STATS_FILE with a sequence
 *   number. If BENCH_STATS_FILE.gc exists at SIGUSR2 and node runs with --expose-gc, a full GC
 *   runs first (memory readings). If BENCH_STATS_FILE.eld exists at SIGUSR2, its content starts
 *   (`start`: enabled and reset) or stops (`stop`: reported once more, then disabled) a
 *   `monitorEventLoopDelay` histogram; while it runs, every write carries `eld` (ms past the
 *   timer's due time: p50, p99, max, mean, samples). If BENCH_STATS_FILE.heapsnapshot exists, a
 *   heap snapshot is written to the path it holds, after the GC (diagnostics only: it is slow).
 * - With BENCH_PARENT_PID, the process exits when the harness that started it is gone (a harness
 *   killed with SIGKILL cannot clean up; this makes its servers follow it).
 */
import { subscribe } from 'node:diagnostics_channel'
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { writeHeapSnapshot } from 'node:v8'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { ELDHistogram } from 'node:perf_hooks'
import type { Server, Socket } from 'node:net'

interface Totals { read: number, written: number, opened: number }

declare global {
  // eslint-disable-next-line no-var
  var __benchCounters: Record<string, number> | undefined
}

const statsFile = process.env.BENCH_STATS_FILE
if (statsFile != null && statsFile !== '') {
  const live = new Map<Socket, string>()
  const closed = new Map<string, Totals>()
  let seq = 0

  const add = (key: string, read: number, written: number, opened: number): void => {
    const t = closed.get(key) ?? { read: 0, written: 0, opened: 0 }
    t.read += read
    t.written += written
    t.opened += opened
    closed.set(key, t)
  }
  const track = (socket: Socket, key: () => string | undefined): void => {
    const settle = (): void => {
      const k = key()
      if (k == null) return
      live.set(socket, k)
      add(k, 0, 0, 1)
    }
    if (key() != null) settle()
    else socket.once('connect', settle)
    socket.once('close', () => {
      const k = live.get(socket)
      if (k == null) return
      live.delete(socket)
      add(k, socket.bytesRead, socket.bytesWritten, 0)
    })
  }
  // an accepted socket's local port is its server's: asked of the server once (a socket's own
  // localPort is a getsockname call per connection, on the path every attach takes)
  const serverKeys = new WeakMap<Server, string>()
  const serverKey = (server: Server): string | undefined => {
    let k = serverKeys.get(server)
    if (k == null) {
      const a = server.address()
      if (a == null || typeof a === 'string') return undefined
      k = `in:${a.port}`
      serverKeys.set(server, k)
    }
    return k
  }
  subscribe('net.server.socket', msg => {
    const socket = (msg as { socket: Socket & { server?: Server } }).socket
    const server = socket.server
    if (server != null) track(socket, () => serverKey(server))
    else track(socket, () => socket.localPort == null ? undefined : `in:${socket.localPort}`)
  })
  subscribe('net.client.socket', msg => {
    const socket = (msg as { socket: Socket }).socket
    track(socket, () => socket.remotePort == null ? undefined : `out:${socket.remotePort}`)
  })

  const memory = (): { heapUsed: number, heapTotal: number, external: number } => {
    const m = process.memoryUsage()
    return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external }
  }
  /** event-loop delay, only while the harness asks for it (an idle reading): a 10 ms timer of its own */
  const ELD_RESOLUTION_MS = 10
  let eld: ELDHistogram | undefined
  const eldStats = (): Record<string, number> | undefined => {
    if (eld == null) return undefined
    // the histogram records the interval between the timer's runs: the resolution plus the delay
    const past = (ns: number): number => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS)
    return { p50: past(eld.percentile(50)), p99: past(eld.percentile(99)), max: past(eld.max), mean: past(eld.mean), count: eld.count }
  }
  const write = (): void => {
    const totals: Record<string, Totals> = {}
    for (const [k, t] of closed) totals[k] = { ...t }
    for (const [s, k] of live) {
      const t = totals[k] ?? (totals[k] = { read: 0, written: 0, opened: 0 })
      t.read += s.bytesRead
      t.written += s.bytesWritten
    }
    seq++
    const body = JSON.stringify({ seq, pid: process.pid, t: performance.timeOrigin + performance.now(), sockets: totals, counters: globalThis.__benchCounters ?? {}, ...memory(), eld: eldStats() })
    try {
      writeFileSync(statsFile + '.tmp', body)
      renameSync(statsFile + '.tmp', statsFile)
    } catch {
      // the run directory is gone: the harness is shutting down
    }
  }
  process.on('SIGUSR2', () => {
    // the harness asks for a collection first (memory per idle client): live heap, not garbage
    if (existsSync(statsFile + '.gc')) {
      try { unlinkSync(statsFile + '.gc') } catch {}
      const gc = (globalThis as { gc?: () => void }).gc
      gc?.()
      gc?.()
    }
    if (existsSync(statsFile + '.heapsnapshot')) {
      let path = ''
      try { path = readFileSync(statsFile + '.heapsnapshot', 'utf8').trim() } catch {}
      try { unlinkSync(statsFile + '.heapsnapshot') } catch {}
      if (path !== '') {
        try { writeHeapSnapshot(path) } catch (err) { console.error('heap snapshot failed:', err) }
      }
    }
    let eldCmd = ''
    if (existsSync(statsFile + '.eld')) {
      try { eldCmd = readFileSync(statsFile + '.eld', 'utf8').trim() } catch {}
      try { unlinkSync(statsFile + '.eld') } catch {}
    }
    if (eldCmd === 'start') {
      eld?.disable()
      eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS })
      eld.enable()
    }
    write()
    if (eldCmd === 'stop') {
      eld?.disable()
      eld = undefined
    }
  })
  // no periodic write: the harness asks (SIGUSR2) whenever it reads, and a write a second (a JSON
  // body, a file write and a rename) was CPU the harness charged to the server it measures
  process.on('exit', write)
  write()
}

const parent = Number(process.env.BENCH_PARENT_PID ?? 0)
if (parent > 0) {
  setInterval(() => {
    // reparented: the harness died (process.ppid is fixed at startup, /proc is not)
    let ppid = parent
    try {
      const stat = readFileSync('/proc/self/stat', 'utf8')
      ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    } catch {}
    if (ppid !== parent) process.exit(3)
  }, 1000).unref()
}
