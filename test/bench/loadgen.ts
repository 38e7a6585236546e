/**
 * A load generator process: holds many real client connections (meshchat `ChatClient`s over the
 * light WebSocket edge (ws:// URLs) or the libp2p TCP gateway (multiaddrs), or socket.io-client
 * WebSockets) and drives them on the harness's orders over Node IPC
 * (lib/loadgen-protocol.ts). Send and receive times come from the same clock on every process of
 * the machine (performance.timeOrigin + performance.now(), sub-ms), and every message carries its
 * send time, so latency = receive - send whichever generator sent it.
 *
 * meshchat users get their Ed25519 keys from node:crypto and sign natively (libsodium, as Node clients
 * and the nodes do), made before an attach is timed: a key is a device's identity, made once, not part
 * of attaching. The light edge's WebSocket class is the client library's own for Node
 * (`NodeWebSocket`, as `createNodeClient` uses) unless BENCH_WS_CLIENT=ws (the `ws` package's client)
 * or undici (Node's global WebSocket).
 *
 * Started by the harness only (`fork`-style, with an IPC channel); exits when the harness goes away.
 */
import { generateKeyPairSync } from 'node:crypto'
import { tcp } from '@libp2p/tcp'
import { io as ioClient } from 'socket.io-client'
import { WebSocket as WsClient } from 'ws'
import { NodeWebSocket, createNodeClient } from '../../client/src/node.js'
import { nodeEd25519Signer } from '../../client/src/protocol/ed25519-node.js'
import { libp2pTransport } from '../../client/src/transports/libp2p.js'
import { webSocketTransport } from '../../client/src/transports/websocket.js'
import { Histogram } from './lib/histogram.js'
import { readProcStats } from './lib/procs.js'
import type { ChatClient, ChatMessage } from '../../client/src/node.js'
import type { UserKey } from '../../client/src/protocol/keys.js'
import type { ClientTransport } from '../../client/src/transport.js'
import type { Socket } from 'socket.io-client'
import type {
  AttachArgs, AttachResult, Command, PresenceEvent, Request, Response, ResumeArgs, ResumeResult, RunArgs, RunResult, UserSpec
} from './lib/loadgen-protocol.js'

const now = (): number => performance.timeOrigin + performance.now()
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** the generator's view of one simulated user, whichever system */
interface User {
  spec: UserSpec
  userId: string
  server: string
  mc?: ChatClient
  sio?: Socket
}

const users = new Map<number, User>()
/** keys made ahead of an attach (`keys` command), by user key */
const keys = new Map<number, UserKey>()

/** the WebSocket class of the light edge's transport */
const WS_CLIENT = process.env.BENCH_WS_CLIENT === 'undici' ? 'undici' : process.env.BENCH_WS_CLIENT === 'ws' ? 'ws' : 'node'
const WebSocketClass: typeof globalThis.WebSocket = WS_CLIENT === 'undici'
  ? globalThis.WebSocket
  : (WS_CLIENT === 'ws' ? WsClient : NodeWebSocket) as unknown as typeof globalThis.WebSocket

/**
 * an Ed25519 user key made by node:crypto, signing as Node clients do (libsodium where it loads,
 * else node:crypto); the seed is kept for the libp2p transport (noise needs it)
 */
function userKey (): UserKey {
  const { privateKey } = generateKeyPairSync('ed25519')
  const jwk = privateKey.export({ format: 'jwk' })
  const seed = new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url'))
  const raw = new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'))
  return { seed, publicKey: { raw }, sign: nodeEd25519Signer(seed) }
}

const isWsUrl = (addr: string): boolean => /^wss?:\/\//i.test(addr)

/** the transport a client of `addr` uses: the light edge for ws:// URLs, the libp2p TCP gateway for multiaddrs */
function transportFor (addr: string): ClientTransport {
  return isWsUrl(addr) ? webSocketTransport({ WebSocket: WebSocketClass, ...(WS_CLIENT !== 'undici' ? { binaryType: 'nodebuffer' } : {}) }) : libp2pTransport({ transports: [tcp()] })
}
/** sends not yet acknowledged or refused, across runs (a saturated run leaves some behind) */
let inflight = 0

/**
 * What the receive handlers feed while a run is in progress. After its drain window the run reports,
 * and the window stays open for `late`: messages of the measured window that arrive after the report
 * (a step that fell behind), counted apart until the next run or the `late` command.
 */
