import { createPublicKey, verify } from 'node:crypto'
import type { Ed25519VerifierFactory } from './signing.js'

/** DER SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410); the 32 raw key bytes follow it. */
const SPKI_ED25519_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])

/**
 * Node-only Ed25519 verifier: one `KeyObject` per author, reused for every signature of theirs.
 * `@libp2p/crypto` builds a new one from JWK on every call, which costs as much as the check itself.
 */
export const nodeEd25519Verifier: Ed25519VerifierFactory = publicKey => {
  if (publicKey.byteLength !== 32) throw new TypeError('an Ed25519 public key is 32 bytes')
  const der = new Uint8Array(SPKI_ED25519_PREFIX.byteLength + 32)
  der.set(SPKI_ED25519_PREFIX, 0)
  der.set(publicKey, SPKI_ED25519_PREFIX.byteLength)
  const key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' })
  return (data, signature) => signature.byteLength === 64 && verify(null, data, key, signature)
}
