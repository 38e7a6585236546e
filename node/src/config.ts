import { LIMITS } from '../../client/src/protocol/limits.js'
import { DEFAULT_STAMP_RULE } from './state/stamps.js'
import type { StampRule } from './state/stamps.js'
import { DEFAULT_BUDGETS, checkBudgets } from './state/budgets.js'
import type { Budgets } from './state/budgets.js'

/**
 * Rooms one node may carry, mesh-wide: every node accepts this many room subscriptions from each peer
 * (gossipsub's own bound, about 1,000 topics a peer, silently ignored the rest, so a node carrying
 * more rooms was passed over for their messages). A node's `maxCarriedRooms` may be lower, not higher.
 */
export const MAX_CARRIED_ROOMS = 100_000

/**
 * Members one room may have on one node, mesh-wide: a node's stream of its devices in a room is
 * refused whole by the other nodes past this many (`PRESENCE_LIMITS.maxRoomDevices`), and they would
 * show none of them. A node's `maxRoomMembers` may be lower, not higher.
 */
export const MAX_ROOM_MEMBERS = 10_000

/**
 * Timing profiles (memberlist style): one object instead of a flag per interval.
 * Every interval derives from the heartbeat so the ratios that make failure
 * detection sound stay fixed.
 */
export interface Timings {
  /** presence heartbeat period H (DESIGN: 1 s) */
  heartbeatMs: number
  /** a node silent this long is down (DESIGN: 3H) */
  downAfterMs: number
  /**
   * when every connection to a node drops it is suspect and goes down after this
   * long without a heartbeat, instead of the full downAfterMs; a crash shows
   * up as a dropped connection long before three missed heartbeats
   */
  suspectGraceMs: number
  /** presence changes within this window go out as one delta */
  presenceBatchMs: number
  /** how often the node redials known nodes it has no connection to */
  dialIntervalMs: number
  /** deadline for one node-to-node request (sync pulls, DM delivery) */
  requestTimeoutMs: number
  /** how long a down node's tombstone (and its addresses, for redials) is kept */
  forgetAfterMs: number
  /** archive and mailbox ownership is recomputed this long after the last membership change (H/2: a burst of changes costs one pass) */
  rebalanceDelayMs: number
  /** a node that starts carrying a room waits this long for the subscription to reach its peers before backfilling */
  subscribeSettleMs: number
  /** the second, catch-up backfill of a newly carried room (2H: a couple of gossipsub heartbeats) */
  catchUpDelayMs: number
  /** a mailbox read from a node presence does not show hosting the user waits this long for presence (2H) */
  entitlementWaitMs: number
  /** how often history retention and mailbox ageing run */
  pruneIntervalMs: number
  /**
   * a join's first roster waits at most this long for the room's other hosts to answer the first
   * pull, so it holds the members already there; a slower answer reaches the client as updates
   */
  firstRosterWaitMs: number
}

export const DEFAULT_TIMINGS: Timings = {
  heartbeatMs: 1000,
  downAfterMs: 3000,
  suspectGraceMs: 1500,
  presenceBatchMs: 20,
  dialIntervalMs: 1000,
  requestTimeoutMs: 5000,
  forgetAfterMs: 10 * 60_000,
  rebalanceDelayMs: 500,
  subscribeSettleMs: 100,
  catchUpDelayMs: 2000,
  entitlementWaitMs: 2000,
  pruneIntervalMs: 60_000,
  firstRosterWaitMs: 1000
}

/** Faster failure detection for simulations with many nodes in one process. */
export const TEST_TIMINGS: Timings = {
  heartbeatMs: 500,
  downAfterMs: 1500,
  suspectGraceMs: 750,
  presenceBatchMs: 10,
  dialIntervalMs: 250,
  requestTimeoutMs: 3000,
  forgetAfterMs: 60_000,
  rebalanceDelayMs: 250,
  subscribeSettleMs: 100,
  catchUpDelayMs: 1000,
  entitlementWaitMs: 1000,
  pruneIntervalMs: 60_000,
  firstRosterWaitMs: 1000
}

export interface RetentionConfig {
  /** messages older than this are pruned (0 = keep forever) */
  maxAgeMs: number
  /** at most this many messages per room are kept (0 = no limit) */
  maxPerRoom: number
}

