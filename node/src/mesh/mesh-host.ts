import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { sha256 } from '@noble/hashes/sha2.js'
import { createLibp2p } from 'libp2p'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
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
 * Topic mesh degree. Nodes keep a full mesh of connections (mesh/dialer.ts)
 * and publish with floodPublish, so the ingress node already hands every
 * message straight to every subscribed node; mesh forwarding only adds
 * copies (each node receives roughly one per mesh peer). libp2p's default
 * D = 6 suits open networks with partial connectivity; here D = 2 keeps one
 * forwarded copy as insurance against a dropped direct send, lazy gossip
 * (IHAVE to Dlazy = 6 peers) repairs the rest, and per-node traffic for a
 * room stops growing with the number of nodes in it.
 */
export const MESH_DEGREE = { D: 2, Dlo: 1, Dhi: 4, Dscore: 1, Dout: 0, Dlazy: 6 } as const

/** The mesh host: TCP (and WebSockets if a /ws address is listed), pnet, noise, yamux, gossipsub. */
export async function createMeshHost (init: MeshHostInit): Promise<MeshLibp2p> {
  const wantsWs = init.listen.some(a => a.includes('/ws'))
  const peerDiscovery = (init.bootstrap ?? []).length > 0
    ? [bootstrap({ list: init.bootstrap ?? [], timeout: 10 })]
    : []
  return createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen: init.listen, announce: init.announce ?? [] },
    transports: wantsWs ? [tcp(), webSockets()] : [tcp()],
    connectionProtector: preSharedKey({ psk: init.psk }),
    connectionEncrypters: [noise()],
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
      // a peer that stops answering pings is dropped, which makes presence suspect it early
      pingInterval: 5000
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
        ...MESH_DEGREE,
        allowPublishToZeroTopicPeers: true,
        // publish straight to every subscribed peer, not only mesh peers: one hop fewer for chat latency
        floodPublish: true,
        doPX: init.doPX ?? false,
        emitSelf: false,
        heartbeatInterval: init.gossipHeartbeatMs ?? 1000,
        scoreParams: {
          IPColocationFactorWhitelist: new Set(init.trustedIps)
        },
        // a room event is at most 64 KiB plus envelope; presence full states go over /sync, not gossip
        maxInboundDataLength: 1024 * 1024
      })
    }
  })
}
