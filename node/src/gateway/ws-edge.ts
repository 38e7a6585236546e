import { randomNonce } from '../../../client/src/random.js'
import { WebSocketServer } from 'ws'
import { TooSlowError, UnsupportedError, asMeshchatError } from '../../../client/src/protocol/errors.js'
import { challengeFrame, challengeTail } from '../../../client/src/protocol/codec.js'
import { Challenge } from '../../../client/src/protocol/pb/client.js'
import { ClientSession } from './session.js'
import { IpLimit } from './gateway-host.js'
import { PingWheel } from './ping-wheel.js'
import { quietReceiverEnds, quietSocketEnd } from './ws-receiver.js'
import { TokenBucket } from '../state/rate-limiter.js'
import type { WebSocket, RawData } from 'ws'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import type { Startable } from '@libp2p/interface'
import type { Budgets } from '../state/budgets.js'
import type { Clock, NodeComponents } from '../components.js'
import type { SessionHost } from './session.js'
import type { SessionRegistry } from './registry.js'

/** below this many connections the ping wheel turns once a second (WsEdge.pingTimerFor) */
export const FEW_CONNECTIONS = 1000

/** slots of the ping wheel to turn at each tick for this many connections (0: no timer); `slowStep` is a second's worth */
export function pingStep (connections: number, slowStep: number): number {
  return connections <= 0 ? 0 : connections < FEW_CONNECTIONS ? slowStep : 1
}

const NONCE_BYTES = 32

export interface WsEdgeInit {
  /** the path upgrades are taken on (default `/ws`) */
  path: string
  /** frames above this close the connection (code 1009) unread */
  maxFrameBytes: number
  maxClients: number
  maxClientsPerIp: number
  /** bytes a session may have waiting to go out before it counts as a slow reader and is disconnected */
  maxBufferedBytes: number
  /** a WebSocket ping every this often; a client that has not answered the last one is gone (half-open TCP) */
  pingIntervalMs: number
  /** WebSocket pings a client may send per second (burst 20); more is a flood and closes the connection */
  clientPingsPerSec: number
  helloTimeoutMs: number
  budgets: Budgets
  incarnation: number
}

export interface WsEdgeComponents extends Pick<NodeComponents, 'nodeId' | 'log' | 'metrics' | 'supervisor' | 'clock'> {
  host: SessionHost
  registry: SessionRegistry
  /** Ed25519 verification of the proof of key */
  verify: (publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array) => boolean
  /**
   * may a page from `origin` attach? (`host` is the Host the browser asked for,
   * so a page served by this node on any of its names is same-origin)
   */
  originAllowed: (origin: string, host: string | undefined) => boolean
}

/** close codes the edge uses besides the standard ones */
export const WS_CLOSE = {
  /** the node is stopping: attach elsewhere */
  GOING_AWAY: 1001,
  /** the session ended with a typed error frame just before */
  SESSION_ENDED: 4000,
  /** the reader fell too far behind; resume from your cursors */
  SLOW: 4008,
  /** too many pings, or no pong */
  POLICY: 1008
} as const

let sessionCounter = 0

/**
 * The writers with frames queued in this turn of the event loop: one setImmediate flushes them
 * all, rather than one per session (a room message to several members here, or a burst of
 * attaches read in one poll, queues frames for many sessions in one turn).
 */
export class TurnFlush {
  private writers: SocketWriter[] = []
  private scheduled = false

  constructor (private readonly log: (fmt: string, ...args: unknown[]) => void) {}

  add (w: SocketWriter): void {
    this.writers.push(w)
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => { this.run() })
  }

  private run (): void {
    this.scheduled = false
    const writers = this.writers
    this.writers = []
    for (const w of writers) {
      // one writer's failure must not leave the others' frames unsent
      try {
        w.flush()
      } catch (err) {
        this.log('websocket write failed - %s', (err as Error).message)
      }
    }
  }
}

