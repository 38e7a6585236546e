import { sha256 } from '@noble/hashes/sha2.js'
import { LIMITS } from './limits.js'
import { BadSignatureError, EventTooLargeError, InvalidEventError, BadFrameError } from './errors.js'
import { ed25519Verify, publicKeyFromProtobuf, publicKeyToProtobuf, userIdKey, userIdOf } from './keys.js'
import type { SigningKey } from './keys.js'
import { Event, SignedEvent } from './pb/event.js'
import type { Receipt } from './pb/event.js'
import { decodeBody, decodeDisplayName, encodeBody, encodeDisplayName, validateRoom } from './validate.js'

/** Signatures cover this prefix too, so an event signature can never be replayed as some other libp2p signature. */
const DOMAIN = new TextEncoder().encode('meshchat/event/1\n')

export type EventKind = 'room' | 'dm' | 'typing' | 'receipt'

/** A signed event whose signature and content have been checked. */
export interface OpenedEvent {
  /** sha256(payload ‖ signature): the message id every layer dedupes by */
  id: Uint8Array
  /** `id` as lowercase hex, for maps */
  idHex: string
  /** the author's user id (PeerId string) */
  author: string
  /** the author's display name at send time */
  name: string
  /** the author's clock at send time (ms) */
  ts: number
  kind: EventKind
  /** room name for room, typing and room receipt events */
  room?: string
  /** recipient user id for DMs; for a DM receipt, the other participant of the conversation */
  to?: string
  /** message text for room and DM events */
  text?: string
  /** typing on/off */
  active?: boolean
  /** receipts: the message read up to (its id and ingress stamp) */
  read?: { id: Uint8Array, hlc: bigint }
  /** the SignedEvent bytes as carried on the wire */
  bytes: Uint8Array
}

export interface OpenOptions {
  /** signed event size limit; default LIMITS.maxEventBytes */
  maxEventBytes?: number
  /**
   * check the signature whatever this process checked before, and leave the process's record of
   * good events alone (a node, which keeps, counts and times its own checks, and may share its
   * process with other nodes and clients in tests)
   */
  checkAgain?: boolean
  /**
   * the caller holds an event with this id, whose signature it checked when it took it: the id is
   * the hash of the payload and the signature, so these are the same and the check is not made
   * again (the content is still validated)
   */
  heldBefore?: boolean
}

/** What a client asks to sign. */
export type EventContent =
  | { kind: 'room', room: string, text: string }
  | { kind: 'dm', to: string, text: string }
  | { kind: 'typing', room: string, active: boolean }
  /** read up to a message: in a room, or in the DM conversation with `peer` */
  | { kind: 'receipt', room?: string, peer?: string, id: Uint8Array, hlc: bigint }

/** sha256(payload ‖ signature) as a plain Uint8Array: what {@link eventId} computes */
export type EventIdHash = (payload: Uint8Array, signature: Uint8Array) => Uint8Array

/** SHA-256 in JavaScript (noble), which works everywhere */
function nobleEventIdHash (payload: Uint8Array, signature: Uint8Array): Uint8Array {
  const h = sha256.create()
  h.update(payload)
  h.update(signature)
  return h.digest()
}

let eventIdHash: EventIdHash = nobleEventIdHash

/**
 * Install (or, with undefined, remove) a platform's own SHA-256 for event ids (Node: node:crypto,
 * `sha256-node.ts`). Every node and client hashes each event it takes in, so this is on the path of
 * every delivery; it must give the bytes noble gives.
 */
export function setEventIdHash (fn: EventIdHash | undefined): void {
  eventIdHash = fn ?? nobleEventIdHash
}

/**
 * A digest of a set of event ids, the same whatever order they come in: SHA-256 over the ids in
 * byte order. What a resuming client holds of the window before its cursor (Join.have), and what
 * the node compares with its own. (A XOR of the ids would need no sort, but sets of ids that XOR
 * to the same can be searched for; two sets with one hash cannot.)
 */
export function idSetDigest (ids: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const sorted = [...ids].sort(compareBytes)
  const h = sha256.create()
  for (const id of sorted) h.update(id)
  return h.digest() as Uint8Array<ArrayBuffer>
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.byteLength - b.byteLength
}

/** Message id of a signed event: sha256 over payload and signature, the "signed bytes". */
export function eventId (payload: Uint8Array, signature: Uint8Array): Uint8Array {
  return eventIdHash(payload, signature)
}

