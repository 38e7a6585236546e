import { afterEach, describe, expect, it } from 'vitest'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import { connectRaw, signRawEvent } from '../helpers/raw-client.js'
import { positionOf } from '../../client/src/cursor.js'
import { rejectionOf } from '../helpers/assert.js'
import { addCrowd, recordMessages, roomMeshReady } from '../helpers/rooms.js'
import { NotJoinedError, UnknownEventError } from '../../client/src/protocol/errors.js'
import { generateUserKey } from '../../client/src/protocol/keys.js'
import { LIMITS } from '../../client/src/protocol/limits.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { ChatClient, DirectMessage, ReadReceipt } from '../../client/src/node.js'

function receipts (c: ChatClient): ReadReceipt[] {
  const got: ReadReceipt[] = []
  c.addEventListener('receipt', e => { got.push(e.detail) })
  return got
}

function dms (c: ChatClient): DirectMessage[] {
  const got: DirectMessage[] = []
  c.addEventListener('dm', e => { got.push(e.detail) })
  return got
}

/** receipts a node took from its own clients */
async function receiptsIn (node: MeshchatNode): Promise<number> {
  const m = await node.metrics.messagesIn.get()
  return m.values.find(v => v.labels.source === 'client' && v.labels.kind === 'receipt')?.value ?? 0
}

/** a cursor of a message that does not exist anywhere */
const nowhere = `${(BigInt(Date.now()) << 16n).toString(16).padStart(16, '0')}${'ab'.repeat(32)}`

