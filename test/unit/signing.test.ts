import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { sha256 } from '@noble/hashes/sha2.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LIMITS } from '../../client/src/protocol/limits.js'
import { BadSignatureError, EventTooLargeError, InvalidEventError, InvalidUserError, MeshchatError } from '../../client/src/protocol/errors.js'
import { Event, SignedEvent } from '../../client/src/protocol/pb/event.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { ed25519Backend, opensslEd25519Signer, opensslEd25519Verifier, sodiumEd25519 } from '../../client/src/protocol/ed25519-node.js'
import { userIdKey } from '../../client/src/protocol/keys.js'
import { eventId, idToHex, openEvent, setDefaultEd25519Verifier, setEd25519Verifier, signEvent, validateUserId } from '../../client/src/protocol/signing.js'
import { useWebCryptoEd25519, webCryptoEd25519Verifier } from '../../client/src/protocol/ed25519-webcrypto.js'
import { rejectionOf } from '../helpers/assert.js'
import { patchBytes, signPayload, signRawEvent, stripSignature, tamperBody } from '../helpers/raw-client.js'
import type { PrivateKey } from '@libp2p/interface'

const nonce = (fill = 7): Uint8Array => new Uint8Array(LIMITS.nonceBytes).fill(fill)
const opts = { now: 1_700_000_000_123, nonce: nonce() }

function hex (u: Uint8Array): string {
  return Buffer.from(u).toString('hex')
}

const sodium = sodiumEd25519()

