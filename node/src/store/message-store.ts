import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { StatementSync } from 'node:sqlite'
import { checkpointer } from './checkpointer.js'
import { promptBelow } from './stamp-rank.js'

/** A room message or DM as every node stores it: the author's signed bytes plus the ingress stamp. */
export interface StoredEvent {
  /** message id (sha256 of payload ‖ signature) */
  id: Uint8Array
  /** HLC stamped by the ingress node */
  hlc: bigint
  /** ingress node id */
  origin: string
  /** SignedEvent bytes */
  event: Uint8Array
}

export interface StoredRoomEvent extends StoredEvent {
  room: string
  author: string
}

/**
 * An event on its way into the store, with its author's signed time (ms, `ts` inside the signed
 * bytes): with it the store decides which of two stamps of one id stays (see RANKED_STAMP).
 */
export type Authored<T extends StoredEvent> = T & { ts: number }

/** (hlc, id) position in a room's total order */
export interface Cursor {
  hlc: bigint
  id: Uint8Array
}

export interface PageQuery {
  before?: Cursor
  after?: Cursor
  limit: number
}

export interface Page {
  /** oldest first */
  events: StoredRoomEvent[]
  /** more events exist beyond the page in the direction of the query */
  more: boolean
}

export interface RetentionPolicy {
  /** drop messages whose HLC is older than this (0 = keep) */
  maxAgeMs: number
  /** keep at most this many messages per room (0 = no limit) */
  maxPerRoom: number
}

/** A DM in its conversation's history (conversation id: client/src/protocol/conversation.ts). */
export interface StoredDmEvent extends StoredEvent {
  conversation: string
  author: string
}

/** One page of a DM conversation, oldest first. */
export interface DmPage {
  events: StoredDmEvent[]
  more: boolean
}

/** A queued DM with the user who sent it (per-sender caps count by it). */
export interface MailboxEvent extends StoredEvent {
  /** sender user id */
  sender: string
}

type Row = Record<string, unknown>

/**
 * The schema this code writes, kept in SQLite's `user_version`. Every start
 * runs the migrations from the file's version up; a file from a newer
 * version is refused rather than misread.
 */
export const SCHEMA_VERSION = 5

/** what {@link MessageStore.put} did: stored a new id, replaced a lower-ranked stamp of a stored id, or kept the stored one */
export type PutOutcome = 'new' | 'restamped' | 'held'

/** how many events a room holds in a stamp range, and the sum of their stamps (mod 2^64) */
export interface RangeDigest {
  count: number
  sum: bigint
}

/**
 * One message, two stamps: a client whose send was not acknowledged sends it again, and a node that
 * does not hold it yet stamps it anew. Every copy keeps the same one of the two wherever they meet
 * (on ingest, on backfill, on anti-entropy), by the total order of `stampTakesOver`
 * (stamp-rank.ts): a stamp within PROMPT_STAMP_MS of the author's time beats one that is not, and
 * between two of a kind the later wins, then the greater origin node.
 * The SQL condition of an UPDATE whose numbered parameters are ?1 the new hlc, ?2 the new origin,
 * ?6 whether the new stamp is prompt (1 or 0) and ?7 the first stamp that is not (promptBelow).
 */
const RANKED_STAMP = '((?6 = 1 AND hlc >= ?7) OR ((hlc < ?7) = ?6 AND (hlc < ?1 OR (hlc = ?1 AND origin < ?2))))'

/** Thrown when the store file was written by a newer meshchat. */
export class StoreVersionError extends Error {
  static override name = 'StoreVersionError'
  constructor (message: string) {
    super(message)
    this.name = 'StoreVersionError'
  }
}

function toDm (r: Row): StoredDmEvent {
  return {
    id: r.id as Uint8Array,
    hlc: r.hlc as bigint,
    origin: r.origin as string,
    event: r.event as Uint8Array,
    conversation: r.conv as string,
    author: r.author as string
  }
}

function toEvent (r: Row): StoredRoomEvent {
  return {
    id: r.id as Uint8Array,
    hlc: r.hlc as bigint,
    origin: r.origin as string,
    event: r.event as Uint8Array,
    room: r.room as string,
    author: r.author as string
  }
}

/** the store's own connection checkpoints past this many log pages (40 MB): only when the checkpoint thread fails */
const SAFETY_CHECKPOINT_PAGES = 10_000

/**
 * The node's message store on node:sqlite: room history indexed by
 * (room, hlc, id) and per-user DM mailboxes. Inserts are idempotent on the
 * message id, so replicas, retries and backfills can all write freely.
 *
 * WAL with synchronous=NORMAL: a committed insert survives the process being
 * killed (the WAL is written before the commit returns); only an OS crash can
 * lose the last transactions, and every message lives on K nodes besides.
 */
