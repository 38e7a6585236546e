import { describe, expect, it } from 'vitest'
import { convergenceTable, figure, nearestRank } from '../bench/lib/presence-convergence.js'
import { render } from '../bench/lib/render.js'
import type { Results } from '../bench/lib/results.js'

describe('presence convergence figures', () => {
  it('takes nearest-rank quantiles: an actual sample, the smallest with q of the samples at or below it', () => {
    expect(nearestRank([], 0.5)).toBeNaN()
    expect(nearestRank([7], 0.99)).toBe(7)
    expect(nearestRank([4, 1, 3, 2], 0.5)).toBe(2)
    expect(nearestRank([4, 1, 3, 2], 0.75)).toBe(3)
    expect(nearestRank([4, 1, 3, 2], 0.76)).toBe(4)
    // p99 of 40 samples is the largest; of 200 it is the 198th
    const forty = Array.from({ length: 40 }, (_, i) => 40 - i)
    expect(nearestRank(forty, 0.99)).toBe(40)
    expect(nearestRank(forty, 0.5)).toBe(20)
    const many = Array.from({ length: 200 }, (_, i) => i + 1)
    expect(nearestRank(many, 0.99)).toBe(198)
    expect(nearestRank(many, 0)).toBe(1)
    expect(nearestRank(many, 1)).toBe(200)
  })

  it('summarizes samples in the order taken and leaves the input alone', () => {
    const raw = [30.04, 10.06, 20, 1200.55]
    const f = figure('join', 'a join', 1000, raw)
    expect(raw).toEqual([30.04, 10.06, 20, 1200.55])
    expect(f).toEqual({ event: 'join', what: 'a join', samples: 4, p50Ms: 20, p99Ms: 1200.6, maxMs: 1200.6, boundMs: 1000, samplesMs: [30, 10.1, 20, 1200.6] })
  })

  it('reports a missed bound in the table instead of hiding it', () => {
    const rows = convergenceTable([
      figure('crash', 'crash cleared', 3500, [1500, 1700]),
      figure('heal', 'heal converged', 2000, [900, 2500])
    ]).split('\n')
    expect(rows[0]).toBe('| event | samples | p50 ms | p99 ms | max ms | bound (issue 15) | p99 within bound |')
    expect(rows[2]).toBe('| crash cleared | 2 | 1,500 | 1,700 | 1,700 | ≤ 3,500 ms | yes |')
    expect(rows[3]).toBe('| heal converged | 2 | 900 | 2,500 | 2,500 | ≤ 2,000 ms | no |')
    expect(convergenceTable([figure('join', 'none', 1000, [])]).split('\n')[2]).toBe('| none | 0 | n/a | n/a | n/a | ≤ 1,000 ms | n/a |')
  })

  it('puts the figures of a bench run in latest.md', () => {
    const results = {
      kind: 'quick',
      machine: { cpu: 'cpu', cores: 2, ramGiB: 4, node: 'v24', os: 'Linux', date: '2026-11-30T00:00:00.000Z', commit: 'abc', versions: {} },
      options: { quick: true, only: 'meshchat', adapter: 'classic', sections: ['presence-convergence'], basePort: 17000, nodes: 5, users: 200 },
      config: {},
      startedAt: '2026-11-30T00:00:00.000Z',
      sectionSeconds: {},
      errors: [],
      attach: [],
      steps: [],
      capacity: [],
      presence: [],
      scale: [],
      presenceConvergence: {
        date: '2026-11-30T00:00:00.000Z',
        nodes: 5,
        timings: { heartbeatMs: 1000 },
        inProcess: true,
        figures: [figure('join', 'join seen everywhere', 1000, [50, 60, 70])]
      }
    } as unknown as Results
    const { md } = render(results)
    expect(md).toContain('## Presence convergence from repeated runs (test/bench/presence-convergence.ts)')
    expect(md).toContain('all in one process')
    expect(md).toContain('| join seen everywhere | 3 | 60 | 70 | 70 | ≤ 1,000 ms | yes |')
  })
})
