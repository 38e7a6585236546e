/**
 * The user directory, pure: where every user's devices are, held by the user's K owner nodes
 * (rendezvous hashing of the user id over live nodes), so that "where is user X" costs a question
 * to two nodes instead of a replica of every user on every node.
 *
 * Two sides:
 * - {@link LocalDirectory}, on every node: its own devices, the only source of truth about them
 *   (each node is the only writer of its devices, as in presence). It turns changes into
 *   registrations for the owners, answers an owner's "your devices of my users" after a crash, and
 *   works out which devices must go to which new owners when membership changes.
 * - {@link DirectoryTable}, on every owner: the records hosting nodes registered, per user, with the
 *   nodes watching each user, the bounds, and the net changes each call makes.
 *
 * Records move only from the node that hosts them: after a membership change the hosting nodes
 * register with the users' new owners, and an owner that restarted pulls them back from every node.
 * An owner never takes records from another owner: a record handed over by a peer would be a record
 * that peer could have made up, and every keyed peer could then write other nodes' devices.
 *
 * Ordering: a hosting node counts its changes (`version`, per incarnation) and every registration
 * says "as of version v". An owner keeps, per device, the version of what it holds (a removal stays
 * as a tombstone), so registrations applied in any order, any number of times, end in the same state.
 *
 * Pure: no timers, no I/O. The directory service drives it.
 */

import { NotEntitledError, MeshchatError, ErrorCode } from '../../../client/src/protocol/errors.js'
import { createHash } from 'node:crypto'
import type { PresenceStatus } from '../../../client/src/protocol/validate.js'

/** One device as its hosting node registers it. */
export interface DirectoryDevice {
  userId: string
  deviceId: string
  /** display name the device announced */
  name: string
  status: PresenceStatus
  /** rooms the device is in (a count: the rooms themselves travel with the rooms) */
  rooms: number
  /** when the device attached (ms) */
  since: number
}

/** A device with the node hosting it: what a lookup answers. */
export interface DirectoryRecord extends DirectoryDevice {
  node: string
  incarnation: number
}

export type DirectoryOp =
  | { op: 'put', device: DirectoryDevice }
  | { op: 'del', userId: string, deviceId: string }

/** What a hosting node tells one owner. */
export interface Registration {
  node: string
  incarnation: number
  /** the node's change count this registration is as of; every op in it is that version */
  version: number
  ops: DirectoryOp[]
  /**
   * The node's complete list of devices for the receiver (puts only): it replaces everything the
   * receiver holds of this node. The answer to a rebuild, and a node's first registration.
   */
  full?: boolean
}

/** A user's devices changed on an owner (`devices` empty: the user is offline as far as it knows). */
export interface DirectoryUserDiff {
  userId: string
  devices: DirectoryRecord[]
}

export interface DirectoryChange {
  users: DirectoryUserDiff[]
}

export interface DirectoryLimits {
  /** records one hosting node may have on one owner */
  maxRecordsPerNode: number
  /** devices one user may have on all nodes together */
  maxDevicesPerUser: number
  /** nodes watching one user */
  maxWatchersPerUser: number
  /** users one node may watch on one owner */
  maxWatchesPerNode: number
  /**
   * removals remembered per hosting node; past it the oldest half are forgotten and the node's
   * floor rises to their version (registrations at or below the floor are stale)
   */
  maxTombstonesPerNode: number
}

export const DEFAULT_DIRECTORY_LIMITS: DirectoryLimits = {
  maxRecordsPerNode: 250_000,
  maxDevicesPerUser: 64,
  maxWatchersPerUser: 1_000,
  maxWatchesPerNode: 250_000,
  maxTombstonesPerNode: 4_096
}

/** A registration or watch would take the owner past one of its bounds; nothing of it was applied. */
export class DirectoryFullError extends MeshchatError {
  static override name = 'DirectoryFullError'
  readonly limit: keyof DirectoryLimits

  constructor (limit: keyof DirectoryLimits, message: string) {
    super(ErrorCode.NODE_FULL, message)
    this.name = 'DirectoryFullError'
    this.limit = limit
  }
}

export interface DirectoryStats {
  /** hosting nodes with state here (down ones included) */
  nodes: number
  records: number
  users: number
  tombstones: number
  /** (watcher, user) pairs */
  watches: number
}

