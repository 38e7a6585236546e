import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { LIMITS } from '../../client/src/protocol/limits.js'
import { userIdOf } from '../../client/src/protocol/keys.js'
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
    const since = Date.now()
    for (let i = 0; i < extra; i++) {
      b.presence.put({ userId: userIdOf(randomBytes(32)), deviceId: `${b.incarnation.toString(36)}-crowd${i}`, name: `fan ${i}`, status: 'online', rooms: ['stadium'], since })
    }
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
    const gone = `${b.incarnation.toString(36)}-crowd${extra - 1}`
    b.presence.del(gone)
    await waitFor(() => fan.rosterCount('stadium') === extra + 2, { timeoutMs: 30_000, what: 'the count to drop by the crowd member who left' })
  }, 180_000)
})
