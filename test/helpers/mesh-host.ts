/**
 * Bare mesh hosts for tests of one mesh protocol at a time: the daemons' libp2p stack (TCP, pnet,
 * noise, yamux, gossipsub) on loopback, without the chat node around it.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createMeshHost } from '../../node/src/mesh/mesh-host.js'
import { LinkControl } from '../../node/src/mesh/link-control.js'
import { generateSwarmKey, SWARM_KEY_LENGTH } from '../../node/src/mesh/pnet.js'
import type { MeshLibp2p } from '../../node/src/mesh/mesh-host.js'

/** a fresh mesh key */
export function testSwarmKey (): Uint8Array {
  const psk = new Uint8Array(SWARM_KEY_LENGTH)
  generateSwarmKey(psk)
  return psk
}

/** a started mesh host on 127.0.0.1 with a new identity and mesh key `psk`; the caller stops it */
export async function startLoopbackHost (psk: Uint8Array): Promise<MeshLibp2p> {
  const h = await createMeshHost({ privateKey: await generateKeyPair('Ed25519'), psk, listen: ['/ip4/127.0.0.1/tcp/0'], trustedIps: ['127.0.0.1'], linkControl: new LinkControl() })
  await h.start()
  return h
}

/** `count` started mesh hosts on 127.0.0.1 sharing one new mesh key, not yet connected; the caller stops them */
export async function startLoopbackHosts (count: number): Promise<MeshLibp2p[]> {
  const psk = testSwarmKey()
  const hosts: MeshLibp2p[] = []
  try {
    for (let i = 0; i < count; i++) hosts.push(await startLoopbackHost(psk))
  } catch (err) {
    await Promise.all(hosts.map(async h => { await h.stop() }))
    throw err
  }
  return hosts
}
