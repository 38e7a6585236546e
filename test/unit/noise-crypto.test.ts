import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { noiseCrypto } from '../../client/src/protocol/noise-crypto-node.js'
import { requireSodium, sodium } from '../../client/src/protocol/sodium-node.js'

const hex = (u: { subarray: () => Uint8Array }): string => Buffer.from(u.subarray()).toString('hex')
/** noise's own copy of uint8arraylist: the same class, another declaration */
type NoiseInput = Parameters<typeof defaultCrypto.chaCha20Poly1305Encrypt>[0]
const asNoise = (l: Uint8ArrayList): NoiseInput => l as unknown as NoiseInput
const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n))

describe('noise ChaCha20-Poly1305 on libsodium', () => {
  const loaded = requireSodium()
  const fast = noiseCrypto(loaded)

  it('is what the mesh and the gateway use here (sodium-native loads on this platform)', () => {
    expect(loaded).toBeDefined()
    expect(noiseCrypto() === defaultCrypto).toBe(sodium == null)
    expect(noiseCrypto(null)).toBe(defaultCrypto)
  })

  it('seals to the same bytes as noise\'s own cipher and each opens what the other sealed, at every size noise sends', () => {
    for (const size of [0, 1, 15, 16, 300, 1199, 1200, 1201, 5000, 65535 - 16]) {
      const k = random(32)
      const nonce = random(12)
      const ad = random(size % 3 === 0 ? 0 : 32)
      const plain = random(size)
      const ours = fast.chaCha20Poly1305Encrypt(plain, nonce, ad, k)
      const theirs = defaultCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k)
      expect(hex(ours), `size ${size}`).toBe(hex(theirs))
      expect(hex(defaultCrypto.chaCha20Poly1305Decrypt(ours.subarray(), nonce, ad, k))).toBe(hex(plain))
      expect(hex(fast.chaCha20Poly1305Decrypt(theirs.subarray(), nonce, ad, k))).toBe(hex(plain))
    }
  })

  it('takes lists as well as arrays, and decrypts into the ciphertext\'s own bytes when noise asks for it', () => {
    const k = random(32)
    const nonce = random(12)
    const ad = new Uint8Array(0)
    const plain = random(1000)
    const list = new Uint8ArrayList(plain.subarray(0, 10), plain.subarray(10, 700), plain.subarray(700))
    const sealed = fast.chaCha20Poly1305Encrypt(asNoise(list), nonce, ad, k).subarray()
    expect(hex(sealed)).toBe(hex(defaultCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k)))
    const dst = sealed.subarray(0, sealed.byteLength - 16)
    const opened = fast.chaCha20Poly1305Decrypt(sealed, nonce, ad, k, dst)
    expect(hex(opened)).toBe(hex(plain))
    expect(opened.subarray().buffer).toBe(sealed.buffer)
    const sealed2 = fast.chaCha20Poly1305Encrypt(plain, nonce, ad, k)
    expect(hex(fast.chaCha20Poly1305Decrypt(asNoise(new Uint8ArrayList(sealed2.subarray().subarray(0, 5), sealed2.subarray().subarray(5))), nonce, ad, k))).toBe(hex(plain))
  })

  it('refuses a flipped bit anywhere, another nonce, key or associated data, and a frame shorter than its tag', () => {
    const k = random(32)
    const nonce = random(12)
    const ad = random(8)
    const plain = random(64)
    const sealed = fast.chaCha20Poly1305Encrypt(plain, nonce, ad, k).subarray()
    for (let bit = 0; bit < sealed.byteLength * 8; bit += 7) {
      const bad = Uint8Array.from(sealed)
      bad[bit >> 3] = bad[bit >> 3]! ^ (1 << (bit & 7))
      expect(() => fast.chaCha20Poly1305Decrypt(bad, nonce, ad, k), `bit ${bit}`).toThrow(/decryption/)
    }
    expect(() => fast.chaCha20Poly1305Decrypt(sealed, random(12), ad, k)).toThrow(/decryption/)
    expect(() => fast.chaCha20Poly1305Decrypt(sealed, nonce, ad, random(32))).toThrow(/decryption/)
    expect(() => fast.chaCha20Poly1305Decrypt(sealed, nonce, random(8), k)).toThrow(/decryption/)
    expect(() => fast.chaCha20Poly1305Decrypt(sealed.subarray(0, 15), nonce, ad, k)).toThrow(/decryption/)
  })
})
