import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LIMITS } from '../../client/src/protocol/limits.js'
import { EventTooLargeError, InvalidEventError, InvalidNameError, InvalidRoomError, InvalidUtf8Error } from '../../client/src/protocol/errors.js'
import { decodeBody, encodeBody, validateDisplayName, validateRoom } from '../../client/src/protocol/validate.js'

const u8 = (...b: number[]): Uint8Array => Uint8Array.from(b)
const cp = (n: number): string => String.fromCodePoint(n)

describe('validateRoom', () => {
  it('accepts letters and digits of any script, with - _ . after the first character', () => {
    const good = ['lobby', 'a', '0', 'général', '日本語', 'Ελληνικά', 'dev-ops_2024.q1', 'x'.repeat(LIMITS.maxRoomNameLength)]
    for (const room of good) {
      expect(validateRoom(room), room).toBe(room)
    }
    // the length limit counts characters, not UTF-16 units or bytes
    const cjk = '語'.repeat(LIMITS.maxRoomNameLength)
    expect(validateRoom(cjk)).toBe(cjk)
    const astral = cp(0x20000).repeat(LIMITS.maxRoomNameLength) // CJK extension B, 2 UTF-16 units each
    expect(validateRoom(astral)).toBe(astral)
  })

  it('refuses empty, too long, badly started, spaced, slashed and invisible names', () => {
    const bad: Array<[string, unknown]> = [
      ['empty', ''],
      ['not a string', 42],
      ['undefined', undefined],
      ['too long', 'x'.repeat(LIMITS.maxRoomNameLength + 1)],
      ['too long (astral)', cp(0x20000).repeat(LIMITS.maxRoomNameLength + 1)],
      ['leading dash', '-lobby'],
      ['leading dot', '.lobby'],
      ['leading underscore', '_lobby'],
      ['space', 'the lobby'],
      ['leading space', ' lobby'],
      ['trailing newline', 'lobby\n'],
      ['slash', 'a/b'],
      ['dot-dot path', '../etc'],
      ['backslash', 'a\\b'],
      ['colon', 'a:b'],
      ['NUL', 'lob\u0000by'],
      ['zero-width space', 'lob\u200Bby'],
      ['bidi override', 'lob\u202Eby'],
      ['emoji', 'lobby🙂'],
      ['unpaired surrogate', 'lob\uD800by'],
      ['not NFC (e + combining acute)', 'ge\u0301ne\u0301ral'],
      ['a topic separator', 'meshchat/1/room/x']
    ]
    for (const [what, room] of bad) {
      expect(() => validateRoom(room), what).toThrow(InvalidRoomError)
    }
  })

  it('decides every name as the rules do, whether or not it takes the ASCII shortcut', () => {
    // the rules written out, without the shortcut: NFC, at most maxRoomNameLength code points,
    // a letter or digit of any script first, then letters, digits, '.', '_' and '-'
    const byTheRules = (room: string): boolean => room.length > 0 && room.normalize('NFC') === room &&
      [...room].length <= LIMITS.maxRoomNameLength && /^[\p{L}\p{N}][\p{L}\p{N}._-]*$/u.test(room)
    const chars = ['a', 'Z', '0', '9', '-', '_', '.', ' ', '/', ':', '\u0000', 'é', 'e\u0301', '語', cp(0x20000), '\u200B', '\uD800', '🙂']
    const name = fc.array(fc.constantFrom(...chars), { maxLength: LIMITS.maxRoomNameLength + 3 }).map(cs => cs.join(''))
    const ascii = fc.stringMatching(/^[A-Za-z0-9._-]{0,70}$/)
    fc.assert(fc.property(fc.oneof(name, ascii), room => {
      let accepted: boolean
      try {
        accepted = validateRoom(room) === room
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidRoomError)
        accepted = false
      }
      expect(accepted, JSON.stringify(room)).toBe(byTheRules(room))
    }), { numRuns: 5000 })
  })

  it('errors carry the INVALID_ROOM code and name', () => {
    expect(() => validateRoom('a b')).toThrow(expect.objectContaining({ name: 'InvalidRoomError', code: 5 }))
  })
})

