/**
 * The volume scenario, shared by `test/hostile/volume.test.ts` (CI size) and
 * `test/bench/volume.ts` (bigger, writes JSON): a bootstrap daemon (in this
 * process) and meshchat nodes as separate processes (the real CLI), pushed
 * with
 *
 * 1. fill: clients on A and B send `messages` events of ~`messageBytes` to room `big`;
 * 2. history: clients on C (which does not carry the room) page through it with
 *    500-event pages and `before` cursors until `historyBytes` came A/B → C;
 * 3. backfill: a late node D starts and a client joins `big` there, so D pulls
 *    the whole room from A/B;
 * 4. churn: thousands of connections opened and closed against A's mesh port,
 *    with the mesh key (libp2p hosts: dial, ping, hang up) and without it (raw
 *    sockets that send nothing, half a nonce, a nonce and garbage, a reset, or
 *    stall; libp2p hosts with another key);
 * 5. flow: ordinary messages between clients on A and B.
 *
 * Every node's RSS is sampled from /proc throughout, and its /metrics (nodes
 * run with `--http 127.0.0.1:0`) is read at every phase boundary.
 */
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { BootstrapDaemon } from '../../bootstrap/src/bootstrap.js'
import { createNodeClient, memoryKeyStore, RateLimitedError } from '../../client/src/node.js'
import { LIMITS } from '../../client/src/protocol/limits.js'
import { newMeshKey } from '../../node/src/keys.js'
import { createMeshHost } from '../../node/src/mesh/mesh-host.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { spawnNode } from '../helpers/process-node.js'
import { Metrics } from '../bench/lib/prom.js'
import type { ChatClient, ChatMessage, HistoryCursor } from '../../client/src/node.js'
import type { MeshLibp2p } from '../../node/src/mesh/mesh-host.js'
import type { ProcessNode } from '../helpers/process-node.js'

export const MiB = 1024 * 1024
const ROOM = 'big'

export interface VolumeOptions {
  /** history bytes (event bodies) to pull A/B → C over the mesh */
  historyBytes: number
  /** events in the room */
  messages: number
  /** body bytes per event (the signed event is ~300 bytes more) */
  messageBytes: number
  /** sending users, half on A and half on B (each is held to 20 msg/s, burst 40) */
  senders: number
  /** clients on C paging history concurrently */
  historyClients: number
  /** connections with the mesh key (dial, ping, hang up) */
  keyedConnections: number
  /** raw TCP connections without the key */
  rawConnections: number
  /** libp2p dials with a different mesh key */
  wrongKeyConnections: number
  /** connections in flight at once (and libp2p hosts per kind) */
  concurrency: number
  rssSampleMs: number
  log: (line: string) => void
  /** every line a node process writes to stderr (run with DEBUG=meshchat:* to get its logs) */
  stderr?: (node: string, line: string) => void
}

export const TEST_SIZE: Omit<VolumeOptions, 'log'> = {
  historyBytes: 256 * MiB,
  messages: 900,
  messageBytes: 12_000,
  senders: 10,
  historyClients: 3,
  keyedConnections: 1000,
  rawConnections: 1500,
  wrongKeyConnections: 500,
  concurrency: 25,
  rssSampleMs: 1000
}

export type Phase = 'setup' | 'fill' | 'history' | 'backfill' | 'churn' | 'flow'
export const PHASES: Phase[] = ['setup', 'fill', 'history', 'backfill', 'churn', 'flow']

export interface NodeReport {
  name: string
  pid: number
  /** alive after the last phase (before teardown) */
  alive: boolean
  /** exit after the scenario: SIGTERM, then the node's graceful stop */
  exitCode: number | null
  exitSignal: string | null
  /** highest sampled VmRSS, bytes */
  peakRss: number
  /** the kernel's own high-water mark (VmHWM) at the end, bytes */
  hwm: number
  /** VmRSS at the end of each phase */
  rssAfter: Partial<Record<Phase, number>>
  /** V8 heap in use at the end of each phase (from /metrics) */
  heapAfter: Partial<Record<Phase, number>>
  /** CPU seconds the process used in each phase */
  cpu: Partial<Record<Phase, number>>
  /** libp2p's mesh-connection byte counters (received) at the end */
  meshReceived: number
  meshSent: number
  /** exceptions the node's supervisor caught (meshchat_internal_errors_total) */
  internalErrors: number
  /** the same, by where they happened (the metric's `where` label) */
  internalErrorsBy: Record<string, number>
  /** the last 4 KiB the process wrote to stderr */
  stderrTail: string
}

export interface Stats { count: number, medianMs: number, p95Ms: number, maxMs: number }

