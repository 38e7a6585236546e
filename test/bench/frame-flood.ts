/**
 * What a keyed peer's large frames cost a node's memory: a node process (the real CLI) and a peer
 * holding the mesh key that opens S streams of the user directory's request protocol at once and
 * sends on each one frame of F MiB (its length prefix, then the body in 1 MiB chunks; the body does
 * not decode). Run twice: with the node's default byte budget for directory frames (1 MiB/s, a
 * burst of 32 MiB, charged at each frame's length prefix) and with the budget lifted
 * (`directoryBytesPerSec` and `directoryBurstBytes` at 1 TiB in a config file), which is how every
 * frame was taken before the budget existed: read whole into memory, then decoded.
 *
 *   node dist/test/bench/frame-flood.js [--streams 16] [--frame-mib 60] [--out file]
 *
 * The node's RSS is read from /proc every 50 ms from before the first stream opens until every
 * stream has ended; the table gives its peak above the reading before, and what each stream was
 * answered. Writes JSON (default test/bench/results/frame-flood.json).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { BootstrapDaemon } from '../../bootstrap/src/bootstrap.js'
import { readFrames } from '../../client/src/protocol/codec.js'
import { DirResponse } from '../../client/src/protocol/pb/directory.js'
import { errorFromCode } from '../../client/src/protocol/errors.js'
import { newMeshKey } from '../../node/src/keys.js'
import { createMeshHost } from '../../node/src/mesh/mesh-host.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { DIRECTORY_PROTOCOL } from '../../node/src/mesh/directory-service.js'
import { spawnNode } from '../helpers/process-node.js'
import { lengthPrefix } from '../helpers/raw-client.js'
import { table } from './lib/report.js'
import type { Stream } from '@libp2p/interface'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')
const MiB = 1024 * 1024

const { values: argv } = parseArgs({ options: { streams: { type: 'string' }, 'frame-mib': { type: 'string' }, out: { type: 'string' } } })
const streams = Number(argv.streams ?? 16)
const frameMiB = Number(argv['frame-mib'] ?? 60)
if (!Number.isInteger(streams) || streams < 1 || streams > 64 || !Number.isInteger(frameMiB) || frameMiB < 1 || frameMiB > 63) {
  console.error('--streams takes 1 to 64 (the protocol takes 64 at a time), --frame-mib 1 to 63 (the frame limit is 64 MiB)')
  process.exit(2)
}
const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'frame-flood.json')

function rssBytes (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m == null ? NaN : Number(m[1]) * 1024
}

interface Row {
  budget: string
  streams: number
  frameMiB: number
  rssBeforeMiB: number
  rssPeakMiB: number
  peakGrowthMiB: number
  answers: Record<string, number>
  seconds: number
}

/** send one frame of `bytes` on `stream` (prefix, then 1 MiB chunks, waiting for the stream to drain) and read its answer */
async function flood (stream: Stream, bytes: number): Promise<string> {
  const answer = (async (): Promise<string> => {
    for await (const frame of readFrames(stream, 1 << 20)) {
      const res = DirResponse.decode(frame)
      return res.error != null ? errorFromCode(res.error.code, res.error.message).codeName : 'ok'
    }
    return 'stream ended'
  })().catch((err: Error) => `stream failed (${err.name})`)
  try {
    stream.send(lengthPrefix(bytes))
    const chunk = new Uint8Array(MiB).fill(0xff)
    for (let sent = 0; sent < bytes; sent += MiB) {
      if (stream.writeStatus !== 'writable') break
      if (!stream.send(chunk.subarray(0, Math.min(MiB, bytes - sent)))) await stream.onDrain({ signal: AbortSignal.timeout(60_000) })
    }
  } catch {
    // the node reset the stream: its answer (or the reset) says why
  }
  return await answer
}

async function run (budget: 'default' | 'lifted'): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'meshchat-frame-flood-'))
  const meshKey = newMeshKey()
  const keyPath = join(dir, 'swarm.key')
  await writeFile(keyPath, meshKey)
  const extraArgs: string[] = []
  if (budget === 'lifted') {
    const config = join(dir, 'node.yaml')
    await writeFile(config, `directoryBytesPerSec: ${2 ** 40}\ndirectoryBurstBytes: ${2 ** 40}\n`)
    extraArgs.push('--config', config)
  }
  const bootstrap = await BootstrapDaemon.create({ meshKey })
  await bootstrap.start()
  const node = await spawnNode({ dataDir: join(dir, 'n0'), meshKey: keyPath, bootstrap: bootstrap.addrs(), extraArgs })
  const peer = await createMeshHost({ privateKey: await generateKeyPair('Ed25519'), psk: meshKey, listen: [], trustedIps: ['127.0.0.1'], linkControl: new LinkControl() })
  await peer.start()
  try {
    await peer.dial(multiaddr(node.mesh[0]!))
    await new Promise(resolve => setTimeout(resolve, 2000))
    const pid = node.proc.pid!
    const before = rssBytes(pid)
    let peak = before
    const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(pid)) }, 50)
    const start = performance.now()
    const opened = await Promise.all(Array.from({ length: streams }, async () => peer.dialProtocol(peerIdFromString(node.id), DIRECTORY_PROTOCOL)))
    const answers = await Promise.all(opened.map(async s => flood(s, frameMiB * MiB)))
    const seconds = (performance.now() - start) / 1000
    await new Promise(resolve => setTimeout(resolve, 500))
    clearInterval(sampler)
    peak = Math.max(peak, rssBytes(pid))
    const counts: Record<string, number> = {}
    for (const a of answers) counts[a] = (counts[a] ?? 0) + 1
    const mib = (b: number): number => Math.round(b / MiB * 10) / 10
    return { budget, streams, frameMiB, rssBeforeMiB: mib(before), rssPeakMiB: mib(peak), peakGrowthMiB: mib(peak - before), answers: counts, seconds: Math.round(seconds * 10) / 10 }
  } finally {
    await peer.stop()
    await node.stop()
    await bootstrap.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

const rows: Row[] = []
for (const budget of ['default', 'lifted'] as const) {
  console.log(`${budget} budget: ${streams} streams, a frame of ${frameMiB} MiB on each`)
  rows.push(await run(budget))
}
console.log(`\nA keyed peer's directory frames against one node process: ${streams} streams at once, one frame of ${frameMiB} MiB on each (the node's RSS from /proc every 50 ms)\n`)
console.log(table(['budget for directory frames', 'RSS before (MiB)', 'peak (MiB)', 'peak growth (MiB)', 'answers', 'seconds'],
  rows.map(r => [r.budget === 'default' ? 'default (1 MiB/s, burst 32 MiB, at the prefix)' : 'lifted (every frame read whole)', String(r.rssBeforeMiB), String(r.rssPeakMiB), String(r.peakGrowthMiB),
    Object.entries(r.answers).map(([k, v]) => `${k} × ${v}`).join(', '), String(r.seconds)])))
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), streams, frameMiB, rows }, null, 1) + '\n')
console.log(`\nresults: ${out}`)
