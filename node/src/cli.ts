/**
 * What the `meshchat` commands share: flags with an environment variable each,
 * help text, printing (human lines or JSON) and signal handling. The commands
 * themselves live in node/src/main.ts (node, chat, keygen, config, backup, drain, bench) and
 * bootstrap/src/main.ts (bootstrap, demo); bin/meshchat.js picks one.
 */
import { parseArgs } from 'node:util'

export const USAGE = `meshchat <command> [options]

commands:
  node        run a chat node (mesh host + client gateway + HTTP)
  bootstrap   run a bootstrap daemon (a well-known mesh peer without users)
  chat        terminal client: meshchat chat --connect <ws://host:8080/ws> --room <name> --name <nick>
  demo        a local mesh on loopback: one bootstrap and three nodes, with the web app
  keygen      write a new mesh key: meshchat keygen --out swarm.key
  config      meshchat config example (a complete config file) | meshchat config check <file>
  backup      copy a node's store and keys while it runs: meshchat backup --data-dir <dir> --out <new dir>
  drain       move a running node's clients to other nodes, then stop it: meshchat drain --data-dir <dir> | --pid <pid>
  bench       run the benchmarks (see README)

Every option also reads an environment variable: --data-dir is MESHCHAT_DATA_DIR, and so on;
a node also reads a YAML config file (--config); flags beat the environment, which beats the file.
Run meshchat <command> --help for the options of a command; meshchat --version for the version.`

export type Spec = Record<string, { type: 'string' | 'boolean', multiple?: boolean, short?: string, help: string }>

export function envName (flag: string): string {
  return 'MESHCHAT_' + flag.toUpperCase().replace(/-/g, '_')
}

/** parse flags, falling back to MESHCHAT_* environment variables (comma-separated for repeatable ones) */
export function parse (argv: string[], spec: Spec, env: Record<string, string | undefined> = process.env): Record<string, unknown> {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, {
      type: v.type,
      ...(v.multiple === true ? { multiple: true } : {}),
      ...(v.short != null ? { short: v.short } : {})
    }])),
    allowPositionals: false,
    strict: true
  })
  const out: Record<string, unknown> = { ...values }
  for (const [k, v] of Object.entries(spec)) {
    if (out[k] !== undefined) continue
    const e = env[envName(k)]
    if (e == null || e === '') continue
    out[k] = v.type === 'boolean' ? e === '1' || e === 'true' : v.multiple === true ? e.split(',').map(s => s.trim()).filter(Boolean) : e
  }
  return out
}

export function help (cmd: string, spec: Spec): string {
  const lines = Object.entries(spec).map(([k, v]) => `  --${k.padEnd(18)} ${v.help}  [${envName(k)}]`)
  return `meshchat ${cmd} [options]\n\n${lines.join('\n')}`
}

export const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined
export const list = (v: unknown): string[] | undefined => Array.isArray(v) ? v.map(String) : undefined

export function printer (json: boolean): (msg: string, data?: Record<string, unknown>) => void {
  return (msg, data = {}) => {
    if (json) console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...data }))
    else console.log(Object.keys(data).length === 0 ? msg : `${msg} ${Object.entries(data).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ')}`)
  }
}

/** a stop that has not finished by then is cut short: the process exits anyway */
export const STOP_DEADLINE_MS = 15_000

export interface SignalOptions {
  /** SIGQUIT: lame duck first (move clients away), then the stop */
  drain?: () => Promise<void>
  /** how long the drain may take (added to the stop's deadline) */
  drainMs?: number
  /** SIGHUP: reload what can change without a restart; without it SIGHUP is ignored rather than fatal */
  reload?: () => void
}

/**
 * Stop on SIGINT/SIGTERM; drain then stop on SIGQUIT (when a drain is given);
 * reload on SIGHUP. A second stop signal exits at once.
 */
export function onSignal (stop: () => Promise<void>, opts: SignalOptions = {}): void {
  let stopping = false
  const handler = (sig: string, drain?: () => Promise<void>): void => {
    if (stopping) process.exit(1)
    stopping = true
    console.error(`${sig}: ${drain != null ? 'draining, then stopping' : 'stopping'} (again to force)`)
    const deadline = STOP_DEADLINE_MS + (drain != null ? opts.drainMs ?? 0 : 0)
    setTimeout(() => {
      console.error(`stop did not finish within ${deadline} ms; exiting`)
      process.exit(1)
    }, deadline).unref()
    Promise.resolve()
      .then(async () => { if (drain != null) await drain() })
      .then(stop)
      .then(() => process.exit(0), err => { console.error(err); process.exit(1) })
  }
  process.on('SIGINT', () => { handler('SIGINT') })
  process.on('SIGTERM', () => { handler('SIGTERM') })
  const drain = opts.drain
  if (drain != null) process.on('SIGQUIT', () => { handler('SIGQUIT', drain) })
  const reload = opts.reload
  process.on('SIGHUP', () => { if (!stopping) reload?.() })
}


/** run a command's main: a failure is one line on stderr (its error class, unless plain) and exit code 1 */
export function runMain (main: () => Promise<void>): void {
  main().catch(err => {
    console.error(`meshchat: ${(err as Error).name === 'Error' ? '' : `${(err as Error).name}: `}${(err as Error).message}`)
    process.exit(1)
  })
}
