/**
 * What a message's text holds besides plain text: web links and @mentions of
 * people in the conversation. Pure: it only splits the text into segments; the
 * view turns them into DOM nodes (text nodes, and anchors whose href is set
 * only from a parsed http(s) URL), so nothing a user writes becomes markup.
 */

export type Segment =
  | { kind: 'text', text: string }
  | { kind: 'link', text: string, href: string }
  | { kind: 'mention', text: string, userId: string }

export interface Mentionable {
  userId: string
  name: string
}

/** a candidate link: an http(s) scheme, then anything up to whitespace or an angle bracket or quote */
const URL_START = /\bhttps?:\/\//gi
const URL_END = /[\s<>"']/
/** punctuation that ends a sentence rather than the URL */
const TRAILING = /[.,;:!?)\]}]+$/

/** the http(s) URL this text is, normalised; undefined for anything else (javascript:, data:, malformed) */
export function safeHref (raw: string): string | undefined {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  if (url.hostname === '') return undefined
  return url.href
}

function isWordChar (c: string | undefined): boolean {
  return c != null && /[\p{L}\p{N}_]/u.test(c)
}

/** a conversation's members by lowercased name (the first with each name), and the lengths those names have, longest first */
interface NameIndex {
  byName: Map<string, Mentionable>
  lengths: number[]
}

/** one index per member list: a room's roster is a new list at each change, and read for every message until then */
const indexes = new WeakMap<readonly Mentionable[], NameIndex>()

function nameIndex (members: readonly Mentionable[]): NameIndex {
  let index = indexes.get(members)
  if (index == null) {
    const byName = new Map<string, Mentionable>()
    for (const m of members) {
      const n = m.name.toLowerCase()
      if (n !== '' && !byName.has(n)) byName.set(n, m)
    }
    const lengths = [...new Set([...byName.keys()].map(n => n.length))].sort((a, b) => b - a)
    indexes.set(members, index = { byName, lengths })
  }
  return index
}

/**
 * The member mentioned at `text[at]` (an "@" that starts a word): the longest
 * member name that follows it, ending at a word boundary. Names compare
 * without case; a name nobody in the conversation has is no mention. One
 * lookup per distinct name length, over no more of the text than the longest
 * name: a message of thousands of "@" in a room of thousands of members read
 * the whole rest of the text and every member's name at each of them.
 */
function mentionAt (text: string, at: number, members: readonly Mentionable[]): { end: number, member: Mentionable } | undefined {
  if (text[at] !== '@' || isWordChar(text[at - 1])) return undefined
  const { byName, lengths } = nameIndex(members)
  const longest = lengths[0]
  if (longest == null) return undefined
  // a little past the longest name: the character after a name says whether it ends a word
  const rest = text.slice(at + 1, at + 1 + longest + 8).toLowerCase()
  for (const n of lengths) {
    if (n > rest.length) continue
    const member = byName.get(rest.slice(0, n))
    if (member != null && !isWordChar(rest[n])) return { end: at + 1 + n, member }
  }
  return undefined
}

/** split a message into text, links and mentions of `members` */
export function segments (text: string, members: readonly Mentionable[]): Segment[] {
  const out: Segment[] = []
  let plain = ''
  const flush = (): void => {
    if (plain !== '') out.push({ kind: 'text', text: plain })
    plain = ''
  }
  // where links start, found once
  const linkStarts = new Set<number>()
  for (const m of text.matchAll(URL_START)) linkStarts.add(m.index)
  let i = 0
  while (i < text.length) {
    if (linkStarts.has(i)) {
      let end = i
      while (end < text.length && !URL_END.test(text[end] as string)) end++
      let raw = text.slice(i, end)
      raw = raw.replace(TRAILING, '')
      // a closing parenthesis belongs to the URL when the URL opened one (Wikipedia-style links)
      if (text[i + raw.length] === ')' && raw.includes('(') && !raw.includes(')')) raw += ')'
      const href = safeHref(raw)
      if (href != null && raw.length > 'https://'.length - 1) {
        flush()
        out.push({ kind: 'link', text: raw, href })
        i += raw.length
        continue
      }
    }
    const mention = text[i] === '@' ? mentionAt(text, i, members) : undefined
    if (mention != null) {
      flush()
      out.push({ kind: 'mention', text: text.slice(i, mention.end), userId: mention.member.userId })
      i = mention.end
      continue
    }
    plain += text[i] as string
    i++
  }
  flush()
  return out
}

/** whether `text` mentions `userId` among `members` */
export function mentions (text: string, members: readonly Mentionable[], userId: string): boolean {
  if (!text.includes('@')) return false
  return segments(text, members).some(s => s.kind === 'mention' && s.userId === userId)
}
