/**
 * A meshchat mesh started through the real CLI (`bin/meshchat.js`): one mesh key (`meshchat keygen`),
 * one bootstrap daemon and N nodes on fixed loopback ports, each with a libp2p TCP client gateway,
 * the light WebSocket edge on a port of its own (`--ws-listen`, so client bytes are told from the
 * harness's /healthz and /metrics requests on `--http`), and `--http`. Ready when every node's
 * /healthz says ready and counts N nodes.
 *
 * Clients attach over the light edge (ws:// URLs) unless `edge` is set to 'libp2p' (gateway multiaddrs).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { classifyIo } from './cluster.js'
import { assertPortsFree, REPO_ROOT, waitFor } from './procs.js'
import { fetchJson, fetchMetrics } from './prom.js'
import type { Cluster, ClusterSnapshot, ServerSnapshot, Traffic } from './cluster.js'
import type { Proc, ProcRegistry } from './procs.js'
import type { Metrics } from './prom.js'

const CLI = join(REPO_ROOT, 'bin', 'meshchat.js')

export interface Health {
  nodeId: string
  ready: boolean
  peers: number
  meshNodes: number
  clients: number
  users: number
  rooms: number
  presence: { devices: number, users: number, rooms: number, needsSync: number }
  gateway: string[]
}

export interface MeshPorts { bootstrap: number, mesh: (i: number) => number, gateway: (i: number) => number, http: (i: number) => number, ws: (i: number) => number }

/** port layout from a base: bootstrap at base, node i's mesh/gateway/http/ws ports in blocks of 30 (up to 29 nodes) */
export function meshPorts (base: number): MeshPorts {
  return { bootstrap: base, mesh: i => base + 1 + i, gateway: i => base + 31 + i, http: i => base + 61 + i, ws: i => base + 91 + i }
}

/** which client edge load generators use: the light WebSocket edge, or the libp2p gateway */
export type MeshEdge = 'ws' | 'libp2p'

/**
 * client connections a bench node accepts, in all and from one IP: every load generator is on
 * 127.0.0.1, and the idle-clients step puts 10,000 of them on one node
 */
export const BENCH_MAX_CLIENTS = 20_000

export interface MeshNode {
  index: number
  proc: Proc
  nodeId: string
  /** libp2p gateway multiaddr (TCP) */
  gateway: string
  /** the light edge's URL on its own port */
  ws: string
  httpUrl: string
}

export class MeshchatCluster implements Cluster {
  readonly system = 'meshchat' as const
  /** the edge new clusters' clients attach through (run.ts --edge) */
  static defaultEdge: MeshEdge = 'ws'
  /** the edge clients attach through (clientAddr) */
  edge: MeshEdge = MeshchatCluster.defaultEdge
  readonly nodes: Array<MeshNode | undefined> = []
  bootstrap!: Proc
  bootstrapAddr = ''
  private readonly reg: ProcRegistry
  private readonly ports: MeshPorts
  private readonly dir: string
  private readonly meshKey: string
  private readonly count: number

  private constructor (reg: ProcRegistry, base: number, count: number, tag: string) {
    this.reg = reg
    this.ports = meshPorts(base)
    this.count = count
    this.dir = join(reg.dir, `meshchat-${tag}`)
    this.meshKey = join(this.dir, 'swarm.key')
  }

  get size (): number {
    return this.count
  }

  /** "meshchat" over the light edge, "meshchat-libp2p" over the libp2p gateway */
  get label (): string {
    return this.edge === 'ws' ? 'meshchat' : 'meshchat-libp2p'
  }

  /** start a bootstrap and `count` nodes; resolves when every node sees all of them */
  static async start (reg: ProcRegistry, opts: { base: number, nodes: number, tag?: string }): Promise<MeshchatCluster> {
    const c = new MeshchatCluster(reg, opts.base, opts.nodes, opts.tag ?? `${opts.base}`)
    const p = c.ports
    if (opts.nodes > 29) throw new Error('at most 29 nodes per cluster (port layout)')
    await assertPortsFree([p.bootstrap, ...Array.from({ length: opts.nodes }, (_, i) => [p.mesh(i), p.gateway(i), p.http(i), p.ws(i)]).flat()])
    await mkdir(c.dir, { recursive: true })
    const keygen = reg.spawnNode('keygen', CLI, ['keygen', '--out', c.meshKey], { stats: false })
    const k = await keygen.exited
    if (k.code !== 0) throw new Error(`meshchat keygen failed:\n${keygen.lastLines()}`)
    c.bootstrap = reg.spawnNode('bootstrap', CLI, ['bootstrap', '--json', '--data-dir', join(c.dir, 'bootstrap'), '--mesh-key', c.meshKey,
      '--listen', `/ip4/127.0.0.1/tcp/${p.bootstrap}`])
    const line = await c.bootstrap.waitForLine(/bootstrap started/, 30_000)
    const addrs = (JSON.parse(line) as { addrs: string[] }).addrs
    c.bootstrapAddr = addrs[0] ?? ''
    // a few at a time: a burst of node starts on two cores delays each start more than it saves
    for (let i = 0; i < opts.nodes; i += 4) {
      await Promise.all(Array.from({ length: Math.min(4, opts.nodes - i) }, async (_, j) => c.startNode(i + j, false)))
    }
    await c.converged(opts.nodes)
    return c
  }

