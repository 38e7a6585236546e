/**
 * Throughput of the mesh's pnet cipher (XSalsa20Stream, node/src/mesh/pnet.ts, on libsodium and on
 * @noble/ciphers) against the `xsalsa20` package (WebAssembly) that @libp2p/pnet uses, one
 * continuous keystream per run, fed in fixed-size chunks (256 B is about one mesh message). All
 * allocate a fresh output buffer per chunk, as on a connection.
 *
 * Run compiled:
 *   npx tsc -p tsconfig.json && npx node dist/test/bench/pnet-throughput.js
 * Prints a table and writes test/bench/results/pnet-throughput.json (relative to the working directory).
 */
import { randomFillSync } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
// @ts-expect-error the xsalsa20 package ships no types (@libp2p/pnet, a dev dependency, depends on it)
import xsalsa20Untyped from 'xsalsa20'
import { XSalsa20Stream } from '../../node/src/mesh/pnet.js'

interface LegacyXSalsa20 { update: (input: Uint8Array, output?: Uint8Array) => Uint8Array, finalize: () => void }
const legacyXSalsa20 = xsalsa20Untyped as (nonce: Uint8Array, key: Uint8Array) => LegacyXSalsa20

const KiB = 1024
const CHUNKS = [256, 1 * KiB, 16 * KiB, 64 * KiB, 1024 * KiB]
/** bytes per timed run; enough for a few hundred ms at the slower cipher */
const BYTES_PER_RUN = 64 * 1024 * KiB
const RUNS = 5

const key = randomFillSync(new Uint8Array(32))
const nonce = randomFillSync(new Uint8Array(24))

/** MB/s (10^6 bytes) of one run through `xor` */
function run (xor: (chunk: Uint8Array) => Uint8Array, chunk: Uint8Array): number {
  const iterations = Math.ceil(BYTES_PER_RUN / chunk.byteLength)
  let sink = 0
  const started = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) sink ^= xor(chunk)[0] ?? 0
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (sink === 256) console.log('unreachable') // keeps the output observable
  return iterations * chunk.byteLength / 1e6 / seconds
}

function median (xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

const rows: Array<{ chunkBytes: number, libsodiumMBps: number, nobleMBps: number, xsalsa20MBps: number, libsodiumOverNoble: number }> = []
for (const size of CHUNKS) {
  const chunk = randomFillSync(new Uint8Array(size))
  const sodium = new XSalsa20Stream(key, nonce, 'libsodium')
  const noble = new XSalsa20Stream(key, nonce, 'noble')
  // one legacy cipher at a time: a 1 MiB chunk grows its shared memory, which breaks any other live one
  const legacy = legacyXSalsa20(nonce, key)
  const sodiumRuns: number[] = []
  const nobleRuns: number[] = []
  const legacyRuns: number[] = []
  try {
    // warm-up, then alternate so drift (thermal, other load) hits all alike
    run(c => sodium.xor(c), chunk)
    run(c => noble.xor(c), chunk)
    run(c => legacy.update(c), chunk)
    for (let r = 0; r < RUNS; r++) {
      sodiumRuns.push(run(c => sodium.xor(c), chunk))
      nobleRuns.push(run(c => noble.xor(c), chunk))
      legacyRuns.push(run(c => legacy.update(c), chunk))
    }
  } finally {
    legacy.finalize()
  }
  const libsodiumMBps = median(sodiumRuns)
  const nobleMBps = median(nobleRuns)
  const xsalsa20MBps = median(legacyRuns)
  rows.push({ chunkBytes: size, libsodiumMBps: Math.round(libsodiumMBps), nobleMBps: Math.round(nobleMBps), xsalsa20MBps: Math.round(xsalsa20MBps), libsodiumOverNoble: Number((libsodiumMBps / nobleMBps).toFixed(2)) })
}

console.table(Object.fromEntries(rows.map(r => [
  r.chunkBytes >= 1024 * KiB ? `${r.chunkBytes / 1024 / KiB} MiB` : r.chunkBytes >= KiB ? `${r.chunkBytes / KiB} KiB` : `${r.chunkBytes} B`,
  { 'meshPnet (libsodium) MB/s': r.libsodiumMBps, 'meshPnet (noble) MB/s': r.nobleMBps, 'xsalsa20 (wasm) MB/s': r.xsalsa20MBps, 'libsodium / noble': r.libsodiumOverNoble }
])))

const result = {
  what: 'XSalsa20 keystream XOR throughput, median of runs, MB = 10^6 bytes',
  bytesPerRun: BYTES_PER_RUN,
  runs: RUNS,
  rows,
  nodeVersion: process.version,
  date: new Date().toISOString()
}
const dir = join('test', 'bench', 'results')
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, 'pnet-throughput.json'), JSON.stringify(result, null, 2) + '\n')
