import { idToHex } from './protocol/signing.js'
import type { RosterMember as WireMember } from './protocol/pb/client.js'
import type { PresenceStatus, RosterMember } from './types.js'

/** a position in a room's order: (hlc, message id) */
export interface Position {
  hlc: bigint
  id: Uint8Array
}

export function comparePosition (a: Position, b: Position): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1
  const ha = idToHex(a.id)
  const hb = idToHex(b.id)
  return ha < hb ? -1 : ha > hb ? 1 : 0
}

export function toMember (m: WireMember): RosterMember {
  const status: PresenceStatus = m.status === 'away' ? 'away' : 'online'
  return { userId: m.userId, name: m.name, status, nodes: m.nodes }
}

/** A window of recently seen ids: the dedupe that makes replays after a resume invisible. */
export class SeenIds {
  private readonly ids = new Set<string>()
  constructor (private readonly max: number) {}

  /** false if `id` was seen already; remembers it otherwise */
  add (id: string): boolean {
    if (this.ids.has(id)) return false
    this.ids.add(id)
    if (this.ids.size > this.max) {
      const oldest = this.ids.values().next().value
      if (oldest !== undefined) this.ids.delete(oldest)
    }
    return true
  }
}

/**
 * What the client knows of one joined room: where a resume starts (the last
 * position seen), which messages it has shown, and the roster. Pure: no I/O.
 */
export class RoomState {
  cursor?: Position
  /**
   * The node this client is attached to may lack events of the room stamped from here on (it lost
   * contact with another node and has not caught up yet): a resume elsewhere starts here, not at the
   * cursor. Undefined while the node lacks nothing.
   */
  gapFrom?: bigint
  readonly seen: SeenIds
  roster = new Map<string, RosterMember>()
  /** the room has more members than the node's snapshot carried: `roster` is some of them (and every one a diff named since) */
  partial = false
  /** members in the room as the node last counted them (undefined: it did not say; `roster` holds them all) */
  #count?: number
  /** the roster sorted by user id, once asked for; kept in order through diffs, not sorted again */
  #sorted?: RosterMember[]

  constructor (dedupeWindow: number) {
    this.seen = new SeenIds(dedupeWindow)
  }

  /** move the resume cursor forward to `pos` (never back) */
  advance (pos: Position): void {
    if (this.cursor == null || comparePosition(pos, this.cursor) > 0) this.cursor = { hlc: pos.hlc, id: pos.id }
  }

  /** what the node says it may lack (Delivery.stable, ReplayDone.stable; 0: nothing) */
  noteStable (stable: bigint): void {
    this.gapFrom = stable > 0n ? stable : undefined
  }

  /** where a resume starts: the cursor, or earlier when the node this client was on had a gap */
  resumeFrom (): Position | undefined {
    if (this.gapFrom == null || (this.cursor != null && this.cursor.hlc <= this.gapFrom)) return this.cursor
    return { hlc: this.gapFrom, id: new Uint8Array(32) }
  }

  /** a delivered message: advances the cursor; false if it was already shown */
  accept (pos: Position, idHex: string): boolean {
    this.advance(pos)
    return this.seen.add(idHex)
  }

  /** the roster snapshot */
  setRoster (members: WireMember[], partial = false, count = 0): void {
    this.roster = new Map(members.map(m => [m.userId, toMember(m)]))
    this.partial = partial
    this.#count = count > 0 ? count : undefined
    this.#sorted = undefined
  }

  /** how many members the room has: the node's count, or the roster's size where the node gave none */
  get count (): number {
    return this.#count ?? this.roster.size
  }

  /**
   * a roster diff, with the room's member count after it (0: the node did not say); says what
   * happened, or undefined when it changed nothing
   */
  applyDiff (userId: string, member: WireMember | undefined, count = 0): { kind: 'join' | 'update', member: RosterMember } | { kind: 'leave' } | undefined {
    if (count > 0) this.#count = count
    else if (!this.partial) this.#count = undefined
    if (member == null) {
      if (!this.roster.delete(userId)) return undefined
      this.#place(userId, undefined)
      return { kind: 'leave' }
    }
    const m = toMember(member)
    const had = this.roster.has(m.userId)
    this.roster.set(m.userId, m)
    this.#place(m.userId, m)
    return { kind: had ? 'update' : 'join', member: m }
  }

  /**
   * The roster sorted by user id (a copy). A diff costs one binary search and one copy of the sorted
   * list, not a sort: a room of 8,000 filling up one member at a time took the client 7.8 s of sorting.
   */
  members (): RosterMember[] {
    this.#sorted ??= [...this.roster.values()].sort((a, b) => a.userId < b.userId ? -1 : 1)
    return this.#sorted.slice()
  }

  /** put `m` (undefined: nobody) at `userId`'s place in the sorted roster, if it is kept */
  #place (userId: string, m: RosterMember | undefined): void {
    const list = this.#sorted
    if (list == null) return
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((list[mid] as RosterMember).userId < userId) lo = mid + 1
      else hi = mid
    }
    const found = list[lo]?.userId === userId
    if (m == null) {
      if (found) list.splice(lo, 1)
    } else if (found) {
      list[lo] = m
    } else {
      list.splice(lo, 0, m)
    }
  }
}
