/**
 * Property tests for the user directory: random hosting histories (devices attaching, changing,
 * leaving, nodes restarting), delivered to owners in any order and any number of times, must leave
 * every owner holding exactly what the hosting nodes hold; membership changes with the hosts'
 * handover must leave every user's records on exactly its current K owners; an owner rebuilt from
 * the nodes' session lists must equal the owner before its crash.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DirectoryTable,
  LocalDirectory,
  directoryOwners,
  type DirectoryDevice,
  type DirectoryRecord,
  type Registration
} from '../../node/src/state/directory.js'

const HOSTS = ['n0', 'n1', 'n2', 'n3']
const USERS = ['u0', 'u1', 'u2', 'u3', 'u4']
const K = 2
const RUNS = 200

type Change =
  | { kind: 'put', device: number, user: number, name: number, away: boolean, rooms: number }
  | { kind: 'del', device: number }

type Cmd =
  | { kind: 'changes', host: number, changes: Change[] }
  | { kind: 'flush' | 'full' | 'restart', host: number }

const hostArb = fc.nat(HOSTS.length - 1)
const changeArb: fc.Arbitrary<Change> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('put'),
      device: fc.nat(4),
      user: fc.nat(USERS.length - 1),
      name: fc.nat(2),
      away: fc.boolean(),
      rooms: fc.nat(3)
    })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('del'), device: fc.nat(4) }) }
)
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('changes'), host: hostArb, changes: fc.array(changeArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flush'), host: hostArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('full'), host: hostArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart'), host: hostArb }) }
)
const historyArb = fc.array(cmdArb, { maxLength: 50, size: 'max' })

function device (host: string, c: Extract<Change, { kind: 'put' }>): DirectoryDevice {
  return {
    userId: USERS[c.user]!,
    // device ids are per session: never reused for another user in practice, but the state must cope
    deviceId: `${host}-d${c.device}`,
    name: `name${c.name}`,
    status: c.away ? 'away' : 'online',
    rooms: c.rooms,
    since: 1_000 + c.device
  }
}

type Msg =
  | { kind: 'reg', reg: Registration }
  | { kind: 'up', node: string, incarnation: number }

/** Every record the hosts hold, as an owner of everything should hold it. */
function truth (hosts: Map<string, LocalDirectory>, only?: (userId: string) => boolean): DirectoryRecord[] {
  const out: DirectoryRecord[] = []
  for (const h of hosts.values()) {
    for (const d of h.devices()) {
      if (only === undefined || only(d.userId)) out.push({ node: h.node, incarnation: h.incarnation, ...d })
    }
  }
  return out.sort((a, b) => a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : a.node < b.node ? -1 : a.node > b.node ? 1 : a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0)
}

/**
 * Runs a history against hosts that all register with one owner ('owner', K = 1 over it alone),
 * returning the hosts at the end and every message they sent, in the order sent.
 */
function run (history: Cmd[]): { hosts: Map<string, LocalDirectory>, log: Msg[] } {
  const live = ['owner']
  const hosts = new Map(HOSTS.map(id => [id, new LocalDirectory(id, 1)]))
  const log: Msg[] = []
  const flush = (h: LocalDirectory): void => {
    for (const reg of h.flush(live, 1).values()) log.push({ kind: 'reg', reg })
  }
  for (const cmd of history) {
    const id = HOSTS[cmd.host]!
    const h = hosts.get(id)!
    if (cmd.kind === 'changes') {
      for (const c of cmd.changes) {
        if (c.kind === 'put') h.put(device(id, c))
        else h.del(`${id}-d${c.device}`)
      }
    } else if (cmd.kind === 'flush') {
      flush(h)
    } else if (cmd.kind === 'full') {
      flush(h)
      log.push({ kind: 'reg', reg: h.sessionsFor('owner', live, 1) })
    } else {
      // the new run starts empty; presence shows the new incarnation to the owner
      const next = new LocalDirectory(id, h.incarnation + 1)
      hosts.set(id, next)
      log.push({ kind: 'up', node: id, incarnation: next.incarnation })
    }
  }
  for (const h of hosts.values()) flush(h)
  return { hosts, log }
}

function apply (table: DirectoryTable, msg: Msg): void {
  if (msg.kind === 'reg') table.register(msg.reg, msg.reg.node)
  else table.nodeUp(msg.node, msg.incarnation)
}

