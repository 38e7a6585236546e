import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { SEEN_BY_NAMES, firstByName, roomCount, seenBy } from '../../client/web/model.js'
import type { Conv } from '../../client/web/model.js'
import type { RosterMember } from '../../client/src/index.js'

const member = (userId: string, name: string): RosterMember => ({ userId, name, status: 'online', nodes: ['n'] })

/** the pane's order by a whole sort: the user first, then by name, then by id */
function sorted (roster: RosterMember[], me: string): RosterMember[] {
  const collator = new Intl.Collator(undefined, { numeric: true })
  return [...roster].sort((a, b) => (a.userId === me ? -1 : 0) - (b.userId === me ? -1 : 0) || collator.compare(a.name, b.name) || (a.userId < b.userId ? -1 : 1))
}

describe('web app roster pane: the first members of a big room', () => {
  it('are the first n of a whole sort, the user first, for any roster', () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.record({ userId: fc.string({ minLength: 1, maxLength: 6 }), name: fc.constantFrom('ada', 'Ada', 'bob', 'Bob', 'Émile', 'emile', 'zoe', '李', '', 'fan 2', 'fan 10', 'fan 02') }), { selector: m => m.userId, maxLength: 80 }),
      fc.nat({ max: 90 }),
      fc.nat(),
      (people, n, pick) => {
        const roster = people.map(p => member(p.userId, p.name))
        const me = roster.length === 0 ? 'nobody' : (roster[pick % roster.length] as RosterMember).userId
        expect(firstByName(roster, me, n)).toEqual(sorted(roster, me).slice(0, n))
      }), { numRuns: 500 })
  })

  it('takes 200 of 20,000 without sorting them all, and the count is the node\'s', () => {
    const roster = Array.from({ length: 20_000 }, (_, i) => member(`u${String(i).padStart(5, '0')}`, `fan ${(i * 7919) % 20_000}`))
    const shown = firstByName(roster, 'u12345', 200)
    expect(shown).toHaveLength(200)
    expect(shown[0]?.userId).toBe('u12345')
    expect(shown).toEqual(sorted(roster, 'u12345').slice(0, 200))
    const conv = { roster: shown, rosterCount: 20_000 } as unknown as Conv
    expect(roomCount(conv)).toBe(20_000)
    // a node that gives no count: the roster's own size
    expect(roomCount({ roster: shown } as unknown as Conv)).toBe(200)
  })

  it('puts numbers in names in their order', () => {
    const roster = ['fan 10', 'fan 2', 'fan 1'].map((n, i) => member(`u${i}`, n))
    expect(firstByName(roster, 'nobody', 3).map(m => m.name)).toEqual(['fan 1', 'fan 2', 'fan 10'])
  })
})

describe('web app "Seen by"', () => {
  it('names up to SEEN_BY_NAMES readers by name, and counts the rest of a big room', () => {
    expect(seenBy(['bob'])).toBe('bob')
    expect(seenBy(['carol', 'alice', 'bob'])).toBe('alice, bob, carol')
    const many = Array.from({ length: 5000 }, (_, i) => `reader ${i}`)
    expect(seenBy(many)).toBe(`reader 0, reader 1, reader 2, reader 3, reader 4 and ${(5000 - SEEN_BY_NAMES).toLocaleString('en-US')} others`)
    expect(seenBy(many.slice(0, SEEN_BY_NAMES + 1))).toMatch(/ and 1 other$/)
  })
})
