import { describe, expect, it } from 'vitest'
import { LocalPresence, PresenceReplica, metaVersion, type NodeMeta, type PresenceEntry } from '../../node/src/state/presence.js'

const meta: NodeMeta = { load: { clients: 1, rooms: 1, maxClients: 100 }, gatewayAddrs: ['/ip4/127.0.0.1/tcp/1/ws'], meshAddrs: [] }

const entry = (deviceId: string, over: Partial<PresenceEntry> = {}): PresenceEntry => ({
  userId: 'alice', deviceId, name: 'Alice', status: 'online', rooms: ['general'], since: 1, ...over
})

describe('LocalPresence', () => {
  it('publishes one delta per batch with normalised entries', () => {
    const local = new LocalPresence('n1', 7)
    const delta = local.apply([
      { op: 'put', entry: entry('d1', { rooms: ['b', 'a', 'b'] }) },
      { op: 'put', entry: entry('d2') }
    ])
    expect(delta).toEqual({
      node: 'n1',
      incarnation: 7,
      seq: 1,
      ops: [{ op: 'put', entry: entry('d1', { rooms: ['a', 'b'] }) }, { op: 'put', entry: entry('d2') }]
    })
    expect(local.seq).toBe(1)
    expect(local.apply([{ op: 'del', deviceId: 'd2' }])?.seq).toBe(2)
    expect(local.entries()).toEqual([entry('d1', { rooms: ['a', 'b'] })])
  })

  it('replaces a device on put and leaves out ops that change nothing', () => {
    const local = new LocalPresence('n1', 1)
    local.apply([{ op: 'put', entry: entry('d1') }])
    expect(local.apply([{ op: 'del', deviceId: 'ghost' }, { op: 'put', entry: entry('d1') }])).toBeUndefined()
    expect(local.seq).toBe(1)
    const delta = local.apply([{ op: 'del', deviceId: 'ghost' }, { op: 'put', entry: entry('d1', { status: 'away' }) }])
    expect(delta?.ops).toEqual([{ op: 'put', entry: entry('d1', { status: 'away' }) }])
    expect(delta?.seq).toBe(2)
    expect(local.entries()).toEqual([entry('d1', { status: 'away' })])
  })

  it('keeps a del that follows a put of the same device in one batch', () => {
    const local = new LocalPresence('n1', 1)
    const delta = local.apply([{ op: 'put', entry: entry('d1') }, { op: 'del', deviceId: 'd1' }])
    expect(delta?.ops.map(op => op.op)).toEqual(['put', 'del'])
    expect(local.entries()).toEqual([])
  })

  it('reports full state and heartbeats at the current seq', () => {
    const local = new LocalPresence('n1', 3)
    local.apply([{ op: 'put', entry: entry('d1') }])
    expect(local.fullState()).toEqual({ node: 'n1', incarnation: 3, seq: 1, entries: [entry('d1')], hosted: [] })
    expect(local.heartbeat(meta)).toEqual({ node: 'n1', incarnation: 3, seq: 1, meta })
  })
})