const HEX_CODES = Array.from('0123456789abcdef', c => c.charCodeAt(0))

export function idToHex (id: Uint8Array): string {
  // one flat string: built with += it was a chain of 64 string pieces, some 870 bytes per id where a
  // flat one is 88, and ids are kept by the tens of thousands (dedupe maps, pending commits)
  if (id.length > 4096) {
    const parts: string[] = []
    for (let i = 0; i < id.length; i += 4096) parts.push(idToHex(id.subarray(i, i + 4096)))
    return parts.join('')
  }
  const codes = new Array<number>(id.length * 2)
  for (let i = 0; i < id.length; i++) {
    const b = id[i] as number
    codes[2 * i] = HEX_CODES[b >> 4] as number
    codes[2 * i + 1] = HEX_CODES[b & 15] as number
  }
  return String.fromCharCode.apply(null, codes)
}

/**
 * Generated protobuf types want ArrayBuffer-backed arrays; everything here is
 * (nothing uses SharedArrayBuffer), so this is a type-level cast, not a copy.
 */
function ab (u: Uint8Array): Uint8Array<ArrayBuffer> {
  return u as Uint8Array<ArrayBuffer>
}

/**
 * What a signature covers: a domain prefix and the payload, so a signature made
 * for one purpose (an event, a presence message, a login proof) can never pass
 * for another.
 */
export function withDomain (domain: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(domain.byteLength + payload.byteLength)
  out.set(domain, 0)
  out.set(payload, domain.byteLength)
  return out
}

function signedInput (payload: Uint8Array): Uint8Array {
  return withDomain(DOMAIN, payload)
}

/**
 * Sign an event with the user's key. Ed25519 signatures are deterministic, and
 * the nonce and ts are fixed here, so resending the returned bytes after a
 * failure keeps the same message id.
 */
export async function signEvent (
  key: SigningKey,
  name: string,
  content: EventContent,
  opts: { now: number, nonce: Uint8Array, maxEventBytes?: number }
): Promise<OpenedEvent> {
  const maxEventBytes = opts.maxEventBytes ?? LIMITS.maxEventBytes
  const event: Event = {
    author: publicKeyToProtobuf(key.publicKey.raw),
    name: encodeDisplayName(name),
    ts: BigInt(Math.floor(opts.now)),
    nonce: ab(opts.nonce)
  }
  if (content.kind === 'room') {
    event.room = { room: validateRoom(content.room), body: ab(encodeBody(content.text, maxEventBytes)) }
  } else if (content.kind === 'dm') {
    validateUserId(content.to)
    event.dm = { to: content.to, body: ab(encodeBody(content.text, maxEventBytes)) }
  } else if (content.kind === 'typing') {
    event.typing = { room: validateRoom(content.room), active: content.active }
  } else {
    event.receipt = checkReceipt({ room: content.room ?? '', peer: content.peer ?? '', id: ab(content.id), hlc: content.hlc })
  }
  const payload = Event.encode(event)
  const signature = await key.sign(signedInput(payload))
  const bytes = SignedEvent.encode({ payload, signature: ab(signature) })
  if (bytes.byteLength > maxEventBytes) {
    throw new EventTooLargeError(`event is ${bytes.byteLength} bytes, the limit is ${maxEventBytes}`)
  }
  return describe(event, payload, signature, bytes, userIdOf(key.publicKey.raw))
}

/** Throws InvalidUserError unless `id` is a user id: the PeerId string of an Ed25519 key. */
export function validateUserId (id: unknown): string {
  userIdKey(id as string)
  return id as string
}

