/**
 * The data link port against hostile input: sockets with no token, a wrong one, or none in time,
 * a crowd of them, and a rogue mesh member that makes a link the proper way and then sends a forged
 * event, bytes that do not open, or a frame announced far over the limit. Each is refused and
 * counted, nothing is stored, and the node keeps serving.
 */
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { HeartbeatMsg, StoreEvent } from '../../client/src/protocol/pb/mesh.js'
import { LINK_BEAT, beatToWire } from '../../node/src/mesh/beats.js'
import { FrameSealer, LINK_ANSWER, LINK_OFFER, LINK_PROTOCOL, linkKeys } from '../../node/src/mesh/data-link.js'
import { LINK_HANDOFF } from '../../node/src/mesh/sync.js'
import { request } from '../../node/src/mesh/rpc.js'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { recordMessages, roomMeshReady } from '../helpers/rooms.js'
import { startRogue, userEvent } from '../helpers/rogue.js'
import type { Socket } from 'node:net'
import type { TestMesh } from '../helpers/mesh.js'
import type { Rogue } from '../helpers/rogue.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

async function linkEvents (n: MeshchatNode, event: string): Promise<number> {
  return (await n.metrics.linkEvents.get()).values.filter(v => v.labels.event === event).reduce((x, v) => x + v.value, 0)
}

async function open (port: number): Promise<Socket> {
  return await new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port })
    s.once('connect', () => { resolve(s) })
    s.once('error', reject)
  })
}

function closed (s: Socket): Promise<void> {
  return new Promise(resolve => {
    if (s.destroyed || s.readableEnded) { resolve(); return }
    s.on('error', () => {})
    s.once('close', () => { resolve() })
    // what the node sends (a notice of a frame not taken) is read and dropped, so its end is seen
    s.resume()
  })
}

/** a link made by the rogue as a node makes one: its socket and the sealer of what it sends */
async function rogueLink (r: Rogue, a: MeshchatNode): Promise<{ socket: Socket, tx: FrameSealer, token: Uint8Array }> {
  const nonce = randomBytes(32)
  const answer = await request(r.host, peerIdFromString(a.nodeId), LINK_PROTOCOL, { req: LINK_OFFER, res: LINK_ANSWER }, { nonce }, { timeoutMs: 5000, maxBytes: 256 })
  expect(answer.port).toBeGreaterThan(0)
  const keys = linkKeys(nonce, answer.nonce, r.id, a.nodeId, answer.token)
  const socket = await open(answer.port)
  socket.write(Buffer.from([1, ...answer.token]))
  return { socket, tx: new FrameSealer(keys.forward), token: answer.token }
}

/** one frame of the link's format: kind, channel, id, payload, sealed and length-prefixed */
function frame (tx: FrameSealer, kind: number, channel: number, payload: Uint8Array): Buffer {
  const plain = Buffer.alloc(6 + payload.byteLength)
  plain[0] = kind
  plain[1] = channel
  plain.set(payload, 6)
  const out = Buffer.alloc(4 + plain.byteLength + 16)
  out.writeUInt32BE(plain.byteLength + 16, 0)
  tx.seal(plain, out.subarray(4))
  return out
}

