import { afterEach, describe, expect, it } from 'vitest'
import { HANDOFF_PROTOCOL, roomTopic } from '../../client/src/protocol/ids.js'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { memberOnEveryNode, recordMessages, roomMeshReady } from '../helpers/rooms.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

async function roomCopies (n: MeshchatNode): Promise<number> {
  return (await n.metrics.gossipCopies.get()).values.find(v => v.labels.kind === 'room')?.value ?? 0
}

async function handOffs (n: MeshchatNode): Promise<number> {
  return (await n.metrics.handOffs.get()).values[0]?.value ?? 0
}

async function counter (n: MeshchatNode, name: 'handOffsOneWay' | 'handOffsRefused' | 'handOffFailures'): Promise<number> {
  return await n.metrics[name].get().then(m => m.values[0]?.value ?? 0)
}

/** the carriers `n` hands its next events to one way, as it calls them */
function oneWayPeers (n: MeshchatNode): string[] {
  const peers: string[] = []
  const handOff = n.sync.handOff.bind(n.sync)
  n.sync.handOff = async (peer, room, event, onLost) => {
    peers.push(peer.toString())
    await handOff(peer, room, event, onLost)
  }
  return peers
}

async function handOffsIn (n: MeshchatNode): Promise<number> {
  return (await n.metrics.handOffsIn.get()).values[0]?.value ?? 0
}

async function signatureChecks (n: MeshchatNode, path?: string): Promise<number> {
  return (await n.metrics.signatureChecks.get()).values
    .filter(v => v.labels.result === 'valid' && (path == null || v.labels.path === path)).reduce((x, v) => x + v.value, 0)
}

/** a, b and c all in a room, the a–c link cut: c must still get what a's client sends, through b */
async function detour (mesh: TestMesh, gossiped: boolean): Promise<void> {
  await mesh.converged(3)
  const [a, b, c] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
  const ca = await mesh.client(a, 'a')
  const cc = await mesh.client(c, 'c')
  const cb = await mesh.client(b, 'b')
  for (const x of [ca, cb, cc]) await x.join('detour')
  await roomMeshReady([a, b, c], 'detour')
  const cGot = recordMessages(cc)
  // cut a–c only: a's direct copy cannot reach c; b still talks to both
  a.linkControl.block([c.nodeId])
  c.linkControl.block([a.nodeId])
  for (const conn of a.mesh.getConnections()) if (conn.remotePeer.toString() === c.nodeId) await conn.close()
  await waitFor(() => !a.mesh.services.pubsub.getSubscribers(roomTopic('detour')).some(p => p.toString() === c.nodeId), { what: 'a to lose c as a subscriber' })
  const sent = await ca.send('detour', 'the long way round')
  await waitFor(() => cGot.some(m => m.id === sent.id), { timeoutMs: 15_000, what: 'c to get the message through b' })
  expect(cGot.filter(m => m.id === sent.id)).toHaveLength(1)
  // verified once, from a path b offers: lazy gossip, or b's store (the catch-up after c lost a)
  const fromGossip = await signatureChecks(c, 'gossip')
  const fromStore = await signatureChecks(c, 'backfill')
  expect(fromGossip + fromStore, 'c verified it once').toBe(1)
  // with hand-offs nothing of the room is on gossip: the catch-up alone brings it
  if (!gossiped) expect(fromStore, 'c took it from b\'s store').toBe(1)
}

/**
 * One copy of a room message per carrying node, for rooms carried by more
 * nodes than `roomDirectMax` (0 here, so every room): the ingress node floods
 * it to every node subscribed to the room, nobody forwards it again (mesh
 * degree 0), and gossipsub's lazy gossip (IHAVE, then IWANT) repairs a direct
 * send that did not arrive.
 */
