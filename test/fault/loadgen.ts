/**
 * The fault rig's load generator, a process of its own inside a network namespace: real ChatClients
 * (the plain WebSocket edge) attached to different nodes, each in a few rooms, sending room messages
 * and DMs and waiting for their acks, reconnecting as the library does by itself. Every observation
 * (an ack with its id and cursor, a delivery, a state change) is one JSON line in the observation
 * file; the checker reads them after the run. Commands come as JSON lines on stdin, replies go to
 * stdout as JSON lines carrying the command's `seq`.
 */
import { createWriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { createNodeClient } from '../../client/src/node.js'
import { Prng } from './prng.js'
import type { ChatClient } from '../../client/src/node.js'
import type { LoadgenConfig, FinalView, NodeSample, Observation } from './observations.js'

/** acked room messages (id → room) and DMs (id → recipient index), and what each client got: for `settle` */
const ackedRoom = new Map<string, string>()
const ackedDm = new Map<string, number>()
const gotIds: Array<Set<string>> = []

interface Member {
  index: number
  client: ChatClient
  userId: string
  rooms: string[]
  inflight: number
}

const config = JSON.parse(process.argv[2] ?? '{}') as LoadgenConfig
const out = createWriteStream(config.obsFile, { flags: 'a' })
const t0 = Date.now()
const rnd = new Prng(config.seed)
const members: Member[] = []
let sending = false
let timer: ReturnType<typeof setInterval> | undefined

function observe (o: Observation): void {
  out.write(JSON.stringify(o) + '\n')
}

function reply (seq: number, body: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ seq, ...body }) + '\n')
}

function addrsFor (i: number): string[] {
  const n = config.nodes.length
  return Array.from({ length: n }, (_, k) => config.nodes[(i + k) % n]?.ws ?? '').filter(a => a !== '')
}

async function startClients (): Promise<void> {
  const rooms = Array.from({ length: config.rooms }, (_, r) => `room${r}`)
  for (let i = 0; i < config.clients; i++) {
    const client = createNodeClient({
      name: `user${i}`,
      addrs: addrsFor(i),
      backoff: { minMs: 200, maxMs: 2000 },
      requestTimeoutMs: 8000,
      redirect: false
    })
    // every room has members on several nodes: client i takes room i mod R and the next ones
    const mine = Array.from({ length: Math.min(config.roomsPerClient, rooms.length) }, (_, k) => rooms[(i + k) % rooms.length] ?? 'room0')
    const m: Member = { index: i, client, userId: '', rooms: mine, inflight: 0 }
    const got = new Set<string>()
    gotIds[i] = got
    client.addEventListener('message', e => {
      const d = e.detail
      got.add(d.id)
      observe({ k: 'msg', c: i, t: Date.now() - t0, room: d.room, id: d.id, cursor: d.cursor, via: d.via, from: d.from })
    })
    client.addEventListener('dm', e => {
      const d = e.detail
      if (d.to !== m.userId || d.from === m.userId) return
      got.add(d.id)
      observe({ k: 'dm', c: i, t: Date.now() - t0, id: d.id, from: d.from, via: d.via })
    })
    client.addEventListener('state', e => {
      observe({ k: 'state', c: i, t: Date.now() - t0, state: e.detail.state, node: e.detail.nodeId ?? '' })
    })
    client.addEventListener('error', () => {})
    await client.start()
    m.userId = client.userId
    for (const room of mine) await client.join(room)
    observe({ k: 'member', c: i, t: Date.now() - t0, user: m.userId, rooms: mine })
    members.push(m)
  }
}

function sendOne (m: Member): void {
  if (m.inflight >= config.maxInflight) return
  m.inflight++
  const toDm = members.length > 1 && rnd.next() < config.dmShare
  const text = `m${m.index}-${Date.now() - t0}`
  if (toDm) {
    let j = rnd.int(0, members.length - 2)
    if (j >= m.index) j++
    const peer = members[j] as Member
    m.client.dm(peer.userId, text).then(r => {
      ackedDm.set(r.id, peer.index)
      observe({ k: 'dmack', c: m.index, t: Date.now() - t0, id: r.id, to: peer.index, state: r.state })
    }, (err: Error) => {
      observe({ k: 'fail', c: m.index, t: Date.now() - t0, err: err.name })
    }).finally(() => { m.inflight-- })
    return
  }
  const room = rnd.pick(m.rooms)
  m.client.send(room, text).then(r => {
    ackedRoom.set(r.id, room)
    observe({ k: 'ack', c: m.index, t: Date.now() - t0, room, id: r.id, cursor: r.cursor })
  }, (err: Error) => {
    observe({ k: 'fail', c: m.index, t: Date.now() - t0, err: err.name, room })
  }).finally(() => { m.inflight-- })
}

/** one tick: each client sends with probability rate × tick */
function tick (): void {
  if (!sending) return
  const p = config.ratePerClient * config.tickMs / 1000
  for (const m of members) {
    if (rnd.next() < p) sendOne(m)
  }
}