/** `log` shuffled by `seed`, each message possibly delivered twice. */
function scramble<T> (log: readonly T[], seed: number, dup: number): T[] {
  let s = seed >>> 0
  const rand = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
  const out = log.flatMap(m => rand() < dup ? [m, m] : [m])
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    const t = out[i]!
    out[i] = out[j]!
    out[j] = t
  }
  return out
}

describe('directory: registrations in any order converge', () => {
  it('any order and duplication of registrations ends in what the hosts hold', () => {
    fc.assert(fc.property(historyArb, fc.integer(), fc.double({ min: 0, max: 0.5, noNaN: true }), (history, seed, dup) => {
      const { hosts, log } = run(history)
      const table = new DirectoryTable('owner')
      for (const msg of scramble(log, seed, dup)) apply(table, msg)
      expect(table.records()).toEqual(truth(hosts))
    }), { numRuns: RUNS })
  })

  it('the change diffs alone rebuild the table: replaying them onto an empty mirror gives the same records', () => {
    fc.assert(fc.property(historyArb, fc.integer(), (history, seed) => {
      const { log } = run(history)
      const table = new DirectoryTable('owner')
      const mirror = new Map<string, DirectoryRecord[]>()
      for (const msg of scramble(log, seed, 0.2)) {
        const change = msg.kind === 'reg' ? table.register(msg.reg, msg.reg.node) : table.nodeUp(msg.node, msg.incarnation).change
        for (const d of change.users) {
          expect(d.devices, `diff of ${d.userId} is the user's lookup`).toEqual(table.lookup(d.userId))
          mirror.set(d.userId, d.devices)
        }
      }
      const fromDiffs = [...mirror.keys()].sort().flatMap(u => mirror.get(u)!)
      expect(fromDiffs).toEqual(table.records())
    }), { numRuns: RUNS })
  })

  it('an old incarnation never comes back, whatever arrives after the restart', () => {
    fc.assert(fc.property(historyArb, fc.integer(), (history, seed) => {
      const { hosts, log } = run(history)
      const table = new DirectoryTable('owner')
      for (const msg of scramble(log, seed, 0)) apply(table, msg)
      // every registration again, in another order: stale ones must all be ignored
      for (const msg of scramble(log.filter(m => m.kind === 'reg'), seed + 1, 0.3)) apply(table, msg)
      for (const r of table.records()) {
        expect(r.incarnation, `${r.node} record of incarnation ${r.incarnation}`).toBe(hosts.get(r.node)!.incarnation)
      }
      expect(table.records()).toEqual(truth(hosts))
    }), { numRuns: RUNS })
  })

  it('a down node\'s devices vanish, stay gone under replays, and come back only through a pull once it is up', () => {
    fc.assert(fc.property(historyArb, fc.integer(), hostArb, (history, seed, which) => {
      const { hosts, log } = run(history)
      const table = new DirectoryTable('owner')
      for (const msg of log) apply(table, msg)
      const down = HOSTS[which]!
      const diff = table.nodeDown(down, hosts.get(down)!.incarnation)
      expect(table.records().filter(r => r.node === down)).toEqual([])
      for (const d of diff.users) expect(d.devices.some(r => r.node === down), `diff of ${d.userId}`).toBe(false)
      // the down node's own registrations, replayed in any order, do not revive it
      for (const msg of scramble(log.filter(m => m.kind === 'reg' && m.reg.node === down), seed, 0.5)) apply(table, msg)
      expect(table.records().filter(r => r.node === down)).toEqual([])
      expect(table.records()).toEqual(truth(hosts, () => true).filter(r => r.node !== down))
      // presence shows it up again: the owner pulls its sessions
      const h = hosts.get(down)!
      expect(table.nodeUp(down, h.incarnation).pull).toBe(true)
      table.register(h.sessionsFor('owner', ['owner'], 1), down)
      expect(table.records()).toEqual(truth(hosts))
    }), { numRuns: RUNS })
  })
})

/** Nodes that are both hosts and owners, with a membership change between two phases. */
const NODES = ['a', 'b', 'c', 'd', 'e']
const liveArb = fc.subarray(NODES, { minLength: 1 })
const devicesArb = fc.array(fc.record({ host: fc.constantFrom(...NODES), user: fc.nat(USERS.length - 1), device: fc.nat(3), away: fc.boolean() }), { maxLength: 25 })

interface Cluster {
  hosts: Map<string, LocalDirectory>
  tables: Map<string, DirectoryTable>
}

