/**
 * User keys without libp2p: Ed25519 keys in libp2p's protobuf formats (so a key
 * file or an IndexedDB entry written by either side reads on the other) and
 * user ids in libp2p's PeerId string form ("12D3KooW…"). A browser attached
 * over the plain WebSocket edge needs nothing more, which keeps libp2p, its
 * curves and its muxers out of the web bundle.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { InvalidEventError, InvalidUserError } from './errors.js'

/**
 * What signs for a user: an Ed25519 key. libp2p's private keys have this shape too, so a libp2p
 * Ed25519 key can be used directly; the 32-byte public key is checked where it matters.
 */
export interface SigningKey {
  readonly publicKey: { readonly raw: Uint8Array }
  sign: (data: Uint8Array) => Uint8Array | Promise<Uint8Array>
}

/** an Ed25519 signing key made here, with its seed, for saving */
export interface UserKey extends SigningKey {
  /** the 32-byte private seed */
  readonly seed: Uint8Array
}

/** libp2p KeyType.Ed25519 = 1; PublicKey/PrivateKey { Type = 1; Data = 2 } */
const PUBLIC_PREFIX = Uint8Array.of(0x08, 0x01, 0x12, 0x20)
const PRIVATE_PREFIX = Uint8Array.of(0x08, 0x01, 0x12, 0x40)
/** a PeerId of an Ed25519 key is the identity multihash (0x00, length 36) of its protobuf public key */
const ID_PREFIX = Uint8Array.of(0x00, 0x24, ...PUBLIC_PREFIX)

function concat (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

function startsWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.byteLength < prefix.byteLength) return false
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

// ---- base58btc (Bitcoin alphabet), as PeerId strings use it ---------------

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** 58^5: the encoder works in limbs of five base58 digits (a limb × 256 + a carry stays far below 2^53) */
const LIMB = 58 ** 5

export function base58Encode (bytes: Uint8Array): string {
  let zeros = 0
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++
  // the number in base 58^5, least significant limb first: a fifth of the divisions of digit by digit
  const limbs: number[] = []
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i] as number
    for (let j = 0; j < limbs.length; j++) {
      const v = (limbs[j] as number) * 256 + carry
      carry = Math.floor(v / LIMB)
      limbs[j] = v - carry * LIMB
    }
    while (carry > 0) {
      const q = Math.floor(carry / LIMB)
      limbs.push(carry - q * LIMB)
      carry = q
    }
  }
  let out = ''
  for (let j = 0; j < limbs.length; j++) {
    let v = limbs[j] as number
    // every limb but the most significant has all five digits (leading zeros are digits there)
    const last = j === limbs.length - 1
    for (let d = 0; d < 5 && (!last || v > 0); d++) {
      const q = Math.floor(v / 58)
      out = ALPHABET[v - q * 58]! + out
      v = q
    }
  }
  return '1'.repeat(zeros) + out
}

/** each character's digit, -1 for one base58 does not have (ASCII only: anything above is not base58) */
const DIGIT = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DIGIT[ALPHABET.charCodeAt(i)] = i

/** the decoder's limbs: 24 bits each, and a limb × 58^4 + a carry stays far below 2^53 */
const DECODE_LIMB = 2 ** 24

/**
 * undefined when `s` is not base58. Works four digits at a time on 24-bit limbs: a user id of 52
 * digits is 13 steps over at most 13 limbs, where byte by byte it was 52 over up to 38 bytes
 * (0.33–0.35 against 2.5–2.6 µs per id, `decode-cost.js`). Owners check every user id a registration
 * names, thousands in an attach burst.
 */
export function base58Decode (s: string): Uint8Array | undefined {
  let zeros = 0
  while (zeros < s.length && s.charCodeAt(zeros) === 49 /* '1' */) zeros++
  // the number after the leading '1's, least significant limb first
  const limbs: number[] = []
  for (let i = zeros; i < s.length;) {
    let chunk = 0
    let scale = 1
    const end = Math.min(s.length, i + 4)
    for (; i < end; i++) {
      const c = s.charCodeAt(i)
      const d = c < 128 ? DIGIT[c] as number : -1
      if (d < 0) return undefined
      chunk = chunk * 58 + d
      scale *= 58
    }
    let carry = chunk
    for (let j = 0; j < limbs.length; j++) {
      const v = (limbs[j] as number) * scale + carry
      carry = Math.floor(v / DECODE_LIMB)
      limbs[j] = v - carry * DECODE_LIMB
    }
    while (carry > 0) {
      const q = Math.floor(carry / DECODE_LIMB)
      limbs.push(carry - q * DECODE_LIMB)
      carry = q
    }
  }
  // the number's bytes, big-endian, without the most significant limb's leading zero bytes (the
  // first digit after the '1's is not 0, so that limb is not 0)
  const top = limbs.length > 0 ? limbs[limbs.length - 1] as number : 0
  const length = limbs.length * 3 - (limbs.length === 0 ? 0 : top < 0x100 ? 2 : top < 0x10000 ? 1 : 0)
  const out = new Uint8Array(zeros + length)
  let at = out.length - 1
  for (let j = 0; j < limbs.length; j++) {
    let v = limbs[j] as number
    for (let k = 0; k < 3 && at >= zeros; k++) {
      out[at--] = v & 0xff
      v >>>= 8
    }
  }
  return out
}

// ---- ids and public keys ---------------------------------------------------