async function until (cond: () => boolean, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs
  while (Date.now() < end) {
    if (cond()) return true
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return cond()
}

/**
 * What each node shows after the run: its presence view of every room (an observer client per node
 * joins every room and waits, on all nodes at once, until the rosters match the sessions that exist),
 * then every room's history as that node pages it. `healedAgoMs`: how long ago the final heal was.
 */
async function finalView (deadlineMs: number, healedAgoMs: number): Promise<FinalView> {
  const view: FinalView = { histories: {}, rosters: {}, expected: {}, presenceMs: {} }
  const rooms = Array.from({ length: config.rooms }, (_, r) => `room${r}`)
  for (const room of rooms) {
    view.expected[room] = Object.fromEntries(members.filter(m => m.rooms.includes(room) && m.client.state === 'connected')
      .map(m => [m.userId, m.client.nodeId ?? '']))
  }
  const start = Date.now()
  const fail = (node: string, err: unknown): void => {
    view.errors = [...(view.errors ?? []), `${node}: ${(err as Error).name}: ${(err as Error).message}`]
  }
  const observers = new Map<string, ChatClient>()
  await Promise.all(config.nodes.map(async node => {
    const obs = createNodeClient({ name: 'observer', addrs: [node.ws], reconnect: false, requestTimeoutMs: 15_000 })
    obs.addEventListener('error', () => {})
    try {
      await obs.connect()
      for (const room of rooms) await obs.join(room)
      observers.set(node.id, obs)
    } catch (err) {
      fail(node.id, err)
      await obs.close()
    }
  }))
  // presence: the rosters each node shows must come to match the sessions that exist
  const watchers = new Set([...observers.values()].map(o => o.userId))
  const roster = (obs: ChatClient, room: string): Record<string, string[]> => Object.fromEntries(obs.roster(room)
    .filter(r => !watchers.has(r.userId)).map(r => [r.userId, [...r.nodes].sort()]))
  const matches = (obs: ChatClient): boolean => rooms.every(room => {
    const want = view.expected[room] ?? {}
    const got = roster(obs, room)
    return Object.keys(got).length === Object.keys(want).length &&
      Object.entries(want).every(([u, n]) => JSON.stringify(got[u]) === JSON.stringify([n]))
  })
  await until(() => {
    for (const [id, obs] of observers) {
      if (view.presenceMs[id] == null && matches(obs)) view.presenceMs[id] = healedAgoMs + Date.now() - start
    }
    return Object.keys(view.presenceMs).length === observers.size
  }, Math.max(1000, deadlineMs))
  for (const [id, obs] of observers) view.rosters[id] = Object.fromEntries(rooms.map(room => [room, roster(obs, room)]))
  // history: a node that was cut off until the final heal catches up a couple of heartbeats after its
  // connections are back, so the histories are read again until every node pages the same ones (or
  // the deadline); the checker then judges the last reading
  const historyStart = Date.now()
  const same = (): boolean => {
    const all = [...observers.keys()].map(id => JSON.stringify(rooms.map(room => (view.histories[id]?.[room] ?? []).map(([msgId]) => msgId))))
    return all.every(h => h === all[0])
  }
  for (let round = 0; round < 1000; round++) {
    view.errors = (view.errors ?? []).filter(e => !e.startsWith('history '))
    if (view.errors.length === 0) delete view.errors
    await readHistories()
    if ((same() && view.errors == null) || Date.now() - historyStart > Math.max(1000, deadlineMs)) break
    await new Promise(resolve => setTimeout(resolve, 1000))
  }
  view.historyMs = healedAgoMs + Date.now() - start
  await Promise.allSettled([...observers.values()].map(async o => o.close()))
  return view

  // every observer at once: each pays the node's backlog budget (events sent back) on its own
  async function readHistories (): Promise<void> {
    await Promise.all([...observers].map(async ([id, obs]) => {
      view.histories[id] = {}
      try {
        await readHistory(id, obs)
      } catch (err) {
        fail(`history ${id}`, err)
      }
    }))
  }

  async function readHistory (id: string, obs: ChatClient): Promise<void> {
    for (const room of rooms) {
      // pages come newest first (a page without a cursor is the newest one), each oldest first inside
      const pages: Array<Array<[string, string]>> = []
      let before: string | undefined
      for (let page = 0; page < 10_000; page++) {
        let p: Awaited<ReturnType<ChatClient['history']>>
        try {
          p = await obs.history(room, { before, limit: 500 })
        } catch (err) {
          // the node meters the events it sends back: wait as told, then ask for the same page again
          const wait = (err as { retryAfterMs?: number }).retryAfterMs
          if ((err as Error).name !== 'RateLimitedError' || wait == null) throw err
          await new Promise(resolve => setTimeout(resolve, Math.min(wait + 10, 30_000)))
          continue
        }
        pages.push(p.messages.map(msg => [msg.id, msg.cursor]))
        if (!p.more || p.messages.length === 0) break
        before = p.messages[0]?.cursor
      }
      view.histories[id]![room] = pages.reverse().flat()
    }
  }
}

/** the process figures of a node's /metrics (prom-client's default metrics and the heap after a full collection), summed over labels */
const SAMPLED: Record<string, keyof Omit<NodeSample, 'node' | 'error'>> = {
  process_resident_memory_bytes: 'rss',
  nodejs_heap_size_used_bytes: 'heapUsed',
  nodejs_heap_size_total_bytes: 'heapTotal',
  meshchat_heap_live_bytes: 'heapLive',
  nodejs_active_handles_total: 'handles',
  nodejs_active_resources_total: 'resources',
  process_open_fds: 'fds',
  nodejs_eventloop_lag_p99_seconds: 'lagP99',
  nodejs_eventloop_lag_max_seconds: 'lagMax'
}

/** one reading of every node's process figures (a node that does not answer gets an error) */
async function sampleNodes (): Promise<NodeSample[]> {
  return await Promise.all(config.nodes.map(async node => {
    const url = node.ws.replace(/^ws/, 'http').replace(/\/ws$/, '/metrics')
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(4000) })
      const text = await res.text()
      const sample: NodeSample = { node: node.id }
      for (const line of text.split('\n')) {
        if (line.startsWith('#')) continue
        const m = /^([a-z0-9_]+)(?:\{[^}]*\})? ([-0-9.e+]+)/.exec(line)
        const key = m == null ? undefined : SAMPLED[m[1] ?? '']
        if (m == null || key == null) continue
        sample[key] = (sample[key] ?? 0) + Number(m[2])
      }
      return sample
    } catch (err) {
      return { node: node.id, error: `${(err as Error).name}: ${(err as Error).message}` }
    }
  }))
}

