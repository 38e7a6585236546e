import { createConnection } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../client/src/protocol/errors.js'
import { ClientFrame, ServerFrame } from '../../client/src/protocol/pb/client.js'
import { proveKey } from '../../client/src/protocol/login.js'
import { CLIENT_PROTOCOL_VERSION } from '../../client/src/protocol/ids.js'
import { idSetDigest, signEvent } from '../../client/src/protocol/signing.js'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import { recordMessages, roomMeshReady } from '../helpers/rooms.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { Challenge } from '../../client/src/protocol/pb/client.js'
import type { PrivateKey } from '@libp2p/interface'

async function events (node: MeshchatNode, event: string): Promise<number> {
  const m = await node.metrics.wsEvents.get()
  return m.values.filter(v => v.labels.event === event).reduce((n, v) => n + v.value, 0)
}

/** a raw light-edge connection: every frame the node sends, and how the socket closed */
interface Raw {
  ws: WebSocket
  frames: ServerFrame[]
  closed?: { code: number, reason: string }
  challenge: () => Promise<Challenge>
  send: (f: ClientFrame) => void
  reply: (req: number) => Promise<ServerFrame>
  waitClosed: () => Promise<{ code: number, reason: string }>
}

async function raw (url: string, headers: Record<string, string> = {}): Promise<Raw> {
  const ws = new WebSocket(url, { headers })
  const r: Raw = {
    ws,
    frames: [],
    challenge: async () => (await waitFor(() => r.frames.find(f => f.challenge != null), { what: 'the challenge' })).challenge!,
    send: f => { ws.send(ClientFrame.encode(f)) },
    reply: async req => waitFor(() => r.frames.find(f => f.req === req), { what: `the reply to ${req}` }),
    waitClosed: async () => waitFor(() => r.closed, { what: 'the node to close the connection' })
  }
  ws.on('message', (data: Buffer) => { r.frames.push(ServerFrame.decode(new Uint8Array(data))) })
  ws.on('close', (code, reason) => { r.closed = { code, reason: reason.toString() } })
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => { resolve() })
    ws.once('unexpected-response', (_req, res) => { reject(new Error(`HTTP ${res.statusCode ?? 0}`)) })
    ws.once('error', reject)
  })
  return r
}

async function login (r: Raw, key: PrivateKey): Promise<void> {
  const auth = await proveKey(key, await r.challenge(), Date.now())
  r.send({ req: 1, auth })
  const f = await r.reply(1)
  if (f.error != null) throw new Error(`login refused: ${f.error.message}`)
}

const hello = { version: CLIENT_PROTOCOL_VERSION, name: new TextEncoder().encode('raw') as Uint8Array<ArrayBuffer>, status: '', rooms: [], noRedirect: true, affinity: false }