interface Measuring { from: number, to: number, hist: Histogram, received: number, seen: Set<string>, duplicates: number, replayed: number, closed?: boolean, late: number }
/** meshchat clients that lost their node and reconnected (since the generator started) */
let reconnects = 0
let measuring: Measuring | undefined
let presenceLog: PresenceEvent[] | undefined

function errorName (err: unknown): string {
  const e = err as { name?: string, code?: unknown, message?: string }
  return e?.name != null && e.name !== 'Error' ? e.name : String(e?.message ?? err).slice(0, 60)
}

/**
 * "<send time> <sender> <seq> xxxx…": the send time is all a receiver needs. A second copy of a
 * message at the same receiver (by sender and seq) is counted as a duplicate, not as a delivery.
 */
function onText (receiver: number, text: string, via?: string): void {
  const w = measuring
  if (w == null) return
  const sp = text.indexOf(' ')
  const sentAt = Number(sp > 0 ? text.slice(0, sp) : text)
  if (!(sentAt >= w.from && sentAt < w.to)) return
  const third = text.indexOf(' ', text.indexOf(' ', sp + 1) + 1)
  const id = `${receiver} ${text.slice(sp + 1, third > 0 ? third : undefined)}`
  if (w.seen.has(id)) { if (w.closed !== true) w.duplicates++; return }
  w.seen.add(id)
  if (w.closed === true) { w.late++; return }
  if (via === 'replay') w.replayed++
  w.received++
  w.hist.record(now() - sentAt)
}

/**
 * A network under one client that can be cut (the resume benchmark): dials fail unless
 * `allow(addr)`, and `cut()` drops every connection it opened, as a lost network does.
 */
interface Gate { allow: (addr: string) => boolean, open: Set<{ drop: () => void }> }
function cut (gate: Gate): void {
  for (const c of [...gate.open]) c.drop()
  gate.open.clear()
}

/** a TCP transport (libp2p gateway) under a gate */
function gatedTcp (gate: Gate): ReturnType<typeof tcp> {
  const factory = tcp()
  return ((components: Parameters<typeof factory>[0]) => {
    const t = factory(components) as unknown as Record<string | symbol, unknown>
    return new Proxy(t, {
      get (target, prop) {
        if (prop === 'dial') {
          return async (ma: { toString: () => string }, opts: unknown) => {
            if (!gate.allow(ma.toString())) throw new Error('network cut by the benchmark')
            const conn = await (target.dial as (a: unknown, o: unknown) => Promise<{ abort: (err: Error) => void }>).call(target, ma, opts)
            gate.open.add({ drop: () => { conn.abort(new Error('network cut by the benchmark')) } })
            return conn
          }
        }
        const v = Reflect.get(target, prop, target)
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      }
    })
  }) as unknown as ReturnType<typeof tcp>
}

/** a WebSocket class (light edge) under a gate: refused connections throw like a failed dial, a cut terminates the socket */
function gatedWebSocket (gate: Gate): typeof globalThis.WebSocket {
  class Gated extends NodeWebSocket {
    constructor (url: string | URL, protocols?: string | string[]) {
      if (!gate.allow(String(url))) throw new Error('network cut by the benchmark')
      super(url, protocols)
      const entry = { drop: () => { this.terminate() } }
      gate.open.add(entry)
      this.addEventListener('close', () => { gate.open.delete(entry) }, { once: true })
    }
  }
  return Gated as unknown as typeof globalThis.WebSocket
}

function gatedTransport (addr: string, gate: Gate): ClientTransport {
  return isWsUrl(addr) ? webSocketTransport({ WebSocket: gatedWebSocket(gate), binaryType: 'nodebuffer' }) : libp2pTransport({ transports: [gatedTcp(gate)] })
}

