/**
 * Property tests for room-scoped presence: random owner histories, split into one stream per room,
 * delivered to a receiver that carries some of the rooms in any order with loss and duplication,
 * with node liveness (down, goodbye, restart) from global presence mixed in, must converge to
 * exactly what the owners hold in the carried rooms once the repair protocol (stream heads, then a
 * pull of every stream flagged) has run; nothing of an old incarnation or an ended stream comes back.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  LocalRoomPresence,
  RoomPresence,
  RoomPresenceRefusedError,
  type RoomBeat,
  type RoomDevice,
  type RoomDelta,
  type RoomPresenceChange,
  type RoomStreamState
} from '../../node/src/state/room-presence.js'
import { LocalPresence, PresenceReplica } from '../../node/src/state/presence.js'
import type { PresenceEntry, RosterMember } from '../../node/src/state/presence.js'

const NODES = ['n0', 'n1', 'n2']
const USERS = ['u0', 'u1', 'u2', 'u3']
const ROOMS = ['r0', 'r1', 'r2', 'r3']
/** the receiver carries these; r3 is carried by others only */
const CARRIED = ['r0', 'r1', 'r2']
const RUNS = 200

type Op =
  | { kind: 'put', device: number, user: number, name: number, away: boolean, rooms: string[], since: number }
  | { kind: 'del', device: number }

type Cmd =
  | { kind: 'ops', node: number, ops: Op[] }
  | { kind: 'restart' | 'leave' | 'crash', node: number }
  | { kind: 'beat' | 'state', node: number, room: string }

type Msg =
  | { kind: 'delta', delta: RoomDelta }
  | { kind: 'beat', beat: RoomBeat }
  | { kind: 'state', state: RoomStreamState }
  | { kind: 'down', node: string, incarnation: number, left: boolean }
  | { kind: 'up', node: string, incarnation: number }

interface Owner { id: string, local: LocalRoomPresence, gone: boolean }

interface Delivery { seed: number, loss: number, dup: number }

const nodeArb = fc.nat(NODES.length - 1)
const roomArb = fc.constantFrom(...ROOMS)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('put'),
      device: fc.nat(4),
      user: fc.nat(USERS.length - 1),
      name: fc.nat(2),
      away: fc.boolean(),
      rooms: fc.array(roomArb, { maxLength: 4 }),
      since: fc.nat(3)
    })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('del'), device: fc.nat(4) }) }
)
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('ops'), node: nodeArb, ops: fc.array(opArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart'), node: nodeArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave'), node: nodeArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash'), node: nodeArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('beat'), node: nodeArb, room: roomArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('state'), node: nodeArb, room: roomArb }) }
)
const historyArb = fc.array(cmdArb, { maxLength: 60, size: 'max' })
const deliveryArb: fc.Arbitrary<Delivery> = fc.record({
  seed: fc.integer(),
  loss: fc.double({ min: 0, max: 0.5, noNaN: true }),
  dup: fc.double({ min: 0, max: 0.5, noNaN: true })
})

const deviceId = (incarnation: number, n: number): string => `${incarnation.toString(36)}-d${n}`

