/**
 * On-CPU profiles with Linux `perf`, in the shape of a V8 `.cpuprofile`, so
 * profile.ts sums them per component like the V8 ones.
 *
 * V8's own sampler (`node --cpu-prof`) takes a sample on a wall-clock timer:
 * when the machine is short of cores, a process that the kernel took off the
 * CPU in the middle of a call keeps being sampled in that call. On loopback a
 * socket write wakes the receiving process, which often takes the writer's
 * core, so V8's profiles of a loaded 2-core machine put a large share in the
 * socket write calls that is time spent waiting for a core, not CPU. `perf
 * record -e cpu-clock` samples a thread only while it runs, every thread of the
 * process (V8's GC helpers, the store's checkpoint worker, libuv's pool), and
 * the kernel's share of a call (a loopback write runs the receiver's TCP path).
 *
 * The node processes run with `--perf-basic-prof`, which writes
 * /tmp/perf-<pid>.map so perf can name JIT-compiled JavaScript frames
 * ("JS:*name file:///…:line:col"); the map is removed after conversion. Frames in JIT code are named
 * here from the map (`JitMap`), not by perf: where V8 put new code in the memory of freed code, perf
 * can name the frame after the older function.
 *
 * What it is good for: the share of each component in on-CPU time. Its call stacks are less exact
 * than V8's: perf walks them by frame pointers, and native code built without them (parts of libc,
 * OpenSSL, the node binary) can leave a sample with a wrong or cut-off chain of callers, which the
 * component rules then follow. For exact stacks, use V8's profiles (`--profile`).
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import type { CpuProfile, CpuProfileNode } from './profile.js'

/** samples per second per running thread */
export const PERF_HZ = 999

/** true when a `perf` binary runs here */
export function perfAvailable (): boolean {
  const r = spawnSync('perf', ['--version'], { stdio: 'ignore' })
  return r.status === 0
}

/** `perf record` arguments for one process: on-CPU samples with call stacks, stamped on CLOCK_MONOTONIC like process.hrtime */
export function perfRecordArgs (pid: number, out: string): string[] {
  return ['record', '-q', '-e', 'cpu-clock', '-F', String(PERF_HZ), '-g', '-k', 'CLOCK_MONOTONIC', '-p', String(pid), '-o', out]
}

/** the checkpoint worker's code is a string (`[worker eval]`): its frames are put in the module that starts it, so they count as SQLite */
const WORKER_EVAL_URL = 'file:///dist/node/src/store/checkpointer.js'

/** V8 garbage collection frames, on the main thread or its helper threads */
const GC_FRAME = /^(v8::internal::(Heap|Scavenger|ScavengerCollector|MarkCompactCollector|MinorMarkSweepCollector|MinorMarkCompactCollector|ConcurrentMarking|MarkingVisitor|Sweeper|IncrementalMarking|GCTracer|MemoryAllocator|ArrayBufferSweeper)\b|heap::base::)/

interface Frame { functionName: string, url: string, lineNumber?: number }

/** one frame of `perf script` output (its symbol), as a V8 call frame */
export function perfFrame (sym: string): Frame {
  const js = /^JS:[~*^+]?'?(.*)$/.exec(sym)
  if (js != null) {
    const rest = js[1] ?? ''
    // "<name> <url>:<line>:<col>", the name possibly empty, the url possibly "[worker eval]"
    const m = /^(.*?) ?(\[[^\]]*\]|\S+):(\d+):\d+$/.exec(rest)
    if (m == null) return { functionName: rest, url: '' }
    let url = m[2] ?? ''
    if (url === '[worker eval]') url = WORKER_EVAL_URL
    else if (url.startsWith('/')) url = pathToFileURL(url).href
    return { functionName: m[1] ?? '', url, lineNumber: Number(m[3]) }
  }
  const name = sym.replace(/\+0x[0-9a-f]+$/, '')
  if (GC_FRAME.test(name)) return { functionName: '(garbage collector)', url: '' }
  return { functionName: name, url: '' }
}

/**
 * Build a profile from `perf script` lines of one process. Each sample lasts
 * one sampling period (`sampleUs`): threads run at once, and time between a
 * thread's samples is time off the CPU. A main-thread sample with no
 * JavaScript frame is "(program)", as in V8's profiles; samples of V8's helper
 * threads are GC (concurrent marking and parallel scavenging, with some
 * background compilation), those of other threads take their own frames.
 */
