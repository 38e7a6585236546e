/**
 * A room message's server CPU, this build against another, in alternating pairs of
 * `message-cost.js` runs (see message-cost.ts for what one run measures):
 *
 *   node dist/test/bench/message-cost-ab.js --against <dir> [--pairs 3] [--nodes 1,2] [--rooms 10] [--members 10] [--rate 100] [--seconds 10] [--out file]
 *
 * `<dir>` is another checkout of meshchat with its build (`npm install && npm run build` there;
 * `git worktree add <dir> <rev>` makes one). Each pair runs both builds back to back, the other build
 * first in the first pair and the order flipped in every pair after it. Prints, per node count, each
 * pair's CPU per delivered message (all server processes, and with the idle rate taken off) and
 * this ÷ other; then the means, the median ratio and the range of the ratios. Run it against the
 * same build (`--against .`) to see how far two runs of one build differ here. Writes JSON (default
 * test/bench/results/message-cost-ab.json).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { summarizePairs, thisFirst } from './lib/pairs.js'
import type { PairSummary } from './lib/pairs.js'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')
const SCRIPT = join('dist', 'test', 'bench', 'message-cost.js')

const { values: argv } = parseArgs({
  options: {
    against: { type: 'string' }, pairs: { type: 'string' }, nodes: { type: 'string' }, rooms: { type: 'string' },
    members: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, out: { type: 'string' }
  }
})
const other = argv.against == null ? undefined : resolve(argv.against)
const pairs = Number(argv.pairs ?? 3)
if (other == null || !existsSync(join(other, SCRIPT))) {
  console.error(`--against takes another meshchat checkout with its build (${other == null ? 'none given' : `${join(other, SCRIPT)} is missing: run npm run build there`})`)
  process.exit(2)
}
if (!Number.isInteger(pairs) || pairs < 1 || pairs > 20) {
  console.error('--pairs takes 1 to 20')
  process.exit(2)
}
// message-cost.js checks these itself; they are passed on as given
const passed: string[] = []
for (const k of ['nodes', 'rooms', 'members', 'rate', 'seconds'] as const) {
  const v = argv[k]
  if (v != null) passed.push(`--${k}`, v)
}
const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'message-cost-ab.json')

interface RunRow { nodes: number, usPerDelivery: number, netUsPerDelivery: number, deliveredShare: number, sendErrors: number }
interface Run { build: 'this' | 'other', pair: number, rows: RunRow[] }

const scratch = mkdtempSync(join(tmpdir(), 'meshchat-ab-'))
const runs: Run[] = []
try {
  for (let i = 0; i < pairs; i++) {
    const order: Array<'this' | 'other'> = thisFirst(i) ? ['this', 'other'] : ['other', 'this']
    for (const build of order) {
      const dir = build === 'this' ? ROOT : other
      const file = join(scratch, `${build}-${i}.json`)
      console.error(`pair ${i + 1} of ${pairs}: ${build} build (${dir})`)
      const r = spawnSync(process.execPath, [join(dir, SCRIPT), ...passed, '--out', file], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], timeout: 30 * 60_000 })
      if (r.status !== 0) throw new Error(`message-cost.js of the ${build} build exited with ${r.status ?? r.signal}`)
      const res = JSON.parse(readFileSync(file, 'utf8')) as { rows: RunRow[] }
      runs.push({ build, pair: i, rows: res.rows })
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}

const nodeCounts = [...new Set(runs.flatMap(r => r.rows.map(x => x.nodes)))].sort((a, b) => a - b)
const f1 = (x: number): string => x.toFixed(1)
const f2 = (x: number): string => x.toFixed(2)
const summaries: Array<{ nodes: number, gross: PairSummary, net: PairSummary }> = []
console.log(`this build ${ROOT} against ${other}: ${pairs} alternating pairs of message-cost.js ${passed.join(' ')}\n`)
for (const n of nodeCounts) {
  const row = (build: 'this' | 'other', i: number): RunRow => {
    const r = runs.find(x => x.build === build && x.pair === i)?.rows.find(x => x.nodes === n)
    if (r == null) throw new Error(`no ${n}-node row in pair ${i + 1} of the ${build} build`)
    return r
  }
  const gross: Array<[number, number]> = []
  const net: Array<[number, number]> = []
  console.log(`**${n} node(s)**: all servers' CPU per delivered message, µs (with the idle rate taken off)\n`)
  console.log('| pair | first | this build | other build | this ÷ other | net: this ÷ other | delivered (this / other) |')
  console.log('|---:|---|---:|---:|---:|---:|---|')
  for (let i = 0; i < pairs; i++) {
    const a = row('this', i)
    const b = row('other', i)
    gross.push([a.usPerDelivery, b.usPerDelivery])
    net.push([a.netUsPerDelivery, b.netUsPerDelivery])
    console.log(`| ${i + 1} | ${thisFirst(i) ? 'this' : 'other'} | ${a.usPerDelivery} (${a.netUsPerDelivery}) | ${b.usPerDelivery} (${b.netUsPerDelivery}) | ${f2(a.usPerDelivery / b.usPerDelivery)} | ${f2(a.netUsPerDelivery / b.netUsPerDelivery)} | ${(a.deliveredShare * 100).toFixed(1)} % / ${(b.deliveredShare * 100).toFixed(1)} % |`)
  }
  const g = summarizePairs(gross)
  const s = summarizePairs(net)
  summaries.push({ nodes: n, gross: g, net: s })
  console.log(`\nmeans ${f1(g.meanThis)} against ${f1(g.meanOther)} µs (net ${f1(s.meanThis)} against ${f1(s.meanOther)}); this ÷ other: median ${f2(g.medianRatio)}, from ${f2(g.minRatio)} to ${f2(g.maxRatio)} (net: median ${f2(s.medianRatio)}, ${f2(s.minRatio)} to ${f2(s.maxRatio)}); this build lower in ${g.lowerIn} of ${g.pairs} pairs\n`)
}
writeFileSync(out, JSON.stringify({ kind: 'message-cost-ab', at: new Date().toISOString(), this: ROOT, other, pairs, args: passed, runs, summaries }, null, 2) + '\n')
console.log(`results: ${out}`)