/** Runs the owners through the history and records every message they (and global presence) would have sent. */
function simulate (cmds: readonly Cmd[]): { owners: Owner[], log: Msg[] } {
  const owners = NODES.map(id => ({ id, local: new LocalRoomPresence(id, 1), gone: false }))
  const log: Msg[] = NODES.map(node => ({ kind: 'up', node, incarnation: 1 }))
  for (const cmd of cmds) {
    const owner = owners[cmd.node]
    if (owner === undefined) throw new Error('node index out of range')
    const inc = owner.local.incarnation
    if (cmd.kind === 'restart') {
      owner.local = new LocalRoomPresence(owner.id, inc + 1)
      owner.gone = false
      log.push({ kind: 'up', node: owner.id, incarnation: inc + 1 })
      continue
    }
    if (owner.gone) continue
    if (cmd.kind === 'ops') {
      const deltas = owner.local.apply(cmd.ops.map(op => op.kind === 'del'
        ? { op: 'del', deviceId: deviceId(inc, op.device) }
        : {
            op: 'put',
            entry: {
              userId: USERS[op.user] ?? '',
              deviceId: deviceId(inc, op.device),
              name: `name-${op.name}`,
              status: op.away ? 'away' : 'online',
              rooms: op.rooms,
              since: op.since
            }
          }))
      for (const delta of deltas) log.push({ kind: 'delta', delta })
    } else if (cmd.kind === 'leave') {
      log.push({ kind: 'down', node: owner.id, incarnation: inc, left: true })
      owner.gone = true
    } else if (cmd.kind === 'crash') {
      // a suspicion: global presence declares the node down although it goes on
      log.push({ kind: 'down', node: owner.id, incarnation: inc, left: false })
    } else if (cmd.kind === 'beat') {
      log.push({ kind: 'beat', beat: owner.local.beat(cmd.room) })
    } else if (cmd.kind === 'state') {
      log.push({ kind: 'state', state: owner.local.state(cmd.room) })
    }
  }
  return { owners, log: log.map(deepFreeze) }
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

/** Deterministic PRNG (mulberry32): fast-check picks the seed, so a failure replays exactly. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function schedule (log: readonly Msg[], { seed, loss, dup }: Delivery): Msg[] {
  const random = prng(seed)
  const out = log.flatMap(msg => {
    const r = random()
    return r < loss ? [] : r < loss + dup ? [msg, msg] : [msg]
  })
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = out[i] as Msg
    out[i] = out[j] as Msg
    out[j] = tmp
  }
  return out
}

function deliver (rp: RoomPresence, msg: Msg): RoomPresenceChange {
  switch (msg.kind) {
    case 'delta': return rp.applyDelta(msg.delta)
    case 'beat': return rp.beat(msg.beat)
    case 'state': return rp.applyState(msg.state)
    case 'down': return rp.nodeDown(msg.node, msg.incarnation, msg.left)
    case 'up': return rp.nodeUp(msg.node, msg.incarnation)
  }
}

function describeMsg (msg: Msg): string {
  switch (msg.kind) {
    case 'delta': return `delta ${msg.delta.room}/${msg.delta.node}#${msg.delta.incarnation}.${msg.delta.epoch}@${msg.delta.seq}`
    case 'beat': return `beat ${msg.beat.room}/${msg.beat.node}#${msg.beat.incarnation}.${msg.beat.epoch}@${msg.beat.seq}`
    case 'state': return `state ${msg.state.room}/${msg.state.node}#${msg.state.incarnation}.${msg.state.epoch}@${msg.state.seq}`
    case 'down': return `down ${msg.node}#${msg.incarnation}${msg.left ? ' (left)' : ''}`
    case 'up': return `up ${msg.node}#${msg.incarnation}`
  }
}

const compare = (a: string, b: string): number => a < b ? -1 : a > b ? 1 : 0

function same (a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
}

/** Every roster a client could build from the diffs alone; each diff must change something. */
class Mirror {
  readonly rosters = new Map<string, Map<string, RosterMember>>()

  apply (change: RoomPresenceChange): void {
    for (const { room, userId, member } of change.rooms) {
      const roster = this.rosters.get(room) ?? new Map<string, RosterMember>()
      expect(same(roster.get(userId), member), `roster diff ${room}/${userId} changes the roster`).toBe(false)
      if (member === null) roster.delete(userId)
      else roster.set(userId, member)
      this.rosters.set(room, roster)
    }
  }

  roster (room: string): RosterMember[] {
    return [...this.rosters.get(room)?.values() ?? []].sort((a, b) => compare(a.userId, b.userId))
  }
}

/** Reference aggregation, written independently of the incremental one. */
function aggregate (userId: string, devices: ReadonlyArray<{ node: string, entry: PresenceEntry }>): RosterMember | undefined {
  const latest = [...devices].sort((a, b) => b.entry.since - a.entry.since || compare(b.node, a.node) || compare(b.entry.deviceId, a.entry.deviceId))[0]
  if (latest === undefined) return undefined
  return {
    userId,
    name: latest.entry.name,
    status: devices.some(d => d.entry.status === 'online') ? 'online' : 'away',
    nodes: [...new Set(devices.map(d => d.node))].sort()
  }
}

function expectRosters (rp: RoomPresence, owners: readonly Owner[], alive: (id: string) => boolean, label: string): void {
  const devices = owners.filter(o => !o.gone && alive(o.id)).flatMap(o => o.local.entries().map(entry => ({ node: o.id, entry })))
  for (const room of ROOMS) {
    const expected = CARRIED.includes(room)
      ? USERS.flatMap(u => aggregate(u, devices.filter(d => d.entry.userId === u && d.entry.rooms.includes(room))) ?? [])
      : []
    expect(rp.roster(room), `${label}: roster of ${room}`).toEqual(expected)
    expect(rp.hosts(room), `${label}: hosts of ${room}`).toEqual([...new Set(expected.flatMap(m => m.nodes))].sort())
  }
  // the per-user index a DM's route reads agrees with the rosters
  for (const u of USERS) {
    expect(rp.roomsOf(u), `${label}: rooms of ${u}`).toEqual(ROOMS.filter(room => rp.roster(room).some(m => m.userId === u)).sort())
  }
}

function newReceiver (): RoomPresence {
  const rp = new RoomPresence()
  for (const room of CARRIED) rp.carry(room)
  return rp
}

/**
 * Delivers the log over a lossy link, then runs the repair protocol (global presence reports every
 * owner up, or gone if it left; every owner sends each room's head; every stream flagged is pulled)
 * until nothing needs a pull.
 */
function converge (cmds: readonly Cmd[], delivery: Delivery) {
  const { owners, log } = simulate(cmds)
  const rp = newReceiver()
  const mirror = new Mirror()
  for (const msg of schedule(log, delivery)) {
    mirror.apply(deliver(rp, msg))
    for (const room of ROOMS) expect(mirror.roster(room), `mirror of ${room} after ${describeMsg(msg)}`).toEqual(rp.roster(room))
  }
  for (let round = 0; round < 5 && (round === 0 || rp.needsSync().length > 0); round++) {
    for (const o of owners) {
      if (o.gone) {
        mirror.apply(rp.nodeDown(o.id, o.local.incarnation, true))
        continue
      }
      mirror.apply(rp.nodeUp(o.id, o.local.incarnation))
      for (const room of ROOMS) mirror.apply(rp.beat(o.local.beat(room)))
    }
    for (const { room, node } of rp.needsSync()) {
      const owner = owners.find(o => o.id === node)
      if (owner === undefined) throw new Error(`no owner ${node}`)
      mirror.apply(rp.applyState(owner.local.state(room)))
    }
  }
  expect(rp.needsSync(), 'repair terminates').toEqual([])
  return { owners, log, rp, mirror }
}

describe('room presence properties', () => {
  it('converges to exactly the owners\' devices in the carried rooms, from any delivery order with loss and duplication', () => {
    fc.assert(fc.property(historyArb, deliveryArb, (cmds, delivery) => {
      const { owners, rp, mirror } = converge(cmds, delivery)
      expectRosters(rp, owners, () => true, 'converged')
      for (const room of ROOMS) expect(mirror.roster(room), `mirrored roster of ${room}`).toEqual(rp.roster(room))
      expect(rp.stats().devices, 'device count').toBe(CARRIED.reduce((n, room) => n + owners.filter(o => !o.gone).reduce((k, o) => k + o.local.entries().filter(e => e.rooms.includes(room)).length, 0), 0))
    }), { numRuns: RUNS })
  })

  it('two receivers given different delivery orders end with the same rosters', () => {
    fc.assert(fc.property(historyArb, deliveryArb, deliveryArb, (cmds, da, db) => {
      const a = converge(cmds, da)
      const b = converge(cmds, db)
      for (const room of ROOMS) expect(a.rp.roster(room), `roster of ${room}`).toEqual(b.rp.roster(room))
    }), { numRuns: RUNS })
  })

  it('after convergence, replaying any old stream message changes nothing', () => {
    fc.assert(fc.property(historyArb, deliveryArb, deliveryArb, (cmds, delivery, replay) => {
      const { owners, log, rp } = converge(cmds, delivery)
      for (const msg of schedule(log.filter(m => m.kind === 'delta' || m.kind === 'state' || m.kind === 'beat'), { ...replay, loss: 0 })) {
        const change = deliver(rp, msg)
        expect(change.rooms, `replaying ${describeMsg(msg)} changes no roster`).toEqual([])
        expect(change.needsSync, `replaying ${describeMsg(msg)} flags nothing`).toEqual([])
      }
      expectRosters(rp, owners, () => true, 'after replay')
    }), { numRuns: RUNS })
  })

  it('a node declared down leaves every room at once, and only a pull brings its devices back', () => {
    fc.assert(fc.property(historyArb, deliveryArb, fc.subarray(NODES), (cmds, delivery, killed) => {
      const { owners, rp, mirror } = converge(cmds, delivery)
      for (const o of owners) if (killed.includes(o.id) && !o.gone) mirror.apply(rp.nodeDown(o.id, o.local.incarnation, false))
      expectRosters(rp, owners, id => !killed.includes(id), 'after the kill')
      for (const room of ROOMS) {
        for (const m of rp.roster(room)) for (const id of killed) expect(m.nodes, `${m.userId} in ${room} not on ${id}`).not.toContain(id)
      }
      // the suspicion was wrong: the nodes speak again, their heads flag every stream they have, pulls restore them
      for (const o of owners) {
        if (o.gone) continue
        mirror.apply(rp.nodeUp(o.id, o.local.incarnation))
        for (const room of ROOMS) mirror.apply(rp.beat(o.local.beat(room)))
      }
      for (const { room, node } of rp.needsSync()) {
        const owner = owners.find(o => o.id === node)
        if (owner !== undefined) mirror.apply(rp.applyState(owner.local.state(room)))
      }
      expectRosters(rp, owners, () => true, 'after the pulls')
      for (const room of ROOMS) expect(mirror.roster(room), `mirrored roster of ${room}`).toEqual(rp.roster(room))
    }), { numRuns: RUNS })
  })

  it('an old incarnation, or a node that said goodbye, never brings entries back', () => {
    fc.assert(fc.property(historyArb, deliveryArb, (cmds, delivery) => {
      const { owners, log } = simulate(cmds)
      const rp = newReceiver()
      // the newest state of each owner arrives first, then the whole history late
      for (const o of owners) {
        if (o.gone) rp.nodeDown(o.id, o.local.incarnation, true)
        else for (const room of ROOMS) rp.applyState(o.local.state(room))
      }
      for (const msg of schedule(log, delivery)) {
        const node = msg.kind === 'delta' ? msg.delta.node : msg.kind === 'beat' ? msg.beat.node : msg.kind === 'state' ? msg.state.node : msg.node
        const incarnation = msg.kind === 'delta' ? msg.delta.incarnation : msg.kind === 'beat' ? msg.beat.incarnation : msg.kind === 'state' ? msg.state.incarnation : msg.incarnation
        const owner = owners.find(o => o.id === node)
        const change = deliver(rp, msg)
        if (owner !== undefined && (incarnation < owner.local.incarnation || owner.gone)) {
          expect(change.rooms, `stale ${describeMsg(msg)} changes no roster`).toEqual([])
        }
      }
      for (const o of owners) {
        if (!o.gone) continue
        for (const room of ROOMS) expect(rp.devices(room, o.id), `${o.id} left: nothing in ${room}`).toEqual([])
      }
    }), { numRuns: RUNS })
  })
})

describe('room presence: owner streams and bad input', () => {
  const entry = (deviceId: string, rooms: string[]): PresenceEntry => ({ userId: 'u0', deviceId, name: 'ann', status: 'online', rooms, since: 1 })

  it('splits one device\'s change into one delta per room it touches, each stream numbered on its own', () => {
    const local = new LocalRoomPresence('n0', 7)
    const first = local.apply([{ op: 'put', entry: entry('7-a', ['r1', 'r0', 'r1']) }])
    expect(first.map(d => [d.room, d.epoch, d.seq, d.ops.length])).toEqual([['r0', 1, 1, 1], ['r1', 2, 1, 1]])
    // leaving r0 for r2: a del in r0 (its stream ends), a put in r2, nothing in r1
    const second = local.apply([{ op: 'put', entry: entry('7-a', ['r1', 'r2']) }])
    expect(second.map(d => [d.room, d.epoch, d.seq, d.ops.map(o => o.op)])).toEqual([['r0', 1, 2, ['del']], ['r2', 3, 1, ['put']]])
    expect(local.rooms()).toEqual(['r1', 'r2'])
    // the ended stream's head names the next epoch at seq 0, and a new stream there takes it
    expect(local.beat('r0')).toEqual({ room: 'r0', node: 'n0', incarnation: 7, epoch: 4, seq: 0 })
    expect(local.apply([{ op: 'put', entry: entry('7-b', ['r0']) }]).map(d => [d.room, d.epoch, d.seq])).toEqual([['r0', 4, 1]])
  })

  it('refuses a delta or a state naming a device of another incarnation, and changes nothing', () => {
    const rp = newReceiver()
    rp.applyDelta({ room: 'r0', node: 'n1', incarnation: 5, epoch: 1, seq: 1, ops: [{ op: 'put', device: { userId: 'u0', deviceId: '5-a', name: 'ann', status: 'online', since: 1 } }] })
    const forged = { room: 'r0', node: 'n1', incarnation: 5, epoch: 1, seq: 2, ops: [{ op: 'put' as const, device: { userId: 'u1', deviceId: '6-x', name: 'eve', status: 'online' as const, since: 1 } }] }
    expect(() => rp.applyDelta(forged)).toThrow(RoomPresenceRefusedError)
    expect(() => rp.applyDelta({ ...forged, ops: [{ op: 'del', deviceId: 'other-1' }] })).toThrow(RoomPresenceRefusedError)
    expect(() => rp.applyState({ room: 'r0', node: 'n1', incarnation: 5, epoch: 1, seq: 3, devices: [forged.ops[0]!.device] })).toThrow(RoomPresenceRefusedError)
    expect(rp.roster('r0').map(m => m.userId)).toEqual(['u0'])
    // the stream is untouched: the next real delta still applies
    rp.applyDelta({ room: 'r0', node: 'n1', incarnation: 5, epoch: 1, seq: 2, ops: [{ op: 'del', deviceId: '5-a' }] })
    expect(rp.roster('r0')).toEqual([])
  })

  it('bounds devices per stream and rooms followed', () => {
    const rp = new RoomPresence({ maxDevicesPerStream: 3, maxRooms: 2 })
    rp.carry('r0')
    rp.carry('r1')
    expect(() => { rp.carry('r2') }).toThrow(RoomPresenceRefusedError)
    const dev = (i: number): { op: 'put', device: { userId: string, deviceId: string, name: string, status: 'online', since: number } } =>
      ({ op: 'put', device: { userId: `u${i}`, deviceId: `1-${i}`, name: 'x', status: 'online', since: 1 } })
    rp.applyDelta({ room: 'r0', node: 'n1', incarnation: 1, epoch: 1, seq: 1, ops: [dev(0), dev(1), dev(2)] })
    expect(() => rp.applyDelta({ room: 'r0', node: 'n1', incarnation: 1, epoch: 1, seq: 2, ops: [dev(3)] })).toThrow(RoomPresenceRefusedError)
    expect(() => rp.applyState({ room: 'r0', node: 'n1', incarnation: 1, epoch: 1, seq: 9, devices: [0, 1, 2, 3].map(i => dev(i).device) })).toThrow(RoomPresenceRefusedError)
    expect(rp.stats()).toEqual({ rooms: 2, streams: 1, devices: 3, needsSync: 0 })
    // replacing one device within the bound is fine
    rp.applyDelta({ room: 'r0', node: 'n1', incarnation: 1, epoch: 1, seq: 2, ops: [{ op: 'del', deviceId: '1-0' }, dev(3)] })
    expect(rp.roster('r0').map(m => m.userId)).toEqual(['u1', 'u2', 'u3'])
  })

  it('a room not carried holds nothing, and dropping a room removes its members with diffs', () => {
    const rp = newReceiver()
    const d = { room: 'r3', node: 'n1', incarnation: 1, epoch: 1, seq: 1, ops: [{ op: 'put' as const, device: { userId: 'u0', deviceId: '1-a', name: 'ann', status: 'online' as const, since: 1 } }] }
    expect(rp.applyDelta(d)).toEqual({ rooms: [], needsSync: [] })
    expect(rp.stats().devices).toBe(0)
    rp.applyDelta({ ...d, room: 'r0' })
    expect(rp.drop('r0').rooms).toEqual([{ room: 'r0', userId: 'u0', member: null }])
    expect(rp.carries('r0')).toBe(false)
    expect(rp.stats()).toEqual({ rooms: 2, streams: 0, devices: 0, needsSync: 0 })
  })

  it('global presence carries which rooms each node hosts, not who is in them, with the CRDT\'s rules', () => {
    const owner = new LocalPresence('n1', 1)
    const replica = new PresenceReplica('n0')
    const d1 = owner.apply([], [{ room: 'r0', on: true }, { room: 'r1', on: true }, { room: 'r0', on: true }])!
    expect(d1.ops).toEqual([])
    expect(d1.hosts).toEqual([{ room: 'r0', on: true }, { room: 'r1', on: true }])
    expect(replica.applyDelta(d1, 0).hosts).toEqual([{ room: 'r0', node: 'n1', on: true }, { room: 'r1', node: 'n1', on: true }])
    expect(replica.roomHosts('r0')).toEqual(['n1'])
    expect(replica.rooms()).toEqual(['r0', 'r1'])
    expect(replica.stats()).toMatchObject({ devices: 0, users: 0, hosted: 2 })
    // nothing to say: no delta
    expect(owner.apply([], [{ room: 'r1', on: true }])).toBeUndefined()
    const d2 = owner.apply([], [{ room: 'r0', on: false }])!
    // a gap: flagged, and the full state repairs it
    expect(replica.applyDelta({ ...d2, seq: d2.seq + 1 }, 1).needsSync).toEqual(['n1'])
    replica.applyFull(owner.fullState(), 1)
    expect(replica.hostedBy('n1')).toEqual(['r1'])
    expect(replica.roomHosts('r0')).toEqual([])
    // down: the hosts go; the old delta cannot bring them back; a goodbye is final
    replica.expire(10_000, 3000)
    expect(replica.roomHosts('r1')).toEqual([])
    expect(replica.applyDelta(d1, 10_001).hosts ?? []).toEqual([])
    replica.depart('n1', 1, 10_002)
    replica.applyFull(owner.fullState(), 10_003)
    expect(replica.rooms()).toEqual([])
  })

  it('a member with one device, then two on two nodes, then one, then none: roster, size and rooms of the user agree at each step', () => {
    const rp = new RoomPresence()
    rp.carry('r0')
    rp.carry('r1')
    const dev = (deviceId: string, since: number): RoomDevice => ({ userId: 'u0', deviceId, name: `ann-${deviceId}`, status: 'online', since })
    rp.applyState({ room: 'r0', node: 'n1', incarnation: 1, epoch: 1, seq: 1, devices: [dev('1-a', 1)] })
    expect(rp.roster('r0')).toEqual([{ userId: 'u0', name: 'ann-1-a', status: 'online', nodes: ['n1'] }])
    expect(rp.roomsOf('u0')).toEqual(['r0'])
    rp.applyState({ room: 'r0', node: 'n2', incarnation: 1, epoch: 1, seq: 1, devices: [dev('1-b', 2)] })
    expect(rp.size('r0')).toBe(1)
    expect(rp.roster('r0')).toEqual([{ userId: 'u0', name: 'ann-1-b', status: 'online', nodes: ['n1', 'n2'] }])
    rp.applyState({ room: 'r1', node: 'n2', incarnation: 1, epoch: 2, seq: 1, devices: [dev('1-b', 2)] })
    expect(rp.roomsOf('u0')).toEqual(['r0', 'r1'])
    // the newer device leaves r0: the member is the older one alone again
    rp.applyState({ room: 'r0', node: 'n2', incarnation: 1, epoch: 1, seq: 2, devices: [] })
    expect(rp.roster('r0')).toEqual([{ userId: 'u0', name: 'ann-1-a', status: 'online', nodes: ['n1'] }])
    expect(rp.roomsOf('u0')).toEqual(['r0', 'r1'])
    rp.applyState({ room: 'r1', node: 'n2', incarnation: 1, epoch: 2, seq: 2, devices: [] })
    expect(rp.roomsOf('u0')).toEqual(['r0'])
    rp.applyState({ room: 'r0', node: 'n1', incarnation: 1, epoch: 1, seq: 2, devices: [] })
    expect(rp.roster('r0')).toEqual([])
    expect(rp.size('r0')).toBe(0)
    expect(rp.roomsOf('u0')).toEqual([])
    expect(rp.stats()).toMatchObject({ devices: 0 })
  })
})
