/**
 * Property-based fuzz targets: every decoder and handler that takes input from a client or a peer.
 *
 * Each target is a named function `(ctx, { numRuns, seed })` that runs one fast-check property
 * `numRuns` times and returns what happened (it never throws for a failing property: the failure,
 * with its shrunk counterexample, is in the outcome). `test/unit/fuzz.test.ts` runs them at CI size,
 * `test/fuzz/run.ts` (`npm run fuzz`) at 10^6 inputs each.
 *
 * Node-backed targets share one in-process MeshchatNode (`createFuzzContext`): no bootstrap, no
 * peers, fast heartbeats (so a mailbox request from a node that is not entitled waits 40 ms, not
 * 2 s) and request budgets high enough that inputs reach the code behind the rate limiters.
 */
import fc from 'fast-check'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { prefixLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { Uint8ArrayList } from 'uint8arraylist'
import { ErrorCode, MeshchatError } from '../../client/src/protocol/errors.js'
import { ClientFrame } from '../../client/src/protocol/pb/client.js'
import { decodeClientFrame, decodeServerFrame, readFrames } from '../../client/src/protocol/codec.js'
import { openEvent, peekEventKind, signEvent, validateUserId } from '../../client/src/protocol/signing.js'
import { validateDisplayName, validateRoom } from '../../client/src/protocol/validate.js'
import { roomTopic } from '../../client/src/protocol/ids.js'
import { MeshchatNode } from '../../node/src/daemon.js'
import { TEST_TIMINGS } from '../../node/src/config.js'
import { REQUEST_KINDS } from '../../node/src/state/budgets.js'
import { ClientSession } from '../../node/src/gateway/session.js'
import { DmDeliver, DmResult, HeartbeatMsg, PresenceFullMsg, PresenceMessage, PresenceStatus as WireStatus, StampedEvent, SignedPresence, SyncRequest, SyncResponse } from '../../client/src/protocol/pb/mesh.js'
import { InvalidPresenceError, PRESENCE_LIMITS, fullFromWire, openPresence, signPresence } from '../../node/src/mesh/presence-wire.js'
import { PresenceReplica } from '../../node/src/state/presence.js'
import type { PresenceChange } from '../../node/src/state/presence.js'
import { beatFromWire } from '../../node/src/mesh/beats.js'
import { DirRequest, DirResponse } from '../../client/src/protocol/pb/directory.js'
import { RoomPresenceRequest, RoomPresenceResponse } from '../../client/src/protocol/pb/room-presence.js'
import {
  PRESENCE_DOMAIN, ab, buildEvent, bytesArb, counterArb, enc, eventSpecArb, hlcArb, hlcOf, idArb, makeSigner, mutate,
  mostly, mutationsArb, nameBytesArb, roomArb, sometimes, strArb, tokenArb, u32Arb, u64Arb, userIdArb, withDomain
} from './arbitraries.js'
import type { EventKindWeights, EventSpec, Mutation, Signer, TimeSpec } from './arbitraries.js'
import type { NodeOptions } from '../../node/src/daemon.js'
import type { Budgets } from '../../node/src/state/budgets.js'
import type { Hello, ServerFrame } from '../../client/src/protocol/pb/client.js'
import type { OpenedEvent } from '../../client/src/protocol/signing.js'
import type { OpenedPresence } from '../../node/src/mesh/presence-wire.js'
import type { PresenceOpMsg, StampedEvent as WireStoredEvent } from '../../client/src/protocol/pb/mesh.js'
import type { PeerId } from '@libp2p/interface'
import type { Message } from '@libp2p/gossipsub'
import type { DirDevice } from '../../client/src/protocol/pb/directory.js'
import type { RoomDeltaMsg, RoomDeviceMsg, RoomHeadMsg, RoomOpMsg } from '../../client/src/protocol/pb/room-presence.js'

// ---------------------------------------------------------------------------------------------
// context

/** Rooms the fuzz node carries for its whole life (an anchor session sits in all of them). */
export const POOL_ROOMS = ['fuzz', 'lobby', 'r1', 'Ωmega', '٣٤', 'a.b-c_d'] as const

/** A session a target drives, with the user it is attached as. */
interface Slot {
  session: ClientSession
  user: Signer
}

export interface FuzzContext {
  node: MeshchatNode
  /** the node's own PeerId (entitled to every mailbox it owns) */
  self: PeerId
  /** a mesh peer that owns nothing and hosts nobody */
  foreign: PeerId
  /** users that attach sessions */
  users: Signer[]
  /** every user key (attached users first, then users that never attach) */
  keys: Signer[]
  /** PeerId strings of `keys` */
  userIds: string[]
  /** other spellings and kinds of peer ids: CIDs of pool users, secp256k1, an RSA-style id */
  userVariants: string[]
  /** keys of pretend nodes (presence signers) */
  nodeKeys: Signer[]
  /** a key no presence message ever names: what it signs must never open */
  stranger: Signer
  rooms: string[]
  /** the topic validator of room `fuzz` */
  roomValidator: (peer: PeerId, msg: Message) => TopicValidatorResult | Promise<TopicValidatorResult>
  slots: Array<Slot | undefined>
  anchor: ClientSession
  /** what went wrong outside a property's own assertions (bad server frames, supervisor reports) */
  problems: string[]
  /** internal-error count already reported */
  internalSeen: number
  stats: { serverFrames: number, sessions: number, inputs: number }
  /** how often each outcome was seen (reply kinds, error codes, validator results, ...): shows how deep inputs got */
  outcomes: Map<string, number>
}

/** count one outcome */
export function seen (ctx: Pick<FuzzContext, 'outcomes'>, label: string): void {
  ctx.outcomes.set(label, (ctx.outcomes.get(label) ?? 0) + 1)
}

const SLOTS = 4
const NO_HELLO_SLOT = 0
let deviceCounter = 0

/** The fuzz node's settings: see the header. */
export function fuzzNodeOptions (): NodeOptions {
  const big = { ratePerSec: 1e9, burst: 1e9 }
  const budgets = Object.fromEntries(REQUEST_KINDS.map(k => [k, { session: big, user: big }])) as Budgets
  return {
    // short waits: a mailbox read from a node that is not entitled waits entitlementWaitMs, a join of a room the node
    // does not carry yet waits subscribeSettleMs for the first backfill
    timings: {
      ...TEST_TIMINGS,
      heartbeatMs: 20,
      downAfterMs: 60,
      suspectGraceMs: 30,
      rebalanceDelayMs: 10,
      subscribeSettleMs: 5,
      catchUpDelayMs: 40,
      entitlementWaitMs: 40,
      pruneIntervalMs: 1000
    },
    gateway: ['/ip4/127.0.0.1/tcp/0'],
    budgets,
    ratePerSec: 1e9,
    burst: 1e9,
    typingPerSec: 1e9,
    // small mailboxes and replays keep every hello and join cheap and the in-memory store small
    mailboxMaxPerUser: 40,
    mailboxMaxPerSender: 8,
    maxReplay: 100,
    // low, so TooManyRooms is reached often (the pool has 6 rooms)
    maxRoomsPerUser: 8,
    retention: { maxAgeMs: 0, maxPerRoom: 100 }
  }
}

const quietLog = prefixLogger('fuzz').forComponent('meshchat:fuzz-session')

async function newSigner (): Promise<Signer> {
  const key = await generateKeyPair('Ed25519')
  return makeSigner(key, peerIdFromPrivateKey(key).toString())
}

/** Start the fuzz node, make the key pools and the anchor session. */
export async function createFuzzContext (): Promise<FuzzContext> {
  const node = await MeshchatNode.create(fuzzNodeOptions())
  await node.start()
  const keys = await Promise.all(Array.from({ length: 7 }, newSigner))
  const users = keys.slice(0, 4)
  const nodeKeys = await Promise.all(Array.from({ length: 3 }, newSigner))
  const stranger = await newSigner()
  const anchorUser = await newSigner()
  const foreign = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1')).toString()
  // our fast signer must produce exactly what key.sign does
  const probe = enc('probe')
  const [a, b] = [users[0]!.sign(probe), await users[0]!.key.sign(probe)]
  if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) throw new Error('fast signer disagrees with key.sign')
  const userIds = keys.map(k => k.id)
  const userVariants = [
    ...keys.slice(0, 3).map(k => peerIdFromString(k.id).toCID().toString()),
    secp,
    'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N',
    nodeKeys[0]!.id,
    node.nodeId,
    anchorUser.id
  ]
  const rooms = [...POOL_ROOMS]
  node.rooms.want('fuzz', 'local', true)
  const validator = node.mesh.services.pubsub.topicValidators.get(roomTopic('fuzz'))
  if (validator == null) throw new Error('no validator for room fuzz')
  const ctx: FuzzContext = {
    node,
    self: node.mesh.peerId,
    foreign,
    users,
    keys,
    userIds,
    userVariants,
    nodeKeys,
    stranger,
    rooms,
    roomValidator: validator,
    slots: Array.from({ length: SLOTS }, () => undefined),
    anchor: undefined as unknown as ClientSession,
    problems: [],
    internalSeen: 0,
    stats: { serverFrames: 0, sessions: 0, inputs: 0 },
    outcomes: new Map()
  }
  // every supervisor report is a finding: keep its stack
  const sup = node.supervisor
  const report = sup.report.bind(sup)
  sup.report = (where: string, err: unknown) => {
    ctx.problems.push(`supervisor reported an internal error in ${where}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    report(where, err)
  }
  // the anchor keeps the pool rooms subscribed, so fuzzed joins of them never wait for a first backfill
  ctx.anchor = openSession(ctx, anchorUser).session
  await ctx.anchor.handle(helloBytes('anchor'))
  for (const room of rooms) await ctx.anchor.handle(ClientFrame.encode({ req: 2, join: { room, backlog: 0 } }))
  if (!ctx.anchor.ready || ctx.anchor.rooms.size !== rooms.length) throw new Error('anchor session did not attach')
  await new Promise(resolve => setTimeout(resolve, 200))
  await checkClean(ctx)
  return ctx
}

export async function closeFuzzContext (ctx: FuzzContext): Promise<void> {
  for (const s of [...ctx.slots, { session: ctx.anchor }]) {
    if (s == null) continue
    s.session.close()
    ctx.node.hub.detach(s.session)
  }
  await ctx.node.stop()
}

function helloBytes (name: string): Uint8Array {
  return ClientFrame.encode({ req: 1, hello: { version: 1, name: enc(name), status: '', rooms: [], noRedirect: true, affinity: false } })
}

/**
 * Check one frame a session sent: it decodes as a ServerFrame and is never an INTERNAL error. The
 * session hands its transport one encoded ServerFrame per send; framing (a length prefix, a
 * WebSocket message) is the transport's.
 */
function checkServerFrame (ctx: FuzzContext, frame: Uint8Array | Uint8ArrayList): void {
  ctx.stats.serverFrames++
  const buf = frame instanceof Uint8Array ? frame : frame.subarray()
  let f: ServerFrame
  try {
    f = decodeServerFrame(buf)
  } catch (err) {
    const hex = Buffer.from(buf.subarray(0, 160)).toString('hex')
    ctx.problems.push(`server frame does not decode: ${(err as Error).message}; ${buf.byteLength} bytes: ${hex}${buf.byteLength > 160 ? '…' : ''}\nsent from: ${new Error('send').stack ?? ''}`)
    return
  }
  const kind = Object.keys(f).find(k => k !== 'req' && (f as unknown as Record<string, unknown>)[k] != null) ?? 'empty'
  seen(ctx, kind === 'error' ? `error ${errorName(f.error?.code)}${f.error?.fatal === true ? ' (fatal)' : ''}` : kind)
  if (f.error?.code === ErrorCode.INTERNAL) {
    ctx.problems.push(`InternalError reply (code 16) for client input: ${f.error.message}`)
  }
}

const CODE_NAMES = new Map(Object.entries(ErrorCode).map(([k, v]) => [v as number, k]))
function errorName (code: number | undefined): string {
  return CODE_NAMES.get(code ?? -1) ?? String(code)
}

function openSession (ctx: FuzzContext, user: Signer): Slot {
  ctx.stats.sessions++
  const session = new ClientSession({
    id: `fz-${(++deviceCounter).toString(36)}`,
    userId: user.id,
    host: ctx.node.hub,
    log: quietLog,
    budgets: ctx.node.config.budgets,
    helloTimeoutMs: 60_000,
    clock: ctx.node.clock,
    transport: {
      send: frame => { checkServerFrame(ctx, frame) },
      close: () => {}
    }
  })
  return { session, user }
}

/** the session of a slot; a closed one is detached (as the gateway does) and replaced, and says hello unless it is the no-hello slot */
async function slotSession (ctx: FuzzContext, i: number): Promise<Slot> {
  const cur = ctx.slots[i]
  if (cur != null && !cur.session.closed) return cur
  if (cur != null) ctx.node.hub.detach(cur.session)
  const slot = openSession(ctx, ctx.users[i % ctx.users.length]!)
  ctx.slots[i] = slot
  if (i !== NO_HELLO_SLOT) await slot.session.handle(helloBytes(`fuzzer ${i}`))
  return slot
}

async function internalCount (node: MeshchatNode): Promise<number> {
  const m = await node.metrics.internalErrors.get()
  return m.values.reduce((a, v) => a + v.value, 0)
}

/** throw (failing the property) if anything went wrong outside the property's own checks since the last call */
async function checkClean (ctx: FuzzContext): Promise<void> {
  const n = await internalCount(ctx.node)
  const problems = ctx.problems.splice(0)
  if (n > ctx.internalSeen) {
    problems.push(`meshchat_internal_errors_total went from ${ctx.internalSeen} to ${n}`)
    ctx.internalSeen = n
  }
  if (problems.length > 0) throw new Error(problems.join('\n'))
}

/** periodic housekeeping the node's own minute timers would do: keep the in-memory store small */
function maintain (ctx: FuzzContext): void {
  if (++ctx.stats.inputs % 2000 === 0) ctx.node.store.prune(ctx.node.config.retention, Date.now())
}

async function withDeadline<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what} did not settle within ${ms} ms`)) }, ms) })])
  } finally {
    clearTimeout(timer)
  }
}

