import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { signEvent } from '../../client/src/protocol/signing.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { ChatClient, ChatMessage } from '../../client/src/node.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { RoomHandler } from '../../node/src/mesh/sync.js'
import type { Page, StoredRoomEvent } from '../../node/src/store/message-store.js'

async function metric (node: MeshchatNode, name: string, label = ''): Promise<number> {
  const text = await node.metrics.registry.metrics()
  return text.split('\n')
    .filter(l => label === '' ? l.startsWith(`${name} `) || l.startsWith(`${name}{`) : l.startsWith(`${name}{`) && l.includes(label))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0)
}

const ROOMS = 12
const PER_ROOM = 20
/** what one anti-entropy round may ask of one peer per room (archive.ts DIGEST_REQUESTS) */
const DIGESTS_PER_ROUND = 16
/** rounds a fruitless peer is left alone for (archive.ts FRUITLESS_ROUNDS), and a round's length in test timings (3 catch-up delays of 1 s) */
const FRUITLESS_MS = 20 * 3_000

/**
 * A node that holds the mesh key and lies on the sync protocol: every digest it gives differs from
 * every real copy (a million events, a random sum), and every page it serves is 500 events that are
 * tampered copies of real ones, validly signed events of another room, or garbage, with `more` set.
 */
async function lie (liar: MeshchatNode): Promise<{ digests: Map<string, number>, pages: Map<string, number> }> {
  const honest = liar.sync.rooms
  if (honest == null) throw new Error('the node serves no rooms')
  const digests = new Map<string, number>()
  const pages = new Map<string, number>()
  // validly signed events of a room nobody here carries
  const elsewhere: StoredRoomEvent[] = []
  const key = await generateKeyPair('Ed25519')
  for (let i = 0; i < 20; i++) {
    const ev = await signEvent(key, 'elsewhere', { kind: 'room', room: 'not-here', text: `other ${i}` }, { now: Date.now(), nonce: crypto.getRandomValues(new Uint8Array(12)) })
    elsewhere.push({ id: ev.id, room: 'not-here', hlc: BigInt(Date.now()) << 16n, origin: liar.nodeId, author: ev.author, event: ev.bytes })
  }
  const lying: RoomHandler = {
    store: async (room, event) => await honest.store(room, event),
    confirm: async (room, id) => await honest.confirm(room, id),
    offer: (from, offered) => { honest.offer(from, offered) },
    digest: (room) => {
      digests.set(room, (digests.get(room) ?? 0) + 1)
      return { count: 1_000_000, sum: BigInt(Math.floor(Math.random() * 2 ** 48)) }
    },
    localPage: (room): Page => {
      pages.set(room, (pages.get(room) ?? 0) + 1)
      const real = honest.localPage(room, { limit: PER_ROOM })
      const events: StoredRoomEvent[] = []
      for (let i = 0; events.length < 500; i++) {
        const base = real.events[i % Math.max(1, real.events.length)]
        if (base == null) break
        const kind = i % 3
        if (kind === 0) {
          // a real event with one byte of its signature flipped
          const event = Uint8Array.from(base.event)
          event[event.length - 1] = (event[event.length - 1] ?? 0) ^ 0xff
          events.push({ ...(base as StoredRoomEvent), event, hlc: base.hlc + BigInt(i) })
        } else if (kind === 1) {
          // a valid event, but of another room
          const other = elsewhere[i % Math.max(1, elsewhere.length)]
          if (other != null) events.push({ ...other, room })
        } else {
          events.push({ ...(base as StoredRoomEvent), event: crypto.getRandomValues(new Uint8Array(120)), hlc: base.hlc + BigInt(i) })
        }
      }
      return { events, more: true }
    }
  }
  liar.sync.rooms = lying
  return { digests, pages }
}

