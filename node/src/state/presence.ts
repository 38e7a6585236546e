/**
 * The presence CRDT, after Phoenix.Tracker: every node is the only writer of the entries of the
 * devices attached to it, so replicas never merge concurrent writes; they only have to follow each
 * owner's stream of deltas in order, fall back to a full state when they miss one, and drop an
 * owner's entries when it goes down. The owner's (incarnation, seq) pair orders everything it says.
 *
 * Pure: no timers, no I/O, `now` (ms) is passed in. The presence service drives it.
 */

import type { PresenceStatus } from '../../../client/src/protocol/validate.js'
import { placeSorted } from './sorted.js'

export type { PresenceStatus }

/** One device of one user, as its node reports it. */
export interface PresenceEntry {
  userId: string
  deviceId: string
  /** Display name the device announced. */
  name: string
  status: PresenceStatus
  /** Rooms the device is in, sorted and unique. */
  rooms: string[]
  /** When the device attached (ms); the latest device's name wins in aggregates. */
  since: number
}

export type PresenceOp = { op: 'put', entry: PresenceEntry } | { op: 'del', deviceId: string }

/**
 * The node has its first device in a room (`on`), or no longer any. Who is in a room travels with
 * the room (`room-presence.ts`); the global stream says only which nodes host which rooms, which is
 * what archive placement and a node that starts carrying a room need.
 */
export interface HostOp { room: string, on: boolean }

/** The ops of one owner step. `seq` goes up by exactly one per delta within an incarnation. */
export interface PresenceDelta {
  node: string
  incarnation: number
  seq: number
  ops: PresenceOp[]
  /** host changes, applied after `ops` */
  hosts?: HostOp[]
}

/** Everything an owner holds at `seq`: the answer to a sync pull. */
export interface PresenceFullState {
  node: string
  incarnation: number
  seq: number
  entries: PresenceEntry[]
  /** rooms the node hosts devices in, sorted */
  hosted?: string[]
  /** the node's load and addresses (a heartbeat that leaves its addresses out sends a receiver here) */
  meta?: NodeMeta
}

/** What a node tells the mesh about itself besides its users. */
export interface NodeMeta {
  load: { clients: number, rooms: number, maxClients: number }
  gatewayAddrs: string[]
  meshAddrs: string[]
  httpUrl?: string
  /** metaVersion() of the addresses */
  version?: number
}

/**
 * A digest of a node's addresses (gateway, mesh, http): heartbeats carry it every time and the
 * addresses themselves only now and then. FNV-1a over the fields; never 0.
 */
export function metaVersion (meta: Pick<NodeMeta, 'gatewayAddrs' | 'meshAddrs' | 'httpUrl'>): number {
  let h = 0x811c9dc5
  const text = [...meta.gatewayAddrs, '|', ...meta.meshAddrs, '|', meta.httpUrl ?? ''].join('\n')
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) === 0 ? 1 : h >>> 0
}

/** Periodic proof of life; its `seq` lets a receiver notice that it missed the latest deltas. */
export interface PresenceHeartbeat {
  node: string
  incarnation: number
  seq: number
  meta: NodeMeta
  /**
   * Counts the incarnation's heartbeats. A heartbeat whose beat is not above the last one applied is a
   * replay (a peer re-publishing an old signed heartbeat to keep a dead node alive) and is ignored.
   * Absent on the node's own heartbeat, which it applies directly.
   */
  beat?: number
  /** the heartbeat left the addresses out: `meta` holds the load and the addresses' version only */
  addrsOmitted?: boolean
  /**
   * a beat over the direct link (`mesh/beats.ts`), which can overtake the delta whose seq it
   * carries (the delta travels on the presence topic): a seq gap it shows is acted on only if it is
   * still open at the node's next direct beat; and it introduces no node this replica does not know
   */
  direct?: boolean
}

