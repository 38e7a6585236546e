/**
 * One-way streams between two real mesh hosts (node/src/mesh/oneway.ts): messages arrive in order
 * with nothing sent back; a peer without the protocol is refused once and remembered; a stream the
 * receiver resets, or a receiver that stops reading, reports what was sent in the last moments as
 * lost (and only that, within bounds of count and bytes); a handler that fails resets the stream.
 */
import { logger } from '@libp2p/logger'
import { afterEach, describe, expect, it } from 'vitest'
import { OneWayPool, OneWayUnsupportedError, serveOneWay } from '../../node/src/mesh/oneway.js'
import { startLoopbackHosts } from '../helpers/mesh-host.js'
import type { MeshLibp2p } from '../../node/src/mesh/mesh-host.js'
import type { WireCodec } from '../../node/src/mesh/rpc.js'
import type { Stream } from '@libp2p/interface'

const PROTOCOL = '/meshchat-test/oneway/1.0.0'
const raw: WireCodec<Uint8Array> = {
  encode: (obj: Partial<Uint8Array>) => obj as Uint8Array,
  decode: buf => buf instanceof Uint8Array ? buf.slice() : buf.subarray().slice()
}

async function waitFor (cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

let hosts: MeshLibp2p[] = []

async function pair (): Promise<[MeshLibp2p, MeshLibp2p]> {
  const [a, b] = await startLoopbackHosts(2) as [MeshLibp2p, MeshLibp2p]
  hosts.push(a, b)
  await a.dial(b.getMultiaddrs()[0]!)
  return [a, b]
}

const bytes = (n: number): Uint8Array => Uint8Array.from([n >> 8, n & 0xff])
const number = (b: Uint8Array): number => (b[0]! << 8) + b[1]!

afterEach(async () => {
  await Promise.all(hosts.map(async h => { await h.stop() }))
  hosts = []
})

describe('one-way streams', () => {
  it('deliver every message in order, and nothing comes back', async () => {
    const [a, b] = await pair()
    const got: number[] = []
    await serveOneWay(b, PROTOCOL, raw, async msg => { got.push(number(msg)) }, { maxBytes: 1024, timeoutMs: 5000, log: logger('test') })
    const pool = new OneWayPool(a, PROTOCOL, raw, { timeoutMs: 5000 })
    const lost: number[] = []
    for (let i = 0; i < 500; i++) await pool.send(b.peerId, bytes(i), () => { lost.push(i) })
    await waitFor(() => got.length === 500, 'every message')
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => i))
    expect(lost).toEqual([])
    pool.close()
    // a close by the sender reports nothing lost
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(lost).toEqual([])
  })

  it('a peer without the protocol is refused with a typed error once, and not asked again', async () => {
    const [a, b] = await pair()
    const pool = new OneWayPool(a, PROTOCOL, raw, { timeoutMs: 5000 })
    let dials = 0
    const dial = a.dialProtocol.bind(a)
    a.dialProtocol = (async (...args: Parameters<typeof dial>) => { dials++; return await dial(...args) }) as typeof a.dialProtocol
    await expect(pool.send(b.peerId, bytes(1), () => {})).rejects.toBeInstanceOf(OneWayUnsupportedError)
    expect(pool.supports(b.peerId)).toBe(false)
    await expect(pool.send(b.peerId, bytes(2), () => {})).rejects.toBeInstanceOf(OneWayUnsupportedError)
    expect(dials).toBe(1)
    pool.close()
  })

  it('a stream the receiver resets reports the messages sent in the last moments as lost, and the next send opens a new one', async () => {
    const [a, b] = await pair()
    const got: number[] = []
    let inbound: Stream | undefined
    await b.handle(PROTOCOL, async (stream: Stream) => {
      inbound = stream
      stream.addEventListener('message', e => { got.push(e.data.byteLength) })
    })
    const pool = new OneWayPool(a, PROTOCOL, raw, { timeoutMs: 5000, recentMs: 60_000 })
    const lost: number[] = []
    for (let i = 0; i < 10; i++) await pool.send(b.peerId, bytes(i), () => { lost.push(i) })
    await waitFor(() => inbound != null && got.length > 0, 'the stream to carry data')
    inbound?.abort(new Error('refused'))
    await waitFor(() => lost.length === 10, 'the ten messages to be reported lost')
    expect(lost.sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i))
    // the next message goes on a new stream, and is not reported lost
    const first = inbound
    await pool.send(b.peerId, bytes(99), () => { lost.push(99) })
    await waitFor(() => inbound !== first, 'a new stream')
    expect(lost).not.toContain(99)
    pool.close()
  })

  it('only what was sent within recentMs is reported lost', async () => {
    const [a, b] = await pair()
    let inbound: Stream | undefined
    await b.handle(PROTOCOL, async (stream: Stream) => { inbound = stream; stream.addEventListener('message', () => {}) })
    const pool = new OneWayPool(a, PROTOCOL, raw, { timeoutMs: 5000, recentMs: 300 })
    const lost: number[] = []
    await pool.send(b.peerId, bytes(1), () => { lost.push(1) })
    await new Promise(resolve => setTimeout(resolve, 500))
    await pool.send(b.peerId, bytes(2), () => { lost.push(2) })
    await waitFor(() => inbound != null, 'the stream')
    inbound?.abort(new Error('refused'))
    await waitFor(() => lost.length > 0, 'a loss report')
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(lost).toEqual([2])
    pool.close()
  })

  it('what is remembered for a loss report is bounded in count and bytes, the oldest forgotten first', async () => {
    const [a, b] = await pair()
    let inbound: Stream | undefined
    await b.handle(PROTOCOL, async (stream: Stream) => { inbound = stream; stream.addEventListener('message', () => {}) })
    // two-byte messages: at most 5 by bytes, at most 3 by count
    for (const [opts, kept] of [[{ maxRecentBytes: 10 }, [15, 16, 17, 18, 19]], [{ maxRecent: 3 }, [17, 18, 19]]] as const) {
      inbound = undefined
      const pool = new OneWayPool(a, PROTOCOL, raw, { timeoutMs: 5000, recentMs: 60_000, ...opts })
      const lost: number[] = []
      for (let i = 0; i < 20; i++) await pool.send(b.peerId, bytes(i), () => { lost.push(i) })
      await waitFor(() => inbound != null, 'the stream')
      ;(inbound as Stream | undefined)?.abort(new Error('refused'))
      await waitFor(() => lost.length > 0, 'a loss report')
      await new Promise(resolve => setTimeout(resolve, 100))
      expect(lost).toEqual(kept)
      pool.close()
    }
  })

  it('a receiver that stops reading gets its stream dropped once the queue passes the bound, and what was sent is reported lost', async () => {
    const [a, b] = await pair()
    // takes the stream and never reads it
    await b.handle(PROTOCOL, async (stream: Stream) => { stream.pause() })
    const pool = new OneWayPool(a, PROTOCOL, raw, { timeoutMs: 5000, recentMs: 60_000, maxQueuedBytes: 512 * 1024 })
    const lost = new Set<number>()
    const big = new Uint8Array(16 * 1024)
    let sent = 0
    for (; sent < 200 && lost.size === 0; sent++) {
      await pool.send(b.peerId, big, () => { lost.add(sent) }).catch(() => {})
      await new Promise(resolve => setTimeout(resolve, 2))
    }
    await waitFor(() => lost.size > 0, 'the stalled stream to be dropped')
    // dropped before 200 × 16 KiB = 3.2 MiB was queued
    expect(sent).toBeLessThan(200)
    pool.close()
  })

  it('a handler that fails resets the stream; later streams are served', async () => {
    const [a, b] = await pair()
    const got: number[] = []
    const refused: string[] = []
    await serveOneWay(b, PROTOCOL, raw, async msg => {
      if (number(msg) === 3) throw new Error('not this one')
      got.push(number(msg))
    }, { maxBytes: 1024, timeoutMs: 5000, log: logger('test'), onRefused: err => { refused.push(err.message) } })
    const pool = new OneWayPool(a, PROTOCOL, raw, { timeoutMs: 5000, recentMs: 60_000 })
    const lost: number[] = []
    for (let i = 0; i < 4; i++) await pool.send(b.peerId, bytes(i), () => { lost.push(i) })
    await waitFor(() => refused.length === 1 && lost.length > 0, 'the refusal to reach the sender')
    expect(refused).toEqual(['not this one'])
    expect(lost).toContain(3)
    await pool.send(b.peerId, bytes(7), () => {})
    await waitFor(() => got.includes(7), 'a message on a new stream')
    pool.close()
  })
})
