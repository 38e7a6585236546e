/**
 * The web app end to end: real headless Chromium pages, each attached to the
 * node that served it, on a mesh of real nodes started in this process.
 */
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/mesh.js'
import {
  browserSuite, joinRoom, message, openApp, openRoom, pairSuite, reopenApp, rosterMember, send, texts, userIdOf, waitConnected
} from './browser.js'
import type { AppPage } from './browser.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

/** how the app shows a node id: its last six characters */
const short = (id: string): string => id.slice(-6)

describe('web app: browsers attached to different nodes', () => {
  let n0: MeshchatNode
  let n1: MeshchatNode
  let alice: AppPage
  let bob: AppPage
  let aliceId = ''
  let bobId = ''
  // a page per node, each in its own browser profile (own identity key)
  const suite = pairSuite({}, p => { ({ n0, n1, alice, bob, aliceId, bobId } = p) })

  it('two pages on two nodes chat in a room and see each other in the roster', async () => {
    // each page attached to the node that served it, and says so
    expect(await waitConnected(alice)).toBe(n0.nodeId)
    expect(await waitConnected(bob)).toBe(n1.nodeId)
    await alice.page.getByTestId('node-id').filter({ hasText: short(n0.nodeId) }).waitFor()
    expect(aliceId).not.toBe(bobId)

    // a first visit starts in #lobby; each sees the other in the roster, with the node hosting them
    await alice.page.getByTestId('conv-title').filter({ hasText: '#lobby' }).waitFor()
    await rosterMember(alice, bobId).getByTestId('member-node').filter({ hasText: short(n1.nodeId) }).waitFor()
    await rosterMember(bob, aliceId).getByTestId('member-node').filter({ hasText: short(n0.nodeId) }).waitFor()
    expect(await rosterMember(alice, bobId).getByTestId('member-name').textContent()).toBe('bob')
    expect(await rosterMember(bob, aliceId).getAttribute('data-status')).toBe('online')

    // typing shows on the other page, and goes away when the message arrives
    await alice.page.getByTestId('composer-input').pressSequentially('hel')
    await bob.page.getByTestId('typing').filter({ hasText: 'alice is typing' }).waitFor()
    await send(alice, 'hello bob, this is alice on another node')
    await message(bob, 'hello bob, this is alice on another node').waitFor()
    await bob.page.getByTestId('typing').filter({ hasText: /^$/ }).waitFor()

    await send(bob, 'hi alice! bob here, on node B')
    await message(alice, 'hi alice! bob here, on node B').waitFor()
    await send(alice, 'messages cross the mesh: node to node over gossipsub')
    await message(bob, 'messages cross the mesh: node to node over gossipsub').waitFor()

    const want = ['hello bob, this is alice on another node', 'hi alice! bob here, on node B', 'messages cross the mesh: node to node over gossipsub']
    expect(await texts(alice)).toEqual(want)
    expect(await texts(bob)).toEqual(want)
    expect(await message(bob, want[0] ?? '').getByTestId('message-author').textContent()).toBe('alice')
    expect(await message(alice, want[1] ?? '').getByTestId('message-author').textContent()).toBe('bob')

    // a status change travels through presence to the other node's page
    await bob.page.getByTestId('status-select').selectOption('away')
    await alice.page.locator(`[data-testid="roster-member"][data-user-id="${bobId}"][data-status="away"]`).waitFor()
    await bob.page.getByTestId('status-select').selectOption('online')
    await alice.page.locator(`[data-testid="roster-member"][data-user-id="${bobId}"][data-status="online"]`).waitFor()

    expect(alice.errors.concat(bob.errors)).toEqual([])
  })

  it('a direct message between the two pages, with its delivery state', async () => {
    // click bob in the roster: a DM conversation with him opens
    await rosterMember(alice, bobId).locator('button').click()
    await alice.page.getByTestId('conv-title').filter({ hasText: /^bob$/ }).waitFor()
    await alice.page.getByTestId('conv-sub').filter({ hasText: 'online' }).waitFor()
    await send(alice, 'psst, bob: just between us')
    await message(alice, 'psst, bob: just between us').and(alice.page.locator('[data-dm-state="delivered"]')).waitFor()
    expect(await message(alice, 'psst, bob: just between us').getByTestId('dm-state').textContent()).toContain('delivered')

    // bob gets it as a new conversation with an unread badge, not in the room
    const dmItem = bob.page.locator(`[data-testid="dm-item"][data-user-id="${aliceId}"]`)
    await dmItem.getByTestId('unread').filter({ hasText: '1' }).waitFor()
    expect(await texts(bob)).not.toContain('psst, bob: just between us')
    await dmItem.locator('.nav-open').click()
    await bob.page.getByTestId('conv-title').filter({ hasText: /^alice$/ }).waitFor()
    await message(bob, 'psst, bob: just between us').waitFor()

    await send(bob, 'got it 🤫')
    await message(bob, 'got it 🤫').and(bob.page.locator('[data-dm-state="delivered"]')).waitFor()
    await message(alice, 'got it 🤫').waitFor()
    expect(await texts(alice)).toEqual(['psst, bob: just between us', 'got it 🤫'])
    expect(await texts(bob)).toEqual(['psst, bob: just between us', 'got it 🤫'])

    // both back in #lobby, DMs in the sidebar, bob typing
    await openRoom(alice, 'lobby')
    await openRoom(bob, 'lobby')
    await bob.page.getByTestId('composer-input').pressSequentially('sure, ')
    await alice.page.getByTestId('typing').filter({ hasText: 'bob is typing' }).waitFor()
    await bob.page.getByTestId('composer-input').fill('')
  })

  it('user text is rendered as text, never as markup, and typed errors are shown', async () => {
    await openRoom(alice, 'lobby')
    await openRoom(bob, 'lobby')
    const payload = '<img src=x onerror=alert(1)>'
    await send(alice, payload)
    for (const app of [alice, bob]) {
      const row = message(app, payload)
      await row.waitFor()
      const text = row.getByTestId('message-text')
      expect(await text.textContent(), `${app.name}: text content`).toBe(payload)
      expect(await text.innerHTML(), `${app.name}: escaped markup`).toBe('&lt;img src=x onerror=alert(1)&gt;')
      expect(await app.page.locator('img').count(), `${app.name}: no img element`).toBe(0)
    }
    // a round trip after the message: had a handler run, its dialog would have been seen by now
    await send(bob, 'nothing happened?')
    await message(alice, 'nothing happened?').waitFor()
    expect(alice.dialogs.concat(bob.dialogs)).toEqual([])
    expect(alice.errors.concat(bob.errors)).toEqual([])

    // a message above the size limit: refused with a typed error the page shows, and the text is kept
    const huge = 'x'.repeat(70 * 1024)
    await alice.page.getByTestId('composer-input').fill(huge)
    await alice.page.getByTestId('composer-input').press('Enter')
    const error = alice.page.locator('[data-testid="error"][data-code="EVENT_TOO_LARGE"]')
    await error.waitFor()
    expect(await error.getByTestId('error-text').textContent()).toContain('too long')
    expect((await alice.page.getByTestId('composer-input').inputValue()).length).toBe(huge.length)
    await alice.page.getByTestId('composer-input').fill('')

    // an invalid room name: refused before anything is sent
    await alice.page.getByTestId('join-input').fill('no spaces allowed')
    await alice.page.getByTestId('join-submit').click()
    await alice.page.locator('[data-testid="error"][data-code="INVALID_ROOM"]').waitFor()
  })

  it('history scrolls back page by page, in (hlc, id) order', async () => {
    // 76 messages from two Node clients, sent before the page joins
    const writers = [await suite.mesh.client(n0, 'writer-a'), await suite.mesh.client(n1, 'writer-b')]
    for (const w of writers) await w.join('archive')
    const sent: string[] = []
    for (let i = 0; i < 38; i++) {
      for (const [j, w] of writers.entries()) {
        const text = `archived ${String(i * 2 + j).padStart(3, '0')}`
        await w.send('archive', text)
        sent.push(text)
      }
    }
    await joinRoom(bob, 'archive')
    // the join replays the latest page; the rest is behind "load older"
    await message(bob, 'archived 075').waitFor()
    expect(await texts(bob)).toEqual(sent.slice(-50))
    // a DOM click: Playwright's click scrolls the button into view first, and reaching the top of the
    // list loads the older page by itself, which hides the button under the click
    await bob.page.getByTestId('load-older').dispatchEvent('click')
    await message(bob, 'archived 000').waitFor()
    expect(await texts(bob)).toEqual(sent)
    await bob.page.getByTestId('history-start').waitFor()
    expect(await bob.page.getByTestId('load-older').isHidden()).toBe(true)

    // leaving: the room goes from the list and from the node's roster
    await bob.page.locator('[data-testid="room-item"][data-room="archive"] [data-testid="leave-room"]').click()
    await bob.page.locator('[data-testid="room-item"][data-room="archive"]').waitFor({ state: 'detached' })
    await bob.page.getByTestId('conv-title').filter({ hasText: '#lobby' }).waitFor()
    const bobUser = await userIdOf(bob)
    await waitFor(() => !n1.presence.replica.roomRoster('archive').some(member => member.userId === bobUser), { what: 'bob to leave #archive' })
  })

  it('a DM to someone offline is queued and reaches them when they come back with the same key', async () => {
    const carol = await openApp(suite.browser, n1.http?.url ?? '', 'carol')
    suite.apps.push(carol)
    const carolId = await userIdOf(carol)
    await openRoom(alice, 'lobby')
    await rosterMember(alice, carolId).locator('button').click()
    await alice.page.getByTestId('conv-title').filter({ hasText: /^carol$/ }).waitFor()
    await alice.page.getByTestId('conv-sub').filter({ hasText: 'online' }).waitFor()

    await carol.page.close()
    await alice.page.getByTestId('conv-sub').filter({ hasText: 'offline' }).waitFor()
    await send(alice, 'see you later, carol')
    await message(alice, 'see you later, carol').and(alice.page.locator('[data-dm-state="queued"]')).waitFor()

    // same origin, same browser profile: the name and the identity key come back, no name prompt
    await reopenApp(carol, n1.http?.url ?? '')
    expect(await carol.page.getByTestId('name-gate').isHidden()).toBe(true)
    expect(await userIdOf(carol)).toBe(carolId)
    const dmItem = carol.page.locator(`[data-testid="dm-item"][data-user-id="${aliceId}"]`)
    await dmItem.getByTestId('unread').waitFor()
    await dmItem.locator('.nav-open').click()
    await message(carol, 'see you later, carol').waitFor()
    expect(await message(carol, 'see you later, carol').getByTestId('message-author').textContent()).toBe('alice')
  })
})

