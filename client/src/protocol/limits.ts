/**
 * Limits shared by node and client. The node announces its own values in the
 * welcome; these are the defaults both sides assume before that.
 */
export const LIMITS = {
  /** a signed chat event (DESIGN: 64 KiB) */
  maxEventBytes: 64 * 1024,
  /** room names, in characters */
  maxRoomNameLength: 64,
  /** display names, in characters */
  maxDisplayNameLength: 48,
  /**
   * slack above the event limit for the frame around it; frames above
   * maxEventBytes + this are not read at all and close the stream
   */
  frameOverheadBytes: 4 * 1024,
  /** frames a node sends (history pages, roster snapshots) may be larger */
  maxServerFrameBytes: 8 * 1024 * 1024,
  /**
   * members in a roster snapshot: a room with more sends this many (the frame stays under ~1 MB, which
   * a session's bounded send queue takes) marked partial, and diffs for every member after it
   */
  maxRosterSnapshot: 5000,
  /**
   * members past which a room carries no read receipts: each member's receipt went to every member,
   * members² frames for every message read (a room of 5,000: 25 million)
   */
  maxReceiptRoom: 100,
  /**
   * members past which a room carries no typing notices: each typist's went to every member (a room
   * of 5,000 with one member in a hundred typing, a notice each 2.5 s: about 100,000 frames a second)
   */
  maxTypingRoom: 1000,
  /** history page size cap */
  maxHistoryPage: 500,
  /** random bytes in an event nonce */
  nonceBytes: 12
} as const

/**
 * Whether a room of `members` members carries ephemeral events of this kind (read receipts up to
 * LIMITS.maxReceiptRoom, typing notices up to LIMITS.maxTypingRoom): the one rule the client, the
 * ingress node and a node taking them from the mesh all apply.
 */
export function carriesEphemeral (kind: 'receipt' | 'typing', members: number): boolean {
  return members <= (kind === 'receipt' ? LIMITS.maxReceiptRoom : LIMITS.maxTypingRoom)
}
