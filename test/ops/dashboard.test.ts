import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { OpsRig, waitUntil } from './cli-proc.js'

const ROOT = resolve(import.meta.dirname, '..', '..')

interface Panel { id: number, type: string, title: string, targets?: Array<{ expr: string, datasource?: { uid?: string } }>, gridPos: { x: number, y: number, w: number, h: number } }

/** metric families a Prometheus text exposition declares (# TYPE lines) */
function families (text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1] ?? '', m[2] ?? '')
  return out
}

/** the metric a PromQL name refers to: histogram series carry _bucket, _sum and _count */
function family (name: string, known: Map<string, string>): string | undefined {
  if (known.has(name)) return name
  const base = name.replace(/_(bucket|sum|count)$/, '')
  return known.get(base) === 'histogram' || known.get(base) === 'summary' ? base : undefined
}

/**
 * The Grafana dashboard in deploy/ against what real processes export: a
 * bootstrap daemon (--http) and a node (--metrics-listen, its admin listener)
 * from the CLI are scraped, and every metric every panel's query names must
 * be one of theirs. The Prometheus config must scrape the jobs the dashboard
 * selects. Needs the build.
 */
describe('the dashboard and the metrics', () => {
  const rig = new OpsRig()
  afterAll(async () => { await rig.cleanup() })

  it('every query of the dashboard names a metric the node or the bootstrap exports', async () => {
    const dash = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'meshchat-dashboard.json'), 'utf8')) as { uid: string, panels: Panel[], templating: { list: Array<{ name: string, type: string }> } }
    expect(dash.templating.list.find(v => v.name === 'datasource')?.type).toBe('datasource')
    const ids = dash.panels.map(p => p.id)
    expect(new Set(ids).size, 'panel ids are unique').toBe(ids.length)
    const queries = dash.panels.flatMap(p => (p.targets ?? []).map(t => ({ panel: p.title, expr: t.expr, ds: t.datasource?.uid })))
    expect(queries.length).toBeGreaterThan(20)
    for (const q of queries) expect(q.ds, q.panel).toBe('${datasource}')

    const meshKey = rig.meshKey()
    const { line: b, proc: boot } = await rig.bootstrap(meshKey, ['--http', '127.0.0.1:0'])
    const node = rig.node('node', meshKey, ['--metrics-listen', '127.0.0.1:0', '--bootstrap', (b.addrs as string[])[0] ?? ''])
    const n = await node.waitFor(l => l.msg === 'node started', 'node started')
    const admin = String(n.admin)
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    await waitUntil(async () => (await fetch(`${admin}/readyz`)).status === 200, 'node ready', 30_000)
    // /metrics moved to the admin listener
    expect((await fetch(`${String(n.http)}/metrics`)).status).toBe(404)
    const nodeText = await (await fetch(`${admin}/metrics`)).text()
    const bootText = await (await fetch(`${String(b.http)}/metrics`)).text()
    expect((await fetch(`${String(b.http)}/healthz`)).status).toBe(200)
    const nodeFamilies = families(nodeText)
    const bootFamilies = families(bootText)
    expect(nodeText).toMatch(/^meshchat_build_info\{version="\d+\.\d+\.\d+",node="v\d+/m)
    expect(bootText).toMatch(/^meshchat_build_info\{version="\d+\.\d+\.\d+",node="v\d+/m)
    expect(nodeText).toMatch(/^meshchat_ready 1$/m)
    expect(nodeText).toMatch(/^meshchat_store_bytes [1-9]\d*$/m)

    const missing: string[] = []
    for (const q of queries) {
      const names = [...q.expr.matchAll(/\b((?:meshchat|process|nodejs|libp2p)_[a-z0-9_]+)/g)].map(m => m[1] ?? '')
      expect(names.length, `${q.panel}: ${q.expr} names a metric`).toBeGreaterThan(0)
      const onBootstrap = q.expr.includes('job="meshchat-bootstrap"')
      for (const name of names) {
        const inNode = family(name, nodeFamilies) != null
        const inBoot = family(name, bootFamilies) != null
        if (onBootstrap ? !inBoot : !(inNode || inBoot)) missing.push(`${q.panel}: ${name}`)
      }
    }
    expect(missing, 'metrics the dashboard queries but no process exports').toEqual([])

    // Prometheus scrapes the jobs the dashboard selects on
    const prom = parseYaml(readFileSync(join(ROOT, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ job_name: string }> }
    const jobs = new Set(prom.scrape_configs.map(s => s.job_name))
    for (const q of queries) {
      for (const m of q.expr.matchAll(/job="([^"]+)"/g)) expect(jobs.has(m[1] ?? ''), `job ${m[1]} scraped`).toBe(true)
    }
    expect(await node.stop()).toBe(0)
    expect(await boot.stop()).toBe(0)
  }, 120_000)
})
