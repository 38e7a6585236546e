/** test/bench/lib/pairs.ts: what alternating A/B pairs of benchmark runs add up to */
import { describe, expect, it } from 'vitest'
import { summarizePairs, thisFirst } from '../bench/lib/pairs.js'

describe('summarizePairs', () => {
  it('gives each pair its ratio, the means, the median and the range of the ratios', () => {
    const s = summarizePairs([[100, 200], [300, 100], [150, 150]])
    expect(s.ratios).toEqual([0.5, 3, 1])
    expect(s.medianRatio).toBe(1)
    expect(s.minRatio).toBe(0.5)
    expect(s.maxRatio).toBe(3)
    expect(s.meanThis).toBeCloseTo(550 / 3, 10)
    expect(s.meanOther).toBe(150)
    // a tie is not "lower"
    expect(s.lowerIn).toBe(1)
    expect(s.pairs).toBe(3)
    // an even count: the median is the mean of the middle two
    expect(summarizePairs([[1, 2], [3, 2], [2, 2], [9, 2]]).medianRatio).toBe(1.25)
  })

  it('refuses no pairs and figures that are not positive numbers', () => {
    expect(() => summarizePairs([])).toThrow(RangeError)
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => summarizePairs([[100, 100], [bad, 100]])).toThrow(RangeError)
      expect(() => summarizePairs([[100, bad]])).toThrow(RangeError)
    }
  })

  it('flips the order from pair to pair, the other build first', () => {
    expect([0, 1, 2, 3].map(thisFirst)).toEqual([false, true, false, true])
  })
})
