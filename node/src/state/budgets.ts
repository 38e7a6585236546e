/**
 * Request budgets: what one client session, and one user over all of their sessions, may ask of a
 * node per second, per kind of request. Every request is charged before the node does the expensive
 * part (a signature check, a store read, a fan-out over the mesh), so a client at its limits costs
 * the node a token-bucket lookup per request and nothing more.
 *
 * Pure: `now` is passed in.
 */

import { KeyedRateLimiter, TokenBucket } from './rate-limiter.js'
import type { TokenBucketInit } from './rate-limiter.js'

/** The kinds of client request that are charged. */
export type RequestKind = 'message' | 'typing' | 'receipt' | 'join' | 'history' | 'backlog' | 'watch' | 'status' | 'dmAck' | 'ping'

/** A budget for one kind: per session, and per user across all of the user's sessions on this node. */
export interface KindBudget {
  session: TokenBucketInit
  user: TokenBucketInit
}

export type Budgets = Record<RequestKind, KindBudget>

/**
 * Defaults, sized for people chatting: well above what a person does, far below what a script at
 * full speed does.
 */
export const DEFAULT_BUDGETS: Budgets = {
  // chat messages and DMs; the per-user rate is the published limit (10/s, burst 40: a person types
  // one or two a second at most, a paste of many lines fits the burst)
  message: { session: { ratePerSec: 10, burst: 40 }, user: { ratePerSec: 10, burst: 40 } },
  // typing notices are ephemeral: past the budget they are dropped, never refused
  typing: { session: { ratePerSec: 2, burst: 4 }, user: { ratePerSec: 2, burst: 4 } },
  // read receipts are ephemeral too: a reader scrolling through a backlog sends a few; past the budget they are dropped
  receipt: { session: { ratePerSec: 2, burst: 10 }, user: { ratePerSec: 4, burst: 20 } },
  // joins and leaves: each changes presence and may start a backfill; a web app opening its rooms fits the burst
  join: { session: { ratePerSec: 2, burst: 100 }, user: { ratePerSec: 4, burst: 200 } },
  // history pages: each may read 500 events or ask another node over sync (someone scrolling back asks a
  // page every second or two)
  history: { session: { ratePerSec: 2, burst: 10 }, user: { ratePerSec: 4, burst: 20 } },
  // stored events sent back to a client: history pages, a join's backlog and a resume's replay are
  // paid for by the event once they are known (a request needs the bucket out of debt to start);
  // a web app opening 100 rooms with 50 messages each, or a resume after 2,000 missed, fits the burst,
  // and reading history goes on at 100 events/s a session (two pages of 50 a second)
  backlog: { session: { ratePerSec: 100, burst: 5000 }, user: { ratePerSec: 200, burst: 5000 } },
  // charged per user named in a watch list (a list may name 1,024)
  watch: { session: { ratePerSec: 100, burst: 2048 }, user: { ratePerSec: 200, burst: 4096 } },
  status: { session: { ratePerSec: 1, burst: 10 }, user: { ratePerSec: 2, burst: 20 } },
  // charged per acknowledged id
  dmAck: { session: { ratePerSec: 500, burst: 5000 }, user: { ratePerSec: 1000, burst: 10000 } },
  ping: { session: { ratePerSec: 2, burst: 10 }, user: { ratePerSec: 10, burst: 50 } }
}

export const REQUEST_KINDS = Object.keys(DEFAULT_BUDGETS) as RequestKind[]

/** One session's buckets, one per kind. */
export class SessionBudget {
  /** made at the first charge: most idle sessions are never charged, and an empty Map costs 185 B */
  #buckets?: Map<RequestKind, TokenBucket>
  readonly #budgets: Budgets

  constructor (budgets: Budgets) {
    this.#budgets = budgets
  }

  /** take `n` tokens of `kind`; returns 0 when taken, else how long to wait (ms; Infinity if never) */
  take (kind: RequestKind, now: number, n = 1): number {
    const buckets = this.#buckets ??= new Map()
    let b = buckets.get(kind)
    if (b == null) buckets.set(kind, b = new TokenBucket(this.#budgets[kind].session))
    if (b.take(now, n)) return 0
    return b.retryAfterMs(now, n)
  }

  /** take `n` tokens of `kind` even into debt: for work paid for once its size is known */
  debit (kind: RequestKind, now: number, n: number): void {
    const buckets = this.#buckets ??= new Map()
    let b = buckets.get(kind)
    if (b == null) buckets.set(kind, b = new TokenBucket(this.#budgets[kind].session))
    b.debit(now, n)
  }
}

/** Every user's buckets on this node, in bounded memory (see KeyedRateLimiter's trade-off). */
export class UserBudgets {
  readonly #limiters = new Map<RequestKind, KeyedRateLimiter<string>>()

  constructor (budgets: Budgets, maxUsers = 100_000) {
    for (const kind of REQUEST_KINDS) {
      this.#limiters.set(kind, new KeyedRateLimiter<string>({ ...budgets[kind].user, maxKeys: maxUsers }))
    }
  }

  /** take `n` tokens of `kind` for `user`; returns 0 when taken, else how long to wait (ms) */
  take (user: string, kind: RequestKind, now: number, n = 1): number {
    const l = this.#limiters.get(kind)
    if (l == null) return 0
    if (l.take(user, now, n)) return 0
    return l.retryAfterMs(user, now, n)
  }

  /** take `n` tokens of `kind` for `user` even into debt */
  debit (user: string, kind: RequestKind, now: number, n: number): void {
    this.#limiters.get(kind)?.debit(user, now, n)
  }

  /** empty every one of `user`'s buckets until `at`: a user cut off for abuse comes back without bursts */
  emptyUntil (user: string, now: number, at: number): void {
    for (const l of this.#limiters.values()) l.emptyUntil(user, now, at)
  }
}

/** Check that every bucket of every kind is well formed; throws RangeError naming the first bad one. */
export function checkBudgets (b: Budgets): void {
  for (const kind of REQUEST_KINDS) {
    const kb = b[kind]
    for (const side of ['session', 'user'] as const) {
      const v = kb?.[side]
      if (v == null || !(v.ratePerSec >= 0) || !Number.isFinite(v.ratePerSec) || !(v.burst > 0) || !Number.isFinite(v.burst)) {
        throw new RangeError(`budgets.${kind}.${side} needs ratePerSec >= 0 and burst > 0`)
      }
    }
  }
}