describe('validateDisplayName', () => {
  it('accepts free text, including spaces inside, emoji and any script', () => {
    const good = ['alice', 'Zoë Saldaña', '王小明', 'dj 🎧 night', 'a', 'O\'Brien-Smith (work)', 'x'.repeat(LIMITS.maxDisplayNameLength), '🙂'.repeat(LIMITS.maxDisplayNameLength)]
    for (const name of good) {
      expect(validateDisplayName(name), name).toBe(name)
    }
  })

  it('refuses missing, empty, whitespace-only, padded and too-long names', () => {
    const bad: Array<[string, unknown]> = [
      ['not a string', 7],
      ['null', null],
      ['empty', ''],
      ['spaces only', '   '],
      ['leading space', ' alice'],
      ['trailing space', 'alice '],
      ['trailing tab', 'alice\t'],
      ['too long', 'x'.repeat(LIMITS.maxDisplayNameLength + 1)],
      ['too long in emoji', '🙂'.repeat(LIMITS.maxDisplayNameLength + 1)]
    ]
    for (const [what, name] of bad) {
      expect(() => validateDisplayName(name), what).toThrow(InvalidNameError)
    }
  })

  it('counts a name\'s length in code points, a pair of surrogates as one and a lone one as one', () => {
    const chars = ['a', '語', '🙂', cp(0x20000), '\uD800', '\uDC00', ' ', 'e\u0301']
    const max = LIMITS.maxDisplayNameLength
    const name = fc.array(fc.constantFrom(...chars), { minLength: max - 3, maxLength: max + 3 }).map(cs => `a${cs.join('')}a`)
    fc.assert(fc.property(name, n => {
      let tooLong = false
      try {
        validateDisplayName(n)
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidNameError)
        tooLong = (err as Error).message.includes('longer than')
      }
      expect(tooLong, JSON.stringify(n)).toBe([...n].length > max)
    }), { numRuns: 3000 })
  })

  it('refuses every C0 and C1 control character and DEL inside a name', () => {
    const controls = [...Array.from({ length: 0x20 }, (_, i) => i), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i)]
    for (const c of controls) {
      expect(() => validateDisplayName(`al${cp(c)}ice`), `U+${c.toString(16).padStart(4, '0')}`).toThrow(InvalidNameError)
    }
  })

  it('refuses unpaired UTF-16 surrogates (what a lenient UTF-8 decoder makes of invalid bytes)', () => {
    // a name is shown, stored and sent on as UTF-8: a lone surrogate has no UTF-8 form at all
    for (const [what, name] of [
      ['lone high surrogate', 'al\uD800ice'],
      ['lone low surrogate', 'al\uDC00ice'],
      ['reversed pair', 'al\uDC00\uD800ice'],
      ['trailing high surrogate', 'alice\uD83D']
    ]) {
      expect(() => validateDisplayName(name), what).toThrow(InvalidNameError)
    }
    // a proper pair is an ordinary character
    expect(validateDisplayName('al\uD83D\uDE42ice')).toBe('al🙂ice')
  })

  it('refuses bidi embeddings, overrides and isolates (Trojan Source), marks and separators', () => {
    const bidi = [
      0x202A, 0x202B, 0x202C, 0x202D, 0x202E, // LRE RLE PDF LRO RLO
      0x2066, 0x2067, 0x2068, 0x2069, // LRI RLI FSI PDI
      0x200E, 0x200F, 0x061C, // LRM RLM ALM
      0x2028, 0x2029, // line / paragraph separator
      0xFEFF // BOM / zero-width no-break space
    ]
    for (const c of bidi) {
      const where = `U+${c.toString(16).toUpperCase()}`
      expect(() => validateDisplayName(`admin${cp(c)}txt.exe`), `${where} inside`).toThrow(InvalidNameError)
      expect(() => validateDisplayName(`${cp(c)}admin`), `${where} leading`).toThrow(InvalidNameError)
      expect(() => validateDisplayName(`admin${cp(c)}`), `${where} trailing`).toThrow(InvalidNameError)
    }
    expect(() => validateDisplayName('moc.\u202Eevil')).toThrow(expect.objectContaining({ name: 'InvalidNameError', code: 6 }))
  })
})

