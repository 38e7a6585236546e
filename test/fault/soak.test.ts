import { describe, expect, it } from 'vitest'
import { summarize, table } from './soak.js'
import type { SoakReading } from './soak.js'

const MB = 1024 * 1024

/** readings every 5 s for `minutes`, heap used per reading from `heap(t)` (MB) */
function readings (minutes: number, heap: (t: number, i: number) => number, extra: (t: number) => Record<string, number> = () => ({})): SoakReading[] {
  return Array.from({ length: minutes * 12 }, (_, i) => {
    const t = i * 5000
    return { t, nodes: [{ node: 'node-a', rss: 100 * MB, heapUsed: heap(t, i) * MB, handles: 40, lagP99: 0.01, lagMax: 0.02, ...extra(t) }] }
  })
}

describe('soak summary', () => {
  it('measures the heap by its lowest reading per window: a sawtooth of garbage is not growth', () => {
    // 50 MB live, up to 30 MB of garbage collected every minute
    const [s] = summarize(readings(15, (t, i) => 50 + (i % 12) * 2.5), 120_000)
    expect(s?.heapFloorFirstMb).toBe(50)
    expect(s?.heapFloorLastMb).toBe(50)
    expect(s?.heapGrowthPct).toBe(0)
    expect(s?.heapMeasure).toBe('floor')
  })

  it('reports a heap that keeps growing after the warm-up', () => {
    // 50 MB, +1 MB a minute
    const [s] = summarize(readings(15, t => 50 + t / 60_000), 120_000)
    expect(s?.heapGrowthPct).toBeGreaterThan(15)
    expect(s?.heapGrowthPct).toBeLessThan(25)
  })

  it('leaves the warm-up out', () => {
    const [s] = summarize(readings(15, t => t < 120_000 ? 20 + t / 10_000 : 50), 120_000)
    expect(s?.heapGrowthPct).toBe(0)
  })

  it('uses the heap after full collections when the node reports it, by its median per window', () => {
    // used heap saws between 60 and 90 MB; what the collections keep goes 50 → 52 MB over the run
    const r = readings(15, (t, i) => 60 + (i % 12) * 2.5, t => ({ heapLive: (50 + 2 * t / (15 * 60_000)) * MB }))
    const [s] = summarize(r, 120_000)
    expect(s?.heapMeasure).toBe('live')
    expect(s?.heapFloorFirstMb).toBeGreaterThan(50)
    expect(s?.heapFloorFirstMb).toBeLessThan(51)
    expect(s?.heapFloorLastMb).toBeGreaterThan(51)
    expect(s?.heapGrowthPct).toBeGreaterThan(1)
    expect(s?.heapGrowthPct).toBeLessThan(4)
    expect(table([s!])[2]).not.toContain('lowest reading')
  })

  it('counts readings a node did not answer and keeps the rest', () => {
    const r = readings(10, () => 50)
    r[3]!.nodes = [{ node: 'node-a', error: 'TimeoutError: timed out' }]
    const [s] = summarize(r, 60_000)
    expect(s?.failedReadings).toBe(1)
    expect(s?.readings).toBe(120)
    expect(s?.lagP99MedianMs).toBe(10)
    expect(s?.lagMaxMs).toBe(20)
    expect(table(summarize(r, 60_000))).toHaveLength(3)
  })
})
