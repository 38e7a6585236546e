/**
 * The pure parts of the chat UIs: how the web app splits a message into text,
 * links and @mentions (only http and https become links; only people in the
 * conversation become mentions), and whom the terminal's `/dm <query>` means.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { mentions, safeHref, segments } from '../../client/web/rich-text.js'
import type { Mentionable } from '../../client/web/rich-text.js'
import { completeDm, resolveUser } from '../../node/src/chat-cli.js'

const alice = { userId: '12D3KooWAliceAliceAliceAliceAliceAliceAliceAliceAlic', name: 'alice' }
const al = { userId: '12D3KooWAlAlAlAlAlAlAlAlAlAlAlAlAlAlAlAlAlAlAlAlAlAl', name: 'Al' }
const bobSmith = { userId: '12D3KooWBobSmithBobSmithBobSmithBobSmithBobSmithBob', name: 'Bob Smith' }

describe('message text: links and mentions', () => {
  it('makes only http and https URLs into links, without the sentence\'s punctuation', () => {
    expect(segments('see https://example.com/a?b=1, then', [])).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { kind: 'text', text: ', then' }
    ])
    expect(segments('(http://example.org/x).', [])).toEqual([
      { kind: 'text', text: '(' },
      { kind: 'link', text: 'http://example.org/x', href: 'http://example.org/x' },
      { kind: 'text', text: ').' }
    ])
    expect(segments('https://en.wikipedia.org/wiki/Mesh_(disambiguation) ok', [])[0]).toEqual(
      { kind: 'link', text: 'https://en.wikipedia.org/wiki/Mesh_(disambiguation)', href: 'https://en.wikipedia.org/wiki/Mesh_(disambiguation)' })
    for (const inert of ['javascript:alert(1)', 'javascript://example.com/%0aalert(1)', 'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)', 'file:///etc/passwd', 'ftp://example.com/', 'https://', 'http:// spaced', '<a href="javascript:alert(1)">x</a>']) {
      const segs = segments(inert, [])
      expect(segs.every(s => s.kind === 'text'), inert).toBe(true)
      expect(segs.map(s => s.text).join(''), inert).toBe(inert)
    }
  })

  it('checks a link\'s scheme by parsing it, not by its spelling', () => {
    expect(safeHref('HTTPS://EXAMPLE.com/A')).toBe('https://example.com/A')
    expect(safeHref('javascript:alert(1)')).toBeUndefined()
    expect(safeHref(' javascript:alert(1)')).toBeUndefined()
    expect(safeHref('data:text/html,x')).toBeUndefined()
    expect(safeHref('https:/example.com')).toBe('https://example.com/')
    expect(safeHref('not a url')).toBeUndefined()
  })

  it('highlights @names of members only, the longest name that fits, at word boundaries', () => {
    const members = [alice, al, bobSmith]
    expect(segments('hi @alice and @Bob Smith!', members)).toEqual([
      { kind: 'text', text: 'hi ' },
      { kind: 'mention', text: '@alice', userId: alice.userId },
      { kind: 'text', text: ' and ' },
      { kind: 'mention', text: '@Bob Smith', userId: bobSmith.userId },
      { kind: 'text', text: '!' }
    ])
    // @al is a member, @alicex and @nobody are not; an e-mail address is no mention
    expect(segments('@al @alicex @nobody mail@alice', members).filter(s => s.kind === 'mention')).toEqual([
      { kind: 'mention', text: '@al', userId: al.userId }
    ])
    expect(mentions('thanks @ALICE', members, alice.userId)).toBe(true)
    expect(mentions('thanks @alice', [al], alice.userId)).toBe(false)
    // text around mentions and links survives exactly
    const text = '@alice 👋 <b>https://x.example/?q=<i></b>'
    expect(segments(text, members).map(s => s.text).join('')).toBe(text)
  })

  it('finds the same mentions as a scan of every member at every "@" would, for any text and members', () => {
    const isWord = (c: string | undefined): boolean => c != null && /[\p{L}\p{N}_]/u.test(c)
    /** the plain reading: at each "@" that starts a word, every member's name against the rest of the text */
    const scan = (text: string, members: Mentionable[]): Array<{ at: number, end: number, userId: string }> => {
      const found: Array<{ at: number, end: number, userId: string }> = []
      for (let at = 0; at < text.length; at++) {
        if (text[at] !== '@' || isWord(text[at - 1])) continue
        const rest = text.slice(at + 1).toLowerCase()
        let best: { end: number, userId: string } | undefined
        for (const m of members) {
          const n = m.name.toLowerCase()
          if (n === '' || !rest.startsWith(n) || isWord(rest[n.length])) continue
          if (best == null || n.length > best.end - at - 1) best = { end: at + 1 + n.length, userId: m.userId }
        }
        if (best != null) {
          found.push({ at, ...best })
          at = best.end - 1
        }
      }
      return found
    }
    const name = fc.stringMatching(/^[a-cA-C @_.]{0,6}$/)
    fc.assert(fc.property(
      fc.array(fc.record({ userId: fc.string({ minLength: 1, maxLength: 4 }), name }), { maxLength: 8 }),
      fc.stringMatching(/^[a-cA-C @_.!]{0,40}$/),
      (members, text) => {
        let at = 0
        const got: Array<{ at: number, end: number, userId: string }> = []
        for (const s of segments(text, members)) {
          if (s.kind === 'mention') got.push({ at, end: at + s.text.length, userId: s.userId })
          at += s.text.length
        }
        expect(got).toEqual(scan(text, members))
      }), { numRuns: 2000 })
  })

  it('reads a message of 60,000 "@" in a room of 5,000 members, mentioning one of them where the name fits', () => {
    const members = Array.from({ length: 5000 }, (_, i) => ({ userId: `u${i}`, name: `fan ${i}` }))
    const text = '@'.repeat(60_000) + ' @fan 4999!'
    const out = segments(text, members)
    expect(out.map(s => s.text).join('')).toBe(text)
    expect(out.filter(s => s.kind === 'mention')).toEqual([{ kind: 'mention', text: '@fan 4999', userId: 'u4999' }])
    expect(mentions(text, members, 'u4999')).toBe(true)
  })
})

