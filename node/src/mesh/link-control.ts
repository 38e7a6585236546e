import type { ConnectionGater, PeerId } from '@libp2p/interface'

/**
 * The transport seam (memberlist style): a connection gater whose deny list can
 * change at runtime. Operators can fence a misbehaving node off; tests cut links
 * between groups of nodes and refuse redials to simulate a partition.
 */
export class LinkControl {
  private readonly blocked = new Set<string>()

  /** refuse every new connection to or from these peers (existing ones are closed by the caller) */
  block (peers: Iterable<string>): void {
    for (const p of peers) this.blocked.add(p)
  }

  unblock (peers: Iterable<string>): void {
    for (const p of peers) this.blocked.delete(p)
  }

  isBlocked (peer: PeerId | string): boolean {
    return this.blocked.has(peer.toString())
  }

  /** the gater libp2p consults on every dial and every inbound connection */
  gater (): ConnectionGater {
    const deny = (peer: PeerId): boolean => this.isBlocked(peer)
    return {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
      denyInboundUpgradedConnection: deny,
      denyOutboundUpgradedConnection: deny
    }
  }
}
