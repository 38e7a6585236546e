import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/** Another live process (or another node in this process) already runs on this data directory. */
export class DataDirLockedError extends Error {
  static override name = 'DataDirLockedError'
  constructor (message: string) {
    super(message)
    this.name = 'DataDirLockedError'
  }
}

/** locks this process holds, so a second node in the same process is refused too */
const held = new Set<string>()

/** does a process with this pid exist (a zombie counts: it has not been reaped yet) */
export function alive (pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * An exclusive lock on a data directory: a `lock` file holding the owner's
 * pid, created with O_EXCL. Two nodes on one directory would share one
 * identity and one SQLite file, and the mesh would see one peer flapping
 * between two places. A lock left by a process that died is taken over.
 * Returns the function that releases it.
 */
export function lockDataDir (dir: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const path = join(dir, 'lock')
  if (held.has(path)) throw new DataDirLockedError(`${dir} is in use by another node in this process`)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      held.add(path)
      let released = false
      return () => {
        if (released) return
        released = true
        held.delete(path)
        rmSync(path, { force: true })
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let pid = NaN
      try {
        pid = Number(readFileSync(path, 'utf8').trim())
      } catch {
        // vanished between the two calls: try again
      }
      if (alive(pid) && pid !== process.pid) {
        throw new DataDirLockedError(`${dir} is in use by process ${pid} (remove ${path} if that is not a meshchat node)`)
      }
      // left behind by a process that is gone (or by this one, for a node that was not stopped): take it over
      rmSync(path, { force: true })
    }
  }
  throw new DataDirLockedError(`could not lock ${dir}`)
}

/**
 * The pid of the live process holding `dir`'s lock, or undefined when there
 * is no lock or the process that wrote it is gone. How `meshchat drain` finds
 * the node running on a data directory.
 */
export function lockHolder (dir: string): number | undefined {
  let pid: number
  try {
    pid = Number(readFileSync(join(dir, 'lock'), 'utf8').trim())
  } catch {
    return undefined
  }
  return alive(pid) ? pid : undefined
}
