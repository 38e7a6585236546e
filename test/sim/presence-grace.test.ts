/**
 * The presence grace of both client edges: a connection that drops without the client saying it is
 * leaving keeps its device in presence for `presenceGraceMs`, so a client that reconnects within it
 * shows no leave and no join to anyone; one that does not come back leaves when the grace ends; one
 * that closes (1000) leaves at once. The libp2p gateway holds a device whose stream broke the
 * same way. Real nodes, real WebSockets and libp2p connections.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import type { ChatClient } from '../../client/src/node.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

const GRACE_MS = 1500

async function grace (node: MeshchatNode, outcome: string): Promise<number> {
  const m = await node.metrics.presenceGrace.get()
  return m.values.filter(v => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0)
}

/** every presence event a client sees, as `kind room user` */
function presenceLog (c: ChatClient): string[] {
  const log: string[] = []
  c.addEventListener('presence:join', e => { log.push(`join ${e.detail.room} ${e.detail.member.userId}`) })
  c.addEventListener('presence:leave', e => { log.push(`leave ${e.detail.room} ${e.detail.userId}`) })
  return log
}

describe('presence grace on the client edges', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  async function light (node: MeshchatNode, name: string): Promise<ChatClient> {
    const c = createNodeClient({ name, addrs: [node.wsUrls()[0]!], keyStore: memoryKeyStore(), redirect: false, backoff: { minMs: 50, maxMs: 100 } })
    mesh!.clients.push(c)
    await c.connect()
    return c
  }

  /**
   * Two nodes; ann and `bob` on a, cal on b, all in den. bob's connection then drops and comes back
   * at once: the dropped device is held and returned, and neither ann nor cal sees a leave or a join.
   */
  async function denOfThree (bobOn: (a: MeshchatNode) => Promise<ChatClient>): Promise<{ a: MeshchatNode, b: MeshchatNode, ann: ChatClient, bob: ChatClient, cal: ChatClient, annSaw: string[], calSaw: string[] }> {
    mesh = await startMesh(2, { http: '127.0.0.1:0', presenceGraceMs: GRACE_MS })
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const ann = await light(a, 'ann')
    const bob = await bobOn(a)
    const cal = await light(b, 'cal')
    for (const c of [ann, bob, cal]) await c.join('den')
    await waitFor(() => [ann, cal].every(c => c.roster('den').length === 3), { what: 'everyone in den seen by ann and cal' })
    const annSaw = presenceLog(ann)
    const calSaw = presenceLog(cal)

    // bob's connection drops (the client drops it to reconnect, as on a network failure): it comes back at once
    const firstDevice = [...a.registry.userSessions(bob.userId)].map(s => s.id)
    bob.disconnect()
    await waitFor(() => bob.state === 'connected' && [...a.registry.userSessions(bob.userId)].some(s => !firstDevice.includes(s.id)) && bob.roster('den').length === 3,
      { what: 'bob back on a, in den' })
    expect(a.hub.lingeringDevices, 'the dropped device is held').toBe(1)
    await waitFor(async () => await grace(a, 'returned') === 1, { timeoutMs: GRACE_MS + 10_000, what: 'the grace to end with bob back' })
    expect(a.hub.lingeringDevices).toBe(0)
    expect(await grace(a, 'held')).toBe(1)
    // a presence change would have reached cal on the other node by now: there was none
    await waitFor(() => b.presence.roster('den').find(m => m.userId === bob.userId) != null, { what: 'b to hold bob' })
    expect(annSaw, 'ann saw no leave and no join').toEqual([])
    expect(calSaw, 'cal (on another node) saw no leave and no join').toEqual([])
    return { a, b, ann, bob, cal, annSaw, calSaw }
  }

  it('a dropped connection that comes back within the grace shows no leave and no join; one that does not leaves when it ends; a close leaves at once', async () => {
    const { a, b, ann, bob, cal, annSaw } = await denOfThree(async a => await light(a, 'bob'))
    expect(a.presence.roster('den').filter(m => m.userId === bob.userId).map(m => m.nodes)).toEqual([[a.nodeId]])

    // cal drops and stays away: its node keeps carrying den for a member (cal was its only one) and shows cal until the grace ends
    cal.disconnect({ reconnect: false })
    await waitFor(() => b.hub.lingeringDevices === 1, { what: 'b to hold cal\'s device' })
    expect(b.rooms.reasons('den'), 'b still carries den for a member of its own').toContain('local')
    expect(annSaw, 'no leave yet').toEqual([])
    // a DM to cal meanwhile is not lost: cal's node has no session to give it to, so it waits in the mailbox
    const sent = await ann.dm(cal.userId, 'are you there?')
    expect(sent.state).toBe('queued')
    await waitFor(() => annSaw.includes(`leave den ${cal.userId}`), { timeoutMs: GRACE_MS + 10_000, what: 'ann to see cal leave when the grace ends' })
    expect(await grace(b, 'expired')).toBe(1)
    // (b may still keep den's history as one of its archive copies, but not for a member of its own)
    await waitFor(() => !b.rooms.reasons('den').includes('local'), { what: 'b to stop carrying den for a member' })
    const dm = new Promise<string>(resolve => { cal.addEventListener('dm', e => { resolve(e.detail.text) }, { once: true }) })
    await cal.connect()
    expect(await dm).toBe('are you there?')

    // a client that closes is leaving: no grace
    const heldBefore = await grace(a, 'held')
    await bob.close()
    await waitFor(() => annSaw.includes(`leave den ${bob.userId}`), { what: 'ann to see bob leave' })
    expect(a.hub.lingeringDevices).toBe(0)
    expect(await grace(a, 'held')).toBe(heldBefore)
  })

  it('holds a libp2p client\'s device when its stream breaks, not when it closes', async () => {
    // bob on a's libp2p gateway: its disconnect resets the stream, as a network failure would
    const { a, ann, bob, annSaw, calSaw } = await denOfThree(async a => {
      const c = createNodeClient({ name: 'bob', addrs: [tcpGateway(a)], keyStore: memoryKeyStore(), redirect: false, backoff: { minMs: 50, maxMs: 100 } })
      mesh!.clients.push(c)
      await c.connect()
      return c
    })

    // a reset with no return: held, then gone when the grace ends
    bob.disconnect({ reconnect: false })
    await waitFor(() => a.hub.lingeringDevices === 1, { what: 'a to hold bob\'s device' })
    expect(annSaw).toEqual([])
    await waitFor(() => calSaw.includes(`leave den ${bob.userId}`), { timeoutMs: GRACE_MS + 10_000, what: 'cal to see bob leave when the grace ends' })
    expect(await grace(a, 'expired')).toBe(1)

    // a client that closes its stream is leaving: no grace
    await bob.connect()
    await waitFor(() => ann.roster('den').some(m => m.userId === bob.userId), { what: 'bob back in den' })
    const heldBefore = await grace(a, 'held')
    await bob.close()
    await waitFor(() => annSaw.filter(l => l === `leave den ${bob.userId}`).length === 2, { what: 'ann to see bob leave again' })
    expect(a.hub.lingeringDevices).toBe(0)
    expect(await grace(a, 'held')).toBe(heldBefore)
  })

  it('holds nothing with a grace of 0, and lets every held device go when the node stops', async () => {
    mesh = await startMesh(1, { http: '127.0.0.1:0', presenceGraceMs: 0 })
    const [a] = mesh.nodes as [MeshchatNode]
    const ann = await light(a, 'ann')
    const bob = await light(a, 'bob')
    for (const c of [ann, bob]) await c.join('den')
    await waitFor(() => ann.roster('den').length === 2, { what: 'ann to see bob' })
    const annSaw = presenceLog(ann)
    bob.disconnect({ reconnect: false })
    await waitFor(() => annSaw.includes(`leave den ${bob.userId}`), { what: 'bob to leave at once' })
    expect(a.hub.lingeringDevices).toBe(0)
    expect(await grace(a, 'held')).toBe(0)

    const c = await startMesh(1, { http: '127.0.0.1:0', presenceGraceMs: 60_000, maxRoomMembers: 2 })
    try {
      const [n] = c.nodes as [MeshchatNode]
      const client = async (name: string): Promise<ChatClient> => {
        const x = createNodeClient({ name, addrs: [n.wsUrls()[0]!], keyStore: memoryKeyStore(), reconnect: false })
        c.clients.push(x)
        await x.connect()
        return x
      }
      const dan = await client('dan')
      const eve = await client('eve')
      await dan.join('den')
      await eve.join('den')
      dan.disconnect({ reconnect: false })
      await waitFor(() => n.hub.lingeringDevices === 1, { what: 'dan\'s device held' })
      expect(n.presence.roster('den').map(m => m.userId).sort()).toEqual([dan.userId, eve.userId].sort())
      // a held device keeps its place in a full room (it is in the room's stream): a third member is refused
      const fay = await client('fay')
      await expect(fay.join('den')).rejects.toMatchObject({ name: 'NodeFullError' })
      // dan's own return takes the held device's place
      await dan.connect()
      await waitFor(() => dan.state === 'connected' && n.hub.lingeringDevices === 0, { what: 'dan back in den' })
      expect(await grace(n, 'replaced')).toBe(1)
      expect(n.presence.roster('den').map(m => m.userId).sort()).toEqual([dan.userId, eve.userId].sort())
      dan.disconnect({ reconnect: false })
      await waitFor(() => n.hub.lingeringDevices === 1, { what: 'dan\'s device held again' })
      await n.stop({ graceful: true })
      expect(n.hub.lingeringDevices).toBe(0)
      expect(await grace(n, 'released')).toBe(1)
    } finally {
      await c.stop()
    }
  })
})
