/**
 * Token-bucket rate limiting: a steady rate with room for short bursts, which is what a chat user
 * produces (quiet, then a few quick lines).
 */

/**
 * Refill arithmetic is floating point; without a little slack, waiting exactly `retryAfterMs` can
 * leave the bucket a rounding error short of the token it was promised.
 */
const EPSILON = 1e-9

export interface TokenBucketInit {
  /** Tokens added per second. 0 means the bucket never refills. */
  ratePerSec: number
  /** Capacity of the bucket: the largest burst allowed. The bucket starts full. */
  burst: number
}

/** A single token bucket. Time only moves forward: a `now` earlier than one seen before adds nothing. */
export class TokenBucket {
  readonly #perMs: number
  readonly #burst: number
  #tokens: number
  #at = -Infinity

  constructor (init: TokenBucketInit) {
    checkBucketInit(init)
    this.#perMs = init.ratePerSec / 1000
    this.#burst = init.burst
    this.#tokens = init.burst
  }

  /** Takes `n` tokens (default 1) if they are all there; takes nothing otherwise. */
  take (now: number, n = 1): boolean {
    this.#refill(now)
    if (this.#tokens + EPSILON < n) return false
    this.#tokens = Math.max(0, this.#tokens - n)
    return true
  }

  /**
   * Takes `n` tokens whether or not they are there: work whose size is known only once it is done
   * (a replay, a history page) is paid for afterwards, and the bucket may go into debt, at most one
   * burst deep, which later requests wait out. A negative `n` gives tokens back (an estimate taken
   * up front that came out high), never past the burst.
   */
  debit (now: number, n: number): void {
    this.#refill(now)
    this.#tokens = Math.min(this.#burst, Math.max(-this.#burst, this.#tokens - n))
  }

  /**
   * How long, in ms, until `take(now + result, n)` succeeds (0 if it would now). `Infinity` when it
   * never can: `n` exceeds the burst, or the bucket does not refill.
   */
  /**
   * Takes tokens so that the bucket holds none at `at` (it refills from there at its rate), at most
   * one burst into debt; never adds any. A client cut off until `at` comes back with no burst.
   */
  emptyUntil (now: number, at: number): void {
    this.#refill(now)
    this.#tokens = Math.min(this.#tokens, Math.max(-this.#burst, -Math.max(0, at - now) * this.#perMs))
  }

  retryAfterMs (now: number, n = 1): number {
    this.#refill(now)
    const missing = n - this.#tokens
    if (missing <= EPSILON) return 0
    if (n > this.#burst || this.#perMs === 0) return Infinity
    return Math.ceil(missing / this.#perMs)
  }

  /** Tokens available at `now` (fractional). */
  tokens (now: number): number {
    this.#refill(now)
    return this.#tokens
  }

  #refill (now: number): void {
    if (now <= this.#at) return
    if (this.#at !== -Infinity) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs)
    }
    this.#at = now
  }
}

function checkBucketInit (init: TokenBucketInit): void {
  if (!(init.ratePerSec >= 0) || !Number.isFinite(init.ratePerSec)) {
    throw new RangeError(`ratePerSec must be a finite number >= 0, got ${init.ratePerSec}`)
  }
  if (!(init.burst > 0) || !Number.isFinite(init.burst)) {
    throw new RangeError(`burst must be a finite number > 0, got ${init.burst}`)
  }
}

export interface KeyedRateLimiterInit extends TokenBucketInit {
  /** Most keys tracked at once; the least recently used key is dropped beyond it. */
  maxKeys: number
}

/**
 * One token bucket per key (user, peer, address) in bounded memory.
 *
 * Trade-off: when more than `maxKeys` keys are active, the least recently used key's bucket is
 * dropped, and that key starts with a full bucket when it comes back. A key can therefore get an
 * extra burst if enough other keys push it out in between; that is the price of never growing
 * without bound under a flood of distinct keys.
 */
export class KeyedRateLimiter<K> {
  readonly #init: TokenBucketInit
  readonly #maxKeys: number
  /** Map iteration order is insertion order, so re-inserting on use keeps it in LRU order. */
  readonly #buckets = new Map<K, TokenBucket>()

  constructor (init: KeyedRateLimiterInit) {
    if (!Number.isInteger(init.maxKeys) || init.maxKeys < 1) {
      throw new RangeError(`maxKeys must be an integer >= 1, got ${init.maxKeys}`)
    }
    this.#init = { ratePerSec: init.ratePerSec, burst: init.burst }
    this.#maxKeys = init.maxKeys
    checkBucketInit(init)
  }

  /** Takes `n` tokens (default 1) from `key`'s bucket; marks `key` as most recently used. */
  take (key: K, now: number, n = 1): boolean {
    return this.#bucket(key, now).take(now, n)
  }

  /**
   * `key`'s bucket, created if needed, marked most recently used. Creating one first looks at the two
   * least recently used buckets: one that has refilled is dropped (a full bucket is what a new one
   * is), one that has not goes to the back. So the map holds the keys seen within about a refill
   * time, not every key ever seen up to `maxKeys`, and a key in debt is the last to be pushed out.
   */
  #bucket (key: K, now: number): TokenBucket {
    let bucket = this.#buckets.get(key)
    if (bucket === undefined) {
      bucket = new TokenBucket(this.#init)
      for (let i = 0; i < 2; i++) {
        const oldest = this.#buckets.entries().next()
        if (oldest.done === true) break
        const [k, b] = oldest.value
        this.#buckets.delete(k)
        // one still short of full goes to the back: it is kept (and not the first pushed out at maxKeys)
        if (b.tokens(now) < this.#init.burst - EPSILON) this.#buckets.set(k, b)
      }
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next()
        if (oldest.done !== true) this.#buckets.delete(oldest.value)
      }
    } else {
      this.#buckets.delete(key)
    }
    this.#buckets.set(key, bucket)
    return bucket
  }

  /** Takes `n` tokens from `key`'s bucket even into debt (see {@link TokenBucket.debit}). */
  debit (key: K, now: number, n: number): void {
    this.#bucket(key, now).debit(now, n)
  }

  /** Empties `key`'s bucket until `at` (see {@link TokenBucket.emptyUntil}). */
  emptyUntil (key: K, now: number, at: number): void {
    this.#bucket(key, now).emptyUntil(now, at)
  }

  /**
   * How long `key` must wait before `take(key, …, n)` succeeds; see {@link TokenBucket.retryAfterMs}.
   * A query: it neither creates a bucket nor changes the LRU order.
   */
  retryAfterMs (key: K, now: number, n = 1): number {
    return (this.#buckets.get(key) ?? new TokenBucket(this.#init)).retryAfterMs(now, n)
  }

  /** Number of keys currently tracked. */
  get size (): number {
    return this.#buckets.size
  }
}
