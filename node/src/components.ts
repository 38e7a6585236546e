import type { NodeConfig } from './config.js'
import type { NodeMetrics } from './metrics.js'
import type { Supervisor } from './supervisor.js'
import type { HybridClock } from './state/hlc.js'
import type { MessageStore } from './store/message-store.js'
import type { MeshLibp2p } from './mesh/mesh-host.js'
import type { EventOpener } from './mesh/event-opener.js'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Logger } from '@libp2p/interface'

/** Wall-clock time in ms. Services read time only through this, so tests can run them on a fake clock. */
export interface Clock {
  now: () => number
}

/**
 * MESHCHAT_CLOCK_OFFSET_MS shifts this process's wall clock by a fixed amount (the fault rig runs nodes
 * whose clocks disagree). Only wall-clock readings move; timers and intervals are unaffected.
 */
export function clockOffsetFromEnv (value: string | undefined): number {
  if (value == null || value.trim() === '') return 0
  const ms = Number(value)
  if (!Number.isSafeInteger(ms)) throw new Error(`MESHCHAT_CLOCK_OFFSET_MS must be an integer number of ms, got ${JSON.stringify(value)}`)
  return ms
}

const offsetMs = clockOffsetFromEnv(process.env.MESHCHAT_CLOCK_OFFSET_MS)

export const systemClock: Clock = offsetMs === 0 ? { now: () => Date.now() } : { now: () => Date.now() + offsetMs }

/** A clock the test moves by hand (it never moves by itself). */
export class ManualClock implements Clock {
  constructor (private t = Date.now()) {}
  now (): number {
    return this.t
  }

  /** move forward by `ms` */
  advance (ms: number): void {
    this.t += ms
  }

  set (t: number): void {
    this.t = t
  }
}

/**
 * What the node gives every one of its services: the same set for all, built
 * once by the daemon. Each service declares the part it uses as its
 * `XComponents` (a Pick of this plus the other services it talks to).
 */
export interface NodeComponents {
  nodeId: string
  config: NodeConfig
  /** the service's own debug logger (`meshchat:<service>`) */
  log: Logger
  metrics: NodeMetrics
  /** wall-clock time */
  clock: Clock
  /** this node's hybrid logical clock (message stamps) */
  hlc: HybridClock
  store: MessageStore
  mesh: MeshLibp2p
  pubsub: GossipSub
  /** catches and counts what escapes a listener, timer or promise */
  supervisor: Supervisor
  /** opens (and verifies, once per event) every signed event the node takes in */
  opener: EventOpener
}
