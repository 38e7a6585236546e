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
 * ("JS:*name file:///…:line:col"); the map is removed after conversion.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
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
    const split = /^(.*?) ?((?:\[[^\]]*\]|\S+):\d+:\d+)$/.exec(rest)
    const name = split != null ? split[1] ?? '' : rest
    const loc = split != null ? split[2] ?? '' : ''
    const m = /^(.*):(\d+):\d+$/.exec(loc)
    let url = m != null ? m[1] ?? '' : loc
    if (url === '[worker eval]') url = WORKER_EVAL_URL
    else if (url.startsWith('/')) url = pathToFileURL(url).href
    return { functionName: name, url, ...(m != null ? { lineNumber: Number(m[2]) } : {}) }
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
export async function perfScriptToProfile (lines: AsyncIterable<string>): Promise<CpuProfile> {
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
      const m = /^\s*[0-9a-f]+\s+(.*)$/.exec(line)
      if (inSample && m != null) stack.push((m[1] ?? '').replace(/\s+\(.*\)$/, ''))
      continue
    }
    flush()
    // "<comm> <tid> <seconds>.<micros>:" (comm may hold spaces)
    const h = /^(.*?)\s+\d+\s+(\d+)\.(\d+):/.exec(line)
    if (h == null) continue
    thread = h[1] ?? ''
    at = Number(h[2]) * 1e6 + Number((h[3] ?? '0').padEnd(6, '0').slice(0, 6))
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

/** run `perf script` on one data file and build its profile */
export async function perfDataToProfile (data: string): Promise<CpuProfile> {
  const p = spawn('perf', ['script', '-i', data, '-F', 'comm,tid,time,ip,sym'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const exited = new Promise<number | null>(resolve => p.on('close', resolve))
  const profile = await perfScriptToProfile(createInterface({ input: p.stdout, crlfDelay: Infinity }))
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
  for (const pid of pids) {
    const map = `/tmp/perf-${pid}.map`
    if (existsSync(map)) rmSync(map, { force: true })
  }
  return out
}
