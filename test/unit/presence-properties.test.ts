/**
 * Property tests for the presence CRDT: random owner histories, delivered to replicas in any order
 * with loss and duplication, must converge to exactly what the owners hold once the repair protocol
 * (heartbeat, then full-state pull for every node flagged) has run.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  LocalPresence,
  PresenceReplica,
  type NodeMeta,
  type PresenceChange,
  type PresenceDelta,
  type PresenceEntry,
  type PresenceFullState,
  type PresenceHeartbeat,
  type RosterMember,
  type UserPresence
} from '../../node/src/state/presence.js'

const NODES = ['n0', 'n1', 'n2']
const USERS = ['u0', 'u1', 'u2', 'u3']
const ROOMS = ['r0', 'r1', 'r2', 'r3']
const NOW = 1_000
const TIMEOUT_MS = 3_000
const RUNS = 200
const meta: NodeMeta = { load: { clients: 0, rooms: 0, maxClients: 10 }, gatewayAddrs: [], meshAddrs: [] }

type Op =
  | { kind: 'put', device: number, user: number, name: number, away: boolean, rooms: string[], since: number }
  | { kind: 'del', device: number }

type Cmd =
  | { kind: 'ops', node: number, ops: Op[] }
  | { kind: 'restart' | 'leave' | 'heartbeat' | 'full', node: number }

type Msg =
  | { kind: 'delta', delta: PresenceDelta }
  | { kind: 'full', state: PresenceFullState }
  | { kind: 'heartbeat', hb: PresenceHeartbeat }
  | { kind: 'depart', node: string, incarnation: number }

interface Owner { id: string, local: LocalPresence, gone: boolean }

/**
 * How one link delivers the log: each message lost with probability `loss`, else doubled with
 * probability `dup`; all in shuffled order, `stepMs` apart, with an `expire` sweep after a message
 * with probability `expire`, so nodes also go down and come back mid-stream.
 */
interface Delivery { seed: number, loss: number, dup: number, stepMs: number, expire: number }

const nodeArb = fc.nat(NODES.length - 1)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('put'),
      device: fc.nat(4),
      user: fc.nat(USERS.length - 1),
      name: fc.nat(2),
      away: fc.boolean(),
      // unsorted, with repeats: owners must normalise
      rooms: fc.array(fc.constantFrom(...ROOMS), { maxLength: 4 }),
      // a small range, so that ties on `since` happen
      since: fc.nat(3)
    })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('del'), device: fc.nat(4) }) }
)
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('ops'), node: nodeArb, ops: fc.array(opArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart'), node: nodeArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave'), node: nodeArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('heartbeat'), node: nodeArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('full'), node: nodeArb }) }
)
// size 'max': fast-check otherwise caps arrays at about 10 items, too short for gaps, restarts and revivals to pile up
const historyArb = fc.array(cmdArb, { maxLength: 60, size: 'max' })
const deliveryArb: fc.Arbitrary<Delivery> = fc.record({
  seed: fc.integer(),
  loss: fc.double({ min: 0, max: 0.5, noNaN: true }),
  dup: fc.double({ min: 0, max: 0.5, noNaN: true }),
  stepMs: fc.integer({ min: 0, max: 2 * TIMEOUT_MS }),
  expire: fc.double({ min: 0, max: 0.5, noNaN: true })
})

const sortEntries = (entries: readonly PresenceEntry[]): PresenceEntry[] => [...entries].sort((a, b) => compare(a.deviceId, b.deviceId))
const stateKey = (node: string, incarnation: number, seq: number): string => `${node}#${incarnation}@${seq}`

/**
 * Runs the owners through the history and records every message they would have sent, and every
 * state they passed through (by node, incarnation and seq).
 */
