import { nodePeerId } from './peer-ids.js'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { connectedPeers } from './mesh-host.js'
import type { LinkControl } from './link-control.js'
import type { NodeView } from '../state/presence.js'
import type { Libp2p, Logger, Startable } from '@libp2p/interface'
import type { Supervisor } from '../supervisor.js'
import type { Clock } from '../components.js'

export interface DialerInit {
  /** how often to look for nodes we should be connected to but are not */
  intervalMs: number
  /** do not keep more mesh connections than this (a full mesh of this many nodes) */
  maxPeers: number
  /** bootstrap multiaddrs with /p2p/ */
  bootstrap: string[]
}

export interface DialerComponents {
  /** wall-clock time */
  clock: Clock
  mesh: Libp2p
  linkControl: LinkControl
  log: Logger
  supervisor: Supervisor
  /** nodes presence knows, with the mesh addresses their heartbeats carry */
  nodes: () => NodeView[]
  nodeId: string
}

interface Backoff { until: number, delayMs: number }

/**
 * Keeps this node connected to the nodes presence knows about (a full mesh up to
 * `maxPeers`) and to at least one bootstrap peer. Gossipsub routes a topic only
 * between connected subscribers, so connectivity is what makes interest-based
 * routing work; heartbeats carry mesh addresses, so learning of a node and
 * dialing it are one step. Down nodes are still redialed (with backoff) until
 * presence forgets them, which is what heals a partition.
 */
export class MeshDialer implements Startable {
  private readonly init: DialerInit
  private readonly c: DialerComponents
  private timer?: ReturnType<typeof setInterval>
  private started = false
  private readonly backoff = new Map<string, Backoff>()
  private readonly dialing = new Set<string>()
  private readonly bootstrapPeers: Array<{ id: string, addr: string }>

  constructor (init: DialerInit, components: DialerComponents) {
    this.init = init
    this.c = components
    this.bootstrapPeers = init.bootstrap.flatMap(addr => {
      const id = multiaddr(addr).getComponents().findLast(c => c.name === 'p2p')?.value
      return id == null ? [] : [{ id, addr }]
    })
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.c.mesh.addEventListener('peer:disconnect', this.onDisconnect)
    this.wake()
  }

  stop (): void {
    this.started = false
    this.c.mesh.removeEventListener('peer:disconnect', this.onDisconnect)
    this.rest()
  }

  /** whether the passes run: they stop while nothing is missing, and a lost connection or a new node starts them again */
  get passing (): boolean {
    return this.timer != null
  }

  private readonly onDisconnect = (): void => { this.wake() }

  /**
   * Passes four times a dial interval while something is missing (backoff still spaces out the dials
   * to any one node): a healed partition is redialled within a quarter of an interval, and a mesh with
   * nothing missing has no pass at all.
   */
  private wake (): void {
    if (!this.started || this.timer != null) return
    this.timer = this.c.supervisor.interval('dialer:tick', () => { if (!this.tick()) this.rest() }, Math.max(10, this.init.intervalMs / 4))
  }

  private rest (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /**
   * A node was just heard of (its first heartbeat): record its addresses so
   * any request to it can dial at once, and connect now rather than at the
   * next pass.
   */
  learn (node: NodeView): void {
    if (node.id === this.c.nodeId || node.left) return
    // its addresses may come later: the passes look for it until it is connected
    this.wake()
    const addrs = node.meta?.meshAddrs ?? []
    if (addrs.length === 0) return
    if (this.c.mesh.getConnections(nodePeerId(node.id)).length > 0) return
    this.dial(node.id, addrs, this.c.clock.now())
  }

  /**
   * One pass: dial what is missing. Returns whether anything was (a bootstrap peer or a known node
   * not connected, in backoff or not): while nothing is, the passes stop (an idle node is not woken
   * every second to find its mesh complete), and a lost connection or a newly heard node starts them.
   * A node known but down is still missing, so a partition keeps them running until it heals.
   */
  tick (): boolean {
    const now = this.c.clock.now()
    const connected = new Set(connectedPeers(this.c.mesh).map(p => p.toString()))
    let missing = false
    if (this.bootstrapPeers.length > 0 && !this.bootstrapPeers.some(b => connected.has(b.id))) {
      missing = true
      for (const b of this.bootstrapPeers) this.dial(b.id, [b.addr], now)
    }
    // a full mesh (maxPeers) dials nobody until a connection goes
    let budget = this.init.maxPeers - connected.size
    for (const n of this.c.nodes()) {
      if (n.id === this.c.nodeId || connected.has(n.id) || n.left) continue
      if (budget <= 0) break
      missing = true
      const addrs = n.meta?.meshAddrs ?? []
      if (addrs.length === 0) continue
      this.dial(n.id, addrs, now)
      budget--
    }
    return missing
  }

  private dial (id: string, addrs: string[], now: number): void {
    if (this.dialing.has(id) || this.c.linkControl.isBlocked(id)) return
    const b = this.backoff.get(id)
    if (b != null && b.until > now) return
    let mas: Multiaddr[]
    try {
      mas = addrs.map(a => {
        const ma = multiaddr(a)
        return ma.getComponents().some(c => c.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${id}`)
      })
    } catch (err) {
      // presence checks addresses before they get here; a bad one is skipped, never fatal
      this.c.log('not dialing %s: %s', id, (err as Error).message)
      return
    }
    this.dialing.add(id)
    // keep the addresses in the peer store too, so a request to this node (dialProtocol by peer id)
    // finds them even while this dial is still in flight
    this.c.mesh.peerStore.merge(nodePeerId(id), { multiaddrs: mas }).catch(() => {})
    this.c.mesh.dial(mas, { signal: AbortSignal.timeout(5000) })
      .then(() => { this.backoff.delete(id) })
      .catch(err => {
        // back off to at most two dial intervals: a healed partition is noticed within seconds, and a
        // dead node costs one failed dial every couple of seconds until presence forgets it
        const delayMs = Math.min(2 * this.init.intervalMs, (b?.delayMs ?? this.init.intervalMs / 2) * 2)
        this.backoff.set(id, { until: this.c.clock.now() + delayMs, delayMs })
        this.c.log('dial %s failed - %s', id, (err as Error).message)
      })
      .finally(() => { this.dialing.delete(id) })
  }
}