/** A user in a room's roster: aggregated over the user's devices that are in the room. */
export interface RosterMember {
  userId: string
  /** Name of the device with the latest `since` (ties: the greatest node id, then device id). */
  name: string
  /** `online` if any of the devices is online. */
  status: PresenceStatus
  /** Nodes hosting the devices, sorted and unique. */
  nodes: string[]
}

/** A user aggregated over all of their devices. */
export interface UserPresence extends RosterMember {
  /** Rooms of any device, sorted and unique. */
  rooms: string[]
}

/** A device entry appeared or changed (`entry`), or went away (`null`). */
export interface DeviceDiff { node: string, deviceId: string, entry: PresenceEntry | null }
/** A roster member appeared or changed (`member`), or left the room (`null`). */
export interface RosterDiff { room: string, userId: string, member: RosterMember | null }
/** A user's aggregate appeared or changed (`presence`), or the user went offline (`null`). */
export interface UserDiff { userId: string, presence: UserPresence | null }
/** A node came up, restarted with a new incarnation (`up` and the new incarnation), or went down. */
export interface NodeDiff { node: string, up: boolean, incarnation: number }
/** A node started (`on`) or stopped hosting devices in a room. */
export interface HostDiff { room: string, node: string, on: boolean }

/**
 * What one call changed. Replaying every change in order onto an empty mirror reproduces the
 * replica's state; aggregate diffs are emitted only when the aggregate actually changed.
 */
export interface PresenceChange {
  devices: DeviceDiff[]
  rooms: RosterDiff[]
  users: UserDiff[]
  /** Nodes that this call newly flagged as needing a full-state pull; see {@link PresenceReplica.needsSync}. */
  needsSync: string[]
  nodes: NodeDiff[]
  /** rooms' host sets as they changed; absent when none did */
  hosts?: HostDiff[]
}

export interface NodeView {
  id: string
  incarnation: number
  /** Last seq applied (for a down node: the tombstone's). */
  seq: number
  up: boolean
  /** The incarnation said goodbye. */
  left: boolean
  meta?: NodeMeta
  lastHeard: number
}

export interface PresenceStats {
  /** Known nodes, down ones (tombstones) included. */
  nodes: number
  upNodes: number
  devices: number
  users: number
  rooms: number
  needsSync: number
  /** (room, node) host pairs */
  hosted: number
}

/**
 * The owner side: the entries of this node's own devices and the deltas that publish them.
 * Objects handed out (in deltas, full states, `entries()`) are shared with the internal state:
 * treat them as read-only.
 */
export class LocalPresence {
  readonly node: string
  readonly incarnation: number
  #seq = 0
  readonly #entries = new Map<string, PresenceEntry>()
  readonly #hosted = new Set<string>()

  constructor (node: string, incarnation: number) {
    this.node = node
    this.incarnation = incarnation
  }

  /** Seq of the last delta, 0 before the first. */
  get seq (): number {
    return this.#seq
  }

