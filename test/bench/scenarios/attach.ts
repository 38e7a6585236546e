/**
 * Clients on one server: attach N idle clients (no rooms) to one chat server of a running cluster and
 * read what they cost that server. Used three ways (run.ts): attach 1,000 (wall time and connect
 * latency, proof of key included for meshchat), 5,000 (live heap and RSS per client after a full GC)
 * and 10,000 (RSS and event-loop delay while idle).
 *
 * - Clients are pinned to the server (a meshchat client says noRedirect, so the node keeps it even
 *   though it is far above the mesh's mean load) and join no room: an idle, connected user.
 * - Keys are made before the clock starts, and every generator starts connecting at the same
 *   moment; attach time is first connect to last welcome over all generators.
 * - Memory: every process collects garbage (the preload runs `gc()` under --expose-gc) before each
 *   reading; heap is V8's heapUsed after that GC (live objects), RSS from /proc. Readings are taken
 *   with no clients, 2 s after the last client attached, and again after the idle window (the
 *   figures per client come from this last one: V8 and the allocator have had time to give back
 *   what the attach burst took; the 2 s reading's RSS is kept too).
 * - Idle: the server's CPU and event-loop delay (monitorEventLoopDelay in the preload, 10 ms
 *   resolution, reported as ms past due) over a window with no clients, and again with all of them.
 *
 * With MESHCHAT_BENCH_HEAP_SNAPSHOT=<dir>, heap snapshots of the server are written there after
 * the GC of both readings (<system>-<server>-<clients>-{before,after}.heapsnapshot; diagnostics).
 *
 * Each use takes a different server of the cluster, one that held no clients before, so RSS a
 * server kept from an earlier step (freed memory is reused, not returned) does not hide growth.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Histogram, summarize } from '../lib/histogram.js'
import { now, sleep } from '../lib/procs.js'
import { round } from '../lib/system.js'
import type { EventLoopDelay } from '../lib/procs.js'
import type { SystemUnderTest } from '../lib/system.js'
import type { Placement } from '../lib/workload.js'

export interface AttachRow {
  /** table label: "meshchat" (light edge), "meshchat-libp2p" (libp2p gateway), "Socket.IO + Redis (...)" */
  system: string
  clients: number
  /** chat servers in the cluster; every client is on `node` */
  servers: number
  node: string
  generators: number
  /** connects in flight per generator */
  concurrency: number
  /** WebSocket client class in the generators (meshchat light edge): ws or undici */
  wsClient?: string
  /** first connect to last welcome (meshchat: proof of key included), over all generators, s */
  attachSec: number
  /**
   * the same for the warm-up, when it is as large as the measured attach: the server's first burst of
   * that many clients after it started (code not yet optimized by the JIT, heap still growing), s
   */
  firstAttachSec?: number
  /** server CPU per attach of that first burst, ms */
  firstServerCpuMsPerAttach?: number
  connectP50Ms: number
  connectP99Ms: number
  connectMaxMs: number
  /** clients the server sent elsewhere (should be 0: clients are pinned) */
  redirected: number
  /** clients that could not attach (meshchat: the ChatClient's request timeout, 30 s in the generators; Socket.IO: 20 s) */
  failed: number
  firstError?: string
  /** socket bytes in + out between the server and other servers (or Redis) during the attach, per client */
  peerBytesPerAttach: number
  /** CPU the server spent from just before the attach to the last welcome, per client, ms */
  serverCpuMsPerAttach: number
  /** the server's V8 heap in use after a full GC, without and with the clients */
  heapBeforeMiB: number
  heapAfterMiB: number
  /** live heap growth per idle client after a full GC, KiB */
  heapKiBPerClient: number
  /** V8 heap committed after that GC (heap in use plus free space V8 keeps), without and with the clients */
  heapTotalBeforeMiB: number
  heapTotalAfterMiB: number
  /** Buffers and ArrayBuffers outside the heap, per client, KiB */
  externalKiBPerClient: number
  rssBeforeMiB: number
  /** RSS 2 s after the last client attached (after a full GC), before the idle window */
  rssEarlyMiB: number
  /** RSS after the idle window (after a full GC) */
  rssAfterMiB: number
  /** RSS growth per idle client, KiB */
  rssKiBPerClient: number
  /** mean over the other chat servers of the same (meshchat: every node holds every device's presence) */
  otherHeapKiBPerClient: number
  otherRssKiBPerClient: number
  /** length of each idle window, s */
  idleWindowSec: number
  /** the server's CPU (cores) over the idle window without and with the clients */
  idleCoresBefore: number
  idleCoresAfter: number
  /** the server's event-loop delay over the same windows (ms past due) */
  eldBefore?: EventLoopDelay
  eldAfter?: EventLoopDelay
  /** load generator RSS growth per client, KiB */
  clientKiBPerClient: number
  /** load generator CPU per client attached (key already made), ms */
  clientCpuMsPerAttach: number
  /** the timed burst on CLOCK_MONOTONIC µs (the clock of V8 CPU profiles: `--profile` sums the nodes' samples in it) */
  profileWindow?: { fromUs: number, toUs: number }
  /**
   * with more than one timed burst (OneServerOptions.bursts): each burst's figures, in order; the
   * row's attachSec, serverCpuMsPerAttach and clientCpuMsPerAttach are then their medians, and every
   * other figure (connect latency, memory, idle) is the first timed burst's
   */
  bursts?: Array<{ attachSec: number, serverCpuMsPerAttach: number, clientCpuMsPerAttach: number, failed: number }>
}

