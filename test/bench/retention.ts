/**
 * What history retention costs the event loop on a large store: `node dist/test/bench/retention.js
 * [--messages n] [--rooms n]`. Fills a fresh store (room events of 300 bytes, an hour of stamps, all
 * within the retention window, so a prune deletes nothing) and `--dms n` DMs in a conversation per
 * three of them, then times, on the same file:
 * - the statements retention used to run: `DELETE … WHERE hlc < ?` over the whole room table (no
 *   index on hlc alone), the same over the DM history (with schema 4's `dm_history_age` dropped
 *   for it, in a transaction rolled back after), and `SELECT DISTINCT room`;
 * - `MessageStore.prune` as the node runs it once a minute: the first after opening (every room
 *   and conversation over the count cap looked for) and the ones after (the cap checked only where
 *   a tenth of it was written);
 * - `MessageStore.rooms()`;
 * - a round with work to do (the oldest 15 % expired) in the node's steps (PRUNE_STEP_EVENTS): its
 *   longest step, and all of them;
 * - ageing out queued DMs (`--mailbox n` of them, 50,000 users): the whole-table delete it was
 *   (`mailbox_age` dropped the same way), and `MessageStore.mailboxPrune` through that index.
 * Each is synchronous on the node's event loop. Prints a table and writes
 * test/bench/results/retention.json (relative to the working directory).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DatabaseSync } from 'node:sqlite'
import { MessageStore } from '../../node/src/store/message-store.js'
import { PRUNE_STEP_EVENTS } from '../../node/src/mesh/archive.js'
import type { Authored, StoredDmEvent, StoredRoomEvent } from '../../node/src/store/message-store.js'

const { values } = parseArgs({ options: { messages: { type: 'string', default: '1000000' }, rooms: { type: 'string', default: '2000' }, mailbox: { type: 'string', default: '200000' }, dms: { type: 'string', default: '300000' } } })
const MESSAGES = Number(values.messages)
const ROOMS = Number(values.rooms)
const MAILBOX = Number(values.mailbox)
const DMS = Number(values.dms)
const MAILBOX_MAX_AGE_MS = 7 * 24 * 3600_000
const policy = { maxAgeMs: 30 * 24 * 3600_000, maxPerRoom: 100_000 }

const dir = mkdtempSync(join(tmpdir(), 'meshchat-retention-'))
try {
  const path = join(dir, 'messages.db')
  const store = new MessageStore(path)
  const now = Date.now()
  const body = randomBytes(300)
  const filled = performance.now()
  for (let i = 0; i < MESSAGES; i += 10_000) {
    const batch: Array<Authored<StoredRoomEvent>> = []
    for (let j = i; j < Math.min(MESSAGES, i + 10_000); j++) {
      batch.push({ id: randomBytes(32), room: `room${j % ROOMS}`, hlc: BigInt(now - 3600_000 + Math.floor(j * 3600_000 / MESSAGES)) << 16n, origin: 'node', author: 'user', event: body, ts: now - 3600_000 + Math.floor(j * 3600_000 / MESSAGES) })
    }
    store.insertMany(batch)
  }
  for (let i = 0; i < DMS; i += 10_000) {
    const batch: Array<Authored<StoredDmEvent>> = []
    for (let j = i; j < Math.min(DMS, i + 10_000); j++) {
      batch.push({ id: randomBytes(32), conversation: `conv${Math.floor(j / 3)}`, hlc: BigInt(now - 3600_000 + Math.floor(j * 3600_000 / DMS)) << 16n, origin: 'node', author: 'user', event: body, ts: now - 3600_000 + Math.floor(j * 3600_000 / DMS) })
    }
    store.dmPutMany(batch)
  }
  const fillSec = (performance.now() - filled) / 1000
  store.close()

  const ms = (fn: () => unknown): number => { const t = performance.now(); fn(); return performance.now() - t }
  /** `fn` run as if schema 4's index were not there (dropped in a transaction that is rolled back) */
  const withoutIndex = (db: DatabaseSync, index: string, fn: () => number): number => {
    db.exec('BEGIN')
    try {
      db.exec(`DROP INDEX ${index}`)
      return fn()
    } finally {
      db.exec('ROLLBACK')
    }
  }
  const cutoff = BigInt(Date.now() - policy.maxAgeMs) << 16n
  const raw = new DatabaseSync(path)
  // the closed store's checkpoint thread may still hold its connection for a moment
  raw.exec('PRAGMA busy_timeout = 10000')
  const rows: Array<{ what: string, ms: number }> = []
  rows.push({ what: 'before: DELETE … WHERE hlc < ? (whole table, nothing to delete)', ms: ms(() => raw.prepare('DELETE FROM messages WHERE hlc < ?').run(cutoff)) })
  rows.push({ what: `before: DELETE FROM dm_history … WHERE hlc < ? (${DMS.toLocaleString('en')} DMs, whole table)`, ms: withoutIndex(raw, 'dm_history_age', () => ms(() => raw.prepare('DELETE FROM dm_history WHERE hlc < ?').run(cutoff))) })
  rows.push({ what: 'before: SELECT DISTINCT room', ms: ms(() => raw.prepare('SELECT DISTINCT room FROM messages').all()) })
  raw.close()
  const reopened = new MessageStore(path)
  rows.push({ what: 'prune (rooms and DMs), first after opening (every key over the cap looked for)', ms: ms(() => reopened.prune(policy, Date.now())) })
  for (let i = 1; i <= 2; i++) rows.push({ what: `prune, the next (${i}), all at once`, ms: ms(() => reopened.prune(policy, Date.now())) })
  const quiet: number[] = []
  for (let done = false; !done;) {
    const t = performance.now()
    done = reopened.pruneStep(policy, Date.now(), PRUNE_STEP_EVENTS).done
    quiet.push(performance.now() - t)
  }
  rows.push({ what: `  the next, in the node's steps (${PRUNE_STEP_EVENTS} rooms looked at or events deleted): the longest of ${quiet.length}`, ms: Math.max(...quiet) })
  rows.push({ what: 'rooms()', ms: ms(() => reopened.rooms()) })
  // a round that has work: the oldest 15 % of the hour expire, deleted a step at a time as the node does
  const expire = { maxAgeMs: 0.85 * 3600_000, maxPerRoom: policy.maxPerRoom }
  const stepMs: number[] = []
  let expired = 0
  for (let done = false; !done;) {
    const t = performance.now()
    const step = reopened.pruneStep(expire, Date.now(), PRUNE_STEP_EVENTS)
    stepMs.push(performance.now() - t)
    expired += step.deleted
    done = step.done
  }
  rows.push({ what: `a round deleting ${expired.toLocaleString('en')} expired events, ${PRUNE_STEP_EVENTS} a step: the longest of its ${stepMs.length.toLocaleString('en')} steps`, ms: Math.max(...stepMs) })
  rows.push({ what: '  the same round, all its steps together', ms: stepMs.reduce((a, b) => a + b, 0) })
  for (let i = 0; i < MAILBOX; i += 5000) {
    for (let j = i; j < Math.min(MAILBOX, i + 5000); j++) {
      reopened.mailboxPut(`user${j % 50_000}`, { id: randomBytes(32), hlc: BigInt(now - 60_000 + j % 1000) << 16n, origin: 'node', event: body, sender: `sender${j % 7}` })
    }
  }
  reopened.close()
  const mbCutoff = BigInt(Date.now() - MAILBOX_MAX_AGE_MS) << 16n
  const rawMb = new DatabaseSync(path)
  rawMb.exec('PRAGMA busy_timeout = 10000')
  rows.push({ what: `before: DELETE FROM mailbox … WHERE hlc < ? (${MAILBOX.toLocaleString('en')} queued, whole table)`, ms: withoutIndex(rawMb, 'mailbox_age', () => ms(() => rawMb.prepare('DELETE FROM mailbox WHERE hlc < ?').run(mbCutoff))) })
  rawMb.close()
  const again = new MessageStore(path)
  rows.push({ what: 'mailboxPrune (through mailbox_age)', ms: ms(() => again.mailboxPrune(MAILBOX_MAX_AGE_MS, Date.now())) })
  again.close()

  console.log(`${MESSAGES.toLocaleString('en')} room events in ${ROOMS.toLocaleString('en')} rooms and ${DMS.toLocaleString('en')} DMs (filled in ${fillSec.toFixed(0)} s); nothing past retention`)
  console.table(Object.fromEntries(rows.map(r => [r.what, { 'ms on the event loop': Math.round(r.ms * 10) / 10 }])))
  const out = join('test', 'bench', 'results')
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, 'retention.json'), JSON.stringify({ at: new Date().toISOString(), messages: MESSAGES, rooms: ROOMS, mailbox: MAILBOX, dms: DMS, policy, nodeVersion: process.version, rows }, null, 2) + '\n')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
