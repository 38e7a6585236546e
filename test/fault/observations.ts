/** What the fault rig's load generator records, and what the checker reads: one JSON line each. */

export interface LoadgenConfig {
  nodes: Array<{ id: string, ws: string }>
  clients: number
  rooms: number
  roomsPerClient: number
  /** messages (room or DM) per client per second */
  ratePerClient: number
  /** share of sends that are DMs */
  dmShare: number
  maxInflight: number
  tickMs: number
  seed: number
  obsFile: string
}

/** `t` is ms since the load generator started */
export type Observation =
  | { k: 'member', c: number, t: number, user: string, rooms: string[] }
  | { k: 'ack', c: number, t: number, room: string, id: string, cursor: string }
  | { k: 'msg', c: number, t: number, room: string, id: string, cursor: string, via: string, from: string }
  | { k: 'dmack', c: number, t: number, id: string, to: number, state: string }
  | { k: 'dm', c: number, t: number, id: string, from: string, via: string }
  | { k: 'fail', c: number, t: number, err: string, room?: string }
  | { k: 'state', c: number, t: number, state: string, node: string }

/** what every node shows after the final heal */
export interface FinalView {
  /** node id → room → [message id, cursor] in the order the node pages them */
  histories: Record<string, Record<string, Array<[string, string]>>>
  /** node id → room → user id → nodes, as that node's roster shows the room */
  rosters: Record<string, Record<string, Record<string, string[]>>>
  /** room → user id → node: the sessions that exist */
  expected: Record<string, Record<string, string>>
  /** node id → ms from the final heal until its rosters first matched (absent: they never did) */
  presenceMs: Record<string, number>
  /** ms from the final heal until the histories were last read (every node paging the same ones, or the deadline) */
  historyMs?: number
  errors?: string[]
}

/** one node's process figures from its /metrics, at one moment */
export interface NodeSample {
  node: string
  rss?: number
  heapUsed?: number
  heapTotal?: number
  /** heap used after the node's latest full collection (meshchat_heap_live_bytes) */
  heapLive?: number
  /** libuv handles (process._getActiveHandles) */
  handles?: number
  /** process.getActiveResourcesInfo(): handles and requests */
  resources?: number
  fds?: number
  /** event-loop delay over the interval since the previous reading, s */
  lagP99?: number
  lagMax?: number
  error?: string
}
