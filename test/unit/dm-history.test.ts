import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { conversationId, conversationParticipants, otherParticipant } from '../../client/src/protocol/conversation.js'
import { generateUserKey, userIdOf } from '../../client/src/protocol/keys.js'
import { openEvent, peekEventKind, signEvent } from '../../client/src/protocol/signing.js'
import { InvalidEventError, InvalidQueryError, InvalidRoomError, InvalidUserError } from '../../client/src/protocol/errors.js'
import { MessageStore, SCHEMA_VERSION } from '../../node/src/store/message-store.js'
import { DmHistory, mergePages } from '../../node/src/mesh/dm-history.js'
import { rendezvousOwners } from '../../node/src/state/rendezvous.js'
import type { DmHistoryComponents } from '../../node/src/mesh/dm-history.js'
import type { Authored, DmPage, StoredDmEvent } from '../../node/src/store/message-store.js'

function id (n: number): Uint8Array {
  const b = new Uint8Array(32)
  new DataView(b.buffer).setUint32(28, n)
  return b
}

const at = (ms: number): bigint => BigInt(ms) << 16n

const alice = userIdOf(generateUserKey().publicKey.raw)
const bob = userIdOf(generateUserKey().publicKey.raw)
const carol = userIdOf(generateUserKey().publicKey.raw)

function dm (n: number, conversation = conversationId(alice, bob), ms = 1_000_000 + n): Authored<StoredDmEvent> {
  return { id: id(n), conversation, hlc: at(ms), origin: 'node', author: alice, event: Uint8Array.of(n & 0xff), ts: ms }
}

const nums = (p: DmPage): number[] => p.events.map(e => e.event[0] ?? -1)

describe('conversation ids', () => {
  it('are the same from either side, and name both participants in order', () => {
    const c = conversationId(alice, bob)
    expect(conversationId(bob, alice)).toBe(c)
    expect(conversationParticipants(c)).toEqual([alice, bob].sort())
    expect(otherParticipant(c, alice)).toBe(bob)
    expect(otherParticipant(c, bob)).toBe(alice)
    expect(otherParticipant(c, carol)).toBeUndefined()
    // a note to self is a conversation of one
    expect(conversationParticipants(conversationId(alice, alice))).toEqual([alice, alice])
  })

  it('refuse anything else with a typed error', () => {
    const [lo, hi] = [alice, bob].sort() as [string, string]
    for (const bad of ['', lo, `${hi}:${lo}`, `${lo}:${hi}:${lo}`, `${lo}:nobody`, `${lo}::${hi}`, 'x'.repeat(300), 42, null]) {
      expect(() => conversationParticipants(bad), String(bad)).toThrow(InvalidQueryError)
    }
    expect(() => conversationId(alice, 'nobody')).toThrow(InvalidUserError)
  })
})

describe('receipt events', () => {
  it('sign and open for a room and for a DM peer; peekEventKind agrees', async () => {
    const key = generateUserKey()
    const read = { id: id(9), hlc: at(5) }
    const inRoom = await signEvent(key, 'ada', { kind: 'receipt', room: 'lobby', ...read }, { now: 1, nonce: new Uint8Array(12) })
    const opened = await openEvent(inRoom.bytes)
    expect(opened.kind).toBe('receipt')
    expect(opened.room).toBe('lobby')
    expect(opened.to).toBeUndefined()
    expect(opened.read).toEqual(read)
    expect(peekEventKind(inRoom.bytes)).toBe('receipt')
    const inDm = await openEvent((await signEvent(key, 'ada', { kind: 'receipt', peer: bob, ...read }, { now: 1, nonce: new Uint8Array(12) })).bytes)
    expect(inDm.to).toBe(bob)
    expect(inDm.room).toBeUndefined()
  })

  it('name exactly one room or peer, a whole id and a stamp', async () => {
    const key = generateUserKey()
    const opts = { now: 1, nonce: new Uint8Array(12) }
    await expect(signEvent(key, 'ada', { kind: 'receipt', id: id(1), hlc: 1n }, opts)).rejects.toThrow(InvalidEventError)
    await expect(signEvent(key, 'ada', { kind: 'receipt', room: 'lobby', peer: bob, id: id(1), hlc: 1n }, opts)).rejects.toThrow(InvalidEventError)
    await expect(signEvent(key, 'ada', { kind: 'receipt', room: 'lobby', id: new Uint8Array(31), hlc: 1n }, opts)).rejects.toThrow(InvalidEventError)
    await expect(signEvent(key, 'ada', { kind: 'receipt', room: 'lobby', id: id(1), hlc: 0n }, opts)).rejects.toThrow(InvalidEventError)
    await expect(signEvent(key, 'ada', { kind: 'receipt', room: 'no room', id: id(1), hlc: 1n }, opts)).rejects.toThrow(InvalidRoomError)
    await expect(signEvent(key, 'ada', { kind: 'receipt', peer: 'nobody', id: id(1), hlc: 1n }, opts)).rejects.toThrow(InvalidUserError)
  })
})

