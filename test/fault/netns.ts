/**
 * Linux network namespaces for the fault rig: one namespace per host, each with one veth end, the
 * other ends on a bridge inside a namespace of its own (so nothing of the run touches the machine's
 * own network or its firewall), and an nftables table per host namespace that the rig rewrites to
 * drop packets. Every name carries the `mc-` prefix, so a later run can remove what an earlier,
 * killed run left behind.
 */
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The rig cannot run here: not root, or no `ip`/`nft`, or the kernel refuses new namespaces. */
export class NetnsUnavailableError extends Error {
  static override name = 'NetnsUnavailableError'
  constructor (message: string) {
    super(message)
    this.name = 'NetnsUnavailableError'
  }
}

/** run a command; a failure carries the command and its stderr */
export async function sh (cmd: string, args: string[], input?: string): Promise<string> {
  if (input == null) {
    try {
      return (await run(cmd, args, { maxBuffer: 16 << 20 })).stdout
    } catch (err) {
      const e = err as { stderr?: string, message: string }
      throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() ?? e.message}`)
    }
  }
  return await new Promise<string>((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err != null) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() !== '' ? stderr.trim() : err.message}\n${input}`))
      else resolve(stdout)
    })
    child.stdin?.end(input)
  })
}

/**
 * Why the rig cannot run on this machine, or undefined when it can: checked by creating and removing
 * a namespace, not guessed from the uid.
 */
export function netnsUnavailable (): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root'
  for (const tool of ['ip', 'nft']) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore' })
    } catch {
      return `\`${tool}\` is not installed (apt-get install -y ${tool === 'ip' ? 'iproute2' : 'nftables'})`
    }
  }
  const probe = `mc-probe-${process.pid}`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' })
    execFileSync('ip', ['netns', 'exec', probe, 'nft', 'list', 'ruleset'], { stdio: 'pipe' })
  } catch (err) {
    return `cannot create a network namespace with nftables in it: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`
  } finally {
    try { execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' }) } catch {}
  }
  return undefined
}

/** the namespaces of this machine whose name starts with `prefix` */
export async function listNamespaces (prefix: string): Promise<string[]> {
  const out = await sh('ip', ['netns', 'list'])
  return out.split('\n').map(l => l.split(' ')[0] ?? '').filter(n => n.startsWith(prefix))
}

/**
 * Remove namespaces (and with them their veth ends and nftables tables) left by runs whose process is
 * gone: a run's names end in its pid (`mc-<pid>-…`). Returns what was removed.
 */
export async function removeLeftovers (): Promise<string[]> {
  const removed: string[] = []
  for (const ns of await listNamespaces('mc-')) {
    // `mc-<pid>-…` of a live process (this one included) is in use; probes (`mc-probe-…`) are short-lived leftovers
    const pid = Number(/^mc-(\d+)-/.exec(ns)?.[1])
    if (pid === process.pid || (Number.isInteger(pid) && processAlive(pid))) continue
    await killIn(ns)
    await sh('ip', ['netns', 'del', ns]).catch(() => {})
    removed.push(ns)
  }
  return removed
}

function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** SIGKILL every process still running inside a namespace */
export async function killIn (ns: string): Promise<void> {
  const out = await sh('ip', ['netns', 'pids', ns]).catch(() => '')
  for (const p of out.split('\n').map(Number).filter(n => Number.isInteger(n) && n > 0)) {
    try { process.kill(p, 'SIGKILL') } catch {}
  }
}

export interface NetHost {
  /** namespace name */
  ns: string
  /** its address on the run's /24 */
  addr: string
}

/**
 * One run's network: a bridge namespace and one namespace per host, addresses
 * `10.213.<subnet>.<10 + i>/24`. `add` creates a host, `remove` deletes all.
 */
export class Network {
  readonly prefix: string
  readonly bridgeNs: string
  readonly hosts: NetHost[] = []
  private created = false

  constructor (readonly subnet: number) {
    this.prefix = `mc-${process.pid}-`
    this.bridgeNs = `${this.prefix}br`
  }

  async create (): Promise<void> {
    await sh('ip', ['netns', 'add', this.bridgeNs])
    this.created = true
    await sh('ip', ['-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge'])
    await sh('ip', ['-n', this.bridgeNs, 'link', 'set', 'br0', 'up'])
  }

  /** a new host namespace on the bridge, with lo up and an empty nftables table `inet mc` */
  async add (name: string): Promise<NetHost> {
    const i = this.hosts.length
    if (i > 200) throw new Error('a run has at most 200 hosts')
    const ns = `${this.prefix}${name}`
    const addr = `10.213.${this.subnet}.${10 + i}`
    await sh('ip', ['netns', 'add', ns])
    await sh('ip', ['-n', this.bridgeNs, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
    await sh('ip', ['-n', this.bridgeNs, 'link', 'set', `v${i}`, 'master', 'br0', 'up'])
    await sh('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0'])
    await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up'])
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
    const host = { ns, addr }
    this.hosts.push(host)
    await this.setRules(host, { dropFrom: [], dropTo: [], lossPct: 0 })
    return host
  }

  /**
   * Replace a host's packet filter in one transaction: drop what comes from `dropFrom` and what goes to
   * `dropTo`, and `lossPct` % of every other packet in each direction.
   */
  async setRules (host: NetHost, rules: HostRules): Promise<void> {
    const lines = [
      'table inet mc {}',
      'delete table inet mc',
      'table inet mc {',
      '  chain in { type filter hook input priority 0; policy accept;',
      ...(rules.dropFrom.length > 0 ? [`    ip saddr { ${rules.dropFrom.join(', ')} } drop`] : []),
      ...(rules.lossPct > 0 ? [`    iifname "eth0" numgen random mod 100 < ${rules.lossPct} drop`] : []),
      '  }',
      '  chain out { type filter hook output priority 0; policy accept;',
      ...(rules.dropTo.length > 0 ? [`    ip daddr { ${rules.dropTo.join(', ')} } drop`] : []),
      ...(rules.lossPct > 0 ? [`    oifname "eth0" numgen random mod 100 < ${rules.lossPct} drop`] : []),
      '  }',
      '}'
    ]
    await sh('ip', ['netns', 'exec', host.ns, 'nft', '-f', '-'], lines.join('\n') + '\n')
  }

  /** kill what runs in the run's namespaces and delete them */
  async remove (): Promise<void> {
    if (!this.created) return
    for (const h of this.hosts) await killIn(h.ns)
    for (const h of this.hosts) await sh('ip', ['netns', 'del', h.ns]).catch(() => {})
    await sh('ip', ['netns', 'del', this.bridgeNs]).catch(() => {})
    this.hosts.length = 0
    this.created = false
  }

  /** the synchronous version, for process exit handlers */
  removeSync (): void {
    if (!this.created) return
    for (const ns of [...this.hosts.map(h => h.ns), this.bridgeNs]) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
        for (const p of pids.split('\n').map(Number).filter(n => n > 0)) {
          try { process.kill(p, 'SIGKILL') } catch {}
        }
      } catch {}
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }) } catch {}
    }
    this.created = false
  }
}

export interface HostRules {
  dropFrom: string[]
  dropTo: string[]
  lossPct: number
}
