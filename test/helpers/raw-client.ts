import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { LIMITS } from '../../client/src/protocol/limits.js'
import { CLIENT_PROTOCOL, CLIENT_PROTOCOL_VERSION } from '../../client/src/protocol/ids.js'
import { decodeServerFrame, encodeClientFrame, readFrames } from '../../client/src/protocol/codec.js'
import { Event, SignedEvent } from '../../client/src/protocol/pb/event.js'
import { waitFor } from './mesh.js'
import type { ClientFrame, ServerFrame } from '../../client/src/protocol/pb/client.js'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * A client that speaks `/meshchat/client/1.0.0` frame by frame, without the
 * ChatClient's validation, retries and dedupe: what a buggy or hostile client
 * can send, and exactly what the node sends back (duplicates included).
 */
export interface RawClient {
  host: Libp2p
  key: PrivateKey
  userId: string
  stream: Stream
  /** every frame received so far, in order */
  frames: ServerFrame[]
  /** true once the node's side of the stream has ended (or broke) */
  readonly ended: boolean
  /** how the read side ended, if it threw */
  readonly endError: Error | undefined
  /** send a frame (its `req` is used as given) */
  send: (frame: ClientFrame) => void
  /** send raw bytes as they are (prefix included, or not) */
  sendBytes: (bytes: Uint8Array | Uint8ArrayList) => void
  /** send a frame with a fresh req id and wait for the frame that answers it */
  request: (body: Omit<ClientFrame, 'req'>, timeoutMs?: number) => Promise<ServerFrame>
  /** wait for the first received frame matching `pred` (already received ones count) */
  waitFrame: (pred: (f: ServerFrame) => boolean, what: string, timeoutMs?: number) => Promise<ServerFrame>
  /** wait until the node ends the stream */
  waitEnded: (timeoutMs?: number) => Promise<void>
  /** hello with this name; resolves with the welcome (throws on anything else) */
  hello: (name: string) => Promise<ServerFrame>
  close: () => Promise<void>
}

/** a libp2p host like the Node client's (TCP and WebSockets) that may dial loopback */
export async function clientHost (key?: PrivateKey): Promise<Libp2p> {
  return createLibp2p({
    privateKey: key ?? await generateKeyPair('Ed25519'),
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    connectionMonitor: { enabled: false }
  })
}

/**
 * Dial a gateway address and open the client protocol on it. With `sharing`,
 * the new stream is opened on that raw client's host (and connection): a
 * second session of the same device.
 */