async function waitUntil (cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

async function connectMeshchat (spec: UserSpec): Promise<{ user: User, redirected: boolean, repinned: boolean }> {
  // a user the workload places on a given node declines overload redirects (a full node still moves it)
  const privateKey = keys.get(spec.key) ?? userKey()
  keys.delete(spec.key)
  const mc = createNodeClient({ name: spec.name, addrs: [spec.addr], transports: [transportFor(spec.addr)], privateKey, requestTimeoutMs: 30_000, reconnect: spec.reconnect ?? true, backoff: { minMs: 100, maxMs: 2000 }, redirect: spec.expect === '' })
  let redirected = false
  mc.addEventListener('redirect', () => { redirected = true })
  let welcome
  try {
    welcome = await mc.connect()
  } catch (err) {
    await mc.close().catch(() => {})
    throw err
  }
  let server = welcome.nodeId
  let repinned = false
  if (spec.expect !== '' && server !== spec.expect) {
    // placement sent the client elsewhere; a reconnect goes to the configured address first and
    // is never redirected, so this puts the user where the workload says it sits
    const back = new Promise<void>(resolve => {
      const on = (e: CustomEvent<{ nodeId: string }>): void => {
        if (e.detail.nodeId === spec.expect) { mc.removeEventListener('welcome', on); resolve() }
      }
      mc.addEventListener('welcome', on)
    })
    mc.disconnect()
    await Promise.race([back, sleep(15_000).then(() => { throw new Error(`could not move user ${spec.key} back to its node`) })])
    server = spec.expect
    repinned = true
  }
  const user: User = { spec, userId: mc.userId, server, mc }
  mc.addEventListener('message', e => { if (e.detail.from !== user.userId) onText(spec.key, e.detail.text, e.detail.via) })
  mc.addEventListener('dm', e => { if (e.detail.from !== user.userId) onText(spec.key, e.detail.text) })
  mc.addEventListener('state', e => { if (e.detail.state === 'reconnecting') reconnects++ })
  return { user, redirected, repinned }
}

async function connectSocketIo (spec: UserSpec): Promise<User> {
  const userId = `u${spec.key}`
  const sio = ioClient(spec.addr, { transports: ['websocket'], auth: { userId }, reconnection: false, forceNew: true, timeout: 20_000 })
  await new Promise<void>((resolve, reject) => {
    sio.once('connect', () => { resolve() })
    sio.once('connect_error', err => { reject(err) })
  })
  const user: User = { spec, userId, server: spec.addr, sio }
  sio.on('msg', (m: { from: string, text: string }) => { if (m.from !== userId) onText(spec.key, m.text) })
  sio.on('dm', (m: { from: string, text: string }) => { if (m.from !== userId) onText(spec.key, m.text) })
  return user
}

async function joinRoom (u: User, room: string): Promise<void> {
  if (u.mc != null) { await u.mc.join(room); return }
  const reply = await u.sio?.timeout(20_000).emitWithAck('join', room) as { ok: boolean } | undefined
  if (reply?.ok !== true) throw new Error('join refused')
}

async function pool<T> (items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T
      await fn(item)
    }
  }))
}

async function attach (a: AttachArgs): Promise<AttachResult> {
  const rssBefore = process.memoryUsage().rss
  const hist = new Histogram()
  const out: AttachResult['users'] = []
  let repinned = 0
  let failed = 0
  let firstError: string | undefined
  // every generator starts at the same moment (keys were made before: the `keys` command)
  if (a.startAt != null) await sleep(Math.max(0, a.startAt - now()))
  const t0 = now()
  let lastConnected = t0
  await pool(a.users, a.concurrency, async spec => {
    const t = now()
    try {
      let user: User
      let redirected = false
      if (a.system === 'meshchat') {
        const r = await connectMeshchat(spec)
        user = r.user
        redirected = r.redirected
        if (r.repinned) repinned++
      } else {
        user = await connectSocketIo(spec)
      }
      const done = now()
      hist.record(done - t)
      lastConnected = Math.max(lastConnected, done)
      users.set(spec.key, user)
      out.push({ key: spec.key, userId: user.userId, server: user.server, redirected })
    } catch (err) {
      failed++
      firstError ??= `${errorName(err)}: ${(err as Error).message}`
    }
  })
  const connectWallMs = now() - t0
  const t1 = now()
  if (a.join) {
    await pool(a.users.filter(s => users.has(s.key)), a.concurrency, async spec => {
      const u = users.get(spec.key)
      if (u == null) return
      for (const room of spec.rooms) {
        try {
          await joinRoom(u, room)
        } catch (err) {
          failed++
          firstError ??= `join: ${errorName(err)}: ${(err as Error).message}`
        }
      }
    })
  }
  return { users: out, connectStart: t0, connectEnd: lastConnected, connectWallMs, connectMs: hist.toJSON(), joinWallMs: now() - t1, repinned, failed, firstError, rssBefore, rssAfter: process.memoryUsage().rss }
}