describe('mergePages', () => {
  const page = (ns: number[], more = false): DmPage => ({ events: ns.map(n => dm(n)), more })

  it('merges copies held by several owners into the page one complete copy would give', () => {
    // owner 1 has 1..6, owner 2 missed 3 and 5 but has 7, 8: the union is 1..8
    const newest = mergePages([page([3, 4, 5, 6], true), page([4, 6, 7, 8], true)], { limit: 4 })
    expect(nums(newest)).toEqual([5, 6, 7, 8])
    expect(newest.more).toBe(true)
    const forward = mergePages([page([1, 2, 3]), page([2, 4, 6])], { after: { hlc: 0n, id: id(0) }, limit: 4 })
    expect(nums(forward)).toEqual([1, 2, 3, 4])
    expect(forward.more).toBe(true)
    const all = mergePages([page([1, 2]), page([]), page([2])], { limit: 10 })
    expect(nums(all)).toEqual([1, 2])
    expect(all.more).toBe(false)
  })
})

describe('DM history in the store', () => {
  const stores: MessageStore[] = []
  const dirs: string[] = []
  afterEach(async () => {
    for (const s of stores.splice(0)) s.close()
    await Promise.all(dirs.splice(0).map(async d => rm(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 })))
  })
  const open = (path = ':memory:'): MessageStore => {
    const s = new MessageStore(path)
    stores.push(s)
    return s
  }

  it('is idempotent by id and pages like room history, per conversation', () => {
    const s = open()
    const other = conversationId(alice, carol)
    expect(s.dmPutMany([1, 2, 3, 4, 5].map(n => dm(n)))).toBe(5)
    expect(s.dmPut(dm(3))).toBe(false)
    expect(s.dmPut({ ...dm(3), hlc: at(1) })).toBe(false)
    // a later stamp of the same DM (sent again through another node) replaces the stored one, as in rooms
    const later = { ...dm(3), hlc: dm(3).hlc + 1n, origin: 'other-node' }
    expect(s.dmPut(later)).toBe(false)
    expect(s.dmGet(id(3))?.hlc).toBe(later.hlc)
    expect(s.dmGet(id(3))?.origin).toBe('other-node')
    s.dmPut(dm(6, other))
    const c = conversationId(alice, bob)
    const newest = s.dmPage(c, { limit: 2 })
    expect(nums(newest)).toEqual([4, 5])
    expect(newest.more).toBe(true)
    const first = newest.events[0]!
    expect(nums(s.dmPage(c, { before: { hlc: first.hlc, id: first.id }, limit: 10 }))).toEqual([1, 2, 3])
    const after = s.dmPage(c, { after: { hlc: at(1_000_002), id: id(2) }, limit: 2 })
    expect(nums(after)).toEqual([3, 4])
    expect(after.more).toBe(true)
    expect(nums(s.dmPage(other, { limit: 10 }))).toEqual([6])
    expect(s.dmGet(id(6))?.conversation).toBe(other)
    expect(s.dmConversations().sort()).toEqual([c, other].sort())
  })

  it('retention drops DMs by age and keeps at most maxPerRoom per conversation', () => {
    const s = open()
    const c = conversationId(alice, bob)
    const other = conversationId(alice, carol)
    s.dmPutMany([1, 2, 3, 4, 5].map(n => dm(n, c, 10_000 + n * 1000)))
    s.dmPutMany([6, 7].map(n => dm(n, other, 10_000 + n * 1000)))
    // at most 3 per conversation: 1 and 2 go
    expect(s.prune({ maxAgeMs: 0, maxPerRoom: 3 }, 0)).toBe(2)
    expect(nums(s.dmPage(c, { limit: 10 }))).toEqual([3, 4, 5])
    expect(nums(s.dmPage(other, { limit: 10 }))).toEqual([6, 7])
    // older than 2.5 s at t = 17.5 s: stamps below 15 s go (3, 4)
    expect(s.prune({ maxAgeMs: 2500, maxPerRoom: 0 }, 17_500)).toBe(2)
    expect(nums(s.dmPage(c, { limit: 10 }))).toEqual([5])
    expect(nums(s.dmPage(other, { limit: 10 }))).toEqual([6, 7])
  })

  it('a version 2 file gains the DM history table and keeps its mailboxes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshchat-store-'))
    dirs.push(dir)
    const path = join(dir, 'v2.sqlite')
    const v2 = new DatabaseSync(path)
    v2.exec(`
      CREATE TABLE messages (id BLOB PRIMARY KEY, room TEXT NOT NULL, hlc INTEGER NOT NULL, origin TEXT NOT NULL, author TEXT NOT NULL, event BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE mailbox (user TEXT NOT NULL, id BLOB NOT NULL, hlc INTEGER NOT NULL, origin TEXT NOT NULL, event BLOB NOT NULL, sender TEXT NOT NULL DEFAULT '', PRIMARY KEY (user, id)) WITHOUT ROWID;
      PRAGMA user_version = 2;
    `)
    v2.prepare('INSERT INTO mailbox (user, id, hlc, origin, event, sender) VALUES (?, ?, ?, ?, ?, ?)').run('bob', id(7), 7n << 16n, 'o', Uint8Array.of(7), 'ann')
    v2.close()
    const s = open(path)
    expect(SCHEMA_VERSION).toBe(5)
    expect(s.schemaVersion).toBe(5)
    expect(s.mailboxList('bob', 10).map(x => x.sender)).toEqual(['ann'])
    expect(s.dmPut(dm(1))).toBe(true)
    expect(nums(s.dmPage(conversationId(alice, bob), { limit: 5 }))).toEqual([1])
  })
})

