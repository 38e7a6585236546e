import { InvalidQueryError } from './protocol/errors.js'
import { idToHex } from './protocol/signing.js'

/**
 * A message's place in its conversation, as the application sees it: an
 * opaque string that sorts (as a plain string) in the order every node and
 * client agrees on, the ingress stamp and then the message id. It is what
 * `history({ before })` and resume take, and it survives JSON.
 */
export type Cursor = string

/** a position as the wire carries it */
export interface Position {
  hlc: bigint
  id: Uint8Array
}

const HLC_DIGITS = 16

export function cursorOf (p: Position): Cursor {
  return p.hlc.toString(16).padStart(HLC_DIGITS, '0') + idToHex(p.id)
}

/** the wire position of a cursor; InvalidQueryError for a string that is not one */
export function positionOf (cursor: Cursor): Position & { id: Uint8Array<ArrayBuffer> } {
  if (typeof cursor !== 'string' || !/^[0-9a-f]{80}$/.test(cursor)) throw new InvalidQueryError('not a cursor')
  const id = new Uint8Array(32)
  for (let i = 0; i < 32; i++) id[i] = parseInt(cursor.slice(HLC_DIGITS + i * 2, HLC_DIGITS + i * 2 + 2), 16)
  return { hlc: BigInt('0x' + cursor.slice(0, HLC_DIGITS)), id }
}

/** cursors order as strings; this is that comparison, spelled out for sort() */
export function compareCursors (a: Cursor, b: Cursor): number {
  return a < b ? -1 : a > b ? 1 : 0
}
