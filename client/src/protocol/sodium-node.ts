import { createRequire } from 'node:module'

/**
 * libsodium for Node processes, through the optional `sodium-native` package (a prebuilt addon for
 * Linux, macOS and Windows on x64 and arm64): Ed25519 signatures (ed25519-node.ts), the mesh's
 * XSalsa20 keystream (node/src/mesh/pnet.ts) and noise's ChaCha20-Poly1305 (noise-crypto-node.ts),
 * each several times faster than the fallback. Undefined where the addon does not load, or when
 * `MESHCHAT_SODIUM=off` asks for the fallbacks (node:crypto for signatures, @noble/ciphers for
 * XSalsa20, noise's own for ChaCha20-Poly1305).
 */
export interface Sodium {
  crypto_sign_verify_detached: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean
  crypto_sign_detached: (signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array) => void
  crypto_sign_seed_keypair: (publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array) => void
  /** XSalsa20 as a stream: a state of `crypto_stream_xor_STATEBYTES` carries the position across calls of any length */
  crypto_stream_xor_init: (state: Uint8Array, nonce: Uint8Array, key: Uint8Array) => void
  crypto_stream_xor_update: (state: Uint8Array, out: Uint8Array, data: Uint8Array) => void
  crypto_stream_xor_final: (state: Uint8Array) => void
  crypto_stream_xor_STATEBYTES: number
  /** ChaCha20-Poly1305 (IETF) with the tag after the ciphertext; decrypt throws when the tag does not match */
  crypto_aead_chacha20poly1305_ietf_encrypt: (out: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, nonce: Uint8Array, k: Uint8Array) => number
  crypto_aead_chacha20poly1305_ietf_decrypt: (out: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array, k: Uint8Array) => number
}

const FUNCTIONS = [
  'crypto_sign_verify_detached', 'crypto_sign_detached', 'crypto_sign_seed_keypair',
  'crypto_stream_xor_init', 'crypto_stream_xor_update', 'crypto_stream_xor_final',
  'crypto_aead_chacha20poly1305_ietf_encrypt', 'crypto_aead_chacha20poly1305_ietf_decrypt'
] as const

/** the addon, whatever `MESHCHAT_SODIUM` says (tests compare it with the fallbacks); undefined when it does not load */
export function requireSodium (): Sodium | undefined {
  try {
    const s = createRequire(import.meta.url)('sodium-native') as Partial<Sodium>
    return FUNCTIONS.every(f => typeof s[f] === 'function') && typeof s.crypto_stream_xor_STATEBYTES === 'number' ? s as Sodium : undefined
  } catch {
    return undefined
  }
}

/** what this process uses */
export const sodium: Sodium | undefined = process.env.MESHCHAT_SODIUM === 'off' ? undefined : requireSodium()
