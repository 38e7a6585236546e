import { MeshchatError } from '../src/index.js'

/** the tail of a PeerId: enough to tell nodes and users apart on screen */
export function shortId (id: string): string {
  return id.length <= 8 ? id : '…' + id.slice(-6)
}

/**
 * formatters made once: toLocaleTimeString and toLocaleString with options build a formatter at
 * every call, a large part of drawing a message row
 */
const CLOCK = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' })
const FULL = new Intl.DateTimeFormat([], { dateStyle: 'short', timeStyle: 'medium' })

export function clockTime (ms: number): string {
  return CLOCK.format(ms)
}

/** date and time, for a message's tooltip */
export function fullTime (ms: number): string {
  return FULL.format(ms)
}

export function sameMinute (a: number, b: number): boolean {
  return Math.floor(a / 60_000) === Math.floor(b / 60_000)
}

export function sameDay (a: number, b: number): boolean {
  return new Date(a).toDateString() === new Date(b).toDateString()
}

/** the line above a day's first message: Today, Yesterday, or the date */
export function dayLabel (ms: number, now: number): string {
  if (sameDay(ms, now)) return 'Today'
  if (sameDay(ms, now - 86_400_000)) return 'Yesterday'
  const d = new Date(ms)
  return d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric', ...(d.getFullYear() !== new Date(now).getFullYear() ? { year: 'numeric' } : {}) })
}

/** a stable hue per user, for avatars */
export function hue (userId: string): number {
  let x = 0
  for (let i = 0; i < userId.length; i++) x = (x * 31 + userId.charCodeAt(i)) >>> 0
  return x % 360
}

export function initial (name: string): string {
  return ([...name.trim()][0] ?? '?').toUpperCase()
}

/** What to tell the user about a failure; typed errors get a sentence a person can act on. */
export function describeError (err: unknown): { code: string, text: string } {
  if (!(err instanceof MeshchatError)) {
    return { code: 'ERROR', text: err instanceof Error ? err.message : String(err) }
  }
  const code = err.codeName
  switch (code) {
    case 'RATE_LIMITED': {
      const s = Math.max(1, Math.ceil(err.retryAfterMs / 1000))
      return { code, text: `You are sending too fast. Try again in ${s} s.` }
    }
    case 'EVENT_TOO_LARGE':
    case 'FRAME_TOO_LARGE':
      return { code, text: 'That message is too long to send.' }
    case 'TOO_MANY_ROOMS':
      return { code, text: `You are in as many rooms as this node allows: ${err.message}` }
    case 'NOT_JOINED':
      return { code, text: `Join the room first: ${err.message}` }
    case 'MAILBOX_FULL':
      return { code, text: 'Their mailbox is full; the message was not queued.' }
    case 'DISCONNECTED':
      return { code, text: 'Not connected to a node right now.' }
    case 'TIMEOUT':
      return { code, text: 'The node did not answer in time.' }
    case 'NODE_FULL':
      return { code, text: 'Every node is full right now.' }
    case 'UNAVAILABLE':
      return { code, text: `The mesh could not take that right now: ${err.message}` }
    case 'BAD_SIGNATURE':
    case 'WRONG_AUTHOR':
      return { code, text: `A message failed verification and was dropped: ${err.message}` }
    default:
      return { code, text: err.message }
  }
}
