import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../client/src/protocol/errors.js'
import { HANDOFF_PROTOCOL, PRESENCE_TOPIC, SYNC_PROTOCOL } from '../../client/src/protocol/ids.js'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { lengthPrefix } from '../helpers/raw-client.js'
import { GRAYLIST_THRESHOLD } from '../../node/src/mesh/mesh-host.js'
import { BURSTS_TOGETHER, ChannelPool } from '../../node/src/mesh/rpc.js'
import { ROOM_PRESENCE_PROTOCOL } from '../../node/src/mesh/presence-service.js'
import { RoomPresenceRequest, RoomPresenceResponse } from '../../client/src/protocol/pb/room-presence.js'
import { HeartbeatMsg, PresenceMessage, PresenceStatus, SignedPresence, StoreEvent } from '../../client/src/protocol/pb/mesh.js'
import type { SyncRequest } from '../../client/src/protocol/pb/mesh.js'
import { lengthPrefixed } from '../../client/src/protocol/codec.js'
import { BEAT_PROTOCOL, beatToWire } from '../../node/src/mesh/beats.js'
import { DecodedEvent, withDomain } from '../../client/src/protocol/signing.js'
import { SignedEvent } from '../../client/src/protocol/pb/event.js'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import { createNodeClient } from '../../client/src/node.js'
import { recordMessages, roomMeshReady } from '../helpers/rooms.js'
import { envelope, heartbeat, startRogue, topicOf, userEvent } from '../helpers/rogue.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { Rogue } from '../helpers/rogue.js'
import type { ChatClient, ChatMessage } from '../../client/src/node.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { Authored, StoredRoomEvent } from '../../node/src/store/message-store.js'

const YEAR = 365 * 24 * 3600_000

async function rejected (node: MeshchatNode, code: string): Promise<number> {
  const m = await node.metrics.rejected.get()
  return m.values.filter(v => v.labels.code === code).reduce((n, v) => n + v.value, 0)
}

async function rejectedAll (node: MeshchatNode): Promise<number> {
  const m = await node.metrics.rejected.get()
  return m.values.reduce((n, v) => n + v.value, 0)
}

/** `n` stored events of `room` (a page is served as stored: they need not verify) */
function history (room: string, n: number): Array<Authored<StoredRoomEvent>> {
  const ts = Date.now() - 3600_000
  const t = BigInt(ts) << 16n
  return Array.from({ length: n }, (_, i) => ({ id: randomBytes(32), room, hlc: t + BigInt(i), origin: 'o', author: 'a', event: randomBytes(200), ts }))
}

async function internalErrors (node: MeshchatNode): Promise<number> {
  const m = await node.metrics.internalErrors.get()
  return m.values.reduce((n, v) => n + v.value, 0)
}

/** a delta from the rogue itself whose entry carries a status value no node knows (only raw bytes can) */
async function unknownStatus (r: Rogue): Promise<Uint8Array> {
  const body = PresenceMessage.encode({ delta: { node: r.id, incarnation: 1n, seq: 1n, ops: [{ put: { userId: r.id, deviceId: 'x-3', name: 'ok', status: PresenceStatus.AWAY, rooms: [], since: 1n }, del: '' }] } })
  const at = Buffer.from(body).indexOf(Buffer.of(0x20, 0x01))
  body[at + 1] = 0x07
  const signature = await r.key.sign(withDomain(new TextEncoder().encode('meshchat/presence/1\n'), body))
  return SignedPresence.encode({ body, signature: signature as Uint8Array<ArrayBuffer> })
}

/**
 * A peer that holds the mesh key is trusted to relay, not to write: it cannot
 * crash a node, write another node's presence, stamp events beyond the drift
 * bound on any path, or read mailboxes it does not own.
 */
