/**
 * fast-check arbitraries shared by the fuzz targets (test/fuzz/targets.ts): numbers at and past
 * every width the wire uses, hostile strings, byte-level mutations, and *specs* of signed events
 * and stamps. A spec is plain data (so fast-check can generate, print and shrink it); the targets
 * turn it into bytes with real keys (`buildEvent`), because signing is async and key-dependent.
 */
import { createPrivateKey, sign as nodeSign } from 'node:crypto'
import fc from 'fast-check'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { Event, SignedEvent } from '../../client/src/protocol/pb/event.js'
import type { PrivateKey } from '@libp2p/interface'

export const U32_MAX = 0xffffffff
export const I64_MAX = (1n << 63n) - 1n
export const U64_MAX = (1n << 64n) - 1n

/** generated protobuf types want ArrayBuffer-backed arrays; everything here is */
export function ab (u: Uint8Array): Uint8Array<ArrayBuffer> {
  return u as Uint8Array<ArrayBuffer>
}

const utf8 = new TextEncoder()
export function enc (s: string): Uint8Array<ArrayBuffer> {
  return utf8.encode(s)
}

// ---------------------------------------------------------------------------------------------
// optional values (fc.option's `freq` is the odds of *nil*; these say what they mean)

/** `arb` in 1 of `n` cases, else undefined */
export function sometimes<T> (arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 1, arbitrary: arb }, { weight: n - 1, arbitrary: fc.constant(undefined) })
}

/** `arb` but in 1 of `n` cases, when undefined */
export function mostly<T> (arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: n - 1, arbitrary: arb }, { weight: 1, arbitrary: fc.constant(undefined) })
}

// ---------------------------------------------------------------------------------------------
// numbers

/** uint32 values, edges first */
export const u32Arb: fc.Arbitrary<number> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(0, 1, 2, 50, 500, 501, 1000, 1001, 0x7fffffff, 0x80000000, U32_MAX) },
  { weight: 2, arbitrary: fc.nat(2000) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: U32_MAX }) }
)

/** uint64 values, edges first: 2^31, 2^32, 2^53, 2^63 - 1, 2^63 and 2^64 - 1 among them */
export const u64Arb: fc.Arbitrary<bigint> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      0n, 1n, 2n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n,
      BigInt(Number.MAX_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER) + 1n, I64_MAX, I64_MAX + 1n, U64_MAX - 1n, U64_MAX
    )
  },
  // values the width of a uint32: the low word alone, its top bit set or not
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 0xffffffffn }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 10_000n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: U64_MAX }) }
)

/** a small counter or any uint64 (presence seq, incarnation, beat: small values make sequences line up) */
export const counterArb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 6n }) },
  { weight: 1, arbitrary: u64Arb }
)

/**
 * A time, relative to the wall clock when the input is built (so a seed replays the same shape at
 * any date), or absolute. `rel` is in ms.
 */
export type TimeSpec = { rel: number, logical?: number } | { abs: bigint }

const MINUTE = 60_000
const DAY = 24 * 3600_000

/** author timestamps (ms, uint64) */
export const tsArb: fc.Arbitrary<TimeSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -5_000, max: 5_000 }).map(rel => ({ rel })) },
  { weight: 1, arbitrary: fc.constantFrom(-2 * DAY, -DAY - 1, 59_000, 61_000, 3600_000, 10 * 365 * DAY).map(rel => ({ rel })) },
  { weight: 1, arbitrary: fc.integer({ min: -30 * DAY, max: 30 * DAY }).map(rel => ({ rel })) },
  { weight: 2, arbitrary: u64Arb.map(abs => ({ abs })) }
)

/** ingress HLC stamps ((ms << 16) | logical, uint64): near now, past the drift bound, far future, > 2^63 */
export const hlcArb: fc.Arbitrary<TimeSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ rel: fc.integer({ min: -10_000, max: 2_000 }), logical: fc.nat(0xffff) }) },
  { weight: 1, arbitrary: fc.constantFrom(MINUTE - 1, MINUTE + 1000, 2 * MINUTE, 365 * DAY, -2 * DAY).map(rel => ({ rel })) },
  { weight: 2, arbitrary: u64Arb.map(abs => ({ abs })) },
  { weight: 1, arbitrary: fc.bigInt({ min: I64_MAX - 1000n, max: U64_MAX }).map(abs => ({ abs })) }
)

