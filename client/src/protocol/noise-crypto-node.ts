import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { sodium } from './sodium-node.js'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import type { Sodium } from './sodium-node.js'

/**
 * Noise's ChaCha20-Poly1305 on libsodium where it loads (sodium-node.ts; `null` for none), the rest of noise's own
 * Node crypto otherwise and around it (hashes, X25519). Measured on the benchmark machine, encrypt
 * and decrypt of one frame: 4.5 against 10.7 µs at 300 bytes, 6.8 against 22.7 µs at 1,000, 12
 * against 51 µs at 4,000 (noise's own picks WebAssembly below 1,200 bytes and node:crypto above).
 * The same bytes either way, so either kind of peer talks to the other.
 */
export function noiseCrypto (s: Sodium | null | undefined = sodium): ICryptoInterface {
  if (s == null) return defaultCrypto
  return {
    ...defaultCrypto,
    chaCha20Poly1305Encrypt (plaintext, nonce, ad, k) {
      const m = plaintext.subarray()
      const out = new Uint8Array(m.byteLength + TAG)
      s.crypto_aead_chacha20poly1305_ietf_encrypt(out, m, ad, null, nonce, k)
      return out
    },
    chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
      const c = ciphertext.subarray()
      if (c.byteLength < TAG) throw new Error('Invalid chacha20poly1305 decryption')
      // noise hands the ciphertext's own bytes as `dst`: decrypted in place, as its WebAssembly cipher does
      const out = dst != null && dst.byteLength === c.byteLength - TAG ? dst : new Uint8Array(c.byteLength - TAG)
      try {
        s.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, c, ad, nonce, k)
      } catch {
        throw new Error('Invalid chacha20poly1305 decryption')
      }
      return out
    }
  }
}

const TAG = 16
