import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import { connectRaw } from '../helpers/raw-client.js'
import { openEvent, signEvent } from '../../client/src/protocol/signing.js'
import { DeliveryKind } from '../../client/src/protocol/pb/client.js'
import { SignedEvent } from '../../client/src/protocol/pb/event.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { ChatClient, DirectMessage } from '../../client/src/node.js'
import type { PrivateKey } from '@libp2p/interface'
import type { Message } from '@libp2p/gossipsub'

function collect (c: ChatClient): DirectMessage[] {
  const got: DirectMessage[] = []
  c.addEventListener('dm', e => got.push(e.detail))
  return got
}

async function counter (node: MeshchatNode, outcome: string): Promise<number> {
  const m = await node.metrics.dms.get()
  return m.values.find(v => v.labels.outcome === outcome)?.value ?? 0
}

/** a user key and its id, before the user is online anywhere */
async function offlineUser (): Promise<{ key: PrivateKey, id: string }> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

describe('direct messages', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  it('(a)(b) users on different nodes exchange DMs both ways; a third node sees no trace', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes
    const gossipOnC: Message[] = []
    c!.mesh.services.pubsub.addEventListener('message', e => gossipOnC.push(e.detail))
    const alice = await mesh.client(a!, 'alice')
    const bob = await mesh.client(b!, 'bob')
    const atAlice = collect(alice)
    const atBob = collect(bob)
    await waitFor(() => a!.presence.replica.user(bob.userId) != null && b!.presence.replica.user(alice.userId) != null, { what: 'presence of both' })
    const r1 = await alice.dm(bob.userId, 'secret from alice')
    expect(r1.state).toBe('delivered')
    expect(r1.copies).toBe(1)
    const r2 = await bob.dm(alice.userId, 'secret from bob')
    expect(r2.state).toBe('delivered')
    await waitFor(() => atBob.some(d => d.text === 'secret from alice') && atAlice.some(d => d.text === 'secret from bob'), { what: 'both DMs' })
    const fromAlice = atBob.find(d => d.text === 'secret from alice')!
    expect(fromAlice.from).toBe(alice.userId)
    expect(fromAlice.to).toBe(bob.userId)
    expect(fromAlice.name).toBe('alice')
    expect(fromAlice.via).toBe('live')
    // exactly once each
    expect(atBob.filter(d => d.id === r1.id)).toHaveLength(1)
    expect(atAlice.filter(d => d.id === r2.id)).toHaveLength(1)
    // the third node: no gossip carried the DMs, its DM handler never ran, it stores nothing
    const needle = new TextEncoder().encode('secret from')
    const contains = (hay: Uint8Array): boolean => {
      outer: for (let i = 0; i + needle.length <= hay.length; i++) {
        for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer
        return true
      }
      return false
    }
    expect(gossipOnC.filter(m => contains(m.data)), 'no gossip on the third node carries the DM').toHaveLength(0)
    expect(await counter(c!, 'received'), 'DM handler of the third node never ran').toBe(0)
    expect(await counter(a!, 'received')).toBe(1)
    expect(await counter(b!, 'received')).toBe(1)
    expect(c!.store.mailboxTotal()).toBe(0)
  })

  it('(c) a DM to an offline user is queued and delivered exactly once when they attach to another node', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes
    const bob = await offlineUser()
    const alice = await mesh.client(a!, 'alice')
    const r = await alice.dm(bob.id, 'are you there?')
    expect(r.state).toBe('queued')
    expect(r.copies).toBe(2)
    const owners = a!.dm.owners(bob.id)
    expect(owners).toHaveLength(2)
    for (const o of owners) {
      const node = mesh.nodes.find(n => n.nodeId === o)!
      expect(node.store.mailboxCount(bob.id), `mailbox replica ${o.slice(-6)}`).toBe(1)
    }
    // bob attaches to a node that is not alice's
    const target = [b!, c!].find(n => n.nodeId !== a!.nodeId)!
    const bobClient = await mesh.client(target, 'bob', { privateKey: bob.key })
    const got = collect(bobClient)
    await waitFor(() => got.length === 1, { what: 'the queued DM' })
    expect(got[0]!.text).toBe('are you there?')
    expect(got[0]!.via).toBe('mailbox')
    expect(got[0]!.id).toBe(r.id)
    // the copies are removed once the client acked
    await waitFor(() => mesh!.nodes.every(n => n.store.mailboxCount(bob.id) === 0), { what: 'mailbox copies removed after ack' })
    // a reconnect does not deliver it again
    bobClient.disconnect()
    await waitFor(() => bobClient.state === 'connected', { what: 'reconnect' })
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(got).toHaveLength(1)
  })

  it('an attach asks no owner for the mailbox: the owners hand the mail to the node the device registered on', async () => {
    mesh = await startMesh(4)
    await mesh.converged(4)
    const bob = await offlineUser()
    const sender = mesh.nodes[0]!
    const alice = await mesh.client(sender, 'alice')
    const sent = [await alice.dm(bob.id, 'one'), await alice.dm(bob.id, 'two'), await alice.dm(bob.id, 'three')]
    expect(sent.map(r => r.state)).toEqual(['queued', 'queued', 'queued'])
    const owners = sender.dm.owners(bob.id)
    // every node counts the mailbox reads it asks of others
    let pulls = 0
    for (const n of mesh.nodes) {
      const call = n.sync.call.bind(n.sync)
      n.sync.call = async (...args: Parameters<typeof call>) => {
        if (args[1].mailbox != null) pulls++
        return call(...args)
      }
    }
    // once on a node that holds no copy, once on an owner (its own copy, and the other owner's); the
    // device does not ack, so the second attach finds the mail still queued
    for (const target of [mesh.nodes.find(n => !owners.includes(n.nodeId) && n !== sender)!, mesh.nodes.find(n => n.nodeId === owners[0])!]) {
      const device = await connectRaw(tcpGateway(target), { key: bob.key })
      await device.hello('bob')
      await waitFor(async () => {
        const texts = new Set<string>()
        for (const f of device.frames) {
          if (f.delivery?.kind !== DeliveryKind.MAILBOX) continue
          texts.add((await openEvent(f.delivery.event)).text ?? '')
        }
        return texts.size === 3 && ['one', 'two', 'three'].every(t => texts.has(t))
      }, { what: `the three queued DMs on ${target.nodeId.slice(-6)}` })
      await device.close()
      await waitFor(() => !target.registry.hasUser(bob.id), { what: 'bob gone from the node' })
    }
    for (const o of owners) expect(mesh.nodes.find(n => n.nodeId === o)!.store.mailboxCount(bob.id), 'unacknowledged: still queued').toBe(3)
    expect(pulls, 'no node asked an owner for the mailbox').toBe(0)
  })

  it('a live DM to a device whose connection ends before it acknowledges the DM reaches the user\'s next attach, once', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const bob = await offlineUser()
    // a device that reads frames and never acks: what a connection that dropped right after the write looks like
    const device = await connectRaw(tcpGateway(b), { key: bob.key })
    await device.hello('bob')
    const alice = await mesh.client(a, 'alice')
    await waitFor(async () => (await a.presence.locate(bob.id)).includes(b.nodeId), { what: 'bob located on b' })
    const r = await alice.dm(bob.id, 'did you get this?')
    expect(r.state).toBe('delivered')
    await device.waitFrame(f => f.delivery != null, 'the live DM on the device')
    expect(mesh.nodes.every(n => n.store.mailboxCount(bob.id) === 0)).toBe(true)
    await device.close()
    await waitFor(async () => await counter(b, 'requeued') === 1, { what: 'the unacknowledged DM put in the mailbox' })
    const owners = b.dm.owners(bob.id)
    await waitFor(() => owners.every(o => mesh!.nodes.find(n => n.nodeId === o)!.store.mailboxCount(bob.id) === 1), { what: 'a copy on each mailbox owner' })
    const bobClient = await mesh.client(c, 'bob', { privateKey: bob.key })
    const got = collect(bobClient)
    await waitFor(() => got.length === 1, { what: 'the DM at bob\'s next attach' })
    expect(got[0]!.id).toBe(r.id)
    expect(got[0]!.via).toBe('mailbox')
    // acked this time: the copies go, and nothing comes again
    await waitFor(() => mesh!.nodes.every(n => n.store.mailboxCount(bob.id) === 0), { what: 'mailbox copies removed after the ack' })
    bobClient.disconnect()
    await waitFor(() => bobClient.state === 'connected', { what: 'reconnect' })
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(got).toHaveLength(1)
  })

  it('a device that acknowledges its live DMs leaves nothing behind when it goes', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const bob = await offlineUser()
    const first = await mesh.client(b, 'bob', { privateKey: bob.key })
    const got = collect(first)
    const alice = await mesh.client(a, 'alice')
    await waitFor(async () => (await a.presence.locate(bob.id)).includes(b.nodeId), { what: 'bob located on b' })
    for (let i = 0; i < 5; i++) expect((await alice.dm(bob.id, `live ${i}`)).state).toBe('delivered')
    await waitFor(() => got.length === 5, { what: 'five live DMs' })
    // the acks (sent within 50 ms) clear what the session kept
    await waitFor(() => [...b.registry.userSessions(bob.id)].every(s => s.pendingDmCount === 0), { what: 'the acks at b' })
    await first.close()
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(await counter(b, 'requeued')).toBe(0)
    expect(mesh.nodes.every(n => n.store.mailboxCount(bob.id) === 0)).toBe(true)
  })

  it('(d) one of the two mailbox nodes dies before the recipient comes back: still delivered', async () => {
    mesh = await startMesh(4)
    await mesh.converged(4)
    const bob = await offlineUser()
    const owners = mesh.nodes[0]!.dm.owners(bob.id)
    const sender = mesh.nodes.find(n => !owners.includes(n.nodeId))!
    const alice = await mesh.client(sender, 'alice')
    const r = await alice.dm(bob.id, 'survives a node loss')
    expect(r.state).toBe('queued')
    const victim = mesh.nodes.find(n => n.nodeId === owners[0])!
    await victim.crash()
    await waitFor(() => sender.presence.replica.liveNodes().length === 3, { what: 'the crash noticed' })
    // bob comes back on a node other than the dead one
    const home = mesh.nodes.find(n => n.running && n.nodeId !== sender.nodeId) ?? sender
    const bobClient = await mesh.client(home, 'bob', { privateKey: bob.key })
    const got = collect(bobClient)
    await waitFor(() => got.length === 1, { what: 'the DM despite a dead mailbox node' })
    expect(got[0]!.text).toBe('survives a node loss')
    // and the surviving mailbox re-replicated to the new owner set before delivery emptied it
    await waitFor(() => mesh!.nodes.filter(n => n.running).every(n => n.store.mailboxCount(bob.id) === 0), { what: 'copies removed' })
  })

  it('mailboxes move to new owners when membership changes, without loss', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    // four offline users with five DMs queued each: owners are chosen by hashing, so with one user
    // the new nodes could all hash below the first two (1 time in 28 over six additions)
    const users = await Promise.all([0, 1, 2, 3].map(async () => offlineUser()))
    const alice = await mesh.client(mesh.nodes[0]!, 'alice')
    const sentTo = new Map<string, string[]>()
    for (const u of users) {
      const ids: string[] = []
      for (let i = 0; i < 5; i++) ids.push((await alice.dm(u.id, `queued ${i}`)).id)
      sentTo.set(u.id, ids)
    }
    // add nodes until some user's owner set includes a node that did not exist when the DMs were queued
    let added: MeshchatNode | undefined
    let bob: { key: PrivateKey, id: string } | undefined
    for (let i = 0; i < 6 && added == null; i++) {
      const n = await mesh.addNode()
      await mesh.converged(mesh.nodes.length)
      bob = users.find(u => mesh!.nodes[0]!.dm.owners(u.id).includes(n.nodeId))
      if (bob != null) added = n
    }
    expect(added, 'some new node became a mailbox owner').toBeDefined()
    if (bob == null) return
    const sent = sentTo.get(bob.id) ?? []
    await waitFor(() => added!.store.mailboxCount(bob.id) === 5, { what: 'hand-off to the new owner' })
    // the old owners that are no longer owners drop their copies
    const owners = mesh.nodes[0]!.dm.owners(bob.id)
    await waitFor(() => mesh!.nodes.filter(n => !owners.includes(n.nodeId)).every(n => n.store.mailboxCount(bob.id) === 0), { what: 'non-owners drop their copy' })
    const bobClient = await mesh.client(added!, 'bob', { privateKey: bob.key })
    const got = collect(bobClient)
    await waitFor(() => got.length === 5, { what: 'all five delivered' })
    expect(got.map(d => d.id)).toEqual(sent)
    expect(got.map(d => d.text)).toEqual(sent.map((_, i) => `queued ${i}`))
  })

  it('a DM sent while the sender\'s node has not yet heard the recipient attach still arrives at once', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b] = mesh.nodes
    const alice = await mesh.client(a!, 'alice')
    const bob = await offlineUser()
    const bobClient = await mesh.client(b!, 'bob', { privateKey: bob.key })
    const got = collect(bobClient)
    // no wait for presence: a's view may still say bob is offline, so the DM may go to the mailbox
    const r = await alice.dm(bob.id, 'right after you arrived')
    await waitFor(() => got.length === 1, { timeoutMs: 2000, what: `the DM (${r.state}) to reach the freshly attached recipient` })
    expect(got[0]!.id).toBe(r.id)
    await waitFor(() => mesh!.nodes.every(n => n.store.mailboxCount(bob.id) === 0), { what: 'no copy left behind' })
  })

  it('(e) a recipient with two devices on two nodes gets it on both; the sender\'s other device gets a copy', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [a, b, c] = mesh.nodes
    const bobKey = await generateKeyPair('Ed25519')
    const aliceKey = await generateKeyPair('Ed25519')
    const alicePhone = await mesh.client(a!, 'alice', { privateKey: aliceKey })
    const aliceLaptop = await mesh.client(c!, 'alice', { privateKey: aliceKey })
    const bobPhone = await mesh.client(b!, 'bob', { privateKey: bobKey })
    const bobLaptop = await mesh.client(c!, 'bob', { privateKey: bobKey })
    const got = [collect(bobPhone), collect(bobLaptop), collect(aliceLaptop), collect(alicePhone)]
    await waitFor(() => a!.presence.replica.user(bobPhone.userId)?.nodes.length === 2 && a!.presence.replica.user(alicePhone.userId)?.nodes.length === 2, { what: 'both devices of both users in presence' })
    const r = await alicePhone.dm(bobPhone.userId, 'to all your devices')
    expect(r.state).toBe('delivered')
    expect(r.copies).toBe(2)
    await waitFor(() => got.slice(0, 3).every(g => g.length === 1), { what: 'bob\'s two devices and alice\'s laptop' })
    for (const [i, g] of got.slice(0, 3).entries()) expect(g[0]!.id, `device ${i}`).toBe(r.id)
    // the sending device does not get its own DM echoed
    expect(got[3]).toHaveLength(0)
  })

  it('(f) a forged DM is refused with an error code', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    const alice = await mesh.client(a!, 'alice')
    const bob = await mesh.client(b!, 'bob')
    const got = collect(bob)
    await waitFor(() => a!.presence.replica.user(bob.userId) != null, { what: 'bob in presence on a' })
    const mallory = await generateKeyPair('Ed25519')
    // signed by someone else than the user attached on the session
    const foreign = await signEvent(mallory, 'alice', { kind: 'dm', to: bob.userId, text: 'trust me' }, { now: Date.now(), nonce: new Uint8Array(12).fill(7) })
    const send = async (bytes: Uint8Array): Promise<unknown> => (alice as unknown as { request: (b: unknown) => Promise<unknown> }).request({ publish: { event: bytes } })
    await expect(send(foreign.bytes)).rejects.toMatchObject({ name: 'WrongAuthorError' })
    // alice's own key, but the text changed after signing
    const own = await signEvent((alice as unknown as { key: PrivateKey }).key, 'alice', { kind: 'dm', to: bob.userId, text: 'pay 10' }, { now: Date.now(), nonce: new Uint8Array(12).fill(1) })
    const signed = SignedEvent.decode(own.bytes)
    const payload = signed.payload.slice()
    // a byte offset: the payload also holds binary fields (key, nonce), so no decoding to text here
    const at = Buffer.from(payload).indexOf('pay 10')
    expect(at).toBeGreaterThan(0)
    payload[at + 4] = '9'.charCodeAt(0)
    await expect(send(SignedEvent.encode({ payload, signature: signed.signature }))).rejects.toMatchObject({ name: 'BadSignatureError', code: 7 })
    // and the genuine one still goes through
    const ok = await alice.dm(bob.userId, 'the real one')
    expect(ok.state).toBe('delivered')
    await waitFor(() => got.length === 1, { what: 'only the genuine DM' })
    expect(got[0]!.text).toBe('the real one')
  })

  it('refuses DMs past the mailbox cap with MailboxFullError, and rate-limits senders', async () => {
    mesh = await startMesh(2, { mailboxMaxPerUser: 3, ratePerSec: 1, burst: 5 })
    await mesh.converged(2)
    const bob = await offlineUser()
    const alice = await mesh.client(mesh.nodes[0]!, 'alice')
    for (let i = 0; i < 3; i++) expect((await alice.dm(bob.id, `m${i}`)).state).toBe('queued')
    await expect(alice.dm(bob.id, 'one too many')).rejects.toMatchObject({ name: 'MailboxFullError' })
    // every attempt spends a token, accepted or not: the fifth is the last of the burst, the sixth is rate limited
    await expect(alice.dm(bob.id, 'still full')).rejects.toMatchObject({ name: 'MailboxFullError' })
    const err = await alice.dm(bob.id, 'too fast').catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'RateLimitedError' })
    expect((err as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0)
  })
})
