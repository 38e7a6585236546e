import { describe, expect, it } from 'vitest'
import { MessageStore } from '../../node/src/store/message-store.js'
import { GroupCommit } from '../../node/src/store/group-commit.js'
import type { Authored, StoredRoomEvent } from '../../node/src/store/message-store.js'

function ev (n: number): Authored<StoredRoomEvent> {
  const id = new Uint8Array(32)
  new DataView(id.buffer).setUint32(28, n)
  return { id, room: 'r', hlc: BigInt(1000 + n) << 16n, origin: 'node', author: 'user', event: Uint8Array.of(n & 0xff), ts: 1000 + n }
}

describe('group commit', () => {
  it('stores a turn\'s events in one transaction and answers each writer with its own freshness', async () => {
    const store = new MessageStore(':memory:')
    let transactions = 0
    const insertMany = store.insertMany.bind(store)
    store.insertMany = events => { transactions++; return insertMany(events) }
    const gc = new GroupCommit(store)
    store.insert(ev(3))
    const results = await Promise.all([1, 2, 3, 4, 2].map(async n => gc.put(ev(n))))
    expect(results).toEqual([true, true, false, true, false])
    expect(transactions).toBe(1)
    expect(store.count('r')).toBe(4)
    // nothing is resolved before it is committed: the promise of a later turn waits for its own batch
    const later = gc.put(ev(9))
    expect(store.get(ev(9).id)).toBeUndefined()
    expect(await later).toBe(true)
    expect(store.get(ev(9).id)).toBeDefined()
    expect(transactions).toBe(2)
    store.close()
  })

  it('commits early when a batch is full, and fails the writers when the store is closed', async () => {
    const store = new MessageStore(':memory:')
    const gc = new GroupCommit(store, 3)
    const first = [1, 2, 3].map(async n => gc.put(ev(n)))
    // the third put filled the batch: committed at once, before this turn ends
    expect(store.count('r')).toBe(3)
    expect(await Promise.all(first)).toEqual([true, true, true])
    store.close()
    await expect(gc.put(ev(4))).rejects.toThrow('closed')
  })
})