export interface NodeConfig {
  /** where the node key, mesh key and SQLite store live; null keeps everything in memory (tests) */
  dataDir: string | null
  /** mesh host listen multiaddrs (TCP; add `/ws` ones for HTTP-only ingress) */
  listen: string[]
  /** addresses to announce to other nodes instead of the listen ones (NAT, containers) */
  announce: string[]
  /** client gateway listen multiaddrs: WebSockets for browsers, TCP for Node clients */
  gateway: string[]
  /** gateway addresses to announce to clients instead of the listen ones */
  gatewayAnnounce: string[]
  /** HTTP listen address `host:port` for the web app, /healthz, /readyz, /metrics and the WebSocket edge; null = none */
  http: string | null
  /** an admin listener `host:port` of its own for /metrics, /healthz and /readyz (then not served on `http`); null = none */
  metricsListen: string | null
  /** certificate and key files (PEM): HTTP becomes HTTPS and the edge wss:// (or leave TLS to a proxy in front) */
  tls: { certFile: string, keyFile: string } | null
  /**
   * the base URLs people reach this node's HTTP side at (https://chat.example.com behind a proxy);
   * announced to other nodes and clients. Default: the HTTP listen address as seen locally.
   */
  publicUrls: string[]
  /** path of the plain WebSocket client edge on the HTTP server */
  wsPath: string
  /** also take WebSocket clients on a port of their own (`host:port`); null = only on the HTTP server */
  wsListen: string | null
  /**
   * origins whose pages may attach over WebSockets, besides the node's own and the other nodes'
   * announced ones (browsers send an Origin; other clients do not and are not checked)
   */
  allowedOrigins: string[]
  /** bytes waiting to go out to one WebSocket client before it counts as too slow and is disconnected */
  wsMaxBufferedBytes: number
  /** WebSocket keep-alive: a ping this often, and a client that missed the last pong is dropped */
  wsPingIntervalMs: number
  /** WebSocket pings a client may send per second before it counts as a flood */
  wsClientPingsPerSec: number
  /** bootstrap multiaddrs (with /p2p/<id>) */
  bootstrap: string[]
  /** path of the mesh swarm key file, or its contents; null = `<dataDir>/swarm.key` (created if missing) */
  meshKey: string | Uint8Array | null
  /** IPs exempt from gossipsub's IP-colocation penalty (many nodes behind one address) */
  trustedIps: string[]
  /** mesh connections the dialer keeps: a full mesh of this many nodes */
  maxMeshPeers: number
  /** client connections this node accepts */
  maxClients: number
  /** client connections accepted from one IP address (NAT gateways put many people behind one) */
  maxClientsPerIp: number
  /** a client connection that has not sent its hello within this is closed */
  helloTimeoutMs: number
  /** a client frame whose first byte arrived must be complete within this, or the connection is closed */
  frameTimeoutMs: number
  /**
   * per-session and per-user request budgets by kind (state/budgets.ts); `message` follows
   * `ratePerSec`/`burst` and `typing` follows `typingPerSec` unless given here
   */
  budgets: Budgets
  /** signed event size limit (DESIGN: 64 KiB) */
  maxEventBytes: number
  /** rooms one user may be in on this node */
  maxRoomsPerUser: number
  /**
   * rooms this node carries at most (rooms its clients are in, and the rooms it keeps a copy of), up
   * to `MAX_CARRIED_ROOMS`, what every node accepts from a peer: a join that would take a room past
   * it is refused with NODE_FULL
   */
  maxCarriedRooms: number
  /**
   * members one room may have on this node (sessions), up to 10,000, what every node accepts in one
   * node's stream of a room's devices: a join past it is refused with NODE_FULL
   */
  maxRoomMembers: number
  /** per-user sustained event rate */
  ratePerSec: number
  /** per-user burst */
  burst: number
  /** typing events per user per second; the rest are dropped silently (they are ephemeral by definition) */
  typingPerSec: number
  /** archive replicas per room (rendezvous owners that stay subscribed and store it) */
  archiveReplicas: number
  /**
   * other nodes that must hold a fresh room message before the sender's send
   * resolves; with 1 an acknowledged message survives the ingress node dying
   * at once. 0 = the ingress node's own durable write is enough.
   */
  ackReplicas: number
  /**
   * a room carried by at most this many other nodes gets each fresh message
   * from its ingress node by replication request (answered once stored, so
   * a lost send is seen and the message gossiped), not by gossip; 0 = always gossip
   */
  roomDirectMax: number
  /** most events a node fetches when it starts carrying a room */
  backfillMax: number
  /** mailbox replicas per user */
  mailboxReplicas: number
  /** queued DMs per user mailbox */
  mailboxMaxPerUser: number
  /** queued DMs from one sender in one mailbox */
  mailboxMaxPerSender: number
  /** queued DMs older than this are dropped (0 = kept until collected) */
  mailboxMaxAgeMs: number
  retention: RetentionConfig
  /**
   * bytes of user directory frames (registrations above all) one peer may send per second, charged
   * at a frame's length prefix, before it is read; a peer in debt is refused (RATE_LIMITED) until it has waited it out.
   * Every peer together may send four times this a second, and two bursts (PEERS_TOGETHER, BURSTS_TOGETHER)
   */
  directoryBytesPerSec: number
  /** burst of the same: a frame is taken while the peer is not in debt, and charged whole */
  directoryBurstBytes: number
  /**
   * what one peer may read from this node per second, in events: room history, mailbox and DM history
   * pages (an event each, and one more per 4 KiB of them), presence pulls (an entry per device) and
   * anti-entropy digests (an event per 64 counted); a read is admitted while neither the peer nor
   * every peer together (four times this rate, two bursts) is in debt, charged its page's limit then
   * and what it read once answered; one that comes while either is in debt is held until neither is,
   * and refused (RATE_LIMITED) with the wait if it would be held more than 5 s
   */
  syncReadsPerSec: number
  /** burst of the same */
  syncReadBurst: number
  /** events a resume may replay per room before the client is told to page history instead */
  maxReplay: number
  /**
   * a resume replays from the cursor's HLC minus this much, and the client drops
   * what it already has; covers messages that were stamped just before the
   * cursor but reached this node after it (gossip delay)
   */
  resumeSlackMs: number
  /** redirect new clients when this node is above this factor of the mesh's mean load */
  overloadFactor: number
  /** each step of a stop that waits on the network (goodbye, closing connections) gives up after this */
  stopStepTimeoutMs: number
  /**
   * a drain (lame duck) tells the attached clients to move to other nodes, spread over this long
   * so they do not all land on one node at once, then stops the node
   */
  drainMs: number
  /**
   * a light-edge connection that drops without the client saying it is leaving (no close frame, or
   * a close other than 1000 and 1001), a libp2p client stream that is reset or lost rather than
   * closed, or a connection the node cuts off as too slow a reader, keeps its
   * device in presence, and its rooms carried, this long: a client that reconnects within it (to
   * this node) shows no leave and no join to anyone, and its rooms' members get no presence frames
   * for it. 0: the device leaves as its connection ends
   */
  presenceGraceMs: number
  /** serve the web app's source maps (off by default: they are large and only useful to developers) */
  serveSourceMaps: boolean
  /**
   * libp2p's own metrics on /metrics (libp2p_*: connections, dial and handshake errors, bytes per
   * protocol, counted on every read and write of every mesh stream). Leaving them out took 3–6 % off
   * the nodes' CPU per delivered message at 200 room messages per second on 4 nodes, averaged over
   * six alternating pairs of runs (single runs spread by up to 10 %); /metrics keeps meshchat's own
   * and the process metrics.
   */
  libp2pMetrics: boolean
  /**
   * data links: a plain TCP connection beside each libp2p one, made over it, sealed with keys only
   * the two nodes hold, that carries fresh room events to carrying nodes, their replication requests,
   * DM deliveries and DM history copies (mesh/data-link.ts). false sends them on libp2p streams only.
   */
  dataLinks: boolean
  /** the port data links are taken on, at the mesh listen address's host (0: any free port, told to each peer as the link is made) */
  dataLinkPort: number
  /** the clock rule for ingress stamps and author times, on every path (state/stamps.ts) */
  stamps: StampRule
  timings: Timings
}

