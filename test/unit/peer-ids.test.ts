import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { nodePeerId } from '../../node/src/mesh/peer-ids.js'

describe('nodePeerId', () => {
  it('parses a node id once and hands back the same PeerId, equal to a fresh parse', async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const a = nodePeerId(id.toString())
    expect(a.equals(id)).toBe(true)
    expect(a.toString()).toBe(id.toString())
    expect(nodePeerId(id.toString())).toBe(a)
  })

  it('throws for a string that is not a peer id, every time (a failure is not kept)', () => {
    for (let i = 0; i < 2; i++) {
      expect(() => nodePeerId('not-a-peer-id')).toThrow()
      expect(() => nodePeerId('')).toThrow()
    }
  })

  it('keeps a bounded number: past it, it starts again from empty, and every id still parses right', async () => {
    const ids = await Promise.all(Array.from({ length: 4200 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    const id0 = ids[0] as string
    const first = nodePeerId(id0)
    for (const id of ids) expect(nodePeerId(id).toString()).toBe(id)
    // ids[0] was let go when the kept set filled: parsed again, an equal PeerId but a new object
    const again = nodePeerId(id0)
    expect(again).not.toBe(first)
    expect(again.equals(first)).toBe(true)
  })
})