function fail (message: string): never {
  throw new Error(message)
}

function describeError (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err)
}

// ---------------------------------------------------------------------------------------------
// running a property

export interface FuzzOptions {
  numRuns: number
  seed: number
}

export interface TargetOutcome {
  target: string
  seed: number
  /** inputs run (up to and including the first failure) */
  runs: number
  failed: boolean
  /** fast-check's report: the seed, the path and the shrunk counterexample */
  report?: string
}

async function run<T> (target: string, arb: fc.Arbitrary<T>, predicate: (v: T) => void | Promise<void>, o: FuzzOptions): Promise<TargetOutcome> {
  const property = fc.asyncProperty(arb, async v => {
    // fast-check would otherwise chain every input on the microtask queue and the node's timers would never
    // run; yielding once per input also makes the runner's event-loop stall figure the cost of one input
    await new Promise(resolve => setImmediate(resolve))
    await predicate(v)
  })
  return outcome(target, o, await fc.check(property, { numRuns: o.numRuns, seed: o.seed }))
}

/** fast-check prints the whole counterexample; a 1,000-element list is not worth 60 KB of log */
function clip (s: string, max = 3000): string {
  return s.length <= max ? s : `${s.slice(0, max / 2)} … ${s.length - max} characters left out … ${s.slice(-max / 2)}`
}

function outcome<T> (target: string, o: FuzzOptions, d: fc.RunDetails<T>): TargetOutcome {
  if (!d.failed) return { target, seed: o.seed, runs: d.numRuns, failed: false }
  const err = d.errorInstance
  const report = [
    `${target}: property failed after ${d.numRuns} inputs (seed ${d.seed}, path "${d.counterexamplePath ?? ''}", shrunk ${d.numShrinks} times)`,
    `counterexample: ${clip(fc.stringify(d.counterexample))}`,
    `error: ${clip(err instanceof Error ? (err.stack ?? err.message) : String(err), 6000)}`
  ].join('\n')
  return { target, seed: o.seed, runs: d.numRuns, failed: true, report }
}

// ---------------------------------------------------------------------------------------------
// client frames: specs

interface CursorSpec { hlc: TimeSpec, id: Uint8Array<ArrayBuffer> }

type BodySpec =
  | { hello: Hello }
  | { join: { room: string, after?: CursorSpec, backlog: number } }
  | { leave: { room: string } }
  | { history: { room: string, before?: CursorSpec, after?: CursorSpec, limit: number } }
  | { dmHistory: { conversation: string, before?: CursorSpec, after?: CursorSpec, limit: number } }
  | { dmAck: { ids: Array<Uint8Array<ArrayBuffer>> } }
  | { watch: { users: string[] } }
  | { status: { status: string } }
  | { ping: { time: bigint } }
  | { publish: { event: EventSpec } }
  | { publishRaw: { event: Uint8Array<ArrayBuffer> } }
  | { publishSigned: SignEventSpec }
  | { empty: true }

/** an event made by the client library's own signEvent, then (maybe) bit-flipped */
interface SignEventSpec {
  content: { kind: 'room', room: string, text: string } | { kind: 'dm', to: string, text: string } | { kind: 'typing', room: string, active: boolean }
  name: string
  nonce: Uint8Array<ArrayBuffer>
  flips: Array<{ at: number, bit: number }>
}

function signEventSpecArb (ctx: Pick<FuzzContext, 'rooms' | 'userIds' | 'userVariants'>): fc.Arbitrary<SignEventSpec> {
  const text = fc.oneof({ weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }) }, { weight: 1, arbitrary: strArb })
  return fc.record({
    content: fc.oneof(
      fc.record({ kind: fc.constant('room' as const), room: roomArb(ctx.rooms, 0), text }),
      fc.record({ kind: fc.constant('dm' as const), to: userIdArb(ctx.userIds, ctx.userVariants), text }),
      fc.record({ kind: fc.constant('typing' as const), room: roomArb(ctx.rooms, 0), active: fc.boolean() })
    ),
    name: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('alice', 'Zoë') }, { weight: 1, arbitrary: strArb }),
    nonce: fc.uint8Array({ minLength: 12, maxLength: 12 }),
    flips: fc.array(fc.record({ at: fc.nat(), bit: fc.nat(7) }), { maxLength: 3 })
  })
}

/** signEvent's bytes for a spec, with its bit flips; undefined when signEvent refuses the content */
async function signedBytes (spec: SignEventSpec, user: Signer): Promise<Uint8Array<ArrayBuffer> | undefined> {
  let bytes: Uint8Array
  try {
    bytes = (await signEvent(user.key, spec.name, spec.content, { now: Date.now(), nonce: spec.nonce })).bytes
  } catch (err) {
    if (!(err instanceof MeshchatError)) fail(`signEvent threw ${describeError(err)}`)
    return undefined
  }
  const out = Uint8Array.from(bytes)
  for (const f of spec.flips) out[f.at % out.byteLength]! ^= 1 << f.bit
  return ab(out)
}

export interface FrameSpec {
  req: number
  body: BodySpec
}

/** an array, sometimes just past a decode limit of the .proto */
function listArb<T> (item: fc.Arbitrary<T>, limit: number, max = 6, rarity = 30): fc.Arbitrary<T[]> {
  return fc.oneof(
    { weight: rarity, arbitrary: fc.array(item, { maxLength: max }) },
    { weight: 1, arbitrary: fc.tuple(item, fc.integer({ min: limit - 2, max: limit + 2 })).map(([x, n]) => Array.from({ length: n }, () => x)) }
  )
}

function cursorArb (): fc.Arbitrary<CursorSpec> {
  return fc.record({ hlc: hlcArb, id: idArb })
}

export function frameSpecArb (ctx: Pick<FuzzContext, 'rooms' | 'userIds' | 'userVariants' | 'keys'>, opts: { signedEvents: boolean, freshRooms?: number }): fc.Arbitrary<FrameSpec> {
  const room = roomArb(ctx.rooms, 1)
  // a join of a room the node does not carry yet waits for its first backfill (subscribeSettleMs): keep those rarer
  const joinRoom = fc.oneof(
    { weight: 100, arbitrary: fc.constantFrom(...ctx.rooms) },
    { weight: 20, arbitrary: strArb.filter(r => !isRoom(r)) },
    { weight: opts.freshRooms ?? 1, arbitrary: tokenArb }
  )
  const user = userIdArb(ctx.userIds, ctx.userVariants)
  const status = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('', 'online', 'away') }, { weight: 1, arbitrary: strArb })
  const hello: fc.Arbitrary<Hello> = fc.record({
    version: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: u32Arb }),
    name: nameBytesArb,
    status,
    dmCursor: u64Arb,
    rooms: listArb(room, 256),
    noRedirect: fc.boolean(),
    affinity: fc.boolean()
  })
  const publish: fc.Arbitrary<BodySpec> = opts.signedEvents
    ? fc.oneof(
      { weight: 6, arbitrary: eventSpecArb({ rooms: ctx.rooms, users: ctx.userIds, userVariants: ctx.userVariants, keys: ctx.keys.length, mutate: 2, clean: 4 }).map(event => ({ publish: { event } })) },
      { weight: 2, arbitrary: signEventSpecArb(ctx).map(publishSigned => ({ publishSigned })) },
      { weight: 1, arbitrary: bytesArb.map(event => ({ publishRaw: { event } })) }
    )
    : bytesArb.map(event => ({ publishRaw: { event } }))
  const body: fc.Arbitrary<BodySpec> = fc.oneof(
    { weight: 2, arbitrary: hello.map(h => ({ hello: h })) },
    { weight: 4, arbitrary: fc.record({ room: joinRoom, after: sometimes(cursorArb(), 3), backlog: u32Arb }).map(join => ({ join })) },
    { weight: 2, arbitrary: joinRoom.map(r => ({ leave: { room: r } })) },
    { weight: 8, arbitrary: publish },
    { weight: 3, arbitrary: fc.record({ room, before: sometimes(cursorArb(), 3), after: sometimes(cursorArb(), 3), limit: u32Arb }).map(history => ({ history })) },
    { weight: 2, arbitrary: fc.record({ conversation: conversationArb(ctx), before: sometimes(cursorArb(), 3), after: sometimes(cursorArb(), 3), limit: u32Arb }).map(dmHistory => ({ dmHistory })) },
    { weight: 2, arbitrary: listArb(idArb, 1024).map(ids => ({ dmAck: { ids } })) },
    { weight: 2, arbitrary: listArb(user, 1024).map(users => ({ watch: { users } })) },
    { weight: 1, arbitrary: status.map(s => ({ status: { status: s } })) },
    { weight: 1, arbitrary: u64Arb.map(time => ({ ping: { time } })) },
    { weight: 1, arbitrary: fc.constant({ empty: true as const }) }
  )
  return fc.record({ req: u32Arb, body })
}