  /** start (or restart, same identity and ports) node i; resolves when its /healthz is ready */
  async startNode (i: number, waitMesh = true): Promise<MeshNode> {
    const p = this.ports
    const proc = this.reg.spawnNode(`node${i}`, CLI, ['node', '--json',
      '--data-dir', join(this.dir, `node${i}`), '--mesh-key', this.meshKey,
      '--listen', `/ip4/127.0.0.1/tcp/${p.mesh(i)}`,
      '--gateway', `/ip4/127.0.0.1/tcp/${p.gateway(i)}`,
      '--http', `127.0.0.1:${p.http(i)}`,
      '--ws-listen', `127.0.0.1:${p.ws(i)}`,
      '--max-clients', String(BENCH_MAX_CLIENTS),
      '--max-clients-per-ip', String(BENCH_MAX_CLIENTS),
      '--bootstrap', this.bootstrapAddr])
    const line = await proc.waitForLine(/node started/, 60_000)
    const info = JSON.parse(line) as { id: string, gateway: string[], ws?: string[], http: string }
    const httpUrl = `http://127.0.0.1:${p.http(i)}`
    await waitFor(async () => (await fetchJson<Health>(`${httpUrl}/healthz`)).ready, `node${i} /healthz ready`)
    const ws = info.ws?.find(u => u.includes(`:${p.ws(i)}/`))
    if (ws == null) throw new Error(`node${i} does not list its WebSocket edge on port ${p.ws(i)}: ${line}`)
    const node: MeshNode = { index: i, proc, nodeId: info.id, gateway: info.gateway.find(a => !a.includes('/ws')) ?? info.gateway[0] ?? '', ws, httpUrl }
    this.nodes[i] = node
    if (waitMesh) await this.converged(this.live().length)
    return node
  }

  live (): MeshNode[] {
    return this.nodes.filter((n): n is MeshNode => n != null && n.proc.alive)
  }

  node (i: number): MeshNode {
    const n = this.nodes[i]
    if (n == null) throw new Error(`node${i} is not running`)
    return n
  }

  /** wait until every live node counts `count` nodes up */
  async converged (count: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(async () => {
      const hs = await Promise.all(this.live().map(async n => this.health(n.index)))
      return hs.every(h => h.ready && h.meshNodes === count)
    }, `${count} nodes in every node's presence view`, timeoutMs, 200)
  }

  async health (i: number): Promise<Health> {
    return fetchJson<Health>(`${this.node(i).httpUrl}/healthz`)
  }

  async metrics (i: number): Promise<Metrics> {
    return fetchMetrics(`${this.node(i).httpUrl}/metrics`)
  }

  clientAddr (i: number): string {
    return this.edge === 'ws' ? this.node(i).ws : this.node(i).gateway
  }

  /** node i's libp2p gateway multiaddr, whatever `edge` says */
  gatewayAddr (i: number): string {
    return this.node(i).gateway
  }

  serverId (i: number): string {
    return this.node(i).nodeId
  }

  serverProc (i: number): Proc {
    return this.node(i).proc
  }

  processes (): Array<{ name: string, role: ServerSnapshot['role'], proc: Proc }> {
    return [
      ...this.live().map(n => ({ name: `node${n.index}`, role: 'server' as const, proc: n.proc })),
      { name: 'bootstrap', role: 'bootstrap' as const, proc: this.bootstrap }
    ]
  }

  private classify (i: number | null): (key: string) => Traffic {
    const p = this.ports
    return key => {
      if (i != null && (key === `in:${p.gateway(i)}` || key === `in:${p.ws(i)}`)) return 'client'
      if (i != null && key === `in:${p.http(i)}`) return 'control'
      return 'peer'
    }
  }

