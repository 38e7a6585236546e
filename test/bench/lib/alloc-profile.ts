/**
 * Where a node's allocations are made: a sampling heap profile (`alloc-sampler.ts`, Chrome's
 * .heapprofile format, with the objects collected meanwhile kept in the counts) summed by component,
 * with the same buckets and caller rules as the CPU profiles (profile.ts: Node internals and shared
 * helpers count for their nearest caller that has a component), and the allocating functions with
 * the most bytes.
 *
 * Standalone: `node dist/test/bench/lib/alloc-profile.js <file.heapprofile>… [--deliveries n] [--top n]`
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { COMPONENTS, classify, shortUrl } from './profile.js'
import type { Component, CpuProfile, CpuProfileNode } from './profile.js'

export interface HeapProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber?: number }
  /** bytes sampled in this frame itself */
  selfSize: number
  children: HeapProfileNode[]
}

export interface HeapProfile {
  head: HeapProfileNode
}

export interface AllocRow { component: Component | 'idle', label: string, bytes: number, pct: number, bytesPerDelivery?: number }

export interface AllocTable {
  label: string
  totalBytes: number
  deliveries?: number
  bytesPerDelivery?: number
  rows: AllocRow[]
  top: Array<{ fn: string, where: string, component: string, bytes: number, pct: number }>
}

/** the profile's nodes, flat, in the shape `classify` takes (a tree of ids) */
function flatten (p: HeapProfile): { cpu: CpuProfile, self: Map<number, HeapProfileNode> } {
  const nodes: CpuProfileNode[] = []
  const self = new Map<number, HeapProfileNode>()
  const stack: HeapProfileNode[] = [p.head]
  while (stack.length > 0) {
    const n = stack.pop() as HeapProfileNode
    self.set(n.id, n)
    nodes.push({ id: n.id, callFrame: n.callFrame, children: n.children.map(c => c.id) })
    for (const c of n.children) stack.push(c)
  }
  return { cpu: { nodes, startTime: 0, endTime: 0, samples: [], timeDeltas: [] }, self }
}

/** bytes sampled per component and per allocating function, over one or more profiles */
export function summarizeAlloc (profiles: HeapProfile[], label: string, opts: { deliveries?: number, top?: number } = {}): AllocTable {
  const byComp = new Map<Component | 'idle', number>()
  const byFn = new Map<string, { fn: string, where: string, component: string, bytes: number }>()
  let total = 0
  for (const p of profiles) {
    const { cpu, self } = flatten(p)
    const comps = classify(cpu)
    for (const [id, n] of self) {
      if (n.selfSize <= 0) continue
      const comp = comps.get(id) ?? 'other'
      total += n.selfSize
      byComp.set(comp, (byComp.get(comp) ?? 0) + n.selfSize)
      const fn = n.callFrame.functionName === '' ? '(anonymous)' : n.callFrame.functionName
      const where = shortUrl(n.callFrame.url)
      const key = `${fn}\0${where}\0${comp}`
      const row = byFn.get(key) ?? { fn, where, component: comp, bytes: 0 }
      row.bytes += n.selfSize
      byFn.set(key, row)
    }
  }
  const per = (b: number): number | undefined => opts.deliveries != null && opts.deliveries > 0 ? b / opts.deliveries : undefined
  const pct = (b: number): number => total > 0 ? b / total * 100 : 0
  const labelOf = (c: Component | 'idle'): string => COMPONENTS.find(x => x.id === c)?.label ?? c
  const rows: AllocRow[] = [...byComp].sort((a, b) => b[1] - a[1]).map(([component, bytes]) => {
    const b = per(bytes)
    return { component, label: labelOf(component), bytes, pct: pct(bytes), ...(b == null ? {} : { bytesPerDelivery: b }) }
  })
  const top = [...byFn.values()].sort((a, b) => b.bytes - a.bytes).slice(0, Math.max(0, opts.top ?? 20))
    .map(r => ({ ...r, component: labelOf(r.component as Component), pct: pct(r.bytes) }))
  const bpd = per(total)
  return { label, totalBytes: total, ...(opts.deliveries == null ? {} : { deliveries: opts.deliveries }), ...(bpd == null ? {} : { bytesPerDelivery: bpd }), rows, top }
}

const mb = (b: number): string => (b / 1048576).toFixed(1)

/** the table by component, then the allocating functions, as markdown */
export function allocTable (t: AllocTable): string {
  const perCol = t.bytesPerDelivery != null
  const head = `**${t.label}**: ${mb(t.totalBytes)} MiB sampled${t.deliveries != null ? ` over ${t.deliveries.toLocaleString('en-US')} deliveries` : ''}${t.bytesPerDelivery != null ? `, ${Math.round(t.bytesPerDelivery).toLocaleString('en-US')} B per delivery` : ''}.`
  const comp = [
    `| component | MiB | % of bytes |${perCol ? ' B per delivery |' : ''}`,
    `|---|---:|---:|${perCol ? '---:|' : ''}`,
    ...t.rows.map(r => `| ${r.label} | ${mb(r.bytes)} | ${r.pct.toFixed(1)} % |${perCol ? ` ${Math.round(r.bytesPerDelivery ?? 0).toLocaleString('en-US')} |` : ''}`)
  ]
  const fns = t.top.length === 0
    ? []
    : ['', '| function | script | component | MiB | % of bytes |', '|---|---|---|---:|---:|',
        ...t.top.map(r => `| ${r.fn} | ${r.where} | ${r.component} | ${mb(r.bytes)} | ${r.pct.toFixed(1)} % |`)]
  return [head, '', ...comp, ...fns].join('\n')
}

/** a .heapprofile file; an Error naming the file when it is not one */
export function readHeapProfile (path: string): HeapProfile {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Partial<HeapProfile> | null
  if (p?.head == null || !Array.isArray(p.head.children)) throw new Error(`${path} is not a sampling heap profile (.heapprofile): it has no head frame`)
  return p as HeapProfile
}

if (process.argv[1] != null && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { deliveries: { type: 'string' }, top: { type: 'string' } } })
  if (positionals.length === 0) {
    console.error('usage: node dist/test/bench/lib/alloc-profile.js <file.heapprofile>… [--deliveries n] [--top n]')
    process.exit(2)
  }
  const deliveries = values.deliveries == null ? undefined : Number(values.deliveries)
  for (const f of positionals) {
    let profile: HeapProfile
    try {
      profile = readHeapProfile(f)
    } catch (err) {
      console.error((err as Error).message)
      process.exit(2)
    }
    console.log(allocTable(summarizeAlloc([profile], f, { ...(deliveries == null ? {} : { deliveries }), top: Number(values.top ?? 20) })))
    console.log('')
  }
}
