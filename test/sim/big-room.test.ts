import { afterEach, describe, expect, it } from 'vitest'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import { addCrowd, crowdDevice, roomMeshReady } from '../helpers/rooms.js'
import { connectRaw, signRawEvent } from '../helpers/raw-client.js'
import { LIMITS } from '../../client/src/protocol/limits.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { TestMesh } from '../helpers/mesh.js'

/**
 * A room with more members than a roster snapshot carries. The whole list of a room of tens of
 * thousands is megabytes in one frame, against a session's send queue bound (4 MiB): with 36,000
 * members over 4 nodes a join lost its connection, cut as too slow. A joining client now gets
 * LIMITS.maxRosterSnapshot members, itself first, marked partial, and the diffs of everyone after.
 */
describe('a room bigger than a roster snapshot', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  it('gives a joining client a partial roster with itself in it, then the diffs of every member', async () => {
    mesh = await startMesh(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const host = await mesh.client(b, 'host')
    await host.join('stadium')
    // the room's other members on b, as b's presence holds its sessions' devices
    const extra = LIMITS.maxRosterSnapshot + 1000
    addCrowd(b, 'stadium', extra)
    await waitFor(() => b.presence.roster('stadium').length === extra + 1, { timeoutMs: 60_000, what: 'the crowd in b\'s roster' })

    const fan = await mesh.client(a, 'late fan')
    const rosters: Array<{ size: number, partial: boolean, count: number, snapshot: boolean }> = []
    fan.addEventListener('roster', e => { rosters.push({ size: e.detail.members.length, partial: e.detail.partial, count: e.detail.count, snapshot: e.detail.snapshot }) })
    await fan.join('stadium')
    // the snapshot: at most maxRosterSnapshot, the joining user among them, marked partial
    await waitFor(() => fan.rosterPartial('stadium'), { timeoutMs: 60_000, what: 'a partial roster on the late fan' })
    const first = rosters.find(r => r.partial)
    expect(first?.size).toBe(LIMITS.maxRosterSnapshot)
    // the count is the whole room's: the crowd, the host and the fan
    expect(first?.count).toBe(extra + 2)
    expect(first?.snapshot).toBe(true)
    expect(fan.rosterCount('stadium')).toBe(extra + 2)
    expect(fan.roster('stadium').some(m => m.userId === fan.userId)).toBe(true)
    expect(fan.state).toBe('connected')
    // a member who joins later shows up by a diff
    const latecomer = await mesh.client(b, 'latecomer')
    await latecomer.join('stadium')
    await waitFor(() => fan.roster('stadium').some(m => m.userId === latecomer.userId), { timeoutMs: 30_000, what: 'the latecomer in the late fan\'s roster' })
    expect(fan.rosterPartial('stadium')).toBe(true)
    expect(fan.rosterCount('stadium')).toBe(extra + 3)
    expect(rosters.at(-1)).toMatchObject({ snapshot: false, count: extra + 3 })
    // and one who leaves, by a diff too, though the fan's roster never showed them
    const gone = crowdDevice(b, extra - 1)
    b.presence.del(gone)
    await waitFor(() => fan.rosterCount('stadium') === extra + 2, { timeoutMs: 30_000, what: 'the count to drop by the crowd member who left' })
  }, 180_000)
})

/**
 * Typing notices in a room of more than LIMITS.maxTypingRoom members: each went to every member, so a
 * room of 5,000 with one member in a hundred typing (a notice each 2.5 s) made about 100,000 frames a second.
 */
describe('typing in a very big room', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  it('is neither sent by the client nor passed on by the node; in a smaller room it is', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const alice = await mesh.client(a, 'alice')
    const bob = await mesh.client(b, 'bob')
    for (const c of [alice, bob]) {
      await c.join('arena')
      await c.join('corner')
    }
    await roomMeshReady([a, b], 'arena')
    await roomMeshReady([a, b], 'corner')
    addCrowd(b, 'arena', LIMITS.maxTypingRoom)
    await waitFor(() => alice.rosterCount('arena') === LIMITS.maxTypingRoom + 2, { timeoutMs: 30_000, what: 'alice to count the whole arena' })
    const typing: string[] = []
    bob.addEventListener('typing', e => { typing.push(e.detail.room) })
    const typingIn = async (): Promise<number> => (await a.metrics.messagesIn.get()).values.find(v => v.labels.source === 'client' && v.labels.kind === 'typing')?.value ?? 0

    // the client knows the arena's size and sends nothing
    await alice.typing('arena')
    expect(await typingIn()).toBe(0)
    // a member that sends one anyway: acknowledged, counted, not passed on
    const guest = await connectRaw(tcpGateway(a))
    await guest.hello('guest')
    expect((await guest.request({ join: { room: 'arena', backlog: 0 } })).error).toBeUndefined()
    const notice = await signRawEvent(guest.key, { typing: { room: 'arena', active: true } })
    expect((await guest.request({ publish: { event: notice as Uint8Array<ArrayBuffer> } })).error).toBeUndefined()
    await guest.close()
    expect((await a.metrics.withheld.get()).values.find(v => v.labels.kind === 'typing' && v.labels.source === 'client')?.value).toBe(1)
    // in the small room it goes through, and it is the only notice bob got
    await alice.typing('corner')
    await waitFor(() => typing.length > 0, { what: "bob to see alice typing in the corner" })
    expect(typing).toEqual(['corner'])
  }, 120_000)
})
