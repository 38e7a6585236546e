/**
 * Error codes and error classes shared by the node and the client. A node refuses
 * bad input with an `Error` frame carrying one of these codes; the client turns
 * the frame back into the matching class, so callers match on `err.name` (or
 * `instanceof`) the same way on both sides.
 */

/** Numeric codes carried in `Error` frames. Never renumber: clients in the field depend on them. */
export const ErrorCode = {
  /** the frame could not be decoded; the stream is closed */
  BAD_FRAME: 1,
  /** the frame's length prefix is above the frame limit; the stream is closed */
  FRAME_TOO_LARGE: 2,
  /** the signed event is above the event size limit (or the body above the body limit) */
  EVENT_TOO_LARGE: 3,
  /** the message body is not valid UTF-8 text */
  INVALID_UTF8: 4,
  /** a room name failed validation */
  INVALID_ROOM: 5,
  /** a display name failed validation */
  INVALID_NAME: 6,
  /** the event's signature does not verify */
  BAD_SIGNATURE: 7,
  /** the event's author is not the user attached on this session */
  WRONG_AUTHOR: 8,
  /** sending to a room the session has not joined */
  NOT_JOINED: 9,
  /** too many events too fast; `retryAfterMs` says when to try again */
  RATE_LIMITED: 10,
  /** the user is in as many rooms as the node allows */
  TOO_MANY_ROOMS: 11,
  /** the node is at its connection limit */
  NODE_FULL: 12,
  /** a request was sent before `hello` (or `hello` twice) */
  HELLO_REQUIRED: 13,
  /** a frame kind this node does not handle */
  UNSUPPORTED: 14,
  /** the recipient's mailbox is full */
  MAILBOX_FULL: 15,
  /** the node failed while handling a valid request */
  INTERNAL: 16,
  /** the client speaks a protocol version this node does not */
  VERSION: 17,
  /** the event decoded but its content is not acceptable (missing kind, bad nonce, ...) */
  INVALID_EVENT: 18,
  /** a user id that is not a valid PeerId */
  INVALID_USER: 19,
  /** the node could not store or route the event (no replica reachable) */
  UNAVAILABLE: 20,
  /** client side: no reply within the request timeout */
  TIMEOUT: 21,
  /** client side: the connection closed before the reply */
  DISCONNECTED: 22,
  /** a cursor or history query is malformed */
  INVALID_QUERY: 23,
  /**
   * a stamp outside the accepted window: an ingress stamp further in the future than the clock-drift
   * bound, or an author timestamp too far from the ingress stamp (the author's clock is wrong)
   */
  BAD_TIMESTAMP: 24,
  /** the hello (or a frame that was begun) did not arrive in time; the connection is closed */
  TOO_SLOW: 25,
  /** node to node: the asking node may not read or change this (a mailbox of a user it does not host or own) */
  NOT_ENTITLED: 26,
  /** the proof of key did not hold: replayed, expired, for another node, or signed by another key; the connection is closed */
  AUTH_FAILED: 27,
  /** a DM conversation the session's user does not take part in (someone else's history, a receipt for it) */
  NOT_PARTICIPANT: 28,
  /** a read receipt for a message this node does not know in that room or conversation (one the user never received) */
  UNKNOWN_EVENT: 29
} as const

export type ErrorCodeName = keyof typeof ErrorCode
export type ErrorCodeValue = (typeof ErrorCode)[ErrorCodeName]

const names = new Map<number, ErrorCodeName>(
  (Object.entries(ErrorCode) as Array<[ErrorCodeName, number]>).map(([k, v]) => [v, k])
)

/** Base class of every meshchat error; `code` is the wire code. */
export class MeshchatError extends Error {
  static override name = 'MeshchatError'
  readonly code: number
  /** ms to wait before retrying, when the node said so */
  readonly retryAfterMs: number

  constructor (code: number, message: string, retryAfterMs = 0) {
    super(message)
    this.name = (new.target as { name: string }).name
    this.code = code
    this.retryAfterMs = retryAfterMs
  }

  /** the symbolic name of `code`, e.g. `RATE_LIMITED` */
  get codeName (): ErrorCodeName | 'UNKNOWN' {
    return names.get(this.code) ?? 'UNKNOWN'
  }
}

function define (name: string, code: number): new (message?: string, retryAfterMs?: number) => MeshchatError {
  // one class per failure mode, so tests and callers can match on `err.name`
  const cls = class extends MeshchatError {
    constructor (message = name, retryAfterMs = 0) {
      super(code, message, retryAfterMs)
      this.name = name
    }
  }
  Object.defineProperty(cls, 'name', { value: name })
  return cls
}

