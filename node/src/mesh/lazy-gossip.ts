import { PRESENCE_TOPIC } from '../../../client/src/protocol/ids.js'
import type { GossipSub } from '@libp2p/gossipsub'

/**
 * How many heartbeats of its message cache a node advertises in IHAVE, per topic.
 *
 * Gossipsub advertises the ids of the messages of the last three heartbeats (`mcacheGossip`) to
 * Dlazy peers at every heartbeat. With no forwarding mesh (MESH_DEGREE) every node carrying a room
 * advertises every message of it to every other carrying node, so each id crossed each link three
 * times: about a third of a node's mesh bytes in busy rooms. For room topics once is enough: each
 * carrying node that got a message advertises it, a node whose direct copy was lost asks the first
 * one (IWANT), and the replication stream, catch-up and anti-entropy are the paths behind it.
 *
 * The presence topic keeps libp2p's three: a node hears of nodes it is not yet connected to through
 * relays (a bootstrap daemon) advertising their heartbeats to a few random peers each time, and with
 * one advertisement the 20-node test took 95 s instead of 12 s to see every node live.
 */
export const ROOM_GOSSIP_HEARTBEATS = 1

interface CacheEntry { msgId: Uint8Array, msgIdStr: string, topic: string }

/** what gossipsub's MessageCache holds (not exported by the package; read only) */
interface MessageCacheFields {
  gossip: number
  history: CacheEntry[][]
  msgs: Map<string, { validated?: boolean }>
  getGossipIDs: (topics: Set<string>) => Map<string, Uint8Array[]>
}

/** heartbeats advertised for `topic`, given the library's setting for all topics */
export function gossipHeartbeats (topic: string, libraryDefault: number): number {
  return topic === PRESENCE_TOPIC ? libraryDefault : Math.min(ROOM_GOSSIP_HEARTBEATS, libraryDefault)
}

/**
 * Make `pubsub` advertise room messages for {@link ROOM_GOSSIP_HEARTBEATS} heartbeats. Returns
 * false (and changes nothing) when the message cache is not laid out as expected.
 */
export function advertiseRoomsOnce (pubsub: GossipSub): boolean {
  const mcache = (pubsub as unknown as { mcache?: Partial<MessageCacheFields> }).mcache
  if (mcache == null || typeof mcache.getGossipIDs !== 'function' || !Array.isArray(mcache.history) ||
    !(mcache.msgs instanceof Map) || typeof mcache.gossip !== 'number') return false
  const cache = mcache as MessageCacheFields
  // the same walk as the library's getGossipIDs (newest heartbeat first, validated messages only),
  // with the number of heartbeats chosen per topic
  cache.getGossipIDs = (topics: Set<string>): Map<string, Uint8Array[]> => {
    const byTopic = new Map<string, Uint8Array[]>()
    const windows = Math.min(cache.gossip, cache.history.length)
    for (let i = 0; i < windows; i++) {
      for (const entry of cache.history[i] ?? []) {
        if (!topics.has(entry.topic) || i >= gossipHeartbeats(entry.topic, cache.gossip)) continue
        if (cache.msgs.get(entry.msgIdStr)?.validated !== true) continue
        let ids = byTopic.get(entry.topic)
        if (ids == null) byTopic.set(entry.topic, ids = [])
        ids.push(entry.msgId)
      }
    }
    return byTopic
  }
  return true
}
