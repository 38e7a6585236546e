import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MeshchatNode } from './daemon.js'
import { DEFAULT_CONFIG, resolveConfig } from './config.js'
import { newMeshKey } from './keys.js'
import { USAGE, help, list, onSignal, parse, printer, runMain, str } from './cli.js'
import type { Spec } from './cli.js'
import { createNodeClient, fileKeyStore } from '../../client/src/node.js'
import type { ChatMessage, DirectMessage } from '../../client/src/node.js'
import type { NodeConfig } from './config.js'

/**
 * The `meshchat` command line for nodes and clients: `node`, `chat`, `keygen`,
 * `bench` (bin/meshchat.js sends `bootstrap` and `demo` to bootstrap/src/main.ts).
 * With that one, the only modules that read argv and the environment or print
 * to the console.
 */

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
  'ws-listen': { type: 'string', help: 'also take WebSocket clients on this host:port (default: only on the HTTP server, at /ws)' },
  'tls-cert': { type: 'string', help: 'certificate file (PEM): serve HTTPS and wss:// (or terminate TLS in a proxy in front)' },
  'tls-key': { type: 'string', help: 'private key file (PEM) for --tls-cert' },
  'public-url': { type: 'string', multiple: true, help: 'base URL people reach this node\'s HTTP side at, e.g. https://chat.example.com (repeatable; announced to clients and nodes)' },
  'allowed-origin': { type: 'string', multiple: true, help: 'an origin whose pages may attach over WebSockets, besides the mesh\'s own (repeatable)' },
  'trusted-ip': { type: 'string', multiple: true, help: 'IP exempt from gossipsub IP-colocation scoring (default 127.0.0.1, ::1)' },
  'max-clients': { type: 'string', help: `client connections accepted (default ${DEFAULT_CONFIG.maxClients})` },
  'max-clients-per-ip': { type: 'string', help: `client connections accepted from one IP address (default ${DEFAULT_CONFIG.maxClientsPerIp})` },
  'history-days': { type: 'string', help: `days of room history kept (default ${DEFAULT_CONFIG.retention.maxAgeMs / 86_400_000}; 0 = forever)` },
  'history-max': { type: 'string', help: `messages kept per room (default ${DEFAULT_CONFIG.retention.maxPerRoom}; 0 = no limit)` },
  json: { type: 'boolean', help: 'print JSON lines instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

const CHAT_OPTS: Spec = {
  connect: { type: 'string', multiple: true, help: 'a node\'s WebSocket URL (ws://host:8080/ws) or libp2p gateway multiaddr (repeatable)' },
  room: { type: 'string', multiple: true, help: 'room to join at start (repeatable)' },
  name: { type: 'string', help: 'display name' },
  key: { type: 'string', help: 'identity key file (default ~/.meshchat/user.key, created if missing)' },
  json: { type: 'boolean', help: 'print JSON lines instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

const KEYGEN_OPTS: Spec = {
  out: { type: 'string', help: 'file to write (default ./swarm.key); never overwritten' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
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
  if (str(o['ws-listen']) != null) partial.wsListen = str(o['ws-listen']) ?? null
  const cert = str(o['tls-cert'])
  const key = str(o['tls-key'])
  if ((cert == null) !== (key == null)) throw new Error('--tls-cert and --tls-key go together')
  if (cert != null && key != null) partial.tls = { certFile: resolve(cert), keyFile: resolve(key) }
  if (list(o['public-url']) != null) partial.publicUrls = list(o['public-url']) ?? []
  if (list(o['allowed-origin']) != null) partial.allowedOrigins = list(o['allowed-origin']) ?? []
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
  out('node started', { id: node.nodeId, mesh: node.meshAddrs(), gateway: node.gatewayAddrs(), ws: node.wsUrls(), http: node.http?.url ?? 'off' })
  onSignal(async () => { await node.stop({ graceful: true }) })
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
  if (addrs.length === 0) throw new Error('--connect <ws://host:port/ws or gateway multiaddr> is required (npm start prints them)')
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

async function main (): Promise<void> {
  const [cmd, ...argv] = process.argv.slice(2)
  switch (cmd) {
    case 'node': return runNode(argv)
    case 'chat': return runChat(argv)
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

runMain(main)
