import { readdirSync, readFileSync } from 'node:fs'
import * as lp from 'it-length-prefixed'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { LIMITS } from '../../client/src/protocol/limits.js'
import { BadFrameError, FrameTooLargeError } from '../../client/src/protocol/errors.js'
import {
  SKIPPED_FRAME, challengeFrame, challengeTail, decodeClientFrame, decodeServerFrame, encodeClientFrame, encodeServerFrame, readFrames, welcomeFrame
} from '../../client/src/protocol/codec.js'
import { Challenge, ClientFrame, DeliveryKind, DmState, LoginProof, ServerFrame, Welcome } from '../../client/src/protocol/pb/client.js'
import { Event, SignedEvent } from '../../client/src/protocol/pb/event.js'
import { StampedEvent } from '../../client/src/protocol/pb/mesh.js'
import { loginInput } from '../../client/src/protocol/login.js'
import { rejectionOf } from '../helpers/assert.js'
import { lengthPrefix } from '../helpers/raw-client.js'

/** unsigned LEB128 varints, written in the test helpers so the test does not share the codec's own varint code */
const varint = {
  encode: lengthPrefix,
  decode (buf: Uint8Array): { value: number, bytes: number } {
    let value = 0
    let scale = 1
    for (let i = 0; i < buf.byteLength; i++) {
      const b = buf[i]!
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) return { value, bytes: i + 1 }
      scale *= 0x80
    }
    throw new Error('unterminated varint')
  }
}

const u8 = (...b: number[]): Uint8Array<ArrayBuffer> => Uint8Array.from(b)
const bytes = (n: number, fill = 0xab): Uint8Array<ArrayBuffer> => new Uint8Array(n).fill(fill)

async function * chunks (...parts: Array<Uint8Array | Uint8ArrayList>): AsyncGenerator<Uint8Array | Uint8ArrayList> {
  for (const p of parts) yield p
}

async function collect (source: AsyncIterable<Uint8Array | Uint8ArrayList>, max = 1024 * 1024): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const f of readFrames(source, max)) out.push(f.subarray())
  return out
}

/** an async source that records how far it was read */
function probe (prefix: Uint8Array, body: Uint8Array): { source: AsyncIterable<Uint8Array>, bodyPulled: () => boolean } {
  let pulled = false
  async function * gen (): AsyncGenerator<Uint8Array> {
    yield prefix
    pulled = true
    yield body
  }
  return { source: gen(), bodyPulled: () => pulled }
}

const clientFrames: ClientFrame[] = [
  { req: 1, hello: { version: 1, name: new TextEncoder().encode('Zoë 🚀') as Uint8Array<ArrayBuffer>, status: 'away', rooms: ['lobby', 'général'], noRedirect: true, affinity: false } },
  { req: 2, join: { room: 'lobby', after: { hlc: (1_700_000_000_000n << 16n) | 7n, id: bytes(32, 3) }, backlog: 25 } },
  { req: 3, leave: { room: 'lobby' } },
  { req: 4, publish: { event: bytes(5000, 0x5a) } },
  { req: 5, history: { room: 'x', before: { hlc: 1n, id: bytes(32) }, limit: 500 } },
  { req: 6, dmAck: { ids: [bytes(32, 1), bytes(32, 2)] } },
  { req: 7, watch: { users: ['a', 'b', 'c'] } },
  { req: 8, status: { status: 'away' } },
  { req: 0xffff_ffff, ping: { time: 123n } }
]

