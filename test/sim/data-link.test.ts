/**
 * Data links on real nodes: fresh room events reach the other carrying nodes over a plain TCP link
 * made over the libp2p connection, a link that breaks loses nothing (what was on it goes by gossip,
 * and a new link is made), the link does not outlive the libp2p connection, beats take the link
 * and fall back to their stream, and nodes with links off deliver the same way over libp2p streams.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { memberOnEveryNode, recordMessages } from '../helpers/rooms.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

async function linkEvents (n: MeshchatNode, event: string): Promise<number> {
  return (await n.metrics.linkEvents.get()).values.filter(v => v.labels.event === event).reduce((x, v) => x + v.value, 0)
}

async function linkFrames (n: MeshchatNode): Promise<number> {
  return (await n.metrics.linkFrames.get()).values.reduce((x, v) => x + v.value, 0)
}

async function handOffFailures (n: MeshchatNode): Promise<number> {
  return (await n.metrics.handOffFailures.get()).values[0]?.value ?? 0
}

/** heartbeats `n` wrote, on a link and on a beat stream */
async function beats (n: MeshchatNode): Promise<{ link: number, stream: number }> {
  const v = (await n.metrics.beatsSent.get()).values
  return { link: v.find(x => x.labels.on === 'link')?.value ?? 0, stream: v.find(x => x.labels.on === 'stream')?.value ?? 0 }
}

/** `a`'s links to every other node open at both ends (a first message or beat asks for them) */
async function linked (a: MeshchatNode, others: MeshchatNode[]): Promise<void> {
  await waitFor(() => others.every(o => a.links?.current(peerIdFromString(o.nodeId))?.writable === true && o.links?.current(peerIdFromString(a.nodeId))?.writable === true),
    { timeoutMs: 15_000, what: 'the links to every other node' })
}

