/**
 * The store read behind a resume's replay from before the client's cursor: the events stamped in the
 * slack window (`resumeSlackMs`, 10 s) up to the cursor. Bounded by the cursor, it reads the window;
 * read from the window's start with no upper bound (what a resume read before the bound, keeping
 * only the events up to the cursor), it also read every event after the cursor, up to `maxReplay`,
 * which the page after the cursor then read again. A real SQLite file in a temporary directory,
 * one room of `--events` events `--gap-ms` apart; for each number of events missed, rows read and
 * ms per read, both ways.
 *
 *   node dist/test/bench/resume-read.js [--events 10000] [--gap-ms 10] [--out file]
 *
 * Writes JSON (default test/bench/results/resume-read.json).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import { MessageStore } from '../../node/src/store/message-store.js'
import { DEFAULT_CONFIG } from '../../node/src/config.js'
import type { StoredRoomEvent, Authored } from '../../node/src/store/message-store.js'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')
const { values: argv } = parseArgs({ options: { events: { type: 'string' }, 'gap-ms': { type: 'string' }, out: { type: 'string' } } })
const events = Number(argv.events ?? 10_000)
const gapMs = Number(argv['gap-ms'] ?? 10)
if (!(Number.isInteger(events) && events >= 1000 && events <= 1_000_000) || !(gapMs >= 1 && gapMs <= 10_000)) {
  console.error('--events takes 1,000 to 1,000,000, --gap-ms 1 to 10,000')
  process.exit(2)
}
const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'resume-read.json')
const slack = BigInt(DEFAULT_CONFIG.resumeSlackMs) << 16n
const max = DEFAULT_CONFIG.maxReplay
/** past every stamp here: the old read's missing upper bound */
const END = { hlc: (1n << 62n), id: new Uint8Array(32).fill(255) }

const dir = mkdtempSync(join(tmpdir(), 'meshchat-resume-read-'))
interface Row { missed: number, boundedRows: number, boundedMs: number, unboundedRows: number, unboundedMs: number }
const rows: Row[] = []
try {
  const store = new MessageStore(join(dir, 'messages.db'))
  const base = BigInt(Date.now() - events * gapMs) << 16n
  const all: Array<Authored<StoredRoomEvent>> = []
  for (let i = 0; i < events; i++) {
    all.push({ id: randomBytes(32), room: 'r', hlc: base + (BigInt(i * gapMs) << 16n), origin: 'node', author: 'user', event: randomBytes(300), ts: Date.now() })
  }
  for (let i = 0; i < all.length; i += 1000) store.insertMany(all.slice(i, i + 1000))
  const time = (f: () => StoredRoomEvent[]): { rows: number, ms: number } => {
    let n = 0
    for (let k = 0; k < 3; k++) n = f().length
    const reps = 40
    const t0 = performance.now()
    for (let k = 0; k < reps; k++) f()
    return { rows: n, ms: Math.round((performance.now() - t0) / reps * 100) / 100 }
  }
  // two passes over every case, the first to warm the code and the file's pages up: the second is kept
  for (const pass of [0, 1]) {
    for (const missed of [0, 500, 2000, 5000].filter(m => m < events)) {
      const cursor = all[events - 1 - missed]
      if (cursor == null) continue
      const from = cursor.hlc > slack ? cursor.hlc - slack : 0n
      const bounded = time(() => store.since('r', from, { hlc: cursor.hlc, id: cursor.id }, max))
      const unbounded = time(() => store.since('r', from, END, max))
      if (pass === 1) rows.push({ missed, boundedRows: bounded.rows, boundedMs: bounded.ms, unboundedRows: unbounded.rows, unboundedMs: unbounded.ms })
    }
  }
  store.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}

console.log(`one room of ${events} events ${gapMs} ms apart, a slack window of ${DEFAULT_CONFIG.resumeSlackMs} ms, at most ${max} replayed\n`)
console.log('| events missed | up to the cursor: rows | ms | from the window on, no bound: rows | ms |')
console.log('|---:|---:|---:|---:|---:|')
for (const r of rows) console.log(`| ${r.missed} | ${r.boundedRows} | ${r.boundedMs} | ${r.unboundedRows} | ${r.unboundedMs} |`)
writeFileSync(out, JSON.stringify({ kind: 'resume-read', at: new Date().toISOString(), events, gapMs, slackMs: DEFAULT_CONFIG.resumeSlackMs, maxReplay: max, rows }, null, 2) + '\n')
console.log(`\nresults: ${out}`)