/**
 * The `k` owners of `userId` among `live` (deduplicated), best first: rendezvous hashing, as for
 * mailboxes, but with a cheaper weight. Every membership change recomputes the owners of every
 * device a node hosts and every user an owner holds; `rendezvousOwners` spends a SHA-256 per
 * (user, node) pair, 56 µs per user at 8 nodes (over a second for 20,000 devices). Here each id is
 * hashed once (SHA-256, remembered) and a pair's weight is a 32-bit finaliser mix of the two hashes,
 * 1–4 µs per user at 8 nodes. The spread is as even (a unit test checks it) and every node
 * computes the same owners. Mailboxes use the same owners (mesh/dm.ts), so a mailbox owner checks
 * that a node asking for a user's mail hosts the user in its own table.
 */
export function directoryOwners (userId: string, live: readonly string[], k: number): string[] {
  if (k <= 0) return []
  const [k0, k1] = idHash(userId)
  const best: Array<{ id: string, w: number }> = []
  const seen = new Set<string>()
  for (const id of live) {
    if (seen.has(id)) continue
    seen.add(id)
    const [n0, n1] = idHash(id)
    const hi = fmix32(k0 ^ fmix32(n0 ^ k1))
    const lo = fmix32(k1 ^ fmix32(n1 ^ hi))
    const w = hi * 2 ** 21 + (lo >>> 11)
    // keep the k best, best first; ties go to the smaller id
    let i = best.length
    while (i > 0 && (best[i - 1]!.w < w || (best[i - 1]!.w === w && best[i - 1]!.id > id))) i--
    if (i < k) {
      best.splice(i, 0, { id, w })
      if (best.length > k) best.pop()
    }
  }
  return best.map(b => b.id)
}

/**
 * ids hashed so far (users and nodes), about 70 B each; cleared when full, so it cannot grow
 * without bound (past it, ids are hashed again: 10 µs each)
 */
const ID_HASHES = new Map<string, readonly [number, number]>()
const ID_HASHES_MAX = 200_000

function idHash (id: string): readonly [number, number] {
  let h = ID_HASHES.get(id)
  if (h === undefined) {
    const d = createHash('sha256').update(id).digest()
    h = [d.readUInt32BE(0), d.readUInt32BE(4)]
    if (ID_HASHES.size >= ID_HASHES_MAX) ID_HASHES.clear()
    ID_HASHES.set(id, h)
  }
  return h
}

/** MurmurHash3's 32-bit finaliser: every input bit flips about half the output bits */
function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * The hosting side: this node's devices and its change count. Registrations it produces are
 * as of the current version, so an owner can order them against anything else it heard.
 */
export class LocalDirectory {
  readonly node: string
  readonly incarnation: number
  #version = 0
  readonly #devices = new Map<string, DirectoryDevice>()
  /**
   * What to send at the next flush: deviceId → userId → the device's latest state for that user
   * (null: removed). Per user, because a device id reused for another user (sessions never do it,
   * but it is cheap to get right) must still reach the old user's owners as a removal.
   */
  readonly #pending = new Map<string, Map<string, DirectoryDevice | null>>()

  constructor (node: string, incarnation: number) {
    this.node = node
    this.incarnation = incarnation
  }

  get version (): number {
    return this.#version
  }

  /** Adds or updates a device; false (and no new version) when nothing changed. */
  put (device: DirectoryDevice): boolean {
    const d = copyDevice(device)
    const old = this.#devices.get(d.deviceId)
    if (old !== undefined && sameDevice(old, d)) return false
    this.#devices.set(d.deviceId, d)
    this.#version++
    const p = this.#pendingOf(d.deviceId)
    if (old !== undefined && old.userId !== d.userId) p.set(old.userId, null)
    p.set(d.userId, d)
    return true
  }

  /** Removes a device; false when it was not here. */
  del (deviceId: string): boolean {
    const old = this.#devices.get(deviceId)
    if (old === undefined) return false
    this.#devices.delete(deviceId)
    this.#version++
    this.#pendingOf(deviceId).set(old.userId, null)
    return true
  }

