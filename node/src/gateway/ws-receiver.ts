import * as ws from 'ws'
import type { Duplex, Writable } from 'node:stream'

let quiet = false

/**
 * Whether Node's `end()` without arguments would only build an error and drop it: the stream has
 * finished, or was destroyed after it ended or failed (and is not corked, which `end()` undoes)
 */
function endedAlready (w: Writable): boolean {
  return w.writableCorked === 0 && (w.writableFinished || (w.destroyed && (w.writableEnded || w.errored != null)))
}

/**
 * The `ws` package ends a connection's frame parser (its `Receiver`, a Writable) when a close frame
 * arrives, and calls `end()` on it again when the socket ends and when it closes. On a stream that
 * has finished (or was destroyed), Node's `end()` builds an ERR_STREAM_ALREADY_FINISHED (or
 * ERR_STREAM_DESTROYED) error, stack trace included, and drops it when no callback was given: two
 * errors made and thrown away for every session that closes cleanly, taken from optimized frames,
 * which is the costly kind of stack capture. After this, such an `end()` without arguments returns
 * at once; everything else (a callback, which still gets its error; a chunk; a stream not yet
 * finished) takes Node's own `end()`. Once per process; later calls do nothing.
 */
export function quietReceiverEnds (): void {
  if (quiet) return
  quiet = true
  // the package exports its Receiver class; its type declarations leave it out
  const proto = (ws as unknown as { Receiver: { prototype: Writable } }).Receiver.prototype
  const end = proto.end
  proto.end = function (this: Writable, ...args: unknown[]): Writable {
    if (args.length === 0 && endedAlready(this)) return this
    return (end as (...a: unknown[]) => Writable).apply(this, args)
  } as Writable['end']
}

/** an edge socket's `end()`: its class's own (a TLS socket's or a plain one's) unless that would only make an error */
function endUnlessEnded (this: Duplex, ...args: unknown[]): Duplex {
  if (args.length === 0 && endedAlready(this)) return this
  return ((Object.getPrototypeOf(this) as Duplex).end as (...a: unknown[]) => Duplex).apply(this, args)
}

/**
 * The same for one socket of the edge: `ws` ends it once more when the client's FIN arrives after
 * the node has already ended its side (the close handshake), a third error per clean close. Only
 * the sockets the edge upgrades get this `end()`; every other socket keeps Node's.
 */
export function quietSocketEnd (socket: Duplex): void {
  socket.end = endUnlessEnded as Duplex['end']
}
