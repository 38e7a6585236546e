import { idSetDigest, idToHex } from './protocol/signing.js'
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

/**
 * A window of recently seen ids: the dedupe that makes replays after a resume invisible. Each id
 * keeps the stamp it came with, where it has one (a room's messages), for `RoomState.have`.
 */
export class SeenIds {
  private readonly ids = new Map<string, bigint | undefined>()
  constructor (private readonly max: number) {}

  /** false if `id` was seen already; remembers it otherwise */
  add (id: string, hlc?: bigint): boolean {
    if (this.ids.has(id)) return false
    this.ids.set(id, hlc)
    if (this.ids.size > this.max) {
      const oldest = this.ids.keys().next().value
      if (oldest !== undefined) this.ids.delete(oldest)
    }
    return true
  }

  /** the ids remembered with their stamps */
  entries (): IterableIterator<[string, bigint | undefined]> {
    return this.ids.entries()
  }
}

const HEX = (c: number): number => c <= 57 ? c - 48 : (c | 32) - 87

/** a 64-digit hex id's bytes */
function idBytes (hex: string): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = (HEX(hex.charCodeAt(2 * i)) << 4) | HEX(hex.charCodeAt(2 * i + 1))
  return out
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
    return this.seen.add(idHex, pos.hlc)
  }

  /**
   * What a resume from `after` tells the node this client holds (Join.have): the ids of the
   * messages it has seen stamped from `slackMs` before `after` up to `after`, as one digest. The
   * node replays that window only if its own messages there make another digest (one this client
   * lacks, or one the node lacks). Undefined without a slack to go by.
   */
  have (after: Position, slackMs: number): { have: Uint8Array<ArrayBuffer>, haveFrom: bigint } | undefined {
    if (!(slackMs > 0)) return undefined
    const slack = BigInt(Math.floor(slackMs)) << 16n
    const from = after.hlc > slack ? after.hlc - slack : 0n
    const upTo = idToHex(after.id)
    const ids: Uint8Array[] = []
    for (const [hex, hlc] of this.seen.entries()) {
      if (hlc == null || hlc < from || hlc > after.hlc || (hlc === after.hlc && hex > upTo)) continue
      ids.push(idBytes(hex))
    }
    return { have: idSetDigest(ids), haveFrom: from }
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
