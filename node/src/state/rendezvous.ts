/**
 * Rendezvous (highest random weight) hashing: every node scores every key, the top scores own it.
 * Adding or removing one of N nodes moves only the keys that node wins or held (about 1/N), and
 * every node computes the same owners from the same membership without coordinating.
 */
import { createHash } from 'node:crypto'

/**
 * Weight of `node` for `key`: the first 8 bytes of SHA-256. A cryptographic hash because weights
 * must agree across processes, machines and versions, and must spread evenly whatever the ids
 * look like. The key's byte length goes first so that ("ab", "c") and ("a", "bc") differ.
 */
function weight (key: string, node: string): bigint {
  return createHash('sha256')
    .update(`${Buffer.byteLength(key)}:${key}`)
    .update(node)
    .digest()
    .readBigUInt64BE(0)
}

/** `nodes` (deduplicated) from the highest weight for `key` down; ties go to the smaller id. */
function rendezvousOrder (key: string, nodes: Iterable<string>): string[] {
  return [...new Set(nodes)]
    .map(id => ({ id, w: weight(key, id) }))
    .sort((a, b) => a.w > b.w ? -1 : a.w < b.w ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    .map(s => s.id)
}

/**
 * The `k` owners of `key` among `nodes`, best first. Deterministic for a given set of nodes,
 * whatever their order; fewer than `k` when there are fewer nodes.
 */
export function rendezvousOwners (key: string, nodes: readonly string[], k: number): string[] {
  return k <= 0 ? [] : rendezvousOrder(key, nodes).slice(0, k)
}

/**
 * Largest load a node may reach when one more item is placed on a set of `count` nodes carrying
 * `totalLoad` between them: `ceil((1 + epsilon) * mean load after placement)`. With integer loads
 * the lightest node always fits under it.
 */
export function boundedLoadLimit (totalLoad: number, count: number, epsilon: number): number {
  if (!(epsilon >= 0)) throw new RangeError(`epsilon must be >= 0, got ${epsilon}`)
  return Math.ceil((1 + epsilon) * (totalLoad + 1) / count)
}

export interface BoundedLoadNode {
  id: string
  /** Items currently placed on the node. */
  load: number
  /** Most items the node accepts. */
  capacity: number
}

export interface BoundedLoadOptions {
  /**
   * How far above the mean a node may be loaded, as a fraction of the mean. Small values balance
   * better but move more keys away from their first choice (Mirrokni et al., 2018).
   *
   * @default 0.25
   */
  epsilon?: number
}

/**
 * Consistent hashing with bounded loads: the first node in rendezvous order for `key` that stays
 * within {@link boundedLoadLimit} after taking one more item and is below its own capacity.
 *
 * When capacities exclude every node under the bound, the first node in rendezvous order that has
 * capacity is returned instead: refusing an item the mesh could hold would be worse than
 * overloading one node. `undefined` only when no node has capacity.
 */
export function boundedLoadOwner (key: string, nodes: readonly BoundedLoadNode[], opts: BoundedLoadOptions = {}): string | undefined {
  const byId = new Map(nodes.map(n => [n.id, n]))
  if (byId.size === 0) return undefined
  let total = 0
  for (const n of byId.values()) total += n.load
  const limit = boundedLoadLimit(total, byId.size, opts.epsilon ?? 0.25)
  let fallback: string | undefined
  for (const id of rendezvousOrder(key, byId.keys())) {
    const node = byId.get(id)
    if (node === undefined || node.load >= node.capacity) continue
    if (node.load + 1 <= limit) return id
    fallback ??= id
  }
  return fallback
}
