import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { startMesh, waitFor, tcpGateway } from '../helpers/mesh.js'
import { spawnNode } from '../helpers/process-node.js'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { signEvent } from '../../client/src/protocol/signing.js'
import { hlcPhysical } from '../../node/src/state/hlc.js'
import { PROMPT_STAMP_MS } from '../../node/src/store/stamp-rank.js'
import { libp2pTransport } from '../../client/src/transports/libp2p.js'
import { DisconnectedError } from '../../client/src/protocol/errors.js'
import { tcp } from '@libp2p/tcp'
import type { TestMesh } from '../helpers/mesh.js'
import type { ProcessNode } from '../helpers/process-node.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { ChatClient, ChatMessage } from '../../client/src/node.js'
import type { PrivateKey } from '@libp2p/interface'
import type { ClientTransport } from '../../client/src/transport.js'

function collect (c: ChatClient, room: string): ChatMessage[] {
  const got: ChatMessage[] = []
  c.addEventListener('message', e => { if (e.detail.room === room) got.push(e.detail) })
  return got
}

/** send a pre-signed event over the client's session (a retry of the same bytes) */
async function publishRaw (c: ChatClient, bytes: Uint8Array): Promise<{ publishAck?: { hlc: bigint } }> {
  return (c as unknown as { request: (b: unknown) => Promise<{ publishAck?: { hlc: bigint } }> }).request({ publish: { event: bytes } })
}

