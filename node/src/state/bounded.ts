/**
 * Insertion-ordered maps and sets that forget their oldest entries past a size: the dedupe windows
 * (recent message ids) and caches every layer keeps. A plain Map or Set fed by the network grows
 * without bound; these cannot.
 */

/** A map that holds at most `max` entries, dropping the oldest insert first. */
export class BoundedMap<K, V> {
  readonly #max: number
  readonly #map = new Map<K, V>()

  constructor (max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be an integer >= 1, got ${max}`)
    this.#max = max
  }

  get (key: K): V | undefined {
    return this.#map.get(key)
  }

  has (key: K): boolean {
    return this.#map.has(key)
  }

  /** set (a new key becomes the newest; an existing key keeps its place) */
  set (key: K, value: V): this {
    if (!this.#map.has(key) && this.#map.size >= this.#max) {
      const oldest = this.#map.keys().next()
      if (oldest.done !== true) this.#map.delete(oldest.value)
    }
    this.#map.set(key, value)
    return this
  }

  delete (key: K): boolean {
    return this.#map.delete(key)
  }

  clear (): void {
    this.#map.clear()
  }

  get size (): number {
    return this.#map.size
  }
}

/** A set of at most `max` members, dropping the oldest first. */
export class BoundedSet<T> {
  readonly #map: BoundedMap<T, true>

  constructor (max: number) {
    this.#map = new BoundedMap(max)
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
