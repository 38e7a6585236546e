/**
 * The verified-event cache of node/src/mesh/event-opener.ts is bounded in memory, not only in
 * entries: 20,000 events at the 64 KiB size limit would hold over 2 GB. Found by the fuzzer
 * (test/fuzz, client-session target: the process grew by 860 MB over 10^6 inputs).
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Event, SignedEvent } from '../../client/src/protocol/pb/event.js'
import { DecodedEvent, openEvent, setEd25519Verifier, signEvent } from '../../client/src/protocol/signing.js'
import { nodeEd25519Verifier } from '../../client/src/protocol/ed25519-node.js'
import { EventOpener, HELD_AFTER_MS } from '../../node/src/mesh/event-opener.js'
import { NodeMetrics } from '../../node/src/metrics.js'
import { DEFAULT_STAMP_RULE } from '../../node/src/state/stamps.js'
import { makeHlc } from '../../node/src/state/hlc.js'

describe('EventOpener cache', () => {
  it('keeps what it remembers under its byte budget, and still answers from it', async () => {
    const key = await generateKeyPair('Ed25519')
    const budget = 1024 * 1024
    const opener = new EventOpener({ maxEventBytes: 64 * 1024, stamps: DEFAULT_STAMP_RULE, cacheSize: 20_000, cacheBytes: budget })
    const events: Uint8Array[] = []
    for (let i = 0; i < 40; i++) {
      const e = await signEvent(key, 'alice', { kind: 'room', room: 'lobby', text: 'y'.repeat(60_000) }, { now: Date.now(), nonce: randomBytes(12) })
      events.push(e.bytes)
      await opener.open(e.bytes, 'client')
      expect(opener.cached.bytes).toBeLessThanOrEqual(budget)
    }
    // 40 events of 60 KB: only the newest fit
    expect(opener.cached.events).toBeGreaterThan(0)
    expect(opener.cached.events).toBeLessThan(40)
    const again = await opener.open(events[39]!, 'gossip')
    expect(Buffer.from(again.bytes).equals(Buffer.from(events[39]!))).toBe(true)
    // small events: the entry bound still applies
    const small = new EventOpener({ maxEventBytes: 64 * 1024, stamps: DEFAULT_STAMP_RULE, cacheSize: 5 })
    for (let i = 0; i < 12; i++) {
      const e = await signEvent(key, 'alice', { kind: 'room', room: 'lobby', text: `hi ${i}` }, { now: Date.now(), nonce: randomBytes(12) })
      await small.open(e.bytes, 'client')
    }
    expect(small.cached.events).toBe(5)
  })

  it('does not keep the larger buffer an event was a view of', async () => {
    const key = await generateKeyPair('Ed25519')
    const opener = new EventOpener({ maxEventBytes: 64 * 1024, stamps: DEFAULT_STAMP_RULE })
    const e = await signEvent(key, 'alice', { kind: 'room', room: 'lobby', text: 'hello' }, { now: Date.now(), nonce: randomBytes(12) })
    // an event inside a 1 MB frame, as a decoder hands it over
    const frame = new Uint8Array(1024 * 1024)
    frame.set(e.bytes, 1000)
    const view = frame.subarray(1000, 1000 + e.bytes.byteLength)
    const first = await opener.open(view, 'gossip')
    expect(first.bytes).toBe(view)
    const hit = await opener.open(Uint8Array.from(e.bytes), 'gossip')
    expect(hit.bytes.buffer).not.toBe(frame.buffer)
    expect(hit.bytes.buffer.byteLength).toBe(e.bytes.byteLength)
    expect(opener.cached.bytes).toBeLessThan(4096)
  })
})

describe('one decode and one hash per event per node', () => {
  afterEach(() => { vi.restoreAllMocks() })

  const setup = async (): Promise<{ opener: EventOpener, bytes: Uint8Array, decodes: () => { signed: number, event: number } }> => {
    const key = await generateKeyPair('Ed25519')
    const opener = new EventOpener({ maxEventBytes: 64 * 1024, stamps: DEFAULT_STAMP_RULE })
    const { bytes } = await signEvent(key, 'alice', { kind: 'room', room: 'lobby', text: 'hello' }, { now: Date.now(), nonce: randomBytes(12) })
    const signed = vi.spyOn(SignedEvent, 'decode')
    const event = vi.spyOn(Event, 'decode')
    return { opener, bytes, decodes: () => ({ signed: signed.mock.calls.length, event: event.mock.calls.length }) }
  }

  it('a client\'s event: the budget\'s peek at its kind, the cache lookup and the check share one decode and one id', async () => {
    const { opener, bytes, decodes } = await setup()
    const decoded = DecodedEvent.from(bytes)
    expect(decoded.kind).toBe('room')
    const opened = await opener.open(decoded, 'client')
    expect(decodes()).toEqual({ signed: 1, event: 1 })
    expect(opened.id).toBe(decoded.id)
    expect(opened.idHex).toBe(decoded.idHex)
    expect(opened.text).toBe('hello')
  })

  it('an event from a peer: one decode when fresh, and only the outer one for a copy already opened', async () => {
    const { opener, bytes, decodes } = await setup()
    const origin = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const opened = await opener.openStamped({ event: bytes, hlc: makeHlc(Date.now(), 0), origin }, Date.now(), 'gossip')
    expect(decodes()).toEqual({ signed: 1, event: 1 })
    const again = await opener.open(Uint8Array.from(bytes), 'gossip')
    expect(again.idHex).toBe(opened.idHex)
    expect(decodes()).toEqual({ signed: 2, event: 1 })
  })

  it('an event refused before its signature is checked (oversize, not protobuf) is counted by its error, like one refused by the check', async () => {
    const key = await generateKeyPair('Ed25519')
    const metrics = new NodeMetrics()
    const opener = new EventOpener({ maxEventBytes: 1024, stamps: DEFAULT_STAMP_RULE }, metrics)
    const counts = async (): Promise<Record<string, number>> =>
      Object.fromEntries((await metrics.signatureChecks.get()).values.map(v => [`${v.labels.path}/${v.labels.result}`, v.value]))
    await expect(opener.open(new Uint8Array(2048), 'gossip')).rejects.toMatchObject({ name: 'EventTooLargeError' })
    await expect(opener.open(Uint8Array.from([0xff, 0xff, 0xff]), 'gossip')).rejects.toMatchObject({ name: 'BadFrameError' })
    const e = await signEvent(key, 'alice', { kind: 'room', room: 'lobby', text: 'hi' }, { now: Date.now(), nonce: randomBytes(12) })
    const forged = SignedEvent.decode(e.bytes)
    forged.signature = new Uint8Array(64)
    await expect(opener.open(SignedEvent.encode(forged), 'gossip')).rejects.toMatchObject({ name: 'BadSignatureError' })
    await opener.open(e.bytes, 'gossip')
    await opener.open(e.bytes, 'gossip')
    expect(await counts()).toEqual({ 'gossip/EventTooLargeError': 1, 'gossip/BadFrameError': 1, 'gossip/BadSignatureError': 1, 'gossip/valid': 1, 'gossip/cached': 1 })
  })

  it('each node checks the signature itself, whatever other nodes or clients in its process checked, and leaves the clients\' record alone', async () => {
    const key = await generateKeyPair('Ed25519')
    let calls = 0
    setEd25519Verifier(raw => { const v = nodeEd25519Verifier(raw); return (d, sig) => { calls++; return v(d, sig) } })
    try {
      const { bytes } = await signEvent(key, 'alice', { kind: 'room', room: 'lobby', text: 'hi' }, { now: Date.now(), nonce: randomBytes(12) })
      const a = new EventOpener({ maxEventBytes: 64 * 1024, stamps: DEFAULT_STAMP_RULE })
      const b = new EventOpener({ maxEventBytes: 64 * 1024, stamps: DEFAULT_STAMP_RULE })
      await a.open(bytes, 'client')
      await b.open(Uint8Array.from(bytes), 'gossip')
      expect(calls).toBe(2)
      // a client in the same process has checked nothing yet: it checks, once
      await openEvent(bytes)
      await openEvent(bytes)
      expect(calls).toBe(3)
      // and a third node still checks after the client did
      await new EventOpener({ maxEventBytes: 64 * 1024, stamps: DEFAULT_STAMP_RULE }).open(bytes, 'replica')
      expect(calls).toBe(4)
    } finally {
      setEd25519Verifier(undefined)
    }
  })
  it('does not check again the signature of an old event the node stores (a held id), and asks only for old events sent unasked', async () => {
    const key = await generateKeyPair('Ed25519')
    let calls = 0
    setEd25519Verifier(raw => { const v = nodeEd25519Verifier(raw); return (d, sig) => { calls++; return v(d, sig) } })
    try {
      const metrics = new NodeMetrics()
      const stored = new Set<string>()
      const asked: string[] = []
      const held = (id: Uint8Array): boolean => { const hex = Buffer.from(id).toString('hex'); asked.push(hex); return stored.has(hex) }
      const counts = async (): Promise<Record<string, number>> =>
        Object.fromEntries((await metrics.signatureChecks.get()).values.map(v => [`${v.labels.path}/${v.labels.result}`, v.value]))
      const sign = async (ageMs: number): Promise<Awaited<ReturnType<typeof signEvent>>> =>
        signEvent(key, 'alice', { kind: 'room', room: 'lobby', text: 'hi' }, { now: Date.now() - ageMs, nonce: randomBytes(12) })
      const old = await sign(HELD_AFTER_MS + 60_000)
      const oldNotHeld = await sign(HELD_AFTER_MS + 60_000)
      const fresh = await sign(1_000)
      for (const e of [old, fresh]) stored.add(Buffer.from(DecodedEvent.from(e.bytes).id).toString('hex'))
      const opener = new EventOpener({ maxEventBytes: 64 * 1024, stamps: DEFAULT_STAMP_RULE, held }, metrics)
      const opened = await opener.open(old.bytes, 'replica')
      expect(opened.room).toBe('lobby')
      expect(opened.text).toBe('hi')
      expect(calls, 'the held old event is not checked').toBe(0)
      await opener.open(oldNotHeld.bytes, 'replica')
      expect(calls, 'an old event the node does not hold is').toBe(1)
      await opener.open(fresh.bytes, 'replica')
      expect(calls, 'a fresh one is checked, held or not, and the store is not asked').toBe(2)
      expect(asked).toHaveLength(2)
      // a forged signature makes another id: not held, so checked and refused
      const forged = SignedEvent.decode(old.bytes)
      forged.signature = new Uint8Array(64)
      await expect(opener.open(SignedEvent.encode(forged), 'replica')).rejects.toMatchObject({ name: 'BadSignatureError' })
      expect(calls).toBe(3)
      // pages this node asked for (a backfill) are mostly what it lacks: not looked up
      const page = await sign(HELD_AFTER_MS + 60_000)
      stored.add(Buffer.from(DecodedEvent.from(page.bytes).id).toString('hex'))
      await opener.open(page.bytes, 'backfill')
      expect(calls).toBe(4)
      expect(asked).toHaveLength(3)
      expect(await counts()).toEqual({ 'replica/held': 1, 'replica/valid': 2, 'replica/BadSignatureError': 1, 'backfill/valid': 1 })
    } finally {
      setEd25519Verifier(undefined)
    }
  })
})