export const DEFAULT_CONFIG: NodeConfig = {
  dataDir: null,
  listen: ['/ip4/127.0.0.1/tcp/0'],
  announce: [],
  gateway: ['/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/tcp/0'],
  gatewayAnnounce: [],
  http: null,
  metricsListen: null,
  tls: null,
  publicUrls: [],
  wsPath: '/ws',
  wsListen: null,
  allowedOrigins: [],
  // 4 MiB: about a thousand typical deliveries behind; a reader further back resumes from its cursor instead
  wsMaxBufferedBytes: 4 * 1024 * 1024,
  wsPingIntervalMs: 30_000,
  wsClientPingsPerSec: 2,
  bootstrap: [],
  meshKey: null,
  trustedIps: ['127.0.0.1', '::1'],
  // a full mesh of a few hundred nodes stays under libp2p's connection limit (1,000)
  maxMeshPeers: 500,
  maxClients: 10_000,
  maxClientsPerIp: 1000,
  // long enough for a phone on a bad link to finish the handshake, short enough that idle sockets do not pile up
  helloTimeoutMs: 10_000,
  // a 64 KiB frame at 2 KiB/s
  frameTimeoutMs: 30_000,
  budgets: DEFAULT_BUDGETS,
  maxEventBytes: LIMITS.maxEventBytes,
  maxRoomsPerUser: 100,
  maxCarriedRooms: MAX_CARRIED_ROOMS,
  maxRoomMembers: MAX_ROOM_MEMBERS,
  ratePerSec: 10,
  burst: 40,
  typingPerSec: 2,
  archiveReplicas: 2,
  ackReplicas: 1,
  roomDirectMax: 8,
  backfillMax: 10_000,
  mailboxReplicas: 2,
  mailboxMaxPerUser: 1000,
  // a tenth of the mailbox: one persistent sender cannot crowd out everyone else's mail
  mailboxMaxPerSender: 100,
  // as long as room history is kept by default
  mailboxMaxAgeMs: 30 * 24 * 3600_000,
  retention: { maxAgeMs: 30 * 24 * 3600_000, maxPerRoom: 100_000 },
  // an honest node registers its devices once per owner, and again only as they change; a full
  // registration of a node with 250,000 devices (about 17 MB) fits the burst
  directoryBytesPerSec: 1024 * 1024,
  directoryBurstBytes: 32 * 1024 * 1024,
  // a catch-up or a rebalance reads a room's history at 10,000 events (or 40 MB of large ones) a second
  // from each peer once past the burst; a peer reading back to back costs the node about a tenth of a core
  syncReadsPerSec: 10_000,
  syncReadBurst: 100_000,
  maxReplay: 5000,
  resumeSlackMs: 10_000,
  overloadFactor: 1.5,
  stopStepTimeoutMs: 2000,
  // a few seconds: clients reconnect in well under a second each, and a rolling restart should not take minutes
  drainMs: 5000,
  presenceGraceMs: 5000,
  serveSourceMaps: false,
  libp2pMetrics: true,
  dataLinks: true,
  dataLinkPort: 0,
  stamps: DEFAULT_STAMP_RULE,
  timings: DEFAULT_TIMINGS
}

