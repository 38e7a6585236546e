import { TypedEventEmitter } from 'main-event'
import { PRESENCE_TOPIC } from '../../../client/src/protocol/ids.js'
import { LocalPresence, PresenceReplica } from '../state/presence.js'
import { entryToWire, presenceValidator, signPresence } from './presence-wire.js'
import type { PresenceSigner } from './presence-wire.js'
import type { OpenedPresence } from './presence-wire.js'
import type { NodeMeta, PresenceChange, PresenceEntry, PresenceFullState, PresenceOp, NodeView } from '../state/presence.js'
import type { Timings } from '../config.js'
import type { NodeMetrics } from '../metrics.js'
import type { Supervisor } from '../supervisor.js'
import type { Clock } from '../components.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { Libp2p, Logger, PeerId, PrivateKey, Startable } from '@libp2p/interface'

export interface PresenceComponents {
  /** wall-clock time */
  clock: Clock
  nodeId: string
  /** this run of the node; a restart gets a larger one so stale entries cannot come back */
  incarnation: number
  /** signs for the node: every presence message is signed with its key */
  signer: PresenceSigner
  pubsub: GossipSub
  mesh: Libp2p
  metrics: NodeMetrics
  log: Logger
  supervisor: Supervisor
  /** this node's load and addresses for the heartbeat */
  meta: () => NodeMeta
  /** fetch a node's full presence state over /meshchat/sync */
  pullFull: (node: string) => Promise<PresenceFullState>
}

export interface PresenceEvents {
  /** anything in the view changed (devices, rosters, users, nodes) */
  change: CustomEvent<PresenceChange>
}

function isEmpty (c: PresenceChange): boolean {
  return c.devices.length === 0 && c.rooms.length === 0 && c.users.length === 0 && c.nodes.length === 0 && c.needsSync.length === 0
}

/**
 * Drives the presence CRDT: batches this node's changes into deltas with a
 * per-node sequence number, publishes a small heartbeat every H, pulls a
 * node's full state when its sequence shows a gap, marks silent nodes down
 * after 3H (sooner when every connection to them dropped) and says goodbye on
 * a graceful stop.
 */
export class PresenceService extends TypedEventEmitter<PresenceEvents> implements Startable {
  readonly local: LocalPresence
  readonly replica: PresenceReplica
  private readonly c: PresenceComponents
  private readonly timings: Timings
  private pending: PresenceOp[] = []
  /** callers of published() waiting for the next flush */
  private readonly afterFlush: Array<() => void> = []
  private flushTimer?: ReturnType<typeof setTimeout>
  private beatTimer?: ReturnType<typeof setInterval>
  private checkTimer?: ReturnType<typeof setInterval>
  private beat = 0n
  private readonly pulling = new Set<string>()
  private started = false
  /** validator results for the message handler, so nothing is decoded or verified twice */
  private readonly validated = new WeakMap<Message, OpenedPresence>()
  /** presence messages are signed in order, one at a time, so they are published in the order they were made */
  private publishing: Promise<void> = Promise.resolve()
  private readonly onMessage: (evt: CustomEvent<Message>) => void
  private readonly onDisconnect: (evt: CustomEvent<PeerId>) => void

  constructor (timings: Timings, components: PresenceComponents) {
    super()
    this.c = components
    this.timings = timings
    this.local = new LocalPresence(components.nodeId, components.incarnation)
    this.replica = new PresenceReplica(components.nodeId)
    const sup = components.supervisor
    this.onMessage = sup.wrap('presence:message', (evt: CustomEvent<Message>) => {
      if (evt.detail.topic === PRESENCE_TOPIC) this.receive(evt.detail)
    })
    this.onDisconnect = sup.wrap('presence:disconnect', (evt: CustomEvent<PeerId>) => {
      // a crash shows up as dropped connections long before three missed heartbeats
      const id = evt.detail.toString()
      if (this.c.mesh.getConnections(evt.detail).length === 0) {
        this.emitChange(this.replica.suspect(id, this.c.clock.now(), this.timings.suspectGraceMs))
      }
    })
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.c.pubsub.topicValidators.set(PRESENCE_TOPIC, presenceValidator({
      onValid: (msg, opened) => { this.validated.set(msg, opened) },
      onInvalid: err => {
        this.c.metrics.rejected.inc({ code: 'InvalidPresenceError' })
        this.c.log('rejected presence gossip - %s', err.message)
      }
    }))
    this.c.pubsub.subscribe(PRESENCE_TOPIC)
    this.c.pubsub.addEventListener('message', this.onMessage)
    this.c.mesh.addEventListener('peer:disconnect', this.onDisconnect)
    const sup = this.c.supervisor
    this.beatTimer = sup.interval('presence:heartbeat', () => { this.tick() }, this.timings.heartbeatMs)
    // failure detection runs four times per heartbeat, so a node is declared down within H/4 of its deadline
    this.checkTimer = sup.interval('presence:check', () => { this.check(this.c.clock.now()) }, Math.max(10, this.timings.heartbeatMs / 4))
    this.tick()
  }

