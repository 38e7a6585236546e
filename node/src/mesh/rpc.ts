import { lpStream } from '@libp2p/utils'
import type { Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** a protons message namespace: what request/response needs of a generated type */
export interface WireCodec<T> {
  encode: (obj: Partial<T>) => Uint8Array
  decode: (buf: Uint8Array | Uint8ArrayList) => T
}

export interface RpcOptions {
  /** whole request deadline, ms */
  timeoutMs: number
  /** largest message accepted in either direction */
  maxBytes: number
}

/** The remote answered with something that does not decode, or did not answer in time. */
export class RpcError extends Error {
  static override name = 'RpcError'
  constructor (message: string) {
    super(message)
    this.name = 'RpcError'
  }
}

/**
 * One length-prefixed request, one length-prefixed response, on a fresh stream.
 * Used by /meshchat/sync and /meshchat/dm: short exchanges where a stream per
 * request keeps each independent (yamux streams are cheap) and a slow request
 * never blocks another.
 */
export async function request<Req, Res> (
  host: Libp2p,
  peer: PeerId,
  protocol: string,
  codecs: { req: WireCodec<Req>, res: WireCodec<Res> },
  req: Partial<Req>,
  opts: RpcOptions
): Promise<Res> {
  const signal = AbortSignal.timeout(opts.timeoutMs)
  const stream = await host.dialProtocol(peer, protocol, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: opts.maxBytes })
    await lp.write(codecs.req.encode(req), { signal })
    const buf = await lp.read({ signal })
    let res: Res
    try {
      res = codecs.res.decode(buf)
    } catch (err) {
      throw new RpcError(`${protocol} response from ${peer.toString()} does not decode: ${(err as Error).message}`)
    }
    await stream.close({ signal }).catch(() => {})
    return res
  } catch (err) {
    stream.abort(err as Error)
    if (signal.aborted) throw new RpcError(`${protocol} request to ${peer.toString()} timed out after ${opts.timeoutMs} ms`)
    throw err
  }
}

/**
 * Serve a request/response protocol. A request that does not decode gets no
 * answer and the stream is reset (only mesh peers, which hold the mesh key,
 * can reach this at all); a handler that throws is logged and the stream reset.
 */
export async function serve<Req, Res> (
  host: Libp2p,
  protocol: string,
  codecs: { req: WireCodec<Req>, res: WireCodec<Res> },
  handler: (req: Req, from: PeerId) => Promise<Partial<Res>>,
  opts: { maxBytes: number, timeoutMs: number, log: Logger, maxInboundStreams?: number }
): Promise<void> {
  await host.handle(protocol, async (stream: Stream, connection) => {
    const signal = AbortSignal.timeout(opts.timeoutMs)
    try {
      const lp = lpStream(stream, { maxDataLength: opts.maxBytes })
      const req = codecs.req.decode(await lp.read({ signal }))
      const res = await handler(req, connection.remotePeer)
      await lp.write(codecs.res.encode(res), { signal })
      await stream.close({ signal })
    } catch (err) {
      opts.log('%s request from %p failed - %e', protocol, connection.remotePeer, err)
      stream.abort(err as Error)
    }
  }, { maxInboundStreams: opts.maxInboundStreams ?? 64 })
}