async function run (r: RunArgs): Promise<RunResult> {
  const hist = new Histogram()
  const lag = new Histogram()
  const ackHist = new Histogram()
  const measureFrom = r.startAt + r.warmupMs
  const endAt = r.startAt + r.durationMs
  measuring = { from: measureFrom, to: endAt, hist, received: 0, seen: new Set(), duplicates: 0, replayed: 0, late: 0 }
  const reconnects0 = reconnects
  const cpu0 = process.cpuUsage()
  const period = 1000 / r.ratePerUser
  const senders = [...r.senders].sort((a, b) => a.phaseMs - b.phaseMs)
  const pad = 'x'.repeat(Math.max(0, r.msgBytes))
  let sent = 0
  let sentTotal = 0
  let acked = 0
  let expected = 0
  let seq = 0
  const sendErrors: Record<string, number> = {}
  const fail = (err: unknown): void => { const k = errorName(err); sendErrors[k] = (sendErrors[k] ?? 0) + 1 }

  const send = (s: RunArgs['senders'][number], due: number): void => {
    const u = users.get(s.key)
    if (u == null) { fail(new Error('no such user')); return }
    const t = now()
    lag.record(t - due)
    const head = `${t.toFixed(3)} ${s.key} ${seq++} `
    const text = head + pad.slice(0, Math.max(0, r.msgBytes - head.length))
    const inWindow = t >= measureFrom && t < endAt
    sentTotal++
    if (inWindow) {
      sent++
      expected += r.kind === 'room' ? Math.max(0, (r.roomSizes[s.room ?? ''] ?? 1) - 1) : 1
    }
    inflight++
    const onAck = (): void => { inflight--; acked++; if (inWindow) ackHist.record(now() - t) }
    const onFail = (err: unknown): void => { inflight--; fail(err) }
    if (u.mc != null) {
      const p = r.kind === 'room' ? u.mc.send(s.room ?? '', text) : u.mc.dm(s.to ?? '', text)
      p.then(onAck, onFail)
    } else if (u.sio != null) {
      const ev = r.kind === 'room' ? 'msg' : 'dm'
      const body = r.kind === 'room' ? { room: s.room, text } : { to: s.to, text }
      u.sio.timeout(30_000).emit(ev, body, (err: Error | null, reply?: { ok: boolean, error?: string }) => {
        if (err != null) onFail(err)
        else if (reply?.ok !== true) onFail(new Error(reply?.error ?? 'refused'))
        else onAck()
      })
    }
  }

  await sleep(Math.max(0, r.startAt - now()))
  if (senders.length > 0) {
    await new Promise<void>(resolve => {
      let round = 0
      let j = 0
      const tick = (): void => {
        const t = now()
        for (;;) {
          const s = senders[j]
          if (s == null) { resolve(); return }
          const due = r.startAt + round * period + s.phaseMs
          if (due >= endAt) { resolve(); return }
          if (due > t) { setTimeout(tick, Math.max(0, due - now())); return }
          send(s, due)
          if (++j >= senders.length) { j = 0; round++ }
        }
      }
      tick()
    })
  }
  await sleep(Math.max(0, endAt + r.drainMs - now()))
  const { received, duplicates, replayed } = measuring
  measuring.closed = true
  const cpu = process.cpuUsage(cpu0)
  return { sent, sentTotal, acked, sendErrors, expected, received, duplicates, replayed, reconnects: reconnects - reconnects0, latency: hist.toJSON(), lag: lag.toJSON(), ack: ackHist.toJSON(), cpuSec: (cpu.user + cpu.system) / 1e6 }
}

function observe (): void {
  presenceLog = []
  for (const u of users.values()) {
    u.mc?.addEventListener('presence:join', e => { presenceLog?.push({ observer: u.spec.key, type: 'join', userId: e.detail.member.userId, t: now() }) })
    u.mc?.addEventListener('presence:leave', e => { presenceLog?.push({ observer: u.spec.key, type: 'leave', userId: e.detail.userId, t: now() }) })
  }
}

async function joinKeys (keys: number[], room: string): Promise<Record<number, number>> {
  const t: Record<number, number> = {}
  await Promise.all(keys.map(async k => {
    const u = users.get(k)
    if (u == null) return
    t[k] = now()
    await joinRoom(u, room)
  }))
  return t
}

