import { afterEach, describe, expect, it } from 'vitest'
import { TEST_TIMINGS } from '../../node/src/config.js'
import { CONFIRM_FANOUT, CONFIRM_TIMEOUTS, UNANSWERED_MS } from '../../node/src/mesh/archive.js'
import { roomTopic } from '../../client/src/protocol/ids.js'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { startRogue } from '../helpers/rogue.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { Rogue } from '../helpers/rogue.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

/**
 * A node with no other archive node in reach asks every connected peer in turn to keep a copy of a
 * fresh event before it acknowledges the send. A peer holding the mesh key can connect as many
 * identities as it likes, each taking the request and never answering.
 */
describe('a node looking for a replica of a fresh event among peers that never answer', () => {
  let mesh: TestMesh | undefined
  const rogues: Rogue[] = []

  afterEach(async () => {
    await Promise.allSettled(rogues.splice(0).map(async r => r.stop()))
    await mesh?.stop()
    mesh = undefined
  })

  it('acknowledges the send after a bounded number of rounds, not a request timeout per identity', async () => {
    const requestTimeoutMs = 1000
    const identities = 16
    const m = mesh = await startMesh(1, { timings: { ...TEST_TIMINGS, requestTimeoutMs } })
    const node = m.nodes[0] as MeshchatNode
    let asked = 0
    for (let i = 0; i < identities; i++) {
      const r = await startRogue(m.meshKey)
      rogues.push(r)
      await r.serveSync(async () => {
        asked++
        return new Promise<never>(() => {})
      })
      await r.join([node])
    }
    const alice = await m.client(node, 'alice', { requestTimeoutMs: 60_000 })
    await alice.join('lonely')

    const started = performance.now()
    const sent = await alice.send('lonely', 'is anyone keeping a copy?')
    const tookMs = performance.now() - started

    // asked one at a time, the send waited a request timeout for each identity: 16 s. Now the first
    // peer (1 s), then CONFIRM_FANOUT at once (1 s), and no round starts after CONFIRM_TIMEOUTS
    // request timeouts; a round that started just before then may run its course
    expect(CONFIRM_TIMEOUTS).toBe(2)
    expect(asked).toBeGreaterThan(1)
    expect(asked).toBeLessThanOrEqual(1 + 2 * CONFIRM_FANOUT)
    expect(tookMs).toBeGreaterThanOrEqual(2 * requestTimeoutMs - 100)
    expect(tookMs).toBeLessThan(identities * requestTimeoutMs / 2)
    // the event is stored here and given its place
    expect(node.store.count('lonely')).toBe(1)
    expect(sent.cursor).not.toBe('')

    // the next send passes by the identities that did not answer and asks the others: as bounded
    const again = performance.now()
    await alice.send('lonely', 'still nobody?')
    expect(performance.now() - again).toBeLessThan(identities * requestTimeoutMs / 2)
    expect(node.store.count('lonely')).toBe(2)
  }, 90_000)

  it('ends a round as soon as one asked confirms, without waiting for the ones that never answer', async () => {
    const requestTimeoutMs = 3000
    const m = mesh = await startMesh(1, { timings: { ...TEST_TIMINGS, requestTimeoutMs } })
    const node = m.nodes[0] as MeshchatNode
    let stored = 0
    // one identity that keeps copies, then seven that never answer: after the bootstrap daemon (which
    // keeps no archive: refused at once) all eight are asked in the same round
    for (let i = 0; i < 1 + 7; i++) {
      const r = await startRogue(m.meshKey)
      rogues.push(r)
      await r.serveSync(async () => {
        if (i > 0) return new Promise<never>(() => {})
        stored++
        return { ok: { count: 1 } }
      })
      await r.join([node])
    }
    const alice = await m.client(node, 'alice', { requestTimeoutMs: 60_000 })
    await alice.join('crowd')
    const started = performance.now()
    await alice.send('crowd', 'one of you keeps it')
    const tookMs = performance.now() - started
    expect(stored).toBe(1)
    expect(tookMs).toBeLessThan(requestTimeoutMs / 2)
  }, 90_000)

  it('waits for a carrier of the room that never answers once, not on every send', async () => {
    const requestTimeoutMs = 3000
    const m = mesh = await startMesh(1, { timings: { ...TEST_TIMINGS, requestTimeoutMs } })
    const node = m.nodes[0] as MeshchatNode
    const r = await startRogue(m.meshKey)
    rogues.push(r)
    await r.serveSync(async () => new Promise<never>(() => {}))
    await r.join([node])
    const alice = await m.client(node, 'alice', { requestTimeoutMs: 60_000 })
    await alice.join('small')
    // the rogue carries the room, as far as gossipsub tells the node: the event is handed to it, and
    // with no other carrier the acknowledgement waits for its answer
    r.host.services.pubsub.subscribe(roomTopic('small'))
    await waitFor(() => node.mesh.services.pubsub.getSubscribers(roomTopic('small')).some(p => p.toString() === r.id),
      { what: 'the node to see the rogue carry the room' })

    const took: number[] = []
    for (let i = 0; i < 4; i++) {
      const started = performance.now()
      await alice.send('small', `m${i}`)
      took.push(performance.now() - started)
    }
    // the first send waited a request timeout for the rogue's answer
    expect(took[0]).toBeGreaterThanOrEqual(requestTimeoutMs - 100)
    // the next ones did not wait for it (each waited a request timeout before)
    expect(UNANSWERED_MS).toBeGreaterThan(4 * requestTimeoutMs)
    for (const ms of took.slice(1)) expect(ms).toBeLessThan(requestTimeoutMs / 2)
    expect(node.store.count('small')).toBe(4)
    const page = await alice.history('small', { limit: 10 })
    expect(page.messages.map(msg => msg.text)).toEqual(['m0', 'm1', 'm2', 'm3'])
  }, 90_000)
})
