/**
 * Heap held by the two presence layers at scale, per item: room presence (who is in the rooms a
 * node carries) per device, and global presence's room-host pairs. 10,000 rooms of 10 devices
 * spread over 20 nodes, and 20 nodes hosting 5,000 rooms each. Strings are built separately, as
 * when decoded off the wire.
 *
 *   npx tsc -p tsconfig.json && npx node --expose-gc dist/test/bench/room-presence-memory.js
 * Prints a table and writes test/bench/results/room-presence-memory.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { heapUsed, randomString, seededRandom } from './lib/heap-measure.js'
import { PresenceReplica } from '../../node/src/state/presence.js'
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
const devices = rp.stats().devices

// global presence: room-host pairs only
before = heapUsed()
const replica = new PresenceReplica(nodeIds[0] ?? '')
for (const [n, node] of nodeIds.entries()) {
  const hosted = Array.from({ length: HOSTED_PER_NODE }, (_, i) => roomName((n * 997 + i) % (ROOMS * 2)))
  replica.applyFull({ node, incarnation: 1, seq: 1, entries: [], hosted }, 0)
}
const hostBytes = heapUsed() - before
const pairs = replica.stats().hosted

const result = {
  roomPresence: { rooms: ROOMS, devices, retainedBytes: roomBytes, bytesPerDevice: Math.round(roomBytes / devices) },
  hosts: { nodes: NODES, pairs, retainedBytes: hostBytes, bytesPerPair: Math.round(hostBytes / pairs) },
  nodeVersion: process.version,
  date: new Date().toISOString()
}
console.table({
  'room presence: bytes per device': result.roomPresence.bytesPerDevice,
  'room presence: devices': devices,
  'global: bytes per room-host pair': result.hosts.bytesPerPair,
  'global: pairs': pairs
})
const dir = join('test', 'bench', 'results')
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, 'room-presence-memory.json'), JSON.stringify(result, null, 2) + '\n')
