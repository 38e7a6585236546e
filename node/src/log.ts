/**
 * The operator's log: pino, at a level set by --log-level (and changed by a
 * SIGHUP reload), as JSON lines or human lines. Services keep logging through
 * libp2p's debug namespaces; what an operator must see is taken from the
 * node's events and counters here: peers up and down, nodes suspected and
 * down, failed dials (naming a different mesh key when the encrypted
 * handshake is what failed), refusals and redirects by kind (summed, one line
 * per interval), nodes the failure detector declared down (and how long they
 * were silent), internal and storage errors, and readiness changes.
 */
import { format } from 'node:util'
import { connect } from 'node:net'
import { Writable } from 'node:stream'
import { multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import type { Logger as Pino } from 'pino'
import type { Logger } from '@libp2p/interface'
import type { LogSettings } from './settings.js'
import type { MeshchatNode } from './daemon.js'
import type { PresenceChange } from './state/presence.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type OpsLog = Pino

function textLine (obj: Record<string, unknown>): string {
  const { level, time, msg, pid: _p, hostname: _h, ...rest } = obj
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'object' && v != null ? JSON.stringify(v) : String(v)}`)
  return `${String(time)} ${String(level).toUpperCase().padEnd(5)} ${String(msg)}${fields.length > 0 ? ' ' + fields.join(' ') : ''}\n`
}

/** a stream that turns pino's JSON lines into human ones */
function textStream (out: NodeJS.WritableStream): Writable {
  return new Writable({
    write (chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue
        try {
          out.write(textLine(JSON.parse(line) as Record<string, unknown>))
        } catch {
          out.write(line + '\n')
        }
      }
      done()
    }
  })
}

/**
 * The process's logger. JSON goes to stdout synchronously, so a line written
 * just before the process exits is not lost.
 */
export function createLogger (settings: LogSettings, out: NodeJS.WritableStream = process.stdout): OpsLog {
  const opts = {
    level: settings.level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) }
  }
  if (settings.format === 'json') {
    return out === process.stdout ? pino(opts, pino.destination({ fd: 1, sync: true })) : pino(opts, out as unknown as Writable)
  }
  return pino(opts, textStream(out))
}

/**
 * A libp2p logger that also sends its error lines to the operator's log (the
 * supervisor reports what escaped a handler through one). Debug lines stay
 * with libp2p's namespaces.
 */
export function teeErrors (base: Logger, ops: OpsLog, where: string): Logger {
  const tee = ((fmt: unknown, ...args: unknown[]) => { base(fmt as string, ...args) }) as Logger
  return Object.assign(tee, base, {
    error: (fmt: unknown, ...args: unknown[]) => {
      base.error(fmt as string, ...args)
      ops.error({ component: where }, format(String(fmt).replace(/%e/g, '%s'), ...args))
    }
  })
}

/** every message in an error, its causes and (for a dial of several addresses) its parts */
function errorText (err: unknown, depth = 0): string {
  if (!(err instanceof Error) || depth > 3) return String(err)
  const parts = [`${err.name} ${err.message}`]
  const cause = (err as { cause?: unknown }).cause
  if (cause != null) parts.push(errorText(cause, depth + 1))
  for (const e of (err as { errors?: unknown[] }).errors ?? []) parts.push(errorText(e, depth + 1))
  return parts.join(' | ')
}

const KEY_MISMATCH = 'the peer accepts TCP connections but the encrypted handshake failed: most likely this node and the peer hold different mesh keys (--mesh-key)'

/**
 * What a failed dial most likely means, for the operator. `tcpOpen` says
 * whether a plain TCP connection to the address succeeds: if it does and the
 * libp2p dial still fails, the private network's handshake is what failed
 * (with two different keys each side reads noise, so the failure shows up as
 * a stalled or garbled handshake, whatever error name it surfaces under).
 */
export function dialFailureCause (err: unknown, tcpOpen?: boolean): string | undefined {
  const text = errorText(err)
  if (/ECONNREFUSED/.test(text)) return 'nothing listens at that address'
  if (tcpOpen === true) return KEY_MISMATCH
  if (/EncryptionFailed|noise|decrypt|ciphertext/i.test(text)) return KEY_MISMATCH
  if (tcpOpen === false || /ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/.test(text)) return 'the address is unreachable (firewall, routing, or the peer is down)'
  return undefined
}

/** can a plain TCP connection be made to this multiaddr's host and port? undefined when it is not a TCP address */
async function tcpOpen (addr: string, timeoutMs: number): Promise<boolean | undefined> {
  // plain TCP addresses only (/ip4|ip6|dns*/<host>/tcp/<port>, optionally /p2p/<id>)
  const m = /^\/(?:ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d+)(?:\/p2p\/[^/]+)?$/.exec(addr)
  if (m == null) return undefined
  const host = m[1] ?? ''
  const port = Number(m[2])
  return new Promise(resolve => {
    const socket = connect({ host, port })
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(timeoutMs, () => { done(false) })
    socket.once('connect', () => { done(true) })
    socket.once('error', () => { done(false) })
  })
}

/**
 * Why `addr` cannot be dialled, for the operator's log: undefined when the
 * dial succeeds, else the error's text and, when it can be told, the likely
 * cause (a different mesh key, nothing listening, unreachable).
 */
export async function dialProblem (host: { dial: (addr: Multiaddr, opts: { signal: AbortSignal }) => Promise<unknown> }, addr: string, timeoutMs = 5000): Promise<{ error: string, likelyCause?: string, name: string } | undefined> {
  try {
    await host.dial(multiaddr(addr), { signal: AbortSignal.timeout(timeoutMs) })
    return undefined
  } catch (err) {
    const cause = dialFailureCause(err, await tcpOpen(addr, 3000))
    return { name: (err as Error).name, error: errorText(err), ...(cause == null ? {} : { likelyCause: cause }) }
  }
}

export interface OpsWatchInit {
  /** how often refusals are summed into one line and readiness is checked */
  intervalMs?: number
  /** the same failure of the same kind is logged at most once per this */
  repeatMs?: number
}

/**
 * Watches a running node for what an operator must see and logs it. Started
 * after the node; `stop()` removes every listener and timer.
 */
export class OpsWatch {
  private readonly node: MeshchatNode
  private readonly log: OpsLog
  private readonly intervalMs: number
  private readonly repeatMs: number
  private timer?: ReturnType<typeof setInterval>
  private readonly lastSaid = new Map<string, number>()
  private lastRejected = new Map<string, number>()
  private lastStoreErrors = new Map<string, number>()
  private lastRedirects = new Map<string, number>()
  private lastReady?: boolean
  private probing = false
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    this.log.info({ peer: evt.detail.toString(), peers: this.node.mesh.getPeers().length }, 'mesh peer up')
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    const known = this.node.presence.replica.nodes().find(n => n.id === peer)
    if (known?.up === true && this.node.mesh.getConnections(evt.detail).length === 0) {
      this.log.warn({ peer, downAfterMs: this.node.config.timings.suspectGraceMs }, 'mesh peer down; node suspected, down unless heard from soon')
    } else {
      this.log.info({ peer, peers: this.node.mesh.getPeers().length }, 'mesh peer down')
    }
  }

  private readonly onPresence = (evt: CustomEvent<PresenceChange>): void => {
    for (const n of evt.detail.nodes) {
      if (n.node === this.node.nodeId) continue
      const view = this.node.presence.replica.nodes().find(v => v.id === n.node)
      if (n.up) this.log.info({ node: n.node, incarnation: n.incarnation }, 'node up')
      else if (view?.left === true) this.log.info({ node: n.node, incarnation: n.incarnation }, 'node left')
      else this.nodeDown(n.node, n.incarnation, view?.lastHeard)
    }
  }

  /**
   * The failure detector gave up on a node: no heartbeat for `downAfterMs`
   * (3H), or every connection to it dropped and no heartbeat came within
   * `suspectGraceMs`. Its users go offline everywhere.
   */
  private nodeDown (node: string, incarnation: number, lastHeard: number | undefined): void {
    const t = this.node.config.timings
    const silentMs = lastHeard == null ? undefined : Math.max(0, this.node.clock.now() - lastHeard)
    const silent = silentMs != null && silentMs >= t.downAfterMs
    this.log.warn({
      node,
      incarnation,
      silentMs,
      reason: silent ? `no heartbeat for ${t.downAfterMs} ms` : `every connection dropped and no heartbeat for ${t.suspectGraceMs} ms`
    }, 'node down: its users go offline')
  }

  constructor (node: MeshchatNode, log: OpsLog, init: OpsWatchInit = {}) {
    this.node = node
    this.log = log
    this.intervalMs = init.intervalMs ?? 10_000
    this.repeatMs = init.repeatMs ?? 60_000
  }

  start (): void {
    if (this.timer != null) return
    this.node.mesh.addEventListener('peer:connect', this.onConnect)
    this.node.mesh.addEventListener('peer:disconnect', this.onDisconnect)
    this.node.presence.addEventListener('change', this.onPresence)
    void this.counts(this.node.metrics.rejected, 'code').then(m => { this.lastRejected = m })
    void this.counts(this.node.metrics.storeErrors, 'op').then(m => { this.lastStoreErrors = m })
    void this.counts(this.node.metrics.redirects, 'reason').then(m => { this.lastRedirects = m })
    // readiness and a first probe soon after start, then at the interval
    setTimeout(() => { void this.tick() }, Math.min(3000, this.intervalMs)).unref()
    this.timer = setInterval(() => { void this.tick() }, this.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.node.mesh.removeEventListener('peer:connect', this.onConnect)
    this.node.mesh.removeEventListener('peer:disconnect', this.onDisconnect)
    this.node.presence.removeEventListener('change', this.onPresence)
  }

  /** log what the counters say now instead of at the next interval (before a drain's end, say) */
  async flush (): Promise<void> {
    await this.tick()
  }

  /** true the first time, and again once `repeatMs` has passed */
  private fresh (key: string): boolean {
    const now = Date.now()
    const last = this.lastSaid.get(key)
    if (last != null && now - last < this.repeatMs) return false
    this.lastSaid.set(key, now)
    // bounded: keys are addresses and error kinds, but never keep more than a few hundred
    if (this.lastSaid.size > 500) this.lastSaid.delete(this.lastSaid.keys().next().value ?? '')
    return true
  }

  /** a labelled counter's values by its one label */
  private async counts (counter: { get: () => Promise<{ values: Array<{ value: number, labels: Record<string, string | number | undefined> }> }> }, label: string): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const v of (await counter.get()).values) out.set(String(v.labels[label]), v.value)
    return out
  }

  /** what grew since the last look, by label */
  private grown (now: Map<string, number>, before: Map<string, number>): Record<string, number> {
    const delta: Record<string, number> = {}
    for (const [k, v] of now) {
      const d = v - (before.get(k) ?? 0)
      if (d > 0) delta[k] = d
    }
    return delta
  }

  private async tick (): Promise<void> {
    if (this.timer == null || !this.node.running) return
    try {
      const rejected = await this.counts(this.node.metrics.rejected, 'code')
      const refused = this.grown(rejected, this.lastRejected)
      this.lastRejected = rejected
      if (Object.keys(refused).length > 0) this.log.warn({ refused, seconds: this.intervalMs / 1000 }, 'requests refused')
      const redirects = await this.counts(this.node.metrics.redirects, 'reason')
      const redirected = this.grown(redirects, this.lastRedirects)
      this.lastRedirects = redirects
      if (Object.keys(redirected).length > 0) {
        // a draining node that knows nowhere to send clients is what an operator must act on
        const level = redirected.draining_nowhere != null ? 'warn' : 'info'
        this.log[level]({ redirected, seconds: this.intervalMs / 1000 }, 'clients sent to other nodes')
      }
      const storeErrors = await this.counts(this.node.metrics.storeErrors, 'op')
      const failed = this.grown(storeErrors, this.lastStoreErrors)
      this.lastStoreErrors = storeErrors
      if (Object.keys(failed).length > 0) this.log.error({ failed, storeOpen: this.node.store.isOpen }, 'store operations failed')
      const r = this.node.readiness()
      if (r.ready !== this.lastReady) {
        if (r.ready) this.log.info({ peers: r.peers }, 'ready')
        else this.log.warn({ reasons: r.reasons }, 'not ready')
        this.lastReady = r.ready
      }
      if (!r.ready && r.peers === 0) this.probeBootstrap()
    } catch (err) {
      this.log.error({ err }, 'operations watch failed')
    }
  }

  /** with no mesh peer, dial the bootstrap addresses to say why they do not answer */
  private probeBootstrap (): void {
    if (this.probing) return
    this.probing = true
    const addrs = this.node.config.bootstrap.slice(0, 8)
    void Promise.all(addrs.map(async a => {
      const problem = await dialProblem(this.node.mesh, a)
      // a dial cut short by the node stopping says nothing about the peer
      if (problem == null || this.timer == null || !this.node.running) return
      if (!this.fresh(`dial ${a} ${problem.name}`)) return
      const { name: _n, ...fields } = problem
      this.log.warn({ addr: a, ...fields }, 'cannot reach bootstrap peer')
    })).finally(() => { this.probing = false })
  }
}
