/** A just-enough parser for the Prometheus text format served on /metrics. */
export interface Sample { name: string, labels: Record<string, string>, value: number }

export class Metrics {
  readonly samples: Sample[]
  constructor (samples: Sample[]) {
    this.samples = samples
  }

  static parse (text: string): Metrics {
    const out: Sample[] = []
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line)
      if (m == null) continue
      const labels: Record<string, string> = {}
      for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = l[2] ?? ''
      out.push({ name: m[1] ?? '', labels, value: Number(m[4]) })
    }
    return new Metrics(out)
  }

  has (name: string): boolean {
    return this.samples.some(s => s.name === name)
  }

  /** sum of every sample of `name` whose labels include `where` */
  sum (name: string, where: Record<string, string> = {}): number {
    let total = 0
    for (const s of this.samples) {
      if (s.name !== name) continue
      if (Object.entries(where).every(([k, v]) => s.labels[k] === v)) total += s.value
    }
    return total
  }
}

export async function fetchMetrics (url: string): Promise<Metrics> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  return Metrics.parse(await res.text())
}

export async function fetchJson<T> (url: string, timeoutMs = 2000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`)
  return await res.json() as T
}
