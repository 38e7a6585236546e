import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { generateSwarmKey } from './mesh/pnet.js'
import type { PrivateKey } from '@libp2p/interface'

/** Thrown when a key file exists but cannot be used; the daemon refuses to start rather than make a new identity. */
export class KeyFileError extends Error {
  static override name = 'KeyFileError'
  constructor (message: string) {
    super(message)
    this.name = 'KeyFileError'
  }
}

const SWARM_KEY_RE = /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-fA-F]{64}\s*$/

/** A new mesh key in the IPFS swarm.key format that `@libp2p/pnet` reads. */
export function newMeshKey (): Uint8Array {
  const key = new Uint8Array(95)
  generateSwarmKey(key)
  return key
}

/** Check the swarm key format (throws KeyFileError), so a typo does not surface as "connection refused" later. */
export function checkMeshKey (key: Uint8Array, where: string): Uint8Array {
  if (!SWARM_KEY_RE.test(new TextDecoder().decode(key))) {
    throw new KeyFileError(`${where} is not a swarm key (expected /key/swarm/psk/1.0.0/, /base16/, 64 hex digits)`)
  }
  return key
}

async function writePrivate (path: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  // wx: never overwrite a key another process created in the meantime
  await writeFile(path, data, { mode: 0o600, flag: 'wx' })
}

/** Read the mesh key file, creating it when `create` is set and the file is missing. */
export async function loadMeshKey (path: string, create: boolean): Promise<{ key: Uint8Array, created: boolean }> {
  if (existsSync(path)) {
    return { key: checkMeshKey(await readFile(path), path), created: false }
  }
  if (!create) {
    throw new KeyFileError(`mesh key ${path} does not exist (run \`meshchat keygen --out ${path}\`, then copy it to every node)`)
  }
  const key = newMeshKey()
  await writePrivate(path, key)
  return { key, created: true }
}

/** The node's (or bootstrap's) stable libp2p identity, kept as a protobuf private key file. */
export async function loadIdentity (path: string): Promise<{ key: PrivateKey, created: boolean }> {
  if (existsSync(path)) {
    try {
      return { key: privateKeyFromProtobuf(await readFile(path)), created: false }
    } catch (err) {
      throw new KeyFileError(`${path} is not a libp2p private key: ${(err as Error).message}`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  await writePrivate(path, privateKeyToProtobuf(key))
  return { key, created: true }
}

export function dataPaths (dataDir: string): { nodeKey: string, meshKey: string, db: string, incarnation: string } {
  return {
    nodeKey: join(dataDir, 'node.key'),
    meshKey: join(dataDir, 'swarm.key'),
    db: join(dataDir, 'meshchat.sqlite'),
    incarnation: join(dataDir, 'incarnation')
  }
}

/**
 * The identity and mesh key a mesh host (node or bootstrap) starts with: the
 * given key, else the data directory's key file (created on first start),
 * else a fresh in-memory key. The mesh key: given bytes, a given file (which
 * must exist), `<dataDir>/swarm.key` (created on first start), or a fresh one.
 */
export async function resolveKeys (opts: {
  dataDir?: string | null
  meshKey?: string | Uint8Array | null
  privateKey?: PrivateKey
}): Promise<{ privateKey: PrivateKey, psk: Uint8Array, createdMeshKey: boolean }> {
  const paths = opts.dataDir == null ? undefined : dataPaths(opts.dataDir)
  const privateKey = opts.privateKey ?? (paths != null ? (await loadIdentity(paths.nodeKey)).key : await generateKeyPair('Ed25519'))
  if (opts.meshKey instanceof Uint8Array) {
    return { privateKey, psk: checkMeshKey(opts.meshKey, 'mesh key'), createdMeshKey: false }
  }
  if (typeof opts.meshKey === 'string') {
    return { privateKey, psk: (await loadMeshKey(opts.meshKey, false)).key, createdMeshKey: false }
  }
  if (paths != null) {
    const loaded = await loadMeshKey(paths.meshKey, true)
    return { privateKey, psk: loaded.key, createdMeshKey: loaded.created }
  }
  return { privateKey, psk: newMeshKey(), createdMeshKey: true }
}
