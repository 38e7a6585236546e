import { existsSync, statSync } from 'node:fs'
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { prefixLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { multiaddr } from '@multiformats/multiaddr'
import { DataLinks } from './mesh/data-link.js'
import { Registry } from 'prom-client'
import { CLIENT_PROTOCOL, PRESENCE_TOPIC } from '../../client/src/protocol/ids.js'
import { LIMITS, carriesEphemeral } from '../../client/src/protocol/limits.js'
import { nodeEd25519Signer, nodeEd25519Verifier } from '../../client/src/protocol/ed25519-node.js'
import { setEd25519Verifier, setEventIdHash } from '../../client/src/protocol/signing.js'
import { nodeEventIdHash } from '../../client/src/protocol/sha256-node.js'
import { resolveConfig } from './config.js'
import { dataPaths, resolveKeys } from './keys.js'
import { createMeshHost } from './mesh/mesh-host.js'
import { LinkControl } from './mesh/link-control.js'
import { RoomService } from './mesh/rooms.js'
import { PresenceService } from './mesh/presence-service.js'
import { SyncService } from './mesh/sync.js'
import { ArchiveService } from './mesh/archive.js'
import { DmService } from './mesh/dm.js'
import { DirectoryService } from './mesh/directory-service.js'
import { MeshDialer } from './mesh/dialer.js'
import { Libp2pClientEdge, createGatewayHost } from './gateway/gateway-host.js'
import { SessionRegistry } from './gateway/registry.js'
import { Hub } from './gateway/hub.js'
import { SessionDelivery } from './gateway/session-delivery.js'
import { EventOpener } from './mesh/event-opener.js'
import { GroupCommit } from './store/group-commit.js'
import { WsEdge } from './gateway/ws-edge.js'
import { MessageStore, SCHEMA_VERSION } from './store/message-store.js'
import { HybridClock } from './state/hlc.js'
import { NodeMetrics } from './metrics.js'
import { HttpServer } from './http/server.js'
import { Supervisor } from './supervisor.js'
import { systemClock } from './components.js'
import { teeErrors } from './log.js'
import { timeMethods } from './instrument.js'
import type { OpsLog } from './log.js'
import type { Clock, NodeComponents } from './components.js'
import { lockDataDir } from './data-lock.js'
import type { NodeConfig } from './config.js'
import type { PresenceChange } from './state/presence.js'
import type { MeshLibp2p } from './mesh/mesh-host.js'
import type { Libp2p, PrivateKey, ComponentLogger, Startable } from '@libp2p/interface'

export interface NodeOptions extends Partial<NodeConfig> {
  /** identity to use instead of the data directory's key file (tests) */
  privateKey?: PrivateKey
  /** share one link control between runs of a node (tests cut links with it) */
  linkControl?: LinkControl
  /** directory with the built web app; default: the one next to the compiled code */
  webRoot?: string
  /** wall clock for every service; default the system clock */
  clock?: Clock
  /** the operator's log: errors the supervisor catches go there as well (the CLI sets it) */
  opsLog?: OpsLog
  /** the package version, for meshchat_build_info (with process metrics, which come with `http` or `metricsListen`) */
  version?: string
}

/** what a node can take without a restart (a SIGHUP reload): read by the services at each use */
export const LIVE_SETTINGS = ['maxClients', 'maxRoomsPerUser', 'maxReplay', 'resumeSlackMs', 'overloadFactor', 'ratePerSec', 'burst', 'typingPerSec', 'budgets', 'drainMs', 'presenceGraceMs'] as const

export interface Readiness {
  ready: boolean
  /** why not, when not: 'starting', 'stopped', 'draining', 'store closed', 'no mesh peer' */
  reasons: string[]
  peers: number
}

/**
 * Default location of the built web app: dist/client/web/app, found from this
 * file whether it runs compiled (dist/node/src) or from source (node/src).
 */
function defaultWebRoot (): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const beside = join(here, '..', '..', 'client', 'web', 'app')
  return existsSync(beside) ? beside : join(here, '..', '..', 'dist', 'client', 'web', 'app')
}

let memoryIncarnation = 0

/** A larger number on every start of a node, so presence never mixes up two runs. */
async function nextIncarnation (path: string | null): Promise<number> {
  const now = Date.now()
  if (path == null) {
    memoryIncarnation = Math.max(memoryIncarnation + 1, now)
    return memoryIncarnation
  }
  let prev = 0
  if (existsSync(path)) prev = Number((await readFile(path, 'utf8')).trim()) || 0
  const next = Math.max(prev + 1, now)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, String(next))
  return next
}

