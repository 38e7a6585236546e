import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
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

/** DER PKCS#8 header of an Ed25519 private key (RFC 8410); the 32-byte seed follows it. */
const PKCS8_ED25519_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])

/**
 * Node-only Ed25519 signing with one `KeyObject` kept for the key: `@libp2p/crypto` builds a new one
 * for every signature. `seed` is the 32-byte private seed (libp2p keeps seed ‖ public key; either is
 * accepted).
 */
export function nodeEd25519Signer (seed: Uint8Array): (data: Uint8Array) => Uint8Array {
  if (seed.byteLength !== 32 && seed.byteLength !== 64) throw new TypeError('an Ed25519 private key is a 32-byte seed')
  const der = new Uint8Array(PKCS8_ED25519_PREFIX.byteLength + 32)
  der.set(PKCS8_ED25519_PREFIX, 0)
  der.set(seed.subarray(0, 32), PKCS8_ED25519_PREFIX.byteLength)
  const key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })
  return data => new Uint8Array(sign(null, data, key))
}
