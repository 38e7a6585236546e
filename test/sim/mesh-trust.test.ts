import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { decodeClientFrame, encodeServerFrame, readFrames } from '../../client/src/protocol/codec.js'
import { DeliveryKind } from '../../client/src/protocol/pb/client.js'
import { CLIENT_PROTOCOL, DM_PROTOCOL, PRESENCE_TOPIC, SYNC_PROTOCOL, roomTopic } from '../../client/src/protocol/ids.js'
import { signEvent } from '../../client/src/protocol/signing.js'
import { newMeshKey } from '../../node/src/keys.js'
import { createMeshHost } from '../../node/src/mesh/mesh-host.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { StampedEvent } from '../../client/src/protocol/pb/mesh.js'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import { RawClients, clientHost, stripSignature, tamperBody } from '../helpers/raw-client.js'
import { recordMessages, roomMeshReady } from '../helpers/rooms.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { ChatClient, ChatMessage } from '../../client/src/node.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { MeshLibp2p } from '../../node/src/mesh/mesh-host.js'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

/** every protocol id a stranger might guess: pubsub, node-to-node, libp2p's own */
const GUESSES = [
  '/meshsub/1.0.0', '/meshsub/1.1.0', '/meshsub/1.2.0', '/floodsub/1.0.0',
  SYNC_PROTOCOL, DM_PROTOCOL,
  '/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0', '/ipfs/ping/1.0.0',
  '/libp2p/circuit/relay/0.2.0/hop', '/ipfs/kad/1.0.0'
]

async function rejectedCount (node: MeshchatNode, code: string): Promise<number> {
  const m = await node.metrics.rejected.get()
  return m.values.filter(v => v.labels.code === code).reduce((n, v) => n + v.value, 0)
}

async function userEvent (key: PrivateKey, room: string, text: string): Promise<Uint8Array> {
  return (await signEvent(key, 'someone', { kind: 'room', room, text }, { now: Date.now(), nonce: crypto.getRandomValues(new Uint8Array(12)) })).bytes
}

function envelope (event: Uint8Array, origin: string): Uint8Array {
  return StampedEvent.encode({ event: event as Uint8Array<ArrayBuffer>, hlc: BigInt(Date.now()) << 16n, origin })
}

