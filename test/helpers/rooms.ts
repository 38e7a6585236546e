import { randomBytes } from 'node:crypto'
import { roomTopic } from '../../client/src/protocol/ids.js'
import { userIdOf } from '../../client/src/protocol/keys.js'
import { waitFor } from './mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { TestMesh } from './mesh.js'
import type { ChatClient, ChatMessage } from '../../client/src/node.js'

/**
 * Wait until every node in `nodes` knows every other one as a subscriber of
 * the room's topic: from then on a message published on any of them reaches
 * all of them (floodPublish sends to every known subscriber).
 */
export async function roomMeshReady (nodes: MeshchatNode[], room: string, timeoutMs = 15_000): Promise<void> {
  const topic = roomTopic(room)
  await waitFor(() => nodes.every(n => {
    const subs = new Set(n.mesh.services.pubsub.getSubscribers(topic).map(p => p.toString()))
    return n.rooms.isSubscribed(room) && nodes.every(m => m === n || subs.has(m.nodeId))
  }), { timeoutMs, what: `${nodes.length} nodes to see each other subscribed to ${topic}` })
}

/** every `message` event a client emits, in arrival order */
export function recordMessages (client: ChatClient): ChatMessage[] {
  const got: ChatMessage[] = []
  client.addEventListener('message', e => { got.push(e.detail) })
  return got
}

/**
 * Members of `room` that are devices in `node`'s presence and nothing else (no client each): how a
 * test fills a room with thousands. Device `i` (from `from`, default 0) is `<incarnation>-crowd<i>`,
 * a fresh user named `name(i)`; returns them in order. `node.presence.del(device)` takes one out.
 */
export function addCrowd (node: MeshchatNode, room: string, count: number, opts: { name?: (i: number) => string, from?: number } = {}): Array<{ device: string, userId: string }> {
  const since = Date.now()
  const from = opts.from ?? 0
  const name = opts.name ?? (i => `fan ${i}`)
  const added: Array<{ device: string, userId: string }> = []
  for (let i = from; i < from + count; i++) {
    const device = crowdDevice(node, i)
    const userId = userIdOf(randomBytes(32))
    node.presence.put({ userId, deviceId: device, name: name(i), status: 'online', rooms: [room], since })
    added.push({ device, userId })
  }
  return added
}

/** the device id addCrowd gives its `i`-th member on `node` */
export function crowdDevice (node: MeshchatNode, i: number): string {
  return `${node.incarnation.toString(36)}-crowd${i}`
}

/** once `mesh`'s N nodes see each other: a client on every node, all in `room`, the room's topic ready everywhere */
export async function memberOnEveryNode (mesh: TestMesh, N: number, room: string): Promise<ChatClient[]> {
  await mesh.converged(N)
  const clients = await Promise.all(mesh.nodes.map(async (n, i) => mesh.client(n, `${room}${i}`)))
  for (const c of clients) await c.join(room)
  await roomMeshReady(mesh.nodes, room)
  // the carriers a node answers and hands to one way follow the room's owners, which follow the room's
  // hosts as presence knows them: the tests start once every node knows every host
  await waitFor(() => mesh.nodes.every(n => n.presence.roomHosts(room).length === N), { what: `every node to know the ${N} hosts of ${room}` })
  return clients
}
