import { afterEach, describe, expect, it } from 'vitest'
import { openEvent } from '../../client/src/protocol/signing.js'
import { roomTopic } from '../../client/src/protocol/ids.js'
import { positionOf } from '../../client/src/cursor.js'
import { DeliveryKind } from '../../client/src/protocol/pb/client.js'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import { RawClients } from '../helpers/raw-client.js'
import { recordMessages, roomMeshReady } from '../helpers/rooms.js'
import type { RawClient } from '../helpers/raw-client.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { ChatClient, ChatMessage } from '../../client/src/node.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'

interface RpcLike {
  messages?: Array<{ topic?: string }>
  control?: { ihave?: Array<{ topicID?: string }> }
}

interface WireDelivery { id: string, hlc: bigint, origin: string, text: string, kind: DeliveryKind }

/** order key of DESIGN: (hlc, id) */
function byHlcThenId (a: { hlc: bigint, id: string }, b: { hlc: bigint, id: string }): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** Delivery frames a raw observer got, opened (what the node actually sent, duplicates included) */
async function wireDeliveries (r: RawClient): Promise<WireDelivery[]> {
  const out: WireDelivery[] = []
  for (const f of r.frames) {
    if (f.delivery == null) continue
    const ev = await openEvent(f.delivery.event)
    out.push({ id: ev.idHex, hlc: f.delivery.hlc, origin: f.delivery.origin, text: ev.text ?? '', kind: f.delivery.kind })
  }
  return out
}

function countBy<T> (items: T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>()
  for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + 1)
  return m
}