export const BadFrameError = define('BadFrameError', ErrorCode.BAD_FRAME)
export const FrameTooLargeError = define('FrameTooLargeError', ErrorCode.FRAME_TOO_LARGE)
export const EventTooLargeError = define('EventTooLargeError', ErrorCode.EVENT_TOO_LARGE)
export const InvalidUtf8Error = define('InvalidUtf8Error', ErrorCode.INVALID_UTF8)
export const InvalidRoomError = define('InvalidRoomError', ErrorCode.INVALID_ROOM)
export const InvalidNameError = define('InvalidNameError', ErrorCode.INVALID_NAME)
export const BadSignatureError = define('BadSignatureError', ErrorCode.BAD_SIGNATURE)
export const WrongAuthorError = define('WrongAuthorError', ErrorCode.WRONG_AUTHOR)
export const NotJoinedError = define('NotJoinedError', ErrorCode.NOT_JOINED)
export const RateLimitedError = define('RateLimitedError', ErrorCode.RATE_LIMITED)
export const TooManyRoomsError = define('TooManyRoomsError', ErrorCode.TOO_MANY_ROOMS)
export const NodeFullError = define('NodeFullError', ErrorCode.NODE_FULL)
export const HelloRequiredError = define('HelloRequiredError', ErrorCode.HELLO_REQUIRED)
export const UnsupportedError = define('UnsupportedError', ErrorCode.UNSUPPORTED)
export const MailboxFullError = define('MailboxFullError', ErrorCode.MAILBOX_FULL)
export const InternalError = define('InternalError', ErrorCode.INTERNAL)
export const VersionError = define('VersionError', ErrorCode.VERSION)
export const InvalidEventError = define('InvalidEventError', ErrorCode.INVALID_EVENT)
export const InvalidUserError = define('InvalidUserError', ErrorCode.INVALID_USER)
export const UnavailableError = define('UnavailableError', ErrorCode.UNAVAILABLE)
export const TimeoutError = define('TimeoutError', ErrorCode.TIMEOUT)
export const DisconnectedError = define('DisconnectedError', ErrorCode.DISCONNECTED)
export const InvalidQueryError = define('InvalidQueryError', ErrorCode.INVALID_QUERY)
export const BadTimestampError = define('BadTimestampError', ErrorCode.BAD_TIMESTAMP)
export const TooSlowError = define('TooSlowError', ErrorCode.TOO_SLOW)
export const NotEntitledError = define('NotEntitledError', ErrorCode.NOT_ENTITLED)
export const AuthFailedError = define('AuthFailedError', ErrorCode.AUTH_FAILED)
export const NotParticipantError = define('NotParticipantError', ErrorCode.NOT_PARTICIPANT)
export const UnknownEventError = define('UnknownEventError', ErrorCode.UNKNOWN_EVENT)

const byCode = new Map<number, new (message?: string, retryAfterMs?: number) => MeshchatError>([
  [ErrorCode.BAD_FRAME, BadFrameError],
  [ErrorCode.FRAME_TOO_LARGE, FrameTooLargeError],
  [ErrorCode.EVENT_TOO_LARGE, EventTooLargeError],
  [ErrorCode.INVALID_UTF8, InvalidUtf8Error],
  [ErrorCode.INVALID_ROOM, InvalidRoomError],
  [ErrorCode.INVALID_NAME, InvalidNameError],
  [ErrorCode.BAD_SIGNATURE, BadSignatureError],
  [ErrorCode.WRONG_AUTHOR, WrongAuthorError],
  [ErrorCode.NOT_JOINED, NotJoinedError],
  [ErrorCode.RATE_LIMITED, RateLimitedError],
  [ErrorCode.TOO_MANY_ROOMS, TooManyRoomsError],
  [ErrorCode.NODE_FULL, NodeFullError],
  [ErrorCode.HELLO_REQUIRED, HelloRequiredError],
  [ErrorCode.UNSUPPORTED, UnsupportedError],
  [ErrorCode.MAILBOX_FULL, MailboxFullError],
  [ErrorCode.INTERNAL, InternalError],
  [ErrorCode.VERSION, VersionError],
  [ErrorCode.INVALID_EVENT, InvalidEventError],
  [ErrorCode.INVALID_USER, InvalidUserError],
  [ErrorCode.UNAVAILABLE, UnavailableError],
  [ErrorCode.TIMEOUT, TimeoutError],
  [ErrorCode.DISCONNECTED, DisconnectedError],
  [ErrorCode.INVALID_QUERY, InvalidQueryError],
  [ErrorCode.BAD_TIMESTAMP, BadTimestampError],
  [ErrorCode.TOO_SLOW, TooSlowError],
  [ErrorCode.NOT_ENTITLED, NotEntitledError],
  [ErrorCode.AUTH_FAILED, AuthFailedError],
  [ErrorCode.NOT_PARTICIPANT, NotParticipantError],
  [ErrorCode.UNKNOWN_EVENT, UnknownEventError]
])

/** Rebuild the typed error for a wire code (unknown codes become a plain MeshchatError). */
export function errorFromCode (code: number, message: string, retryAfterMs = 0): MeshchatError {
  const cls = byCode.get(code)
  return cls == null ? new MeshchatError(code, message, retryAfterMs) : new cls(message, retryAfterMs)
}

/** Narrow an unknown thrown value to a MeshchatError, wrapping anything else as INTERNAL. */
export function asMeshchatError (err: unknown): MeshchatError {
  if (err instanceof MeshchatError) return err
  return new InternalError(err instanceof Error ? err.message : String(err))
}
