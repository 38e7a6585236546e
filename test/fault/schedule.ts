/**
 * The seeded scenario generator: from a seed, a schedule of faults and heals over the run, as
 * primitive actions at fixed times, so a failing run replays exactly. Faults come one after the
 * other with a quiet gap between them; client reconnects happen throughout.
 */
import { Prng } from './prng.js'

export type Action =
  | { at: number, do: 'block', from: number[], to: number[] }
  | { at: number, do: 'unblock', from: number[], to: number[] }
  | { at: number, do: 'loss', node: number, pct: number }
  | { at: number, do: 'kill', node: number }
  | { at: number, do: 'restart', node: number }
  | { at: number, do: 'pause', node: number }
  | { at: number, do: 'resume', node: number }
  | { at: number, do: 'bounce', client: number }

export type FaultKind = 'partition' | 'one-way' | 'flap' | 'loss' | 'kill' | 'pause' | 'isolate' | 'forget'

/** the bootstrap daemon, in a block action's node lists (only the `forget` fault cuts it off) */
export const BOOTSTRAP = -1

export interface ScheduleOptions {
  seed: number
  nodes: number
  clients: number
  /** length of the fault phase, ms */
  durationMs: number
  /** fault kinds to draw from; default all */
  kinds?: FaultKind[]
  /** largest clock offset given to a node, ms (each node gets one in ±max) */
  maxClockOffsetMs?: number
  /** an isolation lasts at least this long (past the presence failure detector's 3 s) */
  longPartitionMs?: number
  /**
   * the nodes' presence forget window (timings.forgetAfterMs): a `forget` fault cuts a node off from
   * every other node and from the bootstrap daemon for longer than this, so both sides forget each
   * other (tombstones, addresses) before the heal
   */
  forgetAfterMs?: number
}

export interface Schedule {
  seed: number
  /** per node: its wall-clock offset, ms */
  clockOffsetsMs: number[]
  actions: Action[]
  /** how many faults (each a fault and its heal) */
  faults: number
}

export const FAULT_KINDS: FaultKind[] = ['partition', 'one-way', 'flap', 'loss', 'kill', 'pause', 'isolate', 'forget']

/**
 * the kinds drawn from when none are given: all but `forget`, which needs nodes started with a short
 * forget window (10 minutes by default); a seed's schedule stays what it was before `forget` existed
 */
export const DEFAULT_KINDS: FaultKind[] = ['partition', 'one-way', 'flap', 'loss', 'kill', 'pause', 'isolate']

export function generate (opts: ScheduleOptions): Schedule {
  const rnd = new Prng(opts.seed)
  const n = opts.nodes
  const kinds = opts.kinds ?? DEFAULT_KINDS
  const maxOff = opts.maxClockOffsetMs ?? 2000
  const clockOffsetsMs = Array.from({ length: n }, () => maxOff === 0 ? 0 : rnd.int(-maxOff, maxOff))
  const actions: Action[] = []
  const nodes = Array.from({ length: n }, (_, i) => i)
  const split = (): [number[], number[]] => {
    const k = rnd.int(1, Math.max(1, Math.floor(n / 2)))
    const a = rnd.sample(nodes, k)
    return [a, nodes.filter(x => !a.includes(x))]
  }
  let t = 2000
  let faults = 0
  while (t < opts.durationMs - 2000) {
    const kind = rnd.pick(kinds)
    const dur = rnd.int(2000, 8000)
    const end = Math.min(t + dur, opts.durationMs)
    switch (kind) {
      case 'partition': {
        const [a, b] = split()
        actions.push({ at: t, do: 'block', from: a, to: b }, { at: t, do: 'block', from: b, to: a })
        actions.push({ at: end, do: 'unblock', from: a, to: b }, { at: end, do: 'unblock', from: b, to: a })
        break
      }
      case 'one-way': {
        const [a, b] = split()
        actions.push({ at: t, do: 'block', from: a, to: b }, { at: end, do: 'unblock', from: a, to: b })
        break
      }
      case 'flap': {
        const [a, b] = split()
        const period = rnd.int(300, 1500)
        let s = t
        for (let i = 0; i < 100 && s + period < end; i++, s += 2 * period) {
          actions.push({ at: s, do: 'block', from: a, to: b }, { at: s, do: 'block', from: b, to: a })
          actions.push({ at: s + period, do: 'unblock', from: a, to: b }, { at: s + period, do: 'unblock', from: b, to: a })
        }
        break
      }
      case 'loss': {
        const node = rnd.pick(nodes)
        const pct = rnd.pick([10, 30])
        actions.push({ at: t, do: 'loss', node, pct }, { at: end, do: 'loss', node, pct: 0 })
        break
      }
      case 'kill': {
        const node = rnd.pick(nodes)
        actions.push({ at: t, do: 'kill', node }, { at: end, do: 'restart', node })
        break
      }
      case 'pause': {
        const node = rnd.pick(nodes)
        actions.push({ at: t, do: 'pause', node }, { at: end, do: 'resume', node })
        break
      }
      case 'isolate': {
        const node = rnd.pick(nodes)
        const others = nodes.filter(x => x !== node)
        const long = Math.min(Math.max(dur, opts.longPartitionMs ?? 6000), opts.durationMs - t)
        actions.push({ at: t, do: 'block', from: [node], to: others }, { at: t, do: 'block', from: others, to: [node] })
        actions.push({ at: t + long, do: 'unblock', from: [node], to: others }, { at: t + long, do: 'unblock', from: others, to: [node] })
        t += long - dur
        break
      }
      case 'forget': {
        // past the forget window, and past it by a few heartbeats more than that on a loaded machine
        const node = rnd.pick(nodes)
        const others = [...nodes.filter(x => x !== node), BOOTSTRAP]
        const long = Math.min((opts.forgetAfterMs ?? 600_000) + dur, opts.durationMs - t)
        actions.push({ at: t, do: 'block', from: [node], to: others }, { at: t, do: 'block', from: others, to: [node] })
        actions.push({ at: t + long, do: 'unblock', from: [node], to: others }, { at: t + long, do: 'unblock', from: others, to: [node] })
        t += long - dur
        break
      }
    }
    faults++
    // one in three faults also moves a client to another connection
    if (opts.clients > 0 && rnd.next() < 0.33) actions.push({ at: t + rnd.int(0, dur), do: 'bounce', client: rnd.int(0, opts.clients - 1) })
    t = Math.max(t + dur, end) + rnd.int(1000, 3000)
  }
  actions.sort((a, b) => a.at - b.at)
  return { seed: opts.seed, clockOffsetsMs, actions, faults }
}

export function describeAction (a: Action): string {
  switch (a.do) {
    case 'block': return `block ${a.from.map(nodeName).join(',')} → ${a.to.map(nodeName).join(',')}`
    case 'unblock': return `unblock ${a.from.map(nodeName).join(',')} → ${a.to.map(nodeName).join(',')}`
    case 'loss': return a.pct === 0 ? `loss off on ${nodeName(a.node)}` : `loss ${a.pct}% on ${nodeName(a.node)}`
    case 'kill': return `SIGKILL ${nodeName(a.node)}`
    case 'restart': return `restart ${nodeName(a.node)} (same data dir)`
    case 'pause': return `SIGSTOP ${nodeName(a.node)}`
    case 'resume': return `SIGCONT ${nodeName(a.node)}`
    case 'bounce': return `client ${a.client} drops its connection`
  }
}

export function nodeName (i: number): string {
  return i === BOOTSTRAP ? 'boot' : `n${i}`
}
