import { afterEach, describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { rejectionOf } from '../helpers/assert.js'
import { TEST_TIMINGS } from '../../node/src/config.js'
import { conversationId } from '../../client/src/protocol/conversation.js'
import { generateUserKey, userIdOf } from '../../client/src/protocol/keys.js'
import { BadSignatureError, InvalidQueryError, NotEntitledError, NotParticipantError } from '../../client/src/protocol/errors.js'
import { Event, SignedEvent } from '../../client/src/protocol/pb/event.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { ChatClient, DirectMessage } from '../../client/src/node.js'
import type { UserKey } from '../../client/src/protocol/keys.js'

/** a user key and its id, before the user is online anywhere */
function user (): { key: UserKey, id: string } {
  const key = generateUserKey()
  return { key, id: userIdOf(key.publicKey.raw) }
}

/** every page of a conversation, newest page first, paging back with `before`; bounded */
async function pageBack (c: ChatClient, peer: string, limit: number): Promise<DirectMessage[]> {
  const out: DirectMessage[] = []
  let before: string | undefined
  for (let i = 0; i < 100; i++) {
    const page = await c.dmHistory(peer, { before, limit })
    expect(page.messages.length, 'a page holds at most its limit').toBeLessThanOrEqual(limit)
    out.unshift(...page.messages)
    if (!page.more || page.messages.length === 0) return out
    before = page.messages[0]!.cursor
  }
  throw new Error('paging did not end')
}

/** the same, forward with `after` from a cursor */
async function pageForward (c: ChatClient, peer: string, limit: number, after?: string): Promise<DirectMessage[]> {
  const out: DirectMessage[] = []
  for (let i = 0; i < 100; i++) {
    const page = await c.dmHistory(peer, { after, limit })
    out.push(...page.messages)
    if (!page.more || page.messages.length === 0) return out
    after = page.messages.at(-1)!.cursor
  }
  throw new Error('paging did not end')
}

function collect (c: ChatClient): DirectMessage[] {
  const got: DirectMessage[] = []
  c.addEventListener('dm', e => { got.push(e.detail) })
  return got
}

function stored (node: MeshchatNode, conversation: string): number {
  return node.store.dmPage(conversation, { limit: 1000 }).events.length
}

describe('DM history', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  it('a hand-off to a node that is also a conversation owner carries its history copy; a node that does not keep it gets the put', async () => {
    mesh = await startMesh(4)
    await mesh.converged(4)
    const [n0, n1] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const a = user()
    // a recipient whose conversation with alice is owned by bob's node (n1) and one other node, not by alice's (n0)
    let b = user()
    const owners = (): string[] => n0.dm.history.owners(conversationId(a.id, b.id))
    for (let i = 0; i < 200 && !(owners().includes(n1.nodeId) && !owners().includes(n0.nodeId)); i++) b = user()
    expect(owners()).toContain(n1.nodeId)
    expect(owners()).not.toContain(n0.nodeId)
    const conversation = conversationId(a.id, b.id)
    const other = mesh.nodes.find(n => n.nodeId !== n1.nodeId && owners().includes(n.nodeId))!
    // the history puts n0 sends, by node
    const puts = new Map<string, number>()
    const call = n0.sync.call.bind(n0.sync)
    n0.sync.call = async (...args: Parameters<typeof call>) => {
      const to = args[0].toString()
      if (args[1].dmHistoryPut != null) puts.set(to, (puts.get(to) ?? 0) + 1)
      return call(...args)
    }
    const alice = await mesh.client(n0, 'alice', { privateKey: a.key })
    const bob = await mesh.client(n1, 'bob', { privateKey: b.key })
    await waitFor(async () => (await n0.presence.locate(b.id)).includes(n1.nodeId), { what: 'bob located on n1' })
    const got = collect(bob)
    const first = await alice.dm(b.id, 'kept by the hand-off')
    expect(first.state).toBe('delivered')
    await waitFor(() => got.length === 1, { what: 'the DM at bob' })
    expect(stored(n1, conversation), 'n1 keeps it from the hand-off').toBe(1)
    expect(stored(other, conversation), 'the other owner from its put').toBe(1)
    expect(puts.get(n1.nodeId) ?? 0, 'no separate history put to the node the DM was handed to').toBe(0)
    expect(puts.get(other.nodeId)).toBe(1)

    // n1 as a node that does not know the flag: it answers without keeping, and n0 sends the put after all
    const receive = n1.dm.receive.bind(n1.dm)
    n1.dm.receive = async (req, from) => {
      const res = await receive({ ...req, keep: false }, from)
      return { ...res, kept: false }
    }
    const second = await alice.dm(b.id, 'kept by a put')
    expect(second.state).toBe('delivered')
    await waitFor(() => stored(n1, conversation) === 2 && stored(other, conversation) === 2, { what: 'both copies of the second DM' })
    expect(puts.get(n1.nodeId)).toBe(1)
    expect((await alice.dmHistory(b.id)).messages.map(m => m.text)).toEqual(['kept by the hand-off', 'kept by a put'])
  })

  it('survives a reconnect to another node, reaches a second device, pages in order with no duplicate either way', async () => {
    mesh = await startMesh(4)
    await mesh.converged(4)
    const [n0, n1, n2, n3] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode, MeshchatNode]
    const a = user()
    const b = user()
    const alice = await mesh.client(n0, 'alice', { privateKey: a.key })
    const bob = await mesh.client(n1, 'bob', { privateKey: b.key })
    await waitFor(() => n0.presence.replica.user(b.id) != null && n1.presence.replica.user(a.id) != null, { timeoutMs: 30_000, what: 'presence of both' })
    const sent: string[] = []
    for (let i = 0; i < 9; i++) sent.push((await alice.dm(b.id, `a${i}`)).id)
    for (let i = 0; i < 4; i++) sent.push((await bob.dm(a.id, `b${i}`)).id)
    sent.push((await alice.dm(b.id, 'a-last')).id)

    // the whole conversation, as each side sees it, in the order it was written
    const all = await alice.dmHistory(b.id, { limit: 100 })
    expect(all.more).toBe(false)
    expect(all.messages.map(m => m.id)).toEqual(sent)
    expect(all.messages.every(m => m.via === 'history')).toBe(true)
    expect(all.messages[9]).toMatchObject({ from: b.id, to: a.id, name: 'bob', text: 'b0' })
    expect((await bob.dmHistory(a.id, { limit: 100 })).messages.map(m => m.id)).toEqual(sent)

    // a reload: alice comes back with the same key through another node
    await alice.close()
    const alice2 = await mesh.client(n2, 'alice', { privateKey: a.key })
    expect((await alice2.dmHistory(b.id)).messages.map(m => m.text)).toEqual([...Array.from({ length: 9 }, (_, i) => `a${i}`), 'b0', 'b1', 'b2', 'b3', 'a-last'])
    // a second device of bob, on a fourth node, that was never online while the DMs flowed
    const bob2 = await mesh.client(n3, 'bob', { privateKey: b.key })
    expect((await bob2.dmHistory(a.id, { limit: 100 })).messages.map(m => m.id)).toEqual(sent)

    // pages of 4, back from the newest and forward from the start: in order, each message once
    const back = await pageBack(bob2, a.id, 4)
    expect(back.map(m => m.id)).toEqual(sent)
    const forward = await pageForward(alice2, b.id, 4, `${'0'.repeat(16)}${'00'.repeat(32)}`)
    expect(forward.map(m => m.id)).toEqual(sent)
    // resume: what came after the last message this device had (the client keeps the newest cursor per conversation)
    const seen = back[7]!.cursor
    const newest = bob2.dmCursor(a.id)
    expect(newest).toBe(back.at(-1)!.cursor)
    const late = (await alice2.dm(b.id, 'after the reload')).id
    expect((await pageForward(bob2, a.id, 3, seen)).map(m => m.id)).toEqual([...sent.slice(8), late])
    expect((await bob2.dmHistory(a.id, { after: newest })).messages.map(m => m.id)).toEqual([late])

    // bob's first device goes offline; the DM sent meanwhile is taken live by his second device (so no mailbox
    // keeps it), and the first device catches up from the conversation's history when it reconnects
    const atBob = collect(bob)
    bob.disconnect({ reconnect: false })
    await waitFor(() => !n2.presence.userNodes(b.id).includes(n1.nodeId), { timeoutMs: 30_000, what: "bob's first device gone from presence" })
    const away = await alice2.dm(b.id, 'while you were away')
    expect(away.state).toBe('delivered')
    await bob.connect()
    await waitFor(() => atBob.some(m => m.id === away.id), { timeoutMs: 30_000, what: 'the missed DM after the reconnect' })
    expect(atBob.filter(m => m.id === away.id)).toMatchObject([{ via: 'history', text: 'while you were away', from: a.id }])
    // a live DM the first device had not acknowledged yet when it went (an ack leaves within 50 ms) is put
    // in the mailbox; it comes back through it, is dropped by id, and is removed once acknowledged
    await waitFor(() => [n0, n1, n2, n3].every(n => n.store.mailboxCount(b.id) === 0), { timeoutMs: 30_000, what: 'no mailbox copy left' })
    expect(atBob.filter(m => m.id === late)).toHaveLength(0)
    expect(new Set(atBob.map(m => m.id)).size).toBe(atBob.length)
  })

  it('an owner stopped: the other owner serves the history, the new owners are handed it, and then they serve it alone', async () => {
    mesh = await startMesh(4)
    await mesh.converged(4)
    const a = user()
    const b = user()
    const conversation = conversationId(a.id, b.id)
    const owners = mesh.nodes[0]!.dm.history.owners(conversation)
    expect(owners).toHaveLength(2)
    const byId = (id: string): MeshchatNode => mesh!.nodes.find(n => n.nodeId === id)!
    // the two users sit on the two nodes that do not own their conversation
    const others = mesh.nodes.filter(n => !owners.includes(n.nodeId))
    const alice = await mesh.client(others[0]!, 'alice', { privateKey: a.key })
    const bob = await mesh.client(others[1]!, 'bob', { privateKey: b.key })
    await waitFor(() => others[0]!.presence.replica.user(b.id) != null, { timeoutMs: 30_000, what: 'bob in presence' })
    const sent: string[] = []
    for (let i = 0; i < 5; i++) sent.push((await alice.dm(b.id, `m${i}`)).id)
    // acknowledged means kept by both owners, and by no one else
    for (const o of owners) expect(stored(byId(o), conversation), `owner ${o}`).toBe(5)
    for (const n of others) expect(stored(n, conversation), 'a node that does not own the conversation').toBe(0)

    // one owner dies: the other one answers, and rebalancing hands the history to the owner that took its place
    await byId(owners[0]!).stop({ graceful: false })
    await mesh.converged(3)
    expect((await bob.dmHistory(a.id)).messages.map(m => m.id)).toEqual(sent)
    const owners2 = others[0]!.dm.history.owners(conversation)
    expect(owners2).toContain(owners[1])
    const fresh = owners2.find(o => o !== owners[1])!
    await waitFor(() => stored(byId(fresh), conversation) === 5, { timeoutMs: 30_000, what: 'the new owner to be handed the history' })

    // the last original owner dies too: the history lives on the nodes that took over
    await byId(owners[1]!).stop({ graceful: false })
    await mesh.converged(2)
    await waitFor(() => others.every(n => stored(n, conversation) === 5), { timeoutMs: 30_000, what: 'both remaining nodes to hold the history' })
    expect((await alice.dmHistory(b.id)).messages.map(m => m.id)).toEqual(sent)
  })

  it("someone else's conversation is refused with NotParticipantError, to a client and (NotEntitledError) to a node that hosts neither participant", async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [n0, n1] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const a = user()
    const b = user()
    const alice = await mesh.client(n0, 'alice', { privateKey: a.key })
    await mesh.client(n1, 'bob', { privateKey: b.key })
    await waitFor(() => n0.presence.replica.user(b.id) != null, { timeoutMs: 30_000, what: 'bob in presence' })
    await alice.dm(b.id, 'between us')
    const carol = await mesh.client(n1, 'carol')
    // the client library only asks for its own conversations; ask for theirs on the wire
    const raw = carol as unknown as { request: (body: object) => Promise<unknown> }
    const err = await rejectionOf(raw.request({ dmHistory: { conversation: conversationId(a.id, b.id), limit: 50 } }))
    expect(err).toBeInstanceOf(NotParticipantError)
    // carol's own session still works, and a malformed conversation id is a typed refusal too
    expect((await carol.dmHistory(a.id)).messages).toEqual([])
    expect((await rejectionOf(raw.request({ dmHistory: { conversation: 'not a conversation', limit: 5 } }))).name).toBe('InvalidQueryError')
    // node to node: a peer that owns nothing and hosts neither user is refused
    const stranger = peerIdFromString(userIdOf(generateUserKey().publicKey.raw))
    const owner = mesh.nodes.find(n => n.dm.history.owners(conversationId(a.id, b.id)).includes(n.nodeId))!
    const res = await owner.sync.answer({ dmHistory: { conversation: conversationId(a.id, b.id), limit: 10 } }, stranger)
    expect(res.error?.code).toBe(new NotEntitledError().code)
    expect(res.history).toBeUndefined()
    // a peer handing over a DM whose text was changed after signing stores nothing: the put is refused
    // with the forged signature's error (an honest node hands on only events it checked)
    const conversation = conversationId(a.id, b.id)
    const held = owner.store.dmPage(conversation, { limit: 1 }).events[0]!
    const signed = SignedEvent.decode(held.event)
    const ev = Event.decode(signed.payload)
    const tampered = SignedEvent.encode({ payload: Event.encode({ ...ev, dm: { to: ev.dm!.to, body: new TextEncoder().encode('between us!') } }), signature: signed.signature })
    const put = await owner.sync.answer({ dmHistoryPut: { events: [{ event: tampered, hlc: held.hlc, origin: held.origin }] } }, stranger)
    expect(put.error?.code).toBe(new BadSignatureError().code)
    expect(put.ok).toBeUndefined()
    expect(stored(owner, conversation)).toBe(1)
    // a cursor beyond what a stamp can be is a typed refusal
    const far = await owner.sync.answer({ dmHistory: { conversation, before: { hlc: 1n << 63n, id: new Uint8Array(32) }, limit: 5 } }, stranger)
    expect(far.error?.code).toBe(new InvalidQueryError().code)
  })

  it('retention removes old DMs from the history like room messages', async () => {
    mesh = await startMesh(2, { timings: { ...TEST_TIMINGS, pruneIntervalMs: 200 }, retention: { maxAgeMs: 0, maxPerRoom: 3 } })
    await mesh.converged(2)
    const [n0, n1] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const a = user()
    const b = user()
    const alice = await mesh.client(n0, 'alice', { privateKey: a.key })
    const bob = await mesh.client(n1, 'bob', { privateKey: b.key })
    await waitFor(() => n0.presence.replica.user(b.id) != null, { timeoutMs: 30_000, what: 'bob in presence' })
    const sent: string[] = []
    for (let i = 0; i < 6; i++) sent.push((await alice.dm(b.id, `m${i}`)).id)
    const conversation = conversationId(a.id, b.id)
    await waitFor(() => mesh!.nodes.every(n => stored(n, conversation) <= 3), { timeoutMs: 30_000, what: 'retention to prune the conversation' })
    expect((await bob.dmHistory(a.id)).messages.map(m => m.id)).toEqual(sent.slice(3))
  })
})
