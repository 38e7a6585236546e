import { LIMITS } from './protocol/limits.js'

/**
 * CSPRNG output is fetched a block at a time: one `crypto.getRandomValues` call costs about 6 µs
 * in Node whatever its size (up to its 64 KiB limit), more than the rest of a nonce's use, and a
 * client signs every event it sends with a fresh one. Each byte of a block is handed out once.
 */
const BLOCK_BYTES = 4096

let block = new Uint8Array(0)
let at = 0

/** `n` fresh random bytes (default: an event nonce), the caller's own copy */
export function randomNonce (n: number = LIMITS.nonceBytes): Uint8Array {
  if (n > BLOCK_BYTES) return globalThis.crypto.getRandomValues(new Uint8Array(n))
  if (at + n > block.byteLength) {
    block = globalThis.crypto.getRandomValues(new Uint8Array(BLOCK_BYTES))
    at = 0
  }
  const out = block.slice(at, at + n)
  // what was handed out is not kept
  block.fill(0, at, at + n)
  at += n
  return out
}
