import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HealMarks, healFrom } from '../../node/src/state/heal-marks.js'

const stamp = (ms: number, logical = 0): bigint => (BigInt(ms) << 16n) + BigInt(logical)
const window = { slackMs: 10_000, lookbackMs: 60_000 }

describe('HealMarks', () => {
  it('keeps the newest stamp per room and origin', () => {
    const m = new HealMarks()
    m.seen('r1', 'n2', stamp(5000))
    m.seen('r1', 'n2', stamp(4000))
    m.seen('r1', 'n3', stamp(7000))
    m.seen('r2', 'n2', stamp(9000, 3))
    expect(m.get('r1', 'n2')).toBe(stamp(5000))
    expect(m.get('r1', 'n3')).toBe(stamp(7000))
    expect(m.get('r2', 'n2')).toBe(stamp(9000, 3))
    expect(m.get('r3', 'n2')).toBeUndefined()
    expect(m.snapshot('n2', ['r1', 'r2', 'r3'])).toEqual(new Map([['r1', stamp(5000)], ['r2', stamp(9000, 3)]]))
    m.forget('r1')
    expect(m.get('r1', 'n2')).toBeUndefined()
  })

  it('a snapshot does not move when later events arrive', () => {
    const m = new HealMarks()
    m.seen('r1', 'n2', stamp(5000))
    const snap = m.snapshot('n2', ['r1'])
    m.seen('r1', 'n2', stamp(8000))
    expect(snap.get('r1')).toBe(stamp(5000))
    expect(m.get('r1', 'n2')).toBe(stamp(8000))
  })

  it('stays bounded in rooms and origins, dropping the oldest first', () => {
    const m = new HealMarks(3, 2)
    for (let i = 0; i < 10; i++) m.seen(`r${i}`, 'n', stamp(i))
    expect(m.get('r0', 'n')).toBeUndefined()
    expect(m.get('r9', 'n')).toBe(stamp(9))
    expect(m.snapshot('n', Array.from({ length: 10 }, (_, i) => `r${i}`)).size).toBe(3)
    for (let i = 0; i < 5; i++) m.seen('r9', `o${i}`, stamp(i))
    expect(m.get('r9', 'n')).toBeUndefined()
    expect(m.get('r9', 'o3')).toBe(stamp(3))
    expect(m.get('r9', 'o4')).toBe(stamp(4))
  })
})

describe('healFrom', () => {
  it('starts before the last event received when the link was cut before the connection dropped', () => {
    // last event from the node at 100 s; the connection dropped 17 s later
    expect(healFrom(117_000, stamp(100_000, 7), window)).toBe(stamp(90_000, 7))
  })

  it('starts the slack before the loss at the latest (a clock ahead of this one stamps later)', () => {
    expect(healFrom(117_000, stamp(116_900), window)).toBe(stamp(106_900))
    expect(healFrom(117_000, stamp(119_000), window)).toBe(stamp(107_000))
  })

  it('never starts more than the lookback before the loss', () => {
    expect(healFrom(600_000, stamp(100_000), window)).toBe(stamp(540_000))
    expect(healFrom(600_000, undefined, window)).toBe(stamp(540_000))
  })

  it('clamps at zero', () => {
    expect(healFrom(5000, stamp(3000), window)).toBe(0n)
    expect(healFrom(5000, undefined, window)).toBe(0n)
  })

  it('covers every event after the mark that is newer than the lookback bound', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 1e12 }), fc.option(fc.integer({ min: 0, max: 1e12 }), { nil: undefined }), fc.integer({ min: 0, max: 1e12 }),
      (lostAt, markMs, eventMs) => {
        const mark = markMs == null ? undefined : stamp(markMs)
        const from = healFrom(lostAt, mark, window)
        const event = stamp(eventMs)
        // an event the node published after its last one received here, or from the slack before the loss on,
        // within the lookback: inside the window
        const missed = (mark == null || event > mark || eventMs >= lostAt - window.slackMs) && eventMs >= lostAt - window.lookbackMs
        if (missed) expect(event >= from, `event ${eventMs} lost at ${lostAt} mark ${String(markMs)}`).toBe(true)
        expect(from <= stamp(Math.max(0, lostAt - window.slackMs))).toBe(true)
      }
    ))
  })
})