/**
 * One session's outgoing frames: everything produced in one turn of the event
 * loop goes out under one cork, so a burst of deliveries costs one socket
 * write, and a reader that lets too much pile up is disconnected rather than
 * buffered without bound.
 */
export class SocketWriter {
  private queue: Uint8Array[] = []
  private scheduled = false

  constructor (private readonly ws: WebSocket, private readonly turn: TurnFlush, private readonly maxBuffered: number, private readonly onSlow: () => void) {}

  send (frame: Uint8Array): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    this.queue.push(frame)
    if (this.scheduled) return
    this.scheduled = true
    this.turn.add(this)
  }

  flush (): void {
    this.scheduled = false
    const frames = this.queue
    this.queue = []
    if (this.ws.readyState !== this.ws.OPEN || frames.length === 0) return
    const socket = (this.ws as unknown as { _socket?: Socket })._socket
    socket?.cork()
    try {
      for (const f of frames) this.ws.send(f, { binary: true })
    } finally {
      socket?.uncork()
    }
    if (this.ws.bufferedAmount > this.maxBuffered) this.onSlow()
  }
}

/**
 * The light client edge: plain WebSocket sessions on the node's HTTP server
 * (or a port of its own), one binary message per client frame, with login by
 * proof of key. Each connection feeds the same session layer as the libp2p
 * gateway; nothing but the client protocol is reachable through it.
 */
export class WsEdge implements Startable {
  private readonly wss: WebSocketServer
  private readonly perIp: IpLimit
  private readonly turn: TurnFlush
  private readonly alive = new Map<WebSocket, boolean>()
  /** every connection is pinged once per interval, a slice of them at each tick (ping-wheel.ts) */
  private readonly pings: PingWheel<WebSocket>
  private readonly pingTickMs: number
  /** this node's id as a Challenge field, the part every challenge shares */
  private challengeHead?: Uint8Array
  /** slots the wheel turns at each tick while connections are few: a second's worth */
  private readonly pingSlowStep: number
  private pingTimer?: ReturnType<typeof setInterval>
  /** slots the running timer turns at each tick (0: no timer) */
  private pingStep = 0
  private started = false

  constructor (private readonly init: WsEdgeInit, private readonly c: WsEdgeComponents) {
    // no thrown-away errors when a session closes (ws-receiver.ts)
    quietReceiverEnds()
    // compression off: a deflate context per connection costs ~300 KB, and signed events hardly compress
    this.wss = new WebSocketServer({ noServer: true, maxPayload: init.maxFrameBytes, perMessageDeflate: false, clientTracking: false })
    this.perIp = new IpLimit(init.maxClientsPerIp)
    this.turn = new TurnFlush(c.log)
    const { wheel, tickMs } = PingWheel.forInterval<WebSocket>(init.pingIntervalMs)
    this.pings = wheel
    this.pingTickMs = tickMs
    this.pingSlowStep = Math.max(1, Math.min(wheel.slotCount, Math.round(1000 / tickMs)))
  }

  get connections (): number {
    return this.alive.size
  }

  /** whether the ping wheel's timer runs (only while there are connections) */
  get pinging (): boolean {
    return this.pingTimer != null
  }

  /** how often the ping wheel turns now, in ms (0: it does not) */
  get pingPeriodMs (): number {
    return this.pingTickMs * this.pingStep
  }

  /** connections per slot of the ping wheel (each slot is pinged once per interval, one after another) */
  pingSlotSizes (): number[] {
    return this.pings.slotSizes()
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
  }

  /**
   * The ping wheel turns only while there are connections: a node with none has no timer waking it.
   * With fewer than FEW_CONNECTIONS it turns a second's worth of slots once a second: a node with a
   * few dozen clients is not woken ten times a second to ping one of them now and then. With more,
   * a slot every tick, so no tick holds the event loop for long.
   */
  private pingTimerFor (connections: number): void {
    const step = this.started ? pingStep(connections, this.pingSlowStep) : 0
    if (step === 0) {
      clearInterval(this.pingTimer)
      this.pingTimer = undefined
      this.pingStep = 0
      this.pings.pause()
      return
    }
    // a running timer takes a new period at its own next tick (pingDue), never here: connections
    // that come and go around the threshold cannot keep restarting it, and so hold the pings off
    if (this.pingTimer == null) this.startPings(step)
  }

