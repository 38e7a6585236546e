import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { MAILBOX_PRUNE_SQL, MessageStore, RETENTION_SQL, SCHEMA_VERSION, StoreVersionError } from '../../node/src/store/message-store.js'
import type { Authored, MailboxEvent, StoredRoomEvent } from '../../node/src/store/message-store.js'
import { SCHEMA_4 } from '../helpers/store-schema-4.js'

function id (n: number): Uint8Array {
  const b = new Uint8Array(32)
  new DataView(b.buffer).setUint32(28, n)
  return b
}

/** hlc for a wall time in ms (logical 0) */
const at = (ms: number): bigint => BigInt(ms) << 16n

/** an event stamped at `ms`, written by its author then too */
function ev (n: number, room = 'r', ms = 1_000_000 + n): Authored<StoredRoomEvent> {
  return { id: id(n), room, hlc: at(ms), origin: 'node', author: 'user', event: new Uint8Array([n & 0xff]), ts: ms }
}

describe('MessageStore', () => {
  const stores: MessageStore[] = []
  const dirs: string[] = []
  afterEach(async () => {
    // a closed store's checkpoint thread lets go of its files a moment later: the removal retries
    for (const s of stores.splice(0)) s.close()
    await Promise.all(dirs.splice(0).map(async d => rm(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 })))
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
    // same id with an earlier stamp (a retry through another node) is still the one message, as stored
    expect(s.insert({ ...ev(1), hlc: at(5) })).toBe(false)
    expect(s.count('r')).toBe(1)
    expect(s.get(id(1))?.hlc).toBe(ev(1).hlc)
    const fresh = s.insertMany([ev(1), ev(2), ev(3), ev(2)])
    expect(fresh.map(e => e.event[0])).toEqual([2, 3])
    expect(s.count('r')).toBe(3)
  })

  it('one id stamped twice keeps the later stamp (then the greater origin), whichever copy came first', () => {
    const early = { ...ev(1), hlc: at(2_000), origin: 'node-a', event: new Uint8Array([1, 1]) }
    const late = { ...ev(1), hlc: at(3_000), origin: 'node-b', event: new Uint8Array([1, 2]) }
    for (const order of [[early, late], [late, early]]) {
      const s = open()
      const outcomes = order.map(e => s.put(e))
      expect(outcomes[0]).toBe('new')
      expect(outcomes[1]).toBe(order[1] === late ? 'restamped' : 'held')
      expect(s.count('r')).toBe(1)
      const kept = s.get(id(1))
      expect(kept?.hlc).toBe(late.hlc)
      expect(kept?.origin).toBe('node-b')
      expect([...kept!.event]).toEqual([1, 2])
      expect(s.page('r', { limit: 10 }).events.map(e => e.hlc)).toEqual([late.hlc])
    }
    // the same stamp from two origins: the greater origin, on every copy
    const s = open()
    s.put({ ...early, origin: 'node-z' })
    expect(s.put(early)).toBe('held')
    expect(s.get(id(1))?.origin).toBe('node-z')
    // a backfill reports what was new and what was restamped
    const restamped: Array<Authored<StoredRoomEvent>> = []
    const fresh = s.insertMany([{ ...early, hlc: at(9_000) }, ev(2), { ...ev(3), hlc: at(1) }], restamped)
    expect(fresh.map(e => e.event[0])).toEqual([2, 3])
    expect(restamped.map(e => e.hlc)).toEqual([at(9_000)])
    // another room's event with the same id does not touch this one
    expect(s.put({ ...early, room: 'elsewhere', hlc: at(99_000) })).toBe('held')
    expect(s.get(id(1))?.hlc).toBe(at(9_000))
  })

  it('a stamp within two minutes of the author\'s time beats one that is not, in rooms and DM histories, whatever order they come in', () => {
    const wrote = 50_000_000
    // prompt: a second after the author wrote; a retry 90 s on (still prompt); a replay stamped an hour on (not)
    const stamps = [
      { hlc: at(wrote + 1_000), origin: 'node-a' },
      { hlc: at(wrote + 90_000), origin: 'node-b' },
      { hlc: at(wrote + 3_600_000), origin: 'node-z' }
    ]
    const orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
    for (const order of orders) {
      const s = open()
      for (const i of order) {
        s.put({ ...ev(1), ...stamps[i]!, event: Uint8Array.of(i), ts: wrote })
        s.dmPut({ id: id(1), conversation: 'a:b', author: 'a', ...stamps[i]!, event: Uint8Array.of(i), ts: wrote })
      }
      // the later of the two prompt stamps, with its bytes, on every order
      expect(s.get(id(1))?.hlc, `order ${order.join(',')}`).toBe(stamps[1]!.hlc)
      expect([...s.get(id(1))!.event]).toEqual([1])
      expect(s.dmPage('a:b', { limit: 10 }).events.map(e => [e.hlc, e.origin])).toEqual([[stamps[1]!.hlc, 'node-b']])
    }
    // the replay alone is refused, and a stamp that is not prompt still moves a message stamped late
    // (queued while its author was offline, sent an hour on) to the later of two late stamps
    const s = open()
    s.put({ ...ev(2), hlc: at(wrote + 1_000), ts: wrote })
    expect(s.put({ ...ev(2), hlc: at(wrote + 3_600_000), origin: 'node-z', ts: wrote })).toBe('held')
    expect(s.get(id(2))?.hlc).toBe(at(wrote + 1_000))
    s.put({ ...ev(3), hlc: at(wrote + 3_600_000), ts: wrote })
    expect(s.put({ ...ev(3), hlc: at(wrote + 3_660_000), origin: 'node-z', ts: wrote })).toBe('restamped')
    // and a prompt stamp takes a late one's place: the copies all end with it
    expect(s.put({ ...ev(3), hlc: at(wrote + 2_000), origin: 'node-a', ts: wrote })).toBe('restamped')
    expect(s.put({ ...ev(3), hlc: at(wrote + 3_700_000), origin: 'node-y', ts: wrote })).toBe('held')
    expect(s.get(id(3))?.hlc).toBe(at(wrote + 2_000))
  })

  it('digests a stamp range by count and stamp sum, so copies that differ in an event or a stamp differ', () => {
    const a = open()
    const b = open()
    const events = Array.from({ length: 300 }, (_, i) => ev(i, 'r', 1_000_000 + i * 10))
    a.insertMany(events)
    b.insertMany(events)
    b.insertMany([ev(1000, 'other', 1_000_500)])
    const [from, to] = [at(1_000_000), at(1_003_000)]
    const da = a.digest('r', from, to)
    expect(da).toEqual(b.digest('r', from, to))
    expect(da.count).toBe(300)
    expect(da.sum).toBe(BigInt.asUintN(64, events.reduce((t, e) => t + e.hlc, 0n)))
    // the range is half-open, by stamp
    expect(a.digest('r', at(1_000_010), at(1_000_030)).count).toBe(2)
    expect(a.digest('r', at(5_000_000), at(6_000_000))).toEqual({ count: 0, sum: 0n })
    // an event missing from one copy
    a.insert(ev(500, 'r', 1_001_005))
    expect(a.digest('r', from, to).count).toBe(301)
    b.insert(ev(500, 'r', 1_001_005))
    expect(a.digest('r', from, to)).toEqual(b.digest('r', from, to))
    // one copy with a later stamp of an id
    a.put({ ...ev(7, 'r', 1_000_071), origin: 'other-node' })
    const [ra, rb] = [a.digest('r', from, to), b.digest('r', from, to)]
    expect(ra.count).toBe(rb.count)
    expect(ra.sum).not.toBe(rb.sum)
    // large stamps (real wall-clock times) sum without overflow
    const c = open()
    const now = Date.UTC(2026, 11, 1)
    c.insertMany(Array.from({ length: 2000 }, (_, i) => ({ ...ev(i, 'big', now + i), hlc: (BigInt(now + i) << 16n) | 0xffffn })))
    const dc = c.digest('big', 0n, BigInt(now + 10_000) << 16n)
    expect(dc.count).toBe(2000)
    expect(dc.sum).toBe(BigInt.asUintN(64, Array.from({ length: 2000 }, (_, i) => (BigInt(now + i) << 16n) | 0xffffn).reduce((t, h) => t + h, 0n)))
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
    // a resume's replay from before its cursor: from a stamp up to the cursor, the cursor's own event included
    expect(ids({ events: s.since('r', at(100), { hlc: at(300), id: id(9) }, 10) })).toEqual([4, 5, 7, 9])
    expect(ids({ events: s.since('r', at(100), { hlc: at(100), id: id(4) }, 10) })).toEqual([4])
    expect(ids({ events: s.since('r', at(50), { hlc: at(150), id: id(0) }, 10) })).toEqual([1, 4, 5])
    expect(ids({ events: s.since('r', at(100), { hlc: at(200), id: id(7) }, 2) })).toEqual([4, 5])
    expect(s.since('r', at(400), { hlc: at(500), id: id(0) }, 10)).toEqual([])
    expect(s.rooms().sort()).toEqual(['other', 'r'])
  })

  it('checks the count cap where a tenth of it was written since, and every key at a full check', () => {
    const s = open()
    const now = 10_000_000
    let n = 0
    const add = (room: string, k: number): void => { s.insertMany(Array.from({ length: k }, () => ev(n++, room, now - 100_000 + n))) }
    add('a', 150)
    add('b', 40)
    const cap = { maxAgeMs: 0, maxPerRoom: 100 }
    // the first prune after opening checks every room
    expect(s.prune(cap, now)).toBe(50)
    expect(s.count('a')).toBe(100)
    // 5 written to a: under a tenth of the cap, so a is not walked again yet
    add('a', 5)
    expect(s.prune(cap, now)).toBe(0)
    expect(s.count('a')).toBe(105)
    // 5 more: 10 since the last check, a tenth of the cap
    add('a', 5)
    expect(s.prune(cap, now)).toBe(10)
    expect(s.count('a')).toBe(100)
    // age is applied to every room at every prune, written to or not: a's 60–149 and b's 150–158
    expect(s.prune({ maxAgeMs: 100_000 - 160, maxPerRoom: 100 }, now)).toBe(90 + 9)
    expect(s.count('a')).toBe(10)
    expect(s.count('b')).toBe(31)
    // a new cap is checked everywhere at once, with nothing written since
    expect(s.prune({ maxAgeMs: 0, maxPerRoom: 30 }, now)).toBe(1)
    expect(s.count('b')).toBe(30)
    expect(s.rooms()).toEqual(['a', 'b'])
  })

  it('prunes a step at a time, going on from where the last step stopped', () => {
    const s = open()
    const now = 10_000_000
    for (const room of ['a', 'b', 'c']) s.insertMany(Array.from({ length: 10 }, (_, i) => ev(room.charCodeAt(0) * 100 + i, room, now - 60_000 + i)))
    s.insertMany([ev(1, 'd', now)])
    s.dmPutMany(Array.from({ length: 7 }, (_, i) => ({ ...ev(1000 + i, 'x', now - 60_000 + i), conversation: 'p:q' })))
    const policy = { maxAgeMs: 30_000, maxPerRoom: 0 }
    const steps: number[] = []
    for (let i = 0; i < 100; i++) {
      const step = s.pruneStep(policy, now, 4)
      steps.push(step.deleted)
      if (step.done) break
    }
    // 30 room events and 7 DMs past their age, at most 4 a step; the young one stays
    expect(steps.reduce((a, b) => a + b, 0)).toBe(37)
    expect(Math.max(...steps)).toBeLessThanOrEqual(4)
    expect(steps.length).toBeGreaterThanOrEqual(10)
    expect(s.rooms()).toEqual(['d'])
    expect(s.dmPage('p:q', { limit: 10 }).events).toHaveLength(0)
    // a round over, the next starts afresh: with a budget of 1, looking at the one room left spends
    // the first step, and the DM history comes in the next, not the rooms again
    const again: Array<{ deleted: number, done: boolean }> = []
    for (let i = 0; i < 10; i++) {
      const step = s.pruneStep(policy, now, 1)
      again.push(step)
      if (step.done) break
    }
    expect(again.every(st => st.deleted === 0)).toBe(true)
    expect(again.length).toBeLessThanOrEqual(3)
  })

  it('finds rooms and old events through the index, never by reading the whole table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshchat-store-'))
    dirs.push(dir)
    const s = open(join(dir, 'm.db'))
    s.insertMany([ev(1, 'r', 1000)])
    const db = new DatabaseSync(s.path)
    try {
      for (const sql of Object.values(RETENTION_SQL)) {
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map(r => r.detail).join('; ')
        expect(plan, sql).toMatch(/SEARCH \w+ USING (COVERING )?INDEX/)
        expect(plan, sql).not.toMatch(/SCAN/)
      }
      const mailbox = (db.prepare(`EXPLAIN QUERY PLAN ${MAILBOX_PRUNE_SQL}`).all() as Array<{ detail: string }>).map(r => r.detail).join('; ')
      expect(mailbox).toMatch(/SEARCH mailbox USING (COVERING )?INDEX mailbox_age/)
    } finally {
      db.close()
    }
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
    const e = (n: number, ms: number): MailboxEvent => ({ ...ev(n, 'x', ms), sender: 'alice' })
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
    s.mailboxPut('bob', { ...ev(3), sender: 'alice' })
    s.close()
    const raw = new DatabaseSync(path)
    expect((raw.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal')
    raw.close()
    const again = open(path)
    expect(again.count('r')).toBe(2)
    expect(again.mailboxCount('bob')).toBe(1)
    expect(again.schemaVersion).toBe(SCHEMA_VERSION)
  })

  it('counts queued DMs per sender and drops mail past its age', () => {
    const s = open()
    const now = 1_000_000
    for (let i = 0; i < 5; i++) s.mailboxPut('bob', { ...ev(i, 'x', now - 1000 * i), sender: i < 3 ? 'alice' : 'carol' })
    expect(s.mailboxSenderCount('bob', 'alice')).toBe(3)
    expect(s.mailboxSenderCount('bob', 'carol')).toBe(2)
    expect(s.mailboxSenderCount('carol', 'alice')).toBe(0)
    // older than 2.5 s: the ones stamped 3 s and 4 s ago
    s.mailboxPut('dave', { ...ev(10, 'x', now - 9000), sender: 'alice' })
    expect(s.mailboxCount('dave')).toBe(1)
    expect(s.mailboxPrune(2500, now)).toBe(3)
    expect(s.mailboxList('bob', 10).map(x => x.sender)).toEqual(['alice', 'alice', 'alice'])
    // the counts the node asks on every attach follow what went
    expect(s.mailboxCount('bob')).toBe(3)
    expect(s.mailboxCount('dave')).toBe(0)
    expect(s.mailboxPrune(0, now)).toBe(0)
  })

  it('migrates a file written before schema versions, and refuses one from a newer version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshchat-store-'))
    dirs.push(dir)
    const path = join(dir, 'old.sqlite')
    // the layout the first release wrote, with no user_version and no sender column
    const raw = new DatabaseSync(path)
    raw.exec(`
      CREATE TABLE messages (id BLOB PRIMARY KEY, room TEXT NOT NULL, hlc INTEGER NOT NULL, origin TEXT NOT NULL, author TEXT NOT NULL, event BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE mailbox (user TEXT NOT NULL, id BLOB NOT NULL, hlc INTEGER NOT NULL, origin TEXT NOT NULL, event BLOB NOT NULL, PRIMARY KEY (user, id)) WITHOUT ROWID;
    `)
    raw.prepare('INSERT INTO mailbox (user, id, hlc, origin, event) VALUES (?, ?, ?, ?, ?)').run('bob', id(7), 7n << 16n, 'o', Uint8Array.of(7))
    raw.close()
    const s = open(path)
    expect(s.schemaVersion).toBe(SCHEMA_VERSION)
    expect(s.mailboxList('bob', 10).map(x => [x.event[0], x.sender])).toEqual([[7, '']])
    s.close()
    const bump = new DatabaseSync(path)
    bump.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`)
    bump.close()
    expect(() => new MessageStore(path)).toThrow(StoreVersionError)
  })

  it('moves a version 4 file\'s room and DM history into rowid tables, every event kept and still unique by id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshchat-store-'))
    dirs.push(dir)
    const path = join(dir, 'v4.sqlite')
    // the layout of schema 4: both histories keyed by the event id
    const v4 = new DatabaseSync(path)
    v4.exec(SCHEMA_4)
    // ids in the opposite order to the stamps, so the old table's order is not history order
    const room = v4.prepare('INSERT INTO messages (id, room, hlc, origin, author, event) VALUES (?, ?, ?, ?, ?, ?)')
    for (let n = 1; n <= 300; n++) room.run(id(1000 - n), n % 3 === 0 ? 'q' : 'r', at(1_000_000 + n), 'node', 'user', Uint8Array.of(n & 0xff, n >> 8))
    const dmRow = v4.prepare('INSERT INTO dm_history (id, conv, hlc, origin, author, event) VALUES (?, ?, ?, ?, ?, ?)')
    for (let n = 1; n <= 5; n++) dmRow.run(id(5000 - n), 'alice:bob', at(2_000_000 + n), 'node', 'alice', Uint8Array.of(n))
    v4.prepare('INSERT INTO mailbox (user, id, hlc, origin, event, sender) VALUES (?, ?, ?, ?, ?, ?)').run('bob', id(7), at(7), 'o', Uint8Array.of(7), 'ann')
    v4.close()

    const s = open(path)
    expect(s.schemaVersion).toBe(SCHEMA_VERSION)
    // every event of each room, in stamp order, bytes as stored
    const r = s.page('r', { limit: 1000 })
    expect(r.events.map(e => e.event[0]! + (e.event[1]! << 8))).toEqual(Array.from({ length: 300 }, (_, i) => i + 1).filter(n => n % 3 !== 0))
    expect(r.events.map(e => e.hlc)).toEqual([...r.events.map(e => e.hlc)].sort((a, b) => (a < b ? -1 : 1)))
    expect(s.page('q', { limit: 1000 }).events).toHaveLength(100)
    expect(s.digest('r', 0n, at(9_999_999)).count).toBe(200)
    expect(s.dmPage('alice:bob', { limit: 10 }).events.map(e => e.event[0])).toEqual([1, 2, 3, 4, 5])
    expect(s.mailboxList('bob', 10).map(x => x.sender)).toEqual(['ann'])
    // still one event per id: a second copy is held, a later stamp of the same id replaces it
    const first = { id: id(999), room: 'r', hlc: at(1_000_001), origin: 'node', author: 'user', event: Uint8Array.of(1, 0), ts: 1_000_001 }
    expect(s.put(first)).toBe('held')
    expect(s.put({ ...first, hlc: at(1_000_500), origin: 'other' })).toBe('restamped')
    expect(s.get(id(999))?.origin).toBe('other')
    expect(s.page('r', { limit: 1000 }).events).toHaveLength(200)
    expect(s.dmPut({ id: id(4999), conversation: 'alice:bob', hlc: at(2_000_001), origin: 'node', author: 'alice', event: Uint8Array.of(1), ts: 2_000_001 })).toBe(false)
    // new events go on after the copied ones
    expect(s.insert(ev(5000, 'r', 1_000_600))).toBe(true)
    expect(s.page('r', { limit: 1 }).events[0]?.id).toEqual(id(5000))

    const db = new DatabaseSync(path)
    try {
      const schema = Object.fromEntries((db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string, sql: string }>).map(t => [t.name, t.sql]))
      expect(Object.keys(schema).sort()).toEqual(['dm_history', 'mailbox', 'messages'])
      for (const t of ['messages', 'dm_history']) {
        expect(schema[t]).toMatch(/seq INTEGER PRIMARY KEY/)
        expect(schema[t]).not.toMatch(/WITHOUT ROWID/)
      }
      const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'").all() as Array<{ name: string }>).map(i => i.name).sort()
      expect(indexes).toEqual(['dm_history_age', 'dm_history_order', 'mailbox_age', 'mailbox_order', 'mailbox_sender', 'messages_order'])
      expect((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe('ok')
    } finally {
      db.close()
    }
  })
})