/** conversation ids: two pool users sorted and joined by ':' (the form the node takes), or not quite that */
function conversationArb (ctx: Pick<FuzzContext, 'userIds' | 'userVariants'>): fc.Arbitrary<string> {
  const user = userIdArb(ctx.userIds, ctx.userVariants)
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...ctx.userIds), fc.constantFrom(...ctx.userIds)).map(([a, b]) => [a, b].sort().join(':')) },
    { weight: 1, arbitrary: fc.tuple(user, user).map(([a, b]) => `${a}:${b}`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...ctx.userIds), fc.constantFrom(...ctx.userIds)).map(([a, b]) => `${a}:${b}:${a}`) },
    { weight: 1, arbitrary: strArb }
  )
}

function isRoom (r: string): boolean {
  try {
    validateRoom(r)
    return true
  } catch {
    return false
  }
}

function cursorOf (c: CursorSpec | undefined, now: number): { hlc: bigint, id: Uint8Array<ArrayBuffer> } | undefined {
  return c == null ? undefined : { hlc: hlcOf(c.hlc, now), id: c.id }
}

/** the ClientFrame a spec describes; publish events are signed with `self` (a `signer` index picks another pool key) */
export function frameOf (spec: FrameSpec, self: Signer, keys: readonly Signer[], now = Date.now()): Partial<ClientFrame> {
  const b = spec.body
  const req = spec.req
  if ('hello' in b) return { req, hello: b.hello }
  if ('join' in b) return { req, join: { room: b.join.room, after: cursorOf(b.join.after, now), backlog: b.join.backlog } }
  if ('leave' in b) return { req, leave: b.leave }
  if ('history' in b) return { req, history: { room: b.history.room, before: cursorOf(b.history.before, now), after: cursorOf(b.history.after, now), limit: b.history.limit } }
  if ('dmHistory' in b) return { req, dmHistory: { conversation: b.dmHistory.conversation, before: cursorOf(b.dmHistory.before, now), after: cursorOf(b.dmHistory.after, now), limit: b.dmHistory.limit } }
  if ('dmAck' in b) return { req, dmAck: b.dmAck }
  if ('watch' in b) return { req, watch: b.watch }
  if ('status' in b) return { req, status: b.status }
  if ('ping' in b) return { req, ping: b.ping }
  if ('publish' in b) return { req, publish: { event: buildEvent(b.publish.event, self, keys, now) } }
  if ('publishRaw' in b) return { req, publish: { event: b.publishRaw.event } }
  if ('publishSigned' in b) fail('publishSigned needs signEvent: build it with clientFrameOf')
  return { req }
}

/** frameOf, with signEvent for `publishSigned` */
async function clientFrameOf (spec: FrameSpec, self: Signer, keys: readonly Signer[]): Promise<Partial<ClientFrame>> {
  if ('publishSigned' in spec.body) return { req: spec.req, publish: { event: await signedBytes(spec.body.publishSigned, self) ?? ab(new Uint8Array(0)) } }
  return frameOf(spec, self, keys)
}

/** does a frame spec have a repeated field longer than the .proto lets a decoder take? */
function overLimit (spec: FrameSpec): boolean {
  const b = spec.body
  if ('hello' in b) return b.hello.rooms.length > 256
  if ('dmAck' in b) return b.dmAck.ids.length > 1024
  if ('watch' in b) return b.watch.users.length > 1024
  return false
}

/** split bytes into a Uint8ArrayList of up to `parts` pieces (decoders must not care) */
function asList (bytes: Uint8Array, cuts: readonly number[]): Uint8ArrayList {
  const points = [...new Set(cuts.map(c => bytes.byteLength === 0 ? 0 : c % bytes.byteLength))].sort((a, b) => a - b)
  const list = new Uint8ArrayList()
  let at = 0
  for (const p of points) {
    list.append(bytes.subarray(at, p))
    at = p
  }
  list.append(bytes.subarray(at))
  return list
}

// ---------------------------------------------------------------------------------------------
// 1a. decodeClientFrame

/** `decodeClientFrame` on random bytes and on (mutated) encodings of well-formed frames: a ClientFrame or BadFrameError, and canonical encodings round-trip. */
export async function fuzzClientFrameDecode (ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const arb = fc.record({
    input: fc.oneof(
      { weight: 3, arbitrary: bytesArb.map(raw => ({ raw })) },
      { weight: 6, arbitrary: fc.record({ spec: frameSpecArb(ctx, { signedEvents: false }), mutations: sometimes(mutationsArb, 2) }) }
    ),
    cuts: fc.array(fc.nat(), { maxLength: 3 })
  })
  return run('client-frame-decode', arb, ({ input, cuts }) => {
    let bytes: Uint8Array
    let canonical = false
    if ('raw' in input) {
      bytes = input.raw
    } else {
      bytes = ClientFrame.encode(frameOf(input.spec, ctx.keys[0]!, ctx.keys))
      canonical = input.mutations == null
      if (input.mutations != null) bytes = mutate(bytes, input.mutations)
    }
    const buf = cuts.length > 0 ? asList(bytes, cuts) : bytes
    let frame: ClientFrame
    try {
      frame = decodeClientFrame(buf)
    } catch (err) {
      if (!(err instanceof MeshchatError) || err.code !== ErrorCode.BAD_FRAME) fail(`decodeClientFrame threw ${describeError(err)}`)
      seen(ctx, 'BadFrameError')
      // a canonical encoding fails only by exceeding a repeated-field limit of the .proto
      if (canonical && 'spec' in input && !overLimit(input.spec)) fail(`a well-formed frame does not decode: ${err.message}`)
      return
    }
    seen(ctx, `decoded ${Object.keys(frame).find(k => k !== 'req' && (frame as unknown as Record<string, unknown>)[k] != null) ?? 'empty'}`)
    if (canonical) {
      const again = ClientFrame.encode(frame)
      if (Buffer.compare(Buffer.from(again), Buffer.from(bytes)) !== 0) fail('decode → encode does not give back the canonical bytes')
    }
  }, o)
}

// ---------------------------------------------------------------------------------------------
// 1b. readFrames

/** what readFrames must produce for a whole buffer: the frames, then the error class if any */
function referenceFrames (buf: Uint8Array, max: number): { frames: Uint8Array[], error?: string } {
  const frames: Uint8Array[] = []
  let pos = 0
  while (pos < buf.byteLength) {
    let value = 0
    let end = -1
    for (let i = 0; pos + i < buf.byteLength && i < 10; i++) {
      const b = buf[pos + i]!
      value += (b & 0x7f) * 2 ** (7 * i)
      if (b < 0x80) {
        end = i
        break
      }
    }
    if (end < 0) return { frames, error: 'BadFrameError' }
    if (value > max) return { frames, error: 'FrameTooLargeError' }
    pos += end + 1
    if (buf.byteLength - pos < value) return { frames, error: 'BadFrameError' }
    frames.push(buf.subarray(pos, pos + value))
    pos += value
  }
  return { frames }
}

function varint (n: number): number[] {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return out
}

type Segment = { frame: Uint8Array } | { raw: Uint8Array } | { prefix: readonly number[] }

/** `readFrames` over random byte streams in random chunks: same frames and error class as a reference parser of the whole buffer, no frame above the limit, only BadFrame/FrameTooLarge errors. */
export async function fuzzFrameReader (_ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const segment: fc.Arbitrary<Segment> = fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength: 80 }).map(frame => ({ frame })) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 12 }).map(raw => ({ raw })) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constant([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
        fc.constant([0x80, 0x00]),
        fc.constant([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        fc.nat().map(varint),
        fc.uint8Array({ minLength: 1, maxLength: 11 }).map(b => [...b])
      ).map(prefix => ({ prefix }))
    }
  )
  const arb = fc.record({
    segments: fc.array(segment, { maxLength: 8 }),
    max: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(0, 1, 127, 128, 16_383, 16_384)),
    cuts: fc.array(fc.nat(), { maxLength: 12 }),
    lists: fc.array(fc.boolean(), { maxLength: 12 }),
    timeout: fc.boolean()
  })
  return run('frame-reader', arb, async ({ segments, max, cuts, lists, timeout }) => {
    const parts: number[] = []
    for (const s of segments) {
      if ('frame' in s) parts.push(...varint(s.frame.byteLength), ...s.frame)
      else if ('raw' in s) parts.push(...s.raw)
      else parts.push(...s.prefix)
    }
    const stream = Uint8Array.from(parts)
    const points = [...new Set(cuts.map(c => stream.byteLength === 0 ? 0 : c % (stream.byteLength + 1)))].sort((a, b) => a - b)
    const chunks: Array<Uint8Array | Uint8ArrayList> = []
    let at = 0
    for (const [i, p] of [...points, stream.byteLength].entries()) {
      const piece = stream.subarray(at, p)
      chunks.push(lists[i] === true ? asList(piece, [piece.byteLength >> 1]) : piece)
      at = p
    }
    async function * source (): AsyncGenerator<Uint8Array | Uint8ArrayList> {
      for (const c of chunks) yield c
    }
    const got: Uint8Array[] = []
    let error: string | undefined
    let stalled = false
    try {
      for await (const f of readFrames(source(), max, timeout ? { frameTimeoutMs: 60_000, onStall: () => { stalled = true } } : {})) {
        if (f.byteLength > max) fail(`a frame of ${f.byteLength} bytes passed a limit of ${max}`)
        got.push(f.subarray())
      }
    } catch (err) {
      if (!(err instanceof MeshchatError) || (err.name !== 'BadFrameError' && err.name !== 'FrameTooLargeError')) fail(`readFrames threw ${describeError(err)}`)
      error = err.name
    }
    if (stalled) fail('onStall was called for a stream that never paused')
    seen(_ctx, `${error ?? 'clean end'}${got.length > 0 ? ', with frames' : ''}`)
    const want = referenceFrames(stream, max)
    if (want.error !== error) fail(`error ${String(error)}, the reference says ${String(want.error)}`)
    if (want.frames.length !== got.length) fail(`${got.length} frames, the reference says ${want.frames.length}`)
    for (const [i, f] of got.entries()) {
      if (Buffer.compare(Buffer.from(f), Buffer.from(want.frames[i]!)) !== 0) fail(`frame ${i} differs from the reference`)
    }
  }, o)
}

// ---------------------------------------------------------------------------------------------
// 1c. ClientSession.handle

/** The real session handler on the fuzz node, fed random bytes, mutated frames and well-formed frames (publishes signed by the session's user). */
export async function fuzzClientSession (ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const arb = fc.record({
    slot: fc.nat(SLOTS - 1),
    input: fc.oneof(
      // garbage closes the session (a new one must say hello): the decoder has its own target, so less of it here
      { weight: 1, arbitrary: bytesArb.map(raw => ({ raw })) },
      { weight: 2, arbitrary: fc.record({ spec: frameSpecArb(ctx, { signedEvents: true, freshRooms: 4 }), mutations: mutationsArb }) },
      { weight: 10, arbitrary: fc.record({ spec: frameSpecArb(ctx, { signedEvents: true, freshRooms: 4 }) }) }
    ),
    cuts: fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) })
  })
  return run('client-session', arb, async ({ slot, input, cuts }) => {
    const { session, user } = await slotSession(ctx, slot)
    let bytes: Uint8Array
    if ('raw' in input) {
      bytes = input.raw
    } else {
      bytes = ClientFrame.encode(await clientFrameOf(input.spec, user, ctx.keys))
      if ('mutations' in input) bytes = mutate(bytes, input.mutations)
    }
    try {
      await withDeadline(session.handle(cuts.length > 0 ? asList(bytes, cuts) : bytes), 15_000, 'session.handle')
    } catch (err) {
      fail(`session.handle rejected: ${describeError(err)}`)
    }
    maintain(ctx)
    await checkClean(ctx)
  }, o)
}

