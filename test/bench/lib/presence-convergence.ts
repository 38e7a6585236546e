/**
 * Presence convergence figures from repeated runs (test/bench/presence-convergence.ts): one row per
 * event with its raw samples, nearest-rank quantiles, and the markdown table the script prints and
 * latest.md shows.
 */
import { table } from './report.js'

export interface ConvergenceFigure {
  event: 'join' | 'crash' | 'heal'
  /** what is timed, from which action to which state */
  what: string
  samples: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** the bound issue 15 states for the event (the p99 is compared with it; nothing is asserted) */
  boundMs: number
  /** every sample, in the order taken */
  samplesMs: number[]
}

export interface ConvergenceReport {
  date: string
  nodes: number
  /** the timing profile every node ran with */
  timings: Record<string, number>
  /** every node shares one process and one event loop */
  inProcess: true
  figures: ConvergenceFigure[]
}

/** nearest-rank quantile: the smallest sample with at least a fraction `q` of the samples at or below it */
export function nearestRank (samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)))
  return sorted[rank - 1] ?? NaN
}

export function figure (event: ConvergenceFigure['event'], what: string, boundMs: number, samplesMs: readonly number[]): ConvergenceFigure {
  const rounded = samplesMs.map(x => Math.round(x * 10) / 10)
  return {
    event,
    what,
    samples: rounded.length,
    p50Ms: nearestRank(rounded, 0.5),
    p99Ms: nearestRank(rounded, 0.99),
    maxMs: rounded.length === 0 ? NaN : Math.max(...rounded),
    boundMs,
    samplesMs: rounded
  }
}

const ms = (x: number): string => Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a'

export function convergenceTable (figures: readonly ConvergenceFigure[]): string {
  return table(['event', 'samples', 'p50 ms', 'p99 ms', 'max ms', 'bound (issue 15)', 'p99 within bound'],
    figures.map(f => [f.what, f.samples, ms(f.p50Ms), ms(f.p99Ms), ms(f.maxMs), `≤ ${ms(f.boundMs)} ms`, !Number.isFinite(f.p99Ms) ? 'n/a' : f.p99Ms <= f.boundMs ? 'yes' : 'no']))
}
