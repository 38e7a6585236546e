/**
 * Presence convergence from repeated runs, for issue 15's bounds: a join visible to room members on
 * other nodes (p99 ≤ 1 s), a crashed node's users cleared everywhere (≤ 3.5 s) and a partition heal
 * converged (≤ 2 s), each reported as p50 / p99 (nearest rank) / max over many samples. The bounds
 * are printed beside the figures; nothing here checks them.
 *
 * A 5-node mesh of real libp2p nodes on 127.0.0.1 with DEFAULT_TIMINGS (test/helpers/mesh.ts); every
 * time is from the action to the moment the LAST node or observer client shows its effect:
 * - join: one observer client per node sits in a room; a fresh user on one node (the node rotates)
 *   joins it; timed from the join call to the last other observer's `presence:join` for that user.
 * - crash: 3 users on a victim node (the node rotates) and one observer per other node in a fresh
 *   room; the victim `crash()`es (connections torn down, nothing announced); timed until every other
 *   node has dropped the users from its replica and the room's roster, and no observer's roster shows
 *   them. A replacement node is then added so the mesh stays at 5.
 * - heal: one user per node in a fresh room; the mesh is cut 2 | 3 (the bootstrap with the 2), and
 *   once each side has declared the other down one user leaves the room on the small side while a
 *   new user joins and another goes away on the large side; timed from the heal until every node
 *   hosting members of the room holds exactly the right roster (members, nodes, statuses), every node
 *   hosting none holds nobody, and every observer client in the room shows the same.
 *
 * All nodes share one process and one event loop (and the machine with the clients), so a node's
 * work waits behind every other node's: the figures are conservative against one process per node.
 *
 *   node dist/test/bench/presence-convergence.js [--reps N] [--joins N] [--out file.json]
 *
 * --joins: join samples (default 40); --reps: crash and heal repetitions (default 12 each); --out:
 * the JSON (default test/bench/results/presence-convergence.json, relative to the working directory).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_TIMINGS } from '../../node/src/config.js'
import { startMesh } from '../helpers/mesh.js'
import { convergenceTable, figure } from './lib/presence-convergence.js'
import type { ConvergenceFigure, ConvergenceReport } from './lib/presence-convergence.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { ChatClient } from '../../client/src/node.js'

const NODES = 5
const VICTIM_USERS = 3
/** issue 15's bounds */
const BOUND = { join: 1000, crash: 3500, heal: 2000 }
/** how long any one state may take before the run gives up on it: far beyond every bound */
const SETTLE_MS = 30_000
const POLL_MS = 10

function usage (msg: string): never {
  console.error(`${msg}\nusage: node dist/test/bench/presence-convergence.js [--reps N] [--joins N] [--out file.json]`)
  process.exit(2)
}

function count (name: string, raw: string | undefined, fallback: number): number {
  if (raw == null) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 10_000) usage(`--${name} takes a whole number from 1 to 10000, not ${JSON.stringify(raw)}`)
  return n
}

/**
 * Poll until every condition holds at once; the time it first did. Throws, naming the conditions
 * that still did not hold, after `timeoutMs`.
 */
async function settle (what: string, conds: Array<[string, () => boolean]>, timeoutMs = SETTLE_MS): Promise<number> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const now = performance.now()
    const failing = conds.filter(([, ok]) => { try { return !ok() } catch { return true } }).map(([name]) => name)
    if (failing.length === 0) return now
    if (now > deadline) throw new Error(`${what}: not converged after ${timeoutMs} ms: ${failing.join('; ')}`)
    await new Promise(resolve => setTimeout(resolve, POLL_MS))
  }
}

const short = (id: string): string => id.slice(-6)
const running = (mesh: TestMesh): MeshchatNode[] => mesh.nodes.filter(n => n.running)

/** a roster as a comparable string: members sorted by user id, with their nodes and status */
function rosterKey (members: ReadonlyArray<{ userId: string, nodes: readonly string[], status: string }>): string {
  return JSON.stringify(members.map(m => [m.userId, [...m.nodes].sort().join(','), m.status]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))))
}

async function closeAll (clients: ChatClient[]): Promise<void> {
  await Promise.allSettled(clients.map(async c => c.close()))
}

