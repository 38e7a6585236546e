import { noise } from '@chainsafe/libp2p-noise'
import { noiseCrypto } from '../../../client/src/protocol/noise-crypto-node.js'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { sha256 } from '@noble/hashes/sha2.js'
import { createLibp2p } from 'libp2p'
import { fixLengthPrefixedDecoder } from './lp-decoder.js'
import { fixYamuxWindowUpdates } from './yamux-window.js'
import { meshPnet } from './pnet.js'
import { advertiseRoomsOnce } from './lazy-gossip.js'
import { PRESENCE_TOPIC, roomTopic } from '../../../client/src/protocol/ids.js'
import { LIMITS } from '../../../client/src/protocol/limits.js'
import { MAX_CARRIED_ROOMS } from '../config.js'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Libp2pInit } from 'libp2p'
import type { LinkControl } from './link-control.js'

export type MeshServices = { pubsub: GossipSub, identify: Identify, ping: Ping }
export type MeshLibp2p = Libp2p<MeshServices>

export interface MeshHostInit {
  /** stable identity of the node (or bootstrap) */
  privateKey: PrivateKey
  /** swarm key file contents; only peers holding the same key can connect at all */
  psk: Uint8Array
  listen: string[]
  announce?: string[]
  /** bootstrap multiaddrs with /p2p/ */
  bootstrap?: string[]
  /** IPs exempt from gossipsub's IP-colocation penalty */
  trustedIps: string[]
  linkControl: LinkControl
  /** emit peer exchange records when pruning (the bootstrap daemon does) */
  doPX?: boolean
  /** gossipsub heartbeat, ms; default 1000 (libp2p's own default, which its scoring is tuned for) */
  gossipHeartbeatMs?: number
  metrics?: Libp2pInit['metrics']
  /** max connections to other mesh hosts; a full mesh of a few hundred nodes stays under this */
  maxConnections?: number
  /** called for every gossip message hashed (each copy received, duplicates included, and each own publish) */
  onGossip?: (topic: string) => void
}

/**
 * Gossipsub's message id: a hash of the data. Signatures are per user and live
 * inside the data (DESIGN, Identity), so gossipsub's own node signature is
 * redundant and StrictNoSign is used; the content hash also makes a republish
 * of the same bytes through another node a duplicate that gossipsub drops.
 */
function contentId (msg: { data: Uint8Array }): Uint8Array {
  return sha256(msg.data)
}

/**
 * A message id as the string gossipsub keys its caches with (local to this node: ids travel as
 * bytes). Node's own base64, where gossipsub's default goes through a JavaScript base encoder: it
 * runs for every id of every IHAVE received, and was the largest single source of allocation on a
 * node carrying busy rooms.
 */
function idToKey (id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('base64')
}

/**
 * Topic mesh degree 0: nobody forwards. Nodes keep a full mesh of connections
 * (mesh/dialer.ts) and publish with floodPublish, so the ingress node hands
 * every message straight to every node subscribed to the room; a forwarding
 * mesh on top of that only adds copies (each node received about 2.5 to 3 per
 * message at D = 2, and about 6 at libp2p's default D = 6, which suits open
 * networks with partial connectivity). With D = 0 each carrying node receives
 * one copy. A direct send that does not arrive is repaired by gossipsub's lazy
 * gossip: every heartbeat each node announces the ids it has (IHAVE, to Dlazy
 * peers) and a node missing one asks for it (IWANT); the replication stream
 * and the catch-up backfill are the second and third paths (test:
 * test/sim/gossip-copies.test.ts). Presence relayed by a bootstrap daemon
 * between nodes not yet connected travels the same way, within a heartbeat.
 */
export const MESH_DEGREE = { D: 0, Dlo: 0, Dhi: 0, Dscore: 0, Dout: 0, Dlazy: 6 } as const

