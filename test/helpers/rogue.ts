import { generateKeyPair } from '@libp2p/crypto/keys'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DM_PROTOCOL, PRESENCE_TOPIC, SYNC_PROTOCOL, roomTopic } from '../../client/src/protocol/ids.js'
import { signEvent } from '../../client/src/protocol/signing.js'
import { createMeshHost, peerScore } from '../../node/src/mesh/mesh-host.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { DmDeliver, DmResult, StampedEvent, SyncRequest, SyncResponse } from '../../client/src/protocol/pb/mesh.js'
import { signPresence } from '../../node/src/mesh/presence-wire.js'
import { request, serve } from '../../node/src/mesh/rpc.js'
import { waitFor } from './mesh.js'
import type { EventContent } from '../../client/src/protocol/signing.js'
import type { PresenceMessage } from '../../client/src/protocol/pb/mesh.js'
import type { MeshLibp2p } from '../../node/src/mesh/mesh-host.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/**
 * A hostile member of the mesh: a real libp2p peer that holds the mesh key, so
 * it connects, speaks gossipsub and every node-to-node protocol, and says
 * whatever the test tells it to. What it cannot do is sign as another node or
 * as a user whose key it does not hold.
 */
export interface Rogue {
  host: MeshLibp2p
  key: PrivateKey
  id: string
  /** connect to these nodes (and wait until they are gossipsub peers) */
  join: (nodes: MeshchatNode[]) => Promise<void>
  /** publish raw bytes on a topic (gossipsub floods them to every subscriber it knows) */
  publish: (topic: string, data: Uint8Array) => Promise<string[]>
  /** a presence message signed with the rogue's own key, whatever node it names */
  signedPresence: (msg: Partial<PresenceMessage>) => Promise<Uint8Array>
  /** one sync request, answered by `node` */
  sync: (node: MeshchatNode, req: Partial<SyncRequest>) => Promise<SyncResponse>
  /** one DM hand-off, answered by `node` */
  dm: (node: MeshchatNode, req: Partial<DmDeliver>) => Promise<DmResult>
  /** answer sync requests with this handler (backfill sources, history pages) */
  serveSync: (handler: (req: SyncRequest, from: PeerId) => Promise<Partial<SyncResponse>>) => Promise<void>
  /** the rogue's gossipsub score as `node` sees it */
  scoreOn: (node: MeshchatNode) => number
  stop: () => Promise<void>
}

export async function startRogue (meshKey: Uint8Array): Promise<Rogue> {
  const key = await generateKeyPair('Ed25519')
  const host = await createMeshHost({
    privateKey: key,
    psk: meshKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    trustedIps: ['127.0.0.1', '::1'],
    linkControl: new LinkControl()
  })
  await host.start()
  const ps = host.services.pubsub
  // subscribed like a node, so it is in every node's presence topic mesh
  ps.subscribe(PRESENCE_TOPIC)
  const codec = { req: SyncRequest, res: SyncResponse }
  const rogue: Rogue = {
    host,
    key,
    id: host.peerId.toString(),
    join: async nodes => {
      for (const n of nodes) await host.dial(multiaddr(n.meshAddrs()[0]!))
      await waitFor(() => nodes.every(n => ps.getSubscribers(PRESENCE_TOPIC).some(p => p.toString() === n.nodeId)),
        { what: 'the rogue to see every node on the presence topic' })
    },
    publish: async (topic, data) => (await ps.publish(topic, data)).recipients.map(p => p.toString()),
    signedPresence: async msg => signPresence(key, msg),
    sync: async (node, req) => request(host, peerIdFromString(node.nodeId), SYNC_PROTOCOL, codec, req, { timeoutMs: 10_000, maxBytes: 64 << 20 }),
    dm: async (node, req) => request(host, peerIdFromString(node.nodeId), DM_PROTOCOL, { req: DmDeliver, res: DmResult }, req, { timeoutMs: 10_000, maxBytes: 1 << 20 }),
    serveSync: async handler => {
      await serve(host, SYNC_PROTOCOL, codec, handler, { maxBytes: 64 << 20, timeoutMs: 10_000, log: logger('meshchat:rogue') })
    },
    scoreOn: node => peerScore(node.mesh.services.pubsub, host.peerId.toString()),
    stop: async () => { await host.stop() }
  }
  return rogue
}

/** a user's signed event bytes, with the author clock chosen by the test */
export async function userEvent (key: PrivateKey, content: EventContent, ts = Date.now()): Promise<Uint8Array> {
  return (await signEvent(key, 'someone', content, { now: ts, nonce: crypto.getRandomValues(new Uint8Array(12)) })).bytes
}

/** a room envelope as an ingress node would publish it, with the stamp chosen by the test */
export function envelope (event: Uint8Array, origin: string, stampMs = Date.now()): Uint8Array {
  return StampedEvent.encode({ event: event as Uint8Array<ArrayBuffer>, hlc: BigInt(stampMs) << 16n, origin })
}

/** the gossipsub topic of a room (re-exported so tests read plainly) */
export const topicOf = roomTopic

/** a presence heartbeat naming `node` (signed by the rogue with `signedPresence`, it introduces the rogue as a node when `node` is its own id) */
export function heartbeat (node: string, extra: Partial<PresenceMessage['heartbeat'] & object> = {}): Partial<PresenceMessage> {
  return {
    heartbeat: {
      node,
      incarnation: 1n,
      seq: 0n,
      load: { clients: 0, rooms: 0, maxClients: 10 },
      gatewayAddrs: [],
      meshAddrs: [],
      httpUrl: '',
      beat: BigInt(Math.floor(Math.random() * 1e9)),
      time: BigInt(Date.now()),
      metaVersion: 0,
      addrsOmitted: false,
      ...extra
    }
  }
}