  /** the wheel's timer at `step` slots a tick: a first start starts the wheel's count of elapsed slots (PingWheel.due) */
  private startPings (step: number): void {
    if (this.pingTimer == null) this.pings.due(performance.now(), this.pingTickMs)
    else clearInterval(this.pingTimer)
    this.pingStep = step
    this.pingTimer = this.c.supervisor.interval('ws:ping', () => { this.pingDue() }, this.pingTickMs * step)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.pingTimer)
    this.pingTimer = undefined
    this.pingStep = 0
    this.pings.pause()
    for (const ws of [...this.alive.keys()]) ws.close(WS_CLOSE.GOING_AWAY, 'node stopping')
    // give the close frames a moment, then make sure every socket is gone
    await new Promise(resolve => setTimeout(resolve, 50))
    for (const ws of [...this.alive.keys()]) ws.terminate()
  }

  private refuse (socket: Duplex, status: number, reason: string): void {
    this.c.metrics.wsEvents.inc({ event: `refused_${reason}` })
    socket.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Service Unavailable'}\r\nconnection: close\r\ncontent-type: text/plain\r\n\r\n${reason}\n`)
  }

  /** an HTTP upgrade request; false when it is not for this edge's path (someone else may take it) */
  handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = req.url ?? '/'
    // the path alone, as every client sends it, needs no parsing
    if (url !== this.init.path) {
      let path: string
      try {
        path = new URL(url, 'http://x').pathname
      } catch {
        return false
      }
      if (path !== this.init.path) return false
    }
    if (!this.started) {
      this.refuse(socket, 503, 'stopping')
      return true
    }
    const origin = req.headers.origin
    if (origin != null && !this.c.originAllowed(origin, req.headers.host)) {
      this.refuse(socket, 403, 'origin')
      return true
    }
    if (this.c.registry.size >= this.init.maxClients || this.alive.size >= this.init.maxClients) {
      this.refuse(socket, 503, 'full')
      return true
    }
    const ip = (socket as Socket).remoteAddress ?? ''
    if (!this.perIp.acquire(ip)) {
      this.refuse(socket, 503, 'per_ip')
      return true
    }
    socket.once('close', () => { this.perIp.release(ip) })
    // the 101 response and the challenge after it leave in one socket write
    const tcp = socket as Socket
    quietSocketEnd(tcp)
    tcp.cork()
    try {
      this.wss.handleUpgrade(req, socket, head, ws => {
        this.c.supervisor.wrap('ws:connection', () => { this.connected(ws, ip) })()
      })
    } finally {
      tcp.uncork()
    }
    return true
  }

  private connected (ws: WebSocket, ip: string): void {
    // cut from a block of CSPRNG output, the challenge's own copy: no two challenges share a byte
    const nonce = randomNonce(NONCE_BYTES)
    const log = this.c.log
    let session: ClientSession | undefined
    const writer = new SocketWriter(ws, this.turn, this.init.maxBufferedBytes, () => {
      this.c.metrics.wsEvents.inc({ event: 'slow_consumer' })
      // the close frame carries the reason; a typed error frame would only queue behind what it cannot read
      ws.close(WS_CLOSE.SLOW, 'too slow: resume from your cursors')
      // the client is told to come back and resume: its device stays in presence for the grace
      if (session != null) this.c.host.detach(session, { linger: this.started })
      session?.fatal(new TooSlowError('the connection fell too far behind; resume from your cursors'), 0)
    })
    session = new ClientSession({
      id: `${this.init.incarnation.toString(36)}-w${(++sessionCounter).toString(36)}`,
      host: this.c.host,
      log,
      remote: ip,
      budgets: this.init.budgets,
      helloTimeoutMs: this.init.helloTimeoutMs,
      clock: this.c.clock,
      login: { nodeId: this.c.nodeId, nonce, verify: this.c.verify },
      edge: 'ws',
      transport: {
        send: frame => { writer.send(frame) },
        close: () => {
          writer.flush()
          ws.close(WS_CLOSE.SESSION_ENDED, 'session ended')
          // the session is over now, whether or not the client ever answers the close
          if (session != null) this.c.host.detach(session)
          setTimeout(() => { ws.terminate() }, 2000).unref?.()
        }
      }
    })
    const s = session
    this.alive.set(ws, true)
    const pingSlot = this.pings.add(ws)
    this.pingTimerFor(this.alive.size)
    /** made at the client's first ping (browsers send none): a bucket starts full either way */
    let pings: TokenBucket | undefined
    /** frames are handled one at a time, in order; a client that sends faster than they are handled is paused */
    let pending = 0
    let chain: Promise<void> = Promise.resolve()
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        this.c.metrics.wsEvents.inc({ event: 'text_frame' })
        s.fatal(new UnsupportedError('text messages are not part of the protocol: send binary frames'), 0)
        return
      }
      const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data
      pending++
      if (pending > 32) ws.pause()
      chain = chain.then(async () => {
        try {
          await s.handle(bytes)
        } catch (err) {
          this.c.supervisor.report('ws:frame', err)
        } finally {
          pending--
          if (pending <= 8 && ws.isPaused) ws.resume()
        }
      })
    })
    ws.on('ping', () => {
      pings ??= new TokenBucket({ ratePerSec: this.init.clientPingsPerSec, burst: 20 })
      if (!pings.take(this.c.clock.now())) {
        this.c.metrics.wsEvents.inc({ event: 'ping_flood' })
        ws.close(WS_CLOSE.POLICY, 'too many pings')
      }
    })
    ws.on('pong', () => { this.alive.set(ws, true) })
    ws.on('error', err => {
      const code = (err as { code?: string }).code
      this.c.metrics.wsEvents.inc({ event: code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'oversize' : 'protocol_error' })
      log('websocket from %s: %s', ip, err.message)
    })
    ws.on('close', (code: number) => {
      this.alive.delete(ws)
      this.pings.delete(ws, pingSlot)
      this.pingTimerFor(this.alive.size)
      // a client that is leaving says so (1000: closed by the application, 1001: the page went away);
      // any other end (no close frame at all, a client dropping the connection to reconnect, no pong)
      // keeps the device in presence for the grace, while the node takes sessions. Before the
      // session's own close, which detaches it at once
      this.c.host.detach(s, { linger: this.started && code !== 1000 && code !== 1001 })
      s.close()
    })
    this.challengeHead ??= Challenge.encode({ nodeId: this.c.nodeId, nonce: new Uint8Array(0), time: 0n })
    s.sendEncoded(challengeFrame([this.challengeHead, challengeTail(nonce, this.c.clock.now())]))
    // now, not at the end of the turn: under the cork the upgrade's response is still held in
    writer.flush()
  }

  /**
   * Ping the connections whose turn has come since the wheel last turned; one that did not answer its
   * last ping (a turn ago) is gone. Then the timer takes the period the number of connections asks for.
   */
  private pingDue (): void {
    for (const ws of this.pings.due(performance.now(), this.pingTickMs)) {
      const alive = this.alive.get(ws)
      // gone since the tick began (the close handler takes it off the wheel)
      if (alive === undefined) continue
      if (!alive) {
        // no pong since the last ping: the peer is gone without a FIN (half-open TCP)
        this.c.metrics.wsEvents.inc({ event: 'no_pong' })
        ws.terminate()
        continue
      }
      this.alive.set(ws, false)
      try {
        ws.ping()
      } catch (err) {
        this.c.log('ping failed - %s', asMeshchatError(err).message)
      }
    }
    const step = pingStep(this.alive.size, this.pingSlowStep)
    if (step > 0 && step !== this.pingStep) this.startPings(step)
  }
}
