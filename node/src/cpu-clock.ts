/**
 * The calling thread's CPU time in nanoseconds, to the nanosecond.
 *
 * `process.threadCpuUsage()` reads getrusage(RUSAGE_THREAD), which Linux advances only at the
 * scheduler's tick (4 ms at 250 Hz) or when the thread sleeps: a section of code shorter than a
 * tick is charged either nothing or the whole time since the last tick, so summing such sections
 * gives a count of ticks, not their CPU. clock_gettime(CLOCK_THREAD_CPUTIME_ID) brings the
 * thread's runtime up to date first. Node has no binding for it, but its WASI host implements
 * WASI's `clock_time_get` for the thread CPU clock with exactly that call: a module of a few bytes
 * that imports it is enough. Where WASI cannot be set up, the clock falls back to
 * `process.threadCpuUsage()` and says so (`precise` false).
 */
import type { WASI } from 'node:wasi'

export interface ThreadCpuClock {
  /** CPU time of the calling thread, ns (a float; differences are what mean something) */
  now: () => number
  /** false when the clock is getrusage's, advancing a scheduler tick at a time */
  precise: boolean
  /**
   * what two reads in a row differ by (the least of a few hundred tries), ns: the clock's own cost,
   * which a timed section less than this long cannot be told apart from
   */
  overheadNs: number
}

/** WASI's clock id for the calling thread's CPU time */
const WASI_CLOCK_THREAD_CPUTIME = 3

const name = (s: string): number[] => [s.length, ...Buffer.from(s, 'latin1')]
const section = (id: number, body: number[]): number[] => [id, body.length, ...body]
const vector = (items: number[][]): number[] => [items.length, ...items.flat()]

/**
 * (module
 *   (import "wasi_snapshot_preview1" "clock_time_get" (func $get (param i32 i64 i32) (result i32)))
 *   (memory (export "memory") 1)
 *   (func (export "now") (result f64)
 *     (drop (call $get (i32.const 3) (i64.const 1) (i32.const 0)))
 *     (f64.convert_i64_u (i64.load (i32.const 0)))))
 * A failed call leaves the last value at address 0 (the clock then stands still rather than jump).
 */
function moduleBytes (): Uint8Array<ArrayBuffer> {
  const body = [0, 0x41, WASI_CLOCK_THREAD_CPUTIME, 0x42, 1, 0x41, 0, 0x10, 0, 0x1a, 0x41, 0, 0x29, 3, 0, 0xba, 0x0b]
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vector([[0x60, 3, 0x7f, 0x7e, 0x7f, 1, 0x7f], [0x60, 0, 1, 0x7c]])),
    ...section(2, vector([[...name('wasi_snapshot_preview1'), ...name('clock_time_get'), 0x00, 0]])),
    ...section(3, vector([[1]])),
    ...section(5, vector([[0x00, 1]])),
    ...section(7, vector([[...name('memory'), 0x02, 0], [...name('now'), 0x00, 1]])),
    ...section(10, vector([[body.length, ...body]]))
  ])
}

function wasiClock (): (() => number) | undefined {
  // node:wasi warns when loaded that it is experimental; the one call used here is not worth a
  // line in every node's log
  const emitWarning = process.emitWarning
  process.emitWarning = () => {}
  let wasi: WASI
  try {
    const { WASI } = process.getBuiltinModule('node:wasi')
    wasi = new WASI({ version: 'preview1' })
  } finally {
    process.emitWarning = emitWarning
  }
  const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), wasi.getImportObject() as WebAssembly.Imports)
  wasi.initialize(instance)
  const now = instance.exports.now as () => number
  // a host without the thread clock answers with an error and leaves 0 in place; a working one
  // moves by the call itself between two reads
  const a = now()
  return a > 0 && now() > a ? now : undefined
}

function rusageClock (): number {
  const u = process.threadCpuUsage()
  return (u.user + u.system) * 1000
}

let clock: ThreadCpuClock | undefined

/** the process's thread CPU clock (set up on first use) */
export function threadCpuClock (): ThreadCpuClock {
  if (clock !== undefined) return clock
  let now: (() => number) | undefined
  try {
    now = wasiClock()
  } catch {
    now = undefined
  }
  if (now === undefined) {
    clock = { now: rusageClock, precise: false, overheadNs: 0 }
    return clock
  }
  let overheadNs = Infinity
  for (let i = 0; i < 300; i++) {
    const a = now()
    overheadNs = Math.min(overheadNs, now() - a)
  }
  clock = { now, precise: true, overheadNs }
  return clock
}
