import { describe, expect, it } from 'vitest'
import { threadCpuClock } from '../../node/src/cpu-clock.js'
import { NodeMetrics } from '../../node/src/metrics.js'

/** spin on the CPU for `us` of wall time */
function spin (us: number): void {
  const end = performance.now() + us / 1000
  while (performance.now() < end);
}

/**
 * spin until this thread has run `us` of CPU time (on the clock under test, whose reads the first
 * test checks against wall time): on a loaded machine a spin of wall time may get a fraction of it
 */
function spinCpu (us: number): void {
  const c = threadCpuClock()
  const end = c.now() + us * 1000
  while (c.now() < end);
}

async function presenceCpu (m: NodeMetrics): Promise<number> {
  const v = await m.presenceCpu.get()
  return v.values.reduce((n, x) => n + x.value, 0)
}

describe('thread CPU clock', () => {
  it('reads to well under a scheduler tick on Linux', () => {
    const c = threadCpuClock()
    expect(c.precise).toBe(true)
    // getrusage's thread time moves 4 ms at a time (250 Hz): twenty reads 100 µs of work apart
    // would mostly repeat the same value; this clock moves at every one
    let last = c.now()
    const steps: number[] = []
    for (let i = 0; i < 20; i++) {
      spin(100)
      const t = c.now()
      steps.push(t - last)
      last = t
    }
    expect(steps.every(s => s > 0)).toBe(true)
    // each step is the 100 µs of work (less when the thread was descheduled meanwhile, more by the reads)
    const sorted = [...steps].sort((a, b) => a - b)
    expect(sorted[10]).toBeGreaterThan(20_000)
    expect(sorted[10]).toBeLessThan(2_000_000)
    expect(c.overheadNs).toBeGreaterThan(0)
    expect(c.overheadNs).toBeLessThan(100_000)
  })

  it('does not count time the thread spends waiting', async () => {
    const c = threadCpuClock()
    const a = c.now()
    await new Promise(resolve => setTimeout(resolve, 200))
    // the timer's wake-up costs some CPU, far below the 200 ms waited
    expect(c.now() - a).toBeLessThan(50_000_000)
  })

  it('presence sections shorter than a tick are counted by what they cost', async () => {
    const m = new NodeMetrics()
    for (let i = 0; i < 100; i++) m.presenceWork('local', () => { spinCpu(200) })
    // 100 sections of 200 µs: 20 ms of work. Counted by getrusage they came to a multiple of 4 ms
    // that depended on where the ticks fell, often 0 for a mostly idle thread
    const s = await presenceCpu(m)
    expect(s).toBeGreaterThan(0.010)
    expect(s).toBeLessThan(0.200)
    // an inner section counts once, in the outer part
    const before = await presenceCpu(m)
    m.presenceWork('directory', () => { m.presenceWork('rooms', () => { spinCpu(1000) }) })
    const v = await m.presenceCpu.get()
    expect(v.values.find(x => x.labels.part === 'rooms')).toBeUndefined()
    expect((await presenceCpu(m)) - before).toBeGreaterThan(0.0005)
  })
})