/** resolve a time spec in ms (author ts) */
export function msOf (t: TimeSpec, now = Date.now()): bigint {
  if ('abs' in t) return t.abs
  const v = now + t.rel
  return v < 0 ? 0n : BigInt(v)
}

/** resolve a time spec as an HLC stamp */
export function hlcOf (t: TimeSpec, now = Date.now()): bigint {
  if ('abs' in t) return t.abs
  const v = now + t.rel
  return v < 0 ? 0n : (BigInt(v) << 16n) | BigInt(t.logical ?? 0)
}

// ---------------------------------------------------------------------------------------------
// bytes and strings

/** random bytes: mostly short, sometimes a few KB */
export const bytesArb: fc.Arbitrary<Uint8Array<ArrayBuffer>> = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4096, size: 'max' }) }
)

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map(c => String.fromCharCode(c))
const anyCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })
const oddChars = fc.constantFrom('\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u200e', '\u202e', '\u2066', '\u2028', '\ufeff', '\u061c', '/', ' ', '\t', '\n', '.', '-', '_', 'é', 'e\u0301', 'Ω', '٣', '🙂', '\ud83d')

/** hostile strings: empty, control and bidi characters, lone surrogates, unnormalised text, oversize */
export const strArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 16 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.oneof(anyCodePoint, loneSurrogate, oddChars, fc.constantFrom('a', 'Z', '0')), maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a'.repeat(64), 'a'.repeat(65), 'x'.repeat(129), 'é'.repeat(48), 'é'.repeat(49)) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 5000 }).map(n => 'x'.repeat(n)) }
)

/** strings of the characters room names and device ids use (valid more often than not) */
export const tokenArb: fc.Arbitrary<string> = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.'.split('')), minLength: 1, maxLength: 10 })

/** room names: mostly from the fuzz node's pool (rooms it already carries), else anything */
export function roomArb (pool: readonly string[], fresh = 1): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...pool) },
    { weight: fresh, arbitrary: tokenArb },
    { weight: 4, arbitrary: strArb },
    { weight: 2, arbitrary: fc.constantFrom('', 'a'.repeat(64), 'a'.repeat(65), 'é', 'e\u0301', 'Ω', '٣', 'room/x', ' lobby', 'lobby ', '-x', '.x', 'x\u0000', 'x\u202e', 'LOBBY', 'ﬁ') }
  )
}

/** user ids: pool members, pool members in another spelling (CID), mangled ids, garbage */
export function userIdArb (pool: readonly string[], variants: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...pool) },
    { weight: 2, arbitrary: fc.constantFrom(...variants) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...pool), fc.nat(), fc.constantFrom('1', 'z', 'K', 'O', '0', '')).map(([id, at, c]) => id.slice(0, at % id.length) + c + id.slice((at % id.length) + 1)) },
    { weight: 2, arbitrary: strArb }
  )
}

/** cursor ids: 32 bytes (a message id), or any length */
export const idArb: fc.Arbitrary<Uint8Array<ArrayBuffer>> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) }
)

/** UTF-8 display names: good ones, bad Unicode, invalid UTF-8 (overlong forms, surrogates, truncation) */
export const nameBytesArb: fc.Arbitrary<Uint8Array<ArrayBuffer>> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('alice', 'Bob ✨', 'Zoë', 'x', 'ab'.repeat(24)).map(enc) },
  { weight: 3, arbitrary: strArb.map(enc) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 60 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [0x61, 0xc3], [0xef, 0xbb, 0xbf, 0x61], [0xe2, 0x80, 0xae, 0x61]
    ).map(b => ab(Uint8Array.from(b)))
  }
)

