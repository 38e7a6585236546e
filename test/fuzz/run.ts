/**
 * `npm run fuzz [-- options]`: every fuzz target of test/fuzz/targets.ts at 10^6 inputs (default),
 * in batches of fresh fast-check runs (seeds seed, seed + 1, ... for every target, so a target's
 * run does not depend on which others ran), with memory sampled throughout. Prints a table per
 * target and writes test/bench/results/fuzz.json. Exit code 1 when any property failed or anything
 * escaped to the process (unhandled rejection, uncaught exception).
 *
 * Memory, per target: the JS heap and the ArrayBuffer memory after a full collection (what is
 * retained) at the start, after each batch and at the end, and the process RSS (sampled every
 * 100 ms, so its peak includes garbage not yet collected). RSS is the whole process's: a target
 * starts from where the previous one left it. Bounded memory shows as a flat second half: the
 * figures at half the inputs and at the end.
 *
 * Run with --expose-gc (the npm script does) so heap figures are taken after a full collection.
 * `--merge a.json,b.json` combines the result files of runs made side by side (each with --only
 * and its own --out) into one file.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { TARGETS, closeFuzzContext, createFuzzContext, nodeState } from './targets.js'
import type { TargetOutcome } from './targets.js'

const HELP = `npm run fuzz [-- options]

  --runs <n>         inputs per target (default 1000000)
  --only <names>     comma-separated targets (default all): ${Object.keys(TARGETS).join(', ')}
  --batch <n>        inputs per fast-check run (default 20000)
  --seed <n>         seed of the first batch of each target (default: random; printed)
  --max-seconds <n>  stop a target after the batch that crosses this many seconds (default 0 = no limit)
  --out <file>       JSON results (default test/bench/results/fuzz.json)
  --merge <files>    comma-separated result files to combine into --out (runs nothing)
  --help             this text`

const { values: argv } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000000' },
    only: { type: 'string' },
    batch: { type: 'string', default: '20000' },
    seed: { type: 'string' },
    'max-seconds': { type: 'string', default: '0' },
    out: { type: 'string' },
    merge: { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})

if (argv.help) {
  console.log(HELP)
  process.exit(0)
}

function repoRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('package.json not found above the fuzz runner')
    dir = up
  }
  return dir
}

const runs = Number(argv.runs)
const batch = Math.max(1, Number(argv.batch))
const maxSeconds = Number(argv['max-seconds'])
const baseSeed = argv.seed != null ? Number(argv.seed) : Math.floor(Math.random() * 2_000_000_000)
const names = argv.only != null ? argv.only.split(',').map(s => s.trim()).filter(Boolean) : Object.keys(TARGETS)
for (const n of names) {
  if (TARGETS[n] == null) {
    console.error(`unknown target ${n}; targets: ${Object.keys(TARGETS).join(', ')}`)
    process.exit(2)
  }
}
if (!Number.isInteger(runs) || runs <= 0) {
  console.error('--runs must be a positive whole number')
  process.exit(2)
}
const outFile = argv.out ?? join(repoRoot(), 'test', 'bench', 'results', 'fuzz.json')

/** the code under test: commit, and how many files differ from it */
function codeVersion (): { commit: string, dirtyFiles: number } {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    return { commit: git('rev-parse', '--short', 'HEAD').trim(), dirtyFiles: git('status', '--porcelain').split('\n').filter(Boolean).length }
  } catch {
    return { commit: 'unknown', dirtyFiles: 0 }
  }
}
const version = codeVersion()

const gc = (globalThis as { gc?: () => void }).gc
const MB = 1024 * 1024
const mb = (n: number): number => Math.round(n / MB * 10) / 10

/** anything that escapes to the process is a finding, not a reason to stop */
const escaped: string[] = []
process.on('unhandledRejection', err => { escaped.push(`unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`) })
process.on('uncaughtException', err => { escaped.push(`uncaught exception: ${err.stack ?? err.message}`) })