// every case runs with the portable verifier (noble), with WebCrypto's (browsers that have it), and with both that nodes can install
describe.each([
  ['@libp2p/crypto', undefined],
  ['WebCrypto', webCryptoEd25519Verifier],
  ['node:crypto KeyObject per author', opensslEd25519Verifier],
  ['libsodium', sodium?.verifier]
])('signing, verified with %s', (_name, verifier) => {
  let alice: PrivateKey
  let bob: PrivateKey

  beforeAll(async () => {
    setEd25519Verifier(verifier)
    alice = await generateKeyPair('Ed25519')
    bob = await generateKeyPair('Ed25519')
  })
  afterAll(() => { setEd25519Verifier(undefined) })

  it('sign → open round trip keeps every field', async () => {
    const signed = await signEvent(alice, 'Alice ✨', { kind: 'room', room: 'lobby', text: 'hello\nworld\t🙂' }, opts)
    const opened = await openEvent(signed.bytes)
    expect(opened.kind).toBe('room')
    expect(opened.room).toBe('lobby')
    expect(opened.text).toBe('hello\nworld\t🙂')
    expect(opened.name).toBe('Alice ✨')
    expect(opened.ts).toBe(1_700_000_000_123)
    expect(opened.author).toBe(peerIdFromPrivateKey(alice).toString())
    expect(opened.idHex).toBe(signed.idHex)
    expect(opened.bytes).toEqual(signed.bytes)

    const dm = await openEvent((await signEvent(alice, 'a', { kind: 'dm', to: peerIdFromPrivateKey(bob).toString(), text: 'psst' }, opts)).bytes)
    expect(dm).toMatchObject({ kind: 'dm', to: peerIdFromPrivateKey(bob).toString(), text: 'psst' })
    expect(dm.room).toBeUndefined()

    const typing = await openEvent((await signEvent(alice, 'a', { kind: 'typing', room: 'lobby', active: true }, opts)).bytes)
    expect(typing).toMatchObject({ kind: 'typing', room: 'lobby', active: true })
    expect(typing.text).toBeUndefined()
  })

  it('the message id is sha256(payload ‖ signature) of the bytes on the wire', async () => {
    const signed = await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'id check' }, opts)
    const wire = SignedEvent.decode(signed.bytes)
    const concat = new Uint8Array(wire.payload.byteLength + wire.signature.byteLength)
    concat.set(wire.payload, 0)
    concat.set(wire.signature, wire.payload.byteLength)
    const expected = sha256(concat)
    expect(hex(signed.id)).toBe(hex(expected))
    expect(signed.idHex).toBe(hex(expected))
    expect(hex(eventId(wire.payload, wire.signature))).toBe(hex(expected))
    expect(idToHex(expected)).toMatch(/^[0-9a-f]{64}$/)
    expect((await openEvent(signed.bytes)).idHex).toBe(hex(expected))
  })

  it('the id is stable: the same signed bytes always give the same id, and signing is deterministic', async () => {
    const a = await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'same' }, opts)
    const b = await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'same' }, opts)
    expect(b.bytes).toEqual(a.bytes)
    expect(b.idHex).toBe(a.idHex)
    const opened1 = await openEvent(a.bytes)
    const opened2 = await openEvent(Uint8Array.from(a.bytes))
    expect(opened1.idHex).toBe(a.idHex)
    expect(opened2.idHex).toBe(a.idHex)
  })

  it('anything that changes the signed bytes changes the id: nonce, ts, text, author', async () => {
    const base = await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'same' }, opts)
    const others = [
      await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'same' }, { ...opts, nonce: nonce(8) }),
      await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'same' }, { ...opts, now: opts.now + 1 }),
      await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'same!' }, opts),
      await signEvent(bob, 'a', { kind: 'room', room: 'lobby', text: 'same' }, opts)
    ]
    const ids = new Set([base.idHex, ...others.map(o => o.idHex)])
    expect(ids.size).toBe(5)
    const byBob = await openEvent(others[3]!.bytes)
    expect(byBob.author).toBe(peerIdFromPrivateKey(bob).toString())
    expect(byBob.author).not.toBe(peerIdFromPrivateKey(alice).toString())
  })

  it('a test-side raw signer produces exactly what signEvent produces (keeps the test helper honest)', async () => {
    const signed = await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'same' }, opts)
    const raw = await signRawEvent(alice, {
      name: new TextEncoder().encode('a') as Uint8Array<ArrayBuffer>,
      ts: BigInt(opts.now),
      nonce: nonce() as Uint8Array<ArrayBuffer>,
      room: { room: 'lobby', body: new TextEncoder().encode('same') as Uint8Array<ArrayBuffer> }
    })
    expect(hex(raw)).toBe(hex(signed.bytes))
  })

  it('every single flipped bit in the signature → BadSignatureError', async () => {
    const signed = await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'flip the signature' }, opts)
    const wire = SignedEvent.decode(signed.bytes)
    for (let i = 0; i < wire.signature.byteLength; i++) {
      for (const mask of [0x01, 0x80]) {
        const sig = wire.signature.slice()
        sig[i] = sig[i]! ^ mask
        const err = await rejectionOf(openEvent(SignedEvent.encode({ payload: wire.payload, signature: sig })))
        expect(err.name, `signature byte ${i} ^ 0x${mask.toString(16)}`).toBe('BadSignatureError')
      }
    }
  })

  it('every flipped byte in the message body → BadSignatureError (verification comes before content checks)', async () => {
    const text = 'the quick brown fox'
    const signed = await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text }, opts)
    const wire = SignedEvent.decode(signed.bytes)
    const body = new TextEncoder().encode(text)
    const at = Buffer.from(wire.payload).indexOf(Buffer.from(body))
    expect(at).toBeGreaterThan(0)
    for (let i = at; i < at + body.byteLength; i++) {
      // 0x80 turns ASCII into invalid UTF-8; the signature check must still be what refuses it
      for (const mask of [0x01, 0x80]) {
        const payload = wire.payload.slice()
        payload[i] = payload[i]! ^ mask
        const err = await rejectionOf(openEvent(SignedEvent.encode({ payload, signature: wire.signature })))
        expect(err.name, `body byte ${i - at} ^ 0x${mask.toString(16)}`).toBe('BadSignatureError')
      }
    }
  })

  it('every flipped byte anywhere in the payload is refused with a typed error; BadSignatureError whenever it still decodes with the same author', async () => {
    const signed = await signEvent(alice, 'Alice', { kind: 'room', room: 'lobby', text: 'payload flips' }, opts)
    const wire = SignedEvent.decode(signed.bytes)
    const author = hex(publicKeyToProtobuf(alice.publicKey))
    let badSig = 0
    for (let i = 0; i < wire.payload.byteLength; i++) {
      for (const mask of [0x01, 0x80]) {
        const payload = wire.payload.slice()
        payload[i] = payload[i]! ^ mask
        const where = `payload byte ${i} ^ 0x${mask.toString(16)}`
        const err = await rejectionOf(openEvent(SignedEvent.encode({ payload, signature: wire.signature })))
        expect(err, where).toBeInstanceOf(MeshchatError)
        let decoded: Event | undefined
        try {
          decoded = Event.decode(payload)
        } catch {
          decoded = undefined
        }
        if (decoded == null) {
          expect(err.name, `${where} (payload no longer decodes)`).toBe('BadFrameError')
        } else if (hex(decoded.author) === author) {
          expect(err.name, `${where} (same author)`).toBe('BadSignatureError')
          badSig++
        } else {
          // the author key itself was damaged: either it is no Ed25519 key any more, or the signature fails under it
          expect(['BadSignatureError', 'InvalidEventError'], where).toContain(err.name)
        }
      }
    }
    // guard against a vacuous pass: most flips keep the payload decodable and must be caught by the signature
    expect(badSig).toBeGreaterThan(wire.payload.byteLength / 2)
  })

  it('a body changed after signing, same length and still valid text → BadSignatureError', async () => {
    const signed = await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'Xmas' }, opts)
    const err = await rejectionOf(openEvent(tamperBody(signed.bytes)))
    expect(err).toBeInstanceOf(BadSignatureError)
  })

  it('a signature that verifies under another key → BadSignatureError (an author cannot be swapped)', async () => {
    const signed = await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'mine' }, opts)
    const wire = SignedEvent.decode(signed.bytes)
    const ev = Event.decode(wire.payload)
    const stolen = Event.encode({ ...ev, author: publicKeyToProtobuf(bob.publicKey) as Uint8Array<ArrayBuffer> })
    const err = await rejectionOf(openEvent(SignedEvent.encode({ payload: stolen, signature: wire.signature })))
    expect(err.name).toBe('BadSignatureError')
  })

  it('unsigned, short, long and all-zero signatures → BadSignatureError', async () => {
    const signed = await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'sig shapes' }, opts)
    const wire = SignedEvent.decode(signed.bytes)
    const cases: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array(0)],
      ['63 bytes', wire.signature.slice(0, 63)],
      ['65 bytes', Uint8Array.from([...wire.signature, 0])],
      ['zeros', new Uint8Array(64)]
    ]
    for (const [what, sig] of cases) {
      const err = await rejectionOf(openEvent(SignedEvent.encode({ payload: wire.payload, signature: sig as Uint8Array<ArrayBuffer> })))
      expect(err, what).toBeInstanceOf(BadSignatureError)
      expect(err.name, what).toBe('BadSignatureError')
    }
    expect((await rejectionOf(openEvent(stripSignature(signed.bytes)))).name).toBe('BadSignatureError')
  })

  it('an author key that is not Ed25519 → InvalidEventError, even with a valid signature under that key', async () => {
    const secp = await generateKeyPair('secp256k1')
    const bytes = await signRawEvent(secp, { room: { room: 'lobby', body: new TextEncoder().encode('hi') as Uint8Array<ArrayBuffer> } })
    // secp256k1 signatures are DER, rarely exactly 64 bytes; pad to 64 so the key type check is what refuses it
    const wire = SignedEvent.decode(bytes)
    const sig64 = new Uint8Array(64)
    sig64.set(wire.signature.subarray(0, 64))
    for (const sig of [wire.signature, sig64]) {
      const err = await rejectionOf(openEvent(SignedEvent.encode({ payload: wire.payload, signature: sig as Uint8Array<ArrayBuffer> })))
      expect(['InvalidEventError', 'BadSignatureError'], `signature of ${sig.byteLength} bytes`).toContain(err.name)
    }
    const err = await rejectionOf(openEvent(SignedEvent.encode({ payload: wire.payload, signature: sig64 as Uint8Array<ArrayBuffer> })))
    expect(err).toBeInstanceOf(InvalidEventError)
    expect(err.message).toMatch(/Ed25519/)
  })

  it('an author field that is no key at all → InvalidEventError', async () => {
    const bytes = await signRawEvent(alice, { author: Uint8Array.from([1, 2, 3]) as Uint8Array<ArrayBuffer>, room: { room: 'lobby', body: Uint8Array.from([0x61]) as Uint8Array<ArrayBuffer> } })
    const wire = SignedEvent.decode(bytes)
    expect(wire.signature.byteLength).toBe(64)
    expect((await rejectionOf(openEvent(bytes))).name).toBe('InvalidEventError')
  })

  it('a correctly signed event with no kind → InvalidEventError', async () => {
    const bytes = await signRawEvent(alice, {})
    const err = await rejectionOf(openEvent(bytes))
    expect(err).toBeInstanceOf(InvalidEventError)
    expect(err.message).toMatch(/kind/)
  })

  it('correctly signed events with bad content get the content error, not a signature error', async () => {
    const body = (b: number[]): Uint8Array<ArrayBuffer> => Uint8Array.from(b) as Uint8Array<ArrayBuffer>
    const cases: Array<[string, Parameters<typeof signRawEvent>[1], string]> = [
      ['invalid UTF-8 body', { room: { room: 'lobby', body: body([0x61, 0xff]) } }, 'InvalidUtf8Error'],
      ['empty body', { room: { room: 'lobby', body: body([]) } }, 'InvalidEventError'],
      ['bad room name', { room: { room: 'no spaces', body: body([0x61]) } }, 'InvalidRoomError'],
      ['bidi override in the name', { name: new TextEncoder().encode('evil\u202Eman') as Uint8Array<ArrayBuffer>, room: { room: 'lobby', body: body([0x61]) } }, 'InvalidNameError'],
      ['short nonce', { nonce: body([1, 2, 3]), room: { room: 'lobby', body: body([0x61]) } }, 'InvalidEventError'],
      ['DM to a non-user', { dm: { to: 'not-a-peer-id', body: body([0x61]) } }, 'InvalidUserError'],
      ['ESC in the body', { room: { room: 'lobby', body: body([0x1b, 0x5b, 0x32, 0x4a]) } }, 'InvalidEventError']
    ]
    for (const [what, ev, name] of cases) {
      const err = await rejectionOf(openEvent(await signRawEvent(alice, ev)))
      expect(err.name, what).toBe(name)
    }
  })

  it('a display name that is not valid UTF-8 is refused, not turned into other characters', async () => {
    // names are carried as bytes and decoded strictly, like bodies: invalid UTF-8 is refused, never replaced
    const invalid: Array<[string, number[]]> = [
      ['0xff', [0x61, 0xff, 0x62, 0x63]],
      ['CESU-encoded surrogate', [0x61, 0xed, 0xa0, 0x80]],
      ['truncated sequence at the end', [0x61, 0x62, 0x63, 0xe2]]
    ]
    for (const [what, bytes] of invalid) {
      const payload = Event.encode({
        author: publicKeyToProtobuf(alice.publicKey) as Uint8Array<ArrayBuffer>,
        name: new TextEncoder().encode('NAME') as Uint8Array<ArrayBuffer>,
        ts: 1n,
        nonce: nonce() as Uint8Array<ArrayBuffer>,
        room: { room: 'lobby', body: new TextEncoder().encode('hi') as Uint8Array<ArrayBuffer> }
      })
      const signed = await signPayload(alice, patchBytes(payload, 'NAME', Uint8Array.from(bytes)))
      const outcome = await openEvent(signed).then(ev => `accepted as name ${JSON.stringify(ev.name)}`, (err: Error) => err.name)
      expect(['InvalidNameError', 'InvalidUtf8Error'], `name bytes ${what}`).toContain(outcome)
    }
  })

  it('events above the size limit are refused before decoding, both when signing and when opening', async () => {
    const max = 2048
    await expect(signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'x'.repeat(max) }, { ...opts, maxEventBytes: max }))
      .rejects.toBeInstanceOf(EventTooLargeError)
    const big = await signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: 'x'.repeat(max) }, opts)
    expect(big.bytes.byteLength).toBeGreaterThan(max)
    const err = await rejectionOf(openEvent(big.bytes, { maxEventBytes: max }))
    expect(err.name).toBe('EventTooLargeError')
    expect((await openEvent(big.bytes)).text).toHaveLength(max)
    // garbage above the limit is too large, not malformed: the limit is checked first
    expect((await rejectionOf(openEvent(new Uint8Array(max + 1).fill(0xff), { maxEventBytes: max }))).name).toBe('EventTooLargeError')
  })

  it('bytes that are no SignedEvent → BadFrameError', async () => {
    expect((await rejectionOf(openEvent(Uint8Array.from([0xff, 0xff, 0xff])))).name).toBe('BadFrameError')
  })

  it('signEvent refuses content it would refuse to open', async () => {
    await expect(signEvent(alice, ' padded', { kind: 'room', room: 'lobby', text: 'a' }, opts)).rejects.toMatchObject({ name: 'InvalidNameError' })
    await expect(signEvent(alice, 'a', { kind: 'room', room: 'a/b', text: 'a' }, opts)).rejects.toMatchObject({ name: 'InvalidRoomError' })
    await expect(signEvent(alice, 'a', { kind: 'room', room: 'lobby', text: '' }, opts)).rejects.toMatchObject({ name: 'InvalidEventError' })
    await expect(signEvent(alice, 'a', { kind: 'dm', to: 'nobody', text: 'a' }, opts)).rejects.toMatchObject({ name: 'InvalidUserError' })
  })

  it('validateUserId accepts PeerId strings only', () => {
    expect(validateUserId(peerIdFromPrivateKey(alice).toString())).toBe(peerIdFromPrivateKey(alice).toString())
    for (const bad of ['', 'x'.repeat(129), 'not a peer id', 42, null]) {
      expect(() => validateUserId(bad), String(bad)).toThrow(InvalidUserError)
    }
  })

  it('userIdKey gives the same key from its cache of valid ids, as a copy, and a bad id stays bad', async () => {
    const ids = await Promise.all(Array.from({ length: 5000 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    // twice over more ids than the cache holds: every answer is the key inside the id
    for (let round = 0; round < 2; round++) {
      for (const id of ids) expect(Buffer.from(userIdKey(id.toString())).equals(Buffer.from(id.publicKey!.raw))).toBe(true)
    }
    const id = ids[0]!.toString()
    const key = userIdKey(id)
    key.fill(0)
    expect(Buffer.from(userIdKey(id)).equals(Buffer.from(ids[0]!.publicKey!.raw)), 'a caller changing its copy changes nothing').toBe(true)
    // a cached id cut short, or with a character base58 does not have: refused every time
    for (const bad of [id.slice(0, -1), id.slice(0, -1) + '0', id + '1']) {
      for (let i = 0; i < 2; i++) expect(() => userIdKey(bad), bad).toThrow(InvalidUserError)
    }
  })
})

it('libsodium is what Node processes use on this platform (sodium-native ships a prebuilt addon for it)', () => {
  expect(sodium).toBeDefined()
  expect(ed25519Backend).toBe(process.env.MESHCHAT_SODIUM === 'off' ? 'openssl' : 'libsodium')
})

describe.each([
  ['node:crypto', opensslEd25519Verifier, opensslEd25519Signer],
  ['libsodium', sodium!.verifier, sodium!.signer]
])('the %s Ed25519 verifier and signer', (_name, verifierOf, signerOf) => {
  /** install `verifierOf` behind a counter of the checks it makes */
  const counted = (): { calls: number } => {
    const n = { calls: 0 }
    setEd25519Verifier(raw => { const v = verifierOf(raw); return (d, sig) => { n.calls++; return v(d, sig) } })
    return n
  }

  it('agree with @libp2p/crypto on genuine, altered and foreign signatures', async () => {
    const keys = await Promise.all([0, 1, 2].map(async () => generateKeyPair('Ed25519')))
    let checked = 0
    for (let i = 0; i < 60; i++) {
      const signer = keys[i % 3]!
      const other = keys[(i + 1) % 3]!
      const data = crypto.getRandomValues(new Uint8Array(1 + i * 7))
      const sig = await signer.sign(data)
      const flipped = Uint8Array.from(sig)
      flipped[i % 64] = flipped[i % 64]! ^ (1 << (i % 8))
      const alteredData = Uint8Array.from(data)
      alteredData[i % data.byteLength] = alteredData[i % data.byteLength]! ^ 0x01
      for (const [key, d, s] of [[signer, data, sig], [signer, data, flipped], [signer, alteredData, sig], [other, data, sig]] as const) {
        const fast = verifierOf(key.publicKey.raw)(d, s)
        const portable = await key.publicKey.verify(d, s)
        expect(fast, `case ${i}`).toBe(portable)
        checked++
      }
      expect(verifierOf(signer.publicKey.raw)(data, sig)).toBe(true)
      expect(verifierOf(signer.publicKey.raw)(data, flipped)).toBe(false)
    }
    expect(checked).toBe(240)
  })

  it('sign the same bytes as the portable signer (Ed25519 is deterministic), from a seed or seed ‖ public key', () => {
    for (let i = 0; i < 20; i++) {
      const seed = crypto.getRandomValues(new Uint8Array(32))
      const data = crypto.getRandomValues(new Uint8Array(i * 13))
      const expected = hex(ed25519.sign(data, seed))
      expect(hex(signerOf(seed)(data))).toBe(expected)
      const long = new Uint8Array(64)
      long.set(seed)
      long.set(ed25519.getPublicKey(seed), 32)
      expect(hex(signerOf(long)(data))).toBe(expected)
    }
    expect(() => signerOf(new Uint8Array(31))).toThrow(TypeError)
  })

  it('refuse a non-canonical S (S + L) and a small-order key with an identity R, as the strict portable check does', () => {
    const seed = new Uint8Array(32).fill(9)
    const pub = ed25519.getPublicKey(seed)
    const data = new TextEncoder().encode('hi')
    const sig = signerOf(seed)(data)
    const L = (1n << 252n) + 27742317777372353535851937790883648493n
    let S = 0n
    for (let i = 31; i >= 0; i--) S = (S << 8n) | BigInt(sig[32 + i]!)
    const malleated = Uint8Array.from(sig)
    for (let i = 0; i < 32; i++) malleated[32 + i] = Number(((S + L) >> BigInt(8 * i)) & 0xffn)
    expect(verifierOf(pub)(data, sig)).toBe(true)
    expect(verifierOf(pub)(data, malleated)).toBe(false)
    expect(ed25519.verify(malleated, data, pub, { zip215: false })).toBe(false)
    // the identity point as key and as R, S = 0: [S]B = R + [k]A holds for every message without cofactor checks
    const identity = new Uint8Array(32)
    identity[0] = 1
    const forged = new Uint8Array(64)
    forged[0] = 1
    expect(verifierOf(identity)(data, forged)).toBe(false)
  })

  it('openEvent goes through the installed verifier, and back to @libp2p/crypto when it is removed', async () => {
    const k = await generateKeyPair('Ed25519')
    const signed = await signEvent(k, 'a', { kind: 'room', room: 'lobby', text: 'hi' }, opts)
    const checks = counted()
    try {
      await openEvent(signed.bytes)
      expect(checks.calls).toBe(1)
      // the same bytes again: this process checked them already
      await openEvent(signed.bytes)
      expect(checks.calls).toBe(1)
      await openEvent(signed.bytes, { checkAgain: true })
      expect(checks.calls).toBe(2)
      // a new verifier forgets what the old one found good
      setEd25519Verifier(() => () => false)
      expect((await rejectionOf(openEvent(signed.bytes))).name).toBe('BadSignatureError')
    } finally {
      setEd25519Verifier(undefined)
    }
    expect((await openEvent(signed.bytes)).text).toBe('hi')
  })

  it('an event checked once is not checked again, and nothing near it rides on that: another signature, another payload, another author', async () => {
    const k = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const signed = await signEvent(k, 'a', { kind: 'room', room: 'lobby', text: 'once' }, opts)
    const checks = counted()
    try {
      for (let i = 0; i < 5; i++) expect((await openEvent(signed.bytes)).text).toBe('once')
      expect(checks.calls).toBe(1)
      // a flipped signature bit, the body changed under the old signature, the payload signed by someone else
      // and claimed for the first author: each is other bytes with another id, checked, and refused
      const sigFlipped = SignedEvent.decode(signed.bytes)
      sigFlipped.signature = sigFlipped.signature.slice()
      sigFlipped.signature[5] = (sigFlipped.signature[5] as number) ^ 1
      expect((await rejectionOf(openEvent(SignedEvent.encode(sigFlipped)))).name).toBe('BadSignatureError')
      expect((await rejectionOf(openEvent(tamperBody(signed.bytes)))).name).toBe('BadSignatureError')
      const payload = SignedEvent.decode(signed.bytes).payload
      const foreign = SignedEvent.encode({ payload, signature: new Uint8Array(await other.sign(Uint8Array.from([...new TextEncoder().encode('meshchat/event/1\n'), ...payload]))) })
      expect((await rejectionOf(openEvent(foreign))).name).toBe('BadSignatureError')
      expect(checks.calls).toBe(4)
      // and a refused event is not remembered: refused again, checked again
      expect((await rejectionOf(openEvent(foreign))).name).toBe('BadSignatureError')
      expect(checks.calls).toBe(5)
      expect((await openEvent(signed.bytes)).text).toBe('once')
      expect(checks.calls).toBe(5)
    } finally {
      setEd25519Verifier(undefined)
    }
  })

  it('the record of checked events is bounded: the oldest are checked again once thousands came after them', async () => {
    const k = await generateKeyPair('Ed25519')
    const first = await signEvent(k, 'a', { kind: 'room', room: 'lobby', text: 'first' }, opts)
    const checks = counted()
    try {
      await openEvent(first.bytes)
      const later = await Promise.all(Array.from({ length: 5000 }, async (_, i) => signEvent(k, 'a', { kind: 'room', room: 'lobby', text: `m${i}` }, { ...opts, now: opts.now + i })))
      for (const e of later) await openEvent(e.bytes)
      expect(checks.calls).toBe(5001)
      await openEvent(later[4999]!.bytes)
      expect(checks.calls).toBe(5001)
      await openEvent(first.bytes)
      expect(checks.calls).toBe(5002)
    } finally {
      setEd25519Verifier(undefined)
    }
  })

  it('refuses keys that are not 32 bytes and signatures that are not 64', async () => {
    const k = await generateKeyPair('Ed25519')
    expect(() => verifierOf(new Uint8Array(31))).toThrow(TypeError)
    const data = new Uint8Array([1, 2, 3])
    const sig = await k.sign(data)
    expect(verifierOf(k.publicKey.raw)(data, sig.subarray(0, 63))).toBe(false)
  })
})

describe('idToHex', () => {
  it('is lowercase hex of every byte, at any length', () => {
    const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 37 + 11) & 0xff)
    for (const n of [0, 1, 2, 31, 32, 33, 255, 4096, 4097, 10_000]) {
      expect(idToHex(bytes.subarray(0, n))).toBe(Buffer.from(bytes.subarray(0, n)).toString('hex'))
    }
    expect(idToHex(Uint8Array.from([0, 15, 16, 255]))).toBe('000f10ff')
  })
})

