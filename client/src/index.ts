/**
 * The meshchat client library: one code base for browsers and Node. This entry
 * imports nothing Node-only; `client/src/node.ts` adds the TCP transport and a
 * key file store for Node programs.
 */
export { ChatClient } from './chat-client.js'
export type {
  ChatClientOptions, ChatClientEvents, ChatMessage, DirectMessage, RosterMember, UserState, SendResult, DmResult,
  HistoryResult, HistoryCursor, WelcomeInfo, ConnectionState, PresenceStatus, ReadReceipt, ReadPosition, DmHistoryResult
} from './chat-client.js'
export { conversationId } from './protocol/conversation.js'
export * from './protocol/errors.js'
export { LIMITS } from './protocol/limits.js'
export { compareCursors } from './cursor.js'
export type { Cursor } from './cursor.js'
export { indexedDbKeyStore, memoryKeyStore, loadOrCreateIdentity } from './key-store.js'
export type { KeyStore } from './key-store.js'
export { validateRoom, validateDisplayName } from './protocol/validate.js'
export { CLIENT_PROTOCOL } from './protocol/ids.js'
export { useWebCryptoEd25519 } from './protocol/ed25519-webcrypto.js'
