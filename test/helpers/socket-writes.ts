import { Socket } from 'node:net'

/**
 * Counts the writes TCP sockets hand to the kernel: each call of a stream's `_write` or `_writev`
 * (what Writable calls once per write, or once for everything a cork held) is one write syscall.
 * Only sockets `counted` picks are counted. `restore` puts the prototype back.
 */
export function countSocketWrites (counted: (s: Socket) => boolean): { calls: () => number, restore: () => void } {
  const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (this: Socket, ...args: unknown[]) => unknown>
  const write = proto._write
  const writev = proto._writev
  let calls = 0
  proto._write = function (...args) { if (counted(this)) calls++; return write.apply(this, args) }
  proto._writev = function (...args) { if (counted(this)) calls++; return writev.apply(this, args) }
  return { calls: () => calls, restore: () => { proto._write = write; proto._writev = writev } }
}