describe('a rogue mesh member', () => {
  let mesh: TestMesh | undefined
  let rogue: Rogue | undefined

  afterEach(async () => {
    await rogue?.stop()
    rogue = undefined
    await mesh?.stop()
    mesh = undefined
  })

  async function setup (config: Parameters<typeof startMesh>[1] = {}): Promise<{ a: MeshchatNode, b: MeshchatNode, m: TestMesh, r: Rogue }> {
    const m = mesh = await startMesh(2, config)
    await m.converged(2)
    const [a, b] = m.nodes as [MeshchatNode, MeshchatNode]
    const r = rogue = await startRogue(m.meshKey)
    await r.join([a, b])
    return { a, b, m, r }
  }

  /** `setup`, with alice on a and bob on b in the room `hall`, and what alice receives */
  async function hall (): Promise<Awaited<ReturnType<typeof setup>> & { alice: ChatClient, bob: ChatClient, aliceGot: ChatMessage[] }> {
    const s = await setup()
    const alice = await s.m.client(s.a, 'alice')
    const bob = await s.m.client(s.b, 'bob')
    const aliceGot = recordMessages(alice)
    await alice.join('hall')
    await bob.join('hall')
    await roomMeshReady([s.a, s.b], 'hall')
    return { ...s, alice, bob, aliceGot }
  }

  it('malformed presence does not take any node down, is rejected, and graylists its sender', async () => {
    const { a, b, m, r } = await setup()
    const alice = await m.client(a, 'alice')
    const bob = await m.client(b, 'bob')
    await alice.join('hall')
    await bob.join('hall')
    await waitFor(() => alice.roster('hall').length === 2, { what: 'alice to see bob' })
    const before = { a: await rejected(a, 'InvalidPresenceError'), b: await rejected(b, 'InvalidPresenceError') }

    const junk: Uint8Array[] = [
      // a node id that is not a peer id (this threw inside the dialer's presence listener and exited the process)
      await r.signedPresence(heartbeat('not-a-peer-id')),
      // a mesh address that is not a multiaddr
      await r.signedPresence(heartbeat(r.id, { meshAddrs: ['not a multiaddr'] })),
      // a mesh address that names another peer
      await r.signedPresence(heartbeat(r.id, { meshAddrs: [`/ip4/127.0.0.1/tcp/1/p2p/${a.nodeId}`] })),
      // the same two in the unsigned format nodes used to accept
      PresenceMessage.encode(heartbeat('not-a-peer-id', { meshAddrs: ['/ip4/127.0.0.1/tcp/1'] })),
      PresenceMessage.encode(heartbeat(r.id, { meshAddrs: ['not a multiaddr'] })),
      // a display name with a bidi override, and a room name with a slash
      await r.signedPresence({ delta: { node: r.id, incarnation: 1n, seq: 1n, ops: [{ put: { userId: r.id, deviceId: 'x-1', name: 'evil\u202Eeman', status: PresenceStatus.ONLINE, rooms: ['hall'], since: 1n }, del: '' }] } }),
      await r.signedPresence({ delta: { node: r.id, incarnation: 1n, seq: 1n, ops: [{ put: { userId: r.id, deviceId: 'x-2', name: 'ok', status: PresenceStatus.ONLINE, rooms: ['a/b'], since: 1n }, del: '' }] } }),
      // an unknown status, a device id with spaces, a user id that is not one
      await unknownStatus(r),
      await r.signedPresence({ delta: { node: r.id, incarnation: 1n, seq: 1n, ops: [{ del: 'no spaces here' }] } }),
      await r.signedPresence({ delta: { node: r.id, incarnation: 1n, seq: 1n, ops: [{ put: { userId: 'nobody', deviceId: 'x-4', name: 'ok', status: PresenceStatus.ONLINE, rooms: [], since: 1n }, del: '' }] } }),
      // not even a protobuf
      new Uint8Array([0xff, 0xff, 0xff, 0x01])
    ]
    for (const data of junk) await r.publish(PRESENCE_TOPIC, data)

    for (const [n, was] of [[a, before.a], [b, before.b]] as const) {
      await waitFor(async () => await rejected(n, 'InvalidPresenceError') - was >= junk.length, { what: `${n.nodeId} to reject every malformed presence message` })
      expect(n.running, 'the node is still running').toBe(true)
      expect(await internalErrors(n), 'nothing escaped a handler').toBe(0)
      expect(n.presence.replica.nodes().map(v => v.id), 'no node of the rogue\'s making').not.toContain('not-a-peer-id')
      // gossipsub graylists the sender: it is scored below the threshold on both nodes
      await waitFor(() => r.scoreOn(n) < GRAYLIST_THRESHOLD, { what: `the rogue's score on ${n.nodeId} to fall below ${GRAYLIST_THRESHOLD}` })
    }
    // graylisted: even a well-formed heartbeat of its own is not heard any more
    await r.publish(PRESENCE_TOPIC, await r.signedPresence(heartbeat(r.id)))
    // presence among the honest nodes is untouched and still live
    const carol = await m.client(b, 'carol')
    await carol.join('hall')
    await waitFor(() => alice.roster('hall').length === 3, { what: 'a new join to reach alice after the attack' })
    for (const n of [a, b]) expect(n.presence.replica.nodes().some(v => v.id === r.id), 'the graylisted rogue never became a node').toBe(false)
  })

  it('cannot speak for another node, make itself a node, flood, or outlive its graylisting through direct beats', async () => {
    const { a, b, r } = await setup()
    const load = { clients: 0, rooms: 0, maxClients: 10 }
    const beatStream = async (): Promise<Awaited<ReturnType<typeof r.host.dialProtocol>>> => r.host.dialProtocol(peerIdFromString(a.nodeId), BEAT_PROTOCOL)
    let beat = 0
    const ownBeat = (): Uint8Array => beatToWire({ incarnation: 1, seq: 0, beat: ++beat, meta: { load }, time: Date.now() })
    const refusals = async (): Promise<number> => rejectedAll(a)

    // a beat that names b: refused, counted, and b's liveness is not the rogue's to touch
    let was = await refusals()
    let s = await beatStream()
    s.send(lengthPrefixed(HeartbeatMsg.encode({ node: b.nodeId, incarnation: BigInt(b.incarnation), seq: 0n, load, beat: 10n ** 9n, time: 1n, metaVersion: 0, addrsOmitted: true, gatewayAddrs: [], meshAddrs: [], httpUrl: '' })))
    await waitFor(async () => await refusals() > was, { what: 'a beat for another node refused' })

    // its own beats make it no node: only a signed heartbeat or its own full state introduces one
    s = await beatStream()
    for (let i = 0; i < 3; i++) s.send(lengthPrefixed(ownBeat()))
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(a.presence.replica.nodes().some(v => v.id === r.id), 'beats introduce nobody').toBe(false)

    // a flood: past the burst the stream is refused and counted
    was = await refusals()
    s = await beatStream()
    for (let i = 0; i < 200; i++) s.send(lengthPrefixed(ownBeat()))
    await waitFor(async () => await refusals() > was, { what: 'a beat flood refused' })

    // an oversize frame and bytes that do not decode
    was = await refusals()
    s = await beatStream()
    s.send(lengthPrefix(100_000))
    await waitFor(async () => await refusals() > was, { what: 'an oversize beat refused' })
    was = await refusals()
    s = await beatStream()
    s.send(lengthPrefixed(Uint8Array.from([0x0a, 0xff, 0xff, 0xff])))
    await waitFor(async () => await refusals() > was, { what: 'a beat that does not decode refused' })

    // introduced by a signed heartbeat of its own, its beats keep it up...
    await r.publish(PRESENCE_TOPIC, await r.signedPresence(heartbeat(r.id, { beat: 1n })))
    await waitFor(() => a.presence.replica.liveNodes().includes(r.id), { what: 'the rogue up on a after its signed heartbeat' })
    s = await beatStream()
    const timer = setInterval(() => { try { s.send(lengthPrefixed(ownBeat())) } catch {} }, 200)
    try {
      await new Promise(resolve => setTimeout(resolve, 3 * a.config.timings.downAfterMs))
      expect(a.presence.replica.liveNodes(), 'beats keep a known node up').toContain(r.id)
      // ...until gossipsub graylists it: then its beats are not heard either, and it goes down
      for (let i = 0; i < 4; i++) await r.publish(PRESENCE_TOPIC, new Uint8Array([0xff, 0xff, 0xff, i]))
      await waitFor(() => r.scoreOn(a) < GRAYLIST_THRESHOLD, { what: 'the rogue graylisted on a' })
      await waitFor(() => !a.presence.replica.liveNodes().includes(r.id), { timeoutMs: 10_000, what: 'the graylisted rogue down on a despite its beats' })
    } finally {
      clearInterval(timer)
    }
    expect(a.running && b.running).toBe(true)
    expect(await internalErrors(a), 'nothing escaped a handler').toBe(0)
    expect(a.presence.replica.liveNodes()).toContain(b.nodeId)
  })

  it('cannot say goodbye for another node, or write entries in its name', async () => {
    const { a, b, m, r } = await setup()
    const alice = await m.client(a, 'alice')
    const bob = await m.client(b, 'bob')
    await alice.join('hall')
    await bob.join('hall')
    await waitFor(() => a.presence.userNodes(bob.userId).includes(b.nodeId), { what: 'a to see bob on b' })
    const before = await rejected(a, 'InvalidPresenceError')
    const ghost = (await generateKeyPair('Ed25519'))
    const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
    const ghostId = peerIdFromPrivateKey(ghost).toString()
    const forged = [
      // goodbye in b's name: its users would vanish everywhere while b keeps heartbeating
      await r.signedPresence({ goodbye: { node: b.nodeId, incarnation: BigInt(b.incarnation) } }),
      PresenceMessage.encode({ goodbye: { node: b.nodeId, incarnation: BigInt(b.incarnation) } }),
      // a later incarnation of b, empty: the same effect
      await r.signedPresence(heartbeat(b.nodeId, { incarnation: BigInt(b.incarnation) + 1n })),
      // bob's device moved to a node that does not exist
      await r.signedPresence({ delta: { node: ghostId, incarnation: 1n, seq: 1n, ops: [{ put: { userId: bob.userId, deviceId: 'g-1', name: 'bob', status: PresenceStatus.ONLINE, rooms: ['hall'], since: 1n }, del: '' }] } }),
      // b's own delta deleting bob
      await r.signedPresence({ delta: { node: b.nodeId, incarnation: BigInt(b.incarnation), seq: BigInt(b.presence.local.seq + 1), ops: [{ del: [...b.registry.userSessions(bob.userId)][0]!.id }] } })
    ]
    for (const data of forged) await r.publish(PRESENCE_TOPIC, data)
    await waitFor(async () => await rejected(a, 'InvalidPresenceError') - before >= forged.length, { what: 'a to reject every forged message' })
    expect(a.presence.userNodes(bob.userId), 'bob is still on b, as far as a knows').toEqual([b.nodeId])
    expect(a.presence.replica.liveNodes()).toContain(b.nodeId)
    expect(a.presence.replica.nodes().some(v => v.id === ghostId), 'the ghost node was never heard of').toBe(false)
    expect(alice.roster('hall').map(x => x.userId)).toContain(bob.userId)
    // and the DM goes to bob's device, not to a mailbox
    const got = await new Promise<string>((resolve, reject) => {
      bob.addEventListener('dm', e => { resolve(e.detail.text) }, { once: true })
      alice.dm(bob.userId, 'still here?').then(res => { if (res.state !== 'delivered') reject(new Error(`DM was ${res.state}`)) }, reject)
    })
    expect(got).toBe('still here?')
  })

  it('cannot get a far-future stamp or a wrong author clock in through gossip, replication, backfill, DMs or mailboxes', async () => {
    const { a, b, m, r } = await setup()
    const alice = await m.client(a, 'alice')
    const bob = await m.client(b, 'bob')
    const aliceGot = recordMessages(alice)
    const aliceDms: string[] = []
    alice.addEventListener('dm', e => { aliceDms.push(e.detail.text) })
    await alice.join('hall')
    await bob.join('hall')
    await roomMeshReady([a, b], 'hall')
    const user = await generateKeyPair('Ed25519')
    const future = Date.now() + 10 * YEAR
    const text = { kind: 'room' as const, room: 'hall' }

    // gossip: stamped ten years ahead; and a stamp of now on an author clock an hour ahead or two days behind
    await r.publish(topicOf('hall'), envelope(await userEvent(user, { ...text, text: 'gossip from the future' }), r.id, future))
    await r.publish(topicOf('hall'), envelope(await userEvent(user, { ...text, text: 'author ahead' }, Date.now() + 3600_000), r.id))
    await r.publish(topicOf('hall'), envelope(await userEvent(user, { ...text, text: 'author behind' }, Date.now() - 2 * 24 * 3600_000), r.id))

    // and bytes that are not an envelope at all: refused, and counted under their error class
    const undecodable = await rejected(a, 'BadFrameError')
    await r.publish(topicOf('hall'), new Uint8Array([0x0a, 0xff, 0x01]))
    await waitFor(async () => await rejected(a, 'BadFrameError') > undecodable, { what: 'a to count the undecodable gossip as BadFrameError' })

    // replication: handed straight to a node as a fresh event to store
    const stored = await r.sync(a, { store: { room: 'hall', event: { event: await userEvent(user, { ...text, text: 'replicated from the future' }) as Uint8Array<ArrayBuffer>, hlc: BigInt(future) << 16n, origin: r.id }, id: new Uint8Array(0) } })
    expect(stored.error, 'the store request is refused').toBeDefined()

    // backfill: the rogue offers a room it "holds", and serves a history page with one event from the future
    const good = await userEvent(user, { kind: 'room', room: 'offered', text: 'an honest old message' })
    const bad = await userEvent(user, { kind: 'room', room: 'offered', text: 'backfilled from the future' })
    await r.serveSync(async req => req.history != null
      ? { history: { events: [{ event: good as Uint8Array<ArrayBuffer>, hlc: BigInt(Date.now() - 60_000) << 16n, origin: r.id }, { event: bad as Uint8Array<ArrayBuffer>, hlc: BigInt(future) << 16n, origin: r.id }], more: false } }
      : { ok: { count: 0 } })
    const offered = await r.sync(a, { archive: { rooms: ['offered'] } })
    expect(offered.error).toBeUndefined()
    await waitFor(() => a.store.count('offered') > 0, { what: 'a to backfill the offered room from the rogue' })

    // a DM hand-off and a mailbox transfer stamped in the future, to alice
    const dm = await userEvent(user, { kind: 'dm', to: alice.userId, text: 'dm from the future' })
    const dmRes = await r.dm(a, { event: { event: dm as Uint8Array<ArrayBuffer>, hlc: BigInt(future) << 16n, origin: r.id }, users: [alice.userId] })
    expect(dmRes.delivered).toBe(0)
    expect(dmRes.error?.code).toBe(ErrorCode.BAD_TIMESTAMP)
    const put = await r.sync(b, { mailboxPut: { user: 'offline-user', events: [{ event: dm as Uint8Array<ArrayBuffer>, hlc: BigInt(future) << 16n, origin: r.id }] } })
    expect(put.ok?.count ?? 0, 'nothing from the future enters a mailbox').toBe(0)

    // an honest message after all that arrives, and it is the newest thing anyone has
    const sent = await bob.send('hall', 'the present')
    await waitFor(() => aliceGot.some(x => x.id === sent.id), { what: 'alice to get the honest message' })
    expect(aliceGot.map(x => x.text)).toEqual(['the present'])
    expect(aliceDms).toEqual([])
    for (const n of [a, b]) {
      const texts = n.store.page('hall', { limit: 100 }).events.map(e => e.hlc)
      expect(texts.every(h => Number(h >> 16n) < Date.now() + 60_000), `${n.nodeId} stores nothing from the future`).toBe(true)
    }
    const offeredTexts = a.store.page('offered', { limit: 10 }).events.length
    expect(offeredTexts, 'only the honest event was backfilled').toBe(1)
    expect(alice.cursor('hall')).toBe(sent.cursor)
    expect(await rejected(a, 'BadTimestampError')).toBeGreaterThanOrEqual(3)
  })

  it('cannot get a forged, misplaced or undecodable event in through a one-way hand-off, nor hold the node up', async () => {
    const { a, r, bob, aliceGot } = await hall()
    const user = await generateKeyPair('Ed25519')
    const text = { kind: 'room' as const, room: 'hall' }
    const refused = async (): Promise<number> => await a.metrics.handOffsRefused.get().then(x => x.values[0]?.value ?? 0)
    const handOff = async (msg: Partial<StoreEvent>): Promise<{ status: () => string }> => {
      const s = await r.host.dialProtocol(peerIdFromString(a.nodeId), HANDOFF_PROTOCOL)
      s.send(lengthPrefixed(StoreEvent.encode(msg)))
      return { status: () => s.status }
    }
    // a signature that does not verify: refused, counted, and the stream reset
    const forged = await userEvent(user, { ...text, text: 'forged' })
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 0xff
    const s1 = await handOff({ room: 'hall', event: { event: forged as Uint8Array<ArrayBuffer>, hlc: BigInt(Date.now()) << 16n, origin: r.id }, id: new Uint8Array(0) })
    await waitFor(async () => await refused() >= 1, { what: 'a to refuse the forged event' })
    await waitFor(() => s1.status() !== 'open', { what: 'a to reset the stream that carried it' })
    // an honest event handed over for another room than its own: refused the same way
    const misplaced = await userEvent(user, { kind: 'room', room: 'elsewhere', text: 'misplaced' })
    await handOff({ room: 'hall', event: { event: misplaced as Uint8Array<ArrayBuffer>, hlc: BigInt(Date.now()) << 16n, origin: r.id }, id: new Uint8Array(0) })
    await waitFor(async () => await refused() >= 2, { what: 'a to refuse the misplaced event' })
    // bytes that do not decode, and a frame without an event: the stream is reset
    const s3 = await r.host.dialProtocol(peerIdFromString(a.nodeId), HANDOFF_PROTOCOL)
    s3.send(lengthPrefixed(new Uint8Array([0x0a, 0xff, 0x01])))
    await waitFor(() => s3.status !== 'open', { what: 'a to reset the stream of undecodable bytes' })
    await handOff({ room: 'hall', id: new Uint8Array(0) })
    await waitFor(async () => await refused() >= 3, { what: 'a to refuse the hand-off without an event' })
    // a frame announced far over the limit: the stream is reset before the body is read
    const s4 = await r.host.dialProtocol(peerIdFromString(a.nodeId), HANDOFF_PROTOCOL)
    s4.send(lengthPrefix(64 * 1024 * 1024))
    await waitFor(() => s4.status !== 'open', { what: 'a to reset the stream with an oversize frame' })
    // nothing of it reached anyone or the store, and the room works
    const sent = await bob.send('hall', 'honest')
    await waitFor(() => aliceGot.some(x => x.id === sent.id), { what: 'alice to get the honest message' })
    expect(aliceGot.map(x => x.text)).toEqual(['honest'])
    expect(a.store.page('hall', { limit: 100 }).events).toHaveLength(1)
    expect(a.running).toBe(true)
  })

  it('cannot hold a node-to-node stream open with half a request', async () => {
    const { a, r } = await setup()
    const stream = await r.host.dialProtocol(peerIdFromString(a.nodeId), SYNC_PROTOCOL)
    // a 1,000-byte request announced, 10 bytes sent, then nothing
    stream.send(lengthPrefix(1000))
    stream.send(new Uint8Array(10))
    const start = Date.now()
    await waitFor(() => stream.status !== 'open', { timeoutMs: 15_000, what: 'the node to drop the stalled stream' })
    expect(Date.now() - start, 'dropped after the request deadline, not at once').toBeGreaterThan(a.config.timings.requestTimeoutMs / 2)
    expect(a.running).toBe(true)
  })

  it('cannot keep a node decoding large room presence frames: past its byte budget they are refused undecoded', async () => {
    const { a, b, m, r } = await setup()
    const pool = new ChannelPool(r.host, ROOM_PRESENCE_PROTOCOL, { req: RoomPresenceRequest, res: RoomPresenceResponse }, { timeoutMs: 30_000, maxBytes: 16 << 20 })
    // pushes of 15 MiB each (one head whose room name fills the frame), pipelined on one stream. The
    // budget's burst is 32 MiB: the first two are taken (and decoded, and refused: the rogue is no
    // node), the third takes the peer 13 MiB into debt, 13 s of refill at 1 MiB/s, and the last three
    // come while it is in debt
    const big = { push: { incarnation: 1n, deltas: [], heads: [{ room: 'x'.repeat(15 << 20), epoch: 1n, seq: 1n }] } }
    const limitedBefore = await rejected(a, 'RateLimitedError')
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, async () => pool.call(peerIdFromString(a.nodeId), big)))
      expect(answers.map(res => res.error?.code)).toEqual([
        ErrorCode.NOT_ENTITLED, ErrorCode.NOT_ENTITLED, ErrorCode.NOT_ENTITLED,
        ErrorCode.RATE_LIMITED, ErrorCode.RATE_LIMITED, ErrorCode.RATE_LIMITED
      ])
      expect(await rejected(a, 'RateLimitedError')).toBe(limitedBefore + 3)
    } finally {
      pool.close()
    }
    // the nodes' own room presence still flows
    const alice = await m.client(a, 'alice')
    const bob = await m.client(b, 'bob')
    await alice.join('lobby')
    await bob.join('lobby')
    await waitFor(() => alice.roster('lobby').some(x => x.userId === bob.userId), { timeoutMs: 20_000, what: 'bob in alice\'s roster' })
    expect(a.running).toBe(true)
  })

  it('cannot make a node check a thousand forged signatures with one mailbox or DM history put: the first refuses the put', async () => {
    const { a, r } = await setup()
    const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
    const carol = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const sender = await generateKeyPair('Ed25519')
    const stamped = (event: Uint8Array): { event: Uint8Array<ArrayBuffer>, hlc: bigint, origin: string } =>
      ({ event: event as Uint8Array<ArrayBuffer>, hlc: BigInt(Date.now()) << 16n, origin: r.id })
    const honest = await userEvent(sender, { kind: 'dm', to: carol, text: 'hello carol' })
    const forged = await Promise.all(Array.from({ length: 999 }, async (_, i) => {
      const e = await userEvent(sender, { kind: 'dm', to: carol, text: `forged ${i}` })
      e[e.length - 1] = (e[e.length - 1] as number) ^ 0xff
      return e
    }))
    const checks = async (path: string, result: string): Promise<number> =>
      (await a.metrics.signatureChecks.get()).values.filter(v => v.labels.path === path && v.labels.result === result).reduce((n, v) => n + v.value, 0)
    const puts: Array<[string, Partial<SyncRequest>]> = [
      ['mailbox', { mailboxPut: { user: carol, events: [stamped(honest), ...forged.map(stamped)] } }],
      ['dm', { dmHistoryPut: { events: [stamped(honest), ...forged.map(stamped)] } }]
    ]
    for (const [path, req] of puts) {
      const bad = await checks(path, 'BadSignatureError')
      const res = await r.sync(a, req)
      expect(res.error?.code, `${path}: the put is refused`).toBe(ErrorCode.BAD_SIGNATURE)
      // one forged signature checked, not 999
      expect(await checks(path, 'BadSignatureError')).toBe(bad + 1)
    }
    // refused whole: the honest event that came first was kept neither as mail nor as history
    expect(a.store.mailboxCount(carol)).toBe(0)
    // a put of honest events alone is taken
    const ok = await r.sync(a, { mailboxPut: { user: carol, events: [stamped(honest)] } })
    expect(ok.ok?.count).toBe(1)
    expect(a.store.mailboxCount(carol)).toBe(1)
    expect(a.running).toBe(true)
  })

  it('cannot hold a node\'s memory with large sync requests: each is charged at its length prefix, and those past the byte budget are refused unread', async () => {
    const { a, b, r } = await setup()
    const limited = await rejected(a, 'RateLimitedError')
    // ten streams, each announcing a request of 60 MiB and sending none of it. The budget's burst is
    // 128 MiB: three announcements are taken (the third 52 MiB into debt, 1.6 s at 32 MiB/s), and
    // those that come while the rogue is in debt are refused at their prefixes: all seven others, unless
    // some come more than a second and a half after the rest. Charged only once whole, none would be
    // refused, and each stream could hold 64 MiB of the node.
    const streams = await Promise.all(Array.from({ length: 10 }, async () => {
      const stream = await r.host.dialProtocol(peerIdFromString(a.nodeId), SYNC_PROTOCOL)
      stream.send(lengthPrefix(60 << 20))
      return stream
    }))
    try {
      await waitFor(async () => await rejected(a, 'RateLimitedError') >= limited + 5, { timeoutMs: 20_000, what: 'announcements refused' })
      await new Promise(resolve => setTimeout(resolve, 500))
      expect(await rejected(a, 'RateLimitedError') - limited).toBeLessThanOrEqual(7)
    } finally {
      for (const s of streams) s.abort(new Error('done'))
    }
    // the budget is the rogue's own: b's requests to a are answered
    const got = await b.sync.historyPage(a.nodeId, 'anything', { limit: 10 })
    expect(got.events).toEqual([])
    expect(a.running).toBe(true)
  })

  it('cannot keep a node reading for it: deep in debt to its read budget, its history pages, digests and presence pulls are refused with the wait, while another node still reads', async () => {
    // a burst of 2,000 events and a refill of one event every 100 s: nothing refills during the test
    const { a, b, r } = await setup({ syncReadBurst: 2_000, syncReadsPerSec: 0.01 })
    const room = 'read-flood'
    a.store.insertMany(history(room, 1_000))
    const refusedBefore = await rejected(a, 'RateLimitedError')
    const page = { history: { room, limit: 500 } }
    // four pages of 500 are answered (the fourth takes the rogue a few events into debt) ...
    for (let i = 0; i < 4; i++) {
      const res = await r.sync(a, page)
      expect(res.error, `page ${i + 1} answered`).toBeUndefined()
      expect(res.history?.events).toHaveLength(500)
    }
    // ... and from then on every read is refused unread, with the wait (which is far more than a read is held for)
    const reads: Array<Partial<SyncRequest>> = [page, { digest: { room, from: 0n, to: 1n << 62n } }, { presence: { node: a.nodeId } }, { dmHistory: { conversation: 'x', limit: 500 } }]
    for (let i = 0; i < 20; i++) {
      const res = await r.sync(a, reads[i % reads.length] as Partial<SyncRequest>)
      expect(res.error?.code, `read ${i + 5} refused`).toBe(ErrorCode.RATE_LIMITED)
      expect(res.error?.retryAfterMs, 'with the wait').toBeGreaterThan(0)
      expect(res.history).toBeUndefined()
    }
    expect(await rejected(a, 'RateLimitedError')).toBe(refusedBefore + 20)
    // the budget is the rogue's own: b reads the room from a in full
    const got = await b.sync.historyPage(a.nodeId, room, { limit: 500 })
    expect(got.events).toHaveLength(500)
    expect(a.running).toBe(true)
  })

  it('an honest node past another\'s read budget is paced, not refused, and gets every page', async () => {
    const { a, b } = await setup({ syncReadBurst: 1_000, syncReadsPerSec: 2_000 })
    const room = 'big-catch-up'
    a.store.insertMany(history(room, 5_000))
    const refusedBefore = await rejected(a, 'RateLimitedError')
    // ten pages back to back, each charged 525 (a request, 500 events, and one per 4 KiB of them) once
    // answered: the tenth is answered once the first nine are paid for, the burst and 3,725 more,
    // which take at least 1.86 s to refill at 2,000 a second; the reads are held a page at a time
    const began = Date.now()
    let before: { hlc: bigint, id: Uint8Array } | undefined
    let total = 0
    for (let i = 0; i < 10; i++) {
      const p = await b.sync.historyPage(a.nodeId, room, { before, limit: 500 })
      expect(p.events).toHaveLength(500)
      total += p.events.length
      const last = p.events.at(-1)
      // every stamp differs: the page before the oldest one here starts below its stamp
      before = last == null ? undefined : { hlc: last.hlc, id: new Uint8Array(32) }
    }
    expect(total).toBe(5_000)
    expect(Date.now() - began, 'paced at the budget').toBeGreaterThanOrEqual(1_800)
    expect(await rejected(a, 'RateLimitedError'), 'held, none refused').toBe(refusedBefore)
  })

  it('reads held together are answered one budget\'s worth at a time, not all at once when the first wait is over', async () => {
    // a burst of 1,000 events refilled at 1,000 a second; eight pages of 500 (charged 525 each) asked at once
    const { a, r } = await setup({ syncReadBurst: 1_000, syncReadsPerSec: 1_000 })
    const room = 'held-together'
    a.store.insertMany(history(room, 500))
    const refusedBefore = await rejected(a, 'RateLimitedError')
    const began = Date.now()
    const done: number[] = []
    const answers = await Promise.all(Array.from({ length: 8 }, async () => {
      const res = await r.sync(a, { history: { room, limit: 500 } })
      done.push(Date.now() - began)
      return res
    }))
    for (const res of answers) {
      expect(res.error).toBeUndefined()
      expect(res.history?.events).toHaveLength(500)
    }
    // two are admitted from the burst (the second into debt, by the 501 each is charged up front); the
    // six held after them are admitted one at a time, each once the debt of those before it is paid,
    // 525 ms apart: the last once seven pages (3,675 events) less the burst have refilled, 2.675 s.
    // Admitted all at once, or woken all at once from one wait, all eight would be answered in well
    // under a second
    expect(Math.max(...done)).toBeGreaterThanOrEqual(2_500)
    expect(done.filter(ms => ms < 1_000).length).toBeLessThanOrEqual(4)
    expect(await rejected(a, 'RateLimitedError'), 'held, none refused').toBe(refusedBefore)
  })

  it('cannot multiply the read budget by making identities: past two budgets\' bursts every identity is refused, a new one at once', async () => {
    // each identity's burst is 2,000 events, and every identity's together 4,000; nothing refills during the test
    const { a } = await setup({ syncReadBurst: 2_000, syncReadsPerSec: 0.01 })
    expect(BURSTS_TOGETHER).toBe(2)
    const room = 'sybil-read'
    a.store.insertMany(history(room, 500))
    const refusedBefore = await rejected(a, 'RateLimitedError')
    const page = { history: { room, limit: 500 } }
    // six identities of one keyed peer, each asking three pages of 500 (charged 525 each) one after
    // another. On budgets of their own each would get all three: eighteen pages. Together they get
    // eight: the first two identities' three each, and two more with what is left of the shared burst
    const answered: number[] = []
    const refusals: string[] = []
    for (let i = 0; i < 6; i++) {
      const sybil = await startRogue(mesh!.meshKey)
      try {
        await sybil.join([a])
        let pages = 0
        for (let j = 0; j < 3; j++) {
          const res = await sybil.sync(a, page)
          if (res.error == null) {
            expect(res.history?.events).toHaveLength(500)
            pages++
          } else {
            expect(res.error.code).toBe(ErrorCode.RATE_LIMITED)
            expect(res.error.retryAfterMs).toBeGreaterThan(0)
            refusals.push(res.error.message)
          }
        }
        answered.push(pages)
      } finally {
        await sybil.stop()
      }
    }
    // (b's own reads of a, its presence pulls and digests, are charged to the shared budget too, so
    // the third identity may get fewer)
    expect(answered.slice(0, 2)).toEqual([3, 3])
    expect(answered.reduce((n, x) => n + x, 0)).toBeLessThanOrEqual(8)
    expect(answered.slice(3)).toEqual([0, 0, 0])
    // the identities after the third were refused for everyone's debt
    expect(refusals.slice(-9).every(m => m.includes('every peer together'))).toBe(true)
    expect(await rejected(a, 'RateLimitedError')).toBeGreaterThanOrEqual(refusedBefore + 10)
    expect(a.running).toBe(true)
  })

  it('cannot make a node check again the signatures of events it stores by sending them again: an old event the node holds costs a lookup by id', async () => {
    const { a, r } = await setup()
    const user = await generateKeyPair('Ed25519')
    const room = 'replayed'
    // 100 events of ten minutes ago, checked and stored by a when they came
    const tenMinutesAgo = Date.now() - 600_000
    const old = await Promise.all(Array.from({ length: 100 }, async (_, i) => userEvent(user, { kind: 'room', room, text: `old ${i}` }, tenMinutesAgo + i)))
    a.store.insertMany(old.map((event, i) => ({ id: DecodedEvent.from(event).id, room, hlc: BigInt(tenMinutesAgo + i) << 16n, origin: a.nodeId, author: peerIdFromPrivateKey(user).toString(), event, ts: tenMinutesAgo + i })))
    const checks = async (result: string): Promise<number> =>
      (await a.metrics.signatureChecks.get()).values.filter(v => v.labels.path === 'replica' && v.labels.result === result).reduce((n, v) => n + v.value, 0)
    const [held0, valid0] = [await checks('held'), await checks('valid')]
    // the rogue hands every one of them over again, twice, as fresh hand-offs with stamps of now
    for (let round = 0; round < 2; round++) {
      for (const event of old) {
        const res = await r.sync(a, { store: { room, event: { event: event as Uint8Array<ArrayBuffer>, hlc: BigInt(Date.now()) << 16n, origin: r.id }, id: new Uint8Array(0) } })
        expect(res.error).toBeUndefined()
        expect(res.ok?.count, 'not new').toBe(0)
      }
    }
    // each was looked up once (then remembered as opened), none checked
    expect(await checks('held') - held0).toBe(100)
    expect(await checks('valid') - valid0).toBe(0)
    // an old event a does not hold is checked, and a forged one refused
    const other = await userEvent(user, { kind: 'room', room, text: 'old, not here' }, tenMinutesAgo)
    const res = await r.sync(a, { store: { room, event: { event: other as Uint8Array<ArrayBuffer>, hlc: BigInt(Date.now()) << 16n, origin: r.id }, id: new Uint8Array(0) } })
    expect(res.ok?.count).toBe(1)
    expect(await checks('valid') - valid0).toBe(1)
    const forged = SignedEvent.decode(old[0]!)
    forged.signature = new Uint8Array(64)
    const refused = await r.sync(a, { store: { room, event: { event: SignedEvent.encode(forged), hlc: BigInt(Date.now()) << 16n, origin: r.id }, id: new Uint8Array(0) } })
    expect(refused.error?.code).toBe(ErrorCode.BAD_SIGNATURE)
    expect(a.running).toBe(true)
  })

  it('cannot make a node check again the signatures of DMs its mailbox holds by putting them again: each costs a lookup, and a full mailbox takes the put as nothing new', async () => {
    const { a, r } = await setup()
    const carol = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const sender = await generateKeyPair('Ed25519')
    const senderId = peerIdFromPrivateKey(sender).toString()
    // 100 DMs of ten minutes ago, the most one sender may queue for a user, held in carol's mailbox
    const tenMinutesAgo = Date.now() - 600_000
    const held = await Promise.all(Array.from({ length: 100 }, async (_, i) => userEvent(sender, { kind: 'dm', to: carol, text: `queued ${i}` }, tenMinutesAgo + i)))
    for (const [i, event] of held.entries()) {
      a.store.mailboxPut(carol, { id: DecodedEvent.from(event).id, hlc: BigInt(tenMinutesAgo + i) << 16n, origin: a.nodeId, event, sender: senderId })
    }
    const stamped = (event: Uint8Array): { event: Uint8Array<ArrayBuffer>, hlc: bigint, origin: string } =>
      ({ event: event as Uint8Array<ArrayBuffer>, hlc: BigInt(Date.now()) << 16n, origin: r.id })
    const checks = async (result: string): Promise<number> =>
      (await a.metrics.signatureChecks.get()).values.filter(v => v.labels.path === 'mailbox' && v.labels.result === result).reduce((n, v) => n + v.value, 0)
    const [held0, valid0] = [await checks('held'), await checks('valid')]
    // the rogue puts all of them again, twice: nothing new, and not refused for the sender's full quota
    for (let round = 0; round < 2; round++) {
      const res = await r.sync(a, { mailboxPut: { user: carol, events: held.map(stamped) } })
      expect(res.error, `round ${round}`).toBeUndefined()
      expect(res.ok?.count, `round ${round}: not new`).toBe(0)
    }
    // each was looked up once (then remembered as opened), none checked
    expect(await checks('held') - held0).toBe(100)
    expect(await checks('valid') - valid0).toBe(0)
    expect(a.store.mailboxCount(carol)).toBe(100)
    // an old DM of another sender that the mailbox does not hold is checked and taken
    const other = await generateKeyPair('Ed25519')
    const fresh = await userEvent(other, { kind: 'dm', to: carol, text: 'not queued yet' }, tenMinutesAgo)
    const taken = await r.sync(a, { mailboxPut: { user: carol, events: [stamped(fresh)] } })
    expect(taken.ok?.count).toBe(1)
    expect(await checks('valid') - valid0).toBe(1)
    // one more from the first sender is past its quota: refused as full
    const over = await userEvent(sender, { kind: 'dm', to: carol, text: 'one too many' }, tenMinutesAgo)
    const full = await r.sync(a, { mailboxPut: { user: carol, events: [stamped(over)] } })
    expect(full.error?.code).toBe(ErrorCode.MAILBOX_FULL)
    // a held DM's bytes with a forged signature have another id: checked, and the put refused
    const forged = SignedEvent.decode(held[0]!)
    forged.signature = new Uint8Array(64)
    const refused = await r.sync(a, { mailboxPut: { user: carol, events: [stamped(SignedEvent.encode(forged))] } })
    expect(refused.error?.code).toBe(ErrorCode.BAD_SIGNATURE)
    expect(a.store.mailboxCount(carol)).toBe(101)
    expect(a.running).toBe(true)
  })

  it('cannot move a stored message to the end of its room by sending it again stamped now: not by hand-off, gossip or a history page', async () => {
    const { a, b, r, bob, aliceGot } = await hall()
    const user = await generateKeyPair('Ed25519')
    const counter = async (node: MeshchatNode, which: 'restamped' | 'duplicates'): Promise<number> =>
      (await node.metrics[which].get()).values.reduce((n, v) => n + v.value, 0)
    // a message its author wrote ten minutes ago, stamped a second later by its ingress node, on both nodes
    const wroteAt = Date.now() - 600_000
    const event = await userEvent(user, { kind: 'room', room: 'hall', text: 'said ten minutes ago' }, wroteAt) as Uint8Array<ArrayBuffer>
    const id = DecodedEvent.from(event).id
    const stamped = BigInt(wroteAt + 1000) << 16n
    for (const n of [a, b]) {
      const res = await r.sync(n, { store: { room: 'hall', event: { event, hlc: stamped, origin: r.id }, id: new Uint8Array(0) } })
      expect(res.ok?.count).toBe(1)
    }
    await waitFor(() => aliceGot.some(x => x.text === 'said ten minutes ago'), { what: 'alice to get the message once' })
    const sent = await bob.send('hall', 'the present')
    await waitFor(() => aliceGot.some(x => x.id === sent.id), { what: 'alice to get the honest message' })
    const order = (n: MeshchatNode): string[] => n.store.page('hall', { limit: 100 }).events.map(e => DecodedEvent.from(e.event).idHex)
    const before = order(a)
    expect(before).toHaveLength(2)
    expect(order(b)).toEqual(before)
    const [restampedA, restampedB, dupA, dupB] = [await counter(a, 'restamped'), await counter(b, 'restamped'), await counter(a, 'duplicates'), await counter(b, 'duplicates')]

    // the same bytes again, stamped now: as a hand-off to a, and on the room's topic to both
    const again = await r.sync(a, { store: { room: 'hall', event: { event, hlc: BigInt(Date.now()) << 16n, origin: r.id }, id: new Uint8Array(0) } })
    expect(again.ok?.count, 'not new').toBe(0)
    await r.publish(topicOf('hall'), envelope(event, r.id, Date.now()))
    await waitFor(async () => await counter(b, 'duplicates') > dupB && await counter(a, 'duplicates') > dupA + 1, { what: 'both nodes to take the gossip copy for a duplicate' })
    // and in a history page a backfill reads: a room a is offered, whose page holds the stored
    // message stamped now and one message a does not have yet
    const fresh = await userEvent(user, { kind: 'room', room: 'offered', text: 'new to a' }) as Uint8Array<ArrayBuffer>
    const old = await userEvent(user, { kind: 'room', room: 'offered', text: 'old in offered' }, wroteAt) as Uint8Array<ArrayBuffer>
    const oldId = DecodedEvent.from(old).id
    expect((await r.sync(a, { store: { room: 'offered', event: { event: old, hlc: stamped, origin: r.id }, id: new Uint8Array(0) } })).ok?.count).toBe(1)
    await r.serveSync(async req => req.history != null
      ? { history: { events: [{ event: old, hlc: BigInt(Date.now()) << 16n, origin: r.id }, { event: fresh, hlc: BigInt(Date.now()) << 16n, origin: r.id }], more: false } }
      : { ok: { count: 0 } })
    expect((await r.sync(a, { archive: { rooms: ['offered'] } })).error).toBeUndefined()
    await waitFor(() => a.store.count('offered') === 2, { what: 'a to backfill the offered room from the rogue' })

    // every copy keeps the stamp it had: the message stays ten minutes back, under the honest one
    for (const n of [a, b]) {
      expect(n.store.get(id)?.hlc, `${n.nodeId} keeps the first stamp`).toBe(stamped)
      expect(order(n)).toEqual(before)
    }
    expect(a.store.get(oldId)?.hlc).toBe(stamped)
    expect(await counter(a, 'restamped')).toBe(restampedA)
    expect(await counter(b, 'restamped')).toBe(restampedB)
    expect(aliceGot.filter(x => x.text === 'said ten minutes ago')).toHaveLength(1)

    // a stamp within two minutes of the author's time still takes over (a retried send through
    // another node), on the node it reaches
    const retry = BigInt(wroteAt + 60_000) << 16n
    expect((await r.sync(a, { store: { room: 'hall', event: { event, hlc: retry, origin: r.id }, id: new Uint8Array(0) } })).ok?.count).toBe(0)
    await waitFor(() => a.store.get(id)?.hlc === retry, { what: 'a to take the retried send\'s later stamp' })
    expect(await counter(a, 'restamped')).toBe(restampedA + 1)
    expect(a.running && b.running).toBe(true)
  })

  it('cannot read or empty the mailbox of a user it neither owns nor hosts', async () => {
    const { a, b, m, r } = await setup()
    const bob = await m.client(b, 'bob')
    const carolKey = await generateKeyPair('Ed25519')
    const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
    const carol = peerIdFromPrivateKey(carolKey).toString()
    const res = await bob.dm(carol, 'for your eyes only')
    expect(res.state).toBe('queued')
    const holders = [a, b].filter(n => n.store.mailboxCount(carol) > 0)
    expect(holders.length).toBeGreaterThan(0)
    for (const n of holders) {
      const read = await r.sync(n, { mailbox: { user: carol, limit: 100 } })
      expect(read.mailbox, 'no mail handed to the rogue').toBeUndefined()
      expect(read.error, 'a typed refusal').toBeDefined()
      const del = await r.sync(n, { mailboxDelete: { user: carol, ids: [new Uint8Array(32) as Uint8Array<ArrayBuffer>] } })
      expect(del.error).toBeDefined()
      expect(n.store.mailboxCount(carol), 'the mail is still there').toBe(1)
      expect(await rejected(n, 'NotEntitledError')).toBeGreaterThanOrEqual(2)
    }
    // carol attaches later and gets her DM
    const c = createNodeClient({ name: 'carol', addrs: [tcpGateway(a)], privateKey: carolKey })
    m.clients.push(c)
    const dm = new Promise<string>(resolve => { c.addEventListener('dm', e => { resolve(e.detail.text) }, { once: true }) })
    await c.connect()
    expect(await dm).toBe('for your eyes only')
  })
})