const serverFrames: ServerFrame[] = [
  {
    req: 1,
    welcome: {
      nodeId: 'node-a',
      userId: 'user-a',
      meshSize: 20,
      alternates: [{ id: 'node-b', addrs: ['/ip4/127.0.0.1/tcp/1'], clients: 3, maxClients: 10, httpUrl: 'http://x' }],
      time: 1_700_000_000_000n,
      limits: { maxEventBytes: 65536, maxRooms: 100, maxBodyBytes: 65536, ratePerSec: 2.5, burst: 40, resumeSlackMs: 10_000 },
      httpUrl: ''
    }
  },
  { req: 2, error: { code: 10, message: 'slow down', retryAfterMs: 1500, fatal: false } },
  { req: 0, delivery: { event: bytes(300), hlc: (1_800_000_000_000n << 16n) | 65535n, origin: 'node-a', kind: DeliveryKind.REPLAY, stable: 0n } },
  { req: 3, publishAck: { id: bytes(32, 9), hlc: 42n, dm: DmState.QUEUED, copies: 2 } },
  { req: 4, history: { room: 'lobby', events: [{ event: bytes(10), hlc: 1n, origin: 'n', kind: DeliveryKind.HISTORY, stable: 0n }], more: true } },
  { req: 0, roster: { room: 'lobby', members: [{ userId: 'u', name: 'n', status: 'online', nodes: ['a', 'b'] }], partial: true, count: 7000 } },
  { req: 0, rosterDiff: { room: 'lobby', userId: 'u', count: 6999 } },
  { req: 0, replayDone: { room: 'lobby', count: 12, stable: 1_800_000_000_000n << 16n, more: true } }
]

describe('codec: frame round trips', () => {
  it('client frames survive encode → length prefix → readFrames → decode', async () => {
    const encoded = clientFrames.map(f => encodeClientFrame(f))
    const payloads = await collect(chunks(...encoded))
    expect(payloads).toHaveLength(clientFrames.length)
    payloads.forEach((p, i) => {
      expect(decodeClientFrame(p), `client frame ${i}`).toEqual(clientFrames[i])
    })
  })

  it('server frames survive the same round trip', async () => {
    const payloads = await collect(chunks(...serverFrames.map(f => encodeServerFrame(f))))
    expect(payloads).toHaveLength(serverFrames.length)
    payloads.forEach((p, i) => {
      expect(decodeServerFrame(p), `server frame ${i}`).toEqual(serverFrames[i])
    })
  })

  it('the length prefix is an unsigned varint of the payload length', () => {
    const frame: ClientFrame = { req: 4, publish: { event: bytes(300) } }
    const enc = encodeClientFrame(frame).subarray()
    const body = ClientFrame.encode(frame)
    const len = varint.decode(enc)
    expect(len.value).toBe(body.byteLength)
    expect(len.bytes).toBe(2) // 300 needs two varint bytes
    expect(enc.subarray(len.bytes)).toEqual(body)
  })

  it('frames split at every byte boundary, or all in one chunk, come out the same', async () => {
    const all = new Uint8ArrayList(...clientFrames.slice(0, 4).map(f => encodeClientFrame(f))).subarray()
    const oneChunk = await collect(chunks(all))
    const byteByByte = await collect(chunks(...[...all].map(b => u8(b))))
    expect(oneChunk).toHaveLength(4)
    expect(byteByByte).toEqual(oneChunk)
    oneChunk.forEach((p, i) => {
      expect(decodeClientFrame(p), `frame ${i}`).toEqual(clientFrames[i])
    })
  })

  it('an empty frame (length 0) is read as an empty payload', async () => {
    const payloads = await collect(chunks(u8(0), encodeClientFrame(clientFrames[2]!)))
    expect(payloads.map(p => p.byteLength)).toEqual([0, ClientFrame.encode(clientFrames[2]!).byteLength])
  })
})