export class MessageStore {
  readonly path: string
  private readonly db: DatabaseSync
  /**
   * queued DMs per user, kept in memory: a node asks "does this user have mail here?" on every
   * attach and every presence change, and the answer is almost always no
   */
  private readonly mailCounts = new Map<string, number>()
  /** this store's registration with the checkpoint thread (none for `:memory:`, or after it failed) */
  private checkpoints?: number
  /**
   * the schema version the file had when opened (0: a new file, or one from before versions were
   * recorded) and how long its migrations to SCHEMA_VERSION took
   */
  readonly migrated: { from: number, ms: number }
  /** why the checkpoint thread stopped checkpointing this store, if it did (the store checkpoints itself then) */
  checkpointError?: string
  private readonly stmts: {
    insert: StatementSync
    restamp: StatementSync
    digest: StatementSync
    get: StatementSync
    has: StatementSync
    dmHas: StatementSync
    newest: StatementSync
    before: StatementSync
    after: StatementSync
    since: StatementSync
    count: StatementSync
    pruneCountCut: StatementSync
    pruneCount: StatementSync
    mbPut: StatementSync
    mbList: StatementSync
    mbDelete: StatementSync
    mbSenderCount: StatementSync
    mbHas: StatementSync
    mbPruneAge: StatementSync
    dmPut: StatementSync
    dmRestamp: StatementSync
    dmGet: StatementSync
    dmNewest: StatementSync
    dmBefore: StatementSync
    dmAfter: StatementSync
    dmPruneCountCut: StatementSync
    dmPruneCount: StatementSync
    dmConversations: StatementSync
    /** retention (see retentionSql): the next room, a room's old events, the DM history's old events */
    roomNext: StatementSync
    roomAgeDelete: StatementSync
    dmAgeDelete: StatementSync
  }

  /** what retention keeps per keyed history (rooms, DM conversations) between prunes */
  private readonly histories: { rooms: KeyedHistory, dms: KeyedHistory }
  /** prunes since this store was opened, and the count cap the last one applied */
  private prunes = 0
  private lastCap?: number
  /** the prune under way (see pruneStep): its age cutoff, and whether its rooms are done (the DM history is next) */
  private round?: { cutoff?: bigint, roomsDone: boolean }