describe('room gossip: one copy per node, repaired when the direct one is lost', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  it('each carrying node receives each message once', async () => {
    const N = 5
    mesh = await startMesh(N, { roomDirectMax: 0 })
    const clients = await memberOnEveryNode(mesh, N, 'once')
    const before = await Promise.all(mesh.nodes.map(roomCopies))
    const got = clients.map(recordMessages)
    const M = 40
    const ids: string[] = []
    for (let k = 0; k < M; k++) ids.push((await clients[k % N]!.send('once', `m${k}`)).id)
    for (const [i, g] of got.entries()) await waitFor(() => ids.every(id => g.some(m => m.id === id)), { what: `client ${i} to get every message` })
    // a sentinel round after, so copies still in flight would have arrived
    const last = await clients[0]!.send('once', 'sentinel')
    for (const g of got) await waitFor(() => g.some(m => m.id === last.id), { what: 'the sentinel everywhere' })
    const after = await Promise.all(mesh.nodes.map(roomCopies))
    // each node hashes its own publishes and every copy it receives
    const received = after.reduce((s, a, i) => s + a - before[i]!, 0) - (M + 1)
    const foreign = (M + 1) * (N - 1)
    // the first copy plus repairs: at most 1.2 per message per node (measured: 1.00)
    expect(received / foreign).toBeLessThanOrEqual(1.2)
    expect(received).toBeGreaterThanOrEqual(foreign)
    // and each node verified each event once, though a replica also got it over the replication
    // stream: that copy may still be on its way when the clients have everything, so it is waited for
    const cached = async (): Promise<number> => (await Promise.all(mesh!.nodes.map(async n => (await n.metrics.signatureChecks.get()).values
      .filter(v => v.labels.result === 'cached').reduce((x, v) => x + v.value, 0)))).reduce((x, y) => x + y, 0)
    await waitFor(async () => await cached() > 0, { what: 'the replica\'s second copy to find the first verification', timeoutMs: 30_000 })
    for (const [i, n] of mesh.nodes.entries()) {
      const checks = (await n.metrics.signatureChecks.get()).values
      const valid = checks.filter(v => v.labels.result === 'valid').reduce((x, v) => x + v.value, 0)
      expect(valid, `node ${i}: signature checks`).toBeLessThanOrEqual(M + 1)
    }
  })

  it('each room message is advertised (IHAVE) to each carrying peer once, not at three heartbeats', async () => {
    const N = 3
    mesh = await startMesh(N, { roomDirectMax: 0 })
    const clients = await memberOnEveryNode(mesh, N, 'lazy')
    const topic = roomTopic('lazy')
    // count the room's message ids every node receives in IHAVE (gossipsub's handler, on each instance)
    const advertised = mesh.nodes.map(() => 0)
    for (const [i, n] of mesh.nodes.entries()) {
      const ps = n.mesh.services.pubsub as unknown as { handleIHave: (id: string, ihave: Array<{ topicID?: string, messageIDs?: Uint8Array[] }>) => unknown }
      const handle = ps.handleIHave.bind(ps)
      ps.handleIHave = (id, ihave) => {
        for (const h of ihave) if (h.topicID === topic) advertised[i]! += h.messageIDs?.length ?? 0
        return handle(id, ihave)
      }
    }
    const got = clients.map(recordMessages)
    const M = 30
    const ids: string[] = []
    for (let k = 0; k < M; k++) ids.push((await clients[k % N]!.send('lazy', `l${k}`)).id)
    for (const [i, g] of got.entries()) await waitFor(() => ids.every(id => g.some(m => m.id === id)), { what: `client ${i} to get every message` })
    // every advertisement of these messages is over four heartbeats (1 s) after the last was sent
    await new Promise(resolve => setTimeout(resolve, 4500))
    // each node hears of each message from each of its N - 1 peers, which all hold it: M (N - 1) ids,
    // three times that with gossipsub's default of advertising a message at three heartbeats
    for (const [i, n] of advertised.entries()) {
      expect(n, `node ${i}: ids advertised to it`).toBeGreaterThanOrEqual(M * (N - 1) * 0.5)
      expect(n, `node ${i}: ids advertised to it`).toBeLessThanOrEqual(M * (N - 1) * 1.5)
    }
  })

  it('a room on one node costs its replica one copy of each message, and every other node nothing', async () => {
    mesh = await startMesh(4, { roomDirectMax: 0 })
    await mesh.converged(4)
    const [a] = mesh.nodes as [MeshchatNode]
    const m1 = await mesh.client(a, 'm1')
    const m2 = await mesh.client(a, 'm2')
    await m1.join('local')
    await m2.join('local')
    const owners = a.archive.owners('local')
    const replica = mesh.nodes.find(n => n.nodeId === owners[1])!
    await waitFor(() => replica.rooms.isSubscribed('local'), { what: 'the replica to carry the room' })
    await roomMeshReady([a, replica], 'local')
    const before = await Promise.all(mesh.nodes.map(roomCopies))
    const M = 20
    for (let k = 0; k < M; k++) await m1.send('local', `here ${k}`)
    await waitFor(() => replica.store.count('local') === M, { what: 'the replica to hold every message' })
    const after = await Promise.all(mesh.nodes.map(roomCopies))
    for (const [i, n] of mesh.nodes.entries()) {
      const got = after[i]! - before[i]!
      if (n === a) expect(got, 'the ingress node hashes its own publishes').toBe(M)
      else if (n === replica) expect(got, 'the replica: one gossip copy each').toBe(M)
      else expect(got, `node ${i} carries nothing of the room`).toBe(0)
    }
    // the acknowledgement came from the replica confirming what gossip brought, not from a second copy
    const replicaPath = (await replica.metrics.signatureChecks.get()).values.filter(v => v.labels.path === 'replica').reduce((x, v) => x + v.value, 0)
    expect(replicaPath).toBe(0)
  })

  it('a node the ingress node cannot reach still gets the message, from a node that has it', async () => {
    mesh = await startMesh(3, { roomDirectMax: 0 })
    await detour(mesh, true)
  })
})