describe('a mesh member that lies about what it holds', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  it('costs the honest nodes a bounded number of requests per room, and gets nothing forged into any history', async () => {
    // no read budget to speak of: the liar's digests say a million events each, which its own budget
    // would charge the honest nodes for and then make them wait; what they do with the lies is the test
    mesh = await startMesh(3, { syncReadsPerSec: 1e12, syncReadBurst: 1e12 })
    await mesh.converged(3)
    const [a, b, liar] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const rooms = Array.from({ length: ROOMS }, (_, i) => `liar-${i}`)
    const members: ChatClient[] = []
    for (const [i, n] of [a, b, liar].entries()) {
      const c = await mesh.client(n, `member${i}`)
      for (const room of rooms) await c.join(room)
      members.push(c)
    }
    await waitFor(() => [a, b, liar].every(n => rooms.every(r => n.rooms.isSubscribed(r))), { what: 'every node carrying every room' })
    // each member within the per-user rate (10/s): one send every 120 ms
    for (let i = 0; i < PER_ROOM; i++) {
      for (const [r, room] of rooms.entries()) {
        if (r % 3 === 0) await new Promise(resolve => setTimeout(resolve, 120))
        await members[(i + r) % 3]!.send(room, `real ${i}`)
      }
    }
    await waitFor(() => [a, b, liar].every(n => rooms.every(r => n.store.count(r) === PER_ROOM)), { timeoutMs: 30_000, what: 'the real history on every node' })
    const rejectedBefore = await metric(a, 'meshchat_rejected_total') + await metric(b, 'meshchat_rejected_total')

    const told = await lie(liar)
    const began = Date.now()
    // every room gets compared with the liar (each honest node takes its copies in turn)
    await waitFor(() => rooms.every(r => (told.digests.get(r) ?? 0) > 0 && (told.pages.get(r) ?? 0) > 0),
      { timeoutMs: 90_000, intervalMs: 250, what: 'every room compared with the liar and a page fetched from it' })
    // then some more rounds (a round is 3 s here), in which the liar is left alone: without that, each
    // honest node would be back at the liar every other round, 16 digests a room each time
    await new Promise(resolve => setTimeout(resolve, 20_000))
    const elapsed = Date.now() - began
    // two honest nodes, each at most DIGESTS_PER_ROUND per room in a round with the liar, then none for
    // FRUITLESS_MS; one round more in case a fetch from the liar timed out on a loaded machine (a failed
    // round does not count as fruitless)
    const rounds = 2 + Math.floor(elapsed / FRUITLESS_MS)
    for (const room of rooms) {
      expect(told.digests.get(room), room).toBeLessThanOrEqual(2 * DIGESTS_PER_ROUND * rounds)
    }

    // the honest copies are what was sent, no more: nothing forged stored, every copy alike
    for (const n of [a, b]) {
      for (const room of rooms) {
        expect(n.store.count(room), `${room} on ${n.nodeId.slice(-4)}`).toBe(PER_ROOM)
      }
    }
    const to = BigInt(Date.now()) << 16n
    for (const room of rooms) expect(a.store.digest(room, 0n, to)).toEqual(b.store.digest(room, 0n, to))
    expect(await metric(a, 'meshchat_rejected_total') + await metric(b, 'meshchat_rejected_total')).toBeGreaterThan(rejectedBefore)
    expect(await metric(a, 'meshchat_internal_errors_total') + await metric(b, 'meshchat_internal_errors_total')).toBe(0)

    // and the honest nodes keep serving: a message sent now reaches every member once
    const got = members.map(c => {
      const seen: ChatMessage[] = []
      c.addEventListener('message', e => { if (e.detail.room === rooms[0]) seen.push(e.detail) })
      return seen
    })
    await members[0]!.send(rooms[0]!, 'after the lies')
    await waitFor(() => got.every(s => s.some(m => m.text === 'after the lies')), { timeoutMs: 20_000, what: 'the new message at every member' })
    await new Promise(resolve => setTimeout(resolve, 500))
    for (const seen of got) expect(seen.filter(m => m.text === 'after the lies')).toHaveLength(1)
    const page = await members[1]!.history(rooms[0]!, { limit: 100 })
    expect(page.messages.map(m => m.text)).toEqual([...Array.from({ length: PER_ROOM }, (_, i) => `real ${i}`), 'after the lies'])
  }, 180_000)
})