describe('terminal /dm: whom a name or id means', () => {
  const known = [alice, al, bobSmith, { userId: '12D3KooWOtherBobOtherBobOtherBobOtherBobOtherBobOther', name: 'bob' }]

  it('takes an exact name, then an id prefix or short id, then a name prefix', () => {
    expect(resolveUser('alice', known).user).toEqual(alice)
    expect(resolveUser('ALICE', known).user).toEqual(alice)
    expect(resolveUser('Al', known).user).toEqual(al)
    expect(resolveUser(alice.userId.slice(-8), known).user).toEqual(alice)
    expect(resolveUser(bobSmith.userId.slice(0, 14), known).user).toEqual(bobSmith)
    expect(resolveUser('bob s', known).user).toEqual(bobSmith)
  })

  it('lists the candidates when several match, and nobody for an unknown name', () => {
    const r = resolveUser('bo', known)
    expect(r.user).toBeUndefined()
    expect(r.candidates.map(c => c.name)).toEqual(['bob', 'Bob Smith'])
    // every id starts with 12D3KooW: too short a prefix matches everyone, so it is not taken as an id
    expect(resolveUser('12D', known)).toEqual({ candidates: [] })
    expect(resolveUser('carol', known)).toEqual({ candidates: [] })
  })

  it('completes a partial name after /dm with Tab', () => {
    expect(completeDm('/dm ali', known)).toEqual([['alice '], 'ali'])
    // names of several words cannot be typed as one; they are left out
    expect(completeDm('/dm b', known)).toEqual([['bob '], 'b'])
    expect(completeDm('/dm ', known)).toEqual([['Al ', 'alice ', 'bob '], ''])
    expect(completeDm('/dm alice hello', known)).toEqual([[], '/dm alice hello'])
    expect(completeDm('hello', known)).toEqual([[], 'hello'])
  })

  it('takes a full user id it has never seen (a DM to someone offline)', () => {
    const id = '12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHT1e6AEhSmPkujGFMLz8Qe'
    expect(resolveUser(id, known).user?.userId).toBe(id)
    expect(resolveUser(id.slice(0, -1) + '0', known).user).toBeUndefined()
  })
})