/**
 * One meshchat node: the mesh host (gossipsub, presence, rooms, DMs, sync),
 * the client gateway, the store and the HTTP side, wired together.
 */
export class MeshchatNode {
  readonly config: NodeConfig
  readonly nodeId: string
  readonly incarnation: number
  /** the node's identity (mesh and gateway share it) */
  readonly privateKey: PrivateKey
  readonly mesh: MeshLibp2p
  readonly gateway: Libp2p
  readonly store: MessageStore
  readonly registry = new SessionRegistry()
  readonly metrics: NodeMetrics
  /** wall-clock time for every service (a test can hand in a ManualClock) */
  readonly clock: Clock
  /** message stamps */
  readonly hlc: HybridClock
  readonly linkControl: LinkControl
  readonly rooms: RoomService
  readonly presence: PresenceService
  readonly sync: SyncService
  /** plain TCP links beside the libp2p connections, for fresh room events and DMs (undefined with dataLinks off) */
  readonly links?: DataLinks
  readonly archive: ArchiveService
  readonly dm: DmService
  /** the user directory: this node's devices registered with their owners, its share of users owned */
  readonly directory: DirectoryService
  readonly hub: Hub
  readonly dialer: MeshDialer
  readonly http?: HttpServer
  /** the plain WebSocket client edge (on the HTTP server, and on `wsListen` if set) */
  readonly wsEdge?: WsEdge
  /** the WebSocket edge's own listener, when `wsListen` is set */
  readonly wsHttp?: HttpServer
  /** the admin listener (/metrics, /healthz, /readyz), when `metricsListen` is set */
  readonly adminHttp?: HttpServer
  /** the libp2p client gateway's session side (the gateway host and the client protocol on it) */
  readonly clientEdge: Libp2pClientEdge
  /** catches and counts what escapes a handler, so one bad message cannot take the node down */
  readonly supervisor: Supervisor
  /** true when this start created the mesh key file (first node of a new mesh) */
  readonly createdMeshKey: boolean
  private readonly logger: ComponentLogger
  private readonly libp2pRegistry?: Registry
  private state: 'new' | 'running' | 'stopped' = 'new'
  /** set by drain(): not ready, new clients sent elsewhere, attached ones are moved away */
  private draining = false
  private gatewayAddrCache?: string[]
  private meshAddrCache?: string[]
  private readonly releaseLock: () => void

