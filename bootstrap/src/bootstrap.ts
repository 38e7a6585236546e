import { prefixLogger } from '@libp2p/logger'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { PRESENCE_TOPIC } from '../../client/src/protocol/ids.js'
import { createMeshHost } from '../../node/src/mesh/mesh-host.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { presenceValidator } from '../../node/src/mesh/presence-wire.js'
import { resolveKeys } from '../../node/src/keys.js'
import { lockDataDir } from '../../node/src/data-lock.js'
import { HttpServer } from '../../node/src/http/server.js'
import { dialProblem } from '../../node/src/log.js'
import type { OpsLog } from '../../node/src/log.js'
import type { MeshLibp2p } from '../../node/src/mesh/mesh-host.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

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
  /** `host:port` for /healthz, /readyz and /metrics (libp2p's, the process's, meshchat_build_info); null/absent = none */
  http?: string | null
  /** the package version, for meshchat_build_info */
  version?: string
  /**
   * the operator's log (pino): peers up and down, failed dials to the other
   * bootstrap daemons while none is connected, HTTP errors; absent = none
   */
  log?: OpsLog
}

/** how often a bootstrap daemon with no peer at all dials its `bootstrap` addresses to say why they do not answer */
const PROBE_INTERVAL_MS = 10_000
/** the same dial failure is logged at most once per this */
const PROBE_REPEAT_MS = 60_000

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
  /** /healthz, /readyz and /metrics, when `http` is set */
  readonly http?: HttpServer
  private started = false
  private readonly releaseLock: () => void
  private readonly log?: OpsLog
  private readonly others: string[]
  private probeTimer?: ReturnType<typeof setInterval>
  private readonly lastSaid = new Map<string, number>()
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    this.log?.info({ peer: evt.detail.toString(), peers: this.mesh.getPeers().length }, 'mesh peer up')
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.log?.info({ peer: evt.detail.toString(), peers: this.mesh.getPeers().length }, 'mesh peer down')
  }

  private constructor (mesh: MeshLibp2p, linkControl: LinkControl, createdMeshKey: boolean, releaseLock: () => void, opts: BootstrapOptions, registry?: Registry) {
    this.mesh = mesh
    this.linkControl = linkControl
    this.createdMeshKey = createdMeshKey
    this.releaseLock = releaseLock
    this.log = opts.log
    this.others = opts.bootstrap ?? []
    const httpListen = opts.http ?? undefined
    if (registry != null && httpListen != null) {
      // the gauge reads the host when scraped
      const host = this.mesh
      new Gauge({ name: 'meshchat_mesh_peers', help: 'connected mesh peers', registers: [registry], collect () { this.set(host.getPeers().length) } })
      this.http = new HttpServer({
        listen: httpListen,
        health: () => ({ peerId: this.peerId, live: this.started, peers: this.mesh.getPeers().length, addrs: this.addrs() }),
        // a bootstrap is useful as soon as it listens: it is how the first node finds the others
        readiness: () => ({ ready: this.started, peers: this.mesh.getPeers().length }),
        metrics: async () => registry.metrics(),
        onError: err => { this.log?.error({ component: 'http', error: `${err.name}: ${err.message}` }, 'internal error') }
      })
    }
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
    const registry = opts.http == null ? undefined : new Registry()
    if (registry != null) {
      collectDefaultMetrics({ register: registry })
      new Gauge({ name: 'meshchat_build_info', help: 'always 1; the labels say which meshchat and which Node.js this runs', labelNames: ['version', 'node'], registers: [registry] })
        .set({ version: opts.version ?? 'unknown', node: process.version }, 1)
    }
    const mesh = await createMeshHost({
      metrics: registry == null ? undefined : prometheusMetrics({ registry, collectDefaultMetrics: false, preserveExistingMetrics: false }),
      privateKey,
      psk,
      listen: opts.listen ?? ['/ip4/127.0.0.1/tcp/0'],
      announce: opts.announce,
      bootstrap: opts.bootstrap,
      trustedIps: opts.trustedIps ?? ['127.0.0.1', '::1'],
      linkControl,
      doPX: true
    })
    return new BootstrapDaemon(mesh, linkControl, created, releaseLock, opts, registry)
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
    this.mesh.addEventListener('peer:connect', this.onConnect)
    this.mesh.addEventListener('peer:disconnect', this.onDisconnect)
    await this.mesh.start()
    const pubsub = this.mesh.services.pubsub
    // relay presence, but only what a node signed about itself
    pubsub.topicValidators.set(PRESENCE_TOPIC, presenceValidator())
    pubsub.subscribe(PRESENCE_TOPIC)
    await this.http?.start()
    prefixLogger(this.peerId.slice(-6)).forComponent('meshchat:bootstrap')('bootstrap %s listening on %s', this.peerId, this.addrs().join(', '))
    if (this.log != null && this.others.length > 0) {
      // a first look soon after the start, then at the interval
      setTimeout(() => { this.probe() }, 3000).unref()
      this.probeTimer = setInterval(() => { this.probe() }, PROBE_INTERVAL_MS)
      this.probeTimer.unref()
    }
  }

  /** with no peer at all, dial the other bootstrap daemons and log why they do not answer */
  private probe (): void {
    if (!this.started || this.mesh.getPeers().length > 0) return
    for (const addr of this.others.slice(0, 8)) {
      void dialProblem(this.mesh, addr).then(problem => {
        if (problem == null || !this.started) return
        const key = `${addr} ${problem.name}`
        const now = Date.now()
        if (now - (this.lastSaid.get(key) ?? -Infinity) < PROBE_REPEAT_MS) return
        this.lastSaid.set(key, now)
        if (this.lastSaid.size > 100) this.lastSaid.delete(this.lastSaid.keys().next().value ?? '')
        const { name: _n, ...fields } = problem
        this.log?.warn({ addr, ...fields }, 'cannot reach bootstrap peer')
      })
    }
  }

  async stop (): Promise<void> {
    if (!this.started) {
      this.releaseLock()
      return
    }
    this.started = false
    clearInterval(this.probeTimer)
    // the peers this stop disconnects are not news
    this.mesh.removeEventListener('peer:connect', this.onConnect)
    this.mesh.removeEventListener('peer:disconnect', this.onDisconnect)
    try {
      await this.http?.stop()
      await this.mesh.stop()
    } finally {
      this.releaseLock()
    }
  }
}
