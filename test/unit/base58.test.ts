/**
 * The client's own base58btc (user ids are PeerId strings) against the textbook conversion with
 * BigInt, on random bytes of every length up to 64 with runs of leading zeros and on random digit
 * strings up to 80 long; characters outside the alphabet refused; user ids against libp2p's PeerId of
 * the same key.
 */
import { randomBytes } from 'node:crypto'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { base58Decode, base58Encode, generateUserKey, userIdOf } from '../../client/src/protocol/keys.js'

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** the bytes as one big number written in base 58, a '1' for each leading zero byte */
function reference (bytes: Uint8Array): string {
  let zeros = 0
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++
  let n = 0n
  for (const b of bytes) n = n * 256n + BigInt(b)
  let digits = ''
  while (n > 0n) {
    digits = ALPHABET[Number(n % 58n)]! + digits
    n /= 58n
  }
  return '1'.repeat(zeros) + digits
}

describe('base58btc', () => {
  it('encodes as the BigInt conversion does, and decodes back, for 0 to 64 bytes with leading zeros', () => {
    let checked = 0
    for (let len = 0; len <= 64; len++) {
      for (let round = 0; round < 30; round++) {
        const bytes = new Uint8Array(randomBytes(len))
        // leading zero bytes become leading '1's: runs of 0 to 4 of them
        bytes.fill(0, 0, Math.min(len, round % 5))
        // and the largest and smallest limbs: all 0xff, or a single 1 after zeros
        if (round === 28) bytes.fill(0xff)
        if (round === 29 && len > 0) { bytes.fill(0); bytes[len - 1] = 1 }
        const s = base58Encode(bytes)
        expect(s).toBe(reference(bytes))
        expect(base58Decode(s)).toEqual(bytes)
        checked++
      }
    }
    expect(checked).toBe(65 * 30)
  })

  it('decodes any string of base58 digits to the number it writes, and encodes it back to the same string', () => {
    for (let len = 0; len <= 80; len++) {
      for (let round = 0; round < 20; round++) {
        let s = ''
        for (let i = 0; i < len; i++) s += ALPHABET[randomBytes(1)[0]! % 58]
        // runs of leading '1's (zero bytes), and the largest digit throughout
        if (round < 5) s = '1'.repeat(round) + s.slice(round)
        if (round === 19) s = 'z'.repeat(len)
        const bytes = base58Decode(s)
        expect(bytes).toBeInstanceOf(Uint8Array)
        expect(reference(bytes!)).toBe(s)
        expect(base58Encode(bytes!)).toBe(s)
      }
    }
    expect(base58Decode('')).toEqual(new Uint8Array(0))
    expect(base58Decode('111')).toEqual(new Uint8Array(3))
  })

  it('refuses characters base58 does not have, wherever they stand', () => {
    const id = userIdOf(generateUserKey().publicKey.raw)
    for (const bad of ['0', 'O', 'I', 'l', '+', '/', ' ', '\x7f', '\u00e9', '\u0131', '\ud83d\ude00', '\u0000']) {
      for (const at of [0, 1, 20, id.length]) {
        expect(base58Decode(id.slice(0, at) + bad + id.slice(at))).toBeUndefined()
      }
    }
  })

  it('gives a user id equal to the PeerId libp2p makes of the same key', () => {
    for (let i = 0; i < 200; i++) {
      const key = generateUserKey()
      expect(userIdOf(key.publicKey.raw)).toBe(peerIdFromPublicKey(publicKeyFromRaw(key.publicKey.raw)).toString())
    }
  })
})
