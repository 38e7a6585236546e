/**
 * A node's settings from three places, in this order of precedence: the
 * config file (YAML, `--config`), then MESHCHAT_* environment variables, then
 * flags. The file covers every setting of NodeConfig (every limit, budget and
 * timing) plus logging; flags and environment variables cover the common ones.
 * Unknown keys and bad values are ConfigErrors naming the key's path (or the
 * flag). Pure apart from reading the config file: argv and the environment
 * are passed in, so tests and SIGHUP reloads run the same code.
 */
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { Document, parseDocument } from 'yaml'
import { ConfigError, DEFAULT_CONFIG, resolveConfig } from './config.js'
import { DEFAULT_BUDGETS } from './state/budgets.js'
import { parse } from './cli.js'
import type { Spec } from './cli.js'
import type { NodeConfig } from './config.js'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export interface LogSettings {
  /** lowest level written */
  level: LogLevel
  /** one JSON object per line (for log collectors), or human lines */
  format: 'json' | 'text'
}

export const DEFAULT_LOG: LogSettings = { level: 'info', format: 'text' }

export interface NodeSettings {
  config: NodeConfig
  log: LogSettings
  /** the config file these came from, if any (a SIGHUP re-reads it) */
  file?: string
}

/** What a node started from the command line uses where NodeConfig's defaults (made for tests, on loopback) do not fit. */
export const CLI_DEFAULTS = {
  dataDir: join('.meshchat', 'node'),
  listen: ['/ip4/0.0.0.0/tcp/4001'],
  gateway: ['/ip4/0.0.0.0/tcp/4002/ws', '/ip4/0.0.0.0/tcp/4003'],
  http: '0.0.0.0:8080'
}

/** how a flag maps onto the settings: the key path, the kind of value, a unit */
interface FlagMap {
  path: string
  kind: 'string' | 'list' | 'number' | 'bool' | 'path'
  /** the flag's value times this is the setting (days to ms) */
  scale?: number
}

const DAY_MS = 86_400_000

/** flags that are settings, with the setting they set */
const FLAG_SETTINGS: Record<string, FlagMap> = {
  'data-dir': { path: 'dataDir', kind: 'path' },
  'mesh-key': { path: 'meshKey', kind: 'path' },
  listen: { path: 'listen', kind: 'list' },
  announce: { path: 'announce', kind: 'list' },
  gateway: { path: 'gateway', kind: 'list' },
  'gateway-announce': { path: 'gatewayAnnounce', kind: 'list' },
  bootstrap: { path: 'bootstrap', kind: 'list' },
  http: { path: 'http', kind: 'string' },
  'metrics-listen': { path: 'metricsListen', kind: 'string' },
  'source-maps': { path: 'serveSourceMaps', kind: 'bool' },
  'no-libp2p-metrics': { path: 'libp2pMetrics', kind: 'bool' },
  'no-data-links': { path: 'dataLinks', kind: 'bool' },
  'data-link-port': { path: 'dataLinkPort', kind: 'number' },
  'ws-listen': { path: 'wsListen', kind: 'string' },
  'tls-cert': { path: 'tls.certFile', kind: 'path' },
  'tls-key': { path: 'tls.keyFile', kind: 'path' },
  'public-url': { path: 'publicUrls', kind: 'list' },
  'allowed-origin': { path: 'allowedOrigins', kind: 'list' },
  'trusted-ip': { path: 'trustedIps', kind: 'list' },
  'max-clients': { path: 'maxClients', kind: 'number' },
  'max-clients-per-ip': { path: 'maxClientsPerIp', kind: 'number' },
  'max-rooms-per-user': { path: 'maxRoomsPerUser', kind: 'number' },
  'max-carried-rooms': { path: 'maxCarriedRooms', kind: 'number' },
  'max-room-members': { path: 'maxRoomMembers', kind: 'number' },
  'max-event-bytes': { path: 'maxEventBytes', kind: 'number' },
  'rate-per-sec': { path: 'ratePerSec', kind: 'number' },
  burst: { path: 'burst', kind: 'number' },
  'mailbox-max-per-user': { path: 'mailboxMaxPerUser', kind: 'number' },
  'mailbox-days': { path: 'mailboxMaxAgeMs', kind: 'number', scale: DAY_MS },
  'history-days': { path: 'retention.maxAgeMs', kind: 'number', scale: DAY_MS },
  'history-max': { path: 'retention.maxPerRoom', kind: 'number' },
  'drain-ms': { path: 'drainMs', kind: 'number' },
  'presence-grace-ms': { path: 'presenceGraceMs', kind: 'number' },
  'log-level': { path: 'log.level', kind: 'string' },
  json: { path: 'log.format', kind: 'bool' }
}

