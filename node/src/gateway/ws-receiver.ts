import * as ws from 'ws'
import type { Writable } from 'node:stream'

let quiet = false

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
    if (args.length === 0 && this.writableCorked === 0 && (this.writableFinished || (this.destroyed && (this.writableEnded || this.errored != null)))) return this
    return (end as (...a: unknown[]) => Writable).apply(this, args)
  } as Writable['end']
}
