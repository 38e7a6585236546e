import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_TIMINGS, TEST_TIMINGS } from '../../node/src/config.js'
import { PRESENCE_TOPIC } from '../../client/src/protocol/ids.js'
import { PresenceMessage } from '../../client/src/protocol/pb/mesh.js'
import { openPresence } from '../../node/src/mesh/presence-wire.js'
import { startMesh, waitFor } from '../helpers/mesh.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { ChatClient } from '../../client/src/node.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** H of the default timing profile, which the bounds are stated in */
const H = DEFAULT_TIMINGS.heartbeatMs

/** the room roster as node `n` sees it: user id → sorted nodes */
function rosterOn (n: MeshchatNode, room: string): Record<string, string[]> {
  return Object.fromEntries(n.presence.replica.roomRoster(room).map(m => [m.userId, m.nodes]))
}

/** cut every mesh connection between two groups and refuse redials both ways */
async function partition (a: MeshchatNode[], b: Array<MeshchatNode | { mesh: MeshchatNode['mesh'], linkControl: MeshchatNode['linkControl'] }>): Promise<void> {
  const ids = (g: typeof b): string[] => g.map(n => n.mesh.peerId.toString())
  for (const n of a) n.linkControl.block(ids(b))
  for (const n of b) n.linkControl.block(ids(a))
  for (const n of a) {
    for (const other of b) await n.mesh.hangUp(other.mesh.peerId).catch(() => {})
  }
}

function heal (all: Array<{ linkControl: MeshchatNode['linkControl'], mesh: MeshchatNode['mesh'] }>): void {
  const ids = all.map(n => n.mesh.peerId.toString())
  for (const n of all) n.linkControl.unblock(ids)
}