export const NODE_OPTS: Spec = {
  config: { type: 'string', help: 'YAML config file (meshchat config example prints one); environment and flags override it' },
  'data-dir': { type: 'string', help: `node key, mesh key and SQLite store (default ./${CLI_DEFAULTS.dataDir})` },
  'mesh-key': { type: 'string', help: 'mesh swarm key file (default <data-dir>/swarm.key, created if missing)' },
  listen: { type: 'string', multiple: true, help: `mesh listen multiaddr (default ${CLI_DEFAULTS.listen.join(', ')})` },
  announce: { type: 'string', multiple: true, help: 'mesh address to announce instead of the listen ones' },
  gateway: { type: 'string', multiple: true, help: `client gateway listen multiaddr (default ${CLI_DEFAULTS.gateway.join(' and ')})` },
  'gateway-announce': { type: 'string', multiple: true, help: 'gateway address to announce to clients' },
  bootstrap: { type: 'string', multiple: true, help: 'bootstrap multiaddr with /p2p/<id> (repeatable)' },
  http: { type: 'string', help: `HTTP host:port for the web app, /healthz, /readyz and /metrics (default ${CLI_DEFAULTS.http}; "off" for none)` },
  'metrics-listen': { type: 'string', help: 'serve /metrics, /healthz and /readyz on this host:port of their own (an admin port), and not on --http' },
  'source-maps': { type: 'boolean', help: 'serve the web app\'s source maps (default off)' },
  'no-libp2p-metrics': { type: 'boolean', help: 'leave libp2p\'s own metrics (libp2p_*) out of /metrics (on the benchmark, 3-6 % less node CPU per message on average, within run-to-run noise)' },
  'no-data-links': { type: 'boolean', help: 'send fresh room events and DMs to other nodes on libp2p streams only, with no data link (a plain TCP connection beside the libp2p one, made over it and sealed with keys only the two nodes hold)' },
  'data-link-port': { type: 'string', help: 'port this node takes data links on, at its mesh listen host (default 0: any free port, told to each peer over libp2p; set one to open it in a firewall)' },
  'ws-listen': { type: 'string', help: 'also take WebSocket clients on this host:port (default: only on the HTTP server, at /ws)' },
  'tls-cert': { type: 'string', help: 'certificate file (PEM): serve HTTPS and wss:// (or terminate TLS in a proxy in front)' },
  'tls-key': { type: 'string', help: 'private key file (PEM) for --tls-cert' },
  'public-url': { type: 'string', multiple: true, help: 'base URL people reach this node\'s HTTP side at, e.g. https://chat.example.com (repeatable; announced to clients and nodes)' },
  'allowed-origin': { type: 'string', multiple: true, help: 'an origin whose pages may attach over WebSockets, besides the mesh\'s own (repeatable)' },
  'trusted-ip': { type: 'string', multiple: true, help: 'IP exempt from gossipsub IP-colocation scoring (default 127.0.0.1, ::1)' },
  'max-clients': { type: 'string', help: `client connections accepted (default ${DEFAULT_CONFIG.maxClients})` },
  'max-clients-per-ip': { type: 'string', help: `client connections accepted from one IP address (default ${DEFAULT_CONFIG.maxClientsPerIp})` },
  'max-rooms-per-user': { type: 'string', help: `rooms one user may be in (default ${DEFAULT_CONFIG.maxRoomsPerUser})` },
  'max-carried-rooms': { type: 'string', help: `rooms this node carries at most; a join past it gets NODE_FULL (default and most ${DEFAULT_CONFIG.maxCarriedRooms})` },
  'max-room-members': { type: 'string', help: `members one room may have on this node; a join past it gets NODE_FULL (default and most ${DEFAULT_CONFIG.maxRoomMembers})` },
  'max-event-bytes': { type: 'string', help: `largest signed event taken (default ${DEFAULT_CONFIG.maxEventBytes})` },
  'rate-per-sec': { type: 'string', help: `messages per second per user (default ${DEFAULT_CONFIG.ratePerSec})` },
  burst: { type: 'string', help: `message burst per user (default ${DEFAULT_CONFIG.burst})` },
  'mailbox-max-per-user': { type: 'string', help: `queued DMs per user (default ${DEFAULT_CONFIG.mailboxMaxPerUser})` },
  'mailbox-days': { type: 'string', help: `days a queued DM is kept (default ${DEFAULT_CONFIG.mailboxMaxAgeMs / DAY_MS}; 0 = until collected)` },
  'history-days': { type: 'string', help: `days of room history kept (default ${DEFAULT_CONFIG.retention.maxAgeMs / DAY_MS}; 0 = forever)` },
  'history-max': { type: 'string', help: `messages kept per room (default ${DEFAULT_CONFIG.retention.maxPerRoom}; 0 = no limit)` },
  'drain-ms': { type: 'string', help: `on SIGQUIT, move clients to other nodes over this long, then stop (default ${DEFAULT_CONFIG.drainMs})` },
  'presence-grace-ms': { type: 'string', help: `a dropped client connection's device stays in presence this long, so a quick reconnect shows no leave (default ${DEFAULT_CONFIG.presenceGraceMs}; 0 = none)` },
  'log-level': { type: 'string', help: `${LOG_LEVELS.join(', ')} (default ${DEFAULT_LOG.level})` },
  json: { type: 'boolean', help: 'log JSON lines instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

type Plain = Record<string, unknown>

const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v != null && !Array.isArray(v) && !(v instanceof Uint8Array)

/** settings that may be null (absent) in the file, with the shape they take when given */
const NULLABLE: Record<string, unknown> = {
  dataDir: '',
  meshKey: '',
  http: '',
  wsListen: '',
  metricsListen: '',
  tls: { certFile: '', keyFile: '' }
}

/** the shape the file must have: NodeConfig's keys (and value types) plus `log` */
const TEMPLATE: Plain = { ...DEFAULT_CONFIG, log: DEFAULT_LOG }

const typeOf = (v: unknown): string => v === null ? 'null' : Array.isArray(v) ? 'a list' : isPlain(v) ? 'a mapping' : typeof v

/** check `value` against the template's shape; throws ConfigError naming the path */
function checkShape (value: unknown, template: unknown, path: string): void {
  const key = path === '' ? 'the file' : path
  if (path in NULLABLE) {
    if (value === null) return
    template = NULLABLE[path]
  }
  if (isPlain(template)) {
    if (!isPlain(value)) throw new ConfigError(`${key}: expected a mapping, got ${typeOf(value)}`)
    for (const [k, v] of Object.entries(value)) {
      const p = path === '' ? k : `${path}.${k}`
      if (!(k in template)) throw new ConfigError(`${p}: unknown key`)
      checkShape(v, template[k], p)
    }
    return
  }
  if (Array.isArray(template)) {
    if (!Array.isArray(value)) throw new ConfigError(`${key}: expected a list of strings, got ${typeOf(value)}`)
    value.forEach((v, i) => { if (typeof v !== 'string') throw new ConfigError(`${key}[${i}]: expected a string, got ${typeOf(v)}`) })
    return
  }
  if (typeof template === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new ConfigError(`${key}: expected a number, got ${typeOf(value)}`)
    return
  }
  if (typeof template !== typeof value) throw new ConfigError(`${key}: expected ${typeOf(template)}, got ${typeOf(value)}`)
}

/**
 * Read a config file: YAML, checked against the settings' shape. Relative
 * paths in it (dataDir, meshKey, tls files) are relative to the file.
 */
export function parseConfigFile (text: string, source: string): Plain {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  const problem = doc.errors[0]
  if (problem != null) throw new ConfigError(`${source}: not valid YAML: ${problem.message}`)
  const data = doc.toJS() as unknown
  // an empty file, or one with only comments, sets nothing
  if (data == null) return {}
  try {
    checkShape(data, TEMPLATE, '')
  } catch (err) {
    throw new ConfigError(`${source}: ${(err as Error).message}`)
  }
  const out = data as Plain
  const base = dirname(resolve(source))
  const abs = (p: unknown): unknown => typeof p === 'string' && p !== '' && !isAbsolute(p) ? resolve(base, p) : p
  if (out.dataDir != null) out.dataDir = abs(out.dataDir)
  if (out.meshKey != null) out.meshKey = abs(out.meshKey)
  if (isPlain(out.tls)) out.tls = { certFile: abs(out.tls.certFile), keyFile: abs(out.tls.keyFile) }
  return out
}

function setPath (obj: Plain, path: string, value: unknown): void {
  const parts = path.split('.')
  let at = obj
  for (const p of parts.slice(0, -1)) {
    if (!isPlain(at[p])) at[p] = {}
    at = at[p] as Plain
  }
  at[parts[parts.length - 1] ?? ''] = value
}

/** merge `over` into `base` (mappings key by key; lists and values replace) */
function deepMerge (base: Plain, over: Plain): Plain {
  const out: Plain = { ...base }
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlain(v) && isPlain(out[k]) ? deepMerge(out[k], v) : v
  }
  return out
}

/** flags and environment variables, as settings; a value that is not a number is a ConfigError naming the flag */
function fromFlags (o: Plain): Plain {
  const out: Plain = {}
  for (const [flag, m] of Object.entries(FLAG_SETTINGS)) {
    const v = o[flag]
    if (v === undefined) continue
    const where = `--${flag} (or ${'MESHCHAT_' + flag.toUpperCase().replace(/-/g, '_')})`
    if (m.kind === 'number') {
      const n = Number(v)
      if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${where}: expected a number, got "${String(v)}"`)
      setPath(out, m.path, n * (m.scale ?? 1))
    } else if (m.kind === 'path') {
      setPath(out, m.path, resolve(String(v)))
    } else if (flag === 'json') {
      if (v === true) setPath(out, m.path, 'json')
    } else if (flag === 'no-libp2p-metrics' || flag === 'no-data-links') {
      if (v === true) setPath(out, m.path, false)
    } else if (flag === 'http' && v === 'off') {
      setPath(out, m.path, null)
    } else {
      setPath(out, m.path, v)
    }
  }
  return out
}

/**
 * Settings for `meshchat node`: CLI defaults < config file < environment < flags.
 * Throws ConfigError for an unknown key, a bad value or a bad flag.
 */
export function nodeSettings (argv: string[], env: Record<string, string | undefined> = process.env): NodeSettings & { help: boolean } {
  let o: Plain
  try {
    o = parse(argv, NODE_OPTS, env)
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
  const file = typeof o.config === 'string' ? resolve(o.config) : undefined
  let fileSettings: Plain = {}
  if (file != null) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`)
    }
    fileSettings = parseConfigFile(text, file)
  }
  const merged = deepMerge(deepMerge({ ...CLI_DEFAULTS, dataDir: resolve(CLI_DEFAULTS.dataDir), log: DEFAULT_LOG }, fileSettings), fromFlags(o))
  try {
    return { ...checkMerged(merged), file, help: o.help === true }
  } catch (err) {
    if (file == null) throw err
    throw new ConfigError(`${file} (with the environment and flags over it): ${(err as Error).message}`)
  }
}

