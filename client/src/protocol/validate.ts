import { LIMITS } from './limits.js'
import { InvalidNameError, InvalidRoomError, InvalidUtf8Error, EventTooLargeError, InvalidEventError } from './errors.js'

/**
 * Room names: letters and digits of any script, plus `-`, `_` and `.`, starting
 * with a letter or digit. They become gossipsub topic names and SQLite keys, and
 * people type them, so no whitespace, slashes or invisible characters.
 */
const ROOM_RE = /^[\p{L}\p{N}][\p{L}\p{N}._-]*$/u

/**
 * Characters a display name may not contain: C0/C1 controls, line and paragraph
 * separators, and the bidi embedding/override/isolate marks that let a name
 * visually rewrite the text around it ("Trojan Source").
 */
const NAME_FORBIDDEN_RE = /[\p{Cc}\p{Cs}\u2028\u2029\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\uFEFF]/u

/** Controls allowed in a message body: tab, newline, carriage return. Others (ESC, NUL, ...) could drive a terminal. */
const BODY_FORBIDDEN_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069]/u

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const utf8 = new TextEncoder()

/** A device's presence status: the one definition node and client share. */
export type PresenceStatus = 'online' | 'away'

/**
 * The names nearly every room has: ASCII letters and digits, `.`, `_` and `-`. Such a string is
 * its own NFC form and has one code point per UTF-16 unit, so matching this and the length limit
 * is the whole check, without normalising or counting code points (validateRoom runs for every
 * event a node or client opens).
 */
const ASCII_ROOM_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/** Throws InvalidRoomError unless `room` is an acceptable room name; returns it NFC-normalised. */
export function validateRoom (room: unknown): string {
  if (typeof room === 'string' && room.length <= LIMITS.maxRoomNameLength && ASCII_ROOM_RE.test(room)) return room
  if (typeof room !== 'string' || room.length === 0) {
    throw new InvalidRoomError('room name is empty')
  }
  const norm = room.normalize('NFC')
  if (longerThan(norm, LIMITS.maxRoomNameLength)) {
    throw new InvalidRoomError(`room name is longer than ${LIMITS.maxRoomNameLength} characters`)
  }
  if (!ROOM_RE.test(norm)) {
    throw new InvalidRoomError('room names use letters, digits, "-", "_" and "." and start with a letter or digit')
  }
  if (norm !== room) {
    throw new InvalidRoomError('room name is not in Unicode NFC form')
  }
  return norm
}

/**
 * Whether `s` has more than `max` characters (code points). A string has no more code points than
 * UTF-16 units, so most strings are answered by their length; only longer ones are counted, without
 * spreading them into an array.
 */
function longerThan (s: string, max: number): boolean {
  if (s.length <= max) return false
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    // a high surrogate followed by a low one is one code point
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) i++
    }
    if (++n > max) return true
  }
  return false
}

/** A display name carried as UTF-8 bytes: decoded strictly, then validated (InvalidNameError). */
export function decodeDisplayName (bytes: Uint8Array): string {
  let name: string
  try {
    name = strictUtf8.decode(bytes)
  } catch {
    throw new InvalidNameError('display name is not valid UTF-8')
  }
  return validateDisplayName(name)
}

/** UTF-8 bytes of a display name, validated first. */
export function encodeDisplayName (name: string): Uint8Array<ArrayBuffer> {
  return utf8.encode(validateDisplayName(name))
}

/** Throws InvalidNameError unless `name` is an acceptable display name. */
export function validateDisplayName (name: unknown): string {
  if (typeof name !== 'string') {
    throw new InvalidNameError('display name is missing')
  }
  if (name.trim().length === 0) {
    throw new InvalidNameError('display name is empty')
  }
  if (name !== name.trim()) {
    throw new InvalidNameError('display name starts or ends with whitespace')
  }
  if (longerThan(name, LIMITS.maxDisplayNameLength)) {
    throw new InvalidNameError(`display name is longer than ${LIMITS.maxDisplayNameLength} characters`)
  }
  if (NAME_FORBIDDEN_RE.test(name)) {
    throw new InvalidNameError('display name contains control or bidi-override characters')
  }
  return name
}

/**
 * Decodes a message body strictly: invalid UTF-8 is refused rather than
 * silently replaced, so what the author signed is exactly what everyone shows.
 */
export function decodeBody (body: Uint8Array, maxBytes: number): string {
  if (body.byteLength === 0) {
    throw new InvalidEventError('message body is empty')
  }
  if (body.byteLength > maxBytes) {
    throw new EventTooLargeError(`message body is ${body.byteLength} bytes, the limit is ${maxBytes}`)
  }
  let text: string
  try {
    text = strictUtf8.decode(body)
  } catch {
    throw new InvalidUtf8Error('message body is not valid UTF-8')
  }
  if (BODY_FORBIDDEN_RE.test(text)) {
    throw new InvalidEventError('message body contains control or bidi-override characters')
  }
  return text
}

/** UTF-8 bytes of a body the local user typed, checked like a received one. */
export function encodeBody (text: string, maxBytes: number): Uint8Array {
  const bytes = utf8.encode(text)
  decodeBody(bytes, maxBytes)
  return bytes
}