  #pendingOf (deviceId: string): Map<string, DirectoryDevice | null> {
    let p = this.#pending.get(deviceId)
    if (p === undefined) this.#pending.set(deviceId, p = new Map())
    return p
  }

  /** This node's devices, sorted by device id. */
  devices (): DirectoryDevice[] {
    return [...this.#devices.values()].sort((a, b) => compareStrings(a.deviceId, b.deviceId)).map(copyDevice)
  }

  /**
   * The changes since the last flush, one registration per owner of the users they touch (owners
   * over `live`), as of the current version. Clears what was pending.
   */
  flush (live: readonly string[], k: number): Map<string, Registration> {
    const out = new Map<string, Registration>()
    for (const [deviceId, byUser] of this.#pending) {
      for (const [userId, device] of byUser) {
        const op: DirectoryOp = device === null ? { op: 'del', userId, deviceId } : { op: 'put', device: copyDevice(device) }
        for (const owner of directoryOwners(userId, live, k)) this.#registration(out, owner).ops.push(op)
      }
    }
    this.#pending.clear()
    return out
  }

  /** Everything `owner` should hold of this node (its devices whose users `owner` owns over `live`). */
  sessionsFor (owner: string, live: readonly string[], k: number): Registration {
    const ops: DirectoryOp[] = []
    for (const d of this.#devices.values()) {
      if (directoryOwners(d.userId, live, k).includes(owner)) ops.push({ op: 'put', device: copyDevice(d) })
    }
    return { node: this.node, incarnation: this.incarnation, version: this.#version, ops, full: true }
  }

  /**
   * Membership changed from `before` to `after`: the devices each node that became an owner of one
   * of their users must now be given, as one registration per such node. `before` should leave out
   * nodes that restarted since (a new incarnation holds nothing), so that they are given everything
   * they own. Owners that stay owners already hold what they need. Moves the version on.
   */
  handover (before: readonly string[], after: readonly string[], k: number): Map<string, Registration> {
    // a new version, though no device changed: an owner that pulled this node's full list before
    // it owned these users holds a floor at the old version, below which it ignores unknown devices
    this.#version++
    const out = new Map<string, Registration>()
    const cache = new Map<string, string[]>()
    for (const d of this.#devices.values()) {
      let gained = cache.get(d.userId)
      if (gained === undefined) {
        const was = new Set(directoryOwners(d.userId, before, k))
        gained = directoryOwners(d.userId, after, k).filter(o => !was.has(o))
        cache.set(d.userId, gained)
      }
      for (const owner of gained) this.#registration(out, owner).ops.push({ op: 'put', device: copyDevice(d) })
    }
    return out
  }

  #registration (out: Map<string, Registration>, owner: string): Registration {
    let reg = out.get(owner)
    if (reg === undefined) out.set(owner, reg = { node: this.node, incarnation: this.incarnation, version: this.#version, ops: [] })
    return reg
  }
}

/** What an owner keeps of one device: the version it is as of, and the record (null: removed). */
interface Slot {
  version: number
  record: DirectoryRecord | null
}

interface HostState {
  readonly id: string
  incarnation: number
  /**
   * a device with no slot here is stale in registrations as of this version or older: a full list
   * as of it did not have the device, or its removal was among the tombstones forgotten
   */
  floor: number
  /** presence says the node is down: it holds nothing here and its registrations wait for `nodeUp` */
  down: boolean
  readonly slots: Map<string, Slot>
  records: number
  tombstones: number
}

/**
 * The owner side: records per user from the nodes hosting them, and which nodes watch which users.
 * Every mutating call returns the users whose devices changed (net), for the watchers.
 */
export class DirectoryTable {
  readonly self: string
  readonly limits: DirectoryLimits
  readonly #hosts = new Map<string, HostState>()
  /** userId → the user's records on every hosting node (replaced, never mutated) */
  readonly #users = new Map<string, readonly DirectoryRecord[]>()
  readonly #watchers = new Map<string, Set<string>>()
  readonly #watching = new Map<string, Set<string>>()

  constructor (self: string, limits: Partial<DirectoryLimits> = {}) {
    this.self = self
    this.limits = { ...DEFAULT_DIRECTORY_LIMITS, ...limits }
  }

  /**
   * Applies a hosting node's registration. Refused with `NotEntitledError` unless `from` is the node
   * it speaks for, and with `DirectoryFullError` (nothing applied) when it would pass a bound.
   * Ignored: an incarnation older than the one known, a node that is down (until `nodeUp`), any
   * device op older than what is held, and ops at or below the node's floor for devices not held.
   * A full registration also removes the held devices it does not list, unless held as of a newer
   * version than it.
   */
  register (reg: Registration, from: string): DirectoryChange {
    if (from !== reg.node) throw new NotEntitledError(`node ${from} may not register devices of node ${reg.node}`)
    let st = this.#hosts.get(reg.node)
    if (st !== undefined && reg.incarnation < st.incarnation) return { users: [] }
    if (st !== undefined && st.down && reg.incarnation === st.incarnation) return { users: [] }
    // a new incarnation holds nothing of the old one
    const restart = st !== undefined && reg.incarnation > st.incarnation
    const held = restart ? undefined : st
    const floor = held?.floor ?? 0

    // the slot writes, worked out before anything is applied, so a refused registration changes nothing
    const writes = new Map<string, DirectoryRecord | null>()
    const isNewer = (deviceId: string): boolean => {
      const slot = held?.slots.get(deviceId)
      return slot !== undefined ? reg.version >= slot.version : reg.version > floor || (reg.full === true && reg.version >= floor)
    }
    if (reg.full === true && held !== undefined) {
      // "at this version these were all my devices for you": what it does not list was removed by then
      for (const [deviceId, slot] of held.slots) {
        if (slot.record !== null && slot.version <= reg.version) writes.set(deviceId, null)
      }
    }
    // removals first: a device id that moved to another user within one registration ends as the put
    for (const op of reg.ops) if (op.op === 'del' && isNewer(op.deviceId)) writes.set(op.deviceId, null)
    for (const op of reg.ops) {
      if (op.op === 'put' && isNewer(op.device.deviceId)) writes.set(op.device.deviceId, toRecord(reg.node, reg.incarnation, op.device))
    }
    this.#checkBounds(reg.node, held, writes)

    return this.#run(tx => {
      if (st === undefined) {
        st = newHost(reg.node, reg.incarnation)
        this.#hosts.set(reg.node, st)
      } else if (restart) {
        this.#clearHost(tx, st)
        st.incarnation = reg.incarnation
        st.floor = 0
        st.down = false
      }
      for (const [deviceId, record] of writes) this.#setSlot(tx, st, deviceId, reg.version, record)
      if (reg.full === true) st.floor = Math.max(st.floor, reg.version)
      this.#trimTombstones(st)
    })
  }

  /**
   * Presence shows the node down (its `incarnation` as presence last knew it): its records go, its
   * watches end, and its registrations of that incarnation wait for `nodeUp`. An older incarnation
   * than the one held is a stale report and changes nothing.
   */
  nodeDown (node: string, incarnation: number): DirectoryChange {
    return this.#run(tx => {
      let st = this.#hosts.get(node)
      if (st !== undefined && incarnation < st.incarnation) return
      this.#dropWatcher(node)
      if (st === undefined) {
        st = newHost(node, incarnation)
        this.#hosts.set(node, st)
      }
      this.#clearHost(tx, st)
      if (incarnation > st.incarnation) {
        st.incarnation = incarnation
        st.floor = 0
      }
      st.down = true
    })
  }

  /**
   * Presence shows the node up with `incarnation`. A newer incarnation than the one held drops the
   * old run's records (a restart: none of them may come back). `pull` says this table must ask the
   * node for its devices (`LocalDirectory.sessionsFor`): it holds nothing of it after being down.
   */
  nodeUp (node: string, incarnation: number): { pull: boolean, change: DirectoryChange } {
    let pull = false
    const change = this.#run(tx => {
      const st = this.#hosts.get(node)
      if (st === undefined) {
        // nothing held, but remembering the incarnation keeps an older run's late registrations out
        this.#hosts.set(node, newHost(node, incarnation))
        return
      }
      if (incarnation < st.incarnation) return
      if (incarnation > st.incarnation) {
        this.#clearHost(tx, st)
        st.incarnation = incarnation
        st.floor = 0
        st.down = false
        pull = true
      } else if (st.down) {
        st.down = false
        pull = true
      }
    })
    return { pull, change }
  }

  /** Forgets a down node's state altogether (its tombstone incarnation included). */
  forget (node: string): boolean {
    return this.#hosts.get(node)?.down === true && this.#hosts.delete(node)
  }

  /**
   * Membership is now `live`: drops the records and watches of every user this node no longer
   * owns (its new owners get the records from the hosting nodes). Returns the users dropped. Not a
   * change for the watchers: the users did not go offline, they moved.
   */
  retain (live: readonly string[], k: number): string[] {
    const dropped: string[] = []
    const users = new Set([...this.#users.keys(), ...this.#watchers.keys()])
    for (const userId of users) {
      if (directoryOwners(userId, live, k).includes(this.self)) continue
      dropped.push(userId)
      for (const r of this.#users.get(userId) ?? []) {
        const st = this.#hosts.get(r.node)
        if (st === undefined) continue
        st.slots.delete(r.deviceId)
        st.records--
      }
      this.#users.delete(userId)
      for (const w of this.#watchers.get(userId) ?? []) this.#watching.get(w)?.delete(userId)
      this.#watchers.delete(userId)
    }
    for (const [w, set] of this.#watching) if (set.size === 0) this.#watching.delete(w)
    return dropped.sort()
  }

  /** The user's devices, sorted by node then device id; empty if none is known. */
  lookup (userId: string): DirectoryRecord[] {
    return (this.#users.get(userId) ?? []).map(copyRecord)
  }

  /** Users with at least one device here, sorted. */
  users (): string[] {
    return [...this.#users.keys()].sort()
  }

  /**
   * `watcher` follows `users` (on top of what it already watches). Refused with `DirectoryFullError`
   * (nothing applied) past the watchers per user or watches per node. Returns the users' current devices.
   */
  watch (watcher: string, users: readonly string[]): DirectoryUserDiff[] {
    const wanted = [...new Set(users)]
    const mine = this.#watching.get(watcher)
    const added = wanted.filter(u => mine?.has(u) !== true)
    if ((mine?.size ?? 0) + added.length > this.limits.maxWatchesPerNode) {
      throw new DirectoryFullError('maxWatchesPerNode', `node ${watcher} would watch more than ${this.limits.maxWatchesPerNode} users here`)
    }
    for (const u of added) {
      if ((this.#watchers.get(u)?.size ?? 0) + 1 > this.limits.maxWatchersPerUser) {
        throw new DirectoryFullError('maxWatchersPerUser', `user ${u} has ${this.limits.maxWatchersPerUser} watching nodes already`)
      }
    }
    let set = mine
    if (set === undefined && added.length > 0) this.#watching.set(watcher, set = new Set())
    for (const u of added) {
      set?.add(u)
      let ws = this.#watchers.get(u)
      if (ws === undefined) this.#watchers.set(u, ws = new Set())
      ws.add(watcher)
    }
    return wanted.map(userId => ({ userId, devices: this.lookup(userId) }))
  }

  /** `watcher` stops following `users`. */
  unwatch (watcher: string, users: readonly string[]): void {
    const mine = this.#watching.get(watcher)
    for (const u of users) {
      mine?.delete(u)
      const ws = this.#watchers.get(u)
      ws?.delete(watcher)
      if (ws?.size === 0) this.#watchers.delete(u)
    }
    if (mine?.size === 0) this.#watching.delete(watcher)
  }

  /** Nodes watching `userId`, sorted. */
  watchers (userId: string): string[] {
    return [...(this.#watchers.get(userId) ?? [])].sort()
  }

  /** Users `watcher` follows here, sorted. */
  watched (watcher: string): string[] {
    return [...(this.#watching.get(watcher) ?? [])].sort()
  }

  /** Every record held, sorted by user, node, device: the table's state in one comparable value. */
  records (): DirectoryRecord[] {
    return this.users().flatMap(u => this.lookup(u))
  }

  /** Whether registrations from `node` wait for `nodeUp`. */
  isDown (node: string): boolean {
    return this.#hosts.get(node)?.down === true
  }

  stats (): DirectoryStats {
    let records = 0
    let tombstones = 0
    for (const st of this.#hosts.values()) {
      records += st.records
      tombstones += st.tombstones
    }
    let watches = 0
    for (const set of this.#watching.values()) watches += set.size
    return { nodes: this.#hosts.size, records, users: this.#users.size, tombstones, watches }
  }

  #checkBounds (node: string, held: HostState | undefined, writes: Map<string, DirectoryRecord | null>): void {
    let records = held?.records ?? 0
    const perUser = new Map<string, number>()
    const countOf = (userId: string): number => {
      let n = perUser.get(userId)
      if (n === undefined) {
        // a restarted node's records are about to go
        n = (this.#users.get(userId) ?? []).filter(r => held !== undefined || r.node !== node).length
        perUser.set(userId, n)
      }
      return n
    }
    for (const [deviceId, record] of writes) {
      const old = held?.slots.get(deviceId)?.record ?? null
      if (old !== null) {
        records--
        perUser.set(old.userId, countOf(old.userId) - 1)
      }
      if (record !== null) {
        records++
        perUser.set(record.userId, countOf(record.userId) + 1)
      }
    }
    if (records > this.limits.maxRecordsPerNode) {
      throw new DirectoryFullError('maxRecordsPerNode', `node ${node} would have ${records} records here (at most ${this.limits.maxRecordsPerNode})`)
    }
    for (const [userId, n] of perUser) {
      if (n > this.limits.maxDevicesPerUser) {
        throw new DirectoryFullError('maxDevicesPerUser', `user ${userId} would have ${n} devices (at most ${this.limits.maxDevicesPerUser})`)
      }
    }
  }

  /** Runs `fn`, then reports every user whose devices differ from before. */
  #run (fn: (tx: Map<string, readonly DirectoryRecord[]>) => void): DirectoryChange {
    const tx = new Map<string, readonly DirectoryRecord[]>()
    fn(tx)
    const users: DirectoryUserDiff[] = []
    for (const [userId, before] of tx) {
      const after = this.#users.get(userId) ?? []
      if (!sameRecords(before, after)) users.push({ userId, devices: after.map(copyRecord) })
    }
    users.sort((a, b) => compareStrings(a.userId, b.userId))
    return { users }
  }

  #clearHost (tx: Map<string, readonly DirectoryRecord[]>, st: HostState): void {
    for (const slot of st.slots.values()) if (slot.record !== null) this.#unindex(tx, slot.record)
    st.slots.clear()
    st.records = 0
    st.tombstones = 0
  }

  #setSlot (tx: Map<string, readonly DirectoryRecord[]>, st: HostState, deviceId: string, version: number, record: DirectoryRecord | null): void {
    const old = st.slots.get(deviceId)
    if (old?.record != null) {
      this.#unindex(tx, old.record)
      st.records--
    } else if (old !== undefined) {
      st.tombstones--
    }
    st.slots.set(deviceId, { version, record })
    if (record !== null) {
      this.#index(tx, record)
      st.records++
    } else {
      st.tombstones++
    }
  }

  /** Past the cap, forgets the older half of the node's tombstones and raises its floor to them. */
  #trimTombstones (st: HostState): void {
    if (st.tombstones <= this.limits.maxTombstonesPerNode) return
    const tombs = [...st.slots].filter(([, s]) => s.record === null).sort((a, b) => a[1].version - b[1].version)
    const forget = tombs.slice(0, Math.ceil(tombs.length / 2))
    for (const [deviceId, slot] of forget) {
      st.slots.delete(deviceId)
      st.tombstones--
      st.floor = Math.max(st.floor, slot.version)
    }
  }

  #touch (tx: Map<string, readonly DirectoryRecord[]>, userId: string): readonly DirectoryRecord[] {
    const held = this.#users.get(userId) ?? []
    if (!tx.has(userId)) tx.set(userId, held)
    return held
  }

  #index (tx: Map<string, readonly DirectoryRecord[]>, r: DirectoryRecord): void {
    const held = this.#touch(tx, r.userId)
    this.#users.set(r.userId, [...held, r].sort(byNodeThenDevice))
  }

  #unindex (tx: Map<string, readonly DirectoryRecord[]>, r: DirectoryRecord): void {
    const held = this.#touch(tx, r.userId)
    const rest = held.filter(x => x !== r)
    if (rest.length === 0) this.#users.delete(r.userId)
    else this.#users.set(r.userId, rest)
  }

  #dropWatcher (node: string): void {
    const mine = this.#watching.get(node)
    if (mine === undefined) return
    this.unwatch(node, [...mine])
  }
}

function newHost (id: string, incarnation: number): HostState {
  return { id, incarnation, floor: 0, down: false, slots: new Map(), records: 0, tombstones: 0 }
}

function copyDevice (d: DirectoryDevice): DirectoryDevice {
  return { userId: d.userId, deviceId: d.deviceId, name: d.name, status: d.status, rooms: d.rooms, since: d.since }
}

function toRecord (node: string, incarnation: number, d: DirectoryDevice): DirectoryRecord {
  return { node, incarnation, ...copyDevice(d) }
}

function copyRecord (r: DirectoryRecord): DirectoryRecord {
  return { ...r }
}

function sameDevice (a: DirectoryDevice, b: DirectoryDevice): boolean {
  return a.userId === b.userId && a.deviceId === b.deviceId && a.name === b.name && a.status === b.status &&
    a.rooms === b.rooms && a.since === b.since
}

function sameRecords (a: readonly DirectoryRecord[], b: readonly DirectoryRecord[]): boolean {
  return a.length === b.length && a.every((r, i) => {
    const s = b[i]
    return s !== undefined && r.node === s.node && r.incarnation === s.incarnation && sameDevice(r, s)
  })
}

function byNodeThenDevice (a: DirectoryRecord, b: DirectoryRecord): number {
  return compareStrings(a.node, b.node) || compareStrings(a.deviceId, b.deviceId)
}

function compareStrings (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