describe('the data link port', () => {
  let mesh: TestMesh | undefined
  let rogue: Rogue | undefined

  afterEach(async () => {
    await rogue?.stop()
    rogue = undefined
    await mesh?.stop()
    mesh = undefined
  })

  it('refuses sockets without a token it gave, holds at most 64 unproven ones, and keeps working', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const port = a.links?.listenPort ?? 0
    expect(port).toBeGreaterThan(0)
    // a version and a token a never gave
    const wrong = await open(port)
    wrong.write(Buffer.from([1, ...randomBytes(16)]))
    await closed(wrong)
    // another protocol's bytes
    const http = await open(port)
    http.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n')
    await closed(http)
    await waitFor(async () => await linkEvents(a, 'refused_token') >= 2, { what: 'a to count both refusals' })
    // a crowd of sockets that say nothing: 64 are held until their deadline, the rest closed at once
    const crowd = await Promise.all(Array.from({ length: 100 }, async () => await open(port)))
    await waitFor(async () => await linkEvents(a, 'refused_unproven') >= 36, { what: 'a to close the sockets past 64' })
    // every one of them is gone by the token deadline, counted
    await Promise.all(crowd.map(closed))
    expect(await linkEvents(a, 'refused_token')).toBeGreaterThanOrEqual(2 + 64)
    // and the nodes still make their own link and deliver over it
    const alice = await mesh.client(a, 'alice')
    const bob = await mesh.client(b, 'bob')
    await alice.join('after')
    await bob.join('after')
    await roomMeshReady([a, b], 'after')
    const got = recordMessages(alice)
    const ids: string[] = []
    for (let k = 0; k < 5; k++) ids.push((await bob.send('after', `m${k}`)).id)
    await waitFor(() => ids.every(id => got.some(m => m.id === id)), { what: 'alice to get every message' })
    await waitFor(() => b.links?.current(peerIdFromString(a.nodeId))?.writable === true, { what: 'b to link to a' })
    expect(a.running && b.running).toBe(true)
  })

  it('a rogue mesh member that makes a link gets no forged event in, and loses the link on any bad frame', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const r = rogue = await startRogue(mesh.meshKey)
    await r.join([a, b])
    const alice = await mesh.client(a, 'alice')
    const bob = await mesh.client(b, 'bob')
    const aliceGot = recordMessages(alice)
    await alice.join('hall')
    await bob.join('hall')
    await roomMeshReady([a, b], 'hall')
    const refused = async (): Promise<number> => await a.metrics.handOffsRefused.get().then(x => x.values[0]?.value ?? 0)

    // a forged event, sealed with the link's own key: refused and counted, nothing stored; the link
    // stays (the sender is told which frame was not taken) until a frame for a channel nothing takes
    const user = await generateKeyPair('Ed25519')
    const forged = await userEvent(user, { kind: 'room', room: 'hall', text: 'forged' })
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 0xff
    const l1 = await rogueLink(r, a)
    l1.socket.write(frame(l1.tx, 1, LINK_HANDOFF, StoreEvent.encode({ room: 'hall', event: { event: forged as Uint8Array<ArrayBuffer>, hlc: BigInt(Date.now()) << 16n, origin: r.id }, id: new Uint8Array(0) })))
    // bytes that are not a hand-off at all, on the same link
    l1.socket.write(frame(l1.tx, 1, LINK_HANDOFF, new Uint8Array([0x0a, 0xff, 0x01])))
    await waitFor(async () => await refused() >= 2, { what: 'a to refuse both hand-offs' })
    expect(await linkEvents(a, 'handler_refused')).toBe(2)
    // and at volume: 200 forged hand-offs in one write (past the 64 handled at a time the socket is
    // paused, then read on), every one refused
    const forgedFrame = StoreEvent.encode({ room: 'hall', event: { event: forged as Uint8Array<ArrayBuffer>, hlc: BigInt(Date.now()) << 16n, origin: r.id }, id: new Uint8Array(0) })
    l1.socket.write(Buffer.concat(Array.from({ length: 200 }, () => frame(l1.tx, 1, LINK_HANDOFF, forgedFrame))))
    await waitFor(async () => await refused() >= 202, { timeoutMs: 20_000, what: 'a to refuse all 200 forged hand-offs' })
    expect(await linkEvents(a, 'handler_refused')).toBe(202)
    expect(l1.socket.destroyed).toBe(false)
    l1.socket.write(frame(l1.tx, 1, 99, new Uint8Array(4)))
    await closed(l1.socket)
    expect(await linkEvents(a, 'bad_frame')).toBe(1)

    // its token again: used once, refused now
    const again = await open(a.links?.listenPort ?? 0)
    again.write(Buffer.from([1, ...l1.token]))
    await closed(again)

    // bytes that do not open under the link's key
    const l2 = await rogueLink(r, a)
    const junk = randomBytes(60)
    junk.writeUInt32BE(56, 0)
    l2.socket.write(junk)
    await closed(l2.socket)
    expect(await linkEvents(a, 'bad_frame')).toBe(2)

    // a frame announced far over the limit: closed before any of it is read
    const l3 = await rogueLink(r, a)
    const big = Buffer.alloc(4)
    big.writeUInt32BE(64 * 1024 * 1024, 0)
    l3.socket.write(big)
    await closed(l3.socket)
    expect(await linkEvents(a, 'oversize')).toBe(1)

    // a frame of a kind nothing knows
    const l4 = await rogueLink(r, a)
    l4.socket.write(frame(l4.tx, 9, LINK_HANDOFF, new Uint8Array(4)))
    await closed(l4.socket)
    expect(await linkEvents(a, 'bad_frame')).toBe(3)

    // nothing of it reached anyone or the store, and the room works
    const sent = await bob.send('hall', 'honest')
    await waitFor(() => aliceGot.some(x => x.id === sent.id), { what: 'alice to get the honest message' })
    expect(aliceGot.map(x => x.text)).toEqual(['honest'])
    expect(a.store.page('hall', { limit: 100 }).events).toHaveLength(1)
    expect(await linkEvents(a, 'refused_token')).toBe(1)
    expect(a.running).toBe(true)
  })

  it('beats on a rogue\'s link are held to the rules of the beat stream', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const r = rogue = await startRogue(mesh.meshKey)
    await r.join([a, b])
    const invalid = async (): Promise<number> => (await a.metrics.rejected.get()).values.filter(v => v.labels.code === 'InvalidPresenceError').reduce((x, v) => x + v.value, 0)
    const invalidBefore = await invalid()
    const beat = (n: number): Uint8Array => beatToWire({ incarnation: 1, seq: 0, beat: n, meta: { load: { clients: 0, rooms: 0, maxClients: 10 } }, time: Date.now() })
    const l = await rogueLink(r, a)
    // a beat that names another node, one that carries addresses, and one past the size of a beat:
    // each refused and counted, the link kept
    const forB = HeartbeatMsg.encode({ node: b.nodeId, incarnation: 1n, seq: 0n, beat: 1n, time: BigInt(Date.now()), addrsOmitted: true, meshAddrs: [], gatewayAddrs: [], httpUrl: '', metaVersion: 0 })
    const withAddrs = HeartbeatMsg.encode({ node: '', incarnation: 1n, seq: 0n, beat: 1n, time: BigInt(Date.now()), addrsOmitted: false, meshAddrs: ['/ip4/127.0.0.1/tcp/1'], gatewayAddrs: [], httpUrl: '', metaVersion: 0 })
    l.socket.write(Buffer.concat([frame(l.tx, 1, LINK_BEAT, forB), frame(l.tx, 1, LINK_BEAT, withAddrs), frame(l.tx, 1, LINK_BEAT, new Uint8Array(300))]))
    await waitFor(async () => await invalid() >= invalidBefore + 3, { what: 'a to refuse the three beats' })
    expect(await linkEvents(a, 'handler_refused')).toBe(3)
    // 100 beats in one write: the burst a stream may carry (40, of which the two beats above that
    // came as far as the rate check took two) is taken, the rest refused
    l.socket.write(Buffer.concat(Array.from({ length: 100 }, (_, k) => frame(l.tx, 1, LINK_BEAT, beat(k + 1)))))
    await waitFor(async () => await linkEvents(a, 'handler_refused') >= 3 + 60, { what: 'a to refuse the beats past the burst' })
    expect(await linkEvents(a, 'handler_refused')).toBeLessThanOrEqual(3 + 62)
    expect(await invalid()).toBe(invalidBefore + await linkEvents(a, 'handler_refused'))
    expect(l.socket.destroyed).toBe(false)
    // a and b beat on as before, and see each other up
    await mesh.converged(2)
    expect(a.presence.replica.liveNodes()).toContain(b.nodeId)
    expect(a.running).toBe(true)
  })
})
