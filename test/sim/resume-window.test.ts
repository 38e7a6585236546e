/**
 * A resume replays from a little before the cursor (`resumeSlackMs`), for messages stamped just
 * before it that reached the node after it. The client says what it holds of that window (Join.have:
 * a digest of the ids): when it holds all of it, the node sends none of it again. Real nodes and clients.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { startMesh, waitFor } from '../helpers/mesh.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { ChatClient, ChatMessage } from '../../client/src/node.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

function collect (c: ChatClient, room: string): ChatMessage[] {
  const got: ChatMessage[] = []
  c.addEventListener('message', e => { if (e.detail.room === room) got.push(e.detail) })
  return got
}

async function slack (node: MeshchatNode, outcome: string): Promise<number> {
  const m = await node.metrics.resumeSlack.get()
  return m.values.filter(v => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0)
}

describe('the window before a resume\'s cursor', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  it('is not sent again to a client that holds all of it; what came after the cursor is', async () => {
    mesh = await startMesh(1, { resumeSlackMs: 60_000 })
    const [a] = mesh.nodes as [MeshchatNode]
    const reader = await mesh.client(a, 'reader', { backoff: { minMs: 50, maxMs: 100 } })
    const writer = await mesh.client(a, 'writer')
    await reader.join('r')
    await writer.join('r')
    const got = collect(reader, 'r')
    for (let i = 0; i < 30; i++) await writer.send('r', `m${i}`)
    await waitFor(() => got.length === 30, { what: 'the 30 messages at the reader' })

    // the connection drops and comes back: every message is in the window before the cursor, and held
    reader.disconnect()
    await waitFor(async () => reader.state === 'connected' && await slack(a, 'held') >= 30, { what: 'the resume, its window held' })
    expect(await slack(a, 'sent'), 'nothing of the window sent').toBe(0)
    expect(got.length, 'nothing shown twice').toBe(30)

    // away while 5 more are sent: those 5 come, the 30 before the cursor do not
    reader.disconnect({ reconnect: false })
    await waitFor(() => reader.state !== 'connected', { what: 'the reader offline' })
    for (let i = 30; i < 35; i++) await writer.send('r', `m${i}`)
    const replayed: ChatMessage[] = []
    reader.addEventListener('message', e => { if (e.detail.via === 'replay') replayed.push(e.detail) })
    await reader.connect()
    await waitFor(() => got.length === 35, { what: 'the 5 sent meanwhile' })
    expect(replayed.map(m => m.text)).toEqual(['m30', 'm31', 'm32', 'm33', 'm34'])
    expect(await slack(a, 'held')).toBe(60)
    expect(await slack(a, 'sent')).toBe(0)
    expect(got.map(m => m.text)).toEqual(Array.from({ length: 35 }, (_, i) => `m${i}`))
  })
})
