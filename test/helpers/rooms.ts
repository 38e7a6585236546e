import { roomTopic } from '../../client/src/protocol/ids.js'
import { waitFor } from './mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
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
