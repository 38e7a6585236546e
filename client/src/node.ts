import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { WebSocket as WsClient } from 'ws'
import { ChatClient } from './chat-client.js'
import { libp2pTransport } from './transports/libp2p.js'
import { webSocketTransport } from './transports/websocket.js'
import { nodeEd25519PublicKey, nodeEd25519Signer, nodeEd25519Verifier } from './protocol/ed25519-node.js'
import { setEd25519Verifier } from './protocol/signing.js'
import { setEd25519PublicKeyOf, setEd25519Signer } from './protocol/keys.js'
import type { ChatClientOptions } from './chat-client.js'
import type { KeyStore } from './key-store.js'

export * from './index.js'

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

type SendOptions = Exclude<Parameters<WsClient['send']>[1], SendCallback | undefined>
type SendCallback = (err?: Error) => void

/** what {@link CorkingWebSocket} reaches of the `ws` client: its TCP (or TLS) socket, once open */
interface WsSocketField { _socket?: { cork?: () => void, uncork?: () => void } | null }

/**
 * The `ws` package's client with the frames sent in one tick written together: the socket is corked
 * at the first send and uncorked on the next tick, so the proof of key and the hello after it (and a
 * reconnect's hello and joins) leave in one TCP write and reach the node in one read.
 */
export class CorkingWebSocket extends WsClient {
  private corked = false

  override send (data: Parameters<WsClient['send']>[0], options?: SendOptions | SendCallback, cb?: SendCallback): void {
    const socket = (this as unknown as WsSocketField)._socket
    if (!this.corked && this.readyState === WsClient.OPEN && typeof socket?.cork === 'function' && typeof socket.uncork === 'function') {
      this.corked = true
      socket.cork()
      process.nextTick(() => {
        this.corked = false
        socket.uncork?.()
      })
    }
    if (typeof options === 'function') super.send(data, options)
    else super.send(data, options ?? {}, cb)
  }
}

/**
 * A ChatClient for Node programs: the plain WebSocket edge (ws:// and wss:// URLs) and the libp2p
 * gateway (TCP and WebSocket multiaddrs), Ed25519 keys, signatures and checks through libsodium or
 * node:crypto. The light edge's WebSocket is the `ws` package's client, which took about 0.3 ms less
 * client CPU per attach than Node's global WebSocket (undici) in test/bench/client-attach.ts.
 */
export function createNodeClient (opts: ChatClientOptions): ChatClient {
  setEd25519Verifier(nodeEd25519Verifier)
  setEd25519Signer(nodeEd25519Signer)
  setEd25519PublicKeyOf(nodeEd25519PublicKey)
  return new ChatClient({
    transports: [webSocketTransport({ WebSocket: CorkingWebSocket as unknown as typeof globalThis.WebSocket, binaryType: 'nodebuffer' }), libp2pTransport({ transports: [tcp(), webSockets()] })],
    ...opts
  })
}
