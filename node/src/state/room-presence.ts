/**
 * Room-scoped presence: who is in a room, held only by the nodes that carry the room.
 *
 * Every node is still the only writer of its own devices, but it writes one stream per room it has
 * devices in rather than one stream for all of them, so a node that carries a room follows the
 * streams of that room alone. A stream is named by (node, incarnation, epoch): the epoch is a
 * per-incarnation counter a node takes a fresh value of each time one of its rooms gets its first
 * device, so a room that empties and fills again never reuses a sequence number. Receivers order a
 * stream's deltas by seq, fall back to a full state of the stream on a gap, and drop every stream of
 * a node when global presence (node liveness, `presence.ts`) says that node is down or left.
 *
 * Pure: no timers, no I/O. The presence service drives it.
 */

import { ErrorCode, MeshchatError } from '../../../client/src/protocol/errors.js'
import { placeSorted } from './sorted.js'
import { summarizeDevices, type PresenceEntry, type PresenceOp, type PresenceStatus, type RosterDiff, type RosterMember } from './presence.js'

/** One device as it shows in one room (the room is the stream's). */
export interface RoomDevice {
  userId: string
  deviceId: string
  name: string
  status: PresenceStatus
  since: number
}

export type RoomOp = { op: 'put', device: RoomDevice } | { op: 'del', deviceId: string }

/** One step of one node's stream for one room; `seq` goes up by one per delta within the epoch. */
export interface RoomDelta {
  room: string
  node: string
  incarnation: number
  epoch: number
  seq: number
  ops: RoomOp[]
}

/** A stream as its node holds it at `seq`: the answer to a pull, and the repair of a gap. */
export interface RoomStreamState {
  room: string
  node: string
  incarnation: number
  epoch: number
  seq: number
  devices: RoomDevice[]
}

/** The head of a stream, sent a little after its last change so a receiver notices a lost tail. */
export interface RoomBeat {
  room: string
  node: string
  incarnation: number
  epoch: number
  seq: number
}

export interface RoomPresenceLimits {
  /** devices one node may have in one room (a node's client limit is the natural bound) */
  maxDevicesPerStream: number
  /** rooms a receiver follows streams in (the rooms it carries) */
  maxRooms: number
}

export const DEFAULT_ROOM_PRESENCE_LIMITS: RoomPresenceLimits = {
  maxDevicesPerStream: 10_000,
  maxRooms: 100_000
}

/**
 * A room presence message that may not be applied: it names a device its node does not host
 * (BAD_FRAME), or exceeds a bound (NODE_FULL, as the directory refuses its own bounds).
 */
export class RoomPresenceRefusedError extends MeshchatError {
  static override name = 'RoomPresenceRefusedError'
  constructor (message: string, code: number = ErrorCode.BAD_FRAME) {
    super(code, message)
    this.name = 'RoomPresenceRefusedError'
  }
}

/**
 * Device ids are the hosting node's session ids, `<incarnation in base 36>-<counter>`: a node can
 * only speak for devices of its own incarnation.
 */
export function hostsDevice (incarnation: number, deviceId: string): boolean {
  return deviceId.startsWith(`${incarnation.toString(36)}-`)
}

/** What one call changed: net roster diffs of the rooms touched, and streams that need a pull. */
export interface RoomPresenceChange {
  rooms: RosterDiff[]
  /** (room, node) streams this call newly flagged for a full-state pull */
  needsSync: Array<{ room: string, node: string }>
}

export interface RoomPresenceStats {
  rooms: number
  streams: number
  devices: number
  needsSync: number
}

interface LocalRoom {
  epoch: number
  seq: number
  readonly devices: Map<string, RoomDevice>
}

/**
 * The owner side: this node's devices, split into one stream per room. Objects handed out are
 * shared with the internal state: treat them as read-only.
 */
export class LocalRoomPresence {
  readonly node: string
  readonly incarnation: number
  #epoch = 0
  readonly #devices = new Map<string, PresenceEntry>()
  readonly #rooms = new Map<string, LocalRoom>()

  constructor (node: string, incarnation: number) {
    this.node = node
    this.incarnation = incarnation
  }