describe('PresenceReplica', () => {
  it('applies deltas in order and reports devices, rosters, users and nodes', () => {
    const owner = new LocalPresence('n1', 1)
    const replica = new PresenceReplica('self')
    const change = replica.applyDelta(owner.apply([{ op: 'put', entry: entry('d1') }])!, 10)
    expect(change).toEqual({
      devices: [{ node: 'n1', deviceId: 'd1', entry: entry('d1') }],
      rooms: [{ room: 'general', userId: 'alice', member: { userId: 'alice', name: 'Alice', status: 'online', nodes: ['n1'] } }],
      users: [{ userId: 'alice', presence: { userId: 'alice', name: 'Alice', status: 'online', nodes: ['n1'], rooms: ['general'] } }],
      needsSync: [],
      nodes: [{ node: 'n1', up: true, incarnation: 1 }]
    })
    expect(replica.roomRoster('general')).toEqual([{ userId: 'alice', name: 'Alice', status: 'online', nodes: ['n1'] }])
    expect(replica.user('alice')?.rooms).toEqual(['general'])
    expect(replica.nodeEntries('n1')).toEqual([entry('d1')])

    const leave = replica.applyDelta(owner.apply([{ op: 'del', deviceId: 'd1' }])!, 11)
    expect(leave.rooms).toEqual([{ room: 'general', userId: 'alice', member: null }])
    expect(leave.users).toEqual([{ userId: 'alice', presence: null }])
    expect(replica.roomRoster('general')).toEqual([])
    expect(replica.user('alice')).toBeUndefined()
    expect(replica.rooms()).toEqual([])
    expect(replica.stats()).toEqual({ nodes: 1, upNodes: 1, devices: 0, users: 0, rooms: 0, needsSync: 0, hosted: 0 })
  })

  it('normalises entries it receives and does not share them with the sender', () => {
    const replica = new PresenceReplica('self')
    const sent = entry('d1', { rooms: ['b', 'a', 'a'] })
    replica.applyDelta({ node: 'n1', incarnation: 1, seq: 1, ops: [{ op: 'put', entry: sent }] }, 0)
    sent.rooms.push('c')
    expect(replica.nodeEntries('n1')).toEqual([entry('d1', { rooms: ['a', 'b'] })])
  })

  it('ignores duplicates and flags a gap for a full-state pull', () => {
    const owner = new LocalPresence('n1', 1)
    const replica = new PresenceReplica('self')
    const d1 = owner.apply([{ op: 'put', entry: entry('d1') }])!
    const d2 = owner.apply([{ op: 'put', entry: entry('d2', { userId: 'bob', name: 'Bob' }) }])!
    const d3 = owner.apply([{ op: 'del', deviceId: 'd1' }])!
    replica.applyDelta(d1, 0)
    expect(replica.applyDelta(d1, 1)).toEqual({ devices: [], rooms: [], users: [], needsSync: [], nodes: [] })

    const gap = replica.applyDelta(d3, 2)
    expect(gap.needsSync).toEqual(['n1'])
    expect(gap.devices).toEqual([])
    expect(replica.needsSync()).toEqual(['n1'])
    // the missing delta arriving late is not applied either: the node waits for a full state
    expect(replica.applyDelta(d2, 3).devices).toEqual([])
    expect(replica.applyDelta(d3, 3).needsSync).toEqual([])

    const full = replica.applyFull(owner.fullState(), 4)
    expect(full.devices.map(d => [d.deviceId, d.entry === null])).toEqual([['d1', true], ['d2', false]])
    expect(replica.needsSync()).toEqual([])
    expect(replica.nodes()[0]?.seq).toBe(3)
    const d4 = owner.apply([{ op: 'put', entry: entry('d4') }])!
    expect(replica.applyDelta(d4, 5).devices).toHaveLength(1)
  })

  it('treats full states as idempotent and ignores older ones', () => {
    const owner = new LocalPresence('n1', 1)
    const replica = new PresenceReplica('self')
    owner.apply([{ op: 'put', entry: entry('d1') }])
    const old = owner.fullState()
    owner.apply([{ op: 'put', entry: entry('d2') }])
    const current = owner.fullState()
    expect(replica.applyFull(current, 0).devices).toHaveLength(2)
    expect(replica.applyFull(current, 1)).toEqual({ devices: [], rooms: [], users: [], needsSync: [], nodes: [] })
    expect(replica.applyFull(old, 2).devices).toEqual([])
    expect(replica.nodeEntries('n1').map(e => e.deviceId)).toEqual(['d1', 'd2'])
  })

  it('drops an old incarnation\'s entries when a newer one speaks, and ignores the old one afterwards', () => {
    const before = new LocalPresence('n1', 1)
    const replica = new PresenceReplica('self')
    const old = before.apply([{ op: 'put', entry: entry('d1') }])!
    replica.applyDelta(old, 0)

    const after = new LocalPresence('n1', 2)
    const change = replica.heartbeat(after.heartbeat(meta), 1)
    expect(change.devices).toEqual([{ node: 'n1', deviceId: 'd1', entry: null }])
    expect(change.nodes).toEqual([{ node: 'n1', up: true, incarnation: 2 }])
    expect(change.needsSync).toEqual([])

    expect(replica.applyDelta({ ...old, seq: 2 }, 2).devices).toEqual([])
    expect(replica.applyFull(before.fullState(), 2).devices).toEqual([])
    expect(replica.nodeEntries('n1')).toEqual([])
    expect(replica.applyDelta(after.apply([{ op: 'put', entry: entry('d9') }])!, 3).devices).toHaveLength(1)
  })

  it('starts a newer incarnation from seq 0 when its first message is a delta', () => {
    const replica = new PresenceReplica('self')
    replica.applyDelta({ node: 'n1', incarnation: 1, seq: 1, ops: [{ op: 'put', entry: entry('d1') }] }, 0)
    const change = replica.applyDelta({ node: 'n1', incarnation: 2, seq: 2, ops: [{ op: 'put', entry: entry('d2') }] }, 1)
    expect(change.devices).toEqual([{ node: 'n1', deviceId: 'd1', entry: null }])
    expect(change.needsSync).toEqual(['n1'])
    expect(replica.nodes()).toMatchObject([{ id: 'n1', incarnation: 2, seq: 0, up: true }])
  })

  it('flags a node whose heartbeat announces a seq it has not seen, and records meta', () => {
    const replica = new PresenceReplica('self')
    expect(replica.heartbeat({ node: 'n1', incarnation: 1, seq: 0, meta }, 5)).toMatchObject({ needsSync: [], nodes: [{ node: 'n1', up: true, incarnation: 1 }] })
    expect(replica.heartbeat({ node: 'n1', incarnation: 1, seq: 4, meta }, 6).needsSync).toEqual(['n1'])
    expect(replica.heartbeat({ node: 'n1', incarnation: 1, seq: 5, meta }, 7).needsSync).toEqual([])
    expect(replica.nodes()).toEqual([{ id: 'n1', incarnation: 1, seq: 0, up: true, left: false, meta, lastHeard: 7 }])
  })

  it('acts on a seq gap a direct beat shows only if the next direct beat still shows it (the delta may be on its way)', () => {
    const replica = new PresenceReplica('self')
    const owner = new LocalPresence('n1', 1)
    const v = { ...meta, version: metaVersion(meta) }
    // a beat from a node nobody introduced makes no node
    expect(replica.heartbeat({ node: 'n9', incarnation: 1, seq: 0, beat: 1, meta: v, addrsOmitted: true, direct: true }, 1)).toEqual({ devices: [], rooms: [], users: [], needsSync: [], nodes: [] })
    expect(replica.nodes()).toEqual([])
    replica.applyFull({ node: 'n1', incarnation: 1, seq: 0, entries: [], meta: v }, 1)
    const direct = (seq: number, beat: number, now: number): string[] =>
      replica.heartbeat({ node: 'n1', incarnation: 1, seq, beat, meta: { load: meta.load, gatewayAddrs: [], meshAddrs: [], version: v.version }, addrsOmitted: true, direct: true }, now).needsSync
    // the beat overtook delta 1: no pull yet; the delta comes; the next beat finds nothing missing
    const d1 = owner.apply([{ op: 'put', entry: entry('d1') }])!
    expect(direct(1, 1, 2)).toEqual([])
    expect(replica.applyDelta(d1, 2).needsSync).toEqual([])
    expect(direct(1, 2, 3)).toEqual([])
    // delta 2 is lost: the first beat that shows seq 2 waits, the next one pulls
    owner.apply([{ op: 'put', entry: entry('d2') }])
    expect(direct(2, 3, 4)).toEqual([])
    expect(direct(2, 4, 5)).toEqual(['n1'])
    expect(replica.needsSync()).toEqual(['n1'])
    // a heartbeat from the topic (signed, sent after the deltas before it) pulls at once, as before
    const other = new PresenceReplica('self')
    other.applyFull({ node: 'n1', incarnation: 1, seq: 0, entries: [], meta: v }, 1)
    expect(other.heartbeat({ node: 'n1', incarnation: 1, seq: 2, beat: 1, meta: v }, 2).needsSync).toEqual(['n1'])
  })

  it('keeps the addresses when a heartbeat leaves out the version it holds, and pulls when it does not hold it', () => {
    const replica = new PresenceReplica('self')
    const v1 = { ...meta, version: metaVersion(meta) }
    const slim = (version: number, clients: number): NodeMeta => ({ load: { clients, rooms: 1, maxClients: 100 }, gatewayAddrs: [], meshAddrs: [], version })
    // a receiver that has never seen the addresses: it pulls the full state, which carries them
    expect(replica.heartbeat({ node: 'n1', incarnation: 1, seq: 0, meta: slim(v1.version, 1), addrsOmitted: true, beat: 1 }, 5).needsSync).toEqual(['n1'])
    expect(replica.nodes()[0]?.meta).toBeUndefined()
    expect(replica.applyFull({ node: 'n1', incarnation: 1, seq: 0, entries: [], meta: v1 }, 6).needsSync).toEqual([])
    expect(replica.nodes()[0]?.meta).toEqual(v1)
    // the same version: addresses kept, the load taken, nothing to pull
    expect(replica.heartbeat({ node: 'n1', incarnation: 1, seq: 0, meta: slim(v1.version, 7), addrsOmitted: true, beat: 2 }, 7).needsSync).toEqual([])
    expect(replica.nodes()[0]?.meta).toEqual({ ...v1, load: { clients: 7, rooms: 1, maxClients: 100 } })
    // another version: the old addresses stay until the pull brings the new ones
    const moved: NodeMeta = { ...meta, gatewayAddrs: ['/ip4/127.0.0.1/tcp/2/ws'] }
    const v2 = metaVersion(moved)
    expect(v2).not.toBe(v1.version)
    expect(replica.heartbeat({ node: 'n1', incarnation: 1, seq: 0, meta: slim(v2, 8), addrsOmitted: true, beat: 3 }, 8).needsSync).toEqual(['n1'])
    expect(replica.nodes()[0]?.meta?.gatewayAddrs).toEqual(v1.gatewayAddrs)
    // a heartbeat with the addresses in it sets them outright
    replica.heartbeat({ node: 'n1', incarnation: 1, seq: 0, meta: { ...moved, version: v2 }, beat: 4 }, 9)
    expect(replica.nodes()[0]?.meta).toEqual({ ...moved, version: v2 })
  })

  it('gives the addresses a version that changes with any of them and never is 0', () => {
    const v = metaVersion(meta)
    expect(v).toBe(metaVersion({ ...meta, gatewayAddrs: [...meta.gatewayAddrs] }))
    expect(metaVersion({ ...meta, httpUrl: 'http://127.0.0.1:8080' })).not.toBe(v)
    expect(metaVersion({ ...meta, meshAddrs: ['/ip4/127.0.0.1/tcp/9'] })).not.toBe(v)
    // an address moved from one list to the other is a change too
    expect(metaVersion({ ...meta, gatewayAddrs: [], meshAddrs: meta.gatewayAddrs })).not.toBe(v)
    expect(v).toBeGreaterThan(0)
  })

  it('takes down a silent node, keeps a tombstone, and never expires itself', () => {
    const replica = new PresenceReplica('self')
    replica.applyDelta({ node: 'self', incarnation: 1, seq: 1, ops: [{ op: 'put', entry: entry('mine') }] }, 0)
    const d1 = { node: 'n1', incarnation: 1, seq: 1, ops: [{ op: 'put' as const, entry: entry('d1', { userId: 'bob', name: 'Bob' }) }] }
    replica.applyDelta(d1, 0)
    expect(replica.expire(3000, 3000).nodes).toEqual([])

    const change = replica.expire(3001, 3000)
    expect(change.nodes).toEqual([{ node: 'n1', up: false, incarnation: 1 }])
    expect(change.rooms).toEqual([{ room: 'general', userId: 'bob', member: null }])
    expect(replica.roomRoster('general').map(m => m.userId)).toEqual(['alice'])
    expect(replica.liveNodes()).toEqual(['self'])

    // the tombstone keeps old messages from bringing entries back
    expect(replica.applyDelta(d1, 4000).devices).toEqual([])
    expect(replica.applyFull({ node: 'n1', incarnation: 0, seq: 9, entries: [entry('x')] }, 4000).devices).toEqual([])
    expect(replica.nodeEntries('n1')).toEqual([])
  })

  it('revives a down node that heartbeats with no entries until a full state arrives', () => {
    const owner = new LocalPresence('n1', 1)
    const replica = new PresenceReplica('self')
    replica.applyDelta(owner.apply([{ op: 'put', entry: entry('d1') }])!, 0)
    replica.expire(10_000, 3000)

    const revived = replica.heartbeat(owner.heartbeat(meta), 10_001)
    expect(revived.nodes).toEqual([{ node: 'n1', up: true, incarnation: 1 }])
    expect(revived.needsSync).toEqual(['n1'])
    expect(revived.devices).toEqual([])
    expect(replica.liveNodes()).toEqual(['n1', 'self'])
    // a next delta is not applied on top of nothing
    expect(replica.applyDelta(owner.apply([{ op: 'put', entry: entry('d2') }])!, 10_002).devices).toEqual([])

    const full = replica.applyFull(owner.fullState(), 10_003)
    expect(full.devices.map(d => d.deviceId)).toEqual(['d1', 'd2'])
    expect(replica.needsSync()).toEqual([])
  })

  it('revives a down node with its full state', () => {
    const owner = new LocalPresence('n1', 1)
    const replica = new PresenceReplica('self')
    replica.applyDelta(owner.apply([{ op: 'put', entry: entry('d1') }])!, 0)
    replica.expire(10_000, 3000)
    const change = replica.applyFull(owner.fullState(), 10_001)
    expect(change.nodes).toEqual([{ node: 'n1', up: true, incarnation: 1 }])
    expect(replica.nodeEntries('n1')).toEqual([entry('d1')])
  })

  it('brings the deadline of a suspected node forward, until it is heard again', () => {
    const replica = new PresenceReplica('self')
    replica.heartbeat({ node: 'n1', incarnation: 1, seq: 0, meta }, 1000)
    replica.heartbeat({ node: 'n2', incarnation: 1, seq: 0, meta }, 1000)
    replica.suspect('n1', 1000, 500)
    replica.suspect('n2', 1000, 500)
    replica.suspect('n2', 1100, 10_000) // a later, longer grace does not push the deadline back
    replica.heartbeat({ node: 'n1', incarnation: 1, seq: 0, meta }, 1200)
    replica.suspect('self', 1000, 0)
    expect(replica.expire(1501, 3000).nodes).toEqual([{ node: 'n2', up: false, incarnation: 1 }])
    expect(replica.liveNodes()).toEqual(['n1', 'self'])
  })

  it('knows the earliest moment a node would go down: hearing moves it later, a suspicion earlier', () => {
    const replica = new PresenceReplica('self')
    // nobody but itself: no moment
    expect(replica.nextExpiry(3000)).toBe(Infinity)
    replica.heartbeat({ node: 'self', incarnation: 1, seq: 0, meta }, 0)
    expect(replica.nextExpiry(3000)).toBe(Infinity)
    replica.heartbeat({ node: 'n1', incarnation: 1, seq: 0, meta }, 1000)
    replica.heartbeat({ node: 'n2', incarnation: 1, seq: 0, meta }, 1400)
    expect(replica.nextExpiry(3000)).toBe(4000)
    // expire at that moment takes nobody down; just past it, the node it belongs to
    expect(replica.expire(4000, 3000).nodes).toEqual([])
    replica.heartbeat({ node: 'n1', incarnation: 1, seq: 0, meta }, 2000)
    expect(replica.nextExpiry(3000)).toBe(4400)
    replica.suspect('n1', 2100, 500)
    expect(replica.nextExpiry(3000)).toBe(2600)
    expect(replica.expire(2601, 3000).nodes).toEqual([{ node: 'n1', up: false, incarnation: 1 }])
    // a node that is down has no moment; the others keep theirs
    expect(replica.nextExpiry(3000)).toBe(4400)
    expect(replica.expire(4401, 3000).nodes).toEqual([{ node: 'n2', up: false, incarnation: 1 }])
    expect(replica.nextExpiry(3000)).toBe(Infinity)
  })

  it('departs a node at once and ignores that incarnation from then on', () => {
    const owner = new LocalPresence('n1', 1)
    const replica = new PresenceReplica('self')
    const d1 = owner.apply([{ op: 'put', entry: entry('d1') }])!
    replica.applyDelta(d1, 0)
    const bye = replica.depart('n1', 1, 1)
    expect(bye.nodes).toEqual([{ node: 'n1', up: false, incarnation: 1 }])
    expect(bye.users).toEqual([{ userId: 'alice', presence: null }])
    expect(replica.heartbeat(owner.heartbeat(meta), 2)).toEqual({ devices: [], rooms: [], users: [], needsSync: [], nodes: [] })
    expect(replica.applyFull(owner.fullState(), 2).devices).toEqual([])
    expect(replica.nodes()).toMatchObject([{ id: 'n1', up: false, left: true }])

    const next = new LocalPresence('n1', 2)
    expect(replica.heartbeat(next.heartbeat(meta), 3).nodes).toEqual([{ node: 'n1', up: true, incarnation: 2 }])
  })

  it('remembers a goodbye from a node it never heard of', () => {
    const replica = new PresenceReplica('self')
    expect(replica.depart('n1', 4, 0).nodes).toEqual([])
    expect(replica.applyDelta({ node: 'n1', incarnation: 4, seq: 1, ops: [{ op: 'put', entry: entry('d1') }] }, 1).devices).toEqual([])
    expect(replica.liveNodes()).toEqual(['self'])
  })

  it('forgets only down nodes', () => {
    const replica = new PresenceReplica('self')
    replica.heartbeat({ node: 'n1', incarnation: 1, seq: 0, meta }, 0)
    expect(replica.forget('n1')).toBe(false)
    replica.depart('n1', 1, 0)
    expect(replica.forget('n1')).toBe(true)
    expect(replica.nodes()).toEqual([])
    expect(replica.forget('n1')).toBe(false)
  })

  describe('aggregation', () => {
    const setup = (): PresenceReplica => {
      const replica = new PresenceReplica('self')
      replica.applyFull({ node: 'n1', incarnation: 1, seq: 1, entries: [entry('phone', { status: 'away', since: 5, name: 'Alice (phone)', rooms: ['general', 'random'] })] }, 0)
      replica.applyFull({ node: 'n2', incarnation: 1, seq: 1, entries: [entry('laptop', { status: 'online', since: 9, name: 'Alice', rooms: ['general'] })] }, 0)
      return replica
    }

    it('aggregates a user over devices on several nodes', () => {
      const replica = setup()
      expect(replica.roomRoster('general')).toEqual([{ userId: 'alice', name: 'Alice', status: 'online', nodes: ['n1', 'n2'] }])
      expect(replica.roomRoster('random')).toEqual([{ userId: 'alice', name: 'Alice (phone)', status: 'away', nodes: ['n1'] }])
      expect(replica.user('alice')).toEqual({ userId: 'alice', name: 'Alice', status: 'online', nodes: ['n1', 'n2'], rooms: ['general', 'random'] })
      expect(replica.stats()).toMatchObject({ devices: 2, users: 1, rooms: 2 })
      expect(replica.rooms()).toEqual(['general', 'random'])
    })

    it('emits roster and user diffs only where the aggregate changed', () => {
      const replica = setup()
      // the phone going online changes 'random' (only the phone is there) but not 'general' or the user
      const change = replica.applyDelta({ node: 'n1', incarnation: 1, seq: 2, ops: [{ op: 'put', entry: entry('phone', { status: 'online', since: 5, name: 'Alice (phone)', rooms: ['general', 'random'] }) }] }, 1)
      expect(change.devices).toHaveLength(1)
      expect(change.rooms).toEqual([{ room: 'random', userId: 'alice', member: { userId: 'alice', name: 'Alice (phone)', status: 'online', nodes: ['n1'] } }])
      expect(change.users).toEqual([])

      // the laptop leaving 'general' keeps alice in it through the phone, on n1 only
      const left = replica.applyDelta({ node: 'n2', incarnation: 1, seq: 2, ops: [{ op: 'put', entry: entry('laptop', { status: 'online', since: 9, name: 'Alice', rooms: [] }) }] }, 1)
      expect(left.rooms).toEqual([{ room: 'general', userId: 'alice', member: { userId: 'alice', name: 'Alice (phone)', status: 'online', nodes: ['n1'] } }])
      // still on both nodes and in both rooms, still named after the laptop
      expect(left.users).toEqual([])
    })

    it('reports only the net change of a batch', () => {
      const replica = setup()
      const change = replica.applyDelta({
        node: 'n2',
        incarnation: 1,
        seq: 2,
        ops: [{ op: 'del', deviceId: 'laptop' }, { op: 'put', entry: entry('laptop', { status: 'online', since: 9, name: 'Alice', rooms: ['general'] }) }]
      }, 1)
      expect(change.devices).toHaveLength(2)
      expect(change.rooms).toEqual([])
      expect(change.users).toEqual([])
    })

    it('breaks a tie on since by node id, then device id', () => {
      const replica = new PresenceReplica('self')
      replica.applyFull({ node: 'n1', incarnation: 1, seq: 1, entries: [entry('b', { name: 'n1-b' }), entry('a', { name: 'n1-a' })] }, 0)
      expect(replica.user('alice')?.name).toBe('n1-b')
      replica.applyFull({ node: 'n0', incarnation: 1, seq: 1, entries: [entry('z', { name: 'n0-z' })] }, 0)
      expect(replica.user('alice')?.name).toBe('n1-b')
    })
  })
})