async function joins (mesh: TestMesh, samples: number, log: (s: string) => void): Promise<number[]> {
  const room = 'convergence-join'
  const nodes = running(mesh)
  const observers: ChatClient[] = []
  for (const [i, n] of nodes.entries()) {
    const o = await mesh.client(n, `join-observer${i}`)
    await o.join(room)
    observers.push(o)
  }
  await settle('join: observers in the room', observers.map(o => [`observer on ${short(o.nodeId ?? '')} sees ${NODES} members`, () => o.roster(room).length === NODES]))
  const out: number[] = []
  for (let i = 0; i < samples; i++) {
    const node = nodes[i % nodes.length]!
    const joiner = await mesh.client(node, `joiner${i}`)
    const watching = observers.filter(o => o.nodeId !== node.nodeId)
    const seen = new Map<ChatClient, number>()
    const listeners = watching.map(o => {
      const l = (e: CustomEvent<{ room: string, member: { userId: string } }>): void => {
        if (e.detail.room === room && e.detail.member.userId === joiner.userId && !seen.has(o)) seen.set(o, performance.now())
      }
      o.addEventListener('presence:join', l)
      return () => { o.removeEventListener('presence:join', l) }
    })
    try {
      const start = performance.now()
      await joiner.join(room)
      await settle(`join ${i}: joiner on ${short(node.nodeId)}`, watching.map(o => [`observer on ${short(o.nodeId ?? '')} to see the join`, () => seen.has(o)]))
      out.push(Math.max(...seen.values()) - start)
    } finally {
      for (const off of listeners) off()
    }
    // the next sample starts from the same roster
    await joiner.close()
    await settle(`join ${i}: the joiner's leave`, observers.map(o => [`observer on ${short(o.nodeId ?? '')} to drop the joiner`, () => !o.roster(room).some(m => m.userId === joiner.userId)]))
    log(`  join ${i + 1}/${samples} from ${short(node.nodeId)}: ${out.at(-1)?.toFixed(1)} ms`)
  }
  await closeAll(observers)
  return out
}

async function crashes (mesh: TestMesh, reps: number, log: (s: string) => void): Promise<number[]> {
  const out: number[] = []
  for (let r = 0; r < reps; r++) {
    const room = `convergence-crash-${r}`
    const nodes = running(mesh)
    const victim = nodes[r % nodes.length]!
    const others = nodes.filter(n => n !== victim)
    const observers: ChatClient[] = []
    const victims: ChatClient[] = []
    try {
      for (const [i, n] of others.entries()) {
        const o = await mesh.client(n, `crash${r}-observer${i}`)
        await o.join(room)
        observers.push(o)
      }
      // a crashed server takes its sessions with it: the victims do not fail over
      for (let i = 0; i < VICTIM_USERS; i++) {
        const v = await mesh.client(victim, `crash${r}-victim${i}`, { reconnect: false })
        await v.join(room)
        victims.push(v)
      }
      const ids = victims.map(v => v.userId)
      const all = observers.length + victims.length
      await settle(`crash ${r}: the room before the crash`, [
        ...others.map((n): [string, () => boolean] => [`node ${short(n.nodeId)} to hold the victims`, () => n.presence.replica.roomRoster(room).length === all && ids.every(id => n.presence.replica.user(id) != null)]),
        ...observers.map((o): [string, () => boolean] => [`observer on ${short(o.nodeId ?? '')} to show ${all} members`, () => o.roster(room).length === all])
      ])
      const start = performance.now()
      // polled while the crash runs; its own outcome is awaited after
      const crashed = victim.crash().then(() => undefined, (err: Error) => err)
      const at = await settle(`crash ${r}: node ${short(victim.nodeId)} crashed`, [
        ...others.map((n): [string, () => boolean] => [`node ${short(n.nodeId)} to drop the victims`, () => ids.every(id => n.presence.replica.user(id) == null) && !n.presence.replica.roomRoster(room).some(m => ids.includes(m.userId))]),
        ...observers.map((o): [string, () => boolean] => [`observer on ${short(o.nodeId ?? '')} to drop the victims`, () => !o.roster(room).some(m => ids.includes(m.userId))])
      ])
      const failed = await crashed
      if (failed != null) throw new Error(`crash ${r}: crash() of ${short(victim.nodeId)} failed: ${failed.message}`)
      out.push(at - start)
      log(`  crash ${r + 1}/${reps} of ${short(victim.nodeId)}: ${(at - start).toFixed(1)} ms`)
    } finally {
      await closeAll([...observers, ...victims])
    }
    // back to NODES live nodes
    await mesh.addNode({ timings: DEFAULT_TIMINGS })
    await mesh.converged(NODES, SETTLE_MS)
  }
  return out
}

