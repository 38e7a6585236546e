/**
 * The baseline cluster: a real redis-server (the Debian package) on a loopback port, started and
 * stopped here, and N Socket.IO server processes (socketio-server.ts) using @socket.io/redis-adapter.
 */
import { fileURLToPath } from 'node:url'
import { createClient } from 'redis'
import { classifyIo, emptyTraffic } from './cluster.js'
import { assertPortsFree, waitFor } from './procs.js'
import { fetchJson } from './prom.js'
import type { Cluster, ClusterSnapshot, ServerSnapshot, Traffic } from './cluster.js'
import type { Proc, ProcRegistry } from './procs.js'

const SERVER = fileURLToPath(new URL('../socketio-server.js', import.meta.url))

export type AdapterMode = 'classic' | 'sharded'

export function sioPorts (base: number): { redis: number, server: (i: number) => number } {
  return { redis: base, server: i => base + 1 + i }
}

type RedisClient = ReturnType<typeof createClient>

export class SocketIoCluster implements Cluster {
  readonly system = 'socketio' as const
  readonly label: string
  readonly mode: AdapterMode
  redis!: Proc
  readonly servers: Proc[] = []
  private readonly ports: ReturnType<typeof sioPorts>
  private readonly count: number
  private admin?: RedisClient

  private constructor (base: number, count: number, mode: AdapterMode) {
    this.ports = sioPorts(base)
    this.count = count
    this.mode = mode
    this.label = `Socket.IO + Redis (${mode} adapter)`
  }

  get size (): number {
    return this.count
  }

  static async start (reg: ProcRegistry, opts: { base: number, servers: number, adapter?: AdapterMode }): Promise<SocketIoCluster> {
    const c = new SocketIoCluster(opts.base, opts.servers, opts.adapter ?? 'classic')
    const p = c.ports
    await assertPortsFree([p.redis, ...Array.from({ length: opts.servers }, (_, i) => p.server(i))])
    c.redis = reg.spawn({
      name: 'redis',
      command: 'redis-server',
      args: ['--port', String(p.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'notice',
        // pub/sub subscribers of a busy cluster: do not disconnect them for a slow read
        '--client-output-buffer-limit', 'pubsub 0 0 0']
    })
    await c.redis.waitForLine(/Ready to accept connections/, 15_000)
    const redisUrl = `redis://127.0.0.1:${p.redis}`
    c.admin = createClient({ url: redisUrl })
    c.admin.on('error', () => {})
    await c.admin.connect()
    for (let i = 0; i < opts.servers; i++) {
      c.servers.push(reg.spawnNode(`sio${i}`, SERVER, ['--port', String(p.server(i)), '--redis', redisUrl, '--adapter', c.mode]))
    }
    await Promise.all(c.servers.map(async (s, i) => {
      await s.waitForLine(/socket.io server started/, 30_000)
      await waitFor(async () => (await fetchJson<{ ready: boolean }>(`http://127.0.0.1:${p.server(i)}/healthz`)).ready, `sio${i} ready`)
    }))
    return c
  }

  clientAddr (i: number): string {
    return `http://127.0.0.1:${this.ports.server(i)}`
  }

  serverId (): string {
    return ''
  }

  serverProc (i: number): Proc {
    const p = this.servers[i]
    if (p == null) throw new Error(`sio${i} is not running`)
    return p
  }

  processes (): Array<{ name: string, role: ServerSnapshot['role'], proc: Proc }> {
    return [
      ...this.servers.map((proc, i) => ({ name: `sio${i}`, role: 'server' as const, proc })),
      { name: 'redis', role: 'redis' as const, proc: this.redis }
    ]
  }

  private classify (i: number): (key: string) => Traffic {
    return key => key === `in:${this.ports.server(i)}` ? 'client' : key === `out:${this.ports.redis}` ? 'peer' : 'control'
  }

  async snapshot (gc = false): Promise<ClusterSnapshot> {
    const servers: ServerSnapshot[] = await Promise.all(this.servers.map(async (proc, i) => {
      const io = await proc.io(gc)
      return { name: `sio${i}`, role: 'server' as const, proc: proc.stats(), ...classifyIo(io, this.classify(i)), counters: { ...io.counters, g_heapUsed: io.heapUsed ?? NaN, g_heapTotal: io.heapTotal ?? NaN, g_external: io.external ?? NaN } }
    }))
    // redis is not a node process: its own INFO counts the bytes it read and wrote
    const bytesIn = emptyTraffic()
    const bytesOut = emptyTraffic()
    try {
      const info = await this.admin?.info('stats') ?? ''
      bytesIn.peer = Number(/total_net_input_bytes:(\d+)/.exec(info)?.[1] ?? 0)
      bytesOut.peer = Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1] ?? 0)
    } catch {}
    servers.push({ name: 'redis', role: 'redis', proc: this.redis.stats(), bytesIn, bytesOut, counters: {} })
    return { t: Date.now(), servers }
  }

  resetPeaks (): void {
    for (const p of this.processes()) p.proc.resetPeak()
  }

  async stop (): Promise<void> {
    await Promise.all(this.servers.map(async s => s.stop('SIGTERM', 3000)))
    await this.admin?.quit().catch(() => {})
    await this.redis?.stop('SIGTERM', 3000)
  }
}
