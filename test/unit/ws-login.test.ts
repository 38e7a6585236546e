import { getEventListeners } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { ChatClient } from '../../client/src/chat-client.js'
import { webSocketTransport } from '../../client/src/transports/websocket.js'
import { memoryKeyStore } from '../../client/src/key-store.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { AuthFailedError, ErrorCode } from '../../client/src/protocol/errors.js'
import { ClientFrame, ServerFrame } from '../../client/src/protocol/pb/client.js'
import type { AddressInfo } from 'node:net'
import type { WebSocket } from 'ws'

/**
 * The light edge's login as the client drives it, against a scripted node on a real socket: the
 * hello follows the proof of key without waiting for the node's answer to it (one round trip
 * less per attach), and a refused proof still fails the start with its typed error.
 */
describe('light-edge login, client side', () => {
  const servers: WebSocketServer[] = []
  const clients: ChatClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => {})
    for (const s of servers.splice(0)) await new Promise(resolve => { s.close(resolve) })
  })

  /** a scripted node: sends a challenge, then hands every client frame to `onFrame` */
  async function scriptedNode (onFrame: (ws: WebSocket, f: ClientFrame, seen: ClientFrame[]) => void): Promise<string> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    servers.push(wss)
    await new Promise(resolve => wss.once('listening', resolve))
    wss.on('connection', ws => {
      const seen: ClientFrame[] = []
      ws.on('message', data => {
        const f = ClientFrame.decode(new Uint8Array(data as Buffer))
        seen.push(f)
        onFrame(ws, f, seen)
      })
      ws.send(ServerFrame.encode({ req: 0, challenge: { nonce: new Uint8Array(32).fill(9), nodeId: 'node-a', time: BigInt(Date.now()) } }))
    })
    return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`
  }

  const client = (url: string): ChatClient => {
    const c = new ChatClient({ name: 'ana', addrs: [url], transports: [webSocketTransport()], keyStore: memoryKeyStore(), reconnect: false, requestTimeoutMs: 10_000 })
    clients.push(c)
    return c
  }

  it('sends the hello right after the proof, before the node has answered the proof', async () => {
    let helloBeforeAnswer = false
    const url = await scriptedNode((ws, f, seen) => {
      if (f.hello == null) return
      // the proof is still unanswered here: a client waiting for that answer would never get this far
      helloBeforeAnswer = seen.length === 2 && seen[0]?.auth != null
      ws.send(ServerFrame.encode({ req: seen[0]?.req ?? 0, ok: { detail: 'user' } }))
      ws.send(ServerFrame.encode({ req: f.req, welcome: { nodeId: 'node-a', userId: 'user', meshSize: 1, alternates: [], time: BigInt(Date.now()), httpUrl: '' } }))
    })
    const c = client(url)
    const w = await c.start()
    expect(w.nodeId).toBe('node-a')
    expect(helloBeforeAnswer).toBe(true)
  }, 20_000)

  it('a refused proof fails the start with AuthFailedError and the node\'s reason', async () => {
    const url = await scriptedNode((ws, f) => {
      if (f.auth == null) return
      ws.send(ServerFrame.encode({ req: f.req, error: { code: ErrorCode.AUTH_FAILED, message: 'the proof does not verify for this node and this connection', retryAfterMs: 0, fatal: true } }))
      ws.close(4000, 'session ended')
    })
    const c = client(url)
    const err = await c.start().then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(AuthFailedError)
    expect((err as Error).message).toContain('the proof does not verify')
    expect(c.state).not.toBe('connected')
  })

  it('a node that answers the proof with anything else is refused as not answering it, and the socket is closed', async () => {
    let closed = false
    const url = await scriptedNode((ws, f) => {
      ws.once('close', () => { closed = true })
      if (f.hello != null) ws.send(ServerFrame.encode({ req: f.req, welcome: { nodeId: 'node-a', userId: 'user', meshSize: 1, alternates: [], time: 0n, httpUrl: '' } }))
    })
    const err = await client(url).start().then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(AuthFailedError)
    expect((err as Error).message).toContain('did not answer the proof of key')
    const end = Date.now() + 5000
    while (!closed && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 10))
    expect(closed).toBe(true)
  })

  it('an answer to the proof that does not decode is refused with AuthFailedError', async () => {
    const url = await scriptedNode((ws, f) => {
      if (f.auth != null) ws.send(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff))
    })
    const err = await client(url).start().then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(AuthFailedError)
    expect((err as Error).message).toContain('does not decode')
  })

  it('a dial that succeeded leaves nothing on its deadline: the signal firing later builds no error and holds no socket', async () => {
    const url = await scriptedNode(() => {})
    const transport = webSocketTransport()
    const ctl = new AbortController()
    const channel = await transport.dial(url, await generateKeyPair('Ed25519'), ctl.signal)
    expect(getEventListeners(ctl.signal, 'abort')).toHaveLength(0)
    ctl.abort()
    expect(channel.writable).toBe(true)
    await channel.close()
    await transport.stop()
  })
})
