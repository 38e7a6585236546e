import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { MessageStore } from '../../node/src/store/message-store.js'
import type { StoredRoomEvent } from '../../node/src/store/message-store.js'

function id (n: number): Uint8Array {
  const b = new Uint8Array(32)
  new DataView(b.buffer).setUint32(28, n)
  return b
}

/** hlc for a wall time in ms (logical 0) */
const at = (ms: number): bigint => BigInt(ms) << 16n

function ev (n: number, room = 'r', ms = 1_000_000 + n): StoredRoomEvent {
  return { id: id(n), room, hlc: at(ms), origin: 'node', author: 'user', event: new Uint8Array([n & 0xff]) }
}

describe('MessageStore', () => {
  const stores: MessageStore[] = []
  const dirs: string[] = []
  afterEach(async () => {
    for (const s of stores.splice(0)) s.close()
    await Promise.all(dirs.splice(0).map(async d => rm(d, { recursive: true, force: true })))
  })
  const open = (path = ':memory:'): MessageStore => {
    const s = new MessageStore(path)
    stores.push(s)
    return s
  }

  it('inserts are idempotent on the message id', () => {
    const s = open()
    expect(s.insert(ev(1))).toBe(true)
    expect(s.insert(ev(1))).toBe(false)
    // same id with another stamp (a retry through another node) is still the one message
    expect(s.insert({ ...ev(1), hlc: at(5) })).toBe(false)
    expect(s.count('r')).toBe(1)
    expect(s.get(id(1))?.hlc).toBe(ev(1).hlc)
    const fresh = s.insertMany([ev(1), ev(2), ev(3), ev(2)])
    expect(fresh.map(e => e.event[0])).toEqual([2, 3])
    expect(s.count('r')).toBe(3)
  })

  it('orders by (hlc, id) and pages backwards, forwards and from the newest', () => {
    const s = open()
    // two events share an hlc: the id breaks the tie
    s.insertMany([ev(5, 'r', 100), ev(4, 'r', 100), ev(1, 'r', 50), ev(9, 'r', 300), ev(7, 'r', 200), ev(1000, 'other', 150)])
    const ids = (p: { events: StoredRoomEvent[] }): number[] => p.events.map(e => new DataView(e.id.buffer, e.id.byteOffset).getUint32(28))
    const newest = s.page('r', { limit: 3 })
    expect(ids(newest)).toEqual([5, 7, 9])
    expect(newest.more).toBe(true)
    const older = s.page('r', { before: { hlc: at(100), id: id(5) }, limit: 3 })
    expect(ids(older)).toEqual([1, 4])
    expect(older.more).toBe(false)
    const forward = s.page('r', { after: { hlc: at(100), id: id(4) }, limit: 2 })
    expect(ids(forward)).toEqual([5, 7])
    expect(forward.more).toBe(true)
    expect(ids({ events: s.since('r', at(100), 10) })).toEqual([4, 5, 7, 9])
    expect(s.rooms().sort()).toEqual(['other', 'r'])
  })

  it('applies retention by age and by count per room', () => {
    const s = open()
    const now = 10_000_000
    s.insertMany(Array.from({ length: 10 }, (_, i) => ev(i, 'r', now - (10 - i) * 1000)))
    s.insertMany(Array.from({ length: 3 }, (_, i) => ev(100 + i, 'q', now - 1000 * (3 - i))))
    // older than 5.5 s: the first five of r go
    expect(s.prune({ maxAgeMs: 5500, maxPerRoom: 0 }, now)).toBe(5)
    expect(s.count('r')).toBe(5)
    expect(s.count('q')).toBe(3)
    // keep the newest 2 per room
    expect(s.prune({ maxAgeMs: 0, maxPerRoom: 2 }, now)).toBe(4)
    expect(s.count('r')).toBe(2)
    expect(s.count('q')).toBe(2)
    const left = s.page('r', { limit: 10 }).events.map(e => e.event[0])
    expect(left).toEqual([8, 9])
  })

  it('keeps mailboxes per user, ordered, idempotent, deletable', () => {
    const s = open()
    const e = (n: number, ms: number): StoredRoomEvent => ev(n, 'x', ms)
    expect(s.mailboxPut('bob', e(2, 200))).toBe(true)
    expect(s.mailboxPut('bob', e(1, 100))).toBe(true)
    expect(s.mailboxPut('bob', e(1, 100))).toBe(false)
    expect(s.mailboxPut('carol', e(3, 300))).toBe(true)
    expect(s.mailboxList('bob', 10).map(x => x.event[0])).toEqual([1, 2])
    expect(s.mailboxCount('bob')).toBe(2)
    expect(s.mailboxUsers().sort()).toEqual(['bob', 'carol'])
    expect(s.mailboxDelete('bob', [id(1), id(42)])).toBe(1)
    expect(s.mailboxList('bob', 10).map(x => x.event[0])).toEqual([2])
    expect(s.mailboxTotal()).toBe(2)
  })

  it('is a WAL-mode SQLite file that survives reopening', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshchat-store-'))
    dirs.push(dir)
    const path = join(dir, 'sub', 'meshchat.sqlite')
    const s = new MessageStore(path)
    s.insertMany([ev(1), ev(2)])
    s.mailboxPut('bob', ev(3))
    s.close()
    const raw = new DatabaseSync(path)
    expect((raw.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal')
    raw.close()
    const again = open(path)
    expect(again.count('r')).toBe(2)
    expect(again.mailboxCount('bob')).toBe(1)
  })
})
