/**
 * Heap held by a presence replica at scale: 100,000 users (one device each) over 20 nodes and
 * 1,000 rooms, each user in 3 rooms. Every string is built separately, as it would be when decoded
 * off the wire, so that the replica's own sharing (room ids) is what gets measured.
 *
 * Run compiled, with the collector exposed:
 *   npx tsc -p tsconfig.json && npx node --expose-gc dist/test/bench/presence-memory.js
 * Prints a table and writes test/bench/results/presence-memory.json (relative to the working directory).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { heapUsed, randomString, seededRandom } from './lib/heap-measure.js'
import { PresenceReplica, type PresenceEntry } from '../../node/src/state/presence.js'

const ENTRIES = 100_000
const NODES = 20
const ROOMS = 1_000
const ROOMS_PER_USER = 3
const random = seededRandom(42)

function entry (i: number): PresenceEntry {
  const rooms = new Set<string>()
  while (rooms.size < ROOMS_PER_USER) rooms.add(`room-${Math.floor(random() * ROOMS)}`)
  return {
    // Ed25519 PeerId strings are 52 characters starting with 12D3KooW
    userId: randomString(random, '12D3KooW', 52),
    deviceId: randomString(random, '', 16),
    name: `user ${i}`,
    status: i % 10 === 0 ? 'away' : 'online',
    rooms: [...rooms],
    since: 1_700_000_000_000 + i
  }
}

const nodeIds = Array.from({ length: NODES }, () => randomString(random, '12D3KooW', 52))
const before = heapUsed()
const started = performance.now()
const replica = new PresenceReplica(nodeIds[0] ?? '')
for (const [n, node] of nodeIds.entries()) {
  const entries: PresenceEntry[] = []
  for (let i = n; i < ENTRIES; i += NODES) entries.push(entry(i))
  replica.applyFull({ node, incarnation: 1, seq: 1, entries }, 0)
}
const buildMs = performance.now() - started
const after = heapUsed()
const stats = replica.stats()

const result = {
  entries: ENTRIES,
  nodes: NODES,
  rooms: ROOMS,
  roomsPerUser: ROOMS_PER_USER,
  heapUsedBeforeBytes: before,
  heapUsedAfterBytes: after,
  retainedBytes: after - before,
  bytesPerEntry: Math.round((after - before) / ENTRIES),
  buildMs: Math.round(buildMs),
  stats,
  nodeVersion: process.version,
  date: new Date().toISOString()
}

console.table({
  'heapUsed before (MB)': (before / 1e6).toFixed(1),
  'heapUsed after (MB)': (after / 1e6).toFixed(1),
  'retained (MB)': (result.retainedBytes / 1e6).toFixed(1),
  'bytes per entry': result.bytesPerEntry,
  'build (ms)': result.buildMs,
  'devices / users / rooms': `${stats.devices} / ${stats.users} / ${stats.rooms}`
})

const dir = join('test', 'bench', 'results')
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, 'presence-memory.json'), JSON.stringify(result, null, 2) + '\n')
