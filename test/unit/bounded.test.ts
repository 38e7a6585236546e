import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BoundedMap, BoundedSet } from '../../node/src/state/bounded.js'

describe('BoundedMap and BoundedSet', () => {
  it('hold at most max entries, dropping the oldest insert first; an update keeps its place', () => {
    const m = new BoundedMap<string, number>(3)
    m.set('a', 1).set('b', 2).set('c', 3).set('a', 10).set('d', 4)
    expect([m.has('a'), m.has('b'), m.has('c'), m.has('d')]).toEqual([false, true, true, true])
    expect(m.size).toBe(3)
    const s = new BoundedSet<number>(2)
    expect([s.add(1), s.add(1), s.add(2), s.add(3)]).toEqual([true, false, true, true])
    expect([s.has(1), s.has(2), s.has(3)]).toEqual([false, true, true])
  })

  it('with an age bound, forget entries older than it, whatever their number', () => {
    let now = 1000
    const m = new BoundedMap<string, number>(100, { maxAgeMs: 60_000, now: () => now })
    for (let i = 0; i < 50; i++) { m.set(`k${i}`, i); now += 1000 }
    // now = 51,000: nothing is older than 60 s yet
    expect(m.size).toBe(50)
    now = 70_500 // cutoff 10,500: k0..k9 (set 1,000..10,000) are gone
    expect(m.has('k9')).toBe(false)
    expect(m.has('k10')).toBe(true)
    expect(m.get('k10')).toBe(10)
    expect(m.size).toBe(40)
    // an update does not make an entry younger
    m.set('k10', 99)
    now = 71_500
    expect(m.has('k10')).toBe(false)
    // everything goes after a quiet spell, and a new entry after it is kept
    now = 1_000_000
    expect(m.size).toBe(0)
    m.set('new', 1)
    expect(m.get('new')).toBe(1)
    const s = new BoundedSet<string>(10, { maxAgeMs: 100, now: () => now })
    expect(s.add('x')).toBe(true)
    now += 100
    expect(s.add('x')).toBe(true)
    expect(s.add('x')).toBe(false)
  })

  it('never holds more than max, nor anything older than the age bound (random operations)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.tuple(fc.constantFrom('set', 'delete', 'tick'), fc.integer({ min: 0, max: 12 })), { maxLength: 200 }),
      (max, ops) => {
        let now = 0
        const m = new BoundedMap<number, number>(max, { maxAgeMs: 20, now: () => now })
        const inserted = new Map<number, number>()
        for (const [op, k] of ops) {
          if (op === 'set') { if (!m.has(k)) inserted.set(k, now); m.set(k, now) } else if (op === 'delete') m.delete(k)
          else now += k
          expect(m.size).toBeLessThanOrEqual(max)
          for (let key = 0; key <= 12; key++) if (m.has(key)) expect(now - (inserted.get(key) ?? -Infinity)).toBeLessThan(20)
        }
      }))
  })
})