  /** stop timers and listeners; with `goodbye`, first tell the mesh this node is leaving */
  async stop (opts: { goodbye?: boolean } = {}): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.beatTimer)
    clearInterval(this.checkTimer)
    clearTimeout(this.flushTimer)
    if (opts.goodbye === true) {
      // after the deltas already on their way, so the goodbye is the last thing the mesh hears
      await this.publishing
      try {
        const msg = await signPresence(this.c.signer, { goodbye: { node: this.c.nodeId, incarnation: BigInt(this.local.incarnation) } })
        await this.c.pubsub.publish(PRESENCE_TOPIC, msg)
      } catch (err) {
        this.c.log('goodbye not sent - %e', err)
      }
    }
    this.c.pubsub.removeEventListener('message', this.onMessage)
    this.c.mesh.removeEventListener('peer:disconnect', this.onDisconnect)
    this.c.pubsub.topicValidators.delete(PRESENCE_TOPIC)
  }

  /** announce (or update) one of this node's devices */
  put (entry: PresenceEntry): void {
    this.queue({ op: 'put', entry })
  }

  /** a device of this node went away */
  del (deviceId: string): void {
    this.queue({ op: 'del', deviceId })
  }

  /** live nodes with their heartbeat metadata (self included) */
  liveNodes (): NodeView[] {
    return this.replica.nodes().filter(n => n.up)
  }

  /** nodes that host at least one device of `userId` */
  userNodes (userId: string): string[] {
    return this.replica.user(userId)?.nodes ?? []
  }

  private queue (op: PresenceOp): void {
    this.pending.push(op)
    // batch a burst of attaches/joins into one delta
    this.flushTimer ??= this.c.supervisor.timeout('presence:flush', () => { this.flush() }, this.timings.presenceBatchMs)
  }

  /**
   * Resolves once what is pending now has gone out (signed and handed to
   * gossip): for work that other nodes check against this node's presence,
   * such as a mailbox read for a user who just attached. A burst of attaches
   * still makes one delta.
   */
  async published (): Promise<void> {
    if (this.pending.length > 0) await new Promise<void>(resolve => { this.afterFlush.push(resolve) })
    await this.publishing
  }

  /** publish the pending ops as one delta now */
  flush (): void {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    const waiting = this.afterFlush.splice(0)
    for (const wake of waiting) wake()
    if (this.pending.length === 0) return
    const delta = this.local.apply(this.pending)
    this.pending = []
    if (delta == null) return
    this.emitChange(this.replica.applyDelta(delta, this.c.clock.now()))
    this.publish({
      delta: {
        node: delta.node,
        incarnation: BigInt(delta.incarnation),
        seq: BigInt(delta.seq),
        ops: delta.ops.map(o => o.op === 'put' ? { put: entryToWire(o.entry), del: '' } : { del: o.deviceId })
      }
    })
  }

  /** sign and publish, in the order the messages were made (a delta must not overtake the one before it) */
  private publish (msg: Parameters<typeof signPresence>[1]): void {
    if (!this.started) return
    this.publishing = this.publishing
      .then(async () => {
        const signed = await signPresence(this.c.signer, msg)
        if (!this.started) return
        this.c.metrics.presenceBytes.inc({ direction: 'out' }, signed.byteLength)
        this.c.pubsub.publish(PRESENCE_TOPIC, signed).catch(err => { this.c.log('presence publish failed - %e', err) })
      })
      .catch(err => { this.c.supervisor.report('presence:publish', err) })
  }

  /** heartbeat, failure detection and gap repair; runs every H */
  private tick (): void {
    const now = this.c.clock.now()
    this.flush()
    const meta = this.c.meta()
    const hb = this.local.heartbeat(meta)
    this.emitChange(this.replica.heartbeat(hb, now))
    this.beat++
    this.publish({
      heartbeat: {
        node: hb.node,
        incarnation: BigInt(hb.incarnation),
        seq: BigInt(hb.seq),
        load: meta.load,
        gatewayAddrs: meta.gatewayAddrs,
        meshAddrs: meta.meshAddrs,
        httpUrl: meta.httpUrl ?? '',
        beat: this.beat,
        time: BigInt(now)
      }
    })
    this.check(now)
    for (const n of this.replica.nodes()) {
      if (!n.up && now - n.lastHeard > this.timings.forgetAfterMs) this.replica.forget(n.id)
    }
  }

  /** mark silent and suspect nodes down, and pull what is missing */
  private check (now: number): void {
    this.emitChange(this.replica.expire(now, this.timings.downAfterMs))
    this.repair()
  }

  private receive (msg: Message): void {
    const now = this.c.clock.now()
    this.c.metrics.presenceBytes.inc({ direction: 'in' }, msg.data.byteLength)
    const m = this.validated.get(msg)
    if (m == null) return
    if (m.kind === 'delta') {
      if (m.delta.node === this.c.nodeId) return
      this.emitChange(this.replica.applyDelta(m.delta, now))
    } else if (m.kind === 'heartbeat') {
      if (m.heartbeat.node === this.c.nodeId) return
      this.emitChange(this.replica.heartbeat(m.heartbeat, now))
    } else {
      if (m.node === this.c.nodeId) return
      this.emitChange(this.replica.depart(m.node, m.incarnation, now))
    }
    this.repair()
  }

  /** pull the full state of every node whose deltas we can no longer follow */
  private repair (): void {
    for (const node of this.replica.needsSync()) {
      if (this.pulling.has(node) || node === this.c.nodeId) continue
      this.pulling.add(node)
      this.c.metrics.presenceSyncs.inc()
      this.c.pullFull(node)
        .then(state => {
          if (this.started) this.emitChange(this.replica.applyFull(state, this.c.clock.now()))
        })
        .catch(err => { this.c.log('presence pull from %s failed - %s', node, (err as Error).message) })
        .finally(() => { this.pulling.delete(node) })
    }
  }

  private emitChange (c: PresenceChange): void {
    if (isEmpty(c)) return
    this.safeDispatchEvent('change', { detail: c })
  }
}
