/**
 * The `meshchat bootstrap` and `meshchat demo` commands (bin/meshchat.js sends
 * them here): a bootstrap daemon on its own, or a whole local mesh. The only
 * place besides node/src/main.ts that reads argv and prints to the console.
 */
import { join, resolve } from 'node:path'
import { writeFile, mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { MeshchatNode } from '../../node/src/daemon.js'
import { newMeshKey, loadMeshKey } from '../../node/src/keys.js'
import { USAGE, help, list, onSignal, parse, printer, runMain, str } from '../../node/src/cli.js'
import { BootstrapDaemon } from './bootstrap.js'
import { packageVersion } from '../../node/src/version.js'
import { createLogger } from '../../node/src/log.js'
import { LOG_LEVELS } from '../../node/src/settings.js'
import { ConfigError } from '../../node/src/config.js'
import type { LogLevel } from '../../node/src/settings.js'
import type { Spec } from '../../node/src/cli.js'

const BOOTSTRAP_OPTS: Spec = {
  'data-dir': { type: 'string', help: 'key files (default ./.meshchat/bootstrap)' },
  'mesh-key': { type: 'string', help: 'mesh swarm key file (default <data-dir>/swarm.key, created if missing)' },
  listen: { type: 'string', multiple: true, help: 'listen multiaddr (default /ip4/0.0.0.0/tcp/4000)' },
  announce: { type: 'string', multiple: true, help: 'address to announce instead of the listen ones' },
  bootstrap: { type: 'string', multiple: true, help: 'other bootstrap daemons to join (repeatable)' },
  'trusted-ip': { type: 'string', multiple: true, help: 'IP exempt from gossipsub IP-colocation scoring' },
  http: { type: 'string', help: 'host:port for /healthz, /readyz and /metrics (default: none)' },
  'log-level': { type: 'string', help: `${LOG_LEVELS.join(', ')} (default info)` },
  json: { type: 'boolean', help: 'log JSON lines instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

const DEMO_OPTS: Spec = {
  nodes: { type: 'string', help: 'number of nodes (default 3)' },
  'data-dir': { type: 'string', help: 'where the demo keeps keys and stores (default ./.meshchat/demo)' },
  host: { type: 'string', help: 'address to listen on (default 127.0.0.1)' },
  'base-port': { type: 'string', help: 'first port; the demo uses a few from here (default 4000)' },
  json: { type: 'boolean', help: 'print JSON lines instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

async function runBootstrap (argv: string[]): Promise<void> {
  const o = parse(argv, BOOTSTRAP_OPTS)
  if (o.help === true) { console.log(help('bootstrap', BOOTSTRAP_OPTS)); return }
  const dataDir = resolve(str(o['data-dir']) ?? join('.meshchat', 'bootstrap'))
  const level = str(o['log-level']) ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${level}`)
  const log = createLogger({ level: level as LogLevel, format: o.json === true ? 'json' : 'text' })
  // the same policy as a node: what escapes a handler is logged, and the daemon keeps serving its peers
  process.on('uncaughtException', err => { log.error({ component: 'uncaught', error: `${err.name}: ${err.message}` }, 'internal error') })
  process.on('unhandledRejection', err => { log.error({ component: 'unhandled-rejection', error: String(err) }, 'internal error') })
  const b = await BootstrapDaemon.create({
    dataDir,
    meshKey: str(o['mesh-key']) ?? null,
    listen: list(o.listen) ?? ['/ip4/0.0.0.0/tcp/4000'],
    announce: list(o.announce),
    bootstrap: list(o.bootstrap),
    trustedIps: list(o['trusted-ip']),
    http: str(o.http) ?? null,
    version: packageVersion(),
    log
  })
  await b.start()
  if (b.createdMeshKey) log.warn({ path: join(dataDir, 'swarm.key') }, 'created a new mesh key; copy it to every node of this mesh')
  // the handlers go in before the start is announced: a stop signal sent on seeing that line is handled
  onSignal(async () => {
    await b.stop()
    log.info({ id: b.peerId }, 'bootstrap stopped')
  }, {
    // a bootstrap daemon has no clients to move: SIGQUIT (meshchat drain, a unit's KillSignal) is a plain stop
    drain: async () => {}
  })
  log.info({ id: b.peerId, version: packageVersion(), addrs: b.addrs(), http: b.http?.url ?? 'off' }, 'bootstrap started; nodes use --bootstrap with one of these')
}

async function runDemo (argv: string[]): Promise<void> {
  const o = parse(argv, DEMO_OPTS)
  if (o.help === true) { console.log(help('demo', DEMO_OPTS)); return }
  const count = Number(str(o.nodes) ?? 3)
  const host = str(o.host) ?? '127.0.0.1'
  const base = Number(str(o['base-port']) ?? 4000)
  const dir = resolve(str(o['data-dir']) ?? join('.meshchat', 'demo'))
  const out = printer(o.json === true)
  await mkdir(dir, { recursive: true })
  const keyPath = join(dir, 'swarm.key')
  if (!existsSync(keyPath)) await writeFile(keyPath, newMeshKey(), { mode: 0o600 })
  await loadMeshKey(keyPath, false)
  const boot = await BootstrapDaemon.create({ dataDir: join(dir, 'bootstrap'), meshKey: keyPath, listen: [`/ip4/${host}/tcp/${base}`] })
  await boot.start()
  const nodes: MeshchatNode[] = []
  onSignal(async () => {
    for (const n of nodes) await n.stop({ graceful: true })
    await boot.stop()
  })
  for (let i = 1; i <= count; i++) {
    const node = await MeshchatNode.create({
      dataDir: join(dir, `node${i}`),
      meshKey: keyPath,
      listen: [`/ip4/${host}/tcp/${base + i}`],
      gateway: [`/ip4/${host}/tcp/${base + 100 + i}/ws`, `/ip4/${host}/tcp/${base + 200 + i}`],
      http: `${host}:${base + 4080 + i}`,
      bootstrap: boot.addrs()
    })
    await node.start()
    nodes.push(node)
  }
  out(`meshchat demo: bootstrap ${boot.peerId} and ${count} nodes on ${host}`)
  nodes.forEach((n, i) => {
    out(`node${i + 1}`, { id: n.nodeId, web: n.http?.url ?? '', ws: n.wsUrls(), gateway: n.gatewayAddrs().filter(a => a.startsWith('/')) })
  })
  if (o.json !== true) {
    const ws = (n: MeshchatNode): string => n.wsUrls()[0] ?? ''
    const n1 = nodes[0]
    const n2 = nodes[1] ?? nodes[0]
    if (n1 != null && n2 != null) {
      console.log(`
Open two of the web apps above in two browser windows, or chat from two terminals attached to two nodes:
  npx meshchat chat --connect ${ws(n1)} --room lobby --name alice --key .meshchat/alice.key
  npx meshchat chat --connect ${ws(n2)} --room lobby --name bob --key .meshchat/bob.key
Ctrl-C stops the demo (history is kept in ${dir}).`)
    }
  }
}

async function main (): Promise<void> {
  const [cmd, ...argv] = process.argv.slice(2)
  switch (cmd) {
    case 'bootstrap': return runBootstrap(argv)
    case 'demo': return runDemo(argv)
    default:
      console.error(`unknown command "${cmd ?? ''}"\n\n${USAGE}`)
      process.exitCode = 2
  }
}

runMain(main)
