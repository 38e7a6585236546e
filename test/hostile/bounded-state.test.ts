import { request as httpRequest } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { MailboxFullError } from '../../client/src/protocol/errors.js'
import { BootstrapDaemon } from '../../bootstrap/src/bootstrap.js'
import { MeshchatNode } from '../../node/src/daemon.js'
import { DataDirLockedError } from '../../node/src/data-lock.js'
import { DEFAULT_TIMINGS } from '../../node/src/config.js'
import { newMeshKey } from '../../node/src/keys.js'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { rejectionOf } from '../helpers/assert.js'
import { spawnNode } from '../helpers/process-node.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { ProcessNode } from '../helpers/process-node.js'

/** a raw GET, so the path reaches the server exactly as written (fetch would normalise it) */
async function rawGet (base: string, path: string): Promise<number> {
  const u = new URL(base)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'GET' }, res => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('state stays bounded, and the node stays in charge of itself', () => {
  let mesh: TestMesh | undefined
  const dirs: string[] = []
  const procs: ProcessNode[] = []
  const extra: Array<{ stop: () => Promise<void> }> = []

  afterEach(async () => {
    await Promise.allSettled(procs.splice(0).map(async p => p.kill()))
    await Promise.allSettled(extra.splice(0).map(async x => x.stop()))
    await mesh?.stop()
    mesh = undefined
    await Promise.all(dirs.splice(0).map(async d => rm(d, { recursive: true, force: true })))
  })

  async function tempDir (): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'meshchat-bounded-'))
    dirs.push(d)
    return d
  }

  it('a room nobody is in any more is not carried by anyone, and its history stays', async () => {
    mesh = await startMesh(2)
    await mesh.converged(2)
    const [a, b] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const alice = await mesh.client(a, 'alice')
    const rooms = Array.from({ length: 30 }, (_, i) => `passing-${i}`)
    for (const room of rooms) {
      await alice.join(room)
      await alice.send(room, `hello ${room}`)
      await alice.leave(room)
    }
    for (const n of [a, b]) {
      await waitFor(() => rooms.every(r => !n.rooms.isSubscribed(r)), { timeoutMs: 15_000, what: `${n.nodeId} to drop every empty room` })
    }
    // the history is still there, and a new member gets it
    const bob = await mesh.client(b, 'bob')
    const page = await bob.history('passing-7', { limit: 10 })
    expect(page.messages.map(m => m.text)).toEqual(['hello passing-7'])
  })

  it('one sender cannot fill a mailbox: a per-sender cap, while others still get through', async () => {
    mesh = await startMesh(2, { mailboxMaxPerSender: 3 })
    await mesh.converged(2)
    const [a] = mesh.nodes as [MeshchatNode, MeshchatNode]
    const spammer = await mesh.client(a, 'spammer')
    const friend = await mesh.client(a, 'friend')
    const offline = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    for (let i = 0; i < 3; i++) expect((await spammer.dm(offline, `spam ${i}`)).state).toBe('queued')
    const err = await rejectionOf(spammer.dm(offline, 'spam 3'))
    expect(err).toBeInstanceOf(MailboxFullError)
    expect((await friend.dm(offline, 'hi, it is me')).state).toBe('queued')
  })

  it('two nodes cannot run on one data directory', async () => {
    const dir = await tempDir()
    const first = await MeshchatNode.create({ dataDir: dir, timings: DEFAULT_TIMINGS })
    extra.push(first)
    const err = await rejectionOf(MeshchatNode.create({ dataDir: dir }))
    expect(err).toBeInstanceOf(DataDirLockedError)
    await first.stop()
    // released on stop: the next node takes it
    const next = await MeshchatNode.create({ dataDir: dir })
    extra.push(next)
    expect(next.nodeId).toBe(first.nodeId)
    // the bootstrap daemon locks its directory the same way
    const bdir = await tempDir()
    const boot = await BootstrapDaemon.create({ dataDir: bdir })
    extra.push(boot)
    expect(await rejectionOf(BootstrapDaemon.create({ dataDir: bdir }))).toBeInstanceOf(DataDirLockedError)
  })

  it('a second node process on a locked data directory refuses to start, with a clear message', async () => {
    const dir = await tempDir()
    const key = join(dir, 'swarm.key')
    await writeFile(key, newMeshKey())
    const first = await spawnNode({ dataDir: join(dir, 'node'), meshKey: key, bootstrap: [] })
    procs.push(first)
    const err = await rejectionOf(spawnNode({ dataDir: join(dir, 'node'), meshKey: key, bootstrap: [] }))
    expect(err.message).toMatch(/DataDirLockedError/)
    expect(err.message).toContain(String(first.proc.pid))
    // SIGKILL leaves the lock file behind; the next start takes it over
    await first.kill()
    const again = await spawnNode({ dataDir: join(dir, 'node'), meshKey: key, bootstrap: [] })
    procs.push(again)
    expect(again.id).toBe(first.id)
  })

  it('a node whose peers are all gone still stops promptly on SIGTERM', async () => {
    const dir = await tempDir()
    const key = newMeshKey()
    await writeFile(join(dir, 'swarm.key'), key)
    const boot = await BootstrapDaemon.create({ meshKey: key })
    await boot.start()
    extra.push(boot)
    const child = await spawnNode({ dataDir: join(dir, 'child'), meshKey: join(dir, 'swarm.key'), bootstrap: boot.addrs() })
    procs.push(child)
    const other = await MeshchatNode.create({ meshKey: key, bootstrap: boot.addrs(), timings: DEFAULT_TIMINGS })
    extra.push(other)
    await other.start()
    await waitFor(() => other.presence.replica.liveNodes().includes(child.id), { timeoutMs: 15_000, what: 'the child to join the mesh' })
    // every peer of the child vanishes at once, as if the network dropped
    await other.crash()
    for (const c of boot.mesh.getConnections()) c.abort(new Error('gone'))
    await boot.stop()
    const start = Date.now()
    await child.stop()
    const tookMs = Date.now() - start
    expect(child.proc.exitCode, 'a clean exit').toBe(0)
    // generous for a loaded machine; the stop itself bounds each waiting step at 2 s
    expect(tookMs).toBeLessThan(14_000)
  })

  it('answers 400 to a malformed URL and serves source maps only when asked to', async () => {
    mesh = await startMesh(1, { http: '127.0.0.1:0' })
    const base = mesh.nodes[0]!.http!.url
    expect(await rawGet(base, '/%E0%A4%A')).toBe(400)
    expect(await rawGet(base, '/%')).toBe(400)
    expect(await rawGet(base, '/app.js')).toBe(200)
    expect(await rawGet(base, '/app.js.map')).toBe(404)
    const withMaps = await mesh.addNode({ http: '127.0.0.1:0', serveSourceMaps: true })
    expect(await rawGet(withMaps.http!.url, '/app.js.map')).toBe(200)
    const health = await fetch(`${base}/healthz`)
    expect(health.status).toBe(200)
  })
})