  /**
   * Applies `ops` in order and returns one delta per room whose stream changed, in the order the
   * rooms were first touched. A device that leaves a room is a `del` in that room; a put that
   * changes nothing a room shows (only another room was joined) is left out of that room.
   */
  apply (ops: readonly PresenceOp[]): RoomDelta[] {
    const touched = new Map<string, RoomOp[]>()
    const emit = (room: string, op: RoomOp): void => {
      let list = touched.get(room)
      if (list === undefined) touched.set(room, list = [])
      list.push(op)
    }
    for (const op of ops) {
      const deviceId = op.op === 'put' ? op.entry.deviceId : op.deviceId
      const old = this.#devices.get(deviceId)
      const next = op.op === 'put' ? { ...op.entry, rooms: [...new Set(op.entry.rooms)].sort() } : undefined
      for (const room of old?.rooms ?? []) {
        if (next?.rooms.includes(room) === true) continue
        const state = this.#rooms.get(room)
        if (state?.devices.delete(deviceId) === true) emit(room, { op: 'del', deviceId })
      }
      if (next === undefined) {
        this.#devices.delete(deviceId)
        continue
      }
      this.#devices.set(deviceId, next)
      const device = toRoomDevice(next)
      for (const room of next.rooms) {
        let state = this.#rooms.get(room)
        if (state === undefined) this.#rooms.set(room, state = { epoch: 0, seq: 0, devices: new Map() })
        const shown = state.devices.get(deviceId)
        if (shown !== undefined && sameDevice(shown, device)) continue
        state.devices.set(deviceId, device)
        emit(room, { op: 'put', device })
      }
    }
    const deltas: RoomDelta[] = []
    for (const [room, roomOps] of touched) {
      const state = this.#rooms.get(room)
      if (state === undefined) continue
      // a stream starts at its first delta: a fresh epoch, so it can never be mistaken for an earlier one
      if (state.epoch === 0) state.epoch = ++this.#epoch
      deltas.push({ room, node: this.node, incarnation: this.incarnation, epoch: state.epoch, seq: ++state.seq, ops: roomOps })
      // an empty stream is over; its last delta (the dels) still goes out
      if (state.devices.size === 0) this.#rooms.delete(room)
    }
    return deltas
  }

