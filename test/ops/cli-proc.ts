import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'

/** the built CLI of this checkout */
export const CLI = join(resolve(import.meta.dirname, '..', '..'), 'bin', 'meshchat.js')

/**
 * A `meshchat` command as a child process, for the operations tests: its
 * stdout lines parsed as JSON where they are, a wait for a line that matches,
 * and a stop that escalates to SIGKILL so no test leaves a process behind.
 */
export interface CliProc {
  proc: ChildProcess
  /** every stdout line so far, parsed when it is JSON (else `{ line }`) */
  lines: Array<Record<string, unknown>>
  stderr: () => string
  /** the first line (already seen or still to come) that `match` accepts */
  waitFor: (match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number) => Promise<Record<string, unknown>>
  /** resolves with the exit code (or the signal's name) */
  exited: Promise<number | string>
  /** send a signal and wait for the exit; SIGKILL if it is not gone within `graceMs` */
  stop: (sig?: NodeJS.Signals, graceMs?: number) => Promise<number | string>
  write: (text: string) => void
}

export function spawnCli (nodeBin: string, script: string, args: string[], opts: { cwd?: string, env?: Record<string, string> } = {}): CliProc {
  const proc = spawn(nodeBin, [script, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] })
  const lines: Array<Record<string, unknown>> = []
  const waiters = new Set<() => void>()
  let stderr = ''
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | string>(resolve => proc.once('exit', (code, signal) => {
    resolve(code ?? signal ?? 'unknown')
    for (const w of waiters) w()
  }))
  createInterface({ input: proc.stdout! }).on('line', line => {
    let parsed: Record<string, unknown>
    try {
      const v = JSON.parse(line) as unknown
      parsed = typeof v === 'object' && v != null ? v as Record<string, unknown> : { line }
    } catch {
      parsed = { line }
    }
    lines.push(parsed)
    for (const w of waiters) w()
  })
  const gone = (): boolean => proc.exitCode != null || proc.signalCode != null
  const waitFor = async (match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs = 30_000): Promise<Record<string, unknown>> => {
    return new Promise((resolve, reject) => {
      let checked = 0
      const check = (): void => {
        for (; checked < lines.length; checked++) {
          const l = lines[checked]
          if (l != null && match(l)) { done(); resolve(l); return }
        }
        if (gone()) { done(); reject(new Error(`process exited (${String(proc.exitCode ?? proc.signalCode)}) before ${what}; stderr: ${stderr}`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`no ${what} within ${timeoutMs} ms; stderr: ${stderr}`)) }, timeoutMs)
      const done = (): void => { clearTimeout(timer); waiters.delete(check) }
      waiters.add(check)
      check()
    })
  }
  const stop = async (sig: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<number | string> => {
    if (!gone()) {
      proc.kill(sig)
      const timer = setTimeout(() => { if (!gone()) proc.kill('SIGKILL') }, graceMs)
      await exited
      clearTimeout(timer)
    }
    return exited
  }
  return { proc, lines, stderr: () => stderr, waitFor, exited, stop, write: text => { proc.stdin?.write(text) } }
}

/** poll `cond` every 200 ms until it holds; throws naming `what` after `timeoutMs` */
export async function waitUntil (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      if (await cond()) return
    } catch (err) {
      last = err
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${last != null ? ` (last error: ${String(last)})` : ''}`)
}

/**
 * What every operations test sets up: a temporary directory, `meshchat`
 * processes (all stopped, SIGKILL at the latest, by `cleanup`), clients to
 * close, mesh keys and a bootstrap daemon.
 */
export class OpsRig {
  readonly dir = mkdtempSync(join(tmpdir(), 'meshchat-ops-'))
  readonly procs: CliProc[] = []
  readonly clients: Array<{ close: () => Promise<void> }> = []

  constructor (readonly cli = CLI, readonly nodeBin = process.execPath) {}

  start (args: string[], opts: { cwd?: string, env?: Record<string, string> } = {}): CliProc {
    const p = spawnCli(this.nodeBin, this.cli, args, opts)
    this.procs.push(p)
    return p
  }

  /** a new mesh key file in the rig's directory */
  meshKey (name = 'swarm.key'): string {
    const path = join(this.dir, name)
    execFileSync(this.nodeBin, [this.cli, 'keygen', '--out', path])
    return path
  }

  /** a bootstrap daemon on an ephemeral loopback port; resolves with its first address and its start line */
  async bootstrap (meshKey: string, extra: string[] = []): Promise<{ addr: string, line: Record<string, unknown>, proc: CliProc }> {
    const proc = this.start(['bootstrap', '--json', '--data-dir', join(this.dir, 'boot'), '--mesh-key', meshKey, '--listen', '/ip4/127.0.0.1/tcp/0', ...extra])
    const line = await proc.waitFor(l => String(l.msg).startsWith('bootstrap started'), 'bootstrap started')
    return { addr: (line.addrs as string[])[0] ?? '', line, proc }
  }

  /** a node on ephemeral loopback ports with HTTP, its data in `<dir>/<name>` */
  node (name: string, meshKey: string, extra: string[] = [], env?: Record<string, string>): CliProc {
    return this.start(['node', '--json', '--data-dir', join(this.dir, name), '--mesh-key', meshKey,
      '--listen', '/ip4/127.0.0.1/tcp/0', '--gateway', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0', ...extra], { env })
  }

  async cleanup (): Promise<void> {
    for (const c of this.clients) await c.close().catch(() => {})
    await Promise.all(this.procs.map(async p => p.stop('SIGTERM', 10_000)))
    rmSync(this.dir, { recursive: true, force: true })
  }
}
