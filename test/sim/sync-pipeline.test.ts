import { afterEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { signEvent } from '../../client/src/protocol/signing.js'
import { MAX_PIPELINED } from '../../node/src/mesh/rpc.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { PrivateKey } from '@libp2p/interface'

/** a fresh room event of `room` as its ingress node `origin` hands it over */
async function handOff (key: PrivateKey, room: string, text: string, origin: string): Promise<{ room: string, event: { event: Uint8Array<ArrayBuffer>, hlc: bigint, origin: string }, id: Uint8Array<ArrayBuffer> }> {
  const opened = await signEvent(key, 'writer', { kind: 'room', room, text }, { now: Date.now(), nonce: randomBytes(12) })
  return { room, event: { event: opened.bytes as Uint8Array<ArrayBuffer>, hlc: BigInt(Date.now()) << 16n, origin }, id: new Uint8Array(0) }
}

/**
 * The pipelined sync stream between two nodes (mesh/rpc.ts `serve`): fresh room
 * events handed over one after another are taken in as they come, and their
 * answers still leave in request order; any other request starts only once
 * the ones before it are answered.
 */
describe('the sync stream: hand-offs start as they come, answers keep their order', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  /**
   * Two nodes; b's hand-off handler tells `seen` of each room as it starts, and holds the
   * hand-offs `hold` picks until `release` (as one waiting for its group commit does)
   */
  async function twoNodes (hold: (room: string, nth: number) => boolean, seen: (room: string) => void): Promise<{ a: MeshchatNode, b: MeshchatNode, key: PrivateKey, release: () => void }> {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const store = b.archive.store.bind(b.archive)
    let release = (): void => {}
    const held = new Promise<void>(resolve => { release = resolve })
    let n = 0
    b.archive.store = async (room, event) => {
      seen(room)
      if (hold(room, ++n)) await held
      return store(room, event)
    }
    return { a, b, key: await generateKeyPair('Ed25519'), release }
  }

  it('a hand-off starts while the one before it still waits, and is answered after it', async () => {
    const started: string[] = []
    // the first hand-off waits
    const { a, b, key, release } = await twoNodes((_room, nth) => nth === 1, room => { started.push(room) })
    const answered: string[] = []
    const first = a.sync.call(b.nodeId, { store: await handOff(key, 'pipe', 'one', a.nodeId) }, 10_000, 'replication').then(() => { answered.push('one') })
    const second = a.sync.call(b.nodeId, { store: await handOff(key, 'pipe', 'two', a.nodeId) }, 10_000, 'replication').then(() => { answered.push('two') })
    await waitFor(() => started.length === 2, { what: 'b to take in the second hand-off while the first waits' })
    // the second is stored, but its answer waits behind the first's
    await waitFor(() => b.store.count('pipe') === 1, { what: 'the second event stored' })
    expect(answered).toEqual([])
    release()
    await Promise.all([first, second])
    expect(answered).toEqual(['one', 'two'])
    expect(b.store.count('pipe')).toBe(2)
  })

  it('any other request starts only once the requests before it are answered', async () => {
    const events: string[] = []
    const { a, b, key, release } = await twoNodes(room => room === 'held', room => { events.push(`store ${room}`) })
    const digest = b.archive.digest.bind(b.archive)
    b.archive.digest = (room, from, to) => {
      events.push(`digest ${room}`)
      return digest(room, from, to)
    }
    const calls = [
      a.sync.call(b.nodeId, { store: await handOff(key, 'held', 'wait', a.nodeId) }, 10_000, 'replication'),
      a.sync.call(b.nodeId, { digest: { room: 'held', from: 0n, to: BigInt(Date.now() + 60_000) << 16n } }, 10_000, 'replication'),
      a.sync.call(b.nodeId, { store: await handOff(key, 'after', 'go', a.nodeId) }, 10_000, 'replication')
    ]
    // the third request came in after the digest request, and started at once: the digest request
    // has arrived too, and waits for the held hand-off to be answered
    await waitFor(() => events.includes('store after'), { what: 'the hand-off after the digest request to start' })
    expect(events).toEqual(['store held', 'store after'])
    release()
    const [, d] = await Promise.all(calls)
    expect(events).toEqual(['store held', 'store after', 'digest held'])
    // the digest ran after the held event was stored
    expect(d?.digest?.count).toBe(1)
  })

  it('takes in at most MAX_PIPELINED requests of a stream while one before them waits', async () => {
    let started = 0
    const { a, b, key, release } = await twoNodes(room => room === 'held', () => { started++ })
    const requests = [await handOff(key, 'held', 'wait', a.nodeId)]
    for (let i = 0; i < MAX_PIPELINED + 36; i++) requests.push(await handOff(key, 'many', `m${i}`, a.nodeId))
    const calls = requests.map(async r => a.sync.call(b.nodeId, { store: r }, 20_000, 'replication'))
    await waitFor(() => started === MAX_PIPELINED, { what: `b to take in ${MAX_PIPELINED} requests` })
    // the rest stay unread on the stream while the first waits
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(started).toBe(MAX_PIPELINED)
    release()
    await Promise.all(calls)
    expect(started).toBe(MAX_PIPELINED + 37)
    expect(b.store.count('many')).toBe(MAX_PIPELINED + 36)
  })
})
