import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterAll, describe, expect, it } from 'vitest'
import { SCHEMA_4 } from '../helpers/store-schema-4.js'
import { OpsRig } from './cli-proc.js'

/**
 * A node started on a data directory whose store an earlier release wrote (schema 4, history keyed
 * by event id), through the real CLI: it says in its log that it migrated the store and how long it
 * took, comes up, and the file it leaves holds every event in the new layout. Needs the build.
 */
describe('store upgrade', () => {
  const rig = new OpsRig()
  afterAll(async () => { await rig.cleanup() })

  it('migrates a schema 4 store on start, logs it, and keeps every event', async () => {
    const meshKey = rig.meshKey()
    const dir = join(rig.dir, 'n1')
    mkdirSync(dir, { mode: 0o700 })
    const path = join(dir, 'meshchat.sqlite')
    const v4 = new DatabaseSync(path)
    v4.exec(`PRAGMA journal_mode = WAL; ${SCHEMA_4}`)
    // stamps of the last minute, so the node's retention keeps them
    const now = BigInt(Date.now()) << 16n
    const insert = v4.prepare('INSERT INTO messages (id, room, hlc, origin, author, event) VALUES (?, ?, ?, ?, ?, ?)')
    v4.exec('BEGIN')
    for (let n = 0; n < 5000; n++) insert.run(randomBytes(32), `room-${n % 50}`, now - (BigInt(5000 - n) << 16n), 'an-earlier-node', `user-${n % 100}`, randomBytes(300))
    v4.exec('COMMIT')
    v4.close()

    const node = rig.node('n1', meshKey)
    const migrated = await node.waitFor(l => l.msg === 'store migrated', 'the store migration in the log', 60_000)
    expect(migrated).toMatchObject({ level: 'info', from: 4, to: 5 })
    expect(migrated.ms).toEqual(expect.any(Number))
    await node.waitFor(l => l.msg === 'node started', 'node started', 60_000)
    expect(await node.stop('SIGTERM')).toBe(0)

    const after = new DatabaseSync(path)
    try {
      expect((after.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(5)
      expect((after.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n).toBe(5000)
      expect((after.prepare("SELECT count(DISTINCT room) AS n FROM messages WHERE origin = 'an-earlier-node'").get() as { n: number }).n).toBe(50)
      expect((after.prepare("SELECT sql FROM sqlite_master WHERE name = 'messages'").get() as { sql: string }).sql).toMatch(/seq INTEGER PRIMARY KEY/)
      expect((after.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe('ok')
    } finally {
      after.close()
    }

    // the second start has nothing to migrate and says nothing about it
    const again = rig.node('n1', meshKey)
    await again.waitFor(l => l.msg === 'node started', 'node started again', 60_000)
    expect(again.lines.some(l => l.msg === 'store migrated')).toBe(false)
    expect(await again.stop('SIGTERM')).toBe(0)
  }, 180_000)
})
