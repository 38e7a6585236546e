import { afterEach, describe, expect, it } from 'vitest'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { rejectionOf } from '../helpers/assert.js'
import { PRESENCE_TOPIC, roomTopic } from '../../client/src/protocol/ids.js'
import { NodeFullError } from '../../client/src/protocol/errors.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { TestMesh } from '../helpers/mesh.js'

async function metric (node: MeshchatNode, name: string, label: string): Promise<number> {
  const text = await node.metrics.registry.metrics()
  const line = text.split('\n').find(l => l.startsWith(`${name}{`) && l.includes(label))
  return line == null ? 0 : Number(line.split(' ').at(-1))
}

/** of `rooms`, how many `from` sees `node` subscribed to (gossipsub publishes a room's messages to those) */
function seenIn (from: MeshchatNode, node: MeshchatNode, rooms: string[]): number {
  const pubsub = from.mesh.services.pubsub
  const id = node.mesh.peerId.toString()
  return rooms.filter(r => pubsub.getSubscribers(roomTopic(r)).some(p => p.toString() === id)).length
}

/**
 * A node that carries many rooms: its peers must see every one of its subscriptions, at once and
 * after a reconnect. Gossipsub's own bounds passed over such a node: a peer held at most about 1,000
 * of its topics (1 MiB at 1 KiB a topic), and the whole subscription list a node sends when a
 * connection opens was dropped whole past 5,000 topics, the presence topic with it.
 */
describe('a node carrying thousands of rooms', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  it('is seen subscribed to every one of them by its peers, before and after a reconnect, and gets their messages', async () => {
    // every room by gossip, as rooms carried by more than roomDirectMax nodes are
    mesh = await startMesh(2, { roomDirectMax: 0 })
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    await waitFor(() => a.mesh.services.pubsub.getSubscribers(PRESENCE_TOPIC).some(p => p.equals(b.mesh.peerId)), { what: 'b on the presence topic at a' })
    const rooms = Array.from({ length: 6000 }, (_, i) => `many-${i}`)
    // as its clients' joins do, one room at a time
    for (const r of rooms) expect(b.rooms.want(r, 'local', true)).toBe(true)
    await waitFor(() => seenIn(a, b, rooms) === rooms.length, { timeoutMs: 60_000, what: 'a to see b in all 6,000 rooms' })

    // a new connection: b's whole list goes to a again
    await a.mesh.hangUp(b.mesh.peerId)
    await waitFor(() => a.mesh.getConnections(b.mesh.peerId).length > 0 && a.mesh.services.pubsub.getSubscribers(PRESENCE_TOPIC).some(p => p.equals(b.mesh.peerId)),
      { timeoutMs: 60_000, what: 'a and b connected again, b on the presence topic at a' })
    await waitFor(() => seenIn(a, b, rooms) === rooms.length, { timeoutMs: 60_000, what: 'a to see b in all 6,000 rooms after the reconnect' })

    // and a member on b of the last of them gets what is sent to it on a
    const room = rooms.at(-1)!
    const reader = await mesh.client(b, 'reader')
    await reader.join(room)
    const got: string[] = []
    reader.addEventListener('message', e => { got.push(e.detail.text) })
    const writer = await mesh.client(a, 'writer')
    await writer.join(room)
    for (let i = 0; i < 5; i++) await writer.send(room, `hello ${i}`)
    await waitFor(() => got.length >= 5, { timeoutMs: 30_000, what: 'the member on b to get the 5 messages sent on a' })
    expect(got.sort()).toEqual(['hello 0', 'hello 1', 'hello 2', 'hello 3', 'hello 4'])
  }, 180_000)

  it('refuses a join past maxCarriedRooms with NODE_FULL, and takes it once a room is let go', async () => {
    mesh = await startMesh(1, { maxCarriedRooms: 3 })
    const node = mesh.nodes[0]!
    const alice = await mesh.client(node, 'alice')
    for (const r of ['one', 'two', 'three']) await alice.join(r)
    const err = await rejectionOf(alice.join('four'))
    expect(err).toBeInstanceOf(NodeFullError)
    expect(err.message).toMatch(/carries the most rooms/)
    expect(node.rooms.subscribed().sort()).toEqual(['one', 'three', 'two'])
    expect(await metric(node, 'meshchat_rooms_refused_total', 'reason="local"')).toBe(1)
    // the refused join left nothing behind; with a room let go, the node takes the fourth
    await alice.leave('one')
    await waitFor(() => !node.rooms.isSubscribed('one'), { what: 'the node to let go of the room nobody is in' })
    await alice.join('four')
    await alice.send('four', 'in at last')
    expect(node.rooms.subscribed().sort()).toEqual(['four', 'three', 'two'])
  })

  it('an archive copy refused at the cap is counted once, however often rebalances ask, and taken once there is room', async () => {
    mesh = await startMesh(0)
    const a = await mesh.addNode()
    const b = await mesh.addNode({ maxCarriedRooms: 1 })
    await mesh.converged()
    const bob = await mesh.client(b, 'bob')
    await bob.join('full-up')
    const alice = await mesh.client(a, 'alice')
    await alice.join('kept')
    await alice.send('kept', 'one copy here')
    // two nodes, two archive replicas: b owns 'kept', and is at its one room
    await waitFor(() => b.presence.replica.rooms().includes('kept'), { what: "b to see 'kept' active" })
    expect(b.archive.owners('kept')).toContain(b.nodeId)
    for (let i = 0; i < 5; i++) b.archive.rebalance()
    expect(b.rooms.isSubscribed('kept')).toBe(false)
    expect(await metric(b, 'meshchat_rooms_refused_total', 'reason="archive"')).toBe(1)
    // a's offer of the room, refused the same way, is not counted again either
    b.archive.offer(a.nodeId, ['kept'])
    expect(await metric(b, 'meshchat_rooms_refused_total', 'reason="archive"')).toBe(1)
    // with b's own room let go, the next rebalance takes the copy, and the history comes with it
    await bob.leave('full-up')
    await waitFor(() => !b.rooms.isSubscribed('full-up'), { what: 'b to let go of the room nobody is in' })
    b.archive.rebalance()
    expect(b.rooms.isSubscribed('kept')).toBe(true)
    await waitFor(() => b.store.rooms().includes('kept'), { timeoutMs: 20_000, what: "b to copy 'kept' once it carries it" })
  }, 60_000)

  it('refuses a join past maxRoomMembers with NODE_FULL; the room takes the member on another node', async () => {
    // the other nodes refuse a node's stream of a room's devices whole past MAX_ROOM_MEMBERS (10,000)
    // and would show none of them; here the bound is 2
    mesh = await startMesh(2, { maxRoomMembers: 2 })
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const first = await mesh.client(a, 'first')
    const second = await mesh.client(a, 'second')
    const third = await mesh.client(a, 'third')
    await first.join('lobby')
    await second.join('lobby')
    const err = await rejectionOf(third.join('lobby'))
    expect(err).toBeInstanceOf(NodeFullError)
    expect(err.message).toMatch(/most members of room lobby/)
    expect(await metric(a, 'meshchat_rooms_refused_total', 'reason="members"')).toBe(1)
    // another room is fine, and so is the same room through another node
    await third.join('elsewhere')
    const onB = await mesh.client(b, 'third-on-b')
    await onB.join('lobby')
    await waitFor(() => first.roster('lobby').length === 3, { timeoutMs: 30_000, what: 'the member on b in the roster on a' })
    expect(first.roster('lobby').map(m => m.name).sort()).toEqual(['first', 'second', 'third-on-b'])
  })
})