  private constructor (args: {
    config: NodeConfig
    incarnation: number
    privateKey: PrivateKey
    metrics: NodeMetrics
    mesh: MeshLibp2p
    gateway: Libp2p
    store: MessageStore
    linkControl: LinkControl
    createdMeshKey: boolean
    libp2pRegistry?: Registry
    webRoot: string
    supervisor: Supervisor
    releaseLock: () => void
    clock: Clock
    tls?: { cert: Uint8Array, key: Uint8Array }
  }) {
    this.config = args.config
    this.incarnation = args.incarnation
    this.privateKey = args.privateKey
    this.metrics = args.metrics
    this.mesh = args.mesh
    this.gateway = args.gateway
    this.store = args.store
    this.linkControl = args.linkControl
    this.createdMeshKey = args.createdMeshKey
    this.libp2pRegistry = args.libp2pRegistry
    this.nodeId = this.mesh.peerId.toString()
    this.clock = args.clock
    this.hlc = new HybridClock({ maxDriftMs: args.config.stamps.maxDriftMs })
    this.logger = prefixLogger(this.nodeId.slice(-6))
    const log = (name: string): ReturnType<ComponentLogger['forComponent']> => this.logger.forComponent(`meshchat:${name}`)
    const cfg = this.config
    const t = cfg.timings
    const pubsub = this.mesh.services.pubsub
    this.supervisor = args.supervisor
    this.releaseLock = args.releaseLock
    const supervisor = this.supervisor
    // live deliveries say from where this node may lack a room's events (the archive is built below)
    const deliver = new SessionDelivery(this.registry, room => this.archive.stable(room))
    const opener = new EventOpener({ maxEventBytes: cfg.maxEventBytes, stamps: cfg.stamps, held: id => this.store.holds(id) }, this.metrics)
    /** the component set every service is built from; each takes the part it declares */
    const base = (name: string): NodeComponents => ({
      nodeId: this.nodeId,
      config: cfg,
      log: log(name),
      metrics: this.metrics,
      clock: this.clock,
      hlc: this.hlc,
      store: this.store,
      mesh: this.mesh,
      pubsub,
      supervisor,
      opener
    })

    this.links = cfg.dataLinks
      ? new DataLinks({ host: linkHost(cfg.listen), port: cfg.dataLinkPort, timeoutMs: t.requestTimeoutMs }, {
        nodeId: this.nodeId,
        mesh: this.mesh,
        log: log('links'),
        onEvent: event => { this.metrics.linkEvents.inc({ event }) }
      })
      : undefined
    this.sync = new SyncService({ timeoutMs: t.requestTimeoutMs, readsPerSec: cfg.syncReadsPerSec, readBurst: cfg.syncReadBurst }, {
      ...base('sync'),
      links: this.links,
      onLinkFrame: kind => { this.metrics.linkFrames.inc({ kind }) },
      onRefused: err => { this.metrics.rejected.inc({ code: err.name }) },
      presence: () => this.presence.fullState(),
      onHandOffRefused: () => { this.metrics.handOffsRefused.inc() }
    })
    this.presence = new PresenceService(t, {
      ...base('presence'),
      incarnation: this.incarnation,
      // one key object for every signature (a heartbeat a second, a delta per batch of changes)
      signer: nodeEd25519Signer(this.privateKey.raw),
      meta: () => ({
        // a draining node takes no client: a capacity of 0 keeps other nodes from sending it any
        load: { clients: this.registry.size, rooms: this.rooms.subscribed().length, maxClients: this.draining ? 0 : cfg.maxClients },
        gatewayAddrs: this.gatewayAddrs(),
        meshAddrs: this.meshAddrs(),
        httpUrl: this.http?.url
      }),
      pullFull: async node => this.sync.pullPresence(node),
      links: this.links
    })
    this.rooms = new RoomService({ maxEventBytes: cfg.maxEventBytes, stamps: cfg.stamps, lateAfterMs: cfg.resumeSlackMs, maxCarried: cfg.maxCarriedRooms }, {
      ...base('rooms'),
      writer: new GroupCommit(this.store),
      deliver,
      onSubscribe: room => { this.archive.onSubscribe(room) },
      replicate: async (room, event, gossip) => this.archive.replicate(room, event, gossip),
      carries: (room, kind) => carriesEphemeral(kind, this.presence.rosterSize(room))
    })
    this.archive = new ArchiveService({
      replicas: cfg.archiveReplicas,
      ackReplicas: cfg.ackReplicas,
      backfillMax: cfg.backfillMax,
      readyTimeoutMs: t.requestTimeoutMs,
      // a node that restarts hears from the other nodes (through a bootstrap, or their redials) within a few heartbeats
      aloneAfterMs: 2 * t.downAfterMs,
      requestTimeoutMs: t.requestTimeoutMs,
      retention: cfg.retention,
      pruneIntervalMs: t.pruneIntervalMs,
      maxEventBytes: cfg.maxEventBytes,
      stamps: cfg.stamps,
      rebalanceDelayMs: t.rebalanceDelayMs,
      subscribeSettleMs: t.subscribeSettleMs,
      catchUpDelayMs: t.catchUpDelayMs,
      catchUpSlackMs: cfg.resumeSlackMs,
      // a gossip copy normally lands within milliseconds; past this the event itself is sent
      confirmWaitMs: Math.min(1000, t.requestTimeoutMs / 2),
      directMax: cfg.roomDirectMax
    }, {
      ...base('archive'),
      rooms: this.rooms,
      presence: this.presence,
      sync: this.sync
    })
    this.dm = new DmService({
      replicas: cfg.mailboxReplicas,
      maxPerUser: cfg.mailboxMaxPerUser,
      maxPerSender: cfg.mailboxMaxPerSender,
      maxAgeMs: cfg.mailboxMaxAgeMs,
      maxEventBytes: cfg.maxEventBytes,
      stamps: cfg.stamps,
      requestTimeoutMs: t.requestTimeoutMs,
      rebalanceDelayMs: t.rebalanceDelayMs,
      entitlementWaitMs: t.entitlementWaitMs,
      pruneIntervalMs: t.pruneIntervalMs
    }, {
      ...base('dm'),
      presence: this.presence,
      deliver,
      sync: this.sync
    })
    this.directory = new DirectoryService({
      requestTimeoutMs: t.requestTimeoutMs,
      rebalanceDelayMs: t.rebalanceDelayMs,
      registerBytesPerSec: cfg.directoryBytesPerSec,
      registerBurstBytes: cfg.directoryBurstBytes
    }, {
      ...base('directory'),
      incarnation: this.incarnation,
      presence: this.presence
    })
    // DMs, mailbox pushes and watch lists find users through the directory
    this.presence.useLocator(this.directory)
    // the user's directory owners are its mailbox owners: a device registered with one gets the mail it holds
    this.directory.addEventListener('hosted', evt => { this.dm.hosted(evt.detail.node, evt.detail.users) })
    this.hub = new Hub({
      ...base('hub'),
      registry: this.registry,
      rooms: this.rooms,
      presence: this.presence,
      dm: this.dm,
      history: this.archive,
      gatewayAddrs: () => this.gatewayAddrs(),
      httpUrl: () => this.http?.url,
      draining: () => this.draining
    })
    this.dialer = new MeshDialer({ intervalMs: t.dialIntervalMs, maxPeers: cfg.maxMeshPeers, bootstrap: cfg.bootstrap }, {
      ...base('dialer'),
      linkControl: this.linkControl,
      nodes: () => this.presence.replica.nodes()
    })
    // dial a node the moment its first heartbeat arrives, not at the dialer's next pass
    this.gateway.addEventListener('self:peer:update', () => { this.gatewayAddrCache = undefined })
    this.mesh.addEventListener('self:peer:update', () => { this.meshAddrCache = undefined })
    this.presence.addEventListener('change', supervisor.wrap('dialer:learn', (evt: CustomEvent<PresenceChange>) => {
      for (const d of evt.detail.nodes) {
        if (!d.up) continue
        const view = this.presence.replica.nodes().find(n => n.id === d.node)
        if (view != null) this.dialer.learn(view)
      }
    }))
    this.metrics.bind({
      clients: () => this.registry.size,
      users: () => this.registry.userCount,
      rooms: () => this.rooms.subscribed().length,
      presenceEntries: () => this.presence.roomPresence.stats().devices,
      presenceNodes: () => this.presence.replica.stats().upNodes,
      meshPeers: () => this.mesh.getPeers().length,
      mailbox: () => this.store.isOpen ? this.store.mailboxTotal() : 0,
      wsConnections: () => this.wsEdge?.connections ?? 0,
      storeBytes: () => {
        if (cfg.dataDir == null) return 0
        const db = dataPaths(cfg.dataDir).db
        let bytes = 0
        for (const f of [db, `${db}-wal`]) {
          try {
            bytes += statSync(f).size
          } catch {}
        }
        return bytes
      },
      ready: () => this.readiness().ready ? 1 : 0
    })
    // the store and the send path timed from outside: the services stay free of metrics plumbing
    timeMethods(this.store, {
      insertMany: 'insert',
      page: 'page',
      since: 'since',
      get: 'get',
      prune: 'prune',
      dmPutMany: 'dm_put',
      mailboxPut: 'mailbox_put',
      mailboxList: 'mailbox_list',
      mailboxDelete: 'mailbox_delete'
    }, (op, seconds, err) => {
      this.metrics.storeSeconds.observe({ op }, seconds)
      if (err != null) this.metrics.storeErrors.inc({ op })
    })
    timeMethods(this.hub, { publish: 'publish' }, (_op, seconds, err) => {
      this.metrics.sendAck.observe({ outcome: err == null ? 'ok' : (err as Error).name }, seconds)
    })
    this.clientEdge = new Libp2pClientEdge(this.gateway, this.hub, this.registry, {
      maxFrameBytes: cfg.maxEventBytes + LIMITS.frameOverheadBytes,
      log: this.logger.forComponent('meshchat:session'),
      incarnation: this.incarnation,
      budgets: cfg.budgets,
      helloTimeoutMs: cfg.helloTimeoutMs,
      frameTimeoutMs: cfg.frameTimeoutMs,
      supervisor,
      clock: this.clock
    })
    if (cfg.http != null || cfg.wsListen != null) {
      this.wsEdge = new WsEdge({
        path: cfg.wsPath,
        maxFrameBytes: cfg.maxEventBytes + LIMITS.frameOverheadBytes,
        maxClients: cfg.maxClients,
        maxClientsPerIp: cfg.maxClientsPerIp,
        maxBufferedBytes: cfg.wsMaxBufferedBytes,
        pingIntervalMs: cfg.wsPingIntervalMs,
        clientPingsPerSec: cfg.wsClientPingsPerSec,
        helloTimeoutMs: cfg.helloTimeoutMs,
        budgets: cfg.budgets,
        incarnation: this.incarnation
      }, {
        ...base('ws'),
        host: this.hub,
        registry: this.registry,
        verify: (publicKey, data, signature) => nodeEd25519Verifier(publicKey)(data, signature),
        originAllowed: (origin, host) => this.originAllowed(origin, host)
      })
    }
    const httpServer = (listen: string): HttpServer => new HttpServer({
      listen,
      tls: args.tls,
      webRoot: args.webRoot,
      health: () => this.health(),
      readiness: () => this.readiness(),
      // with an admin listener, /metrics is served there alone
      metrics: cfg.metricsListen != null ? undefined : async () => this.renderMetrics(),
      config: () => ({ nodeId: this.nodeId, gateway: this.wsUrls() }),
      sourceMaps: cfg.serveSourceMaps,
      onError: err => { supervisor.report('http', err) },
      // a draining node's session layer sends new clients elsewhere, on this edge as on the libp2p gateway
      upgrade: (req, socket, head) => this.wsEdge?.handleUpgrade(req, socket, head) ?? false
    })
    if (cfg.http != null) this.http = httpServer(cfg.http)
    if (cfg.wsListen != null) this.wsHttp = httpServer(cfg.wsListen)
    if (cfg.metricsListen != null) {
      this.adminHttp = new HttpServer({
        listen: cfg.metricsListen,
        health: () => this.health(),
        readiness: () => this.readiness(),
        metrics: async () => this.renderMetrics(),
        onError: err => { supervisor.report('http', err) }
      })
    }
  }

