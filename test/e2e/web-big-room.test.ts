/**
 * The web app in a room bigger than its roster pane: the pane draws the first ROSTER_ROWS members
 * (the user, then by name) and counts the rest, and keeps doing so through joins and leaves.
 */
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/mesh.js'
import { addCrowd, crowdDevice } from '../helpers/rooms.js'
import { ROSTER_ROWS, TIMELINE_KEEP, TIMELINE_SLACK } from '../../client/web/model.js'
import { browserSuite, joinRoom, message, openApp, rosterMember, texts, userIdOf } from './browser.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

describe('web app: a room of more members than the roster pane draws', () => {
  const suite = browserSuite(1)

  it('draws the user and the first members by name, counts the rest, and follows joins and leaves', async () => {
    const node = suite.mesh.nodes[0] as MeshchatNode
    const crowd = ROSTER_ROWS + 100
    const device = (i: number): string => crowdDevice(node, i)
    const put = (i: number, name: string): string => addCrowd(node, 'arena', 1, { from: i, name: () => name })[0]?.userId ?? ''
    // names that sort as their numbers do: fan 0000 … fan 0299
    const ids = addCrowd(node, 'arena', crowd, { name: i => `fan ${String(i).padStart(4, '0')}` }).map(m => m.userId)
    await waitFor(() => node.presence.roster('arena').length === crowd, { what: 'the crowd in the roster' })

    const zoe = await openApp(suite.browser, node.http?.url ?? '', 'zoe')
    suite.apps.push(zoe)
    const zoeId = await userIdOf(zoe)
    await joinRoom(zoe, 'arena')
    const count = zoe.page.getByTestId('roster-count')
    await count.filter({ hasText: String(crowd + 1) }).waitFor()
    expect(await zoe.page.getByTestId('members-count').textContent()).toBe(String(crowd + 1))
    expect(await zoe.page.getByTestId('conv-sub').textContent()).toBe(`${(crowd + 1).toLocaleString('en-US')} members online`)
    const rows = zoe.page.getByTestId('roster-member')
    expect(await rows.count()).toBe(ROSTER_ROWS)
    const more = zoe.page.getByTestId('roster-more')
    expect(await more.textContent()).toBe(`and ${crowd + 1 - ROSTER_ROWS} more`)
    // the user first, then fan 0000 onwards
    const names = async (): Promise<string[]> => rows.getByTestId('member-name').allTextContents()
    const first = await names()
    expect(first[0]).toBe('zoe')
    expect(first.slice(1, 4)).toEqual(['fan 0000', 'fan 0001', 'fan 0002'])
    expect(first.at(-1)).toBe(`fan ${String(ROSTER_ROWS - 2).padStart(4, '0')}`)

    // one who sorts first joins: drawn right after the user; the last drawn moves out of the pane
    const early = put(crowd, 'aaron')
    await rosterMember(zoe, early).waitFor()
    await count.filter({ hasText: String(crowd + 2) }).waitFor()
    expect((await names()).slice(0, 3)).toEqual(['zoe', 'aaron', 'fan 0000'])
    expect(await rows.count()).toBe(ROSTER_ROWS)
    expect(await more.textContent()).toBe(`and ${crowd + 2 - ROSTER_ROWS} more`)
    // one drawn leaves: the next by name takes the last row
    node.presence.del(device(0))
    await rosterMember(zoe, ids[0] as string).waitFor({ state: 'detached' })
    await count.filter({ hasText: String(crowd + 1) }).waitFor()
    expect((await names()).at(-1)).toBe(`fan ${String(ROSTER_ROWS - 2).padStart(4, '0')}`)
    // one past the pane leaves: only the count moves
    node.presence.del(device(crowd - 1))
    await count.filter({ hasText: String(crowd) }).waitFor()
    expect(await rows.count()).toBe(ROSTER_ROWS)
    expect(await more.textContent()).toBe(`and ${crowd - ROSTER_ROWS} more`)
    expect(await rosterMember(zoe, zoeId).count()).toBe(1)

    // finding a member past the pane by name: the matches, however far down they sort
    const filter = zoe.page.getByTestId('roster-filter')
    expect(await filter.isVisible()).toBe(true)
    await filter.fill('FAN 028')
    await zoe.page.waitForFunction(() => document.querySelectorAll('[data-testid="roster-member"]').length === 10)
    expect(await names()).toEqual(Array.from({ length: 10 }, (_, i) => `fan 028${i}`))
    expect(await more.count()).toBe(0)
    await filter.fill('fan 0')
    await more.filter({ hasText: `and ${crowd - 2 - ROSTER_ROWS} more by that name` }).waitFor()
    await filter.fill('nobody like this')
    await more.filter({ hasText: 'nobody by that name here' }).waitFor()
    expect(await rows.count()).toBe(0)
    await filter.fill('')
    await zoe.page.waitForFunction(n => document.querySelectorAll('[data-testid="roster-member"]').length === n, ROSTER_ROWS)
    expect((await names())[0]).toBe('zoe')
    expect(zoe.errors).toEqual([])
  }, 120_000)
})

describe('web app: a busy room', () => {
  // one sender fast enough to fill a page's timeline within the test
  const suite = browserSuite(1, undefined, { ratePerSec: 5000, burst: 5000 })

  it('keeps the newest TIMELINE_KEEP messages while at the bottom, the older ones a page away, and none go while scrolled up', async () => {
    const node = suite.mesh.nodes[0] as MeshchatNode
    const reader = await openApp(suite.browser, node.http?.url ?? '', 'reader')
    suite.apps.push(reader)
    await joinRoom(reader, 'busy')
    // the node has answered the join (an empty room's backlog: the beginning of the conversation), so
    // every message from here on reaches the page live; before that answer, the first ones would come
    // as the join's backlog page, the latest 50 only
    await reader.page.getByTestId('history-start').waitFor()
    const talker = await suite.mesh.client(node, 'talker')
    await talker.join('busy')
    const label = (i: number): string => `m${String(i).padStart(4, '0')}`
    const total = TIMELINE_KEEP + TIMELINE_SLACK + 50
    for (let i = 0; i < total; i++) await talker.send('busy', label(i))
    await message(reader, label(total - 1)).waitFor()
    const shown = async (): Promise<string[]> => texts(reader)
    // trimmed to the bound at the message that crossed it, and grown by the 50 after it
    let now = await shown()
    expect(now.length).toBeGreaterThanOrEqual(TIMELINE_KEEP)
    expect(now.length).toBeLessThanOrEqual(TIMELINE_KEEP + TIMELINE_SLACK)
    expect(now.at(-1)).toBe(label(total - 1))
    expect(now[0]).not.toBe(label(0))
    const firstKept = Number(now[0]?.slice(1))
    expect(now).toEqual(Array.from({ length: total - firstKept }, (_, i) => label(firstKept + i)))
    await reader.page.getByTestId('load-older').waitFor()

    // scrolled to the top: an older page comes back from the node, above what was there
    await reader.page.getByTestId('message-list').evaluate(el => { el.scrollTo(0, 0) })
    await message(reader, label(firstKept - 1)).waitFor()
    now = await shown()
    expect(now[0]).toBe(label(firstKept - 50))
    // scrolled up, reading: what arrives now does not push out what is being read
    for (let i = total; i < total + TIMELINE_SLACK + 10; i++) await talker.send('busy', label(i))
    await message(reader, label(total + TIMELINE_SLACK + 9)).waitFor()
    expect((await shown())[0]).toBe(label(firstKept - 50))
    expect(reader.errors).toEqual([])
  }, 180_000)
})
