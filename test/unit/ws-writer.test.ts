import { createServer } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { SocketWriter, TurnFlush } from '../../node/src/gateway/ws-edge.js'
import { countSocketWrites } from '../helpers/socket-writes.js'
import { waitFor } from '../helpers/mesh.js'
import type { AddressInfo } from 'node:net'

/** the writes of the server's sockets: those whose local port is `port` (one per write syscall) */
const countServerWrites = (port: number): { calls: () => number, restore: () => void } => countSocketWrites(s => s.localPort === port)

/** waitFor with a named condition */
const until = async (cond: () => boolean, what: string): Promise<void> => { await waitFor(cond, { what, intervalMs: 5 }) }

describe('the light edge\'s session writers', () => {
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c()
  })

  /** `n` client connections to one server; the server side of each and what each client received */
  async function pairs (n: number): Promise<{ port: number, server: WebSocket[], got: Buffer[][] }> {
    const http = createServer()
    const wss = new WebSocketServer({ server: http })
    const server: WebSocket[] = []
    wss.on('connection', ws => { server.push(ws) })
    await new Promise<void>(resolve => { http.listen(0, '127.0.0.1', resolve) })
    const port = (http.address() as AddressInfo).port
    const clients: WebSocket[] = []
    const got: Buffer[][] = []
    for (let i = 0; i < n; i++) {
      const c = new WebSocket(`ws://127.0.0.1:${port}/`)
      const mine: Buffer[] = []
      c.on('message', d => { mine.push(d as Buffer) })
      clients.push(c)
      got.push(mine)
      await new Promise<void>((resolve, reject) => { c.once('open', () => { resolve() }); c.once('error', reject) })
    }
    await until(() => server.length === n, 'the server side of every connection')
    closers.push(async () => {
      for (const c of clients) c.terminate()
      for (const s of server) s.terminate()
      await new Promise(resolve => { wss.close(resolve) })
      await new Promise(resolve => { http.close(resolve) })
    })
    return { port, server, got }
  }

  it('sends the frames every session queued in one turn in one write per session, and a later turn in writes of its own', async () => {
    const { port, server, got } = await pairs(3)
    const turn = new TurnFlush(() => {})
    const writers = server.map(ws => new SocketWriter(ws, turn, 1 << 20, () => {}))
    const writes = countServerWrites(port)
    try {
      for (let i = 0; i < 4; i++) writers.forEach((w, k) => { w.send(Uint8Array.of(k, i)) })
      await until(() => got.every(g => g.length === 4), 'four frames at each client')
      expect(writes.calls()).toBe(3)
      expect(got.map(g => g.map(b => [...b]))).toEqual([0, 1, 2].map(k => [0, 1, 2, 3].map(i => [k, i])))
      await new Promise(resolve => setTimeout(resolve, 20))
      writers[1]?.send(Uint8Array.of(9))
      await until(() => got[1]?.length === 5, 'the later frame')
      expect(writes.calls()).toBe(4)
    } finally {
      writes.restore()
    }
  })

  it('one session\'s failure in a turn leaves the others\' frames sent, and is logged', async () => {
    const { server, got } = await pairs(3)
    const logged: string[] = []
    const turn = new TurnFlush((fmt, ...args) => { logged.push(`${fmt} ${args.join(' ')}`) })
    // the middle writer's reader is always too slow, and its handler throws
    const writers = server.map((ws, k) => new SocketWriter(ws, turn, k === 1 ? -1 : 1 << 20, () => { throw new Error('handler broke') }))
    writers.forEach((w, k) => { w.send(Uint8Array.of(k)) })
    await until(() => got[0]?.length === 1 && got[2]?.length === 1, 'the frames of the sessions either side')
    expect(logged.some(l => l.includes('handler broke'))).toBe(true)
    // the writer that failed still writes in a later turn
    writers[1]?.send(Uint8Array.of(7))
    await until(() => got[1]?.length === 2, 'the failed writer\'s later frame')
  })

  it('sends nothing for a session whose socket has closed, and does not throw', async () => {
    const { server, got } = await pairs(2)
    const turn = new TurnFlush(() => { throw new Error('nothing should be logged') })
    const writers = server.map(ws => new SocketWriter(ws, turn, 1 << 20, () => {}))
    server[0]?.terminate()
    writers.forEach((w, k) => { w.send(Uint8Array.of(k)) })
    await until(() => got[1]?.length === 1, 'the open session\'s frame')
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(got[0]).toEqual([])
  })
})
