/**
 * Who sits where and talks to whom. The same placement is used for both systems, so a user key
 * means the same seat (server index, rooms, DM partner) in meshchat and in the baseline.
 */

export interface Seat {
  key: number
  /** server index */
  server: number
  rooms: string[]
}

export interface Placement {
  name: string
  servers: number
  seats: Seat[]
  /** members per room */
  roomSizes: Record<string, number>
}

/** mulberry32: fixed seeds keep placements identical across runs and systems */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), s | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

function sizes (seats: Seat[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of seats) for (const r of s.rooms) out[r] = (out[r] ?? 0) + 1
  return out
}

/** users round-robin over servers, each in one room drawn at random: rooms span most servers */
export function spread (users: number, rooms: number, servers: number, seed = 1): Placement {
  const rand = rng(seed)
  // a shuffled, balanced room assignment: every room gets users/rooms members
  const roomOf = Array.from({ length: users }, (_, i) => i % rooms)
  for (let i = roomOf.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    const t = roomOf[i] as number
    roomOf[i] = roomOf[j] as number
    roomOf[j] = t
  }
  const seats = Array.from({ length: users }, (_, key) => ({ key, server: key % servers, rooms: [`room-${roomOf[key] ?? 0}`] }))
  return { name: 'spread', servers, seats, roomSizes: sizes(seats) }
}

/**
 * Room-local: every room has a home server; `localShare` of the rooms have all their members there,
 * the others are split between the home server and the next one.
 */
export function local (users: number, rooms: number, servers: number, localShare = 0.7): Placement {
  const seats: Seat[] = []
  const splitEvery = localShare >= 1 ? Infinity : Math.max(1, Math.round(1 / (1 - localShare)))
  for (let key = 0; key < users; key++) {
    const room = key % rooms
    const member = Math.floor(key / rooms)
    const home = room % servers
    const split = servers > 1 && (room % splitEvery) === splitEvery - 1
    const server = split && member % 2 === 1 ? (home + 1) % servers : home
    seats.push({ key, server, rooms: [`local-${room}`] })
  }
  return { name: 'room-local', servers, seats, roomSizes: sizes(seats) }
}

/** DM partner of each user: the next user, who sits on the next server (users round-robin over servers) */
export function dmPartner (key: number, users: number): number {
  return (key + 1) % users
}

/** how many distinct servers each room spans, averaged */
export function meanServersPerRoom (p: Placement): number {
  const span = new Map<string, Set<number>>()
  for (const s of p.seats) for (const r of s.rooms) { let set = span.get(r); if (set == null) span.set(r, set = new Set()); set.add(s.server) }
  let total = 0
  for (const s of span.values()) total += s.size
  return span.size === 0 ? 0 : total / span.size
}
