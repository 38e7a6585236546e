/**
 * The baseline chat server: Socket.IO with @socket.io/redis-adapter, one process per server, all
 * sharing one redis-server. It does the same job as a meshchat node for the benchmark workloads and
 * nothing more: rooms through socket.join, room messages through io.to(room).emit (the sender's own
 * socket included, as a meshchat node also delivers to its sender), DMs through a per-user room
 * `u:<userId>` that the user's sockets join on connect, an ack per send. No authentication,
 * signatures, storage or history: what a plain Socket.IO chat does.
 *
 *   node socketio-server.js --port 18110 --redis redis://127.0.0.1:18100 --adapter classic|sharded
 *
 * `classic` is the usual createAdapter (every server subscribes to one pattern and receives every
 * broadcast); `sharded` is createShardedAdapter with subscriptionMode "dynamic" (a Redis 7 sharded
 * channel per room, so a server only receives rooms it has sockets in).
 */
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { Server } from 'socket.io'
import { createClient } from 'redis'
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter'

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    redis: { type: 'string' },
    adapter: { type: 'string', default: 'classic' }
  }
})
const port = Number(values.port)
const mode = values.adapter === 'sharded' ? 'sharded' : 'classic'

const counters = { clientIn: 0, peerIn: 0, echoIn: 0, dmIn: 0, connections: 0, errors: 0 }
globalThis.__benchCounters = counters

const pub = createClient({ url: values.redis })
const sub = pub.duplicate()
pub.on('error', err => { console.error('redis pub', err) })
sub.on('error', err => { console.error('redis sub', err) })
await Promise.all([pub.connect(), sub.connect()])

const http = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ ready: true, clients: io.engine.clientsCount }))
    return
  }
  res.statusCode = 404
  res.end()
})
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  adapter: mode === 'sharded' ? createShardedAdapter(pub, sub, { subscriptionMode: 'dynamic' }) : createAdapter(pub, sub)
})

// count what reaches this server through Redis, before the adapter filters it: messages from the other
// servers, and this server's own broadcasts coming back (a pattern/room subscriber receives its own publishes)
const adapter = io.of('/').adapter as unknown as Record<string, unknown> & { uid: string, parser?: { decode: (b: unknown) => unknown } }
const countFrom = (uid: unknown): void => {
  if (uid === adapter.uid) counters.echoIn++
  else counters.peerIn++
}
if (mode === 'classic') {
  const original = adapter.onmessage as (...args: unknown[]) => unknown
  adapter.onmessage = function (this: unknown, ...args: unknown[]) {
    try { countFrom((adapter.parser?.decode(args[2]) as unknown[] | undefined)?.[0]) } catch { counters.peerIn++ }
    return original.apply(this, args)
  }
} else {
  const original = adapter.onMessage as (...args: unknown[]) => unknown
  adapter.onMessage = function (this: unknown, ...args: unknown[]) {
    countFrom((args[0] as { uid?: unknown } | undefined)?.uid)
    return original.apply(this, args)
  }
}

interface RoomMsg { room: string, text: string }
interface DmMsg { to: string, text: string }
type Ack = (reply: { ok: boolean, ts?: number, error?: string }) => void

io.on('connection', socket => {
  counters.connections++
  const userId = String((socket.handshake.auth as { userId?: unknown }).userId ?? socket.id)
  void socket.join(`u:${userId}`)
  socket.on('join', async (room: string, ack?: Ack) => {
    await socket.join(room)
    ack?.({ ok: true })
  })
  socket.on('leave', async (room: string, ack?: Ack) => {
    await socket.leave(room)
    ack?.({ ok: true })
  })
  socket.on('msg', (m: RoomMsg, ack?: Ack) => {
    counters.clientIn++
    if (!socket.rooms.has(m.room)) { ack?.({ ok: false, error: 'not joined' }); return }
    const ts = Date.now()
    io.to(m.room).emit('msg', { room: m.room, from: userId, text: m.text, ts })
    ack?.({ ok: true, ts })
  })
  socket.on('dm', (m: DmMsg, ack?: Ack) => {
    counters.clientIn++
    counters.dmIn++
    const ts = Date.now()
    io.to(`u:${m.to}`).emit('dm', { from: userId, to: m.to, text: m.text, ts })
    ack?.({ ok: true, ts })
  })
})

http.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'socket.io server started', port, adapter: mode }))
})

const stop = (): void => {
  void io.close()
  void Promise.allSettled([pub.quit(), sub.quit()]).finally(() => { process.exit(0) })
  setTimeout(() => { process.exit(0) }, 2000).unref()
}
process.on('SIGTERM', stop)
// under overload a Redis command can time out inside the adapter, which does not catch it; a server
// that dies of that would take its clients out of every later benchmark step, so count and go on
process.on('unhandledRejection', err => { counters.errors++; if (counters.errors <= 3) console.error('unhandled rejection:', err) })
process.on('SIGINT', stop)
