import { describe, expect, it } from 'vitest'
import { logger } from '@libp2p/logger'
import { RoomService } from '../../node/src/mesh/rooms.js'
import { MessageStore } from '../../node/src/store/message-store.js'
import { GroupCommit } from '../../node/src/store/group-commit.js'
import { NodeMetrics } from '../../node/src/metrics.js'
import { Supervisor } from '../../node/src/supervisor.js'
import { HybridClock } from '../../node/src/state/hlc.js'
import { idToHex } from '../../client/src/protocol/signing.js'
import type { RoomsComponents } from '../../node/src/mesh/rooms.js'
import type { Authored, StoredRoomEvent } from '../../node/src/store/message-store.js'

function id (n: number): Uint8Array {
  const b = new Uint8Array(32)
  new DataView(b.buffer).setUint32(28, n)
  return b
}

/** a RoomService over a real in-memory store and group commit; the mesh parts it does not touch on ingest are left out */
function rooms (clock = { now: () => Date.now() }): { svc: RoomService, store: MessageStore } {
  const store = new MessageStore(':memory:')
  const log = logger('meshchat:test:rooms')
  const components = {
    nodeId: 'node-a',
    store,
    writer: new GroupCommit(store),
    hlc: new HybridClock(),
    clock,
    // what carrying a room asks of gossipsub, and no more
    pubsub: { topicValidators: new Map(), subscribe: () => {} },
    deliver: { room: () => 0, late: () => 0 },
    metrics: new NodeMetrics(),
    log,
    supervisor: new Supervisor({ log })
  } as unknown as RoomsComponents
  return { svc: new RoomService({ maxEventBytes: 4096 }, components), store }
}

const event = (n: number): Authored<StoredRoomEvent> =>
  ({ id: id(n), room: 'lobby', hlc: BigInt(Date.now() + n) << 16n, origin: 'node-b', author: 'ada', event: Uint8Array.of(n & 0xff), ts: Date.now() })

describe('RoomService commits', () => {
  it('are held only until they settle, however many events pass', async () => {
    const { svc, store } = rooms()
    const n = 3_000
    const ingests: Array<Promise<boolean>> = []
    for (let i = 0; i < n; i++) ingests.push(svc.ingest(event(i)))
    // every one waits for its group commit
    expect(svc.committing).toBe(n)
    expect(await Promise.all(ingests)).toEqual(new Array(n).fill(true))
    await new Promise(resolve => setImmediate(resolve))
    expect(svc.committing).toBe(0)
    expect(store.count('lobby')).toBe(n)
    store.close()
  })

  it('a confirmation waits for a commit in flight, and one asked after it settles answers at once', async () => {
    const { svc, store } = rooms()
    const e = event(7)
    const hex = idToHex(e.id)
    let committed = false
    const ingest = svc.ingest(e).then(fresh => { committed = true; return fresh })
    const confirm = svc.awaitStored(hex, 5_000).then(ok => ({ ok, committed }))
    expect(svc.committing).toBe(1)
    expect(await confirm).toEqual({ ok: true, committed: true })
    expect(await ingest).toBe(true)
    expect(svc.committing).toBe(0)
    expect(await svc.awaitStored(hex, 5_000)).toBe(true)
    // an id never seen times out
    expect(await svc.awaitStored(idToHex(id(99)), 20)).toBe(false)
    store.close()
  })

  it('a commit that fails is let go too', async () => {
    const { svc, store } = rooms()
    store.close()
    await expect(svc.ingest(event(1))).rejects.toThrow(/closed/)
    await new Promise(resolve => setImmediate(resolve))
    expect(svc.committing).toBe(0)
  })
})

describe('RoomService stamps of one id', () => {
  it('a message a prompt stamp moves earlier is offered to resumes behind their cursor; a replay stamped later moves nothing', async () => {
    let now = 1_800_000_000_000
    const { svc, store } = rooms({ now: () => now })
    svc.want('lobby', 'local', true)
    const at = (ms: number): bigint => BigInt(ms) << 16n
    // written a minute after the node began carrying the room, first reaching it ten minutes on
    // (stamped then by a node the author's retry reached: a late stamp)
    const ts = now + 60_000
    now = ts + 600_000
    const e = { id: id(1), room: 'lobby', hlc: at(now), origin: 'node-b', author: 'ada', event: Uint8Array.of(1), ts }
    expect(await svc.ingest(e)).toBe(true)
    expect(svc.lateArrivals('lobby', at(now + 1))).toEqual([])
    // the first try's prompt stamp arrives: every copy moves the message back to it, and a resume
    // from a cursor between the two places (past the prompt one) is offered it
    now += 5_000
    const prompt = at(ts + 1_000)
    expect(await svc.ingest({ ...e, hlc: prompt, origin: 'node-c' })).toBe(false)
    await new Promise(resolve => setImmediate(resolve))
    expect(store.get(e.id)?.hlc).toBe(prompt)
    expect(svc.lateArrivals('lobby', at(ts + 300_000)).map(x => x.hlc)).toEqual([prompt])
    // a replay stamped now ranks below the prompt stamp: nothing moves
    now += 5_000
    expect(await svc.ingest({ ...e, hlc: at(now), origin: 'node-z' })).toBe(false)
    await new Promise(resolve => setImmediate(resolve))
    expect(store.get(e.id)?.hlc).toBe(prompt)
    store.close()
  })
})