interface TargetResult {
  target: string
  inputs: number
  seconds: number
  inputsPerSecond: number
  failures: number
  firstSeed: number
  batches: number
  stoppedEarly: boolean
  /** the target was still running when this was saved (the run was cut short) */
  running: boolean
  /** JS heap in use after a full collection: at the start, after half the inputs, at the end, and the most after any batch */
  heapUsedBeforeMB: number
  heapUsedMidMB: number
  heapUsedAfterMB: number
  heapUsedMaxMB: number
  /** ArrayBuffer memory (outside the JS heap) after a full collection, the same four points */
  arrayBuffersStartMB: number
  arrayBuffersMidMB: number
  arrayBuffersEndMB: number
  arrayBuffersMaxMB: number
  /** process RSS: at the start, after half the inputs, at the end, and the highest sample */
  rssStartMB: number
  rssMidMB: number
  rssEndMB: number
  rssPeakMB: number
  /** after each batch: [inputs, heap MB, ArrayBuffers MB, RSS MB] */
  samples: Array<[number, number, number, number]>
  /** longest the event loop was blocked while the target ran (a 20 ms timer that fired late) */
  maxStallMs: number
  escaped: string[]
  reports: string[]
  /** outcomes seen, most frequent first (reply kinds, error codes, validator results, ...) */
  outcomes: Record<string, number>
  nodeStateAfter: Record<string, number>
}

function settle (): void {
  gc?.()
  gc?.()
}

