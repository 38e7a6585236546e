/**
 * `meshchat drain`: make a running node go lame duck and stop, from outside
 * the process. The node is found by its data directory's lock file (which
 * holds its pid) or by pid, checked to be a `meshchat node` (or `bootstrap`)
 * process, sent SIGQUIT, and waited for. The node writes its own account of
 * the drain (sessions moved, new clients sent elsewhere) into its data
 * directory as it finishes; the command reads it back for its report.
 */
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { alive, lockHolder } from './data-lock.js'

export class DrainError extends Error {
  static override name = 'DrainError'
  constructor (message: string) {
    super(message)
    this.name = 'DrainError'
  }
}

/** the file a draining node writes into its data directory */
export const DRAIN_REPORT_FILE = 'last-drain.json'

/** what a node says about its own drain */
export interface NodeDrainReport {
  /** the node's process */
  pid: number
  /** when the drain finished (ISO time) */
  at: string
  /** client sessions attached when the drain began */
  sessions: number
  /** sessions still attached at its end (0 unless some client would not go) */
  left: number
  /** new clients sent to other nodes during the drain */
  redirected: number
  /** new clients refused because this node knew no other node to send them to */
  refused: number
  drainMs: number
  tookMs: number
}

export interface DrainReport {
  pid: number
  dataDir?: string
  /** the process exited within the timeout */
  stopped: boolean
  waitedMs: number
  /** the data directory's lock is gone: the node stopped cleanly (data directory only) */
  lockReleased?: boolean
  /** the node's own account, when it wrote one */
  node?: NodeDrainReport
}

/** is `pid` running (not gone, not a zombie waiting to be reaped)? */
function running (pid: number): boolean {
  if (!alive(pid)) return false
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." — the state after the last ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return alive(pid)
  }
}

/**
 * The meshchat command a process runs ('node', 'bootstrap', ...), from its
 * command line; null when it is not meshchat; undefined where /proc cannot
 * tell (not Linux).
 */
function meshchatCommand (pid: number): string | null | undefined {
  let args: string[]
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  } catch {
    return undefined
  }
  const i = args.findIndex(a => /^meshchat(\.js)?$/.test(basename(a)))
  return i < 0 ? null : args[i + 1] ?? ''
}

/** which process to drain: `pid`, or the one holding `dataDir`'s lock; DrainError when there is none fit to signal */
export function drainTarget (opts: { dataDir?: string, pid?: number }): number {
  let pid: number
  if (opts.pid != null) {
    if (!Number.isInteger(opts.pid) || opts.pid <= 1) throw new DrainError(`--pid must be a process id, got ${String(opts.pid)}`)
    if (!running(opts.pid)) throw new DrainError(`no process ${opts.pid}`)
    pid = opts.pid
  } else {
    const dir = opts.dataDir ?? ''
    if (!existsSync(dir)) throw new DrainError(`no data directory ${dir}`)
    const holder = lockHolder(dir)
    if (holder == null || !running(holder)) throw new DrainError(`no node runs on ${dir} (no lock file held by a live process)`)
    pid = holder
  }
  if (pid === process.pid) throw new DrainError('refusing to drain this very process')
  const cmd = meshchatCommand(pid)
  // anything else may die of SIGQUIT (the demo, a process that reused the pid): never signal it
  if (cmd === null) throw new DrainError(`process ${pid} is not a meshchat process; nothing was sent`)
  if (cmd !== undefined && cmd !== 'node' && cmd !== 'bootstrap') throw new DrainError(`process ${pid} runs "meshchat ${cmd}", which does not drain; nothing was sent`)
  return pid
}

/**
 * Send SIGQUIT to the node and wait until its process is gone (at most
 * `timeoutMs`; a node bounds its own drain and stop, so a process still there
 * after that is stuck, and is left for the operator to decide about).
 */
export async function drainNode (opts: { dataDir?: string, pid?: number, timeoutMs: number, pollMs?: number }): Promise<DrainReport> {
  const pid = drainTarget(opts)
  const began = Date.now()
  try {
    process.kill(pid, 'SIGQUIT')
  } catch (err) {
    throw new DrainError(`could not signal process ${pid}: ${(err as Error).message}`)
  }
  const pollMs = opts.pollMs ?? 100
  const deadline = began + opts.timeoutMs
  while (running(pid) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, pollMs))
  const report: DrainReport = { pid, stopped: !running(pid), waitedMs: Date.now() - began }
  if (opts.pid == null && opts.dataDir != null) {
    report.dataDir = opts.dataDir
    report.lockReleased = !existsSync(join(opts.dataDir, 'lock'))
    try {
      const own = JSON.parse(readFileSync(join(opts.dataDir, DRAIN_REPORT_FILE), 'utf8')) as NodeDrainReport
      if (own.pid === pid) report.node = own
    } catch {
      // an older node, or one that stopped before it got to write it
    }
  }
  return report
}

/** the node's side: its account of the drain, beside its store (best effort) */
export async function writeDrainReport (dataDir: string, report: NodeDrainReport): Promise<void> {
  await writeFile(join(dataDir, DRAIN_REPORT_FILE), JSON.stringify(report) + '\n', { mode: 0o600 }).catch(() => {})
}

/** one line for a person */
export function describeDrain (r: DrainReport): string {
  const who = `node process ${r.pid}${r.dataDir != null ? ` (${r.dataDir})` : ''}`
  if (!r.stopped) return `${who} is still running ${(r.waitedMs / 1000).toFixed(1)} s after SIGQUIT; it may be stuck (its own stop deadline has passed): look at its log`
  const n = r.node
  const what = n == null
    ? 'drained and stopped'
    : `drained and stopped: ${n.sessions} sessions moved to other nodes${n.left > 0 ? ` (${n.left} still attached at the end)` : ''}, ${n.redirected} new clients sent elsewhere${n.refused > 0 ? `, ${n.refused} refused (no other node known)` : ''}`
  return `${who} ${what} after ${(r.waitedMs / 1000).toFixed(1)} s${r.lockReleased === false ? '; its data directory is still locked' : ''}`
}