describe('room delivery across nodes', () => {
  let mesh: TestMesh | undefined
  const raws = new RawClients()

  afterEach(async () => {
    await raws.closeAll()
    await mesh?.stop()
    mesh = undefined
  })

  it('clients on three nodes each get every message exactly once, with one (hlc, id) order for all', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const nodes = mesh.nodes as MeshchatNode[]
    const room = 'triad'
    const clients: ChatClient[] = []
    const got: ChatMessage[][] = []
    const observers: RawClient[] = []
    for (let i = 0; i < 3; i++) {
      const c = await mesh.client(nodes[i]!, `user${i}`)
      got.push(recordMessages(c))
      await c.join(room)
      clients.push(c)
      // a second member per node that counts frames on the wire, where the client library's own dedupe cannot hide a duplicate
      const o = await raws.connect(tcpGateway(nodes[i]!))
      await o.hello(`observer${i}`)
      const j = await o.request({ join: { room, backlog: 0 } })
      expect(j.replayDone?.count, `observer ${i} joins an empty room`).toBe(0)
      observers.push(o)
    }
    await roomMeshReady(nodes, room)

    // 1) every client sends several messages at the same time as the others
    const perClient = 5
    const sent = new Map<string, { from: number, hlc: bigint, text: string }>()
    const sentOrder: string[][] = [[], [], []]
    await Promise.all(clients.map(async (c, i) => {
      for (let k = 0; k < perClient; k++) {
        const text = `m${i}.${k}`
        const r = await c.send(room, text)
        sent.set(r.id, { from: i, hlc: positionOf(r.cursor).hlc, text })
        sentOrder[i]!.push(r.id)
      }
    }))

    // 2) a causal chain: each reply is sent after its sender saw the previous message
    const chain: string[] = []
    for (let hop = 0; hop < 6; hop++) {
      const i = hop % 3
      const text = `chain ${hop}`
      const r = await clients[i]!.send(room, text)
      sent.set(r.id, { from: i, hlc: positionOf(r.cursor).hlc, text })
      chain.push(r.id)
      const next = (i + 1) % 3
      await waitFor(() => got[next]!.some(m => m.id === r.id), { what: `chain hop ${hop} to reach client ${next}` })
    }

    const total = sent.size
    expect(total).toBe(3 * perClient + 6)
    for (let i = 0; i < 3; i++) {
      await waitFor(() => new Set(got[i]!.map(m => m.id)).size === total, { what: `client ${i} to get all ${total} messages`, timeoutMs: 15_000 })
      await waitFor(async () => new Set((await wireDeliveries(observers[i]!)).map(d => d.id)).size === total, { what: `observer ${i} to get all ${total} messages` })
    }
    // a last message from everyone, so that any late duplicate of the earlier ones would be in by now
    const sentinels = await Promise.all(clients.map(async (c, i) => (await c.send(room, `sentinel ${i}`)).id))
    for (let i = 0; i < 3; i++) {
      await waitFor(async () => {
        const ids = new Set((await wireDeliveries(observers[i]!)).map(d => d.id))
        return sentinels.every(s => ids.has(s))
      }, { what: `observer ${i} to get every sentinel` })
    }

    const reference = [...sent.entries()].map(([id, s]) => ({ id, hlc: s.hlc })).sort(byHlcThenId).map(x => x.id)
    for (let i = 0; i < 3; i++) {
      const msgs = got[i]!.filter(m => sent.has(m.id))
      // exactly once, at the application
      for (const [id, n] of countBy(got[i]!, m => m.id)) expect(n, `client ${i}: message ${id} delivered ${n} times`).toBe(1)
      // exactly once, on the wire
      const wire = (await wireDeliveries(observers[i]!)).filter(d => sent.has(d.id))
      for (const [id, n] of countBy(wire, d => d.id)) expect(n, `observer ${i}: frame for ${id} sent ${n} times`).toBe(1)
      expect(wire.every(d => d.kind === DeliveryKind.LIVE), `observer ${i}: all live`).toBe(true)
      for (const m of msgs) {
        const s = sent.get(m.id)!
        // the ingress stamp travels with the message: every receiver orders by the same key
        expect(positionOf(m.cursor).hlc, `client ${i}: hlc of ${s.text}`).toBe(s.hlc)
        expect(m.text, `client ${i}: text of ${m.id}`).toBe(s.text)
        expect(m.from, `client ${i}: author of ${s.text}`).toBe(clients[s.from]!.userId)
        expect(m.origin, `client ${i}: origin of ${s.text}`).toBe(nodes[s.from]!.nodeId)
        expect(m.room, `client ${i}: room of ${s.text}`).toBe(room)
      }
      expect(msgs.map(m => ({ id: m.id, hlc: positionOf(m.cursor).hlc })).sort(byHlcThenId).map(m => m.id), `client ${i}: (hlc, id) order`).toEqual(reference)
      // and the cursor, compared as a plain string, is that same order
      expect([...msgs].sort((x, y) => x.cursor < y.cursor ? -1 : 1).map(m => m.id), `client ${i}: cursor order`).toEqual(reference)
      expect([...wire].sort(byHlcThenId).map(d => d.id), `observer ${i}: (hlc, id) order`).toEqual(reference)
    }
    // (stamps from different nodes may tie; the id breaks the tie, and the checks above include that)
    // each sender's own messages are stamped in the order they were sent
    for (let i = 0; i < 3; i++) {
      const hlcs = sentOrder[i]!.map(id => sent.get(id)!.hlc)
      for (let k = 1; k < hlcs.length; k++) expect(hlcs[k]! > hlcs[k - 1]!, `client ${i}: send ${k} stamped after send ${k - 1}`).toBe(true)
    }
    // and the causal chain is ordered across nodes: a reply is stamped after what it replies to
    for (let k = 1; k < chain.length; k++) {
      expect(sent.get(chain[k]!)!.hlc > sent.get(chain[k - 1]!)!.hlc, `chain hop ${k} after hop ${k - 1}`).toBe(true)
    }
  })

  it('a node with no member of a room receives nothing of it, by gossip or hand-off', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const nodes = mesh.nodes as MeshchatNode[]
    const [a, b, c] = nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    // archive replicas also carry a room (K = 2 of 3 nodes here): pick a room whose replicas are a and b, so c has no reason at all to carry it
    let room = ''
    for (let i = 0; i < 200 && room === ''; i++) {
      const cand = `quiet-${i}`
      if (nodes.every(n => !n.archive.owners(cand).includes(c.nodeId))) room = cand
    }
    expect(room, 'a room name c does not archive').not.toBe('')
    const topic = roomTopic(room)

    // c has a client in another room, so c is a fully working member of the mesh that carries room traffic
    const control = 'loud'

    // everything c's gossipsub hands up, and everything its peers send it, from here on
    const cPubsub = c.mesh.services.pubsub
    const delivered: string[] = []
    const gsDelivered: string[] = []
    const onMessage = (e: CustomEvent<Message>): void => { delivered.push(e.detail.topic) }
    const onGs = (e: CustomEvent<{ msg: Message }>): void => { gsDelivered.push(e.detail.msg.topic) }
    cPubsub.addEventListener('message', onMessage)
    cPubsub.addEventListener('gossipsub:message', onGs)
    const wire: Array<{ topic: string, from: string }> = []
    const ihaves: string[] = []
    // the public-but-untyped RPC entry point of the gossipsub class: every RPC a peer sends arrives here
    const gs = cPubsub as unknown as { handleReceivedRpc: (from: PeerId, rpc: RpcLike) => Promise<void> }
    const original = gs.handleReceivedRpc.bind(cPubsub)
    gs.handleReceivedRpc = async (from: PeerId, rpc: RpcLike) => {
      for (const m of rpc.messages ?? []) if (m.topic != null) wire.push({ topic: m.topic, from: from.toString() })
      for (const ih of rpc.control?.ihave ?? []) if (ih.topicID != null) ihaves.push(ih.topicID)
      return original(from, rpc)
    }
    // and every room event handed to c by its ingress node (rooms carried by few nodes go that way, not by gossip)
    const handed: string[] = []
    const store = c.archive.store.bind(c.archive)
    c.archive.store = async (r, event) => {
      handed.push(r)
      return store(r, event)
    }

    try {
      const alice = await mesh.client(a, 'alice')
      const bob = await mesh.client(b, 'bob')
      const carol = await mesh.client(c, 'carol')
      const bobGot = recordMessages(bob)
      const carolGot = recordMessages(carol)
      await alice.join(room)
      await bob.join(room)
      await alice.join(control)
      await carol.join(control)
      await roomMeshReady([a, b], room)
      await roomMeshReady([a, c], control)
      // c is directly connected to both senders' nodes (and a gossipsub peer of both): only interest keeps the room away from it
      await waitFor(() => [a, b].every(n => c.mesh.getConnections(n.mesh.peerId).length > 0 && cPubsub.getPeers().map(String).includes(n.nodeId)),
        { what: 'c to be connected to a and b' })

      const ids: string[] = []
      for (let k = 0; k < 5; k++) ids.push((await alice.send(room, `secret ${k}`)).id)
      for (let k = 0; k < 5; k++) ids.push((await bob.send(room, `also secret ${k}`)).id)
      const ctl = (await alice.send(control, 'control')).id
      await waitFor(() => new Set(bobGot.map(m => m.id)).size === 10, { what: 'bob to get all 10 room messages' })
      await waitFor(() => carolGot.some(m => m.id === ctl), { what: 'the control message to reach carol on c' })
      // let a gossipsub heartbeat pass on c (IHAVE gossip goes out on heartbeats)
      await new Promise<void>(resolve => { cPubsub.addEventListener('gossipsub:heartbeat', () => { resolve() }, { once: true }) })
      await new Promise<void>(resolve => { cPubsub.addEventListener('gossipsub:heartbeat', () => { resolve() }, { once: true }) })

      // positive control: c does receive the room it has a member in (handed over: two carrying nodes)
      expect(handed, 'the control room handed to c').toContain(control)
      // the quiet room: not subscribed, nothing delivered, nothing even sent to c
      expect(cPubsub.getTopics()).not.toContain(topic)
      expect(c.rooms.isSubscribed(room)).toBe(false)
      expect(handed.filter(r => r === room), 'events of the room handed to c').toEqual([])
      expect(delivered.filter(t => t === topic), 'c gossipsub "message" events for the room').toEqual([])
      expect(gsDelivered.filter(t => t === topic), 'c "gossipsub:message" events for the room').toEqual([])
      expect(wire.filter(w => w.topic === topic), 'room messages on c\'s wire').toEqual([])
      expect(ihaves.filter(t => t === topic), 'IHAVE gossip for the room sent to c').toEqual([])
      // nor did anything of it reach c's store or clients
      expect(c.store.page(room, { limit: 100 }).events).toHaveLength(0)
      expect(carolGot.filter(m => m.room === room)).toEqual([])
      // while a and b, which carry the room, have all of it
      expect(a.store.page(room, { limit: 100 }).events).toHaveLength(10)
      expect(b.store.page(room, { limit: 100 }).events).toHaveLength(10)
    } finally {
      cPubsub.removeEventListener('message', onMessage)
      cPubsub.removeEventListener('gossipsub:message', onGs)
      gs.handleReceivedRpc = original
      c.archive.store = store
    }
  })

  it('a node stops carrying a room when its last member leaves or disconnects', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const nodes = mesh.nodes as MeshchatNode[]
    const [a, b, c] = nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const free = (prefix: string): string => {
      for (let i = 0; i < 200; i++) {
        const cand = `${prefix}-${i}`
        if (nodes.every(n => !n.archive.owners(cand).includes(c.nodeId))) return cand
      }
      throw new Error('no room name that c does not archive')
    }
    const alice = await mesh.client(a, 'alice')
    const bob = await mesh.client(b, 'bob')
    const bobGot = recordMessages(bob)
    const carol = await mesh.client(c, 'carol')
    const dave = await mesh.client(c, 'dave')

    for (const [how, room] of [['leave', free('left')], ['disconnect', free('gone')]] as const) {
      const topic = roomTopic(room)
      const member = how === 'leave' ? carol : dave
      await alice.join(room)
      await bob.join(room)
      await member.join(room)
      await roomMeshReady([a, b, c], room)
      const first = await alice.send(room, 'while c has a member')
      await waitFor(() => c.store.get(Buffer.from(first.id, 'hex')) != null, { what: `c to store the first ${room} message` })

      if (how === 'leave') await member.leave(room)
      else await member.close()
      await waitFor(() => !c.rooms.isSubscribed(room) && !c.mesh.services.pubsub.getTopics().includes(topic), { what: `c to unsubscribe from ${topic} after the ${how}` })
      // a and b learn it too, so they stop sending the room to c
      await waitFor(() => [a, b].every(n => !n.mesh.services.pubsub.getSubscribers(topic).map(String).includes(c.nodeId)), { what: `a and b to drop c from ${topic}` })

      const delivered: string[] = []
      const onMessage = (e: CustomEvent<Message>): void => { delivered.push(e.detail.topic) }
      c.mesh.services.pubsub.addEventListener('message', onMessage)
      try {
        const after = await alice.send(room, 'after c lost interest')
        await waitFor(() => bobGot.some(m => m.id === after.id), { what: `bob to get the ${room} message sent after the ${how}` })
        // a and b no longer list c for the topic, so floodPublish and gossip leave c out
        expect(delivered.filter(t => t === topic), `c gossipsub deliveries for ${topic} after the ${how}`).toEqual([])
        expect(c.store.get(Buffer.from(after.id, 'hex')), `c stored nothing of ${room} after the ${how}`).toBeUndefined()
      } finally {
        c.mesh.services.pubsub.removeEventListener('message', onMessage)
      }
    }
  })
})
