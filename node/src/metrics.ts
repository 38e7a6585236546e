import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { threadCpuClock } from './cpu-clock.js'

/**
 * The heap after each full collection, read when the collection is reported (a few ms later,
 * outside the collector). One observer per process, whatever the number of registries.
 */
const liveHeap = {
  bytes: 0,
  observer: undefined as PerformanceObserver | undefined,
  start (): void {
    if (this.observer != null) return
    this.observer = new PerformanceObserver(list => {
      const major = list.getEntries().some(e => (e as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR)
      if (!major) return
      this.bytes = getHeapStatistics().used_heap_size
    })
    this.observer.observe({ entryTypes: ['gc'] })
  }
}

/**
 * The node's own metrics, on a registry per node (several nodes may share a
 * process in simulations, so nothing goes into prom-client's global registry).
 * Services increment these; /metrics renders them with libp2p's.
 */
/** Values the gauges read when scraped, so they are never stale and no service has to remember to set them. */
export interface GaugeSources {
  clients: () => number
  users: () => number
  rooms: () => number
  presenceEntries: () => number
  presenceNodes: () => number
  meshPeers: () => number
  mailbox: () => number
  wsConnections: () => number
  /** bytes of the SQLite store on disk (database and write-ahead log) */
  storeBytes: () => number
  /** 1 when the node is ready for clients (/readyz), else 0 */
  ready: () => number
}

/** the parts of presence work meshchat_presence_cpu_seconds_total counts */
export type PresencePart = 'gossip' | 'heartbeat' | 'local' | 'rooms' | 'directory'

export class NodeMetrics {
  readonly registry = new Registry()
  private sources?: GaugeSources

  /** connect the gauges to the node's state (the daemon does this once its services exist) */
  bind (sources: GaugeSources): void {
    this.sources = sources
  }

  private gauge (name: string, help: string, key: keyof GaugeSources): Gauge {
    const read = (): number | undefined => this.sources?.[key]()
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect () {
        const v = read()
        if (v !== undefined) this.set(v)
      }
    })
  }

  readonly clients = this.gauge('meshchat_clients', 'client sessions attached to this node', 'clients')
  readonly users = this.gauge('meshchat_users', 'distinct users attached to this node', 'users')
  readonly rooms = this.gauge('meshchat_rooms_subscribed', 'room topics this node is subscribed to', 'rooms')
  readonly messagesIn = new Counter({
    name: 'meshchat_messages_in_total',
    help: 'events accepted, by source (client = published here, mesh = received from another node) and kind',
    labelNames: ['source', 'kind'] as const,
    registers: [this.registry]
  })

  readonly messagesOut = new Counter({
    name: 'meshchat_messages_out_total',
    help: 'event deliveries to attached clients, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry]
  })

  readonly rejected = new Counter({
    name: 'meshchat_rejected_total',
    help: 'input refused with a typed error, by error class name (BadSignatureError, RateLimitedError, InvalidPresenceError, ...)',
    labelNames: ['code'] as const,
    registers: [this.registry]
  })

  readonly redirects = new Counter({
    name: 'meshchat_redirects_total',
    help: 'clients this node sent to another node instead of taking them, by reason (overloaded, full, affinity, draining)',
    labelNames: ['reason'] as const,
    registers: [this.registry]
  })

  readonly gossipCopies = new Counter({
    name: 'meshchat_gossip_copies_total',
    help: 'gossip messages this node hashed, by topic kind: every copy received (duplicates included) plus its own publishes',
    labelNames: ['kind'] as const,
    registers: [this.registry]
  })

  readonly gossipDelivered = new Counter({
    name: 'meshchat_gossip_delivered_total',
    help: 'room gossip messages gossipsub handed to the node after its own dedupe (copies minus own publishes minus this = gossipsub duplicates)',
    registers: [this.registry]
  })

  readonly handOffs = new Counter({
    name: 'meshchat_room_handoffs_total',
    help: 'fresh room events this node sent straight to a carrying node by replication request instead of gossip (one per carrier)',
    registers: [this.registry]
  })

  readonly handOffsOneWay = new Counter({
    name: 'meshchat_room_handoffs_one_way_total',
    help: 'of meshchat_room_handoffs_total, those sent one way (no answer: a carrier beyond the ones the acknowledgement waits for)',
    registers: [this.registry]
  })

  readonly linkEvents = new Counter({
    name: 'meshchat_data_link_events_total',
    help: 'data links (plain TCP beside a libp2p connection, for fresh room events, DMs and heartbeats): made by this node (opened) or by a peer (accepted); ended (closed by this node, lost with the socket, failed, bad_frame, oversize, slow_reader); not made (failed); sockets refused before a link (refused_token, refused_unproven); frames a handler here did not take (handler_refused) and frames of this node a peer did not take (not_taken)',
    labelNames: ['event'] as const,
    registers: [this.registry]
  })

  readonly linkFrames = new Counter({
    name: 'meshchat_data_link_frames_total',
    help: 'frames this node sent to other nodes on a data link instead of a libp2p stream (oneway: a room event handed to a carrying node; request: a replication request the acknowledgement waits for, a DM delivery or a DM history copy)',
    labelNames: ['kind'] as const,
    registers: [this.registry]
  })

  readonly handOffsRefused = new Counter({
    name: 'meshchat_room_handoffs_refused_total',
    help: 'room events other nodes handed to this node one way that it did not take (the event did not verify, or was not for a room handled here)',
    registers: [this.registry]
  })

  readonly handOffsIn = new Counter({
    name: 'meshchat_room_handoffs_in_total',
    help: 'room events other nodes handed to this node by replication request (fresh events from their ingress node, and events for a replica that did not have them)',
    registers: [this.registry]
  })

  readonly gossipPublished = new Counter({
    name: 'meshchat_gossip_published_total',
    help: 'room and typing events this node published on gossip (its own clients\' events that did not go by hand-off)',
    registers: [this.registry]
  })

  readonly handOffFailures = new Counter({
    name: 'meshchat_room_handoff_failures_total',
    help: 'direct hand-offs of a fresh room event that failed or were not answered in time (the event then went by gossip)',
    registers: [this.registry]
  })

  readonly withheld = new Counter({
    name: 'meshchat_withheld_total',
    help: 'room read receipts and typing notices not passed on because the room has more members than they are carried in (LIMITS.maxReceiptRoom, LIMITS.maxTypingRoom: each would go to every member), by kind and where they came from (client: acknowledged to the sender and dropped; mesh: from another node)',
    labelNames: ['kind', 'source'] as const,
    registers: [this.registry]
  })

  readonly roomsRefused = new Counter({
    name: 'meshchat_rooms_refused_total',
    help: 'joins and room copies this node refused, by reason (local: a join of a room past maxCarriedRooms; archive: a copy it would have kept past it; members: a join of a room that has 10,000 members on this node already), joins with NODE_FULL',
    labelNames: ['reason'] as const,
    registers: [this.registry]
  })

  readonly duplicates = new Counter({
    name: 'meshchat_duplicates_total',
    help: 'events received again after they were already stored or seen (dropped by id)',
    registers: [this.registry]
  })

  readonly restamped = new Counter({
    name: 'meshchat_restamped_total',
    help: 'stored events that took another stamp of their id (a send retried through another node was stamped twice; every copy keeps the same one: the later of two prompt stamps, a prompt one over one that is not)',
    registers: [this.registry]
  })

  readonly antiEntropy = new Counter({
    name: 'meshchat_anti_entropy_total',
    help: 'anti-entropy comparisons of a room stamp range with another copy, by result: same, differ (a narrower range or a fetch follows), failed',
    labelNames: ['result'] as const,
    registers: [this.registry]
  })

  readonly deliveryLatency = new Histogram({
    name: 'meshchat_delivery_latency_seconds',
    help: 'ingress HLC stamp to hand-off to local clients, for events from other nodes',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry]
  })

  readonly presenceEntries = this.gauge('meshchat_presence_entries', 'device entries in the room presence this node holds (the rooms it carries)', 'presenceEntries')
  readonly presenceNodes = this.gauge('meshchat_presence_nodes_up', 'nodes presence considers up', 'presenceNodes')
  readonly presenceBytes = new Counter({
    name: 'meshchat_presence_bytes_total',
    help: 'presence payload bytes between nodes (the presence topic, room presence and the user directory), by direction',
    labelNames: ['direction'] as const,
    registers: [this.registry]
  })

  readonly presenceCpu = new Counter({
    name: 'meshchat_presence_cpu_seconds_total',
    help: 'main-thread CPU spent in presence and user directory code (gossip validation and handling, heartbeats and failure checks, local changes, room presence pushes and pulls, directory requests), by part; the transport below it (noise, yamux, gossipsub) is not included',
    labelNames: ['part'] as const,
    registers: [this.registry]
  })

  #cpuDepth = 0
  /** to the ns: getrusage's thread time moves a scheduler tick at a time, too coarse for sections of µs */
  readonly #cpu = threadCpuClock()

  /**
   * Run `fn` and add the main thread's CPU time over it to meshchat_presence_cpu_seconds_total. For
   * synchronous work (an async function counts up to its first await); sections inside a measured
   * one count once, in the outer part.
   */
  presenceWork<T> (part: PresencePart, fn: () => T): T {
    if (this.#cpuDepth > 0) return fn()
    this.#cpuDepth++
    const t0 = this.#cpu.now()
    try {
      return fn()
    } finally {
      this.#cpuDepth--
      // less the clock's own cost, which would otherwise add a few µs to every section
      this.presenceCpu.inc({ part }, Math.max(0, this.#cpu.now() - t0 - this.#cpu.overheadNs) / 1e9)
    }
  }

  readonly directoryBytes = new Counter({
    name: 'meshchat_directory_bytes_total',
    help: 'user directory payload bytes between nodes (registrations, lookups, watches and their pushes; part of meshchat_presence_bytes_total), by direction',
    labelNames: ['direction'] as const,
    registers: [this.registry]
  })

  readonly directoryRequests = new Counter({
    name: 'meshchat_directory_requests_total',
    help: 'user directory requests this node sent to other nodes, by kind (register, lookup, watch, unwatch, sessions, notify); a request to this node itself is not one',
    labelNames: ['kind'] as const,
    registers: [this.registry]
  })

  readonly roomPresenceBytes = new Counter({
    name: 'meshchat_room_presence_bytes_total',
    help: 'room presence payload bytes between nodes (pushes and pulls; part of meshchat_presence_bytes_total), by direction',
    labelNames: ['direction'] as const,
    registers: [this.registry]
  })

  readonly presenceSyncs = new Counter({ name: 'meshchat_presence_syncs_total', help: 'full-state presence pulls after a gap', registers: [this.registry] })
  readonly beatsSent = new Counter({
    name: 'meshchat_beats_sent_total',
    help: 'heartbeats written to peers, by what carried them: their data link, or the beat stream when there is no link (beats.ts)',
    labelNames: ['on'] as const,
    registers: [this.registry]
  })

  readonly staleLinks = new Counter({ name: 'meshchat_stale_links_closed_total', help: 'connections to a node closed because it stopped beating on them (beats.ts)', registers: [this.registry] })
  readonly meshPeers = this.gauge('meshchat_mesh_peers', 'connected mesh peers', 'meshPeers')
  readonly dms = new Counter({
    name: 'meshchat_dms_total',
    help: 'direct messages by outcome (delivered, queued, forwarded, received; requeued: handed live to a device that left without acknowledging it, then put in the mailbox)',
    labelNames: ['outcome'] as const,
    registers: [this.registry]
  })

  readonly mailbox = this.gauge('meshchat_mailbox_entries', 'queued DMs held by this node', 'mailbox')
  readonly connectionsRefused = new Counter({
    name: 'meshchat_client_connections_refused_total',
    help: 'client connections refused or closed before a session, by reason (per_ip: the address is at its limit; idle: no client stream in time)',
    labelNames: ['reason'] as const,
    registers: [this.registry]
  })

  readonly signatureChecks = new Counter({
    name: 'meshchat_signature_checks_total',
    help: 'signed events opened, by path (client, gossip, replica, backfill, history, dm, mailbox) and result (valid; cached: verified before on this node, in memory; held: stored here, verified when it was taken; or the error class)',
    labelNames: ['path', 'result'] as const,
    registers: [this.registry]
  })

  readonly signatureCheckSeconds = new Counter({
    name: 'meshchat_signature_check_seconds_total',
    help: 'time spent opening signed events (decode, signature check, content checks), by path; divided by the checks that were not cached, the cost of one',
    labelNames: ['path'] as const,
    registers: [this.registry]
  })

  readonly resumeSlack = new Counter({
    name: 'meshchat_resume_slack_events_total',
    help: 'events of the window before a resuming client\'s cursor (resumeSlackMs), by what became of them: held (the client said it holds every one, Join.have, and none was sent again) or sent',
    labelNames: ['outcome'] as const,
    registers: [this.registry]
  })

  readonly presenceGrace = new Counter({
    name: 'meshchat_presence_grace_total',
    help: 'devices of client connections that dropped (light edge: without a close 1000 or 1001; libp2p gateway: a stream reset or lost rather than closed), or that were cut off as too slow a reader, kept in presence for presenceGraceMs: held (kept), returned (the grace ended with the user attached here again: nobody saw a leave), expired (the user did not come back here), replaced (a newer device of the user was held, or took the held one\'s place in a full room), released (the node stopped, or too many were held)',
    labelNames: ['outcome'] as const,
    registers: [this.registry]
  })

  readonly wsEvents = new Counter({
    name: 'meshchat_ws_events_total',
    help: 'plain WebSocket edge events by kind: refused_origin, refused_per_ip, refused_full, text_frame, oversize, slow_consumer, ping_flood, no_pong, protocol_error',
    labelNames: ['event'] as const,
    registers: [this.registry]
  })

  readonly wsConnections = this.gauge('meshchat_ws_connections', 'open plain WebSocket connections (authenticated or not)', 'wsConnections')

  readonly internalErrors = new Counter({
    name: 'meshchat_internal_errors_total',
    help: 'exceptions that escaped a handler, listener or timer and were caught by the supervisor, by where they happened',
    labelNames: ['where'] as const,
    registers: [this.registry]
  })

  readonly backfilled = new Counter({ name: 'meshchat_backfilled_total', help: 'history events fetched from peers', registers: [this.registry] })

  readonly buildInfo = new Gauge({
    name: 'meshchat_build_info',
    help: 'always 1; the labels say which meshchat and which Node.js this node runs',
    labelNames: ['version', 'node'] as const,
    registers: [this.registry]
  })

  readonly ready = this.gauge('meshchat_ready', '1 when the node is ready for clients (/readyz answers 200), else 0', 'ready')

  readonly sendAck = new Histogram({
    name: 'meshchat_send_ack_seconds',
    help: 'a client\'s send, from its frame arriving to the node\'s answer (stored here and on a replica, or refused), by outcome (ok, or the error class)',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry]
  })

  readonly storeSeconds = new Histogram({
    name: 'meshchat_store_op_seconds',
    help: 'SQLite store operations, by operation (insert, page, since, get, prune, dm_put, mailbox_put, mailbox_list, mailbox_delete)',
    labelNames: ['op'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry]
  })

  readonly storeErrors = new Counter({
    name: 'meshchat_store_errors_total',
    help: 'store operations that threw (disk full, I/O error, store closed), by operation',
    labelNames: ['op'] as const,
    registers: [this.registry]
  })

  readonly storeBytes = this.gauge('meshchat_store_bytes', 'bytes of the SQLite store on disk (database and write-ahead log)', 'storeBytes')

  private processMetrics = false

  /**
   * Process metrics (CPU, memory, heap, GC, event-loop delay, handles) and
   * meshchat_build_info. Once per registry; a process running several nodes
   * (simulations) reports its own figures under each.
   */
  enableProcessMetrics (version: string): void {
    if (this.processMetrics) return
    this.processMetrics = true
    // the event-loop delay histogram samples every 100 ms: a finer timer wakes an idle node that much
    // more often (50 times a second at 20 ms), and a stall still shows in full in the sample after it
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 })
    this.buildInfo.set({ version, node: process.version }, 1)
    liveHeap.start()
    // every node in a simulation process reports the same figure: it is the process's heap
    new Gauge({ // eslint-disable-line no-new
      name: 'meshchat_heap_live_bytes',
      help: 'heap used just after the latest full (mark-compact) collection: what the process keeps, without the garbage a plain heap reading includes (0 before the first one)',
      registers: [this.registry],
      collect () { this.set(liveHeap.bytes) }
    })
  }
}