describe('codec: readFrames limits', () => {
  const max = 1024

  it('a frame of exactly maxFrameBytes is read', async () => {
    const payloads = await collect(chunks(lp.encode.single(bytes(max))), max)
    expect(payloads).toHaveLength(1)
    expect(payloads[0]!.byteLength).toBe(max)
  })

  it('a prefix above maxFrameBytes throws FrameTooLargeError before the body is read', async () => {
    const p = probe(varint.encode(max + 1), bytes(max + 1))
    const err = await rejectionOf(collect(p.source, max))
    expect(err).toBeInstanceOf(FrameTooLargeError)
    expect(err.name).toBe('FrameTooLargeError')
    expect(p.bodyPulled()).toBe(false)
  })

  it('a huge prefix (1 TiB) is refused as too large without waiting for data', async () => {
    const p = probe(varint.encode(2 ** 40), bytes(16))
    const err = await rejectionOf(collect(p.source, max))
    expect(err.name).toBe('FrameTooLargeError')
    expect(p.bodyPulled()).toBe(false)
  })

  it('frames before an oversize one are still delivered, in order', async () => {
    const seen: number[] = []
    let err: Error | undefined
    try {
      for await (const f of readFrames(chunks(lp.encode.single(bytes(3)), lp.encode.single(bytes(5)), varint.encode(max * 10)), max)) {
        seen.push(f.byteLength)
      }
    } catch (e) {
      err = e as Error
    }
    expect(seen).toEqual([3, 5])
    expect(err?.name).toBe('FrameTooLargeError')
  })

  it('a prefix that never terminates is a BadFrameError', async () => {
    const err = await rejectionOf(collect(chunks(new Uint8Array(12).fill(0x80)), max))
    expect(err).toBeInstanceOf(BadFrameError)
  })

  it('a stream that ends mid-body is a BadFrameError', async () => {
    const err = await rejectionOf(collect(chunks(varint.encode(10), bytes(5)), max))
    expect(err).toBeInstanceOf(BadFrameError)
    expect(err.name).toBe('BadFrameError')
  })

  it('a stream that ends mid-prefix is a BadFrameError', async () => {
    const err = await rejectionOf(collect(chunks(encodeClientFrame(clientFrames[0]!), u8(0x80)), max))
    expect(err).toBeInstanceOf(BadFrameError)
  })
})

describe('codec: readFrames admission at the length prefix', () => {
  it('a refused frame is yielded as SKIPPED_FRAME and its body dropped, across chunks; the frames around it are read', async () => {
    const body = bytes(700, 9)
    const whole = new Uint8ArrayList(lp.encode.single(bytes(3, 1)), lp.encode.single(body), lp.encode.single(bytes(5, 2))).subarray()
    // cut into chunks of 64 bytes: the refused body spans many
    const parts: Uint8Array[] = []
    for (let i = 0; i < whole.byteLength; i += 64) parts.push(whole.subarray(i, i + 64))
    const asked: number[] = []
    const seen: Array<number | 'skipped'> = []
    for await (const f of readFrames(chunks(...parts), 1024, { admit: n => { asked.push(n); return n < 500 } })) {
      seen.push(f === SKIPPED_FRAME ? 'skipped' : f.byteLength)
      if (f !== SKIPPED_FRAME) expect(f.subarray().every(b => b === (f.byteLength === 3 ? 1 : 2))).toBe(true)
    }
    expect(asked).toEqual([3, 700, 5])
    expect(seen).toEqual([3, 'skipped', 5])
  })

  it('a refused frame is yielded at its prefix, before its body is pulled', async () => {
    const p = probe(varint.encode(600), bytes(600))
    const frames = readFrames(p.source, 1024, { admit: () => false })
    const first = await frames.next()
    expect(first.value).toBe(SKIPPED_FRAME)
    expect(p.bodyPulled()).toBe(false)
    // the body is dropped and the stream ends cleanly after it
    expect((await frames.next()).done).toBe(true)
  })

  it('a throw from admit ends the read with that error, before the body is pulled', async () => {
    const p = probe(varint.encode(600), bytes(600))
    const refusal = new Error('over budget')
    const err = await rejectionOf((async () => {
      for await (const _ of readFrames(p.source, 1024, { admit: () => { throw refusal } })) { void _ }
    })())
    expect(err).toBe(refusal)
    expect(p.bodyPulled()).toBe(false)
  })

  it('a stream that ends inside a refused body is a BadFrameError', async () => {
    const err = await rejectionOf(collectAll(readFrames(chunks(varint.encode(10), bytes(5)), 1024, { admit: () => false })))
    expect(err).toBeInstanceOf(BadFrameError)
  })
})

