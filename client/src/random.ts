import { LIMITS } from './protocol/limits.js'

/**
 * CSPRNG output is fetched a block at a time: one `crypto.getRandomValues` call costs 4–6 µs in
 * Node whatever its size (up to its 64 KiB limit), more than the rest of a nonce's use, and a client
 * signs every event it sends with a fresh nonce; a Node WebSocket masks every frame it sends. Each
 * byte of a block is handed out once.
 */
const BLOCK_BYTES = 4096

let block: Uint8Array<ArrayBuffer> = new Uint8Array(0)
let at = BLOCK_BYTES

/**
 * `n` fresh random bytes (at most a block) as a view of the block: for a use at once (a frame's
 * mask, a handshake key). Nothing else is ever handed the same bytes.
 */
export function randomView (n: number): Uint8Array<ArrayBuffer> {
  if (n > BLOCK_BYTES) throw new RangeError(`at most ${BLOCK_BYTES} random bytes from the block`)
  if (at + n > block.byteLength) {
    block = globalThis.crypto.getRandomValues(new Uint8Array(BLOCK_BYTES))
    at = 0
  }
  const out = block.subarray(at, at + n)
  at += n
  return out
}

/** `n` fresh random bytes (default: an event nonce), the caller's own copy */
export function randomNonce (n: number = LIMITS.nonceBytes): Uint8Array<ArrayBuffer> {
  return n > BLOCK_BYTES ? globalThis.crypto.getRandomValues(new Uint8Array(n)) : randomView(n).slice()
}
