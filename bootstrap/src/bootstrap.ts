import { prefixLogger } from '@libp2p/logger'
import { PRESENCE_TOPIC } from '../../client/src/protocol/ids.js'
import { createMeshHost } from '../../node/src/mesh/mesh-host.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { presenceValidator } from '../../node/src/mesh/presence-wire.js'
import { resolveKeys } from '../../node/src/keys.js'
import { lockDataDir } from '../../node/src/data-lock.js'
import type { MeshLibp2p } from '../../node/src/mesh/mesh-host.js'
import type { PrivateKey } from '@libp2p/interface'

export interface BootstrapOptions {
  /** where the key files live; null = in memory (tests) */
  dataDir?: string | null
  listen?: string[]
  announce?: string[]
  /** path or contents of the mesh swarm key; default `<dataDir>/swarm.key`, created if missing */
  meshKey?: string | Uint8Array | null
  /** other bootstrap daemons, so several of them form one mesh */
  bootstrap?: string[]
  trustedIps?: string[]
  privateKey?: PrivateKey
  linkControl?: LinkControl
}

/**
 * A stable, well-known mesh peer with no users: nodes dial it first, and it
 * relays presence (whose heartbeats carry every node's addresses, which is how
 * nodes find each other), with gossipsub peer exchange on. It carries no room.
 */
export class BootstrapDaemon {
  readonly mesh: MeshLibp2p
  readonly linkControl: LinkControl
  /** true when this start created the mesh key file */
  readonly createdMeshKey: boolean
  private started = false
  private readonly releaseLock: () => void

  private constructor (mesh: MeshLibp2p, linkControl: LinkControl, createdMeshKey: boolean, releaseLock: () => void) {
    this.mesh = mesh
    this.linkControl = linkControl
    this.createdMeshKey = createdMeshKey
    this.releaseLock = releaseLock
  }

  static async create (opts: BootstrapOptions = {}): Promise<BootstrapDaemon> {
    const releaseLock = opts.dataDir == null ? () => {} : lockDataDir(opts.dataDir)
    try {
      return await BootstrapDaemon.build(opts, releaseLock)
    } catch (err) {
      releaseLock()
      throw err
    }
  }

  private static async build (opts: BootstrapOptions, releaseLock: () => void): Promise<BootstrapDaemon> {
    const { privateKey, psk, createdMeshKey: created } = await resolveKeys(opts)
    const linkControl = opts.linkControl ?? new LinkControl()
    const mesh = await createMeshHost({
      privateKey,
      psk,
      listen: opts.listen ?? ['/ip4/127.0.0.1/tcp/0'],
      announce: opts.announce,
      bootstrap: opts.bootstrap,
      trustedIps: opts.trustedIps ?? ['127.0.0.1', '::1'],
      linkControl,
      doPX: true
    })
    return new BootstrapDaemon(mesh, linkControl, created, releaseLock)
  }

  get peerId (): string {
    return this.mesh.peerId.toString()
  }

  /** multiaddrs nodes pass as --bootstrap */
  addrs (): string[] {
    return this.mesh.getMultiaddrs().map(a => a.toString())
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await this.mesh.start()
    const pubsub = this.mesh.services.pubsub
    // relay presence, but only what a node signed about itself
    pubsub.topicValidators.set(PRESENCE_TOPIC, presenceValidator())
    pubsub.subscribe(PRESENCE_TOPIC)
    prefixLogger(this.peerId.slice(-6)).forComponent('meshchat:bootstrap')('bootstrap %s listening on %s', this.peerId, this.addrs().join(', '))
  }

  async stop (): Promise<void> {
    if (!this.started) {
      this.releaseLock()
      return
    }
    this.started = false
    try {
      await this.mesh.stop()
    } finally {
      this.releaseLock()
    }
  }
}