/** Hands every registration to its owner's table (in a scrambled order); owners that are not live drop it. */
function deliver (c: Cluster, regs: Array<{ to: string, reg: Registration }>, seed: number): void {
  for (const { to, reg } of scramble(regs, seed, 0.3)) c.tables.get(to)?.register(reg, reg.node)
}

function attach (c: Cluster, live: readonly string[], devices: Array<{ host: string, user: number, device: number, away: boolean }>): void {
  for (const d of devices) {
    if (!live.includes(d.host)) continue
    c.hosts.get(d.host)?.put({ userId: USERS[d.user]!, deviceId: `${d.host}-${d.device}`, name: 'x', status: d.away ? 'away' : 'online', rooms: 1, since: 1 })
  }
}

function flushAll (c: Cluster, live: readonly string[]): Array<{ to: string, reg: Registration }> {
  const out: Array<{ to: string, reg: Registration }> = []
  for (const id of live) for (const [to, reg] of c.hosts.get(id)!.flush(live, K)) out.push({ to, reg })
  return out
}

describe('directory: ownership follows membership', () => {
  it('after a membership change and the hosts\' handover, every user is held by exactly its K current owners', () => {
    fc.assert(fc.property(liveArb, liveArb, devicesArb, devicesArb, fc.integer(), (before, after, first, second, seed) => {
      const c: Cluster = { hosts: new Map(), tables: new Map() }
      for (const id of before) {
        c.hosts.set(id, new LocalDirectory(id, 1))
        c.tables.set(id, new DirectoryTable(id))
      }
      attach(c, before, first)
      // owners also pull every node's list (as at first sight of a node), among the registrations:
      // a full list as of a version leaves a floor there, which the handover must get past
      const pulls = before.flatMap(owner => before.map(h => ({ to: owner, reg: c.hosts.get(h)!.sessionsFor(owner, before, K) })))
      deliver(c, [...flushAll(c, before), ...pulls], seed)

      // the change: leavers are down everywhere (their devices go with them); joiners start empty
      const regs: Array<{ to: string, reg: Registration }> = []
      for (const id of before.filter(x => !after.includes(x))) {
        c.hosts.delete(id)
        c.tables.delete(id)
        for (const t of c.tables.values()) t.nodeDown(id, 1)
      }
      for (const id of after.filter(x => !before.includes(x))) {
        c.hosts.set(id, new LocalDirectory(id, 1))
        c.tables.set(id, new DirectoryTable(id))
      }
      for (const t of c.tables.values()) t.retain(after, K)
      for (const id of after.filter(x => before.includes(x))) {
        for (const [to, reg] of c.hosts.get(id)!.handover(before, after, K)) regs.push({ to, reg })
      }
      // and devices keep attaching meanwhile, on old and new nodes
      attach(c, after, second)
      regs.push(...flushAll(c, after))
      deliver(c, regs, seed + 1)

      for (const u of USERS) {
        const want = truth(c.hosts, x => x === u)
        const owners = directoryOwners(u, after, K)
        for (const [id, t] of c.tables) {
          if (owners.includes(id)) expect(t.lookup(u), `${u} on owner ${id}`).toEqual(want)
          else expect(t.lookup(u), `${u} on non-owner ${id}`).toEqual([])
        }
      }
    }), { numRuns: RUNS })
  })

  it('an owner rebuilt from every node\'s session list equals the owner before its crash', () => {
    fc.assert(fc.property(liveArb, devicesArb, devicesArb, fc.integer(), (live, first, second, seed) => {
      const c: Cluster = { hosts: new Map(), tables: new Map() }
      for (const id of live) {
        c.hosts.set(id, new LocalDirectory(id, 1))
        c.tables.set(id, new DirectoryTable(id))
      }
      attach(c, live, first)
      deliver(c, flushAll(c, live), seed)
      // removals and changes too, so the pre-crash state holds tombstones and newer versions
      for (const d of second) c.hosts.get(d.host)?.del(`${d.host}-${d.device}`)
      attach(c, live, first.slice(0, 3))
      deliver(c, flushAll(c, live), seed + 1)

      for (const owner of live) {
        const before = c.tables.get(owner)!
        const rebuilt = new DirectoryTable(owner)
        for (const h of scramble([...c.hosts.values()], seed, 0)) rebuilt.register(h.sessionsFor(owner, live, K), h.node)
        expect(rebuilt.records(), `owner ${owner}`).toEqual(before.records())
        expect(before.records()).toEqual(truth(c.hosts, u => directoryOwners(u, live, K).includes(owner)))
      }
    }), { numRuns: RUNS })
  })
})
