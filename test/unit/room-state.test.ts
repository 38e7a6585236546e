import { describe, expect, it } from 'vitest'
import { RoomState } from '../../client/src/room-state.js'
import { idSetDigest, idToHex } from '../../client/src/protocol/signing.js'
import { LIMITS } from '../../client/src/protocol/limits.js'
import { rosterSnapshot } from '../../node/src/gateway/hub.js'
import type { RosterMember } from '../../node/src/state/presence.js'

const id = (n: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => i === 31 ? n : 0)

describe('RoomState resume point', () => {
  it('is the cursor while the node lacks nothing, and the node\'s gap start while it may lack events', () => {
    const st = new RoomState(100)
    expect(st.resumeFrom()).toBeUndefined()
    st.accept({ hlc: 1000n, id: id(1) }, 'a')
    st.noteStable(0n)
    expect(st.resumeFrom()).toEqual({ hlc: 1000n, id: id(1) })
    // the node lost contact with another node at 400: a resume elsewhere starts there
    st.noteStable(400n)
    st.accept({ hlc: 2000n, id: id(2) }, 'b')
    expect(st.cursor?.hlc).toBe(2000n)
    expect(st.resumeFrom()).toEqual({ hlc: 400n, id: new Uint8Array(32) })
    // a gap that starts after the cursor changes nothing
    st.noteStable(5000n)
    expect(st.resumeFrom()).toEqual({ hlc: 2000n, id: id(2) })
    // caught up: back to the cursor
    st.noteStable(0n)
    expect(st.gapFrom).toBeUndefined()
    expect(st.resumeFrom()).toEqual({ hlc: 2000n, id: id(2) })
  })

  it('without a cursor yet, a gap start is where a resume begins', () => {
    const st = new RoomState(100)
    st.noteStable(700n)
    expect(st.resumeFrom()).toEqual({ hlc: 700n, id: new Uint8Array(32) })
  })
})

describe('RoomState roster', () => {
  const wire = (userId: string, name = userId): { userId: string, name: string, status: string, nodes: string[] } => ({ userId, name, status: 'online', nodes: ['n1'] })
  const sortedIds = (st: RoomState): string[] => [...st.roster.keys()].sort()

  it('stays sorted by user id through thousands of joins, updates and leaves, as a fresh sort would have it', () => {
    const st = new RoomState(100)
    st.setRoster([wire('m'), wire('c'), wire('x')])
    expect(st.members().map(m => m.userId)).toEqual(['c', 'm', 'x'])
    // a pseudo-random walk: joins of new users, renames of present ones, leaves of present and absent ones
    let seed = 7
    const next = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
    for (let i = 0; i < 20_000; i++) {
      const r = next(10)
      const userId = `u${next(5000).toString(36).padStart(4, '0')}`
      if (r < 6) {
        const had = st.roster.has(userId)
        expect(st.applyDiff(userId, wire(userId, `name ${i}`))?.kind).toBe(had ? 'update' : 'join')
      } else {
        const had = st.roster.has(userId)
        expect(st.applyDiff(userId, undefined)).toEqual(had ? { kind: 'leave' } : undefined)
      }
      if (i % 1000 === 0) {
        const members = st.members()
        expect(members.map(m => m.userId)).toEqual(sortedIds(st))
        // every member as the latest diff left it
        for (const m of members) expect(m).toBe(st.roster.get(m.userId))
      }
    }
    expect(st.members().map(m => m.userId)).toEqual(sortedIds(st))
    // a copy each time: changing what a caller got changes nothing
    const copy = st.members()
    copy.length = 0
    expect(st.members().length).toBe(st.roster.size)
    // a new snapshot replaces the order kept so far
    st.setRoster([wire('b'), wire('a')])
    expect(st.members().map(m => m.userId)).toEqual(['a', 'b'])
    expect(st.applyDiff('c', wire('c'))?.kind).toBe('join')
    expect(st.members().map(m => m.userId)).toEqual(['a', 'b', 'c'])
  })
})