export async function connectRaw (addr: string, opts: { key?: PrivateKey, sharing?: RawClient } = {}): Promise<RawClient> {
  const owned = opts.sharing == null
  const key = opts.sharing?.key ?? opts.key ?? await generateKeyPair('Ed25519')
  const host = opts.sharing?.host ?? await clientHost(key)
  let stream: Stream
  try {
    stream = await host.dialProtocol(multiaddr(addr), CLIENT_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  } catch (err) {
    if (owned) await host.stop()
    throw err
  }
  const frames: ServerFrame[] = []
  let ended = false
  let endError: Error | undefined
  let nextReq = 1000
  void (async () => {
    try {
      for await (const buf of readFrames(stream, LIMITS.maxServerFrameBytes)) {
        frames.push(decodeServerFrame(buf))
      }
    } catch (err) {
      endError = err as Error
    } finally {
      ended = true
    }
  })()
  const raw: RawClient = {
    host,
    key,
    userId: host.peerId.toString(),
    stream,
    frames,
    get ended () { return ended },
    get endError () { return endError },
    send: frame => { stream.send(encodeClientFrame(frame)) },
    sendBytes: bytes => { stream.send(bytes) },
    request: async (body, timeoutMs = 10_000) => {
      const req = nextReq++
      raw.send({ req, ...body })
      return raw.waitFrame(f => f.req === req, `reply to request ${req}`, timeoutMs)
    },
    waitFrame: async (pred, what, timeoutMs = 10_000) => {
      return waitFor(() => {
        const f = frames.find(pred)
        if (f == null && ended) throw new Error(`stream ended before ${what}`)
        return f
      }, { timeoutMs, what })
    },
    waitEnded: async (timeoutMs = 10_000) => {
      await waitFor(() => ended, { timeoutMs, what: 'the node to end the client stream' })
    },
    hello: async name => {
      const f = await raw.request({ hello: { version: CLIENT_PROTOCOL_VERSION, name: new TextEncoder().encode(name) as Uint8Array<ArrayBuffer>, status: '', rooms: [], noRedirect: true, affinity: false } })
      if (f.welcome == null) throw new Error(`hello was answered with ${JSON.stringify(f, (_k, v) => typeof v === 'bigint' ? v.toString() : v)}`)
      return f
    },
    close: async () => {
      stream.abort(new Error('test done'))
      if (owned) await host.stop()
    }
  }
  return raw
}

/** raw clients a test opened, closed together in afterEach */
export class RawClients {
  private readonly list: RawClient[] = []

  async connect (addr: string, opts: { key?: PrivateKey, sharing?: RawClient } = {}): Promise<RawClient> {
    const r = await connectRaw(addr, opts)
    this.list.push(r)
    return r
  }

  async closeAll (): Promise<void> {
    await Promise.allSettled(this.list.splice(0).map(async r => r.close()))
  }
}

/** what signing.ts prefixes to the payload before signing (kept in step by a unit test) */
const DOMAIN = new TextEncoder().encode('meshchat/event/1\n')

/**
 * Sign an arbitrary Event, bypassing every content check signEvent makes, so
 * tests can produce events that are correctly signed but carry bad content
 * (invalid UTF-8, oversize bodies, no kind, another key type).
 */
export async function signRawEvent (key: PrivateKey, event: Partial<Event>): Promise<Uint8Array> {
  const full: Event = {
    author: publicKeyToProtobuf(key.publicKey) as Uint8Array<ArrayBuffer>,
    name: new TextEncoder().encode('tester') as Uint8Array<ArrayBuffer>,
    ts: BigInt(Date.now()),
    nonce: new Uint8Array(12).fill(1) as Uint8Array<ArrayBuffer>,
    ...event
  }
  return signPayload(key, Event.encode(full))
}

/** sign payload bytes as they are (they need not even be a valid Event) and wrap them in a SignedEvent */
export async function signPayload (key: PrivateKey, payload: Uint8Array): Promise<Uint8Array> {
  const input = new Uint8Array(DOMAIN.byteLength + payload.byteLength)
  input.set(DOMAIN, 0)
  input.set(payload, DOMAIN.byteLength)
  const signature = await key.sign(input)
  return SignedEvent.encode({ payload: payload as Uint8Array<ArrayBuffer>, signature: signature as Uint8Array<ArrayBuffer> })
}

/** replace the bytes of `marker` (which must occur once) in `buf` with `replacement` of the same length */
export function patchBytes (buf: Uint8Array, marker: string, replacement: Uint8Array): Uint8Array {
  const m = new TextEncoder().encode(marker)
  if (m.byteLength !== replacement.byteLength) throw new Error('marker and replacement differ in length')
  const b = Buffer.from(buf)
  const at = b.indexOf(m)
  if (at < 0 || b.indexOf(m, at + 1) >= 0) throw new Error(`marker ${marker} not found exactly once`)
  const out = Uint8Array.from(buf)
  out.set(replacement, at)
  return out
}

/** a signed room event whose body was changed after signing (same length, one byte different) */
export function tamperBody (signedBytes: Uint8Array): Uint8Array {
  const s = SignedEvent.decode(signedBytes)
  const ev = Event.decode(s.payload)
  if (ev.room == null) throw new Error('not a room event')
  const body = ev.room.body.slice()
  body[0] = body[0] === 0x58 ? 0x59 : 0x58 // 'X' or 'Y': still valid text, so only the signature can catch it
  const payload = Event.encode({ ...ev, room: { ...ev.room, body } })
  return SignedEvent.encode({ payload, signature: s.signature })
}

/** the same event with its signature removed */
export function stripSignature (signedBytes: Uint8Array): Uint8Array {
  const s = SignedEvent.decode(signedBytes)
  return SignedEvent.encode({ payload: s.payload, signature: new Uint8Array(0) })
}

/** an unsigned varint length prefix with no body behind it */
export function lengthPrefix (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}