function simulate (cmds: readonly Cmd[]): { owners: Owner[], log: Msg[], states: Map<string, PresenceEntry[]> } {
  const owners = NODES.map(id => ({ id, local: new LocalPresence(id, 1), gone: false }))
  const log: Msg[] = []
  const states = new Map<string, PresenceEntry[]>(NODES.map(id => [stateKey(id, 1, 0), []]))
  for (const cmd of cmds) {
    const owner = owners[cmd.node]
    if (owner === undefined) throw new Error('node index out of range')
    if (cmd.kind === 'restart') {
      owner.local = new LocalPresence(owner.id, owner.local.incarnation + 1)
      owner.gone = false
      states.set(stateKey(owner.id, owner.local.incarnation, 0), [])
      continue
    }
    if (owner.gone) continue
    if (cmd.kind === 'ops') {
      const delta = owner.local.apply(cmd.ops.map(op => op.kind === 'del'
        ? { op: 'del', deviceId: `d${op.device}` }
        : {
            op: 'put',
            entry: {
              userId: USERS[op.user] ?? '',
              deviceId: `d${op.device}`,
              name: `name-${op.name}`,
              status: op.away ? 'away' : 'online',
              rooms: op.rooms,
              since: op.since
            }
          }))
      if (delta !== undefined) {
        log.push({ kind: 'delta', delta })
        states.set(stateKey(owner.id, delta.incarnation, delta.seq), sortEntries(owner.local.entries()))
      }
    } else if (cmd.kind === 'leave') {
      log.push({ kind: 'depart', node: owner.id, incarnation: owner.local.incarnation })
      owner.gone = true
    } else if (cmd.kind === 'heartbeat') {
      log.push({ kind: 'heartbeat', hb: owner.local.heartbeat(meta) })
    } else {
      log.push({ kind: 'full', state: owner.local.fullState() })
    }
  }
  // a replica must never write into what it was given
  return { owners, log: log.map(deepFreeze), states }
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

/** The messages of the log in the order one link delivers them. */
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

function deliver (replica: PresenceReplica, msg: Msg, now: number): PresenceChange {
  switch (msg.kind) {
    case 'delta': return replica.applyDelta(msg.delta, now)
    case 'full': return replica.applyFull(msg.state, now)
    case 'heartbeat': return replica.heartbeat(msg.hb, now)
    case 'depart': return replica.depart(msg.node, msg.incarnation, now)
  }
}

function describeMsg (msg: Msg): string {
  switch (msg.kind) {
    case 'delta': return `delta ${msg.delta.node}#${msg.delta.incarnation}@${msg.delta.seq}`
    case 'full': return `full ${msg.state.node}#${msg.state.incarnation}@${msg.state.seq}`
    case 'heartbeat': return `heartbeat ${msg.hb.node}#${msg.hb.incarnation}@${msg.hb.seq}`
    case 'depart': return `depart ${msg.node}#${msg.incarnation}`
  }
}

const isEmpty = (c: PresenceChange): boolean =>
  c.devices.length + c.rooms.length + c.users.length + c.needsSync.length + c.nodes.length === 0

/**
 * Everything a client could learn from the diffs alone. `apply` also checks that each diff changes
 * something: a diff that repeats what the mirror already shows is noise for every client.
 */
class Mirror {
  readonly devices = new Map<string, PresenceEntry>()
  readonly rosters = new Map<string, Map<string, RosterMember>>()
  readonly users = new Map<string, UserPresence>()
  readonly up = new Map<string, number>()

  apply (change: PresenceChange): void {
    for (const { node, deviceId, entry } of change.devices) {
      const key = `${node}/${deviceId}`
      expect(same(this.devices.get(key), entry), `device diff ${key} changes the device`).toBe(false)
      if (entry === null) this.devices.delete(key)
      else this.devices.set(key, entry)
    }
    for (const { room, userId, member } of change.rooms) {
      const roster = this.rosters.get(room) ?? new Map<string, RosterMember>()
      expect(same(roster.get(userId), member), `roster diff ${room}/${userId} changes the roster`).toBe(false)
      if (member === null) roster.delete(userId)
      else roster.set(userId, member)
      this.rosters.set(room, roster)
    }
    for (const { userId, presence } of change.users) {
      expect(same(this.users.get(userId), presence), `user diff ${userId} changes the user`).toBe(false)
      if (presence === null) this.users.delete(userId)
      else this.users.set(userId, presence)
    }
    for (const { node, up, incarnation } of change.nodes) {
      expect(same(this.up.get(node), up ? incarnation : null), `node diff ${node} changes the node`).toBe(false)
      if (up) this.up.set(node, incarnation)
      else this.up.delete(node)
    }
  }
}

function same (a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
}

const compare = (a: string, b: string): number => a < b ? -1 : a > b ? 1 : 0

/** Reference aggregation, written independently of the replica's incremental one. */
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

/** Asserts that the replica shows exactly the current state of the owners for which `counts` holds. */
function expectState (replica: PresenceReplica, owners: readonly Owner[], counts: (id: string) => boolean, label: string): void {
  const devices = owners
    .filter(o => !o.gone && counts(o.id))
    .flatMap(o => o.local.entries().map(entry => ({ node: o.id, entry })))
  for (const o of owners) {
    const expected = o.gone || !counts(o.id) ? [] : sortEntries(o.local.entries())
    expect(replica.nodeEntries(o.id), `${label}: entries of ${o.id}`).toEqual(expected)
  }
  for (const room of ROOMS) {
    const expected = USERS.flatMap(u => aggregate(u, devices.filter(d => d.entry.userId === u && d.entry.rooms.includes(room))) ?? [])
    expect(replica.roomRoster(room), `${label}: roster of ${room}`).toEqual(expected)
  }
  expect(replica.rooms(), `${label}: rooms with members`).toEqual(ROOMS.filter(r => devices.some(d => d.entry.rooms.includes(r))))
  for (const u of USERS) {
    const mine = devices.filter(d => d.entry.userId === u)
    const member = aggregate(u, mine)
    const expected = member === undefined ? undefined : { ...member, rooms: [...new Set(mine.flatMap(d => d.entry.rooms))].sort() }
    expect(replica.user(u), `${label}: presence of ${u}`).toEqual(expected)
  }
}

function expectMirror (mirror: Mirror, replica: PresenceReplica, label: string): void {
  for (const room of ROOMS) {
    const members = [...mirror.rosters.get(room)?.values() ?? []].sort((a, b) => compare(a.userId, b.userId))
    expect(members, `${label}: mirrored roster of ${room}`).toEqual(replica.roomRoster(room))
  }
  for (const u of USERS) expect(mirror.users.get(u), `${label}: mirrored presence of ${u}`).toEqual(replica.user(u))
  for (const node of NODES) {
    const entries = [...mirror.devices].filter(([key]) => key.startsWith(`${node}/`)).map(([, e]) => e).sort((a, b) => compare(a.deviceId, b.deviceId))
    expect(entries, `${label}: mirrored entries of ${node}`).toEqual(replica.nodeEntries(node))
  }
  const up = replica.nodes().filter(n => n.up).map(n => [n.id, n.incarnation])
  expect([...mirror.up].sort((a, b) => compare(a[0], b[0])), `${label}: mirrored live nodes`).toEqual(up)
}

/**
 * At every step, a node shows a state its owner really was in: exactly the one at the seq applied,
 * or, while it waits for a full state, possibly nothing (a down node that came back). Never a
 * mixture built by applying deltas on top of a state the replica does not have.
 */
function expectOwnerStates (replica: PresenceReplica, states: ReadonlyMap<string, PresenceEntry[]>, label: string): void {
  const waiting = new Set(replica.needsSync())
  for (const node of replica.nodes()) {
    const shown = replica.nodeEntries(node.id)
    if (!node.up || (waiting.has(node.id) && shown.length === 0)) {
      expect(shown, `${label}: ${node.id} shows nothing while down`).toEqual([])
      continue
    }
    expect(shown, `${label}: ${node.id} shows its state at #${node.incarnation}@${node.seq}`).toEqual(states.get(stateKey(node.id, node.incarnation, node.seq)))
  }
}

/**
 * Delivers the log over a lossy link, then runs the repair protocol (every owner heartbeats, or
 * says goodbye again if it left; every node flagged gets its owner's full state) until nothing
 * needs a sync. Returns the time at which it ended.
 */
function converge (cmds: readonly Cmd[], delivery: Delivery, self: string) {
  const { owners, log, states } = simulate(cmds)
  const replica = new PresenceReplica(self)
  const mirror = new Mirror()
  const random = prng(delivery.seed ^ 0x5bd1e995)
  let now = NOW
  for (const msg of schedule(log, delivery)) {
    mirror.apply(deliver(replica, msg, now))
    now += delivery.stepMs
    if (random() < delivery.expire) mirror.apply(replica.expire(now, TIMEOUT_MS))
    expectOwnerStates(replica, states, `${self} after ${describeMsg(msg)}`)
  }
  for (let round = 0; round < 5 && (round === 0 || replica.needsSync().length > 0); round++) {
    for (const o of owners) {
      mirror.apply(o.gone ? replica.depart(o.id, o.local.incarnation, now) : replica.heartbeat(o.local.heartbeat(meta), now))
    }
    for (const id of replica.needsSync()) {
      const owner = owners.find(o => o.id === id)
      if (owner === undefined) throw new Error(`no owner ${id}`)
      mirror.apply(replica.applyFull(owner.local.fullState(), now))
    }
  }
  expect(replica.needsSync(), 'repair terminates').toEqual([])
  return { owners, log, replica, mirror, end: now }
}

/** Replica A runs on one of the owners (its own id never expires), replica B on an outside node. */
const REPLICAS = [{ label: 'A', self: 'n0' }, { label: 'B', self: 'observer' }]

describe('presence CRDT properties', () => {
  it('converges to exactly the owners\' state from any delivery order, with loss and duplication', () => {
    fc.assert(fc.property(historyArb, deliveryArb, deliveryArb, (cmds, da, db) => {
      const [a, b] = [converge(cmds, da, 'n0'), converge(cmds, db, 'observer')]
      expectState(a.replica, a.owners, () => true, 'A')
      expectState(b.replica, b.owners, () => true, 'B')
      expect(b.replica.stats(), 'both replicas hold the same amount').toEqual(a.replica.stats())
    }), { numRuns: RUNS })
  })

  it('diffs replayed onto an empty mirror reproduce the replica, and every diff changes something', () => {
    fc.assert(fc.property(historyArb, deliveryArb, (cmds, delivery) => {
      for (const { label, self } of REPLICAS) {
        const { replica, mirror } = converge(cmds, delivery, self)
        expectMirror(mirror, replica, label)
      }
    }), { numRuns: RUNS })
  })

  it('after convergence, replaying any old message (old incarnations included) changes nothing', () => {
    fc.assert(fc.property(historyArb, deliveryArb, deliveryArb, (cmds, delivery, replay) => {
      const { owners, log, replica, end } = converge(cmds, delivery, 'observer')
      for (const msg of schedule(log, { ...replay, loss: 0 })) {
        const change = deliver(replica, msg, end + 1)
        expect(isEmpty(change), `replaying ${describeMsg(msg)} changes nothing`).toBe(true)
      }
      expectState(replica, owners, () => true, 'after replay')
    }), { numRuns: RUNS })
  })

  it('a down node\'s users disappear from every roster, except on the node itself', () => {
    fc.assert(fc.property(historyArb, deliveryArb, fc.subarray(NODES), (cmds, delivery, killed) => {
      for (const { label, self } of REPLICAS) {
        const { owners, replica, mirror, end } = converge(cmds, delivery, self)
        const later = end + TIMEOUT_MS + 1
        for (const o of owners) {
          if (!o.gone && !killed.includes(o.id)) mirror.apply(replica.heartbeat(o.local.heartbeat(meta), later))
        }
        mirror.apply(replica.expire(later, TIMEOUT_MS))

        const alive = (id: string): boolean => id === self || !killed.includes(id)
        expectState(replica, owners, alive, label)
        expectMirror(mirror, replica, label)
        for (const id of killed.filter(id => !alive(id))) {
          expect(replica.liveNodes(), `${label}: ${id} is not live`).not.toContain(id)
          for (const room of ROOMS) {
            for (const m of replica.roomRoster(room)) expect(m.nodes, `${label}: ${m.userId} in ${room} not on ${id}`).not.toContain(id)
          }
          for (const u of USERS) expect(replica.user(u)?.nodes ?? [], `${label}: ${u} not on ${id}`).not.toContain(id)
        }
        if (owners.find(o => o.id === self)?.gone !== true) expect(replica.liveNodes(), `${label}: self stays live`).toContain(self)
      }
    }), { numRuns: RUNS })
  })

  it('an old incarnation never resurrects entries, whatever arrives after the new one', () => {
    fc.assert(fc.property(historyArb, deliveryArb, (cmds, delivery) => {
      const { owners, log } = simulate(cmds)
      const replica = new PresenceReplica('observer')
      // the newest incarnation of each owner speaks first, then the whole history arrives late
      for (const o of owners) {
        if (o.gone) replica.depart(o.id, o.local.incarnation, NOW)
        else replica.applyFull(o.local.fullState(), NOW)
      }
      for (const msg of schedule(log, delivery)) {
        const node = msg.kind === 'delta' ? msg.delta.node : msg.kind === 'full' ? msg.state.node : msg.kind === 'heartbeat' ? msg.hb.node : msg.node
        const incarnation = msg.kind === 'delta' ? msg.delta.incarnation : msg.kind === 'full' ? msg.state.incarnation : msg.kind === 'heartbeat' ? msg.hb.incarnation : msg.incarnation
        const current = owners.find(o => o.id === node)?.local.incarnation
        const change = deliver(replica, msg, NOW)
        if (incarnation !== current) expect(isEmpty(change), `stale ${describeMsg(msg)} changes nothing`).toBe(true)
      }
      expectState(replica, owners, () => true, 'after stale delivery')
    }), { numRuns: RUNS })
  })
})
