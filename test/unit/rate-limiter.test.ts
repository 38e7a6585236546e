import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KeyedRateLimiter, TokenBucket } from '../../node/src/state/rate-limiter.js'

describe('TokenBucket', () => {
  it('starts full and allows a burst, then refuses', () => {
    const bucket = new TokenBucket({ ratePerSec: 1, burst: 3 })
    expect(bucket.tokens(0)).toBe(3)
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false])
  })

  it('refills at the configured rate and never beyond the burst', () => {
    const bucket = new TokenBucket({ ratePerSec: 2, burst: 4 })
    expect(bucket.take(1000, 4)).toBe(true)
    expect(bucket.take(1000)).toBe(false)
    expect(bucket.tokens(1250)).toBeCloseTo(0.5)
    expect(bucket.take(1499)).toBe(false)
    expect(bucket.take(1500)).toBe(true)
    expect(bucket.tokens(1_000_000)).toBe(4)
  })

  it('debits into debt, at most one burst deep, and refuses until the debt is paid', () => {
    const bucket = new TokenBucket({ ratePerSec: 10, burst: 100 })
    bucket.debit(0, 150)
    expect(bucket.tokens(0)).toBe(-50)
    expect(bucket.take(0)).toBe(false)
    expect(bucket.retryAfterMs(0)).toBe(5100)
    expect(bucket.take(5099)).toBe(false)
    expect(bucket.take(5100)).toBe(true)
    bucket.debit(5100, 1_000_000)
    expect(bucket.tokens(5100), 'never deeper than one burst').toBe(-100)
    expect(bucket.tokens(1_000_000)).toBe(100)
  })

  it('empties itself until a time: no burst then, the rate from then on, never deeper than one burst', () => {
    const bucket = new TokenBucket({ ratePerSec: 10, burst: 100 })
    bucket.emptyUntil(0, 2000)
    expect(bucket.tokens(0)).toBe(-20)
    expect(bucket.take(1999)).toBe(false)
    expect(bucket.tokens(2000)).toBeCloseTo(0, 9)
    expect(bucket.take(2100)).toBe(true)
    expect(bucket.take(2100), 'one token a tenth of a second, not a burst').toBe(false)
    bucket.emptyUntil(3000, 3_000_000)
    expect(bucket.tokens(3000), 'at most one burst deep').toBe(-100)
    // never adds tokens: a bucket already deeper stays where it is
    bucket.emptyUntil(3000, 3001)
    expect(bucket.tokens(3000)).toBe(-100)
  })

  it('takes nothing when it cannot take all n', () => {
    const bucket = new TokenBucket({ ratePerSec: 1, burst: 5 })
    bucket.take(0, 3)
    expect(bucket.take(0, 3)).toBe(false)
    expect(bucket.tokens(0)).toBe(2)
  })

  it('says how long to wait', () => {
    const bucket = new TokenBucket({ ratePerSec: 2, burst: 4 })
    expect(bucket.retryAfterMs(0)).toBe(0)
    bucket.take(0, 4)
    expect(bucket.retryAfterMs(0)).toBe(500)
    expect(bucket.retryAfterMs(0, 3)).toBe(1500)
    expect(bucket.retryAfterMs(200)).toBe(300)
    expect(bucket.retryAfterMs(0, 5)).toBe(Infinity)
    expect(bucket.take(10_000, 5)).toBe(false)
  })

  it('never refills at rate 0', () => {
    const bucket = new TokenBucket({ ratePerSec: 0, burst: 1 })
    expect(bucket.take(0)).toBe(true)
    expect(bucket.take(1e12)).toBe(false)
    expect(bucket.retryAfterMs(1e12)).toBe(Infinity)
  })

  it('ignores time going backwards', () => {
    const bucket = new TokenBucket({ ratePerSec: 1, burst: 2 })
    bucket.take(10_000, 2)
    expect(bucket.tokens(5_000)).toBe(0)
    expect(bucket.tokens(10_500)).toBeCloseTo(0.5)
  })

  it('rejects invalid options', () => {
    expect(() => new TokenBucket({ ratePerSec: -1, burst: 1 })).toThrow(RangeError)
    expect(() => new TokenBucket({ ratePerSec: 1, burst: 0 })).toThrow(RangeError)
    expect(() => new TokenBucket({ ratePerSec: Number.NaN, burst: 1 })).toThrow(RangeError)
    expect(() => new TokenBucket({ ratePerSec: 1, burst: Infinity })).toThrow(RangeError)
  })

  it('property: waiting retryAfterMs is always enough, and never more than one token period too much', () => {
    fc.assert(fc.property(
      fc.double({ min: 0.1, max: 1000, noNaN: true }),
      fc.integer({ min: 1, max: 50 }),
      fc.array(fc.record({ dt: fc.integer({ min: 0, max: 5000 }), n: fc.integer({ min: 1, max: 50 }) }), { maxLength: 30, size: 'max' }),
      (ratePerSec, burst, steps) => {
        const bucket = new TokenBucket({ ratePerSec, burst })
        let now = 0
        for (const [i, { dt, n }] of steps.entries()) {
          now += dt
          const wait = bucket.retryAfterMs(now, n)
          if (n > burst) {
            expect(wait, `step ${i}: more than a burst never fits`).toBe(Infinity)
            continue
          }
          expect(wait, `step ${i}: wait is bounded by a full refill`).toBeLessThanOrEqual(Math.ceil(n / (ratePerSec / 1000)))
          expect(bucket.take(now + wait, n), `step ${i}: take succeeds after waiting ${wait} ms`).toBe(true)
          now += wait
          expect(bucket.tokens(now), `step ${i}: tokens stay within [0, burst]`).toBeGreaterThanOrEqual(0)
          expect(bucket.tokens(now), `step ${i}: tokens stay within [0, burst]`).toBeLessThanOrEqual(burst)
        }
      }), { numRuns: 300 })
  })
})

