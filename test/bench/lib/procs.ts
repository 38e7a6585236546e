/**
 * The process harness: every server and load generator is a child process started here, tracked in
 * one registry and killed whatever happens (normal end, a thrown error, Ctrl-C, SIGTERM). Children
 * run in their own process groups so a terminal's Ctrl-C reaches the harness only, which then stops
 * them in order. Node children also watch the harness (BENCH_PARENT_PID, see preload.ts) and exit
 * when it is gone; a pid file lets the next run kill leftovers of a harness that was SIGKILLed.
 */
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { perfRecordArgs } from './perf.js'
import type { ChildProcess } from 'node:child_process'
import type { WriteStream } from 'node:fs'

/**
 * V8 flags for a node recorded by perf: a symbol map of JIT code, interpreted functions in frames of
 * their own (else every one of them is the interpreter's trampoline), and code that stays where the
 * map says (code space compaction, on a full GC such as the harness forces before memory readings,
 * would move it and leave the map naming the wrong functions)
 */
const PERF_NODE_FLAGS = ['--perf-basic-prof', '--interpreted-frames-native-stack', '--no-compact-code-space']

/** how long after a node's start perf attaches to it (--perf) */
const PERF_ATTACH_DELAY_MS = 1000

export const PRELOAD = fileURLToPath(new URL('./preload.js', import.meta.url))
/** repository root: this file runs from dist/test/bench/lib */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const PID_FILE = join(tmpdir(), 'meshchat-bench.pids.json')
const CLK_TCK = 100

export interface SocketTotals { read: number, written: number, opened: number }
export interface IoSnapshot {
  seq: number
  t: number
  sockets: Record<string, SocketTotals>
  counters: Record<string, number>
  /** V8 heap in use when the counters were written (live objects plus not yet collected garbage) */
  heapUsed?: number
  /** V8 heap committed (heapUsed plus free space V8 keeps) */
  heapTotal?: number
  /** memory outside the V8 heap held by JS objects (Buffers, ArrayBuffers) */
  external?: number
  /** event-loop delay (ms past due) since the last `start`, while a reading is in progress (see preload.ts) */
  eld?: EventLoopDelay
}

export interface EventLoopDelay { p50: number, p99: number, max: number, mean: number, count: number }

export interface ProcStats {
  /** user + system CPU seconds since the process started */
  cpuSec: number
  rssBytes: number
  /** peak RSS since start or since the last resetPeak() */
  hwmBytes: number
}

