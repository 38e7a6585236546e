/**
 * Where a room's catch-up from a node starts after contact with it was lost: the newest stamp this
 * node received from that node in that room, not the moment the connection dropped. A connection
 * outlives a cut link (the peer answers no ping, yet the connection stays until the monitor gives up,
 * 15 s or more), and what the other node published between the cut and the drop came neither by
 * gossip nor by a catch-up anchored on the drop. Pure: no timers, no I/O, times passed in.
 */
import { BoundedMap } from './bounded.js'

/** the stamp of a wall-clock time in ms (the physical part of a hybrid logical clock stamp) */
function stampOf (ms: number): bigint {
  return BigInt(Math.max(0, Math.floor(ms))) << 16n
}

export interface HealWindow {
  /** how far before the anchor the window starts: the clock skew between nodes and the gossip delay */
  slackMs: number
  /**
   * the window never starts further back than this before contact was lost: a node that has not
   * published in a room for a long time is caught up from here, not from its last event
   */
  lookbackMs: number
}

/**
 * Per carried room, the newest stamp received from each origin node. O(1) per event; at most
 * `maxRooms` rooms and `maxOrigins` origins per room are remembered (the oldest inserted go first;
 * a forgotten mark only widens a later window back to the lookback bound).
 */
export class HealMarks {
  private readonly rooms: BoundedMap<string, Map<string, bigint>>
  private readonly maxOrigins: number

  constructor (maxRooms = 100_000, maxOrigins = 1000) {
    this.rooms = new BoundedMap(maxRooms)
    this.maxOrigins = maxOrigins
  }

  /** an event of `room` stamped `hlc` by `origin` reached this node */
  seen (room: string, origin: string, hlc: bigint): void {
    let marks = this.rooms.get(room)
    if (marks == null) this.rooms.set(room, marks = new Map())
    const prev = marks.get(origin)
    if (prev != null && prev >= hlc) return
    if (prev == null && marks.size >= this.maxOrigins) {
      const oldest = marks.keys().next()
      if (oldest.done !== true) marks.delete(oldest.value)
    }
    marks.set(origin, hlc)
  }

  /** the newest stamp received from `origin` in `room` */
  get (room: string, origin: string): bigint | undefined {
    return this.rooms.get(room)?.get(origin)
  }

  /** a room this node stopped carrying */
  forget (room: string): void {
    this.rooms.delete(room)
  }

  /** the marks of `origin` in each of `rooms` (taken when contact with it is lost) */
  snapshot (origin: string, rooms: Iterable<string>): Map<string, bigint> {
    const out = new Map<string, bigint>()
    for (const room of rooms) {
      const hlc = this.get(room, origin)
      if (hlc != null) out.set(room, hlc)
    }
    return out
  }
}

/**
 * The stamp a room's catch-up from a node starts at, after contact was lost at `lostAtMs` (local
 * wall clock): `slackMs` before the newest event received from it in that room (`mark`), or before
 * the loss if that is earlier, but never more than `lookbackMs` before the loss. Without a mark (the
 * node published nothing in the room lately, or it began to while cut off) the window starts at
 * the lookback bound.
 */
export function healFrom (lostAtMs: number, mark: bigint | undefined, w: HealWindow): bigint {
  const floor = stampOf(lostAtMs - w.lookbackMs)
  if (mark == null) return floor
  const byLoss = stampOf(lostAtMs - w.slackMs)
  const slack = stampOf(w.slackMs)
  const byMark = mark > slack ? mark - slack : 0n
  const from = byMark < byLoss ? byMark : byLoss
  return from > floor ? from : floor
}
