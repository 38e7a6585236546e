import { describe, expect, it } from 'vitest'
import { Conversations, TIMELINE_KEEP, TIMELINE_SLACK } from '../../client/web/model.js'
import { Timeline } from '../../client/web/timeline.js'
import type { Entry } from '../../client/web/timeline.js'

const entry = (i: number, pending = false): Entry => ({
  key: pending ? `pending:${i}` : `id${String(i).padStart(6, '0')}`,
  cursor: pending ? '' : String(i).padStart(8, '0'),
  from: 'u',
  name: 'u',
  text: `t${i}`,
  ts: 0,
  pending
})

describe('web app timeline bound', () => {
  it('drops the oldest acknowledged messages, never one still being sent', () => {
    const t = new Timeline()
    for (let i = 0; i < 5; i++) t.insert(entry(i))
    t.insert(entry(0, true))
    expect(t.dropOldest(2).map(e => e.key)).toEqual(['id000000', 'id000001'])
    expect(t.has('id000000')).toBe(false)
    expect(t.oldest()?.key).toBe('id000002')
    // past the acknowledged ones: the pending one stays
    expect(t.dropOldest(10).map(e => e.key)).toEqual(['id000002', 'id000003', 'id000004'])
    expect(t.entries.map(e => e.key)).toEqual(['pending:0'])
  })

  it('a conversation past its bound and slack goes back to TIMELINE_KEEP, and has history before it from then on', () => {
    const model = new Conversations(() => 'me')
    const conv = model.ensureRoom('busy')
    conv.more = false
    for (let i = 0; i < TIMELINE_KEEP + TIMELINE_SLACK; i++) conv.timeline.insert(entry(i))
    expect(model.trim(conv)).toEqual([])
    expect(conv.more).toBe(false)
    conv.timeline.insert(entry(TIMELINE_KEEP + TIMELINE_SLACK))
    const gone = model.trim(conv)
    expect(gone).toHaveLength(TIMELINE_SLACK + 1)
    expect(gone[0]).toBe('id000000')
    expect(conv.timeline.entries).toHaveLength(TIMELINE_KEEP)
    expect(conv.timeline.oldest()?.key).toBe(entry(TIMELINE_SLACK + 1).key)
    expect(conv.more).toBe(true)
  })
})