describe('KeyedRateLimiter', () => {
  it('debits one key into debt without touching the others', () => {
    const limiter = new KeyedRateLimiter<string>({ ratePerSec: 1, burst: 2, maxKeys: 10 })
    limiter.debit('alice', 0, 5)
    expect(limiter.take('alice', 0)).toBe(false)
    expect(limiter.retryAfterMs('alice', 0), 'at most one burst (2) in debt, and one token').toBe(3000)
    expect(limiter.take('bob', 0)).toBe(true)
  })

  it('keeps one bucket per key', () => {
    const limiter = new KeyedRateLimiter<string>({ ratePerSec: 1, burst: 1, maxKeys: 10 })
    expect(limiter.take('alice', 0)).toBe(true)
    expect(limiter.take('alice', 0)).toBe(false)
    expect(limiter.take('bob', 0)).toBe(true)
    expect(limiter.retryAfterMs('alice', 0)).toBe(1000)
    expect(limiter.retryAfterMs('carol', 0)).toBe(0)
    expect(limiter.size).toBe(2)
  })

  it('evicts the least recently used key, which then starts full again', () => {
    const limiter = new KeyedRateLimiter<string>({ ratePerSec: 1, burst: 1, maxKeys: 2 })
    limiter.take('a', 0)
    limiter.take('b', 0)
    limiter.take('a', 0) // a is now the most recently used
    limiter.take('c', 0) // evicts b
    expect(limiter.size).toBe(2)
    expect(limiter.retryAfterMs('a', 0)).toBe(1000)
    expect(limiter.retryAfterMs('c', 0)).toBe(1000)
    expect(limiter.retryAfterMs('b', 0)).toBe(0)
    expect(limiter.take('b', 0)).toBe(true) // the trade-off: a fresh burst
    expect(limiter.retryAfterMs('a', 0)).toBe(0) // and a, the oldest, went out
  })

  it('forgets keys whose buckets have refilled, so a stream of one-off keys does not fill it up to maxKeys', () => {
    const limiter = new KeyedRateLimiter<number>({ ratePerSec: 10, burst: 5, maxKeys: 100_000 })
    // 10,000 keys, one take each, 10 ms apart: a bucket refills in 100 ms
    for (let i = 0; i < 10_000; i++) limiter.take(i, i * 10)
    expect(limiter.size).toBeLessThanOrEqual(20)
    // a key in debt stays until it has refilled, however many new keys come
    limiter.debit('x' as unknown as number, 200_000, 10)
    for (let i = 0; i < 100; i++) limiter.take(20_000 + i, 200_000 + i * 10)
    // x, 10 into debt at 200,000, is 0.1 short of a full bucket at 200,990: still tracked
    expect(limiter.retryAfterMs('x' as unknown as number, 200_990, 5)).toBeGreaterThan(0)
    expect(limiter.size).toBeLessThanOrEqual(20)
  })

  it('does not create buckets or reorder keys on queries', () => {
    const limiter = new KeyedRateLimiter<number>({ ratePerSec: 1, burst: 1, maxKeys: 2 })
    limiter.take(1, 0)
    limiter.take(2, 0)
    limiter.retryAfterMs(1, 0)
    limiter.retryAfterMs(3, 0)
    expect(limiter.size).toBe(2)
    limiter.take(3, 0)
    expect(limiter.retryAfterMs(1, 0)).toBe(0)
    expect(limiter.retryAfterMs(2, 0)).toBe(1000)
  })

  it('rejects invalid options', () => {
    expect(() => new KeyedRateLimiter({ ratePerSec: 1, burst: 1, maxKeys: 0 })).toThrow(RangeError)
    expect(() => new KeyedRateLimiter({ ratePerSec: 1, burst: -1, maxKeys: 5 })).toThrow(RangeError)
  })
})