  /** `path` is a file (its directory is created) or `:memory:` */
  constructor (path: string) {
    this.path = path
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.db = new DatabaseSync(path, { readBigInts: true })
    // the busy timeout first: another connection to the file (the checkpoint thread's, still closing
    // after a restart in the same process) may hold a lock for a moment while journal_mode is set
    this.db.exec(`
      PRAGMA busy_timeout = 5000;
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
    `)
    this.migrated = this.migrate()
    if (path !== ':memory:') {
      // checkpoints (a copy of the log into the file, and an fsync) run on a thread of their own; this
      // connection checkpoints only if the log grows past 40 MB, which it does only if that thread fails
      this.db.exec(`PRAGMA wal_autocheckpoint = ${SAFETY_CHECKPOINT_PAGES}`)
      this.checkpoints = checkpointer.add(path, message => {
        this.checkpointError ??= message
        if (this.db.isOpen) this.db.exec('PRAGMA wal_autocheckpoint = 1000')
        if (this.checkpoints != null) void checkpointer.remove(this.checkpoints)
        this.checkpoints = undefined
      })
    }
    const cols = 'id, room, hlc, origin, author, event'
    const dmCols = 'id, conv, hlc, origin, author, event'
    this.stmts = {
      insert: this.db.prepare(`INSERT OR IGNORE INTO messages (${cols}) VALUES (?, ?, ?, ?, ?, ?)`),
      restamp: this.db.prepare(`UPDATE messages SET hlc = ?1, origin = ?2, event = ?3 WHERE id = ?4 AND room = ?5 AND ${RANKED_STAMP}`),
      // the two halves of the stamps summed apart: each sum stays far inside 64 bits
      digest: this.db.prepare('SELECT count(*) AS n, coalesce(sum(hlc & 4294967295), 0) AS lo, coalesce(sum(hlc >> 32), 0) AS hi FROM messages WHERE room = ? AND hlc >= ? AND hlc < ?'),
      get: this.db.prepare(`SELECT ${cols} FROM messages WHERE id = ?`),
      has: this.db.prepare('SELECT 1 AS x FROM messages WHERE id = ?'),
      dmHas: this.db.prepare('SELECT 1 AS x FROM dm_history WHERE id = ?'),
      newest: this.db.prepare(`SELECT ${cols} FROM messages WHERE room = ? ORDER BY hlc DESC, id DESC LIMIT ?`),
      before: this.db.prepare(`SELECT ${cols} FROM messages WHERE room = ? AND (hlc, id) < (?, ?) ORDER BY hlc DESC, id DESC LIMIT ?`),
      after: this.db.prepare(`SELECT ${cols} FROM messages WHERE room = ? AND (hlc, id) > (?, ?) ORDER BY hlc, id LIMIT ?`),
      // bounded by the cursor's stamp; the rare events sharing it with a larger id are left out in JavaScript
      // (a row-value bound, `(hlc, id) <= (?, ?)`, read the same rows more slowly)
      since: this.db.prepare(`SELECT ${cols} FROM messages WHERE room = ? AND hlc >= ? AND hlc <= ? ORDER BY hlc, id LIMIT ?`),
      count: this.db.prepare('SELECT count(*) AS n FROM messages WHERE room = ?'),
      pruneCountCut: this.db.prepare('SELECT hlc, id FROM messages WHERE room = ? ORDER BY hlc DESC, id DESC LIMIT 1 OFFSET ?'),
      pruneCount: this.db.prepare('DELETE FROM messages WHERE room = ? AND (hlc, id) <= (?, ?)'),
      mbPut: this.db.prepare('INSERT OR IGNORE INTO mailbox (user, id, hlc, origin, event, sender) VALUES (?, ?, ?, ?, ?, ?)'),
      mbList: this.db.prepare('SELECT id, hlc, origin, event, sender FROM mailbox WHERE user = ? ORDER BY hlc, id LIMIT ?'),
      mbDelete: this.db.prepare('DELETE FROM mailbox WHERE user = ? AND id = ?'),
      mbSenderCount: this.db.prepare('SELECT count(*) AS n FROM mailbox WHERE user = ? AND sender = ?'),
      mbHas: this.db.prepare('SELECT 1 AS x FROM mailbox WHERE user = ? AND id = ?'),
      mbPruneAge: this.db.prepare(MAILBOX_PRUNE_SQL),
      dmPut: this.db.prepare(`INSERT OR IGNORE INTO dm_history (${dmCols}) VALUES (?, ?, ?, ?, ?, ?)`),
      dmRestamp: this.db.prepare(`UPDATE dm_history SET hlc = ?1, origin = ?2, event = ?3 WHERE id = ?4 AND conv = ?5 AND ${RANKED_STAMP}`),
      dmGet: this.db.prepare(`SELECT ${dmCols} FROM dm_history WHERE id = ?`),
      dmNewest: this.db.prepare(`SELECT ${dmCols} FROM dm_history WHERE conv = ? ORDER BY hlc DESC, id DESC LIMIT ?`),
      dmBefore: this.db.prepare(`SELECT ${dmCols} FROM dm_history WHERE conv = ? AND (hlc, id) < (?, ?) ORDER BY hlc DESC, id DESC LIMIT ?`),
      dmAfter: this.db.prepare(`SELECT ${dmCols} FROM dm_history WHERE conv = ? AND (hlc, id) > (?, ?) ORDER BY hlc, id LIMIT ?`),
      dmPruneCountCut: this.db.prepare('SELECT hlc, id FROM dm_history WHERE conv = ? ORDER BY hlc DESC, id DESC LIMIT 1 OFFSET ?'),
      dmPruneCount: this.db.prepare('DELETE FROM dm_history WHERE conv = ? AND (hlc, id) <= (?, ?)'),
      // conversations can be nearly as many as their DMs: one pass over the index beats a lookup each
      dmConversations: this.db.prepare('SELECT DISTINCT conv FROM dm_history'),
      roomNext: this.db.prepare(RETENTION_SQL.roomNext),
      roomAgeDelete: this.db.prepare(RETENTION_SQL.roomAgeDelete),
      dmAgeDelete: this.db.prepare(RETENTION_SQL.dmAgeDelete)
    }
    this.histories = {
      rooms: keyedHistory(this.db.prepare('SELECT room AS k FROM messages GROUP BY room HAVING count(*) > ?'), this.stmts.pruneCountCut, this.stmts.pruneCount),
      dms: keyedHistory(this.db.prepare('SELECT conv AS k FROM dm_history GROUP BY conv HAVING count(*) > ?'), this.stmts.dmPruneCountCut, this.stmts.dmPruneCount)
    }
    this.loadMailCounts()
  }

