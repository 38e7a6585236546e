import { execFile } from 'node:child_process'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createNodeClient, fileKeyStore } from '../../client/src/node.js'
import { CLI, OpsRig } from './cli-proc.js'

const run = promisify(execFile)

/**
 * `meshchat backup` while the node runs and takes writes, then a restore: the
 * copy started as a node of its own (no mesh, so nothing can come from a
 * peer) has the same identity and every message acknowledged before the
 * backup began. Needs the build.
 */
describe('backup and restore', () => {
  const rig = new OpsRig()
  const dir = rig.dir
  afterAll(async () => { await rig.cleanup() })

  it('copies a running node, and the copy starts with its identity and history', async () => {
    const meshKey = rig.meshKey()
    const { addr: bootAddr } = await rig.bootstrap(meshKey)
    const node = (name: string, extra: string[]): ReturnType<OpsRig['node']> => rig.node(name, meshKey, extra)
    // no budget in the way of a fast writer
    const a = node('a', ['--bootstrap', bootAddr, '--rate-per-sec', '1000', '--burst', '1000'])
    const b = node('b', ['--bootstrap', bootAddr])
    const aLine = await a.waitFor(l => l.msg === 'node started', 'node a started')
    await b.waitFor(l => l.msg === 'node started', 'node b started')
    const client = createNodeClient({ name: 'ada', addrs: [(aLine.ws as string[])[0] ?? ''], keyStore: fileKeyStore(join(dir, 'ada.key')), redirect: false })
    rig.clients.push(client)
    await client.connect()
    await client.join('archive')
    const before: string[] = []
    for (let i = 0; i < 40; i++) {
      await client.send('archive', `before ${i}`)
      before.push(`before ${i}`)
    }
    // writes go on while the copy is taken
    let writing = true
    const during = (async () => {
      for (let i = 0; writing && i < 1000; i++) await client.send('archive', `during ${i}`)
    })()
    const out = join(dir, 'copy')
    const { stdout } = await run(process.execPath, [CLI, 'backup', '--data-dir', join(dir, 'a'), '--out', out])
    writing = false
    await during
    const result = JSON.parse(stdout) as { msg: string, files: string[], schemaVersion: number, storeBytes: number }
    expect(result.msg).toBe('backup written')
    // the mesh key lives outside this data directory (--mesh-key), so it is not part of the copy
    expect(result.files.sort()).toEqual(['meshchat.sqlite', 'node.key'])
    expect(result.schemaVersion).toBeGreaterThan(0)
    expect(result.storeBytes).toBeGreaterThan(0)
    expect(statSync(join(out, 'node.key')).mode & 0o077, 'key files private').toBe(0)
    // a second backup into the same place is refused, the first left as it is
    const again = await run(process.execPath, [CLI, 'backup', '--data-dir', join(dir, 'a'), '--out', out]).then(() => undefined, (err: { code: number, stderr: string }) => err)
    expect(again?.code).toBe(1)
    expect(again?.stderr).toMatch(/BackupError: .* is not empty/)

    await client.close()
    expect(await a.stop()).toBe(0)
    expect(await b.stop()).toBe(0)
    // the restore: the copy as a data directory, alone
    const restored = node('copy', [])
    const r = await restored.waitFor(l => l.msg === 'node started', 'restored node started')
    expect(r.id, 'the same node identity').toBe(aLine.id)
    const reader = createNodeClient({ name: 'ada', addrs: [(r.ws as string[])[0] ?? ''], keyStore: fileKeyStore(join(dir, 'ada.key')) })
    rig.clients.push(reader)
    await reader.connect()
    await reader.join('archive')
    const texts: string[] = []
    let page = await reader.history('archive', { limit: 500 })
    texts.push(...page.messages.map(m => m.text))
    for (let n = 0; page.more && n < 20; n++) {
      page = await reader.history('archive', { before: page.messages[0]?.cursor, limit: 500 })
      texts.push(...page.messages.map(m => m.text))
    }
    const missing = before.filter(t => !texts.includes(t))
    expect(missing, 'messages acknowledged before the backup, missing from the copy').toEqual([])
  }, 120_000)
})
