import { noise } from '@chainsafe/libp2p-noise'
import { noiseCrypto } from '../../../client/src/protocol/noise-crypto-node.js'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { CLIENT_PROTOCOL } from '../../../client/src/protocol/ids.js'
import { Uint8ArrayList } from 'uint8arraylist'
import { lengthPrefixed, readFrames } from '../../../client/src/protocol/codec.js'
import { asMeshchatError } from '../../../client/src/protocol/errors.js'
import { fixLengthPrefixedDecoder } from '../mesh/lp-decoder.js'
import { fixYamuxWindowUpdates } from '../mesh/yamux-window.js'
import { ClientSession } from './session.js'
import type { SessionHost } from './session.js'
import type { Budgets } from '../state/budgets.js'
import type { Supervisor } from '../supervisor.js'
import type { Libp2p, Logger, PeerId, PrivateKey, Stream, Connection, MultiaddrConnection, Startable } from '@libp2p/interface'
import type { SessionRegistry } from './registry.js'
import type { Clock } from '../components.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2pInit } from 'libp2p'

/** the IP address of a multiaddr, or '' */
export function ipOf (ma: Multiaddr): string {
  return ma.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value ?? ''
}

/**
 * Client connections per IP address, counted while they are open: one address
 * cannot take every slot of the node. Shared by every client transport.
 */
export class IpLimit {
  private readonly open = new Map<string, number>()

  constructor (private readonly max: number) {}

  /** count a new connection from `ip`; false (and nothing counted) when the address is at its limit */
  acquire (ip: string): boolean {
    const n = this.open.get(ip) ?? 0
    if (n >= this.max) return false
    this.open.set(ip, n + 1)
    return true
  }

  release (ip: string): void {
    const n = (this.open.get(ip) ?? 0) - 1
    if (n <= 0) this.open.delete(ip)
    else this.open.set(ip, n)
  }

  count (ip: string): number {
    return this.open.get(ip) ?? 0
  }
}

export interface GatewayInit {
  /** the node's key: clients see the same PeerId on the gateway as the mesh knows the node by */
  privateKey: PrivateKey
  listen: string[]
  announce?: string[]
  maxClients: number
  /** connections accepted from one IP address */
  maxClientsPerIp: number
  /** a connection that opens no client stream within this is closed */
  idleTimeoutMs: number
  /** frames above this are refused unread (event limit plus framing slack) */
  maxFrameBytes: number
  metrics?: Libp2pInit['metrics']
  supervisor: Supervisor
  /** count a refused connection by reason */
  onRefused?: (reason: string) => void
}

/** which gateway connections carry a client stream (the others are closed after idleTimeoutMs) */
const sessionConnections = new WeakSet<Connection>()

/**
 * The client gateway: WebSockets (browsers) and TCP (Node clients), noise and
 * yamux, and the client protocol alone. No gossipsub, sync or DM protocol is
 * registered here, so a client cannot reach the mesh through it. No pnet
 * either: clients do not hold the mesh key; noise proves their user key.
 */
export async function createGatewayHost (init: GatewayInit): Promise<Libp2p> {
  fixLengthPrefixedDecoder()
  fixYamuxWindowUpdates()
  const transports = []
  if (init.listen.some(a => a.includes('/ws'))) transports.push(webSockets())
  if (init.listen.some(a => !a.includes('/ws'))) transports.push(tcp())
  const perIp = new IpLimit(init.maxClientsPerIp)
  /** raw connections counted against their IP, released when they close whatever stage they reached */
  const counted = new WeakSet<MultiaddrConnection>()
  const host = await createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen: init.listen, announce: init.announce ?? [] },
    transports,
    connectionEncrypters: [noise({ crypto: noiseCrypto() })],
    streamMuxers: [yamux()],
    metrics: init.metrics,
    connectionManager: {
      maxConnections: init.maxClients + 64,
      // many clients share an address (NAT, a load generator); per-host accept throttling would refuse them
      inboundConnectionThreshold: Math.max(1000, init.maxClients),
      maxIncomingPendingConnections: 512
    },
    connectionGater: {
      denyInboundConnection: (maConn: MultiaddrConnection) => {
        const ip = ipOf(maConn.remoteAddr)
        if (!perIp.acquire(ip)) {
          init.onRefused?.('per_ip')
          return true
        }
        counted.add(maConn)
        maConn.addEventListener('close', () => { perIp.release(ip) }, { once: true })
        return false
      }
    },
    // clients do not run the ping protocol; the session's own pings and yamux keep-alives detect dead clients
    connectionMonitor: { enabled: false }
  })
  // an authenticated connection that never opens the client protocol would otherwise be kept for ever
  host.addEventListener('connection:open', init.supervisor.wrap('gateway:idle', (evt: CustomEvent<Connection>) => {
    const conn = evt.detail
    const timer = setTimeout(init.supervisor.wrap('gateway:idle-close', async () => {
      if (conn.status === 'open' && !sessionConnections.has(conn)) {
        init.onRefused?.('idle')
        await conn.close().catch(err => { conn.abort(err as Error) })
      }
    }), init.idleTimeoutMs)
    timer.unref?.()
  }))
  // libp2p records every peer that opens a stream (its protocols) and forgets it only when it is
  // read again: a record per client identity ever seen. The gateway never dials a client, so a
  // client's record goes when its last connection does.
  host.addEventListener('peer:disconnect', init.supervisor.wrap('gateway:forget-peer', async (evt: CustomEvent<PeerId>) => {
    if (host.getConnections(evt.detail).length > 0) return
    await host.peerStore.delete(evt.detail)
  }))
  return host
}