async function collectAll (frames: AsyncIterable<Uint8ArrayList>): Promise<number> {
  let n = 0
  for await (const _ of frames) n++
  return n
}

describe('codec: malformed payloads', () => {
  const garbage: Array<[string, Uint8Array]> = [
    ['invalid wire type', u8(0x07)],
    ['truncated varint field', u8(0x08)],
    ['length-delimited field longer than the frame', u8(0x0a, 0x05, 0x01)],
    ['all 0xff', u8(0xff, 0xff, 0xff)],
    ['nested message truncated', u8(0x12, 0x80)]
  ]

  for (const [what, buf] of garbage) {
    it(`client frame: ${what} → BadFrameError`, () => {
      expect(() => decodeClientFrame(buf)).toThrow(BadFrameError)
    })
    it(`server frame: ${what} → BadFrameError`, () => {
      expect(() => decodeServerFrame(buf)).toThrow(BadFrameError)
    })
  }

  it('a frame cut anywhere inside a nested message is a BadFrameError, never a partial frame', () => {
    const full = ClientFrame.encode(clientFrames[1]!)
    // frame = tag(req) varint(req) tag(join) len(join) join...; every cut inside `join` must fail
    for (let cut = 4; cut < full.byteLength; cut++) {
      expect(() => decodeClientFrame(full.subarray(0, cut)), `cut at ${cut} of ${full.byteLength}`).toThrow(BadFrameError)
    }
  })
})

describe('codec: repeated-field decode limits', () => {
  const hello = (rooms: number): ClientFrame => ({
    req: 1,
    hello: { version: 1, name: new TextEncoder().encode('a') as Uint8Array<ArrayBuffer>, status: '', rooms: Array.from({ length: rooms }, (_, i) => `r${i}`), noRedirect: false, affinity: false }
  })

  it('hello.rooms: 256 decode, 257 are refused', () => {
    expect(decodeClientFrame(ClientFrame.encode(hello(256))).hello?.rooms).toHaveLength(256)
    expect(() => decodeClientFrame(ClientFrame.encode(hello(257)))).toThrow(BadFrameError)
  })

  it('dmAck.ids: 1024 decode, 1025 are refused', () => {
    const ids = (n: number): Array<Uint8Array<ArrayBuffer>> => Array.from({ length: n }, () => bytes(32))
    expect(decodeClientFrame(ClientFrame.encode({ req: 1, dmAck: { ids: ids(1024) } })).dmAck?.ids).toHaveLength(1024)
    expect(() => decodeClientFrame(ClientFrame.encode({ req: 1, dmAck: { ids: ids(1025) } }))).toThrow(BadFrameError)
  })

  it('watch.users: 1024 decode, 1025 are refused', () => {
    const users = (n: number): string[] => Array.from({ length: n }, (_, i) => `u${i}`)
    expect(decodeClientFrame(ClientFrame.encode({ req: 1, watch: { users: users(1024) } })).watch?.users).toHaveLength(1024)
    expect(() => decodeClientFrame(ClientFrame.encode({ req: 1, watch: { users: users(1025) } }))).toThrow(BadFrameError)
  })

  it('server side: history.events above 1000 and node addrs above 16 are refused', () => {
    const events = (n: number): ServerFrame => ({
      req: 1,
      history: { room: 'r', more: false, events: Array.from({ length: n }, () => ({ event: bytes(4), hlc: 1n, origin: 'o', kind: DeliveryKind.HISTORY, stable: 0n })) }
    })
    expect(decodeServerFrame(ServerFrame.encode(events(1000))).history?.events).toHaveLength(1000)
    expect(() => decodeServerFrame(ServerFrame.encode(events(1001)))).toThrow(BadFrameError)

    const redirect = (n: number): ServerFrame => ({
      req: 1,
      redirect: { reason: 'full', to: { id: 'n', addrs: Array.from({ length: n }, (_, i) => `/ip4/127.0.0.1/tcp/${i}`), clients: 0, maxClients: 1, httpUrl: '' } }
    })
    expect(decodeServerFrame(ServerFrame.encode(redirect(16))).redirect?.to?.addrs).toHaveLength(16)
    expect(() => decodeServerFrame(ServerFrame.encode(redirect(17)))).toThrow(BadFrameError)
  })

  it('the default frame limit leaves room for a maximal event plus its framing', async () => {
    const max = LIMITS.maxEventBytes + LIMITS.frameOverheadBytes
    const frame = encodeClientFrame({ req: 0xffff_ffff, publish: { event: bytes(LIMITS.maxEventBytes) } })
    const payloads = await collect(chunks(frame), max)
    expect(decodeClientFrame(payloads[0]!).publish?.event.byteLength).toBe(LIMITS.maxEventBytes)
  })
})

