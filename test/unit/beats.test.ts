import { logger } from '@libp2p/logger'
import { afterEach, describe, expect, it } from 'vitest'
import { HeartbeatMsg } from '../../client/src/protocol/pb/mesh.js'
import { BeatLink, beatFromWire, beatToWire } from '../../node/src/mesh/beats.js'
import { InvalidPresenceError } from '../../node/src/mesh/presence-wire.js'
import { startLoopbackHosts } from '../helpers/mesh-host.js'
import type { MeshLibp2p } from '../../node/src/mesh/mesh-host.js'

const FROM = '12D3KooWBeatSenderBeatSenderBeatSenderBeatSenderBe'
const load = { clients: 3, rooms: 2, maxClients: 100 }

function raw (over: Partial<HeartbeatMsg>): Uint8Array {
  return HeartbeatMsg.encode({ node: '', incarnation: 5n, seq: 9n, load, beat: 7n, time: 1n, metaVersion: 42, addrsOmitted: true, gatewayAddrs: [], meshAddrs: [], httpUrl: '', ...over })
}

describe('direct beats on the wire', () => {
  it('round-trips a beat, naming the node from the connection', () => {
    const frame = beatToWire({ incarnation: 5, seq: 9, beat: 7, meta: { load, version: 42 }, time: 123 })
    expect(frame.byteLength).toBeLessThan(40)
    expect(beatFromWire(frame, FROM)).toEqual({
      node: FROM,
      incarnation: 5,
      seq: 9,
      beat: 7,
      meta: { load, gatewayAddrs: [], meshAddrs: [], version: 42 },
      addrsOmitted: true,
      direct: true
    })
    // a version of 0 (none) is left out, as the topic's heartbeats do
    expect(beatFromWire(beatToWire({ incarnation: 1, seq: 0, beat: 1, meta: { load }, time: 1 }), FROM).meta.version).toBeUndefined()
  })

  it('refuses a beat for another node, one with addresses, beat 0, out-of-range numbers and bytes that do not decode', () => {
    const refused = (buf: Uint8Array): string => {
      try {
        beatFromWire(buf, FROM)
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidPresenceError)
        return (err as Error).message
      }
      throw new Error('accepted')
    }
    expect(beatFromWire(raw({ node: FROM }), FROM).node).toBe(FROM)
    expect(refused(raw({ node: '12D3KooWSomebodyElseSomebodyElseSomebodyElseSomeb' }))).toMatch(/another node/)
    expect(refused(raw({ gatewayAddrs: ['/ip4/127.0.0.1/tcp/1/ws'] }))).toMatch(/no addresses/)
    expect(refused(raw({ meshAddrs: ['/ip4/127.0.0.1/tcp/1'] }))).toMatch(/no addresses/)
    expect(refused(raw({ httpUrl: 'http://127.0.0.1:1' }))).toMatch(/no addresses/)
    expect(refused(raw({ addrsOmitted: false }))).toMatch(/no addresses/)
    expect(refused(raw({ beat: 0n }))).toMatch(/beat 0/)
    expect(refused(raw({ incarnation: 2n ** 60n }))).toMatch(/out of range/)
    expect(refused(raw({ seq: 2n ** 63n }))).toMatch(/out of range/)
    expect(refused(Uint8Array.from([0x0a, 0xff, 0xff, 0xff]))).toMatch(/does not decode/)
  })
})

describe('beat streams between two real mesh hosts', () => {
  let hosts: MeshLibp2p[] = []
  let links: BeatLink[] = []

  afterEach(async () => {
    await Promise.all(links.map(async l => { await l.stop() }))
    await Promise.all(hosts.map(async h => { await h.stop() }))
    hosts = []
    links = []
  })

  it('tell the owner when a stream opens, so a beat can go out before the next tick', async () => {
    const [a, b] = await startLoopbackHosts(2) as [MeshLibp2p, MeshLibp2p]
    hosts.push(a, b)
    const frame = beatToWire({ incarnation: 5, seq: 9, beat: 7, meta: { load, version: 42 }, time: 123 })
    const heardByB: Array<{ from: string, beat: number | undefined }> = []
    const openedByA: string[] = []
    const opts = { timeoutMs: 5000, staleAfterMs: 60_000, log: logger('test:beats'), onInvalid: () => {} }
    const linkA: BeatLink = new BeatLink(a, { ...opts, onBeat: () => {}, onOpened: peer => { openedByA.push(peer.toString()); linkA.send(peer, frame) } })
    const linkB = new BeatLink(b, { ...opts, onBeat: hb => { heardByB.push({ from: hb.node, beat: hb.beat }) } })
    links.push(linkA, linkB)
    await linkA.start()
    await linkB.start()
    // nobody ticks: the only beat written is the one onOpened writes
    await a.dial(b.getMultiaddrs()[0]!)
    const until = Date.now() + 10_000
    while (heardByB.length === 0 && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 10))
    expect(openedByA).toEqual([b.peerId.toString()])
    expect(heardByB).toEqual([{ from: a.peerId.toString(), beat: 7 }])
    expect(linkA.reaches(b.peerId.toString())).toBe(true)
  })
})