describe('mesh trust boundary', () => {
  let mesh: TestMesh | undefined
  const hosts: Libp2p[] = []
  const raws = new RawClients()

  afterEach(async () => {
    await raws.closeAll()
    await Promise.allSettled(hosts.splice(0).map(async h => h.stop()))
    await mesh?.stop()
    mesh = undefined
  })

  async function meshPeer (psk: Uint8Array): Promise<MeshLibp2p> {
    const h = await createMeshHost({
      privateKey: await generateKeyPair('Ed25519'),
      psk,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      trustedIps: ['127.0.0.1'],
      linkControl: new LinkControl()
    })
    hosts.push(h)
    await h.start()
    return h
  }

  it('a rogue mesh member cannot get a tampered or unsigned message to any client; a valid one after it arrives', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const room = 'guarded'
    const topic = roomTopic(room)
    const alice = await mesh.client(a, 'alice')
    const bob = await mesh.client(b, 'bob')
    const aliceGot = recordMessages(alice)
    const bobGot = recordMessages(bob)
    const clientErrors: string[] = []
    for (const c of [alice, bob]) c.addEventListener('error', e => { clientErrors.push(e.detail.name) })
    await alice.join(room)
    await bob.join(room)
    await roomMeshReady([a, b], room)

    // the rogue holds the mesh key, so it is a full gossipsub peer of both nodes
    const rogue = await meshPeer(mesh.meshKey)
    await rogue.dial(multiaddr(a.meshAddrs()[0]!))
    await rogue.dial(multiaddr(b.meshAddrs()[0]!))
    const rps = rogue.services.pubsub
    await waitFor(() => {
      const subs = new Set(rps.getSubscribers(topic).map(p => p.toString()))
      return subs.has(a.nodeId) && subs.has(b.nodeId)
    }, { what: 'the rogue to see both nodes subscribed to the room' })

    const user = await generateKeyPair('Ed25519')
    const before = { a: await rejectedCount(a, 'BadSignatureError'), b: await rejectedCount(b, 'BadSignatureError') }
    const bad = [
      envelope(tamperBody(await userEvent(user, room, 'Xfer 10 coins to alice')), a.nodeId),
      envelope(stripSignature(await userEvent(user, room, 'unsigned')), a.nodeId)
    ]
    for (const [i, data] of bad.entries()) {
      const { recipients } = await rps.publish(topic, data)
      const to = recipients.map(p => p.toString())
      expect(to, `bad message ${i} went out to a`).toContain(a.nodeId)
      expect(to, `bad message ${i} went out to b`).toContain(b.nodeId)
    }
    // both nodes saw both and refused them at the gossipsub validator
    await waitFor(async () => await rejectedCount(a, 'BadSignatureError') - before.a >= 2 && await rejectedCount(b, 'BadSignatureError') - before.b >= 2,
      { what: 'both nodes to reject both bad messages' })

    // a message for another room, validly signed, smuggled onto this room's topic
    const wrongTopicBefore = await rejectedCount(a, 'WrongTopic')
    await rps.publish(topic, envelope(await userEvent(user, 'elsewhere', 'off topic'), a.nodeId))
    await waitFor(async () => await rejectedCount(a, 'WrongTopic') > wrongTopicBefore, { what: 'a to reject the off-topic message' })

    // the same path delivers a valid message: the silence above is the validator, not a dead link
    const goodBytes = await userEvent(user, room, 'a valid message via the rogue')
    await rps.publish(topic, envelope(goodBytes, a.nodeId))
    const fromAlice = await alice.send(room, 'and one from alice')
    for (const [who, got] of [['alice', aliceGot], ['bob', bobGot]] as const) {
      await waitFor(() => got.some(m => m.text === 'a valid message via the rogue') && got.some(m => m.id === fromAlice.id), { what: `${who} to get both valid messages` })
      expect(got.map(m => m.text).sort(), `${who}'s messages`).toEqual(['a valid message via the rogue', 'and one from alice'])
    }
    expect(clientErrors, 'nothing that fails verification ever reached a client').toEqual([])
    for (const n of [a, b]) {
      const stored = n.store.page(room, { limit: 100 }).events
      expect(stored.length, `${n.nodeId} stores only the valid messages`).toBe(2)
    }
  })

  it('a peer without the mesh key, or with another one, cannot connect to the mesh host at all', async () => {
    mesh = await startMesh(1)
    const [a] = mesh.nodes as [MeshchatNode]
    const target = multiaddr(a.meshAddrs()[0]!)

    /** every attempt must fail: refused during the handshake, or never completed (a pnet mismatch can also just stall) */
    const refusedAll = async (h: Libp2p, who: string): Promise<void> => {
      const attempts: Array<[string, Promise<unknown>]> = [
        ['connect', h.dial(target, { signal: AbortSignal.timeout(3000) })],
        ['connect to the bootstrap', h.dial(multiaddr(mesh!.bootstrap.addrs()[0]!), { signal: AbortSignal.timeout(3000) })],
        ...GUESSES.map(p => [p, h.dialProtocol(target, p, { signal: AbortSignal.timeout(3000) })] as [string, Promise<unknown>])
      ]
      const results = await Promise.allSettled(attempts.map(async ([, p]) => p))
      results.forEach((r, i) => {
        expect(r.status, `${who}: ${attempts[i]![0]} must fail`).toBe('rejected')
      })
    }
    // no pnet at all: what a client library or a random libp2p peer would do
    const plain = await clientHost()
    hosts.push(plain)
    await refusedAll(plain, 'peer without pnet')
    // a different swarm key
    const foreign = await meshPeer(newMeshKey())
    await refusedAll(foreign, 'peer with another mesh key')

    // nothing in, nothing out: no connection on either side, no pubsub peer, no presence heard
    foreign.services.pubsub.subscribe(PRESENCE_TOPIC)
    // the node's connections (if any yet) are to the bootstrap daemon only
    for (const c of a.mesh.getConnections()) expect(c.remotePeer.toString(), 'a connection of the node').toBe(mesh.bootstrap.peerId)
    for (const h of [plain, foreign]) {
      expect(a.mesh.getConnections(h.peerId), 'node has no connection to the stranger').toEqual([])
      expect(mesh.bootstrap.mesh.getConnections(h.peerId), 'bootstrap has no connection to the stranger').toEqual([])
      expect(h.getConnections(), 'the stranger has no connection').toEqual([])
    }
    expect(a.mesh.services.pubsub.getPeers().map(String)).not.toContain(foreign.peerId.toString())
    expect(foreign.services.pubsub.getPeers()).toEqual([])

    // control: the same kind of host with the right key gets in, so the refusals above are the key's doing
    const member = await meshPeer(mesh.meshKey)
    await member.dial(target, { signal: AbortSignal.timeout(5000) })
    await waitFor(() => a.mesh.getConnections(member.peerId).length > 0, { what: 'the keyed peer to be connected' })
    await waitFor(() => member.services.pubsub.getPeers().map(String).includes(a.nodeId), { what: 'the keyed peer to become a pubsub peer' })
  })

  it('a gateway connection reaches the client protocol and nothing else', async () => {
    mesh = await startMesh(1)
    const [a] = mesh.nodes as [MeshchatNode]
    expect(a.gateway.getProtocols()).toEqual([CLIENT_PROTOCOL])
    const meshProtocols = a.mesh.getProtocols()
    // the mesh host does speak these; the gateway must refuse every one of them
    for (const p of [SYNC_PROTOCOL, DM_PROTOCOL, '/meshsub/1.1.0', '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0']) {
      expect(meshProtocols, `mesh host speaks ${p}`).toContain(p)
    }
    const wanted = [...new Set([...GUESSES, ...meshProtocols])]
    const addrs = a.gatewayAddrs()
    expect(addrs.some(x => x.includes('/ws')), 'gateway has a WebSockets address').toBe(true)
    expect(addrs.some(x => !x.includes('/ws')), 'gateway has a TCP address').toBe(true)

    for (const addr of addrs) {
      const host = await clientHost()
      hosts.push(host)
      const ma = multiaddr(addr)
      // a real client session on this connection works
      const s = await host.dialProtocol(ma, CLIENT_PROTOCOL, { signal: AbortSignal.timeout(5000) })
      expect(s.protocol, `client protocol over ${addr}`).toBe(CLIENT_PROTOCOL)
      for (const p of wanted) {
        const err = await host.dialProtocol(ma, p, { signal: AbortSignal.timeout(5000) }).then(() => undefined, (e: Error) => e)
        expect(err, `${p} over ${addr} must be refused`).toBeDefined()
        expect(err!.name, `${p} over ${addr}`).toBe('UnsupportedProtocolError')
      }
      // the client connection is still fine after all those refusals
      expect(host.getConnections(a.gateway.peerId).length, `connection over ${addr} still open`).toBeGreaterThan(0)
      s.abort(new Error('done'))
    }
    // clients are peers of the gateway host only, never of the mesh
    const raw = await raws.connect(tcpGateway(a))
    await raw.hello('client')
    expect(a.mesh.getConnections(raw.host.peerId)).toEqual([])
    expect(a.mesh.services.pubsub.getPeers().map(String)).not.toContain(raw.userId)
    expect(a.mesh.services.pubsub.getSubscribers(PRESENCE_TOPIC).map(String)).not.toContain(raw.userId)
  })

  it('clients verify deliveries themselves: a forging node cannot show them a tampered or unsigned message', async () => {
    // a "node" that speaks the client protocol and lies: it is the gateway the client dialed, so only the client's own check stands between
    const fake = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionMonitor: { enabled: false }
    })
    hosts.push(fake)
    const author = await generateKeyPair('Ed25519')
    const room = 'forged'
    const genuine = await userEvent(author, room, 'genuine')
    const forged = [tamperBody(await userEvent(author, room, 'Xmas is cancelled')), stripSignature(await userEvent(author, room, 'unsigned'))]
    let hlc = BigInt(Date.now()) << 16n
    await fake.handle(CLIENT_PROTOCOL, (stream) => {
      void (async () => {
        for await (const buf of readFrames(stream, 1 << 20)) {
          const f = decodeClientFrame(buf)
          if (f.hello != null) {
            stream.send(encodeServerFrame({ req: f.req, welcome: { nodeId: fake.peerId.toString(), userId: '', meshSize: 1, alternates: [], time: BigInt(Date.now()), httpUrl: '' } }))
          } else if (f.join != null) {
            stream.send(encodeServerFrame({ req: f.req, replayDone: { room: f.join.room, count: 0, stable: 0n, more: false } }))
            for (const ev of [...forged, genuine]) {
              stream.send(encodeServerFrame({ req: 0, delivery: { event: ev as Uint8Array<ArrayBuffer>, hlc: hlc++, origin: 'liar', kind: DeliveryKind.LIVE, stable: 0n } }))
            }
          } else {
            stream.send(encodeServerFrame({ req: f.req, ok: { detail: '' } }))
          }
        }
      })().catch(() => {})
    })
    const addr = fake.getMultiaddrs()[0]!.toString()
    const client: ChatClient = createNodeClient({ name: 'victim', addrs: [addr], keyStore: memoryKeyStore(), reconnect: false })
    const got: ChatMessage[] = recordMessages(client)
    const errors: string[] = []
    client.addEventListener('error', e => { errors.push(e.detail.name) })
    try {
      await client.connect()
      await client.join(room)
      await waitFor(() => got.length >= 1, { what: 'the genuine message' })
      // frames are handled in order, so by the time the genuine one (sent last) is out, the forged ones were judged
      expect(got.map(m => m.text)).toEqual(['genuine'])
      expect(errors).toEqual(['BadSignatureError', 'BadSignatureError'])
    } finally {
      await client.close()
    }
  })
})
