/**
 * One conversation's messages in display order: by cursor (ingress stamp, then id) like the node and the
 * client library, with messages still on their way to the node (no hlc yet)
 * after all of them, in the order they were written. Pure: no DOM.
 */

export type DmDelivery = 'sending' | 'delivered' | 'queued'

export interface Entry {
  /** message id (hex), or `pending:<n>` until the node has acknowledged it */
  key: string
  /** the message's cursor (its place in the conversation); '' while pending */
  cursor: string
  from: string
  name: string
  text: string
  /** author's clock, ms */
  ts: number
  /** ingress node, when known */
  origin?: string
  pending: boolean
  /** own direct messages: what the node said about delivery */
  dm?: DmDelivery
}

export function compareEntries (a: Entry, b: Entry): number {
  if (a.pending !== b.pending) return a.pending ? 1 : -1
  if (a.cursor !== b.cursor) return a.cursor < b.cursor ? -1 : 1
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}

export class Timeline {
  readonly entries: Entry[] = []
  private readonly byKey = new Map<string, Entry>()

  has (key: string): boolean {
    return this.byKey.has(key)
  }

  get (key: string): Entry | undefined {
    return this.byKey.get(key)
  }

  /** insert in order; returns the index, or -1 when the key is already there */
  insert (e: Entry): number {
    if (this.byKey.has(e.key)) return -1
    // binary search for the first entry after `e`
    let lo = 0
    let hi = this.entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareEntries(this.entries[mid] as Entry, e) <= 0) lo = mid + 1
      else hi = mid
    }
    this.entries.splice(lo, 0, e)
    this.byKey.set(e.key, e)
    return lo
  }

  remove (key: string): boolean {
    const e = this.byKey.get(key)
    if (e == null) return false
    this.byKey.delete(key)
    this.entries.splice(this.entries.indexOf(e), 1)
    return true
  }

  /** take out the `count` oldest acknowledged messages (never one still pending); returns them */
  dropOldest (count: number): Entry[] {
    let n = 0
    while (n < count && n < this.entries.length && !(this.entries[n] as Entry).pending) n++
    const dropped = this.entries.splice(0, n)
    for (const e of dropped) this.byKey.delete(e.key)
    return dropped
  }

  /** the oldest acknowledged message: where the next history page ends */
  oldest (): Entry | undefined {
    const first = this.entries[0]
    return first == null || first.pending ? undefined : first
  }

  /** the first pending entry of `from` with this text (to retire it when its echo arrives) */
  pendingMatch (from: string, text: string): Entry | undefined {
    return this.entries.find(e => e.pending && e.from === from && e.text === text)
  }

  /** the newest acknowledged entry at or before `cursor` (of author `from`, if given): where a reader's position falls */
  lastAtOrBefore (cursor: string, from?: string): Entry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i] as Entry
      if (e.pending || e.cursor > cursor) continue
      if (from == null || e.from === from) return e
    }
    return undefined
  }

  /** the newest acknowledged entry not written by `me`: what reading the conversation means having read */
  newestFrom (me: string): Entry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i] as Entry
      if (!e.pending && e.from !== me && e.cursor !== '') return e
    }
    return undefined
  }

  /** the entry before `key` in display order, if any */
  prev (key: string): Entry | undefined {
    const e = this.byKey.get(key)
    if (e == null) return undefined
    const i = this.entries.indexOf(e)
    return i > 0 ? this.entries[i - 1] : undefined
  }

  /** the entry after `key` in display order, if any */
  next (key: string): Entry | undefined {
    const e = this.byKey.get(key)
    if (e == null) return undefined
    return this.entries[this.entries.indexOf(e) + 1]
  }
}