/** the user id (PeerId string) of a raw 32-byte Ed25519 public key */
export function userIdOf (publicKey: Uint8Array): string {
  return base58Encode(concat(ID_PREFIX, publicKey))
}

/**
 * User ids seen valid lately, with their keys: a node checks the same few ids (a DM's two parties,
 * a conversation's) several times per message, and base58 decoding is the costly part of the check.
 */
const VALID_IDS = new Map<string, Uint8Array>()
const VALID_IDS_MAX = 4096

/** the raw public key inside a user id (a copy); throws InvalidUserError unless it is an Ed25519 PeerId string */
export function userIdKey (id: string): Uint8Array {
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) throw new InvalidUserError('user id is missing or too long')
  const known = VALID_IDS.get(id)
  if (known !== undefined) return known.slice()
  const bytes = base58Decode(id)
  if (bytes == null || bytes.byteLength !== ID_PREFIX.byteLength + 32 || !startsWith(bytes, ID_PREFIX)) {
    throw new InvalidUserError(`not a user id: ${id.slice(0, 64)}`)
  }
  const key = bytes.slice(ID_PREFIX.byteLength)
  if (VALID_IDS.size >= VALID_IDS_MAX) VALID_IDS.delete(VALID_IDS.keys().next().value as string)
  VALID_IDS.set(id, key)
  return key.slice()
}

/** libp2p's protobuf encoding of a raw Ed25519 public key; throws InvalidUserError for a key of another size */
export function publicKeyToProtobuf (publicKey: Uint8Array): Uint8Array<ArrayBuffer> {
  if (publicKey.byteLength !== 32) throw new InvalidUserError('user keys are Ed25519 (32-byte public keys)')
  return concat(PUBLIC_PREFIX, publicKey)
}

/** the raw key of a protobuf-encoded Ed25519 public key; throws InvalidEventError for anything else */
export function publicKeyFromProtobuf (bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength !== PUBLIC_PREFIX.byteLength + 32 || !startsWith(bytes, PUBLIC_PREFIX)) {
    throw new InvalidEventError('author key is not an Ed25519 public key')
  }
  return bytes.subarray(PUBLIC_PREFIX.byteLength)
}

// ---- private keys ----------------------------------------------------------

/**
 * Builds the signing function of one 32-byte Ed25519 seed. By default keys sign in pure JavaScript
 * (noble), which works everywhere; a platform with a faster path (Node: a `KeyObject` kept per key,
 * signed by OpenSSL, about ten times faster) installs it with `setEd25519Signer`.
 */
export type Ed25519SignerFactory = (seed: Uint8Array) => (data: Uint8Array) => Uint8Array

let signerFactory: Ed25519SignerFactory | undefined

/**
 * Install (or, with undefined, remove) the Ed25519 signer of the keys made here. Keys made before
 * take it at their next signature.
 */
export function setEd25519Signer (factory: Ed25519SignerFactory | undefined): void {
  signerFactory = factory
}

/** The public key of a 32-byte seed, by a platform's faster path than noble's. */
export type Ed25519PublicKeyOf = (seed: Uint8Array) => Uint8Array

let publicKeyOf: Ed25519PublicKeyOf | undefined

/**
 * Install (or, with undefined, remove) how keys made here derive their public key from their seed.
 * Noble's point multiplication took about 0.3 ms a key in Node, libsodium's about 20 µs.
 */
export function setEd25519PublicKeyOf (derive: Ed25519PublicKeyOf | undefined): void {
  publicKeyOf = derive
}

function fromSeed (seed: Uint8Array): UserKey {
  const raw = publicKeyOf?.(seed) ?? ed25519.getPublicKey(seed)
  let made: { factory: Ed25519SignerFactory, sign: (data: Uint8Array) => Uint8Array } | undefined
  return {
    seed,
    publicKey: { raw },
    sign: data => {
      const factory = signerFactory
      if (factory == null) return ed25519.sign(data, seed)
      if (made?.factory !== factory) made = { factory, sign: factory(seed) }
      return made.sign(data)
    }
  }
}

export function generateUserKey (): UserKey {
  return fromSeed(ed25519.utils.randomSecretKey())
}

/** libp2p's protobuf encoding of an Ed25519 private key (Data = seed ‖ public key) */
export function privateKeyToProtobuf (key: UserKey): Uint8Array<ArrayBuffer> {
  return concat(PRIVATE_PREFIX, key.seed, key.publicKey.raw)
}

/** read a protobuf-encoded Ed25519 private key (as libp2p writes it); throws InvalidUserError otherwise */
export function privateKeyFromProtobuf (bytes: Uint8Array): UserKey {
  if (bytes.byteLength !== PRIVATE_PREFIX.byteLength + 64 || !startsWith(bytes, PRIVATE_PREFIX)) {
    throw new InvalidUserError('not an Ed25519 private key')
  }
  const key = fromSeed(bytes.slice(PRIVATE_PREFIX.byteLength, PRIVATE_PREFIX.byteLength + 32))
  const stored = bytes.subarray(PRIVATE_PREFIX.byteLength + 32)
  if (!key.publicKey.raw.every((b, i) => b === stored[i])) throw new InvalidUserError('private key does not match its public key')
  return key
}

/** a verification of one Ed25519 signature with a raw public key (pure JS; nodes install a faster one) */
export function ed25519Verify (publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, data, publicKey, { zip215: false })
  } catch {
    return false
  }
}
