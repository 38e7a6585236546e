import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createNodeClient, fileKeyStore } from '../../client/src/node.js'
import type { ChatClient } from '../../client/src/node.js'
import { OpsRig, waitUntil } from './cli-proc.js'
import type { CliProc } from './cli-proc.js'
const NODES = 3
const CLIENTS_PER_NODE = 2

const given = new Set<number>()

/**
 * A free port below the kernel's ephemeral range (32768–60999 here): a node restarted on its port
 * must find it free, and a port from the ephemeral range can meanwhile be the local end of any
 * outgoing connection on the machine (the restart once failed with EADDRINUSE that way)
 */
async function freePort (): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (given.has(port)) continue
    const free = await new Promise<boolean>(resolve => {
      const s = createServer()
      s.once('error', () => { resolve(false) })
      s.listen(port, '127.0.0.1', () => { s.close(() => { resolve(true) }) })
    })
    if (free) {
      given.add(port)
      return port
    }
  }
  throw new Error('no free port below the ephemeral range')
}

/**
 * A rolling restart under traffic: three nodes from the CLI, two clients on
 * each (each client knows only its own node's address; the welcome tells it
 * the others), every client sending to one room all along. Each node in turn
 * is drained (SIGQUIT: not ready, no new clients, its sessions closed in
 * waves, then a graceful stop) and started again on the same data directory
 * and ports. Every acknowledged message reaches every client once, no send
 * fails, and every client ends attached. Needs the build.
 */
describe('rolling restart', () => {
  const rig = new OpsRig()
  const dir = rig.dir
  const clients: ChatClient[] = []
  afterAll(async () => { await rig.cleanup() })

  it('drains and restarts every node with no message lost and every client reconnected', async () => {
    const meshKey = rig.meshKey()
    const { addr: bootAddr } = await rig.bootstrap(meshKey)
    const ports = await Promise.all(Array.from({ length: NODES }, async () => ({ mesh: await freePort(), http: await freePort() })))
    const running: Array<CliProc | undefined> = []
    const startNode = async (i: number): Promise<{ ws: string, http: string, id: string }> => {
      const p = ports[i]!
      const proc = rig.start(['node', '--json', '--data-dir', join(dir, `node${i}`), '--mesh-key', meshKey,
        '--listen', `/ip4/127.0.0.1/tcp/${p.mesh}`, '--gateway', '/ip4/127.0.0.1/tcp/0', '--http', `127.0.0.1:${p.http}`,
        '--bootstrap', bootAddr, '--drain-ms', '1500'])
      running[i] = proc
      const line = await proc.waitFor(l => l.msg === 'node started', `node ${i} started`, 60_000)
      const http = String(line.http)
      await waitUntil(async () => (await fetch(`${http}/readyz`)).status === 200, `node ${i} ready`, 60_000)
      return { ws: (line.ws as string[])[0] ?? '', http, id: String(line.id) }
    }
    const nodes: Array<{ ws: string, http: string, id: string }> = []
    for (let i = 0; i < NODES; i++) nodes.push(await startNode(i))
    // every node knows the others before clients attach (a welcome lists the alternates)
    await waitUntil(async () => {
      const h = await Promise.all(nodes.map(async n => (await (await fetch(`${n.http}/healthz`)).json()) as { meshNodes: number }))
      return h.every(x => x.meshNodes >= NODES)
    }, 'the mesh complete', 60_000)

    const room = 'ops'
    // what happened when, for the message of a failure
    const t0 = Date.now()
    const timeline: string[] = []
    const nodeName = (id: string): string => `node${nodes.findIndex(n => n.id === id)}`
    const received = new Map<string, string[]>()
    const attachedTo = new Map<string, Set<string>>()
    for (let i = 0; i < NODES * CLIENTS_PER_NODE; i++) {
      const name = `c${i}`
      const node = nodes[i % NODES]!
      const c = createNodeClient({ name, addrs: [node.ws], keyStore: fileKeyStore(join(dir, `${name}.key`)), backoff: { minMs: 100, maxMs: 1000 } })
      clients.push(c)
      rig.clients.push(c)
      received.set(name, [])
      attachedTo.set(name, new Set())
      c.addEventListener('message', e => { if (e.detail.room === room) received.get(name)!.push(e.detail.text) })
      c.addEventListener('state', e => {
        timeline.push(`${Date.now() - t0} ${name} ${e.detail.state}${e.detail.nodeId != null ? ` ${nodeName(e.detail.nodeId)}` : ''}`)
        if (e.detail.state === 'connected' && e.detail.nodeId != null) attachedTo.get(name)!.add(e.detail.nodeId)
      })
      const w = await c.connect()
      attachedTo.get(name)!.add(w.nodeId)
      await c.join(room)
    }

    // traffic all along: each client sends one message every 150 ms and awaits its ack
    const acked: string[] = []
    const failures: string[] = []
    let sending = true
    const senders = clients.map(async (c, i) => {
      for (let n = 0; sending && n < 10_000; n++) {
        const text = `c${i}#${n}`
        try {
          await c.send(room, text)
          acked.push(text)
          timeline.push(`${Date.now() - t0} acked ${text}`)
        } catch (err) {
          failures.push(`${text}: ${(err as Error).name}: ${(err as Error).message}`)
        }
        await new Promise(resolve => setTimeout(resolve, 150))
      }
    })

    for (let i = 0; i < NODES; i++) {
      const before = acked.length
      await waitUntil(() => acked.length >= before + NODES * CLIENTS_PER_NODE, 'traffic flowing before the drain', 30_000)
      const proc = running[i]!
      timeline.push(`${Date.now() - t0} drain node${i}`)
      proc.proc.kill('SIGQUIT')
      expect(await proc.exited, `node ${i} drained and stopped cleanly`).toBe(0)
      expect(proc.lines.some(l => l.msg === 'drained'), `node ${i} logged its drain`).toBe(true)
      timeline.push(`${Date.now() - t0} node${i} stopped`)
      const again = await startNode(i)
      timeline.push(`${Date.now() - t0} node${i} ready again`)
      expect(again.id, 'the same identity after a restart').toBe(nodes[i]!.id)
      // every client is attached again (to some node) before the next one goes
      await waitUntil(() => clients.every(c => c.state === 'connected'), `every client attached after node ${i} restarted`, 60_000)
    }
    const final = acked.length
    await waitUntil(() => acked.length >= final + NODES * CLIENTS_PER_NODE, 'traffic flowing after the restarts', 30_000)
    sending = false
    await Promise.all(senders)
    expect(failures, 'no send failed').toEqual([])
    expect(acked.length).toBeGreaterThan(50)

    // every acknowledged message at every client, once
    const want = new Set(acked)
    const missing = (r: string[]): string[] => { const have = new Set(r); return [...want].filter(t => !have.has(t)) }
    await waitUntil(() => [...received.values()].every(r => missing(r).length === 0), 'every client has every acknowledged message', 60_000).catch(() => {})
    for (const [name, r] of received) {
      const lost = missing(r)
      const around = lost.length === 0 ? [] : timeline.filter(l => !l.includes(' acked ') || lost.some(t => l.endsWith(` ${t}`)))
      expect(lost, `acknowledged messages ${name} never got; timeline:\n${around.join('\n')}`).toEqual([])
      expect(r.length, `${name} saw no message twice`).toBe(new Set(r).size)
    }
    // every client was moved at least once (each node was restarted under it) and is attached now
    for (const c of clients) expect(c.state).toBe('connected')
    for (const [name, seen] of attachedTo) expect(seen.size, `${name} attached to more than one node`).toBeGreaterThan(1)
  }, 300_000)
})
