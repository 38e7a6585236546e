/**
 * Login by proof of key, for the plain WebSocket edge (the libp2p gateway
 * proves the key in its noise handshake instead). The node opens with a
 * challenge: fresh random bytes for this connection and its own node id. The
 * client signs them with its time under a domain of their own; the node checks
 * the nonce is the one it sent on this connection (so a proof cannot be
 * replayed on another), the node id is its own (so a proof made for one node
 * is worthless on another), the time is within a short window (so an old proof
 * is worthless), and the signature is by the key presented. No passwords.
 */
import { AuthFailedError } from './errors.js'
import { LoginProof } from './pb/client.js'
import { publicKeyFromProtobuf, publicKeyToProtobuf, userIdOf } from './keys.js'
import { withDomain } from './signing.js'
import type { Auth, Challenge } from './pb/client.js'
import type { SigningKey } from './keys.js'

const DOMAIN = new TextEncoder().encode('meshchat/login/1\n')

/** how far the client's signing time may be from the node's clock */
export const LOGIN_WINDOW_MS = 60_000

const NO_BYTES = new Uint8Array(0)
/** the domain and the encoded node id of the last node a login input was made for (a node checks its own id only) */
let prefix: { nodeId: string, bytes: Uint8Array } | undefined

/**
 * the bytes a login signature covers: the domain, then LoginProof{nodeId, nonce, time} as
 * `LoginProof.encode` writes it (fields in number order, so the node id's part can be kept and the
 * nonce's and time's appended)
 */
export function loginInput (nodeId: string, nonce: Uint8Array, time: bigint): Uint8Array {
  if (prefix?.nodeId !== nodeId) prefix = { nodeId, bytes: withDomain(DOMAIN, LoginProof.encode({ nodeId, nonce: NO_BYTES, time: 0n })) }
  return withDomain(prefix.bytes, LoginProof.encode({ nodeId: '', nonce: nonce as Uint8Array<ArrayBuffer>, time }))
}

/** the client's answer to a challenge; `now` is the client's clock corrected by the challenge's time */
export async function proveKey (key: SigningKey, challenge: Challenge, now: number): Promise<Auth> {
  const time = BigInt(Math.max(0, Math.floor(now)))
  const signature = await key.sign(loginInput(challenge.nodeId, challenge.nonce, time))
  return { publicKey: publicKeyToProtobuf(key.publicKey.raw), time, signature: signature as Uint8Array<ArrayBuffer> }
}

/**
 * The node's check of an answer to the challenge it sent (`nonce`, as
 * `nodeId`) on this connection. Returns the user id; throws AuthFailedError
 * saying what was wrong.
 */
export function checkProof (
  auth: Auth,
  expected: { nodeId: string, nonce: Uint8Array },
  now: number,
  verify: (publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array) => boolean,
  windowMs = LOGIN_WINDOW_MS
): string {
  let raw: Uint8Array
  try {
    raw = publicKeyFromProtobuf(auth.publicKey)
  } catch {
    throw new AuthFailedError('the key is not an Ed25519 public key')
  }
  const time = Number(auth.time)
  if (!Number.isSafeInteger(time) || Math.abs(time - now) > windowMs) {
    throw new AuthFailedError(`the proof is expired or from a clock more than ${windowMs} ms off`)
  }
  if (auth.signature.byteLength !== 64 || !verify(raw, loginInput(expected.nodeId, expected.nonce, auth.time), auth.signature)) {
    // a replayed proof (another connection's nonce), one made for another node, or one signed by another key
    throw new AuthFailedError('the proof does not verify for this node and this connection')
  }
  return userIdOf(raw)
}