/** the merged settings checked and resolved into a NodeConfig */
function checkMerged (merged: Plain): { config: NodeConfig, log: LogSettings } {
  const { log: logRaw, ...rest } = merged
  const log = logRaw as LogSettings
  if (!(LOG_LEVELS as readonly string[]).includes(log.level)) throw new ConfigError(`log.level must be one of ${LOG_LEVELS.join(', ')}, got ${String(log.level)}`)
  if (log.format !== 'json' && log.format !== 'text') throw new ConfigError(`log.format must be json or text, got ${String(log.format)}`)
  const partial = rest as Partial<NodeConfig>
  const tls = partial.tls as Partial<NonNullable<NodeConfig['tls']>> | null | undefined
  if (tls != null && (tls.certFile == null) !== (tls.keyFile == null)) throw new ConfigError('tls: the certificate (--tls-cert, tls.certFile) and its key (--tls-key, tls.keyFile) go together')
  // a budget given in part keeps the defaults for the rest of its kind
  if (isPlain(partial.budgets)) {
    const b = partial.budgets as Plain
    for (const kind of Object.keys(b)) {
      const def = (DEFAULT_BUDGETS as unknown as Plain)[kind]
      if (isPlain(def) && isPlain(b[kind])) b[kind] = deepMerge(def, b[kind])
    }
  }
  return { config: resolveConfig(partial), log }
}