/**
 * Topic scoring for the presence topic and every room topic. Only invalid
 * messages count: a chat room is often quiet for hours, so gossipsub's delivery
 * expectations (P3) would punish honest peers, and time in mesh (P1) and first
 * deliveries (P2) would let a peer bank credit before it misbehaves. A message
 * that fails validation costs its sender weight × count²: three in a short
 * while (-90) take it below the graylist threshold (-80), after which its RPCs
 * are ignored; the count decays by 3 % a second, so a peer that stops recovers
 * within a minute or two.
 */
export const TOPIC_SCORE = {
  topicWeight: 1,
  timeInMeshWeight: 0,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 1,
  firstMessageDeliveriesWeight: 0,
  firstMessageDeliveriesDecay: 0.5,
  firstMessageDeliveriesCap: 1,
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 1,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.97
} as const

/** gossipsub's default graylist threshold, spelled out because TOPIC_SCORE is tuned against it */
export const GRAYLIST_THRESHOLD = -80

/**
 * What the gossipsub implementation exposes beyond its public interface: the
 * live score parameters (which it reads on every scoring pass, so a topic added
 * here is scored from then on) and a peer's current score.
 */
interface ScoringInternals {
  score?: { params: { topics: Record<string, unknown> } }
  getScore?: (peer: string) => number
}

/** score a topic (room topics come and go with subscriptions; the params map is what gossipsub reads) */
export function scoreTopic (pubsub: GossipSub, topic: string, on: boolean): void {
  const topics = (pubsub as unknown as ScoringInternals).score?.params.topics
  if (topics == null) return
  if (on) topics[topic] = { ...TOPIC_SCORE }
  else delete topics[topic]
}

/** a peer's gossipsub score (0 when the implementation does not expose it) */
export function peerScore (pubsub: GossipSub, peer: string): number {
  return (pubsub as unknown as ScoringInternals).getScore?.(peer) ?? 0
}

/**
 * Subscriptions per gossipsub RPC. At a new connection gossipsub sends a node's whole subscription
 * list in one RPC, and a peer drops an RPC of more than 5,000 subscriptions (or over
 * `maxInboundDataLength`) whole: a node carrying more rooms than that lost every subscription,
 * presence's included, at each peer it connected to.
 */
export const SUBSCRIPTIONS_PER_RPC = 1000

/**
 * What one peer's subscriptions may cost in gossipsub's topic map: it charges each topic its length
 * plus 1 KiB (`GossipsubTopicEntryOverhead`) against `maxTopicBytesPerPeer`, 1 MiB by default, about
 * 1,000 topics. Here: every room a node may carry, at its longest name (the length is counted in
 * UTF-16 units, two for some characters), and the presence topic.
 */
export const TOPIC_BYTES_PER_PEER = (MAX_CARRIED_ROOMS + 16) * (1024 + roomTopic('x'.repeat(2 * LIMITS.maxRoomNameLength)).length)

/**
 * Make `pubsub` send subscriptions at most {@link SUBSCRIPTIONS_PER_RPC} to an RPC. Returns false (and
 * changes nothing) when the implementation has no `sendSubscriptions` to wrap.
 */
export function chunkSubscriptions (pubsub: GossipSub, perRpc = SUBSCRIPTIONS_PER_RPC): boolean {
  const ps = pubsub as unknown as { sendSubscriptions?: (to: string, topics: string[], subscribe: boolean) => void }
  const send = ps.sendSubscriptions
  if (typeof send !== 'function') return false
  ps.sendSubscriptions = function (this: unknown, to: string, topics: string[], subscribe: boolean): void {
    if (topics.length <= perRpc) {
      send.call(this, to, topics, subscribe)
      return
    }
    for (let i = 0; i < topics.length; i += perRpc) send.call(this, to, topics.slice(i, i + perRpc), subscribe)
  }
  return true
}

