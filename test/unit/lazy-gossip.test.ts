import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { PRESENCE_TOPIC, roomTopic } from '../../client/src/protocol/ids.js'
import { createMeshHost } from '../../node/src/mesh/mesh-host.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { SWARM_KEY_LENGTH, generateSwarmKey } from '../../node/src/mesh/pnet.js'
import { alignHeartbeat } from '../../node/src/mesh/lazy-gossip.js'
import type { Libp2p } from '@libp2p/interface'

/** the gossipsub message cache as the mesh host's instance holds it */
interface Cache {
  put: (id: { msgId: Uint8Array, msgIdStr: string }, msg: { topic: string, data: Uint8Array }, validated?: boolean) => boolean
  shift: () => void
  getGossipIDs: (topics: Set<string>) => Map<string, Uint8Array[]>
}

describe('lazy gossip: how long a message is advertised', () => {
  let host: Libp2p | undefined
  afterEach(async () => {
    await host?.stop()
    host = undefined
  })

  it('room messages at the heartbeat after they came, presence messages at three (the real message cache)', async () => {
    const psk = new Uint8Array(SWARM_KEY_LENGTH)
    generateSwarmKey(psk)
    const mesh = await createMeshHost({ privateKey: await generateKeyPair('Ed25519'), psk, listen: ['/ip4/127.0.0.1/tcp/0'], trustedIps: ['127.0.0.1'], linkControl: new LinkControl() })
    host = mesh
    const cache = (mesh.services.pubsub as unknown as { mcache: Cache }).mcache
    const room = roomTopic('lazy')
    let n = 0
    const put = (topic: string, validated = true): string => {
      const msgIdStr = `id${++n}`
      cache.put({ msgId: new TextEncoder().encode(msgIdStr), msgIdStr }, { topic, data: new Uint8Array([n]) }, validated)
      return msgIdStr
    }
    const advertised = (topic: string): string[] =>
      (cache.getGossipIDs(new Set([room, PRESENCE_TOPIC])).get(topic) ?? []).map(id => new TextDecoder().decode(id)).sort()

    // heartbeat 1: one message on each topic, and one room message not yet validated
    const r1 = put(room)
    const p1 = put(PRESENCE_TOPIC)
    put(room, false)
    expect(advertised(room)).toEqual([r1])
    expect(advertised(PRESENCE_TOPIC)).toEqual([p1])
    // gossipsub emits gossip, then shifts the cache, at each heartbeat
    cache.shift()
    const r2 = put(room)
    const p2 = put(PRESENCE_TOPIC)
    expect(advertised(room)).toEqual([r2])
    expect(advertised(PRESENCE_TOPIC)).toEqual([p1, p2].sort())
    cache.shift()
    cache.shift()
    expect(advertised(room)).toEqual([])
    expect(advertised(PRESENCE_TOPIC)).toEqual([p2])
    // only the topics asked for
    expect(cache.getGossipIDs(new Set([room])).has(PRESENCE_TOPIC)).toBe(false)
  })
})

describe('gossipsub heartbeat on the wall clock', () => {
  let host: Libp2p | undefined
  afterEach(async () => {
    await host?.stop()
    host = undefined
  })

  it('after alignHeartbeat, the real gossipsub heartbeat runs at whole multiples of its interval', async () => {
    const psk = new Uint8Array(SWARM_KEY_LENGTH)
    generateSwarmKey(psk)
    const mesh = await createMeshHost({ privateKey: await generateKeyPair('Ed25519'), psk, listen: ['/ip4/127.0.0.1/tcp/0'], trustedIps: ['127.0.0.1'], linkControl: new LinkControl(), gossipHeartbeatMs: 200 })
    host = mesh
    // started just after a multiple of 200 ms: the library's own schedule (100 ms after its start,
    // then every 200) would put every heartbeat about half an interval off the multiples
    while (Date.now() % 200 > 5) await new Promise(resolve => setTimeout(resolve, 1))
    await mesh.start()
    expect(alignHeartbeat(mesh.services.pubsub)).toBe(true)
    const at: number[] = []
    mesh.services.pubsub.addEventListener('gossipsub:heartbeat', () => { at.push(Date.now()) })
    await new Promise(resolve => setTimeout(resolve, 1500))
    // the first may still be on the old schedule (it was set before the call); every later one is on
    // a multiple of 200 ms, give or take the event loop's lateness on a loaded machine
    const later = at.slice(1)
    expect(later.length).toBeGreaterThanOrEqual(3)
    const offsets = later.map(t => t % 200)
    expect(offsets.filter(o => o <= 40).length).toBeGreaterThanOrEqual(Math.ceil(later.length / 2))
  })

  it('a status laid out otherwise is left alone', () => {
    expect(alignHeartbeat({} as unknown as Parameters<typeof alignHeartbeat>[0])).toBe(false)
    expect(alignHeartbeat({ status: { code: 0 } } as unknown as Parameters<typeof alignHeartbeat>[0])).toBe(false)
  })
})