  /**
   * Applies `ops` in order and returns them as one delta with the next seq. Puts are normalised
   * (rooms sorted and unique) and replace the device's entry. Ops that change nothing (deleting an
   * unknown device, putting an identical entry) are left out; when nothing is left, returns
   * `undefined` and the seq does not move, so there is nothing to publish.
   */
  apply (ops: readonly PresenceOp[], hosts: readonly HostOp[] = []): PresenceDelta | undefined {
    const applied: PresenceOp[] = []
    const hosted: HostOp[] = []
    for (const op of ops) {
      if (op.op === 'put') {
        const entry = normalizeEntry(op.entry)
        const old = this.#entries.get(entry.deviceId)
        if (old !== undefined && sameEntry(old, entry)) continue
        this.#entries.set(entry.deviceId, entry)
        applied.push({ op: 'put', entry })
      } else if (this.#entries.delete(op.deviceId)) {
        applied.push({ op: 'del', deviceId: op.deviceId })
      }
    }
    for (const h of hosts) {
      if (this.#hosted.has(h.room) === h.on) continue
      if (h.on) this.#hosted.add(h.room)
      else this.#hosted.delete(h.room)
      hosted.push({ room: h.room, on: h.on })
    }
    if (applied.length === 0 && hosted.length === 0) return undefined
    return { node: this.node, incarnation: this.incarnation, seq: ++this.#seq, ops: applied, ...(hosted.length === 0 ? {} : { hosts: hosted }) }
  }

  /** Everything this node holds, for a peer that pulls it over sync. */
  fullState (): PresenceFullState {
    return { node: this.node, incarnation: this.incarnation, seq: this.#seq, entries: this.entries(), hosted: this.hosted() }
  }

  /** Rooms this node hosts, sorted. */
  hosted (): string[] {
    return [...this.#hosted].sort()
  }

  /** A heartbeat carrying the current seq, so receivers notice a delta they missed. */
  heartbeat (meta: NodeMeta): PresenceHeartbeat {
    return { node: this.node, incarnation: this.incarnation, seq: this.#seq, meta }
  }

  /** This node's entries, in no particular order. */
  entries (): PresenceEntry[] {
    return [...this.#entries.values()]
  }
}

/**
 * An entry as a replica holds it, with the node it lives on. One object rather than a wrapper
 * around the entry: at 100k devices every object header counts.
 */
interface Device extends PresenceEntry {
  readonly node: string
}

interface NodeState {
  readonly id: string
  incarnation: number
  seq: number
  /** Highest heartbeat beat applied for this incarnation. */
  beat: number
  /** the seq a direct beat showed ahead of `seq` (0: none): a sync is asked if it is still ahead at the next one */
  gapSeq: number
  readonly entries: Map<string, Device>
  /** rooms the node hosts */
  readonly hosted: Set<string>
  lastHeard: number
  /** Time after which the node is down even if heard recently; set by `suspect`. */
  deadline: number
  down: boolean
  left: boolean
  needsSync: boolean
  meta: NodeMeta | undefined
}

/** the nodes hosting a room, sorted, and one copy of its name */
interface RoomHosts {
  readonly name: string
  readonly nodes: string[]
}

interface RoomIndex {
  /** One canonical copy of the room id, shared by every entry in the room. */
  readonly name: string
  readonly users: Set<string>
}

/** Collects the "before" side of one call so that only net changes become diffs. */
interface Tx {
  readonly devices: DeviceDiff[]
  readonly needsSync: string[]
  /** userId → that user's devices before the call. */
  readonly users: Map<string, readonly Device[]>
  /** node → incarnation if it was up before the call, else undefined. */
  readonly nodes: Map<string, number | undefined>
  readonly hosts: HostDiff[]
}

/**
 * The receiver side: every owner's entries as far as this node knows, with user- and room-level
 * aggregates. A node feeds its own deltas into its own replica too, so lookups are uniform.
 *
 * Indexes are incremental (user → devices, room → users; a roster member is rebuilt from the user's
 * devices), so any change costs O(devices of the users it touches), never O(all users).
 */
export class PresenceReplica {
  readonly #self: string
  readonly #nodes = new Map<string, NodeState>()
  /** liveNodes() until a node is added, removed, or goes down or up */
  #live: readonly string[] | undefined
  /**
   * userId → the user's device, or devices when more than one: most users have one device, and a
   * one-element array would cost more than the device itself. Arrays are replaced, never mutated,
   * so a transaction can keep the old one as its "before" without copying.
   */
  readonly #users = new Map<string, Device | readonly Device[]>()
  readonly #rooms = new Map<string, RoomIndex>()
  /** room → nodes hosting devices in it (room ids shared with the nodes' sets) */
  /**
   * room → the nodes that host it, a sorted list (most rooms have one to a few hosts: a Set each was
   * about 100 bytes more), and the room's name as first heard, which every node's `hosted` shares
   */
  readonly #hosts = new Map<string, RoomHosts>()
  #hosted = 0
  #devices = 0

  /** `self` is this node's id: it never expires. */
  constructor (self: string) {
    this.#self = self
  }

  /**
   * Applies an owner's delta if it is the next one in sequence for the node's current incarnation.
   * A newer incarnation first drops the old one's entries. Duplicates and stale incarnations are
   * ignored. A gap, or a node that is down or already waiting for a full state, flags the node for
   * a full-state pull instead (and revives a down node, empty).
   */
  applyDelta (d: PresenceDelta, now: number): PresenceChange {
    return this.#run(tx => {
      const st = this.#current(tx, d.node, d.incarnation, now)
      if (st === undefined || d.seq <= st.seq) return
      this.#heard(tx, st, now)
      if (d.seq !== st.seq + 1 || st.needsSync) {
        this.#flagSync(tx, st)
        return
      }
      for (const op of d.ops) {
        if (op.op === 'put') this.#set(tx, st, op.entry.deviceId, op.entry)
        else this.#set(tx, st, op.deviceId, null)
      }
      for (const h of d.hosts ?? []) this.#host(tx, st, h.room, h.on)
      st.seq = d.seq
    })
  }

  /**
   * Replaces the node's entries with a full state, clears its sync flag and revives it if down.
   * Ignored for a stale incarnation, an incarnation that left, or a seq older than the one already
   * applied (a late answer: the owner has moved on, and its current state is at least that seq).
   * Idempotent.
   */
  applyFull (s: PresenceFullState, now: number): PresenceChange {
    return this.#run(tx => {
      const st = this.#current(tx, s.node, s.incarnation, now)
      if (st === undefined || s.seq < st.seq) return
      const incoming = new Map(s.entries.map(e => [e.deviceId, e]))
      for (const deviceId of [...st.entries.keys()]) {
        if (!incoming.has(deviceId)) this.#set(tx, st, deviceId, null)
      }
      for (const [deviceId, entry] of incoming) this.#set(tx, st, deviceId, entry)
      const hosted = new Set(s.hosted ?? [])
      for (const room of [...st.hosted]) if (!hosted.has(room)) this.#host(tx, st, room, false)
      for (const room of hosted) this.#host(tx, st, room, true)
      if (s.meta !== undefined) st.meta = s.meta
      st.seq = s.seq
      st.down = false
      this.#live = undefined
      st.needsSync = false
      st.lastHeard = Math.max(st.lastHeard, now)
      st.deadline = Infinity
    })
  }

  /**
   * Records a heartbeat: the node is alive (clears any suspicion), its meta is current, and if it
   * announces a seq beyond the one applied, it needs a full-state pull. A down node that heartbeats
   * again comes back up with no entries and flagged for a pull: entries only return through a full
   * state. Heartbeats of an incarnation that left are ignored.
   */
  heartbeat (hb: PresenceHeartbeat, now: number): PresenceChange {
    return this.#run(tx => {
      // a direct beat keeps a node alive that a signed message or its own full state introduced; it
      // introduces nobody (any peer holding the mesh key can open a beat stream)
      if (hb.direct === true && !this.#nodes.has(hb.node)) return
      const st = this.#current(tx, hb.node, hb.incarnation, now)
      if (st === undefined) return
      if (hb.beat !== undefined) {
        if (hb.beat <= st.beat) return
        st.beat = hb.beat
      }
      if (hb.addrsOmitted !== true) {
        st.meta = hb.meta
      } else if (st.meta !== undefined && st.meta.version === hb.meta.version) {
        st.meta = { ...st.meta, load: hb.meta.load }
      } else {
        // addresses of a version not held here: keep the old ones (if any) with the new load, and pull
        // the node's full state, which carries the current ones
        if (st.meta !== undefined) st.meta = { ...st.meta, load: hb.meta.load }
        this.#flagSync(tx, st)
      }
      this.#heard(tx, st, now)
      if (hb.direct === true) {
        if (st.gapSeq > st.seq) this.#flagSync(tx, st)
        st.gapSeq = hb.seq > st.seq ? hb.seq : 0
      } else if (hb.seq > st.seq) {
        this.#flagSync(tx, st)
      }
    })
  }

  /**
   * A graceful goodbye: the incarnation is down and `left` at once, its entries removed, and
   * nothing it sent before can bring it back. Only a newer incarnation can.
   */
  depart (node: string, incarnation: number, now: number): PresenceChange {
    return this.#run(tx => {
      this.#touchNode(tx, node)
      let st = this.#nodes.get(node)
      if (st === undefined) {
        st = newNode(node, incarnation, now)
        this.#nodes.set(node, st)
        this.#live = undefined
      }
      if (incarnation < st.incarnation || (incarnation === st.incarnation && st.left)) return
      if (incarnation > st.incarnation) this.#restart(tx, st, incarnation, now)
      this.#down(tx, st)
      st.left = true
    })
  }

  /**
   * Brings the node's deadline forward to `now + graceMs` at the latest, for when every connection
   * to it dropped: it goes down at the next `expire` after that unless it is heard from first.
   */
  suspect (node: string, now: number, graceMs: number): PresenceChange {
    return this.#run(() => {
      const st = this.#nodes.get(node)
      if (st !== undefined && !st.down && node !== this.#self) st.deadline = Math.min(st.deadline, now + graceMs)
    })
  }

  /**
   * The earliest moment `expire(now, timeoutMs)` would take a node down, if nothing is heard before
   * then (Infinity when no other node is up). Hearing from a node only moves its moment later.
   */
  nextExpiry (timeoutMs: number): number {
    let at = Infinity
    for (const st of this.#nodes.values()) {
      if (st.down || st.id === this.#self) continue
      at = Math.min(at, st.lastHeard + timeoutMs, st.deadline)
    }
    return at
  }

  /**
   * Takes down every node (except self) not heard from within `timeoutMs` or past its deadline.
   * Its entries are removed; a tombstone of its incarnation and seq stays, so older messages
   * cannot bring them back.
   */
  expire (now: number, timeoutMs: number): PresenceChange {
    return this.#run(tx => {
      for (const st of this.#nodes.values()) {
        if (st.down || st.id === this.#self) continue
        if (now > Math.min(st.lastHeard + timeoutMs, st.deadline)) {
          this.#touchNode(tx, st.id)
          this.#down(tx, st)
        }
      }
    })
  }

  /**
   * Drops a down node's tombstone, for nodes gone long enough that none of their messages can still
   * be in flight. Returns whether it did.
   */
  forget (node: string): boolean {
    if (this.#nodes.get(node)?.down !== true) return false
    this.#live = undefined
    return this.#nodes.delete(node)
  }

  /** The room's members, sorted by user id. */
  roomRoster (room: string): RosterMember[] {
    const users = this.#rooms.get(room)?.users
    if (users === undefined) return []
    return [...users].sort().flatMap(userId => rosterMember(userId, this.#devicesOf(userId), room) ?? [])
  }

  /** Rooms with at least one member or host anywhere, sorted. */
  rooms (): string[] {
    return [...new Set([...this.#rooms.keys(), ...this.#hosts.keys()])].sort()
  }

  /** Nodes up that host devices in the room (or have entries in it), sorted. */
  roomHosts (room: string): string[] {
    const hosts = new Set(this.#hosts.get(room)?.nodes)
    for (const m of this.roomRoster(room)) for (const n of m.nodes) hosts.add(n)
    return [...hosts].sort()
  }

  /** Rooms the node hosts, sorted. */
  hostedBy (node: string): string[] {
    return [...this.#nodes.get(node)?.hosted ?? []].sort()
  }

  /** The user's presence over all devices, `undefined` if none is attached anywhere. */
  user (userId: string): UserPresence | undefined {
    return userPresence(userId, this.#devicesOf(userId))
  }

  /** Every known node, down ones included, sorted by id. */
  nodes (): NodeView[] {
    return [...this.#nodes.values()].sort(byId).map(st => ({
      id: st.id,
      incarnation: st.incarnation,
      seq: st.seq,
      up: !st.down,
      left: st.left,
      ...(st.meta === undefined ? {} : { meta: st.meta }),
      lastHeard: st.lastHeard
    }))
  }

  /** Ids of the nodes that are up, sorted; self is always one unless it departed. */
  liveNodes (): readonly string[] {
    // asked for at every registration, lookup and flush, and changed only when a node comes or goes
    if (this.#live !== undefined) return this.#live
    const live = [...this.#nodes.values()].filter(st => !st.down).map(st => st.id)
    if (!this.#nodes.has(this.#self)) live.push(this.#self)
    this.#live = Object.freeze(live.sort())
    return this.#live
  }

  /** The node's entries, sorted by device id. */
  nodeEntries (node: string): PresenceEntry[] {
    return [...(this.#nodes.get(node)?.entries.values() ?? [])]
      .map(toEntry)
      .sort((a, b) => compareStrings(a.deviceId, b.deviceId))
  }

  /** Nodes waiting for a full-state pull, sorted; the service retries from this list. */
  needsSync (): string[] {
    return [...this.#nodes.values()].filter(st => st.needsSync).map(st => st.id).sort()
  }

  /** Sizes, for metrics. */
  stats (): PresenceStats {
    let upNodes = 0
    let needsSync = 0
    for (const st of this.#nodes.values()) {
      if (!st.down) upNodes++
      if (st.needsSync) needsSync++
    }
    return { nodes: this.#nodes.size, upNodes, devices: this.#devices, users: this.#users.size, rooms: this.#rooms.size, needsSync, hosted: this.#hosted }
  }

  /** Runs one mutation and turns what it touched into net diffs. */
  #run (fn: (tx: Tx) => void): PresenceChange {
    const tx: Tx = { devices: [], needsSync: [], users: new Map(), nodes: new Map(), hosts: [] }
    fn(tx)
    const change: PresenceChange = { devices: tx.devices, rooms: [], users: [], needsSync: tx.needsSync, nodes: [] }
    if (tx.hosts.length > 0) change.hosts = tx.hosts
    for (const [userId, before] of tx.users) {
      const after = this.#devicesOf(userId)
      const was = userPresence(userId, before)
      const is = userPresence(userId, after)
      if (!sameUser(was, is)) change.users.push({ userId, presence: is ?? null })
      for (const room of new Set([...was?.rooms ?? [], ...is?.rooms ?? []])) {
        const member = rosterMember(userId, after, room)
        if (!sameMember(rosterMember(userId, before, room), member)) change.rooms.push({ room, userId, member: member ?? null })
      }
    }
    for (const [node, before] of tx.nodes) {
      const st = this.#nodes.get(node)
      if (st === undefined) continue
      const after = st.down ? undefined : st.incarnation
      if (after !== before) change.nodes.push({ node, up: !st.down, incarnation: st.incarnation })
    }
    return change
  }

  /**
   * The node's state for a message of `incarnation`: created if unknown, restarted if the message
   * is from a newer incarnation, `undefined` if it is stale or its incarnation left.
   */
  #current (tx: Tx, node: string, incarnation: number, now: number): NodeState | undefined {
    this.#touchNode(tx, node)
    let st = this.#nodes.get(node)
    if (st === undefined) {
      st = newNode(node, incarnation, now)
      this.#nodes.set(node, st)
      this.#live = undefined
      return st
    }
    if (incarnation < st.incarnation) return undefined
    if (incarnation > st.incarnation) {
      this.#restart(tx, st, incarnation, now)
      return st
    }
    return st.left ? undefined : st
  }

  /** A new incarnation starts empty at seq 0: the old one's entries died with its process. */
  #restart (tx: Tx, st: NodeState, incarnation: number, now: number): void {
    this.#clear(tx, st)
    st.incarnation = incarnation
    st.seq = 0
    st.beat = 0
    st.gapSeq = 0
    st.down = false
    this.#live = undefined
    st.left = false
    st.needsSync = false
    st.lastHeard = Math.max(st.lastHeard, now)
    st.deadline = Infinity
  }

  /** Proof of life from a current message; a down node comes back empty and waits for a full state. */
  #heard (tx: Tx, st: NodeState, now: number): void {
    st.lastHeard = Math.max(st.lastHeard, now)
    st.deadline = Infinity
    if (st.down) {
      st.down = false
      this.#live = undefined
      this.#flagSync(tx, st)
    }
  }

  #down (tx: Tx, st: NodeState): void {
    this.#clear(tx, st)
    st.down = true
    this.#live = undefined
    st.needsSync = false
  }

  #clear (tx: Tx, st: NodeState): void {
    for (const deviceId of [...st.entries.keys()]) this.#set(tx, st, deviceId, null)
    for (const room of [...st.hosted]) this.#host(tx, st, room, false)
  }

  #host (tx: Tx, st: NodeState, room: string, on: boolean): void {
    if (st.hosted.has(room) === on) return
    let hosts = this.#hosts.get(room)
    if (on) {
      if (hosts === undefined) this.#hosts.set(room, hosts = { name: room, nodes: [] })
      placeSorted(hosts.nodes, st.id, true)
      st.hosted.add(hosts.name)
      this.#hosted++
    } else {
      if (hosts !== undefined) {
        placeSorted(hosts.nodes, st.id, false)
        if (hosts.nodes.length === 0) this.#hosts.delete(room)
      }
      st.hosted.delete(room)
      this.#hosted--
    }
    tx.hosts.push({ room: hosts?.name ?? room, node: st.id, on })
  }

  #flagSync (tx: Tx, st: NodeState): void {
    if (st.needsSync) return
    st.needsSync = true
    tx.needsSync.push(st.id)
  }

  #touchNode (tx: Tx, node: string): void {
    if (tx.nodes.has(node)) return
    const st = this.#nodes.get(node)
    tx.nodes.set(node, st === undefined || st.down ? undefined : st.incarnation)
  }

  #touchUser (tx: Tx, userId: string): void {
    if (!tx.users.has(userId)) tx.users.set(userId, this.#devicesOf(userId))
  }

  #devicesOf (userId: string): readonly Device[] {
    const held = this.#users.get(userId)
    return held === undefined ? [] : isDeviceList(held) ? held : [held]
  }

  /** Puts (`entry`) or removes (`null`) one device of `st`, keeping every index and the diffs. */
  #set (tx: Tx, st: NodeState, deviceId: string, input: PresenceEntry | null): void {
    const old = st.entries.get(deviceId)
    const device = input === null ? null : toDevice(st.id, input)
    if (device === null ? old === undefined : old !== undefined && sameEntry(old, device)) return
    if (old !== undefined) {
      this.#touchUser(tx, old.userId)
      this.#unindex(old)
      st.entries.delete(deviceId)
    }
    if (device !== null) {
      this.#touchUser(tx, device.userId)
      this.#index(device)
      st.entries.set(deviceId, device)
    }
    tx.devices.push({ node: st.id, deviceId, entry: device === null ? null : toEntry(device) })
  }

  #index (device: Device): void {
    const { userId, rooms } = device
    const held = this.#users.get(userId)
    this.#users.set(userId, held === undefined ? device : isDeviceList(held) ? [...held, device] : [held, device])
    rooms.forEach((room, i) => {
      let index = this.#rooms.get(room)
      if (index === undefined) {
        index = { name: room, users: new Set() }
        this.#rooms.set(room, index)
      }
      // 100k entries decoded off the wire would otherwise each hold their own copy of every room id
      rooms[i] = index.name
      index.users.add(userId)
    })
    this.#devices++
  }

  #unindex (device: Device): void {
    const { userId, rooms } = device
    const rest = this.#devicesOf(userId).filter(d => d !== device)
    const held = rest.length > 1 ? rest : rest[0]
    if (held === undefined) this.#users.delete(userId)
    else this.#users.set(userId, held)
    for (const room of rooms) {
      if (rest.some(d => d.rooms.includes(room))) continue
      const index = this.#rooms.get(room)
      index?.users.delete(userId)
      if (index?.users.size === 0) this.#rooms.delete(room)
    }
    this.#devices--
  }
}

