/**
 * The web app's conversation model: rooms and direct-message conversations,
 * which one is open, unread counts, rosters, who is typing. Pure: no DOM and no
 * network; the app feeds it what the client reports and renders what it says
 * changed.
 */
import { Timeline } from './timeline.js'
import { mentions } from './rich-text.js'
import type { Mentionable } from './rich-text.js'
import type { ChatMessage, DirectMessage, RosterMember, UserState } from '../src/index.js'
import type { Entry } from './timeline.js'

export interface Conv {
  /** `room:<name>` or `dm:<userId>` */
  id: string
  kind: 'room' | 'dm'
  /** room name, or the other user's id */
  target: string
  title: string
  timeline: Timeline
  unread: number
  /** an unread message mentions this user */
  mentioned: boolean
  /** more history before the oldest message; undefined = not known yet */
  more: boolean | undefined
  loadingOlder: boolean
  /** the join has completed: replays after this are news, not backlog */
  ready: boolean
  roster: RosterMember[]
  /** members in the room as the node counts them (more than `roster` holds when it is partial) */
  rosterCount?: number
  typing: Map<string, { name: string, until: number }>
  /** dm: the other user's presence */
  peer?: UserState
  draft: string
}

/** what an incoming event changed, so the app redraws only that */
export interface Changed {
  conv?: Conv
  /** the entry went into the conversation (false: it was already there) */
  fresh: boolean
  /** the navigation (list of conversations, unread badges, titles) needs a redraw */
  nav: boolean
  /** the open conversation's header needs a redraw */
  head: boolean
  /** a "sending" placeholder this message replaces */
  retired?: string
  /** a conversation was created (a first DM from someone) */
  created?: boolean
  /** news for this user: a message that mentions them, or a DM to them, that arrived live (not a replay) */
  alert?: boolean
}

const NOTHING: Changed = { fresh: false, nav: false, head: false }

export class Conversations {
  readonly convs = new Map<string, Conv>()
  active?: Conv
  /** the page is not visible: the open conversation collects unread messages too */
  hidden = false

  constructor (private readonly me: () => string) {}

  private create (kind: Conv['kind'], target: string, title: string): Conv {
    const conv: Conv = {
      id: `${kind}:${target}`,
      kind,
      target,
      title,
      timeline: new Timeline(),
      unread: 0,
      mentioned: false,
      more: undefined,
      loadingOlder: false,
      ready: kind === 'dm',
      roster: [],
      typing: new Map(),
      draft: ''
    }
    this.convs.set(conv.id, conv)
    return conv
  }

  room (room: string): Conv | undefined {
    return this.convs.get('room:' + room)
  }

  dm (userId: string): Conv | undefined {
    return this.convs.get('dm:' + userId)
  }

  ensureRoom (room: string): Conv {
    return this.room(room) ?? this.create('room', room, room)
  }

  /** the conversation with `userId`; `created` when it is new (the app then follows their presence) */
  ensureDm (userId: string, name: string): { conv: Conv, created: boolean } {
    const conv = this.dm(userId)
    return conv != null ? { conv, created: false } : { conv: this.create('dm', userId, name), created: true }
  }

  rooms (): string[] {
    return [...this.convs.values()].filter(c => c.kind === 'room').map(c => c.target)
  }

  dmPeers (): string[] {
    return [...this.convs.values()].filter(c => c.kind === 'dm').map(c => c.target)
  }

  /** the DM conversations, to be remembered across reloads */
  dmList (): Array<{ userId: string, name: string }> {
    return [...this.convs.values()].filter(c => c.kind === 'dm').map(c => ({ userId: c.target, name: c.title }))
  }

  /** open `conv`; returns the one that was open before */
  open (conv: Conv): Conv | undefined {
    const was = this.active
    this.active = conv
    conv.unread = 0
    conv.mentioned = false
    return was
  }

  /** the page is visible again: what arrived in the open conversation meanwhile has been seen; true if that changed a count */
  shown (): boolean {
    this.hidden = false
    const conv = this.active
    if (conv == null || (conv.unread === 0 && !conv.mentioned)) return false
    conv.unread = 0
    conv.mentioned = false
    return true
  }

  /** unread messages over every conversation (the page title's badge) */
  totalUnread (): number {
    let n = 0
    for (const c of this.convs.values()) n += c.unread
    return n
  }

  /** who can be @mentioned in `conv`: the room's members, or the two people of a DM */
  mentionable (conv: Conv): Mentionable[] {
    if (conv.kind === 'room') return conv.roster
    return [{ userId: conv.target, name: conv.title }]
  }

  /**
   * Let a conversation that holds more than TIMELINE_KEEP + TIMELINE_SLACK messages go of its oldest,
   * down to TIMELINE_KEEP: returns their keys (none when it is under the bound). There is history
   * before the oldest kept from then on, a page away.
   */
  trim (conv: Conv): string[] {
    if (conv.timeline.entries.length <= TIMELINE_KEEP + TIMELINE_SLACK) return []
    const dropped = conv.timeline.dropOldest(conv.timeline.entries.length - TIMELINE_KEEP)
    if (dropped.length > 0) conv.more = true
    return dropped.map(e => e.key)
  }

  /** remove `conv`; when it was open, the next one (if any) is returned to be opened */
  drop (conv: Conv): Conv | undefined {
    this.convs.delete(conv.id)
    if (this.active !== conv) return undefined
    this.active = undefined
    return this.convs.values().next().value
  }

