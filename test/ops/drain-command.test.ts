import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createNodeClient, fileKeyStore } from '../../client/src/node.js'
import type { ChatClient } from '../../client/src/node.js'
import { OpsRig, waitUntil } from './cli-proc.js'

/**
 * `meshchat drain` against real node processes: it finds node A by its data
 * directory, A goes lame duck and stops, and the command reports A's own
 * account. A client that knows only A's address moves to node B and loses
 * nothing; clients that attach to A during the drain, over the WebSocket edge
 * and over the libp2p gateway alike, are sent to B with a redirect instead of
 * being taken and cut off. What must not be signalled is refused with a
 * DrainError and left alone. Needs the build.
 */
describe('meshchat drain', () => {
  const rig = new OpsRig()
  afterAll(async () => { await rig.cleanup() })

  it('moves a node\'s clients to another node, redirects new ones on both edges, stops it and reports', async () => {
    const meshKey = rig.meshKey()
    const { addr: bootAddr } = await rig.bootstrap(meshKey)
    const a = rig.node('a', meshKey, ['--bootstrap', bootAddr, '--drain-ms', '8000'])
    const b = rig.node('b', meshKey, ['--bootstrap', bootAddr])
    const [aLine, bLine] = await Promise.all([a.waitFor(l => l.msg === 'node started', 'node a started', 60_000), b.waitFor(l => l.msg === 'node started', 'node b started', 60_000)])
    const aHttp = String(aLine.http)
    const bHttp = String(bLine.http)
    const bId = String(bLine.id)
    await waitUntil(async () => {
      const h = await Promise.all([aHttp, bHttp].map(async u => (await (await fetch(`${u}/healthz`)).json()) as { meshNodes: number, ready: boolean }))
      return h.every(x => x.ready && x.meshNodes >= 2)
    }, 'both nodes ready and aware of each other', 60_000)
    const aWs = (aLine.ws as string[])[0] ?? ''
    const aGateway = (aLine.gateway as string[]).find(x => x.startsWith('/ip4/')) ?? ''
    expect(aGateway).toMatch(/\/tcp\/\d+\/p2p\//)

    const room = 'ops'
    const received = new Map<string, string[]>()
    const client = async (name: string, addrs: string[]): Promise<ChatClient> => {
      const c = createNodeClient({ name, addrs, keyStore: fileKeyStore(join(rig.dir, `${name}.key`)), backoff: { minMs: 100, maxMs: 1000 } })
      rig.clients.push(c)
      received.set(name, [])
      c.addEventListener('message', e => { if (e.detail.room === room) received.get(name)!.push(e.detail.text) })
      return c
    }
    const x = await client('x', [aWs])
    const y = await client('y', [String((bLine.ws as string[])[0])])
    expect((await x.connect()).nodeId).toBe(String(aLine.id))
    expect((await y.connect()).nodeId).toBe(bId)
    await x.join(room)
    await y.join(room)
    // idle clients on node a too: a drain closes sessions in waves over drainMs, which keeps node a
    // draining long enough for the new clients below to arrive while it does
    for (let i = 0; i < 4; i++) expect((await (await client(`idle${i}`, [aWs])).connect()).nodeId).toBe(String(aLine.id))

    // both send all along, each send awaited
    const acked: string[] = []
    const failures: string[] = []
    let sending = true
    const senders = [x, y].map(async (c, i) => {
      for (let n = 0; sending && n < 10_000; n++) {
        const text = `${i === 0 ? 'x' : 'y'}#${n}`
        try {
          await c.send(room, text)
          acked.push(text)
        } catch (err) {
          failures.push(`${text}: ${(err as Error).name}: ${(err as Error).message}`)
        }
        await new Promise(resolve => setTimeout(resolve, 150))
      }
    })
    await waitUntil(() => acked.length >= 6, 'traffic flowing before the drain', 30_000)

    const drain = rig.start(['drain', '--data-dir', join(rig.dir, 'a'), '--timeout', '60', '--json'])
    await waitUntil(async () => (await fetch(`${aHttp}/readyz`)).status === 503, 'node a draining (not ready)', 30_000)
    // new clients that know only node a, while it drains: one per edge
    const redirects: Array<{ to: string, reason: string }> = []
    const viaWs = await client('new-ws', [aWs])
    const viaLibp2p = await client('new-libp2p', [aGateway])
    for (const c of [viaWs, viaLibp2p]) c.addEventListener('redirect', e => { redirects.push(e.detail) })
    expect((await viaWs.connect()).nodeId, 'a client arriving on the WebSocket edge during the drain is sent to node b').toBe(bId)
    expect((await viaLibp2p.connect()).nodeId, 'a client arriving on the libp2p gateway during the drain is sent to node b').toBe(bId)
    expect(redirects).toEqual([{ to: bId, reason: 'draining' }, { to: bId, reason: 'draining' }])

    expect(await drain.exited, drain.stderr()).toBe(0)
    const report = drain.lines.find(l => l.msg === 'drained')
    expect(report, JSON.stringify(drain.lines)).toMatchObject({ pid: a.proc.pid, stopped: true, lockReleased: true, dataDir: join(rig.dir, 'a') })
    // x and the idle clients may come back to node a first (the only address they were given) and be redirected too
    const own = report?.node as { pid: number, sessions: number, left: number, redirected: number, refused: number }
    expect(own, 'the node\'s own account').toMatchObject({ pid: a.proc.pid, sessions: 5, left: 0, refused: 0 })
    expect(own.redirected).toBeGreaterThanOrEqual(2)
    expect(await a.exited, 'node a stopped cleanly').toBe(0)
    expect(a.lines.find(l => l.msg === 'drained')).toMatchObject({ level: 'info', sessions: 5, clients: 0, redirected: own.redirected })
    // the redirects are in node a's log, summed (one line at the drain's end, maybe one earlier)
    const sent = a.lines.filter(l => l.msg === 'clients sent to other nodes')
    expect(sent.every(l => l.level === 'info'), JSON.stringify(sent)).toBe(true)
    expect(sent.reduce((n, l) => n + ((l.redirected as Record<string, number>).draining ?? 0), 0)).toBe(own.redirected)

    // x is on node b now, and traffic goes on there
    await waitUntil(() => x.state === 'connected' && x.nodeId === bId, 'x attached to node b', 60_000)
    const before = acked.length
    await waitUntil(() => acked.length >= before + 6, 'traffic flowing after the drain', 30_000)
    sending = false
    await Promise.all(senders)
    expect(failures, 'no send failed').toEqual([])
    const want = new Set(acked)
    for (const name of ['x', 'y']) {
      const got = received.get(name)!
      await waitUntil(() => [...want].every(t => got.includes(t)), `${name} has every acknowledged message`, 60_000)
        .catch(() => {})
      expect([...want].filter(t => !got.includes(t)), `acknowledged messages ${name} never got`).toEqual([])
      expect(got.length, `${name} saw no message twice`).toBe(new Set(got).size)
    }
  }, 240_000)

  it('refuses, with a DrainError and nothing signalled, what is not a running meshchat node', async () => {
    const empty = join(rig.dir, 'empty')
    mkdirSync(empty)
    const none = rig.start(['drain', '--data-dir', empty])
    expect(await none.exited).toBe(1)
    expect(none.stderr()).toMatch(/^meshchat: DrainError: no node runs on .*empty \(no lock file held by a live process\)/)

    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' })
    try {
      const other = rig.start(['drain', '--pid', String(sleeper.pid)])
      expect(await other.exited).toBe(1)
      expect(other.stderr()).toMatch(/DrainError: process \d+ is not a meshchat process; nothing was sent/)
      expect(sleeper.exitCode, 'the other process was left alone').toBe(null)
      expect(sleeper.signalCode).toBe(null)
    } finally {
      sleeper.kill('SIGKILL')
    }

    const both = rig.start(['drain', '--pid', '12345', '--data-dir', empty])
    expect(await both.exited).toBe(1)
    expect(both.stderr()).toMatch(/DrainError: give --data-dir or --pid, not both/)
    const badTimeout = rig.start(['drain', '--data-dir', empty, '--timeout', 'soon'])
    expect(await badTimeout.exited).toBe(1)
    expect(badTimeout.stderr()).toMatch(/DrainError: --timeout must be a number of seconds > 0, got soon/)
  }, 60_000)
})
