import { generateUserKey, privateKeyFromProtobuf, privateKeyToProtobuf } from './protocol/keys.js'
import type { UserKey } from './protocol/keys.js'

/** Where a user's identity key lives between runs. */
export interface KeyStore {
  load: () => Promise<Uint8Array | undefined>
  save: (key: Uint8Array) => Promise<void>
}

/** Load the user's Ed25519 key from `store`, creating and saving one on first use. */
export async function loadOrCreateIdentity (store: KeyStore): Promise<UserKey> {
  const saved = await store.load()
  if (saved != null) return privateKeyFromProtobuf(saved)
  const key = generateUserKey()
  await store.save(privateKeyToProtobuf(key))
  return key
}

/** A key that lives as long as the page or process (tests, throwaway users). */
export function memoryKeyStore (): KeyStore {
  let key: Uint8Array | undefined
  return {
    load: async () => key,
    save: async k => { key = k }
  }
}

function idbRequest<T> (req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => { resolve(req.result) }
    req.onerror = () => { reject(req.error ?? new Error('IndexedDB request failed')) }
  })
}

/**
 * The browser's key store: the protobuf-encoded private key in IndexedDB, so a
 * user keeps their identity across reloads without the key touching a server.
 */
export function indexedDbKeyStore (dbName = 'meshchat', keyName = 'identity'): KeyStore {
  const open = async (): Promise<IDBDatabase> => {
    const req = indexedDB.open(dbName, 1)
    req.onupgradeneeded = () => { req.result.createObjectStore('keys') }
    return idbRequest(req)
  }
  return {
    load: async () => {
      const db = await open()
      try {
        const value = await idbRequest(db.transaction('keys', 'readonly').objectStore('keys').get(keyName))
        return value instanceof Uint8Array ? value : undefined
      } finally {
        db.close()
      }
    },
    save: async key => {
      const db = await open()
      try {
        await idbRequest(db.transaction('keys', 'readwrite').objectStore('keys').put(key, keyName))
      } finally {
        db.close()
      }
    }
  }
}