/** message bodies: text, text with controls, invalid UTF-8, empty, oversize */
export const bodyArb: fc.Arbitrary<Uint8Array<ArrayBuffer>> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map(enc) },
  { weight: 2, arbitrary: strArb.map(enc) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'a\u001bb', 'a\u202eb', 'line\nbreak\ttab\r').map(enc) },
  { weight: 1, arbitrary: fc.constantFrom(1024, 64 * 1024 - 200, 64 * 1024, 70_000).map(n => enc('y'.repeat(n))) }
)

// ---------------------------------------------------------------------------------------------
// byte-level mutation

export interface Mutation {
  op: 'flip' | 'set' | 'insert' | 'delete' | 'truncate' | 'dup'
  at: number
  value: number
  len: number
}

export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.array(
  fc.record({
    op: fc.constantFrom('flip', 'flip', 'set', 'insert', 'delete', 'truncate', 'dup'),
    at: fc.nat(),
    value: fc.nat(255),
    len: fc.integer({ min: 1, max: 16 })
  }),
  { minLength: 1, maxLength: 4 }
)

/** apply byte-level mutations: bit flips, overwrites, inserted runs, deleted runs, truncation, duplicated ranges */
export function mutate (input: Uint8Array, muts: readonly Mutation[]): Uint8Array<ArrayBuffer> {
  let b = Uint8Array.from(input)
  for (const m of muts) {
    const at = b.byteLength === 0 ? 0 : m.at % (b.byteLength + 1)
    switch (m.op) {
      case 'flip':
        if (b.byteLength > 0) b[at % b.byteLength]! ^= 1 << (m.value % 8)
        break
      case 'set':
        if (b.byteLength > 0) b[at % b.byteLength] = m.value
        break
      case 'insert': {
        const out = new Uint8Array(b.byteLength + m.len)
        out.set(b.subarray(0, at), 0)
        out.fill(m.value, at, at + m.len)
        out.set(b.subarray(at), at + m.len)
        b = out
        break
      }
      case 'delete':
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.len)])
        break
      case 'truncate':
        b = b.slice(0, at)
        break
      case 'dup': {
        const piece = b.slice(at, at + m.len)
        const out = new Uint8Array(b.byteLength + piece.byteLength)
        out.set(b.subarray(0, at + piece.byteLength), 0)
        out.set(piece, at + piece.byteLength)
        out.set(b.subarray(at + piece.byteLength), at + 2 * piece.byteLength)
        b = out
        break
      }
    }
  }
  return ab(b)
}

// ---------------------------------------------------------------------------------------------
// signing

/** what signing.ts prefixes to an event payload before signing */
export const EVENT_DOMAIN = enc('meshchat/event/1\n')
/** what presence-wire.ts prefixes to a presence body before signing */
export const PRESENCE_DOMAIN = enc('meshchat/presence/1\n')

/** A key with a reusable node:crypto KeyObject: the same Ed25519 signatures as key.sign, without rebuilding the key per call. */
export interface Signer {
  key: PrivateKey
  /** PeerId string */
  id: string
  /** protobuf-encoded public key (the `author` field of an event) */
  author: Uint8Array<ArrayBuffer>
  sign: (data: Uint8Array) => Uint8Array<ArrayBuffer>
}

export function makeSigner (key: PrivateKey, id: string): Signer {
  const raw = key.raw
  const obj = createPrivateKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(raw.subarray(0, 32)).toString('base64url'), x: Buffer.from(key.publicKey.raw).toString('base64url') }
  })
  return { key, id, author: ab(publicKeyToProtobuf(key.publicKey)), sign: data => ab(new Uint8Array(nodeSign(null, data, obj))) }
}

export function withDomain (domain: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(domain.byteLength + body.byteLength)
  out.set(domain, 0)
  out.set(body, domain.byteLength)
  return out
}

// ---------------------------------------------------------------------------------------------
// signed events

export type EventKindSpec =
  | { kind: 'room', room: string, body: Uint8Array<ArrayBuffer> }
  | { kind: 'dm', to: string, body: Uint8Array<ArrayBuffer> }
  | { kind: 'typing', room: string, active: boolean }
  /** a read receipt: `room` or `peer` set (or both, or neither: refused), the message read up to */
  | { kind: 'receipt', room: string, peer: string, id: Uint8Array<ArrayBuffer>, hlc: TimeSpec }
  | { kind: 'none' }

