import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'

/**
 * Node ids are strings everywhere in meshchat's own state; libp2p wants a `PeerId`, and parsing one
 * (base58 and the key inside) costs about 10 µs. A mesh holds a few nodes, so their ids are parsed
 * once and kept. Ids from the wire that are not nodes cannot grow this without bound: past
 * MAX_KEPT it starts again from empty. A string that does not parse throws, as peerIdFromString
 * does, and is not kept.
 */
const MAX_KEPT = 4096
const kept = new Map<string, PeerId>()

export function nodePeerId (id: string): PeerId {
  let p = kept.get(id)
  if (p == null) {
    p = peerIdFromString(id)
    if (kept.size >= MAX_KEPT) kept.clear()
    kept.set(id, p)
  }
  return p
}
