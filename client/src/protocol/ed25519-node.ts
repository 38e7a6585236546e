import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { requireSodium, sodium } from './sodium-node.js'
import type { Sodium } from './sodium-node.js'
import type { Ed25519VerifierFactory } from './signing.js'

/*
 * Ed25519 on Node: libsodium (sodium-node.ts) when it loads, else node:crypto (OpenSSL). Measured on
 * the benchmark machine: a check takes 54 µs in libsodium against 110–140 µs in OpenSSL (plus
 * 35–40 µs to build the KeyObject of a new author), a signature 19 µs against 45 µs. Both follow
 * RFC 8032 and reject a non-canonical S; libsodium also refuses keys and R of small order, which no
 * honest signer makes.
 */

/** which library checks and makes Ed25519 signatures in this process */
export const ed25519Backend: 'libsodium' | 'openssl' = sodium != null ? 'libsodium' : 'openssl'

/** libsodium's verifier and signer, when the addon loads (whatever `MESHCHAT_SODIUM` says) */
export function sodiumEd25519 (): { verifier: Ed25519VerifierFactory, signer: (seed: Uint8Array) => (data: Uint8Array) => Uint8Array } | undefined {
  const s = sodium ?? requireSodium()
  return s == null ? undefined : { verifier: publicKey => sodiumVerifier(s, publicKey), signer: seed => sodiumSigner(s, seed) }
}

/** DER SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410); the 32 raw key bytes follow it. */
const SPKI_ED25519_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])

/**
 * Node-only Ed25519 verifier for one author, reused for every signature of theirs (with OpenSSL,
 * one `KeyObject` per author: `@libp2p/crypto` builds a new one from JWK on every call, which
 * costs as much as the check itself).
 */
export const nodeEd25519Verifier: Ed25519VerifierFactory = publicKey => sodium != null ? sodiumVerifier(sodium, publicKey) : opensslEd25519Verifier(publicKey)

function sodiumVerifier (s: Sodium, publicKey: Uint8Array): (data: Uint8Array, signature: Uint8Array) => boolean {
  if (publicKey.byteLength !== 32) throw new TypeError('an Ed25519 public key is 32 bytes')
  const pk = publicKey.slice()
  return (data, signature) => signature.byteLength === 64 && s.crypto_sign_verify_detached(signature, data, pk)
}

/** the node:crypto (OpenSSL) verifier, whatever the process uses */
export const opensslEd25519Verifier: Ed25519VerifierFactory = publicKey => {
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
 * Node-only Ed25519 signing with the key prepared once (libsodium's expanded secret key, or one
 * `KeyObject`: `@libp2p/crypto` builds a new one for every signature). `seed` is the 32-byte
 * private seed (libp2p keeps seed ‖ public key; either is accepted).
 */
export function nodeEd25519Signer (seed: Uint8Array): (data: Uint8Array) => Uint8Array {
  return sodium != null ? sodiumSigner(sodium, seed) : opensslEd25519Signer(seed)
}

/** The raw public key of a 32-byte Ed25519 seed: libsodium where it loads, else node:crypto. */
export function nodeEd25519PublicKey (seed: Uint8Array): Uint8Array {
  if (seed.byteLength !== 32) throw new TypeError('an Ed25519 private key is a 32-byte seed')
  if (sodium == null) return opensslEd25519PublicKey(seed)
  const { pk, sk } = sodiumKeyPair(sodium, seed)
  sk.fill(0)
  return pk
}

/** the node:crypto (OpenSSL) derivation, whatever the process uses */
export function opensslEd25519PublicKey (seed: Uint8Array): Uint8Array {
  if (seed.byteLength !== 32) throw new TypeError('an Ed25519 private key is a 32-byte seed')
  const spki = createPublicKey(opensslPrivateKey(seed)).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.byteLength))
}

/** libsodium's key pair of a seed (its first 32 bytes) */
function sodiumKeyPair (s: Sodium, seed: Uint8Array): { pk: Uint8Array, sk: Uint8Array } {
  const pk = new Uint8Array(32)
  const sk = new Uint8Array(64)
  s.crypto_sign_seed_keypair(pk, sk, seed.subarray(0, 32))
  return { pk, sk }
}

/** node:crypto's private key of a seed (its first 32 bytes) */
function opensslPrivateKey (seed: Uint8Array): KeyObject {
  const der = new Uint8Array(PKCS8_ED25519_PREFIX.byteLength + 32)
  der.set(PKCS8_ED25519_PREFIX, 0)
  der.set(seed.subarray(0, 32), PKCS8_ED25519_PREFIX.byteLength)
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })
}

function sodiumSigner (s: Sodium, seed: Uint8Array): (data: Uint8Array) => Uint8Array {
  if (seed.byteLength !== 32 && seed.byteLength !== 64) throw new TypeError('an Ed25519 private key is a 32-byte seed')
  const { sk } = sodiumKeyPair(s, seed)
  return data => {
    const signature = new Uint8Array(64)
    s.crypto_sign_detached(signature, data, sk)
    return signature
  }
}

/** the node:crypto (OpenSSL) signer, whatever the process uses */
export function opensslEd25519Signer (seed: Uint8Array): (data: Uint8Array) => Uint8Array {
  if (seed.byteLength !== 32 && seed.byteLength !== 64) throw new TypeError('an Ed25519 private key is a 32-byte seed')
  const key = opensslPrivateKey(seed)
  return data => new Uint8Array(sign(null, data, key))
}