function newNode (id: string, incarnation: number, now: number): NodeState {
  return { id, incarnation, seq: 0, beat: 0, gapSeq: 0, entries: new Map(), hosted: new Set(), lastHeard: now, deadline: Infinity, down: false, left: false, needsSync: false, meta: undefined }
}

/** A fresh copy with only the known fields and rooms sorted and unique. */
function normalizeEntry (e: PresenceEntry): PresenceEntry {
  return { userId: e.userId, deviceId: e.deviceId, name: e.name, status: e.status, rooms: sortedUnique(e.rooms), since: e.since }
}

/** Spelled out rather than spread, so that every field lives inside the object (no extra backing store). */
function toDevice (node: string, e: PresenceEntry): Device {
  return { node, userId: e.userId, deviceId: e.deviceId, name: e.name, status: e.status, rooms: sortedUnique(e.rooms), since: e.since }
}

/** Entries leave the replica as copies, so no caller can corrupt its indexes. */
function toEntry (d: Device): PresenceEntry {
  return { userId: d.userId, deviceId: d.deviceId, name: d.name, status: d.status, rooms: [...d.rooms], since: d.since }
}

function isDeviceList (held: Device | readonly Device[]): held is readonly Device[] {
  return Array.isArray(held)
}

function sameEntry (a: PresenceEntry, b: PresenceEntry): boolean {
  return a.userId === b.userId && a.deviceId === b.deviceId && a.name === b.name && a.status === b.status &&
    a.since === b.since && sameStrings(a.rooms, b.rooms)
}