describe('durable history and gap-free resume', () => {
  let mesh: TestMesh | undefined
  const dirs: string[] = []
  const procs: ProcessNode[] = []
  afterEach(async () => {
    await Promise.allSettled(procs.splice(0).map(async p => p.kill()))
    await mesh?.stop()
    mesh = undefined
    await Promise.allSettled(dirs.splice(0).map(async d => rm(d, { recursive: true, force: true })))
  })

  async function tempDir (): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'meshchat-'))
    dirs.push(d)
    return d
  }

  it('(a) history survives a node restart (real SQLite file)', async () => {
    const dir = await tempDir()
    mesh = await startMesh(1, { dataDir: join(dir, 'n1') })
    const node = mesh.nodes[0]!
    const alice = await mesh.client(node, 'alice')
    await alice.join('journal')
    for (let i = 0; i < 20; i++) await alice.send('journal', `entry ${i}`)
    expect(node.store.path).toBe(join(dir, 'n1', 'meshchat.sqlite'))
    const key = node.privateKey
    await alice.close()
    await node.stop()
    const again = await mesh.addNode({ dataDir: join(dir, 'n1'), privateKey: key })
    expect(again.nodeId).toBe(node.nodeId)
    const reader = await mesh.client(again, 'reader')
    await reader.join('journal')
    const page = await reader.history('journal', { limit: 50 })
    expect(page.messages.map(m => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `entry ${i}`))
    expect(page.more).toBe(false)
  })

  it('archive replicas follow the members: a room on one node is carried by it and one more node only', async () => {
    mesh = await startMesh(4)
    await mesh.converged(4)
    const [a] = mesh.nodes
    const m1 = await mesh.client(a!, 'm1')
    const m2 = await mesh.client(a!, 'm2')
    await m1.join('local-room')
    await m2.join('local-room')
    // every node knows which nodes host the room (who is in it is held only where it is carried)
    await waitFor(() => mesh!.nodes.every(n => n.presence.roomHosts('local-room').join() === a!.nodeId), { what: 'the room\'s host known everywhere' })
    const owners = a!.archive.owners('local-room')
    expect(owners).toHaveLength(2)
    expect(owners[0]).toBe(a!.nodeId)
    // every node agrees on the owners, and exactly the owners carry the room
    for (const n of mesh.nodes) expect(n.archive.owners('local-room'), `owners as ${n.nodeId.slice(-6)} sees them`).toEqual(owners)
    await waitFor(() => mesh!.nodes.every(n => n.rooms.isSubscribed('local-room') === owners.includes(n.nodeId)), { what: 'only the owners subscribed' })
    const ack = await m1.send('local-room', 'kept twice')
    const other = mesh.nodes.find(n => n.nodeId === owners[1])!
    await waitFor(() => other.store.page('local-room', { limit: 5 }).events.length === 1, { what: 'the second copy' })
    expect(mesh.nodes.filter(n => !owners.includes(n.nodeId)).every(n => n.store.count('local-room') === 0)).toBe(true)
    expect(ack.cursor).toMatch(/^[0-9a-f]{80}$/)
    expect(ack.cursor.slice(0, 16)).not.toBe('0'.repeat(16))
  })

  it('(b) a node that joins a room late backfills it from a peer', async () => {
    mesh = await startMesh(2, { ratePerSec: 1000, burst: 1000 })
    await mesh.converged(2)
    const [a] = mesh.nodes
    const alice = await mesh.client(a!, 'alice')
    await alice.join('archive-me')
    for (let i = 0; i < 120; i++) await alice.send('archive-me', `old ${i}`)
    const late = await mesh.addNode()
    await mesh.converged(3)
    await waitFor(() => late.presence.roomHosts('archive-me').length === 1, { what: 'the late node to know the room' })
    if (late.archive.owners('archive-me').includes(late.nodeId)) {
      // it became one of the room's archive replicas: it backfills on its own, before anyone joins it
      await waitFor(() => late.store.count('archive-me') === 120, { what: 'the new archive replica to backfill' })
    } else {
      // no reason to carry the room yet: nothing stored until a member joins there
      expect(late.rooms.isSubscribed('archive-me')).toBe(false)
      expect(late.store.count('archive-me')).toBe(0)
    }
    const bob = await mesh.client(late, 'bob')
    const got = collect(bob, 'archive-me')
    const { replayed } = await bob.join('archive-me', { backlog: 50 })
    // the join waited for the backfill, so the backlog is the real last 50
    expect(replayed).toBe(50)
    expect(got.map(m => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `old ${70 + i}`))
    await waitFor(() => late.store.count('archive-me') === 120, { what: 'the late node to hold the whole room' })
    // and paging back through the late node gives everything, in order
    const all: string[] = []
    let before: string | undefined
    for (let guard = 0; guard < 10; guard++) {
      const page = await bob.history('archive-me', { before, limit: 40 })
      all.unshift(...page.messages.map(m => m.text))
      const first = page.messages[0]
      if (!page.more || first == null) break
      before = first.cursor
    }
    expect(all).toEqual(Array.from({ length: 120 }, (_, i) => `old ${i}`))
  })

  it('(c) a client disconnected while 100 messages are sent resumes on another node and sees all, in order, once', async () => {
    mesh = await startMesh(3, { ratePerSec: 1000, burst: 1000 })
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes
    const sender = await mesh.client(c!, 'sender')
    const reader = await mesh.client(a!, 'reader')
    await sender.join('busy')
    await reader.join('busy')
    const got = collect(reader, 'busy')
    await sender.send('busy', 'before')
    await waitFor(() => got.length === 1, { what: 'the first message' })
    reader.disconnect({ reconnect: false })
    await waitFor(() => reader.state === 'idle', { what: 'reader offline' })
    const sent: string[] = []
    for (let i = 0; i < 100; i++) sent.push((await sender.send('busy', `while away ${i}`)).id)
    const welcome = await reader.connect({ addrs: [tcpGateway(b!)] })
    expect(welcome.nodeId).toBe(b!.nodeId)
    await sender.send('busy', 'after')
    await waitFor(() => got.length === 102, { timeoutMs: 10_000, what: 'every missed message and the live one' })
    expect(got.map(m => m.text)).toEqual(['before', ...Array.from({ length: 100 }, (_, i) => `while away ${i}`), 'after'])
    expect(new Set(got.map(m => m.id)).size, 'no duplicates').toBe(102)
    expect(got.slice(1, 101).map(m => m.id)).toEqual(sent)
    // most come as replay; the last few may still have been in flight to node b when the reader
    // rejoined, and then arrive live: either way once, and in order
    expect(got.slice(1, 101).filter(m => m.via === 'replay').length, 'the missed ones were replayed').toBeGreaterThan(50)
    // nothing more trickles in afterwards
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(got).toHaveLength(102)
  })

  it('a client whose node crashes reconnects to another node by itself and loses nothing', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, , c] = mesh.nodes
    const sender = await mesh.client(c!, 'sender')
    const reader = await mesh.client(a!, 'reader')
    await sender.join('failover')
    await reader.join('failover')
    const got = collect(reader, 'failover')
    const states: string[] = []
    reader.addEventListener('state', e => states.push(e.detail.state))
    await a!.crash()
    const sent: string[] = []
    for (let i = 0; i < 30; i++) sent.push((await sender.send('failover', `m${i}`)).id)
    await waitFor(() => got.length === 30, { timeoutMs: 15_000, what: 'all messages after failover' })
    expect(got.map(m => m.id)).toEqual(sent)
    expect(states).toContain('reconnecting')
    expect(reader.state).toBe('connected')
    expect(reader.nodeId).not.toBe(a!.nodeId)
  })

  it('(d) a node SIGKILLed right after acking a message: another node still serves it', async () => {
    const dir = await tempDir()
    mesh = await startMesh(2)
    const keyPath = join(dir, 'swarm.key')
    await writeFile(keyPath, mesh.meshKey)
    const child = await spawnNode({ dataDir: join(dir, 'child'), meshKey: keyPath, bootstrap: mesh.bootstrap.addrs() })
    procs.push(child)
    await mesh.converged(3)
    const writer = createNodeClient({ name: 'writer', addrs: child.gateway, keyStore: memoryKeyStore(), reconnect: false })
    mesh.clients.push(writer)
    await writer.connect()
    await waitFor(async () => (await writer.welcomeInfo?.meshSize ?? 0) >= 3 || mesh!.nodes.every(n => n.presence.replica.liveNodes().includes(child.id)), { what: 'child in the mesh' })
    await writer.join('durable')
    const acked = await writer.send('durable', 'acknowledged then the server died')
    await child.kill()
    // the ack meant a second node held it: right after the crash it may not be where the reader's node
    // looks first, but it comes back once the mesh has noticed the crash (owners recomputed, offers made)
    const reader = await mesh.client(mesh.nodes[0]!, 'reader')
    await reader.join('durable')
    const page = await waitFor(async () => {
      const p = await reader.history('durable', { limit: 10 })
      return p.messages.some(m => m.id === acked.id) ? p : undefined
    }, { timeoutMs: 10_000, what: 'the acknowledged message in the history another node serves' })
    expect(page.messages.find(m => m.id === acked.id)?.text).toBe('acknowledged then the server died')
    expect(mesh.nodes.filter(n => n.store.get(Buffer.from(acked.id, 'hex')) != null).length, 'a surviving node stores it').toBeGreaterThan(0)
  })

  it('(e) a retried send with the same id is stored once, on the same node or another', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    const key: PrivateKey = await generateKeyPair('Ed25519')
    const first = await mesh.client(a!, 'retrier', { privateKey: key })
    await first.join('once')
    const event = await signEvent(key, 'retrier', { kind: 'room', room: 'once', text: 'only once' }, { now: Date.now(), nonce: new Uint8Array(12).fill(3) })
    const ack1 = await publishRaw(first, event.bytes)
    const ack2 = await publishRaw(first, event.bytes)
    expect(ack2.publishAck?.hlc, 'the retry is acknowledged with the stored stamp').toBe(ack1.publishAck?.hlc)
    // the same bytes through another node (the client failed over before seeing the ack)
    await waitFor(() => b!.store.get(event.id) != null, { what: 'replication to b' })
    const second = await mesh.client(b!, 'retrier', { privateKey: key })
    await second.join('once')
    const ack3 = await publishRaw(second, event.bytes)
    expect(ack3.publishAck?.hlc).toBe(ack1.publishAck?.hlc)
    for (const n of [a!, b!]) {
      const page = n.store.page('once', { limit: 10 })
      expect(page.events.filter(e => Buffer.from(e.id).equals(Buffer.from(event.id))), `node ${n.nodeId.slice(-6)} stores it once`).toHaveLength(1)
    }
    const h = await second.history('once', { limit: 10 })
    expect(h.messages.filter(m => m.text === 'only once')).toHaveLength(1)
  })

  /** two nodes, a watcher on the second in `room`, and what it receives there */
  async function watched (room: string): Promise<{ a: MeshchatNode, b: MeshchatNode, m: TestMesh, seen: ChatMessage[] }> {
    const m = mesh = await startMesh(2)
    await m.converged(2)
    const [a, b] = m.nodes as [MeshchatNode, MeshchatNode]
    const watcher = await m.client(b, 'watcher')
    await watcher.join(room)
    return { a, b, m, seen: collect(watcher, room) }
  }

  it('a send whose ack is lost is retried with the same id after reconnecting, and shown once', async () => {
    const { a, m, seen } = await watched('acks')
    const writer = await m.client(a, 'writer')
    await writer.join('acks')
    // drop the connection right after the frame leaves: the ack never arrives on this connection
    const sending = writer.send('acks', 'did it arrive?')
    writer.disconnect()
    const result = await sending
    await waitFor(() => seen.length >= 1, { what: 'the message at the watcher' })
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(seen.filter(m => m.text === 'did it arrive?')).toHaveLength(1)
    expect(seen[0]!.id).toBe(result.id)
    expect(a.store.page('acks', { limit: 10 }).events).toHaveLength(1)
  })

  it('a message sent while no node is attached is signed when it goes out: its author time is then, and its stamp prompt', async () => {
    const { a, m, seen } = await watched('queued')
    // the writer's own way to the nodes, which the test can take away: dials fail while it is offline
    const real = libp2pTransport({ transports: [tcp()] })
    let offline = false
    const gated: ClientTransport = {
      handles: addr => real.handles(addr),
      dial: async (addr, key, signal) => {
        if (offline) throw new DisconnectedError('the network is down')
        return real.dial(addr, key, signal)
      },
      stop: async () => real.stop()
    }
    const writer = await m.client(a, 'writer', { transports: [gated], backoff: { minMs: 100, maxMs: 200 } })
    await writer.join('queued')
    offline = true
    writer.disconnect()
    await waitFor(() => writer.state === 'reconnecting', { what: 'the writer offline' })
    const written = Date.now()
    const sending = writer.send('queued', 'written offline')
    // it waits in the outbox while every dial fails
    await new Promise(resolve => setTimeout(resolve, 1500))
    expect(writer.state).toBe('reconnecting')
    offline = false
    const result = await sending
    await waitFor(() => seen.some(m => m.text === 'written offline'), { what: 'the message at the watcher' })
    const got = seen.filter(m => m.text === 'written offline')
    expect(got).toHaveLength(1)
    // the id the send resolved with is the one that went out
    expect(got[0]!.id).toBe(result.id)
    // its author time is when it left, not when it was written
    expect(got[0]!.ts).toBeGreaterThanOrEqual(written + 1500)
    // and its ingress stamp is prompt: the stamp that wins over any later one of the same id
    const stored = a.store.page('queued', { limit: 10 }).events
    expect(stored).toHaveLength(1)
    expect(hlcPhysical(stored[0]!.hlc)).toBeGreaterThanOrEqual(got[0]!.ts)
    expect(hlcPhysical(stored[0]!.hlc) - got[0]!.ts).toBeLessThanOrEqual(PROMPT_STAMP_MS)
  })
})