export class ConfigError extends Error {
  static override name = 'ConfigError'
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Merge partial settings over the defaults and check them; throws ConfigError. */
export function resolveConfig (partial: Partial<NodeConfig> = {}): NodeConfig {
  // intervals derived from the heartbeat follow a custom heartbeat unless set themselves
  const H = partial.timings?.heartbeatMs ?? DEFAULT_TIMINGS.heartbeatMs
  const derived = { rebalanceDelayMs: H / 2, catchUpDelayMs: 2 * H, entitlementWaitMs: 2 * H }
  const cfg: NodeConfig = {
    ...DEFAULT_CONFIG,
    ...partial,
    retention: { ...DEFAULT_CONFIG.retention, ...partial.retention },
    stamps: { ...DEFAULT_CONFIG.stamps, ...partial.stamps },
    budgets: { ...DEFAULT_CONFIG.budgets, ...partial.budgets },
    timings: { ...DEFAULT_CONFIG.timings, ...derived, ...partial.timings }
  }
  if (partial.budgets?.message == null) {
    const bucket = { ratePerSec: cfg.ratePerSec, burst: cfg.burst }
    cfg.budgets.message = { session: bucket, user: bucket }
  }
  if (partial.budgets?.typing == null) {
    const bucket = { ratePerSec: cfg.typingPerSec, burst: cfg.typingPerSec * 2 }
    cfg.budgets.typing = { session: bucket, user: bucket }
  }
  try {
    checkBudgets(cfg.budgets)
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
  const positive: Array<keyof NodeConfig> = ['wsMaxBufferedBytes', 'wsPingIntervalMs', 'wsClientPingsPerSec', 'maxMeshPeers', 'maxClients', 'maxClientsPerIp', 'helloTimeoutMs', 'frameTimeoutMs', 'stopStepTimeoutMs', 'maxEventBytes', 'maxRoomsPerUser', 'maxCarriedRooms', 'maxRoomMembers', 'ratePerSec', 'burst',
    'archiveReplicas', 'backfillMax', 'mailboxReplicas', 'mailboxMaxPerUser', 'mailboxMaxPerSender', 'directoryBytesPerSec', 'directoryBurstBytes', 'syncReadsPerSec', 'syncReadBurst', 'maxReplay', 'overloadFactor', 'typingPerSec']
  for (const k of positive) {
    const v = cfg[k]
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new ConfigError(`${k} must be a positive number, got ${String(v)}`)
    }
  }
  if (!Number.isInteger(cfg.maxCarriedRooms) || cfg.maxCarriedRooms > MAX_CARRIED_ROOMS) {
    throw new ConfigError(`maxCarriedRooms must be a whole number up to ${MAX_CARRIED_ROOMS} (what every node accepts from a peer), got ${String(cfg.maxCarriedRooms)}`)
  }
  if (!Number.isInteger(cfg.maxRoomMembers) || cfg.maxRoomMembers > MAX_ROOM_MEMBERS) {
    throw new ConfigError(`maxRoomMembers must be a whole number up to ${MAX_ROOM_MEMBERS} (what every node accepts in one node's stream of a room), got ${String(cfg.maxRoomMembers)}`)
  }
  if (cfg.maxEventBytes < 1024 || cfg.maxEventBytes > 4 * 1024 * 1024) {
    throw new ConfigError('maxEventBytes must be between 1 KiB and 4 MiB')
  }
  if (cfg.gateway.length === 0) {
    throw new ConfigError('at least one gateway address is needed')
  }
  if (cfg.listen.length === 0) {
    throw new ConfigError('at least one mesh listen address is needed')
  }
  for (const [k, v] of [['http', cfg.http], ['wsListen', cfg.wsListen], ['metricsListen', cfg.metricsListen]] as const) {
    if (v != null && !/^[^:]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(v)) {
      throw new ConfigError(`${k} must be host:port, got ${v}`)
    }
  }
  for (const u of [...cfg.publicUrls, ...cfg.allowedOrigins]) {
    let parsed: URL
    try {
      parsed = new URL(u)
    } catch {
      throw new ConfigError(`not a URL: ${u}`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${u} is not an http(s) URL`)
  }
  if (!cfg.wsPath.startsWith('/')) throw new ConfigError(`wsPath must start with /, got ${cfg.wsPath}`)
  for (const [k, v] of Object.entries(cfg.retention)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ConfigError(`retention.${k} must be a number >= 0, got ${String(v)}`)
    }
  }
  if (typeof cfg.drainMs !== 'number' || !Number.isFinite(cfg.drainMs) || cfg.drainMs < 0) {
    throw new ConfigError(`drainMs must be a number >= 0, got ${String(cfg.drainMs)}`)
  }
  if (typeof cfg.presenceGraceMs !== 'number' || !Number.isFinite(cfg.presenceGraceMs) || cfg.presenceGraceMs < 0 || cfg.presenceGraceMs > 600_000) {
    throw new ConfigError(`presenceGraceMs must be a number from 0 to 600000, got ${String(cfg.presenceGraceMs)}`)
  }
  if (!Number.isInteger(cfg.dataLinkPort) || cfg.dataLinkPort < 0 || cfg.dataLinkPort > 65535) {
    throw new ConfigError(`dataLinkPort must be a port number (0 for any free port), got ${String(cfg.dataLinkPort)}`)
  }
  if (!Number.isInteger(cfg.ackReplicas) || cfg.ackReplicas < 0) {
    throw new ConfigError('ackReplicas must be a whole number >= 0')
  }
  if (!Number.isInteger(cfg.roomDirectMax) || cfg.roomDirectMax < 0) {
    throw new ConfigError('roomDirectMax must be a whole number >= 0')
  }
  for (const [k, v] of Object.entries(cfg.stamps)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new ConfigError(`stamps.${k} must be a positive number, got ${String(v)}`)
    }
  }
  const t = cfg.timings
  if (t.downAfterMs < 2 * t.heartbeatMs) {
    throw new ConfigError('timings.downAfterMs must be at least two heartbeats')
  }
  return cfg
}
