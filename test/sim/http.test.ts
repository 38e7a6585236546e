import { afterEach, describe, expect, it } from 'vitest'
import { startMesh, waitFor } from '../helpers/mesh.js'
import type { TestMesh } from '../helpers/mesh.js'

/** value of an unlabeled (or first matching) sample in Prometheus text */
function sample (text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(name + (labels === '' ? ' ' : `{${labels}`)) || (labels === '' && l.startsWith(name + '{')))
  return line == null ? undefined : Number(line.split(' ').at(-1))
}

describe('HTTP: /healthz, /metrics, /config.json', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop(); mesh = undefined })

  it('reports health and Prometheus metrics that follow what the node does', async () => {
    mesh = await startMesh(2, { http: '127.0.0.1:0' })
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    const base = a!.http!.url
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    const alice = await mesh.client(a!, 'alice')
    const bob = await mesh.client(b!, 'bob')
    await alice.join('metrics')
    await bob.join('metrics')
    await waitFor(() => a!.mesh.services.pubsub.getSubscribers('meshchat/1/room/metrics').length > 0, { what: 'topic peers' })
    for (let i = 0; i < 3; i++) await bob.send('metrics', `m${i}`)
    await waitFor(async () => (await a!.metrics.messagesIn.get()).values.some(v => v.labels.source === 'mesh' && v.value >= 3), { what: 'mesh messages counted' })

    const health = await fetch(`${base}/healthz`)
    expect(health.status).toBe(200)
    expect(health.headers.get('content-type')).toContain('application/json')
    const h = await health.json() as Record<string, unknown>
    expect(h).toMatchObject({ nodeId: a!.nodeId, ready: true, clients: 1, rooms: 1, meshNodes: 2 })
    expect(h.peers).toBeGreaterThanOrEqual(1)

    const res = await fetch(`${base}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    expect(sample(text, 'meshchat_clients')).toBe(1)
    expect(sample(text, 'meshchat_messages_in_total', 'source="mesh",kind="room"')).toBe(3)
    expect(sample(text, 'meshchat_messages_out_total', 'kind="room"')).toBeGreaterThanOrEqual(3)
    expect(sample(text, 'meshchat_presence_entries')).toBe(2)
    expect(sample(text, 'meshchat_mesh_peers')).toBeGreaterThanOrEqual(1)
    expect(text).toContain('meshchat_delivery_latency_seconds_bucket')
    expect(sample(text, 'meshchat_delivery_latency_seconds_count')).toBeGreaterThanOrEqual(3)
    // libp2p's own metrics are there too, on every node of the process, each with its own counts
    expect(text).toMatch(/^libp2p_/m)
    const transfer = (t: string): number | undefined => sample(t, 'libp2p_data_transfer_bytes_total', 'protocol="global received"')
    const textB = await (await fetch(`${b!.http!.url}/metrics`)).text()
    expect(transfer(text)).toBeGreaterThan(0)
    expect(transfer(textB)).toBeGreaterThan(0)

    const cfg = await (await fetch(`${base}/config.json`)).json() as { nodeId: string, gateway: string[] }
    expect(cfg.nodeId).toBe(a!.nodeId)
    expect(cfg.gateway.length).toBeGreaterThan(0)
    // the web app attaches over the light edge: the node's own WebSocket URL
    expect(cfg.gateway).toEqual([`${base.replace(/^http/, 'ws')}/ws`])

    // no way out of the web root, and only GET/HEAD
    expect((await fetch(`${base}/..%2f..%2fpackage.json`)).status).toBe(404)
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405)
  })

  it('leaves libp2p\'s own metrics out when told to, and keeps its own and the process ones', async () => {
    mesh = await startMesh(2, { http: '127.0.0.1:0', libp2pMetrics: false })
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    const alice = await mesh.client(a!, 'alice')
    const bob = await mesh.client(b!, 'bob')
    await alice.join('lean')
    await bob.join('lean')
    await waitFor(() => a!.mesh.services.pubsub.getSubscribers('meshchat/1/room/lean').length > 0, { what: 'topic peers' })
    const got = new Promise<string>(resolve => { alice.addEventListener('message', e => { resolve(e.detail.text) }, { once: true }) })
    await bob.send('lean', 'over the mesh')
    expect(await got).toBe('over the mesh')
    const text = await (await fetch(`${a!.http!.url}/metrics`)).text()
    expect(text).not.toMatch(/^libp2p_/m)
    expect(text).toMatch(/^meshchat_messages_in_total\{source="mesh",kind="room"\} 1$/m)
    expect(text).toMatch(/^meshchat_mesh_peers [1-9]/m)
    expect(text).toMatch(/^process_cpu_seconds_total /m)
  })

  it('says not ready once stopping', async () => {
    mesh = await startMesh(1, { http: '127.0.0.1:0' })
    const [a] = mesh.nodes
    // ready once it has a mesh peer (it was given a bootstrap address)
    await waitFor(() => a!.health().ready === true, { what: 'ready' })
    await a!.stop()
    expect(a!.health().ready).toBe(false)
    expect(a!.readiness().reasons).toContain('stopped')
  })
})
