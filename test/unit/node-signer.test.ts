import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import { nodeEd25519PublicKey, nodeEd25519Signer, opensslEd25519PublicKey } from '../../client/src/protocol/ed25519-node.js'
import { generateUserKey, privateKeyFromProtobuf, privateKeyToProtobuf, setEd25519PublicKeyOf, setEd25519Signer, userIdOf } from '../../client/src/protocol/keys.js'
import { openEvent, signEvent } from '../../client/src/protocol/signing.js'
import { LIMITS } from '../../client/src/protocol/limits.js'

/**
 * User keys sign through an installed signer when there is one (Node programs: node:crypto, through
 * createNodeClient) and through noble otherwise. Ed25519 signatures are deterministic, so both must
 * give the same bytes for every key and message.
 */
describe('the installable Ed25519 signer of user keys', () => {
  afterEach(() => { setEd25519Signer(undefined) })

  it('gives the same signature as the portable one for any key and message', () => {
    setEd25519Signer(nodeEd25519Signer)
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 2048 }), (seed, data) => {
      const key = privateKeyFromProtobuf(privateKeyToProtobuf({ seed, publicKey: { raw: ed25519.getPublicKey(seed) }, sign: () => new Uint8Array() }))
      const sig = key.sign(data) as Uint8Array
      expect(Buffer.from(sig).toString('hex')).toBe(Buffer.from(ed25519.sign(data, seed)).toString('hex'))
      expect(ed25519.verify(sig, data, key.publicKey.raw)).toBe(true)
    }), { numRuns: 200 })
  })

  it('is built once per key, is taken up by keys made before it was installed, and can be removed', () => {
    const key = generateUserKey()
    const data = new TextEncoder().encode('hello')
    const portable = key.sign(data) as Uint8Array
    let built = 0
    let calls = 0
    setEd25519Signer(seed => {
      built++
      const s = nodeEd25519Signer(seed)
      return d => { calls++; return s(d) }
    })
    for (let i = 0; i < 5; i++) expect(key.sign(data)).toEqual(portable)
    expect(built).toBe(1)
    expect(calls).toBe(5)
    setEd25519Signer(undefined)
    expect(key.sign(data)).toEqual(portable)
    expect(calls).toBe(5)
  })

  it('signs events that open, with the author the key names', async () => {
    setEd25519Signer(nodeEd25519Signer)
    const key = generateUserKey()
    const signed = await signEvent(key, 'Ana', { kind: 'room', room: 'lobby', text: 'hi' }, { now: 1_700_000_000_000, nonce: new Uint8Array(LIMITS.nonceBytes).fill(1) })
    const opened = await openEvent(signed.bytes)
    expect(opened.text).toBe('hi')
    expect(opened.author).toBe(userIdOf(key.publicKey.raw))
  })
})

/**
 * A new key's public half comes from an installed derivation when there is one (Node programs:
 * libsodium or node:crypto, through createNodeClient) and from noble otherwise: a wrong public key
 * would give the user an id that none of their signatures match.
 */
describe('the installable public key derivation of user keys', () => {
  afterEach(() => { setEd25519PublicKeyOf(undefined) })

  it('gives noble\'s public key for any seed, through libsodium and through node:crypto', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), seed => {
      const want = Buffer.from(ed25519.getPublicKey(seed)).toString('hex')
      expect(Buffer.from(nodeEd25519PublicKey(seed)).toString('hex')).toBe(want)
      expect(Buffer.from(opensslEd25519PublicKey(seed)).toString('hex')).toBe(want)
    }), { numRuns: 200 })
    expect(() => nodeEd25519PublicKey(new Uint8Array(31))).toThrow(TypeError)
    expect(() => opensslEd25519PublicKey(new Uint8Array(64))).toThrow(TypeError)
  })

  it('is what keys made and read while it is installed use, and can be removed', () => {
    const seen: Uint8Array[] = []
    setEd25519PublicKeyOf(seed => { seen.push(seed); return nodeEd25519PublicKey(seed) })
    const made = generateUserKey()
    expect(seen).toHaveLength(1)
    expect(made.publicKey.raw).toEqual(ed25519.getPublicKey(made.seed))
    const read = privateKeyFromProtobuf(privateKeyToProtobuf(made))
    expect(seen).toHaveLength(2)
    expect(read.publicKey.raw).toEqual(made.publicKey.raw)
    setEd25519PublicKeyOf(undefined)
    const plain = generateUserKey()
    expect(seen).toHaveLength(2)
    expect(plain.publicKey.raw).toEqual(ed25519.getPublicKey(plain.seed))
  })
})
