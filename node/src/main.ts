import { parseArgs } from 'node:util'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { writeFile, mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MeshchatNode } from './daemon.js'
import { DEFAULT_CONFIG, resolveConfig } from './config.js'
import { newMeshKey, loadMeshKey } from './keys.js'
import { BootstrapDaemon } from '../../bootstrap/src/bootstrap.js'
import { createNodeClient, fileKeyStore } from '../../client/src/node.js'
import type { ChatMessage, DirectMessage } from '../../client/src/node.js'
import type { NodeConfig } from './config.js'

/**
 * The `meshchat` command line. This is the only module that reads argv and the
 * environment or prints to the console.
 */

const USAGE = `meshchat <command> [options]

commands:
  node        run a chat node (mesh host + client gateway + HTTP)
  bootstrap   run a bootstrap daemon (a well-known mesh peer without users)
  chat        terminal client: meshchat chat --connect <gateway multiaddr> --room <name> --name <nick>
  demo        a local mesh on loopback: one bootstrap and three nodes, with the web app
  keygen      write a new mesh key: meshchat keygen --out swarm.key
  bench       run the benchmarks (see README)

Every option also reads an environment variable: --data-dir is MESHCHAT_DATA_DIR, and so on.
Run meshchat <command> --help for the options of a command.`

type Spec = Record<string, { type: 'string' | 'boolean', multiple?: boolean, short?: string, help: string }>