/**
 * A signed event as data. `signer` picks the key that signs ('self' = the key the target expects,
 * e.g. the session's user; a number = another key of the pool); `author` what the author field
 * carries; `signature` what happens to the signature; `payload` replaces the Event with raw bytes.
 */
export interface EventSpec {
  signer: 'self' | number
  author: 'signer' | 'other' | { raw: Uint8Array<ArrayBuffer> }
  name: Uint8Array<ArrayBuffer>
  ts: TimeSpec
  nonce: Uint8Array<ArrayBuffer>
  content: EventKindSpec
  signature: 'good' | 'none' | 'short' | 'random' | 'flip'
  payload?: Uint8Array<ArrayBuffer>
  /** byte-level mutations of the SignedEvent bytes */
  mutations?: Mutation[]
}

export interface EventSpecOptions {
  rooms: readonly string[]
  users: readonly string[]
  userVariants: readonly string[]
  /** how many keys the pool has (for `signer: number`) */
  keys: number
  /** bias: which kinds to favour */
  kinds?: EventKindWeights
  /** weight of byte-level mutation (of 10) */
  mutate?: number
  /** valid-looking events only (good signature, good fields) at this weight (of 10) */
  clean?: number
}

export interface EventKindWeights { room?: number, dm?: number, typing?: number, receipt?: number, none?: number }

export function eventSpecArb (o: EventSpecOptions): fc.Arbitrary<EventSpec> {
  const k = { room: 4, dm: 3, typing: 2, receipt: 1, none: 1, ...o.kinds }
  const rooms = roomArb(o.rooms, 0)
  const users = userIdArb(o.users, o.userVariants)
  const receipt: fc.Arbitrary<EventKindSpec> = fc.record({
    kind: fc.constant('receipt' as const),
    room: fc.oneof({ weight: 4, arbitrary: rooms }, { weight: 4, arbitrary: fc.constant('') }),
    peer: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 4, arbitrary: users }),
    id: idArb,
    hlc: hlcArb
  })
  const cleanReceipt: fc.Arbitrary<EventKindSpec> = fc.oneof(
    fc.record({ kind: fc.constant('receipt' as const), room: fc.constantFrom(...o.rooms), peer: fc.constant(''), id: fc.uint8Array({ minLength: 32, maxLength: 32 }), hlc: fc.integer({ min: -10_000, max: 0 }).map(rel => ({ rel })) }),
    fc.record({ kind: fc.constant('receipt' as const), room: fc.constant(''), peer: fc.constantFrom(...o.users), id: fc.uint8Array({ minLength: 32, maxLength: 32 }), hlc: fc.integer({ min: -10_000, max: 0 }).map(rel => ({ rel })) })
  )
  const content: fc.Arbitrary<EventKindSpec> = fc.oneof(
    { weight: k.room, arbitrary: fc.record({ kind: fc.constant('room' as const), room: rooms, body: bodyArb }) },
    { weight: k.dm, arbitrary: fc.record({ kind: fc.constant('dm' as const), to: users, body: bodyArb }) },
    { weight: k.typing, arbitrary: fc.record({ kind: fc.constant('typing' as const), room: rooms, active: fc.boolean() }) },
    { weight: k.receipt, arbitrary: receipt },
    { weight: k.none, arbitrary: fc.constant({ kind: 'none' as const }) }
  )
  const cleanContent: fc.Arbitrary<EventKindSpec> = fc.oneof(
    { weight: k.room, arbitrary: fc.record({ kind: fc.constant('room' as const), room: fc.constantFrom(...o.rooms), body: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map(enc) }) },
    { weight: k.dm, arbitrary: fc.record({ kind: fc.constant('dm' as const), to: fc.constantFrom(...o.users), body: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map(enc) }) },
    { weight: k.typing, arbitrary: fc.record({ kind: fc.constant('typing' as const), room: fc.constantFrom(...o.rooms), active: fc.boolean() }) },
    { weight: k.receipt, arbitrary: cleanReceipt }
  )
  const nonce = fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ minLength: 12, maxLength: 12 }) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 40 }) }
  )
  const messy: fc.Arbitrary<EventSpec> = fc.record({
    signer: fc.oneof({ weight: 8, arbitrary: fc.constant('self' as const) }, { weight: 1, arbitrary: fc.nat(Math.max(0, o.keys - 1)) }),
    author: fc.oneof(
      { weight: 8, arbitrary: fc.constant('signer' as const) },
      { weight: 1, arbitrary: fc.constant('other' as const) },
      { weight: 1, arbitrary: fc.oneof(fc.uint8Array({ maxLength: 48 }), fc.uint8Array({ minLength: 32, maxLength: 32 }).map(r => ab(Uint8Array.from([8, 1, 18, 32, ...r])))).map(raw => ({ raw })) }
    ),
    name: nameBytesArb,
    ts: tsArb,
    nonce,
    content,
    signature: fc.oneof({ weight: 12, arbitrary: fc.constant('good' as const) }, { weight: 1, arbitrary: fc.constantFrom('none' as const, 'short' as const, 'random' as const, 'flip' as const) }),
    payload: sometimes(bytesArb, 12),
    mutations: fc.oneof(
      { weight: o.mutate ?? 2, arbitrary: mutationsArb },
      { weight: 10 - (o.mutate ?? 2), arbitrary: fc.constant(undefined) }
    )
  })
  const clean: fc.Arbitrary<EventSpec> = fc.record({
    signer: fc.constant('self' as const),
    author: fc.constant('signer' as const),
    name: fc.constantFrom('alice', 'Bob ✨', 'Zoë').map(enc),
    ts: fc.integer({ min: -2000, max: 2000 }).map(rel => ({ rel })),
    nonce: fc.uint8Array({ minLength: 12, maxLength: 12 }),
    content: cleanContent,
    signature: fc.constant('good' as const)
  })
  return fc.oneof({ weight: o.clean ?? 3, arbitrary: clean }, { weight: 10 - (o.clean ?? 3), arbitrary: messy })
}