export interface SpawnOptions {
  name: string
  command: string
  args: string[]
  env?: Record<string, string>
  cwd?: string
  /** open an IPC channel (load generators) */
  ipc?: boolean
  /** count socket bytes with the preload (node processes only; the preload must be in args) */
  stats?: boolean
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** poll until `cond` returns something truthy; throws `what` on timeout */
export async function waitFor<T> (cond: () => T | Promise<T>, what: string, timeoutMs = 30_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    if (shuttingDown) throw new Error('interrupted')
    try {
      const v = await cond()
      if (v != null && v !== false) return v as NonNullable<T>
    } catch (err) {
      last = err
    }
    await sleep(intervalMs)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last != null ? ` (last error: ${(last as Error).message})` : ''}`)
}

/** wall-clock ms with sub-ms resolution, comparable across processes on one machine */
export const now = (): number => performance.timeOrigin + performance.now()

export class Proc {
  readonly name: string
  readonly child: ChildProcess
  readonly pid: number
  readonly statsFile?: string
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  exitInfo?: { code: number | null, signal: NodeJS.Signals | null }
  private readonly tail: string[] = []
  private readonly lineWaiters: Array<{ re: RegExp, resolve: (line: string) => void }> = []
  private readonly log: WriteStream

  constructor (child: ChildProcess, name: string, logPath: string, statsFile?: string) {
    this.child = child
    this.name = name
    if (child.pid == null) throw new Error(`could not start ${name}`)
    this.pid = child.pid
    this.statsFile = statsFile
    this.log = createWriteStream(logPath)
    const onData = (stream: string) => {
      let buf = ''
      return (chunk: Buffer): void => {
        this.log.write(chunk)
        buf += chunk.toString()
        let i
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i)
          buf = buf.slice(i + 1)
          this.tail.push(`${stream}: ${line}`)
          if (this.tail.length > 40) this.tail.shift()
          for (const w of [...this.lineWaiters]) {
            if (w.re.test(line)) {
              this.lineWaiters.splice(this.lineWaiters.indexOf(w), 1)
              w.resolve(line)
            }
          }
        }
      }
    }
    child.stdout?.on('data', onData('out'))
    child.stderr?.on('data', onData('err'))
    this.exited = new Promise(resolve => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal }
        this.log.end()
        resolve({ code, signal })
      })
    })
  }

  get alive (): boolean {
    return this.exitInfo == null
  }

  /** the last lines of output, for error messages */
  lastLines (): string {
    return this.tail.join('\n')
  }

  /** resolves with the first output line matching `re` from now on */
  async waitForLine (re: RegExp, timeoutMs = 30_000): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const w = { re, resolve: (l: string) => { clearTimeout(timer); resolve(l) } }
      const timer = setTimeout(() => {
        this.lineWaiters.splice(this.lineWaiters.indexOf(w), 1)
        reject(new Error(`${this.name}: no output matching ${String(re)} within ${timeoutMs} ms\n${this.lastLines()}`))
      }, timeoutMs)
      this.lineWaiters.push(w)
      void this.exited.then(info => {
        clearTimeout(timer)
        reject(new Error(`${this.name} exited (${info.code ?? info.signal ?? ''}) before printing ${String(re)}\n${this.lastLines()}`))
      })
    })
  }

  signal (sig: NodeJS.Signals): void {
    if (!this.alive) return
    try { process.kill(this.pid, sig) } catch {}
  }

  /** SIGTERM (or `sig`), then SIGKILL after `graceMs` */
  async stop (sig: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (!this.alive) return
    this.signal(sig)
    const t = setTimeout(() => { this.signal('SIGKILL') }, graceMs)
    await this.exited
    clearTimeout(t)
  }

  /** CPU seconds and RSS from /proc */
  stats (): ProcStats {
    return readProcStats(this.pid)
  }

  /** reset the peak RSS counter (VmHWM) so the next phase's peak is its own */
  resetPeak (): void {
    try { writeFileSync(`/proc/${this.pid}/clear_refs`, '5') } catch {}
  }

  /**
   * ask the preload for fresh socket counters (SIGUSR2) and read them; with `gc`, collect garbage
   * first; with `eld`, start (reset) or stop the event-loop delay histogram (read with this snapshot)
   */
  async io (gc = false, eld?: 'start' | 'stop', heapSnapshot?: string): Promise<IoSnapshot> {
    if (this.statsFile == null) throw new Error(`${this.name} has no byte counters`)
    const read = (): IoSnapshot | undefined => {
      try { return JSON.parse(readFileSync(this.statsFile ?? '', 'utf8')) as IoSnapshot } catch { return undefined }
    }
    const before = read()?.seq ?? 0
    if (!this.alive) return read() ?? { seq: 0, t: now(), sockets: {}, counters: {} }
    if (gc) writeFileSync(this.statsFile + '.gc', '')
    if (eld != null) writeFileSync(this.statsFile + '.eld', eld)
    if (heapSnapshot != null) writeFileSync(this.statsFile + '.heapsnapshot', heapSnapshot)
    this.signal('SIGUSR2')
    const deadline = Date.now() + (heapSnapshot != null ? 120_000 : 3000)
    while (Date.now() < deadline) {
      const s = read()
      if (s != null && s.seq > before) return s
      await sleep(5)
    }
    const last = read()
    if (last == null) throw new Error(`${this.name}: no byte counters in ${this.statsFile}`)
    return last
  }
}

export function readProcStats (pid: number): ProcStats {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name is in parentheses and may contain spaces: fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
    return { cpuSec: (utime + stime) / CLK_TCK, rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') }
  } catch {
    return { cpuSec: NaN, rssBytes: NaN, hwmBytes: NaN }
  }
}

/** CPU seconds the whole machine spent busy (all cores) since boot, from /proc/stat */
export function machineBusySec (): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
    const f = line.trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal: busy is everything but idle and iowait
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)
    return busy / CLK_TCK
  } catch {
    return NaN
  }
}

interface PidRecord { pid: number, cmd: string }

function cmdline (pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() } catch { return '' }
}

let shuttingDown = false
export const interrupted = (): boolean => shuttingDown

/** every child process of this run */
export class ProcRegistry {
  readonly dir: string
  private readonly procs = new Set<Proc>()
  private counter = 0
  /** node processes recorded with perf (their JIT symbol maps are removed after conversion) */
  readonly perfPids: number[] = []
  private readonly perfRecorders: Array<Promise<void>> = []
  private readonly perfKill: Array<() => void> = []

  private constructor (dir: string) {
    this.dir = dir
  }

  static async create (): Promise<ProcRegistry> {
    killLeftovers()
    const reg = new ProcRegistry(await mkdtemp(join(tmpdir(), 'meshchat-bench-')))
    installCleanup(reg)
    return reg
  }

  spawn (opts: SpawnOptions): Proc {
    if (shuttingDown) throw new Error('interrupted')
    const id = `${String(++this.counter).padStart(3, '0')}-${opts.name}`
    const statsFile = opts.stats === true ? join(this.dir, `${id}.stats.json`) : undefined
    const child = spawn(opts.command, opts.args, {
      cwd: opts.cwd ?? REPO_ROOT,
      detached: true,
      stdio: opts.ipc === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        BENCH_PARENT_PID: String(process.pid),
        ...(statsFile != null ? { BENCH_STATS_FILE: statsFile } : {}),
        ...opts.env
      }
    })
    child.on('error', err => { console.error(`${opts.name}: ${err.message}`) })
    const p = new Proc(child, opts.name, join(this.dir, `${id}.log`), statsFile)
    this.procs.add(p)
    void p.exited.then(() => { this.procs.delete(p); this.savePids() })
    this.savePids()
    return p
  }

  /** a node process with the byte-counting preload */
  spawnNode (name: string, script: string, args: string[], opts: Partial<SpawnOptions> = {}): Proc {
    // --expose-gc lets the preload collect garbage before a memory reading; it changes nothing else.
    // MESHCHAT_BENCH_CPU_PROF=<dir> (set by --profile) writes a V8 CPU profile of every server process
    // there (on exit), named like its log: <seq>-<name>.cpuprofile, so a restarted node keeps both
    const prof = process.env.MESHCHAT_BENCH_CPU_PROF
    const seq = String(this.counter + 1).padStart(3, '0')
    const profArgs = prof == null || prof === '' ? [] : ['--cpu-prof', ...(process.env.MESHCHAT_BENCH_CPU_PROF_US != null ? ['--cpu-prof-interval', process.env.MESHCHAT_BENCH_CPU_PROF_US] : []), '--cpu-prof-dir', prof, '--cpu-prof-name', `${seq}-${name}.cpuprofile`]
    // MESHCHAT_BENCH_PERF=<dir> (set by --profile perf) records an on-CPU profile of every meshchat node
    // with Linux perf instead (perf.ts): <seq>-<name>.perf.data, turned into .cpuprofile after the run
    const perfDir = process.env.MESHCHAT_BENCH_PERF
    const perf = perfDir != null && perfDir !== '' && /^node\d+$/.test(name)
    const proc = this.spawn({ name, command: process.execPath, args: ['--expose-gc', ...profArgs, ...(perf ? PERF_NODE_FLAGS : []), '--import', PRELOAD, script, ...args], stats: true, ...opts })
    if (perf) {
      this.perfPids.push(proc.pid)
      // not one of the registry's processes: stopping those must not cut the recording short (perf writes its
      // file's header last); perf ends by itself when the process it records does. Attached once the process
      // has started its threads: perf -p follows threads created after it attached and those it finds, but
      // misses the ones created while it attaches (V8's platform threads, a few ms after start)
      const out = join(perfDir, `${seq}-${name}.perf.data`)
      this.perfRecorders.push(new Promise<void>(resolve => {
        setTimeout(() => {
          if (!proc.alive) { resolve(); return }
          const rec = spawn('perf', perfRecordArgs(proc.pid, out), { stdio: 'ignore' })
          rec.on('error', err => { console.error(`perf for ${name}: ${err.message}`) })
          rec.on('close', () => { resolve() })
          this.perfKill.push(() => rec.kill('SIGINT'))
        }, PERF_ATTACH_DELAY_MS)
      }))
    }
    return proc
  }

  /** wait for every perf recording to be written (after the processes stopped); one still running after `timeoutMs` is told to stop */
  async perfDone (timeoutMs = 20_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const all = Promise.all(this.perfRecorders)
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>(resolve => { timer = setTimeout(() => { resolve(true) }, timeoutMs) })])
    clearTimeout(timer)
    if (timedOut) {
      for (const kill of this.perfKill) kill()
      await all
    }
  }

  alive (): Proc[] {
    return [...this.procs].filter(p => p.alive)
  }

  /** SIGKILL every child at once (sync; used at exit) */
  killAll (): void {
    for (const p of this.procs) {
      // the whole process group, in case a child started children of its own
      try { process.kill(-p.pid, 'SIGKILL') } catch {}
      try { process.kill(p.pid, 'SIGKILL') } catch {}
    }
  }

  /** SIGTERM everything still running, then SIGKILL what did not exit within `graceMs` */
  async stopAll (graceMs = 3000): Promise<void> {
    await Promise.all(this.alive().map(async p => p.stop('SIGTERM', graceMs)))
  }

  async removeDir (): Promise<void> {
    await rm(this.dir, { recursive: true, force: true }).catch(() => {})
  }

  private savePids (): void {
    try {
      const recs: PidRecord[] = this.alive().map(p => ({ pid: p.pid, cmd: cmdline(p.pid) }))
      if (recs.length === 0) { if (existsSync(PID_FILE)) unlinkSync(PID_FILE); return }
      writeFileSync(PID_FILE, JSON.stringify(recs))
    } catch {}
  }
}

/** kill processes a previous, SIGKILLed harness left behind (only ours: same pid and command line) */
function killLeftovers (): void {
  if (!existsSync(PID_FILE)) return
  try {
    const recs = JSON.parse(readFileSync(PID_FILE, 'utf8')) as PidRecord[]
    for (const r of recs) {
      if (r.cmd !== '' && cmdline(r.pid) === r.cmd) {
        try { process.kill(r.pid, 'SIGKILL') } catch {}
      }
    }
    unlinkSync(PID_FILE)
  } catch {}
}

function installCleanup (reg: ProcRegistry): void {
  process.on('exit', () => { reg.killAll() })
  const onSignal = (sig: NodeJS.Signals): void => {
    if (shuttingDown) { reg.killAll(); process.exit(130) }
    shuttingDown = true
    console.error(`\n${sig}: stopping every benchmark process (again to force)`)
    void reg.stopAll(2000).finally(() => { process.exit(130) })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('SIGHUP', onSignal)
}

/** true when nothing listens on 127.0.0.1:port */
export async function portFree (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = createServer()
    s.once('error', () => { resolve(false) })
    s.listen(port, '127.0.0.1', () => { s.close(() => { resolve(true) }) })
  })
}

/**
 * Throws unless every port is free within `waitMs`. A port of the range can be held for a while
 * after the cluster that used it stopped: as the local end of a connection that is still closing,
 * or picked as an ephemeral port by some other outgoing connection (the ranges overlap).
 */
export async function assertPortsFree (ports: number[], waitMs = 20_000): Promise<void> {
  const deadline = Date.now() + waitMs
  let busy = ports
  for (;;) {
    const still: number[] = []
    for (const p of busy) if (!(await portFree(p))) still.push(p)
    busy = still
    if (busy.length === 0) return
    if (Date.now() >= deadline) break
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  throw new Error(`ports in use on 127.0.0.1 after ${Math.round(waitMs / 1000)} s: ${busy.join(', ')} (pick another --base-port)`)
}