  async snapshot (gc = false): Promise<ClusterSnapshot> {
    const servers: ServerSnapshot[] = []
    await Promise.all(this.processes().map(async ({ name, role, proc }) => {
      const index = role === 'server' ? Number(name.slice(4)) : null
      const [io, m] = await Promise.all([proc.io(gc), index == null ? undefined : this.metrics(index).catch(() => undefined)])
      const counters: Record<string, number> = {}
      if (m != null) {
        counters.clientIn = m.sum('meshchat_messages_in_total', { source: 'client' })
        counters.meshIn = m.sum('meshchat_messages_in_total', { source: 'mesh' })
        counters.roomMeshIn = m.sum('meshchat_messages_in_total', { source: 'mesh', kind: 'room' })
        counters.deliveries = m.sum('meshchat_messages_out_total')
        counters.duplicates = m.sum('meshchat_duplicates_total')
        counters.dmReceived = m.sum('meshchat_dms_total', { outcome: 'received' })
        counters.dmDelivered = m.sum('meshchat_dms_total', { outcome: 'delivered' })
        counters.dmQueued = m.sum('meshchat_dms_total', { outcome: 'queued' })
        counters.dmForwarded = m.sum('meshchat_dms_total', { outcome: 'forwarded' })
        counters.presenceBytesIn = m.sum('meshchat_presence_bytes_total', { direction: 'in' })
        counters.presenceBytesOut = m.sum('meshchat_presence_bytes_total', { direction: 'out' })
        counters.roomPresenceBytesIn = m.sum('meshchat_room_presence_bytes_total', { direction: 'in' })
        counters.directoryBytesIn = m.sum('meshchat_directory_bytes_total', { direction: 'in' })
        counters.directoryRequestsOut = m.sum('meshchat_directory_requests_total')
        counters.directoryRegistrationsOut = m.sum('meshchat_directory_requests_total', { kind: 'register' })
        counters.presenceCpuSec = m.sum('meshchat_presence_cpu_seconds_total')
        for (const part of ['gossip', 'heartbeat', 'local', 'rooms', 'directory']) counters[`presenceCpuSec_${part}`] = m.sum('meshchat_presence_cpu_seconds_total', { part })
        counters.meshsubBytesIn = m.sum('libp2p_data_transfer_bytes_total', { protocol: '/meshsub/1.2.0 received' })
        counters.meshsubBytesOut = m.sum('libp2p_data_transfer_bytes_total', { protocol: '/meshsub/1.2.0 sent' })
        counters.g_rooms = m.sum('meshchat_rooms_subscribed')
        for (const s of m.samples) {
          if (s.name === 'meshchat_delivery_latency_seconds_bucket') counters[`hop_le_${s.labels.le ?? ''}`] = s.value
        }
        // every copy the node hashed (duplicates included, plus its own publishes), less its own
        // publishes and less what gossipsub handed on after its dedupe: the copies gossipsub dropped.
        // Room events from other nodes: the gossip copies received plus the hand-offs
        if (m.has('meshchat_gossip_copies_total')) {
          const copies = m.sum('meshchat_gossip_copies_total', { kind: 'room' })
          const own = m.has('meshchat_gossip_published_total')
            ? m.sum('meshchat_gossip_published_total')
            : m.sum('meshchat_messages_in_total', { source: 'client', kind: 'room' }) + m.sum('meshchat_messages_in_total', { source: 'client', kind: 'typing' })
          counters.handOffsIn = m.sum('meshchat_room_handoffs_in_total')
          counters.roomCopiesIn = copies - own + counters.handOffsIn
          counters.gossipDuplicates = copies - own - m.sum('meshchat_gossip_delivered_total')
        }
      }
      counters.g_heapUsed = io.heapUsed ?? NaN
      counters.g_external = io.external ?? NaN
      counters.g_heapTotal = io.heapTotal ?? NaN
      servers.push({ name, role, proc: proc.stats(), ...classifyIo(io, this.classify(index)), counters })
    }))
    servers.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
    return { t: Date.now(), servers }
  }

  resetPeaks (): void {
    for (const p of this.processes()) p.proc.resetPeak()
  }

  async stop (): Promise<void> {
    await Promise.all(this.live().map(async n => n.proc.stop('SIGTERM', 5000)))
    await this.bootstrap?.stop('SIGTERM', 3000)
  }
}
