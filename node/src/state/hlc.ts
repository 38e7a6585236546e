/**
 * Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014).
 *
 * A timestamp is one `bigint`: `(physicalMs << 16n) | logical`. Packing both parts into one integer
 * makes ordering a plain integer comparison and lets a logical overflow carry into the physical part
 * by itself, which is exactly the "advance physical by 1 ms" rule.
 */

const LOGICAL_BITS = 16n
const LOGICAL_MASK = (1n << LOGICAL_BITS) - 1n
const LOGICAL_MAX = Number(LOGICAL_MASK)

/** Packs a physical time (ms, non-negative safe integer) and a logical counter (0..65535). */
export function makeHlc (physicalMs: number, logical: number): bigint {
  if (!Number.isSafeInteger(physicalMs) || physicalMs < 0) {
    throw new RangeError(`HLC physical time must be a non-negative safe integer, got ${physicalMs}`)
  }
  if (!Number.isInteger(logical) || logical < 0 || logical > LOGICAL_MAX) {
    throw new RangeError(`HLC logical counter must be an integer in 0..${LOGICAL_MAX}, got ${logical}`)
  }
  return (BigInt(physicalMs) << LOGICAL_BITS) | BigInt(logical)
}

/** The physical part of a timestamp, in ms. */
export function hlcPhysical (h: bigint): number {
  return Number(h >> LOGICAL_BITS)
}

/** The logical part of a timestamp. */
export function hlcLogical (h: bigint): number {
  return Number(h & LOGICAL_MASK)
}

/** Total order on timestamps: -1, 0 or 1. */
export function compareHlc (a: bigint, b: bigint): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0
}

/** A remote timestamp is further ahead of the local wall clock than the clock accepts. */
export class ClockDriftError extends Error {
  static override name = 'ClockDriftError'
  override name = 'ClockDriftError'

  constructor (
    /** How far the remote physical time is ahead of the local wall clock, in ms. */
    readonly driftMs: number,
    /** The bound that was exceeded, in ms. */
    readonly maxDriftMs: number
  ) {
    super(`remote clock is ${driftMs} ms ahead of the local clock (max ${maxDriftMs} ms)`)
  }
}

export interface HybridClockInit {
  /**
   * Largest amount, in ms, a remote timestamp may be ahead of the local wall clock. Without a bound,
   * one peer with a clock set into the future would drag every clock in the mesh with it.
   *
   * @default 60_000
   */
  maxDriftMs?: number
}

/** A hybrid logical clock. Every timestamp it returns is strictly greater than the one before. */
export class HybridClock {
  readonly #maxDriftMs: number
  #last = 0n

  constructor (init: HybridClockInit = {}) {
    this.#maxDriftMs = init.maxDriftMs ?? 60_000
  }

  /** A timestamp for a local or send event, given the wall clock in ms. */
  now (wallMs: number): bigint {
    this.#last = next(this.#last, wallMs)
    return this.#last
  }

  /**
   * Merges a received timestamp and returns one for the receive event, greater than both the
   * remote timestamp and every timestamp issued before.
   *
   * @throws {ClockDriftError} when `remote` is more than `maxDriftMs` ahead of `wallMs`; the clock
   * is left unchanged.
   */
  update (remote: bigint, wallMs: number): bigint {
    const driftMs = hlcPhysical(remote) - Math.floor(wallMs)
    if (driftMs > this.#maxDriftMs) {
      throw new ClockDriftError(driftMs, this.#maxDriftMs)
    }
    this.#last = next(remote > this.#last ? remote : this.#last, wallMs)
    return this.#last
  }

  /** The last timestamp issued, `0n` before the first. */
  last (): bigint {
    return this.#last
  }
}

/**
 * The Kulkarni send/receive rule in one step: the wall clock wins when it is ahead, otherwise the
 * logical counter of the latest known timestamp goes up by one (carrying into the physical part on
 * overflow).
 */
function next (latest: bigint, wallMs: number): bigint {
  const wall = makeHlc(Math.floor(wallMs), 0)
  return wall > latest ? wall : latest + 1n
}