export interface VolumeResult {
  options: Omit<VolumeOptions, 'log'>
  durationMs: number
  phaseMs: Partial<Record<Phase, number>>
  /** CPU seconds this process (clients, the bootstrap, churn hosts) used in each phase */
  harnessCpu: Partial<Record<Phase, number>>
  fill: { messages: number, bodyBytes: number, rateLimited: number }
  history: {
    pages: number
    events: number
    bodyBytes: number
    /** /meshchat/sync bytes C received (what the pages cost on the mesh) */
    syncBytesIntoC: number
    /** pages of at least 4 MiB of bodies */
    pagesOver4MiB: number
    largestPageBytes: number
    /** passes over the whole room (newest page to oldest) that ended, and those that did not return every event */
    sweeps: number
    incompleteSweeps: number
    pageLatency: Stats
    rateLimited: number
  }
  backfill: {
    /** events D holds after the join */
    events: number
    /** events replayed to the joining client (backlog 500) */
    replayed: number
    bodyBytes: number
    /** bytes D received over /meshchat/sync during the phase */
    syncBytesIntoD: number
    joinMs: number
  }
  churn: {
    target: string
    keyed: ChurnResult['keyed']
    raw: ChurnResult['raw']
    wrongKey: ChurnResult['wrongKey']
    /** the target's VmRSS just before the phase (right after a full GC) and 3 s after it */
    rssBefore: number
    rssAfter: number
    /** the target's VmRSS after that full GC */
    rssAfterGc: number
    /** the target's V8 heap in use right after a full GC (a heap snapshot), before and after; 0 if unavailable */
    gcHeapBefore: number
    gcHeapAfter: number
  }
  flow: { sent: number, receivedOnB: number, receivedOnA: number }
  /** bytes received over mesh connections, summed over the node processes */
  meshBytes: number
  nodes: NodeReport[]
  /** [ms since start, phase, VmRSS per node] */
  samples: Array<[number, Phase, Record<string, number>]>
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function waitUntil<T> (cond: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await cond()
      if (v != null && v !== false) return v as NonNullable<T>
    } catch (err) {
      last = err
    }
    await sleep(100)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last != null ? ` (last error: ${(last as Error).message})` : ''}`)
}

/** user + system CPU seconds of a process so far (0 when it is gone) */
export function procCpu (pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    // utime and stime, in clock ticks (100 a second on Linux)
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

/** VmRSS and VmHWM of a process, bytes (0 when it is gone) */
export function procMemory (pid: number): { rss: number, hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? 0) * 1024
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
  } catch {
    return { rss: 0, hwm: 0 }
  }
}

export function stats (values: number[]): Stats {
  const v = [...values].sort((a, b) => a - b)
  const at = (q: number): number => v.length === 0 ? 0 : Math.round(v[Math.min(v.length - 1, Math.floor(q * v.length))] ?? 0)
  return { count: v.length, medianMs: at(0.5), p95Ms: at(0.95), maxMs: at(1) }
}

/** run `n` jobs, `concurrency` at a time */
async function pool (n: number, concurrency: number, job: (i: number, slot: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async (_, slot) => {
    while (next < n) {
      const i = next++
      await job(i, slot)
    }
  }))
}

/** call `fn`, waiting out RateLimitedError (counted in `limited`) */
async function unlimited<T> (fn: () => Promise<T>, limited: { n: number }): Promise<T> {
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (!(err instanceof RateLimitedError)) throw err
      limited.n++
      await sleep(Math.max(50, err.retryAfterMs))
    }
  }
}

const bodyBytes = (m: ChatMessage): number => Buffer.byteLength(m.text)

interface NodeHandle { name: string, node: ProcessNode, maxRss: number, stderr: string }

async function scrape (h: NodeHandle): Promise<Metrics> {
  if (h.node.http == null) throw new Error(`${h.name} has no HTTP address`)
  const res = await fetch(`${h.node.http}/metrics`, { signal: AbortSignal.timeout(10_000) })
  return Metrics.parse(await res.text())
}

/**
 * The node's V8 heap in use right after a full GC: nodes run with `--heapsnapshot-signal=SIGUSR2`
 * (NODE_OPTIONS), and writing a heap snapshot collects garbage first; /metrics read just after shows
 * what is live. The snapshot is deleted. 0 when it did not work.
 */
async function gcHeap (h: NodeHandle, diagDir: string): Promise<number> {
  const before = new Set(readdirSync(diagDir))
  h.node.proc.kill('SIGUSR2')
  let file: string | undefined
  let size = -1
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    await sleep(250)
    file ??= readdirSync(diagDir).find(f => f.endsWith('.heapsnapshot') && !before.has(f))
    if (file == null) continue
    const now = statSync(join(diagDir, file)).size
    if (now > 0 && now === size) break
    size = now
  }
  if (file == null) return 0
  const heap = (await scrape(h)).sum('nodejs_memory_usage_bytes', { memory: 'heapUsed' })
  await rm(join(diagDir, file), { force: true })
  return heap
}

/** libp2p's byte counters for one label of libp2p_data_transfer_bytes_total */
const transfer = (m: Metrics, label: string): number => m.sum('libp2p_data_transfer_bytes_total', { protocol: label })

/**
 * One raw TCP connection to a mesh port, without the key. Variants:
 * - empty: connect and close, not a byte sent;
 * - half-nonce: 10 of the 24 nonce bytes, then close;
 * - garbage: a 24-byte nonce and 1 KiB of random bytes (noise gets garbage), wait for the node's nonce, close;
 * - reset: a nonce, then a TCP reset;
 * - stall: 5 bytes, then nothing until the node drops us (its nonce deadline is 1 s).
 * Returns how long the node took to close a stalled connection (ms), else undefined.
 */
export async function rawConnection (host: string, port: number, variant: RawVariant): Promise<number | undefined> {
  return await new Promise<number | undefined>((resolve, reject) => {
    const socket = connect({ host, port })
    let done = false
    let stalledAt = 0
    const finish = (v?: number): void => {
      if (done) return
      done = true
      clearTimeout(guard)
      socket.destroy()
      resolve(v)
    }
    const guard = setTimeout(() => { finish(variant === 'stall' ? -1 : undefined) }, variant === 'stall' ? 5000 : 2000)
    socket.on('error', () => { finish(variant === 'stall' && stalledAt > 0 ? Date.now() - stalledAt : undefined) })
    socket.on('close', () => { finish(variant === 'stall' && stalledAt > 0 ? Date.now() - stalledAt : undefined) })
    socket.on('data', () => {
      if (variant === 'garbage') finish()
    })
    socket.once('connect', () => {
      switch (variant) {
        case 'empty':
          socket.end()
          break
        case 'half-nonce':
          socket.end(randomBytes(10))
          break
        case 'garbage':
          socket.write(randomBytes(24 + 1024))
          break
        case 'reset':
          socket.write(randomBytes(24), () => { socket.resetAndDestroy(); finish() })
          break
        case 'stall':
          stalledAt = Date.now()
          socket.write(randomBytes(5))
          break
      }
    })
    socket.once('lookup', (err: Error | null) => { if (err != null) reject(err) })
  })
}

export type RawVariant = 'empty' | 'half-nonce' | 'garbage' | 'reset' | 'stall'
/** one stall in ten: each holds a slot for the node's 1 s nonce deadline */
const RAW_VARIANTS: RawVariant[] = ['empty', 'half-nonce', 'garbage', 'reset', 'garbage', 'empty', 'half-nonce', 'garbage', 'reset', 'stall']

async function meshHost (psk: Uint8Array): Promise<MeshLibp2p> {
  const host = await createMeshHost({
    privateKey: await generateKeyPair('Ed25519'),
    psk,
    listen: [],
    trustedIps: ['127.0.0.1'],
    linkControl: new LinkControl()
  })
  await host.start()
  return host
}

function errName (err: unknown): string {
  const e = err as { name?: string, message?: string }
  return `${e.name ?? 'Error'}: ${(e.message ?? '').slice(0, 80)}`
}

export interface ChurnResult {
  /** connected: the dial resolved (pnet, noise, yamux done); pinged: a ping went through it too */
  keyed: { attempted: number, connected: number, pinged: number, errors: Record<string, number> }
  raw: { attempted: number, byVariant: Record<string, number>, stallClosedByNodeMs: Stats, stallNotClosed: number }
  wrongKey: { attempted: number, refused: number, accepted: number }
}

/**
 * Open and close connections to a mesh address, all three kinds at once, `concurrency` of each
 * kind in flight: with the key (libp2p hosts that dial, ping and hang up), raw TCP sockets without
 * it (RAW_VARIANTS), and libp2p hosts holding another key. The hosts are stopped before it returns.
 */
export async function churn (opts: { target: string, meshKey: Uint8Array, keyed: number, raw: number, wrongKey: number, concurrency: number, progress?: (line: string) => void }): Promise<ChurnResult> {
  const ma = multiaddr(opts.target)
  const hp = /^\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(opts.target)
  if (hp == null) throw new Error(`not a TCP address: ${opts.target}`)
  const tHost = hp[1] ?? '127.0.0.1'
  const tPort = Number(hp[2])
  const conc = Math.max(1, opts.concurrency)
  const keyed = { attempted: 0, connected: 0, pinged: 0, errors: {} as Record<string, number> }
  const raw = { attempted: 0, byVariant: {} as Record<string, number>, stalls: [] as number[], stallNotClosed: 0 }
  const wrongKey = { attempted: 0, refused: 0, accepted: 0 }
  const hosts: MeshLibp2p[] = []
  try {
    // one dial at a time per host: libp2p folds concurrent dials to one peer into one
    const keyedHosts = await Promise.all(Array.from({ length: Math.min(conc, opts.keyed) }, async () => meshHost(opts.meshKey)))
    hosts.push(...keyedHosts)
    const wrongHosts = await Promise.all(Array.from({ length: Math.min(conc, opts.wrongKey) }, async () => meshHost(newMeshKey())))
    hosts.push(...wrongHosts)
    let last = Date.now()
    const report = (): void => {
      if (opts.progress == null || Date.now() - last < 10_000) return
      last = Date.now()
      opts.progress(`keyed ${keyed.attempted}, raw ${raw.attempted}, wrong key ${wrongKey.attempted}`)
    }
    await Promise.all([
      pool(opts.keyed, keyedHosts.length, async (_, slot) => {
        const h = keyedHosts[slot]
        if (h == null) return
        keyed.attempted++
        try {
          const conn = await h.dial(ma, { signal: AbortSignal.timeout(10_000) })
          keyed.connected++
          await h.services.ping.ping(ma, { signal: AbortSignal.timeout(10_000) })
          keyed.pinged++
          await conn.close()
        } catch (err) {
          const k = errName(err)
          keyed.errors[k] = (keyed.errors[k] ?? 0) + 1
          await h.hangUp(ma).catch(() => {})
        }
        report()
      }),
      pool(opts.raw, conc, async i => {
        const variant = RAW_VARIANTS[i % RAW_VARIANTS.length] ?? 'empty'
        raw.attempted++
        raw.byVariant[variant] = (raw.byVariant[variant] ?? 0) + 1
        const ms = await rawConnection(tHost, tPort, variant)
        if (variant === 'stall') {
          if (ms == null || ms < 0) raw.stallNotClosed++
          else raw.stalls.push(ms)
        }
        report()
      }),
      pool(opts.wrongKey, wrongHosts.length, async (_, slot) => {
        const h = wrongHosts[slot]
        if (h == null) return
        wrongKey.attempted++
        try {
          // the nonce exchange succeeds, then noise reads garbage and waits for a length it will never get: give up early
          const conn = await h.dial(ma, { signal: AbortSignal.timeout(500) })
          wrongKey.accepted++
          await conn.close()
        } catch {
          wrongKey.refused++
          await h.hangUp(ma).catch(() => {})
        }
        report()
      })
    ])
  } finally {
    await Promise.allSettled(hosts.map(async h => h.stop()))
  }
  return {
    keyed,
    raw: { attempted: raw.attempted, byVariant: raw.byVariant, stallClosedByNodeMs: stats(raw.stalls), stallNotClosed: raw.stallNotClosed },
    wrongKey
  }
}

/** Run the whole scenario; everything it started is stopped before it returns or throws. */
export async function runVolume (opts: VolumeOptions): Promise<VolumeResult> {
  const { log, stderr: _stderr, ...options } = opts
  const started = Date.now()
  const dir = await mkdtemp(join(tmpdir(), 'meshchat-volume-'))
  const meshKey = newMeshKey()
  const keyPath = join(dir, 'swarm.key')
  await writeFile(keyPath, meshKey)
  const diagDir = join(dir, 'heap')
  await mkdir(diagDir)
  const handles: NodeHandle[] = []
  const clients: ChatClient[] = []
  let bootstrap: BootstrapDaemon | undefined
  let phase: Phase = 'setup'
  let phaseStart = Date.now()
  const samples: VolumeResult['samples'] = []
  const phaseMs: VolumeResult['phaseMs'] = {}
  const rssAfter = new Map<string, Partial<Record<Phase, number>>>()
  const heapAfter = new Map<string, Partial<Record<Phase, number>>>()
  const cpuIn = new Map<string, Partial<Record<Phase, number>>>()
  const cpuMark = new Map<string, number>()
  const harnessCpu: Partial<Record<Phase, number>> = {}
  const selfCpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6 }
  let selfMark = selfCpu()
  const lastMetrics = new Map<string, Metrics>()

  const sample = (): void => {
    const row: Record<string, number> = {}
    for (const h of handles) {
      const { rss } = procMemory(h.node.proc.pid ?? 0)
      row[h.name] = rss
      h.maxRss = Math.max(h.maxRss, rss)
    }
    samples.push([Date.now() - started, phase, row])
  }
  const sampler = setInterval(sample, opts.rssSampleMs)

  const endPhase = async (next?: Phase): Promise<void> => {
    phaseMs[phase] = Date.now() - phaseStart
    sample()
    harnessCpu[phase] = selfCpu() - selfMark
    selfMark = selfCpu()
    for (const h of handles) {
      const now = procCpu(h.node.proc.pid ?? 0)
      const c = cpuIn.get(h.name) ?? {}
      c[phase] = now - (cpuMark.get(h.name) ?? 0)
      cpuIn.set(h.name, c)
      cpuMark.set(h.name, now)
      const r = rssAfter.get(h.name) ?? {}
      r[phase] = procMemory(h.node.proc.pid ?? 0).rss
      rssAfter.set(h.name, r)
      try {
        const m = await scrape(h)
        lastMetrics.set(h.name, m)
        const hp = heapAfter.get(h.name) ?? {}
        hp[phase] = m.sum('nodejs_memory_usage_bytes', { memory: 'heapUsed' })
        heapAfter.set(h.name, hp)
      } catch (err) {
        log(`  /metrics of ${h.name} failed: ${(err as Error).message}`)
      }
    }
    const rss = handles.map(h => `${h.name} ${(procMemory(h.node.proc.pid ?? 0).rss / MiB).toFixed(0)}`).join(', ')
    log(`${phase} done in ${((phaseMs[phase] ?? 0) / 1000).toFixed(1)} s; RSS MiB: ${rss}`)
    if (next != null) {
      phase = next
      phaseStart = Date.now()
    }
  }

  const spawn = async (name: string): Promise<NodeHandle> => {
    if (bootstrap == null) throw new Error('no bootstrap')
    const node = await spawnNode({
      dataDir: join(dir, name),
      meshKey: keyPath,
      bootstrap: bootstrap.addrs(),
      extraArgs: ['--http', '127.0.0.1:0'],
      // a full GC on demand (see gcHeap), written where the scenario cleans up
      env: { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${diagDir}` }
    })
    const h: NodeHandle = { name, node, maxRss: 0, stderr: '' }
    let partial = ''
    node.proc.stderr?.on('data', (d: Buffer) => {
      h.stderr = (h.stderr + d.toString()).slice(-4096)
      if (opts.stderr == null) return
      const lines = (partial + d.toString()).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) opts.stderr(name, line)
    })
    handles.push(h)
    return h
  }
  const client = async (h: NodeHandle, name: string): Promise<ChatClient> => {
    const gw = h.node.gateway.find(a => !a.includes('/ws')) ?? h.node.gateway[0]
    if (gw == null) throw new Error(`${h.name} has no gateway`)
    // no redirect: the scenario needs each client on the node it dialed; a page of 500 events can take a while
    const c = createNodeClient({ name, addrs: [gw], keyStore: memoryKeyStore(), reconnect: false, redirect: false, requestTimeoutMs: 60_000 })
    clients.push(c)
    await c.connect()
    return c
  }
  const healthy = async (h: NodeHandle, peers: number): Promise<boolean> => {
    const res = await fetch(`${h.node.http ?? ''}/healthz`, { signal: AbortSignal.timeout(2000) })
    const body = await res.json() as { peers?: number, ready?: boolean }
    return body.ready !== false && (body.peers ?? 0) >= peers
  }

  try {
    // ---------------------------------------------------------------- setup
    bootstrap = await BootstrapDaemon.create({ meshKey })
    await bootstrap.start()
    const [A, B, C] = await Promise.all([spawn('A'), spawn('B'), spawn('C')])
    if (A == null || B == null || C == null) throw new Error('unreachable')
    // each node connected to the bootstrap and the two others
    await Promise.all([A, B, C].map(async h => waitUntil(async () => healthy(h, 3), `${h.name} meshed`)))
    const half = Math.max(1, Math.floor(opts.senders / 2))
    const senders: ChatClient[] = []
    for (let i = 0; i < opts.senders; i++) senders.push(await client(i < half ? A : B, `sender${i}`))
    for (const s of senders) await s.join(ROOM)
    await endPhase('fill')

    // ----------------------------------------------------------------- fill
    const fillLimited = { n: 0 }
    let sent = 0
    let fillBytes = 0
    await Promise.all(senders.map(async (s, i) => {
      const mine = Math.floor(opts.messages / senders.length) + (i < opts.messages % senders.length ? 1 : 0)
      for (let k = 0; k < mine; k++) {
        const text = randomBytes(Math.ceil(opts.messageBytes * 3 / 4)).toString('base64').slice(0, opts.messageBytes)
        await unlimited(async () => s.send(ROOM, text), fillLimited)
        sent++
        fillBytes += text.length
      }
    }))
    log(`  ${sent} messages, ${(fillBytes / MiB).toFixed(1)} MiB of bodies, ${fillLimited.n} rate-limited retries`)
    await endPhase('history')

    // -------------------------------------------------------------- history
    // a page must fit the client's frame limit (8 MiB): 500 events of 12 KB do
    const pageLimit = Math.min(LIMITS.maxHistoryPage, Math.floor(7 * MiB / (opts.messageBytes + 400)))
    const readers: ChatClient[] = []
    for (let i = 0; i < opts.historyClients; i++) readers.push(await client(C, `reader${i}`))
    const histLimited = { n: 0 }
    const pageMs: number[] = []
    let pages = 0
    let events = 0
    let histBytes = 0
    let over4 = 0
    let largest = 0
    let sweeps = 0
    let incompleteSweeps = 0
    const syncBefore = transfer(lastMetrics.get('C') ?? new Metrics([]), '/meshchat/sync/1.0.0 received')
    let lastReport = Date.now()
    await Promise.all(readers.map(async r => {
      while (histBytes < opts.historyBytes) {
        let before: HistoryCursor | undefined
        let sweep = 0
        for (;;) {
          const t0 = performance.now()
          const page = await unlimited(async () => r.history(ROOM, { limit: pageLimit, before }), histLimited)
          pageMs.push(performance.now() - t0)
          const b = page.messages.reduce((n, m) => n + bodyBytes(m), 0)
          pages++
          events += page.messages.length
          histBytes += b
          largest = Math.max(largest, b)
          if (b >= 4 * MiB) over4++
          // C falls back to its own (empty) store when no node carrying the room answered it
          if (page.messages.length === 0) throw new Error(`C answered history page ${pages} with no events: its history request to A/B over the mesh failed (DEBUG='*:meshchat:*' shows why)`)
          sweep += page.messages.length
          if (Date.now() - lastReport > 10_000) {
            lastReport = Date.now()
            log(`  ${pages} pages, ${(histBytes / MiB).toFixed(0)} MiB`)
          }
          const first = page.messages[0]
          if (!page.more) {
            sweeps++
            if (sweep !== sent) incompleteSweeps++
          }
          if (!page.more || first == null || histBytes >= opts.historyBytes) break
          before = first.cursor
        }
      }
    }))
    await endPhase('backfill')
    const syncIntoC = transfer(lastMetrics.get('C') ?? new Metrics([]), '/meshchat/sync/1.0.0 received') - syncBefore
    log(`  ${pages} pages (${over4} of >= 4 MiB, largest ${(largest / MiB).toFixed(2)} MiB), ${(histBytes / MiB).toFixed(0)} MiB of bodies, ${(syncIntoC / MiB).toFixed(0)} MiB of sync into C`)

    // ------------------------------------------------------------- backfill
    const D = await spawn('D')
    await waitUntil(async () => healthy(D, 4), 'D meshed')
    const dClient = await client(D, 'late')
    const t0 = Date.now()
    const { replayed } = await dClient.join(ROOM, { backlog: 500 })
    const joinMs = Date.now() - t0
    // D's copy of the room, paged locally (D carries the room now)
    const countOnD = async (): Promise<{ n: number, bytes: number }> => {
      let n = 0
      let bytes = 0
      let before: HistoryCursor | undefined
      for (;;) {
        const page = await unlimited(async () => dClient.history(ROOM, { limit: pageLimit, before }), { n: 0 })
        n += page.messages.length
        bytes += page.messages.reduce((s, m) => s + bodyBytes(m), 0)
        const first = page.messages[0]
        if (!page.more || first == null) return { n, bytes }
        before = first.cursor
      }
    }
    const onD = await waitUntil(async () => { const c = await countOnD(); return c.n >= sent ? c : undefined }, `D to hold all ${sent} events`, 60_000)
    await endPhase('churn')
    const dSync = handles.find(h => h.name === 'D')
    const syncIntoD = dSync == null ? 0 : transfer(lastMetrics.get('D') ?? new Metrics([]), '/meshchat/sync/1.0.0 received')
    log(`  D holds ${onD.n} events (${(onD.bytes / MiB).toFixed(1)} MiB of bodies), ${replayed} replayed on join in ${joinMs} ms; ${(syncIntoD / MiB).toFixed(1)} MiB of sync into D`)

    // ---------------------------------------------------------------- churn
    const target = A.node.mesh[0]
    if (target == null) throw new Error('A has no mesh address')
    await sleep(2000)
    const gcHeapBefore = await gcHeap(A, diagDir)
    const rssBefore = procMemory(A.node.proc.pid ?? 0).rss
    const { keyed, raw, wrongKey } = await churn({
      target,
      meshKey,
      keyed: opts.keyedConnections,
      raw: opts.rawConnections,
      wrongKey: opts.wrongKeyConnections,
      concurrency: opts.concurrency,
      progress: line => { log(`  ${line}`) }
    })
    log(`  keyed ${keyed.connected}/${keyed.attempted} connected (${keyed.pinged} pinged), raw ${raw.attempted} (${JSON.stringify(raw.byVariant)}), wrong key ${wrongKey.refused}/${wrongKey.attempted} refused`)
    if (keyed.pinged < keyed.attempted) log(`  keyed failures: ${JSON.stringify(keyed.errors)}`)
    await sleep(3000)
    const rssAfterChurn = procMemory(A.node.proc.pid ?? 0).rss
    const gcHeapAfter = await gcHeap(A, diagDir)
    const rssAfterGc = procMemory(A.node.proc.pid ?? 0).rss
    await endPhase('flow')

    // ----------------------------------------------------------------- flow
    const a = senders[0]
    const b = senders[senders.length - 1]
    if (a == null || b == null) throw new Error('no senders')
    const FLOW = 50
    const seenOnB = new Set<string>()
    const seenOnA = new Set<string>()
    b.addEventListener('message', e => { if (e.detail.text.startsWith('flow-a ')) seenOnB.add(e.detail.text) })
    a.addEventListener('message', e => { if (e.detail.text.startsWith('flow-b ')) seenOnA.add(e.detail.text) })
    const flowLimited = { n: 0 }
    await Promise.all([
      (async () => { for (let i = 0; i < FLOW; i++) await unlimited(async () => a.send(ROOM, `flow-a ${i}`), flowLimited) })(),
      (async () => { for (let i = 0; i < FLOW; i++) await unlimited(async () => b.send(ROOM, `flow-b ${i}`), flowLimited) })()
    ])
    await waitUntil(() => seenOnA.size === FLOW && seenOnB.size === FLOW, 'the flow messages', 15_000).catch(() => {})
    log(`  ${FLOW} + ${FLOW} sent, ${seenOnB.size} arrived on B, ${seenOnA.size} on A`)
    await endPhase()

    // --------------------------------------------------------------- report
    const alive = new Map(handles.map(h => [h.name, h.node.proc.exitCode === null && h.node.proc.signalCode === null]))
    const hwm = new Map(handles.map(h => [h.name, procMemory(h.node.proc.pid ?? 0).hwm]))
    clearInterval(sampler)
    await Promise.allSettled(clients.splice(0).map(async c => c.close()))
    await Promise.allSettled(handles.map(async h => {
      const t = setTimeout(() => { void h.node.kill() }, 20_000)
      await h.node.stop()
      clearTimeout(t)
    }))
    const nodes: NodeReport[] = handles.map(h => {
      const m = lastMetrics.get(h.name) ?? new Metrics([])
      return {
        name: h.name,
        pid: h.node.proc.pid ?? 0,
        alive: alive.get(h.name) ?? false,
        exitCode: h.node.proc.exitCode,
        exitSignal: h.node.proc.signalCode,
        peakRss: h.maxRss,
        hwm: hwm.get(h.name) ?? 0,
        rssAfter: rssAfter.get(h.name) ?? {},
        heapAfter: heapAfter.get(h.name) ?? {},
        cpu: cpuIn.get(h.name) ?? {},
        meshReceived: transfer(m, 'global received'),
        meshSent: transfer(m, 'global sent'),
        internalErrors: m.sum('meshchat_internal_errors_total'),
        internalErrorsBy: Object.fromEntries(m.samples.filter(x => x.name === 'meshchat_internal_errors_total' && x.value > 0).map(x => [x.labels.where ?? '', x.value])),
        stderrTail: h.stderr
      }
    })
    return {
      options,
      durationMs: Date.now() - started,
      phaseMs,
      harnessCpu,
      fill: { messages: sent, bodyBytes: fillBytes, rateLimited: fillLimited.n },
      history: {
        pages,
        events,
        bodyBytes: histBytes,
        syncBytesIntoC: syncIntoC,
        pagesOver4MiB: over4,
        largestPageBytes: largest,
        sweeps,
        incompleteSweeps,
        pageLatency: stats(pageMs),
        rateLimited: histLimited.n
      },
      backfill: { events: onD.n, replayed, bodyBytes: onD.bytes, syncBytesIntoD: syncIntoD, joinMs },
      churn: {
        target: 'A',
        keyed,
        raw,
        wrongKey,
        rssBefore,
        rssAfter: rssAfterChurn,
        rssAfterGc,
        gcHeapBefore,
        gcHeapAfter
      },
      flow: { sent: 2 * FLOW, receivedOnB: seenOnB.size, receivedOnA: seenOnA.size },
      meshBytes: nodes.reduce((n, x) => n + x.meshReceived, 0),
      nodes,
      samples
    }
  } catch (err) {
    // a node that died mid-phase usually surfaces as a failed client call: say so
    const gone = handles.filter(h => h.node.proc.exitCode !== null || h.node.proc.signalCode !== null)
    if (gone.length > 0 && err instanceof Error) {
      err.message += `; node process(es) gone: ${gone.map(h => `${h.name} (${String(h.node.proc.signalCode ?? h.node.proc.exitCode)}): ${h.stderr.slice(-1500)}`).join('; ')}`
    }
    throw err
  } finally {
    clearInterval(sampler)
    await Promise.allSettled(clients.splice(0).map(async c => c.close()))
    await Promise.allSettled(handles.map(async h => h.node.kill()))
    await bootstrap?.stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
}

