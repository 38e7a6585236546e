/**
 * The end-to-end checker: pure, over a whole run's observations and what every node shows after the
 * final heal. Its rules are meshchat's promises:
 * - a room message acknowledged to its sender reaches every member of the room exactly once (live
 *   or by a resume replay); every member here stays joined for the whole run;
 * - a replay arrives in the room's stamp order (cursor order);
 * - after the final heal every node pages the same history for a room, in strictly increasing cursor
 *   order, holding every acknowledged message;
 * - a DM acknowledged to its sender reaches the recipient exactly once;
 * - every node's rosters show exactly the sessions that exist (no ghost, none missing, right node).
 */
import type { FinalView, Observation } from './observations.js'

export type ViolationKind = 'lost' | 'duplicate' | 'replay-order' | 'history-missing' | 'history-diverged' |
  'history-order' | 'dm-lost' | 'dm-duplicate' | 'presence-ghost' | 'presence-missing' | 'presence-wrong-node' | 'final-view'

export interface Violation {
  kind: ViolationKind
  /** message id, user id or node id the violation is about */
  subject: string
  detail: string
  /** ms since the load generator started, where known (the ack of the message) */
  t?: number
}

export interface CheckStats {
  acked: number
  dmsAcked: number
  deliveries: number
  replayed: number
  failedSends: number
  /** live deliveries that came after a later-stamped one of the same room (allowed: concurrent senders on different nodes) */
  liveReordered: number
}

export interface CheckResult {
  violations: Violation[]
  stats: CheckStats
}

export function check (observations: Observation[], final: FinalView): CheckResult {
  const violations: Violation[] = []
  const members = new Map<number, { user: string, rooms: string[] }>()
  const userIndex = new Map<string, number>()
  const acked = new Map<string, { room: string, c: number, t: number, cursor: string }>()
  const dmAcked = new Map<string, { to: number, c: number, t: number }>()
  /** `${client}/${id}` → deliveries */
  const got = new Map<string, number>()
  const dmGot = new Map<string, number>()
  const lastLive = new Map<string, string>()
  const stats: CheckStats = { acked: 0, dmsAcked: 0, deliveries: 0, replayed: 0, failedSends: 0, liveReordered: 0 }
  let lastReplay = new Map<string, string>()
  for (const o of observations) {
    switch (o.k) {
      case 'member':
        members.set(o.c, { user: o.user, rooms: o.rooms })
        userIndex.set(o.user, o.c)
        break
      case 'ack':
        acked.set(o.id, { room: o.room, c: o.c, t: o.t, cursor: o.cursor })
        break
      case 'dmack':
        dmAcked.set(o.id, { to: o.to, c: o.c, t: o.t })
        break
      case 'fail':
        stats.failedSends++
        break
      case 'msg': {
        stats.deliveries++
        const key = `${o.c}/${o.id}`
        got.set(key, (got.get(key) ?? 0) + 1)
        const rk = `${o.c}/${o.room}`
        if (o.via === 'replay') {
          stats.replayed++
          const prev = lastReplay.get(rk)
          if (prev != null && prev >= o.cursor) {
            violations.push({ kind: 'replay-order', subject: o.id, t: o.t, detail: `client ${o.c} in ${o.room}: replayed ${o.cursor} after ${prev}` })
          }
          lastReplay.set(rk, o.cursor)
        } else {
          const prev = lastLive.get(rk)
          if (prev != null && prev > o.cursor) stats.liveReordered++
          if (prev == null || o.cursor > prev) lastLive.set(rk, o.cursor)
        }
        break
      }
      case 'dm': {
        const key = `${o.c}/${o.id}`
        dmGot.set(key, (dmGot.get(key) ?? 0) + 1)
        break
      }
      case 'state':
        // a replay batch ends when the connection changes: the next one starts afresh
        if (o.state !== 'connected') lastReplay = new Map([...lastReplay].filter(([k]) => !k.startsWith(`${o.c}/`)))
        break
    }
  }
  stats.acked = acked.size
  stats.dmsAcked = dmAcked.size

  // a lost message that every node holds was lost between a node and its client (a resume, a live
  // hand-off), not between nodes: say which it was
  const held = new Map<string, number>()
  const nodes = Object.keys(final.histories).length
  for (const byRoom of Object.values(final.histories)) for (const h of Object.values(byRoom)) for (const [id] of h) held.set(id, (held.get(id) ?? 0) + 1)
  for (const [id, a] of acked) {
    for (const [c, m] of members) {
      if (!m.rooms.includes(a.room)) continue
      const n = got.get(`${c}/${id}`) ?? 0
      if (n === 0) violations.push({ kind: 'lost', subject: id, t: a.t, detail: `acked to client ${a.c} in ${a.room} (cursor ${a.cursor}), never delivered to client ${c}; in the history of ${held.get(id) ?? 0} of ${nodes} nodes` })
      if (n > 1) violations.push({ kind: 'duplicate', subject: id, t: a.t, detail: `delivered ${n} times to client ${c} in ${a.room}` })
    }
  }
  for (const [id, a] of dmAcked) {
    const n = dmGot.get(`${a.to}/${id}`) ?? 0
    if (n === 0) violations.push({ kind: 'dm-lost', subject: id, t: a.t, detail: `DM acked to client ${a.c}, never delivered to client ${a.to}` })
    if (n > 1) violations.push({ kind: 'dm-duplicate', subject: id, t: a.t, detail: `DM delivered ${n} times to client ${a.to}` })
  }

  for (const e of final.errors ?? []) violations.push({ kind: 'final-view', subject: e.split(':')[0] ?? '', detail: e })
  const rooms = new Set([...acked.values()].map(a => a.room))
  for (const list of Object.values(final.histories)) for (const r of Object.keys(list)) rooms.add(r)
  for (const room of rooms) {
    let reference: string[] | undefined
    let refNode = ''
    for (const [node, byRoom] of Object.entries(final.histories)) {
      const h = byRoom[room] ?? []
      for (let i = 1; i < h.length; i++) {
        if ((h[i - 1]?.[1] ?? '') >= (h[i]?.[1] ?? '')) {
          violations.push({ kind: 'history-order', subject: h[i]?.[0] ?? '', detail: `node ${short(node)} pages ${room} out of cursor order at position ${i}` })
          break
        }
      }
      const ids = h.map(x => x[0])
      const have = new Set(ids)
      const missing = [...acked].filter(([id, a]) => a.room === room && !have.has(id))
      for (const [id, a] of missing) {
        violations.push({ kind: 'history-missing', subject: id, t: a.t, detail: `acked in ${room}, absent from node ${short(node)}'s history` })
      }
      if (reference == null) {
        reference = ids
        refNode = node
      } else if (reference.join() !== ids.join()) {
        const ref = new Set(reference)
        const onlyHere = ids.filter(id => !ref.has(id))
        const onlyThere = reference.filter(id => !have.has(id))
        violations.push({
          kind: 'history-diverged',
          subject: room,
          detail: `node ${short(node)} (${ids.length} messages) differs from node ${short(refNode)} (${reference.length}): ` +
            `${onlyHere.length} only here (${onlyHere.slice(0, 3).join(', ')}), ${onlyThere.length} only there (${onlyThere.slice(0, 3).join(', ')})` +
            (onlyHere.length + onlyThere.length === 0 ? ', same ids in another order' : '')
        })
      }
    }
  }

  for (const [node, byRoom] of Object.entries(final.rosters)) {
    for (const [room, want] of Object.entries(final.expected)) {
      const got = byRoom[room] ?? {}
      for (const [user, nodes] of Object.entries(got)) {
        const w = want[user]
        if (w == null) violations.push({ kind: 'presence-ghost', subject: user, detail: `node ${short(node)} shows ${who(user, userIndex)} in ${room} on ${nodes.map(short).join(',')}; no such session` })
        else if (nodes.length !== 1 || nodes[0] !== w) violations.push({ kind: 'presence-wrong-node', subject: user, detail: `node ${short(node)} shows ${who(user, userIndex)} in ${room} on ${nodes.map(short).join(',')}, attached to ${short(w)}` })
      }
      for (const user of Object.keys(want)) {
        if (got[user] == null) violations.push({ kind: 'presence-missing', subject: user, detail: `node ${short(node)} does not show ${who(user, userIndex)} in ${room}` })
      }
    }
  }
  return { violations, stats }
}