// ---------------------------------------------------------------------------------------------
// 2. signed events

function checkOpened (ctx: FuzzContext, opened: OpenedEvent, bytes: Uint8Array): void {
  if (validateDisplayName(opened.name) !== opened.name) fail('opened name does not validate')
  if (!ctx.userIds.includes(opened.author)) fail(`an event opened with author ${opened.author}, which is none of the signing keys`)
  if (opened.id.byteLength !== 32 || opened.idHex !== Buffer.from(opened.id).toString('hex')) fail('bad id')
  if (opened.bytes !== bytes) fail('opened.bytes is not the input')
  if (!Number.isFinite(opened.ts)) fail('ts is not a number')
  if (opened.kind === 'room' || opened.kind === 'typing' || (opened.kind === 'receipt' && opened.room != null)) {
    if (validateRoom(opened.room) !== opened.room) fail('room does not validate')
  }
  if (opened.kind === 'dm' || (opened.kind === 'receipt' && opened.room == null)) validateUserId(opened.to)
  if (opened.kind === 'receipt') {
    if ((opened.room == null) === (opened.to == null)) fail('a receipt names a room and a peer, or neither')
    if (opened.read == null || opened.read.id.byteLength !== 32 || opened.read.hlc <= 0n || opened.read.hlc >= 1n << 63n) fail('a receipt without a whole message position')
  }
  if ((opened.kind === 'room' || opened.kind === 'dm') && (typeof opened.text !== 'string' || opened.text.length === 0)) fail('text missing')
  if (opened.kind === 'typing' && typeof opened.active !== 'boolean') fail('active missing')
}

/** `openEvent` and `peekEventKind` on random bytes, mutated signed events and signed events with hostile fields (plus `signEvent` round trips). */
export async function fuzzSignedEvents (ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const content = fc.oneof(
    fc.record({ kind: fc.constant('room' as const), room: roomArb(ctx.rooms), text: fc.oneof(strArb, fc.string({ unit: 'grapheme', maxLength: 30 })) }),
    fc.record({ kind: fc.constant('dm' as const), to: userIdArb(ctx.userIds, ctx.userVariants), text: fc.oneof(strArb, fc.string({ unit: 'grapheme', maxLength: 30 })) }),
    fc.record({ kind: fc.constant('typing' as const), room: roomArb(ctx.rooms), active: fc.boolean() })
  )
  const arb = fc.record({
    key: fc.nat(ctx.keys.length - 1),
    input: fc.oneof(
      { weight: 2, arbitrary: bytesArb.map(raw => ({ raw })) },
      { weight: 8, arbitrary: eventSpecArb({ rooms: ctx.rooms, users: ctx.userIds, userVariants: ctx.userVariants, keys: ctx.keys.length, mutate: 5, clean: 3 }).map(spec => ({ spec })) },
      { weight: 1, arbitrary: fc.record({ content, name: fc.oneof(fc.constantFrom('alice', 'Zoë'), strArb), nonce: fc.uint8Array({ minLength: 8, maxLength: 32 }) }).map(signEventSpec => ({ signEventSpec })) }
    ),
    maxEventBytes: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 100, 1024, 64 * 1024) })
  })
  return run('signed-event', arb, async ({ key, input, maxEventBytes }) => {
    const signer = ctx.keys[key]!
    const opts = maxEventBytes == null ? {} : { maxEventBytes }
    let bytes: Uint8Array
    let mustOpen = false
    if ('raw' in input) {
      bytes = input.raw
    } else if ('spec' in input) {
      bytes = buildEvent(input.spec, signer, ctx.keys)
    } else {
      const s = input.signEventSpec
      try {
        bytes = (await signEvent(signer.key, s.name, s.content, { now: Date.now(), nonce: s.nonce })).bytes
      } catch (err) {
        if (!(err instanceof MeshchatError)) fail(`signEvent threw ${describeError(err)}`)
        return
      }
      mustOpen = opts.maxEventBytes == null
    }
    let opened: OpenedEvent | undefined
    try {
      opened = await openEvent(bytes, opts)
      seen(ctx, `opened ${opened.kind}`)
    } catch (err) {
      if (!(err instanceof MeshchatError)) fail(`openEvent rejected with ${describeError(err)}`)
      seen(ctx, err.name)
      if (mustOpen) fail(`an event made by signEvent does not open: ${err.message}`)
    }
    if (opened != null) checkOpened(ctx, opened, bytes)
    let kind: string | undefined
    try {
      kind = peekEventKind(bytes, opts)
    } catch (err) {
      if (!(err instanceof MeshchatError)) fail(`peekEventKind threw ${describeError(err)}`)
      if (opened != null) fail(`peekEventKind refused an event openEvent accepts: ${err.message}`)
    }
    if (opened != null && kind !== opened.kind) fail(`peekEventKind says ${String(kind)}, openEvent ${opened.kind}`)
  }, o)
}

// ---------------------------------------------------------------------------------------------
// 3. room envelopes (gossipsub validator)

function storedEventArb (ctx: FuzzContext, kinds: EventKindWeights, rooms: readonly string[] = ctx.rooms): fc.Arbitrary<StoredSpec> {
  return fc.record({
    by: fc.nat(ctx.keys.length - 1),
    event: fc.oneof(
      { weight: 9, arbitrary: eventSpecArb({ rooms, users: ctx.userIds, userVariants: ctx.userVariants, keys: ctx.keys.length, kinds, mutate: 2, clean: 5 }).map(spec => ({ spec })) },
      { weight: 1, arbitrary: bytesArb.map(raw => ({ raw })) }
    ),
    hlc: hlcArb,
    origin: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(ctx.node.nodeId, ctx.foreign.toString(), ...ctx.nodeKeys.map(k => k.id)) },
      { weight: 1, arbitrary: fc.constantFrom(...ctx.userVariants) },
      { weight: 1, arbitrary: strArb }
    )
  })
}

interface StoredSpec {
  by: number
  event: { spec: EventSpec } | { raw: Uint8Array<ArrayBuffer> }
  hlc: TimeSpec
  origin: string
}

function storedOf (ctx: FuzzContext, s: StoredSpec, now = Date.now()): WireStoredEvent {
  const event = 'raw' in s.event ? s.event.raw : buildEvent(s.event.spec, ctx.keys[s.by % ctx.keys.length]!, ctx.keys, now)
  return { event, hlc: hlcOf(s.hlc, now), origin: s.origin }
}

const VALIDATOR_RESULTS = new Set<string>(Object.values(TopicValidatorResult))

/** The topic validator of room `fuzz` on the fuzz node, on random data and on (mutated) stamped events (the room gossip envelope): always a TopicValidatorResult, and Accept only for a verified event of that room. */
export async function fuzzRoomEnvelope (ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const arb = fc.oneof(
    { weight: 2, arbitrary: bytesArb.map(raw => ({ raw })) },
    { weight: 8, arbitrary: fc.record({ env: storedEventArb(ctx, { room: 6, typing: 2, dm: 1, none: 1 }, ['fuzz', 'fuzz', 'fuzz', 'fuzz', 'lobby']), mutations: sometimes(mutationsArb, 3) }) }
  )
  const topic = roomTopic('fuzz')
  return run('room-envelope', arb, async input => {
    let data: Uint8Array
    if ('raw' in input) {
      data = input.raw
    } else {
      data = StampedEvent.encode(storedOf(ctx, input.env))
      if (input.mutations != null) data = mutate(data, input.mutations)
    }
    let result: TopicValidatorResult
    try {
      result = await withDeadline(Promise.resolve(ctx.roomValidator(ctx.foreign, { type: 'unsigned', topic, data })), 10_000, 'validator')
    } catch (err) {
      fail(`the validator threw ${describeError(err)}`)
    }
    if (!VALIDATOR_RESULTS.has(result)) fail(`the validator returned ${String(result)}`)
    seen(ctx, result)
    if (result === TopicValidatorResult.Accept) {
      const env = StampedEvent.decode(data)
      const opened = await openEvent(env.event)
      if (opened.room !== 'fuzz' || opened.kind === 'dm') fail(`accepted a ${opened.kind} event for room ${String(opened.room)}`)
      peerIdFromString(env.origin)
    }
    await checkClean(ctx)
  }, o)
}

// ---------------------------------------------------------------------------------------------
// 4. presence

interface EntrySpec {
  userId: string
  deviceId: string
  name: string
  status: WireStatus
  rooms: string[]
  since: bigint
}

/**
 * Every value of the wire enum. The generated `PresenceStatus` object also carries its `codec`
 * function (a merged namespace), which is no status: encoding it throws 'Invalid enum value'.
 */
const WIRE_STATUSES: WireStatus[] = Object.values(WireStatus).filter((v): v is WireStatus => typeof v === 'string')
/** the statuses a decoded entry may have: the wire names, lower-cased */
const STATUSES = new Set<string>(WIRE_STATUSES.map(v => v.toLowerCase()))

function entryArb (ctx: FuzzContext): fc.Arbitrary<EntrySpec> {
  return fc.record({
    userId: userIdArb(ctx.userIds, ctx.userVariants),
    deviceId: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('d1', 'd2', 'd3', 'm1-2', 'x.y_z') }, { weight: 1, arbitrary: tokenArb }, { weight: 1, arbitrary: strArb }),
    name: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('alice', 'Bob ✨', 'Zoë') }, { weight: 2, arbitrary: strArb }),
    // the wire status is an enum: other values only come from byte mutations (and fail to decode)
    status: fc.constantFrom(...WIRE_STATUSES),
    rooms: listArb(roomArb(ctx.rooms), 256, 4),
    since: fc.oneof({ weight: 3, arbitrary: fc.bigInt({ min: 0n, max: 2_000_000_000_000n }) }, { weight: 1, arbitrary: u64Arb })
  })
}

const addrArb = (node: string, other: string): fc.Arbitrary<string> => fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('/ip4/127.0.0.1/tcp/4001', `/ip4/127.0.0.1/tcp/4001/p2p/${node}`, '/ip4/10.0.0.1/tcp/4002/ws', '/dns4/example.org/tcp/443/wss', 'ws://127.0.0.1:4002', 'wss://example.org/x') },
  { weight: 1, arbitrary: fc.constantFrom(`/ip4/127.0.0.1/tcp/1/p2p/${other}`, '/ip4/999.0.0.1/tcp/1', '/tcp/1', 'http://x', '/ip6/::1/tcp/1/p2p-circuit', '/', '') },
  { weight: 1, arbitrary: strArb }
)

interface PresenceSpec {
  signer: number
  named: { signer: true } | { other: number } | { str: string }
  body:
    | { delta: { incarnation: bigint, seq: bigint, ops: Array<{ put: EntrySpec } | { del: string }> } }
    | { heartbeat: Omit<HeartbeatMsg, 'node'> }
    | { goodbye: { incarnation: bigint } }
    | { none: true }
  signature: 'good' | 'none' | 'flip' | 'short' | 'other'
  viaSignPresence: boolean
  mutations?: Mutation[]
}

