/**
 * The fault rig: a bootstrap daemon and N meshchat nodes as real processes (the `meshchat` CLI),
 * each in its own network namespace with its own address, and a load generator process in another.
 * Faults are applied from outside: nftables rules in a node's namespace (partitions, one-way
 * partitions, packet loss), signals to its process (SIGKILL and a restart on the same data
 * directory, SIGSTOP/SIGCONT), a wall-clock offset per node (MESHCHAT_CLOCK_OFFSET_MS).
 * Everything is removed on stop, on SIGINT/SIGTERM, at exit, and (for runs killed outright) at the
 * next start.
 */
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Network, NetnsUnavailableError, netnsUnavailable, removeLeftovers, sh } from './netns.js'
import type { ChildProcess } from 'node:child_process'
import type { WriteStream } from 'node:fs'
import type { NetHost } from './netns.js'
import type { FinalView, LoadgenConfig } from './observations.js'

/** the repository root, from test/fault (vitest) or dist/test/fault (npm run chaos) */
const ROOT = new URL(/\/dist\/test\/fault\/[^/]+$/.test(import.meta.url) ? '../../../' : '../../', import.meta.url)
const CLI = fileURLToPath(new URL('bin/meshchat.js', ROOT))
const LOADGEN = fileURLToPath(new URL('dist/test/fault/loadgen.js', ROOT))
const JS_STACK = fileURLToPath(new URL('dist/test/fault/js-stack.js', ROOT))

/** node.yaml lines raising the backlog budget to `perSec` events a second (a burst of 10 s), and history pages to match */
function budgetsYaml (perSec: number): string {
  const pages = Math.max(2, Math.ceil(perSec / 250))
  return [
    'budgets:',
    `  backlog: { session: { ratePerSec: ${perSec}, burst: ${perSec * 10} }, user: { ratePerSec: ${perSec}, burst: ${perSec * 10} } }`,
    `  history: { session: { ratePerSec: ${pages}, burst: ${pages * 5} }, user: { ratePerSec: ${pages}, burst: ${pages * 5} } }`
  ].join('\n')
}

/** Node 24: this process's runtime when it is one (npm scripts, vitest), else the pinned package's binary */
function nodeBinary (): string {
  const major = Number(process.versions.node.split('.')[0])
  if (major >= 24) return process.execPath
  const pinned = fileURLToPath(new URL('node_modules/node/bin/node', ROOT))
  if (existsSync(pinned)) return pinned
  throw new Error('Node 24 is needed: run through npm (npm run chaos) or npx')
}

export interface RigNode {
  index: number
  host: NetHost
  dataDir: string
  clockOffsetMs: number
  proc?: ChildProcess
  id: string
  ws: string
  state: 'up' | 'killed' | 'paused'
}

export interface RigOptions {
  nodes: number
  /** per node, ms; default none */
  clockOffsetsMs?: number[]
  /** the nodes' presence forget window (timings.forgetAfterMs); default the node's own (10 minutes) */
  forgetAfterMs?: number
  /**
   * stored events a client session (and user) may be sent back per second (budgets.backlog, and the
   * history page rate with it); default the node's own (100/s a session). The soak raises it so the
   * checker's final read of an hour's histories takes seconds, not twenty minutes
   */
  backlogPerSec?: number
  /** where data directories and logs go; default a new temporary directory, removed on stop unless `keep` */
  dir?: string
  keep?: boolean
  /** progress lines */
  log?: (line: string) => void
}

/** one child process in a namespace, with its output in a log file */
interface Child {
  proc: ChildProcess
  exited: Promise<void>
}