function rosterMember (userId: string, devices: readonly Device[], room: string): RosterMember | undefined {
  return summarizeDevices(userId, devices.filter(d => d.rooms.includes(room)))
}

function userPresence (userId: string, devices: readonly Device[]): UserPresence | undefined {
  const member = summarizeDevices(userId, devices)
  return member === undefined ? undefined : { ...member, rooms: sortedUnique(devices.flatMap(d => d.rooms)) }
}

/** What one device contributes to an aggregate. */
interface DeviceSummary {
  readonly node: string
  readonly deviceId: string
  readonly name: string
  readonly status: PresenceStatus
  readonly since: number
}

/**
 * A user over some of their devices (those in one room, or all of them): the latest device's
 * name, online if any device is, the nodes sorted. `undefined` for no device. Room-scoped presence
 * aggregates with the same rule, so both views agree on a member.
 */
export function summarizeDevices (userId: string, devices: readonly DeviceSummary[]): RosterMember | undefined {
  let latest: DeviceSummary | undefined
  for (const d of devices) {
    if (latest === undefined || d.since > latest.since ||
        (d.since === latest.since && (compareStrings(d.node, latest.node) || compareStrings(d.deviceId, latest.deviceId)) > 0)) {
      latest = d
    }
  }
  if (latest === undefined) return undefined
  return {
    userId,
    name: latest.name,
    status: devices.some(d => d.status === 'online') ? 'online' : 'away',
    nodes: sortedUnique(devices.map(d => d.node))
  }
}

function sameMember (a: RosterMember | undefined, b: RosterMember | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return a.name === b.name && a.status === b.status && sameStrings(a.nodes, b.nodes)
}

function sameUser (a: UserPresence | undefined, b: UserPresence | undefined): boolean {
  return sameMember(a, b) && (a === undefined || b === undefined || sameStrings(a.rooms, b.rooms))
}

function sortedUnique (xs: readonly string[]): string[] {
  return [...new Set(xs)].sort()
}

function sameStrings (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function compareStrings (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function byId (a: { id: string }, b: { id: string }): number {
  return compareStrings(a.id, b.id)
}
