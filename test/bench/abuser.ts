/**
 * The abusive client of the `abuse` benchmark step: one authenticated user on a real client-protocol
 * session over a node's TCP gateway (test/helpers/raw-client.ts, no ChatClient checks or back-off),
 * sending open-loop at (and beyond) every request kind's budget: signed room messages, events with
 * bad signatures, DMs to honest users, typing, join/leave, history pages of 500 from the busiest
 * room, watch lists of 1,024 users, status changes, pings and DM acks. It never backs off; when the
 * node ends its session (a fatal error frame, the stream ends) it reconnects with the same key and
 * carries on, as a real attacker would.
 *
 * Started by the harness only (with an IPC channel, lib/abuser-client.ts); exits when the harness goes away.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { errorFromCode } from '../../client/src/protocol/errors.js'
import { signEvent } from '../../client/src/protocol/signing.js'
import { connectRaw, tamperBody } from '../helpers/raw-client.js'
import { ABUSE_KINDS } from './lib/abuser-protocol.js'
import { Histogram } from './lib/histogram.js'
import type { PrivateKey } from '@libp2p/interface'
import type { ClientFrame, ServerFrame } from '../../client/src/protocol/pb/client.js'
import type { RawClient } from '../helpers/raw-client.js'
import type { AbuseArgs, AbuseCommand, AbuseKind, AbuseRequest, AbuseResponse, AbuseStats, FillArgs, KindCounts } from './lib/abuser-protocol.js'

const now = (): number => performance.timeOrigin + performance.now()
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const nonce = (): Uint8Array => crypto.getRandomValues(new Uint8Array(12))
const codeName = (code: number): string => errorFromCode(code, '').codeName

function errorName (err: unknown): string {
  const e = err as { name?: string, message?: string }
  return e?.name != null && e.name !== 'Error' ? e.name : String(e?.message ?? err).slice(0, 80)
}

async function roomEvent (key: PrivateKey, room: string, text: string): Promise<Uint8Array> {
  return (await signEvent(key, 'abuser', { kind: 'room', room, text }, { now: Date.now(), nonce: nonce() })).bytes
}

// ---- fill: make the busiest room hold a full history page before the runs

async function fill (a: FillArgs): Promise<{ before: number, added: number, ms: number }> {
  const t0 = now()
  const probe = await connectRaw(a.addr)
  let before = 0
  try {
    await probe.hello('abuse-probe')
    const page = await probe.request({ history: { room: a.room, limit: a.atLeast } })
    before = page.history?.events.length ?? 0
  } finally {
    await probe.close().catch(() => {})
  }
  const need = Math.max(0, a.atLeast - before)
  if (need === 0) return { before, added: 0, ms: now() - t0 }
  let added = 0
  const per = Math.ceil(need / a.writers)
  await Promise.all(Array.from({ length: a.writers }, async (_, w) => {
    const r = await connectRaw(a.addr)
    try {
      await r.hello(`abuse-fill-${w}`)
      const j = await r.request({ join: { room: a.room, backlog: 0 } })
      if (j.error != null) throw new Error(`fill join refused: ${j.error.message}`)
      const reqs: number[] = []
      let next = now()
      for (let i = 0; i < per; i++) {
        await sleep(Math.max(0, next - now()))
        next += 1000 / a.perSec
        const req = 100 + i
        r.send({ req, publish: { event: await roomEvent(r.key, a.room, `abuse-fill ${w} ${i} ${'x'.repeat(80)}`) as Uint8Array<ArrayBuffer> } })
        reqs.push(req)
      }
      for (const req of reqs) {
        const f = await r.waitFrame(x => x.req === req, `fill reply ${req}`, 30_000)
        if (f.publishAck != null) added++
      }
    } finally {
      await r.close().catch(() => {})
    }
  }))
  return { before, added, ms: now() - t0 }
}

// ---- the attack

const emptyCounts = (): KindCounts => ({ sent: 0, accepted: 0, dropped: 0, refused: {}, unanswered: 0, held: 0, replyP50Ms: NaN, replyP99Ms: NaN, replyMaxMs: NaN, serviceP50Ms: NaN, serviceP99Ms: NaN, serviceSumMs: 0 })

let running = false
let loop: Promise<void> | undefined
let stats: AbuseStats | undefined
let replies = new Map<AbuseKind, Histogram>()
let service = new Map<AbuseKind, Histogram>()
let startedAt = 0
let cpu0 = process.cpuUsage()

function newStats (): AbuseStats {
  const byKind = {} as Record<AbuseKind, KindCounts>
  for (const k of ABUSE_KINDS) byKind[k] = emptyCounts()
  return { seconds: 0, byKind, disconnects: {}, connectFailures: 0, sessions: 0, pushed: 0, cpuSec: 0 }
}

async function watchList (a: AbuseArgs): Promise<string[]> {
  const list = a.honest.slice(0, a.watchSize)
  while (list.length < a.watchSize) list.push(peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString())
  return list
}

let seq = 0
let churn = 0

/** one session of the abusive user, sending the requests of `kinds`; reconnects whenever the node ends it */
async function abuse (a: AbuseArgs, key: PrivateKey, s: AbuseStats, kinds: AbuseKind[], watch: string[]): Promise<void> {
  const pad = (head: string): string => head + 'x'.repeat(Math.max(0, a.msgBytes - head.length))
  const inRoom = kinds.some(k => k === 'room' || k === 'badSig' || k === 'typing')
  while (running) {
    let raw: RawClient
    try {
      raw = await connectRaw(a.addr, { key })
      await raw.hello('abuser').catch(async err => { await raw.close().catch(() => {}); throw err })
    } catch {
      s.connectFailures++
      await sleep(50)
      continue
    }
    s.sessions++
    raw.frames.splice(0)
    const r = raw
    const pending = new Map<number, { kind: AbuseKind, at: number }>()
    let nextReq = 1
    let lastFatal: string | undefined
    let lastReplyAt = 0
    const joined: string[] = []
    /** requests go out in the order they were due, signed ones included (signing is async) */
    let chain = Promise.resolve()
    let queued = 0
    const enqueue = (kind: AbuseKind, make: () => Omit<ClientFrame, 'req'> | Promise<Omit<ClientFrame, 'req'>>): void => {
      if (pending.size + queued >= a.maxInFlight) { s.byKind[kind].held++; return }
      queued++
      chain = chain.then(async () => {
        const body = await make()
        if (r.ended || !running) return
        const req = nextReq++
        pending.set(req, { kind, at: now() })
        s.byKind[kind].sent++
        try {
          r.send({ req, ...body } as ClientFrame)
        } catch {
          // the stream is going away; the loop notices
        }
      }).catch(() => {}).finally(() => { queued-- })
    }
    const send = (kind: AbuseKind, body: Omit<ClientFrame, 'req'>): void => { enqueue(kind, () => body) }
    const publish = (kind: AbuseKind, make: () => Promise<Uint8Array>): void => {
      enqueue(kind, async () => ({ publish: { event: await make() as Uint8Array<ArrayBuffer> } }))
    }
    const issue: Record<AbuseKind, () => void> = {
      room: () => { publish('room', async () => roomEvent(key, a.room, pad(`abuse ${seq++} `))) },
      badSig: () => { publish('badSig', async () => tamperBody(await roomEvent(key, a.room, pad(`Xabuse ${seq++} `)))) },
      dm: () => {
        const to = a.honest[seq % Math.max(1, a.honest.length)] ?? ''
        publish('dm', async () => (await signEvent(key, 'abuser', { kind: 'dm', to, text: pad(`abuse ${seq++} `) }, { now: Date.now(), nonce: nonce() })).bytes)
      },
      typing: () => { publish('typing', async () => (await signEvent(key, 'abuser', { kind: 'typing', room: a.room, active: seq++ % 2 === 0 }, { now: Date.now(), nonce: nonce() })).bytes) },
      join: () => {
        const room = a.churnRooms[churn++ % Math.max(1, a.churnRooms.length)] ?? a.room
        joined.push(room)
        send('join', { join: { room, backlog: a.historyLimit } })
      },
      leave: () => {
        const room = joined.shift() ?? a.churnRooms[churn % Math.max(1, a.churnRooms.length)] ?? a.room
        send('leave', { leave: { room } })
      },
      history: () => { send('history', { history: { room: a.room, limit: a.historyLimit } }) },
      watch: () => { send('watch', { watch: { users: watch } }) },
      status: () => { send('status', { status: { status: seq++ % 2 === 0 ? 'away' : 'online' } }) },
      ping: () => { send('ping', { ping: { time: BigInt(Date.now()) } }) },
      dmAck: () => { send('dmAck', { dmAck: { ids: Array.from({ length: a.dmAckIds }, () => crypto.getRandomValues(new Uint8Array(32)) as Uint8Array<ArrayBuffer>) } }) }
    }
    const drain = (): void => {
      for (const f of r.frames.splice(0) as ServerFrame[]) {
        const p = f.req === 0 ? undefined : pending.get(f.req)
        if (f.error?.fatal === true) lastFatal = codeName(f.error.code)
        if (p == null) { s.pushed++; continue }
        pending.delete(f.req)
        const kind = p.kind
        const t = now()
        let h = replies.get(kind)
        if (h == null) replies.set(kind, h = new Histogram())
        h.record(t - p.at)
        let sv = service.get(kind)
        if (sv == null) service.set(kind, sv = new Histogram())
        sv.record(t - Math.max(lastReplyAt, p.at))
        lastReplyAt = t
        const c = s.byKind[kind]
        if (f.error != null) {
          const n = codeName(f.error.code)
          c.refused[n] = (c.refused[n] ?? 0) + 1
        } else if (kind === 'typing' && f.publishAck != null && f.publishAck.id.every(b => b === 0)) {
          c.dropped++
        } else {
          c.accepted++
        }
      }
    }
    // a session that sends to the busiest room stays in it; the join is charged like any other
    if (inRoom) send('join', { join: { room: a.room, backlog: 0 } })
    // a fresh session's budgets are full: spend every burst at once, then run at the rates
    const acc = Object.fromEntries(kinds.map(k => [k, Math.max(1, a.bursts[k])])) as Record<AbuseKind, number>
    let last = now()
    while (running && !r.ended) {
      const t = now()
      const dt = Math.min(0.1, (t - last) / 1000)
      last = t
      for (const k of kinds) acc[k] += a.rates[k] * dt
      // kinds take turns, so a burst of one does not queue the others behind it
      for (let more = true; more && running && !r.ended;) {
        more = false
        for (const k of kinds) {
          if (acc[k] >= 1) { acc[k] -= 1; issue[k](); more = true }
        }
      }
      drain()
      await sleep(5)
    }
    // replies already on their way
    await sleep(r.ended ? 20 : 200)
    drain()
    for (const p of pending.values()) s.byKind[p.kind].unanswered++
    if (r.ended) s.disconnects[lastFatal ?? 'ended'] = (s.disconnects[lastFatal ?? 'ended'] ?? 0) + 1
    await r.close().catch(() => {})
  }
}

