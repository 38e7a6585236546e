import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { prefixLogger } from '@libp2p/logger'
import { afterEach, describe, expect, it } from 'vitest'
import { ClientSession } from '../../node/src/gateway/session.js'
import { startMesh, waitFor } from '../helpers/mesh.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

async function internalErrors (node: MeshchatNode): Promise<number> {
  return (await node.metrics.internalErrors.get()).values.reduce((a, v) => a + v.value, 0)
}

describe('a session that attaches and goes within one presence batch', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop() })

  it('leaves no device behind, in its node\'s directory or at the user\'s owners, however often it happens', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const node = mesh.nodes[0]!
    const other = mesh.nodes[1]!
    const user = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const log = prefixLogger('test').forComponent('session')
    const session = (id: string): ClientSession => new ClientSession({
      id,
      userId: user,
      host: node.hub,
      log,
      budgets: node.config.budgets,
      helloTimeoutMs: 60_000,
      transport: { send: () => {}, close: () => {} }
    })
    const mine = (n: MeshchatNode): string[] => n.directory.local.devices().filter(d => d.userId === user).map(d => d.deviceId)

    // more than a user may have devices at an owner (64): each attach and detach in the same turn,
    // so both are in one batch of presence changes
    const flaps = 70
    for (let i = 0; i < flaps; i++) {
      const s = session(`flap-${i}`)
      expect(node.hub.attach(s, { rooms: [], noRedirect: true, affinity: false })).toBeUndefined()
      s.close()
      node.hub.detach(s)
      if (i % 10 === 9) await node.presence.published()
    }
    // one device that stays: what the owners should end up with
    const stays = session('stays')
    expect(node.hub.attach(stays, { rooms: [], noRedirect: true, affinity: false })).toBeUndefined()
    await node.presence.published()

    await waitFor(async () => (await other.directory.lookup(user)).length === 1, { timeoutMs: 20_000, what: 'the other owner to hold the staying device alone' })
    expect((await other.directory.lookup(user)).map(r => r.deviceId)).toEqual(['stays'])
    expect((await node.directory.lookup(user)).map(r => r.deviceId)).toEqual(['stays'])
    expect(mine(node)).toEqual(['stays'])
    expect(await internalErrors(node)).toBe(0)
    expect(await internalErrors(other)).toBe(0)

    stays.close()
    node.hub.detach(stays)
    await node.presence.published()
    await waitFor(async () => (await other.directory.lookup(user)).length === 0, { timeoutMs: 20_000, what: 'the last device gone at the other owner' })
    expect(mine(node)).toEqual([])
  })
})
