/**
 * A log-bucket latency histogram: bucket i holds values in [BASE·G^i, BASE·G^(i+1)) ms, so every
 * percentile is exact to within 2 % and histograms from several load generators merge by adding
 * counts. Values below BASE land in bucket 0.
 */
const BASE_MS = 0.01
const GROWTH = 1.02
const LOG_G = Math.log(GROWTH)

export interface HistogramData {
  /** sparse bucket index → count */
  buckets: Record<string, number>
  count: number
  sum: number
  min: number
  max: number
}

export class Histogram {
  private readonly counts = new Map<number, number>()
  count = 0
  sum = 0
  min = Infinity
  max = -Infinity

  record (ms: number): void {
    const v = Math.max(0, ms)
    const i = v <= BASE_MS ? 0 : Math.floor(Math.log(v / BASE_MS) / LOG_G)
    this.counts.set(i, (this.counts.get(i) ?? 0) + 1)
    this.count++
    this.sum += v
    if (v < this.min) this.min = v
    if (v > this.max) this.max = v
  }

  merge (d: HistogramData): this {
    for (const [k, n] of Object.entries(d.buckets)) {
      const i = Number(k)
      this.counts.set(i, (this.counts.get(i) ?? 0) + n)
    }
    this.count += d.count
    this.sum += d.sum
    if (d.count > 0) {
      this.min = Math.min(this.min, d.min)
      this.max = Math.max(this.max, d.max)
    }
    return this
  }

  /** the value below which a fraction `q` of samples fall (bucket upper bound, capped at the max seen) */
  quantile (q: number): number {
    if (this.count === 0) return NaN
    const rank = Math.max(1, Math.ceil(q * this.count))
    let seen = 0
    for (const i of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(i) ?? 0
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, BASE_MS * GROWTH ** (i + 1)))
    }
    return this.max
  }

  get mean (): number {
    return this.count === 0 ? NaN : this.sum / this.count
  }

  toJSON (): HistogramData {
    return {
      buckets: Object.fromEntries([...this.counts].map(([k, v]) => [String(k), v])),
      count: this.count,
      sum: this.sum,
      min: this.count === 0 ? 0 : this.min,
      max: this.count === 0 ? 0 : this.max
    }
  }

  static from (...data: HistogramData[]): Histogram {
    const h = new Histogram()
    for (const d of data) h.merge(d)
    return h
  }
}

/** p50/p99/p99.9/max of a histogram, rounded for tables and JSON */
export function summarize (h: Histogram): { count: number, p50: number, p99: number, p999: number, max: number, mean: number } {
  const r = (x: number): number => Number.isFinite(x) ? Math.round(x * 100) / 100 : NaN
  return { count: h.count, p50: r(h.quantile(0.5)), p99: r(h.quantile(0.99)), p999: r(h.quantile(0.999)), max: r(h.max), mean: r(h.mean) }
}
