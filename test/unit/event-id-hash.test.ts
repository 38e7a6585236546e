/**
 * Event ids through node:crypto (client/src/protocol/sha256-node.ts, installed by Node nodes and
 * clients) are the bytes noble's SHA-256 gives, as plain Uint8Arrays of their own.
 */
import { randomBytes } from 'node:crypto'
import { sha256 } from '@noble/hashes/sha2.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { DecodedEvent, eventId, idToHex, setEventIdHash, signEvent } from '../../client/src/protocol/signing.js'
import { nodeEventIdHash } from '../../client/src/protocol/sha256-node.js'

const noble = (a: Uint8Array, b: Uint8Array): Uint8Array => sha256.create().update(a).update(b).digest()

describe('event id hash', () => {
  afterEach(() => { setEventIdHash(undefined) })

  it('node:crypto gives what noble gives, for payloads of every size up to and past a few blocks', () => {
    for (const size of [0, 1, 55, 56, 63, 64, 65, 119, 120, 260, 1000, 4097, 70_000]) {
      const payload = randomBytes(size)
      const signature = randomBytes(64)
      const id = nodeEventIdHash(payload, signature)
      expect(Buffer.isBuffer(id)).toBe(false)
      expect(id).toBeInstanceOf(Uint8Array)
      expect(id.byteLength).toBe(32)
      expect(id.buffer.byteLength).toBe(32)
      expect(idToHex(id)).toBe(idToHex(noble(payload, signature)))
      // the split between the parts does not matter, only their bytes in order
      const whole = Buffer.concat([payload, signature])
      expect(idToHex(nodeEventIdHash(whole.subarray(0, 3), whole.subarray(3)))).toBe(idToHex(id))
    }
  })

  it('once installed, ids of signed events are the same as before, and removing it brings noble back', async () => {
    const key = await generateKeyPair('Ed25519')
    const events = await Promise.all([0, 1, 2].map(async i => await signEvent(key, 'alice', { kind: 'room', room: 'lobby', text: `hello ${i}` }, { now: Date.now(), nonce: randomBytes(12) })))
    const before = events.map(e => DecodedEvent.from(e.bytes).idHex)
    let calls = 0
    setEventIdHash((a, b) => { calls++; return nodeEventIdHash(a, b) })
    const after = events.map(e => DecodedEvent.from(e.bytes).idHex)
    expect(after).toEqual(before)
    expect(after).toEqual(events.map(e => e.idHex))
    expect(calls).toBe(3)
    setEventIdHash(undefined)
    expect(idToHex(eventId(new Uint8Array([1, 2]), new Uint8Array([3])))).toBe(idToHex(noble(new Uint8Array([1, 2]), new Uint8Array([3]))))
    expect(calls).toBe(3)
  })
})
