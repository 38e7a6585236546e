/**
 * Property-based fuzzing of every decoder and handler that takes input from a client or a peer
 * (test/fuzz/targets.ts), at a size that fits CI. `npm run fuzz` runs the same targets at 10^6
 * inputs each. A failure prints fast-check's report: the seed and the shrunk counterexample.
 *
 * The seed is fixed so a CI run is reproducible; FUZZ_SEED=<n> runs another one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ErrorCode } from '../../client/src/protocol/errors.js'
import { TARGETS, closeFuzzContext, createFuzzContext } from '../fuzz/targets.js'
import type { FuzzContext } from '../fuzz/targets.js'
import type { RoomDeltaMsg, RoomOpMsg, RoomPresenceResponse } from '../../client/src/protocol/pb/room-presence.js'

/** inputs per target: about 21,500 in all, 15-40 s on a busy 2-core machine */
const RUNS: Record<string, number> = {
  'client-frame-decode': 3000,
  'frame-reader': 3000,
  'client-session': 1500,
  'signed-event': 1500,
  'room-envelope': 1500,
  presence: 2000,
  'presence-full': 2000,
  'sync-request': 1000,
  'dm-deliver': 1500,
  beat: 1500,
  directory: 1500,
  'room-presence': 1500
}

/**
 * Outcomes each target must reach at that size: inputs that get past decoding and signature
 * checks to the code behind them, and inputs that are refused. A generator that stopped making
 * valid input (after a schema change, say) would pass every property while testing nothing.
 */
const REACHES: Record<string, string[]> = {
  'client-frame-decode': ['BadFrameError', 'decoded publish', 'decoded hello', 'decoded join'],
  'frame-reader': ['clean end, with frames', 'BadFrameError', 'FrameTooLargeError'],
  'client-session': ['welcome', 'delivery', 'publishAck', 'history', 'dmHistory', 'error BAD_SIGNATURE'],
  'signed-event': ['opened room', 'opened dm', 'opened typing', 'opened receipt', 'BadSignatureError'],
  'room-envelope': ['accept', 'reject'],
  presence: ['opened delta', 'opened heartbeat', 'opened goodbye', 'InvalidPresenceError'],
  'presence-full': ['accepted with entries', 'InvalidPresenceError'],
  'sync-request': ['history: events', 'mailbox: mail', 'mailboxPut: ok >0', 'dmHistory: events', 'dmHistoryPut: ok >0', 'digest: counted', 'does not decode'],
  'dm-deliver': ['delivered', 'error BAD_SIGNATURE'],
  beat: ['accepted, known node', 'accepted, unknown node', 'InvalidPresenceError'],
  directory: ['register: ok', 'register: error NOT_ENTITLED', 'lookup: found', 'watch: found', 'unwatch: ok', 'sessions: sessions', 'notify: error NOT_ENTITLED', 'does not decode'],
  'room-presence': ['push: ok', 'push: error NOT_ENTITLED', 'push: error BAD_FRAME', 'pull: states', 'rosterDiff', 'does not decode']
}

const DEFAULT_SEED = 20261130
const SEED = process.env.FUZZ_SEED != null && process.env.FUZZ_SEED !== '' ? Number(process.env.FUZZ_SEED) : DEFAULT_SEED
if (!Number.isSafeInteger(SEED)) throw new Error(`FUZZ_SEED must be a whole number, not ${String(process.env.FUZZ_SEED)}`)