  /**
   * May a page from `origin` attach over WebSockets? Yes for the node's own
   * pages (whatever name the browser reached it by), its announced URLs, the
   * other nodes' announced URLs, live or recently gone (a page served by one
   * node moves to another when it goes),
   * and the configured extra origins. A page from anywhere else would be acting
   * with the visitor's key on a site the visitor did not choose.
   */
  private originAllowed (origin: string, host: string | undefined): boolean {
    let o: URL
    try {
      o = new URL(origin)
    } catch {
      return false
    }
    if (host != null && o.host === host) return true
    const allowed = new Set<string>()
    const add = (u: string | undefined): void => {
      if (u == null || u === '') return
      try {
        allowed.add(new URL(u).origin)
      } catch {}
    }
    for (const u of [...this.config.allowedOrigins, ...this.publicUrls()]) add(u)
    // every node presence knows, down ones too: a page whose node has gone must be able to move on
    for (const n of this.presence.replica.nodes()) add(n.meta?.httpUrl)
    return allowed.has(o.origin)
  }

  /** the base URLs of this node's HTTP side, as announced */
  publicUrls (): string[] {
    if (this.config.publicUrls.length > 0) return this.config.publicUrls
    return [this.http?.url].filter((u): u is string => u != null && u !== '')
  }

