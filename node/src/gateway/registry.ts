import type { ClientSession } from './session.js'
import type { StampedEvent } from '../mesh/peer-events.js'

/**
 * The sessions attached to this node, indexed by user and by room, and the
 * fan-out to them. Room and user interest on this node is read from here.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, ClientSession>()
  private readonly byUser = new Map<string, Set<ClientSession>>()
  private readonly byRoom = new Map<string, Set<ClientSession>>()

  get size (): number {
    return this.sessions.size
  }

  get userCount (): number {
    return this.byUser.size
  }

  add (s: ClientSession): void {
    this.sessions.set(s.id, s)
    let set = this.byUser.get(s.userId)
    if (set == null) this.byUser.set(s.userId, set = new Set())
    set.add(s)
  }

  /** remove a session and its room memberships; returns the rooms that no longer have a local member */
  remove (s: ClientSession): string[] {
    if (!this.sessions.delete(s.id)) return []
    const set = this.byUser.get(s.userId)
    set?.delete(s)
    if (set?.size === 0) this.byUser.delete(s.userId)
    const emptied: string[] = []
    for (const room of s.rooms) {
      if (this.leave(s, room)) emptied.push(room)
    }
    return emptied
  }

  /** a session by its device id */
  get (id: string): ClientSession | undefined {
    return this.sessions.get(id)
  }

  has (s: ClientSession): boolean {
    return this.sessions.get(s.id) === s
  }

  /** add a session to a room; true when it is the room's first local member */
  join (s: ClientSession, room: string): boolean {
    s.addRoom(room)
    let set = this.byRoom.get(room)
    const first = set == null
    if (set == null) this.byRoom.set(room, set = new Set())
    set.add(s)
    return first
  }

  /** remove a session from a room; true when the room has no local member left */
  leave (s: ClientSession, room: string): boolean {
    s.removeRoom(room)
    const set = this.byRoom.get(room)
    if (set == null) return false
    set.delete(s)
    if (set.size === 0) {
      this.byRoom.delete(room)
      return true
    }
    return false
  }

  /** rooms with at least one local member */
  rooms (): string[] {
    return [...this.byRoom.keys()]
  }

  hasRoom (room: string): boolean {
    return this.byRoom.has(room)
  }

  /** sessions on this node in `room` */
  roomSize (room: string): number {
    return this.byRoom.get(room)?.size ?? 0
  }

  roomSessions (room: string): Iterable<ClientSession> {
    return this.byRoom.get(room) ?? []
  }

  userSessions (user: string): Iterable<ClientSession> {
    return this.byUser.get(user) ?? []
  }

  /** ready sessions of a user on this node */
  userSessionCount (user: string): number {
    let n = 0
    for (const s of this.userSessions(user)) if (s.ready) n++
    return n
  }

  hasUser (user: string): boolean {
    return this.byUser.has(user)
  }

  /** distinct rooms the user is in across their devices on this node */
  userRooms (user: string): Set<string> {
    const rooms = new Set<string>()
    for (const s of this.userSessions(user)) for (const r of s.rooms) rooms.add(r)
    return rooms
  }

  all (): Iterable<ClientSession> {
    return this.sessions.values()
  }

  /** deliver one pre-encoded frame to every local member of a room; returns the number of sessions */
  deliverToRoom (room: string, frame: Uint8Array): number {
    let n = 0
    for (const s of this.roomSessions(room)) {
      s.deliverLive(room, frame)
      n++
    }
    return n
  }

  /**
   * deliver a late event (found by backfill, not by gossip) to the members of
   * a room that may be missing it: those whose floor is at or below its HLC
   */
  deliverLate (room: string, hlc: bigint, frame: Uint8Array): number {
    let n = 0
    for (const s of this.roomSessions(room)) {
      if (hlc < (s.floors.get(room) ?? 0n)) continue
      s.deliverLive(room, frame)
      n++
    }
    return n
  }

  /** deliver one pre-encoded frame to every device of a user on this node, except `exceptSession` */
  deliverToUser (user: string, frame: Uint8Array, exceptSession?: string, pending?: { idHex: string, event: StampedEvent }): number {
    let n = 0
    for (const s of this.userSessions(user)) {
      if (s.id === exceptSession || !s.ready) continue
      s.sendEncoded(frame)
      if (pending != null) s.pendingDm(pending.idHex, pending.event)
      n++
    }
    return n
  }
}
