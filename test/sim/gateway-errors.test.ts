import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { BadSignatureError, ErrorCode, LIMITS, errorFromCode } from '../../client/src/node.js'
import { signEvent } from '../../client/src/protocol/signing.js'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import { RawClients, lengthPrefix, patchBytes, signRawEvent, stripSignature, tamperBody } from '../helpers/raw-client.js'
import { recordMessages, roomMeshReady } from '../helpers/rooms.js'
import { ClientFrame } from '../../client/src/protocol/pb/client.js'
import type { RawClient } from '../helpers/raw-client.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { ServerFrame } from '../../client/src/protocol/pb/client.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

const te = new TextEncoder()

function errorOf (f: ServerFrame): { code: number, fatal: boolean, message: string, retryAfterMs: number } {
  if (f.error == null) throw new Error(`expected an error frame, got ${Object.keys(f).filter(k => k !== 'req').join(',')}`)
  return f.error
}

describe('gateway: bad input gets typed errors, and only the offender suffers', () => {
  let mesh: TestMesh | undefined
  const raws = new RawClients()

  afterEach(async () => {
    await raws.closeAll()
    await mesh?.stop()
    mesh = undefined
  })

  async function raw (node: MeshchatNode): Promise<RawClient> {
    return raws.connect(tcpGateway(node))
  }

  async function room (r: RawClient, name: string): Promise<void> {
    const f = await r.request({ join: { room: name, backlog: 0 } })
    expect(f.replayDone?.room, `join ${name}`).toBe(name)
  }

  /** a valid room event signed by the raw client's own key */
  async function valid (r: RawClient, roomName: string, text: string): Promise<Uint8Array> {
    return (await signEvent(r.key, 'raw', { kind: 'room', room: roomName, text }, { now: Date.now(), nonce: crypto.getRandomValues(new Uint8Array(12)) })).bytes
  }

  /** two chat clients on two nodes that still talk to each other */
  async function chatPair (m: TestMesh, a: MeshchatNode, b: MeshchatNode, roomName: string): Promise<{ check: (tag: string) => Promise<void>, sessionsOnA: () => number }> {
    const bob = await m.client(a, 'bob')
    const carol = await m.client(b, 'carol')
    const bobGot = recordMessages(bob)
    const carolGot = recordMessages(carol)
    await bob.join(roomName)
    await carol.join(roomName)
    await roomMeshReady([a, b], roomName)
    return {
      sessionsOnA: () => a.registry.size,
      check: async tag => {
        const s1 = await bob.send(roomName, `bob ${tag}`)
        const s2 = await carol.send(roomName, `carol ${tag}`)
        await waitFor(() => carolGot.some(x => x.id === s1.id) && bobGot.some(x => x.id === s2.id), { what: `bob and carol to exchange "${tag}"` })
      }
    }
  }

  it('an oversize length prefix gets FRAME_TOO_LARGE, closes that stream only; other sessions on the node keep chatting', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const pair = await chatPair(mesh, a, b, 'ops')
    await pair.check('before')

    const r = await raw(a)
    await r.hello('big')
    await room(r, 'ops')
    // a second session of the same device, on the same connection
    const sibling = await raws.connect(tcpGateway(a), { sharing: r })
    await sibling.hello('big, second tab')
    expect(r.host.getConnections(a.gateway.peerId)).toHaveLength(1)
    await waitFor(() => a.registry.size === 3, { what: 'both raw sessions to be attached' })
    // 1 MiB announced, nothing sent behind it: the node must refuse on the prefix alone
    r.sendBytes(lengthPrefix(1024 * 1024))
    const f = await r.waitFrame(x => x.error != null, 'an error frame')
    expect(errorOf(f).code).toBe(ErrorCode.FRAME_TOO_LARGE)
    expect(errorOf(f).fatal).toBe(true)
    await r.waitEnded()
    await waitFor(() => pair.sessionsOnA() === 2, { what: 'the node to drop the oversize session' })

    await pair.check('after')
    // only that stream was closed: the other session on the same connection goes on
    expect(sibling.ended).toBe(false)
    expect((await sibling.request({ ping: { time: 5n } })).pong?.time).toBe(5n)
    expect(sibling.frames.filter(x => x.error != null)).toEqual([])
    // the same user can attach again at once: nothing but that stream was punished
    const again = await raw(a)
    expect((await again.hello('big again')).welcome?.nodeId).toBe(a.nodeId)
  })

  it('a prefix just above the frame limit is refused; one just below is read', async () => {
    mesh = await startMesh(1)
    const [a] = mesh.nodes as [MeshchatNode]
    const limit = LIMITS.maxEventBytes + LIMITS.frameOverheadBytes

    const ok = await raw(a)
    await ok.hello('edge')
    // a frame of exactly the limit: a publish whose event is too large, refused as an event, not as a frame
    let pad = limit - 16
    let body = ClientFrame.encode({ req: 77, publish: { event: new Uint8Array(pad) } })
    while (body.byteLength < limit) body = ClientFrame.encode({ req: 77, publish: { event: new Uint8Array(++pad) } })
    expect(body.byteLength).toBe(limit)
    ok.sendBytes(lengthPrefix(body.byteLength))
    ok.sendBytes(body)
    const reply = await ok.waitFrame(x => x.req === 77, 'reply to the frame at the limit')
    expect(errorOf(reply).code).toBe(ErrorCode.EVENT_TOO_LARGE)
    expect(errorOf(reply).fatal).toBe(false)
    expect((await ok.request({ ping: { time: 1n } })).pong?.time).toBe(1n)

    const over = await raw(a)
    await over.hello('edge+1')
    over.sendBytes(lengthPrefix(limit + 1))
    const f = await over.waitFrame(x => x.error != null, 'an error frame')
    expect(errorOf(f)).toMatchObject({ code: ErrorCode.FRAME_TOO_LARGE, fatal: true })
    await over.waitEnded()
  })

  it('malformed frames get BAD_FRAME and close that stream; the node keeps serving the others', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const pair = await chatPair(mesh, a, b, 'ops')

    const cases: Array<[string, boolean, Uint8Array]> = [
      ['invalid wire type, after hello', true, Uint8Array.from([1, 0x07])],
      ['truncated field, after hello', true, Uint8Array.from([3, 0x0a, 0x05, 0x01])],
      ['a length prefix that never ends', true, new Uint8Array(12).fill(0x80)],
      ['garbage before hello', false, Uint8Array.from([4, 0xff, 0xff, 0xff, 0xff])]
    ]
    for (const [what, hello, bytes] of cases) {
      const r = await raw(a)
      if (hello) await r.hello('garbler')
      r.sendBytes(bytes)
      const f = await r.waitFrame(x => x.error != null, `an error frame for ${what}`)
      expect(errorOf(f).code, what).toBe(ErrorCode.BAD_FRAME)
      expect(errorOf(f).fatal, what).toBe(true)
      await r.waitEnded()
    }
    await waitFor(() => pair.sessionsOnA() === 1, { what: 'the node to drop every garbling session' })
    await pair.check('after garbage')
  })

  it('EVENT_TOO_LARGE, INVALID_UTF8, BAD_SIGNATURE and WRONG_AUTHOR are refused without closing the session', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const carol = await mesh.client(b, 'carol')
    const carolGot = recordMessages(carol)
    const carolErrors: string[] = []
    carol.addEventListener('error', e => { carolErrors.push(e.detail.name) })
    await carol.join('ops')
    const r = await raw(a)
    await r.hello('raw')
    await room(r, 'ops')
    await roomMeshReady([a, b], 'ops')

    const big = await signRawEvent(r.key, { room: { room: 'ops', body: te.encode('x'.repeat(LIMITS.maxEventBytes)) as Uint8Array<ArrayBuffer> } })
    expect(big.byteLength).toBeGreaterThan(LIMITS.maxEventBytes)
    const badUtf8 = await signRawEvent(r.key, { room: { room: 'ops', body: Uint8Array.from([0x68, 0x69, 0xc3, 0x28]) as Uint8Array<ArrayBuffer> } })
    const stranger = await generateKeyPair('Ed25519')
    const notMine = (await signEvent(stranger, 'stranger', { kind: 'room', room: 'ops', text: 'impersonation' }, { now: Date.now(), nonce: new Uint8Array(12).fill(4) })).bytes
    const tampered = tamperBody(await valid(r, 'ops', 'Xmas'))
    const unsigned = stripSignature(await valid(r, 'ops', 'unsigned'))

    const cases: Array<[string, Uint8Array, number]> = [
      ['event above 64 KiB', big, ErrorCode.EVENT_TOO_LARGE],
      ['invalid UTF-8 body', badUtf8, ErrorCode.INVALID_UTF8],
      ['body changed after signing', tampered, ErrorCode.BAD_SIGNATURE],
      ['no signature', unsigned, ErrorCode.BAD_SIGNATURE],
      ['signed by another user', notMine, ErrorCode.WRONG_AUTHOR]
    ]
    for (const [what, event, code] of cases) {
      const f = await r.request({ publish: { event: event as Uint8Array<ArrayBuffer> } })
      expect(errorOf(f).code, what).toBe(code)
      expect(errorOf(f).fatal, what).toBe(false)
    }
    expect(r.ended).toBe(false)
    const good = await valid(r, 'ops', 'finally a good one')
    const ack = await r.request({ publish: { event: good as Uint8Array<ArrayBuffer> } })
    expect(ack.publishAck?.hlc).toBeGreaterThan(0n)
    await waitFor(() => carolGot.length >= 1, { what: 'the valid message at carol' })
    expect(carolGot.map(m => m.text)).toEqual(['finally a good one'])
    expect(carolErrors).toEqual([])
  })

  it('BAD_SIGNATURE through the gateway: a tampered event never reaches the room', async () => {
    mesh = await startMesh(1)
    const [a] = mesh.nodes as [MeshchatNode]
    const dave = await mesh.client(a, 'dave')
    const daveGot = recordMessages(dave)
    await dave.join('ops')
    const r = await raw(a)
    await r.hello('mallory')
    await room(r, 'ops')
    const f1 = await r.request({ publish: { event: tamperBody(await valid(r, 'ops', 'Xfer 100 coins')) as Uint8Array<ArrayBuffer> } })
    expect(errorOf(f1).code).toBe(ErrorCode.BAD_SIGNATURE)
    // what a client library makes of that frame
    expect(errorFromCode(errorOf(f1).code, errorOf(f1).message)).toBeInstanceOf(BadSignatureError)
    const f2 = await r.request({ publish: { event: stripSignature(await valid(r, 'ops', 'no sig')) as Uint8Array<ArrayBuffer> } })
    expect(errorOf(f2).code).toBe(ErrorCode.BAD_SIGNATURE)
    const ok = await r.request({ publish: { event: await valid(r, 'ops', 'honest') as Uint8Array<ArrayBuffer> } })
    expect(ok.publishAck).toBeDefined()
    await waitFor(() => daveGot.length >= 1, { what: 'the honest message at dave' })
    expect(daveGot.map(m => m.text)).toEqual(['honest'])
    // and the raw client itself only ever got its honest message delivered
    const deliveries = r.frames.filter(x => x.delivery != null)
    expect(deliveries).toHaveLength(1)
  })

  it('a client that keeps sending invalid requests is disconnected', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const pair = await chatPair(mesh, a, b, 'ops')
    const r = await raw(a)
    await r.hello('spammer')
    await room(r, 'ops')
    const bad = stripSignature(await valid(r, 'ops', 'x'))
    const attempts = 40
    for (let i = 0; i < attempts; i++) r.send({ req: 5000 + i, publish: { event: bad as Uint8Array<ArrayBuffer> } })
    await r.waitEnded()
    const errs = r.frames.filter(x => x.error != null).map(x => x.error!)
    const fatal = errs.filter(e => e.fatal)
    const refused = errs.filter(e => !e.fatal)
    expect(fatal).toHaveLength(1)
    expect(fatal[0]!.code).toBe(ErrorCode.BAD_SIGNATURE)
    expect(fatal[0]!.message).toMatch(/too much invalid input/)
    // an honest client that trips validation now and then is tolerated (20 strikes), the rest is cut off
    expect(refused.length).toBeGreaterThanOrEqual(20)
    expect(refused.length).toBeLessThan(attempts - 1)
    for (const e of refused) expect(e.code, 'every refusal before the cut').toBe(ErrorCode.BAD_SIGNATURE)
    await waitFor(() => pair.sessionsOnA() === 1, { what: 'the node to drop the spammer' })
    await pair.check('after the spammer')
  })

  it('INVALID_ROOM for bad room names, and the session survives it', async () => {
    mesh = await startMesh(1)
    const [a] = mesh.nodes as [MeshchatNode]
    const r = await raw(a)
    await r.hello('roomy')
    for (const bad of ['', 'two words', '../etc', 'a/b', '-dash', 'x'.repeat(LIMITS.maxRoomNameLength + 1), 'rtl\u202Eroom']) {
      const f = await r.request({ join: { room: bad, backlog: 0 } })
      expect(errorOf(f).code, JSON.stringify(bad)).toBe(ErrorCode.INVALID_ROOM)
      expect(errorOf(f).fatal, JSON.stringify(bad)).toBe(false)
    }
    const h = await r.request({ history: { room: 'no/slash', limit: 10 } })
    expect(errorOf(h).code).toBe(ErrorCode.INVALID_ROOM)
    await room(r, 'fine-room')
    expect(a.rooms.isSubscribed('fine-room')).toBe(true)
    expect(a.rooms.subscribed().every(x => !x.includes('/') && !x.includes(' '))).toBe(true)
  })

  it('NOT_JOINED for sending to a room the session has not joined', async () => {
    mesh = await startMesh(1)
    const [a] = mesh.nodes as [MeshchatNode]
    const alice = await mesh.client(a, 'alice')
    await alice.join('mine')
    await expect(alice.send('elsewhere', 'hi')).rejects.toMatchObject({ name: 'NotJoinedError', code: ErrorCode.NOT_JOINED })
    await expect(alice.typing('elsewhere')).rejects.toMatchObject({ name: 'NotJoinedError' })
    expect(a.store.page('elsewhere', { limit: 10 }).events).toHaveLength(0)
    // the raw protocol too, and after joining the same send goes through
    const r = await raw(a)
    await r.hello('raw')
    const ev = await valid(r, 'elsewhere', 'hi')
    const f = await r.request({ publish: { event: ev as Uint8Array<ArrayBuffer> } })
    expect(errorOf(f)).toMatchObject({ code: ErrorCode.NOT_JOINED, fatal: false })
    await room(r, 'elsewhere')
    const ok = await r.request({ publish: { event: ev as Uint8Array<ArrayBuffer> } })
    expect(ok.publishAck).toBeDefined()
    expect((await alice.send('mine', 'still fine')).id).toMatch(/^[0-9a-f]{64}$/)
  })

  it('RATE_LIMITED with a retryAfterMs that is right, per user', async () => {
    mesh = await startMesh(1, { ratePerSec: 2, burst: 3 })
    const [a] = mesh.nodes as [MeshchatNode]
    const alice = await mesh.client(a, 'alice')
    const bob = await mesh.client(a, 'bob')
    await alice.join('busy')
    await bob.join('busy')
    for (let i = 0; i < 3; i++) await alice.send('busy', `burst ${i}`)
    const err = await alice.send('busy', 'one too many').then(() => undefined, (e: unknown) => e as { name: string, code: number, retryAfterMs: number })
    expect(err).toMatchObject({ name: 'RateLimitedError', code: ErrorCode.RATE_LIMITED })
    expect(err!.retryAfterMs).toBeGreaterThan(0)
    expect(err!.retryAfterMs).toBeLessThanOrEqual(500) // one token at 2/s
    // another user on the same node is not affected
    expect((await bob.send('busy', 'bob is fine')).id).toMatch(/^[0-9a-f]{64}$/)
    // the hint is honest: after waiting that long the next send goes through
    await new Promise(resolve => setTimeout(resolve, err!.retryAfterMs + 20))
    expect((await alice.send('busy', 'after the wait')).id).toMatch(/^[0-9a-f]{64}$/)
    // rate-limit refusals are not garbage: many of them do not disconnect the user
    let limited = 0
    for (let i = 0; i < 25; i++) {
      await alice.send('busy', `flood ${i}`).catch((e: { name: string }) => { if (e.name === 'RateLimitedError') limited++ })
    }
    expect(limited).toBeGreaterThan(20)
    expect(alice.state).toBe('connected')
    expect(await alice.ping()).toBeGreaterThanOrEqual(0)
  })

  it('HELLO_REQUIRED for a request before hello and for a second hello', async () => {
    mesh = await startMesh(1)
    const [a] = mesh.nodes as [MeshchatNode]
    const r = await raw(a)
    for (const [what, body] of [
      ['join', { join: { room: 'x', backlog: 0 } }],
      ['ping', { ping: { time: 1n } }],
      ['history', { history: { room: 'x', limit: 1 } }]
    ] as const) {
      const f = await r.request(body)
      expect(errorOf(f).code, `${what} before hello`).toBe(ErrorCode.HELLO_REQUIRED)
      expect(errorOf(f).fatal, `${what} before hello`).toBe(false)
    }
    expect(a.registry.size).toBe(0)
    const w = await r.hello('late')
    expect(w.welcome?.userId).toBe(r.userId)
    const again = await r.request({ hello: { version: 1, name: new TextEncoder().encode('again') as Uint8Array<ArrayBuffer>, status: '', rooms: [], noRedirect: true, affinity: false } })
    expect(errorOf(again)).toMatchObject({ code: ErrorCode.HELLO_REQUIRED, fatal: false })
    expect((await r.request({ ping: { time: 9n } })).pong?.time).toBe(9n)
    expect(a.registry.size).toBe(1)
  })

  it('a hello whose display name is not valid UTF-8 is refused with INVALID_NAME (or INVALID_UTF8), and nothing is attached', async () => {
    mesh = await startMesh(1)
    const [a] = mesh.nodes as [MeshchatNode]
    const watcher = await mesh.client(a, 'watcher')
    await watcher.join('names')
    const invalid: Array<[string, number[]]> = [
      ['CESU-encoded surrogate', [0x61, 0xed, 0xa0, 0x80]],
      ['0xff', [0x61, 0xff, 0x62, 0x63]]
    ]
    for (const [what, bytes] of invalid) {
      const r = await raw(a)
      const frame = ClientFrame.encode({ req: 9, hello: { version: 1, name: new TextEncoder().encode('NAME') as Uint8Array<ArrayBuffer>, status: '', rooms: [], noRedirect: true, affinity: false } })
      const patched = patchBytes(frame, 'NAME', Uint8Array.from(bytes))
      r.sendBytes(lengthPrefix(patched.byteLength))
      r.sendBytes(patched)
      const f = await r.waitFrame(x => x.req === 9, `reply to the hello (${what})`)
      const outcome = f.welcome != null ? 'welcome' : f.error?.code
      expect([ErrorCode.INVALID_NAME, ErrorCode.INVALID_UTF8], `hello with name bytes ${what}: got ${String(outcome)}`).toContain(outcome)
      expect(a.registry.size, `no session attached for ${what}`).toBe(1)
    }
  })
})