  /** the plain WebSocket edge's URLs, as clients dial them */
  wsUrls (): string[] {
    if (this.wsEdge == null) return []
    const path = this.config.wsPath
    const urls = this.publicUrls().map(u => {
      const x = new URL(u)
      x.protocol = x.protocol === 'https:' ? 'wss:' : 'ws:'
      x.pathname = path
      return x.toString()
    })
    if (this.wsHttp != null) urls.push(this.wsHttp.url.replace(/^http/, 'ws') + path)
    return urls
  }

  /** create a node (not started); reads or creates keys in the data directory */
  static async create (opts: NodeOptions = {}): Promise<MeshchatNode> {
    const { privateKey: _k, linkControl: _l, webRoot: _w, clock: _c, opsLog: _o, version: _v, ...partial } = opts
    const config = resolveConfig(partial)
    setEd25519Verifier(nodeEd25519Verifier)
    setEventIdHash(nodeEventIdHash)
    const paths = config.dataDir == null ? undefined : dataPaths(config.dataDir)
    const releaseLock = config.dataDir == null ? () => {} : lockDataDir(config.dataDir)
    try {
      return await MeshchatNode.build(config, opts, paths, releaseLock)
    } catch (err) {
      releaseLock()
      throw err
    }
  }

  private static async build (config: NodeConfig, opts: NodeOptions, paths: ReturnType<typeof dataPaths> | undefined, releaseLock: () => void): Promise<MeshchatNode> {
    const { privateKey: givenKey, linkControl: givenLink, webRoot } = opts
    const { privateKey, psk, createdMeshKey } = await resolveKeys({ dataDir: config.dataDir, meshKey: config.meshKey, privateKey: givenKey })
    const incarnation = await nextIncarnation(paths?.incarnation ?? null)
    const linkControl = givenLink ?? new LinkControl()
    const wantMetrics = config.http != null || config.metricsListen != null
    // libp2p's own metrics (config.libp2pMetrics): they instrument every connection and stream of the mesh host
    const libp2pRegistry = wantMetrics && config.libp2pMetrics ? new Registry() : undefined
    const metrics = new NodeMetrics()
    if (wantMetrics) metrics.enableProcessMetrics(opts.version ?? 'unknown')
    const supervisorLog = prefixLogger(peerIdFromPrivateKey(privateKey).toString().slice(-6)).forComponent('meshchat:supervisor')
    const supervisor = new Supervisor({
      log: opts.opsLog == null ? supervisorLog : teeErrors(supervisorLog, opts.opsLog, 'supervisor'),
      count: where => { metrics.internalErrors.inc({ where }) }
    })
    const mesh = await createMeshHost({
      onGossip: topic => { metrics.gossipCopies.inc({ kind: topic === PRESENCE_TOPIC ? 'presence' : 'room' }) },
      privateKey,
      psk,
      listen: config.listen,
      announce: config.announce,
      bootstrap: config.bootstrap,
      trustedIps: config.trustedIps,
      linkControl,
      // not preserveExistingMetrics: the package keeps one metric per name per process, and a node
      // made after another in the same process (the demo, tests) would count into the first one's
      metrics: libp2pRegistry == null
        ? undefined
        : prometheusMetrics({ registry: libp2pRegistry, collectDefaultMetrics: false, preserveExistingMetrics: false })
    })
    const gateway = await createGatewayHost({
      privateKey,
      listen: config.gateway,
      announce: config.gatewayAnnounce,
      maxClients: config.maxClients,
      maxClientsPerIp: config.maxClientsPerIp,
      idleTimeoutMs: config.helloTimeoutMs,
      maxFrameBytes: config.maxEventBytes + LIMITS.frameOverheadBytes,
      supervisor,
      onRefused: reason => { metrics.connectionsRefused.inc({ reason }) }
    })
    const tls = config.tls == null ? undefined : { cert: await readFile(config.tls.certFile), key: await readFile(config.tls.keyFile) }
    const store = new MessageStore(paths?.db ?? ':memory:')
    // an upgrade's migration can copy a large history (schema 5: about 32 s per million room events)
    if (store.migrated.from > 0 && store.migrated.from < SCHEMA_VERSION) opts.opsLog?.info({ from: store.migrated.from, to: SCHEMA_VERSION, ms: store.migrated.ms }, 'store migrated')
    return new MeshchatNode({ config, incarnation, privateKey, metrics, mesh, gateway, store, linkControl, createdMeshKey, libp2pRegistry, webRoot: webRoot ?? defaultWebRoot(), supervisor, releaseLock, clock: opts.clock ?? systemClock, tls })
  }

