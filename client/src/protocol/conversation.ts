/**
 * DM conversation ids: one id per pair of users, the same whichever of the two
 * computes it, so both participants (and every node) name a conversation's
 * history alike.
 */
import { InvalidQueryError } from './errors.js'
import { validateUserId } from './signing.js'

const SEPARATOR = ':'

/** the conversation between `a` and `b`: their user ids, sorted, joined by ':' (a user may write to themself) */
export function conversationId (a: string, b: string): string {
  validateUserId(a)
  validateUserId(b)
  return a <= b ? a + SEPARATOR + b : b + SEPARATOR + a
}

/**
 * The two participants of a conversation id, sorted; InvalidQueryError unless
 * it is exactly what `conversationId` makes (two user ids in order).
 */
export function conversationParticipants (id: unknown): [string, string] {
  if (typeof id !== 'string' || id.length > 256) throw new InvalidQueryError('not a conversation id')
  const parts = id.split(SEPARATOR)
  if (parts.length !== 2) throw new InvalidQueryError('a conversation id is two user ids joined by ":"')
  const [a, b] = parts as [string, string]
  try {
    validateUserId(a)
    validateUserId(b)
  } catch {
    throw new InvalidQueryError('a conversation id names two user ids')
  }
  if (a > b) throw new InvalidQueryError('a conversation id lists its user ids in order')
  return [a, b]
}

/** the other participant of a conversation, seen from `user`; undefined when `user` is not in it */
export function otherParticipant (id: string, user: string): string | undefined {
  const [a, b] = conversationParticipants(id)
  if (user === a) return b
  if (user === b) return a
  return undefined
}