/**
 * Rooms carried by at most `roomDirectMax` other nodes (the default 8, so
 * every room here): the ingress node hands each fresh event to each carrying
 * node by replication request, and gossip carries nothing of it unless a
 * hand-off fails.
 */
describe('room hand-off: each carrying node gets each message once, straight from its ingress node', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  it('every carrying node gets each message once, verified once, with no gossip copy', async () => {
    const N = 4
    mesh = await startMesh(N)
    const clients = await memberOnEveryNode(mesh, N, 'direct')
    const copiesBefore = await Promise.all(mesh.nodes.map(roomCopies))
    const handedBefore = await Promise.all(mesh.nodes.map(handOffs))
    const handedInBefore = await Promise.all(mesh.nodes.map(handOffsIn))
    const checksBefore = await Promise.all(mesh.nodes.map(async n => signatureChecks(n)))
    const got = clients.map(recordMessages)
    const M = 40
    const ids: string[] = []
    for (let k = 0; k < M; k++) ids.push((await clients[k % N]!.send('direct', `d${k}`)).id)
    for (const [i, g] of got.entries()) await waitFor(() => ids.every(id => g.some(m => m.id === id)), { what: `client ${i} to get every message` })
    for (const [i, g] of got.entries()) expect(g.filter(m => ids.includes(m.id)), `client ${i}: each message once`).toHaveLength(M)
    // each node handed each of its own messages to the N - 1 others, and nothing went by gossip
    const handed = (await Promise.all(mesh.nodes.map(handOffs))).map((h, i) => h - handedBefore[i]!)
    expect(handed).toEqual(mesh.nodes.map(() => M / N * (N - 1)))
    // and took in each of the others' messages once
    const handedIn = (await Promise.all(mesh.nodes.map(handOffsIn))).map((h, i) => h - handedInBefore[i]!)
    expect(handedIn).toEqual(mesh.nodes.map(() => M / N * (N - 1)))
    const copies = (await Promise.all(mesh.nodes.map(roomCopies))).map((c, i) => c - copiesBefore[i]!)
    expect(copies, 'room gossip messages hashed').toEqual(mesh.nodes.map(() => 0))
    // each node verified each event once: from its client or from its ingress node
    for (const [i, n] of mesh.nodes.entries()) {
      await waitFor(() => n.store.count('direct') === M, { what: `node ${i} to store every message` })
      expect(await signatureChecks(n) - checksBefore[i]!, `node ${i}: signature checks`).toBe(M)
    }
    for (const n of mesh.nodes) expect(await n.metrics.handOffFailures.get().then(m => m.values[0]?.value ?? 0)).toBe(0)
    // one carrier of each message answered (the acknowledgement waits for one more copy); the other N - 2 got it one way
    const oneWay = await Promise.all(mesh.nodes.map(async n => counter(n, 'handOffsOneWay')))
    expect(oneWay).toEqual(mesh.nodes.map(() => M / N * (N - 2)))
  })

  it('a room on one node costs its replica one request per message, and every other node nothing', async () => {
    mesh = await startMesh(4)
    await mesh.converged(4)
    const [a] = mesh.nodes as [MeshchatNode]
    const m1 = await mesh.client(a, 'm1')
    const m2 = await mesh.client(a, 'm2')
    await m1.join('solo')
    await m2.join('solo')
    const owners = a.archive.owners('solo')
    const replica = mesh.nodes.find(n => n.nodeId === owners[1])!
    await waitFor(() => replica.rooms.isSubscribed('solo'), { what: 'the replica to carry the room' })
    await roomMeshReady([a, replica], 'solo')
    const copiesBefore = await Promise.all(mesh.nodes.map(roomCopies))
    const replicaChecks = await signatureChecks(replica, 'replica')
    const M = 20
    // each send resolves once the replica has it stored: nothing to wait for after
    for (let k = 0; k < M; k++) await m1.send('solo', `here ${k}`)
    expect(replica.store.count('solo')).toBe(M)
    expect(await handOffs(a)).toBe(M)
    expect(await signatureChecks(replica, 'replica') - replicaChecks).toBe(M)
    const copies = (await Promise.all(mesh.nodes.map(roomCopies))).map((c, i) => c - copiesBefore[i]!)
    expect(copies, 'room gossip messages hashed').toEqual(mesh.nodes.map(() => 0))
    for (const n of mesh.nodes) if (n !== a && n !== replica) expect(n.store.count('solo')).toBe(0)
  })

  it('a node the ingress node cannot reach still gets the message (a catch-up from a node that has it)', async () => {
    mesh = await startMesh(3)
    await detour(mesh, false)
  })

  it('a hand-off that fails puts the message on gossip, and the carrying node gets it that way', async () => {
    mesh = await startMesh(3)
    const clients = await memberOnEveryNode(mesh, 3, 'fallback')
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const got = clients.map(recordMessages)
    // b refuses every hand-off (as a node whose store is failing would); its gossip path works
    const store = b.archive.store.bind(b.archive)
    let refused = 0
    b.archive.store = async () => {
      refused++
      throw new Error('refusing hand-offs')
    }
    const bCopies = await roomCopies(b)
    try {
      const sent = await clients[0]!.send('fallback', 'the other way')
      for (const [i, g] of got.entries()) await waitFor(() => g.some(m => m.id === sent.id), { what: `client ${i} to get the message` })
      expect(refused).toBe(1)
      expect(await a.metrics.handOffFailures.get().then(m => m.values[0]?.value ?? 0)).toBe(1)
      // b took it from gossip, once
      expect(await roomCopies(b) - bCopies).toBe(1)
      await waitFor(() => b.store.count('fallback') === 1, { what: 'b to store it' })
      for (const g of got) expect(g.filter(m => m.id === sent.id)).toHaveLength(1)
    } finally {
      b.archive.store = store
    }
  })

  it('a carrier that refuses an event handed to it one way resets the stream, and the ingress node puts the event on gossip', async () => {
    mesh = await startMesh(3)
    const clients = await memberOnEveryNode(mesh, 3, 'quiet')
    const a = mesh.nodes[0] as MeshchatNode
    const got = clients.map(recordMessages)
    const peers = oneWayPeers(a)
    const first = await clients[0]!.send('quiet', 'one way')
    for (const [i, g] of got.entries()) await waitFor(() => g.some(m => m.id === first.id), { what: `client ${i} to get the first message` })
    expect(peers).toHaveLength(1)
    const quiet = mesh.nodes.find(n => n.nodeId === peers[0]) as MeshchatNode
    const copies = await roomCopies(quiet)
    // the one-way carrier refuses what it is handed (as a node whose store is failing would); its gossip path works
    const store = quiet.archive.store.bind(quiet.archive)
    let refused = 0
    quiet.archive.store = async () => {
      refused++
      throw new Error('refusing hand-offs')
    }
    try {
      const second = await clients[0]!.send('quiet', 'refused one way')
      for (const [i, g] of got.entries()) await waitFor(() => g.some(m => m.id === second.id), { what: `client ${i} to get the second message` })
      expect(refused).toBe(1)
      expect(await counter(quiet, 'handOffsRefused')).toBe(1)
      expect(await counter(a, 'handOffFailures')).toBeGreaterThanOrEqual(1)
      // the refusing carrier took it from gossip, and every client has each message once
      expect(await roomCopies(quiet) - copies).toBeGreaterThanOrEqual(1)
      for (const g of got) {
        expect(g.filter(m => m.id === first.id)).toHaveLength(1)
        expect(g.filter(m => m.id === second.id)).toHaveLength(1)
      }
    } finally {
      quiet.archive.store = store
    }
  })

  it('a carrier that does not serve one-way hand-offs (an older node) gets each event by request instead', async () => {
    mesh = await startMesh(3)
    // every node but the first stops serving the one-way protocol, before any stream to it is open (and,
    // as an older node, neither makes nor takes data links: a link its beats made already is closed)
    for (const n of mesh.nodes.slice(1)) {
      await n.mesh.unhandle(HANDOFF_PROTOCOL)
      await n.links?.stop()
    }
    const clients = await memberOnEveryNode(mesh, 3, 'older')
    const a = mesh.nodes[0] as MeshchatNode
    const inBefore = await Promise.all(mesh.nodes.map(handOffsIn))
    const got = clients.map(recordMessages)
    const peers = oneWayPeers(a)
    const ids: string[] = []
    ids.push((await clients[0]!.send('older', 'o0')).id)
    // the first event tries the one-way stream and is refused the protocol: the refusal can come after
    // the ack (which waits for the answering carrier only), so the next sends wait until it is known
    expect(peers).toHaveLength(1)
    await waitFor(() => !a.sync.takesHandOffs(peers[0] as string), { what: 'the refusal of the one-way protocol to be known' })
    for (let k = 1; k < 5; k++) ids.push((await clients[0]!.send('older', `o${k}`)).id)
    for (const [i, g] of got.entries()) await waitFor(() => ids.every(id => g.some(m => m.id === id)), { what: `client ${i} to get every message` })
    for (const g of got) expect(g.filter(m => ids.includes(m.id))).toHaveLength(ids.length)
    // the refused event went by request, and so did every later one, straight away
    expect(peers).toHaveLength(1)
    expect(a.sync.takesHandOffs(peers[0] as string)).toBe(false)
    const handedIn = (await Promise.all(mesh.nodes.map(handOffsIn))).map((h, i) => h - inBefore[i]!)
    expect(handedIn).toEqual([0, 5, 5])
    expect(await counter(a, 'handOffFailures')).toBe(0)
  })
})