const NODE_OPTS: Spec = {
  'data-dir': { type: 'string', help: 'node key, mesh key and SQLite store (default ./.meshchat/node)' },
  'mesh-key': { type: 'string', help: 'mesh swarm key file (default <data-dir>/swarm.key, created if missing)' },
  listen: { type: 'string', multiple: true, help: 'mesh listen multiaddr (default /ip4/0.0.0.0/tcp/4001)' },
  announce: { type: 'string', multiple: true, help: 'mesh address to announce instead of the listen ones' },
  gateway: { type: 'string', multiple: true, help: 'client gateway listen multiaddr (default /ip4/0.0.0.0/tcp/4002/ws and /ip4/0.0.0.0/tcp/4003)' },
  'gateway-announce': { type: 'string', multiple: true, help: 'gateway address to announce to clients' },
  bootstrap: { type: 'string', multiple: true, help: 'bootstrap multiaddr with /p2p/<id> (repeatable)' },
  http: { type: 'string', help: 'HTTP host:port for the web app, /healthz and /metrics (default 0.0.0.0:8080; "off" for none)' },
  'source-maps': { type: 'boolean', help: 'serve the web app\'s source maps (default off)' },
  'trusted-ip': { type: 'string', multiple: true, help: 'IP exempt from gossipsub IP-colocation scoring (default 127.0.0.1, ::1)' },
  'max-clients': { type: 'string', help: `client connections accepted (default ${DEFAULT_CONFIG.maxClients})` },
  'max-clients-per-ip': { type: 'string', help: `client connections accepted from one IP address (default ${DEFAULT_CONFIG.maxClientsPerIp})` },
  'history-days': { type: 'string', help: `days of room history kept (default ${DEFAULT_CONFIG.retention.maxAgeMs / 86_400_000}; 0 = forever)` },
  'history-max': { type: 'string', help: `messages kept per room (default ${DEFAULT_CONFIG.retention.maxPerRoom}; 0 = no limit)` },
  json: { type: 'boolean', help: 'print JSON lines instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

const BOOTSTRAP_OPTS: Spec = {
  'data-dir': { type: 'string', help: 'key files (default ./.meshchat/bootstrap)' },
  'mesh-key': { type: 'string', help: 'mesh swarm key file (default <data-dir>/swarm.key, created if missing)' },
  listen: { type: 'string', multiple: true, help: 'listen multiaddr (default /ip4/0.0.0.0/tcp/4000)' },
  announce: { type: 'string', multiple: true, help: 'address to announce instead of the listen ones' },
  bootstrap: { type: 'string', multiple: true, help: 'other bootstrap daemons to join (repeatable)' },
  'trusted-ip': { type: 'string', multiple: true, help: 'IP exempt from gossipsub IP-colocation scoring' },
  json: { type: 'boolean', help: 'print JSON lines instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

const CHAT_OPTS: Spec = {
  connect: { type: 'string', multiple: true, help: 'gateway multiaddr of any node (repeatable; TCP or /ws)' },
  room: { type: 'string', multiple: true, help: 'room to join at start (repeatable)' },
  name: { type: 'string', help: 'display name' },
  key: { type: 'string', help: 'identity key file (default ~/.meshchat/user.key, created if missing)' },
  json: { type: 'boolean', help: 'print JSON lines instead of text' },
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

const KEYGEN_OPTS: Spec = {
  out: { type: 'string', help: 'file to write (default ./swarm.key); never overwritten' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

function envName (flag: string): string {
  return 'MESHCHAT_' + flag.toUpperCase().replace(/-/g, '_')
}

/** parse flags, falling back to MESHCHAT_* environment variables (comma-separated for repeatable ones) */
function parse (argv: string[], spec: Spec): Record<string, unknown> {
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
    const env = process.env[envName(k)]
    if (env == null || env === '') continue
    out[k] = v.type === 'boolean' ? env === '1' || env === 'true' : v.multiple === true ? env.split(',').map(s => s.trim()).filter(Boolean) : env
  }
  return out
}

function help (cmd: string, spec: Spec): string {
  const lines = Object.entries(spec).map(([k, v]) => `  --${k.padEnd(18)} ${v.help}  [${envName(k)}]`)
  return `meshchat ${cmd} [options]\n\n${lines.join('\n')}`
}

const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined
const list = (v: unknown): string[] | undefined => Array.isArray(v) ? v.map(String) : undefined

function printer (json: boolean): (msg: string, data?: Record<string, unknown>) => void {
  return (msg, data = {}) => {
    if (json) console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...data }))
    else console.log(Object.keys(data).length === 0 ? msg : `${msg} ${Object.entries(data).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ')}`)
  }
}

/** a stop that has not finished by then is cut short: the process exits anyway */
const STOP_DEADLINE_MS = 15_000

/** stop on SIGINT/SIGTERM; a second signal exits at once */
function onSignal (stop: () => Promise<void>): void {
  let stopping = false
  const handler = (sig: string): void => {
    if (stopping) process.exit(1)
    stopping = true
    console.error(`${sig}: stopping (again to force)`)
    setTimeout(() => {
      console.error(`stop did not finish within ${STOP_DEADLINE_MS} ms; exiting`)
      process.exit(1)
    }, STOP_DEADLINE_MS).unref()
    stop().then(() => process.exit(0), err => { console.error(err); process.exit(1) })
  }
  process.on('SIGINT', () => { handler('SIGINT') })
  process.on('SIGTERM', () => { handler('SIGTERM') })
}

async function runNode (argv: string[]): Promise<void> {
  const o = parse(argv, NODE_OPTS)
  if (o.help === true) { console.log(help('node', NODE_OPTS)); return }
  const dataDir = resolve(str(o['data-dir']) ?? join('.meshchat', 'node'))
  const http = str(o.http) ?? '0.0.0.0:8080'
  const partial: Partial<NodeConfig> = {
    dataDir,
    meshKey: str(o['mesh-key']) ?? null,
    listen: list(o.listen) ?? ['/ip4/0.0.0.0/tcp/4001'],
    announce: list(o.announce) ?? [],
    gateway: list(o.gateway) ?? ['/ip4/0.0.0.0/tcp/4002/ws', '/ip4/0.0.0.0/tcp/4003'],
    gatewayAnnounce: list(o['gateway-announce']) ?? [],
    bootstrap: list(o.bootstrap) ?? [],
    http: http === 'off' ? null : http,
    trustedIps: list(o['trusted-ip']) ?? DEFAULT_CONFIG.trustedIps
  }
  if (str(o['max-clients']) != null) partial.maxClients = Number(o['max-clients'])
  if (o['source-maps'] === true) partial.serveSourceMaps = true
  if (str(o['max-clients-per-ip']) != null) partial.maxClientsPerIp = Number(o['max-clients-per-ip'])
  const days = str(o['history-days'])
  const maxPerRoom = str(o['history-max'])
  if (days != null || maxPerRoom != null) {
    partial.retention = {
      maxAgeMs: days == null ? DEFAULT_CONFIG.retention.maxAgeMs : Number(days) * 86_400_000,
      maxPerRoom: maxPerRoom == null ? DEFAULT_CONFIG.retention.maxPerRoom : Number(maxPerRoom)
    }
  }
  const out = printer(o.json === true)
  const node = await MeshchatNode.create(resolveConfig(partial))
  // the last line of defence: every handler is supervised, so this only sees what slipped past; the node
  // logs and counts it and keeps serving its sessions rather than dropping all of them at once
  process.on('uncaughtException', err => { node.supervisor.report('uncaught', err) })
  process.on('unhandledRejection', err => { node.supervisor.report('unhandled-rejection', err) })
  await node.start()
  if (node.createdMeshKey) out('created a new mesh key; copy it to every node and bootstrap of this mesh', { path: join(dataDir, 'swarm.key') })
  out('node started', { id: node.nodeId, mesh: node.meshAddrs(), gateway: node.gatewayAddrs(), http: node.http?.url ?? 'off' })
  onSignal(async () => { await node.stop({ graceful: true }) })
}

async function runBootstrap (argv: string[]): Promise<void> {
  const o = parse(argv, BOOTSTRAP_OPTS)
  if (o.help === true) { console.log(help('bootstrap', BOOTSTRAP_OPTS)); return }
  const dataDir = resolve(str(o['data-dir']) ?? join('.meshchat', 'bootstrap'))
  const out = printer(o.json === true)
  const b = await BootstrapDaemon.create({
    dataDir,
    meshKey: str(o['mesh-key']) ?? null,
    listen: list(o.listen) ?? ['/ip4/0.0.0.0/tcp/4000'],
    announce: list(o.announce),
    bootstrap: list(o.bootstrap),
    trustedIps: list(o['trusted-ip'])
  })
  await b.start()
  if (b.createdMeshKey) out('created a new mesh key; copy it to every node of this mesh', { path: join(dataDir, 'swarm.key') })
  out('bootstrap started; nodes use --bootstrap with one of these', { id: b.peerId, addrs: b.addrs() })
  onSignal(async () => { await b.stop() })
}

async function runKeygen (argv: string[]): Promise<void> {
  const o = parse(argv, KEYGEN_OPTS)
  if (o.help === true) { console.log(help('keygen', KEYGEN_OPTS)); return }
  const out = resolve(str(o.out) ?? 'swarm.key')
  if (existsSync(out)) throw new Error(`${out} exists; not overwriting a mesh key`)
  await writeFile(out, newMeshKey(), { mode: 0o600, flag: 'wx' })
  console.log(`wrote mesh key ${out}: give the same file to every node and bootstrap (--mesh-key)`)
}

function fmtMessage (m: ChatMessage): string {
  const t = new Date(m.ts).toTimeString().slice(0, 5)
  return `${t} [${m.room}] ${m.name}: ${m.text}`
}

function fmtDm (d: DirectMessage, self: string): string {
  const t = new Date(d.ts).toTimeString().slice(0, 5)
  return d.from === self ? `${t} [dm → ${d.to.slice(-8)}] ${d.text}` : `${t} [dm from ${d.name} ${d.from.slice(-8)}] ${d.text}`
}

async function runChat (argv: string[]): Promise<void> {
  const o = parse(argv, CHAT_OPTS)
  if (o.help === true) { console.log(help('chat', CHAT_OPTS)); return }
  const addrs = list(o.connect) ?? []
  if (addrs.length === 0) throw new Error('--connect <gateway multiaddr> is required (npm start prints them)')
  const name = str(o.name) ?? process.env.USER ?? 'anon'
  const json = o.json === true
  const keyPath = resolve(str(o.key) ?? join(homedir(), '.meshchat', 'user.key'))
  const client = createNodeClient({ name, addrs, keyStore: fileKeyStore(keyPath) })
  const print = (line: string, data?: unknown): void => {
    if (json) console.log(JSON.stringify(data, (_k, v) => typeof v === 'bigint' ? v.toString() : v))
    else console.log(line)
  }
  let current = ''
  client.addEventListener('message', e => { print(fmtMessage(e.detail), { type: 'message', ...e.detail }) })
  client.addEventListener('dm', e => { print(fmtDm(e.detail, client.userId), { type: 'dm', ...e.detail }) })
  client.addEventListener('presence:join', e => {
    if (e.detail.member.userId === client.userId) return
    print(`* ${e.detail.member.name} joined ${e.detail.room} (on ${e.detail.member.nodes.map(n => n.slice(-6)).join(',')})`, { type: 'join', ...e.detail })
  })
  client.addEventListener('presence:leave', e => { print(`* ${e.detail.userId.slice(-8)} left ${e.detail.room}`, { type: 'leave', ...e.detail }) })
  client.addEventListener('state', e => { print(`* ${e.detail.state}${e.detail.nodeId != null ? ` (node ${e.detail.nodeId.slice(-6)})` : ''}`, { type: 'state', ...e.detail }) })
  client.addEventListener('error', e => { print(`! ${e.detail.name}: ${e.detail.message}`, { type: 'error', name: e.detail.name, code: e.detail.code, message: e.detail.message }) })
  const welcome = await client.connect()
  print(`attached to node ${welcome.nodeId} as ${client.userId} (mesh of ${welcome.meshSize}); /help for commands`, { type: 'welcome', ...welcome, self: client.userId })
  const joinRoom = async (room: string): Promise<void> => {
    await client.join(room, { backlog: 20 })
    current = room
    // the roster snapshot arrives before the join's reply; later changes are printed as joins and leaves
    const members = client.roster(room)
    const names = [name, ...members.filter(m => m.userId !== client.userId).map(m => m.name)]
    print(`* in ${room}: ${names.join(', ')}`, { type: 'roster', room, members })
  }
  for (const room of list(o.room) ?? []) await joinRoom(room)
  const rl = createInterface({ input: process.stdin, terminal: false })
  const commands: Record<string, (args: string) => Promise<void>> = {
    help: async () => { print('/join <room>  /leave [room]  /rooms  /who [room]  /dm <user> <text>  /history [n]  /away  /back  /quit') },
    join: async a => { await joinRoom(a.trim()) },
    leave: async a => { const r = a.trim() || current; await client.leave(r); if (r === current) current = client.joined[0] ?? '' },
    rooms: async () => { print(client.joined.map(r => r === current ? `*${r}` : r).join(' ')) },
    who: async a => {
      const r = a.trim() || current
      const members = client.roster(r)
      print(`${r}: ${members.map(m => `${m.name}(${m.userId.slice(-8)}${m.status === 'away' ? ', away' : ''} @${m.nodes.map(n => n.slice(-6)).join(',')})`).join(' ')}`, { type: 'who', room: r, members })
    },
    dm: async a => {
      const [to, ...rest] = a.trim().split(/\s+/)
      if (to == null || rest.length === 0) throw new Error('usage: /dm <user id> <text>')
      const r = await client.dm(to, rest.join(' '))
      print(`* dm ${r.state} (${r.copies} ${r.state === 'queued' ? 'mailbox replicas' : 'devices'})`, { type: 'dm-ack', ...r })
    },
    history: async a => {
      const n = Number(a.trim() || 20)
      const page = await client.history(current, { limit: n })
      for (const m of page.messages) print(fmtMessage(m), { type: 'history', ...m })
    },
    away: async () => { await client.setStatus('away') },
    back: async () => { await client.setStatus('online') },
    quit: async () => { rl.close() }
  }
  rl.on('line', line => {
    void (async () => {
      const text = line.trimEnd()
      if (text === '') return
      try {
        if (text.startsWith('/')) {
          const [cmd = '', ...rest] = text.slice(1).split(' ')
          const fn = commands[cmd]
          if (fn == null) throw new Error(`unknown command /${cmd} (/help)`)
          await fn(rest.join(' '))
        } else {
          if (current === '') throw new Error('join a room first: /join <room>')
          await client.send(current, text)
        }
      } catch (err) {
        print(`! ${(err as Error).name}: ${(err as Error).message}`, { type: 'error', name: (err as Error).name, message: (err as Error).message })
      }
    })()
  })
  await new Promise<void>(resolve => rl.once('close', resolve))
  await client.close()
  // stdin (and libp2p's lingering sockets) would keep the process alive after /quit or EOF
  process.exit(0)
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
    out(`node${i + 1}`, { id: n.nodeId, web: n.http?.url ?? '', gateway: n.gatewayAddrs() })
  })
  if (o.json !== true) {
    const tcp = (n: MeshchatNode): string => n.gatewayAddrs().find(a => !a.includes('/ws')) ?? ''
    const n1 = nodes[0]
    const n2 = nodes[1] ?? nodes[0]
    if (n1 != null && n2 != null) {
      console.log(`
Open two of the web apps above in two browser windows, or chat from two terminals attached to two nodes:
  npx meshchat chat --connect ${tcp(n1)} --room lobby --name alice --key .meshchat/alice.key
  npx meshchat chat --connect ${tcp(n2)} --room lobby --name bob --key .meshchat/bob.key
Ctrl-C stops the demo (history is kept in ${dir}).`)
    }
  }
}

async function main (): Promise<void> {
  const [cmd, ...argv] = process.argv.slice(2)
  switch (cmd) {
    case 'node': return runNode(argv)
    case 'bootstrap': return runBootstrap(argv)
    case 'chat': return runChat(argv)
    case 'demo': return runDemo(argv)
    case 'keygen': return runKeygen(argv)
    case 'bench': {
      // the benchmarks live with the tests; run them as a separate program rather than importing test code
      const script = fileURLToPath(new URL('../../test/bench/run.js', import.meta.url))
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

main().catch(err => {
  console.error(`meshchat: ${(err as Error).name === 'Error' ? '' : `${(err as Error).name}: `}${(err as Error).message}`)
  process.exit(1)
})
