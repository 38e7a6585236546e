import { createHash } from 'node:crypto'

/**
 * An event id through node:crypto (OpenSSL) instead of noble's JavaScript: 2.4 µs for a room event
 * of 260 payload bytes against 4.2 µs on the benchmark machine. A plain Uint8Array over the digest's
 * own 32 bytes, as noble's is: ids are kept by the thousand (dedupe maps, pending commits).
 */
export function nodeEventIdHash (payload: Uint8Array, signature: Uint8Array): Uint8Array {
  const d = createHash('sha256').update(payload).update(signature).digest()
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}