  private loadMailCounts (): void {
    this.mailCounts.clear()
    for (const r of this.db.prepare('SELECT user, count(*) AS n FROM mailbox GROUP BY user').all() as Row[]) {
      this.mailCounts.set(r.user as string, Number(r.n))
    }
  }

  private countMail (user: string, delta: number): void {
    const n = (this.mailCounts.get(user) ?? 0) + delta
    if (n <= 0) this.mailCounts.delete(user)
    else this.mailCounts.set(user, n)
  }

  /** the schema version of the open file */
  get schemaVersion (): number {
    return Number((this.db.prepare('PRAGMA user_version').get() as Row).user_version)
  }

  /** bring the file's schema up to SCHEMA_VERSION, one step at a time, each in its own transaction */
  private migrate (): { from: number, ms: number } {
    const started = performance.now()
    const from = this.schemaVersion
    if (from > SCHEMA_VERSION) {
      this.db.close()
      throw new StoreVersionError(`${this.path} has schema version ${from}; this meshchat reads up to ${SCHEMA_VERSION}`)
    }
    const steps: Array<() => void> = [
      // 0 → 1: room history and mailboxes (files written before versions were recorded also start here:
      // every statement is IF NOT EXISTS)
      () => {
        this.db.exec(`
          CREATE TABLE IF NOT EXISTS messages (
            id BLOB PRIMARY KEY,
            room TEXT NOT NULL,
            hlc INTEGER NOT NULL,
            origin TEXT NOT NULL,
            author TEXT NOT NULL,
            event BLOB NOT NULL
          ) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS messages_order ON messages (room, hlc, id);
          CREATE TABLE IF NOT EXISTS mailbox (
            user TEXT NOT NULL,
            id BLOB NOT NULL,
            hlc INTEGER NOT NULL,
            origin TEXT NOT NULL,
            event BLOB NOT NULL,
            PRIMARY KEY (user, id)
          ) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS mailbox_order ON mailbox (user, hlc, id);
        `)
      },
      // 1 → 2: mailboxes record the sender, for the per-sender cap
      () => {
        const cols = (this.db.prepare('PRAGMA table_info(mailbox)').all() as Row[]).map(r => r.name)
        if (!cols.includes('sender')) this.db.exec("ALTER TABLE mailbox ADD COLUMN sender TEXT NOT NULL DEFAULT ''")
        this.db.exec('CREATE INDEX IF NOT EXISTS mailbox_sender ON mailbox (user, sender)')
      },
      // 2 → 3: DM history, per conversation (the two participants' ids, sorted), kept like room history
      () => {
        this.db.exec(`
          CREATE TABLE IF NOT EXISTS dm_history (
            id BLOB PRIMARY KEY,
            conv TEXT NOT NULL,
            hlc INTEGER NOT NULL,
            origin TEXT NOT NULL,
            author TEXT NOT NULL,
            event BLOB NOT NULL
          ) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS dm_history_order ON dm_history (conv, hlc, id);
        `)
      },
      // 3 → 4: queued DMs and DM history by stamp, so ageing them out reads only what goes (a delete
      // by stamp alone read the whole table: 110–135 ms a minute with 200,000 queued DMs, 1.5 s with
      // 300,000 DMs of history; test/bench/retention.ts)
      () => {
        this.db.exec(`
          CREATE INDEX IF NOT EXISTS mailbox_age ON mailbox (hlc);
          CREATE INDEX IF NOT EXISTS dm_history_age ON dm_history (hlc);
        `)
      },
      // 4 → 5: room and DM history as rowid tables, the id unique in an index of its own. Keyed by the
      // id (a hash), every insert went to a random leaf of the table itself, which holds whole events
      // (about eight to a page), so each commit wrote a random page of events and pages split half
      // full; appended in arrival order, a new event lands on the table's last page and only the id
      // index's small entries take a random page: 0.73–0.81× the main-thread CPU per stored event one
      // to a transaction, 0.57–0.64× sixteen to one, and 8 % less file, at 200,000 and 1,000,000
      // events (test/bench/store-layout.ts). The rows are copied in history order, so a page of one
      // room's history reads neighbouring pages of the file.
      () => {
        for (const [table, key] of [['messages', 'room'], ['dm_history', 'conv']] as const) {
          this.db.exec(`
            CREATE TABLE ${table}_v5 (
              seq INTEGER PRIMARY KEY,
              id BLOB NOT NULL UNIQUE,
              ${key} TEXT NOT NULL,
              hlc INTEGER NOT NULL,
              origin TEXT NOT NULL,
              author TEXT NOT NULL,
              event BLOB NOT NULL
            );
            INSERT INTO ${table}_v5 (id, ${key}, hlc, origin, author, event)
              SELECT id, ${key}, hlc, origin, author, event FROM ${table} ORDER BY ${key}, hlc, id;
            DROP TABLE ${table};
            ALTER TABLE ${table}_v5 RENAME TO ${table};
            CREATE INDEX ${table}_order ON ${table} (${key}, hlc, id);
          `)
        }
        this.db.exec('CREATE INDEX dm_history_age ON dm_history (hlc)')
      }
    ]
    for (let v = from; v < SCHEMA_VERSION; v++) {
      this.db.exec('BEGIN')
      try {
        steps[v]?.()
        this.db.exec(`PRAGMA user_version = ${v + 1}`)
        this.db.exec('COMMIT')
      } catch (err) {
        this.db.exec('ROLLBACK')
        throw err
      }
    }
    return { from, ms: Math.round(performance.now() - started) }
  }