function presenceSpecArb (ctx: FuzzContext): fc.Arbitrary<PresenceSpec> {
  const n = ctx.nodeKeys.length
  const nodeIdx = fc.nat(n - 1)
  const some = ctx.nodeKeys[0]!.id
  const other = ctx.nodeKeys[1]!.id
  return fc.record({
    signer: nodeIdx,
    named: fc.oneof(
      { weight: 12, arbitrary: fc.constant({ signer: true as const }) },
      { weight: 1, arbitrary: nodeIdx.map(i => ({ other: i })) },
      { weight: 1, arbitrary: fc.oneof(strArb, fc.constantFrom(...ctx.userVariants)).map(str => ({ str })) }
    ),
    body: fc.oneof(
      { weight: 4, arbitrary: fc.record({ incarnation: counterArb, seq: counterArb, ops: fc.array(fc.oneof({ weight: 3, arbitrary: entryArb(ctx).map(put => ({ put })) }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom('d1', 'd2', 'd3'), strArb).map(del => ({ del })) }), { maxLength: 5 }) }).map(delta => ({ delta })) },
      {
        weight: 3,
        arbitrary: fc.record({
          incarnation: counterArb,
          seq: counterArb,
          load: mostly(fc.record({ clients: u32Arb, rooms: u32Arb, maxClients: u32Arb }), 5),
          gatewayAddrs: listArb(addrArb(some, other), 16, 3),
          meshAddrs: listArb(addrArb(some, other), 16, 3),
          httpUrl: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('', 'http://127.0.0.1:8080', 'https://example.org') }, { weight: 1, arbitrary: fc.constantFrom('ftp://x', 'http://', 'http://[::1', 'x'.repeat(600)) }, { weight: 1, arbitrary: strArb }),
          beat: counterArb,
          time: u64Arb,
          metaVersion: u32Arb,
          addrsOmitted: fc.boolean()
        }).map(heartbeat => ({ heartbeat }))
      },
      { weight: 1, arbitrary: counterArb.map(incarnation => ({ goodbye: { incarnation } })) },
      { weight: 1, arbitrary: fc.constant({ none: true as const }) }
    ),
    signature: fc.oneof({ weight: 12, arbitrary: fc.constant('good' as const) }, { weight: 1, arbitrary: fc.constantFrom('none' as const, 'flip' as const, 'short' as const, 'other' as const) }),
    viaSignPresence: fc.boolean().chain(b => b ? fc.boolean() : fc.constant(false)).chain(b => b ? fc.boolean() : fc.constant(false)),
    mutations: sometimes(mutationsArb, 4)
  })
}

function presenceMessageOf (ctx: FuzzContext, s: PresenceSpec): { msg: Partial<PresenceMessage>, signer: Signer, node: string } {
  const signer = ctx.nodeKeys[s.signer]!
  const node = 'signer' in s.named ? signer.id : 'other' in s.named ? ctx.nodeKeys[s.named.other]!.id : s.named.str
  const b = s.body
  let msg: Partial<PresenceMessage> = {}
  if ('delta' in b) {
    const ops: PresenceOpMsg[] = b.delta.ops.map(op => 'put' in op ? { put: op.put, del: '' } : { del: op.del })
    msg = { delta: { node, incarnation: b.delta.incarnation, seq: b.delta.seq, ops } }
  } else if ('heartbeat' in b) {
    msg = { heartbeat: { node, ...b.heartbeat } }
  } else if ('goodbye' in b) {
    msg = { goodbye: { node, incarnation: b.goodbye.incarnation } }
  }
  return { msg, signer, node }
}

async function presenceBytes (ctx: FuzzContext, s: PresenceSpec): Promise<Uint8Array> {
  const { msg, signer } = presenceMessageOf(ctx, s)
  let bytes: Uint8Array
  if (s.viaSignPresence && s.signature === 'good') {
    bytes = await signPresence(signer.key, msg)
  } else {
    const body = PresenceMessage.encode(msg)
    let signature: Uint8Array<ArrayBuffer>
    // 'other': signed by a key that no message names, so it can never be the named node's own signature
    const by = s.signature === 'other' ? ctx.stranger : signer
    switch (s.signature) {
      case 'none': signature = ab(new Uint8Array(0)); break
      case 'short': signature = by.sign(withDomain(PRESENCE_DOMAIN, body)).slice(0, 63); break
      case 'flip':
        signature = by.sign(withDomain(PRESENCE_DOMAIN, body))
        signature[body.byteLength % 64]! ^= 0x10
        break
      default: signature = by.sign(withDomain(PRESENCE_DOMAIN, body))
    }
    bytes = SignedPresence.encode({ body, signature })
  }
  return s.mutations == null ? bytes : mutate(bytes, s.mutations)
}

const DEVICE_ID_RE = /^[0-9a-z][0-9a-z._-]*$/

function checkEntry (e: { userId: string, deviceId: string, name: string, status: string, rooms: string[], since: number }): void {
  validateUserId(e.userId)
  validateDisplayName(e.name)
  for (const r of e.rooms) validateRoom(r)
  if (e.rooms.length > PRESENCE_LIMITS.maxRoomsPerDevice) fail('too many rooms')
  if (!STATUSES.has(e.status)) fail(`status ${e.status}`)
  if (!DEVICE_ID_RE.test(e.deviceId) || e.deviceId.length > PRESENCE_LIMITS.maxDeviceIdLength) fail(`device id ${e.deviceId}`)
  if (!Number.isSafeInteger(e.since) || e.since < 0) fail(`since ${e.since}`)
}

function checkOpenedPresence (ctx: FuzzContext, p: OpenedPresence, s: PresenceSpec | undefined): void {
  const node = p.kind === 'delta' ? p.delta.node : p.kind === 'heartbeat' ? p.heartbeat.node : p.node
  const signerIds = ctx.nodeKeys.map(k => k.id)
  if (!signerIds.includes(node)) fail(`opened a presence message of node ${node}, which signed nothing`)
  if (s != null && s.mutations == null) {
    // only a good signature by the named node opens: 'other' is the stranger's (named by no message), the rest are broken
    if (s.signature !== 'good' || node !== ctx.nodeKeys[s.signer]!.id) fail(`opened a message for ${node} that it did not sign (signature ${s.signature})`)
  }
  const safe = (n: number | undefined, what: string): void => { if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) fail(`${what} ${n}`) }
  if (p.kind === 'delta') {
    safe(p.delta.incarnation, 'incarnation')
    safe(p.delta.seq, 'seq')
    for (const op of p.delta.ops) {
      if (op.op === 'put') checkEntry(op.entry)
      else if (!DEVICE_ID_RE.test(op.deviceId)) fail(`del ${op.deviceId}`)
    }
  } else if (p.kind === 'heartbeat') {
    safe(p.heartbeat.incarnation, 'incarnation')
    safe(p.heartbeat.seq, 'seq')
    safe(p.heartbeat.beat, 'beat')
    const m = p.heartbeat.meta
    if (m.gatewayAddrs.length > 16 || m.meshAddrs.length > 16) fail('too many addresses')
    for (const a of m.meshAddrs) if (a.includes('/p2p/') && !a.includes(node)) fail(`mesh address names another peer: ${a}`)
    if (p.heartbeat.addrsOmitted === true && (m.gatewayAddrs.length > 0 || m.meshAddrs.length > 0 || m.httpUrl !== undefined)) fail('a heartbeat that omits its addresses opened with some')
  } else {
    safe(p.incarnation, 'incarnation')
  }
}

/** internal consistency of a replica: device counts, indexes, liveness */
function checkReplica (r: PresenceReplica): void {
  const nodes = r.nodes()
  let devices = 0
  for (const n of nodes) {
    const entries = r.nodeEntries(n.id)
    if (!n.up && entries.length > 0) fail(`down node ${n.id} still has ${entries.length} entries`)
    devices += entries.length
  }
  const stats = r.stats()
  if (stats.devices !== devices) fail(`stats say ${stats.devices} devices, nodes hold ${devices}`)
  for (const room of r.rooms()) {
    if (r.roomRoster(room).length === 0) fail(`room ${room} is listed with no members`)
  }
}

/** `openPresence` on random bytes, mutated and hostile signed messages; what it accepts goes into a PresenceReplica (applyDelta / heartbeat / depart / expire / suspect). */
export async function fuzzPresence (ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const replica = new PresenceReplica(ctx.nodeKeys[0]!.id)
  let now = 1_000_000
  let applied = 0
  const arb = fc.record({
    input: fc.oneof({ weight: 2, arbitrary: bytesArb.map(raw => ({ raw })) }, { weight: 10, arbitrary: presenceSpecArb(ctx).map(spec => ({ spec })) }),
    step: fc.oneof({ weight: 8, arbitrary: fc.nat(30) }, { weight: 1, arbitrary: fc.nat(200) }),
    also: fc.constantFrom('none', 'none', 'none', 'expire', 'suspect')
  })
  return run('presence', arb, async ({ input, step, also }) => {
    now += step
    const bytes = 'raw' in input ? input.raw : await presenceBytes(ctx, input.spec)
    let opened: OpenedPresence
    try {
      opened = openPresence(bytes)
    } catch (err) {
      if (!(err instanceof InvalidPresenceError)) fail(`openPresence threw ${describeError(err)}`)
      seen(ctx, 'InvalidPresenceError')
      return
    }
    seen(ctx, `opened ${opened.kind}`)
    checkOpenedPresence(ctx, opened, 'spec' in input ? input.spec : undefined)
    try {
      if (opened.kind === 'delta') replica.applyDelta(opened.delta, now)
      else if (opened.kind === 'heartbeat') replica.heartbeat(opened.heartbeat, now)
      else replica.depart(opened.node, opened.incarnation, now)
      if (also === 'expire') replica.expire(now, 60)
      if (also === 'suspect') replica.suspect(opened.kind === 'delta' ? opened.delta.node : opened.kind === 'heartbeat' ? opened.heartbeat.node : opened.node, now, 30)
    } catch (err) {
      fail(`the replica threw ${describeError(err)}`)
    }
    if (++applied % 16 === 0) checkReplica(replica)
  }, o)
}

/** the input's bytes: raw ones as they are, or the message encoded and then mutated if asked */
/**
 * `rawOrEncoded`, or undefined when the encoding is over `maxBytes` (a stream's frame limit): such a request never
 * reaches its handler, and mutating one of 100 MB or more would only exhaust the harness
 */
function encodedWithin<T> (input: { raw: Uint8Array } | { msg: T, mutations?: Mutation[] | null }, encode: (msg: T) => Uint8Array, maxBytes: number): Uint8Array | undefined {
  if ('raw' in input) return input.raw
  const bytes = encode(input.msg)
  if (bytes.byteLength > maxBytes) return undefined
  const out = input.mutations != null ? mutate(bytes, input.mutations) : bytes
  return out.byteLength > maxBytes ? undefined : out
}

function rawOrEncoded<T> (input: { raw: Uint8Array } | { msg: T, mutations?: Mutation[] | null }, encode: (msg: T) => Uint8Array): Uint8Array {
  return encodedWithin(input, encode, Infinity) as Uint8Array
}

