import { describe, expect, it } from 'vitest'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { fixYamuxWindowUpdates, yamuxWindowUpdatesFixed } from '../../node/src/mesh/yamux-window.js'
import type { Stream, StreamMuxer } from '@libp2p/interface'

const WINDOW_UPDATE = 1
const ACK = 2

/** the yamux frames a muxer writes, read from its byte stream (12-byte headers; data frames carry a body) */
function sniff (muxer: StreamMuxer): Array<{ type: number, flags: number, length: number }> {
  const frames: Array<{ type: number, flags: number, length: number }> = []
  const buf = new Uint8ArrayList()
  let skip = 0
  const m = muxer as unknown as { send: (data: Uint8Array | Uint8ArrayList) => boolean }
  const send = m.send.bind(muxer)
  m.send = data => {
    buf.append(data)
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, buf.byteLength)
        buf.consume(n)
        skip -= n
        if (skip > 0) break
      }
      if (buf.byteLength < 12) break
      const h = buf.subarray(0, 12)
      const type = h[1]!
      const flags = (h[2]! << 8) | h[3]!
      const length = ((h[8]! << 24) >>> 0) + (h[9]! << 16) + (h[10]! << 8) + h[11]!
      buf.consume(12)
      frames.push({ type, flags, length })
      if (type === 0) skip = length
    }
    return send(data)
  }
  return frames
}

async function until (cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/**
 * Yamux window updates (node/src/mesh/yamux-window.ts): a stream that receives small frames
 * answers them with no window update until half its receive window is used, then one; a large
 * transfer still flows to the end.
 */
describe('yamux window updates', () => {
  it('small frames get no window update each; a large transfer gets a few and arrives whole', async () => {
    fixYamuxWindowUpdates()
    expect(yamuxWindowUpdatesFixed()).toBe(true)
    const [outer, inner] = multiaddrConnectionPair()
    const dialer = yamux()().createStreamMuxer(outer)
    const listener = yamux()().createStreamMuxer(inner)
    const written = sniff(listener)
    let received = 0
    listener.addEventListener('stream', evt => {
      const s = evt.detail as Stream
      s.addEventListener('message', e => { received += e.data.byteLength })
    })
    const stream = await dialer.createStream()
    // 200 chat-sized frames, 60 KB: under half the default 256 KiB window
    const small = new Uint8Array(300).fill(7)
    for (let i = 0; i < 200; i++) {
      if (!stream.send(small)) await stream.onDrain()
      if (i % 20 === 0) await new Promise(resolve => setImmediate(resolve))
    }
    await until(() => received === 200 * 300, 'the small frames')
    const plainUpdates = (): number => written.filter(f => f.type === WINDOW_UPDATE && f.flags === 0).length
    expect(written.filter(f => f.type === WINDOW_UPDATE && (f.flags & ACK) !== 0)).toHaveLength(1)
    expect(plainUpdates()).toBe(0)

    // 4 MiB in 64 KiB writes: it needs the receiver's updates to get through
    const big = new Uint8Array(64 * 1024).fill(3)
    for (let i = 0; i < 64; i++) {
      if (!stream.send(big)) await stream.onDrain()
    }
    await until(() => received === 200 * 300 + 64 * 64 * 1024, 'the large transfer', 30_000)
    expect(plainUpdates()).toBeGreaterThan(0)
    // at most one per half window (128 KiB) received, against one per data frame without the rule
    const dataFramesIn = 200 + 64
    expect(plainUpdates()).toBeLessThanOrEqual(Math.ceil((200 * 300 + 64 * 64 * 1024) / (128 * 1024)) + 1)
    expect(plainUpdates()).toBeLessThan(dataFramesIn)
    await stream.close()
    await dialer.close()
    await listener.close()
  })
})
