/**
 * The web app with the mesh's DM history and read receipts: real headless
 * Chromium pages on two nodes; a DM conversation that is still there after a
 * reload, "Seen by" in a room and "Read" in a DM, and the choice to send no
 * receipts.
 */
import { describe, expect, it } from 'vitest'
import { DESKTOP, PHONE, message, openRoom, pairSuite, reopenApp, rosterMember, send, texts, userIdOf, waitConnected } from './browser.js'
import type { AppPage } from './browser.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

describe('web app: DM history and read receipts', () => {
  let n0: MeshchatNode
  let n1: MeshchatNode
  let alice: AppPage
  let bob: AppPage
  let aliceId = ''
  let bobId = ''
  const suite = pairSuite({ alice: DESKTOP, bob: DESKTOP }, p => { ({ n0, n1, alice, bob, aliceId, bobId } = p) })

  const openDmWith = async (app: AppPage, userId: string): Promise<void> => {
    await app.page.locator(`[data-testid="dm-item"][data-user-id="${userId}"] .nav-open`).click()
    await app.page.locator(`[data-testid="dm-item"][data-user-id="${userId}"].active`).waitFor()
  }

  it('a DM conversation is still there, in order, after both pages reload', async () => {
    await rosterMember(alice, bobId).locator('button').click()
    await alice.page.getByTestId('conv-title').filter({ hasText: /^bob$/ }).waitFor()
    await send(alice, 'first, before any reload')
    await send(alice, 'second, before any reload')
    await openDmWith(bob, aliceId)
    await message(bob, 'second, before any reload').waitFor()
    await send(bob, 'a reply from bob')
    await message(alice, 'a reply from bob').waitFor()
    const want = ['first, before any reload', 'second, before any reload', 'a reply from bob']

    for (const [app, url, peer] of [[alice, n0.http?.url ?? '', bobId], [bob, n1.http?.url ?? '', aliceId]] as const) {
      const old = app.page
      await reopenApp(app, url)
      await old.close()
      // the conversation is listed again, and its messages come back from the mesh
      await openDmWith(app, peer)
      await message(app, 'a reply from bob').waitFor()
      expect(await texts(app), `${app.name} after a reload`).toEqual(want)
      await app.page.getByTestId('history-start').waitFor()
    }

    // a second device of alice's: another browser profile holding her identity key and nothing else,
    // a phone, attached to the other node; she taps bob in the member drawer and the conversation is there
    const state = await alice.context.storageState({ indexedDB: true })
    // the snapshot's IndexedDB part is opaque in Playwright's types: carried over as it is
    type Origin = (typeof state.origins)[number] & { indexedDB?: unknown[] }
    const from: Origin | undefined = state.origins.find(o => o.origin === new URL(n0.http?.url ?? '').origin)
    expect(from?.indexedDB?.length, 'the identity key is in IndexedDB').toBeGreaterThan(0)
    const origin: Origin = { origin: new URL(n1.http?.url ?? '').origin, localStorage: from?.localStorage.filter(e => e.name === 'meshchat.name') ?? [], indexedDB: from?.indexedDB ?? [] }
    const context = await suite.browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, storageState: { cookies: [], origins: [origin] } })
    const phone: AppPage = { name: 'alice-phone', context, page: await context.newPage(), errors: [], dialogs: [], console: [] }
    suite.apps.push(phone)
    phone.page.on('pageerror', err => { phone.errors.push(err.message) })
    await phone.page.goto(n1.http?.url ?? '')
    await waitConnected(phone)
    expect(await userIdOf(phone)).toBe(aliceId)
    expect(await phone.page.locator('[data-testid="dm-item"]').count(), 'nothing listed on a new device').toBe(0)
    await rosterMember(phone, bobId).waitFor({ state: 'attached' })
    await phone.page.getByTestId('open-members').click()
    await rosterMember(phone, bobId).locator('button').click()
    await phone.page.getByTestId('conv-title').filter({ hasText: /^bob$/ }).waitFor()
    await message(phone, 'a reply from bob').waitFor()
    expect(await texts(phone), 'the conversation on the second device').toEqual(want)
    await context.close()
    expect(alice.errors.concat(bob.errors, phone.errors)).toEqual([])
  })

  it('"Seen by" in a room and "Read" in a DM, across two nodes; none from someone who turned them off', async () => {
    await openRoom(alice, 'lobby')
    await openRoom(bob, 'lobby')
    await send(alice, 'is anyone reading this?')
    // bob has the room open: alice sees that he has read it
    const seen = message(alice, 'is anyone reading this?').getByTestId('seen-by')
    await seen.filter({ hasText: 'Seen by bob' }).waitFor()

    // in the DM, alice's message is marked read once bob has it on screen
    await openDmWith(alice, bobId)
    await openDmWith(bob, aliceId)
    await send(alice, 'did you read this one?')
    await message(bob, 'did you read this one?').waitFor()
    await message(alice, 'did you read this one?').getByTestId('seen-by').filter({ hasText: 'Read' }).waitFor()
    expect(await alice.page.getByTestId('seen-by').count(), 'one "Read", on the newest message read').toBe(1)

    // bob turns receipts off: what he reads from now on is not reported
    await openRoom(alice, 'lobby')
    await openRoom(bob, 'lobby')
    await bob.page.getByTestId('receipts-toggle').click()
    await bob.page.getByTestId('receipts-toggle').filter({ hasText: 'off' }).waitFor()
    await send(alice, 'read without a receipt')
    await message(bob, 'read without a receipt').waitFor()
    // a message bob sends after reading travels the same room topic from the same node: once it has
    // reached alice, so would have a receipt sent before it
    await send(bob, 'written after reading')
    await message(alice, 'written after reading').waitFor()
    expect(await message(alice, 'read without a receipt').getByTestId('seen-by').count()).toBe(0)
    await seen.filter({ hasText: 'Seen by bob' }).waitFor()
    expect(alice.errors.concat(bob.errors)).toEqual([])
  })
})