  /**
   * Store a room event. An id already stored takes this stamp when it ranks
   * above the stored one (see RANKED_STAMP): a send retried through another
   * node is stamped twice, and every node keeps the same one of the two.
   */
  put (e: Authored<StoredRoomEvent>): PutOutcome {
    if (Number(this.stmts.insert.run(e.id, e.room, e.hlc, e.origin, e.author, e.event).changes) > 0) {
      wrote(this.histories.rooms, e.room)
      return 'new'
    }
    const limit = promptBelow(e.ts)
    const r = this.stmts.restamp.run(e.hlc, e.origin, e.event, e.id, e.room, e.hlc < limit ? 1 : 0, limit)
    return Number(r.changes) > 0 ? 'restamped' : 'held'
  }

  /** store a room event; false when the id was already stored (its stamp may still change: {@link put}) */
  insert (e: Authored<StoredRoomEvent>): boolean {
    return this.put(e) === 'new'
  }

  /**
   * store many events in one transaction (backfill); returns the ones that were new, and adds the
   * ones that replaced a lower-ranked stamp of their id to `restamped`
   */
  insertMany<E extends Authored<StoredRoomEvent>> (events: Iterable<E>, restamped?: E[]): E[] {
    const added: E[] = []
    this.db.exec('BEGIN')
    try {
      for (const e of events) {
        const r = this.put(e)
        if (r === 'new') added.push(e)
        else if (r === 'restamped') restamped?.push(e)
      }
      this.db.exec('COMMIT')
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
    return added
  }

  /** whether an event with this id is stored, in a room's history or a DM conversation's (false once the store is closed) */
  holds (id: Uint8Array): boolean {
    if (!this.db.isOpen) return false
    return this.stmts.has.get(id) != null || this.stmts.dmHas.get(id) != null
  }

  get (id: Uint8Array): StoredRoomEvent | undefined {
    const r = this.stmts.get.get(id) as Row | undefined
    return r == null ? undefined : toEvent(r)
  }

  /**
   * One page of a room's history, oldest first. `before` pages backwards from a
   * cursor (scroll-back), `after` forwards; neither gives the newest page.
   */
  page (room: string, q: PageQuery): Page {
    return this.pageOf(room, q, this.stmts, toEvent)
  }

  /** a page by `q` over one keyed history (a room's, a DM conversation's), oldest first */
  private pageOf<T> (key: string, q: PageQuery, stmts: { newest: StatementSync, before: StatementSync, after: StatementSync }, map: (r: Row) => T): { events: T[], more: boolean } {
    const limit = Math.max(1, q.limit)
    let rows: Row[]
    let reverse = true
    if (q.after != null) {
      rows = stmts.after.all(key, q.after.hlc, q.after.id, limit + 1) as Row[]
      reverse = false
    } else if (q.before != null) {
      rows = stmts.before.all(key, q.before.hlc, q.before.id, limit + 1) as Row[]
    } else {
      rows = stmts.newest.all(key, limit + 1) as Row[]
    }
    const more = rows.length > limit
    const events = rows.slice(0, limit).map(map)
    if (reverse) events.reverse()
    return { events, more }
  }

  /**
   * What a room holds stamped in [fromHlc, toHlc): how many events, and the sum of their stamps
   * (mod 2^64). Two copies that agree on both almost surely hold the same events with the same
   * stamps; anti-entropy compares them before it fetches anything. Reads the (room, hlc, id) index only.
   */
  digest (room: string, fromHlc: bigint, toHlc: bigint): RangeDigest {
    const r = this.stmts.digest.get(room, fromHlc, toHlc) as Row
    return { count: Number(r.n), sum: BigInt.asUintN(64, BigInt(r.lo as bigint) + (BigInt(r.hi as bigint) << 32n)) }
  }

  /**
   * events with hlc >= `fromHlc` up to the cursor `upTo` (inclusive), oldest first: the part of a
   * resume's replay from before the client's cursor (what comes after it is paged). Bounded by the
   * cursor, a client that was away reads here only the slack window, not everything since.
   */
  since (room: string, fromHlc: bigint, upTo: Cursor, limit: number): StoredRoomEvent[] {
    const events = (this.stmts.since.all(room, fromHlc, upTo.hlc, limit) as Row[]).map(toEvent)
    // in (hlc, id) order, what lies past the cursor is a tail of events stamped like it, with larger ids
    for (let last = events.at(-1); last !== undefined && last.hlc === upTo.hlc && Buffer.compare(last.id, upTo.id) > 0; last = events.at(-1)) events.pop()
    return events
  }

  /** rooms with stored history */
  rooms (): string[] {
    return keysOf(this.stmts.roomNext)
  }

  count (room: string): number {
    return Number((this.stmts.count.get(room) as Row).n)
  }

  /**
   * Apply the retention policy to room history and to DM history (a DM
   * conversation is kept like a room: by age, and at most `maxPerRoom`
   * messages); `now` in ms. Returns rows deleted.
   */
  prune (policy: RetentionPolicy, now: number): number {
    let deleted = 0
    for (;;) {
      const step = this.pruneStep(policy, now, Infinity)
      deleted += step.deleted
      if (step.done) return deleted
    }
  }

  /**
   * One step of a prune, for a caller that gives the event loop back between steps: events past
   * their age are deleted until about `budget` is spent (an event deleted or a room looked at costs
   * one; a step stops between batches), and the
   * next step goes on from there, with the cutoff of the round's first step; `done` when the round
   * is over. The count cap is applied at the round's first step: checked for every room and
   * conversation at the first round after opening, at every FULL_CHECK_EVERY-th and whenever the
   * cap changes, and in between only where a tenth of it was written since the last check.
   */
  pruneStep (policy: RetentionPolicy, now: number, budget: number): { deleted: number, done: boolean } {
    let deleted = 0
    if (this.round == null) {
      const full = this.prunes++ % FULL_CHECK_EVERY === 0 || policy.maxPerRoom !== this.lastCap
      this.lastCap = policy.maxPerRoom
      this.round = { cutoff: policy.maxAgeMs > 0 ? BigInt(Math.max(0, Math.floor(now - policy.maxAgeMs))) << 16n : undefined, roomsDone: false }
      deleted += capKeyed(this.histories.rooms, policy, full) + capKeyed(this.histories.dms, policy, full)
    }
    const round = this.round
    let done = true
    if (round.cutoff !== undefined) {
      // what the cap took counts against the step too
      let spent = deleted
      if (!round.roomsDone) {
        const rooms = ageRooms(this.stmts.roomNext, this.stmts.roomAgeDelete, this.histories.rooms, round.cutoff, budget - spent)
        spent += rooms.spent
        deleted += rooms.deleted
        round.roomsDone = rooms.done
      }
      done = round.roomsDone
      if (done) {
        const dms = ageBatches(this.stmts.dmAgeDelete, round.cutoff, budget - spent)
        deleted += dms.deleted
        done = dms.done
      }
    }
    if (done) this.round = undefined
    return { deleted, done }
  }

  /** store a DM in its conversation's history; false when the id was already stored (a stamp that ranks above the stored one replaces it, as in {@link put}) */
  dmPut (e: Authored<StoredDmEvent>): boolean {
    if (Number(this.stmts.dmPut.run(e.id, e.conversation, e.hlc, e.origin, e.author, e.event).changes) > 0) {
      wrote(this.histories.dms, e.conversation)
      return true
    }
    const limit = promptBelow(e.ts)
    this.stmts.dmRestamp.run(e.hlc, e.origin, e.event, e.id, e.conversation, e.hlc < limit ? 1 : 0, limit)
    return false
  }

  /** store many DMs in one transaction; returns how many were new */
  dmPutMany (events: Iterable<Authored<StoredDmEvent>>): number {
    let n = 0
    this.db.exec('BEGIN')
    try {
      for (const e of events) if (this.dmPut(e)) n++
      this.db.exec('COMMIT')
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
    return n
  }

  dmGet (id: Uint8Array): StoredDmEvent | undefined {
    const r = this.stmts.dmGet.get(id) as Row | undefined
    return r == null ? undefined : toDm(r)
  }

  /** one page of a DM conversation, oldest first (the same query shapes as `page`) */
  dmPage (conversation: string, q: PageQuery): DmPage {
    return this.pageOf(conversation, q, { newest: this.stmts.dmNewest, before: this.stmts.dmBefore, after: this.stmts.dmAfter }, toDm)
  }

  /** DM conversations with stored history */
  dmConversations (): string[] {
    return (this.stmts.dmConversations.all() as Row[]).map(r => r.conv as string)
  }

  /** whether `user`'s mailbox holds the DM with this id (a lookup by the table's key) */
  mailboxHolds (user: string, id: Uint8Array): boolean {
    if (!this.db.isOpen) return false
    return this.stmts.mbHas.get(user, id) != null
  }

  /** queue a DM in `user`'s mailbox; false if it was already there */
  mailboxPut (user: string, e: MailboxEvent): boolean {
    const added = Number(this.stmts.mbPut.run(user, e.id, e.hlc, e.origin, e.event, e.sender).changes) > 0
    if (added) this.countMail(user, 1)
    return added
  }

  /** the oldest `limit` DMs of a mailbox, in (hlc, id) order */
  mailboxList (user: string, limit: number): MailboxEvent[] {
    if (!this.mailCounts.has(user)) return []
    return (this.stmts.mbList.all(user, limit) as Row[]).map(r => ({
      id: r.id as Uint8Array,
      hlc: r.hlc as bigint,
      origin: r.origin as string,
      event: r.event as Uint8Array,
      sender: r.sender as string
    }))
  }

  /** DMs from `sender` waiting in `user`'s mailbox */
  mailboxSenderCount (user: string, sender: string): number {
    return Number((this.stmts.mbSenderCount.get(user, sender) as Row).n)
  }

  /** drop queued DMs stamped before `now - maxAgeMs`; returns how many */
  mailboxPrune (maxAgeMs: number, now: number): number {
    if (maxAgeMs <= 0) return 0
    const cutoff = BigInt(Math.max(0, Math.floor(now - maxAgeMs))) << 16n
    // the users whose mail went come back with it: their counts are corrected one by one, not by a
    // count over every queued DM
    const gone = this.stmts.mbPruneAge.all(cutoff) as Row[]
    for (const r of gone) this.countMail(r.user as string, -1)
    return gone.length
  }

  mailboxDelete (user: string, ids: Iterable<Uint8Array>): number {
    let n = 0
    this.db.exec('BEGIN')
    try {
      for (const id of ids) n += Number(this.stmts.mbDelete.run(user, id).changes)
      this.db.exec('COMMIT')
      this.countMail(user, -n)
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
    return n
  }

  mailboxCount (user: string): number {
    return this.mailCounts.get(user) ?? 0
  }

  /** users with queued DMs on this node */
  mailboxUsers (): string[] {
    return [...this.mailCounts.keys()]
  }

  mailboxTotal (): number {
    let n = 0
    for (const c of this.mailCounts.values()) n += c
    return n
  }

  get isOpen (): boolean {
    return this.db.isOpen
  }

  close (): void {
    if (this.db.isOpen) this.db.close()
    // the checkpoint thread's connection, closed after this one, is the last: it folds the log into the file
    if (this.checkpoints != null) void checkpointer.remove(this.checkpoints)
    this.checkpoints = undefined
  }

  /** log pages past which this store's own connection checkpoints (SQLite's wal_autocheckpoint) */
  get ownCheckpointPages (): number {
    return Number((this.db.prepare('PRAGMA wal_autocheckpoint').get() as Row).wal_autocheckpoint)
  }

  /** resolves once the checkpoint thread has checkpointed this store's log (tests and diagnostics) */
  async checkpointed (): Promise<void> {
    if (this.checkpoints != null) await checkpointer.now(this.checkpoints)
  }
}

/**
 * Retention of one keyed history table (`messages` by room, `dm_history` by conversation), both
 * indexed by (key, hlc, id). A plain `DELETE … WHERE hlc < ?` on `messages` reads the whole table:
 * with 1,000,000 events stored that held the event loop for 5–6 s at every prune, once a minute,
 * deleting nothing.
 * - Age: rooms are few against their events, so each room is found by a skip over the index (one
 *   lookup each) and its old events deleted through it. Conversations can be nearly as many as
 *   their DMs, so `dm_history` has an index on hlc (schema 4) and one delete goes through that.
 * - Count cap: a key is checked (a walk of up to `maxPerRoom` index entries) where at least a tenth
 *   of the cap was written since its last check, so it may pass the cap by that much for a while;
 *   and at the first prune, every FULL_CHECK_EVERY-th, and when the cap changes, every key over
 *   the cap, found by one count over the index.
 */
interface KeyedHistory {
  /** the keys holding more than a number of events */
  over: StatementSync
  cut: StatementSync
  cutDelete: StatementSync
  /** events written per key since its cap was last checked (at most WRITTEN_KEYS keys: see `wrote`) */
  written: Map<string, number>
  /** rooms: where an unfinished prune goes on, the room it stopped in */
  resume?: string
}

/** ageing out queued DMs (through the `mailbox_age` index; exported for the test that checks it) */
export const MAILBOX_PRUNE_SQL = 'DELETE FROM mailbox WHERE hlc < ? RETURNING user'

/** with retention pruning once a minute, every hour */
const FULL_CHECK_EVERY = 60
/** keys whose writes since their last cap check are counted; past it a key is dropped and waits for a full check */
const WRITTEN_KEYS = 100_000

/** the statements retention runs by age (exported for the test that checks they go through an index); LIMIT -1 is none */
export const RETENTION_SQL = {
  roomNext: 'SELECT room AS k FROM messages WHERE room > ? ORDER BY room LIMIT 1',
  roomAgeDelete: 'DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE room = ? AND hlc < ? ORDER BY hlc LIMIT ?)',
  dmAgeDelete: 'DELETE FROM dm_history WHERE seq IN (SELECT seq FROM dm_history WHERE hlc < ? ORDER BY hlc LIMIT ?)'
} as const

function keyedHistory (over: StatementSync, cut: StatementSync, cutDelete: StatementSync): KeyedHistory {
  return { over, cut, cutDelete, written: new Map() }
}

/** every room, in order, one index lookup each (`SELECT DISTINCT` reads the whole index: 50–80 ms per 1,000,000 events) */
function keysOf (next: StatementSync): string[] {
  const keys: string[] = []
  for (let row = next.get('') as Row | undefined; row != null; row = next.get(row.k as string) as Row | undefined) keys.push(row.k as string)
  return keys
}

function wrote (h: KeyedHistory, key: string): void {
  const n = h.written.get(key)
  if (n !== undefined) {
    h.written.set(key, n + 1)
  } else if (h.written.size < WRITTEN_KEYS) {
    h.written.set(key, 1)
  }
}

/** the count cap: the keys over it (a full check) or written to enough since their last check */
function capKeyed (h: KeyedHistory, policy: RetentionPolicy, full: boolean): number {
  let deleted = 0
  if (policy.maxPerRoom > 0) {
    const checkFrom = Math.max(1, Math.floor(policy.maxPerRoom / 10))
    const keys = full
      ? (h.over.all(policy.maxPerRoom) as Row[]).map(r => r.k as string)
      : [...h.written].filter(([, n]) => n >= checkFrom).map(([k]) => k)
    for (const key of keys) {
      h.written.delete(key)
      const cut = h.cut.get(key, policy.maxPerRoom) as Row | undefined
      if (cut != null) deleted += Number(h.cutDelete.run(key, cut.hlc as bigint, cut.id as Uint8Array).changes)
    }
  }
  if (full) h.written.clear()
  return deleted
}

const limitOf = (budget: number): number => Number.isFinite(budget) ? Math.max(1, Math.floor(budget)) : -1

/**
 * rooms one by one from where the last step stopped, until `budget` is spent: an event deleted
 * costs one, and so does a room looked at (thousands of rooms with nothing to delete are work too)
 */
function ageRooms (next: StatementSync, ageDelete: StatementSync, h: KeyedHistory, cutoff: bigint, budget: number): { deleted: number, spent: number, done: boolean } {
  let deleted = 0
  let spent = 0
  let key = h.resume ?? (next.get('') as Row | undefined)?.k as string | undefined
  while (key !== undefined) {
    if (budget - spent <= 0) {
      h.resume = key
      return { deleted, spent, done: false }
    }
    const limit = limitOf(budget - spent)
    const n = Number(ageDelete.run(key, cutoff, limit).changes)
    deleted += n
    spent += Math.max(1, n)
    // as many as asked for: the room may hold more
    if (n === limit) {
      h.resume = key
      return { deleted, spent, done: false }
    }
    key = (next.get(key) as Row | undefined)?.k as string | undefined
  }
  h.resume = undefined
  return { deleted, spent, done: true }
}

/** the whole table through its stamp index, a batch at a time, until `budget` events are gone */
function ageBatches (ageDelete: StatementSync, cutoff: bigint, budget: number): { deleted: number, done: boolean } {
  let deleted = 0
  for (;;) {
    if (budget - deleted <= 0) return { deleted, done: false }
    const limit = limitOf(budget - deleted)
    const n = Number(ageDelete.run(cutoff, limit).changes)
    deleted += n
    if (n !== limit) return { deleted, done: true }
  }
}