describe('decodeBody / encodeBody', () => {
  it('decodes valid UTF-8 exactly, keeping tab, newline, CR and a leading BOM', () => {
    expect(decodeBody(new TextEncoder().encode('héllo 🌍\tand\r\nbye'), 1000)).toBe('héllo 🌍\tand\r\nbye')
    // what the author signed is exactly what everyone shows: a BOM is not stripped
    expect(decodeBody(u8(0xef, 0xbb, 0xbf, 0x61), 1000)).toBe('\uFEFFa')
    expect(decodeBody(u8(0xf4, 0x8f, 0xbf, 0xbf), 1000)).toBe(cp(0x10FFFF))
  })

  it('refuses invalid UTF-8 with InvalidUtf8Error instead of replacing it', () => {
    const invalid: Array<[string, Uint8Array]> = [
      ['lone 0xff', u8(0x61, 0xff, 0x62)],
      ['lone continuation byte', u8(0x80)],
      ['overlong NUL', u8(0xc0, 0x80)],
      ['overlong slash', u8(0xe0, 0x80, 0xaf)],
      ['truncated 3-byte sequence', u8(0xe2, 0x82)],
      ['truncated at the end', u8(0x61, 0xf0, 0x9f, 0x98)],
      ['UTF-16 surrogate encoded (CESU)', u8(0xed, 0xa0, 0x80)],
      ['above U+10FFFF', u8(0xf4, 0x90, 0x80, 0x80)],
      ['0xfe', u8(0xfe)],
      ['latin-1 é', u8(0x63, 0x61, 0x66, 0xe9)]
    ]
    for (const [what, bytes] of invalid) {
      expect(() => decodeBody(bytes, 1000), what).toThrow(InvalidUtf8Error)
    }
    expect(() => decodeBody(u8(0xff), 10)).toThrow(expect.objectContaining({ name: 'InvalidUtf8Error', code: 4 }))
  })

  it('refuses terminal-driving controls and bidi overrides in the body', () => {
    for (const c of [0x00, 0x07, 0x08, 0x0b, 0x0c, 0x1b, 0x7f, 0x202e, 0x2066]) {
      expect(() => decodeBody(new TextEncoder().encode(`a${cp(c)}b`), 1000), `U+${c.toString(16)}`).toThrow(InvalidEventError)
    }
  })

  it('refuses an empty body', () => {
    expect(() => decodeBody(new Uint8Array(0), 1000)).toThrow(InvalidEventError)
  })

  it('the size limit counts bytes, not characters', () => {
    const max = 12
    expect(decodeBody(new TextEncoder().encode('x'.repeat(max)), max)).toHaveLength(max)
    expect(() => decodeBody(new TextEncoder().encode('x'.repeat(max + 1)), max)).toThrow(EventTooLargeError)
    // 4 emoji = 4 characters but 16 bytes
    expect(() => decodeBody(new TextEncoder().encode('🙂🙂🙂🙂'), max)).toThrow(EventTooLargeError)
    expect(() => encodeBody('🙂🙂🙂🙂', max)).toThrow(EventTooLargeError)
    expect(encodeBody('🙂🙂🙂', max)).toHaveLength(12)
  })

  it('the size check comes before the UTF-8 check (no decoding of oversize input)', () => {
    expect(() => decodeBody(new Uint8Array(20).fill(0xff), 10)).toThrow(EventTooLargeError)
  })

  it('encodeBody checks the text it encodes like a received body', () => {
    expect(encodeBody('hi', 10)).toEqual(u8(0x68, 0x69))
    expect(() => encodeBody('', 10)).toThrow(InvalidEventError)
    expect(() => encodeBody('\u001b[2J', 10)).toThrow(InvalidEventError)
    // a lone surrogate cannot be encoded as UTF-8: TextEncoder writes U+FFFD, which is valid text
    expect(new TextDecoder().decode(encodeBody('a\uD800', 10))).toBe('a\uFFFD')
  })
})