async function closeKeys (keys: number[]): Promise<Record<number, number>> {
  const t: Record<number, number> = {}
  await Promise.all(keys.map(async k => {
    const u = users.get(k)
    if (u == null) return
    users.delete(k)
    t[k] = now()
    await u.mc?.close().catch(() => {})
    u.sio?.disconnect()
  }))
  return t
}

async function detach (): Promise<void> {
  const all = [...users.values()]
  users.clear()
  keys.clear()
  await pool(all, 200, async u => {
    await u.mc?.close().catch(() => {})
    u.sio?.disconnect()
  })
}

/** most time one history reader waits on the node's budgets for one page size before it stops paging */
const HISTORY_WAIT_CAP_MS = 15_000

/** room resume after a network cut onto another node, and history paging (meshchat only) */
async function resume (a: ResumeArgs): Promise<ResumeResult> {
  const gate = { offline: false, only: '' }
  const portOf = (addr: string): string => (/\/tcp\/(\d+)/.exec(addr) ?? /^wss?:\/\/[^/]*:(\d+)/i.exec(addr))?.[1] ?? ''
  const net: Gate = { allow: addr => !gate.offline && (gate.only === '' || portOf(addr) === gate.only), open: new Set() }
  const reader = createNodeClient({
    name: 'reader',
    addrs: [a.readerFrom],
    transports: [gatedTransport(a.readerFrom, net)],
    privateKey: userKey(),
    backoff: { minMs: 50, maxMs: 200 },
    dedupeWindow: a.fill + a.missed + 1000
  })
  await reader.connect()
  await reader.join(a.room)
  const got = new Map<string, number>()
  let lastCursor = ''
  let outOfOrder = 0
  let duplicates = 0
  let resuming = false
  let replayed = 0
  reader.addEventListener('message', (e: CustomEvent<ChatMessage>) => {
    if (got.has(e.detail.id)) duplicates++
    got.set(e.detail.id, now())
    // the replay after a resume must come in (hlc, id) order; live traffic from several ingress nodes need not
    if (resuming && e.detail.via === 'replay' && e.detail.cursor < lastCursor) outOfOrder++
    if (resuming && e.detail.via === 'replay') { lastCursor = e.detail.cursor; replayed++ }
  })
  const writers: ChatClient[] = []
  for (let i = 0; i < a.writers; i++) {
    const addr = a.writerAddrs[i % a.writerAddrs.length] ?? ''
    const w = createNodeClient({ name: `writer${i}`, addrs: [addr], transports: [transportFor(addr)], privateKey: userKey() })
    await w.connect()
    await w.join(a.room)
    writers.push(w)
  }
  const errors: Record<string, number> = {}
  /** `count` messages from all writers, each at most `perSec` (the node's message budget is 10/s per user, burst 40), a few in flight per writer */
  const write = async (count: number, perSec: number): Promise<string[]> => {
    const ids: string[] = []
    let left = count
    const sendOne = async (w: ChatClient, i: number): Promise<void> => {
      for (let attempt = 0; attempt < 8; attempt++) {
        try {
          const r = await w.send(a.room, `${now().toFixed(3)} ${i} resume ${'x'.repeat(80)}`)
          ids.push(r.id)
          return
        } catch (err) {
          const k = errorName(err)
          errors[k] = (errors[k] ?? 0) + 1
          await sleep(((err as { retryAfterMs?: number }).retryAfterMs ?? 100) + 10)
        }
      }
    }
    await Promise.all(writers.map(async (w, i) => {
      let next = now()
      const inflight = new Set<Promise<void>>()
      while (left > 0) {
        left--
        await sleep(Math.max(0, next - now()))
        next += 1000 / perSec
        const p = sendOne(w, i).finally(() => { inflight.delete(p) })
        inflight.add(p)
        if (inflight.size >= 8) await Promise.race(inflight)
      }
      await Promise.all(inflight)
    }))
    return ids
  }
  const f0 = now()
  const fillIds = await write(a.fill, 8)
  const fillMs = now() - f0
  await waitUntil(() => fillIds.every(id => got.has(id)), 60_000, 'the reader to see the whole room').catch(() => {})
  const readerGotFill = fillIds.filter(id => got.has(id)).length

  // cut the reader off: no dial succeeds, every open connection is aborted
  gate.offline = true
  cut(net)
  await waitUntil(() => reader.state !== 'connected', 10_000, 'the reader to notice the cut')
  const missedIds = await write(a.missed, 8)
  // the missed messages are acknowledged (stored and replicated); give gossip a moment to reach the other node
  await sleep(500)
  gate.only = portOf(a.readerTo)
  resuming = true
  gate.offline = false
  const t0 = now()
  let welcomeAt = 0
  reader.addEventListener('welcome', () => { welcomeAt ||= now() }, { once: true })
  await reader.connect().catch(() => {})
  await waitUntil(() => missedIds.every(id => got.has(id)), 60_000, 'every missed message after the resume').catch(() => {})
  const arrivals = missedIds.map(id => got.get(id) ?? NaN).filter(Number.isFinite)
  const resumeMs = arrivals.length === 0 ? NaN : Math.max(...arrivals) - t0

  const history: ResumeResult['history'] = []
  for (const [node, addr] of a.historyAddrs.entries()) {
    const h = createNodeClient({ name: 'historian', addrs: [addr], transports: [transportFor(addr)], privateKey: userKey() })
    await h.connect()
    for (const limit of a.historyPageSizes) {
      const lat = new Histogram()
      let before: string | undefined
      let pages = 0
      let messages = 0
      let waits = 0
      let waitedMs = 0
      while (pages < a.historyPages) {
        const t = now()
        let page: Awaited<ReturnType<typeof h.history>>
        try {
          page = await h.history(a.room, { limit, before })
        } catch (err) {
          // the node meters the events it sends back (history and backlog budgets): wait as told, then ask
          // again; past HISTORY_WAIT_CAP_MS of waiting for one page size the pages measured so far stand
          // (the result says how many), so one reader at the default budget cannot hold the section for minutes
          const wait = (err as { retryAfterMs?: number }).retryAfterMs
          if (errorName(err) !== 'RateLimitedError' || wait == null || ++waits > 10 * a.historyPages) throw err
          if (waitedMs + wait > HISTORY_WAIT_CAP_MS) break
          waitedMs += wait + 10
          await sleep(wait + 10)
          continue
        }
        lat.record(now() - t)
        pages++
        messages += page.messages.length
        const first = page.messages[0]
        if (!page.more || first == null) before = undefined
        else before = first.cursor
      }
      history.push({ node, limit, pages, messages, latency: lat.toJSON() })
    }
    await h.close()
  }
  await Promise.all([reader, ...writers].map(async c => c.close().catch(() => {})))
  return {
    fillMs,
    fillRate: fillIds.length / (fillMs / 1000),
    fillErrors: errors,
    readerGotFill,
    missed: missedIds.length,
    resumeMs,
    reattachMs: welcomeAt > 0 ? welcomeAt - t0 : NaN,
    gotMissed: arrivals.length,
    duplicates,
    outOfOrder,
    replayed,
    history
  }
}