describe('WebCrypto Ed25519 as the default verifier', () => {
  afterAll(() => { setEd25519Verifier(undefined) })

  it('is taken only where no platform verifier is installed, once it passes RFC 8032\'s test vector', async () => {
    setEd25519Verifier(opensslEd25519Verifier)
    expect(setDefaultEd25519Verifier(webCryptoEd25519Verifier)).toBe(false)
    setEd25519Verifier(undefined)
    expect(await useWebCryptoEd25519()).toBe(true)
    const key = await generateKeyPair('Ed25519')
    const signed = await signEvent(key, 'ada', { kind: 'room', room: 'lobby', text: 'checked natively' }, opts)
    expect((await openEvent(signed.bytes)).text).toBe('checked natively')
    const bad = tamperBody(signed.bytes)
    expect(await rejectionOf(openEvent(bad))).toBeInstanceOf(BadSignatureError)
  })

  it('refuses a key WebCrypto cannot import and a signature of the wrong size, without throwing', async () => {
    const check = webCryptoEd25519Verifier(new Uint8Array(32).fill(0xff))
    expect(await check(new Uint8Array(3), new Uint8Array(64))).toBe(false)
    const good = webCryptoEd25519Verifier(userIdKey(peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    expect(await good(new Uint8Array(3), new Uint8Array(63))).toBe(false)
  })
})
