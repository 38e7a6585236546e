/**
 * Heap held by the two presence layers at scale, per item: room presence (who is in the rooms a
 * node carries) per device, and global presence's room-host pairs. 10,000 rooms of 10 devices
 * spread over 20 nodes, and 20 nodes hosting 5,000 rooms each. Strings are built separately, as
 * when decoded off the wire.
 *
 * The user directory's records on an owner, per record: 20 hosting nodes registering 5,000 users'
 * devices each.
 *
 * Beside them, what the transport holds for the same rooms: gossipsub keeps, on every node, each
 * connected peer's topic subscriptions (a room's topic and every node that carries it). A real
 * gossipsub instance is fed 20 peers carrying 5,000 rooms each, through the handler a SUBSCRIBE
 * from a peer goes to.
 *
 *   npx tsc -p tsconfig.json && npx node --expose-gc dist/test/bench/room-presence-memory.js
 * Prints a table and writes test/bench/results/room-presence-memory.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { heapUsed, randomString, seededRandom } from './lib/heap-measure.js'
import { gossipsub } from '@libp2p/gossipsub'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { generateKeyPairSync } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import { PresenceReplica } from '../../node/src/state/presence.js'
import { DirectoryTable, type DirectoryOp } from '../../node/src/state/directory.js'
import { TOPIC_BYTES_PER_PEER } from '../../node/src/mesh/mesh-host.js'
import { roomTopic } from '../../client/src/protocol/ids.js'
import { RoomPresence, type RoomDevice } from '../../node/src/state/room-presence.js'

const ROOMS = 10_000
const ROOM_SIZE = 10
const NODES = 20
const HOSTED_PER_NODE = 5_000
const random = seededRandom(42)

const nodeIds = Array.from({ length: NODES }, () => randomString(random, '12D3KooW', 52))
const roomName = (r: number): string => ['room-', String(r)].join('')

// room presence: every room carried, its 10 devices on one or two nodes
let before = heapUsed()
const rp = new RoomPresence({ maxRooms: ROOMS })
for (let r = 0; r < ROOMS; r++) {
  const room = roomName(r)
  rp.carry(room)
  const byNode = new Map<number, RoomDevice[]>()
  for (let i = 0; i < ROOM_SIZE; i++) {
    const n = (r + (i % 2)) % NODES
    const list = byNode.get(n) ?? []
    list.push({ userId: randomString(random, '12D3KooW', 52), deviceId: `1-${randomString(random, '', 8)}`, name: `user ${r}-${i}`, status: 'online', since: 1_700_000_000_000 + i })
    byNode.set(n, list)
  }
  for (const [n, devices] of byNode) rp.applyState({ room: roomName(r), node: nodeIds[n] ?? '', incarnation: 1, epoch: 1, seq: 1, devices })
}
const roomBytes = heapUsed() - before

// global presence: room-host pairs only
before = heapUsed()
const replica = new PresenceReplica(nodeIds[0] ?? '')
for (const [n, node] of nodeIds.entries()) {
  const hosted = Array.from({ length: HOSTED_PER_NODE }, (_, i) => roomName((n * 997 + i) % (ROOMS * 2)))
  replica.applyFull({ node, incarnation: 1, seq: 1, entries: [], hosted }, 0)
}
const hostBytes = heapUsed() - before

// the user directory on an owner: 20 hosting nodes register 5,000 devices each, one per user
before = heapUsed()
const table = new DirectoryTable(nodeIds[0] ?? '', { maxRecordsPerNode: HOSTED_PER_NODE })
for (const [n, node] of nodeIds.entries()) {
  const ops: DirectoryOp[] = Array.from({ length: HOSTED_PER_NODE }, (_, i) => ({
    op: 'put',
    device: { userId: randomString(random, '12D3KooW', 52), deviceId: `1-${randomString(random, '', 8)}`, name: `user ${n}-${i}`, status: 'online', rooms: 2, since: 1_700_000_000_000 + i }
  }))
  table.register({ node, incarnation: 1, version: 1, ops, full: true }, node)
}
const dirBytes = heapUsed() - before

// gossipsub's subscription table: the same 20 nodes' 5,000 rooms each, as their SUBSCRIBEs arrive
// real peer ids, as gossipsub keys its table by them
const peers: PeerId[] = Array.from({ length: NODES }, () => {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' })
  return peerIdFromPublicKey(publicKeyFromRaw(der.subarray(der.byteLength - 32)))
})
// the node's own settings for the per-peer topic budget (mesh-host.ts), so no subscription is refused
const gs = gossipsub({ maxTopicBytesPerPeer: TOPIC_BYTES_PER_PEER })({ logger: defaultLogger() } as unknown as Parameters<ReturnType<typeof gossipsub>>[0]) as unknown as {
  handleReceivedSubscription: (from: PeerId, topic: string, subscribe: boolean) => boolean
  topics: Map<string, Set<string>>
}
before = heapUsed()
let refused = 0
for (const [n, peer] of peers.entries()) {
  for (let i = 0; i < HOSTED_PER_NODE; i++) {
    // a topic string of its own per SUBSCRIBE, as decoded from the peer's RPC
    if (!gs.handleReceivedSubscription(peer, roomTopic(roomName((n * 997 + i) % (ROOMS * 2))).split('').join(''), true)) refused++
  }
}
const subBytes = heapUsed() - before
let subPairs = 0
for (const set of gs.topics.values()) subPairs += set.size
if (refused > 0) throw new Error(`gossipsub refused ${refused} subscriptions: the measurement would be short`)
// each structure is read here, after the last measurement, so that it stays live through every
// window: one no longer used can be collected during a later window and make its figure negative
const devices = rp.stats().devices
const pairs = replica.stats().hosted
const records = table.records().length

const result = {
  roomPresence: { rooms: ROOMS, devices, retainedBytes: roomBytes, bytesPerDevice: Math.round(roomBytes / devices) },
  hosts: { nodes: NODES, pairs, retainedBytes: hostBytes, bytesPerPair: Math.round(hostBytes / pairs) },
  directory: { nodes: NODES, records, retainedBytes: dirBytes, bytesPerRecord: Math.round(dirBytes / records) },
  gossipsubSubscriptions: { peers: NODES, topics: gs.topics.size, pairs: subPairs, retainedBytes: subBytes, bytesPerPair: Math.round(subBytes / subPairs) },
  nodeVersion: process.version,
  date: new Date().toISOString()
}
console.table({
  'room presence: bytes per device': result.roomPresence.bytesPerDevice,
  'room presence: devices': devices,
  'global: bytes per room-host pair': result.hosts.bytesPerPair,
  'global: pairs': pairs,
  'directory: bytes per record': result.directory.bytesPerRecord,
  'directory: records': records,
  'gossipsub: bytes per (topic, peer) subscription': result.gossipsubSubscriptions.bytesPerPair,
  'gossipsub: subscriptions': subPairs
})
const dir = join('test', 'bench', 'results')
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, 'room-presence-memory.json'), JSON.stringify(result, null, 2) + '\n')