/** `fullFromWire(PresenceFullMsg.decode(bytes), expected)` on random bytes and hostile full states; accepted states go into `applyFull`. */
export async function fuzzPresenceFull (ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const replica = new PresenceReplica(ctx.nodeKeys[0]!.id)
  let now = 1_000_000
  const nodeIds = ctx.nodeKeys.map(k => k.id)
  const arb = fc.record({
    input: fc.oneof(
      { weight: 2, arbitrary: bytesArb.map(raw => ({ raw })) },
      {
        weight: 8,
        arbitrary: fc.record({
          msg: fc.record({
            node: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...nodeIds) }, { weight: 1, arbitrary: fc.constantFrom(...ctx.userVariants) }, { weight: 1, arbitrary: strArb }),
            incarnation: counterArb,
            seq: counterArb,
            entries: fc.array(entryArb(ctx), { maxLength: 6 }),
            // the node's load and addresses, hostile ones included (a mesh address naming another peer)
            meta: fc.option(fc.record({
              load: mostly(fc.record({ clients: u32Arb, rooms: u32Arb, maxClients: u32Arb }), 5),
              gatewayAddrs: listArb(addrArb(nodeIds[0]!, nodeIds[1]!), 16, 3),
              meshAddrs: listArb(addrArb(nodeIds[0]!, nodeIds[1]!), 16, 3),
              httpUrl: fc.constantFrom('', 'http://127.0.0.1:8080', 'ftp://x', 'http://[::1'),
              version: u32Arb
            }), { nil: undefined })
          }),
          mutations: sometimes(mutationsArb, 4)
        })
      }
    ),
    expected: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...nodeIds) }, { weight: 1, arbitrary: strArb }),
    step: fc.nat(50)
  })
  return run('presence-full', arb, async ({ input, expected, step }) => {
    now += step
    const bytes = rawOrEncoded(input, m => PresenceFullMsg.encode(m))
    let m: PresenceFullMsg
    try {
      m = PresenceFullMsg.decode(bytes)
    } catch {
      seen(ctx, 'does not decode')
      return // the sync client wraps this as an RpcError
    }
    let state
    try {
      state = fullFromWire(m, expected ?? m.node)
    } catch (err) {
      if (!(err instanceof InvalidPresenceError)) fail(`fullFromWire threw ${describeError(err)}`)
      seen(ctx, 'InvalidPresenceError')
      return
    }
    seen(ctx, state.entries.length > 0 ? 'accepted with entries' : 'accepted, empty')
    if (!nodeIds.includes(state.node) && !ctx.userVariants.includes(state.node)) {
      // any Ed25519 peer id may be named (a full state is not signed; it comes from the node pulled)
      peerIdFromString(state.node)
    }
    for (const e of state.entries) checkEntry(e)
    for (const a of state.meta?.meshAddrs ?? []) if (a.includes('/p2p/') && !a.includes(state.node)) fail(`a full state's mesh address names another peer: ${a}`)
    if ((state.meta?.gatewayAddrs.length ?? 0) > 16 || (state.meta?.meshAddrs.length ?? 0) > 16) fail('too many addresses in a full state')
    try {
      replica.applyFull(state, now)
      replica.expire(now, 60)
    } catch (err) {
      fail(`applyFull threw ${describeError(err)}`)
    }
    checkReplica(replica)
  }, o)
}

// ---------------------------------------------------------------------------------------------
// 5. sync requests

type SyncSpec =
  | { presence: { node: string } }
  | { history: { room: string, before?: CursorSpec, after?: CursorSpec, limit: number } }
  | { mailbox: { user: string, limit: number } }
  | { mailboxDelete: { user: string, ids: Array<Uint8Array<ArrayBuffer>> } }
  | { mailboxPut: { user: string, events: StoredSpec[], coherent: boolean } }
  | { store: { room: string, event?: StoredSpec, coherent: boolean } }
  | { archive: { rooms: string[] } }
  | { dmHistory: { conversation: string, before?: CursorSpec, after?: CursorSpec, limit: number } }
  | { dmHistoryPut: { events: StoredSpec[] } }
  | { digest: { room: string, from: bigint, to: bigint } }
  | { empty: true }

function syncSpecArb (ctx: FuzzContext): fc.Arbitrary<SyncSpec> {
  const room = roomArb(ctx.rooms, 1)
  const user = userIdArb(ctx.userIds, ctx.userVariants)
  return fc.oneof(
    { weight: 1, arbitrary: fc.oneof(fc.constant(ctx.node.nodeId), fc.constantFrom(...ctx.userVariants), strArb).map(node => ({ presence: { node } })) },
    { weight: 3, arbitrary: fc.record({ room, before: sometimes(cursorArb(), 3), after: sometimes(cursorArb(), 3), limit: u32Arb }).map(history => ({ history })) },
    { weight: 2, arbitrary: fc.record({ user, limit: u32Arb }).map(mailbox => ({ mailbox })) },
    { weight: 2, arbitrary: fc.record({ user, ids: listArb(idArb, 1000, 4) }).map(mailboxDelete => ({ mailboxDelete })) },
    { weight: 3, arbitrary: fc.record({ user, events: fc.array(storedEventArb(ctx, { dm: 8, room: 1, typing: 1, none: 1 }), { maxLength: 3 }), coherent: fc.boolean() }).map(mailboxPut => ({ mailboxPut })) },
    { weight: 3, arbitrary: fc.record({ room, event: mostly(storedEventArb(ctx, { room: 8, dm: 1, typing: 1, none: 1 }), 8), coherent: fc.boolean() }).map(store => ({ store })) },
    // an offer at the list limit naming a room nobody is in stalls the node for seconds (see the report): rare
    { weight: 2, arbitrary: listArb(roomArb(ctx.rooms, 2), 10_000, 8, 1000).map(rooms => ({ archive: { rooms } })) },
    { weight: 2, arbitrary: fc.record({ conversation: conversationArb(ctx), before: sometimes(cursorArb(), 3), after: sometimes(cursorArb(), 3), limit: u32Arb }).map(dmHistory => ({ dmHistory })) },
    { weight: 2, arbitrary: fc.array(storedEventArb(ctx, { dm: 8, receipt: 1, room: 1, none: 1 }), { maxLength: 3 }).map(events => ({ dmHistoryPut: { events } })) },
    { weight: 2, arbitrary: fc.record({ room, from: fc.oneof(fc.constant(0n), u64Arb), to: fc.oneof(fc.constant((1n << 64n) - 1n), u64Arb) }).map(digest => ({ digest })) },
    { weight: 1, arbitrary: fc.constant({ empty: true as const }) }
  )
}

/** make a DM event's recipient the mailbox user, a room event's room the requested room */
function cohere (s: StoredSpec, patch: { to?: string, room?: string }): StoredSpec {
  if (!('spec' in s.event)) return s
  const c = s.event.spec.content
  if (c.kind === 'dm' && patch.to != null) return { ...s, event: { spec: { ...s.event.spec, content: { ...c, to: patch.to } } } }
  if (c.kind === 'room' && patch.room != null) return { ...s, event: { spec: { ...s.event.spec, content: { ...c, room: patch.room } } } }
  return s
}

function syncRequestOf (ctx: FuzzContext, s: SyncSpec, now = Date.now()): Partial<SyncRequest> {
  if ('presence' in s) return s
  if ('history' in s) return { history: { room: s.history.room, before: cursorOf(s.history.before, now), after: cursorOf(s.history.after, now), limit: s.history.limit } }
  if ('mailbox' in s) return s
  if ('mailboxDelete' in s) return s
  if ('mailboxPut' in s) {
    const { user, events, coherent } = s.mailboxPut
    return { mailboxPut: { user, events: events.map(e => storedOf(ctx, coherent ? cohere(e, { to: user }) : e, now)) } }
  }
  if ('store' in s) {
    const { room, event, coherent } = s.store
    return { store: { room, event: event == null ? undefined : storedOf(ctx, coherent ? cohere(event, { room }) : event, now), id: new Uint8Array(0) } }
  }
  if ('archive' in s) return s
  if ('dmHistory' in s) return { dmHistory: { conversation: s.dmHistory.conversation, before: cursorOf(s.dmHistory.before, now), after: cursorOf(s.dmHistory.after, now), limit: s.dmHistory.limit } }
  if ('dmHistoryPut' in s) return { dmHistoryPut: { events: s.dmHistoryPut.events.map(e => storedOf(ctx, e, now)) } }
  if ('digest' in s) return s
  return {}
}

/** does a sync request spec have a repeated field longer than the .proto lets a decoder take? */
function syncOverLimit (s: SyncSpec): boolean {
  if ('mailboxDelete' in s) return s.mailboxDelete.ids.length > 1000
  if ('archive' in s) return s.archive.rooms.length > 10_000
  return false
}

function checkOneOf (obj: object, fields: readonly string[], what: string): void {
  const set = fields.filter(f => (obj as Record<string, unknown>)[f] != null)
  if (set.length !== 1) fail(`${what} has ${set.length} bodies (${set.join(', ')})`)
}

/**
 * A handler's answer to a peer, as it goes back on the wire: it settles within 10 s, encodes, decodes
 * with exactly one of `bodies`, and is never INTERNAL (a peer's input gets a typed refusal; INTERNAL
 * means an untyped error escaped a handler). Returns the decoded answer.
 */
async function wireAnswer<R extends { error?: { code: number, message: string } }> (
  what: string,
  answer: () => Promise<Partial<R>>,
  codec: { encode: (r: Partial<R>) => Uint8Array, decode: (b: Uint8Array) => R },
  codecName: string,
  bodies: readonly string[]
): Promise<R> {
  let res: Partial<R>
  try {
    res = await withDeadline(answer(), 10_000, what)
  } catch (err) {
    fail(`${what} rejected: ${describeError(err)}`)
  }
  let out: Uint8Array
  try {
    out = codec.encode(res)
  } catch (err) {
    fail(`${codecName}.encode refused the answer: ${describeError(err)}`)
  }
  const back = codec.decode(out)
  checkOneOf(back, bodies, 'the answer')
  if (back.error?.code === ErrorCode.INTERNAL) fail(`an INTERNAL answer: ${back.error.message}`)
  return back
}

/** `SyncRequest.decode` on random bytes and `node.sync.answer` on decoded and generated requests: always resolves with a response SyncResponse.encode takes. */
export async function fuzzSyncRequests (ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const arb = fc.record({
    input: fc.oneof(
      { weight: 2, arbitrary: bytesArb.map(raw => ({ raw })) },
      { weight: 10, arbitrary: fc.record({ spec: syncSpecArb(ctx), mutations: sometimes(mutationsArb, 5) }) }
    ),
    // the asking peer: a mesh peer that owns and hosts nothing; mailbox reads and deletes and DM history pulls come from
    // the node itself (an owner) but for 1 in 100, because a request from a node that is not entitled waits
    // entitlementWaitMs (40 ms)
    entitled: fc.nat(99).map(n => n !== 0)
  })
  return run('sync-request', arb, async ({ input, entitled }) => {
    let req: SyncRequest
    let bytes: Uint8Array
    if ('raw' in input) {
      bytes = input.raw
    } else {
      bytes = SyncRequest.encode(syncRequestOf(ctx, input.spec))
      if (input.mutations != null) bytes = mutate(bytes, input.mutations)
    }
    try {
      req = SyncRequest.decode(bytes)
    } catch (err) {
      seen(ctx, 'does not decode')
      if ('spec' in input && input.mutations == null && !syncOverLimit(input.spec)) fail(`a well-formed request does not decode: ${describeError(err)}`)
      return // serve() resets the stream
    }
    const from = entitled && (req.mailbox != null || req.mailboxDelete != null || req.dmHistory != null) ? ctx.self : ctx.foreign
    const back = await wireAnswer('sync.answer', async () => await ctx.node.sync.answer(req, from), SyncResponse, 'SyncResponse', ['presence', 'history', 'mailbox', 'ok', 'error', 'digest'])
    const asked = Object.keys(req).find(k => (req as unknown as Record<string, unknown>)[k] != null) ?? 'empty'
    seen(ctx, back.error != null ? `${asked}: error ${back.error.code}` : back.ok != null ? `${asked}: ok ${back.ok.count > 0 ? '>0' : '0'}` : back.history != null ? `${asked}: ${back.history.events.length > 0 ? 'events' : 'no events'}` : back.mailbox != null ? `${asked}: ${back.mailbox.events.length > 0 ? 'mail' : 'no mail'}` : back.digest != null ? `${asked}: ${back.digest.count > 0 ? 'counted' : 'none'}` : `${asked}: presence`)
    maintain(ctx)
    await checkClean(ctx)
  }, o)
}