export interface OneServerOptions {
  clients: number
  /** index of the server every client attaches to */
  server: number
  /** connects in flight per generator */
  concurrency: number
  /**
   * clients attached and dropped first (JIT-warm generators and server); 0 = none. As many as
   * `clients` also reports that first burst's time (`firstAttachSec`)
   */
  warmup: number
  /**
   * warm-up bursts of `warmup` clients each (default 1), attached and dropped one after another: the
   * first one's time is the one reported as the first burst after start
   */
  warmupBursts?: number
  /** idle window with no clients and with the clients, ms */
  idleMs: number
  /**
   * timed bursts (default 1): after the first (and its memory and idle readings), the clients are
   * dropped and as many new ones attach again, each burst timed the same way
   */
  bursts?: number
  log?: (s: string) => void
}

interface Reading { rss: number, heap: number, heapTotal: number, ext: number, others: Array<{ rss: number, heap: number }> }

/** memory of every chat server after a full GC; `server` apart */
async function reading (sut: SystemUnderTest, server: number): Promise<Reading> {
  const name = serverName(sut, server)
  const chat = (await sut.cluster.snapshot(true)).servers.filter(s => s.role === 'server')
  const me = chat.find(s => s.name === name)
  if (me == null) throw new Error(`no reading of ${name}`)
  return {
    rss: me.proc.rssBytes,
    heap: me.counters.g_heapUsed ?? NaN,
    heapTotal: me.counters.g_heapTotal ?? NaN,
    ext: me.counters.g_external ?? NaN,
    others: chat.filter(s => s !== me).map(s => ({ rss: s.proc.rssBytes, heap: s.counters.g_heapUsed ?? NaN }))
  }
}

async function heapSnapshot (sut: SystemUnderTest, server: number, clients: number, when: string): Promise<void> {
  const dir = process.env.MESHCHAT_BENCH_HEAP_SNAPSHOT
  if (dir == null || dir === '') return
  await mkdir(dir, { recursive: true })
  const file = join(dir, `${sut.cluster.label.replace(/\W+/g, '_')}-${serverName(sut, server)}-${clients}-${when}.heapsnapshot`)
  await sut.cluster.serverProc(server).io(true, undefined, file)
}

function serverName (sut: SystemUnderTest, i: number): string {
  return sut.system === 'meshchat' ? `node${i}` : `sio${i}`
}

/** the server's CPU (cores) and event-loop delay over `ms` */
async function idleWindow (sut: SystemUnderTest, server: number, ms: number): Promise<{ cores: number, eld?: EventLoopDelay }> {
  const proc = sut.cluster.serverProc(server)
  await proc.io(false, 'start')
  const c0 = proc.stats().cpuSec
  const t0 = now()
  await sleep(ms)
  const io = await proc.io(false, 'stop')
  const cores = (proc.stats().cpuSec - c0) / ((now() - t0) / 1000)
  return { cores, eld: io.eld }
}

function placementOn (server: number, servers: number, keys: number[]): Placement {
  return { name: `one-server-${server}`, servers, seats: keys.map(key => ({ key, server, rooms: [] })), roomSizes: {} }
}

const MiB = 1024 * 1024

