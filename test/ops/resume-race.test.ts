import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { prefixLogger } from '@libp2p/logger'
import { afterEach, describe, expect, it } from 'vitest'
import { ServerFrame } from '../../client/src/protocol/pb/client.js'
import { openEvent, signEvent } from '../../client/src/protocol/signing.js'
import { positionOf } from '../../client/src/cursor.js'
import { ClientSession } from '../../node/src/gateway/session.js'
import { startMesh } from '../helpers/mesh.js'
import type { TestMesh } from '../helpers/mesh.js'

/**
 * The loss a rolling restart showed now and then (about 1 run in 13): a
 * client resuming on a node at the very moment another client's message was
 * published there got it neither live (it was handed to the room's members
 * just before this session became one) nor in its replay (read from the
 * store before the group commit had written it). Reproduced here without
 * timing luck: the publish and the join start in the same turn of the event
 * loop, so the replay is read before the group commit's turn comes.
 */
describe('a resume that races a publish', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop() })

  it('gets the message published just before it joined, by replay or live', async () => {
    // two nodes, so the room's first backfill finds a copy and is over before the race (a join waits for it)
    mesh = await startMesh(2)
    await mesh.converged(2)
    const node = mesh.nodes[0]!
    const bob = await mesh.client(mesh.nodes[1]!, 'bob')
    await bob.join('r')
    const alice = await mesh.client(node, 'alice')
    await alice.join('r')
    const before = await alice.send('r', 'before')
    await node.archive.ready('r')

    // another device, resuming the room from the message it saw last
    const user = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const frames: Uint8Array[] = []
    const session = new ClientSession({
      id: 'resuming-device',
      userId: user,
      host: node.hub,
      log: prefixLogger('test').forComponent('session'),
      budgets: node.config.budgets,
      helloTimeoutMs: 60_000,
      transport: { send: f => { frames.push(f) }, close: () => {} }
    })
    expect(node.hub.attach(session, { rooms: ['r'], noRedirect: true, affinity: false })).toBeUndefined()

    const key = await generateKeyPair('Ed25519')
    const event = await signEvent(key, 'carol', { kind: 'room', room: 'r', text: 'racing' }, { now: Date.now(), nonce: randomBytes(12) })
    const opened = await openEvent(event.bytes)
    // the same turn: the publish hands the event out and queues its commit, then the join starts
    const published = node.rooms.publish(opened)
    const joined = node.hub.join(session, 'r', positionOf(before.cursor), 0)
    await Promise.all([published, joined])

    const texts: string[] = []
    for (const f of frames) {
      const d = ServerFrame.decode(f).delivery
      if (d != null) texts.push((await openEvent(d.event)).text ?? '')
    }
    expect(texts, 'what the resuming device was sent').toContain('racing')
    expect(texts.filter(t => t === 'racing')).toHaveLength(1)
    session.close()
    node.hub.detach(session)
  })
})
