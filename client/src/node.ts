import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { ChatClient } from './chat-client.js'
import { libp2pTransport } from './transports/libp2p.js'
import { webSocketTransport } from './transports/websocket.js'
import { NodeWebSocket } from './transports/node-websocket.js'
import { nodeEd25519PublicKey, nodeEd25519Signer, nodeEd25519Verifier } from './protocol/ed25519-node.js'
import { setEd25519Verifier, setEventIdHash } from './protocol/signing.js'
import { nodeEventIdHash } from './protocol/sha256-node.js'
import { setEd25519PublicKeyOf, setEd25519Signer } from './protocol/keys.js'
import type { ChatClientOptions } from './chat-client.js'
import type { KeyStore } from './key-store.js'

export * from './index.js'
export { NodeWebSocket } from './transports/node-websocket.js'
export type { NodeWebSocketOptions } from './transports/node-websocket.js'

/** A key file (protobuf private key, mode 0600): the terminal client's identity. */
export function fileKeyStore (path: string): KeyStore {
  return {
    load: async () => existsSync(path) ? new Uint8Array(await readFile(path)) : undefined,
    save: async key => {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 })
      await writeFile(path, key, { mode: 0o600, flag: 'wx' })
    }
  }
}

/**
 * A ChatClient for Node programs: the plain WebSocket edge (ws:// and wss:// URLs) and the libp2p
 * gateway (TCP and WebSocket multiaddrs), Ed25519 keys, signatures and checks through libsodium or
 * node:crypto. The light edge's WebSocket is {@link NodeWebSocket}, which took about 0.75× the
 * client CPU per attach of the `ws` package's client, and that about 0.3 ms less than Node's global
 * WebSocket (undici), in test/bench/client-attach.ts.
 */
export function createNodeClient (opts: ChatClientOptions): ChatClient {
  setEd25519Verifier(nodeEd25519Verifier)
  setEventIdHash(nodeEventIdHash)
  setEd25519Signer(nodeEd25519Signer)
  setEd25519PublicKeyOf(nodeEd25519PublicKey)
  return new ChatClient({
    transports: [webSocketTransport({ WebSocket: NodeWebSocket as unknown as typeof globalThis.WebSocket, binaryType: 'nodebuffer' }), libp2pTransport({ transports: [tcp(), webSockets()] })],
    ...opts
  })
}
