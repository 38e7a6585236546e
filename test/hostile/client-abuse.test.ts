import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../client/src/protocol/errors.js'
import { openEvent, signEvent } from '../../client/src/protocol/signing.js'
import { DeliveryKind, DmState } from '../../client/src/protocol/pb/client.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DEFAULT_BUDGETS } from '../../node/src/state/budgets.js'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import { RawClients, clientHost, lengthPrefix, tamperBody } from '../helpers/raw-client.js'
import { CLIENT_PROTOCOL, CLIENT_PROTOCOL_VERSION } from '../../client/src/protocol/ids.js'
import { multiaddr } from '@multiformats/multiaddr'
import type { TestMesh } from '../helpers/mesh.js'
import type { RawClient } from '../helpers/raw-client.js'
import type { ServerFrame } from '../../client/src/protocol/pb/client.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { Libp2p } from '@libp2p/interface'

async function rejected (node: MeshchatNode, code: string): Promise<number> {
  const m = await node.metrics.rejected.get()
  return m.values.filter(v => v.labels.code === code).reduce((n, v) => n + v.value, 0)
}

async function refusedConnections (node: MeshchatNode, reason: string): Promise<number> {
  const m = await node.metrics.connectionsRefused.get()
  return m.values.filter(v => v.labels.reason === reason).reduce((n, v) => n + v.value, 0)
}

function codeOf (f: ServerFrame): number | undefined {
  return f.error?.code
}

async function roomEvent (r: RawClient, room: string, text: string): Promise<Uint8Array> {
  return (await signEvent(r.key, 'raw', { kind: 'room', room, text }, { now: Date.now(), nonce: crypto.getRandomValues(new Uint8Array(12)) })).bytes
}

/**
 * One client must not be able to saturate a node: every request kind is
 * charged to the session's and the user's budgets before the node does the
 * expensive part, and a session that keeps pushing past them is cut off.
 */
