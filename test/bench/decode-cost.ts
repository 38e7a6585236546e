/**
 * What the hot path's protobuf frames cost to decode and encode, per call, in this process: a room event as a
 * node opens it (SignedEvent, then its Event), as a node takes it from a peer (StampedEvent around
 * it), and as a client takes it (the ServerFrame with the Delivery, then the event); the Event once
 * more without its display name (an absent bytes field decodes to an empty array); and the event's id
 * (SHA-256 of its payload and signature) as browsers and as Node processes compute it; a user id's
 * base58 decode (the costly part of checking one); a room name's check; and the encodes
 * of messages with a oneof that every message causes: its Event (the client signs it), the hand-off
 * to another node (SyncRequest), the ack to the sender (ServerFrame). Every case
 * runs a warm-up, then `--rounds` rounds of `--calls` calls; the table gives the median ns per call
 * (garbage collection included: what a call allocates is paid for there) and the spread.
 *
 *   node dist/test/bench/decode-cost.js [--calls 200000] [--rounds 7] [--out file]
 *
 * Writes JSON (default test/bench/results/decode-cost.json).
 */
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Event, SignedEvent } from '../../client/src/protocol/pb/event.js'
import { ServerFrame } from '../../client/src/protocol/pb/client.js'
import { DeliveryKind, DmState } from '../../client/src/protocol/pb/client.js'
import { StampedEvent, SyncRequest } from '../../client/src/protocol/pb/mesh.js'
import { eventId, setEventIdHash, signEvent } from '../../client/src/protocol/signing.js'
import { nodeEventIdHash } from '../../client/src/protocol/sha256-node.js'
import { base58Decode, generateUserKey, userIdOf } from '../../client/src/protocol/keys.js'
import { validateRoom } from '../../client/src/protocol/validate.js'
import { table } from './lib/report.js'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')
const { values: argv } = parseArgs({ options: { calls: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' } } })
const calls = Number(argv.calls ?? 200_000)
const rounds = Number(argv.rounds ?? 7)
if (!Number.isInteger(calls) || calls < 1000 || calls > 10_000_000 || !Number.isInteger(rounds) || rounds < 1 || rounds > 50) {
  console.error('--calls takes 1,000 to 10,000,000, --rounds 1 to 50')
  process.exit(2)
}
const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'decode-cost.json')

const key = await generateKeyPair('Ed25519')
const signedEvent = await signEvent(key, 'alice', { kind: 'room', room: 'lobby', text: 'x'.repeat(100) }, { now: Date.now(), nonce: randomBytes(12) })
const eventBytes = new Uint8Array(signedEvent.bytes)
const { payload, signature } = SignedEvent.decode(eventBytes)
// the same event with its optional bytes fields (display name) absent: more defaults to make
const bare = Event.decode(payload)
const barePayload = Event.encode({ ...bare, name: new Uint8Array(0) })
const stamped = StampedEvent.encode({ event: eventBytes, hlc: BigInt(Date.now()) << 16n, origin: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo' })
// user ids of new users, each decoded once per pass: a directory owner checks every id a registration names
const userIds = Array.from({ length: 1000 }, () => userIdOf(generateUserKey().publicKey.raw))
let nextId = 0
const frame = ServerFrame.encode({ req: 0, delivery: { event: eventBytes, hlc: BigInt(Date.now()) << 16n, origin: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo', kind: DeliveryKind.LIVE, stable: 0n } })

let sink = 0
/** the benchmark's room names (room-0 … room-19), and as many with a letter outside ASCII */
const roomNames = Array.from({ length: 20 }, (_, i) => `room-${i}`)
const wideRoomNames = Array.from({ length: 20 }, (_, i) => `salle-${i}-été`)
let nextRoom = 0
const cases: Array<{ name: string, fn: () => void }> = [
  { name: 'SignedEvent (node: an event from a client)', fn: () => { sink += SignedEvent.decode(eventBytes).signature.byteLength } },
  { name: 'Event (its payload: room text)', fn: () => { sink += Event.decode(payload).nonce.byteLength } },
  { name: 'Event without a display name', fn: () => { sink += Event.decode(barePayload).nonce.byteLength } },
  {
    name: 'StampedEvent + SignedEvent + Event (node: an event from a peer)',
    fn: () => {
      const s = StampedEvent.decode(stamped)
      sink += Event.decode(SignedEvent.decode(s.event).payload).nonce.byteLength
    }
  },
  { name: 'event id, SHA-256 in JavaScript (noble: browsers)', fn: () => { setEventIdHash(undefined); sink += eventId(payload, signature)[0]! } },
  { name: 'event id, SHA-256 through node:crypto (Node nodes and clients)', fn: () => { setEventIdHash(nodeEventIdHash); sink += eventId(payload, signature)[0]! } },
  {
    name: 'ServerFrame + SignedEvent + Event (client: a delivery)',
    fn: () => {
      const f = ServerFrame.decode(frame)
      sink += Event.decode(SignedEvent.decode(f.delivery!.event).payload).nonce.byteLength
    }
  },
  { name: 'user id → its public key (base58 decode: a directory owner, every id a registration names)', fn: () => { sink += base58Decode(userIds[nextId++ % userIds.length]!)!.byteLength } },
  { name: 'room name check (validateRoom: every event a node or client opens, ASCII name)', fn: () => { sink += validateRoom(roomNames[nextRoom++ % roomNames.length]!).length } },
  { name: 'room name check, a non-ASCII name (the full rules: NFC, code points, Unicode classes)', fn: () => { sink += validateRoom(wideRoomNames[nextRoom++ % wideRoomNames.length]!).length } },
  { name: 'encode: Event (client: a room message it signs)', fn: () => { sink += Event.encode(bare).byteLength } },
  { name: 'encode: SyncRequest (node: an event handed to another node)', fn: () => { sink += SyncRequest.encode({ store: { room: 'lobby', event: { event: eventBytes, hlc: 1n << 40n, origin: 'node-a' }, id: new Uint8Array(0) } }).byteLength } },
  { name: 'encode: ServerFrame (node: the ack of a send)', fn: () => { sink += ServerFrame.encode({ req: 7, publishAck: { hlc: 1n << 40n, id: new Uint8Array(signature.subarray(0, 32)), dm: DmState.NONE, copies: 1 } }).byteLength } }
]

interface Row { case: string, nsPerCall: number, min: number, max: number }
const rows: Row[] = []
for (const c of cases) {
  for (let i = 0; i < 20_000; i++) c.fn()
  const ns: number[] = []
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < calls; i++) c.fn()
    ns.push(Number(process.hrtime.bigint() - t0) / calls)
  }
  ns.sort((a, b) => a - b)
  rows.push({ case: c.name, nsPerCall: ns[Math.floor(ns.length / 2)]!, min: ns[0]!, max: ns[ns.length - 1]! })
}
if (sink === 0) throw new Error('nothing decoded')

console.log(`protobuf decodes, encodes, event ids and user id decodes on the message path, ${rounds} rounds of ${calls.toLocaleString('en-US')} calls (Node ${process.version})\n`)
console.log(table(['call', 'ns per call (median)', 'fastest round', 'slowest round'], rows.map(r => [r.case, r.nsPerCall.toFixed(0), r.min.toFixed(0), r.max.toFixed(0)])))
writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), node: process.version, calls, rounds, rows }, null, 2) + '\n')
console.log(`\nresults: ${out}`)
