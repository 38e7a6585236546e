/**
 * The directory's rules one by one: who may register what, the bounds (refused whole, with a typed
 * error, nothing applied), watches and their notifications, tombstones past their cap.
 */
import { describe, expect, it } from 'vitest'
import { DirectoryFullError, DirectoryTable, LocalDirectory, directoryOwners } from '../../node/src/state/directory.js'
import type { DirectoryDevice, Registration } from '../../node/src/state/directory.js'

function dev (userId: string, deviceId: string, status: 'online' | 'away' = 'online'): DirectoryDevice {
  return { userId, deviceId, name: userId, status, rooms: 1, since: 5 }
}

function reg (node: string, version: number, devices: DirectoryDevice[], full = false): Registration {
  return { node, incarnation: 1, version, ops: devices.map(device => ({ op: 'put' as const, device })), full }
}

describe('DirectoryTable', () => {
  it('refuses a registration from a peer for devices of another node, and applies nothing', () => {
    const t = new DirectoryTable('o')
    expect(() => t.register(reg('a', 1, [dev('u', 'd')]), 'rogue')).toThrow(expect.objectContaining({ name: 'NotEntitledError' }))
    expect(t.records()).toEqual([])
    t.register(reg('a', 1, [dev('u', 'd')]), 'a')
    expect(t.lookup('u').map(r => r.node)).toEqual(['a'])
  })

  it('refuses a registration past the records per node, whole', () => {
    const t = new DirectoryTable('o', { maxRecordsPerNode: 2 })
    t.register(reg('a', 1, [dev('u1', 'd1')]), 'a')
    let err: unknown
    try {
      t.register(reg('a', 2, [dev('u2', 'd2'), dev('u3', 'd3')]), 'a')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(DirectoryFullError)
    expect((err as DirectoryFullError).limit).toBe('maxRecordsPerNode')
    expect(t.users()).toEqual(['u1'])
    // a full state that replaces the node's records within the bound is fine
    t.register(reg('a', 3, [dev('u2', 'd2'), dev('u3', 'd3')], true), 'a')
    expect(t.users()).toEqual(['u2', 'u3'])
  })

  it('refuses devices past the per-user bound, counting every node', () => {
    const t = new DirectoryTable('o', { maxDevicesPerUser: 2 })
    t.register(reg('a', 1, [dev('u', 'd1')]), 'a')
    t.register(reg('b', 1, [dev('u', 'd1')]), 'b')
    expect(() => t.register(reg('c', 1, [dev('u', 'd1')]), 'c')).toThrow(expect.objectContaining({ name: 'DirectoryFullError', limit: 'maxDevicesPerUser' }))
    expect(t.lookup('u').map(r => r.node)).toEqual(['a', 'b'])
    // once one goes, there is room again
    t.register({ node: 'a', incarnation: 1, version: 2, ops: [{ op: 'del', userId: 'u', deviceId: 'd1' }] }, 'a')
    t.register(reg('c', 1, [dev('u', 'd1')]), 'c')
    expect(t.lookup('u').map(r => r.node)).toEqual(['b', 'c'])
  })

  it('watches: bounded per user and per watcher, snapshots on watch, notified users in change diffs, gone with the watcher', () => {
    const t = new DirectoryTable('o', { maxWatchersPerUser: 2, maxWatchesPerNode: 3 })
    t.register(reg('a', 1, [dev('u', 'd1')]), 'a')
    expect(t.watch('w1', ['u', 'v'])).toEqual([{ userId: 'u', devices: t.lookup('u') }, { userId: 'v', devices: [] }])
    t.watch('w2', ['u'])
    expect(() => t.watch('w3', ['u'])).toThrow(expect.objectContaining({ name: 'DirectoryFullError', limit: 'maxWatchersPerUser' }))
    expect(() => t.watch('w1', ['x', 'y'])).toThrow(expect.objectContaining({ name: 'DirectoryFullError', limit: 'maxWatchesPerNode' }))
    expect(t.watched('w1')).toEqual(['u', 'v'])
    expect(t.watchers('u')).toEqual(['w1', 'w2'])
    // a status change is one diff for the user, which the service pushes to its watchers
    const change = t.register(reg('a', 2, [dev('u', 'd1', 'away')]), 'a')
    expect(change.users).toEqual([{ userId: 'u', devices: [expect.objectContaining({ status: 'away', node: 'a' })] }])
    // the same again changes nothing
    expect(t.register(reg('a', 2, [dev('u', 'd1', 'away')]), 'a').users).toEqual([])
    t.nodeDown('w2', 1)
    expect(t.watchers('u')).toEqual(['w1'])
    t.unwatch('w1', ['u'])
    expect(t.watchers('u')).toEqual([])
    expect(t.stats().watches).toBe(1)
  })

  it('a node going down is one offline diff per user; a restart drops the old run at once', () => {
    const t = new DirectoryTable('o')
    t.register(reg('a', 1, [dev('u', 'd1'), dev('v', 'd2')]), 'a')
    t.register(reg('b', 1, [dev('v', 'd9')]), 'b')
    expect(t.nodeDown('a', 1).users).toEqual([{ userId: 'u', devices: [] }, { userId: 'v', devices: t.lookup('v') }])
    expect(t.lookup('v').map(r => r.node)).toEqual(['b'])
    const up = t.nodeUp('b', 2)
    expect(up.pull).toBe(true)
    expect(up.change.users).toEqual([{ userId: 'v', devices: [] }])
    expect(t.register(reg('b', 1, [dev('v', 'd9')]), 'b').users).toEqual([])
  })

  it('forgets the older half of a node\'s tombstones past the cap, and registrations below the floor stay out', () => {
    const t = new DirectoryTable('o', { maxTombstonesPerNode: 4 })
    for (let i = 1; i <= 6; i++) {
      t.register(reg('a', i * 2 - 1, [dev('u', `d${i}`)]), 'a')
      t.register({ node: 'a', incarnation: 1, version: i * 2, ops: [{ op: 'del', userId: 'u', deviceId: `d${i}` }] }, 'a')
    }
    expect(t.stats().tombstones).toBeLessThanOrEqual(4)
    // a late put of the first device (version 1) must not bring it back
    t.register(reg('a', 1, [dev('u', 'd1')]), 'a')
    expect(t.lookup('u')).toEqual([])
  })

  it('retain drops the users this node no longer owns, with their watches', () => {
    const t = new DirectoryTable('a')
    const users = Array.from({ length: 20 }, (_, i) => `user${i}`)
    t.register(reg('h', 1, users.map((u, i) => dev(u, `d${i}`))), 'h')
    t.watch('w', users)
    const dropped = t.retain(['a', 'b', 'c'], 1)
    const kept = users.filter(u => directoryOwners(u, ['a', 'b', 'c'], 1)[0] === 'a')
    expect(dropped).toEqual(users.filter(u => !kept.includes(u)).sort())
    expect(kept.length).toBeGreaterThan(0)
    expect(dropped.length).toBeGreaterThan(0)
    expect(t.users()).toEqual([...kept].sort())
    expect(t.watched('w')).toEqual([...kept].sort())
  })
})

describe('LocalDirectory', () => {
  it('collapses changes between flushes into one registration per owner, as of the current version', () => {
    const l = new LocalDirectory('h', 7)
    expect(l.put(dev('u', 'd1'))).toBe(true)
    expect(l.put(dev('u', 'd1'))).toBe(false)
    l.put(dev('u', 'd1', 'away'))
    l.put(dev('v', 'd2'))
    l.del('d2')
    const out = l.flush(['h'], 1)
    expect([...out.keys()]).toEqual(['h'])
    expect(out.get('h')).toEqual({
      node: 'h',
      incarnation: 7,
      version: 4,
      ops: [{ op: 'put', device: dev('u', 'd1', 'away') }, { op: 'del', userId: 'v', deviceId: 'd2' }]
    })
    expect(l.flush(['h'], 1).size).toBe(0)
  })

  it('hands over only to nodes that became owners', () => {
    const l = new LocalDirectory('h', 1)
    const users = Array.from({ length: 30 }, (_, i) => `user${i}`)
    users.forEach((u, i) => l.put(dev(u, `d${i}`)))
    const before = ['a', 'b', 'c']
    const after = ['a', 'b', 'c', 'd']
    const moves = l.handover(before, after, 2)
    expect([...moves.keys()]).toEqual(['d'])
    const moved = moves.get('d')!.ops.map(op => op.op === 'put' ? op.device.userId : '').sort()
    expect(moved).toEqual(users.filter(u => directoryOwners(u, after, 2).includes('d')).sort())
  })
})

describe('DirectoryService.answer on garbage', () => {
  it('answers every request that decodes with a result or a typed refusal, and never throws', async () => {
    const { DirectoryService } = await import('../../node/src/mesh/directory-service.js')
    const { DirRequest } = await import('../../client/src/protocol/pb/directory.js')
    const { ErrorCode } = await import('../../client/src/protocol/errors.js')
    const { generateKeyPair } = await import('@libp2p/crypto/keys')
    const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
    const fc = (await import('fast-check')).default
    const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const user = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    // only what answer() reads: the live nodes, a clock, a logger
    const presence = { replica: { liveNodes: () => [self.toString(), peer.toString()] } }
    const svc = new DirectoryService({ requestTimeoutMs: 1000, rebalanceDelayMs: 100, limits: { maxRecordsPerNode: 50, maxDevicesPerUser: 4 } }, {
      nodeId: self.toString(),
      incarnation: 1,
      mesh: {} as never,
      presence: presence as never,
      clock: { now: () => Date.now() },
      log: Object.assign(() => {}, { enabled: false, trace: () => {}, error: () => {}, newScope: () => undefined as never }) as never,
      supervisor: { wrap: (_w: string, fn: (...a: unknown[]) => unknown) => fn } as never
    })
    const codes = new Set<number>(Object.values(ErrorCode))
    const big = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
    const str = fc.oneof(fc.constant(user), fc.constant(peer.toString()), fc.constant(self.toString()), fc.string({ maxLength: 300 }))
    const device = fc.record({ user: str, device: str, name: fc.string({ maxLength: 260 }), away: fc.boolean(), rooms: fc.nat(), since: big, node: str, incarnation: big })
    const users = fc.record({ users: fc.array(str, { maxLength: 5 }) })
    // well-formed registrations from the peer for itself, so the bounds and the table are exercised too
    const goodDevice = fc.record({ user: fc.constantFrom(user, self.toString(), peer.toString()), device: fc.constantFrom('d1', 'd2', 'd3', 'd4', 'd5'), name: fc.constant('n'), away: fc.boolean(), rooms: fc.nat(5), since: fc.bigInt({ min: 0n, max: 1000n }), node: fc.constant(''), incarnation: fc.constant(0n) })
    const goodRegister = fc.record({ register: fc.record({ node: fc.constant(peer.toString()), incarnation: fc.bigInt({ min: 1n, max: 3n }), version: fc.bigInt({ min: 0n, max: 100n }), put: fc.array(goodDevice, { maxLength: 8 }), del: fc.array(fc.record({ user: fc.constant(user), device: fc.constantFrom('d1', 'd2') }), { maxLength: 2 }), full: fc.boolean() }) })
    const reqArb = fc.oneof(
      goodRegister,
      fc.record({ register: fc.record({ node: str, incarnation: big, version: big, put: fc.array(device, { maxLength: 8 }), del: fc.array(fc.record({ user: str, device: str }), { maxLength: 4 }), full: fc.boolean() }) }),
      fc.record({ lookup: users }),
      fc.record({ watch: users }),
      fc.record({ unwatch: users }),
      fc.record({ sessions: fc.record({ live: fc.array(str, { maxLength: 4 }), before: fc.array(str, { maxLength: 4 }) }) }),
      fc.record({ notify: fc.record({ user: str, devices: fc.array(device, { maxLength: 4 }) }) }),
      fc.uint8Array({ maxLength: 200 }).map(bytes => { try { return DirRequest.decode(bytes) } catch { return {} } })
    )
    // the table holds records before the garbage starts, so the bounds below are checked on a table
    // with something in it (a random registration of the peer at a higher incarnation may later
    // replace them all, as it should: fast-check seed 44 does that first)
    const first = await svc.answer(DirRequest.decode(DirRequest.encode({ register: { node: peer.toString(), incarnation: 1n, version: 1n, put: [{ user, device: 'd0', name: 'n', away: false, rooms: 1, since: 1n, node: '', incarnation: 0n }], del: [], full: true } })), peer)
    expect(first.ok?.count).toBe(1)
    expect(svc.table.stats().records).toBe(1)
    await fc.assert(fc.asyncProperty(reqArb, async req => {
      const res = await svc.answer(req as never, peer)
      const kinds = ['ok', 'users', 'sessions', 'error'].filter(k => (res as Record<string, unknown>)[k] != null)
      expect(kinds.length, 'exactly one kind of answer').toBe(1)
      if (res.error != null) expect(codes.has(res.error.code), `known code ${res.error.code}`).toBe(true)
      // bounds hold whatever came in
      expect(svc.table.stats().records).toBeLessThanOrEqual(50)
      for (const u of svc.table.users()) expect(svc.table.lookup(u).length).toBeLessThanOrEqual(4)
      // nothing is ever recorded as hosted by a node other than the asking peer
      for (const r of svc.table.records()) expect(r.node).toBe(peer.toString())
    }), { numRuns: 500 })
  })
})

describe('directoryOwners', () => {
  const nodes = Array.from({ length: 8 }, (_, i) => `12D3KooWnode${i}`)
  const users = Array.from({ length: 40_000 }, (_, i) => `12D3KooWuser${i}`)

  it('is the same whatever the order or repeats of the nodes, and never more than there are', () => {
    for (const u of users.slice(0, 200)) {
      const owners = directoryOwners(u, nodes, 2)
      expect(owners).toHaveLength(2)
      expect(directoryOwners(u, [...nodes].reverse().concat(nodes), 2)).toEqual(owners)
      expect(directoryOwners(u, nodes, 8)).toHaveLength(8)
      expect(directoryOwners(u, nodes, 8).slice(0, 2)).toEqual(owners)
    }
    expect(directoryOwners('u', ['a'], 2)).toEqual(['a'])
    expect(directoryOwners('u', [], 2)).toEqual([])
    expect(directoryOwners('u', nodes, 0)).toEqual([])
  })

  it('spreads users evenly: each node owns about 2/8 of them', () => {
    const count = new Map<string, number>()
    for (const u of users) for (const o of directoryOwners(u, nodes, 2)) count.set(o, (count.get(o) ?? 0) + 1)
    const want = users.length * 2 / nodes.length
    for (const n of nodes) {
      const got = count.get(n) ?? 0
      expect(Math.abs(got - want) / want, `share of ${n}: ${got} for ${want}`).toBeLessThan(0.05)
    }
  })

  it('moves only what it must: a node leaving moves only its users, a node joining takes only users to itself', () => {
    const gone = nodes[3]!
    const fewer = nodes.filter(n => n !== gone)
    const more = [...nodes, '12D3KooWnew']
    let moved = 0
    for (const u of users.slice(0, 5000)) {
      const was = directoryOwners(u, nodes, 2)
      const now = directoryOwners(u, fewer, 2)
      if (!was.includes(gone)) expect(now, `${u} did not have the leaver`).toEqual(was)
      else moved++
      const grown = directoryOwners(u, more, 2)
      for (const o of grown) expect(o === '12D3KooWnew' || was.includes(o), `${u} gained only the newcomer`).toBe(true)
    }
    expect(moved / 5000).toBeGreaterThan(0.2)
    expect(moved / 5000).toBeLessThan(0.3)
  })
})
