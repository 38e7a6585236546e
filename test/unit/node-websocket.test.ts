import { readFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { Socket, createServer as createNetServer } from 'node:net'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { NodeWebSocket } from '../../client/src/transports/node-websocket.js'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { ClientFrame, ServerFrame } from '../../client/src/protocol/pb/client.js'
import { TimeoutError } from '../../client/src/protocol/errors.js'
import { countSocketWrites } from '../helpers/socket-writes.js'
import type { AddressInfo, Server as NetServer } from 'node:net'
import type { Server as HttpServer } from 'node:http'
import type { NodeWebSocketCloseEvent, NodeWebSocketMessageEvent } from '../../client/src/transports/node-websocket.js'
import type { WebSocket } from 'ws'

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'tls')

/** the writes of the client sockets whose peer port is `port` (one per write syscall) */
const countWrites = (port: number): { calls: () => number, restore: () => void } => countSocketWrites(s => s.remotePort === port)

/** bytes of a masked client frame: the header (2 bytes, and 2 or 8 more for a longer payload), the 4-byte mask, the payload */
const clientFrameBytes = (payload: number): number => (payload < 126 ? 2 : payload < 65_536 ? 4 : 10) + 4 + payload

async function until (cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/**
 * The Node client's own WebSocket (RFC 6455) against the `ws` package's server and against
 * scripted servers that break the protocol, on real sockets.
 */
describe('NodeWebSocket', () => {
  const closers: Array<() => Promise<void>> = []
  const sockets: NodeWebSocket[] = []
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.terminate()
    for (const c of closers.splice(0)) await c()
  })

  /** a `ws` server on a plain or TLS HTTP server; `onConnection` scripts it */
  async function wsServer (onConnection: (ws: WebSocket) => void, tls = false): Promise<{ url: string, port: number, chunks: number[] }> {
    const http: HttpServer = tls
      ? createHttpsServer({ cert: readFileSync(join(FIXTURES, 'localhost.crt')), key: readFileSync(join(FIXTURES, 'localhost.key')) })
      : createHttpServer()
    const wss = new WebSocketServer({ server: http })
    const chunks: number[] = []
    wss.on('connection', (ws, req) => {
      req.socket.on('data', (c: Buffer) => { chunks.push(c.byteLength) })
      onConnection(ws)
    })
    await new Promise<void>(resolve => { http.listen(0, '127.0.0.1', resolve) })
    closers.push(async () => {
      for (const c of wss.clients) c.terminate()
      await new Promise(resolve => { wss.close(resolve) })
      await new Promise(resolve => { http.close(resolve) })
    })
    const port = (http.address() as AddressInfo).port
    return { url: `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}/ws`, port, chunks }
  }

  /** a raw TCP server: `onData` gets what the client wrote and the socket to answer on */
  async function rawServer (onData: (data: string, socket: Socket) => void): Promise<string> {
    const srv: NetServer = createNetServer(socket => {
      socket.on('data', d => { onData(d.toString('latin1'), socket) })
      socket.on('error', () => {})
    })
    await new Promise<void>(resolve => { srv.listen(0, '127.0.0.1', resolve) })
    closers.push(async () => { await new Promise(resolve => { srv.close(resolve) }) })
    return `ws://127.0.0.1:${(srv.address() as AddressInfo).port}/x`
  }

  /** the right Sec-WebSocket-Accept for the key in an upgrade request */
  async function acceptFor (request: string): Promise<string> {
    const { hash } = await import('node:crypto')
    const key = /sec-websocket-key: (\S+)/i.exec(request)?.[1] ?? ''
    return hash('sha1', key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11', 'base64')
  }

  /**
   * a raw server that upgrades, then sends `frame`; `closeCode()` waits for the client's close frame
   * (opcode 8, masked) and gives the code under its mask
   */
  async function sendsAfterUpgrade (frame: Buffer): Promise<{ url: string, closeCode: (what?: string) => Promise<number> }> {
    let closeFrame: Buffer | undefined
    const url = await rawServer(async (req, socket) => {
      if (req.startsWith('GET')) {
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${await acceptFor(req)}\r\n\r\n`)
        socket.write(frame)
      } else {
        closeFrame = Buffer.from(req, 'latin1')
      }
    })
    const closeCode = async (what?: string): Promise<number> => {
      await until(() => closeFrame != null, 'the close frame')
      const f = closeFrame as Buffer
      expect(f[0], what).toBe(0x88)
      const mask = f.subarray(2, 6)
      return ((f[6] as number) ^ (mask[0] as number)) << 8 | ((f[7] as number) ^ (mask[1] as number))
    }
    return { url, closeCode }
  }

  function track (ws: NodeWebSocket): { events: string[], messages: Array<NodeWebSocketMessageEvent['data']>, closed: Promise<NodeWebSocketCloseEvent> } {
    sockets.push(ws)
    const events: string[] = []
    const messages: Array<NodeWebSocketMessageEvent['data']> = []
    ws.onopen = () => { events.push('open') }
    ws.onmessage = ev => { events.push('message'); messages.push(ev.data) }
    ws.onerror = () => { events.push('error') }
    const closed = new Promise<NodeWebSocketCloseEvent>(resolve => { ws.addEventListener('close', ev => { events.push('close'); resolve(ev) }, { once: true }) })
    return { events, messages, closed }
  }

  it('opens, takes a message that came with the upgrade answer, and carries binary and text both ways at every length form', async () => {
    const srv = await wsServer(ws => {
      ws.send(Buffer.from('first'))
      ws.on('message', (data, isBinary) => { ws.send(data, { binary: isBinary }) })
    })
    const ws = new NodeWebSocket(srv.url)
    const t = track(ws)
    await until(() => t.messages.length === 1, 'the first message')
    expect(t.events.slice(0, 2)).toEqual(['open', 'message'])
    expect(Buffer.from(t.messages[0] as Buffer).toString()).toBe('first')
    const sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000]
    for (const n of sizes) ws.send(Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff))
    ws.send('héllo, wörld')
    await until(() => t.messages.length === 2 + sizes.length, 'the echoes')
    sizes.forEach((n, i) => {
      const got = t.messages[1 + i] as Buffer
      expect(Buffer.isBuffer(got)).toBe(true)
      expect(got.byteLength).toBe(n)
      expect(got.equals(Buffer.from(Uint8Array.from({ length: n }, (_, j) => (j * 7 + n) & 0xff)))).toBe(true)
    })
    expect(t.messages.at(-1)).toBe('héllo, wörld')
  })

  it('asks every connection for its URL\'s path and query with a key of its own, however often the URL is used', async () => {
    const heads: string[] = []
    const base = await rawServer((data, socket) => {
      heads.push(data)
      socket.end()
    })
    const urls = [`${base}?a=1&b=%20`, `${base}?a=1&b=%20`, new URL(`${base}?a=1&b=%20`), base.replace(/\/x$/, ''), `${base}?a=1&b=%20`, base.replace('/x', '/y')]
    const made = urls.map(u => new NodeWebSocket(u))
    const closed = made.map(ws => track(ws).closed)
    await Promise.all(closed)
    expect(made.map(ws => ws.url)).toEqual([`${base}?a=1&b=%20`, `${base}?a=1&b=%20`, `${base}?a=1&b=%20`, `${base.replace(/\/x$/, '')}/`, `${base}?a=1&b=%20`, base.replace('/x', '/y')])
    expect(heads).toHaveLength(urls.length)
    const lines = heads.map(h => h.split('\r\n')[0]).sort()
    expect(lines).toEqual(['GET / HTTP/1.1', 'GET /x?a=1&b=%20 HTTP/1.1', 'GET /x?a=1&b=%20 HTTP/1.1', 'GET /x?a=1&b=%20 HTTP/1.1', 'GET /x?a=1&b=%20 HTTP/1.1', 'GET /y HTTP/1.1'])
    const host = new URL(base).host
    for (const h of heads) expect(h).toContain(`\r\nHost: ${host}\r\n`)
    const keys = heads.map(h => /\r\nSec-WebSocket-Key: (\S+)\r\n/.exec(h)?.[1] ?? '')
    for (const k of keys) expect(Buffer.from(k, 'base64')).toHaveLength(16)
    expect(new Set(keys).size).toBe(keys.length)
    // a URL that is refused is refused each time, not remembered
    for (let i = 0; i < 2; i++) {
      expect(() => new NodeWebSocket(base.replace('ws:', 'http:'))).toThrow(SyntaxError)
      expect(() => new NodeWebSocket(`${base}#frag`)).toThrow(SyntaxError)
      expect(() => new NodeWebSocket('not a url')).toThrow()
    }
  })

  it('gives ArrayBuffers when asked, joins a fragmented message around a ping, and answers the ping', async () => {
    let pong: Buffer | undefined
    const srv = await wsServer(ws => {
      ws.on('pong', data => { pong = data })
      ws.send(Buffer.from('ab'), { fin: false })
      ws.ping(Buffer.from('are you there'))
      ws.send(Buffer.from('cd'), { fin: false })
      ws.send(Buffer.from('ef'), { fin: true })
    })
    const ws = new NodeWebSocket(srv.url)
    ws.binaryType = 'arraybuffer'
    const t = track(ws)
    await until(() => t.messages.length === 1 && pong != null, 'the message and the pong')
    expect(t.messages[0]).toBeInstanceOf(ArrayBuffer)
    expect(Buffer.from(t.messages[0] as ArrayBuffer).toString()).toBe('abcdef')
    expect(pong?.toString()).toBe('are you there')
  })

  it('closes cleanly either way, with the code and the reason', async () => {
    const got: Array<[number, string]> = []
    const srv = await wsServer(ws => {
      ws.on('close', (code, reason) => { got.push([code, reason.toString()]) })
      ws.on('message', data => { if (data.toString() === 'close me') ws.close(4001, 'dropped') })
    })
    const a = new NodeWebSocket(srv.url)
    const ta = track(a)
    await until(() => ta.events.includes('open'), 'a open')
    a.close(1000, 'bye')
    expect(a.readyState).toBe(NodeWebSocket.CLOSING)
    const ca = await ta.closed
    expect([ca.code, ca.reason, ca.wasClean]).toEqual([1000, 'bye', true])
    expect(a.readyState).toBe(NodeWebSocket.CLOSED)
    await until(() => got.length === 1, 'the server to see the close')
    expect(got[0]).toEqual([1000, 'bye'])
    // sending on a closed socket is a no-op, as in browsers
    a.send(Buffer.from('late'))

    const b = new NodeWebSocket(srv.url)
    const tb = track(b)
    await until(() => tb.events.includes('open'), 'b open')
    b.send('close me')
    const cb = await tb.closed
    expect([cb.code, cb.reason, cb.wasClean]).toEqual([4001, 'dropped', true])
    expect(tb.events).not.toContain('error')
  })

  it('delivers nothing after close() is called, though more was on its way', async () => {
    const srv = await wsServer(ws => {
      // both in one tick: they reach the client in one read
      ws.send(Buffer.from('one'))
      ws.send(Buffer.from('two'))
    })
    const ws = new NodeWebSocket(srv.url)
    const got: string[] = []
    sockets.push(ws)
    const closed = new Promise<NodeWebSocketCloseEvent>(resolve => { ws.onclose = resolve })
    ws.onmessage = ev => {
      got.push((ev.data as Buffer).toString())
      ws.close(1000, 'enough')
    }
    const c = await closed
    expect(got).toEqual(['one'])
    expect([c.code, c.wasClean]).toEqual([1000, true])
  })

  it('reports a dropped connection as 1006, and refuses close codes a client may not send', async () => {
    const srv = await wsServer(ws => { ws.on('message', () => { ws.terminate() }) })
    const ws = new NodeWebSocket(srv.url)
    const t = track(ws)
    await until(() => t.events.includes('open'), 'open')
    expect(() => { ws.close(1006) }).toThrow(/close code/)
    expect(() => { ws.close(1000, 'x'.repeat(124)) }).toThrow(/123 bytes/)
    ws.send('drop me')
    const c = await t.closed
    expect([c.code, c.wasClean]).toEqual([1006, false])
  })

  it('fails a refused upgrade, a wrong accept key, an unreachable server and a close before open, with an error and then 1006', async () => {
    const refusing = createHttpServer((_req, res) => { res.end() })
    refusing.on('upgrade', (_req, socket) => { socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\norigin\n') })
    await new Promise<void>(resolve => { refusing.listen(0, '127.0.0.1', resolve) })
    closers.push(async () => { await new Promise(resolve => { refusing.close(resolve) }) })
    const wrongKey = await rawServer((req, socket) => {
      if (req.startsWith('GET')) socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n')
    })
    // a port nothing listens on: one a server had a moment ago
    const gone = createNetServer()
    await new Promise<void>(resolve => { gone.listen(0, '127.0.0.1', resolve) })
    const gonePort = (gone.address() as AddressInfo).port
    await new Promise(resolve => { gone.close(resolve) })

    for (const url of [`ws://127.0.0.1:${(refusing.address() as AddressInfo).port}/ws`, wrongKey, `ws://127.0.0.1:${gonePort}/ws`]) {
      const ws = new NodeWebSocket(url)
      const t = track(ws)
      const c = await t.closed
      expect(t.events, url).toEqual(['error', 'close'])
      expect(c.code).toBe(1006)
    }
    const srv = await wsServer(() => {})
    const early = new NodeWebSocket(srv.url)
    const te = track(early)
    expect(() => { early.send('too soon') }).toThrow(/not open/)
    early.close()
    const c = await te.closed
    expect(te.events).toEqual(['error', 'close'])
    expect(c.code).toBe(1006)
  })

  it('fails frames that break the protocol with 1002, an oversize message with 1009, bad UTF-8 with 1007', async () => {
    const cases: Array<{ frame: Buffer, code: number }> = [
      { frame: Buffer.from([0xc2, 0x00]), code: 1002 }, // RSV1 set, no extension agreed
      { frame: Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5]), code: 1002 }, // masked by the server
      { frame: Buffer.from([0x09, 0x00]), code: 1002 }, // a ping that is not whole
      { frame: Buffer.from([0x80, 0x01, 0x61]), code: 1002 }, // a continuation of nothing
      { frame: Buffer.from([0x83, 0x00]), code: 1002 }, // opcode 3
      { frame: Buffer.from([0x88, 0x02, 0x03, 0xee]), code: 1002 }, // close code 1006 on the wire
      { frame: Buffer.from([0x81, 0x02, 0xc3, 0x28]), code: 1007 }, // text that is not UTF-8
      { frame: Buffer.concat([Buffer.from([0x82, 0x7e, 0x07, 0xd0]), Buffer.alloc(2000)]), code: 1009 } // 2,000 bytes over a limit of 1,000
    ]
    for (const { frame, code } of cases) {
      const srv = await sendsAfterUpgrade(frame)
      const ws = new NodeWebSocket(srv.url, undefined, { maxPayload: 1000 })
      const t = track(ws)
      const c = await t.closed
      expect(t.events, frame.toString('hex')).toEqual(['open', 'error', 'close'])
      expect(c.code).toBe(1006)
      // the client's close frame: opcode 8, masked, and the code under the mask
      expect(await srv.closeCode(frame.toString('hex')), frame.toString('hex')).toBe(code)
    }
  })

  it('fails at the header a message longer than a node ever sends, and a message in endless empty pieces, with 1009, without buffering them', async () => {
    const nineMiB = Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0, 0x90, 0, 0])
    // an empty first piece, then 2,000 empty continuations: 4 KB on the wire, a slot each
    const pieces = Buffer.concat([Buffer.from([0x02, 0x00]), Buffer.alloc(2 * 2000).fill(Buffer.from([0x00, 0x00]))])
    for (const frame of [nineMiB, pieces]) {
      const srv = await sendsAfterUpgrade(frame)
      // no maxPayload: the default
      const ws = new NodeWebSocket(srv.url)
      const t = track(ws)
      await t.closed
      expect(t.events).toEqual(['open', 'error', 'close'])
      expect(await srv.closeCode()).toBe(1009)
    }
  })

  it('writes the frames of one tick in one write, and a later tick in a write of its own', async () => {
    const got: Buffer[] = []
    const srv = await wsServer(ws => { ws.on('message', d => { got.push(d as Buffer) }) })
    const ws = new NodeWebSocket(srv.url)
    const t = track(ws)
    await until(() => t.events.includes('open'), 'open')
    const writes = countWrites(srv.port)
    try {
      ws.send(Buffer.alloc(10, 1))
      ws.send(Buffer.alloc(20, 2))
      ws.send(Buffer.alloc(300, 3))
      await until(() => got.length === 3, 'three messages')
      expect(writes.calls()).toBe(1)
      expect(srv.chunks).toEqual([clientFrameBytes(10) + clientFrameBytes(20) + clientFrameBytes(300)])
      await new Promise(resolve => setTimeout(resolve, 20))
      ws.send(Buffer.alloc(40, 4))
      await until(() => got.length === 4, 'the fourth message')
      expect(writes.calls()).toBe(2)
      expect(got.map(m => [m.byteLength, m[0]])).toEqual([[10, 1], [20, 2], [300, 3], [40, 4]])
    } finally {
      writes.restore()
    }
  })

  it('speaks wss:// with the CA it is given, and refuses a certificate it cannot trust', async () => {
    const srv = await wsServer(ws => { ws.on('message', d => { ws.send(d) }) }, true)
    const ws = new NodeWebSocket(srv.url, undefined, { tls: { ca: readFileSync(join(FIXTURES, 'localhost.crt')) } })
    const t = track(ws)
    await until(() => t.events.includes('open'), 'open over TLS')
    ws.send(Buffer.from('over tls'))
    await until(() => t.messages.length === 1, 'the echo')
    expect((t.messages[0] as Buffer).toString()).toBe('over tls')

    const untrusting = new NodeWebSocket(srv.url)
    const tu = track(untrusting)
    const c = await tu.closed
    expect(tu.events).toEqual(['error', 'close'])
    expect(c.code).toBe(1006)
  })

  it('lets a Node client (createNodeClient) log in with the proof and the hello in one write', async () => {
    const seen: ClientFrame[] = []
    const srv = await wsServer(ws => {
      ws.on('message', data => {
        const f = ClientFrame.decode(new Uint8Array(data as Buffer))
        seen.push(f)
        if (f.auth != null) ws.send(ServerFrame.encode({ req: f.req }))
        if (f.hello != null) ws.send(ServerFrame.encode({ req: f.req, welcome: { userId: 'u', nodeId: 'node-a', meshSize: 1, time: BigInt(Date.now()), alternates: [], httpUrl: '' } }))
      })
      ws.send(ServerFrame.encode({ req: 0, challenge: { nonce: new Uint8Array(32).fill(9), nodeId: 'node-a', time: BigInt(Date.now()) } }))
    })
    const c = createNodeClient({ name: 'ana', addrs: [srv.url], keyStore: memoryKeyStore(), reconnect: false, redirect: false, requestTimeoutMs: 10_000 })
    const writes = countWrites(srv.port)
    try {
      const welcome = await c.connect()
      expect(welcome.nodeId).toBe('node-a')
      expect(seen.map(f => f.auth != null ? 'auth' : f.hello != null ? 'hello' : 'other')).toEqual(['auth', 'hello'])
      // the proof and the hello in one write (the upgrade request, written while the socket was
      // still connecting, goes out through the socket's connect and is not counted)
      expect(writes.calls()).toBe(1)
      expect(srv.chunks).toEqual([seen.reduce((n, f) => n + clientFrameBytes(ClientFrame.encode(f).byteLength), 0)])
    } finally {
      writes.restore()
      await c.close()
    }
  })

  it('lets a Node client give up on a node that never answers the upgrade, after its request timeout, and close the socket', async () => {
    let requests = 0
    let serverSocket: Socket | undefined
    const url = await rawServer((_data, socket) => {
      requests++
      serverSocket = socket
    })
    const c = createNodeClient({ name: 'ana', addrs: [url], keyStore: memoryKeyStore(), reconnect: false, redirect: false, requestTimeoutMs: 300 })
    try {
      const started = Date.now()
      const err = await c.connect().then(() => undefined, (e: unknown) => e as Error)
      expect(err).toBeInstanceOf(TimeoutError)
      expect(Date.now() - started).toBeGreaterThanOrEqual(250)
      expect(requests).toBe(1)
      await until(() => serverSocket?.readyState === 'closed' || serverSocket?.readableEnded === true, 'the client to close its socket')
    } finally {
      await c.close()
    }
  })
})
