import { afterEach, describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { ChatClient, ChatMessage } from '../../client/src/node.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

function collect (c: ChatClient, room: string): ChatMessage[] {
  const got: ChatMessage[] = []
  c.addEventListener('message', e => { if (e.detail.room === room) got.push(e.detail) })
  return got
}

/** cut `node` off from the other nodes (not from the bootstrap daemon: presence still flows) */
async function isolate (node: MeshchatNode, others: MeshchatNode[]): Promise<void> {
  node.linkControl.block(others.map(o => o.nodeId))
  for (const o of others) o.linkControl.block([node.nodeId])
  for (const o of others) await node.mesh.hangUp(o.mesh.peerId).catch(() => {})
}

/**
 * Two nodes, a reader and a local member on a, a far member on b. b is cut off from everything (the
 * bootstrap daemon too, so a counts it down, not merely unreachable), far sends, and past the resume
 * slack a message on a's side moves the reader's cursor past what far sent. `heal` lets b back.
 */
async function lostWhileCursorMovesOn (room: string): Promise<{ mesh: TestMesh, a: MeshchatNode, reader: ChatClient, got: ChatMessage[], missedId: Buffer, heal: () => void }> {
  // a short resume slack, so the reader's cursor can pass the missing message quickly
  const mesh = await startMesh(2, { resumeSlackMs: 500 })
  await mesh.converged(2)
  const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
  const reader = await mesh.client(a, 'reader')
  const local = await mesh.client(a, 'local')
  const far = await mesh.client(b, 'far')
  for (const x of [reader, local, far]) await x.join(room)
  const got = collect(reader, room)
  await waitFor(() => a.rooms.isSubscribed(room) && b.rooms.isSubscribed(room), { what: 'both nodes carrying the room' })
  await far.send(room, 'before the cut')
  await waitFor(() => got.length === 1, { what: 'the first message at the reader' })

  const boot = mesh.bootstrap.peerId
  b.linkControl.block([a.nodeId, boot])
  a.linkControl.block([b.nodeId])
  mesh.bootstrap.linkControl.block([b.nodeId])
  await b.mesh.hangUp(a.mesh.peerId).catch(() => {})
  await b.mesh.hangUp(peerIdFromString(boot)).catch(() => {})
  await waitFor(() => !a.presence.replica.liveNodes().includes(b.nodeId), { timeoutMs: 30_000, what: 'a to count b down' })
  const missed = await far.send(room, 'sent while b was cut off')
  await new Promise(resolve => setTimeout(resolve, 1000))
  await local.send(room, 'sent on a later')
  await waitFor(() => got.some(m => m.text === 'sent on a later'), { what: 'the later message at the reader' })
  const missedId = Buffer.from(missed.id, 'hex')
  expect(a.store.get(missedId)).toBeUndefined()
  const heal = (): void => {
    b.linkControl.unblock([a.nodeId, boot])
    a.linkControl.unblock([b.nodeId])
    mesh.bootstrap.linkControl.unblock([b.nodeId])
  }
  return { mesh, a, reader, got, missedId, heal }
}

/** the reader has the missed message, and every message once */
async function everyMessageOnce (got: ChatMessage[]): Promise<void> {
  await waitFor(() => got.some(m => m.text === 'sent while b was cut off'), { timeoutMs: 30_000, what: 'the missed message at the reader' })
  await new Promise(resolve => setTimeout(resolve, 500))
  const texts = got.map(m => m.text)
  for (const t of ['before the cut', 'sent while b was cut off', 'sent on a later']) expect(texts.filter(x => x === t)).toHaveLength(1)
}

describe('a resume after a node that had a gap', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  it('a resume that misses more than the node replays at once (maxReplay) continues until it has everything, in order, once', async () => {
    const room = 'long-absence'
    mesh = await startMesh(2, { maxReplay: 25, ratePerSec: 1000, burst: 1000 })
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const sender = await mesh.client(b, 'sender')
    const reader = await mesh.client(a, 'reader')
    await sender.join(room)
    await reader.join(room)
    const got = collect(reader, room)
    await sender.send(room, 'before')
    await waitFor(() => got.length === 1, { what: 'the first message' })
    reader.disconnect({ reconnect: false })
    await waitFor(() => reader.state === 'idle', { what: 'reader offline' })
    for (let i = 0; i < 110; i++) await sender.send(room, `while away ${i}`)
    await reader.connect({ addrs: [tcpGateway(a)] })
    await sender.send(room, 'after')
    await waitFor(() => got.length === 112, { timeoutMs: 30_000, what: 'every missed message (five replays of at most 25) and the live one' })
    expect(got.map(m => m.text)).toEqual(['before', ...Array.from({ length: 110 }, (_, i) => `while away ${i}`), 'after'])
    expect(got.filter(m => m.via === 'replay').length).toBeGreaterThan(100)
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(got).toHaveLength(112)
  })

  it('starts where the old node said it may lack events, not at the cursor: what the other side sent while it was cut off arrives', async () => {
    const room = 'gap'
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const reader = await mesh.client(a, 'reader')
    const local = await mesh.client(a, 'local')
    const far = await mesh.client(b, 'far')
    const third = await mesh.client(c, 'third')
    for (const x of [reader, local, far, third]) await x.join(room)
    const got = collect(reader, room)
    await waitFor(() => [a, b, c].every(n => n.rooms.isSubscribed(room)), { what: 'every node carrying the room' })
    await far.send(room, 'before the cut')
    await waitFor(() => got.length === 1, { what: 'the first message at the reader' })
    expect(a.archive.stable(room)).toBe(0n)

    await isolate(a, [b, c])
    // a lost contact with b, which hosts a member of the room and is still up as presence shows it
    await waitFor(() => a.archive.stable(room) > 0n, { timeoutMs: 30_000, what: 'a to know it may lack events of the room' })
    const missed = await far.send(room, 'sent while a was cut off')
    await waitFor(() => c.store.get(Buffer.from(missed.id, 'hex')) != null, { what: 'the message on c' })
    // more than the resume slack (10 s) later, a message on a's side moves the reader's cursor past it
    await new Promise(resolve => setTimeout(resolve, 11_000))
    await local.send(room, 'sent on a later')
    await waitFor(() => got.some(m => m.text === 'sent on a later'), { what: 'the later message at the reader' })
    expect(got.some(m => m.text === 'sent while a was cut off')).toBe(false)
    expect(a.store.get(Buffer.from(missed.id, 'hex'))).toBeUndefined()

    // a dies before it catches up: the reader moves to b or c and resumes there
    await a.crash()
    await waitFor(() => reader.state === 'connected' && reader.nodeId !== a.nodeId, { timeoutMs: 30_000, what: 'the reader on another node' })
    await waitFor(() => got.some(m => m.text === 'sent while a was cut off'), { timeoutMs: 30_000, what: 'the missed message at the reader' })
    // once each: what the resume replays from before the cursor and the reader has is dropped by id
    const texts = got.map(m => m.text)
    expect(texts.filter(t => t === 'sent while a was cut off')).toHaveLength(1)
    expect(texts.filter(t => t === 'sent on a later')).toHaveLength(1)
    expect(texts.filter(t => t === 'before the cut')).toHaveLength(1)
  })

  it('a node cut off from another still says it may lack the room\'s events after presence counted that node down and up again, though it no longer hears which rooms the node hosts', async () => {
    const room = 'flap'
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const reader = await mesh.client(a, 'reader')
    const far = await mesh.client(b, 'far')
    for (const x of [reader, far]) await x.join(room)
    await waitFor(() => a.rooms.isSubscribed(room) && b.rooms.isSubscribed(room), { what: 'both nodes carrying the room' })
    await isolate(a, [b, c])
    await waitFor(() => a.archive.stable(room) > 0n, { timeoutMs: 30_000, what: 'a to know it may lack events of the room' })
    const mark = a.archive.stable(room)

    // b drops off the bootstrap daemon too: a counts it down, and forgets the rooms it hosted
    const boot = mesh.bootstrap.peerId
    b.linkControl.block([boot])
    mesh.bootstrap.linkControl.block([b.nodeId])
    await b.mesh.hangUp(peerIdFromString(boot)).catch(() => {})
    await waitFor(() => !a.presence.replica.liveNodes().includes(b.nodeId), { timeoutMs: 30_000, what: 'a to count b down' })
    // b is back on the bootstrap daemon, still cut off from a: a counts it up, without its rooms
    b.linkControl.unblock([boot])
    mesh.bootstrap.linkControl.unblock([b.nodeId])
    await waitFor(() => a.presence.replica.liveNodes().includes(b.nodeId), { timeoutMs: 30_000, what: 'a to count b up again' })
    expect(a.presence.replica.roomHosts(room)).not.toContain(b.nodeId)
    // what b's member sent while a was cut off is still missing on a: a says so
    expect(a.archive.stable(room)).toBe(mark)
  }, 120_000)

  it('a resume on the node that lost a whole other node still gets, once, what that node sent meanwhile, when a catch-up brings it after the resume', async () => {
    const t = await lostWhileCursorMovesOn('late')
    mesh = t.mesh
    // the reader drops its connection and resumes on the same node, from its cursor
    t.reader.disconnect({ reconnect: false })
    await waitFor(() => t.reader.state === 'idle', { what: 'reader offline' })
    await t.reader.connect({ addrs: [tcpGateway(t.a)] })
    await waitFor(() => t.reader.state === 'connected', { what: 'reader back on a' })
    // the heal: a catches up from b and hands the message to the reader, live
    t.heal()
    await waitFor(() => t.a.store.get(t.missedId) != null, { timeoutMs: 60_000, what: 'the catch-up bringing the message to a' })
    await everyMessageOnce(t.got)
  }, 120_000)

  it('a resume after the catch-up that brought what a lost node sent meanwhile gets it, once, though its cursor is past it', async () => {
    const t = await lostWhileCursorMovesOn('late-after')
    mesh = t.mesh
    // the reader is away while the catch-up runs, and comes back to the same node after it
    t.reader.disconnect({ reconnect: false })
    await waitFor(() => t.reader.state === 'idle', { what: 'reader offline' })
    t.heal()
    await waitFor(() => t.a.store.get(t.missedId) != null, { timeoutMs: 60_000, what: 'the catch-up bringing the message to a' })
    await t.reader.connect({ addrs: [tcpGateway(t.a)] })
    await everyMessageOnce(t.got)
  }, 120_000)
})
