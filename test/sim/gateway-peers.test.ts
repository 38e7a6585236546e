import { afterEach, describe, expect, it } from 'vitest'
import { startMesh, waitFor } from '../helpers/mesh.js'
import type { TestMesh } from '../helpers/mesh.js'

describe('gateway: client identities are not kept after they leave', () => {
  let mesh: TestMesh | undefined

  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  it('the peer store holds the connected clients only: 120 identities come and go, none stays', async () => {
    mesh = await startMesh(1)
    const node = mesh.nodes[0]!
    const clientRecords = async (): Promise<number> =>
      (await node.gateway.peerStore.all()).filter(p => !p.id.equals(node.gateway.peerId)).length

    // 3 stay attached throughout
    const stay = await Promise.all([0, 1, 2].map(async i => mesh!.client(node, `stay${i}`)))
    for (const c of stay) await c.join('lobby')
    for (let round = 0; round < 12; round++) {
      const batch = await Promise.all(Array.from({ length: 10 }, async (_, i) => mesh!.client(node, `visitor${round}-${i}`)))
      await Promise.all(batch.map(async c => c.join('lobby')))
      expect(await clientRecords()).toBeGreaterThanOrEqual(10)
      await Promise.all(batch.map(async c => c.close()))
    }
    // the visitors' records go as their connections close; the three attached clients' stay
    await waitFor(async () => (await clientRecords()) === 3, { timeoutMs: 30_000, what: 'only the attached clients in the gateway peer store' })
    const ids = new Set((await node.gateway.peerStore.all()).map(p => p.id.toString()))
    for (const c of stay) expect(ids.has(c.userId)).toBe(true)
    // and they still chat
    const got = new Promise<string>(resolve => { stay[1]!.addEventListener('message', (e: Event) => { resolve((e as CustomEvent<{ text: string }>).detail.text) }, { once: true }) })
    await stay[0]!.send('lobby', 'still here')
    expect(await got).toBe('still here')
  }, 120_000)
})
