import { describe, expect, it } from 'vitest'
import { HeartbeatMsg } from '../../client/src/protocol/pb/mesh.js'
import { beatFromWire, beatToWire } from '../../node/src/mesh/beats.js'
import { InvalidPresenceError } from '../../node/src/mesh/presence-wire.js'

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
