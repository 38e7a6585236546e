import { join, resolve } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { LIVE_SETTINGS, MeshchatNode } from './daemon.js'
import { newMeshKey } from './keys.js'
import { USAGE, help, onSignal, parse, runMain, str } from './cli.js'
import type { Spec } from './cli.js'
import { runChat } from './chat-cli.js'
import { NODE_OPTS, exampleConfig, nodeSettings } from './settings.js'
import { OpsWatch, createLogger } from './log.js'
import { packageVersion } from './version.js'
import { ed25519Backend } from '../../client/src/protocol/ed25519-node.js'
import { backupDataDir } from './backup.js'
import { DrainError, describeDrain, drainNode, writeDrainReport } from './drain.js'

/**
 * The `meshchat` command line for nodes and clients: `node`, `chat`, `keygen`,
 * `config`, `bench` (bin/meshchat.js sends `bootstrap` and `demo` to
 * bootstrap/src/main.ts; `chat` is the terminal client in chat-cli.ts). With
 * those, the only modules that read argv and the environment or print to the
 * console.
 */

const KEYGEN_OPTS: Spec = {
  out: { type: 'string', help: 'file to write (default ./swarm.key); never overwritten' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

async function runNode (argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) { console.log(help('node', NODE_OPTS)); return }
  const settings = nodeSettings(argv)
  const log = createLogger(settings.log)
  const node = await MeshchatNode.create({ ...settings.config, opsLog: log, version: packageVersion() })
  // the last line of defence: every handler is supervised, so this only sees what slipped past; the node
  // logs and counts it and keeps serving its sessions rather than dropping all of them at once
  process.on('uncaughtException', err => { node.supervisor.report('uncaught', err) })
  process.on('unhandledRejection', err => { node.supervisor.report('unhandled-rejection', err) })
  await node.start()
  if (node.createdMeshKey) log.warn({ path: join(settings.config.dataDir ?? '.', 'swarm.key') }, 'created a new mesh key; copy it to every node and bootstrap of this mesh')
  const inUse = (cfg: typeof node.config): void => {
    log.debug({ settings: Object.fromEntries(LIVE_SETTINGS.map(k => [k, cfg[k]])) }, 'settings in use')
  }
  const watch = new OpsWatch(node, log)
  // the handlers go in before the start is announced: a stop signal sent on seeing that line is handled
  onSignal(async () => {
    watch.stop()
    await node.stop({ graceful: true })
  }, {
    // lame duck: clients move to other nodes first, then the node stops (a rolling restart loses no session)
    drain: async () => {
      const sessions = node.registry.size
      const began = Date.now()
      const redirects = async (): Promise<Record<string, number>> =>
        Object.fromEntries((await node.metrics.redirects.get()).values.map(v => [String(v.labels.reason), v.value]))
      const before = await redirects()
      log.info({ clients: sessions, drainMs: node.config.drainMs }, 'draining: moving clients to other nodes, then stopping')
      await node.drain()
      // the clients sent elsewhere meanwhile, before the node goes
      await watch.flush()
      const after = await redirects()
      const grew = (reason: string): number => (after[reason] ?? 0) - (before[reason] ?? 0)
      const report = { pid: process.pid, at: new Date().toISOString(), sessions, left: node.registry.size, redirected: grew('draining'), refused: grew('draining_nowhere'), drainMs: node.config.drainMs, tookMs: Date.now() - began }
      log.info({ clients: report.left, sessions, redirected: report.redirected, refused: report.refused, tookMs: report.tookMs }, 'drained')
      // `meshchat drain` reads it back
      if (settings.config.dataDir != null) await writeDrainReport(settings.config.dataDir, report)
    },
    drainMs: node.config.drainMs,
    reload: () => {
      try {
        const next = nodeSettings(argv)
        log.level = next.log.level
        const r = node.reload(next.config)
        log.info({ applied: r.applied, logLevel: next.log.level }, 'settings reloaded')
        if (r.restartNeeded.length > 0) log.warn({ restartNeeded: r.restartNeeded }, 'settings that take a restart were changed and are not in use yet')
        inUse(node.config)
      } catch (err) {
        log.error({ error: `${(err as Error).name}: ${(err as Error).message}` }, 'reload refused; the settings in use are unchanged')
      }
    }
  })
  log.info({
    id: node.nodeId,
    version: packageVersion(),
    config: settings.file ?? 'none',
    mesh: node.meshAddrs(),
    gateway: node.gatewayAddrs(),
    ws: node.wsUrls(),
    http: node.http?.url ?? 'off',
    admin: node.adminHttp?.url ?? 'off',
    crypto: ed25519Backend
  }, 'node started')
  inUse(node.config)
  watch.start()
}

const BACKUP_OPTS: Spec = {
  'data-dir': { type: 'string', help: 'the node\'s data directory (default ./.meshchat/node)' },
  out: { type: 'string', help: 'a new directory for the copy (required)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

/** `meshchat backup`: the store (SQLite online backup, safe while the node runs) and the key files */
async function runBackup (argv: string[]): Promise<void> {
  const o = parse(argv, BACKUP_OPTS)
  if (o.help === true) { console.log(help('backup', BACKUP_OPTS)); return }
  const out = str(o.out)
  if (out == null) throw new Error('--out <new directory> is required')
  const dataDir = resolve(str(o['data-dir']) ?? join('.meshchat', 'node'))
  const r = await backupDataDir(dataDir, resolve(out))
  console.log(JSON.stringify({ msg: 'backup written', from: dataDir, to: resolve(out), ...r }))
}

const DRAIN_OPTS: Spec = {
  'data-dir': { type: 'string', help: 'the node\'s data directory: its lock file names the process (default ./.meshchat/node)' },
  pid: { type: 'string', help: 'the node\'s process id, instead of --data-dir' },
  timeout: { type: 'string', help: 'seconds to wait for the process to exit (default 60)' },
  json: { type: 'boolean', help: 'print the report as JSON' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

/**
 * `meshchat drain`: SIGQUIT to a running node (lame duck: new clients sent
 * elsewhere, attached ones moved over its drainMs, then a graceful stop),
 * then wait for it to exit and report. Exit 0 once it is gone, 1 if it is
 * still there at the timeout or there was nothing to drain.
 */
async function runDrain (argv: string[]): Promise<void> {
  const o = parse(argv, DRAIN_OPTS)
  if (o.help === true) { console.log(help('drain', DRAIN_OPTS)); return }
  const pidText = str(o.pid)
  if (pidText != null && str(o['data-dir']) != null) throw new DrainError('give --data-dir or --pid, not both')
  const pid = pidText == null ? undefined : Number(pidText)
  const timeoutS = Number(str(o.timeout) ?? 60)
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new DrainError(`--timeout must be a number of seconds > 0, got ${String(o.timeout)}`)
  const dataDir = pid == null ? resolve(str(o['data-dir']) ?? join('.meshchat', 'node')) : undefined
  const r = await drainNode({ pid, dataDir, timeoutMs: timeoutS * 1000 })
  if (o.json === true) console.log(JSON.stringify({ msg: r.stopped ? 'drained' : 'still running', ...r }))
  else console.log(describeDrain(r))
  if (!r.stopped) process.exitCode = 1
}

/** `meshchat config check <file>` and `meshchat config example` */
async function runConfig (argv: string[]): Promise<void> {
  const [sub, file, ...rest] = argv
  if (sub === 'example' && file == null) {
    process.stdout.write(exampleConfig())
    return
  }
  if (sub === 'check' && file != null && rest.length === 0) {
    // the file alone, checked the way a node reads it (environment and flags left out)
    const settings = nodeSettings(['--config', file], {})
    console.log(`${settings.file ?? file}: ok (log level ${settings.log.level}, ${settings.config.bootstrap.length} bootstrap addresses, HTTP ${settings.config.http ?? 'off'})`)
    return
  }
  throw new Error('usage: meshchat config check <file> | meshchat config example')
}

async function runKeygen (argv: string[]): Promise<void> {
  const o = parse(argv, KEYGEN_OPTS)
  if (o.help === true) { console.log(help('keygen', KEYGEN_OPTS)); return }
  const out = resolve(str(o.out) ?? 'swarm.key')
  if (existsSync(out)) throw new Error(`${out} exists; not overwriting a mesh key`)
  await writeFile(out, newMeshKey(), { mode: 0o600, flag: 'wx' })
  console.log(`wrote mesh key ${out}: give the same file to every node and bootstrap (--mesh-key)`)
}

async function main (): Promise<void> {
  const [cmd, ...argv] = process.argv.slice(2)
  switch (cmd) {
    case 'node': return runNode(argv)
    case 'chat': process.exit(await runChat(argv))
    case 'keygen': return runKeygen(argv)
    case 'config': return runConfig(argv)
    case 'backup': return runBackup(argv)
    case 'drain': return runDrain(argv)
    case 'bench': {
      // the benchmarks live with the tests; run them as a separate program rather than importing test code
      const script = fileURLToPath(new URL('../../test/bench/run.js', import.meta.url))
      // the installed package carries no tests: the benchmarks run from a checkout
      if (!existsSync(script)) throw new Error('the benchmarks run from a built checkout of meshchat (npm run bench there); this installation has none')
      const child = spawn(process.execPath, [script, ...argv], { stdio: 'inherit' })
      process.exitCode = await new Promise<number>(resolve => child.once('exit', code => { resolve(code ?? 1) }))
      return
    }
    case undefined: case 'help': case '--help': case '-h':
      console.log(USAGE)
      return
    default:
      console.error(`unknown command "${cmd}"\n\n${USAGE}`)
      process.exitCode = 2
  }
}

runMain(main)