export class Rig {
  readonly net: Network
  readonly nodes: RigNode[] = []
  dir = ''
  bootstrapAddr = ''
  private bootHost?: NetHost
  private boot?: Child
  private clientHost?: NetHost
  private loadgen?: { child: Child, seq: number, waiting: Map<number, (v: Record<string, unknown>) => void> }
  /** directed blocks between hosts, counted so overlapping faults heal independently */
  private readonly blocked = new Map<string, number>()
  private readonly loss = new Map<number, number>()
  private readonly logs: WriteStream[] = []
  /** whether the nodes start with the rig's node.yaml */
  private config = false
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.net.removeSync()
    process.exit(sig === 'SIGINT' ? 130 : 143)
  }

  private readonly onExit = (): void => { this.net.removeSync() }
  private readonly log: (line: string) => void

  constructor (readonly opts: RigOptions) {
    this.net = new Network(process.pid % 250)
    this.log = opts.log ?? (() => {})
  }

  /** create the network, start the bootstrap, the nodes and the load generator's namespace */
  async start (): Promise<void> {
    const why = netnsUnavailable()
    if (why != null) throw new NetnsUnavailableError(`the fault rig cannot run here: ${why}`)
    const left = await removeLeftovers()
    if (left.length > 0) this.log(`removed ${left.length} namespaces left by earlier runs`)
    process.once('SIGINT', this.onSignal)
    process.once('SIGTERM', this.onSignal)
    process.once('exit', this.onExit)
    this.dir = this.opts.dir ?? await mkdtemp(join(tmpdir(), 'meshchat-chaos-'))
    await mkdir(this.dir, { recursive: true })
    await this.net.create()
    this.bootHost = await this.net.add('boot')
    for (let i = 0; i < this.opts.nodes; i++) {
      const host = await this.net.add(`n${i}`)
      this.nodes.push({ index: i, host, dataDir: join(this.dir, `n${i}`), clockOffsetMs: this.opts.clockOffsetsMs?.[i] ?? 0, id: '', ws: '', state: 'killed' })
    }
    this.clientHost = await this.net.add('clients')
    await sh(nodeBinary(), [CLI, 'keygen', '--out', join(this.dir, 'swarm.key')])
    const yaml = [
      ...(this.opts.forgetAfterMs != null ? [`timings:\n  forgetAfterMs: ${this.opts.forgetAfterMs}`] : []),
      ...(this.opts.backlogPerSec != null ? [budgetsYaml(this.opts.backlogPerSec)] : [])
    ]
    if (yaml.length > 0) await writeFile(join(this.dir, 'node.yaml'), yaml.join('\n') + '\n')
    this.config = yaml.length > 0
    const trusted = this.net.hosts.map(h => h.addr).join(',')
    const boot = this.bootHost
    const { child, line } = await this.spawnIn(boot, 'boot', [CLI, 'bootstrap', '--json',
      '--data-dir', join(this.dir, 'boot'), '--mesh-key', join(this.dir, 'swarm.key'),
      '--listen', `/ip4/${boot.addr}/tcp/4000`, '--trusted-ip', trusted], {}, 'bootstrap started')
    this.boot = child
    this.bootstrapAddr = String((line.addrs as string[])[0])
    this.log(`bootstrap ${this.bootstrapAddr}`)
    for (const n of this.nodes) await this.startNode(n.index)
  }

  private async spawnIn (host: NetHost, name: string, args: string[], env: Record<string, string>, ready: string): Promise<{ child: Child, line: Record<string, unknown> }> {
    const proc = spawn('ip', ['netns', 'exec', host.ns, nodeBinary(), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    const logFile = createWriteStream(join(this.dir, `${name}.log`), { flags: 'a' })
    this.logs.push(logFile)
    proc.stderr?.pipe(logFile, { end: false })
    const exited = new Promise<void>(resolve => proc.once('exit', () => { resolve() }))
    const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${name} did not start within 60 s (see ${join(this.dir, `${name}.log`)})`)) }, 60_000)
      createInterface({ input: proc.stdout! }).on('line', l => {
        logFile.write(l + '\n')
        try {
          const msg = JSON.parse(l) as Record<string, unknown>
          if (typeof msg.msg === 'string' && msg.msg.startsWith(ready)) {
            clearTimeout(timer)
            resolve(msg)
          }
        } catch {}
      })
      void exited.then(() => { clearTimeout(timer); reject(new Error(`${name} exited before it started (see ${join(this.dir, `${name}.log`)})`)) })
    })
    return { child: { proc, exited }, line }
  }

  /** start (or restart, on the same data directory) node `i` */
  async startNode (i: number): Promise<void> {
    const n = this.node(i)
    const a = n.host.addr
    const { child, line } = await this.spawnIn(n.host, `n${i}`, [CLI, 'node', '--json',
      ...(this.config ? ['--config', join(this.dir, 'node.yaml')] : []),
      '--data-dir', n.dataDir, '--mesh-key', join(this.dir, 'swarm.key'),
      '--listen', `/ip4/${a}/tcp/4001`, '--gateway', `/ip4/${a}/tcp/4003`, '--http', `${a}:8080`,
      '--bootstrap', this.bootstrapAddr, '--trusted-ip', this.net.hosts.map(h => h.addr).join(',')],
    n.clockOffsetMs === 0 ? {} : { MESHCHAT_CLOCK_OFFSET_MS: String(n.clockOffsetMs) }, 'node started')
    n.proc = child.proc
    n.id = String(line.id)
    n.ws = `ws://${a}:8080/ws`
    n.state = 'up'
  }

  /** a node's address, or the bootstrap daemon's for -1 */
  private addr (i: number): string {
    if (i === -1) return this.bootHost?.addr ?? ''
    return this.node(i).host.addr
  }

  node (i: number): RigNode {
    const n = this.nodes[i]
    if (n == null) throw new RangeError(`no node ${i}`)
    return n
  }

  /**
   * What a node that stopped answering is doing: its scheduler state and CPU time from /proc, and its
   * JavaScript stack, three times a second apart, through its inspector (SIGUSR1 opens it on
   * 127.0.0.1:9229 inside the node's namespace; js-stack.ts pauses it), kept as n<i>-stack.txt in the
   * run directory.
   */
  async diagnose (i: number): Promise<string> {
    const n = this.node(i)
    const pid = n.proc?.pid
    if (pid == null || n.state === 'killed') return `n${i}: not running`
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    // fields after the command: state is the 3rd, utime and stime the 14th and 15th (clock ticks)
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const head = `n${i} (pid ${pid}, ${n.state}): scheduler state ${f[0] ?? '?'}, CPU ${(Number(f[11]) + Number(f[12])) / 100} s`
    if (n.state === 'paused') return head
    n.proc?.kill('SIGUSR1')
    await new Promise(resolve => setTimeout(resolve, 1000))
    let stacks: string
    try {
      stacks = await sh('timeout', ['40', 'ip', 'netns', 'exec', n.host.ns, nodeBinary(), JS_STACK, '9229', '3'])
    } catch (err) {
      stacks = `no stack: ${(err as Error).message}`
    }
    const file = join(this.dir, `n${i}-stack.txt`)
    await writeFile(file, stacks)
    const top = stacks.split('\n').slice(0, 8).join('\n')
    return `${head}; its JavaScript stack (${file}):\n${top}`
  }

  /** SIGKILL: no goodbye, no flush */
  async kill (i: number): Promise<void> {
    const n = this.node(i)
    if (n.proc == null || n.state === 'killed') return
    const exited = new Promise<void>(resolve => n.proc?.once('exit', () => { resolve() }))
    if (n.proc.exitCode == null && n.proc.signalCode == null) {
      n.proc.kill('SIGKILL')
      await exited
    }
    n.state = 'killed'
  }

  async restart (i: number): Promise<void> {
    if (this.node(i).state !== 'killed') return
    await this.startNode(i)
  }

  pause (i: number): void {
    const n = this.node(i)
    if (n.state !== 'up') return
    n.proc?.kill('SIGSTOP')
    n.state = 'paused'
  }

  resume (i: number): void {
    const n = this.node(i)
    if (n.state !== 'paused') return
    n.proc?.kill('SIGCONT')
    n.state = 'up'
  }

  /**
   * drop packets from each node of `from` to each node of `to` (and nothing the other way); -1 is
   * the bootstrap daemon, whose side is cut in the node's namespace alone
   */
  async block (from: number[], to: number[]): Promise<void> {
    const touched = new Set<number>()
    for (const f of from) {
      for (const t of to) {
        if (f === t) continue
        const key = `${f}>${t}`
        this.blocked.set(key, (this.blocked.get(key) ?? 0) + 1)
        touched.add(f).add(t)
      }
    }
    touched.delete(-1)
    await this.apply(touched)
  }

  async unblock (from: number[], to: number[]): Promise<void> {
    const touched = new Set<number>()
    for (const f of from) {
      for (const t of to) {
        const key = `${f}>${t}`
        const c = this.blocked.get(key) ?? 0
        if (c <= 1) this.blocked.delete(key)
        else this.blocked.set(key, c - 1)
        touched.add(f).add(t)
      }
    }
    touched.delete(-1)
    await this.apply(touched)
  }

  /** `pct` % of the packets into and out of node `i` are dropped (0: none) */
  async setLoss (i: number, pct: number): Promise<void> {
    if (pct === 0) this.loss.delete(i)
    else this.loss.set(i, pct)
    await this.apply(new Set([i]))
  }

  /** lift every network fault and resume every paused node (killed ones stay down) */
  async healAll (): Promise<void> {
    this.blocked.clear()
    this.loss.clear()
    await this.apply(new Set(this.nodes.map(n => n.index)))
    for (const n of this.nodes) this.resume(n.index)
  }

  private async apply (touched: Set<number>): Promise<void> {
    for (const i of touched) {
      const n = this.node(i)
      const dropTo: string[] = []
      const dropFrom: string[] = []
      for (const key of this.blocked.keys()) {
        const [f, t] = key.split('>').map(Number) as [number, number]
        if (f === i) dropTo.push(this.addr(t))
        if (t === i) dropFrom.push(this.addr(f))
      }
      await this.net.setRules(n.host, { dropFrom, dropTo, lossPct: this.loss.get(i) ?? 0 })
    }
  }

  /** start the load generator in its namespace */
  async startLoadgen (cfg: Omit<LoadgenConfig, 'nodes' | 'obsFile'>): Promise<string> {
    if (!existsSync(LOADGEN)) throw new Error(`${LOADGEN} is missing: run npm run build`)
    const obsFile = join(this.dir, 'observations.jsonl')
    const full: LoadgenConfig = { ...cfg, obsFile, nodes: this.nodes.map(n => ({ id: n.id, ws: n.ws })) }
    const host = this.clientHost
    if (host == null) throw new Error('rig not started')
    const proc = spawn('ip', ['netns', 'exec', host.ns, nodeBinary(), LOADGEN, JSON.stringify(full)], { stdio: ['pipe', 'pipe', 'pipe'] })
    const logFile = createWriteStream(join(this.dir, 'loadgen.log'), { flags: 'a' })
    this.logs.push(logFile)
    proc.stderr?.pipe(logFile, { end: false })
    const exited = new Promise<void>(resolve => proc.once('exit', () => { resolve() }))
    const lg = { child: { proc, exited }, seq: 0, waiting: new Map<number, (v: Record<string, unknown>) => void>() }
    createInterface({ input: proc.stdout! }).on('line', l => {
      try {
        const msg = JSON.parse(l) as Record<string, unknown>
        lg.waiting.get(Number(msg.seq))?.(msg)
        lg.waiting.delete(Number(msg.seq))
      } catch {
        logFile.write(l + '\n')
      }
    })
    void exited.then(() => {
      for (const w of lg.waiting.values()) w({ error: 'the load generator exited' })
      lg.waiting.clear()
    })
    this.loadgen = lg
    return obsFile
  }

  /** a command to the load generator; resolves with its reply, rejects with its error */
  async command (cmd: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const lg = this.loadgen
    if (lg == null) throw new Error('no load generator')
    const seq = ++lg.seq
    const reply = await new Promise<Record<string, unknown>>(resolve => {
      lg.waiting.set(seq, resolve)
      lg.child.proc.stdin?.write(JSON.stringify({ seq, cmd, ...args }) + '\n')
    })
    if (typeof reply.error === 'string') throw new Error(`load generator: ${reply.error}`)
    return reply
  }

  async finalView (timeoutMs: number, healedAgoMs: number): Promise<FinalView> {
    return (await this.command('final', { timeoutMs, healedAgoMs })).view as FinalView
  }

  /** stop everything and remove the namespaces (and the run directory unless kept: `keep` here or in the options) */
  async stop (keep = false): Promise<void> {
    if (this.loadgen != null) {
      const lg = this.loadgen
      this.loadgen = undefined
      lg.child.proc.stdin?.end()
      await Promise.race([lg.child.exited, new Promise(resolve => setTimeout(resolve, 5000))])
      lg.child.proc.kill('SIGKILL')
    }
    for (const n of this.nodes) {
      if (n.state === 'paused') n.proc?.kill('SIGCONT')
      n.proc?.kill('SIGKILL')
    }
    this.boot?.proc.kill('SIGKILL')
    await this.net.remove()
    await Promise.all(this.logs.map(async l => await new Promise<void>(resolve => l.end(resolve))))
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    process.off('exit', this.onExit)
    if (!keep && this.opts.keep !== true && this.opts.dir == null && this.dir !== '') await rm(this.dir, { recursive: true, force: true })
  }
}
