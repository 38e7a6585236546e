/**
 * Presence convergence and presence traffic (meshchat only), on a fresh mesh of N nodes.
 *
 * One observer client per node sits in a probe room; every event is timed from the action (the
 * join request, the close, the signal to a node process) to the moment the LAST observer's client
 * shows it (a roster diff), so the figure includes gossip, the receiving node and its gateway:
 * - user join / graceful user leave: a client on one node joins the room / closes;
 * - node graceful leave (SIGTERM, the node says goodbye) and node crash (SIGKILL, nobody says
 *   anything): all users of the node must leave every observer's roster;
 * - node (re)join: the stopped node is started again; ready = its /healthz is up, visible = every
 *   other node's /healthz counts it (polled every 50 ms).
 * Presence bytes/s per node: meshchat_presence_bytes_total over a window while clients churn at a
 * given rate (a client closes and a new one attaches and joins 2 rooms, population held constant).
 */
import { churnWindow } from '../lib/churn.js'
import { Histogram, summarize } from '../lib/histogram.js'
import { LoadGen } from '../lib/loadgen-client.js'
import { MeshchatCluster } from '../lib/meshchat-cluster.js'
import { now, sleep, waitFor } from '../lib/procs.js'
import type { PresenceEvent, UserSpec } from '../lib/loadgen-protocol.js'
import type { ProcRegistry } from '../lib/procs.js'

export interface ConvergenceRow {
  nodes: number
  event: string
  samples: number
  p50Ms: number
  maxMs: number
  /** extra figure where one applies (node join: time to /healthz ready) */
  note?: string
}

export interface ChurnRow {
  nodes: number
  /** churn asked for, and achieved (closes per second; each is followed by a new attach + 2 room joins) */
  targetPerSec: number
  churnPerSec: number
  population: number
  seconds: number
  /** per node, mean over nodes */
  presenceBytesInPerSec: number
  presenceBytesOutPerSec: number
  /** all socket bytes between nodes (peer traffic) per node, for scale */
  meshBytesInPerSec: number
  maxNodeBytesInPerSec: number
  /** CPU per node (cores), mean over nodes: presence, gossip heartbeats, the churning sessions */
  cpuPerNode: number
}

export interface PresenceResult {
  convergence: ConvergenceRow[]
  churn: ChurnRow[]
}

const PROBE = 'presence-probe'