  /**
   * The stream of `room` as it is now. For a room with no device here: an empty state at the epoch
   * the next stream will take, seq 0, which clears whatever a receiver still holds of an older one
   * and is exactly where that next stream starts.
   */
  state (room: string): RoomStreamState {
    const s = this.#rooms.get(room)
    if (s === undefined) return { room, node: this.node, incarnation: this.incarnation, epoch: this.#epoch + 1, seq: 0, devices: [] }
    return { room, node: this.node, incarnation: this.incarnation, epoch: s.epoch, seq: s.seq, devices: [...s.devices.values()] }
  }

  /**
   * The head of the room's stream. For a room with no device here it names the epoch the next
   * stream will take, at seq 0: a receiver still showing devices of an ended stream (its last delta
   * lost) starts that epoch afresh, empty.
   */
  beat (room: string): RoomBeat {
    const { devices: _d, ...head } = this.state(room)
    return head
  }

  /** One of this node's devices, with every room it is in. */
  device (deviceId: string): PresenceEntry | undefined {
    return this.#devices.get(deviceId)
  }

  /** Rooms with at least one device of this node, sorted. */
  rooms (): string[] {
    return [...this.#rooms.keys()].sort()
  }

  /** This node's devices, with every room each is in. */
  entries (): PresenceEntry[] {
    return [...this.#devices.values()]
  }
}

/** One node's stream in one room, as a receiver follows it. */
interface Stream {
  readonly node: string
  incarnation: number
  epoch: number
  seq: number
  needsSync: boolean
  /** its node went down: the devices are gone, seq stays so that nothing older comes back */
  down: boolean
  readonly devices: Map<string, HeldDevice>
}

/** A device with the node it lives on: one object, indexed twice (by stream and by user). */
interface HeldDevice extends RoomDevice {
  readonly node: string
}

interface RoomState {
  readonly streams: Map<string, Stream>
  /**
   * userId → that user's devices in the room: the device itself while there is one (most users),
   * a Set from the second on. A Set per member was about 100 bytes on every held device.
   */
  readonly users: Map<string, OneOrSet<HeldDevice>>
  /**
   * the users' ids, sorted, kept in order as users come and go: a join into a room of 10,000 sorted
   * them all and summed every member's devices again, 16 ms, once per joining session
   */
  readonly order: string[]
  /** each user's member as last summed from their devices; dropped when one of them changes */
  readonly members: Map<string, RosterMember>
}

/** What a receiver knows of a node's life from global presence, so nothing older comes back. */
interface NodeMark {
  incarnation: number
  /** down (crashed or suspected): same-incarnation messages may revive it, empty, until a pull */
  down: boolean
  /** said goodbye: nothing of this incarnation is taken any more */
  left: boolean
}

/**
 * The receiver side: for every room this node carries, every node's stream in it and the roster
 * built from them. Rooms not carried are not held at all.
 */
export class RoomPresence {
  readonly limits: RoomPresenceLimits
  readonly #rooms = new Map<string, RoomState>()
  readonly #marks = new Map<string, NodeMark>()
  /** the carried rooms each user has a device in (a DM's route asks where its two users are); one room as itself */
  readonly #userRooms = new Map<string, OneOrSet<string>>()
  #devices = 0
  /**
   * node → the one-element list `[node]`, shared by the summaries of every member whose devices are
   * all on that node (most members): a list of its own was about 56 bytes per member
   */
  readonly #nodeLists = new Map<string, string[]>()

  constructor (limits: Partial<RoomPresenceLimits> = {}) {
    this.limits = { ...DEFAULT_ROOM_PRESENCE_LIMITS, ...limits }
  }

  /** Start holding `room` (it is carried now). Refused past `maxRooms`. */
  carry (room: string): void {
    if (this.#rooms.has(room)) return
    if (this.#rooms.size >= this.limits.maxRooms) throw new RoomPresenceRefusedError(`this node follows presence in ${this.#rooms.size} rooms (at most ${this.limits.maxRooms})`, ErrorCode.NODE_FULL)
    this.#rooms.set(room, { streams: new Map(), users: new Map(), order: [], members: new Map() })
  }

  /** Stop holding `room`: its members leave this node's view. */
  drop (room: string): RoomPresenceChange {
    return this.#run(tx => {
      const state = this.#rooms.get(room)
      if (state === undefined) return
      for (const s of state.streams.values()) this.#clear(tx, room, s)
      this.#rooms.delete(room)
    })
  }

  /** Whether `room` is held. */
  carries (room: string): boolean {
    return this.#rooms.has(room)
  }

  /**
   * Applies a node's delta to a carried room if it is the next of its stream. A newer epoch or
   * incarnation starts the stream afresh (a newer incarnation also drops the node's other streams).
   * A gap flags the stream for a pull instead. Throws RoomPresenceRefusedError, changing nothing,
   * for a device the node does not host or a stream past its bound.
   */
  applyDelta (d: RoomDelta): RoomPresenceChange {
    for (const op of d.ops) {
      const deviceId = op.op === 'put' ? op.device.deviceId : op.deviceId
      if (!hostsDevice(d.incarnation, deviceId)) throw new RoomPresenceRefusedError(`${d.node} does not host device ${deviceId.slice(0, 64)}`)
    }
    return this.#run(tx => {
      const s = this.#stream(tx, d.room, d.node, d.incarnation, d.epoch)
      if (s === undefined || d.seq <= s.seq) return
      if (d.seq !== s.seq + 1 || s.needsSync || s.down) {
        this.#flag(tx, d.room, s)
        return
      }
      const puts = new Set(d.ops.flatMap(op => op.op === 'put' && !s.devices.has(op.device.deviceId) ? [op.device.deviceId] : []))
      const dels = d.ops.filter(op => op.op === 'del' && s.devices.has(op.deviceId)).length
      if (s.devices.size + puts.size - Math.min(dels, s.devices.size) > this.limits.maxDevicesPerStream) {
        throw new RoomPresenceRefusedError(`${d.node} would have more than ${this.limits.maxDevicesPerStream} devices in ${d.room}`, ErrorCode.NODE_FULL)
      }
      for (const op of d.ops) {
        if (op.op === 'put') this.#set(tx, d.room, s, op.device.deviceId, op.device)
        else this.#set(tx, d.room, s, op.deviceId, null)
      }
      s.seq = d.seq
    })
  }

  /**
   * Replaces a stream with its node's state of it (from a pull) and clears its flag. Ignored for a
   * room not carried, an older incarnation or epoch, a node that left, or a seq older than the one
   * applied. Throws RoomPresenceRefusedError, changing nothing, as applyDelta does.
   */
  applyState (st: RoomStreamState): RoomPresenceChange {
    if (st.devices.length > this.limits.maxDevicesPerStream) throw new RoomPresenceRefusedError(`${st.node} has more than ${this.limits.maxDevicesPerStream} devices in ${st.room}`, ErrorCode.NODE_FULL)
    for (const d of st.devices) {
      if (!hostsDevice(st.incarnation, d.deviceId)) throw new RoomPresenceRefusedError(`${st.node} does not host device ${d.deviceId.slice(0, 64)}`)
    }
    return this.#run(tx => {
      const s = this.#stream(tx, st.room, st.node, st.incarnation, st.epoch)
      if (s === undefined || (st.epoch === s.epoch && st.seq < s.seq)) return
      const incoming = new Map(st.devices.map(d => [d.deviceId, d]))
      for (const deviceId of [...s.devices.keys()]) if (!incoming.has(deviceId)) this.#set(tx, st.room, s, deviceId, null)
      for (const [deviceId, device] of incoming) this.#set(tx, st.room, s, deviceId, device)
      s.seq = st.seq
      s.needsSync = false
      s.down = false
    })
  }

  /** A stream head: a seq beyond the one applied (or an unknown stream) flags the stream for a pull. */
  beat (b: RoomBeat): RoomPresenceChange {
    return this.#run(tx => {
      const s = this.#stream(tx, b.room, b.node, b.incarnation, b.epoch)
      // a tombstone's node is alive after all, at a head it no longer shows: it must pull
      if (s !== undefined && (b.seq > s.seq || (s.down && b.seq === s.seq))) this.#flag(tx, b.room, s)
    })
  }

  /**
   * Global presence saw `node` go down (`left`: it said goodbye) at `incarnation`: its devices leave
   * every room at once. After a goodbye nothing of that incarnation is taken again; after a crash a
   * message of it revives its streams empty, each flagged for a pull.
   */
  nodeDown (node: string, incarnation: number, left: boolean): RoomPresenceChange {
    return this.#run(tx => {
      const mark = this.#marks.get(node)
      if (mark !== undefined && (incarnation < mark.incarnation || (incarnation === mark.incarnation && mark.left))) return
      this.#marks.set(node, { incarnation, down: true, left })
      for (const [room, state] of this.#rooms) {
        const s = state.streams.get(node)
        if (s === undefined) continue
        this.#clear(tx, room, s)
        // after a goodbye nothing of the incarnation is taken: the stream can go; after a crash it stays as a tombstone
        if (left || s.incarnation < incarnation) state.streams.delete(node)
        else {
          s.down = true
          s.needsSync = false
        }
      }
    })
  }

  /**
   * Global presence saw `node` up at `incarnation`: streams of older incarnations are dropped. A
   * node coming back in the same incarnation after a crash suspicion keeps nothing: what it holds
   * returns through pulls.
   */
  nodeUp (node: string, incarnation: number): RoomPresenceChange {
    return this.#run(tx => { this.#mark(tx, node, incarnation) })
  }

  /** Forgets what is known of a node gone for good (its tombstone). */
  forget (node: string): void {
    if (this.#marks.get(node)?.down === true) {
      this.#marks.delete(node)
      this.#nodeLists.delete(node)
    }
  }

  /** The room's members, sorted by user id; empty for a room not carried. */
  roster (room: string): RosterMember[] {
    const state = this.#rooms.get(room)
    if (state === undefined) return []
    const out: RosterMember[] = []
    for (const u of state.order) {
      const m = memberOf(state, u, this.#nodeList)
      if (m !== undefined) out.push(m)
    }
    return out
  }

  /** How many members the room has (users with a device in it); 0 for a room not carried. */
  size (room: string): number {
    return this.#rooms.get(room)?.users.size ?? 0
  }

  /** The user as the room shows them (their devices in it), undefined if not in it or not carried. */
  member (userId: string, room: string): RosterMember | undefined {
    return this.#member(room, userId)
  }

  /** The carried rooms the user has a device in, sorted. */
  roomsOf (userId: string): string[] {
    const rooms = this.#userRooms.get(userId)
    return rooms === undefined ? [] : typeof rooms === 'string' ? [rooms] : [...rooms].sort()
  }

  /** Nodes with at least one device in the room, sorted. */
  hosts (room: string): string[] {
    const state = this.#rooms.get(room)
    if (state === undefined) return []
    return [...state.streams.values()].filter(s => s.devices.size > 0).map(s => s.node).sort()
  }

  /** Carried rooms, sorted. */
  rooms (): string[] {
    return [...this.#rooms.keys()].sort()
  }

  /** The devices of a node's stream in a room, sorted by device id. */
  devices (room: string, node: string): RoomDevice[] {
    return [...this.#rooms.get(room)?.streams.get(node)?.devices.values() ?? []].map(toRoomDevice).sort((a, b) => compare(a.deviceId, b.deviceId))
  }

  /** The streams waiting for a pull, sorted by node then room (one pull per node asks for its rooms); the service retries from this list. */
  needsSync (): Array<{ room: string, node: string }> {
    const out: Array<{ room: string, node: string }> = []
    for (const room of this.rooms()) {
      for (const s of this.#rooms.get(room)?.streams.values() ?? []) if (s.needsSync) out.push({ room, node: s.node })
    }
    return out.sort((a, b) => compare(a.node, b.node) || compare(a.room, b.room))
  }

  stats (): RoomPresenceStats {
    let streams = 0
    let needsSync = 0
    for (const state of this.#rooms.values()) {
      streams += state.streams.size
      for (const s of state.streams.values()) if (s.needsSync) needsSync++
    }
    return { rooms: this.#rooms.size, streams, devices: this.#devices, needsSync }
  }

  /** Runs one mutation and turns the (room, user) pairs it touched into net roster diffs. */
  #run (fn: (tx: Tx) => void): RoomPresenceChange {
    const tx: Tx = { before: new Map(), needsSync: [] }
    fn(tx)
    const rooms: RosterDiff[] = []
    for (const [key, before] of tx.before) {
      const [room, userId] = splitKey(key)
      const after = this.#member(room, userId)
      if (!sameMember(before, after)) rooms.push({ room, userId, member: after ?? null })
    }
    return { rooms, needsSync: tx.needsSync }
  }

  /** Records what global presence (or a message) says of the node; drops streams of older incarnations. */
  #mark (tx: Tx, node: string, incarnation: number): NodeMark | undefined {
    const mark = this.#marks.get(node)
    if (mark !== undefined && incarnation < mark.incarnation) return undefined
    if (mark !== undefined && incarnation === mark.incarnation) {
      if (mark.left) return undefined
      mark.down = false
      return mark
    }
    const next = { incarnation, down: false, left: false }
    this.#marks.set(node, next)
    for (const [room, state] of this.#rooms) {
      const s = state.streams.get(node)
      if (s === undefined || s.incarnation >= incarnation) continue
      this.#clear(tx, room, s)
      state.streams.delete(node)
    }
    return next
  }

  /**
   * The stream a message of (incarnation, epoch) applies to, created or restarted as needed;
   * `undefined` when the room is not carried or the message is stale. A tombstone (its node went
   * down in this incarnation) is returned as it is: the caller decides whether the message proves
   * the node alive (then the stream is pulled) or is an old one.
   */
  #stream (tx: Tx, room: string, node: string, incarnation: number, epoch: number): Stream | undefined {
    const state = this.#rooms.get(room)
    if (state === undefined) return undefined
    if (this.#mark(tx, node, incarnation) === undefined) return undefined
    let s = state.streams.get(node)
    if (s !== undefined && (s.incarnation > incarnation || (s.incarnation === incarnation && s.epoch > epoch))) return undefined
    if (s === undefined || s.incarnation < incarnation || s.epoch < epoch) {
      if (s !== undefined) this.#clear(tx, room, s)
      s = { node, incarnation, epoch, seq: 0, needsSync: false, down: false, devices: new Map() }
      state.streams.set(node, s)
    }
    return s
  }

  #flag (tx: Tx, room: string, s: Stream): void {
    s.down = false
    if (s.needsSync) return
    s.needsSync = true
    tx.needsSync.push({ room, node: s.node })
  }

  #clear (tx: Tx, room: string, s: Stream): void {
    for (const deviceId of [...s.devices.keys()]) this.#set(tx, room, s, deviceId, null)
  }

  #set (tx: Tx, room: string, s: Stream, deviceId: string, input: RoomDevice | null): void {
    const state = this.#rooms.get(room)
    if (state === undefined) return
    const old = s.devices.get(deviceId)
    const device: HeldDevice | null = input === null ? null : { ...toRoomDevice(input), node: s.node }
    if (device === null ? old === undefined : old !== undefined && sameDevice(old, device)) return
    if (old !== undefined) this.#touch(tx, room, old.userId)
    if (device !== null) this.#touch(tx, room, device.userId)
    if (old !== undefined) {
      s.devices.delete(deviceId)
      state.members.delete(old.userId)
      if (takeOut(state.users, old.userId, old)) {
        placeSorted(state.order, old.userId, false)
        takeOut(this.#userRooms, old.userId, room)
      }
      this.#devices--
    }
    if (device !== null) {
      s.devices.set(deviceId, device)
      state.members.delete(device.userId)
      if (putIn(state.users, device.userId, device)) {
        placeSorted(state.order, device.userId, true)
        putIn(this.#userRooms, device.userId, room)
      }
      this.#devices++
    }
  }

  #touch (tx: Tx, room: string, userId: string): void {
    const key = joinKey(room, userId)
    if (!tx.before.has(key)) tx.before.set(key, this.#member(room, userId))
  }

  /** `[node]`, one list per node (see #nodeLists) */
  readonly #nodeList = (node: string): string[] => {
    let list = this.#nodeLists.get(node)
    // frozen: a reader that tried to change one member's list would change every member's
    if (list === undefined) this.#nodeLists.set(node, list = Object.freeze([node]) as string[])
    return list
  }

  #member (room: string, userId: string): RosterMember | undefined {
    const state = this.#rooms.get(room)
    return state === undefined ? undefined : memberOf(state, userId, this.#nodeList)
  }
}