function row (cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`
}

const HEAD = ['target', 'inputs', 's', 'inputs/s', 'failures', 'heap MB start → half → end (max)', 'ArrayBuffers MB start → half → end (max)', 'RSS MB start → half → end', 'peak RSS MB', 'max stall ms']

function tableRow (r: TargetResult): string {
  return row([
    r.target,
    r.inputs.toLocaleString('en-US'),
    r.seconds.toFixed(1),
    Math.round(r.inputsPerSecond).toLocaleString('en-US'),
    r.failures + r.escaped.length,
    `${r.heapUsedBeforeMB} → ${r.heapUsedMidMB} → ${r.heapUsedAfterMB} (${r.heapUsedMaxMB})`,
    `${r.arrayBuffersStartMB} → ${r.arrayBuffersMidMB} → ${r.arrayBuffersEndMB} (${r.arrayBuffersMaxMB})`,
    `${r.rssStartMB} → ${r.rssMidMB} → ${r.rssEndMB}`,
    r.rssPeakMB,
    r.maxStallMs
  ])
}

function printTable (results: TargetResult[]): void {
  console.log(row(HEAD))
  console.log(row(HEAD.map(() => '---')))
  for (const r of results) console.log(tableRow(r))
}

/** with --only, the other targets' results already in the file are kept (a rerun of one target updates its row) */
function previous (): TargetResult[] {
  if (argv.only == null || !existsSync(outFile)) return []
  try {
    const old = JSON.parse(readFileSync(outFile, 'utf8')) as { results?: TargetResult[] }
    return (old.results ?? []).filter(r => !names.includes(r.target))
  } catch {
    return []
  }
}

const kept = previous()

function save (mine: TargetResult[], done: boolean, started: number): void {
  const order = Object.keys(TARGETS)
  const results = [...kept, ...mine].sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target))
  mkdirSync(dirname(outFile), { recursive: true })
  writeFileSync(outFile, JSON.stringify({
    date: new Date(started).toISOString(),
    /** targets run by this invocation (with --only, the file also keeps earlier results of the others) */
    ranNow: mine.map(r => r.target),
    code: version,
    complete: done,
    runsPerTarget: runs,
    batch,
    baseSeed,
    node: process.version,
    gcExposed: gc != null,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', totalMemMB: mb(totalmem()) },
    processPeakRssMB: Math.round(process.resourceUsage().maxRSS / 1024 * 10) / 10,
    totalSeconds: Math.round((Date.now() - started) / 100) / 10,
    results
  }, null, 2) + '\n')
}

async function main (): Promise<number> {
  const started = Date.now()
  console.log(`meshchat fuzz (commit ${version.commit}${version.dirtyFiles > 0 ? ` + ${version.dirtyFiles} changed files` : ''}): ${runs.toLocaleString('en-US')} inputs per target, batches of ${batch.toLocaleString('en-US')}, seed ${baseSeed}, node ${process.version}${gc == null ? ' (no --expose-gc: heap figures include garbage)' : ''}`)
  const ctx = await createFuzzContext()
  const results: TargetResult[] = []
  try {
    for (const name of names) {
      const target = TARGETS[name]!
      settle()
      const m0 = process.memoryUsage()
      let rssPeak = m0.rss
      let heapMax = m0.heapUsed
      let abMax = m0.arrayBuffers
      let mid: NodeJS.MemoryUsage | undefined
      const samples: TargetResult['samples'] = []
      let seed = baseSeed
      let tick = 0
      let collecting = false
      let last = performance.now()
      let maxStall = 0
      const sampler = setInterval(() => {
        const now = performance.now()
        if (!collecting) maxStall = Math.max(maxStall, now - last - 20)
        last = now
        if (++tick % 5 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage.rss())
      }, 20)
      sampler.unref()
      const escapedBefore = escaped.length
      ctx.outcomes.clear()
      const t0 = performance.now()
      const firstSeed = seed
      let inputs = 0
      let batches = 0
      let failures = 0
      let stoppedEarly = false
      const reports: string[] = []
      /** the target's figures so far (`running`: saved after every batch, so a run cut short keeps what it did) */
      const resultOf = (m1: NodeJS.MemoryUsage, running: boolean): TargetResult => {
        const seconds = (performance.now() - t0) / 1000
        const half = mid ?? m1
        return {
          target: name,
          inputs,
          seconds: Math.round(seconds * 10) / 10,
          inputsPerSecond: Math.round(inputs / seconds),
          failures,
          firstSeed,
          batches,
          stoppedEarly,
          running,
          heapUsedBeforeMB: mb(m0.heapUsed),
          heapUsedMidMB: mb(half.heapUsed),
          heapUsedAfterMB: mb(m1.heapUsed),
          heapUsedMaxMB: mb(Math.max(heapMax, m1.heapUsed)),
          arrayBuffersStartMB: mb(m0.arrayBuffers),
          arrayBuffersMidMB: mb(half.arrayBuffers),
          arrayBuffersEndMB: mb(m1.arrayBuffers),
          arrayBuffersMaxMB: mb(Math.max(abMax, m1.arrayBuffers)),
          rssStartMB: mb(m0.rss),
          rssMidMB: mb(half.rss),
          rssEndMB: mb(m1.rss),
          rssPeakMB: mb(Math.max(rssPeak, m1.rss)),
          samples,
          maxStallMs: Math.round(maxStall),
          escaped: escaped.slice(escapedBefore),
          reports,
          outcomes: Object.fromEntries([...ctx.outcomes].sort((a, b) => b[1] - a[1])),
          nodeStateAfter: nodeState(ctx)
        }
      }
      while (inputs < runs) {
        const n = Math.min(batch, runs - inputs)
        let out: TargetOutcome
        try {
          out = await target(ctx, { numRuns: n, seed: seed++ })
        } catch (err) {
          // a target throws only if the harness itself broke
          out = { target: name, seed: seed - 1, runs: 0, failed: true, report: `the target threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` }
        }
        batches++
        inputs += out.runs
        if (out.failed) {
          failures++
          if (reports.length < 5) reports.push(out.report ?? '')
          console.log(`\n${name}: FAILURE in batch ${batches}\n${out.report ?? ''}\n`)
          // a failing batch stops at its first failure; go on with the next seed
          if (out.runs === 0) break
        }
        const mem = process.memoryUsage()
        rssPeak = Math.max(rssPeak, mem.rss)
        // the forced collections between batches are the runner's, not an input's: keep them out of the stall figure
        collecting = true
        settle()
        setImmediate(() => { collecting = false })
        const after = process.memoryUsage()
        heapMax = Math.max(heapMax, after.heapUsed)
        abMax = Math.max(abMax, after.arrayBuffers)
        rssPeak = Math.max(rssPeak, after.rss)
        if (mid == null && inputs * 2 >= runs) mid = after
        samples.push([inputs, mb(after.heapUsed), mb(after.arrayBuffers), mb(after.rss)])
        save([...results, resultOf(after, true)], false, started)
        const secs = (performance.now() - t0) / 1000
        process.stdout.write(`\r${name}: ${inputs.toLocaleString('en-US')} / ${runs.toLocaleString('en-US')} inputs, ${secs.toFixed(0)} s, ${Math.round(inputs / secs).toLocaleString('en-US')}/s, heap ${mb(after.heapUsed)} MB, ArrayBuffers ${mb(after.arrayBuffers)} MB, RSS ${mb(after.rss)} MB, failures ${failures}   `)
        if (maxSeconds > 0 && secs > maxSeconds && inputs < runs) {
          stoppedEarly = true
          break
        }
      }
      clearInterval(sampler)
      settle()
      const r = resultOf(process.memoryUsage(), false)
      results.push(r)
      process.stdout.write('\n')
      printTable([r])
      console.log(`  node state after: ${JSON.stringify(r.nodeStateAfter)}${stoppedEarly ? `  (stopped after ${maxSeconds} s)` : ''}`)
      console.log(`  outcomes: ${Object.entries(r.outcomes).slice(0, 14).map(([k, v]) => `${k} ${v}`).join(', ')}`)
      for (const e of r.escaped) console.log(`  ESCAPED: ${e}`)
      save(results, false, started)
    }
  } finally {
    await closeFuzzContext(ctx).catch(err => { console.error('stopping the fuzz node failed', err) })
  }
  console.log(`\nall targets (${((Date.now() - started) / 1000).toFixed(0)} s, process peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB, seeds from ${baseSeed} for each target):\n`)
  printTable(results)
  save(results, true, started)
  console.log(`\nresults: ${outFile}`)
  const bad = results.some(r => r.failures > 0 || r.escaped.length > 0) || escaped.length > 0
  return bad ? 1 : 0
}

/** --merge: one result file from runs made side by side; each part keeps its own process figures */
function merge (files: string[]): number {
  interface Part { date: string, ranNow: string[], code: unknown, complete: boolean, runsPerTarget: number, batch: number, baseSeed: number, node: string, gcExposed: boolean, machine: unknown, processPeakRssMB: number, totalSeconds: number, results: TargetResult[] }
  const parts = files.map(f => JSON.parse(readFileSync(f, 'utf8')) as Part)
  const order = Object.keys(TARGETS)
  // a target in two files (a run stopped mid-target and run again elsewhere): the finished one, else the one that got further
  const best = new Map<string, TargetResult>()
  for (const r of parts.flatMap(p => p.results)) {
    const cur = best.get(r.target)
    if (cur == null || (cur.running && !r.running) || (cur.running === r.running && r.inputs > cur.inputs)) best.set(r.target, r)
  }
  const results = [...best.values()].sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target))
  const same = <T>(pick: (p: Part) => T): T | 'mixed' => parts.every(p => JSON.stringify(pick(p)) === JSON.stringify(pick(parts[0]!))) ? pick(parts[0]!) : 'mixed'
  mkdirSync(dirname(outFile), { recursive: true })
  writeFileSync(outFile, JSON.stringify({
    date: parts.map(p => p.date).sort()[0],
    ranNow: results.map(r => r.target),
    code: same(p => p.code),
    complete: parts.every(p => p.complete) && order.every(t => results.some(r => r.target === t)),
    runsPerTarget: same(p => p.runsPerTarget),
    batch: same(p => p.batch),
    baseSeed: same(p => p.baseSeed),
    node: same(p => p.node),
    gcExposed: parts.every(p => p.gcExposed),
    machine: same(p => p.machine),
    /** the processes that ran side by side, sharing the machine */
    parts: parts.map(p => ({ targets: p.results.filter(r => best.get(r.target) === r).map(r => r.target), date: p.date, code: p.code, processPeakRssMB: p.processPeakRssMB, totalSeconds: p.totalSeconds, complete: p.complete })),
    processPeakRssMB: Math.max(...parts.map(p => p.processPeakRssMB)),
    totalSeconds: Math.max(...parts.map(p => p.totalSeconds)),
    results
  }, null, 2) + '\n')
  console.log(`merged ${files.length} files (${results.length} targets) into ${outFile}`)
  printTable(results)
  return results.some(r => r.failures > 0 || r.escaped.length > 0) ? 1 : 0
}

if (argv.merge != null) {
  process.exit(merge(argv.merge.split(',').map(s => s.trim()).filter(Boolean)))
}

main().then(code => { process.exit(code) }, err => {
  console.error(err)
  process.exit(1)
})
