import { describe, expect, it } from 'vitest'
import { BURSTS_TOGETHER, FrameBudget, PEERS_TOGETHER } from '../../node/src/mesh/rpc.js'
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

describe('FrameBudget over every peer together', () => {
  it('takes BURSTS_TOGETHER bursts from peers that are each inside their own, then refuses the next peer too, naming the shared budget', () => {
    const b = new FrameBudget('test frames', 1000, 4000)
    // a new identity for every frame: each is inside its own budget
    for (let i = 0; i < 4 * BURSTS_TOGETHER; i++) expect(refusal(() => { b.charge(`sybil-${i}`, 0, 1000) })).toBeUndefined()
    const err = refusal(() => { b.charge('sybil-new', 0, 1) })
    expect(err).toBeInstanceOf(RateLimitedError)
    expect(err?.message).toContain('every peer together')
    expect(err?.message).toContain(`${1000 * PEERS_TOGETHER} bytes/s`)
    // the shared bucket is empty, not in debt: its next byte refills within a millisecond
    expect(err?.retryAfterMs).toBeGreaterThanOrEqual(1)
    expect(b.waitMs('another', 0)).toBeGreaterThan(0)
    expect(refusal(() => { b.charge('another', 1, 10) })).toBeUndefined()
  })

  it('holds every peer to the shared rate however many identities ask: bytes taken over 10 s stay within the shared burst and rate', () => {
    const b = new FrameBudget('test frames', 1000, 4000)
    let taken = 0
    let refused = 0
    let identity = 0
    // a thousand identities a second, each sending 500 bytes every millisecond for 10 s
    for (let now = 0; now <= 10_000; now++) {
      const peer = `sybil-${identity++}`
      try {
        b.charge(peer, now, 500)
        taken += 500
      } catch (err) {
        expect(err).toBeInstanceOf(RateLimitedError)
        refused++
      }
    }
    // the shared burst, the shared rate for 10 s, and at most one frame into debt
    expect(taken).toBeLessThanOrEqual(4000 * BURSTS_TOGETHER + 1000 * PEERS_TOGETHER * 10 + 500)
    expect(taken).toBeGreaterThanOrEqual(1000 * PEERS_TOGETHER * 10)
    expect(refused).toBeGreaterThan(9_000)
  })

  it('paces a peer at its own budget while the shared one has room, and at the shared one while other peers have spent it', () => {
    expect(BURSTS_TOGETHER).toBe(2)
    expect(PEERS_TOGETHER).toBe(4)
    const b = new FrameBudget('reads', 100, 1000, 'events')
    b.debit('p', 0, 1300)
    // p is 300 events in debt at 100 a second, 3 s; the shared bucket (2,000) has 700 left
    expect(b.waitMs('p', 0)).toBeGreaterThanOrEqual(3000)
    expect(b.waitMs('p', 0)).toBeLessThanOrEqual(3010)
    expect(b.waitMs('q', 0)).toBe(0)
    expect(refusal(() => { b.admit('p', 0) })?.message).toContain('from p over 100 events/s')
    // q spends those and 300 more: the shared bucket is 300 in debt, 0.75 s at 400 a second
    b.debit('q', 0, 1000)
    expect(b.waitMs('r', 0)).toBeGreaterThanOrEqual(750)
    expect(b.waitMs('r', 0)).toBeLessThanOrEqual(760)
    expect(refusal(() => { b.admit('r', 0) })?.message).toContain('every peer together')
    expect(refusal(() => { b.admit('r', 760) })).toBeUndefined()
    expect(refusal(() => { b.admit('p', 760) })).toBeInstanceOf(RateLimitedError)
    // an estimate taken up front and given back: the tokens return, never past the burst
    b.debit('r', 760, 500)
    expect(b.waitMs('s', 760)).toBeGreaterThan(0)
    b.debit('r', 760, -500)
    expect(b.waitMs('s', 760)).toBe(0)
    b.debit('s', 100_000, -5000)
    b.debit('s', 100_000, 1000)
    expect(b.waitMs('s', 100_000)).toBeGreaterThan(0)
  })
})