function short (id: string): string {
  return id.slice(-6)
}

function who (user: string, index: Map<string, number>): string {
  const c = index.get(user)
  return c == null ? `user …${short(user)}` : `client ${c}`
}

/** a fault schedule entry as the report prints it */
export interface ScheduleMark {
  /** ms since the load generator started */
  t: number
  what: string
}

/** violations, each with the schedule entries in the `windowMs` before its time */
export function describe (violations: Violation[], schedule: ScheduleMark[], opts: { max?: number, windowMs?: number } = {}): string[] {
  const max = opts.max ?? 30
  const windowMs = opts.windowMs ?? 15_000
  const lines: string[] = []
  const byKind = new Map<string, number>()
  for (const v of violations) byKind.set(v.kind, (byKind.get(v.kind) ?? 0) + 1)
  lines.push(`violations: ${violations.length}${violations.length > 0 ? ' (' + [...byKind].map(([k, n]) => `${k} ${n}`).join(', ') + ')' : ''}`)
  for (const v of violations.slice(0, max)) {
    lines.push(`  ${v.kind} ${v.subject}${v.t == null ? '' : ` at ${(v.t / 1000).toFixed(1)} s`}: ${v.detail}`)
    if (v.t != null) {
      const t = v.t
      for (const s of schedule.filter(s => s.t <= t + 1000 && s.t >= t - windowMs)) lines.push(`      ${(s.t / 1000).toFixed(1)} s  ${s.what}`)
    }
  }
  if (violations.length > max) lines.push(`  … and ${violations.length - max} more`)
  return lines
}