describe('roster snapshots of big rooms', () => {
  const member = (i: number): RosterMember => ({ userId: `u${String(i).padStart(6, '0')}`, name: `n${i}`, status: 'online', nodes: ['a'] })

  it('carry every member up to LIMITS.maxRosterSnapshot, and past it that many, the joining user first, marked partial', () => {
    const max = LIMITS.maxRosterSnapshot
    const whole = rosterSnapshot('lobby', Array.from({ length: max }, (_, i) => member(i)), 'u000007')
    expect(whole.partial).toBe(false)
    expect(whole.members).toHaveLength(max)
    const big = Array.from({ length: 3 * max }, (_, i) => member(i))
    const self = member(2 * max + 5).userId
    const part = rosterSnapshot('lobby', big, self)
    expect(part.partial).toBe(true)
    expect(part.members).toHaveLength(max)
    expect(part.members[0]?.userId).toBe(self)
    expect(new Set(part.members.map(m => m.userId)).size).toBe(max)
    // the count is the whole room's, shown or not
    expect(part.count).toBe(3 * max)
    expect(whole.count).toBe(max)
    // a joining user not in the roster yet: just the first members
    expect(rosterSnapshot('lobby', big, 'nobody').members.map(m => m.userId)).toEqual(big.slice(0, max).map(m => m.userId))
  })

  it('a partial snapshot is kept as such by the client, with diffs adding to it, until a whole one comes', () => {
    const st = new RoomState(100)
    st.setRoster([member(1), member(2)].map(m => ({ ...m, status: 'online' })), true)
    expect(st.partial).toBe(true)
    st.applyDiff(member(9).userId, { ...member(9) })
    expect(st.members().map(m => m.userId)).toEqual(['u000001', 'u000002', 'u000009'])
    st.setRoster([member(3)], false)
    expect(st.partial).toBe(false)
    expect(st.members().map(m => m.userId)).toEqual(['u000003'])
  })

  it('counts a partial room by the node\'s count through diffs, and a whole one by its roster where the node gives none', () => {
    const st = new RoomState(100)
    st.setRoster([member(1), member(2)], true, 12_000)
    expect(st.count).toBe(12_000)
    // a member the snapshot did not show changes status: the count stays the node's
    st.applyDiff(member(7).userId, { ...member(7), status: 'away' }, 12_000)
    expect(st.count).toBe(12_000)
    expect(st.roster.size).toBe(3)
    // one leaves, one joins
    st.applyDiff(member(1).userId, undefined, 11_999)
    expect(st.count).toBe(11_999)
    st.applyDiff(member(40_000).userId, { ...member(40_000) }, 12_000)
    expect(st.count).toBe(12_000)
    // a diff from a node that gives no count leaves a partial room's last count in place
    st.applyDiff(member(8).userId, { ...member(8) })
    expect(st.count).toBe(12_000)
    // a whole roster from a node that gives no count: its size
    st.setRoster([member(3), member(4)], false)
    expect(st.count).toBe(2)
    st.applyDiff(member(5).userId, { ...member(5) })
    expect(st.count).toBe(3)
  })
})

describe('RoomState.have: what a resume says it holds of the window before its cursor', () => {
  const S = 1n << 16n
  const at = (ms: number, n: number): { hlc: bigint, id: Uint8Array } => ({ hlc: BigInt(ms) * S, id: id(n) })

  it('digests the ids seen stamped from the slack before the cursor up to the cursor, whatever order they came in', () => {
    const st = new RoomState(100)
    const seen = [at(1000, 1), at(5000, 2), at(9000, 3), at(10_000, 4), at(10_000, 9), at(12_000, 5)]
    for (const p of [seen[3]!, seen[0]!, seen[5]!, seen[1]!, seen[4]!, seen[2]!]) st.accept(p, idToHex(p.id))
    // a cursor at (10,000, id 4), slack 5 s: from 5,000 to the cursor, the same stamp with a larger id left out
    const h = st.have(at(10_000, 4), 5000)
    expect(h?.haveFrom).toBe(5000n * S)
    expect(h?.have).toEqual(idSetDigest([id(2), id(3), id(4)]))
    expect(idSetDigest([id(4), id(2), id(3)]), 'the digest of a set, not of a list').toEqual(h?.have)
    // a cursor at (10,000, id 9) takes both of that stamp
    expect(st.have(at(10_000, 9), 5000)?.have).toEqual(idSetDigest([id(2), id(3), id(4), id(9)]))
    // a slack reaching before the first stamp starts at 0
    expect(st.have(at(10_000, 9), 20_000)).toEqual({ have: idSetDigest([id(1), id(2), id(3), id(4), id(9)]), haveFrom: 0n })
    // no slack to go by (a node that does not say it): nothing said
    expect(st.have(at(10_000, 9), 0)).toBeUndefined()
  })

  it('leaves out what the dedupe window has forgotten, so the node sends the window again', () => {
    const st = new RoomState(2)
    for (let n = 1; n <= 3; n++) st.accept(at(1000 * n, n), idToHex(id(n)))
    expect(st.have(at(3000, 3), 10_000)?.have).toEqual(idSetDigest([id(2), id(3)]))
    expect(idSetDigest([id(1), id(2), id(3)])).not.toEqual(idSetDigest([id(2), id(3)]))
  })
})