describe('codec: a welcome made in parts', () => {
  const alternate = (i: number): Welcome['alternates'][number] => ({ id: `12D3KooWnode${i}`, addrs: [`ws://10.0.0.${i}:8080/ws`], clients: i * 37, maxClients: 10_000, httpUrl: `http://10.0.0.${i}:8080` })
  const whole = (alternates: number): Welcome => ({
    nodeId: '12D3KooWself',
    userId: 'u2b6Yq4C8f3J2kM7Bz5xWvQp9L1dRtNcEhGaSs6UoPi',
    meshSize: alternates + 1,
    alternates: Array.from({ length: alternates }, (_, i) => alternate(i + 1)),
    time: 1_764_930_000_123n,
    limits: { maxEventBytes: 65_536, maxRooms: 100, maxBodyBytes: 65_536, ratePerSec: 20, burst: 40, resumeSlackMs: 10_000 },
    httpUrl: 'http://10.0.0.9:8080'
  })

  it('shared fields and the session\'s own, encoded apart and joined, decode to the whole welcome', () => {
    // 0 and 1 alternates: a short welcome; 16: its length needs a two-byte varint
    for (const n of [0, 1, 16]) {
      const w = whole(n)
      const { userId, time, ...shared } = w
      for (const req of [0, 1, 127, 128, 300, 0xffff_ffff]) {
        const joined = welcomeFrame(req, [Welcome.encode(shared), Welcome.encode({ userId, time })])
        const expected = ServerFrame.encode({ req, welcome: w })
        expect(decodeServerFrame(joined), `${n} alternates, req ${req}`).toEqual(decodeServerFrame(expected))
        // the same fields, each once: the same length (only the place of userId and time differs)
        expect(joined.byteLength).toBe(expected.byteLength)
      }
    }
  })

  it('no parts is an empty welcome, still a welcome', () => {
    const f = decodeServerFrame(welcomeFrame(5, []))
    expect(f.req).toBe(5)
    expect(f.welcome).toEqual({ nodeId: '', userId: '', meshSize: 0, alternates: [], time: 0n, httpUrl: '' })
  })
})