interface AuthorKey { verify: (data: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>, userId: string }

/**
 * Builds a verifier for one raw 32-byte Ed25519 public key. By default events are verified in pure
 * JavaScript (noble), which works everywhere; a platform with a faster path (Node: a `KeyObject` kept
 * per author, checked by OpenSSL) installs it with `setEd25519Verifier`.
 */
export type Ed25519VerifierFactory = (publicKey: Uint8Array) => (data: Uint8Array, signature: Uint8Array) => boolean

/** the same, where a check may be asynchronous (WebCrypto's): what `openEvent` can use */
export type AsyncEd25519VerifierFactory = (publicKey: Uint8Array) => (data: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>

let verifierFactory: AsyncEd25519VerifierFactory | undefined

/** Install (or, with undefined, remove) the Ed25519 verifier used by `openEvent`. */
export function setEd25519Verifier (factory: AsyncEd25519VerifierFactory | undefined): void {
  if (factory === verifierFactory) return
  verifierFactory = factory
  authorCache.clear()
  verifiedIds.clear()
}

/** Install `factory` unless a verifier is installed already (a platform's own, such as Node's); true when installed. */
export function setDefaultEd25519Verifier (factory: AsyncEd25519VerifierFactory): boolean {
  if (verifierFactory != null) return false
  setEd25519Verifier(factory)
  return true
}

/**
 * Authors send many events; parsing their key and deriving the PeerId string
 * each time would dominate verification, so recent authors are remembered.
 */
const authorCache = new Map<string, AuthorKey>()
const AUTHOR_CACHE_MAX = 4096

function authorKey (author: Uint8Array): AuthorKey {
  const k = idToHex(author)
  const hit = authorCache.get(k)
  if (hit != null) return hit
  const raw = publicKeyFromProtobuf(author)
  const verify = verifierFactory != null
    ? verifierFactory(raw)
    : (data: Uint8Array, signature: Uint8Array) => ed25519Verify(raw, data, signature)
  const entry = { verify, userId: userIdOf(raw) }
  if (authorCache.size >= AUTHOR_CACHE_MAX) {
    const oldest = authorCache.keys().next().value
    if (oldest !== undefined) authorCache.delete(oldest)
  }
  authorCache.set(k, entry)
  return entry
}

/**
 * Ids of events whose signature this process has checked and found good, most recent last. The id
 * is sha256(payload ‖ signature), computed here from the bytes, so bytes with a remembered id are
 * the bytes that were checked: one process holding several clients of a room (a bot host, a load
 * generator), or one client given the same event again (a replay after a resume, a history page
 * over messages already shown), checks each signature once.
 */
const verifiedIds = new Set<string>()
const VERIFIED_IDS_MAX = 4096

function rememberVerified (idHex: string): void {
  if (verifiedIds.size >= VERIFIED_IDS_MAX) {
    const oldest = verifiedIds.values().next().value
    if (oldest !== undefined) verifiedIds.delete(oldest)
  }
  verifiedIds.add(idHex)
}

/**
 * The message id of signed event bytes, without verifying them (a protobuf
 * decode and a hash: a cache of verified events can be consulted first).
 * Throws BadFrameError when the bytes are not a SignedEvent.
 */
export function signedEventId (bytes: Uint8Array): Uint8Array {
  return DecodedEvent.from(bytes, { maxEventBytes: Infinity }).id
}

/**
 * Signed event bytes decoded once, nothing verified yet: the id (to look in a cache of opened
 * events), the kind (to charge the right budget before the expensive part) and what `openDecoded`
 * checks. A node decodes and hashes each event it takes in once, whichever of these it needs; the
 * inner event is decoded when first asked for (a cache hit needs only the id).
 */
export class DecodedEvent {
  #event?: Event

  private constructor (readonly bytes: Uint8Array, readonly signed: SignedEvent, readonly id: Uint8Array, readonly idHex: string) {}

  /** Decode signed event bytes. Throws EventTooLargeError or BadFrameError. */
  static from (bytes: Uint8Array, opts: OpenOptions = {}): DecodedEvent {
    const maxEventBytes = opts.maxEventBytes ?? LIMITS.maxEventBytes
    if (bytes.byteLength > maxEventBytes) {
      throw new EventTooLargeError(`event is ${bytes.byteLength} bytes, the limit is ${maxEventBytes}`)
    }
    let signed: SignedEvent
    try {
      signed = SignedEvent.decode(bytes)
    } catch (err) {
      throw new BadFrameError(`event does not decode: ${(err as Error).message}`)
    }
    const id = eventId(signed.payload, signed.signature)
    return new DecodedEvent(bytes, signed, id, idToHex(id))
  }

  /** the signed payload; BadFrameError when it does not decode */
  get event (): Event {
    if (this.#event == null) {
      try {
        this.#event = Event.decode(this.signed.payload)
      } catch (err) {
        throw new BadFrameError(`event does not decode: ${(err as Error).message}`)
      }
    }
    return this.#event
  }

  /** undefined when the event has none (openDecoded refuses it, after the signature check) */
  get kind (): EventKind | undefined {
    const e = this.event
    return e.room != null ? 'room' : e.dm != null ? 'dm' : e.typing != null ? 'typing' : e.receipt != null ? 'receipt' : undefined
  }
}

/**
 * The kind of a signed event, read without verifying anything: protobuf
 * decoding costs a fraction of a signature check, so a node can charge the
 * request to the right budget before it does the expensive part. Throws
 * BadFrameError / EventTooLargeError / InvalidEventError like openEvent.
 */
export function peekEventKind (bytes: Uint8Array, opts: OpenOptions = {}): EventKind {
  const { kind } = DecodedEvent.from(bytes, opts)
  if (kind == null) throw new InvalidEventError('event has no kind')
  return kind
}

/**
 * Decode a SignedEvent, verify the author's signature and validate the content.
 * Throws a typed error (EventTooLarge, BadFrame, BadSignature, InvalidEvent,
 * InvalidUtf8, InvalidRoom, InvalidName, InvalidUser) on any failure.
 */
export async function openEvent (bytes: Uint8Array, opts: OpenOptions = {}): Promise<OpenedEvent> {
  return openDecoded(DecodedEvent.from(bytes, opts), opts)
}

/** `openEvent` for bytes already decoded: verify the signature and validate the content */
export async function openDecoded (d: DecodedEvent, opts: OpenOptions = {}): Promise<OpenedEvent> {
  const { signed, event } = d
  if (signed.signature.byteLength !== 64) {
    throw new BadSignatureError('event is unsigned or its signature is malformed')
  }
  const { verify, userId } = authorKey(event.author)
  const reuse = opts.checkAgain !== true
  if (opts.heldBefore !== true && (!reuse || !verifiedIds.has(d.idHex))) {
    const ok = await verify(signedInput(signed.payload), signed.signature)
    if (!ok) {
      throw new BadSignatureError('event signature does not verify')
    }
    if (reuse) rememberVerified(d.idHex)
  }
  return describe(event, signed.payload, signed.signature, d.bytes, userId, opts.maxEventBytes ?? LIMITS.maxEventBytes, d.id, d.idHex)
}

function describe (
  event: Event,
  payload: Uint8Array,
  signature: Uint8Array,
  bytes: Uint8Array,
  author: string,
  maxEventBytes: number = LIMITS.maxEventBytes,
  id: Uint8Array = eventId(payload, signature),
  idHex: string = idToHex(id)
): OpenedEvent {
  if (event.nonce.byteLength < 8 || event.nonce.byteLength > 32) {
    throw new InvalidEventError('event nonce must be 8 to 32 bytes')
  }
  const base = {
    id,
    idHex,
    author,
    name: decodeDisplayName(event.name),
    ts: Number(event.ts),
    bytes
  }
  if (event.room != null) {
    return { ...base, kind: 'room', room: validateRoom(event.room.room), text: decodeBody(event.room.body, maxEventBytes) }
  }
  if (event.dm != null) {
    return { ...base, kind: 'dm', to: validateUserId(event.dm.to), text: decodeBody(event.dm.body, maxEventBytes) }
  }
  if (event.typing != null) {
    return { ...base, kind: 'typing', room: validateRoom(event.typing.room), active: event.typing.active }
  }
  if (event.receipt != null) {
    const r = checkReceipt(event.receipt)
    const read = { id: r.id, hlc: r.hlc }
    return r.room !== '' ? { ...base, kind: 'receipt', room: r.room, read } : { ...base, kind: 'receipt', to: r.peer, read }
  }
  throw new InvalidEventError('event has no kind')
}

/** stamps are SQLite integers (signed 64-bit) */
const MAX_HLC = (1n << 63n) - 1n

/** a receipt names exactly one room or one peer, and a whole message position */
function checkReceipt (r: Receipt): Receipt {
  if ((r.room === '') === (r.peer === '')) throw new InvalidEventError('a receipt names a room or a peer, not both or neither')
  if (r.room !== '') validateRoom(r.room)
  else validateUserId(r.peer)
  if (r.id.byteLength !== 32) throw new InvalidEventError('a receipt names a 32-byte message id')
  if (r.hlc <= 0n || r.hlc > MAX_HLC) throw new InvalidEventError('a receipt names the message stamp')
  return r
}