const mib = (n: number): string => (n / MiB).toFixed(1)

/** the summary table (what goes into the README) */
export function summary (r: VolumeResult): string {
  const lines = [
    `volume: ${(r.durationMs / 1000).toFixed(0)} s; phases (s): ${PHASES.map(p => `${p} ${((r.phaseMs[p] ?? 0) / 1000).toFixed(1)}`).join(', ')}`,
    `| what | figure |`,
    `|---|---|`,
    `| bytes received over mesh connections (all nodes) | ${mib(r.meshBytes)} MiB |`,
    `| room | ${r.fill.messages} events, ${mib(r.fill.bodyBytes)} MiB of bodies |`,
    `| history pages A/B → C | ${r.history.pages} pages, ${r.history.events} events, ${mib(r.history.bodyBytes)} MiB of bodies (${mib(r.history.syncBytesIntoC)} MiB of sync into C); ${r.history.pagesOver4MiB} pages >= 4 MiB, largest ${mib(r.history.largestPageBytes)} MiB |`,
    `| history page latency (client, incl. 2 signature checks per event) | median ${r.history.pageLatency.medianMs} ms, p95 ${r.history.pageLatency.p95Ms} ms, max ${r.history.pageLatency.maxMs} ms |`,
    `| backfill into late node D | ${r.backfill.events} events, ${mib(r.backfill.bodyBytes)} MiB of bodies (${mib(r.backfill.syncBytesIntoD)} MiB of sync into D); join with backlog 500 replayed ${r.backfill.replayed} in ${r.backfill.joinMs} ms |`,
    `| connections to A with the key (dial, ping, hang up) | ${r.churn.keyed.connected}/${r.churn.keyed.attempted} connected, ${r.churn.keyed.pinged} pinged${Object.keys(r.churn.keyed.errors).length > 0 ? ` (${Object.entries(r.churn.keyed.errors).map(([k, v]) => `${v}× ${k}`).join('; ')})` : ''} |`,
    `| raw TCP connections without the key | ${r.churn.raw.attempted} (${Object.entries(r.churn.raw.byVariant).map(([k, v]) => `${k} ${v}`).join(', ')}); stalls dropped by the node after median ${r.churn.raw.stallClosedByNodeMs.medianMs} ms, max ${r.churn.raw.stallClosedByNodeMs.maxMs} ms |`,
    `| libp2p dials with another key | ${r.churn.wrongKey.refused}/${r.churn.wrongKey.attempted} refused |`,
    `| A across the churn | RSS ${mib(r.churn.rssBefore)} → ${mib(r.churn.rssAfter)} MiB (${mib(r.churn.rssAfterGc)} MiB after a full GC); V8 heap after a full GC ${mib(r.churn.gcHeapBefore)} → ${mib(r.churn.gcHeapAfter)} MiB |`,
    `| messages A ↔ B afterwards | ${r.flow.receivedOnA + r.flow.receivedOnB}/${r.flow.sent} arrived |`,
    '',
    `| node | alive | exit | peak RSS (sampled) | VmHWM | RSS after each phase (MiB) | CPU s per phase | mesh in / out (MiB) | internal errors |`,
    `|---|---|---|---|---|---|---|---|---|`,
    ...r.nodes.map(n => `| ${n.name} | ${n.alive ? 'yes' : 'NO'} | ${n.exitSignal ?? String(n.exitCode)} | ${mib(n.peakRss)} MiB | ${mib(n.hwm)} MiB | ${PHASES.filter(p => n.rssAfter[p] != null).map(p => `${p} ${(n.rssAfter[p] ?? 0) / MiB | 0}`).join(', ')} | ${PHASES.filter(p => n.cpu[p] != null).map(p => `${p} ${(n.cpu[p] ?? 0).toFixed(1)}`).join(', ')} | ${mib(n.meshReceived)} / ${mib(n.meshSent)} | ${n.internalErrors}${n.internalErrors > 0 ? ` (${Object.entries(n.internalErrorsBy).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''} |`),
    `| harness (clients, bootstrap, churn hosts) | | | | | | ${PHASES.filter(p => r.harnessCpu[p] != null).map(p => `${p} ${(r.harnessCpu[p] ?? 0).toFixed(1)}`).join(', ')} | | |`
  ]
  return lines.join('\n')
}