describe('data links', () => {
  let mesh: TestMesh | undefined

  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  it('carry every fresh room event to the other carrying nodes, each delivered once', async () => {
    mesh = await startMesh(3)
    const [a, b, c] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const clients = await memberOnEveryNode(mesh, mesh.nodes.length, 'linked')
    const got = clients.map(recordMessages)
    const ids = [(await clients[0]!.send('linked', 'first')).id]
    await linked(a, [b, c])
    // b and c have no room traffic of their own: their link comes with their first beat
    await linked(b, [c])
    // each pair has its link, made at one end and taken at the other (by the first beat or message)
    const nodes = [a, b, c]
    const made = (await Promise.all(nodes.map(async n => await linkEvents(n, 'opened')))).reduce((x, y) => x + y, 0)
    const taken = (await Promise.all(nodes.map(async n => await linkEvents(n, 'accepted')))).reduce((x, y) => x + y, 0)
    expect(made).toBe(taken)
    expect(made).toBeGreaterThanOrEqual(3)
    const framesBefore = await linkFrames(a)
    for (let k = 0; k < 30; k++) ids.push((await clients[0]!.send('linked', `m${k}`)).id)
    for (const [i, g] of got.entries()) await waitFor(() => ids.every(id => g.some(m => m.id === id)), { what: `client ${i} to get every message` })
    for (const g of got) expect(g.filter(m => ids.includes(m.id))).toHaveLength(ids.length)
    // every one of the 30 went to both other carriers on a link: one answered, one one way
    expect(await linkFrames(a) - framesBefore).toBe(60)
    const byKind = Object.fromEntries((await a.metrics.linkFrames.get()).values.map(v => [v.labels.kind, v.value]))
    expect(byKind.request).toBeGreaterThanOrEqual(30)
    expect(byKind.oneway).toBeGreaterThanOrEqual(30)
    // and every carrier stored every one of them
    for (const n of [b, c]) await waitFor(() => ids.every(id => n.store.get(Buffer.from(id, 'hex')) != null), { what: 'the carriers to store every message' })
    expect(await handOffFailures(a)).toBe(0)
  })

  it('a link that breaks mid-traffic loses nothing and is made again', async () => {
    // sends in flight together: the sender's budget must not refuse them
    mesh = await startMesh(3, { ratePerSec: 1000, burst: 1000 })
    const [a, b, c] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const clients = await memberOnEveryNode(mesh, mesh.nodes.length, 'broken')
    const got = clients.map(recordMessages)
    const ids = [(await clients[0]!.send('broken', 'first')).id]
    await linked(a, [b, c])
    const sends: Array<Promise<{ id: string }>> = []
    for (let k = 0; k < 40; k++) {
      sends.push(clients[0]!.send('broken', `m${k}`))
      // in the middle of the burst, both links break at the far ends (as a socket error would end them)
      if (k === 20) {
        for (const n of [b, c]) n.links?.current(peerIdFromString(a.nodeId))?.close('failed', 'broken by the test')
      }
    }
    ids.push(...(await Promise.all(sends)).map(s => s.id))
    for (const [i, g] of got.entries()) await waitFor(() => ids.every(id => g.some(m => m.id === id)), { timeoutMs: 20_000, what: `client ${i} to get every message` })
    for (const g of got) expect(g.filter(m => ids.includes(m.id))).toHaveLength(ids.length)
    expect(await linkEvents(b, 'failed') + await linkEvents(c, 'failed')).toBeGreaterThanOrEqual(2)
    // the next sends (and beats) ask for new links, and they carry what follows
    await clients[0]!.send('broken', 'again')
    await linked(a, [b, c])
    // two links with a before the break and two after it, each made by a or taken by it
    expect(await linkEvents(a, 'opened') + await linkEvents(a, 'accepted')).toBeGreaterThanOrEqual(4)
    const framesBefore = await linkFrames(a)
    const last = (await clients[0]!.send('broken', 'last')).id
    for (const g of got) await waitFor(() => g.some(m => m.id === last), { what: 'every client to get the last message' })
    expect(await linkFrames(a) - framesBefore).toBe(2)
  })

  it('a link ends with the libp2p connection it was made over', async () => {
    mesh = await startMesh(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const clients = await memberOnEveryNode(mesh, mesh.nodes.length, 'cut')
    await clients[0]!.send('cut', 'first')
    await linked(a, [b])
    const onB = b.links?.current(peerIdFromString(a.nodeId))
    expect(onB?.writable).toBe(true)
    // cut a–b at the libp2p level and keep it cut
    a.linkControl.block([b.nodeId])
    b.linkControl.block([a.nodeId])
    for (const conn of a.mesh.getConnections(peerIdFromString(b.nodeId))) await conn.close()
    await waitFor(() => a.links?.current(peerIdFromString(b.nodeId)) == null && b.links?.current(peerIdFromString(a.nodeId)) == null, { what: 'both ends of the link to close' })
    expect(onB?.writable).toBe(false)
    expect(a.links?.size).toBe(0)
    expect(b.links?.size).toBe(0)
  })

  it('carry the beats once one is open, and the beat stream takes them while there is none', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    // no message was sent: the beats themselves ask for the link
    await linked(a, [b])
    expect(await linkEvents(a, 'opened') + await linkEvents(b, 'opened')).toBe(1)
    const before = { a: await beats(a), b: await beats(b) }
    await waitFor(async () => (await beats(a)).link >= before.a.link + 3 && (await beats(b)).link >= before.b.link + 3, { what: 'three beats each way on the link' })
    // none on the streams meanwhile: the bootstrap takes no beats, and the peer has its link
    expect((await beats(a)).stream).toBe(before.a.stream)
    expect((await beats(b)).stream).toBe(before.b.stream)
    const framesBefore = await linkFrames(a)

    // the link ends: the node that makes links beats on the stream while it makes a new one
    const maker = a.nodeId < b.nodeId ? a : b
    const streamBefore = (await beats(maker)).stream
    b.links?.current(peerIdFromString(a.nodeId))?.close('failed', 'broken by the test')
    await waitFor(async () => (await beats(maker)).stream > streamBefore, { what: 'a beat on the stream' })
    await linked(a, [b])
    const after = { a: (await beats(a)).link, b: (await beats(b)).link }
    await waitFor(async () => (await beats(a)).link >= after.a + 2 && (await beats(b)).link >= after.b + 2, { what: 'beats on the new link' })
    // each still sees the other up, heard within the down bound, and no room frame went anywhere
    for (const [n, o] of [[a, b], [b, a]] as const) {
      const view = n.presence.liveNodes().find(v => v.id === o.nodeId)
      expect(view?.up).toBe(true)
      expect(Date.now() - (view?.lastHeard ?? 0)).toBeLessThan(1500)
    }
    expect(await linkFrames(a)).toBe(framesBefore)
  })

  it('carry DMs to the recipient\'s node, in the order they were sent, each once', async () => {
    mesh = await startMesh(2, { ratePerSec: 1000, burst: 1000 })
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const alice = await mesh.client(a, 'alice')
    const bob = await mesh.client(b, 'bob')
    const atBob: string[] = []
    bob.addEventListener('dm', e => { atBob.push(e.detail.text) })
    await waitFor(() => a.presence.replica.user(bob.userId) != null, { what: 'a to see bob' })
    expect((await alice.dm(bob.userId, 'first')).state).toBe('delivered')
    await linked(a, [b])
    const framesBefore = await linkFrames(a)
    // sent together: the node hands them on one after another, and the link keeps that order
    const sent = await Promise.all(Array.from({ length: 20 }, async (_, k) => await alice.dm(bob.userId, `d${k}`)))
    expect(sent.every(r => r.state === 'delivered')).toBe(true)
    await waitFor(() => atBob.length === 21, { what: 'bob to get every DM' })
    expect(atBob).toEqual(['first', ...Array.from({ length: 20 }, (_, k) => `d${k}`)])
    // each went to b on the link (with its history copy, when b is one of the conversation's owners)
    expect(await linkFrames(a) - framesBefore).toBeGreaterThanOrEqual(20)
  })

  it('nodes with data links off deliver every message over libp2p streams', async () => {
    mesh = await startMesh(3, { dataLinks: false })
    const [a] = mesh.nodes as [MeshchatNode]
    const clients = await memberOnEveryNode(mesh, mesh.nodes.length, 'plain')
    const got = clients.map(recordMessages)
    const ids: string[] = []
    for (let k = 0; k < 10; k++) ids.push((await clients[0]!.send('plain', `m${k}`)).id)
    for (const [i, g] of got.entries()) await waitFor(() => ids.every(id => g.some(m => m.id === id)), { what: `client ${i} to get every message` })
    for (const g of got) expect(g.filter(m => ids.includes(m.id))).toHaveLength(ids.length)
    expect(a.links).toBeUndefined()
    for (const n of mesh.nodes) expect(await linkFrames(n)).toBe(0)
  })
})
