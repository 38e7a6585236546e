import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'

/** the repository root, from test/helpers (vitest) or from dist/test/helpers (compiled scripts such as test/bench/volume.ts) */
const ROOT = new URL(/\/dist\/test\/helpers\/[^/]+$/.test(import.meta.url) ? '../../../' : '../../', import.meta.url)
const CLI = fileURLToPath(new URL('bin/meshchat.js', ROOT))
const BUILT = fileURLToPath(new URL('dist/node/src/main.js', ROOT))

export interface ProcessNode {
  proc: ChildProcess
  id: string
  gateway: string[]
  mesh: string[]
  /** the HTTP base URL (`/healthz`, `/metrics`) when started with `extraArgs: ['--http', 'host:port']`, else undefined */
  http?: string
  /** SIGKILL: no goodbye, no flush, the OS closes the sockets */
  kill: () => Promise<void>
  /** SIGTERM: graceful stop */
  stop: () => Promise<void>
}

/**
 * A node as a separate process, through the real CLI (`meshchat node --json`).
 * Needs the compiled code (`npm run build`; `npm test` builds first).
 */
export async function spawnNode (opts: { dataDir: string, meshKey: string, bootstrap: string[], extraArgs?: string[], env?: Record<string, string> }): Promise<ProcessNode> {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build (npm test does)`)
  const args = [CLI, 'node', '--json',
    '--data-dir', opts.dataDir,
    '--mesh-key', opts.meshKey,
    '--listen', '/ip4/127.0.0.1/tcp/0',
    '--gateway', '/ip4/127.0.0.1/tcp/0',
    '--http', 'off',
    ...opts.bootstrap.flatMap(b => ['--bootstrap', b]),
    ...(opts.extraArgs ?? [])]
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } })
  let stderr = ''
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>(resolve => proc.once('exit', code => { resolve(code) }))
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`node process did not start within 20 s: ${stderr}`)) }, 20_000)
    const rl = createInterface({ input: proc.stdout! })
    rl.on('line', line => {
      try {
        const msg = JSON.parse(line) as Record<string, unknown>
        if (msg.msg === 'node started') {
          clearTimeout(timer)
          resolve(msg)
        }
      } catch {
        // not JSON: ignore
      }
    })
    void exited.then(code => { clearTimeout(timer); reject(new Error(`node process exited with ${String(code)}: ${stderr}`)) })
  })
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (proc.exitCode != null || proc.signalCode != null) return
    proc.kill(sig)
    await exited
  }
  return {
    proc,
    id: String(started.id),
    gateway: started.gateway as string[],
    mesh: started.mesh as string[],
    http: typeof started.http === 'string' && started.http !== 'off' ? started.http : undefined,
    kill: async () => { await signal('SIGKILL') },
    stop: async () => { await signal('SIGTERM') }
  }
}
