import { describe, expect, it } from 'vitest'
import { FrameBudget } from '../../node/src/mesh/rpc.js'
import { MeshchatError, RateLimitedError } from '../../client/src/protocol/errors.js'

const refusal = (f: () => void): MeshchatError | undefined => {
  try {
    f()
    return undefined
  } catch (err) {
    return err as MeshchatError
  }
}

describe('FrameBudget', () => {
  it('takes frames while the peer is not in debt, charges them whole, and refuses the next until the debt is waited out', () => {
    const b = new FrameBudget('test frames', 1000, 4000)
    // 4,000 bytes of burst: three frames of 1,500 are taken, the third into debt
    for (let i = 0; i < 3; i++) expect(refusal(() => { b.charge('p', 0, 1500) })).toBeUndefined()
    const err = refusal(() => { b.charge('p', 0, 1) })
    expect(err).toBeInstanceOf(RateLimitedError)
    expect(err?.codeName).toBe('RATE_LIMITED')
    // 500 bytes of debt at 1,000 bytes/s: a little over half a second
    expect(err?.retryAfterMs).toBeGreaterThanOrEqual(500)
    expect(err?.retryAfterMs).toBeLessThanOrEqual(502)
    expect(refusal(() => { b.charge('p', 400, 1) })).toBeInstanceOf(RateLimitedError)
    expect(refusal(() => { b.charge('p', 502, 1) })).toBeUndefined()
    // another peer has its own budget
    expect(refusal(() => { b.charge('q', 502, 4000) })).toBeUndefined()
  })

  it('takes one frame larger than the burst from a full bucket, and the peer then waits a burst deep', () => {
    const b = new FrameBudget('test frames', 1000, 4000)
    expect(refusal(() => { b.charge('p', 0, 64_000) })).toBeUndefined()
    const err = refusal(() => { b.charge('p', 0, 10) })
    // the debt is at most one burst: 4,000 bytes, 4 s
    expect(err?.retryAfterMs).toBeGreaterThanOrEqual(4000)
    expect(err?.retryAfterMs).toBeLessThanOrEqual(4002)
    expect(refusal(() => { b.charge('p', 4002, 10) })).toBeUndefined()
  })

  it('admits work whose cost is known only once done while the peer is not in debt, and names its unit', () => {
    const b = new FrameBudget('reads', 100, 1000, 'events')
    expect(refusal(() => { b.admit('p', 0) })).toBeUndefined()
    b.debit('p', 0, 1200)
    const err = refusal(() => { b.admit('p', 0) })
    expect(err).toBeInstanceOf(RateLimitedError)
    expect(err?.message).toContain('100 events/s')
    // 200 events of debt at 100 a second
    expect(err?.retryAfterMs).toBeGreaterThanOrEqual(2000)
    expect(err?.retryAfterMs).toBeLessThanOrEqual(2020)
    expect(refusal(() => { b.admit('p', 2020) })).toBeUndefined()
  })
})