describe('presence across the mesh', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  it('(a) a join on node A is visible to a client on node C within 2 s', async () => {
    mesh = await startMesh(3, { timings: DEFAULT_TIMINGS })
    await mesh.converged(3)
    const [a, , c] = mesh.nodes
    const carol = await mesh.client(c!, 'carol')
    await carol.join('plaza')
    const alice = await mesh.client(a!, 'alice')
    const seen = new Promise<number>(resolve => {
      carol.addEventListener('presence:join', e => { if (e.detail.member.userId === alice.userId) resolve(Date.now()) })
    })
    const start = Date.now()
    await alice.join('plaza')
    // a generous deadline for a loaded machine: the time is printed, the bound (p99 ≤ 1 s) is the benchmark's
    const at = await Promise.race([seen, new Promise<number>(resolve => setTimeout(() => { resolve(-1) }, 10_000))])
    expect(at, 'carol saw alice join').toBeGreaterThan(0)
    console.log(`a join on A was seen on C ${at - start} ms later`)
    const member = carol.roster('plaza').find(m => m.userId === alice.userId)
    expect(member?.name).toBe('alice')
    expect(member?.nodes).toEqual([a!.nodeId])
    expect(member?.status).toBe('online')
  })

  it('(b) a crashed node\'s users go offline on every other node within 3H + 1 s', async () => {
    mesh = await startMesh(4, { timings: DEFAULT_TIMINGS })
    await mesh.converged(4)
    const [a, b, c, d] = mesh.nodes
    // these users go down with their node (a crashed server takes its sessions with it; no failover here)
    const victims = [await mesh.client(d!, 'dora', { reconnect: false }), await mesh.client(d!, 'dan', { reconnect: false })]
    for (const v of victims) await v.join('hall')
    const watcher = await mesh.client(a!, 'watcher')
    await watcher.join('hall')
    // who is in the hall is held where the hall is carried; every node finds the users through the directory
    await waitFor(() => Object.keys(rosterOn(a!, 'hall')).length === 3, { what: 'node a to see the hall roster' })
    for (const n of [a!, b!, c!]) {
      await waitFor(() => victims.every(v => n.presence.user(v.userId)?.nodes.includes(d!.nodeId) === true), { what: `node ${n.nodeId.slice(-6)} to find the victims on d` })
    }
    const start = Date.now()
    await d!.crash()
    // the promised bound is 3H + 1 s; the test allows a loaded machine far more and prints the time,
    // the bound itself is checked by the benchmark's presence section
    const deadline = 3 * (3 * H + 1000)
    for (const n of [a!, b!, c!]) {
      await waitFor(() => victims.every(v => n.presence.replica.user(v.userId) == null), { timeoutMs: deadline, what: `node ${n.nodeId.slice(-6)} to drop the crashed node's users` })
      // the users may go sooner (a directory owner that saw the crash first tells its watchers); the node itself goes too
      await waitFor(() => !n.presence.replica.liveNodes().includes(d!.nodeId), { timeoutMs: Math.max(1, deadline - (Date.now() - start)), what: `node ${n.nodeId.slice(-6)} to mark d down` })
      console.log(`node ${n.nodeId.slice(-6)} dropped the crashed node and its users ${Date.now() - start} ms after the crash (3H + 1 s = ${3 * H + 1000} ms)`)
    }
    await waitFor(() => watcher.roster('hall').length === 1, { timeoutMs: 10_000, what: 'the watcher\'s roster to shrink' })
    expect(watcher.roster('hall').map(m => m.userId)).toEqual([watcher.userId])
  })

  it('(b\') a hung node (connected but silent) is marked down within 3H + 1 s', async () => {
    mesh = await startMesh(3, { timings: DEFAULT_TIMINGS })
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes
    const u = await mesh.client(c!, 'stuck', { reconnect: false })
    await u.join('hall')
    await waitFor(() => a!.presence.replica.user(u.userId) != null && b!.presence.replica.user(u.userId) != null, { what: 'user visible' })
    const start = Date.now()
    await c!.hang()
    for (const n of [a!, b!]) {
      // the bound (3H + 1 s) is measured by the benchmark; here: it happens, within a deadline a loaded machine meets
      await waitFor(() => n.presence.replica.user(u.userId) == null, { timeoutMs: 3 * H + 15_000, what: 'silent node marked down' })
      // the connection is still there: this was detected by heartbeat silence alone
      expect(n.mesh.getConnections(c!.mesh.peerId).length).toBeGreaterThan(0)
    }
    console.log(`hung node: users offline after ${Date.now() - start} ms`)
  })

  it('a connection whose peer stops beating is closed by the nodes at the other end (a redial finds out whether the peer is there)', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const stale = 5 * TEST_TIMINGS.downAfterMs
    for (const n of [a, b]) await waitFor(() => n.mesh.getConnections(c.mesh.peerId).length > 0, { what: `${n.nodeId} connected to c` })
    // a few beats on those connections
    await sleep(4 * TEST_TIMINGS.heartbeatMs)
    const before = new Map([a, b].map(n => [n, n.mesh.getConnections(c.mesh.peerId)]))
    const start = Date.now()
    await c.hang()
    await waitFor(() => !a.presence.replica.liveNodes().includes(c.nodeId), { timeoutMs: 3 * TEST_TIMINGS.heartbeatMs + 15_000, what: 'c down on a' })
    // the connections c had no beat on any more are closed (c's own libp2p still answers, so the
    // dialers may connect again: a hung node's process is there, a crashed host's would not be)
    for (const [n, conns] of before) {
      await waitFor(() => conns.every(conn => conn.status !== 'open'), { timeoutMs: stale + 15_000, what: `${n.nodeId} to close its connections to the silent node` })
    }
    console.log(`silent peer: connections closed after ${Date.now() - start} ms (beats stale after ${stale} ms)`)
    // the other two stay connected and up
    expect(a.mesh.getConnections(b.mesh.peerId).every(conn => conn.status === 'open')).toBe(true)
    expect(a.presence.replica.liveNodes()).toContain(b.nodeId)
    expect(b.presence.replica.liveNodes()).toContain(a.nodeId)
  })

  it('(c) a partition then heal converges to the same rosters, no ghosts, nobody missing, within 5 s', async () => {
    mesh = await startMesh(5, { timings: DEFAULT_TIMINGS })
    await mesh.converged(5)
    const nodes = mesh.nodes
    const clients: ChatClient[] = []
    for (const [i, n] of nodes.entries()) {
      const c = await mesh.client(n, `user${i}`)
      await c.join('square')
      clients.push(c)
    }
    for (const n of nodes) await waitFor(() => Object.keys(rosterOn(n, 'square')).length === 5, { what: 'initial roster everywhere' })
    const left = nodes.slice(0, 2)
    const right = nodes.slice(2)
    // the bootstrap sits with the left side
    await partition([...left], [...right])
    for (const n of right) {
      n.linkControl.block([mesh.bootstrap.peerId])
      await n.mesh.hangUp(mesh.bootstrap.mesh.peerId).catch(() => {})
    }
    mesh.bootstrap.linkControl.block(right.map(n => n.nodeId))
    // each side sees the other side go down
    for (const n of left) await waitFor(() => n.presence.replica.liveNodes().length === 2, { timeoutMs: 3 * H + 3000, what: 'left side to drop the right' })
    for (const n of right) await waitFor(() => n.presence.replica.liveNodes().length === 3, { timeoutMs: 3 * H + 3000, what: 'right side to drop the left' })
    // changes on both sides while split: one user leaves on the left, one joins on the right, one goes away on the right
    await clients[0]!.close()
    const late = await mesh.client(right[0]!, 'late')
    await late.join('square')
    await clients[3]!.setStatus('away')
    const healedAt = Date.now()
    heal([...nodes, mesh.bootstrap])
    const expected = (): Record<string, string[]> => {
      const want: Record<string, string[]> = {}
      for (const c of [...clients.slice(1), late]) want[c.userId] = [c.nodeId ?? '']
      return want
    }
    // every node hosting members of the room shows exactly its members; one that hosts none (its last
    // member left, or it only keeps the room's history) holds nobody
    const want = (): string => JSON.stringify(Object.fromEntries(Object.entries(expected()).sort()))
    const hosts = (n: MeshchatNode): boolean => n.presence.localRooms.rooms().includes('square')
    const settled = (n: MeshchatNode): boolean => hosts(n)
      ? JSON.stringify(rosterOn(n, 'square')) === want()
      : n.presence.roster('square').length === 0
    // a generous deadline for a loaded machine: the time it took is printed, its bound is the benchmark's
    for (const n of nodes) {
      await waitFor(() => settled(n), { timeoutMs: 20_000, what: `node ${n.nodeId.slice(-6)} to converge after heal` })
    }
    console.log(`presence converged on every node ${Date.now() - healedAt} ms after the heal`)
    // statuses and names too (a change made while split travels with the room after the heal)
    const carriers = (): MeshchatNode[] => nodes.filter(hosts)
    await waitFor(() => carriers().every(settled) && new Set(carriers().map(n => JSON.stringify(n.presence.replica.roomRoster('square')))).size === 1, {
      timeoutMs: 20_000, what: 'every node carrying the room to hold the identical roster (names, statuses, nodes)'
    })
    expect(carriers().length, 'the room is followed on its members\' nodes').toBeGreaterThanOrEqual(3)
    const away = carriers()[0]!.presence.replica.roomRoster('square').find(m => m.userId === clients[3]!.userId)
    expect(away?.status).toBe('away')
    // and clients see it too: a client on the left sees the user who joined on the right
    await waitFor(() => clients[1]!.roster('square').some(m => m.userId === late.userId), { timeoutMs: 2000, what: 'client on the left sees the late joiner' })
    expect(clients[1]!.roster('square').some(m => m.userId === clients[0]!.userId), 'no ghost of the user who left').toBe(false)
  })

  it('(d) a node that joins late gets the full roster', async () => {
    mesh = await startMesh(3, { timings: DEFAULT_TIMINGS })
    await mesh.converged(3)
    const users: ChatClient[] = []
    for (const [i, n] of mesh.nodes.entries()) {
      for (let j = 0; j < 3; j++) {
        const c = await mesh.client(n, `u${i}-${j}`)
        await c.join('atrium')
        users.push(c)
      }
    }
    const late = await mesh.addNode({ timings: DEFAULT_TIMINGS })
    // it learns which nodes host the room, not who is in it: it does not carry the room
    await waitFor(() => late.presence.roomHosts('atrium').length === 3, { timeoutMs: 5000, what: 'the late node to learn the room\'s hosts' })
    expect(late.presence.roomPresence.carries('atrium')).toBe(false)
    expect(late.presence.roster('atrium')).toEqual([])
    const viewer = await mesh.client(late, 'viewer')
    await viewer.join('atrium')
    await waitFor(() => viewer.roster('atrium').length === users.length + 1, { what: 'the viewer\'s snapshot' })
    const names = viewer.roster('atrium').map(m => m.name).sort()
    expect(names).toEqual([...users.map((_, i) => `u${Math.floor(i / 3)}-${i % 3}`), 'viewer'].sort())
  })

  it('heartbeats leave the addresses out once they are known; a node that joins later pulls them', async () => {
    mesh = await startMesh(2, { timings: DEFAULT_TIMINGS })
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    // past the first heartbeats of each incarnation, which carry the addresses
    await new Promise(resolve => setTimeout(resolve, 5 * H))
    const late = await mesh.addNode({ timings: DEFAULT_TIMINGS })
    const beats: Array<{ node: string, omitted: boolean }> = []
    // every presence message reaches the topic's validator (a node's own copies are used there and go no further)
    const ps = late.mesh.services.pubsub
    const inner = ps.topicValidators.get(PRESENCE_TOPIC)
    if (inner == null) throw new Error('no presence validator')
    ps.topicValidators.set(PRESENCE_TOPIC, async (peer, msg) => {
      const opened = openPresence(msg.data)
      if (opened.kind === 'heartbeat') beats.push({ node: opened.heartbeat.node, omitted: opened.heartbeat.addrsOmitted === true })
      return await inner(peer, msg)
    })
    await mesh.converged(3)
    for (const n of [a!, b!]) {
      // the late node never saw these addresses on a heartbeat: they came with the full state it pulled
      await waitFor(() => late.presence.replica.nodes().find(v => v.id === n.nodeId)?.meta?.gatewayAddrs.join() === n.gatewayAddrs().join(), {
        timeoutMs: 20_000, what: `the late node to hold ${n.nodeId.slice(-6)}'s addresses`
      })
      expect(late.presence.replica.nodes().find(v => v.id === n.nodeId)?.meta?.meshAddrs.length).toBeGreaterThan(0)
    }
    // once a beats the late node directly, its signed heartbeat goes on the topic every 10th beat: two of
    // them can be 20 s apart from here
    await waitFor(() => beats.filter(x => x.node === a!.nodeId).length >= 2, { timeoutMs: 40_000, what: 'heartbeats of a on the late node' })
    expect(beats.filter(x => x.node === a!.nodeId).every(x => x.omitted), 'a\'s heartbeats leave its addresses out').toBe(true)
    // and the others learn the late node's addresses from its first heartbeats
    for (const n of [a!, b!]) {
      await waitFor(() => n.presence.replica.nodes().find(v => v.id === late.nodeId)?.meta?.gatewayAddrs.join() === late.gatewayAddrs().join(), { what: `${n.nodeId.slice(-6)} to hold the late node's addresses` })
    }
  }, 120_000)

  it('status changes and several devices of one user: online while any device is attached', async () => {
    mesh = await startMesh(2, { timings: DEFAULT_TIMINGS })
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    const observer = await mesh.client(a!, 'observer')
    const key = (await import('@libp2p/crypto/keys')).generateKeyPair
    const userKey = await key('Ed25519')
    const phone = await mesh.client(a!, 'sam', { privateKey: userKey })
    const laptop = await mesh.client(b!, 'sam', { privateKey: userKey })
    expect(phone.userId).toBe(laptop.userId)
    const states: boolean[] = []
    observer.addEventListener('user', e => { if (e.detail.userId === phone.userId) states.push(e.detail.online) })
    await waitFor(() => a!.presence.replica.user(phone.userId) != null, { what: 'the user in presence on a' })
    const initial = await observer.watch([phone.userId])
    expect(initial[0]?.online).toBe(true)
    await waitFor(() => a!.presence.replica.user(phone.userId)?.nodes.length === 2, { what: 'both devices in presence' })
    expect(a!.presence.replica.user(phone.userId)?.nodes).toEqual([a!.nodeId, b!.nodeId].sort())
    await phone.setStatus('away')
    // one device away, the other online: the user counts as online
    await waitFor(() => b!.presence.replica.user(phone.userId) != null, { what: 'user known on b' })
    expect(b!.presence.replica.user(phone.userId)?.status).toBe('online')
    await laptop.setStatus('away')
    await waitFor(() => a!.presence.replica.user(phone.userId)?.status === 'away', { what: 'all devices away → away' })
    await phone.close()
    await waitFor(() => a!.presence.replica.user(phone.userId)?.nodes.join() === b!.nodeId, { what: 'one device left' })
    expect(states.includes(false), 'still online while the laptop is attached').toBe(false)
    await laptop.close()
    await waitFor(() => states.at(-1) === false, { what: 'offline once the last device left' })
  })

  it('liveness rides on direct beats: once every node gets them, the signed heartbeat goes out every 10th beat, and nobody goes down', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const h = TEST_TIMINGS.heartbeatMs
    // a's heartbeats on the presence topic, as b's validator sees them
    const ps = b.mesh.services.pubsub
    const validate = ps.topicValidators.get(PRESENCE_TOPIC)!
    let signed = 0
    ps.topicValidators.set(PRESENCE_TOPIC, async (peer, msg) => {
      const m = openPresence(msg.data)
      if (m.kind === 'heartbeat' && m.heartbeat.node === a.nodeId) signed++
      return validate(peer, msg)
    })
    // a's direct beats, as b applies them
    const beaten = (): number => b.presence.replica.nodes().find(n => n.id === a.nodeId)?.lastHeard ?? 0
    // past the first beats of the incarnation (they carry the addresses and go out signed)
    await sleep(6 * h)
    const downs: string[] = []
    for (const n of [a, b, c]) {
      n.presence.addEventListener('change', evt => { for (const x of evt.detail.nodes) if (!x.up) downs.push(`${n.nodeId} saw ${x.node} down`) })
    }
    signed = 0
    const heardBefore = beaten()
    const beats = 20
    await sleep(beats * h)
    // at most one in ten beats, plus the once-a-minute address beat, plus one at either edge of the window
    expect(signed, 'signed heartbeats from a in 20 beats').toBeLessThanOrEqual(4)
    expect(beaten(), 'b kept hearing a').toBeGreaterThan(heardBefore)
    expect(downs, 'no node went down').toEqual([])
    expect(a.presence.replica.liveNodes().length).toBe(3)
    expect(b.presence.replica.liveNodes().length).toBe(3)
    expect(c.presence.replica.liveNodes().length).toBe(3)
    // and a crash is still seen: connections drop, and the beats stop
    const start = Date.now()
    await c.crash()
    await waitFor(() => !a.presence.replica.liveNodes().includes(c.nodeId) && !b.presence.replica.liveNodes().includes(c.nodeId),
      { timeoutMs: 3 * h + 1000 + 5000, what: 'the crashed node down everywhere' })
    console.log(`crash with direct beats: down everywhere after ${Date.now() - start} ms`)
  })

  it('a graceful stop announces departure at once', async () => {
    mesh = await startMesh(3, { timings: DEFAULT_TIMINGS })
    await mesh.converged(3)
    const [a, , c] = mesh.nodes
    const u = await mesh.client(c!, 'leaver', { reconnect: false })
    await u.join('hall')
    await waitFor(() => a!.presence.replica.user(u.userId) != null, { what: 'user visible' })
    const start = Date.now()
    await c!.stop({ graceful: true })
    await waitFor(() => a!.presence.replica.user(u.userId) == null, { timeoutMs: 15_000, what: 'goodbye processed' })
    console.log(`graceful stop: user offline after ${Date.now() - start} ms (the benchmark reports the times)`)
  })

  it('a restarted node comes back with a new incarnation and its old entries never return', async () => {
    mesh = await startMesh(2, { timings: DEFAULT_TIMINGS })
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    const u = await mesh.client(b!, 'ghost', { reconnect: false })
    await u.join('hall')
    await waitFor(() => a!.presence.replica.user(u.userId) != null, { what: 'user visible' })
    const key = b!.mesh.peerId
    const oldIncarnation = b!.incarnation
    await b!.crash()
    await u.close()
    const restarted = await mesh.addNode({ timings: DEFAULT_TIMINGS, privateKey: b!.privateKey })
    expect(restarted.mesh.peerId.equals(key)).toBe(true)
    expect(restarted.incarnation).toBeGreaterThan(oldIncarnation)
    await waitFor(() => a!.presence.replica.nodes().find(n => n.id === key.toString())?.incarnation === restarted.incarnation, { what: 'new incarnation seen' })
    expect(a!.presence.replica.user(u.userId), 'the old incarnation\'s user stays gone').toBeUndefined()
  })

  it('keeps the heartbeat small whatever the number of users', async () => {
    mesh = await startMesh(1, { timings: DEFAULT_TIMINGS })
    const [a] = mesh.nodes
    const sizes: number[] = []
    const sample = async (): Promise<number> => {
      const hb = a!.presence.local.heartbeat({ load: { clients: a!.registry.size, rooms: 1, maxClients: 10000 }, gatewayAddrs: a!.gatewayAddrs(), meshAddrs: a!.meshAddrs() })
      return PresenceMessage.encode({ heartbeat: { node: hb.node, incarnation: BigInt(hb.incarnation), seq: BigInt(hb.seq), gatewayAddrs: hb.meta.gatewayAddrs, meshAddrs: hb.meta.meshAddrs, load: hb.meta.load, httpUrl: '', beat: 1n, time: BigInt(Date.now()), metaVersion: hb.meta.version ?? 0, addrsOmitted: false } }).byteLength
    }
    sizes.push(await sample())
    for (let i = 0; i < 50; i++) {
      const c = await mesh.client(a!, `n${i}`)
      await c.join('big')
    }
    await waitFor(() => a!.presence.localRooms.entries().length === 50, { what: 'all 50 devices attached' })
    await waitFor(() => a!.presence.roster('big').length === 50, { what: 'all 50 in the room' })
    sizes.push(await sample())
    // the global stream holds the room the node hosts, not its users
    expect(a!.presence.local.entries()).toEqual([])
    expect(a!.presence.local.hosted()).toEqual(['big'])
    // the sequence number and client count grow by a few varint bytes at most
    expect(sizes[1]! - sizes[0]!).toBeLessThanOrEqual(4)
    expect(sizes[1]!).toBeLessThan(1024)
  })
})
