import type { Authored, MessageStore, StoredRoomEvent } from './message-store.js'

interface Pending {
  event: Authored<StoredRoomEvent>
  resolve: (fresh: boolean) => void
  reject: (err: Error) => void
}

/**
 * Room events stored by group commit: every event written in one turn of the
 * event loop goes into one SQLite transaction, committed at the end of that
 * turn (or sooner, when `maxBatch` are waiting). Each writer's promise resolves
 * once its batch is committed, so an acknowledgement that waits for it means
 * what it meant when every event had a transaction of its own: the event is in
 * the write-ahead log.
 */
export class GroupCommit {
  private batch: Pending[] = []
  private scheduled = false

  constructor (private readonly store: MessageStore, private readonly maxBatch = 500) {}

  /** store `event` with the next batch; resolves with false when its id was already stored */
  async put (event: Authored<StoredRoomEvent>): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.batch.push({ event, resolve, reject })
      if (this.batch.length >= this.maxBatch) {
        this.flush()
      } else if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => { this.flush() })
      }
    })
  }

  /** commit what is waiting now */
  flush (): void {
    this.scheduled = false
    const batch = this.batch
    this.batch = []
    if (batch.length === 0) return
    if (!this.store.isOpen) {
      for (const p of batch) p.reject(new Error('the store is closed'))
      return
    }
    let fresh: Set<Authored<StoredRoomEvent>>
    try {
      fresh = new Set(this.store.insertMany(batch.map(p => p.event)))
    } catch (err) {
      for (const p of batch) p.reject(err as Error)
      return
    }
    for (const p of batch) p.resolve(fresh.has(p.event))
  }
}
