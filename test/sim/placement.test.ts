import { afterEach, describe, expect, it } from 'vitest'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import type { TestMesh } from '../helpers/mesh.js'

describe('placement: welcome alternates, redirects, limits', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  it('the welcome names the mesh size and the other nodes, lightest first', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes
    // a welcome before b's load changes: the next one must not repeat it (a node keeps the part of
    // the welcome every session is told until a report of another node changes it)
    await waitFor(() => (a!.presence.replica.nodes().find(n => n.id === b!.nodeId)?.meta?.gatewayAddrs.length ?? 0) > 0, { what: 'b\'s addresses known on a' })
    const early = await mesh.client(a!, 'early')
    expect(early.welcomeInfo!.alternates.find(n => n.id === b!.nodeId)?.clients).toBe(0)
    for (let i = 0; i < 3; i++) await mesh.client(b!, `load${i}`)
    await waitFor(() => a!.presence.replica.nodes().find(n => n.id === b!.nodeId)?.meta?.load.clients === 3, { what: 'b\'s load in a heartbeat' })
    const x = await mesh.client(a!, 'x')
    const w = x.welcomeInfo!
    expect(w.userId).toBe(x.userId)
    expect(early.welcomeInfo!.userId).toBe(early.userId)
    expect(w.nodeId).toBe(a!.nodeId)
    expect(w.meshSize).toBe(3)
    expect(w.alternates.map(n => n.id)).toEqual([c!.nodeId, b!.nodeId])
    expect(w.alternates[1]!.clients).toBe(3)
    expect(w.alternates[0]!.addrs.some(addr => addr.endsWith(c!.nodeId))).toBe(true)
  })

  it('a full node redirects new clients to a node with room; with nowhere to go it refuses with NODE_FULL', async () => {
    mesh = await startMesh(2, { maxClients: 1 })
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    await mesh.client(a!, 'first')
    const redirects: string[] = []
    const second = createNodeClient({ name: 'second', addrs: [tcpGateway(a!)], keyStore: memoryKeyStore() })
    mesh.clients.push(second)
    second.addEventListener('redirect', e => redirects.push(`${e.detail.reason}:${e.detail.to}`))
    await waitFor(() => a!.presence.replica.nodes().find(n => n.id === b!.nodeId)?.meta?.load.maxClients === 1, { what: 'b\'s limit known on a' })
    const w = await second.connect()
    expect(w.nodeId).toBe(b!.nodeId)
    expect(redirects).toEqual([`full:${b!.nodeId}`])
    // both nodes are now full
    await waitFor(() => a!.presence.replica.nodes().find(n => n.id === b!.nodeId)?.meta?.load.clients === 1, { what: 'b full, as a sees it' })
    const third = createNodeClient({ name: 'third', addrs: [tcpGateway(a!)], keyStore: memoryKeyStore(), reconnect: false })
    mesh.clients.push(third)
    await expect(third.connect()).rejects.toMatchObject({ name: 'NodeFullError', code: 12 })
    expect(a!.registry.size).toBe(1)
  })

  it('with affinity, a client is placed on the node that already hosts its rooms', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes
    // the room's members all sit on c
    for (let i = 0; i < 2; i++) {
      const m = await mesh.client(c!, `local${i}`)
      await m.join('team')
    }
    await waitFor(() => a!.presence.roomHosts('team').join() === c!.nodeId, { what: 'the room\'s host known on a' })
    // a client that asks for affinity and names its rooms moves to c; one that does not stays put
    const withAffinity = createNodeClient({ name: 'joiner', addrs: [tcpGateway(a!)], keyStore: memoryKeyStore(), affinity: true, rooms: ['team'] })
    mesh.clients.push(withAffinity)
    const w = await withAffinity.connect()
    expect(w.nodeId).toBe(c!.nodeId)
    // and it is in the room it named
    expect(withAffinity.joined).toEqual(['team'])
    await waitFor(() => withAffinity.roster('team').length === 3, { what: 'the joiner in the team roster' })
    const plain = await mesh.client(b!, 'plain')
    expect(plain.nodeId).toBe(b!.nodeId)
  })
})