describe('read receipts', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  it('a room receipt crosses nodes to the members; a DM receipt reaches the other participant only', async () => {
    mesh = await startMesh(3)
    await mesh.converged(3)
    const [n0, n1, n2] = mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const bobKey = generateUserKey()
    const alice = await mesh.client(n0, 'alice')
    const bob = await mesh.client(n1, 'bob', { privateKey: bobKey })
    const carol = await mesh.client(n2, 'carol')
    for (const c of [alice, bob, carol]) await c.join('lobby')
    await roomMeshReady([n0, n1, n2], 'lobby')
    const atAlice = receipts(alice)
    const atCarol = receipts(carol)
    const atBob = receipts(bob)
    const bobGot = recordMessages(bob)

    const first = await alice.send('lobby', 'one')
    const second = await alice.send('lobby', 'two')
    await waitFor(() => bobGot.length === 2, { what: 'bob to get both messages' })
    await bob.read('lobby', bobGot[1]!.cursor)
    for (const [who, got] of [['alice', atAlice], ['carol', atCarol]] as const) {
      await waitFor(() => got.find(r => r.room === 'lobby' && r.userId === bob.userId), { what: `${who} to see bob's receipt` })
      expect(got.filter(r => r.userId === bob.userId), who).toEqual([{ room: 'lobby', userId: bob.userId, name: 'bob', id: second.id, cursor: second.cursor }])
    }
    expect(alice.readBy('lobby')).toEqual([{ userId: bob.userId, name: 'bob', cursor: second.cursor }])
    // reading an older message again does not move bob back, and is not even sent
    await bob.read('lobby', first.cursor)
    expect(await receiptsIn(n1)).toBe(1)

    // a DM: bob reads alice's DM; alice sees "read", carol sees nothing of it
    await waitFor(() => n0.presence.replica.user(bob.userId) != null, { what: 'bob in presence' })
    const bobDms = dms(bob)
    const sent = await alice.dm(bob.userId, 'psst')
    await waitFor(() => bobDms.length === 1, { what: 'the DM' })
    await bob.readDm(alice.userId, bobDms[0]!.cursor)
    await waitFor(() => alice.dmReadBy(bob.userId), { what: 'alice to see bob read the DM' })
    expect(alice.dmReadBy(bob.userId)).toEqual({ userId: bob.userId, name: 'bob', cursor: sent.cursor })
    expect(atAlice.at(-1)).toEqual({ peer: bob.userId, userId: bob.userId, name: 'bob', id: sent.id, cursor: sent.cursor })
    // carol saw exactly one receipt (the room one); a later room receipt reaching her shows the DM one was not on its way
    const third = await alice.send('lobby', 'three')
    await waitFor(() => bobGot.length === 3, { what: 'the third message' })
    await bob.read('lobby', third.cursor)
    await waitFor(() => atCarol.length === 2, { what: "carol to see bob's second room receipt" })
    expect(atCarol.every(r => r.room === 'lobby')).toBe(true)
    // bob's own receipts never came back to the device that sent them
    expect(atBob).toEqual([])

    // bob's second device, on carol's node, which never handled the DM: it reads the next DM there, and alice
    // and bob's first device both learn it
    const bob2 = await mesh.client(n2, 'bob', { privateKey: bobKey })
    await waitFor(() => n0.presence.userNodes(bob.userId).length === 2, { what: "bob's second device in presence" })
    // a DM this node never saw: it asks the conversation's owners before it accepts the receipt
    await bob2.readDm(alice.userId, sent.cursor)
    const next = await alice.dm(bob.userId, 'again')
    const page = await bob2.dmHistory(alice.userId)
    expect(page.messages.map(m => m.id)).toEqual([sent.id, next.id])
    await bob2.readDm(alice.userId, next.cursor)
    await waitFor(() => alice.dmReadBy(bob.userId)?.cursor === next.cursor, { what: 'alice to see the second receipt' })
    await waitFor(() => atBob.length === 1, { what: "bob's first device to see his second device's receipt" })
    expect(atBob[0]).toEqual({ peer: alice.userId, userId: bob.userId, name: 'bob', id: next.id, cursor: next.cursor })
  })

  it('a receipt for a message the reader never received is refused with UnknownEventError; outside the room with NotJoinedError', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [n0, n1] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const alice = await mesh.client(n0, 'alice')
    const bob = await mesh.client(n1, 'bob')
    const carol = await mesh.client(n1, 'carol')
    for (const c of [alice, bob, carol]) await c.join('lobby')
    await alice.join('backroom')
    await roomMeshReady([n0, n1], 'lobby')
    const atAlice = receipts(alice)
    const secret = await alice.send('backroom', 'not for the lobby')
    // a message that exists nowhere, and a real one from a room the reader is not in, claimed for the lobby
    expect(await rejectionOf(bob.read('lobby', nowhere))).toBeInstanceOf(UnknownEventError)
    expect(await rejectionOf(bob.read('lobby', secret.cursor))).toBeInstanceOf(UnknownEventError)
    expect(await rejectionOf(bob.read('backroom', secret.cursor))).toBeInstanceOf(NotJoinedError)
    // the right id at the wrong stamp
    const inLobby = await alice.send('lobby', 'hello')
    const wrongStamp = (BigInt('0x' + inLobby.cursor.slice(0, 16)) + 1n).toString(16).padStart(16, '0') + inLobby.cursor.slice(16)
    expect(await rejectionOf(bob.read('lobby', wrongStamp))).toBeInstanceOf(UnknownEventError)
    // DMs: a DM between alice and bob is not carol's to acknowledge, and an unknown one is nobody's
    await waitFor(() => n0.presence.replica.user(bob.userId) != null, { what: 'bob in presence' })
    const dm = await alice.dm(bob.userId, 'for bob')
    expect(await rejectionOf(carol.readDm(alice.userId, dm.cursor))).toBeInstanceOf(UnknownEventError)
    expect(await rejectionOf(bob.readDm(alice.userId, nowhere))).toBeInstanceOf(UnknownEventError)
    // nothing of it reached alice; the sessions keep working, and a real receipt goes through
    await bob.read('lobby', inLobby.cursor)
    await waitFor(() => atAlice.length > 0, { what: 'the valid receipt' })
    expect(atAlice).toEqual([{ room: 'lobby', userId: bob.userId, name: 'bob', id: inLobby.id, cursor: inLobby.cursor }])
  })

  it('with receipts: false a client sends none', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [n0, n1] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const alice = await mesh.client(n0, 'alice')
    const quiet = await mesh.client(n1, 'quiet', { receipts: false })
    const bob = await mesh.client(n1, 'bob')
    for (const c of [alice, quiet, bob]) await c.join('lobby')
    await roomMeshReady([n0, n1], 'lobby')
    const atAlice = receipts(alice)
    const got = recordMessages(quiet)
    const m = await alice.send('lobby', 'read me')
    await waitFor(() => got.length === 1, { what: 'the message' })
    await waitFor(() => n0.presence.replica.user(quiet.userId) != null, { what: 'quiet in presence' })
    const d = await alice.dm(quiet.userId, 'and me')
    // read() resolves without the node having taken anything from this client
    await quiet.read('lobby', m.cursor)
    await quiet.readDm(alice.userId, d.cursor)
    expect(await receiptsIn(n1)).toBe(0)
    // the same node counts a receipt from a client that sends them, and alice gets that one alone
    await bob.read('lobby', m.cursor)
    expect(await receiptsIn(n1)).toBe(1)
    await waitFor(() => atAlice.length > 0, { what: "bob's receipt" })
    expect(atAlice.map(r => r.userId)).toEqual([bob.userId])
  })

  it('a room of more than LIMITS.maxReceiptRoom members carries no receipts: the client sends none, the node passes on none', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [n0, n1] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const alice = await mesh.client(n0, 'alice')
    const bob = await mesh.client(n1, 'bob')
    for (const c of [alice, bob]) await c.join('hall')
    await roomMeshReady([n0, n1], 'hall')
    // the rest of the hall: devices on n1, as its presence holds its sessions' devices
    addCrowd(n1, 'hall', LIMITS.maxReceiptRoom, { name: i => `guest ${i}` })
    await waitFor(() => alice.rosterCount('hall') === LIMITS.maxReceiptRoom + 2 && bob.rosterCount('hall') === LIMITS.maxReceiptRoom + 2, { what: 'both to count the whole hall' })
    const atAlice = receipts(alice)
    const bobGot = recordMessages(bob)
    const m = await alice.send('hall', 'one')
    await waitFor(() => bobGot.length === 1, { what: 'bob to get the message' })
    // the client knows the room's size and sends nothing
    await bob.read('hall', m.cursor)
    expect(await receiptsIn(n1)).toBe(0)
    // a member that sends one anyway (a raw session, as an older client would): acknowledged, counted, not passed on
    const guest = await connectRaw(tcpGateway(n1))
    await guest.hello('guest')
    expect((await guest.request({ join: { room: 'hall', backlog: 0 } })).error).toBeUndefined()
    const pos = positionOf(m.cursor)
    const receipt = await signRawEvent(guest.key, { receipt: { room: 'hall', peer: '', id: pos.id, hlc: pos.hlc } })
    const ack = await guest.request({ publish: { event: receipt as Uint8Array<ArrayBuffer> } })
    expect(ack.error).toBeUndefined()
    expect(ack.publishAck).toBeDefined()
    await guest.close()
    const withheld = async (): Promise<number> => (await n1.metrics.withheld.get()).values.find(v => v.labels.source === 'client' && v.labels.kind === 'receipt')?.value ?? 0
    expect(await withheld()).toBe(1)
    // what alice gets next from the hall is bob's message, with no receipt before it
    const aliceGot = recordMessages(alice)
    await bob.send('hall', 'after the receipt')
    await waitFor(() => aliceGot.length === 1, { what: "alice to get bob's message" })
    expect(atAlice).toEqual([])
  })
})
