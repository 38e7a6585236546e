import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { TEST_TIMINGS } from '../../node/src/config.js'
import { signEvent } from '../../client/src/protocol/signing.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { ChatClient, ChatMessage } from '../../client/src/node.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { OpenedEvent } from '../../client/src/protocol/signing.js'

function collect (c: ChatClient, room: string): ChatMessage[] {
  const got: ChatMessage[] = []
  c.addEventListener('message', e => { if (e.detail.room === room) got.push(e.detail) })
  return got
}

/** a room message signed by a fresh key, written `agoMs` in the past */
async function oldMessage (room: string, text: string, agoMs: number): Promise<OpenedEvent> {
  const key = await generateKeyPair('Ed25519')
  return signEvent(key, 'ghost', { kind: 'room', room, text }, { now: Date.now() - agoMs, nonce: crypto.getRandomValues(new Uint8Array(12)) })
}

/** put an event straight into one node's store, stamped as `origin` stamped it: what a partition leaves behind */
function storeOnly (node: MeshchatNode, ev: OpenedEvent, hlc: bigint, origin: string): void {
  node.store.insert({ id: ev.id, room: ev.room ?? '', hlc, origin, author: ev.author, event: ev.bytes, ts: ev.ts })
}

async function metric (node: MeshchatNode, name: string, label: string): Promise<number> {
  const text = await node.metrics.registry.metrics()
  const line = text.split('\n').find(l => label === '' ? l.startsWith(`${name} `) : l.startsWith(`${name}{`) && l.includes(label))
  return line == null ? 0 : Number(line.split(' ').at(-1))
}

describe('anti-entropy between the copies of a room', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  /** three nodes, each hosting a member of `room`, so each carries it; 30 messages of live history */
  async function threeCopies (room: string): Promise<{ nodes: MeshchatNode[], members: ChatClient[] }> {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const nodes = mesh.nodes
    const members: ChatClient[] = []
    for (const [i, n] of nodes.entries()) {
      const c = await mesh.client(n, `member${i}`)
      await c.join(room)
      members.push(c)
    }
    await waitFor(() => nodes.every(n => n.rooms.isSubscribed(room)), { what: 'every node carrying the room' })
    for (let i = 0; i < 30; i++) await members[i % 3]!.send(room, `live ${i}`)
    await waitFor(() => nodes.every(n => n.store.count(room) === 30), { what: 'the live history on every node' })
    // the second backfill a node runs after it starts carrying a room (catchUpDelayMs after the
    // subscription) would fill a hole made before it: the tests below are about anti-entropy
    await new Promise(resolve => setTimeout(resolve, 2 * TEST_TIMINGS.catchUpDelayMs))
    return { nodes, members }
  }

  it('a message only one copy holds, behind newer messages every copy holds, reaches the other copies and their history', async () => {
    const room = 'holes'
    const { nodes, members } = await threeCopies(room)
    const [a, b, c] = nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const seenAtA = collect(members[0]!, room)
    // older than every live message: no newest-event comparison can see it
    const ev = await oldMessage(room, 'published while cut off', 60_000)
    const hlc = BigInt(Date.now() - 60_000) << 16n
    storeOnly(c, ev, hlc, c.nodeId)
    expect(a.store.get(ev.id)).toBeUndefined()
    await waitFor(() => a.store.get(ev.id) != null && b.store.get(ev.id) != null, { timeoutMs: 60_000, what: 'the hole filled on a and b' })
    for (const n of [a, b]) {
      expect(n.store.get(ev.id)?.hlc).toBe(hlc)
      expect(n.store.count(room)).toBe(31)
    }
    // older than the members' joins: not a live delivery, but in the history a member pages, in stamp order
    expect(seenAtA.filter(m => m.text === 'published while cut off')).toHaveLength(0)
    const page = await members[0]!.history(room, { limit: 50 })
    expect(page.messages.map(m => m.text)).toEqual(['published while cut off', ...Array.from({ length: 30 }, (_, i) => `live ${i}`)])
    expect(await metric(a, 'meshchat_anti_entropy_total', 'result="differ"') + await metric(b, 'meshchat_anti_entropy_total', 'result="differ"')).toBeGreaterThan(0)
    // all three copies now agree: the next comparisons find nothing to fetch
    const from = 0n
    const to = BigInt(Date.now()) << 16n
    expect(a.store.digest(room, from, to)).toEqual(c.store.digest(room, from, to))
    expect(b.store.digest(room, from, to)).toEqual(c.store.digest(room, from, to))
  })

  it('one message stamped by two nodes: every copy ends with the later stamp', async () => {
    const room = 'two-stamps'
    const { nodes } = await threeCopies(room)
    const [a, b, c] = nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const ev = await oldMessage(room, 'sent twice', 50_000)
    const early = BigInt(Date.now() - 50_000) << 16n
    const late = BigInt(Date.now() - 47_000) << 16n
    // the first stamp reached a and c, the retry's stamp only b
    storeOnly(a, ev, early, a.nodeId)
    storeOnly(c, ev, early, a.nodeId)
    storeOnly(b, ev, late, b.nodeId)
    await waitFor(() => nodes.every(n => n.store.get(ev.id)?.hlc === late), { timeoutMs: 60_000, what: 'the later stamp on every copy' })
    for (const n of nodes) {
      expect(n.store.get(ev.id)?.origin).toBe(b.nodeId)
      expect(n.store.count(room)).toBe(31)
    }
    // a and c each replaced the stamp they held
    expect(await metric(a, 'meshchat_restamped_total', '')).toBeGreaterThanOrEqual(1)
    expect(await metric(c, 'meshchat_restamped_total', '')).toBeGreaterThanOrEqual(1)
    expect(await metric(b, 'meshchat_restamped_total', '')).toBe(0)
    const to = BigInt(Date.now()) << 16n
    expect(a.store.digest(room, 0n, to)).toEqual(b.store.digest(room, 0n, to))
    expect(c.store.digest(room, 0n, to)).toEqual(b.store.digest(room, 0n, to))
  })
})