async function heals (mesh: TestMesh, reps: number, log: (s: string) => void): Promise<number[]> {
  const out: number[] = []
  for (let r = 0; r < reps; r++) {
    const room = `convergence-heal-${r}`
    const nodes = running(mesh)
    const left = nodes.slice(0, 2)
    const right = nodes.slice(2)
    const clients: ChatClient[] = []
    let late: ChatClient | undefined
    const links = [...nodes, mesh.bootstrap]
    try {
      for (const [i, n] of nodes.entries()) {
        const c = await mesh.client(n, `heal${r}-user${i}`)
        await c.join(room)
        clients.push(c)
      }
      await settle(`heal ${r}: the room before the partition`, nodes.map(n => [`node ${short(n.nodeId)} to hold ${NODES} members`, () => n.presence.replica.roomRoster(room).length === NODES]))

      // cut 2 | 3 both ways, the bootstrap with the 2, and refuse redials until the heal
      const ids = (g: MeshchatNode[]): string[] => g.map(n => n.nodeId)
      for (const n of left) n.linkControl.block(ids(right))
      for (const n of right) n.linkControl.block([...ids(left), mesh.bootstrap.peerId])
      mesh.bootstrap.linkControl.block(ids(right))
      for (const n of left) for (const o of right) await n.mesh.hangUp(o.mesh.peerId).catch(() => {})
      for (const n of right) await n.mesh.hangUp(mesh.bootstrap.mesh.peerId).catch(() => {})
      await settle(`heal ${r}: the partition`, [
        ...left.map((n): [string, () => boolean] => [`node ${short(n.nodeId)} to declare the other side down`, () => n.presence.replica.liveNodes().length === left.length]),
        ...right.map((n): [string, () => boolean] => [`node ${short(n.nodeId)} to declare the other side down`, () => n.presence.replica.liveNodes().length === right.length])
      ])

      // while split: a leave on the small side; a join and a status change on the large side
      const leaver = clients[0]!
      const away = clients[3]!
      await leaver.leave(room)
      late = await mesh.client(right[0]!, `heal${r}-late`)
      await late.join(room)
      await away.setStatus('away')
      const member = (c: ChatClient, status = 'online'): { userId: string, nodes: string[], status: string } => ({ userId: c.userId, nodes: [c.nodeId ?? ''], status })
      const leftWant = rosterKey([member(clients[1]!)])
      const rightWant = rosterKey([member(clients[2]!), member(away, 'away'), member(clients[4]!), member(late)])
      await settle(`heal ${r}: each side's changes on its own side`, [
        // the leaver's node may host no member any more (then it holds nobody)
        ...left.map((n): [string, () => boolean] => [`node ${short(n.nodeId)} to hold its side's roster`, () => n.presence.localRooms.rooms().includes(room)
          ? rosterKey(n.presence.replica.roomRoster(room)) === leftWant
          : n.presence.roster(room).length === 0]),
        ...right.map((n): [string, () => boolean] => [`node ${short(n.nodeId)} to hold its side's roster`, () => rosterKey(n.presence.replica.roomRoster(room)) === rightWant])
      ])

      const want = rosterKey([member(clients[1]!), member(clients[2]!), member(away, 'away'), member(clients[4]!), member(late)])
      const observers = [...clients.slice(1), late]
      const start = performance.now()
      for (const n of links) n.linkControl.unblock(links.map(x => x.mesh.peerId.toString()))
      const at = await settle(`heal ${r}: after the heal`, [
        ...nodes.map((n): [string, () => boolean] => [`node ${short(n.nodeId)} to hold the healed roster (or nobody if it hosts no member of the room)`, () => n.presence.localRooms.rooms().includes(room)
          ? rosterKey(n.presence.replica.roomRoster(room)) === want
          : n.presence.roster(room).length === 0]),
        ...observers.map((o): [string, () => boolean] => [`observer on ${short(o.nodeId ?? '')} to show the healed roster`, () => rosterKey(o.roster(room)) === want])
      ])
      out.push(at - start)
      log(`  heal ${r + 1}/${reps}: ${(at - start).toFixed(1)} ms`)
    } finally {
      // whatever happened, the next repetition starts from a whole mesh
      for (const n of links) n.linkControl.unblock(links.map(x => x.mesh.peerId.toString()))
      await closeAll(late == null ? clients : [...clients, late])
    }
    await mesh.converged(NODES, SETTLE_MS)
  }
  return out
}

async function main (): Promise<void> {
  const { values: argv } = (() => {
    try {
      return parseArgs({ options: { reps: { type: 'string' }, joins: { type: 'string' }, out: { type: 'string' } }, allowPositionals: false })
    } catch (err) {
      return usage((err as Error).message)
    }
  })()
  const reps = count('reps', argv.reps, 12)
  const joinSamples = count('joins', argv.joins, 40)
  const out = argv.out ?? join('test', 'bench', 'results', 'presence-convergence.json')
  const log = (s: string): void => { console.log(s) }

  const mesh = await startMesh(NODES, { timings: DEFAULT_TIMINGS })
  const figures: ConvergenceFigure[] = []
  try {
    await mesh.converged(NODES, SETTLE_MS)
    log(`presence convergence on ${NODES} nodes in one process (DEFAULT_TIMINGS, H = ${DEFAULT_TIMINGS.heartbeatMs} ms)`)
    log(`join: ${joinSamples} samples`)
    figures.push(figure('join', 'join visible to every other node\'s observer', BOUND.join, await joins(mesh, joinSamples, log)))
    log(`crash: ${reps} repetitions`)
    figures.push(figure('crash', `crashed node's ${VICTIM_USERS} users cleared on every node and observer`, BOUND.crash, await crashes(mesh, reps, log)))
    log(`heal: ${reps} repetitions`)
    figures.push(figure('heal', 'partition (2 and 3 nodes) healed: rosters converged everywhere', BOUND.heal, await heals(mesh, reps, log)))
  } finally {
    await mesh.stop()
  }
  const report: ConvergenceReport = {
    date: new Date().toISOString(),
    nodes: NODES,
    timings: { ...DEFAULT_TIMINGS },
    inProcess: true,
    figures
  }
  log(`\n${convergenceTable(figures)}`)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
  log(`\nwritten: ${out}`)
}

main().catch(err => {
  console.error(err)
  process.exitCode = 1
})
