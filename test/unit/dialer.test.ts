import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { logger } from '@libp2p/logger'
import { MeshDialer } from '../../node/src/mesh/dialer.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { Supervisor } from '../../node/src/supervisor.js'
import type { NodeView } from '../../node/src/state/presence.js'
import type { DialerComponents } from '../../node/src/mesh/dialer.js'
import type { PeerId } from '@libp2p/interface'

/** the parts of a libp2p node the dialer uses: connections it can add and drop, dials it records */
class FakeMesh extends EventTarget {
  readonly connected = new Map<string, PeerId>()
  readonly dialed: string[] = []
  readonly peerStore = { merge: async () => {} }

  getConnections (peer?: PeerId): Array<{ remotePeer: PeerId }> {
    if (peer != null) return this.connected.has(peer.toString()) ? [{ remotePeer: peer }] : []
    return [...this.connected.values()].map(remotePeer => ({ remotePeer }))
  }

  async dial (addrs: Array<{ toString: () => string }>): Promise<void> {
    this.dialed.push(addrs.map(String).join(','))
    throw new Error('nobody there')
  }

  drop (peer: PeerId): void {
    this.connected.delete(peer.toString())
    this.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer }))
  }
}

describe('mesh dialer passes', () => {
  beforeEach(() => { vi.useFakeTimers({ now: 1_000_000 }) })
  afterEach(() => { vi.useRealTimers() })

  async function setup (): Promise<{ mesh: FakeMesh, dialer: MeshDialer, peers: PeerId[], nodes: NodeView[] }> {
    const peers = await Promise.all(Array.from({ length: 3 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    const mesh = new FakeMesh()
    const nodes: NodeView[] = peers.map((p, i) => ({ id: p.toString(), incarnation: 1, seq: 0, up: true, left: false, lastHeard: 0, meta: { load: { clients: 0, rooms: 0, maxClients: 0 }, gatewayAddrs: [], meshAddrs: [`/ip4/127.0.0.1/tcp/${4001 + i}`] } }))
    const c = {
      clock: { now: () => Date.now() },
      mesh,
      linkControl: new LinkControl(),
      log: logger('meshchat:test:dialer'),
      supervisor: new Supervisor({ log: logger('meshchat:test:dialer') }),
      nodes: () => nodes,
      nodeId: 'self'
    } as unknown as DialerComponents
    return { mesh, dialer: new MeshDialer({ intervalMs: 1000, maxPeers: 50, bootstrap: [] }, c), peers, nodes }
  }

  it('stop while every known node is connected; a lost connection starts them, and they dial it until it is back', async () => {
    const { mesh, dialer, peers } = await setup()
    for (const p of peers) mesh.connected.set(p.toString(), p)
    dialer.start()
    expect(dialer.passing).toBe(true)
    await vi.advanceTimersByTimeAsync(1000)
    // the first pass found nothing missing
    expect(dialer.passing).toBe(false)
    expect(mesh.dialed).toEqual([])
    await vi.advanceTimersByTimeAsync(10_000)
    expect(mesh.dialed).toEqual([])

    mesh.drop(peers[1]!)
    expect(dialer.passing).toBe(true)
    // a pass a quarter of the dial interval after the loss dials it
    await vi.advanceTimersByTimeAsync(250)
    expect(mesh.dialed).toEqual([expect.stringContaining('/tcp/4002')])
    // still missing (its dials fail): the passes go on, and backoff spaces the dials out (500 ms, then
    // at most two intervals)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(dialer.passing).toBe(true)
    expect(mesh.dialed.length).toBeGreaterThanOrEqual(5)
    expect(mesh.dialed.length).toBeLessThanOrEqual(8)
    // back: the next pass finds the mesh complete and the passes stop
    mesh.connected.set(peers[1]!.toString(), peers[1]!)
    await vi.advanceTimersByTimeAsync(250)
    expect(dialer.passing).toBe(false)
    dialer.stop()
  })

  it('a node heard of starts the passes even before its addresses are known', async () => {
    const { mesh, dialer, peers, nodes } = await setup()
    for (const p of peers) mesh.connected.set(p.toString(), p)
    dialer.start()
    await vi.advanceTimersByTimeAsync(1000)
    expect(dialer.passing).toBe(false)
    const late = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const view: NodeView = { id: late.toString(), incarnation: 1, seq: 0, up: true, left: false, lastHeard: 0 }
    nodes.push(view)
    dialer.learn(view)
    expect(dialer.passing).toBe(true)
    expect(mesh.dialed).toEqual([])
    // its addresses arrive with a later heartbeat: the next pass dials them
    view.meta = { load: { clients: 0, rooms: 0, maxClients: 0 }, gatewayAddrs: [], meshAddrs: ['/ip4/127.0.0.1/tcp/4999'] }
    await vi.advanceTimersByTimeAsync(250)
    expect(mesh.dialed).toEqual([`/ip4/127.0.0.1/tcp/4999/p2p/${late.toString()}`])
    dialer.stop()
    expect(dialer.passing).toBe(false)
    // stopped: a lost connection starts nothing
    mesh.drop(peers[0]!)
    expect(dialer.passing).toBe(false)
  })

  it('a node that left is not missing', async () => {
    const { mesh, dialer, peers, nodes } = await setup()
    for (const p of peers.slice(0, 2)) mesh.connected.set(p.toString(), p)
    nodes[2]!.left = true
    dialer.start()
    await vi.advanceTimersByTimeAsync(1000)
    expect(dialer.passing).toBe(false)
    expect(mesh.dialed).toEqual([])
    dialer.stop()
  })
})