export async function perfScriptToProfile (lines: AsyncIterable<string>, jit?: (pid: number, ip: number) => string | undefined): Promise<CpuProfile> {
  const nodes: CpuProfileNode[] = [{ id: 1, callFrame: { functionName: '(root)', url: '' }, children: [] }]
  const childIndex = new Map<string, number>()
  const child = (parent: number, f: Frame): number => {
    const key = `${parent}\u0000${f.functionName}\u0000${f.url}\u0000${f.lineNumber ?? ''}`
    let id = childIndex.get(key)
    if (id == null) {
      id = nodes.length + 1
      nodes.push({ id, callFrame: f, children: [] })
      nodes[parent - 1]?.children?.push(id)
      childIndex.set(key, id)
    }
    return id
  }
  const samples: number[] = []
  const times: number[] = []
  let thread = ''
  let pid = 0
  let at = 0
  let stack: string[] = []
  let inSample = false
  const flush = (): void => {
    if (!inSample) return
    inSample = false
    // perf lists the leaf first
    const frames = stack.reverse().map(perfFrame)
    stack = []
    const hasJs = frames.some(f => f.url !== '')
    let id = 1
    if (thread.startsWith('V8Worker') || thread.startsWith('V8 DefaultWorke')) {
      id = child(id, { functionName: '(garbage collector)', url: '' })
    } else if (thread === 'MainThread' && !hasJs) {
      id = child(id, { functionName: '(program)', url: '' })
    } else {
      for (const f of frames) id = child(id, f)
    }
    samples.push(id)
    times.push(at)
  }
  for await (const line of lines) {
    if (line.trim() === '') { flush(); continue }
    if (line.startsWith('\t') || line.startsWith(' ')) {
      // "<ip> <symbol> (<dso>)"
      const m = /^\s*([0-9a-f]+)\s+(.*?)(?:\s+\(([^()]*)\))?$/.exec(line)
      if (!inSample || m == null) continue
      let sym = m[2] ?? ''
      // code in the JIT map: named by the newest entry (perf's own pick can be a function whose code was freed there)
      if (jit != null && /\/perf-\d+\.map$/.test(m[3] ?? '')) sym = jit(pid, parseInt(m[1] ?? '0', 16)) ?? sym
      stack.push(sym)
      continue
    }
    flush()
    // "<comm> <pid> <seconds>.<micros>:" (comm may hold spaces)
    const h = /^(.*?)\s+(\d+)\s+(\d+)\.(\d+):/.exec(line)
    if (h == null) continue
    thread = h[1] ?? ''
    pid = Number(h[2])
    at = Number(h[3]) * 1e6 + Number((h[4] ?? '0').padEnd(6, '0').slice(0, 6))
    inSample = true
  }
  flush()
  // samples of several threads interleave: order them in time for the window arithmetic
  const order = times.map((_, i) => i).sort((a, b) => (times[a] ?? 0) - (times[b] ?? 0))
  const sorted = order.map(i => times[i] ?? 0)
  const startTime = sorted[0] ?? 0
  const timeDeltas = sorted.map((t, i) => i === 0 ? 0 : t - (sorted[i - 1] ?? t))
  const sampleUs = Math.round(1e6 / PERF_HZ)
  return {
    nodes,
    startTime,
    endTime: (sorted.at(-1) ?? 0) + sampleUs,
    samples: order.map(i => samples[i] ?? 1),
    timeDeltas,
    sampleUs
  }
}

/**
 * A V8 perf map (/tmp/perf-<pid>.map: "<start> <size> <name>" per line, appended as code is made).
 * V8 reuses the memory of freed code, so a few entries overlap older ones; the newest is the code
 * that ran there for the rest of the process's life, and is the one `lookup` names.
 */
export class JitMap {
  private readonly starts: number[]
  private readonly ends: number[]
  private readonly order: number[]
  private readonly names: string[]
  private readonly maxSize: number
  private readonly cache = new Map<number, string | undefined>()

  constructor (text: string) {
    const entries: Array<{ start: number, end: number, seq: number, name: string }> = []
    for (const line of text.split('\n')) {
      const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line)
      if (m == null) continue
      const start = parseInt(m[1] ?? '0', 16)
      entries.push({ start, end: start + parseInt(m[2] ?? '0', 16), seq: entries.length, name: m[3] ?? '' })
    }
    entries.sort((a, b) => a.start - b.start || a.seq - b.seq)
    this.starts = entries.map(e => e.start)
    this.ends = entries.map(e => e.end)
    this.order = entries.map(e => e.seq)
    this.names = entries.map(e => e.name)
    this.maxSize = entries.reduce((n, e) => Math.max(n, e.end - e.start), 0)
  }

  lookup (ip: number): string | undefined {
    if (this.cache.has(ip)) return this.cache.get(ip)
    // the last entry starting at or before ip, then back over every entry that could still reach it
    let lo = 0
    let hi = this.starts.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if ((this.starts[mid] ?? 0) <= ip) lo = mid + 1
      else hi = mid - 1
    }
    let best = -1
    for (let i = hi; i >= 0 && ip - (this.starts[i] ?? 0) < this.maxSize; i--) {
      if (ip < (this.ends[i] ?? 0) && (best < 0 || (this.order[i] ?? 0) > (this.order[best] ?? 0))) best = i
    }
    const name = best >= 0 ? this.names[best] : undefined
    this.cache.set(ip, name)
    return name
  }
}

/** run `perf script` on one data file and build its profile, naming JIT frames from the processes' maps */
export async function perfDataToProfile (data: string): Promise<CpuProfile> {
  const maps = new Map<number, JitMap | undefined>()
  const jit = (pid: number, ip: number): string | undefined => {
    if (!maps.has(pid)) {
      const file = `/tmp/perf-${pid}.map`
      maps.set(pid, existsSync(file) ? new JitMap(readFileSync(file, 'utf8')) : undefined)
    }
    return maps.get(pid)?.lookup(ip)
  }
  const p = spawn('perf', ['script', '-i', data, '-F', 'comm,pid,time,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const exited = new Promise<number | null>(resolve => p.on('close', resolve))
  const profile = await perfScriptToProfile(createInterface({ input: p.stdout, crlfDelay: Infinity }), jit)
  const code = await exited
  if (code !== 0) throw new Error(`perf script -i ${data} exited with ${String(code)}`)
  return profile
}

/**
 * Turn every `<name>.perf.data` in `dir` into `<name>.cpuprofile` beside it,
 * and remove the JIT symbol maps of the processes it names (`pids`).
 */
export async function convertPerfDir (dir: string, pids: number[] = []): Promise<string[]> {
  const out: string[] = []
  for (const f of readdirSync(dir).filter(f => f.endsWith('.perf.data')).sort()) {
    const target = join(dir, f.replace(/\.perf\.data$/, '.cpuprofile'))
    writeFileSync(target, JSON.stringify(await perfDataToProfile(join(dir, f))))
    out.push(target)
  }
  for (const pid of pids) rmSync(`/tmp/perf-${pid}.map`, { force: true })
  return out
}
