import { nodePeerId } from './peer-ids.js'
import { ErrorCode, MeshchatError } from '../../../client/src/protocol/errors.js'
import { MAX_ROOM_MEMBERS } from '../config.js'
import { multiaddr } from '@multiformats/multiaddr'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { nodeEd25519Verifier } from '../../../client/src/protocol/ed25519-node.js'
import { validateUserId, withDomain } from '../../../client/src/protocol/signing.js'
import { validateDisplayName, validateRoom } from '../../../client/src/protocol/validate.js'
import { PresenceMessage, PresenceStatus as WireStatus, SignedPresence } from '../../../client/src/protocol/pb/mesh.js'
import type { NodeMetaMsg, PresenceEntryMsg, PresenceFullMsg } from '../../../client/src/protocol/pb/mesh.js'
import type { RoomDeltaMsg, RoomDeviceMsg, RoomHeadMsg, RoomStateMsg } from '../../../client/src/protocol/pb/room-presence.js'
import type { HostOp, NodeMeta, PresenceDelta, PresenceEntry, PresenceFullState, PresenceHeartbeat, PresenceOp, PresenceStatus } from '../state/presence.js'
import { hostsDevice } from '../state/room-presence.js'
import type { RoomBeat, RoomDelta, RoomDevice, RoomOp, RoomStreamState } from '../state/room-presence.js'
import type { PrivateKey, PeerId } from '@libp2p/interface'
import type { Message } from '@libp2p/gossipsub'

/** Signatures cover this prefix too, so a presence signature can never pass for any other signature of the node's key. */
const DOMAIN = new TextEncoder().encode('meshchat/presence/1\n')

/** Bounds on what one node may say about itself; the .proto limits repeated fields, these the rest. */
export const PRESENCE_LIMITS = {
  /** device ids are this node's session ids (`<incarnation>-<counter>`, base 36) */
  maxDeviceIdLength: 64,
  /** rooms one device may be in (the .proto limit) */
  maxRoomsPerDevice: 256,
  /** a multiaddr or URL in a heartbeat */
  maxAddrLength: 512,
  /** heartbeat address lists (the .proto limit) */
  maxAddrs: 16,
  /** devices in one room stream message (the .proto limit) */
  maxRoomDevices: MAX_ROOM_MEMBERS
} as const

const DEVICE_ID_RE = /^[0-9a-z][0-9a-z._-]*$/

/**
 * A presence message that failed validation: the gossip is rejected and the sender's score drops. On
 * a request stream it is the sender's bad frame (BAD_FRAME), never this node's failure.
 */
export class InvalidPresenceError extends MeshchatError {
  static override name = 'InvalidPresenceError'
  constructor (message: string) {
    super(ErrorCode.BAD_FRAME, message)
    this.name = 'InvalidPresenceError'
  }
}

export type OpenedPresence =
  | { kind: 'delta', delta: PresenceDelta }
  | { kind: 'heartbeat', heartbeat: PresenceHeartbeat }
  | { kind: 'goodbye', node: string, incarnation: number }

function fail (message: string): never {
  throw new InvalidPresenceError(message)
}

