/**
 * Insertion-ordered maps and sets that forget their oldest entries past a size: the dedupe windows
 * (recent message ids) and caches every layer keeps. A plain Map or Set fed by the network grows
 * without bound; these cannot.
 */

/**
 * A bound in time as well as in count: entries older than `maxAgeMs` (by `now`, in ms) are
 * forgotten too, so a window that is only ever needed for recent entries costs memory in
 * proportion to the recent rate, not to the count bound.
 */
export interface AgeBound {
  maxAgeMs: number
  now: () => number
}

/** A map that holds at most `max` entries, dropping the oldest insert first (and, with an age bound, entries past it). */
export class BoundedMap<K, V> {
  readonly #max: number
  readonly #map = new Map<K, V>()
  readonly #age?: AgeBound
  /** with an age bound: when each key was inserted, in the same order as #map */
  readonly #at?: Map<K, number>

  constructor (max: number, age?: AgeBound) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be an integer >= 1, got ${max}`)
    if (age != null && !(age.maxAgeMs > 0)) throw new RangeError(`maxAgeMs must be > 0, got ${age.maxAgeMs}`)
    this.#max = max
    if (age != null) {
      this.#age = age
      this.#at = new Map()
    }
  }

  /** drop the entries past the age bound (oldest first: they sit at the front) */
  #expire (): void {
    if (this.#at == null || this.#age == null) return
    const cutoff = this.#age.now() - this.#age.maxAgeMs
    for (const [key, at] of this.#at) {
      if (at > cutoff) break
      this.#at.delete(key)
      this.#map.delete(key)
    }
  }

  get (key: K): V | undefined {
    this.#expire()
    return this.#map.get(key)
  }

  has (key: K): boolean {
    this.#expire()
    return this.#map.has(key)
  }

  /** set (a new key becomes the newest; an existing key keeps its place) */
  set (key: K, value: V): this {
    this.#expire()
    if (!this.#map.has(key)) {
      if (this.#map.size >= this.#max) {
        const oldest = this.#map.keys().next()
        if (oldest.done !== true) {
          this.#map.delete(oldest.value)
          this.#at?.delete(oldest.value)
        }
      }
      this.#at?.set(key, this.#age?.now() ?? 0)
    }
    this.#map.set(key, value)
    return this
  }

  delete (key: K): boolean {
    this.#at?.delete(key)
    return this.#map.delete(key)
  }

  clear (): void {
    this.#map.clear()
    this.#at?.clear()
  }

  get size (): number {
    this.#expire()
    return this.#map.size
  }
}

/** A set of at most `max` members, dropping the oldest first (and, with an age bound, members past it). */
export class BoundedSet<T> {
  readonly #map: BoundedMap<T, true>

  constructor (max: number, age?: AgeBound) {
    this.#map = new BoundedMap(max, age)
  }

  has (value: T): boolean {
    return this.#map.has(value)
  }

  /** add `value`; false if it was already there (the dedupe check and the insert in one step) */
  add (value: T): boolean {
    if (this.#map.has(value)) return false
    this.#map.set(value, true)
    return true
  }

  delete (value: T): boolean {
    return this.#map.delete(value)
  }

  clear (): void {
    this.#map.clear()
  }

  get size (): number {
    return this.#map.size
  }
}