/** The mesh host: TCP (and WebSockets if a /ws address is listed), pnet, noise, yamux, gossipsub. */
export async function createMeshHost (init: MeshHostInit): Promise<MeshLibp2p> {
  fixLengthPrefixedDecoder()
  fixYamuxWindowUpdates()
  const wantsWs = init.listen.some(a => a.includes('/ws'))
  const peerDiscovery = (init.bootstrap ?? []).length > 0
    ? [bootstrap({ list: init.bootstrap ?? [], timeout: 10 })]
    : []
  const host = await createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen: init.listen, announce: init.announce ?? [] },
    transports: wantsWs ? [tcp(), webSockets()] : [tcp()],
    connectionProtector: meshPnet({ psk: init.psk }),
    connectionEncrypters: [noise({ crypto: noiseCrypto() })],
    streamMuxers: [yamux()],
    connectionGater: init.linkControl.gater(),
    peerDiscovery,
    metrics: init.metrics,
    connectionManager: {
      maxConnections: init.maxConnections ?? 1000,
      // nodes of a mesh often share an IP (one host, NAT, tests); libp2p's default of 5/s per host would refuse them
      inboundConnectionThreshold: 1000,
      maxIncomingPendingConnections: 200,
      dialTimeout: 5000
    },
    connectionMonitor: {
      // a node's connections to other nodes are watched by their beats (`beats.ts` closes one whose
      // peer stops beating); the pings, a stream each, remain for peers that do not beat (a bootstrap
      // daemon) and cost a third of an idle node's CPU at 5 s
      pingInterval: 30_000
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictNoSign,
        msgIdFn: init.onGossip == null
          ? contentId
          : (msg: { topic: string, data: Uint8Array }) => {
              init.onGossip?.(msg.topic)
              return contentId(msg)
            },
        msgIdToStrFn: idToKey,
        ...MESH_DEGREE,
        allowPublishToZeroTopicPeers: true,
        // publish straight to every subscribed peer, not only mesh peers: one hop fewer for chat latency
        floodPublish: true,
        // with no forwarding mesh (MESH_DEGREE) there is nothing for IDONTWANT to suppress
        idontwantMinDataSize: Number.MAX_SAFE_INTEGER,
        doPX: init.doPX ?? false,
        emitSelf: false,
        heartbeatInterval: init.gossipHeartbeatMs ?? 1000,
        scoreParams: {
          IPColocationFactorWhitelist: new Set(init.trustedIps),
          topics: { [PRESENCE_TOPIC]: { ...TOPIC_SCORE } }
        },
        scoreThresholds: {
          gossipThreshold: -10,
          publishThreshold: -50,
          graylistThreshold: GRAYLIST_THRESHOLD
        },
        // a room event is at most 64 KiB plus envelope; presence full states go over /sync, not gossip
        maxInboundDataLength: 1024 * 1024,
        // every room a peer may carry (MAX_CARRIED_ROOMS); its list comes in RPCs of 1,000 (chunkSubscriptions)
        maxTopicBytesPerPeer: TOPIC_BYTES_PER_PEER
      })
    }
  })
  // room messages advertised at one heartbeat, presence at libp2p's three (lazy-gossip.ts; a cache laid
  // out otherwise keeps the library's behaviour, and test/unit/lazy-gossip.test.ts fails)
  advertiseRoomsOnce(host.services.pubsub)
  chunkSubscriptions(host.services.pubsub)
  return host
}

/**
 * The peers this node has a connection to, each once. `Libp2p.getPeers()` gives the same list, but
 * builds it through a set of base58 strings and decodes every peer id again (about a tenth of an idle
 * node's periodic work): this keeps each connection's own peer id, whose string is cached.
 */
export function connectedPeers (mesh: Pick<Libp2p, 'getConnections'>): PeerId[] {
  const peers = new Map<string, PeerId>()
  for (const conn of mesh.getConnections()) {
    const key = conn.remotePeer.toString()
    if (!peers.has(key)) peers.set(key, conn.remotePeer)
  }
  return [...peers.values()]
}
