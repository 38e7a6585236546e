import { createServer } from 'node:http'
import { connect, createServer as createNetServer } from 'node:net'
import type { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import * as wsModule from 'ws'
import { WebSocket, WebSocketServer } from 'ws'
import { quietReceiverEnds, quietSocketEnd } from '../../node/src/gateway/ws-receiver.js'
import type { AddressInfo } from 'node:net'
import type { Writable } from 'node:stream'

const Receiver = (wsModule as unknown as { Receiver: new (opts?: object) => Writable }).Receiver

async function finished (w: Writable): Promise<void> {
  await new Promise<void>(resolve => { w.once('finish', () => { resolve() }) })
}

describe('quiet ends of the light edge', () => {
  quietReceiverEnds()
  quietReceiverEnds()

  it('leaves end() doing what Node does for every caller: a fresh parser ends, a finished or destroyed one stays quiet, a callback still hears why', async () => {
    // a fresh parser still ends, and finishes
    const r = new Receiver()
    const done = finished(r)
    expect(r.end()).toBe(r)
    await done
    expect(r.writableFinished).toBe(true)
    // ended again, as ws does when the socket ends and closes: nothing happens, nothing is emitted
    const errors: Error[] = []
    r.on('error', err => { errors.push(err) })
    expect(r.end()).toBe(r)
    expect(r.end()).toBe(r)
    // a caller that asks still hears that it had finished
    const told = await new Promise<Error | null | undefined>(resolve => { r.end(resolve) })
    expect((told as NodeJS.ErrnoException | undefined)?.code).toBe('ERR_STREAM_ALREADY_FINISHED')
    // a destroyed one (ended first) likewise, and one destroyed before it ended still takes end() as Node does
    const d = new Receiver()
    d.end()
    d.destroy()
    expect(d.end()).toBe(d)
    const toldDestroyed = await new Promise<Error | null | undefined>(resolve => { d.end(resolve) })
    expect(toldDestroyed).toBeInstanceOf(Error)
    const e = new Receiver()
    e.destroy()
    expect(e.end()).toBe(e)
    expect(e.writableEnded).toBe(true)
    await new Promise(resolve => setImmediate(resolve))
    expect(errors).toEqual([])
  })

  it('keeps clean closes clean both ways, with their codes and reasons, over many connections', async () => {
    const http = createServer()
    const wss = new WebSocketServer({ server: http })
    const serverSide: Array<{ code: number, reason: string }> = []
    wss.on('connection', ws => {
      ws.on('message', data => {
        if (String(data) === 'close me') ws.close(4001, 'as asked')
        else ws.send(data)
      })
      ws.on('close', (code, reason) => { serverSide.push({ code, reason: reason.toString() }) })
    })
    await new Promise<void>(resolve => { http.listen(0, '127.0.0.1', resolve) })
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`
    try {
      const results = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const ws = new WebSocket(url)
        await new Promise<void>((resolve, reject) => { ws.once('open', () => { resolve() }); ws.once('error', reject) })
        const echoed = new Promise<string>(resolve => { ws.once('message', d => { resolve(String(d)) }) })
        ws.send(`hello ${i}`)
        expect(await echoed).toBe(`hello ${i}`)
        const closed = new Promise<{ code: number, reason: string }>(resolve => { ws.once('close', (code, reason) => { resolve({ code, reason: reason.toString() }) }) })
        // half are closed by the client, half by the server
        if (i % 2 === 0) ws.close(4000, `bye ${i}`)
        else ws.send('close me')
        return await closed
      }))
      results.forEach((r, i) => { expect(r).toEqual(i % 2 === 0 ? { code: 4000, reason: `bye ${i}` } : { code: 4001, reason: 'as asked' }) })
      for (let i = 0; i < 100 && serverSide.length < 40; i++) await new Promise(resolve => setTimeout(resolve, 20))
      expect(serverSide).toHaveLength(40)
      expect(serverSide.filter(s => s.code === 4000)).toHaveLength(20)
      expect(serverSide.filter(s => s.code === 4001 && s.reason === 'as asked')).toHaveLength(20)
    } finally {
      await new Promise(resolve => { wss.close(resolve) })
      await new Promise(resolve => { http.close(resolve) })
    }
  })

  it('gives an edge socket the same end(): it still ends, then stays quiet, and a callback still hears why', async () => {
    const accepted: Socket[] = []
    const srv = createNetServer(s => { accepted.push(s) })
    await new Promise<void>(resolve => { srv.listen(0, '127.0.0.1', resolve) })
    try {
      const client = connect((srv.address() as AddressInfo).port, '127.0.0.1')
      const clientEnded = new Promise<void>(resolve => { client.on('end', () => { resolve() }) })
      client.resume()
      for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
      const s = accepted[0] as Socket
      const errors: Error[] = []
      s.on('error', err => { errors.push(err) })
      s.resume()
      quietSocketEnd(s)
      // the first end() is Node's: the peer sees the FIN, the socket finishes
      const finished = new Promise<void>(resolve => { s.once('finish', () => { resolve() }) })
      expect(s.end()).toBe(s)
      await finished
      await clientEnded
      // again, as ws does when the peer's FIN comes in: nothing happens
      expect(s.end()).toBe(s)
      const told = await new Promise<Error | null | undefined>(resolve => { (s.end as (cb: (err?: Error | null) => void) => Socket)(resolve) })
      expect((told as NodeJS.ErrnoException | undefined)?.code).toBe('ERR_STREAM_ALREADY_FINISHED')
      client.end()
      await new Promise(resolve => { s.once('close', resolve) })
      expect(s.end()).toBe(s)
      expect(errors).toEqual([])
      // a socket without it keeps Node's own end()
      expect(Object.hasOwn(client, 'end')).toBe(false)
      expect(Object.hasOwn(s, 'end')).toBe(true)
    } finally {
      for (const a of accepted) a.destroy()
      await new Promise(resolve => { srv.close(resolve) })
    }
  })
})
