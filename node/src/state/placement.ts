/**
 * Where a newly attached client should live. The node it reached answers with either "stay" or a
 * redirect, plus alternates the client can fall back to if the redirect target is unreachable.
 */
import { boundedLoadLimit, rendezvousOwners } from './rendezvous.js'

/** Load of one node as presence reports it. */
export interface NodeLoad {
  id: string
  clients: number
  maxClients: number
  /** Rooms with at least one member attached to this node. */
  rooms: string[]
}

export type PlacementReason = 'full' | 'overloaded' | 'affinity'

export interface PlacementInput {
  /** The deciding node; it must appear in `nodes`, or it never redirects. */
  self: string
  nodes: readonly NodeLoad[]
  /** The client's user id; orders ties between equally good affinity targets. */
  userId: string
  /** Rooms the client is about to join or rejoin. */
  rooms?: readonly string[]
  /**
   * A node with more than this multiple of the mesh's mean client count sheds new clients.
   *
   * @default 1.5
   */
  overloadFactor?: number
  /**
   * Least difference, in clients, between this node and the target before shedding for overload,
   * so that a small mesh (where one client is a large fraction of the mean) does not bounce
   * clients back and forth.
   *
   * @default 10
   */
  minSpread?: number
  /** Prefer the node already hosting most of `rooms`: fewer nodes per room means less mesh traffic. */
  affinity?: boolean
}

export interface Placement {
  /** Node the client should move to; absent means stay. */
  redirect?: string
  reason?: PlacementReason
  /** Every other node with room left, lightest first (by clients / maxClients). */
  alternates: string[]
}

/** Loaded beyond the mean by more than this fraction, a node is passed over for affinity. */
const AFFINITY_EPSILON = 0.25

/**
 * Decides whether a client attached to `self` should stay or move.
 *
 * - `full`: self is at its client limit.
 * - `overloaded`: self carries more than `overloadFactor` times the mean and at least `minSpread`
 *   clients more than the target.
 * - `affinity`: another node hosts strictly more of the client's rooms than self, and is within the
 *   bounded load (`ceil(1.25 * mean)`, the rule of `boundedLoadOwner`).
 *
 * When self must shed a client (full or overloaded), the target is the affinity choice if there is
 * one, otherwise the lightest alternate; the reason still says why self shed it. Targets always have
 * room and are never self.
 */
export function decidePlacement (input: PlacementInput): Placement {
  const self = input.nodes.find(n => n.id === input.self)
  const alternates = input.nodes
    .filter(n => n.id !== input.self && hasRoom(n))
    .sort(lightestFirst)
  const result: Placement = { alternates: alternates.map(n => n.id) }
  const lightest = alternates[0]
  if (self === undefined || lightest === undefined) return result

  const affine = input.affinity === true && input.rooms !== undefined && input.rooms.length > 0
    ? affinityTarget(input.nodes, self, input.userId, input.rooms, input.minSpread ?? 10)
    : undefined
  const target = affine ?? lightest

  if (!hasRoom(self)) return { ...result, redirect: target.id, reason: 'full' }

  const meanClients = input.nodes.reduce((sum, n) => sum + n.clients, 0) / input.nodes.length
  if (self.clients > (input.overloadFactor ?? 1.5) * meanClients &&
      self.clients - target.clients >= (input.minSpread ?? 10)) {
    return { ...result, redirect: target.id, reason: 'overloaded' }
  }

  return affine === undefined ? result : { ...result, redirect: affine.id, reason: 'affinity' }
}

function hasRoom (n: NodeLoad): boolean {
  return n.clients < n.maxClients
}

function lightestFirst (a: NodeLoad, b: NodeLoad): number {
  return a.clients / a.maxClients - b.clients / b.maxClients ||
    a.clients - b.clients ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * The node, other than self, hosting the most of `rooms` among nodes with room under the bounded
 * load, if it hosts strictly more of them than self does. Self competes too: when self is the best
 * eligible node, the client stays.
 */
function affinityTarget (nodes: readonly NodeLoad[], self: NodeLoad, userId: string, rooms: readonly string[], minSpread: number): NodeLoad | undefined {
  const wanted = new Set(rooms)
  const hosted = (n: NodeLoad): number => new Set(n.rooms.filter(r => wanted.has(r))).size
  const limit = boundedLoadLimit(nodes.reduce((sum, n) => sum + n.clients, 0), nodes.length, AFFINITY_EPSILON)
  // in a small mesh one client is a large share of the mean: within minSpread of the lightest node a
  // node is never too loaded to take one more (the same slack the overload rule gives)
  const lightestClients = Math.min(...nodes.map(n => n.clients))
  const eligible = new Map(nodes.filter(n => hasRoom(n) && n.clients + 1 <= Math.max(limit, lightestClients + minSpread)).map(n => [n.id, n]))

  let best: NodeLoad | undefined
  let bestCount = -1
  for (const id of rendezvousOwners(userId, [...eligible.keys()], eligible.size)) {
    const node = eligible.get(id)
    if (node === undefined) continue
    const count = hosted(node)
    if (count > bestCount) {
      best = node
      bestCount = count
    }
  }
  return best !== undefined && best.id !== self.id && bestCount > hosted(self) ? best : undefined
}
