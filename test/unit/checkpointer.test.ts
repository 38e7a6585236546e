import { afterEach, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { DatabaseSync } from 'node:sqlite'
import { MessageStore } from '../../node/src/store/message-store.js'
import { workerExecArgv } from '../../node/src/store/checkpointer.js'
import { waitFor } from '../helpers/mesh.js'

const run = promisify(execFile)

function event (i: number): { id: Uint8Array, room: string, hlc: bigint, origin: string, author: string, event: Uint8Array, ts: number } {
  const id = new Uint8Array(32)
  new DataView(id.buffer).setUint32(0, i)
  return { id, room: `room-${i % 7}`, hlc: BigInt(i + 1), origin: 'node', author: 'user', event: new Uint8Array(600).fill(i & 0xff), ts: 0 }
}

/**
 * The stores' write-ahead logs are checkpointed by a thread of their own: the event loop that
 * commits never copies the log into the file or waits for its fsync (up to the safety threshold).
 */
describe('checkpoints on their own thread', () => {
  let dir: string | undefined
  afterEach(async () => { if (dir != null) await rm(dir, { recursive: true, force: true }); dir = undefined })

  it('fold the log into the database file without the committing connection, and close cleanly', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshchat-checkpoint-'))
    const path = join(dir, 'store.db')
    const store = new MessageStore(path)
    expect(store.ownCheckpointPages, 'the store\'s own connection checkpoints only past 10,000 pages of log').toBe(10_000)
    // 200 commits of 600 bytes: below even SQLite's default threshold (1,000 pages), so only the
    // checkpoint thread moves them into the database file
    for (let i = 0; i < 200; i++) store.insertMany([event(i)])
    const before = statSync(path).size
    await store.checkpointed()
    expect(statSync(path).size - before, 'the rows are in the database file').toBeGreaterThan(100_000)
    expect(store.checkpointError).toBeUndefined()
    expect(store.count('room-0')).toBe(29)
    store.close()
    // the checkpoint thread's connection is the last to close: it folds the rest in and removes the log
    await waitFor(() => !existsSync(`${path}-wal`), { timeoutMs: 10_000, what: 'the log removed after close' })
    const again = new MessageStore(path)
    expect(again.count('room-3')).toBe(29)
    again.close()
  })

  it('a process with an open store still exits by itself', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshchat-checkpoint-'))
    const script = `
      import { MessageStore } from ${JSON.stringify(new URL('../../dist/node/src/store/message-store.js', import.meta.url).href)}
      const store = new MessageStore(${JSON.stringify(join(dir, 'store.db'))})
      store.insertMany([{ id: new Uint8Array(32).fill(1), room: 'r', hlc: 1n, origin: 'o', author: 'a', event: new Uint8Array(10) }])
      // past the first checkpoint, with the store left open: nothing but the checkpoint thread is left then
      setTimeout(() => { console.log('done') }, 800)
    `
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 })
    expect(stdout.trim()).toBe('done')
  })

  it('the checkpoint thread leaves the CPU-profile flags out, so a profiled process writes its own main thread\'s profile', async () => {
    expect(workerExecArgv(['--max-semi-space-size=8', '--cpu-prof', '--cpu-prof-dir', '/p']), 'profiled: no flags').toEqual([])
    expect(workerExecArgv(['--max-semi-space-size=8', '--expose-gc']), 'otherwise inherited').toBeUndefined()
    dir = await mkdtemp(join(tmpdir(), 'meshchat-checkpoint-'))
    const profiles = join(dir, 'profiles')
    const script = `
      import { MessageStore } from ${JSON.stringify(new URL('../../dist/node/src/store/message-store.js', import.meta.url).href)}
      const store = new MessageStore(${JSON.stringify(join(dir, 'store.db'))})
      // long enough to be sampled many times over
      function mainThreadMarker () { const end = Date.now() + 200; let i = 0; while (Date.now() < end) store.insertMany([{ id: new Uint8Array(32).fill(i & 255), room: 'r', hlc: BigInt(++i), origin: 'o', author: 'a', event: new Uint8Array(10) }]) }
      mainThreadMarker()
      setTimeout(() => { store.close() }, 800)
    `
    // without a name every thread writes a file of its own (named after its thread id); a fixed
    // name, as the bench gives, would have the threads write over each other
    await run(process.execPath, ['--max-semi-space-size=8', '--expose-gc', '--cpu-prof', '--cpu-prof-dir', profiles, '--input-type=module', '-e', script], { timeout: 20_000 })
    const files = readdirSync(profiles)
    expect(files, 'one profile: the main thread\'s').toHaveLength(1)
    const names = (JSON.parse(readFileSync(join(profiles, files[0] ?? ''), 'utf8')) as { nodes: Array<{ callFrame: { functionName: string } }> }).nodes.map(n => n.callFrame.functionName)
    expect(names, 'the profile is the main thread\'s').toContain('mainThreadMarker')
  })
})
