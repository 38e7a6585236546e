/** A small seeded random generator (mulberry32): the same seed gives the same schedule and traffic. */
export class Prng {
  private s: number
  constructor (seed: number) {
    this.s = seed >>> 0
  }

  /** a float in [0, 1) */
  next (): number {
    this.s = (this.s + 0x6D2B79F5) >>> 0
    let t = this.s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** an integer in [lo, hi] */
  int (lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  pick<T> (xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list')
    return xs[this.int(0, xs.length - 1)] as T
  }

  /** `k` distinct elements, in random order */
  sample<T> (xs: readonly T[], k: number): T[] {
    const a = [...xs]
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i)
      const t = a[i] as T
      a[i] = a[j] as T
      a[j] = t
    }
    return a.slice(0, Math.max(0, Math.min(k, a.length)))
  }
}
