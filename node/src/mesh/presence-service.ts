import { TopicValidatorResult } from '@libp2p/gossipsub'
import { TypedEventEmitter } from 'main-event'
import { PRESENCE_TOPIC } from '../../../client/src/protocol/ids.js'
import { LocalPresence, PresenceReplica } from '../state/presence.js'
import { PresenceMessage } from './mesh.js'
import type { PresenceFullMsg, PresenceEntryMsg } from './mesh.js'
import type { NodeMeta, PresenceChange, PresenceEntry, PresenceFullState, PresenceOp, PresenceStatus, NodeView } from '../state/presence.js'
import type { Timings } from '../config.js'
import type { NodeMetrics } from '../http/metrics.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { Libp2p, Logger, PeerId, Startable } from '@libp2p/interface'

export interface PresenceComponents {
  nodeId: string
  /** this run of the node; a restart gets a larger one so stale entries cannot come back */
  incarnation: number
  pubsub: GossipSub
  mesh: Libp2p
  metrics: NodeMetrics
  log: Logger
  /** this node's load and addresses for the heartbeat */
  meta: () => NodeMeta
  /** fetch a node's full presence state over /meshchat/sync */
  pullFull: (node: string) => Promise<PresenceFullState>
}

export interface PresenceEvents {
  /** anything in the view changed (devices, rosters, users, nodes) */
  change: CustomEvent<PresenceChange>
}

export function entryToWire (e: PresenceEntry): PresenceEntryMsg {
  return { userId: e.userId, deviceId: e.deviceId, name: e.name, status: e.status, rooms: e.rooms, since: BigInt(e.since) }
}

export function entryFromWire (m: PresenceEntryMsg): PresenceEntry {
  const status: PresenceStatus = m.status === 'away' ? 'away' : 'online'
  return { userId: m.userId, deviceId: m.deviceId, name: m.name, status, rooms: m.rooms, since: Number(m.since) }
}

export function fullToWire (s: PresenceFullState): PresenceFullMsg {
  return { node: s.node, incarnation: BigInt(s.incarnation), seq: BigInt(s.seq), entries: s.entries.map(entryToWire) }
}

export function fullFromWire (m: PresenceFullMsg): PresenceFullState {
  return { node: m.node, incarnation: Number(m.incarnation), seq: Number(m.seq), entries: m.entries.map(entryFromWire) }
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
  private flushTimer?: ReturnType<typeof setTimeout>
  private beatTimer?: ReturnType<typeof setInterval>
  private checkTimer?: ReturnType<typeof setInterval>
  private beat = 0n
  private readonly pulling = new Set<string>()
  private started = false
  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    if (evt.detail.topic === PRESENCE_TOPIC) this.receive(evt.detail)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    // a crash shows up as dropped connections long before three missed heartbeats
    const id = evt.detail.toString()
    if (this.c.mesh.getConnections(evt.detail).length === 0) {
      this.emitChange(this.replica.suspect(id, Date.now(), this.timings.suspectGraceMs))
    }
  }

  constructor (timings: Timings, components: PresenceComponents) {
    super()
    this.c = components
    this.timings = timings
    this.local = new LocalPresence(components.nodeId, components.incarnation)
    this.replica = new PresenceReplica(components.nodeId)
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.c.pubsub.topicValidators.set(PRESENCE_TOPIC, (_peer, msg) => {
      try {
        PresenceMessage.decode(msg.data)
        return TopicValidatorResult.Accept
      } catch {
        return TopicValidatorResult.Reject
      }
    })
    this.c.pubsub.subscribe(PRESENCE_TOPIC)
    this.c.pubsub.addEventListener('message', this.onMessage)
    this.c.mesh.addEventListener('peer:disconnect', this.onDisconnect)
    this.beatTimer = setInterval(() => { this.tick() }, this.timings.heartbeatMs)
    // failure detection runs four times per heartbeat, so a node is declared down within H/4 of its deadline
    this.checkTimer = setInterval(() => { this.check(Date.now()) }, Math.max(10, this.timings.heartbeatMs / 4))
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
      const msg = PresenceMessage.encode({ goodbye: { node: this.c.nodeId, incarnation: BigInt(this.local.incarnation) } })
      await this.c.pubsub.publish(PRESENCE_TOPIC, msg).catch(err => { this.c.log('goodbye not sent - %e', err) })
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
    this.flushTimer ??= setTimeout(() => { this.flush() }, this.timings.presenceBatchMs)
  }

  /** publish the pending ops as one delta now */
  flush (): void {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    if (this.pending.length === 0) return
    const delta = this.local.apply(this.pending)
    this.pending = []
    if (delta == null) return
    this.emitChange(this.replica.applyDelta(delta, Date.now()))
    const msg = PresenceMessage.encode({
      delta: {
        node: delta.node,
        incarnation: BigInt(delta.incarnation),
        seq: BigInt(delta.seq),
        ops: delta.ops.map(o => o.op === 'put' ? { put: entryToWire(o.entry), del: '' } : { del: o.deviceId })
      }
    })
    this.publish(msg)
  }

  private publish (msg: Uint8Array): void {
    if (!this.started) return
    this.c.metrics.presenceBytes.inc({ direction: 'out' }, msg.byteLength)
    this.c.pubsub.publish(PRESENCE_TOPIC, msg).catch(err => { this.c.log('presence publish failed - %e', err) })
  }

  /** heartbeat, failure detection and gap repair; runs every H */
  private tick (): void {
    const now = Date.now()
    this.flush()
    const meta = this.c.meta()
    const hb = this.local.heartbeat(meta)
    this.emitChange(this.replica.heartbeat(hb, now))
    this.beat++
    this.publish(PresenceMessage.encode({
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
    }))
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
    const now = Date.now()
    this.c.metrics.presenceBytes.inc({ direction: 'in' }, msg.data.byteLength)
    let m: PresenceMessage
    try {
      m = PresenceMessage.decode(msg.data)
    } catch {
      return
    }
    if (m.delta != null) {
      if (m.delta.node === this.c.nodeId) return
      this.emitChange(this.replica.applyDelta({
        node: m.delta.node,
        incarnation: Number(m.delta.incarnation),
        seq: Number(m.delta.seq),
        ops: m.delta.ops.map(o => o.put != null ? { op: 'put', entry: entryFromWire(o.put) } : { op: 'del', deviceId: o.del })
      }, now))
    } else if (m.heartbeat != null) {
      const h = m.heartbeat
      if (h.node === this.c.nodeId) return
      this.emitChange(this.replica.heartbeat({
        node: h.node,
        incarnation: Number(h.incarnation),
        seq: Number(h.seq),
        meta: {
          load: h.load ?? { clients: 0, rooms: 0, maxClients: 0 },
          gatewayAddrs: h.gatewayAddrs,
          meshAddrs: h.meshAddrs,
          httpUrl: h.httpUrl === '' ? undefined : h.httpUrl
        }
      }, now))
    } else if (m.goodbye != null) {
      if (m.goodbye.node === this.c.nodeId) return
      this.emitChange(this.replica.depart(m.goodbye.node, Number(m.goodbye.incarnation), now))
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
          if (this.started) this.emitChange(this.replica.applyFull(state, Date.now()))
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
