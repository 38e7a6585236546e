/**
 * The client library's public types: what an application sees of messages,
 * rosters, presence and the connection, the options a client takes and the
 * events it emits.
 */
import type { MeshchatError } from './protocol/errors.js'
import type { KeyStore } from './key-store.js'
import type { NodeInfo } from './protocol/pb/client.js'
import type { SigningKey } from './protocol/keys.js'
import type { Cursor } from './cursor.js'
import type { ClientTransport } from './transport.js'

export type { PresenceStatus } from './protocol/validate.js'
import type { PresenceStatus } from './protocol/validate.js'
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed'

/** A room message as the application sees it. */
export interface ChatMessage {
  /** message id, hex */
  id: string
  room: string
  /** author user id */
  from: string
  /** author display name at send time */
  name: string
  text: string
  /** its place in the room: sorts as a string in the order everyone agrees on (ingress stamp, then id) */
  cursor: Cursor
  /** author's clock at send time, ms */
  ts: number
  /** ingress node */
  origin: string
  /** how it arrived */
  via: 'live' | 'replay' | 'history'
}

/** A direct message. */
export interface DirectMessage {
  id: string
  from: string
  to: string
  name: string
  text: string
  /** its place among the conversation's messages (see ChatMessage.cursor) */
  cursor: Cursor
  ts: number
  origin: string
  /** how it arrived: live, from the mailbox (sent while this user was offline), or read from the conversation's history */
  via: 'live' | 'mailbox' | 'history'
}

/** A read receipt: `userId` has read up to the message at `cursor`, in a room or a DM conversation. */
export interface ReadReceipt {
  /** the room, for a room receipt */
  room?: string
  /** for a DM receipt: the other participant of the conversation, as this user sees it */
  peer?: string
  /** the reader (this user's own id when another of its devices read it) */
  userId: string
  /** the reader's display name */
  name: string
  /** the message read up to, hex id */
  id: string
  /** that message's cursor: receipts compare by it */
  cursor: Cursor
}

/** How far one user has read in a room or conversation. */
export interface ReadPosition {
  userId: string
  name: string
  cursor: Cursor
}

export interface DmHistoryResult {
  /** oldest first */
  messages: DirectMessage[]
  /** more messages exist beyond this page */
  more: boolean
}

export interface RosterMember {
  userId: string
  name: string
  status: PresenceStatus
  /** nodes hosting the user's devices */
  nodes: string[]
}

export interface UserState {
  userId: string
  online: boolean
  name: string
  status: PresenceStatus | ''
  nodes: string[]
}

export interface SendResult {
  /** message id, hex */
  id: string
  /** where the node placed it */
  cursor: Cursor
}

export interface DmResult extends SendResult {
  /** delivered to at least one device of the recipient, or queued in their mailbox */
  state: 'delivered' | 'queued'
  /** devices reached, or mailbox replicas holding it */
  copies: number
}

export interface HistoryResult {
  messages: ChatMessage[]
  /** more messages exist beyond this page */
  more: boolean
}

/** where a history page starts: a message's cursor */
export type HistoryCursor = Cursor

export interface WelcomeInfo {
  nodeId: string
  userId: string
  meshSize: number
  alternates: NodeInfo[]
  httpUrl: string
  /** the address this client is attached through */
  addr: string
}

export interface ChatClientEvents {
  /** a room message (live or replayed after a reconnect); each id at most once */
  message: CustomEvent<ChatMessage>
  /** a direct message to or from this user; each id at most once */
  dm: CustomEvent<DirectMessage>
  typing: CustomEvent<{ room: string, userId: string, name: string, active: boolean }>
  /** a read receipt from a member of a joined room, from a DM peer, or from another device of this user */
  receipt: CustomEvent<ReadReceipt>
  /**
   * a room's roster, after the snapshot (`snapshot`: a join or a resume) and after every change;
   * `count` is how many members the room has, more than `members` when the roster is `partial`
   */
  roster: CustomEvent<{ room: string, members: RosterMember[], partial: boolean, count: number, snapshot: boolean }>
  'presence:join': CustomEvent<{ room: string, member: RosterMember }>
  'presence:leave': CustomEvent<{ room: string, userId: string }>
  'presence:update': CustomEvent<{ room: string, member: RosterMember }>
  /** a watched user's online state */
  user: CustomEvent<UserState>
  /** connection state changes */
  state: CustomEvent<{ state: ConnectionState, nodeId?: string, addr?: string }>
  welcome: CustomEvent<WelcomeInfo>
  /** the node moved this client elsewhere */
  redirect: CustomEvent<{ to: string, reason: string }>
  /** an error not tied to a call (a fatal frame, an event that failed verification) */
  error: CustomEvent<MeshchatError>
}

export interface ChatClientOptions {
  /** display name */
  name: string
  /**
   * where to attach: WebSocket URLs of any node's light edge (`ws://host:8080/ws`, `wss://…`) or,
   * with the libp2p transport, gateway multiaddrs (with /p2p/); tried in order
   */
  addrs: string[]
  /** the user's identity (an Ed25519 key); otherwise loaded from (or created in) `keyStore` */
  privateKey?: SigningKey
  /** where the identity key lives; default: memory only */
  keyStore?: KeyStore
  /** how to reach nodes; default the plain WebSocket transport (Node programs add libp2p's through `client/src/node.ts`) */
  transports?: ClientTransport[]
  /** reconnect after losing the node; default true */
  reconnect?: boolean
  /** reconnect backoff bounds; defaults 250 ms and 5 s */
  backoff?: { minMs: number, maxMs: number }
  /** per-request deadline; default 10 s */
  requestTimeoutMs?: number
  status?: PresenceStatus
  /** message ids remembered per room to drop duplicates after a resume; default 5,000 */
  dedupeWindow?: number
  /**
   * ask to be placed on the node that already hosts most of this client's
   * rooms (fewer nodes per room, less mesh traffic); default false: stay on
   * the node dialed unless it is full or overloaded
   */
  affinity?: boolean
  /** rooms to be in from the start: joined as soon as the client is attached (and named in the hello, for affinity) */
  rooms?: string[]
  /**
   * accept being moved to a lighter node when the one dialed is overloaded;
   * default true. With false the client stays where it dialed unless that node
   * is full.
   */
  redirect?: boolean
  /**
   * send read receipts (`read`, `readDm`); default true. With false, nothing
   * is sent: others never learn what this user has read. Receipts from others
   * are still received.
   */
  receipts?: boolean
}