  /** a room message from the client */
  message (m: ChatMessage): Changed {
    const conv = this.room(m.room)
    if (conv == null) return NOTHING
    let retired: string | undefined
    if (m.from === this.me()) {
      // our own message came back from the node: retire its "sending" placeholder
      retired = conv.timeline.pendingMatch(m.from, m.text)?.key
    }
    conv.typing.delete(m.from)
    const fresh = conv.timeline.insert({ key: m.id, cursor: m.cursor, from: m.from, name: m.name, text: m.text, ts: m.ts, origin: m.origin, pending: false }) >= 0
    let nav = false
    let alert = false
    if (fresh && (conv !== this.active || this.hidden) && m.from !== this.me() && (m.via === 'live' || conv.ready)) {
      conv.unread++
      nav = true
      if (mentions(m.text, conv.roster, this.me())) {
        conv.mentioned = true
        alert = true
      }
    }
    return { conv, fresh, nav, head: false, alert, ...(retired != null ? { retired } : {}) }
  }

  /** a direct message from the client (to or from this user) */
  direct (d: DirectMessage): Changed {
    const mine = d.from === this.me()
    const peer = mine ? d.to : d.from
    const { conv, created } = this.ensureDm(peer, mine ? (this.dm(peer)?.title ?? peer) : d.name)
    let nav = created
    let head = false
    if (!mine && conv.title !== d.name) {
      conv.title = d.name
      nav = true
      head = conv === this.active
    }
    const fresh = conv.timeline.insert({ key: d.id, cursor: d.cursor, from: d.from, name: d.name, text: d.text, ts: d.ts, origin: d.origin, pending: false }) >= 0
    if (fresh && (conv !== this.active || this.hidden) && !mine) {
      conv.unread++
      nav = true
    }
    return { conv, fresh, nav, head, created, alert: fresh && !mine }
  }

  /** a followed user's presence */
  user (u: UserState): Changed {
    const conv = this.dm(u.userId)
    if (conv == null) return NOTHING
    conv.peer = u
    if (u.online && u.name !== '' && conv.title !== u.name) conv.title = u.name
    return { conv, fresh: false, nav: true, head: conv === this.active }
  }

  /** someone started or stopped typing in a room */
  typing (room: string, userId: string, name: string, active: boolean, until: number): Conv | undefined {
    const conv = this.room(room)
    if (conv == null) return undefined
    if (active) conv.typing.set(userId, { name, until })
    else conv.typing.delete(userId)
    return conv
  }

  /** who is typing in `conv` at `now` (expired entries are dropped), and when the next one expires */
  typists (conv: Conv | undefined, now: number): { names: string[], nextExpiry: number } {
    const names: string[] = []
    let nextExpiry = Infinity
    for (const [user, t] of conv?.typing ?? []) {
      if (t.until <= now) {
        conv?.typing.delete(user)
        continue
      }
      names.push(t.name)
      nextExpiry = Math.min(nextExpiry, t.until)
    }
    return { names, nextExpiry }
  }
}

/** names a "Seen by" line spells out; a big room's readers past them are a count */
export const SEEN_BY_NAMES = 5

/** "alice, bob and carol", or "alice, … and 4,996 others" past SEEN_BY_NAMES, by name */
export function seenBy (names: readonly string[]): string {
  const sorted = [...names].sort(byName)
  if (sorted.length <= SEEN_BY_NAMES) return sorted.join(', ')
  const rest = sorted.length - SEEN_BY_NAMES
  return `${sorted.slice(0, SEEN_BY_NAMES).join(', ')} and ${rest.toLocaleString('en-US')} ${rest === 1 ? 'other' : 'others'}`
}

/** "X is typing…" for a list of names */
export function typingLine (names: string[]): string {
  if (names.length === 0) return ''
  if (names.length === 1) return `${names[0] ?? ''} is typing…`
  if (names.length === 2) return `${names[0] ?? ''} and ${names[1] ?? ''} are typing…`
  return `${names.length} people are typing…`
}


/**
 * member rows the roster pane draws at most, the user's own first; the rest of a big room is a
 * count (a pane of thousands of rows, rebuilt at every change, kept the page's main thread busy)
 */
export const ROSTER_ROWS = 200
/**
 * messages a conversation keeps: past this and another TIMELINE_SLACK, the oldest go (they are a
 * history page away); a tab left open in a busy room otherwise held every message since it opened
 */
export const TIMELINE_KEEP = 1000
export const TIMELINE_SLACK = 250
/** members from which a room's roster pane offers a box to find one by name */
export const ROSTER_FILTER_FROM = 20

/** member names in the roster pane's order (fan 2 before fan 10): one collator for every comparison, not one per localeCompare */
const byName = new Intl.Collator(undefined, { numeric: true }).compare

/** a room's members in all: the node's count, which a big room's partial roster falls short of */
export function roomCount (conv: Conv): number {
  return Math.max(conv.rosterCount ?? 0, conv.roster.length)
}

/**
 * The first `n` of a roster in the pane's order (the user first, then by name, then by id), without
 * sorting all of it: one pass keeps the best `n` so far in order, and most members are out at one
 * comparison with the last of them.
 */
export function firstByName (roster: readonly RosterMember[], me: string, n: number): RosterMember[] {
  const before = (a: RosterMember, b: RosterMember): boolean =>
    ((a.userId === me ? -1 : 0) - (b.userId === me ? -1 : 0) || byName(a.name, b.name) || (a.userId < b.userId ? -1 : 1)) < 0
  const best: RosterMember[] = []
  if (n <= 0) return best
  for (const m of roster) {
    if (best.length === n && !before(m, best[n - 1] as RosterMember)) continue
    let lo = 0
    let hi = best.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (before(best[mid] as RosterMember, m)) lo = mid + 1
      else hi = mid
    }
    best.splice(lo, 0, m)
    if (best.length > n) best.pop()
  }
  return best
}

export type { Entry }
