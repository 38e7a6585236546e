import { afterEach, describe, expect, it } from 'vitest'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { SYNC_PROTOCOL } from '../../client/src/protocol/ids.js'
import type { TestMesh } from '../helpers/mesh.js'

/**
 * A node with no other chat node looks for a replica among every connected peer. A bootstrap daemon
 * is such a peer and does not serve the archive's protocol: once it has refused, it is not asked
 * again for every message (each ask is a stream to open and be refused on both sides).
 */
describe('the search for a replica', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  it('asks a peer that does not serve the archive once, not for every message, and every send is still acknowledged and stored', async () => {
    mesh = await startMesh(1)
    const node = mesh.nodes[0]!
    const boot = mesh.bootstrap.peerId
    await waitFor(() => node.mesh.getPeers().some(p => p.toString() === boot), { timeoutMs: 30_000, what: 'the node connected to the bootstrap' })
    let asked = 0
    const dial = node.mesh.dialProtocol.bind(node.mesh)
    node.mesh.dialProtocol = (async (peer: Parameters<typeof dial>[0], protocols: Parameters<typeof dial>[1], opts?: Parameters<typeof dial>[2]) => {
      const list = Array.isArray(protocols) ? protocols : [protocols]
      if (String(peer) === boot && list.includes(SYNC_PROTOCOL)) asked++
      return dial(peer, protocols, opts)
    }) as typeof node.mesh.dialProtocol
    const alice = await mesh.client(node, 'alice')
    await alice.join('solo')
    for (let i = 0; i < 30; i++) await alice.send('solo', `m${i}`)
    const page = await alice.history('solo', { limit: 50 })
    expect(page.messages.map(m => m.text)).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`))
    expect(asked).toBe(1)
  }, 60_000)
})