describe('web app: the node of a page goes away', () => {
  const suite = browserSuite(3)

  it('the page reconnects to another node and sees what was sent while it was away, in order, once', async () => {
    const [n0, n1] = suite.mesh.nodes as [MeshchatNode, MeshchatNode, MeshchatNode]
    const alice = await openApp(suite.browser, n0.http?.url ?? '', 'alice')
    suite.apps.push(alice)
    const bob = await openApp(suite.browser, n1.http?.url ?? '', 'bob')
    suite.apps.push(bob)
    expect(await waitConnected(bob)).toBe(n1.nodeId)
    const aliceId = await userIdOf(alice)
    const bobId = await userIdOf(bob)
    await joinRoom(alice, 'failover')
    await joinRoom(bob, 'failover')
    await rosterMember(alice, bobId).getByTestId('member-node').filter({ hasText: short(n1.nodeId) }).waitFor()
    await rosterMember(bob, aliceId).waitFor()
    await send(alice, 'before the failure')
    await message(bob, 'before the failure').waitFor()

    // Hold bob's reconnection until alice has written while he is away, so what
    // he gets afterwards is a resume from his cursor, not live traffic. The gate
    // only affects WebSockets opened from now on; the one to n1 is untouched.
    let gateOpen = false
    await bob.page.routeWebSocket(() => true, ws => {
      if (gateOpen) ws.connectToServer()
      else void ws.close({ code: 1011, reason: 'held by the test' })
    })

    const stopping = n1.stop()
    await bob.page.locator('[data-testid="conn-state"][data-state="reconnecting"]').waitFor()
    await bob.page.getByTestId('conn-banner').filter({ hasText: 'Reconnecting' }).waitFor()
    await stopping
    // bob's node said goodbye: his entry is gone from alice's roster
    await rosterMember(alice, bobId).waitFor({ state: 'detached' })

    await send(alice, 'while you were away (1)')
    await send(alice, 'while you were away (2)')
    expect(await bob.page.getByTestId('conn-state').getAttribute('data-state')).toBe('reconnecting')

    gateOpen = true
    const landed = await waitConnected(bob, n1.nodeId)
    expect([...suite.mesh.nodes].filter(n => n.running).map(n => n.nodeId)).toContain(landed)
    await bob.page.getByTestId('node-id').filter({ hasText: short(landed) }).waitFor()
    await message(bob, 'while you were away (2)').waitFor()

    await send(alice, 'after the failover')
    await message(bob, 'after the failover').waitFor()
    await send(bob, 'back again')
    await message(alice, 'back again').waitFor()
    // alice sees bob again, now on the node he landed on
    await rosterMember(alice, bobId).getByTestId('member-node').filter({ hasText: short(landed) }).waitFor()

    const want = ['before the failure', 'while you were away (1)', 'while you were away (2)', 'after the failover', 'back again']
    expect(await texts(bob)).toEqual(want)
    expect(await texts(alice)).toEqual(want)
    expect(alice.errors.concat(bob.errors)).toEqual([])
  })
})