interface Tx {
  /** `room\nuserId` → the member before the call */
  readonly before: Map<string, RosterMember | undefined>
  readonly needsSync: Array<{ room: string, node: string }>
}

// neither a room name nor a user id holds a newline
function joinKey (room: string, userId: string): string {
  return `${room}\n${userId}`
}

function splitKey (key: string): [string, string] {
  const i = key.indexOf('\n')
  return [key.slice(0, i), key.slice(i + 1)]
}

function toRoomDevice (e: RoomDevice): RoomDevice {
  return { userId: e.userId, deviceId: e.deviceId, name: e.name, status: e.status, since: e.since }
}

function sameDevice (a: RoomDevice, b: RoomDevice): boolean {
  return a.userId === b.userId && a.deviceId === b.deviceId && a.name === b.name && a.status === b.status && a.since === b.since
}

function sameMember (a: RosterMember | undefined, b: RosterMember | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return a.name === b.name && a.status === b.status && a.nodes.length === b.nodes.length && a.nodes.every((n, i) => n === b.nodes[i])
}

/**
 * The user as the room shows them: summed from their devices once, until one of them changes. One
 * device is its own summary (what `summarizeDevices` gives for it), with the node's shared list.
 */
function memberOf (state: RoomState, userId: string, nodeList: (node: string) => string[]): RosterMember | undefined {
  const cached = state.members.get(userId)
  if (cached !== undefined) return cached
  const mine = state.users.get(userId)
  const m = mine === undefined
    ? undefined
    : mine instanceof Set
      ? summarizeDevices(userId, [...mine])
      : { userId, name: mine.name, status: mine.status === 'online' ? 'online' as const : 'away' as const, nodes: nodeList(mine.node) }
  if (m !== undefined) state.members.set(userId, m)
  return m
}

/** one item as itself, two or more in a Set (the items are objects or strings, never Sets) */
type OneOrSet<T> = T | Set<T>

/** add `item` under `key`; true when the key had nothing before */
function putIn<T> (map: Map<string, OneOrSet<T>>, key: string, item: T): boolean {
  const held = map.get(key)
  if (held === undefined) {
    map.set(key, item)
    return true
  }
  if (held instanceof Set) held.add(item)
  else if (held !== item) map.set(key, new Set([held, item]))
  return false
}

/** take `item` out from under `key`; true when the key has nothing left (and is gone) */
function takeOut<T> (map: Map<string, OneOrSet<T>>, key: string, item: T): boolean {
  const held = map.get(key)
  if (held === undefined) return false
  if (held instanceof Set) {
    held.delete(item)
    if (held.size > 1) return false
    const [last] = held
    if (last === undefined) {
      map.delete(key)
      return true
    }
    map.set(key, last)
    return false
  }
  if (held !== item) return false
  map.delete(key)
  return true
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
