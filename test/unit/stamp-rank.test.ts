import { describe, expect, it } from 'vitest'
import { PROMPT_STAMP_MS, promptBelow, stampTakesOver } from '../../node/src/store/stamp-rank.js'

const at = (ms: number, logical = 0): bigint => (BigInt(ms) << 16n) | BigInt(logical)

describe('stamp rank', () => {
  it('counts a stamp prompt up to PROMPT_STAMP_MS after the author\'s time, to the last logical tick', () => {
    const ts = 1_800_000_000_000
    expect(at(ts + PROMPT_STAMP_MS, 0xffff) < promptBelow(ts)).toBe(true)
    expect(at(ts + PROMPT_STAMP_MS + 1) < promptBelow(ts)).toBe(false)
    // an author time that is not a number ranks every stamp alike (none prompt past the epoch's first minutes)
    expect(promptBelow(Number.NaN)).toBe(promptBelow(0))
  })

  it('is a total order: from any set of stamps, every order of meeting keeps the same one', () => {
    const ts = 1_800_000_000_000
    // prompt and late stamps, two with the same time and different origins
    const stamps = [
      { hlc: at(ts - 30_000), origin: 'n1' },
      { hlc: at(ts + 500), origin: 'n2' },
      { hlc: at(ts + 500), origin: 'n3' },
      { hlc: at(ts + PROMPT_STAMP_MS), origin: 'n1' },
      { hlc: at(ts + PROMPT_STAMP_MS + 1), origin: 'n4' },
      { hlc: at(ts + 3_600_000), origin: 'n0' },
      { hlc: at(ts + 7_200_000), origin: 'n5' }
    ]
    const keep = (order: typeof stamps): typeof stamps[number] =>
      order.slice(1).reduce((held, next) => stampTakesOver(next, held, ts) ? next : held, order[0]!)
    let seed = 7
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
    for (let round = 0; round < 200; round++) {
      const subset = stamps.filter(() => rand(2) === 1)
      if (subset.length === 0) continue
      const expected = keep(subset)
      for (let shuffle = 0; shuffle < 5; shuffle++) {
        const order = [...subset]
        for (let i = order.length - 1; i > 0; i--) { const j = rand(i + 1); [order[i], order[j]] = [order[j]!, order[i]!] }
        expect(keep(order)).toBe(expected)
      }
      // the kept one is the latest prompt stamp if there is one, else the latest stamp
      const prompt = subset.filter(x => x.hlc < promptBelow(ts))
      const pool = prompt.length > 0 ? prompt : subset
      const latest = pool.reduce((a, b) => b.hlc > a.hlc || (b.hlc === a.hlc && b.origin > a.origin) ? b : a)
      expect(expected).toBe(latest)
    }
  })

  it('a replay stamped now does not take over from a prompt stamp; a retry within the window does', () => {
    const ts = 1_800_000_000_000
    const first = { hlc: at(ts + 800), origin: 'ingress' }
    expect(stampTakesOver({ hlc: at(ts + 86_000_000), origin: 'rogue' }, first, ts)).toBe(false)
    expect(stampTakesOver({ hlc: at(ts + 20_000), origin: 'other' }, first, ts)).toBe(true)
    expect(stampTakesOver(first, { hlc: at(ts + 86_000_000), origin: 'rogue' }, ts)).toBe(true)
    // an equal stamp goes to the greater origin, as the store settles it
    expect(stampTakesOver({ hlc: first.hlc, origin: 'z' }, first, ts)).toBe(true)
    expect(stampTakesOver({ hlc: first.hlc, origin: 'a' }, first, ts)).toBe(false)
  })
})