/** short notes for the example file, by top-level key */
const NOTES: Record<string, string> = {
  dataDir: 'node key, mesh key (swarm.key) and SQLite store; relative paths in this file are relative to the file',
  listen: 'mesh listen multiaddrs (TCP between nodes; only nodes need to reach these)',
  announce: 'mesh addresses announced instead of the listen ones (NAT, containers)',
  gateway: 'libp2p client gateway listen multiaddrs (for libp2p-native clients)',
  gatewayAnnounce: 'gateway addresses announced to clients instead of the listen ones',
  http: 'web app, /ws for clients, /healthz, /readyz, /metrics (null: no HTTP side)',
  metricsListen: 'host:port of an admin listener for /metrics, /healthz and /readyz (then not served on http)',
  tls: 'certFile and keyFile (PEM) to serve HTTPS and wss:// on http, or null with TLS in a proxy in front',
  publicUrls: 'base URLs people reach this node at (https://chat.example.com behind a proxy)',
  wsPath: 'path of the WebSocket client edge',
  wsListen: 'host:port taking WebSocket clients alone, besides http',
  allowedOrigins: 'origins whose pages may attach, besides the mesh\'s own',
  wsMaxBufferedBytes: 'bytes queued to one WebSocket client before it counts as too slow and is dropped',
  wsPingIntervalMs: 'WebSocket keep-alive ping interval; a client that missed the last pong is dropped',
  wsClientPingsPerSec: 'WebSocket pings a client may send per second',
  bootstrap: 'bootstrap daemon multiaddrs with /p2p/<id>',
  meshKey: 'mesh swarm key file (null: <dataDir>/swarm.key, created if missing)',
  trustedIps: 'IPs exempt from gossipsub IP-colocation scoring',
  maxMeshPeers: 'mesh connections kept (a full mesh of this many nodes)',
  maxClients: 'client connections accepted',
  maxClientsPerIp: 'client connections accepted from one IP address',
  helloTimeoutMs: 'a client must say hello within this',
  frameTimeoutMs: 'a client frame must be complete this long after its first byte',
  budgets: 'requests per second by kind, per session and per user (message and typing follow ratePerSec/burst and typingPerSec unless set here)',
  maxEventBytes: 'largest signed event taken (clients assume 64 KiB until the welcome says otherwise)',
  maxRoomsPerUser: 'rooms one user may be in on this node',
  maxRoomMembers: 'members one room may have on this node (the most every node accepts in one node\'s stream of a room); a join past it is refused with NODE_FULL',
  maxCarriedRooms: 'rooms this node carries at most (its clients\' rooms and the copies it keeps); a join past it is refused with NODE_FULL',
  ratePerSec: 'messages per second per user, sustained',
  burst: 'messages per user in a burst',
  typingPerSec: 'typing notices per user per second (more are dropped)',
  archiveReplicas: 'nodes that keep each room\'s history',
  ackReplicas: 'other nodes that must hold a message before its send resolves',
  roomDirectMax: 'rooms carried by at most this many other nodes get messages by direct request, not gossip (0: always gossip)',
  backfillMax: 'most events fetched when a node starts carrying a room',
  mailboxReplicas: 'nodes that keep each offline user\'s mailbox',
  mailboxMaxPerUser: 'queued DMs per user',
  mailboxMaxPerSender: 'queued DMs from one sender in one mailbox',
  mailboxMaxAgeMs: 'queued DMs older than this are dropped (0: kept until collected)',
  retention: 'room history kept: maxAgeMs (0: forever) and maxPerRoom (0: no limit)',
  directoryBytesPerSec: 'bytes of user directory frames one peer may send per second (charged at a frame\'s length prefix, before it is read; a peer in debt is refused until it has waited it out; every peer together may send four times this, and two bursts)',
  directoryBurstBytes: 'burst of the same (a full registration of a large node must fit)',
  syncReadsPerSec: 'events one peer may read from this node per second: history, mailbox and DM history pages (and one per 4 KiB of them), presence pulls (an entry a device), digests (an event per 64 counted); a read from a peer in debt, or while every peer together is (four times this rate, two bursts), waits until neither is (refused if it would wait over 5 s)',
  syncReadBurst: 'burst of the same',
  maxReplay: 'events a resume replays per room before the client pages history instead',
  resumeSlackMs: 'a resume replays from this long before the cursor (gossip delay)',
  overloadFactor: 'redirect new clients when above this factor of the mesh\'s mean load',
  stopStepTimeoutMs: 'each step of a stop that waits on the network gives up after this',
  drainMs: 'a drain (SIGQUIT) moves clients to other nodes over this long, then the node stops',
  presenceGraceMs: 'a client connection that drops (light edge: without a close 1000 or 1001; libp2p: a stream reset or lost) keeps its device in presence this long, so a reconnect within it shows no leave (0: none)',
  serveSourceMaps: 'serve the web app\'s source maps',
  libp2pMetrics: 'libp2p\'s own metrics (libp2p_*) on /metrics; false leaves them out (on the benchmark, 3-6 % less node CPU per message on average)',
  dataLinks: 'fresh room events and DMs to other nodes on a data link (a plain TCP connection beside the libp2p one, made over it, sealed with keys only the two nodes hold); false: libp2p streams only',
  dataLinkPort: 'port data links are taken on, at the mesh listen host (0: any free port, told to each peer over libp2p)',
  stamps: 'clock rule: maxDriftMs ahead at most, author times maxAuthorLagMs behind at most',
  timings: 'presence and failure-detection intervals; rebalanceDelayMs, catchUpDelayMs and entitlementWaitMs follow heartbeatMs unless set',
  log: 'level: fatal, error, warn, info, debug, trace or silent; format: json or text'
}