// ---------------------------------------------------------------------------------------------
// 6. DM hand-offs

/** `DmDeliver.decode` on random bytes and `node.dm.receive` on decoded and generated hand-offs: always resolves with a DmResult. */
export async function fuzzDmHandoffs (ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const user = userIdArb(ctx.userIds, ctx.userVariants)
  const arb = fc.record({
    input: fc.oneof(
      { weight: 2, arbitrary: bytesArb.map(raw => ({ raw })) },
      {
        weight: 10,
        arbitrary: fc.record({
          event: mostly(storedEventArb(ctx, { dm: 10, room: 1, typing: 1, none: 1 }), 12),
          users: listArb(user, 16, 4),
          mailbox: fc.boolean(),
          keep: fc.boolean(),
          wire: fc.boolean(),
          mutations: sometimes(mutationsArb, 4)
        })
      }
    ),
    from: fc.constantFrom('self' as const, 'foreign' as const)
  })
  return run('dm-deliver', arb, async ({ input, from }) => {
    let req: DmDeliver
    if ('raw' in input) {
      try {
        req = DmDeliver.decode(input.raw)
      } catch {
        return
      }
    } else {
      const obj: DmDeliver = { event: input.event == null ? undefined : storedOf(ctx, input.event), users: input.users, mailbox: input.mailbox, keep: input.keep }
      if (input.wire || input.mutations != null) {
        let bytes = DmDeliver.encode(obj)
        if (input.mutations != null) bytes = mutate(bytes, input.mutations)
        try {
          req = DmDeliver.decode(bytes)
        } catch {
          return
        }
      } else {
        req = obj
      }
    }
    let res: Partial<DmResult>
    try {
      res = await withDeadline(ctx.node.dm.receive(req, from === 'self' ? ctx.self : ctx.foreign), 10_000, 'dm.receive')
    } catch (err) {
      fail(`dm.receive rejected: ${describeError(err)}`)
    }
    try {
      DmResult.encode(res)
    } catch (err) {
      fail(`DmResult.encode refused the answer: ${describeError(err)}`)
    }
    if (res.delivered != null && (!Number.isInteger(res.delivered) || res.delivered < 0)) fail(`delivered ${res.delivered}`)
    if (res.error?.code === ErrorCode.INTERNAL) fail(`an INTERNAL answer: ${res.error.message}`)
    seen(ctx, res.error != null ? `error ${errorName(res.error.code)}` : (res.delivered ?? 0) > 0 ? 'delivered' : 'accepted, no device')
    maintain(ctx)
    await checkClean(ctx)
  }, o)
}

// ---------------------------------------------------------------------------------------------
// 7. user directory requests

/**
 * `DirRequest.decode` on random bytes and `node.directory.answer` on decoded and generated requests
 * (registrations, lookups, watches, unwatches, sessions pulls, notifies) from the node itself (the one
 * live node, so its registrations reach the owner's table) and from mesh peers that are not live
 * nodes: always a response with one body and a typed error, never INTERNAL. A registration is
 * applied only when it comes from the live node it names: any other is refused and changes nothing.
 * The table stays within its bounds.
 */
export async function fuzzDirectory (ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const dir = ctx.node.directory
  const selfId = ctx.self.toString()
  // peers the directory's per-peer lookup budget is charged to: several, so one big list does not refuse the rest
  const peers = [ctx.foreign, ...await Promise.all(Array.from({ length: 4 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))]
  const user = userIdArb(ctx.userIds, ctx.userVariants)
  // the node a registration names: none (the sender), the sender by name, another node, garbage
  const nodeArb = fc.oneof(
    { weight: 12, arbitrary: fc.constant('') },
    { weight: 2, arbitrary: fc.constant(selfId) },
    { weight: 4, arbitrary: fc.constantFrom(ctx.foreign.toString(), ...ctx.nodeKeys.map(k => k.id)) },
    { weight: 1, arbitrary: strArb }
  )
  // few device ids, so puts, deletes and lookups meet the same devices
  const deviceArb = fc.oneof({ weight: 12, arbitrary: fc.constantFrom('d1', 'd2', 'd3', 'phone', 'laptop') }, { weight: 1, arbitrary: strArb }, { weight: 1, arbitrary: fc.constant('x'.repeat(257)) })
  // mostly well-formed devices of pool users, so registrations get applied and lookups find them
  const deviceWire: fc.Arbitrary<DirDevice> = fc.record({
    user: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...ctx.userIds) }, { weight: 1, arbitrary: user }),
    device: deviceArb,
    name: fc.oneof({ weight: 8, arbitrary: tokenArb }, { weight: 1, arbitrary: strArb }, { weight: 1, arbitrary: fc.constant('n'.repeat(300)) }),
    away: fc.boolean(),
    rooms: u32Arb,
    since: fc.oneof({ weight: 8, arbitrary: fc.bigInt({ min: 0n, max: 1n << 45n }) }, { weight: 1, arbitrary: u64Arb }),
    node: nodeArb,
    incarnation: u64Arb
  })
  const usersArb = listArb(user, 1000, 6, 40)
  const nodeList = listArb(fc.oneof({ weight: 4, arbitrary: fc.constant(selfId) }, { weight: 2, arbitrary: fc.constantFrom(...ctx.nodeKeys.map(k => k.id)) }, { weight: 1, arbitrary: strArb }), 10_000, 4, 40)
  const specArb: fc.Arbitrary<DirRequest> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        register: fc.record({
          node: nodeArb,
          // the node's incarnation as it is, or another
          incarnation: fc.oneof({ weight: 6, arbitrary: fc.constant(BigInt(ctx.node.incarnation)) }, { weight: 1, arbitrary: counterArb }),
          version: counterArb,
          // at the decode limit rarely: a list of 250,000 devices takes the generator and the node about a second each
          put: listArb(deviceWire, 250_000, 6, 400),
          del: listArb(fc.record({ user, device: deviceArb }), 10_000, 4, 100),
          full: fc.boolean()
        })
      })
    },
    { weight: 4, arbitrary: fc.record({ lookup: fc.record({ users: usersArb }) }) },
    { weight: 2, arbitrary: fc.record({ watch: fc.record({ users: usersArb }) }) },
    { weight: 2, arbitrary: fc.record({ unwatch: fc.record({ users: usersArb }) }) },
    { weight: 2, arbitrary: fc.record({ sessions: fc.record({ live: nodeList, before: nodeList }) }) },
    { weight: 2, arbitrary: fc.record({ notify: fc.record({ user, devices: listArb(deviceWire, 1000, 4, 60) }) }) },
    { weight: 1, arbitrary: fc.constant({}) }
  )
  const arb = fc.record({
    input: fc.oneof(
      { weight: 2, arbitrary: bytesArb.map(raw => ({ raw })) },
      { weight: 10, arbitrary: fc.record({ msg: specArb, mutations: sometimes(mutationsArb, 5) }) }
    ),
    // the live node itself, or a keyed mesh peer that is not a live node here
    from: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 2, arbitrary: fc.nat(peers.length - 1) })
  })
  const limits = dir.table.limits
  return run('directory', arb, async ({ input, from }) => {
    // the directory's streams take requests of up to 64 MiB (directory-service.ts); a longer one never reaches answer()
    const bytes = encodedWithin(input, m => DirRequest.encode(m), 64 << 20)
    if (bytes === undefined) {
      seen(ctx, 'over the frame limit')
      return
    }
    let req: DirRequest
    try {
      req = DirRequest.decode(bytes)
    } catch (err) {
      seen(ctx, 'does not decode')
      if ('msg' in input && input.mutations == null && !dirOverLimit(input.msg)) fail(`a well-formed request does not decode: ${describeError(err)}`)
      return
    }
    const peer = from < 0 ? ctx.self : peers[from]!
    const before = dir.table.stats()
    const back = await wireAnswer('directory.answer', async () => await dir.answer(req, peer), DirResponse, 'DirResponse', ['users', 'sessions', 'ok', 'error'])
    const kind = (['register', 'lookup', 'watch', 'unwatch', 'sessions', 'notify'] as const).find(k => req[k] != null) ?? 'empty'
    const after = dir.table.stats()
    if (req.register != null) {
      const names = req.register.node === '' ? peer.toString() : req.register.node
      // only the live node a registration names may make it: anything else is refused and writes nothing
      if (peer !== ctx.self || names !== selfId) {
        if (back.error == null) fail(`a registration from ${peer === ctx.self ? 'this node' : 'a peer that is not live'} naming ${names} was applied`)
        if (after.records !== before.records || after.users !== before.users || after.nodes !== before.nodes) fail('a refused registration changed the table')
      }
    }
    if (after.records > limits.maxRecordsPerNode * Math.max(1, after.nodes)) fail(`${after.records} records on ${after.nodes} nodes`)
    if (after.tombstones > limits.maxTombstonesPerNode * Math.max(1, after.nodes)) fail(`${after.tombstones} tombstones on ${after.nodes} nodes`)
    for (const id of ctx.userIds) {
      const held = dir.table.lookup(id)
      if (held.length > limits.maxDevicesPerUser) fail(`${held.length} devices of ${id}`)
    }
    seen(ctx, back.error != null
      ? `${kind}: error ${errorName(back.error.code)}`
      : back.users != null
        ? `${kind}: ${back.users.users.some(u => u.devices.length > 0) ? 'found' : 'none'}`
        : back.sessions != null ? `${kind}: sessions` : `${kind}: ok`)
    maintain(ctx)
    await checkClean(ctx)
  }, o)
}

/** whether a generated directory request is past a decode limit of directory.proto (its decode must fail) */
function dirOverLimit (m: DirRequest): boolean {
  const r = m.register
  return (r != null && (r.put.length > 250_000 || r.del.length > 10_000)) ||
    [m.lookup, m.watch, m.unwatch].some(u => u != null && u.users.length > 1000) ||
    (m.sessions != null && (m.sessions.live.length > 10_000 || m.sessions.before.length > 10_000)) ||
    (m.notify != null && m.notify.devices.length > 1000)
}

// ---------------------------------------------------------------------------------------------
// 8. room presence pushes and pulls

