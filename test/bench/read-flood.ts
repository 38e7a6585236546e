/**
 * What a keyed peer's reads cost a node: a node process (the real CLI) whose store holds a room of
 * E events, and a peer holding the mesh key that asks it for history pages of 500 events back to
 * back on S streams at once, for T seconds, while a client attached to the node sends a message
 * every 100 ms and times its acks. Run twice: with the node's default read budget (10,000 events a
 * second, a burst of 100,000, each page charged an event per event and one per 4 KiB of them) and
 * with the budget lifted (`syncReadsPerSec` and `syncReadBurst` at 10^12 in a config file), which is
 * how every read was answered before the budget existed. With `--identities K` (K > 1), a third run
 * with the default budget spreads the S streams over K peer identities of the same keyed peer, each
 * with a read budget of its own, and all of them together held to the budget every peer shares
 * (PEERS_TOGETHER times one peer's rate, BURSTS_TOGETHER of its bursts).
 *
 *   node dist/test/bench/read-flood.js [--streams 16] [--seconds 10] [--events 50000] [--identities 1] [--out file]
 *
 * The node's CPU comes from /proc/<pid>/stat over the flood; the table gives it in cores, the pages
 * answered and refused, and the honest client's ack times. Writes JSON (default
 * test/bench/results/read-flood.json).
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { BootstrapDaemon } from '../../bootstrap/src/bootstrap.js'
import { SYNC_PROTOCOL } from '../../client/src/protocol/ids.js'
import { SyncRequest, SyncResponse } from '../../client/src/protocol/pb/mesh.js'
import { errorFromCode } from '../../client/src/protocol/errors.js'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { newMeshKey } from '../../node/src/keys.js'
import { createMeshHost } from '../../node/src/mesh/mesh-host.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { ChannelPool } from '../../node/src/mesh/rpc.js'
import { MessageStore } from '../../node/src/store/message-store.js'
import { spawnNode } from '../helpers/process-node.js'
import { table } from './lib/report.js'

const ROOT = resolve(import.meta.dirname, '..', '..', '..')
const CLK_TCK = 100

const { values: argv } = parseArgs({ options: { streams: { type: 'string' }, seconds: { type: 'string' }, events: { type: 'string' }, identities: { type: 'string' }, out: { type: 'string' } } })
const streams = Number(argv.streams ?? 16)
const seconds = Number(argv.seconds ?? 10)
const events = Number(argv.events ?? 50_000)
const identities = Number(argv.identities ?? 1)
if (!Number.isInteger(streams) || streams < 1 || streams > 64 || !(seconds >= 2 && seconds <= 120) || !Number.isInteger(events) || events < 500 || events > 1_000_000 ||
  !Number.isInteger(identities) || identities < 1 || identities > streams) {
  console.error('--streams takes 1 to 64, --seconds 2 to 120, --events 500 to 1,000,000, --identities 1 to the streams')
  process.exit(2)
}
const out = argv.out ?? join(ROOT, 'test', 'bench', 'results', 'read-flood.json')
const ROOM = 'archive'

/** user + system CPU seconds of a process, threads included */
function cpuSeconds (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

function quantile (xs: number[], q: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number
}

interface Row {
  budget: string
  /** peer identities the streams were spread over */
  identities: number
  streams: number
  seconds: number
  cores: number
  pagesAnswered: number
  eventsRead: number
  refused: number
  acks: number
  ackP50Ms: number
  ackP99Ms: number
  ackMaxMs: number
  /** when the slowest ack was sent, seconds into the flood */
  ackMaxAtS: number
}

async function run (budget: 'default' | 'lifted', identities: number): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'meshchat-read-flood-'))
  const meshKey = newMeshKey()
  const keyPath = join(dir, 'swarm.key')
  await writeFile(keyPath, meshKey)
  // the room's history, written before the node starts (pages are served as stored: they need not verify)
  const store = new MessageStore(join(dir, 'n0', 'meshchat.sqlite'))
  const t0 = BigInt(Date.now() - 3600_000) << 16n
  for (let i = 0; i < events; i += 5000) {
    store.insertMany(Array.from({ length: Math.min(5000, events - i) }, (_, k) => ({ id: randomBytes(32), room: ROOM, hlc: t0 + BigInt(i + k), origin: 'o', author: 'a', event: randomBytes(300), ts: Date.now() - 3600_000 })))
  }
  store.close()
  const extraArgs: string[] = []
  if (budget === 'lifted') {
    const config = join(dir, 'node.yaml')
    await writeFile(config, 'syncReadsPerSec: 1000000000000\nsyncReadBurst: 1000000000000\n')
    extraArgs.push('--config', config)
  }
  const bootstrap = await BootstrapDaemon.create({ meshKey })
  await bootstrap.start()
  const node = await spawnNode({ dataDir: join(dir, 'n0'), meshKey: keyPath, bootstrap: bootstrap.addrs(), extraArgs })
  const peers = await Promise.all(Array.from({ length: identities }, async () => {
    const peer = await createMeshHost({ privateKey: await generateKeyPair('Ed25519'), psk: meshKey, listen: [], trustedIps: ['127.0.0.1'], linkControl: new LinkControl() })
    await peer.start()
    return peer
  }))
  const client = createNodeClient({ name: 'honest', addrs: [node.gateway[0] as string], keyStore: memoryKeyStore(), reconnect: false, redirect: false, requestTimeoutMs: 30_000 })
  // one long-lived stream per pool: S pools, S streams, each asking again as soon as it is answered,
  // spread over the identities in turn
  const pools = Array.from({ length: streams }, (_, s) => new ChannelPool(peers[s % identities]!, SYNC_PROTOCOL, { req: SyncRequest, res: SyncResponse }, { timeoutMs: 60_000, maxBytes: 64 << 20 }))
  try {
    for (const peer of peers) await peer.dial(multiaddr(node.mesh[0]!))
    await client.connect()
    await client.join('talk')
    await new Promise(resolve => setTimeout(resolve, 2000))
    const pid = node.proc.pid!
    const nodeId = peerIdFromString(node.id)
    const cpuBefore = cpuSeconds(pid)
    const start = performance.now()
    const until = start + seconds * 1000
    let pagesAnswered = 0
    let eventsRead = 0
    let refused = 0
    const acks: number[] = []
    const sentAt: number[] = []
    const readers = pools.map(async (pool, s) => {
      // each stream pages from its own place in the room, from the newest back, round and round
      let before: { hlc: bigint, id: Uint8Array<ArrayBuffer> } | undefined = { hlc: t0 + BigInt(Math.floor(events * (s + 1) / streams)), id: new Uint8Array(32) }
      while (performance.now() < until) {
        const res = await pool.call(nodeId, { history: { room: ROOM, before, limit: 500 } })
        if (res.error != null) {
          refused++
          // an abuser does not wait: it asks again at once (a refusal costs the node a decode and an answer)
          if (errorFromCode(res.error.code, res.error.message).codeName !== 'RATE_LIMITED') throw new Error(res.error.message)
          continue
        }
        pagesAnswered++
        const page = res.history?.events ?? []
        eventsRead += page.length
        const oldest = page.at(-1)
        before = oldest == null || res.history?.more !== true ? undefined : { hlc: oldest.hlc, id: new Uint8Array(32) }
      }
    })
    const sender = (async () => {
      for (let i = 0; performance.now() < until; i++) {
        const t = performance.now()
        await client.send('talk', `honest ${i}`)
        acks.push(performance.now() - t)
        sentAt.push((t - start) / 1000)
        await new Promise(resolve => setTimeout(resolve, Math.max(0, 100 - (performance.now() - t))))
      }
    })()
    await Promise.all([...readers, sender])
    const elapsed = (performance.now() - start) / 1000
    const cores = (cpuSeconds(pid) - cpuBefore) / elapsed
    const r2 = (x: number): number => Math.round(x * 100) / 100
    return {
      budget, identities, streams, seconds: r2(elapsed), cores: r2(cores), pagesAnswered, eventsRead, refused,
      acks: acks.length, ackP50Ms: r2(quantile(acks, 0.5)), ackP99Ms: r2(quantile(acks, 0.99)), ackMaxMs: r2(Math.max(...acks)),
      ackMaxAtS: r2(sentAt[acks.indexOf(Math.max(...acks))] ?? NaN)
    }
  } finally {
    for (const p of pools) p.close()
    client.disconnect({ reconnect: false })
    for (const peer of peers) await peer.stop()
    await node.stop()
    await bootstrap.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

const rows: Row[] = []
const runs: Array<['default' | 'lifted', number]> = identities > 1 ? [['default', 1], ['default', identities], ['lifted', 1]] : [['default', 1], ['lifted', 1]]
for (const [budget, ids] of runs) {
  console.log(`${budget} read budget: ${streams} streams of history pages from ${ids} identit${ids === 1 ? 'y' : 'ies'} for ${seconds} s`)
  rows.push(await run(budget, ids))
}
console.log(`\nA keyed peer reading history pages of 500 events back to back on ${streams} streams from one node process (a room of ${events.toLocaleString('en-US')} events), for ${seconds} s, while a client on the node sends a message every 100 ms\n`)
console.log(table(['read budget', 'identities', 'node CPU (cores)', 'pages answered', 'events read', 'reads refused', 'honest acks', 'ack p50 ms', 'ack p99 ms', 'ack max ms', 'slowest ack sent at (s)'],
  rows.map(r => [r.budget === 'default' ? 'default (10,000 events/s, burst 100,000)' : 'lifted (every read answered)', String(r.identities), String(r.cores), String(r.pagesAnswered), r.eventsRead.toLocaleString('en-US'),
    String(r.refused), String(r.acks), String(r.ackP50Ms), String(r.ackP99Ms), String(r.ackMaxMs), String(r.ackMaxAtS)])))
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), streams, seconds, events, identities, rows }, null, 1) + '\n')
console.log(`\nresults: ${out}`)