let sessionCounter = 0

export interface ClientStreamOptions {
  maxFrameBytes: number
  log: Logger
  incarnation: number
  budgets: Budgets
  helloTimeoutMs: number
  frameTimeoutMs: number
  clock: Clock
}

/**
 * Run the client protocol on one stream: frames in, session, frames out. Ends
 * when the client closes, a fatal error is sent, or the stream breaks.
 */
export async function serveClientStream (
  stream: Stream,
  connection: Connection,
  host: SessionHost,
  opts: ClientStreamOptions
): Promise<void> {
  sessionConnections.add(connection)
  // a client that stops reading must not make the node buffer without bound; past this the stream is reset
  stream.maxWriteBufferLength = 8 * 1024 * 1024
  let out = new Uint8ArrayList()
  let flushScheduled = false
  const flush = (): void => {
    flushScheduled = false
    if (out.byteLength === 0) return
    const batch = out
    out = new Uint8ArrayList()
    if (stream.writeStatus !== 'writable') return
    try {
      stream.send(batch)
    } catch (err) {
      opts.log('session send failed - %e', err)
      stream.abort(err as Error)
    }
  }
  const session = new ClientSession({
    id: `${opts.incarnation.toString(36)}-${(++sessionCounter).toString(36)}`,
    userId: connection.remotePeer.toString(),
    edge: 'libp2p',
    host,
    log: opts.log,
    remote: connection.remoteAddr.toString(),
    budgets: opts.budgets,
    helloTimeoutMs: opts.helloTimeoutMs,
    clock: opts.clock,
    transport: {
      send: frame => {
        // frames of one turn of the event loop go out as one stream write (one muxer frame, one
        // encryption, one socket write), flushed in the same turn
        out.append(lengthPrefixed(frame))
        if (!flushScheduled) {
          flushScheduled = true
          setImmediate(flush)
        }
      },
      close: () => {
        flush()
        // let the final frames drain, then make sure the stream is gone even if the client never closes its side
        stream.close().catch(err => { stream.abort(err as Error) })
        setTimeout(() => { if (stream.status !== 'closed') stream.abort(new Error('session closed')) }, 2000).unref?.()
      }
    }
  })
  let dropped = false
  try {
    const frames = readFrames(stream, opts.maxFrameBytes, {
      frameTimeoutMs: opts.frameTimeoutMs,
      onStall: err => {
        session.fatal(asMeshchatError(err), 0)
        stream.abort(err)
      }
    })
    for await (const frame of frames) {
      await session.handle(frame)
      if (session.closed) break
    }
  } catch (err) {
    // FrameTooLarge / BadFrame from the reader: tell the client why, then close
    const e = asMeshchatError(err)
    if (e.name !== 'InternalError') {
      session.fatal(e, 0)
    } else {
      opts.log('client stream ended - %e', err)
      dropped = true
    }
  } finally {
    // a client that is leaving closes its stream; one that broke (reset, the connection lost, a
    // reader too slow for the write buffer) while the session was open keeps its device in
    // presence for the grace, as on the light edge. Before the session's own close
    if (dropped && !session.closed) host.detach(session, { linger: true })
    if (!session.closed) session.close()
    host.detach(session)
  }
}

/**
 * The libp2p client edge: the client protocol on the gateway host. The node
 * starts the host itself early (its addresses go into the first heartbeat) and
 * this edge last; a stop refuses new streams and detaches every session (its
 * presence goes), and the node closes the host's connections at the end.
 */
export class Libp2pClientEdge implements Startable {
  private started = false

  constructor (
    private readonly gateway: Libp2p,
    private readonly host: SessionHost,
    private readonly registry: SessionRegistry,
    private readonly opts: ClientStreamOptions & { supervisor: Supervisor }
  ) {}

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await this.gateway.handle(CLIENT_PROTOCOL, (stream, connection) => {
      this.opts.supervisor.track('gateway:session', serveClientStream(stream, connection, this.host, this.opts))
    }, { maxInboundStreams: 4 })
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.gateway.unhandle(CLIENT_PROTOCOL)
    for (const s of [...this.registry.all()]) this.host.detach(s)
  }
}
