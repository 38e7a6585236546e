import { Worker } from 'node:worker_threads'

/**
 * SQLite checkpoints of the stores' write-ahead logs, on a thread of their own.
 *
 * Left to itself, SQLite checkpoints on the connection that commits, once the log passes 1,000
 * pages: that commit copies the log into the database file and fsyncs it, on the event loop. On a
 * real disk under load that is milliseconds to a tenth of a second, every few seconds, for every
 * client of the node. Here one worker thread per process holds a second connection to each store
 * and runs a PASSIVE checkpoint every `intervalMs` (it never waits for, nor holds up, a writer or a
 * reader); the store's own connection keeps a far higher automatic threshold only as a safety net,
 * should the worker fall behind or fail.
 *
 * Plain JavaScript evaluated in the worker, so it runs the same from the build and from the sources.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads')
const { DatabaseSync } = require('node:sqlite')
const dbs = new Map()
let timer
const message = err => String(err && err.message || err)
function tick () {
  for (const [id, db] of dbs) {
    try {
      db.exec('PRAGMA wal_checkpoint(PASSIVE)')
    } catch (err) {
      parentPort.postMessage({ id, error: message(err) })
    }
  }
}
parentPort.on('message', m => {
  if (m.op === 'add') {
    try {
      dbs.set(m.id, new DatabaseSync(m.path))
    } catch (err) {
      parentPort.postMessage({ id: m.id, error: message(err) })
    }
    if (timer == null) timer = setInterval(tick, m.intervalMs)
  } else if (m.op === 'remove') {
    const db = dbs.get(m.id)
    dbs.delete(m.id)
    try { if (db != null) db.close() } catch {}
    if (dbs.size === 0 && timer != null) { clearInterval(timer); timer = undefined }
  } else if (m.op === 'now') {
    tick()
  }
  parentPort.postMessage({ id: m.id, done: m.op })
})
`

interface Registration {
  onError: (message: string) => void
  waiting: Array<() => void>
}

/** checkpoints every this often: the log holds at most about this long of writes */
export const CHECKPOINT_INTERVAL_MS = 500

class Checkpointer {
  private worker?: Worker
  private nextId = 0
  private readonly stores = new Map<number, Registration>()

  private start (): Worker {
    if (this.worker != null) return this.worker
    const worker = new Worker(WORKER, { eval: true, execArgv: workerExecArgv(process.execArgv) })
    worker.on('message', (m: { id: number, error?: string, done?: string }) => {
      const reg = this.stores.get(m.id)
      if (m.error != null) reg?.onError(m.error)
      if (m.done != null) reg?.waiting.shift()?.()
    })
    const fail = (err: Error): void => {
      if (this.worker !== worker) return
      this.worker = undefined
      for (const reg of this.stores.values()) {
        reg.onError(`checkpoint thread stopped: ${err.message}`)
        for (const w of reg.waiting.splice(0)) w()
      }
      this.stores.clear()
    }
    worker.on('error', fail)
    worker.on('exit', code => { fail(new Error(`exit code ${code}`)) })
    // a process that has nothing else to do exits; the stores' own connections hold what is committed
    // (after the listeners: adding a 'message' listener refs the worker again)
    worker.unref()
    this.worker = worker
    return worker
  }

  private async send (id: number, op: 'add' | 'remove' | 'now', path = ''): Promise<void> {
    const reg = this.stores.get(id)
    if (reg == null || this.worker == null) return
    const done = new Promise<void>(resolve => { reg.waiting.push(resolve) })
    this.worker.postMessage({ op, id, path, intervalMs: CHECKPOINT_INTERVAL_MS })
    await done
  }

  /**
   * Checkpoint the database at `path` from the worker; `onError` hears of every failure (the caller
   * falls back to checkpointing itself). Returns the registration's id.
   */
  add (path: string, onError: (message: string) => void): number {
    this.start()
    const id = ++this.nextId
    this.stores.set(id, { onError, waiting: [] })
    void this.send(id, 'add', path)
    return id
  }

  /** stop checkpointing; resolves once the worker's connection is closed */
  async remove (id: number): Promise<void> {
    await this.send(id, 'remove')
    this.stores.delete(id)
  }

  /** one checkpoint of every registered database now; resolves when it ran */
  async now (id: number): Promise<void> {
    await this.send(id, 'now')
  }

  /** registrations held (tests) */
  get size (): number {
    return this.stores.size
  }
}

export const checkpointer = new Checkpointer()

/**
 * The worker's flags: inherited (undefined) unless the process writes a CPU profile, then none. A
 * worker given --cpu-prof would write its profile under the main thread's file name; and flags given
 * explicitly are checked, where V8 flags such as --max-semi-space-size are refused (they are the
 * whole process's anyway).
 */
export function workerExecArgv (argv: readonly string[]): string[] | undefined {
  return argv.some(a => a.startsWith('--cpu-prof')) ? [] : undefined
}