describe('fuzz: decoders and handlers of client and peer input', () => {
  let ctx: FuzzContext

  beforeAll(async () => {
    ctx = await createFuzzContext()
  })

  afterAll(async () => {
    if (ctx != null) await closeFuzzContext(ctx)
  })

  it('every target has a size and outcomes to reach', () => {
    expect(Object.keys(RUNS).sort()).toEqual(Object.keys(TARGETS).sort())
    expect(Object.keys(REACHES).sort()).toEqual(Object.keys(TARGETS).sort())
  })

  for (const [name, target] of Object.entries(TARGETS)) {
    it(`${name} (FUZZ_SEED=${SEED})`, async () => {
      ctx.outcomes.clear()
      const runs = RUNS[name] ?? 1000
      const out = await target(ctx, { numRuns: runs, seed: SEED })
      expect(out.report ?? '', `FUZZ_SEED=${SEED}`).toBe('')
      expect(out.failed).toBe(false)
      expect(out.runs).toBe(runs)
      const reached = [...ctx.outcomes.keys()]
      for (const want of REACHES[name] ?? []) {
        expect(reached, `outcome "${want}" never reached`).toContain(want)
      }
    })
  }

  it('the fuzz node stayed healthy', async () => {
    const m = await ctx.node.metrics.internalErrors.get()
    expect(m.values.reduce((a, v) => a + v.value, 0)).toBe(0)
    expect(ctx.problems).toEqual([])
  })

  it('a planted bug fails its target with the seed and a counterexample', async () => {
    const dm = ctx.node.dm as unknown as Record<string, unknown>
    dm.receive = async () => ({ error: { code: ErrorCode.INTERNAL, message: 'planted' } })
    try {
      const out = await TARGETS['dm-deliver']!(ctx, { numRuns: 200, seed: SEED })
      expect(out.failed).toBe(true)
      expect(out.report).toContain(`seed ${SEED}`)
      expect(out.report).toContain('counterexample:')
      expect(out.report).toContain('planted')
    } finally {
      delete dm.receive
    }
    const after = await TARGETS['dm-deliver']!(ctx, { numRuns: 50, seed: SEED })
    expect(after.failed).toBe(false)
  })

  it('an owner that takes a registration naming another node fails the directory target', async () => {
    const table = ctx.node.directory.table as unknown as Record<string, unknown>
    const register = ctx.node.directory.table.register.bind(ctx.node.directory.table)
    // the planted bug: whoever sends it, the registration is taken as the node it names
    table.register = (reg: { node: string }, _from: string) => register(reg as Parameters<typeof register>[0], reg.node)
    try {
      const out = await TARGETS.directory!(ctx, { numRuns: 400, seed: SEED })
      expect(out.failed).toBe(true)
      expect(out.report).toContain('was applied')
    } finally {
      delete table.register
    }
    const after = await TARGETS.directory!(ctx, { numRuns: 50, seed: SEED })
    expect(after.failed).toBe(false)
  })

  // found by the room-presence target: both were answered INTERNAL, as if the node had failed
  it('a room presence push with a bad field, or past a stream\'s device bound, is refused as BAD_FRAME or NODE_FULL', async () => {
    const ps = ctx.node.presence
    // a node of its own: the targets before leave streams of the pretend nodes behind
    const node = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    let seq = 0
    const puts = (from: number, n: number): RoomOpMsg[] => Array.from({ length: n }, (_, i) => ({ put: { userId: ctx.userIds[i % ctx.userIds.length]!, deviceId: `9-${from + i}`, name: 'u', away: false, since: 1n }, del: '' }))
    // a node global presence knows and holds up (the fuzz node's failure check marks a silent one down within 60 ms,
    // and a down node's pushes are not applied): each push comes right after its full state, in the same turn
    const push = async (...deltas: RoomDeltaMsg[]): Promise<Partial<RoomPresenceResponse>> => {
      ps.replica.applyFull({ node, incarnation: 9, seq: ++seq, entries: [] }, ctx.node.clock.now())
      return await ps.answer({ push: { incarnation: 9n, deltas, heads: [] } }, node)
    }
    expect((await push({ room: '', epoch: 7n, seq: 1n, ops: [] })).error?.code).toBe(ErrorCode.BAD_FRAME)
    expect((await push({ room: 'fuzz', epoch: 7n, seq: 1n, ops: [{ put: { ...puts(0, 1)[0]!.put!, deviceId: '8-0' }, del: '' }] })).error?.code).toBe(ErrorCode.BAD_FRAME)
    const over = await push({ room: 'fuzz', epoch: 8n, seq: 1n, ops: puts(0, 10_000) }, { room: 'fuzz', epoch: 8n, seq: 2n, ops: puts(10_000, 1) })
    expect(over.error?.code).toBe(ErrorCode.NODE_FULL)
    expect(over.error?.message).toContain('more than 10000 devices')
  })

  // found by the sync-request target: a stamp above 2^63 - 1 reached SQLite and came back as INTERNAL
  it('a sync history cursor past the 64-bit signed range is refused as INVALID_QUERY', async () => {
    const id = new Uint8Array(32)
    for (const hlc of [1n << 63n, (1n << 64n) - 1n]) {
      for (const side of ['before', 'after'] as const) {
        const res = await ctx.node.sync.answer({ history: { room: 'fuzz', [side]: { hlc, id }, limit: 10 } }, ctx.foreign)
        expect(res.error?.code, `${side} ${hlc}`).toBe(ErrorCode.INVALID_QUERY)
      }
    }
    const ok = await ctx.node.sync.answer({ history: { room: 'fuzz', before: { hlc: (1n << 63n) - 1n, id }, limit: 10 } }, ctx.foreign)
    expect(ok.error).toBeUndefined()
    expect(ok.history).toBeDefined()
  })
})
