/**
 * What a stored room event costs the event loop, by table layout: the room history table as the
 * node makes it (node/src/store/message-store.ts, schema 5: a rowid table, rows appended in arrival
 * order, the id in a unique index of its own) against the layout of schemas 1 to 4 (`WITHOUT
 * ROWID`, keyed by the event's 32-byte id, which is a hash and so lands on a random leaf). Each
 * layout gets a fresh file with the
 * node's settings (WAL, `synchronous = NORMAL`, no checkpoint on the writing connection: the node
 * checkpoints on a thread of its own), is filled to `--rows` events, then takes `--measure` more
 * through the node's statement (`INSERT OR IGNORE`) with one lookup by id before each, as a fresh
 * event from a client gets, in transactions of each `--batch` size (the group commit's batch: one
 * event per turn of the event loop at the bench's rates). Events of 420 bytes in 20 rooms.
 *
 *   npx tsc -p tsconfig.json && npx node dist/test/bench/store-layout.js [--rows 20000,200000]
 *     [--measure 5000] [--batch 1,16] [--rounds 3] [--dir /tmp]
 *
 * Prints main-thread CPU per event (the median of `--rounds` rounds, each on a fresh file) and
 * writes test/bench/results/store-layout.json (relative to the working directory).
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { parseArgs } from 'node:util'
import { MessageStore } from '../../node/src/store/message-store.js'
import { SCHEMA_4_MESSAGES } from '../helpers/store-schema-4.js'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000,200000' },
    measure: { type: 'string', default: '5000' },
    batch: { type: 'string', default: '1,16' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string' }
  }
})
const list = (s: string): number[] => s.split(',').map(Number)
const sizes = list(String(values.rows))
const batches = list(String(values.batch))
const measure = Number(values.measure)
const rounds = Number(values.rounds)
if ([...sizes, ...batches, measure, rounds].some(n => !Number.isInteger(n) || n < 1) || sizes.some(n => n > 5_000_000) || measure > 1_000_000 || rounds > 20) {
  console.error('--rows: whole numbers up to 5,000,000; --measure up to 1,000,000; --batch whole numbers; --rounds 1 to 20')
  process.exit(2)
}

type Layout = 'keyed' | 'node'
const ORIGIN = '12D3KooWEFcRQzi4rNFM9reruF7s4NFSjwNxvmhgGypuTCAyqNRn'
const ROOMS = Array.from({ length: 20 }, (_, i) => `room-${i}`)
const base = mkdtempSync(join(values.dir ?? tmpdir(), 'meshchat-store-layout-'))

/** a fresh file with `layout`'s table, opened with the node's settings */
function open (layout: Layout, path: string): DatabaseSync {
  if (layout === 'node') {
    // the node's own schema, made by the node's own code
    new MessageStore(path).close()
  }
  const db = new DatabaseSync(path, { readBigInts: true })
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;')
  if (layout === 'keyed') {
    // the table of schemas 1 to 4
    db.exec(SCHEMA_4_MESSAGES)
  }
  return db
}

/** main-thread CPU µs per event of `count` events in transactions of `batch` */
function insert (db: DatabaseSync, count: number, batch: number, state: { hlc: bigint, n: number }): number {
  const ins = db.prepare('INSERT OR IGNORE INTO messages (id, room, hlc, origin, author, event) VALUES (?, ?, ?, ?, ?, ?)')
  const get = db.prepare('SELECT id, room, hlc, origin, author, event FROM messages WHERE id = ?')
  // the events are made before the clock starts
  const events = Array.from({ length: count }, () => ({ id: randomBytes(32), event: randomBytes(420) }))
  const t0 = process.threadCpuUsage()
  for (let i = 0; i < count; i += batch) {
    db.exec('BEGIN')
    for (const e of events.slice(i, i + batch)) {
      const n = state.n++
      get.get(e.id)
      ins.run(e.id, ROOMS[n % ROOMS.length] ?? '', state.hlc++, ORIGIN, `author-${n % 200}`, e.event)
    }
    db.exec('COMMIT')
  }
  const d = process.threadCpuUsage(t0)
  return (d.user + d.system) / count
}

interface Row { layout: Layout, rows: number, batch: number, usPerEvent: number[], median: number, fileMiB: number }
const results: Row[] = []
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
try {
  for (const rows of sizes) {
    for (const batch of batches) {
      const per: Record<Layout, number[]> = { keyed: [], node: [] }
      let fileMiB: Record<Layout, number> = { keyed: 0, node: 0 }
      for (let r = 0; r < rounds; r++) {
        // the two layouts alternate, so a slower stretch of the machine falls on both
        for (const layout of ['keyed', 'node'] as const) {
          const dir = join(base, `${layout}-${rows}-${batch}-${r}`)
          mkdirSync(dir)
          const path = join(dir, 'store.db')
          const db = open(layout, path)
          const state = { hlc: 1n << 40n, n: 0 }
          for (let left = rows; left > 0; left -= 50_000) insert(db, Math.min(50_000, left), 500, state)
          db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
          per[layout].push(insert(db, measure, batch, state))
          fileMiB = { ...fileMiB, [layout]: Number((db.prepare('SELECT page_count * page_size AS b FROM pragma_page_count(), pragma_page_size()').get() as { b: bigint }).b) / 2 ** 20 }
          db.close()
          rmSync(dir, { recursive: true, force: true })
        }
      }
      for (const layout of ['keyed', 'node'] as const) {
        const row: Row = { layout, rows, batch, usPerEvent: per[layout].map(x => Math.round(x * 10) / 10), median: Math.round(median(per[layout]) * 10) / 10, fileMiB: Math.round(fileMiB[layout] * 10) / 10 }
        results.push(row)
        console.log(`${layout.padEnd(5)} ${String(rows).padStart(8)} rows, ${String(batch).padStart(3)} per transaction: ${row.median} µs per event (${row.usPerEvent.join(', ')})`)
      }
    }
  }
} finally {
  rmSync(base, { recursive: true, force: true })
}

const table = [
  '| rows before | events per transaction | schemas 1–4 (WITHOUT ROWID, keyed by id): µs per event | schema 5 (rowid, id in a unique index): µs per event | schema 5 against 1–4 | file MiB, 1–4 / 5 |',
  '|---:|---:|---:|---:|---:|---:|',
  ...sizes.flatMap(rows => batches.map(batch => {
    const a = results.find(r => r.layout === 'keyed' && r.rows === rows && r.batch === batch)
    const b = results.find(r => r.layout === 'node' && r.rows === rows && r.batch === batch)
    return `| ${rows.toLocaleString('en-US')} | ${batch} | ${a?.median ?? '–'} | ${b?.median ?? '–'} | ${a != null && b != null ? (b.median / a.median).toFixed(2) + '×' : '–'} | ${a?.fileMiB ?? '–'} / ${b?.fileMiB ?? '–'} |`
  }))
].join('\n')
console.log(`\nmain-thread CPU per stored event, median of ${rounds} rounds of ${measure.toLocaleString('en-US')} events:\n\n${table}`)
mkdirSync(join('test', 'bench', 'results'), { recursive: true })
writeFileSync(join('test', 'bench', 'results', 'store-layout.json'), JSON.stringify({ at: new Date().toISOString(), measure, rounds, results, table }, null, 2) + '\n')
