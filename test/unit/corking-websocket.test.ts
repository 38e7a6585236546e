import { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { CorkingWebSocket, createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { ClientFrame, ServerFrame } from '../../client/src/protocol/pb/client.js'
import type { AddressInfo } from 'node:net'
import type { WebSocket } from 'ws'

/** bytes of a masked client frame: the header (2 bytes, and 2 or 8 more for a longer payload), the 4-byte mask, the payload */
const clientFrameBytes = (payload: number): number => (payload < 126 ? 2 : payload < 65_536 ? 4 : 10) + 4 + payload

/**
 * Counts the writes a TCP socket hands to the kernel: each call of a stream's `_write` or `_writev`
 * (what Writable calls once per write, or once for everything a cork held) is one write syscall.
 * Only sockets whose peer port is `port` are counted.
 */
function countWrites (port: number): { calls: () => number, restore: () => void } {
  const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (this: Socket, ...args: unknown[]) => unknown>
  const write = proto._write
  const writev = proto._writev
  let calls = 0
  proto._write = function (...args) { if (this.remotePort === port) calls++; return write.apply(this, args) }
  proto._writev = function (...args) { if (this.remotePort === port) calls++; return writev.apply(this, args) }
  return { calls: () => calls, restore: () => { proto._write = write; proto._writev = writev } }
}

/**
 * The Node client's WebSocket writes the frames of one tick together, on a real socket: the
 * client's socket is watched for the writes it makes, and the server checks what arrives.
 */
describe('CorkingWebSocket', () => {
  const servers: WebSocketServer[] = []
  const sockets: CorkingWebSocket[] = []
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.terminate()
    for (const s of servers.splice(0)) await new Promise(resolve => { s.close(resolve) })
  })

  /** a server that records the chunks its TCP socket reads and the messages and close it gets */
  async function recordingServer (): Promise<{ url: string, port: number, chunks: number[], messages: Buffer[], closes: number[], peer: () => WebSocket | undefined }> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    servers.push(wss)
    await new Promise(resolve => wss.once('listening', resolve))
    const chunks: number[] = []
    const messages: Buffer[] = []
    const closes: number[] = []
    let peer: WebSocket | undefined
    wss.on('connection', (ws, req) => {
      peer = ws
      req.socket.on('data', (c: Buffer) => { chunks.push(c.byteLength) })
      ws.on('message', data => { messages.push(data as Buffer) })
      ws.on('close', code => { closes.push(code) })
    })
    const port = (wss.address() as AddressInfo).port
    return { url: `ws://127.0.0.1:${port}`, port, chunks, messages, closes, peer: () => peer }
  }

  async function until (cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise(resolve => setTimeout(resolve, 5))
    }
  }

  async function opened (url: string): Promise<CorkingWebSocket> {
    const ws = new CorkingWebSocket(url)
    sockets.push(ws)
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    return ws
  }

  it('sends the frames of one tick in one write, and a later tick in a write of its own', async () => {
    const srv = await recordingServer()
    const ws = await opened(srv.url)
    const writes = countWrites(srv.port)
    try {
      ws.send(Buffer.alloc(10, 1))
      ws.send(Buffer.alloc(20, 2))
      ws.send(Buffer.alloc(300, 3), { binary: true })
      await until(() => srv.messages.length === 3, 'the first three messages')
      expect(writes.calls()).toBe(1)
      expect(srv.chunks).toEqual([clientFrameBytes(10) + clientFrameBytes(20) + clientFrameBytes(300)])
      expect(srv.messages.map(m => [m.byteLength, m[0]])).toEqual([[10, 1], [20, 2], [300, 3]])

      await new Promise(resolve => setTimeout(resolve, 20))
      ws.send(Buffer.alloc(40, 4))
      await until(() => srv.messages.length === 4, 'the fourth message')
      expect(writes.calls()).toBe(2)
      expect(srv.chunks).toEqual([clientFrameBytes(10) + clientFrameBytes(20) + clientFrameBytes(300), clientFrameBytes(40)])
    } finally {
      writes.restore()
    }
  })

  it('calls send callbacks, and a close in the same tick still sends what came before it', async () => {
    const srv = await recordingServer()
    const ws = await opened(srv.url)
    const sent = new Promise<Error | undefined>(resolve => { ws.send(Buffer.alloc(5, 7), err => { resolve(err ?? undefined) }) })
    ws.close(1000, 'bye')
    expect(await sent).toBeUndefined()
    await until(() => srv.closes.length === 1, 'the close')
    expect(srv.messages.map(m => m.byteLength)).toEqual([5])
    expect(srv.closes).toEqual([1000])
  })

  it('lets a Node client log in with the proof and the hello in one write', async () => {
    const srv = await recordingServer()
    const seen: ClientFrame[] = []
    const wss = servers[0] as WebSocketServer
    wss.on('connection', ws => {
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
      expect(srv.peer()).toBeDefined()
    } finally {
      writes.restore()
      await c.close()
    }
  })
})