async function start (a: AbuseArgs): Promise<null> {
  if (running) throw new Error('already running')
  const key = await generateKeyPair('Ed25519')
  stats = newStats()
  replies = new Map()
  service = new Map()
  running = true
  startedAt = now()
  cpu0 = process.cpuUsage()
  const s = stats
  const watch = await watchList(a)
  loop = Promise.all(a.sessions.map(async kinds => abuse(a, key, s, kinds, watch))).then(() => {}, err => { console.error('abuser:', err); running = false })
  return null
}

async function stop (at?: number): Promise<AbuseStats> {
  if (at != null) await sleep(Math.max(0, at - now()))
  running = false
  await loop
  loop = undefined
  const s = stats ?? newStats()
  const cpu = process.cpuUsage(cpu0)
  s.seconds = (now() - startedAt) / 1000
  s.cpuSec = (cpu.user + cpu.system) / 1e6
  const r1 = (x: number): number => Math.round(x * 10) / 10
  for (const [k, h] of replies) {
    const c = s.byKind[k]
    c.replyP50Ms = r1(h.quantile(0.5))
    c.replyP99Ms = r1(h.quantile(0.99))
    c.replyMaxMs = r1(h.max)
  }
  for (const [k, h] of service) {
    const c = s.byKind[k]
    c.serviceP50Ms = r1(h.quantile(0.5))
    c.serviceP99Ms = r1(h.quantile(0.99))
    c.serviceSumMs = r1(h.sum)
  }
  return s
}

async function handle (c: AbuseCommand): Promise<unknown> {
  switch (c.cmd) {
    case 'fill': return fill(c.args)
    case 'start': return start(c.args)
    case 'stop': return stop(c.args.at)
  }
}

if (process.send == null) {
  console.error('abuser is started by the benchmark harness (npm run bench)')
  process.exit(2)
}
process.on('message', (msg: AbuseRequest) => {
  handle(msg.command).then(
    result => { process.send?.({ id: msg.id, ok: true, result } satisfies AbuseResponse) },
    err => { process.send?.({ id: msg.id, ok: false, error: `${errorName(err)}: ${(err as Error).message}` } satisfies AbuseResponse) }
  )
})
process.on('disconnect', () => { process.exit(0) })
process.on('unhandledRejection', () => {})
process.on('uncaughtException', err => { console.error('abuser:', err) })