  /**
   * The node's services in start order: each may use the ones before it. The
   * mesh host comes first and is stopped last; the client edge comes last, so
   * clients can attach only once everything behind it runs, and it is the
   * first thing a stop shuts.
   */
  private lifecycle (): Array<[string, Startable]> {
    return [
      ...(this.links == null ? [] : [['data links', this.links] as [string, Startable]]),
      ['sync', this.sync],
      ['rooms', this.rooms],
      ['dm', this.dm],
      ...(this.http == null ? [] : [['http', this.http] as [string, Startable]]),
      ...(this.adminHttp == null ? [] : [['admin http', this.adminHttp] as [string, Startable]]),
      ['hub', this.hub],
      ['presence', this.presence],
      ['directory', this.directory],
      ['archive', this.archive],
      ['dialer', this.dialer],
      // the WebSocket edge's own listener before the edge: a stop closes the edge's sockets first, then the listener
      ...(this.wsHttp == null ? [] : [['websocket listener', this.wsHttp] as [string, Startable]]),
      ['client edge', this.clientEdge],
      ...(this.wsEdge == null ? [] : [['websocket edge', this.wsEdge] as [string, Startable]])
    ]
  }

  async start (): Promise<void> {
    if (this.state !== 'new') return
    this.state = 'running'
    // both hosts listen before any service runs: their addresses go into the first heartbeat
    await this.mesh.start()
    this.meshAddrCache = undefined
    await this.gateway.start()
    for (const [, service] of this.lifecycle()) {
      await service.start()
      // a listener that just started adds its URL
      this.gatewayAddrCache = undefined
    }
  }