describe('codec: a challenge made in parts, and the login input', () => {
  const nodes = ['12D3KooWself', '12D3KooWHb3yJ4aLq8cXv6nR2pT9sWkZ5mDfE7gUiBoNqC1x', '']
  const nonces = [new Uint8Array(32).fill(7), Uint8Array.from({ length: 32 }, (_, i) => i * 8), new Uint8Array(0)]
  const times = [1_764_930_000_123n, 1n, 0n, 2n ** 63n - 1n]

  it('the node id encoded once and the nonce and time per connection decode to the whole challenge', () => {
    for (const nodeId of nodes) {
      const head = Challenge.encode({ nodeId, nonce: new Uint8Array(0), time: 0n })
      for (const nonce of nonces) {
        for (const time of times) {
          const joined = challengeFrame([head, Challenge.encode({ nodeId: '', nonce, time })])
          const expected = ServerFrame.encode({ req: 0, challenge: { nodeId, nonce, time } })
          expect(decodeServerFrame(joined), `${nodeId} ${nonce.byteLength} ${time}`).toEqual(decodeServerFrame(expected))
          expect(joined.byteLength).toBe(expected.byteLength)
        }
      }
    }
  })

  it('challengeTail writes the bytes the generated encoder writes for the nonce and time', () => {
    const safeTimes = [1_764_930_000_123, 1, 0, 127, 128, 2 ** 32, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]
    const moreNonces = [...nonces, new Uint8Array(1).fill(255), new Uint8Array(200).fill(1)]
    for (const nonce of moreNonces) {
      for (const time of safeTimes) {
        expect(challengeTail(nonce, time), `${nonce.byteLength} ${time}`).toEqual(Challenge.encode({ nodeId: '', nonce, time: BigInt(time) }))
      }
    }
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => challengeTail(new Uint8Array(32), bad)).toThrow(RangeError)
  })

  it('the login input is the domain and LoginProof.encode of the whole, byte for byte, whichever node came before', () => {
    const domain = new TextEncoder().encode('meshchat/login/1\n')
    // the node changes between calls (a client that moves), and comes back
    for (const nodeId of [...nodes, ...nodes.slice().reverse()]) {
      for (const nonce of nonces) {
        for (const time of times) {
          const proof = LoginProof.encode({ nodeId, nonce, time })
          const expected = new Uint8Array(domain.byteLength + proof.byteLength)
          expected.set(domain, 0)
          expected.set(proof, domain.byteLength)
          expect(loginInput(nodeId, nonce, time), `${nodeId} ${nonce.byteLength} ${time}`).toEqual(expected)
        }
      }
    }
  })
})

describe('codec: absent bytes fields', () => {
  const pbDir = new URL('../../client/src/protocol/pb/', import.meta.url)

  it('decode to an empty Uint8Array of their own, in every message that has them', () => {
    const a = Event.decode(Event.encode({ author: new Uint8Array(0), name: new Uint8Array(0), ts: 1n, nonce: new Uint8Array(0) }))
    const b = Event.decode(Event.encode({ author: new Uint8Array(0), name: new Uint8Array(0), ts: 2n, nonce: new Uint8Array(0) }))
    for (const field of ['author', 'name', 'nonce'] as const) {
      expect(a[field]).toBeInstanceOf(Uint8Array)
      expect(Buffer.isBuffer(a[field])).toBe(false)
      expect(a[field].byteLength).toBe(0)
      // not one array shared by every decode: a caller may keep or hand on what it was given
      expect(a[field]).not.toBe(b[field])
    }
    expect(a.author).not.toBe(a.nonce)
    const s = SignedEvent.decode(SignedEvent.encode({ payload: new Uint8Array(0), signature: new Uint8Array(0) }))
    expect(s.payload.byteLength + s.signature.byteLength).toBe(0)
    expect(s.payload).not.toBe(s.signature)
    const c = StampedEvent.decode(StampedEvent.encode({ event: new Uint8Array(0), hlc: 0n, origin: '' }))
    expect(c.event).toBeInstanceOf(Uint8Array)
    expect(c.event.byteLength).toBe(0)
  })

  it('are made in the generated code, not through a Buffer (npm run proto rewrites them)', () => {
    const files = readdirSync(pbDir).filter(f => f.endsWith('.ts'))
    expect(files.length).toBeGreaterThanOrEqual(5)
    let defaults = 0
    for (const f of files) {
      const text = readFileSync(new URL(f, pbDir), 'utf8')
      expect(text).not.toContain('uint8ArrayAlloc')
      defaults += text.split(': new Uint8Array(0)').length - 1
    }
    expect(defaults).toBeGreaterThanOrEqual(22)
  })
})