describe('an abusive client', () => {
  let mesh: TestMesh | undefined
  const raws = new RawClients()
  const hosts: Libp2p[] = []

  afterEach(async () => {
    await raws.closeAll()
    await Promise.allSettled(hosts.splice(0).map(async h => h.stop()))
    await mesh?.stop()
    mesh = undefined
  })

  async function raw (node: MeshchatNode, name = 'abuser'): Promise<RawClient> {
    const r = await raws.connect(tcpGateway(node))
    await r.hello(name)
    return r
  }

  it('is rate-limited before its signatures are checked', async () => {
    mesh = await startMesh(1)
    const [a] = mesh.nodes as [MeshchatNode]
    const r = await raw(a)
    expect(codeOf(await r.request({ join: { room: 'flood', backlog: 0 } }))).toBeUndefined()
    // spend the burst (40) and more with valid messages, pipelined, then an event whose signature does not
    // verify: it is refused as over the limit, not as a bad signature, so the node never checked it
    const events = await Promise.all(Array.from({ length: 60 }, async (_, i) => roomEvent(r, 'flood', `m${i}`)))
    const forged = tamperBody(await roomEvent(r, 'flood', 'Xforged'))
    for (const [i, e] of events.entries()) r.send({ req: 100 + i, publish: { event: e as Uint8Array<ArrayBuffer> } })
    r.send({ req: 99, publish: { event: forged as Uint8Array<ArrayBuffer> } })
    const f = await r.waitFrame(x => x.req === 99, 'the reply to the forged event')
    const replies = await Promise.all(events.map(async (_, i) => r.waitFrame(x => x.req === 100 + i, `reply ${i}`)))
    expect(replies.filter(x => x.publishAck != null).length, 'the burst went through').toBeGreaterThanOrEqual(40)
    expect(replies.filter(x => codeOf(x) === ErrorCode.RATE_LIMITED).length, 'the rest was over the limit').toBeGreaterThan(0)
    expect(codeOf(f)).toBe(ErrorCode.RATE_LIMITED)
    expect(f.error?.retryAfterMs).toBeGreaterThan(0)
    expect(await rejected(a, 'RateLimitedError'), 'rate-limit refusals are counted').toBeGreaterThanOrEqual(1)
    expect(await rejected(a, 'BadSignatureError')).toBe(0)
  })

  it('history, join/leave, watch, status and ping floods hit their budgets; a client that keeps pushing is disconnected', async () => {
    mesh = await startMesh(1)
    const [a] = mesh.nodes as [MeshchatNode]
    const kinds: Array<[string, (r: RawClient) => Promise<ServerFrame>]> = [
      ['history', async r => r.request({ history: { room: 'lobby', limit: 500 } })],
      ['join/leave', async r => r.frames.filter(x => x.replayDone != null).length > r.frames.filter(x => x.ok != null).length
        ? r.request({ leave: { room: 'revolving' } })
        : r.request({ join: { room: 'revolving', backlog: 0 } })],
      ['watch', async r => r.request({ watch: { users: Array.from({ length: 1024 }, () => r.userId) } })],
      ['status', async r => r.request({ status: { status: 'away' } })],
      ['ping', async r => r.request({ ping: { time: 1n } })]
    ]
    for (const [kind, send] of kinds) {
      const r = await raw(a, `flood-${kind.replace('/', '-')}`)
      let limited = 0
      for (let i = 0; i < 200 && limited === 0; i++) {
        const f = await send(r)
        if (codeOf(f) === ErrorCode.RATE_LIMITED) limited++
        else expect(codeOf(f), `${kind} #${i}`).toBeUndefined()
      }
      expect(limited, `${kind} floods are refused with RATE_LIMITED`).toBe(1)
    }
    // one that ignores the refusals and keeps going is disconnected with a reason
    const r = await raw(a, 'relentless')
    let last: ServerFrame | undefined
    for (let i = 0; i < 500 && !r.ended; i++) {
      r.send({ req: 10_000 + i, ping: { time: 1n } })
      if (i % 50 === 49) await new Promise(resolve => setTimeout(resolve, 10))
    }
    await r.waitEnded()
    last = r.frames.findLast(x => x.error != null)
    expect(last?.error?.fatal, 'the last error is fatal').toBe(true)
    expect(last?.error?.code).toBe(ErrorCode.RATE_LIMITED)
    // coming straight back buys no fresh budget: the user's next session is refused at hello, before the
    // node does any attach work, and told how long to wait; after that it is admitted
    const again = await raws.connect(tcpGateway(a), { key: r.key })
    const refusedHello = await again.request({ hello: { version: CLIENT_PROTOCOL_VERSION, name: new TextEncoder().encode('relentless') as Uint8Array<ArrayBuffer>, status: '', rooms: [], noRedirect: true, affinity: false } })
    expect(refusedHello.error?.code).toBe(ErrorCode.RATE_LIMITED)
    expect(refusedHello.error?.fatal).toBe(true)
    expect(refusedHello.error?.retryAfterMs).toBeGreaterThan(0)
    await again.waitEnded()
    expect(a.registry.userRooms(r.userId).size, 'nothing attached').toBe(0)
    await new Promise(resolve => setTimeout(resolve, (refusedHello.error?.retryAfterMs ?? 0) + 100))
    const later = await raws.connect(tcpGateway(a), { key: r.key })
    await later.hello('relentless')
    // admitted, but the user's budgets were emptied for the wait: no burst to spend on coming back
    const pings = []
    for (let i = 0; i < 5; i++) pings.push(await later.request({ ping: { time: 7n } }))
    expect(pings.filter(f => f.pong != null).length, 'at most what refilled since the wait ended').toBeLessThan(5)
    expect(pings.some(f => codeOf(f) === ErrorCode.RATE_LIMITED)).toBe(true)
    // every other session is fine, with its whole burst
    const calm = await raw(a, 'calm')
    for (let i = 0; i < 5; i++) expect((await calm.request({ ping: { time: 9n } })).pong?.time).toBe(9n)
  })

  it('history pages, join backlogs and replays are paid for by the event they send back', async () => {
    // a small backlog budget (100 events a session, 2/s) so that a few pages of 40 spend it
    const backlog = { session: { ratePerSec: 2, burst: 100 }, user: { ratePerSec: 2, burst: 100 } }
    mesh = await startMesh(1, { budgets: { ...DEFAULT_BUDGETS, backlog } })
    const [a] = mesh.nodes as [MeshchatNode]
    const writer = await raw(a, 'writer')
    expect(codeOf(await writer.request({ join: { room: 'archive', backlog: 0 } }))).toBeUndefined()
    for (let i = 0; i < 40; i++) {
      expect(codeOf(await writer.request({ publish: { event: await roomEvent(writer, 'archive', `m${i}`) as Uint8Array<ArrayBuffer> } })), `message ${i}`).toBeUndefined()
    }
    const r = await raw(a, 'reader')
    // a join with a backlog of 40 and two pages of 40: 120 events asked of a budget of 100; each request
    // starts while the bucket is not in debt, so the third goes through and leaves the bucket 20 short
    const join = await r.request({ join: { room: 'archive', backlog: 40 } })
    expect(join.replayDone?.count).toBe(40)
    const pages: ServerFrame[] = []
    for (let i = 0; i < 2; i++) pages.push(await r.request({ history: { room: 'archive', limit: 40 } }))
    expect(pages.map(p => p.history?.events.length)).toEqual([40, 40])
    // in debt: the next page, a join's backlog and a DM history page wait until it is paid off
    const refused = await r.request({ history: { room: 'archive', limit: 1 } })
    expect(codeOf(refused)).toBe(ErrorCode.RATE_LIMITED)
    expect(refused.error?.retryAfterMs, 'the wait covers what is left of the debt (20 events at 2/s) and one more').toBeGreaterThan(1000)
    expect(codeOf(await r.request({ join: { room: 'other', backlog: 10 } }))).toBe(ErrorCode.RATE_LIMITED)
    // another user is not affected
    const other = await raw(a, 'other-reader')
    expect((await other.request({ history: { room: 'archive', limit: 40 } })).history?.events.length).toBe(40)
    // once the debt is paid the reader goes on
    await new Promise(resolve => setTimeout(resolve, (refused.error?.retryAfterMs ?? 0) + 100))
    expect((await r.request({ history: { room: 'archive', limit: 5 } })).history?.events.length).toBe(5)
    expect((await a.metrics.internalErrors.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0)
  })

  it('a join with a bad cursor is refused as a bad query, leaves nothing behind, and counts toward disconnection', async () => {
    mesh = await startMesh(1)
    const [a] = mesh.nodes as [MeshchatNode]
    const r = await raw(a)
    const bad = { hlc: 0xffff_ffff_ffff_ffffn, id: new Uint8Array(32) as Uint8Array<ArrayBuffer> }
    const f = await r.request({ join: { room: 'cursed', after: bad, backlog: 0 } })
    expect(codeOf(f)).toBe(ErrorCode.INVALID_QUERY)
    expect(a.registry.userRooms(r.userId).has('cursed'), 'not joined').toBe(false)
    expect(a.rooms.isSubscribed('cursed'), 'no subscription left behind').toBe(false)
    await waitFor(() => a.presence.replica.roomRoster('cursed').length === 0, { what: 'no roster entry left behind' })
    expect((await a.metrics.internalErrors.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0)
    // a client that keeps sending them is garbage, and is disconnected
    for (let i = 0; i < 30 && !r.ended; i++) r.send({ req: 500 + i, join: { room: 'cursed', after: bad, backlog: 0 } })
    await r.waitEnded()
    expect(r.frames.findLast(x => x.error != null)?.error?.fatal).toBe(true)
  })

  it('a connection that never says hello, or stops in the middle of a frame, is closed', async () => {
    mesh = await startMesh(1, { helloTimeoutMs: 500, frameTimeoutMs: 500 })
    const [a] = mesh.nodes as [MeshchatNode]
    const silent = await raws.connect(tcpGateway(a))
    await silent.waitEnded(5000)
    expect(silent.frames.at(-1)?.error).toMatchObject({ code: ErrorCode.TOO_SLOW, fatal: true })

    const half = await raw(a, 'half')
    // a frame of 100 bytes announced, 10 sent, then nothing
    half.sendBytes(lengthPrefix(100))
    half.sendBytes(new Uint8Array(10))
    await half.waitEnded(5000)
    expect(half.frames.at(-1)?.error).toMatchObject({ code: ErrorCode.TOO_SLOW, fatal: true })
    await waitFor(() => a.registry.size === 0, { what: 'both sessions to be gone' })

    // a libp2p connection that never opens the client protocol is closed too
    const idle = await clientHost()
    hosts.push(idle)
    const before = await refusedConnections(a, 'idle')
    await idle.dial(multiaddr(tcpGateway(a)))
    await waitFor(() => idle.getConnections().length === 0, { timeoutMs: 5000, what: 'the idle connection to be closed by the node' })
    expect(await refusedConnections(a, 'idle')).toBe(before + 1)
  })

  it('one address cannot take more than its share of the gateway', async () => {
    mesh = await startMesh(1, { maxClientsPerIp: 3 })
    const [a] = mesh.nodes as [MeshchatNode]
    const ok = await Promise.all([0, 1, 2].map(async i => raw(a, `n${i}`)))
    expect(ok).toHaveLength(3)
    const extra = await clientHost()
    hosts.push(extra)
    await expect(extra.dialProtocol(multiaddr(tcpGateway(a)), CLIENT_PROTOCOL, { signal: AbortSignal.timeout(5000) })).rejects.toThrow()
    expect(await refusedConnections(a, 'per_ip')).toBeGreaterThanOrEqual(1)
    // a slot frees when a connection goes
    await ok[0]!.close()
    await waitFor(async () => {
      try {
        await raw(a, 'next')
        return true
      } catch {
        return false
      }
    }, { what: 'a new connection once one closed' })
  })

  it('the same DM sent three times is delivered once', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const sender = await raw(a, 'sender')
    const recipient = await raw(b, 'recipient')
    await waitFor(() => a.presence.userNodes(recipient.userId).includes(b.nodeId), { what: 'a to see the recipient on b' })
    const dm = (await signEvent(sender.key, 'sender', { kind: 'dm', to: recipient.userId, text: 'once' }, { now: Date.now(), nonce: crypto.getRandomValues(new Uint8Array(12)) })).bytes
    const acks: ServerFrame[] = []
    for (let i = 0; i < 3; i++) acks.push(await sender.request({ publish: { event: dm as Uint8Array<ArrayBuffer> } }))
    for (const f of acks) expect(f.publishAck?.hlc, 'every retry gets the first answer').toBe(acks[0]!.publishAck?.hlc)
    // a sentinel after it, so "once" is not just "not yet"
    const after = (await signEvent(sender.key, 'sender', { kind: 'dm', to: recipient.userId, text: 'sentinel' }, { now: Date.now(), nonce: crypto.getRandomValues(new Uint8Array(12)) })).bytes
    await sender.request({ publish: { event: after as Uint8Array<ArrayBuffer> } })
    await waitFor(() => recipient.frames.filter(f => f.delivery != null).length >= 2, { what: 'the recipient to get the DM and the sentinel' })
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(recipient.frames.filter(f => f.delivery != null)).toHaveLength(2)
  })

  it('DM acks for ids the node never handed out cost nothing beyond it; a real mailbox ack still removes every copy', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    // count the mailbox deletes that reach each node's store
    let deletes = 0
    for (const n of mesh.nodes) {
      const del = n.store.mailboxDelete.bind(n.store)
      n.store.mailboxDelete = (user, ids) => { deletes++; return del(user, ids) }
    }
    const key = await generateKeyPair('Ed25519')
    const bobId = peerIdFromPrivateKey(key).toString()
    const sender = await raw(a, 'sender')
    const dm = (await signEvent(sender.key, 'sender', { kind: 'dm', to: bobId, text: 'queued' }, { now: Date.now(), nonce: crypto.getRandomValues(new Uint8Array(12)) })).bytes
    expect((await sender.request({ publish: { event: dm as Uint8Array<ArrayBuffer> } })).publishAck?.dm).toBe(DmState.QUEUED)
    const owners = a.dm.owners(bobId).map(o => mesh!.nodes.find(n => n.nodeId === o)!)
    expect(owners.map(o => o.store.mailboxCount(bobId))).toEqual([1, 1])
    // bob attaches on a node and acks 100 ids nobody handed him, then the real one's id among made-up ones
    const bob = await raws.connect(tcpGateway(owners[0] === c ? b : c), { key })
    await bob.hello('bob')
    const mail = await bob.waitFrame(f => f.delivery?.kind === DeliveryKind.MAILBOX, 'the mailbox delivery')
    const made = Array.from({ length: 100 }, () => crypto.getRandomValues(new Uint8Array(32)) as Uint8Array<ArrayBuffer>)
    expect(codeOf(await bob.request({ dmAck: { ids: made } }))).toBeUndefined()
    expect(deletes, 'made-up ids reach no mailbox').toBe(0)
    expect(owners.map(o => o.store.mailboxCount(bobId))).toEqual([1, 1])
    const realId = (await openEvent(mail.delivery!.event)).id as Uint8Array<ArrayBuffer>
    expect(codeOf(await bob.request({ dmAck: { ids: [...made.slice(0, 10), realId] } }))).toBeUndefined()
    await waitFor(() => owners.every(o => o.store.mailboxCount(bobId) === 0), { what: 'the copies to be removed after the real ack' })
    expect(deletes, 'one delete per owner (and the node itself), for the real id').toBeGreaterThanOrEqual(2)
    // a copy that left an owner before the ack (its rebalance hand-off, read while bob attached) and
    // lands after the delete is not stored again: the acknowledged DM stays gone
    const late = { event: mail.delivery!.event, hlc: mail.delivery!.hlc, origin: mail.delivery!.origin }
    for (const o of owners) expect(await o.dm.put(bobId, [late]), 'a late copy of an acknowledged DM is not stored').toBe(0)
    expect(owners.map(o => o.store.mailboxCount(bobId))).toEqual([0, 0])
  })
})
