/**
 * The volume scenario of test/hostile/volume.test.ts at a bigger size: node processes through the real
 * CLI, history pages and a backfill of several MiB each over the mesh, thousands of connections with
 * and without the mesh key; every node's RSS sampled throughout.
 *
 *   npm run build && npx node dist/test/bench/volume.js [--history-mib 1024] [--messages 2000]
 *     [--message-bytes 12000] [--senders 10] [--readers 3] [--keyed 3000] [--raw 4000]
 *     [--wrong-key 1000] [--concurrency 25] [--out test/bench/results/volume.json] [--verbose] [--note text]
 *
 * Prints the summary table and writes the full result (with the RSS samples) as JSON. Exits 1 when a
 * node process died or the final messages did not all arrive.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { MiB, runVolume, summary } from '../hostile/volume-rig.js'

const { values } = parseArgs({
  options: {
    'history-mib': { type: 'string', default: '1024' },
    messages: { type: 'string', default: '2000' },
    'message-bytes': { type: 'string', default: '12000' },
    senders: { type: 'string', default: '10' },
    readers: { type: 'string', default: '3' },
    keyed: { type: 'string', default: '3000' },
    raw: { type: 'string', default: '4000' },
    'wrong-key': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '25' },
    out: { type: 'string' },
    verbose: { type: 'boolean' },
    note: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  },
  strict: true
})

if (values.help === true) {
  console.log('usage: npx node dist/test/bench/volume.js [--history-mib N] [--messages N] [--message-bytes N] [--senders N] [--readers N] [--keyed N] [--raw N] [--wrong-key N] [--concurrency N] [--out file] [--verbose] [--note text]')
  process.exit(0)
}

const num = (name: string, v: string | undefined): number => {
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0, got ${String(v)}`)
  return n
}

/** the repository root: this file runs from dist/test/bench */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const out = resolve(values.out ?? `${ROOT}test/bench/results/volume.json`)

const result = await runVolume({
  historyBytes: num('history-mib', values['history-mib']) * MiB,
  messages: num('messages', values.messages),
  messageBytes: num('message-bytes', values['message-bytes']),
  senders: num('senders', values.senders),
  historyClients: num('readers', values.readers),
  keyedConnections: num('keyed', values.keyed),
  rawConnections: num('raw', values.raw),
  wrongKeyConnections: num('wrong-key', values['wrong-key']),
  concurrency: num('concurrency', values.concurrency),
  rssSampleMs: 1000,
  log: line => { console.log(line) },
  // with --verbose, node stderr (DEBUG=meshchat:* in the environment turns on their logs)
  stderr: values.verbose === true ? (node, line) => { console.error(`[${node}] ${line}`) } : undefined
})

console.log('')
console.log(summary(result))
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify({
  what: 'meshchat volume scenario: node processes, history pages and a backfill over the mesh, connection churn with and without the mesh key; bytes in bytes, times in ms',
  date: new Date().toISOString(),
  nodeVersion: process.version,
  cpus: cpus().length,
  ...(values.note != null ? { note: values.note } : {}),
  ...result
}, null, 2) + '\n')
console.log(`\nwrote ${out}`)
const ok = result.nodes.every(n => n.alive) && result.flow.receivedOnA + result.flow.receivedOnB === result.flow.sent
process.exit(ok ? 0 : 1)
