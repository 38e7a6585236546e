import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { FrameSealer, LINK_ANSWER, LINK_OFFER, linkKeys } from '../../node/src/mesh/data-link.js'
import { requireSodium } from '../../client/src/protocol/sodium-node.js'
import { BadFrameError } from '../../client/src/protocol/errors.js'

const sodium = requireSodium()

/** seal `plain` with `s` into a fresh buffer */
function sealed (s: FrameSealer, plain: Uint8Array): Uint8Array {
  const out = new Uint8Array(plain.byteLength + 16)
  s.seal(plain, out)
  return out
}

describe('data link frames', () => {
  const key = randomBytes(32)
  const variants: Array<[string, typeof sodium | null]> = [['node:crypto', null], ...(sodium == null ? [] : [['libsodium', sodium] as [string, typeof sodium]])]

  for (const [name, s] of variants) {
    it(`open what was sealed, frame after frame, with ${name}`, () => {
      const tx = new FrameSealer(key, s)
      const rx = new FrameSealer(key, s)
      for (const size of [0, 1, 6, 500, 70_000]) {
        const plain = randomBytes(size)
        expect(Buffer.from(rx.open(sealed(tx, plain))).equals(plain)).toBe(true)
      }
    })

    it(`refuse a changed byte, a frame out of order, a replay and another key, with ${name}`, () => {
      const tx = new FrameSealer(key, s)
      const rx = new FrameSealer(key, s)
      const first = sealed(tx, Buffer.from('first'))
      const second = sealed(tx, Buffer.from('second'))
      // the second frame first: its nonce is not the one the receiver expects
      expect(() => rx.open(second)).toThrow(BadFrameError)
      const rx2 = new FrameSealer(key, s)
      expect(Buffer.from(rx2.open(first)).toString()).toBe('first')
      // the first again (a replay) where the second belongs
      expect(() => rx2.open(first)).toThrow(BadFrameError)
      const tampered = sealed(new FrameSealer(key, s), Buffer.from('hello'))
      tampered[2] = (tampered[2] as number) ^ 1
      expect(() => new FrameSealer(key, s).open(tampered)).toThrow(BadFrameError)
      expect(() => new FrameSealer(randomBytes(32), s).open(sealed(new FrameSealer(key, s), Buffer.from('x')))).toThrow(BadFrameError)
      expect(() => new FrameSealer(key, s).open(new Uint8Array(15))).toThrow(BadFrameError)
    })
  }

  it('libsodium and node:crypto seal to the same bytes', () => {
    if (sodium == null) return
    const a = new FrameSealer(key, sodium)
    const b = new FrameSealer(key, null)
    for (let i = 0; i < 5; i++) {
      const plain = randomBytes(100 * i)
      expect(Buffer.from(sealed(a, plain)).equals(Buffer.from(sealed(b, plain)))).toBe(true)
    }
  })
})

describe('data link keys and exchange', () => {
  it('both ends derive the same two keys, one per direction, and any other input gives others', () => {
    const a = randomBytes(32)
    const b = randomBytes(32)
    const token = randomBytes(16)
    const k = linkKeys(a, b, 'nodeA', 'nodeB', token)
    const again = linkKeys(a, b, 'nodeA', 'nodeB', token)
    expect(k.forward.equals(again.forward) && k.backward.equals(again.backward)).toBe(true)
    expect(k.forward.equals(k.backward)).toBe(false)
    for (const other of [
      linkKeys(b, a, 'nodeA', 'nodeB', token),
      linkKeys(a, b, 'nodeB', 'nodeA', token),
      linkKeys(a, b, 'nodeA', 'nodeC', token),
      linkKeys(a, b, 'nodeA', 'nodeB', randomBytes(16))
    ]) {
      expect(other.forward.equals(k.forward)).toBe(false)
      expect(other.backward.equals(k.backward)).toBe(false)
    }
  })

  it('the offer and the answer decode what they encode, and refuse any other length or version', () => {
    const nonce = randomBytes(32)
    expect(Buffer.from(LINK_OFFER.decode(LINK_OFFER.encode({ nonce })).nonce).equals(nonce)).toBe(true)
    const token = randomBytes(16)
    const answer = LINK_ANSWER.decode(LINK_ANSWER.encode({ token, nonce, port: 45_678 }))
    expect(Buffer.from(answer.token).equals(token) && Buffer.from(answer.nonce).equals(nonce)).toBe(true)
    expect(answer.port).toBe(45_678)
    const offer = LINK_OFFER.encode({ nonce })
    expect(() => LINK_OFFER.decode(offer.subarray(1))).toThrow(BadFrameError)
    expect(() => LINK_OFFER.decode(new Uint8Array([2, ...nonce]))).toThrow(BadFrameError)
    expect(() => LINK_ANSWER.decode(offer)).toThrow(BadFrameError)
    const wrongVersion = LINK_ANSWER.encode({ token, nonce, port: 1 })
    wrongVersion[0] = 9
    expect(() => LINK_ANSWER.decode(wrongVersion)).toThrow(BadFrameError)
  })
})