export async function presenceScenario (reg: ProcRegistry, opts: {
  base: number
  nodes: number
  reps: number
  usersPerVictim: number
  churnRates: number[]
  churnSeconds: number
  churnPopulationPerNode: number
  log: (s: string) => void
}): Promise<PresenceResult> {
  const { nodes, log } = opts
  const t0 = Date.now()
  const mesh = await MeshchatCluster.start(reg, { base: opts.base, nodes, tag: `presence${nodes}` })
  log(`  ${nodes}-node mesh up in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  const gen = new LoadGen(reg, `presence${nodes}-gen`)
  const rows: ConvergenceRow[] = []
  const churn: ChurnRow[] = []
  let nextKey = 0
  const spec = (node: number, rooms: string[], reconnect = true): UserSpec => {
    const key = nextKey++
    return { key, name: `p${key}`, addr: mesh.clientAddr(node), expect: mesh.serverId(node), rooms, reconnect }
  }
  try {
    const victim = nodes - 1
    // observers on every node but the victim
    const observers = Array.from({ length: nodes - 1 }, (_, i) => spec(i, [PROBE]))
    await gen.attach({ system: 'meshchat', users: observers, concurrency: 10, join: true })
    await sleep(1500)
    await gen.observe()
    const observerCount = observers.length

    /** time from t0 until every observer has seen `type` for every one of `userIds` */
    const converge = async (type: PresenceEvent['type'], userIds: string[], start: number, timeoutMs = 30_000): Promise<number> => {
      const seen = new Map<string, number>()
      const want = userIds.length * observerCount
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        for (const e of await gen.events()) {
          if (e.type !== type || !userIds.includes(e.userId)) continue
          const k = `${e.observer}/${e.userId}`
          if (!seen.has(k)) seen.set(k, e.t)
        }
        if (seen.size >= want) return Math.max(...seen.values()) - start
        await sleep(50)
      }
      throw new Error(`presence: only ${seen.size} of ${want} ${type} events within ${timeoutMs} ms`)
    }

    const userJoin = new Histogram()
    const userLeave = new Histogram()
    const nodeLeave = new Histogram()
    const nodeCrash = new Histogram()
    const nodeReady = new Histogram()
    const nodeVisible = new Histogram()

    const attachVictims = async (): Promise<{ keys: number[], ids: string[] }> => {
      const specs = Array.from({ length: opts.usersPerVictim }, () => spec(victim, [], false))
      const r = await gen.attach({ system: 'meshchat', users: specs, concurrency: 10, join: false })
      await gen.events()
      const keys = specs.map(s => s.key)
      const start = now()
      await gen.join(keys, PROBE)
      await converge('join', r.users.map(u => u.userId), start)
      return { keys, ids: r.users.map(u => u.userId) }
    }

    const restartVictim = async (): Promise<void> => {
      const start = now()
      await mesh.startNode(victim, false)
      nodeReady.record(now() - start)
      await waitFor(async () => {
        const hs = await Promise.all(mesh.live().filter(x => x.index !== victim).map(async x => mesh.health(x.index)))
        return hs.every(h => h.meshNodes === nodes)
      }, 'every node to see the restarted node', 30_000, 50)
      nodeVisible.record(now() - start)
      await mesh.converged(nodes)
    }

    for (let rep = 0; rep < opts.reps; rep++) {
      // user join and graceful leave, on a different node each time
      const node = rep % (nodes - 1)
      const u = spec(node, [], false)
      const a = await gen.attach({ system: 'meshchat', users: [u], concurrency: 1, join: false })
      const id = a.users[0]?.userId ?? ''
      await sleep(300)
      await gen.events()
      const tj = (await gen.join([u.key], PROBE))[u.key] ?? now()
      userJoin.record(await converge('join', [id], tj))
      await sleep(300)
      const tl = (await gen.close([u.key]))[u.key] ?? now()
      userLeave.record(await converge('leave', [id], tl))

      // graceful node leave
      let v = await attachVictims()
      await sleep(500)
      await gen.events()
      let ts = now()
      mesh.node(victim).proc.signal('SIGTERM')
      nodeLeave.record(await converge('leave', v.ids, ts))
      await mesh.node(victim).proc.exited
      await gen.close(v.keys)
      await restartVictim()

      // crash
      v = await attachVictims()
      await sleep(500)
      await gen.events()
      ts = now()
      mesh.node(victim).proc.signal('SIGKILL')
      nodeCrash.record(await converge('leave', v.ids, ts))
      await mesh.node(victim).proc.exited
      await gen.close(v.keys)
      await restartVictim()
      log(`  ${nodes} nodes, rep ${rep + 1}/${opts.reps}: join ${userJoin.max.toFixed(0)} ms, leave ${nodeLeave.max.toFixed(0)} ms, crash ${nodeCrash.max.toFixed(0)} ms`)
    }
    const row = (event: string, h: Histogram, note?: string): ConvergenceRow => {
      const s = summarize(h)
      return { nodes, event, samples: h.count, p50Ms: Math.round(s.p50), maxMs: Math.round(s.max), note }
    }
    rows.push(row('user joins a room', userJoin))
    rows.push(row('user leaves (client closes)', userLeave))
    rows.push(row(`node leaves gracefully (SIGTERM, ${opts.usersPerVictim} users)`, nodeLeave))
    rows.push(row(`node crashes (SIGKILL, ${opts.usersPerVictim} users)`, nodeCrash))
    rows.push(row('node restarts: counted by every node', nodeVisible, `ready (own /healthz) p50 ${Math.round(nodeReady.quantile(0.5))} ms`))

    // presence traffic under churn
    const perNode = opts.churnPopulationPerNode
    const population: UserSpec[] = []
    const roomsFor = (k: number): string[] => [`churn-${k % 50}`, `churn-${(k * 7 + 3) % 50}`]
    for (let n = 0; n < nodes; n++) for (let i = 0; i < perNode; i++) { const s = spec(n, []); s.rooms = roomsFor(s.key); population.push(s) }
    await gen.attach({ system: 'meshchat', users: population, concurrency: 20, join: true })
    const alive = population.map(s => s.key)
    await sleep(2000)
    for (const rate of opts.churnRates) {
      const before = await mesh.snapshot()
      let rr = 0
      const churned = await churnWindow(gen, alive, {
        ratePerSec: rate,
        seconds: opts.churnSeconds,
        replace: out => out.map(() => {
          const s = spec(rr++ % nodes, [])
          s.rooms = roomsFor(s.key)
          return s
        })
      })
      const after = await mesh.snapshot()
      const seconds = (after.t - before.t) / 1000
      const chat = after.servers.filter(s => s.role === 'server')
      const per = chat.map(s => {
        const b = before.servers.find(x => x.name === s.name)
        return {
          pin: (s.counters.presenceBytesIn ?? 0) - (b?.counters.presenceBytesIn ?? 0),
          pout: (s.counters.presenceBytesOut ?? 0) - (b?.counters.presenceBytesOut ?? 0),
          mesh: s.bytesIn.peer - (b?.bytesIn.peer ?? 0),
          cpu: s.proc.cpuSec - (b?.proc.cpuSec ?? 0)
        }
      })
      const mean = (f: (x: typeof per[number]) => number): number => per.reduce((n, x) => n + f(x), 0) / Math.max(1, per.length) / seconds
      churn.push({
        nodes,
        targetPerSec: rate,
        churnPerSec: Math.round(churned / seconds * 10) / 10,
        population: alive.length,
        seconds: Math.round(seconds),
        presenceBytesInPerSec: Math.round(mean(x => x.pin)),
        presenceBytesOutPerSec: Math.round(mean(x => x.pout)),
        meshBytesInPerSec: Math.round(mean(x => x.mesh)),
        maxNodeBytesInPerSec: Math.round(Math.max(...per.map(x => x.pin)) / seconds),
        cpuPerNode: Math.round(mean(x => x.cpu) * 1000) / 1000
      })
      log(`  ${nodes} nodes, churn ${rate}/s: presence in ${churn[churn.length - 1]?.presenceBytesInPerSec ?? 0} B/s per node`)
    }
  } finally {
    await gen.stop()
    await mesh.stop()
  }
  return { convergence: rows, churn }
}
