import { BootstrapDaemon } from '../../bootstrap/src/bootstrap.js'
import { MeshchatNode } from '../../node/src/daemon.js'
import { newMeshKey } from '../../node/src/keys.js'
import { createNodeClient, memoryKeyStore } from '../../client/src/node.js'
import { TEST_TIMINGS } from '../../node/src/config.js'
import type { NodeOptions } from '../../node/src/daemon.js'
import type { ChatClient, ChatClientOptions } from '../../client/src/node.js'

/** Poll `cond` until it is truthy or `timeoutMs` passes; throws with `what` on timeout. */
export async function waitFor<T> (cond: () => T | Promise<T>, opts: { timeoutMs?: number, intervalMs?: number, what?: string } = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await cond()
      if (v != null && v !== false) return v as NonNullable<T>
    } catch (err) {
      last = err
    }
    await new Promise(resolve => setTimeout(resolve, opts.intervalMs ?? 25))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}${last != null ? ` (last error: ${(last as Error).message})` : ''}`)
}

export interface TestMesh {
  meshKey: Uint8Array
  bootstrap: BootstrapDaemon
  nodes: MeshchatNode[]
  clients: ChatClient[]
  /** start one more node with the mesh's key and bootstrap */
  addNode: (opts?: NodeOptions) => Promise<MeshchatNode>
  /** a connected client attached to `node` */
  client: (node: MeshchatNode, name: string, opts?: Partial<ChatClientOptions>) => Promise<ChatClient>
  /** wait until every running node's presence sees `count` live nodes */
  converged: (count?: number, timeoutMs?: number) => Promise<void>
  /** stop everything (idempotent; safe in afterEach even when a test failed) */
  stop: () => Promise<void>
}

/** the TCP gateway address of a node (what Node clients dial) */
export function tcpGateway (node: MeshchatNode): string {
  const a = node.gatewayAddrs().find(x => !x.includes('/ws'))
  if (a == null) throw new Error('node has no TCP gateway')
  return a
}

/**
 * A mesh of real libp2p nodes on 127.0.0.1, started through one bootstrap
 * daemon only (nodes are given nothing but its address).
 */
export async function startMesh (count: number, opts: NodeOptions = {}): Promise<TestMesh> {
  const meshKey = newMeshKey()
  const bootstrap = await BootstrapDaemon.create({ meshKey })
  await bootstrap.start()
  const nodes: MeshchatNode[] = []
  const clients: ChatClient[] = []
  const mesh: TestMesh = {
    meshKey,
    bootstrap,
    nodes,
    clients,
    addNode: async (extra = {}) => {
      const node = await MeshchatNode.create({
        meshKey,
        bootstrap: bootstrap.addrs(),
        timings: TEST_TIMINGS,
        ...opts,
        ...extra
      })
      nodes.push(node)
      await node.start()
      return node
    },
    client: async (node, name, extra = {}) => {
      const c = createNodeClient({ name, addrs: [tcpGateway(node)], keyStore: memoryKeyStore(), ...extra })
      clients.push(c)
      await c.connect()
      return c
    },
    converged: async (n, timeoutMs = 15_000) => {
      const want = n ?? nodes.filter(x => x.running).length
      await waitFor(() => nodes.filter(x => x.running).every(x => x.presence.replica.liveNodes().length === want),
        { timeoutMs, what: `every node to see ${want} live nodes` })
    },
    stop: async () => {
      await Promise.allSettled(clients.splice(0).map(async c => c.close()))
      await Promise.allSettled(nodes.splice(0).map(async n => n.stop({ graceful: false })))
      await bootstrap.stop()
    }
  }
  for (let i = 0; i < count; i++) await mesh.addNode()
  return mesh
}
