import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { CLIENT_PROTOCOL } from '../../../client/src/protocol/ids.js'
import { readFrames } from '../../../client/src/protocol/codec.js'
import { asMeshchatError } from '../../../client/src/errors.js'
import { ClientSession } from './session.js'
import type { SessionHost } from './session.js'
import type { Libp2p, Logger, PrivateKey, Stream, Connection } from '@libp2p/interface'
import type { Libp2pInit } from 'libp2p'

export interface GatewayInit {
  /** the node's key: clients see the same PeerId on the gateway as the mesh knows the node by */
  privateKey: PrivateKey
  listen: string[]
  announce?: string[]
  maxClients: number
  /** frames above this are refused unread (event limit plus framing slack) */
  maxFrameBytes: number
  metrics?: Libp2pInit['metrics']
}

/**
 * The client gateway: WebSockets (browsers) and TCP (Node clients), noise and
 * yamux, and the client protocol alone. No gossipsub, sync or DM protocol is
 * registered here, so a client cannot reach the mesh through it. No pnet
 * either: clients do not hold the mesh key; noise proves their user key.
 */
export async function createGatewayHost (init: GatewayInit): Promise<Libp2p> {
  const transports = []
  if (init.listen.some(a => a.includes('/ws'))) transports.push(webSockets())
  if (init.listen.some(a => !a.includes('/ws'))) transports.push(tcp())
  return createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen: init.listen, announce: init.announce ?? [] },
    transports,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    metrics: init.metrics,
    connectionManager: {
      maxConnections: init.maxClients + 64,
      // many clients share an address (NAT, a load generator); per-host accept throttling would refuse them
      inboundConnectionThreshold: Math.max(1000, init.maxClients),
      maxIncomingPendingConnections: 512
    },
    // clients do not run the ping protocol; the session's own pings and yamux keep-alives detect dead clients
    connectionMonitor: { enabled: false }
  })
}

let sessionCounter = 0

/**
 * Run the client protocol on one stream: frames in, session, frames out. Ends
 * when the client closes, a fatal error is sent, or the stream breaks.
 */
export async function serveClientStream (
  stream: Stream,
  connection: Connection,
  host: SessionHost,
  opts: { maxFrameBytes: number, log: Logger, incarnation: number }
): Promise<void> {
  // a client that stops reading must not make the node buffer without bound; past this the stream is reset
  stream.maxWriteBufferLength = 8 * 1024 * 1024
  const session = new ClientSession({
    id: `${opts.incarnation.toString(36)}-${(++sessionCounter).toString(36)}`,
    userId: connection.remotePeer.toString(),
    host,
    log: opts.log,
    remote: connection.remoteAddr.toString(),
    transport: {
      send: frame => {
        if (stream.writeStatus !== 'writable') return
        try {
          stream.send(frame)
        } catch (err) {
          opts.log('session send failed - %e', err)
          stream.abort(err as Error)
        }
      },
      close: () => {
        // let the final frames drain, then make sure the stream is gone even if the client never closes its side
        stream.close().catch(err => { stream.abort(err as Error) })
        setTimeout(() => { if (stream.status !== 'closed') stream.abort(new Error('session closed')) }, 2000).unref?.()
      }
    }
  })
  try {
    for await (const frame of readFrames(stream, opts.maxFrameBytes)) {
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
    }
  } finally {
    if (!session.closed) session.close()
    host.detach(session)
  }
}

/** register the client protocol on a gateway host */
export async function handleClientProtocol (
  gateway: Libp2p,
  host: SessionHost,
  opts: { maxFrameBytes: number, log: Logger, incarnation: number }
): Promise<void> {
  await gateway.handle(CLIENT_PROTOCOL, (stream, connection) => {
    void serveClientStream(stream, connection, host, opts)
  }, { maxInboundStreams: 4 })
}
