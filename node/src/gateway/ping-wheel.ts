/**
 * Keep-alive work spread over its interval. Pinging every connection at once, every interval, is
 * one long burst of socket writes (and, right after it, of pongs to read): with 10,000 WebSocket
 * clients on a node it held the event loop for about 300 ms every 30 s, and every message on the
 * node waited behind it. The wheel puts each connection in one of `slots` buckets, round-robin as
 * they come, and each tick hands out one bucket: every connection is visited once per turn of the
 * wheel, and a tick holds about 1/`slots` of them.
 */
export class PingWheel<T> {
  private readonly slots: Array<Set<T>>
  private cursor = 0
  private assigned = 0
  /** when `due` last turned the wheel (monotonic ms) */
  private turnedAt?: number

  constructor (slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`a ping wheel has at least one slot, not ${slots}`)
    this.slots = Array.from({ length: slots }, () => new Set<T>())
  }

  /**
   * The wheel for pings every `intervalMs`: a slot per `tickMs` (at most `maxSlots`), and the
   * period of its ticks, so that one turn of the wheel takes the interval.
   */
  static forInterval<T> (intervalMs: number, tickMs = 100, maxSlots = 600): { wheel: PingWheel<T>, tickMs: number } {
    const slots = Math.max(1, Math.min(maxSlots, Math.round(intervalMs / tickMs)))
    return { wheel: new PingWheel<T>(slots), tickMs: intervalMs / slots }
  }

  get size (): number {
    let n = 0
    for (const s of this.slots) n += s.size
    return n
  }

  get slotCount (): number {
    return this.slots.length
  }

  /** how many items each slot holds, in slot order */
  slotSizes (): number[] {
    return this.slots.map(s => s.size)
  }

  /**
   * Put `item` in the next slot round-robin; returns the slot, which `delete` takes back (the
   * caller keeps it with the item: a map from item to slot would cost every connection an entry)
   */
  add (item: T): number {
    const slot = this.assigned++ % this.slots.length
    this.slots[slot]!.add(item)
    return slot
  }

  delete (item: T, slot: number): boolean {
    return this.slots[slot]?.delete(item) ?? false
  }

  /**
   * The items of every slot whose time has come since the wheel last turned, `tickMs` a slot (at most
   * one whole turn), turning the wheel that far: a timer that fires late or at a longer period, or
   * was started again, loses no slot. `now` is a monotonic clock in ms; the first call only starts
   * the count.
   */
  due (now: number, tickMs: number): T[] {
    if (this.turnedAt === undefined) {
      this.turnedAt = now
      return []
    }
    let slots = Math.floor((now - this.turnedAt) / tickMs)
    if (slots >= this.slots.length) {
      slots = this.slots.length
      this.turnedAt = now
    } else {
      this.turnedAt += slots * tickMs
    }
    const out: T[] = []
    for (let i = 0; i < slots; i++) for (const item of this.tick()) out.push(item)
    return out
  }

  /** forget when the wheel last turned (its timer stopped): the next `due` starts the count again */
  pause (): void {
    this.turnedAt = undefined
  }

  /** the items due now (a copy: the caller may delete from the wheel while going through it); the wheel turns one slot */
  tick (): T[] {
    const due = [...this.slots[this.cursor]!]
    this.cursor = (this.cursor + 1) % this.slots.length
    return due
  }
}