async function handle (c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'keys': for (const k of c.args.keys) if (!keys.has(k)) keys.set(k, userKey()); return null
    case 'attach': return attach(c.args)
    case 'run': return run(c.args)
    case 'observe': observe(); return null
    case 'events': { const e = presenceLog ?? []; presenceLog = presenceLog == null ? undefined : []; return e }
    case 'join': return joinKeys(c.args.keys, c.args.room)
    case 'close': return closeKeys(c.args.keys)
    case 'resume': return resume(c.args)
    case 'detach': await detach(); return null
    case 'stats': return { ...readProcStats(process.pid), users: users.size, inflight, wsClient: WS_CLIENT }
    case 'late': { const late = measuring?.closed === true ? measuring.late : 0; measuring = undefined; return late }
  }
}

if (process.send == null) {
  console.error('loadgen is started by the benchmark harness (npm run bench)')
  process.exit(2)
}
process.on('message', (msg: Request) => {
  handle(msg.command).then(
    result => { process.send?.({ id: msg.id, ok: true, result } satisfies Response) },
    err => { process.send?.({ id: msg.id, ok: false, error: `${errorName(err)}: ${(err as Error).message}` } satisfies Response) }
  )
})
process.on('disconnect', () => { process.exit(0) })
// the harness stops a generator with SIGTERM: exiting through process.exit writes its --cpu-prof profile
process.on('SIGTERM', () => { process.exit(0) })
// a failed client must not take the generator down; the harness sees the failure in the counts
process.on('unhandledRejection', () => {})
process.on('uncaughtException', err => { console.error('loadgen:', err) })