  /**
   * Stop the node: the services in reverse start order, then the two hosts.
   * Graceful (default): the presence service says goodbye, so every node drops
   * this node's users at once. `graceful: false` is a crash as far as the mesh
   * can tell: no goodbye. Every step that waits on the network has a deadline,
   * so peers that are gone, or that stopped reading, cannot hold the stop up.
   */
  async stop (opts: { graceful?: boolean } = {}): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped'
      this.store.close()
      this.releaseLock()
      return
    }
    this.state = 'stopped'
    const graceful = opts.graceful ?? true
    const log = this.logger.forComponent('meshchat:node')
    const step = async (what: string, run: () => void | Promise<unknown>): Promise<void> => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const late = new Promise<'late'>(resolve => { timer = setTimeout(() => { resolve('late') }, this.config.stopStepTimeoutMs) })
      const done = Promise.resolve().then(run).catch(err => { log('stopping %s failed - %e', what, err) })
      const r = await Promise.race([done, late])
      clearTimeout(timer)
      if (r === 'late') log('stopping %s took longer than %d ms; going on', what, this.config.stopStepTimeoutMs)
    }
    try {
      for (const [name, service] of this.lifecycle().reverse()) {
        await step(name, async () => {
          if (service === this.presence) await this.presence.stop({ goodbye: graceful })
          else await service.stop()
        })
      }
      await step('the gateway host', async () => this.gateway.stop())
      await step('the mesh host', async () => this.mesh.stop())
      // whatever did not close in time is cut now
      for (const c of [...this.mesh.getConnections(), ...this.gateway.getConnections()]) c.abort(new Error('node stopped'))
    } finally {
      this.store.close()
      this.releaseLock()
    }
  }

  /**
   * Die the way a crashed process does: every connection is torn down at once,
   * nothing is announced, nothing is flushed. (The OS does the same for a
   * killed process: peers see the connections drop, nothing else.)
   */
  async crash (): Promise<void> {
    for (const c of [...this.mesh.getConnections(), ...this.gateway.getConnections()]) c.abort(new Error('crash'))
    await this.stop({ graceful: false })
  }

  /**
   * Hang: the process stays connected but stops taking part (no heartbeats,
   * no deltas), like a node stuck in a long GC pause or a deadlock. Only
   * heartbeat silence can reveal it.
   */
  async hang (): Promise<void> {
    this.dialer.stop()
    await this.presence.stop({ goodbye: false })
  }

  get running (): boolean {
    return this.state === 'running'
  }

  /** every address a client can attach at: the WebSocket edge's URLs first, then the libp2p gateway's multiaddrs (with /p2p/) */
  gatewayAddrs (): string[] {
    // every placement decision reads these; they change only when a listener or an announced address does
    this.gatewayAddrCache ??= [...this.wsUrls(), ...this.gateway.getMultiaddrs().map(a => a.toString())]
    return this.gatewayAddrCache
  }

  /** mesh multiaddrs other nodes can dial (with /p2p/) */
  meshAddrs (): string[] {
    // read every heartbeat (its version) and by every full-state pull; they change only with a listener
    this.meshAddrCache ??= this.mesh.getMultiaddrs().map(a => a.toString())
    return this.meshAddrCache
  }

  /**
   * Should this node get clients? Not while starting, stopping or draining,
   * not with its store closed, and not while it has no mesh peer although it
   * was given bootstrap addresses (a node cut off from its mesh, or holding
   * the wrong mesh key, would serve an island).
   */
  readiness (): Readiness {
    const reasons: string[] = []
    const peers = this.mesh.getPeers().length
    if (this.state !== 'running') reasons.push(this.state === 'new' ? 'starting' : 'stopped')
    if (this.draining) reasons.push('draining')
    if (!this.store.isOpen) reasons.push('store closed')
    if (this.config.bootstrap.length > 0 && peers === 0) reasons.push('no mesh peer')
    return { ready: reasons.length === 0, reasons, peers }
  }

  /**
   * Lame duck: stop being ready, send every new client to another node (a
   * redirect on either edge; capacity 0 in the heartbeat, so no node sends
   * clients here), and close the attached sessions in waves spread over
   * `drainMs`, so their clients
   * reconnect to other nodes (resuming from their cursors, resending what was
   * not acknowledged) without all landing at once. Resolves when no session
   * is left or the time is up; the caller then stops the node.
   */
  async drain (): Promise<void> {
    if (this.state !== 'running' || this.draining) return
    this.draining = true
    const log = this.logger.forComponent('meshchat:node')
    const sessions = [...this.registry.all()]
    log('draining: moving %d sessions over %d ms', sessions.length, this.config.drainMs)
    const waves = Math.max(1, Math.min(10, sessions.length))
    const per = Math.ceil(sessions.length / waves)
    const gapMs = this.config.drainMs / waves
    for (let i = 0; i < waves && this.state === 'running'; i++) {
      for (const s of sessions.slice(i * per, (i + 1) * per)) s.close()
      if (i < waves - 1) await new Promise(resolve => setTimeout(resolve, gapMs))
    }
    // sessions whose hello was under way when the drain began, or not yet closed, get a last moment
    const deadline = Date.now() + Math.max(1000, gapMs)
    while (this.registry.size > 0 && Date.now() < deadline && this.state === 'running') {
      for (const s of [...this.registry.all()]) s.close()
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    // no client sends here any more; two heartbeats let the last messages' gossip (and gossipsub's
    // repair of a copy a peer missed, which this node answers) reach every node before it goes
    if (this.state === 'running') await new Promise(resolve => setTimeout(resolve, 2 * this.config.timings.heartbeatMs))
  }

  get isDraining (): boolean {
    return this.draining
  }

  /**
   * Take new settings without a restart (a SIGHUP): the LIVE_SETTINGS are
   * applied (budgets reach every user at once and sessions for the kinds they
   * have not used yet); any other setting that differs is returned as needing
   * a restart and left as it is.
   */
  reload (next: NodeConfig): { applied: string[], restartNeeded: string[] } {
    const applied: string[] = []
    const restartNeeded: string[] = []
    const cfg = this.config as unknown as Record<string, unknown>
    const nxt = next as unknown as Record<string, unknown>
    for (const key of Object.keys(next)) {
      if (JSON.stringify(cfg[key]) === JSON.stringify(nxt[key])) continue
      if ((LIVE_SETTINGS as readonly string[]).includes(key)) {
        // the services hold this very object: change it in place (budgets kind by kind, a fresh object each)
        if (key === 'budgets') Object.assign(this.config.budgets, next.budgets)
        else cfg[key] = nxt[key]
        applied.push(key)
      } else {
        restartNeeded.push(key)
      }
    }
    if (applied.includes('budgets')) this.hub.setBudgets(this.config.budgets)
    return { applied, restartNeeded }
  }

  health (): Record<string, unknown> {
    const stats = this.presence.replica.stats()
    const readiness = this.readiness()
    return {
      nodeId: this.nodeId,
      incarnation: this.incarnation,
      live: this.state === 'running',
      ready: readiness.ready,
      notReady: readiness.reasons,
      peers: this.mesh.getPeers().length,
      meshNodes: stats.upNodes,
      clients: this.registry.size,
      users: this.registry.userCount,
      rooms: this.rooms.subscribed().length,
      // global presence holds nodes and the rooms they host; who is in a room only where it is carried
      presence: { ...this.presence.roomPresence.stats(), hosted: stats.hosted, nodesNeedingSync: stats.needsSync },
      // what this node holds as a directory owner: records of devices on every node, users, watches
      directory: this.directory.table.stats(),
      gateway: this.gatewayAddrs(),
      mesh: this.meshAddrs()
    }
  }

  async renderMetrics (): Promise<string> {
    const own = await this.metrics.registry.metrics()
    const libp2p = this.libp2pRegistry == null ? '' : await this.libp2pRegistry.metrics()
    return own + '\n' + libp2p
  }
}

/** the host data links are taken on: that of the first IP mesh listen address (0.0.0.0 when there is none) */
export function linkHost (listen: readonly string[]): string {
  for (const a of listen) {
    try {
      const c = multiaddr(a).getComponents().find(x => x.name === 'ip4' || x.name === 'ip6')
      if (c?.value != null) return c.value
    } catch {}
  }
  return '0.0.0.0'
}
