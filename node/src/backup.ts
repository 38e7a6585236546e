/**
 * `meshchat backup`: a consistent copy of a node's data directory while the
 * node runs. The SQLite store goes through SQLite's online backup (pages
 * copied under the database's own locking, so concurrent writes neither
 * corrupt the copy nor stop), the key files are copied as they are. A restore
 * is the copied directory given to a stopped node as its --data-dir.
 */
import { existsSync, readdirSync } from 'node:fs'
import { chmod, copyFile, mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync, backup } from 'node:sqlite'
import { dataPaths } from './keys.js'

export class BackupError extends Error {
  static override name = 'BackupError'
  constructor (message: string) {
    super(message)
    this.name = 'BackupError'
  }
}

export interface BackupResult {
  /** files written, relative to the target directory */
  files: string[]
  /** bytes of the copied store */
  storeBytes: number
  /** the store's schema version (SQLite user_version) */
  schemaVersion: number
}

/** copy `dataDir` into `outDir` (which must not exist, or be empty) */
export async function backupDataDir (dataDir: string, outDir: string): Promise<BackupResult> {
  const src = dataPaths(dataDir)
  const dst = dataPaths(outDir)
  if (!existsSync(src.db)) throw new BackupError(`${dataDir} holds no store (${src.db} is missing)`)
  if (existsSync(outDir) && readdirSync(outDir).length > 0) throw new BackupError(`${outDir} is not empty; a backup goes into a new directory`)
  await mkdir(outDir, { recursive: true, mode: 0o700 })
  const files: string[] = []
  for (const [from, to] of [[src.nodeKey, dst.nodeKey], [src.meshKey, dst.meshKey]] as const) {
    if (!existsSync(from)) continue
    await copyFile(from, to)
    await chmod(to, 0o600)
    files.push(to.slice(outDir.length + 1))
  }
  const db = new DatabaseSync(src.db, { readOnly: true })
  try {
    await backup(db, dst.db)
  } finally {
    db.close()
  }
  await chmod(dst.db, 0o600)
  files.push(dst.db.slice(outDir.length + 1))
  const copy = new DatabaseSync(dst.db, { readOnly: true })
  let schemaVersion: number
  try {
    const check = copy.prepare('PRAGMA quick_check').get() as Record<string, unknown>
    if (check.quick_check !== 'ok') throw new BackupError(`the copied store fails its integrity check: ${String(check.quick_check)}`)
    schemaVersion = Number((copy.prepare('PRAGMA user_version').get() as Record<string, unknown>).user_version)
  } finally {
    copy.close()
  }
  return { files, storeBytes: (await stat(dst.db)).size, schemaVersion }
}