/** The Event a spec describes (before signing). */
export function eventOf (spec: EventSpec, signer: Signer, other: Signer, now = Date.now()): Event {
  const author = spec.author === 'signer' ? signer.author : spec.author === 'other' ? other.author : spec.author.raw
  const ev: Event = { author, name: spec.name, ts: msOf(spec.ts, now), nonce: spec.nonce }
  const c = spec.content
  if (c.kind === 'room') ev.room = { room: c.room, body: c.body }
  else if (c.kind === 'dm') ev.dm = { to: c.to, body: c.body }
  else if (c.kind === 'typing') ev.typing = { room: c.room, active: c.active }
  else if (c.kind === 'receipt') ev.receipt = { room: c.room, peer: c.peer, id: c.id, hlc: hlcOf(c.hlc, now) }
  return ev
}

/** SignedEvent bytes for a spec: `keys` is the pool, `self` the key `signer: 'self'` means */
export function buildEvent (spec: EventSpec, self: Signer, keys: readonly Signer[], now = Date.now()): Uint8Array<ArrayBuffer> {
  const signer = spec.signer === 'self' ? self : keys[spec.signer % keys.length] ?? self
  const other = keys.find(k => k !== signer) ?? signer
  const payload = spec.payload ?? Event.encode(eventOf(spec, signer, other, now))
  let signature: Uint8Array<ArrayBuffer>
  switch (spec.signature) {
    case 'none': signature = ab(new Uint8Array(0)); break
    case 'short': signature = signer.sign(withDomain(EVENT_DOMAIN, payload)).slice(0, 63); break
    case 'random': signature = ab(Uint8Array.from(payload.subarray(0, 64).length === 64 ? payload.subarray(0, 64) : new Uint8Array(64).fill(7))); break
    case 'flip': {
      signature = signer.sign(withDomain(EVENT_DOMAIN, payload))
      signature[payload.byteLength % 64]! ^= 1
      break
    }
    default: signature = signer.sign(withDomain(EVENT_DOMAIN, payload))
  }
  const bytes = SignedEvent.encode({ payload: ab(payload), signature })
  return spec.mutations == null ? bytes : mutate(bytes, spec.mutations)
}
