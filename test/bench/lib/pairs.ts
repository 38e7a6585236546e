/**
 * Alternating pairs of runs, this build against another: the per-pair ratios and what they add up
 * to. On two shared cores a figure of one run moves by 10–30 % from run to run, so a change is
 * judged by pairs run back to back (the order flipped from pair to pair, so a drift of the
 * machine falls on both sides alike) and by the spread of their ratios, not by one run each.
 */

export interface PairSummary {
  pairs: number
  /** means of the figure over the pairs, this build and the other */
  meanThis: number
  meanOther: number
  /** this ÷ other, per pair, in run order */
  ratios: number[]
  /** of the ratios */
  medianRatio: number
  minRatio: number
  maxRatio: number
  /** pairs in which this build had the lower figure */
  lowerIn: number
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

/** pairs of (this build's figure, the other build's figure); throws on none or on a figure that is not a positive number */
export function summarizePairs (pairs: Array<[number, number]>): PairSummary {
  if (pairs.length === 0) throw new RangeError('no pairs to summarize')
  for (const [a, b] of pairs) {
    if (!(a > 0) || !(b > 0) || !Number.isFinite(a) || !Number.isFinite(b)) throw new RangeError(`a pair's figures must be positive numbers, got ${a} and ${b}`)
  }
  const ratios = pairs.map(([a, b]) => a / b)
  return {
    pairs: pairs.length,
    meanThis: mean(pairs.map(p => p[0])),
    meanOther: mean(pairs.map(p => p[1])),
    ratios,
    medianRatio: median(ratios),
    minRatio: Math.min(...ratios),
    maxRatio: Math.max(...ratios),
    lowerIn: pairs.filter(([a, b]) => a < b).length
  }
}

/** which build runs first in pair `i` (0-based): the other one in even pairs, this one in odd ones */
export function thisFirst (i: number): boolean {
  return i % 2 === 1
}
