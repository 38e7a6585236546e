import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { LIMITS } from '../protocol/limits.js'
import { lengthPrefixed, readFrames } from '../protocol/codec.js'
import { CLIENT_PROTOCOL } from '../protocol/ids.js'
import type { ClientTransport, FrameChannel } from '../transport.js'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { privateKeyToProtobuf } from '../protocol/keys.js'
import type { SigningKey, UserKey } from '../protocol/keys.js'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Libp2pInit } from 'libp2p'

/**
 * The libp2p gateway transport: `/meshchat/client/1.0.0` over noise and yamux,
 * on WebSockets (browsers) or TCP and WebSockets (Node). Noise proves the user's
 * key; frames are length-prefixed on the stream.
 */
export function libp2pTransport (opts: { transports?: Libp2pInit['transports'] } = {}): ClientTransport {
  let node: Libp2p | undefined
  let nodeKey: SigningKey | undefined
  const host = async (key: SigningKey): Promise<Libp2p> => {
    if (node != null && nodeKey === key) return node
    await node?.stop()
    nodeKey = key
    // noise needs a libp2p key: a key made by the client library becomes one through the shared protobuf form
    const libp2pKey: PrivateKey = 'seed' in key ? privateKeyFromProtobuf(privateKeyToProtobuf(key as UserKey)) : key as unknown as PrivateKey
    node = await createLibp2p({
      privateKey: libp2pKey,
      transports: opts.transports ?? [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // gateways sit on private and loopback addresses as often as on public ones
      connectionGater: { denyDialMultiaddr: () => false },
      connectionMonitor: { enabled: false }
    })
    return node
  }
  return {
    handles: addr => addr.startsWith('/'),
    dial: async (addr, key, signal) => {
      const stream = await (await host(key)).dialProtocol(multiaddr(addr), CLIENT_PROTOCOL, { signal })
      const channel: FrameChannel = {
        addr,
        get writable () { return stream.writeStatus === 'writable' },
        send: frame => { stream.send(lengthPrefixed(frame)) },
        frames: () => readFrames(stream, LIMITS.maxServerFrameBytes),
        close: async () => {
          await stream.close({ signal: AbortSignal.timeout(1000) }).catch(() => { stream.abort(new Error('closing')) })
        },
        abort: err => { stream.abort(err) }
      }
      return channel
    },
    stop: async () => {
      await node?.stop()
      node = undefined
    }
  }
}
