import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { PRESENCE_TOPIC, roomTopic } from '../../client/src/protocol/ids.js'
import { createMeshHost } from '../../node/src/mesh/mesh-host.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { SWARM_KEY_LENGTH, generateSwarmKey } from '../../node/src/mesh/pnet.js'
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