/**
 * `RoomPresenceRequest.decode` on random bytes and `node.presence.answer` on decoded and generated
 * pushes (a node's deltas and heads of its own streams of rooms) and pulls, from two nodes global
 * presence knows, a node it does not know, a keyed peer that is no node and the node itself: always
 * a response with one body and a typed error, never INTERNAL; a push from anyone but a node global
 * presence knows is refused. What a push gets applied reaches the anchor session's rosters as
 * `rosterDiff` frames, which must decode like every frame a session sends.
 */
export async function fuzzRoomPresence (ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const ps = ctx.node.presence
  const INC = 5
  const known = ctx.nodeKeys.slice(0, 2).map(k => k.id)
  // global presence knows two of the pretend nodes and holds them up, as a full state from each would: through the
  // service, so room presence and the directory hear of it (the fuzz node's failure check marks a silent node down
  // within 60 ms, and a down node's streams take no deltas)
  const service = ps as unknown as { emitGlobal: (c: PresenceChange) => void }
  let fullSeq = 0
  const holdUp = (id: string): void => { service.emitGlobal(ps.replica.applyFull({ node: id, incarnation: INC, seq: ++fullSeq, entries: [] }, ctx.node.clock.now())) }
  for (const id of known) holdUp(id)
  const senders = [...known, ctx.nodeKeys[2]!.id, ctx.foreign.toString(), ctx.self.toString()]
  const user = userIdArb(ctx.userIds, ctx.userVariants)
  // device ids are "<incarnation in base 36>-<counter>": mostly the sender's, sometimes another run's or garbage
  const deviceIdArb = fc.oneof(
    { weight: 10, arbitrary: fc.nat(5).map(n => `${INC.toString(36)}-${n}`) },
    { weight: 1, arbitrary: fc.nat(5).map(n => `${(INC + 1).toString(36)}-${n}`) },
    { weight: 1, arbitrary: strArb }
  )
  const deviceArb: fc.Arbitrary<RoomDeviceMsg> = fc.record({
    userId: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...ctx.userIds) }, { weight: 1, arbitrary: user }),
    deviceId: deviceIdArb,
    name: fc.oneof({ weight: 8, arbitrary: tokenArb }, { weight: 1, arbitrary: strArb }),
    away: fc.boolean(),
    since: fc.oneof({ weight: 8, arbitrary: fc.bigInt({ min: 0n, max: 1n << 45n }) }, { weight: 1, arbitrary: u64Arb })
  })
  const opArb: fc.Arbitrary<RoomOpMsg> = fc.oneof(
    { weight: 3, arbitrary: deviceArb.map(put => ({ put, del: '' })) },
    { weight: 1, arbitrary: deviceIdArb.map(del => ({ del })) }
  )
  const room = roomArb(ctx.rooms, 1)
  // stream positions: small, so deltas and heads of one stream line up (and leave gaps), or any uint64
  const posArb = fc.oneof({ weight: 8, arbitrary: fc.bigInt({ min: 0n, max: 3n }) }, { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 12n }) }, { weight: 1, arbitrary: counterArb })
  const deltaArb = (ops: fc.Arbitrary<RoomOpMsg[]>): fc.Arbitrary<RoomDeltaMsg> => fc.record({ room, epoch: posArb, seq: posArb, ops })
  const headArb: fc.Arbitrary<RoomHeadMsg> = fc.record({ room, epoch: posArb, seq: posArb })
  // a delta at its ops limit only among a few deltas, and the deltas at their limit only with few ops each: the two
  // together (10,000,000 ops) are far past the stream's 16 MiB frame and would only exhaust the generator
  const deltasArb = fc.oneof(
    { weight: 30, arbitrary: fc.array(deltaArb(listArb(opArb, 10_000, 4, 100)), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.tuple(deltaArb(fc.array(opArb, { maxLength: 4 })), fc.integer({ min: 998, max: 1002 })).map(([d, n]) => Array.from({ length: n }, () => d)) }
  )
  const specArb: fc.Arbitrary<RoomPresenceRequest> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        push: fc.record({
          incarnation: fc.oneof({ weight: 8, arbitrary: fc.constant(BigInt(INC)) }, { weight: 1, arbitrary: counterArb }),
          deltas: deltasArb,
          heads: listArb(headArb, 10_000, 3, 200)
        })
      })
    },
    { weight: 2, arbitrary: fc.record({ pull: fc.record({ rooms: listArb(room, 1000, 4, 100) }) }) },
    { weight: 1, arbitrary: fc.constant({}) }
  )
  const arb = fc.record({
    input: fc.oneof(
      { weight: 2, arbitrary: bytesArb.map(raw => ({ raw })) },
      { weight: 10, arbitrary: fc.record({ msg: specArb, mutations: sometimes(mutationsArb, 5) }) }
    ),
    from: fc.oneof({ weight: 6, arbitrary: fc.nat(known.length - 1) }, { weight: 1, arbitrary: fc.nat(senders.length - 1) }),
    // each delta opens a new epoch of its stream at seq 1: applied rather than taken as a gap (a gap waits for a
    // pull from the pretend node, which never answers)
    fresh: fc.boolean()
  })
  let epoch = 1000n
  return run('room-presence', arb, async ({ input, from, fresh }) => {
    if (fresh && 'msg' in input && input.msg.push != null) {
      input = { ...input, msg: { push: { ...input.msg.push, deltas: input.msg.push.deltas.map(d => ({ ...d, epoch: ++epoch, seq: 1n })) } } }
    }
    // the room presence stream takes requests of up to 16 MiB (presence-service.ts); a longer one never reaches answer()
    const bytes = encodedWithin(input, m => RoomPresenceRequest.encode(m), 16 << 20)
    if (bytes === undefined) {
      seen(ctx, 'over the frame limit')
      return
    }
    let req: RoomPresenceRequest
    try {
      req = RoomPresenceRequest.decode(bytes)
    } catch (err) {
      seen(ctx, 'does not decode')
      if ('msg' in input && input.mutations == null && !roomPresenceOverLimit(input.msg)) fail(`a well-formed request does not decode: ${describeError(err)}`)
      return
    }
    const peer = senders[from]!
    if (known.includes(peer)) holdUp(peer)
    const back = await wireAnswer('presence.answer', async () => await ps.answer(req, peer), RoomPresenceResponse, 'RoomPresenceResponse', ['states', 'ok', 'error'])
    const kind = req.push != null ? 'push' : req.pull != null ? 'pull' : 'empty'
    if (req.push != null && !known.includes(peer) && back.error == null) fail(`a push from ${peer}, which global presence does not know as a node, was taken`)
    seen(ctx, back.error != null ? `${kind}: error ${errorName(back.error.code)}` : back.states != null ? `${kind}: states` : `${kind}: ok`)
    maintain(ctx)
    await checkClean(ctx)
  }, o)
}

/** whether a generated room presence request is past a decode limit of room-presence.proto */
function roomPresenceOverLimit (m: RoomPresenceRequest): boolean {
  const p = m.push
  return (p != null && (p.deltas.length > 1000 || p.heads.length > 10_000 || p.deltas.some(d => d.ops.length > 10_000))) ||
    (m.pull != null && m.pull.rooms.length > 1000)
}

// ---------------------------------------------------------------------------------------------
// registry

/**
 * `beatFromWire(bytes, from)` (a direct beat over /meshchat/beat) on random bytes and hostile beats:
 * what it accepts names the sender and carries no addresses; accepted beats go into a replica that
 * knows some of the senders.
 */
export async function fuzzBeat (ctx: FuzzContext, o: FuzzOptions): Promise<TargetOutcome> {
  const nodeIds = ctx.nodeKeys.map(k => k.id)
  const replica = new PresenceReplica('self')
  // the first node is known (introduced by its full state); a beat of any other introduces nobody
  replica.applyFull({ node: nodeIds[0]!, incarnation: 1, seq: 0, entries: [] }, 1)
  let now = 1_000_000
  const arb = fc.record({
    input: fc.oneof(
      { weight: 2, arbitrary: bytesArb.map(raw => ({ raw })) },
      {
        weight: 8,
        arbitrary: fc.record({
          msg: fc.record({
            node: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 2, arbitrary: fc.constantFrom(...nodeIds) }, { weight: 1, arbitrary: strArb }),
            incarnation: counterArb,
            seq: counterArb,
            load: mostly(fc.record({ clients: u32Arb, rooms: u32Arb, maxClients: u32Arb }), 5),
            gatewayAddrs: listArb(addrArb(nodeIds[0]!, nodeIds[1]!), 16, 2, 20),
            meshAddrs: listArb(addrArb(nodeIds[0]!, nodeIds[1]!), 16, 2, 20),
            httpUrl: fc.oneof({ weight: 9, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constant('http://127.0.0.1:8080') }),
            beat: counterArb,
            time: u64Arb,
            metaVersion: u32Arb,
            addrsOmitted: mostly(fc.constant(true), 9)
          }),
          mutations: sometimes(mutationsArb, 4)
        })
      }
    ),
    from: fc.constantFrom(...nodeIds),
    step: fc.nat(50)
  })
  return run('beat', arb, async ({ input, from, step }) => {
    now += step
    const bytes = rawOrEncoded(input, m => HeartbeatMsg.encode(m))
    let hb
    try {
      hb = beatFromWire(bytes, from)
    } catch (err) {
      if (!(err instanceof InvalidPresenceError)) fail(`beatFromWire threw ${describeError(err)}`)
      seen(ctx, 'InvalidPresenceError')
      return
    }
    seen(ctx, from === nodeIds[0] ? 'accepted, known node' : 'accepted, unknown node')
    if (hb.node !== from) fail(`a beat from ${from} names ${hb.node}`)
    if (hb.meta.gatewayAddrs.length > 0 || hb.meta.meshAddrs.length > 0 || hb.meta.httpUrl != null) fail('a beat carries addresses')
    if (hb.addrsOmitted !== true || hb.direct !== true) fail('a beat not marked direct and slim')
    const before = replica.nodes().map(n => n.id)
    try {
      replica.heartbeat(hb, now)
      replica.expire(now, 60)
    } catch (err) {
      fail(`the replica threw ${describeError(err)}`)
    }
    for (const id of replica.nodes().map(n => n.id)) if (!before.includes(id)) fail(`a beat introduced node ${id}`)
    checkReplica(replica)
  }, o)
}

export type Target = (ctx: FuzzContext, o: FuzzOptions) => Promise<TargetOutcome>

/** every target, by the name the runner and the table use */
export const TARGETS: Record<string, Target> = {
  'client-frame-decode': fuzzClientFrameDecode,
  'frame-reader': fuzzFrameReader,
  'client-session': fuzzClientSession,
  'signed-event': fuzzSignedEvents,
  'room-envelope': fuzzRoomEnvelope,
  presence: fuzzPresence,
  'presence-full': fuzzPresenceFull,
  'sync-request': fuzzSyncRequests,
  'dm-deliver': fuzzDmHandoffs,
  beat: fuzzBeat,
  directory: fuzzDirectory,
  'room-presence': fuzzRoomPresence
}

/** sizes of the fuzz node's state, to show that memory stays bounded */
export function nodeState (ctx: FuzzContext): Record<string, number> {
  const n = ctx.node
  return {
    sessions: n.registry.size,
    subscribedRooms: n.rooms.subscribed().length,
    storedRooms: n.store.rooms().length,
    mailbox: n.store.mailboxTotal(),
    presenceDevices: n.presence.replica.stats().devices,
    topicValidators: n.mesh.services.pubsub.topicValidators.size
  }
}



