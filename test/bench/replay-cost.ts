/**
 * What an old event a node already stores costs it when a peer sends it again (a keyed peer
 * replaying history, a backfill or history page over events the node holds): a store of E events
 * in a real SQLite file, and the node's EventOpener with its memory of opened events turned off, so
 * every call is a first sight. Three cases, each over the same stored events, their author times
 * ten minutes old: the signature checked (as before the node looked for held ids), the id looked up
 * and found (the check skipped), and an old event the node does not hold (the lookup, then the
 * check). The node's verifier and hash (libsodium where it loads). Median µs per call over
 * `--rounds` rounds of `--calls` calls.
 *
 *   node dist/test/bench/replay-cost.js [--events 200000] [--calls 5000] [--rounds 5] [--out file]
 *
 * Writes JSON (default test/bench/results/replay-cost.json).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DecodedEvent, setEd25519Verifier, setEventIdHash, signEvent } from '../../client/src/protocol/signing.js'
import { nodeEd25519Verifier } from '../../client/src/protocol/ed25519-node.js'
import { nodeEventIdHash } from '../../client/src/protocol/sha256-node.js'
import { EventOpener } from '../../node/src/mesh/event-opener.js'
import { MessageStore } from '../../node/src/store/message-store.js'
import { DEFAULT_STAMP_RULE } from '../../node/src/state/stamps.js'
import { table } from './lib/report.js'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')
const { values: argv } = parseArgs({ options: { events: { type: 'string' }, calls: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' } } })
const events = Number(argv.events ?? 200_000)
const calls = Number(argv.calls ?? 5000)
const rounds = Number(argv.rounds ?? 5)
if (!Number.isInteger(events) || events < 1000 || events > 2_000_000 || !Number.isInteger(calls) || calls < 100 || calls > events ||
  !Number.isInteger(rounds) || rounds < 1 || rounds > 50) {
  console.error('--events takes 1,000 to 2,000,000, --calls 100 to the events, --rounds 1 to 50')
  process.exit(2)
}
const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'replay-cost.json')

setEd25519Verifier(nodeEd25519Verifier)
setEventIdHash(nodeEventIdHash)
const dir = mkdtempSync(join(tmpdir(), 'meshchat-replay-cost-'))
const store = new MessageStore(join(dir, 'meshchat.sqlite'))
try {
  const key = await generateKeyPair('Ed25519')
  const author = peerIdFromPrivateKey(key).toString()
  const tenMinutesAgo = Date.now() - 600_000
  const sign = async (i: number): Promise<Uint8Array> =>
    (await signEvent(key, 'alice', { kind: 'room', room: `room-${i % 100}`, text: `message ${i} `.padEnd(200, 'x') }, { now: tenMinutesAgo, nonce: randomBytes(12) })).bytes
  // the stored events, of 100 rooms, and `calls` more that are not stored
  const stored: Uint8Array[] = []
  for (let i = 0; i < events; i += 5000) {
    const batch = await Promise.all(Array.from({ length: Math.min(5000, events - i) }, async (_, k) => sign(i + k)))
    store.insertMany(batch.map((event, k) => ({ id: DecodedEvent.from(event).id, room: `room-${(i + k) % 100}`, hlc: BigInt(tenMinutesAgo + i + k) << 16n, origin: 'o', author, event, ts: tenMinutesAgo })))
    stored.push(...batch)
  }
  const notStored = await Promise.all(Array.from({ length: calls }, async (_, i) => sign(events + i)))
  const plain = new EventOpener({ maxEventBytes: 64 * 1024, stamps: DEFAULT_STAMP_RULE, cacheSize: 0 })
  const looking = new EventOpener({ maxEventBytes: 64 * 1024, stamps: DEFAULT_STAMP_RULE, cacheSize: 0, held: id => store.holds(id) })
  const cases: Array<{ name: string, opener: EventOpener, input: (r: number, i: number) => Uint8Array }> = [
    { name: 'stored event, signature checked (no lookup)', opener: plain, input: (r, i) => stored[(r * calls + i * 7919) % events]! },
    { name: 'stored event, found by id, not checked', opener: looking, input: (r, i) => stored[(r * calls + i * 7919) % events]! },
    { name: 'event not stored: looked up, then checked', opener: looking, input: (_r, i) => notStored[i]! }
  ]
  const rows: Array<{ case: string, usPerCall: number, min: number, max: number }> = []
  for (const c of cases) {
    // a warm-up round, then the measured ones
    for (let i = 0; i < Math.min(calls, 1000); i++) await c.opener.open(c.input(rounds, i), 'replica')
    const us: number[] = []
    for (let r = 0; r < rounds; r++) {
      const t = performance.now()
      for (let i = 0; i < calls; i++) await c.opener.open(c.input(r, i), 'replica')
      us.push((performance.now() - t) * 1000 / calls)
    }
    us.sort((a, b) => a - b)
    const r2 = (x: number): number => Math.round(x * 100) / 100
    rows.push({ case: c.name, usPerCall: r2(us[Math.floor(us.length / 2)]!), min: r2(us[0]!), max: r2(us[us.length - 1]!) })
  }
  console.log(`\nAn old room event opened by a node's EventOpener, with ${events.toLocaleString('en-US')} events stored (median of ${rounds} rounds of ${calls.toLocaleString('en-US')} calls)\n`)
  console.log(table(['case', 'µs per call', 'min', 'max'], rows.map(r => [r.case, String(r.usPerCall), String(r.min), String(r.max)])))
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), events, calls, rounds, rows }, null, 1) + '\n')
  console.log(`\nresults: ${out}`)
} finally {
  store.close()
  rmSync(dir, { recursive: true, force: true })
}
