/**
 * Room-scoped presence on real nodes: who is in a room is held only by the nodes carrying it,
 * global presence carries no users, a user in no shared room is found through the directory, and a
 * peer cannot push room presence for devices it does not host.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_TIMINGS, TEST_TIMINGS } from '../../node/src/config.js'
import { startMesh, waitFor } from '../helpers/mesh.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

describe('room-scoped presence', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  it('only the nodes hosting a room\'s members hold them (not its archive replicas); global presence holds no users; a user is found through the directory', async () => {
    // the first roster waits for c's first pull from den's host; on a loaded machine that pull can
    // take longer than the default second, so the wait is long here: the snapshot itself is checked
    mesh = await startMesh(4, { timings: { ...DEFAULT_TIMINGS, firstRosterWaitMs: 20_000 } })
    await mesh.converged(4)
    const [a, b, c, d] = mesh.nodes
    const ann = await mesh.client(a!, 'ann')
    const amy = await mesh.client(a!, 'amy')
    await ann.join('den')
    await amy.join('den')
    await waitFor(() => ann.roster('den').length === 2, { what: 'the den roster on ann' })
    // the room's archive owners: a (the host) and one more; every node agrees
    const owners = a!.archive.owners('den')
    for (const n of mesh.nodes) {
      await waitFor(() => n.presence.roomHosts('den').join() === a!.nodeId, { what: `${n.nodeId.slice(-6)} to know den's host` })
      expect(n.archive.owners('den'), 'owners agree').toEqual(owners)
    }
    expect(owners.length, 'den is kept on a and one more node').toBe(2)
    await waitFor(() => a!.presence.roster('den').length === 2, { what: 'a (the host) to hold den\'s members' })
    await waitFor(() => mesh!.nodes.filter(n => n.rooms.isSubscribed('den')).length === 2, { what: 'the other archive replica to carry den' })
    for (const n of mesh.nodes) {
      const hosts = n === a
      // the other archive replica stores den's history and has no member of it: it follows nobody in it
      expect(n.presence.roomPresence.stats().devices, `${n.nodeId.slice(-6)} holds members only of rooms it hosts devices in`).toBe(hosts ? 2 : 0)
      if (!hosts) expect(n.presence.roster('den'), `${n.nodeId.slice(-6)} shows no den roster`).toEqual([])
      // the global replica holds nodes and hosted rooms, never a user
      expect(n.presence.replica.stats().devices, 'no user entries in global presence').toBe(0)
    }
    // a member joining on a node that followed nobody in den gets a snapshot with the members already there
    const cal = await mesh.client(c!, 'cal')
    // the snapshot is the roster event no diff led to (a diff dispatches presence:* then roster)
    const snapshots: string[][] = []
    let fromDiff = false
    for (const kind of ['presence:join', 'presence:update', 'presence:leave'] as const) cal.addEventListener(kind, () => { fromDiff = true })
    cal.addEventListener('roster', e => {
      if (e.detail.room === 'den' && !fromDiff) snapshots.push(e.detail.members.map(m => m.userId).sort())
      fromDiff = false
    })
    await cal.join('den')
    // (cal itself comes as a diff once its own entry is applied)
    expect(snapshots.length, 'one snapshot').toBe(1)
    expect(snapshots[0]!.filter(u => u !== cal.userId), 'the first roster holds ann and amy').toEqual([ann.userId, amy.userId].sort())
    await waitFor(() => cal.roster('den').length === 3, { what: 'cal to see itself in den too' })
    await cal.close()
    // a user on d, in no room, watched from b: answered by the directory, then followed as it changes
    const dan = await mesh.client(d!, 'dan')
    const watcher = await mesh.client(b!, 'watcher')
    const seen: Array<{ online: boolean, status: string }> = []
    watcher.addEventListener('user', e => { if (e.detail.userId === dan.userId) seen.push({ online: e.detail.online, status: e.detail.status }) })
    await watcher.watch([dan.userId])
    await waitFor(() => seen.some(s => s.online), { what: 'the watcher to see dan online' })
    await dan.setStatus('away')
    await waitFor(() => seen.at(-1)?.status === 'away', { what: 'the watcher to see dan away' })
    await dan.close()
    await waitFor(() => seen.at(-1)?.online === false, { what: 'the watcher to see dan offline' })
    // and a DM to a user in no shared room goes straight to that user's node
    const cat = await mesh.client(c!, 'cat')
    const got: string[] = []
    cat.addEventListener('dm', e => { got.push(e.detail.text) })
    await waitFor(() => a!.presence.userNodes(cat.userId).includes(c!.nodeId), { what: 'a to find cat on c through the directory' })
    expect(a!.presence.roomPresence.stats().devices, 'cat is in no room a carries').toBe(2)
    const r = await ann.dm(cat.userId, 'hello cat')
    expect(r.state).toBe('delivered')
    await waitFor(() => got.includes('hello cat'), { what: 'cat to get the DM' })
  })

  it('refuses a room presence push for devices the pushing node does not host, or from a peer that is no node', async () => {
    mesh = await startMesh(2, { timings: DEFAULT_TIMINGS })
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    const ann = await mesh.client(a!, 'ann')
    await ann.join('den')
    const bob = await mesh.client(b!, 'bob')
    await bob.join('den')
    await waitFor(() => a!.presence.roster('den').length === 2, { what: 'den on a' })
    const before = JSON.stringify(a!.presence.roster('den'))
    const incarnation = BigInt(b!.incarnation)
    const device = (deviceId: string): { userId: string, deviceId: string, name: string, away: boolean, since: bigint } =>
      ({ userId: ann.userId, deviceId, name: 'forged', away: true, since: 1n })
    const push = (deviceId: string): Parameters<MeshchatNode['presence']['answer']>[0] => ({
      push: { incarnation, deltas: [{ room: 'den', epoch: 99n, seq: 1n, ops: [{ put: device(deviceId), del: '' }] }], heads: [] }
    })
    // b speaking for a device of a's incarnation (ann's own session), and for a made-up incarnation
    const annDevice = `${a!.incarnation.toString(36)}-forged`
    for (const req of [push(annDevice), push('zz-1'), { push: { incarnation, deltas: [{ room: 'den', epoch: 99n, seq: 1n, ops: [{ del: annDevice }] }], heads: [] } }]) {
      const res = await a!.presence.answer(req, b!.nodeId)
      expect(res.error?.message, 'refused with a reason').toMatch(/does not host/)
    }
    // a room name that is not one, and a peer that is not a node (the bootstrap daemon)
    expect((await a!.presence.answer({ push: { incarnation, deltas: [{ room: 'a/b', epoch: 1n, seq: 1n, ops: [] }], heads: [] } }, b!.nodeId)).error).toBeDefined()
    expect((await a!.presence.answer(push(`${b!.incarnation.toString(36)}-x`), mesh.bootstrap.peerId)).error?.message).toMatch(/not a node/)
    expect(JSON.stringify(a!.presence.roster('den')), 'the roster is untouched').toBe(before)
    expect(a!.running).toBe(true)
    // and the honest stream still flows
    await bob.setStatus('away')
    await waitFor(() => a!.presence.roster('den').find(m => m.userId === bob.userId)?.status === 'away', { what: 'bob away on a' })
  })

  it('a join or leave that leaves a room\'s hosts as they were does not recompute archive ownership; a new host does', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    const ann = await mesh.client(a!, 'ann')
    await ann.join('den')
    for (const n of mesh.nodes) await waitFor(() => n.presence.roomHosts('den').join() === a!.nodeId, { what: 'den hosted by a everywhere' })
    const quiet = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 4 * TEST_TIMINGS.rebalanceDelayMs)) }
    await quiet()
    const runs = new Map<MeshchatNode, number>()
    for (const n of mesh.nodes) {
      runs.set(n, 0)
      const rebalance = n.archive.rebalance.bind(n.archive)
      n.archive.rebalance = () => { runs.set(n, (runs.get(n) ?? 0) + 1); rebalance() }
    }
    // members come and go on a, which hosts den all along: a reconnect's joins and leaves
    for (let i = 0; i < 5; i++) {
      const amy = await mesh.client(a!, `amy${i}`)
      await amy.join('den')
      await waitFor(() => a!.presence.roster('den').length === 2, { what: `amy${i} in den on a` })
      await amy.close()
      await waitFor(() => a!.presence.roster('den').length === 1, { what: `amy${i} gone from den on a` })
    }
    await quiet()
    expect([...runs.values()], 'no rebalance on either node').toEqual([0, 0])
    expect(a!.archive.owners('den')).toContain(a!.nodeId)
    // bob on b makes b a host of den: ownership is looked at again on both nodes
    const bob = await mesh.client(b!, 'bob')
    await bob.join('den')
    for (const n of mesh.nodes) await waitFor(() => n.presence.roomHosts('den').length === 2, { what: 'den hosted by a and b everywhere' })
    await waitFor(() => [...runs.values()].every(r => r > 0), { what: 'a rebalance on both nodes' })
  })
})