/**
 * Client churn: short-lived sessions that attach to a node, join a room, and close again (no
 * sends), so sessions come and go all the time; none of them may stay in anyone's roster.
 */
async function churn (n: number): Promise<number> {
  let done = 0
  await Promise.all(Array.from({ length: n }, async () => {
    const at = rnd.int(0, config.nodes.length - 1)
    const c = createNodeClient({ name: 'visitor', addrs: [config.nodes[at]?.ws ?? ''], reconnect: false, requestTimeoutMs: 8000 })
    c.addEventListener('error', () => {})
    try {
      await c.connect()
      await c.join(`room${rnd.int(0, config.rooms - 1)}`)
      done++
    } catch {}
    await c.close().catch(() => {})
  }))
  return done
}

async function handle (cmd: { seq: number, cmd: string, [k: string]: unknown }): Promise<void> {
  switch (cmd.cmd) {
    case 'start-clients':
      await startClients()
      reply(cmd.seq, { users: members.map(m => ({ user: m.userId, rooms: m.rooms, node: m.client.nodeId })) })
      return
    case 'traffic':
      sending = cmd.on === true
      if (sending && timer == null) timer = setInterval(tick, config.tickMs)
      reply(cmd.seq, { t: Date.now() - t0 })
      return
    case 'bounce': {
      const m = members[Number(cmd.c)]
      m?.client.disconnect()
      reply(cmd.seq, {})
      return
    }
    case 'drain': {
      sending = false
      const ok = await until(() => members.every(m => m.inflight === 0), Number(cmd.timeoutMs))
      reply(cmd.seq, { drained: ok, inflight: members.reduce((s, m) => s + m.inflight, 0) })
      return
    }
    case 'connected': {
      const ok = await until(() => members.every(m => m.client.state === 'connected'), Number(cmd.timeoutMs))
      reply(cmd.seq, { connected: ok, states: members.map(m => m.client.state) })
      return
    }
    case 'settle': {
      // every acked message at every member, every acked DM at its recipient (or the deadline)
      const start = Date.now()
      const settled = (): boolean => [...ackedRoom].every(([id, room]) => members.every(m => !m.rooms.includes(room) || gotIds[m.index]?.has(id) === true)) &&
        [...ackedDm].every(([id, to]) => gotIds[to]?.has(id) === true)
      const ok = await until(settled, Number(cmd.timeoutMs))
      reply(cmd.seq, { settled: ok, ms: Date.now() - start })
      return
    }
    case 'sample':
      reply(cmd.seq, { samples: await sampleNodes() })
      return
    case 'churn':
      reply(cmd.seq, { sessions: await churn(Number(cmd.n)) })
      return
    case 'final':
      reply(cmd.seq, { view: await finalView(Number(cmd.timeoutMs), Number(cmd.healedAgoMs ?? 0)) })
      return
    case 'close':
      sending = false
      clearInterval(timer)
      await Promise.allSettled(members.map(async m => m.client.close()))
      await new Promise<void>(resolve => out.end(resolve))
      reply(cmd.seq, {})
      process.exit(0)
  }
  reply(cmd.seq, { error: `unknown command ${cmd.cmd}` })
}

createInterface({ input: process.stdin }).on('line', line => {
  let cmd: { seq: number, cmd: string }
  try {
    cmd = JSON.parse(line) as { seq: number, cmd: string }
  } catch {
    return
  }
  handle(cmd).catch((err: Error) => { reply(cmd.seq, { error: `${err.name}: ${err.message}` }) })
})
process.stdin.on('end', () => { process.exit(0) })
