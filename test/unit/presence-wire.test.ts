import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { beforeAll, describe, expect, it } from 'vitest'
import { PresenceFullMsg } from '../../client/src/protocol/pb/mesh.js'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { SignedPresence } from '../../client/src/protocol/pb/mesh.js'
import { InvalidPresenceError, fullFromWire, fullToWire, openPresence, presenceValidator, signPresence } from '../../node/src/mesh/presence-wire.js'
import { metaVersion } from '../../node/src/state/presence.js'
import type { PrivateKey } from '@libp2p/interface'
import type { HeartbeatMsg } from '../../client/src/protocol/pb/mesh.js'

let key: PrivateKey
let node: string
let other: string

beforeAll(async () => {
  key = await generateKeyPair('Ed25519')
  node = peerIdFromPrivateKey(key).toString()
  other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
})

const addrs = (): { gatewayAddrs: string[], meshAddrs: string[], httpUrl: string } => ({
  gatewayAddrs: ['/ip4/127.0.0.1/tcp/4002/ws', 'ws://127.0.0.1:8080/ws'],
  meshAddrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${node}`],
  httpUrl: 'http://127.0.0.1:8080'
})

function heartbeat (over: Partial<HeartbeatMsg>): Partial<HeartbeatMsg> & { node: string } {
  return { node, incarnation: 1n, seq: 0n, load: { clients: 3, rooms: 1, maxClients: 100 }, gatewayAddrs: [], meshAddrs: [], httpUrl: '', beat: 1n, time: 1n, metaVersion: 0, addrsOmitted: false, ...over }
}

describe('heartbeats that leave their addresses out', () => {
  it('open with the load and the addresses\' version only', async () => {
    const version = metaVersion({ ...addrs() })
    const opened = openPresence(await signPresence(key, { heartbeat: heartbeat({ metaVersion: version, addrsOmitted: true }) as HeartbeatMsg }))
    expect(opened.kind).toBe('heartbeat')
    if (opened.kind !== 'heartbeat') return
    expect(opened.heartbeat.addrsOmitted).toBe(true)
    expect(opened.heartbeat.meta).toEqual({ load: { clients: 3, rooms: 1, maxClients: 100 }, gatewayAddrs: [], meshAddrs: [], httpUrl: undefined, version })
  })

  it('are refused when they say they omit the addresses and carry some', async () => {
    for (const extra of [{ gatewayAddrs: addrs().gatewayAddrs }, { meshAddrs: addrs().meshAddrs }, { httpUrl: addrs().httpUrl }]) {
      const bytes = await signPresence(key, { heartbeat: heartbeat({ ...extra, addrsOmitted: true }) as HeartbeatMsg })
      expect(() => openPresence(bytes)).toThrow(InvalidPresenceError)
    }
  })

  it('a full heartbeat opens with its addresses and version', async () => {
    const a = addrs()
    const version = metaVersion(a)
    const opened = openPresence(await signPresence(key, { heartbeat: heartbeat({ ...a, metaVersion: version }) as HeartbeatMsg }))
    if (opened.kind !== 'heartbeat') throw new Error('not a heartbeat')
    expect(opened.heartbeat.addrsOmitted).toBeUndefined()
    expect(opened.heartbeat.meta).toMatchObject({ ...a, version })
  })
})

describe('full states carry the node\'s addresses', () => {
  it('round-trip through the wire with every address checked', () => {
    const a = addrs()
    const meta = { load: { clients: 1, rooms: 2, maxClients: 3 }, ...a, version: metaVersion(a) }
    const state = { node, incarnation: 4, seq: 9, entries: [], hosted: ['general'], meta }
    const back = fullFromWire(PresenceFullMsg.decode(PresenceFullMsg.encode(fullToWire(state))), node)
    expect(back).toEqual(state)
  })

  it('are refused when a mesh address names another peer, or an address is malformed', () => {
    const a = addrs()
    const bad = [
      { ...a, meshAddrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${other}`] },
      { ...a, gatewayAddrs: ['not an address'] },
      { ...a, httpUrl: 'ftp://127.0.0.1' }
    ]
    for (const b of bad) {
      const wire = fullToWire({ node, incarnation: 1, seq: 0, entries: [], meta: { load: { clients: 0, rooms: 0, maxClients: 0 }, ...b, version: 1 } })
      expect(() => fullFromWire(PresenceFullMsg.decode(PresenceFullMsg.encode(wire)), node)).toThrow(InvalidPresenceError)
    }
  })
})

describe('a node\'s own presence, straight from it', () => {
  /** the same message with its signature spoiled */
  async function badlySigned (): Promise<Uint8Array> {
    const signed = SignedPresence.decode(await signPresence(key, { heartbeat: heartbeat({}) as HeartbeatMsg }))
    const signature = signed.signature.slice()
    signature[0] = signature[0]! ^ 0xff
    return SignedPresence.encode({ body: signed.body, signature })
  }

  it('opens without a signature check only when it comes from the node it names', async () => {
    const bytes = await badlySigned()
    expect(() => openPresence(bytes), 'from anyone: the signature is checked').toThrow(InvalidPresenceError)
    expect(() => openPresence(bytes, other), 'relayed by another peer: the signature is checked').toThrow(InvalidPresenceError)
    expect(openPresence(bytes, node).kind, 'from the node itself').toBe('heartbeat')
  })

  it('is used where it arrives and kept out of gossip; a relayed copy is verified and passed on', async () => {
    const direct: string[] = []
    const valid: string[] = []
    const invalid: string[] = []
    const validate = presenceValidator({
      onDirect: (_msg, opened) => { direct.push(opened.kind) },
      onValid: (_msg, opened) => { valid.push(opened.kind) },
      onInvalid: err => { invalid.push(err.message) }
    })
    const msg = (data: Uint8Array): any => ({ type: 'unsigned', topic: 'presence', data })
    const good = await signPresence(key, { heartbeat: heartbeat({}) as HeartbeatMsg })
    const bad = await badlySigned()
    expect(validate(peerIdFromString(node), msg(good))).toBe(TopicValidatorResult.Ignore)
    expect(validate(peerIdFromString(node), msg(bad))).toBe(TopicValidatorResult.Ignore)
    expect(direct).toEqual(['heartbeat', 'heartbeat'])
    expect(validate(peerIdFromString(other), msg(good))).toBe(TopicValidatorResult.Accept)
    expect(valid).toEqual(['heartbeat'])
    expect(validate(peerIdFromString(other), msg(bad))).toBe(TopicValidatorResult.Reject)
    expect(invalid).toHaveLength(1)
    // a malformed message is refused whoever sends it
    expect(validate(peerIdFromString(node), msg(new Uint8Array([0xff, 0x01])))).toBe(TopicValidatorResult.Reject)
    // without onDirect (a bootstrap daemon relaying for others) every copy is verified and accepted
    const relay = presenceValidator({})
    expect(relay(peerIdFromString(node), msg(good))).toBe(TopicValidatorResult.Accept)
    expect(relay(peerIdFromString(node), msg(bad))).toBe(TopicValidatorResult.Reject)
  })
})