export async function oneServer (sut: SystemUnderTest, o: OneServerOptions): Promise<AttachRow> {
  const servers = sut.cluster.size
  const server = Math.min(o.server, servers - 1)
  const proc = sut.cluster.serverProc(server)
  await sut.detach()
  let first: { sec: number, cpuMs: number } | undefined
  for (let b = 0; o.warmup > 0 && b < (o.warmupBursts ?? 1); b++) {
    // users of their own per burst, as the timed bursts have, in a range of keys theirs whatever the
    // sizes (--attach-warmup takes up to 999,999 clients; the timed bursts' keys are below 1,000,000,000)
    const warm = placementOn(server, servers, Array.from({ length: o.warmup }, (_, i) => 1_000_000_000 + b * 1_000_000 + i))
    await sut.makeKeys(warm)
    const cpu0 = proc.stats().cpuSec
    const { connectWallMs, failed } = await sut.attach(warm, { concurrency: o.concurrency, join: false })
    if (b === 0 && o.warmup === o.clients && failed === 0) first = { sec: connectWallMs / 1000, cpuMs: (proc.stats().cpuSec - cpu0) * 1000 / o.warmup }
    await sut.detach()
  }
  await sleep(1000)
  const before = await reading(sut, server)
  await heapSnapshot(sut, server, o.clients, 'before')
  const idleBefore = await idleWindow(sut, server, o.idleMs)
  const genCpu = async (): Promise<number> => (await Promise.all(sut.gens.slice(0, sut.generatorsInUse).map(async g => g.stats()))).reduce((n, g) => n + g.cpuSec, 0)
  const peerBytes = async (): Promise<number> => {
    const me = (await sut.cluster.snapshot()).servers.find(x => x.name === serverName(sut, server))
    return me == null ? NaN : me.bytesIn.peer + me.bytesOut.peer
  }
  const placement = placementOn(server, servers, Array.from({ length: o.clients }, (_, i) => i))
  // keys are an identity made once, not part of attaching: made before any reading starts
  await sut.makeKeys(placement)
  /** one timed burst: the attach, and the server's and the generators' CPU over it (s) */
  const timed = async (p: Placement): Promise<Awaited<ReturnType<typeof sut.attach>> & { cpuSec: number, genCpuSec: number }> => {
    const c0 = proc.stats().cpuSec
    const g0 = await genCpu()
    const r = await sut.attach(p, { concurrency: o.concurrency, join: false, allowFailures: true })
    return { ...r, cpuSec: proc.stats().cpuSec - c0, genCpuSec: await genCpu() - g0 }
  }
  const peer0 = await peerBytes()
  const fromUs = Number(process.hrtime.bigint() / 1000n)
  const { connectWallMs, failed, results, cpuSec: attachCpu, genCpuSec: attachGenCpu } = await timed(placement)
  const toUs = Number(process.hrtime.bigint() / 1000n)
  const attachPeerBytes = await peerBytes() - peer0
  const attached = o.clients - failed
  // let the burst settle (presence deltas, timers) before reading
  await sleep(2000)
  const early = await reading(sut, server)
  const idleAfter = await idleWindow(sut, server, o.idleMs)
  const after = await reading(sut, server)
  await heapSnapshot(sut, server, o.clients, 'after')
  const s = summarize(Histogram.from(...results.map(r => r.connectMs)))
  const per = (a: number, b: number): number => round((b - a) / attached / 1024, 2)
  const mean = (xs: number[]): number => xs.length === 0 ? NaN : xs.reduce((n, x) => n + x, 0) / xs.length
  const gen = sut.gens[0] == null ? undefined : await sut.gens[0].stats()
  const row: AttachRow = {
    system: sut.cluster.label,
    clients: o.clients,
    servers,
    node: serverName(sut, server),
    generators: sut.generatorsInUse,
    concurrency: o.concurrency,
    wsClient: sut.system === 'meshchat' && sut.cluster.label === 'meshchat' ? gen?.wsClient : undefined,
    attachSec: round(connectWallMs / 1000, 3),
    ...(first != null ? { firstAttachSec: round(first.sec, 3), firstServerCpuMsPerAttach: round(first.cpuMs, 3) } : {}),
    connectP50Ms: round(s.p50, 1),
    connectP99Ms: round(s.p99, 1),
    connectMaxMs: round(s.max, 1),
    redirected: results.reduce((n, r) => n + r.users.filter(u => u.redirected).length + r.repinned, 0),
    failed,
    firstError: results.map(r => r.firstError).find(e => e != null),
    peerBytesPerAttach: Math.round(attachPeerBytes / attached),
    serverCpuMsPerAttach: round(attachCpu * 1000 / attached, 3),
    heapBeforeMiB: round(before.heap / MiB, 1),
    heapAfterMiB: round(after.heap / MiB, 1),
    heapKiBPerClient: per(before.heap, after.heap),
    heapTotalBeforeMiB: round(before.heapTotal / MiB, 1),
    heapTotalAfterMiB: round(after.heapTotal / MiB, 1),
    externalKiBPerClient: per(before.ext, after.ext),
    rssBeforeMiB: round(before.rss / MiB, 1),
    rssEarlyMiB: round(early.rss / MiB, 1),
    rssAfterMiB: round(after.rss / MiB, 1),
    rssKiBPerClient: per(before.rss, after.rss),
    otherHeapKiBPerClient: round(mean(after.others.map((x, i) => x.heap - (before.others[i]?.heap ?? NaN))) / attached / 1024, 2),
    otherRssKiBPerClient: round(mean(after.others.map((x, i) => x.rss - (before.others[i]?.rss ?? NaN))) / attached / 1024, 2),
    idleWindowSec: round(o.idleMs / 1000, 1),
    idleCoresBefore: round(idleBefore.cores, 3),
    idleCoresAfter: round(idleAfter.cores, 3),
    eldBefore: roundEld(idleBefore.eld),
    eldAfter: roundEld(idleAfter.eld),
    clientKiBPerClient: round(results.reduce((n, r) => n + r.rssAfter - r.rssBefore, 0) / attached / 1024, 1),
    clientCpuMsPerAttach: round(attachGenCpu * 1000 / attached, 3),
    profileWindow: { fromUs, toUs }
  }
  o.log?.(`  ${row.system}: ${row.clients - failed} clients on ${row.node} in ${row.attachSec} s${row.firstAttachSec != null ? ` (the first burst after start: ${row.firstAttachSec} s, ${row.firstServerCpuMsPerAttach} ms server CPU each)` : ''}${failed > 0 ? ` (${failed} failed: ${row.firstError ?? ''})` : ''} (${row.peerBytesPerAttach} B mesh traffic per attach; connect p50 ${row.connectP50Ms} p99 ${row.connectP99Ms} ms, ${row.serverCpuMsPerAttach} ms server CPU and ${row.clientCpuMsPerAttach} ms generator CPU each, generator RSS +${row.clientKiBPerClient} KiB each); ` +
    `heap +${row.heapKiBPerClient} KiB, RSS +${row.rssKiBPerClient} KiB per client; idle ${row.idleCoresBefore} → ${row.idleCoresAfter} cores, ` +
    `event-loop delay p50/p99/max ${eldText(row.eldBefore)} → ${eldText(row.eldAfter)} ms`)
  const bursts = Math.max(1, o.bursts ?? 1)
  if (bursts > 1) {
    const all: NonNullable<AttachRow['bursts']> = [{ attachSec: row.attachSec, serverCpuMsPerAttach: row.serverCpuMsPerAttach, clientCpuMsPerAttach: row.clientCpuMsPerAttach, failed }]
    for (let b = 1; b < bursts; b++) {
      await sut.detach()
      await sleep(1000)
      // new users each burst, as a server sees them: keys made before the clock starts
      const next = placementOn(server, servers, Array.from({ length: o.clients }, (_, i) => 2_000_000 + b * o.clients + i))
      await sut.makeKeys(next)
      const r = await timed(next)
      const n = Math.max(1, o.clients - r.failed)
      all.push({ attachSec: round(r.connectWallMs / 1000, 3), serverCpuMsPerAttach: round(r.cpuSec * 1000 / n, 3), clientCpuMsPerAttach: round(r.genCpuSec * 1000 / n, 3), failed: r.failed })
    }
    const median = (xs: number[]): number => {
      const s = [...xs].sort((a, b) => a - b)
      const m = Math.floor(s.length / 2)
      return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
    }
    row.bursts = all
    row.attachSec = round(median(all.map(x => x.attachSec)), 3)
    row.serverCpuMsPerAttach = round(median(all.map(x => x.serverCpuMsPerAttach)), 3)
    row.clientCpuMsPerAttach = round(median(all.map(x => x.clientCpuMsPerAttach)), 3)
    row.failed = all.reduce((n, x) => n + x.failed, 0)
    o.log?.(`  ${row.system}: ${bursts} timed bursts of ${row.clients} in ${all.map(x => x.attachSec).join(', ')} s (median ${row.attachSec} s; server CPU per attach ${all.map(x => x.serverCpuMsPerAttach).join(', ')} ms)`)
  }
  await sut.detach()
  return row
}

function roundEld (e: EventLoopDelay | undefined): EventLoopDelay | undefined {
  if (e == null) return undefined
  return { p50: round(e.p50, 2), p99: round(e.p99, 2), max: round(e.max, 2), mean: round(e.mean, 2), count: e.count }
}

function eldText (e: EventLoopDelay | undefined): string {
  return e == null ? 'n/a' : `${e.p50}/${e.p99}/${e.max}`
}