describe('the light client edge: plain WebSockets with proof of key', () => {
  let mesh: TestMesh | undefined
  const sockets: WebSocket[] = []

  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate()
    await mesh?.stop()
    mesh = undefined
  })

  async function open (url: string, headers?: Record<string, string>): Promise<Raw> {
    const r = await raw(url, headers)
    sockets.push(r.ws)
    return r
  }

  it('a browser-style client on the WebSocket edge chats with a libp2p client on another node', async () => {
    mesh = await startMesh(2, { http: '127.0.0.1:0' })
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const url = a.wsUrls()[0]!
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/)
    // the node announces its WebSocket URL to clients and to the other nodes
    expect(a.gatewayAddrs()[0]).toBe(url)
    await waitFor(() => b.presence.replica.nodes().find(n => n.id === a.nodeId)?.meta?.gatewayAddrs.includes(url), { what: 'b to know a\'s URL' })
    const light = createNodeClient({ name: 'light', addrs: [url], keyStore: memoryKeyStore() })
    mesh.clients.push(light)
    const heavy = await mesh.client(b, 'heavy')
    const w = await light.connect()
    expect(w.nodeId).toBe(a.nodeId)
    expect(w.addr).toBe(url)
    // a welcome lists the other nodes' addresses on the edge the client came in on: URLs here,
    // multiaddrs for the libp2p client
    const bAddrs = w.alternates.find(n => n.id === b.nodeId)?.addrs ?? []
    expect(bAddrs.length).toBeGreaterThan(0)
    expect(bAddrs.every(x => /^ws:\/\/127\.0\.0\.1:\d+\/ws$/.test(x))).toBe(true)
    const aAddrs = heavy.welcomeInfo?.alternates.find(n => n.id === a.nodeId)?.addrs ?? []
    expect(aAddrs.length).toBeGreaterThan(0)
    expect(aAddrs.every(x => x.startsWith('/ip4/127.0.0.1/tcp/'))).toBe(true)
    const lightGot = recordMessages(light)
    const heavyGot = recordMessages(heavy)
    await light.join('bridge')
    await heavy.join('bridge')
    await roomMeshReady([a, b], 'bridge')
    const s1 = await light.send('bridge', 'from the light edge')
    const s2 = await heavy.send('bridge', 'from libp2p')
    await waitFor(() => heavyGot.some(m => m.id === s1.id) && lightGot.some(m => m.id === s2.id), { what: 'both messages both ways' })
    const dm = new Promise<string>(resolve => { light.addEventListener('dm', e => { resolve(e.detail.text) }, { once: true }) })
    await heavy.dm(light.userId, 'psst')
    expect(await dm).toBe('psst')
  })

  it('refuses a replayed, expired, wrong-node or wrong-key proof, and any frame before the proof', async () => {
    mesh = await startMesh(1, { http: '127.0.0.1:0' })
    const [a] = mesh.nodes as [MeshchatNode]
    const url = a.wsUrls()[0]!
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')

    const first = await open(url)
    const firstProof = await proveKey(key, await first.challenge(), Date.now())
    first.send({ req: 1, auth: firstProof })
    expect((await first.reply(1)).ok?.detail, 'the first proof is accepted and names the user').toBe((await import('@libp2p/peer-id')).peerIdFromPrivateKey(key).toString())

    const cases: Array<[string, (r: Raw) => Promise<void>]> = [
      ['replayed on another connection', async r => { await r.challenge(); r.send({ req: 1, auth: firstProof }) }],
      ['expired', async r => { r.send({ req: 1, auth: await proveKey(key, await r.challenge(), Date.now() - 5 * 60_000) }) }],
      ['made for another node', async r => { const c = await r.challenge(); r.send({ req: 1, auth: await proveKey(key, { ...c, nodeId: 'someone-else' }, Date.now()) }) }],
      ['signed by another key', async r => {
        const good = await proveKey(other, await r.challenge(), Date.now())
        r.send({ req: 1, auth: { ...good, publicKey: (await proveKey(key, await r.challenge(), Date.now())).publicKey } })
      }],
      ['a hello before the proof', async r => { await r.challenge(); r.send({ req: 1, hello }) }]
    ]
    for (const [what, act] of cases) {
      const r = await open(url)
      await act(r)
      const f = await r.reply(1)
      expect(f.error?.code, what).toBe(ErrorCode.AUTH_FAILED)
      expect(f.error?.fatal, what).toBe(true)
      await r.waitClosed()
    }
    expect(a.registry.size).toBe(0)
    expect(await rejectedCount(a, 'AuthFailedError')).toBeGreaterThanOrEqual(cases.length)
  })

  it('bad input on the edge: an oversize or malformed frame, a text frame, a ping flood, a foreign origin', async () => {
    mesh = await startMesh(2, { http: '127.0.0.1:0' })
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const url = a.wsUrls()[0]!
    const key = await generateKeyPair('Ed25519')

    const big = await open(url)
    await login(big, key)
    big.ws.send(new Uint8Array(a.config.maxEventBytes + 8 * 1024))
    expect((await big.waitClosed()).code).toBe(1009)
    await waitFor(async () => await events(a, 'oversize') >= 1, { what: 'the oversize frame counted' })

    const bad = await open(url)
    await login(bad, key)
    // an invalid wire type: no protobuf decoder takes it
    bad.ws.send(Uint8Array.of(0x07))
    const f = await waitFor(() => bad.frames.find(x => x.error != null), { what: 'an error frame' })
    expect(f.error?.code).toBe(ErrorCode.BAD_FRAME)

    const text = await open(url)
    await login(text, key)
    text.ws.send('{"hello":1}')
    expect((await waitFor(() => text.frames.find(x => x.error != null), { what: 'an error frame' })).error?.code).toBe(ErrorCode.UNSUPPORTED)
    await text.waitClosed()
    expect(await events(a, 'text_frame')).toBe(1)

    const pinger = await open(url)
    for (let i = 0; i < 100 && pinger.closed == null; i++) pinger.ws.ping()
    expect((await pinger.waitClosed()).code).toBe(1008)
    expect(await events(a, 'ping_flood')).toBeGreaterThanOrEqual(1)

    // a page served elsewhere may not attach; the node's own pages and the other nodes' may
    await expect(open(url, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403')
    expect(await events(a, 'refused_origin')).toBe(1)
    const own = await open(url, { origin: a.http!.url })
    await login(own, key)
    await waitFor(() => a.presence.replica.nodes().find(n => n.id === b.nodeId)?.meta?.httpUrl != null, { what: 'b\'s web origin known on a' })
    const fromB = await open(url, { origin: b.http!.url })
    await login(fromB, key)

    // and the node serves everyone else as before
    const ok = await open(url)
    await login(ok, key)
    ok.send({ req: 2, hello })
    expect((await ok.reply(2)).welcome?.nodeId).toBe(a.nodeId)
  })

  it('drops a half-open connection: one that never answers a ping', async () => {
    mesh = await startMesh(1, { http: '127.0.0.1:0', wsPingIntervalMs: 200, wsMaxBufferedBytes: 64 * 1024 })
    const [a] = mesh.nodes as [MeshchatNode]
    const url = new URL(a.wsUrls()[0]!)
    // a socket that completes the upgrade and then never reads or answers again (a peer gone without a FIN)
    const half = createConnection({ host: url.hostname, port: Number(url.port) })
    await new Promise(resolve => half.once('connect', resolve))
    half.write(`GET /ws HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    await new Promise(resolve => half.once('data', resolve))
    half.pause()
    await waitFor(async () => await events(a, 'no_pong') >= 1, { timeoutMs: 10_000, what: 'the node to drop the silent connection' })
    half.destroy()
  })

  it('pings its clients a slice at a time, each once per interval, and keeps those that answer', async () => {
    // 20 slots of 100 ms: all at once, 40 connections would be pinged in one burst every 2 s
    mesh = await startMesh(1, { http: '127.0.0.1:0', wsPingIntervalMs: 2000, helloTimeoutMs: 120_000 })
    const [a] = mesh.nodes as [MeshchatNode]
    const url = a.wsUrls()[0]!
    const clients = await Promise.all(Array.from({ length: 40 }, async () => open(url)))
    const pinged = clients.map(() => 0)
    clients.forEach((c, i) => { c.ws.on('ping', () => { pinged[i]!++ }) })
    await waitFor(() => a.wsEdge?.connections === 40, { what: 'the 40 connections on the node' })
    const sizes = a.wsEdge!.pingSlotSizes()
    expect(sizes).toHaveLength(20)
    expect(sizes.reduce((n, s) => n + s, 0)).toBe(40)
    expect(Math.max(...sizes)).toBe(2)
    // few connections: the wheel turns ten slots once a second, not one every 100 ms
    expect(a.wsEdge!.pingPeriodMs).toBe(1000)
    // two turns of the wheel: every client pinged at least twice, and none taken for a silent one
    await waitFor(() => pinged.every(n => n >= 2), { timeoutMs: 30_000, what: 'two pings to every client' })
    expect(await events(a, 'no_pong')).toBe(0)
    expect(clients.filter(c => c.closed != null)).toHaveLength(0)
    // a closed connection leaves the wheel
    for (const c of clients.slice(0, 10)) c.ws.close()
    await waitFor(() => a.wsEdge?.connections === 30, { what: 'the closed connections gone from the node' })
    expect(a.wsEdge!.pingSlotSizes().reduce((n, s) => n + s, 0)).toBe(30)
    expect(a.wsEdge!.pinging).toBe(true)
    // with no connection left the wheel's timer stops, and the next connection starts it again
    for (const c of clients.slice(10)) c.ws.close()
    await waitFor(() => a.wsEdge?.connections === 0, { what: 'every connection gone from the node' })
    expect(a.wsEdge!.pinging).toBe(false)
    expect(a.wsEdge!.pingPeriodMs).toBe(0)
    const again = await open(url)
    let pings = 0
    again.ws.on('ping', () => { pings++ })
    await waitFor(() => pings >= 1, { timeoutMs: 30_000, what: 'a ping to the new connection' })
    expect(a.wsEdge!.pinging).toBe(true)
    again.ws.close()
  })

  it('cuts off a reader that cannot keep up, and nobody else', async () => {
    // pings every 30 s (the default): a reader that stops reading is found by its queue, not by its silence
    mesh = await startMesh(1, { http: '127.0.0.1:0', wsMaxBufferedBytes: 64 * 1024, presenceGraceMs: 60_000 })
    const [a] = mesh.nodes as [MeshchatNode]
    const url = new URL(a.wsUrls()[0]!)
    const key = await generateKeyPair('Ed25519')
    const slow = await open(url.toString())
    await login(slow, key)
    slow.send({ req: 2, hello })
    await slow.reply(2)
    slow.send({ req: 3, join: { room: 'busy', backlog: 0 } })
    await slow.reply(3)
    slow.ws.pause()
    // several writers with large messages: the kernel's socket buffers take a few MB before the node's own queue grows
    const writers = await Promise.all([0, 1, 2, 3, 4].map(async i => mesh!.client(a, `writer${i}`, { addrs: [tcpGateway(a)] })))
    for (const w of writers) await w.join('busy')
    const text = 'x'.repeat(60_000)
    for (let i = 0; i < 100 && await events(a, 'slow_consumer') === 0; i++) {
      await Promise.all(writers.map(async w => w.send('busy', text).catch(() => {})))
    }
    await waitFor(async () => await events(a, 'slow_consumer') >= 1, { timeoutMs: 20_000, what: 'the slow reader to be cut off' })
    expect(a.registry.size, 'the slow session is gone, the writers stay').toBe(writers.length)
    // told to resume, its device stays in presence for the grace (a reconnect within it shows no leave)
    const held = (await a.metrics.presenceGrace.get()).values.filter(v => v.labels.outcome === 'held').reduce((n, v) => n + v.value, 0)
    expect(held, 'the slow reader\'s device held').toBe(1)
    expect(a.presence.roster('busy').map(m => m.userId)).toContain(peerIdFromPrivateKey(key).toString())
    // the writers, on the same node, go on
    expect((await writers[0]!.send('busy', 'still here')).id).toMatch(/^[0-9a-f]{64}$/)
  })

  it('one address cannot take more than its share of the edge', async () => {
    mesh = await startMesh(1, { http: '127.0.0.1:0', maxClientsPerIp: 2 })
    const [a] = mesh.nodes as [MeshchatNode]
    const url = a.wsUrls()[0]!
    await open(url)
    await open(url)
    await expect(open(url)).rejects.toThrow('HTTP 503')
    expect(await events(a, 'refused_per_ip')).toBe(1)
  })

  it('a signed event over the edge is checked like any other', async () => {
    mesh = await startMesh(1, { http: '127.0.0.1:0' })
    const [a] = mesh.nodes as [MeshchatNode]
    const key = await generateKeyPair('Ed25519')
    const someoneElse = await generateKeyPair('Ed25519')
    const r = await open(a.wsUrls()[0]!)
    await login(r, key)
    r.send({ req: 2, hello })
    await r.reply(2)
    r.send({ req: 3, join: { room: 'checked', backlog: 0 } })
    await r.reply(3)
    const forged = await signEvent(someoneElse, 'x', { kind: 'room', room: 'checked', text: 'not mine' }, { now: Date.now(), nonce: new Uint8Array(12).fill(3) })
    r.send({ req: 4, publish: { event: forged.bytes as Uint8Array<ArrayBuffer> } })
    expect((await r.reply(4)).error?.code).toBe(ErrorCode.WRONG_AUTHOR)
  })

  it('a resume\'s window before the cursor is skipped only for a client that names exactly what is in it', async () => {
    mesh = await startMesh(1, { http: '127.0.0.1:0', resumeSlackMs: 60_000 })
    const [a] = mesh.nodes as [MeshchatNode]
    const writer = createNodeClient({ name: 'writer', addrs: [a.wsUrls()[0]!], keyStore: memoryKeyStore() })
    mesh.clients.push(writer)
    await writer.connect()
    await writer.join('w')
    for (let i = 0; i < 10; i++) await writer.send('w', `m${i}`)
    const stored = a.store.page('w', { limit: 50 }).events
    expect(stored).toHaveLength(10)
    const last = stored.reduce((x, y) => y.hlc > x.hlc ? y : x)
    const after = { hlc: last.hlc, id: last.id as Uint8Array<ArrayBuffer> }
    const haveFrom = last.hlc - (60_000n << 16n)
    const r = await open(a.wsUrls()[0]!)
    await login(r, await generateKeyPair('Ed25519'))
    r.send({ req: 2, hello })
    await r.reply(2)
    const resume = async (req: number, have: Uint8Array, from = haveFrom): Promise<{ count: number, error?: number }> => {
      r.send({ req, join: { room: 'w', after, backlog: 0, have: have as Uint8Array<ArrayBuffer>, haveFrom: from } })
      const f = await r.reply(req)
      return { count: f.replayDone?.count ?? -1, error: f.error?.code }
    }
    const all = idSetDigest(stored.map(e => e.id))
    // nothing said, something wrong said, one missing, another window: the whole window goes
    r.send({ req: 3, join: { room: 'w', after, backlog: 0 } })
    expect((await r.reply(3)).replayDone?.count).toBe(10)
    expect(await resume(4, new Uint8Array(32))).toEqual({ count: 10 })
    expect(await resume(5, idSetDigest(stored.slice(1).map(e => e.id)))).toEqual({ count: 10 })
    expect(await resume(6, all, haveFrom + 1n)).toEqual({ count: 10 })
    // exactly the window: none of it
    expect(await resume(7, all)).toEqual({ count: 0 })
    // a digest that is not 32 bytes is refused, and the session goes on
    expect(await resume(8, new Uint8Array(31))).toEqual({ count: -1, error: ErrorCode.INVALID_QUERY })
    expect(await resume(9, all)).toEqual({ count: 0 })
  })
})

async function rejectedCount (node: MeshchatNode, code: string): Promise<number> {
  const m = await node.metrics.rejected.get()
  return m.values.filter(v => v.labels.code === code).reduce((n, v) => n + v.value, 0)
}