/** a complete config file with every setting at its default, commented */
export function exampleConfig (): string {
  const all: Plain = { ...TEMPLATE, ...CLI_DEFAULTS }
  const { dataDir: _d, meshKey: _m, ...rest } = all
  const values: Plain = { dataDir: CLI_DEFAULTS.dataDir, meshKey: null, ...rest, log: { ...DEFAULT_LOG, format: 'json' } }
  // message and typing budgets follow ratePerSec/burst and typingPerSec, and these timings follow
  // heartbeatMs, unless they are set: shown here they would stop following
  const { message: _bm, typing: _bt, ...budgets } = DEFAULT_BUDGETS
  values.budgets = budgets
  const { rebalanceDelayMs: _r, catchUpDelayMs: _c, entitlementWaitMs: _e, ...timings } = DEFAULT_CONFIG.timings
  values.timings = timings
  const doc = new Document(values)
  doc.commentBefore = ' meshchat node configuration (meshchat node --config <file>).\n' +
    ' Every setting is shown at its default. MESHCHAT_* environment variables and flags override this file;\n' +
    ' `meshchat config check <file>` checks one. Sizes in bytes, durations in milliseconds.\n' +
    ' Room and display name lengths are part of the wire protocol and are not settings.'
  for (const pair of (doc.contents as unknown as { items: Array<{ key: { value: string, commentBefore?: string } }> }).items) {
    const note = NOTES[pair.key.value]
    if (note != null) pair.key.commentBefore = ` ${note}`
  }
  return doc.toString({ lineWidth: 0 })
}
