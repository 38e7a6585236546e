/**
 * The web app at phone and desktop widths, in real headless Chromium attached
 * to two nodes: drawers for rooms and members on a phone, a DM started from
 * the member drawer, @mentions and the unread badge in the page title, links
 * that are live only for http and https, grouping and date lines; and the
 * README's screenshots at both widths.
 */
import { describe, expect, it } from 'vitest'
import {
  DESKTOP, PHONE, SCREENSHOT, SCREENSHOT_PHONE, fitsWidth, joinRoom, message, pairSuite, rosterMember, send, shotsSideBySide, texts
} from './browser.js'
import type { AppPage } from './browser.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

/** open the (listed) DM conversation with `userId`, send `text` there, and go back to #lobby */
async function sendDm (from: AppPage, userId: string, text: string): Promise<void> {
  const p = from.page
  if (await p.getByTestId('open-rooms').isVisible()) await p.getByTestId('open-rooms').click()
  await p.locator(`[data-testid="dm-item"][data-user-id="${userId}"] .nav-open`).click()
  await send(from, text)
  if (await p.getByTestId('open-rooms').isVisible()) await p.getByTestId('open-rooms').click()
  await p.locator('[data-testid="room-item"][data-room="lobby"] .nav-open').click()
}

describe('web app on a phone and a desktop', () => {
  let n0: MeshchatNode
  let n1: MeshchatNode
  let alice: AppPage
  let bob: AppPage
  let aliceId = ''
  let bobId = ''
  const suite = pairSuite({ alice: PHONE, bob: DESKTOP }, p => { ({ n0, n1, alice, bob, aliceId, bobId } = p) })

  it('on a phone, rooms and members are drawers; a DM starts from the member drawer', async () => {
    const p = alice.page
    await p.getByTestId('conv-title').filter({ hasText: '#lobby' }).waitFor()
    // both panes are off screen; their buttons are there instead, and nothing is wider than the phone
    expect(await p.getByTestId('roster-pane').isVisible()).toBe(false)
    expect(await p.getByTestId('sidebar').isVisible()).toBe(false)
    expect(await p.getByTestId('open-members').isVisible()).toBe(true)
    expect(await p.getByTestId('open-rooms').isVisible()).toBe(true)
    for (const width of [PHONE.width, 360]) {
      await p.setViewportSize({ width, height: PHONE.height })
      const fit = await fitsWidth(alice)
      expect(fit.page, `page width at ${width} px`).toBeLessThanOrEqual(width)
      expect(fit.topbar, `top bar content at ${width} px`).toBeLessThanOrEqual(width)
    }
    await p.setViewportSize(PHONE)
    // the desktop keeps the three columns
    expect(await bob.page.getByTestId('roster-pane').isVisible()).toBe(true)
    expect(await bob.page.getByTestId('open-members').isVisible()).toBe(false)

    // bob is in the member drawer (with a count on its button); a tap on him opens a DM and closes the drawer
    await rosterMember(alice, bobId).waitFor({ state: 'attached' })
    await p.getByTestId('members-count').filter({ hasText: '2' }).waitFor()
    await p.getByTestId('open-members').click()
    await p.getByTestId('roster-pane').waitFor({ state: 'visible' })
    expect(await p.getByTestId('open-members').getAttribute('aria-expanded')).toBe('true')
    await rosterMember(alice, bobId).locator('button').click()
    await p.getByTestId('conv-title').filter({ hasText: /^bob$/ }).waitFor()
    await p.getByTestId('roster-pane').waitFor({ state: 'hidden' })
    await send(alice, 'hi bob, from my phone')
    await message(alice, 'hi bob, from my phone').and(p.locator('[data-dm-state]')).waitFor()

    const dmItem = bob.page.locator(`[data-testid="dm-item"][data-user-id="${aliceId}"]`)
    await dmItem.getByTestId('unread').filter({ hasText: '1' }).waitFor()
    await dmItem.locator('.nav-open').click()
    await message(bob, 'hi bob, from my phone').waitFor()
    await send(bob, 'hello alice on the small screen')
    await message(alice, 'hello alice on the small screen').waitFor()

    // the rooms drawer: the scrim closes it, a room in it opens the room
    await p.getByTestId('open-rooms').click()
    await p.getByTestId('sidebar').waitFor({ state: 'visible' })
    await p.getByTestId('scrim').click({ position: { x: PHONE.width - 20, y: 400 } })
    await p.getByTestId('sidebar').waitFor({ state: 'hidden' })
    await p.getByTestId('open-rooms').click()
    await p.locator('[data-testid="room-item"][data-room="lobby"] .nav-open').click()
    await p.getByTestId('conv-title').filter({ hasText: '#lobby' }).waitFor()
    await p.getByTestId('sidebar').waitFor({ state: 'hidden' })
    expect(alice.errors.concat(bob.errors)).toEqual([])
  })

  it('mentions of members are highlighted and counted in the title; only http(s) links are live', async () => {
    const p = alice.page
    // alice reads her DM with bob while bob writes in #lobby
    await p.getByTestId('open-rooms').click()
    await p.locator(`[data-testid="dm-item"][data-user-id="${bobId}"] .nav-open`).click()
    await p.getByTestId('conv-title').filter({ hasText: /^bob$/ }).waitFor()
    await bob.page.locator('[data-testid="room-item"][data-room="lobby"] .nav-open').click()
    await bob.page.getByTestId('conv-title').filter({ hasText: '#lobby' }).waitFor()
    const text = '@alice see https://example.com/a?b=1, not javascript:alert(1) nor javascript://example.com/%0aalert(2) ' +
      'nor data:text/html,<script>alert(3)</script> nor <a href="javascript:alert(4)">x</a>; and @nobody is not here'
    await send(bob, text)

    // the title and the drawer button count it; the room's badge says it is a mention
    await p.waitForFunction(() => document.title.startsWith('(1) '))
    await p.getByTestId('total-unread').filter({ hasText: '1' }).waitFor()
    const badge = p.locator('[data-testid="room-item"][data-room="lobby"] [data-testid="unread"]')
    await badge.waitFor({ state: 'attached' })
    expect(await badge.getAttribute('class')).toContain('mention')

    await p.getByTestId('open-rooms').click()
    await p.locator('[data-testid="room-item"][data-room="lobby"] .nav-open').click()
    const row = message(alice, text)
    await row.waitFor()
    await p.waitForFunction(() => !document.title.startsWith('('))
    expect(await row.getAttribute('class')).toContain('mention-me')
    // @alice is a mention of her; @nobody (no such member) is plain text
    const mentions = row.getByTestId('mention')
    expect(await mentions.count()).toBe(1)
    expect(await mentions.first().textContent()).toBe('@alice')
    expect(await mentions.first().getAttribute('data-user-id')).toBe(aliceId)
    // exactly one live link: the https one, without the comma after it, opening safely in a new tab
    const links = row.locator('a')
    expect(await links.count()).toBe(1)
    expect(await links.first().getAttribute('href')).toBe('https://example.com/a?b=1')
    expect(await links.first().getAttribute('rel')).toBe('noopener noreferrer')
    expect(await links.first().getAttribute('target')).toBe('_blank')
    // the rest is text, as written
    expect(await row.getByTestId('message-text').textContent()).toBe(text)
    expect(await p.locator('[data-testid="messages"] :is(script, a[href^="javascript"], a[href^="data"])').count()).toBe(0)

    // a mention the other way: bob's page highlights it for him
    await send(alice, 'thanks @bob!')
    const back = message(bob, 'thanks @bob!')
    await back.getByTestId('mention').filter({ hasText: '@bob' }).waitFor()
    expect(await back.getAttribute('class')).toContain('mention-me')
    expect(alice.dialogs.concat(bob.dialogs)).toEqual([])
    expect(alice.errors.concat(bob.errors)).toEqual([])
  })

  it('desktop notifications, once turned on, tell of mentions and DMs while the tab is hidden', async () => {
    const b = bob.page
    await b.locator('[data-testid="room-item"][data-room="lobby"] .nav-open').click()
    await b.getByTestId('conv-title').filter({ hasText: '#lobby' }).waitFor()
    await bob.context.grantPermissions(['notifications'], { origin: n1.http?.url ?? '' })
    // what the page hands to the browser's Notification is recorded on the way through
    await b.evaluate(() => {
      const Real = window.Notification
      const shown: Array<{ title: string, body: string }> = []
      Object.assign(window, { shownNotifications: shown })
      class Recording extends Real {
        static override get permission (): NotificationPermission { return Real.permission }
        static override async requestPermission (): Promise<NotificationPermission> { return Real.requestPermission() }
        constructor (title: string, opts?: NotificationOptions) {
          shown.push({ title, body: opts?.body ?? '' })
          super(title, opts)
        }
      }
      window.Notification = Recording
    })
    const shown = async (): Promise<Array<{ title: string, body: string }>> => b.evaluate(() => (window as unknown as { shownNotifications: Array<{ title: string, body: string }> }).shownNotifications)
    const setHidden = async (hidden: boolean): Promise<void> => {
      // headless Chromium keeps every tab visible; the page is told the way a browser tells it
      await b.evaluate(h => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => h })
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => h ? 'hidden' : 'visible' })
        document.dispatchEvent(new Event('visibilitychange'))
      }, hidden)
    }
    // off by default: a hidden tab gets a title badge but no notification until the user turns them on
    await setHidden(true)
    await send(alice, 'before they were on, @bob')
    await b.waitForFunction(() => document.title.startsWith('(1) '))
    expect(await shown()).toEqual([])
    await setHidden(false)
    await b.waitForFunction(() => !document.title.startsWith('('))

    await b.getByTestId('notify-toggle').click()
    await b.getByTestId('notify-toggle').filter({ hasText: 'on' }).waitFor()
    expect(await b.getByTestId('notify-toggle').getAttribute('aria-pressed')).toBe('true')
    // visible: nothing to notify
    await send(alice, 'you are looking, @bob')
    await message(bob, 'you are looking, @bob').waitFor()
    expect(await shown()).toEqual([])
    // hidden: a mention in the open room and a DM both notify; a plain message does not
    await setHidden(true)
    await send(alice, 'no mention in this one')
    await send(alice, 'over here @bob')
    await sendDm(alice, bobId, 'a direct word')
    await b.waitForFunction(() => (window as unknown as { shownNotifications: unknown[] }).shownNotifications.length >= 2)
    expect((await shown()).sort((x, y) => x.title.localeCompare(y.title))).toEqual([
      { title: 'alice (direct message)', body: 'a direct word' },
      { title: 'alice mentioned you in #lobby', body: 'over here @bob' }
    ])
    await b.waitForFunction(() => document.title.startsWith('(3) '))
    await setHidden(false)
    // back on the tab: the open room's messages are seen, the DM still counts
    await b.waitForFunction(() => document.title.startsWith('(1) '))
    expect(alice.errors.concat(bob.errors)).toEqual([])
  })

  it('groups messages by author and minute under a date line; screenshots at both widths', async () => {
    for (const t of ['grouped one', 'grouped two', 'grouped three']) await send(bob, t)
    await message(alice, 'grouped three').waitFor()
    await send(alice, 'and one from alice: see https://en.wikipedia.org/wiki/Mesh_networking')
    await message(bob, 'and one from alice: see https://en.wikipedia.org/wiki/Mesh_networking').waitFor()
    for (const app of [alice, bob]) {
      // a row continues its group exactly when the one above is the same author in the same minute
      const rows = await app.page.locator('[data-testid="messages"] > li').evaluateAll(els => els.map(el => ({
        day: el.getAttribute('data-testid') === 'day-separator' ? el.textContent : null,
        from: el.getAttribute('data-from'),
        ts: Number(el.getAttribute('data-ts')),
        cont: el.classList.contains('cont')
      })))
      expect(rows[0]?.day, `${app.name}: a date line first`).toBe('Today')
      const msgs = rows.filter(r => r.day == null)
      let grouped = 0
      for (const [i, r] of msgs.entries()) {
        const prev = msgs[i - 1]
        const want = prev != null && prev.from === r.from && Math.floor(prev.ts / 60_000) === Math.floor(r.ts / 60_000)
        expect(r.cont, `${app.name}: row ${i} grouping`).toBe(want)
        if (r.cont) grouped++
      }
      expect(grouped, `${app.name}: rows grouped`).toBeGreaterThan(0)
      expect(await texts(app)).toContain('grouped three')
    }

    // the pictures, in a room of their own: the desktop as bob sees it, the phone in the room and with its member drawer open
    await alice.page.getByTestId('open-rooms').click()
    await alice.page.getByTestId('join-input').fill('weekend')
    await alice.page.getByTestId('join-submit').click()
    await alice.page.getByTestId('conv-title').filter({ hasText: '#weekend' }).waitFor()
    await joinRoom(bob, 'weekend')
    await rosterMember(alice, bobId).waitFor({ state: 'attached' })
    await send(alice, '@bob are we still on for the hike on Saturday?')
    await send(bob, 'Yes! The forecast looks good: https://example.com/forecast/saturday')
    await send(bob, 'I will bring the map')
    await send(bob, 'and snacks')
    await send(alice, 'Great. 9:00 at the station, then!')
    await message(bob, 'Great. 9:00 at the station, then!').waitFor()
    // each has read the other's last message
    await message(alice, 'Great. 9:00 at the station, then!').getByTestId('seen-by').filter({ hasText: 'Seen by bob' }).waitFor()
    await message(bob, 'and snacks').getByTestId('seen-by').filter({ hasText: 'Seen by alice' }).waitFor()
    await bob.page.getByTestId('composer-input').pressSequentially('see you')
    await bob.page.getByTestId('composer-input').fill('')
    await bob.page.screenshot({ path: SCREENSHOT })
    const convShot = await alice.page.screenshot()
    await alice.page.getByTestId('open-members').click()
    await alice.page.getByTestId('roster-pane').waitFor({ state: 'visible' })
    // the drawer slides in: wait until it has arrived before the picture
    await alice.page.waitForFunction(() => {
      const r = document.querySelector('[data-testid="roster-pane"]')?.getBoundingClientRect()
      return r != null && Math.abs(r.right - window.innerWidth) < 1
    })
    const drawerShot = await alice.page.screenshot()
    await shotsSideBySide(suite.browser, [{ png: convShot, size: PHONE }, { png: drawerShot, size: PHONE }], SCREENSHOT_PHONE)
    await alice.page.getByTestId('scrim').click({ position: { x: 20, y: 400 } })
    await alice.page.getByTestId('roster-pane').waitFor({ state: 'hidden' })
    expect(alice.errors.concat(bob.errors)).toEqual([])
  })
})