function safeNumber (v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} is out of range`)
  return Number(v)
}

function checkNode (node: string): PeerId {
  let id: PeerId
  try {
    id = nodePeerId(node)
  } catch {
    fail('node is not a peer id')
  }
  if (id.type !== 'Ed25519' || id.publicKey == null) fail('node id does not carry an Ed25519 key')
  return id
}

function statusFromWire (s: WireStatus): PresenceStatus {
  if (s === WireStatus.ONLINE) return 'online'
  if (s === WireStatus.AWAY) return 'away'
  fail(`unknown status ${String(s).slice(0, 16)}`)
}

function statusToWire (s: PresenceStatus): WireStatus {
  return s === 'away' ? WireStatus.AWAY : WireStatus.ONLINE
}

/** Check every field of one entry the way the gateway checks what a client says; throws InvalidPresenceError. */
export function entryFromWire (m: PresenceEntryMsg): PresenceEntry {
  try {
    validateUserId(m.userId)
    validateDisplayName(m.name)
    for (const r of m.rooms) validateRoom(r)
  } catch (err) {
    fail(`entry: ${(err as Error).message}`)
  }
  checkDeviceId(m.deviceId)
  if (m.rooms.length > PRESENCE_LIMITS.maxRoomsPerDevice) fail('entry is in too many rooms')
  return { userId: m.userId, deviceId: m.deviceId, name: m.name, status: statusFromWire(m.status), rooms: m.rooms, since: safeNumber(m.since, 'since') }
}

function checkDeviceId (id: string): void {
  if (id.length === 0 || id.length > PRESENCE_LIMITS.maxDeviceIdLength || !DEVICE_ID_RE.test(id)) fail('malformed device id')
}

export function entryToWire (e: PresenceEntry): PresenceEntryMsg {
  return { userId: e.userId, deviceId: e.deviceId, name: e.name, status: statusToWire(e.status), rooms: e.rooms, since: BigInt(e.since) }
}

export function fullToWire (s: PresenceFullState): PresenceFullMsg {
  const m = s.meta
  return {
    node: s.node,
    incarnation: BigInt(s.incarnation),
    seq: BigInt(s.seq),
    entries: s.entries.map(entryToWire),
    hosted: { rooms: s.hosted ?? [] },
    ...(m == null ? {} : { meta: { load: m.load, gatewayAddrs: m.gatewayAddrs, meshAddrs: m.meshAddrs, httpUrl: m.httpUrl ?? '', version: m.version ?? 0 } })
  }
}

/** a node's load and addresses from a heartbeat or a full state, every field checked */
function metaFromWire (node: string, m: Omit<NodeMetaMsg, 'load'> & { load?: NodeMetaMsg['load'] }): NodeMeta {
  return {
    load: m.load ?? { clients: 0, rooms: 0, maxClients: 0 },
    gatewayAddrs: checkAddrs(m.gatewayAddrs, 'gateway address', gatewayAddrParser),
    meshAddrs: checkAddrs(m.meshAddrs, 'mesh address', meshAddrParser(node)),
    httpUrl: httpUrl(m.httpUrl),
    ...(m.version === 0 ? {} : { version: m.version })
  }
}

function checkRoom (room: string): string {
  try {
    return validateRoom(room)
  } catch (err) {
    fail(`room: ${(err as Error).message}`)
  }
}

/** A full state pulled from `expected` over sync, checked field by field; throws InvalidPresenceError. */
export function fullFromWire (m: PresenceFullMsg, expected: string): PresenceFullState {
  if (m.node !== expected) fail(`${expected} answered with the state of another node`)
  checkNode(m.node)
  return {
    node: m.node,
    incarnation: safeNumber(m.incarnation, 'incarnation'),
    seq: safeNumber(m.seq, 'seq'),
    entries: m.entries.map(entryFromWire),
    hosted: (m.hosted?.rooms ?? []).map(checkRoom),
    ...(m.meta == null ? {} : { meta: metaFromWire(m.node, m.meta) })
  }
}

function checkAddrs (addrs: string[], what: string, parse: (a: string) => void): string[] {
  if (addrs.length > PRESENCE_LIMITS.maxAddrs) fail(`too many ${what}`)
  for (const a of addrs) {
    if (a.length === 0 || a.length > PRESENCE_LIMITS.maxAddrLength) fail(`malformed ${what}`)
    try {
      parse(a)
    } catch {
      fail(`malformed ${what}: ${a.slice(0, 64)}`)
    }
  }
  return addrs
}

/** a mesh address may name a peer, and then only the node itself */
function meshAddrParser (node: string): (a: string) => void {
  return a => {
    const p2p = multiaddr(a).getComponents().filter(c => c.name === 'p2p').map(c => c.value)
    if (p2p.some(v => v !== node)) throw new Error('names another peer')
  }
}

/** gateway addresses are multiaddrs or ws(s):// URLs */
function gatewayAddrParser (a: string): void {
  if (a.startsWith('/')) {
    multiaddr(a)
    return
  }
  const u = new URL(a)
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error('not a ws URL')
}

function httpUrl (s: string): string | undefined {
  if (s === '') return undefined
  if (s.length > PRESENCE_LIMITS.maxAddrLength) fail('http URL too long')
  let u: URL
  try {
    u = new URL(s)
  } catch {
    fail('malformed http URL')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') fail('http URL is not http(s)')
  return s
}

/** Verifiers per node key: parsing a key costs as much as a verification. */
const verifiers = new Map<string, (data: Uint8Array, sig: Uint8Array) => boolean>()
const MAX_VERIFIERS = 4096

function verifierFor (node: string, id: PeerId): (data: Uint8Array, sig: Uint8Array) => boolean {
  let v = verifiers.get(node)
  if (v == null) {
    const raw = id.publicKey?.raw
    if (raw == null) fail('node id does not carry a key')
    v = nodeEd25519Verifier(raw)
    if (verifiers.size >= MAX_VERIFIERS) {
      const oldest = verifiers.keys().next().value
      if (oldest !== undefined) verifiers.delete(oldest)
    }
    verifiers.set(node, v)
  }
  return v
}

function signedInput (body: Uint8Array): Uint8Array {
  return withDomain(DOMAIN, body)
}

/** Something that signs for a node: its libp2p key, or (faster, in Node) a signer kept for it. */
export type PresenceSigner = Pick<PrivateKey, 'sign'> | ((data: Uint8Array) => Uint8Array)

/** Sign a presence message with this node's key: the bytes to publish on the presence topic. */
export async function signPresence (key: PresenceSigner, msg: Partial<PresenceMessage>): Promise<Uint8Array> {
  const body = PresenceMessage.encode(msg)
  const signature = typeof key === 'function' ? key(signedInput(body)) : await key.sign(signedInput(body))
  return SignedPresence.encode({ body, signature: signature as Uint8Array<ArrayBuffer> })
}

/**
 * Decode presence gossip, check every field, and verify that the node named
 * inside signed it: a node can only speak for itself. Throws InvalidPresenceError.
 *
 * `from` is the peer the bytes came from, over its own connection (authenticated by the handshake):
 * a message that names that peer is its own word already, and its signature is not checked again.
 */
export function openPresence (data: Uint8Array, from?: string): OpenedPresence {
  let signed: SignedPresence
  let m: PresenceMessage
  try {
    signed = SignedPresence.decode(data)
    m = PresenceMessage.decode(signed.body)
  } catch (err) {
    fail(`does not decode: ${(err as Error).message}`)
  }
  const node = m.delta?.node ?? m.heartbeat?.node ?? m.goodbye?.node
  if (node == null) fail('empty presence message')
  const id = checkNode(node)
  if (signed.signature.byteLength !== 64 || (node !== from && !verifierFor(node, id)(signedInput(signed.body), signed.signature))) {
    fail('not signed by the node it names')
  }
  if (m.delta != null) {
    const d = m.delta
    const ops: PresenceOp[] = []
    const hosts: HostOp[] = []
    for (const o of d.ops) {
      if (o.put != null) {
        ops.push({ op: 'put', entry: entryFromWire(o.put) })
      } else if (o.host != null) {
        hosts.push({ room: checkRoom(o.host.room), on: o.host.on })
      } else {
        checkDeviceId(o.del)
        ops.push({ op: 'del', deviceId: o.del })
      }
    }
    return {
      kind: 'delta',
      delta: {
        node,
        incarnation: safeNumber(d.incarnation, 'incarnation'),
        seq: safeNumber(d.seq, 'seq'),
        ops,
        ...(hosts.length === 0 ? {} : { hosts })
      }
    }
  }
  if (m.heartbeat != null) {
    const h = m.heartbeat
    if (h.addrsOmitted && (h.gatewayAddrs.length > 0 || h.meshAddrs.length > 0 || h.httpUrl !== '')) fail('a heartbeat that omits its addresses carries some')
    const meta = metaFromWire(node, { load: h.load, gatewayAddrs: h.gatewayAddrs, meshAddrs: h.meshAddrs, httpUrl: h.httpUrl, version: h.metaVersion })
    return {
      kind: 'heartbeat',
      heartbeat: {
        node,
        incarnation: safeNumber(h.incarnation, 'incarnation'),
        seq: safeNumber(h.seq, 'seq'),
        beat: safeNumber(h.beat, 'beat'),
        meta,
        ...(h.addrsOmitted ? { addrsOmitted: true } : {})
      }
    }
  }
  const g = m.goodbye
  if (g == null) fail('empty presence message')
  return { kind: 'goodbye', node, incarnation: safeNumber(g.incarnation, 'incarnation') }
}

/** the node a presence message speaks for */
export function presenceNode (m: OpenedPresence): string {
  return m.kind === 'delta' ? m.delta.node : m.kind === 'heartbeat' ? m.heartbeat.node : m.node
}

/**
 * The presence topic's gossipsub validator: what does not open is rejected
 * (the sender's score drops); the opened message is handed to `onValid` so
 * nothing is verified twice.
 *
 * With `onDirect`, a message that comes straight from the node it names (the
 * usual case: each node publishes to every node it is connected to) is opened
 * without checking its signature, handed to `onDirect` and answered Ignore:
 * used here, and neither kept for gossip nor passed on. Passing it on would
 * hand other nodes a signature this node never checked, and a bad one would
 * cost this node its score with them. A copy relayed by anyone else (a
 * bootstrap daemon between nodes not yet connected) is verified and accepted
 * as before, so it can travel further.
 */
export function presenceValidator (opts: {
  onValid?: (msg: Message, opened: OpenedPresence) => void
  onDirect?: (msg: Message, opened: OpenedPresence) => void
  onInvalid?: (err: Error) => void
} = {}): (peer: PeerId, msg: Message) => TopicValidatorResult {
  return (peer, msg) => {
    const from = opts.onDirect == null ? undefined : peer.toString()
    let opened: OpenedPresence
    try {
      opened = openPresence(msg.data, from)
    } catch (err) {
      opts.onInvalid?.(err as Error)
      return TopicValidatorResult.Reject
    }
    if (from !== undefined && presenceNode(opened) === from) {
      opts.onDirect?.(msg, opened)
      return TopicValidatorResult.Ignore
    }
    opts.onValid?.(msg, opened)
    return TopicValidatorResult.Accept
  }
}

/*
 * Room presence (/meshchat/room-presence/1.0.0). The connection authenticates the sender, so these
 * carry no signature of their own; the rule is the same as on the presence topic: a node speaks only
 * for itself, and only for devices of its own incarnation.
 */

function roomDeviceFromWire (m: RoomDeviceMsg, incarnation: number, node: string): RoomDevice {
  try {
    validateUserId(m.userId)
    validateDisplayName(m.name)
  } catch (err) {
    fail(`device: ${(err as Error).message}`)
  }
  checkDeviceId(m.deviceId)
  if (!hostsDevice(incarnation, m.deviceId)) fail(`${node} does not host device ${m.deviceId}`)
  return { userId: m.userId, deviceId: m.deviceId, name: m.name, status: m.away ? 'away' : 'online', since: safeNumber(m.since, 'since') }
}

export function roomDeviceToWire (d: RoomDevice): RoomDeviceMsg {
  return { userId: d.userId, deviceId: d.deviceId, name: d.name, away: d.status === 'away', since: BigInt(d.since) }
}

/** A room delta pushed by `node`, checked field by field; throws InvalidPresenceError. */
export function roomDeltaFromWire (m: RoomDeltaMsg, node: string, incarnation: number): RoomDelta {
  const ops: RoomOp[] = m.ops.map(o => {
    if (o.put != null) return { op: 'put', device: roomDeviceFromWire(o.put, incarnation, node) }
    checkDeviceId(o.del)
    if (!hostsDevice(incarnation, o.del)) fail(`${node} does not host device ${o.del}`)
    return { op: 'del', deviceId: o.del }
  })
  return { room: checkRoom(m.room), node, incarnation, epoch: safeNumber(m.epoch, 'epoch'), seq: safeNumber(m.seq, 'seq'), ops }
}

export function roomDeltaToWire (d: RoomDelta): RoomDeltaMsg {
  return {
    room: d.room,
    epoch: BigInt(d.epoch),
    seq: BigInt(d.seq),
    ops: d.ops.map(o => o.op === 'put' ? { put: roomDeviceToWire(o.device), del: '' } : { del: o.deviceId })
  }
}

export function roomHeadFromWire (m: RoomHeadMsg, node: string, incarnation: number): RoomBeat {
  return { room: checkRoom(m.room), node, incarnation, epoch: safeNumber(m.epoch, 'epoch'), seq: safeNumber(m.seq, 'seq') }
}

export function roomHeadToWire (b: RoomBeat): RoomHeadMsg {
  return { room: b.room, epoch: BigInt(b.epoch), seq: BigInt(b.seq) }
}

/** A room stream pulled from `node`, checked field by field; throws InvalidPresenceError. */
export function roomStateFromWire (m: RoomStateMsg, node: string, incarnation: number): RoomStreamState {
  if (m.devices.length > PRESENCE_LIMITS.maxRoomDevices) fail('too many devices in one room stream')
  return {
    room: checkRoom(m.room),
    node,
    incarnation,
    epoch: safeNumber(m.epoch, 'epoch'),
    seq: safeNumber(m.seq, 'seq'),
    devices: m.devices.map(d => roomDeviceFromWire(d, incarnation, node))
  }
}

export function roomStateToWire (s: RoomStreamState): RoomStateMsg {
  return { room: s.room, epoch: BigInt(s.epoch), seq: BigInt(s.seq), devices: s.devices.map(roomDeviceToWire) }
}

/** An incarnation on the wire, as a safe number; throws InvalidPresenceError. */
export function incarnationFromWire (v: bigint): number {
  return safeNumber(v, 'incarnation')
}