describe('conversation owners', () => {
  it('are the rendezvous owners over the nodes live now, recomputed as soon as the live set changes', () => {
    let live = ['n1', 'n2', 'n3', 'n4']
    const presence = { replica: { liveNodes: () => [...live] } }
    const history = new DmHistory(
      { replicas: 2, requestTimeoutMs: 1000, maxPage: 100, handOffMax: 100, entitled: async () => true },
      { nodeId: 'n1', presence } as unknown as DmHistoryComponents
    )
    const conversations = Array.from({ length: 40 }, () => conversationId(alice, userIdOf(generateUserKey().publicKey.raw)))
    for (const c of conversations) expect(history.owners(c)).toEqual(rendezvousOwners(c, live, 2))
    // a caller that changes the list it got does not change the next answer
    const first = conversations[0] ?? ''
    history.owners(first).push('n9')
    expect(history.owners(first)).toEqual(rendezvousOwners(first, live, 2))
    // an owner goes down: the owners follow the new live set at once, and none of them is the node that went
    const down = rendezvousOwners(first, live, 2)[0] ?? ''
    live = live.filter(n => n !== down)
    for (const c of conversations) {
      expect(history.owners(c)).toEqual(rendezvousOwners(c, live, 2))
      expect(history.owners(c)).not.toContain(down)
    }
    // and it is back
    live = ['n1', 'n2', 'n3', 'n4']
    for (const c of conversations) expect(history.owners(c)).toEqual(rendezvousOwners(c, live, 2))
  })
})
