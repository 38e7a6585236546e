import { afterEach, describe, expect, it } from 'vitest'
import { startMesh, waitFor } from '../helpers/mesh.js'
import type { TestMesh } from '../helpers/mesh.js'

// a file of its own: libp2p's Prometheus metrics are registered once per process (the first node's
// registry gets them), so this test needs a process where no node has registered them yet

describe('HTTP /metrics without libp2p\'s own metrics', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  it('leaves libp2p\'s own metrics out when told to, and keeps its own and the process ones', async () => {
    mesh = await startMesh(2, { http: '127.0.0.1:0', libp2pMetrics: false })
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    const alice = await mesh.client(a!, 'alice')
    const bob = await mesh.client(b!, 'bob')
    await alice.join('lean')
    await bob.join('lean')
    await waitFor(() => a!.mesh.services.pubsub.getSubscribers('meshchat/1/room/lean').length > 0, { what: 'topic peers' })
    const got = new Promise<string>(resolve => { alice.addEventListener('message', e => { resolve(e.detail.text) }, { once: true }) })
    await bob.send('lean', 'over the mesh')
    expect(await got).toBe('over the mesh')
    const text = await (await fetch(`${a!.http!.url}/metrics`)).text()
    expect(text).not.toMatch(/^libp2p_/m)
    expect(text).toMatch(/^meshchat_messages_in_total\{source="mesh",kind="room"\} 1$/m)
    expect(text).toMatch(/^meshchat_mesh_peers [1-9]/m)
    expect(text).toMatch(/^process_cpu_seconds_total /m)
  })
})
