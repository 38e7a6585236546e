/**
 * Driving the web app in a real browser: Debian's Chromium through
 * playwright-core (no browser downloads). Every wait is a condition
 * (locator waits, waitForFunction), never a fixed sleep.
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { startMesh } from '../helpers/mesh.js'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode } from '../../node/src/daemon.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** the built web app every node serves (`npm run build` puts it there) */
export const WEB_ROOT = resolve(root, 'dist', 'client', 'web', 'app')

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** how long one UI condition may take; covers a failover with backoff on a busy 2-core machine */
export const UI_TIMEOUT_MS = 20_000

/**
 * Launch headless Chromium. A missing browser or bundle is a failure with a
 * clear message, never a skip: CI installs both.
 */
export async function launchChromium (): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: the browser end-to-end tests need it (apt-get install -y chromium, or set CHROMIUM_PATH)`)
  }
  if (!existsSync(resolve(WEB_ROOT, 'app.js')) || !existsSync(resolve(WEB_ROOT, 'index.html'))) {
    throw new Error(`the web app is not built in ${WEB_ROOT}: run npm run build first (npm test does)`)
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
  })
}

/** one browser page running the app, with what it reported */
export interface AppPage {
  name: string
  context: BrowserContext
  page: Page
  /** uncaught page errors */
  errors: string[]
  /** alert/confirm/prompt dialogs the page opened */
  dialogs: string[]
  /** console output, for diagnosing failures */
  console: string[]
}

export const VIEWPORT = { width: 1040, height: 600 }

function watch (name: string, context: BrowserContext, page: Page, into?: AppPage): AppPage {
  const app: AppPage = into ?? { name, context, page, errors: [], dialogs: [], console: [] }
  app.page = page
  page.setDefaultTimeout(UI_TIMEOUT_MS)
  page.on('pageerror', err => { app.errors.push(err.message) })
  page.on('console', msg => { app.console.push(`[${msg.type()}] ${msg.text()}`) })
  page.on('dialog', d => {
    app.dialogs.push(`${d.type()}: ${d.message()}`)
    void d.dismiss()
  })
  return app
}

/**
 * Open the app served by a node in a fresh browser context (its own
 * localStorage and IndexedDB, so its own identity), pick a display name and
 * wait until it is attached.
 */
export async function openApp (browser: Browser, url: string, name: string, viewport: { width: number, height: number } = VIEWPORT): Promise<AppPage> {
  const context = await browser.newContext({ viewport, ...(viewport.width < 760 ? { isMobile: true, hasTouch: true } : {}) })
  const page = await context.newPage()
  const app = watch(name, context, page)
  await page.goto(url)
  await page.getByTestId('name-input').fill(name)
  await page.getByTestId('name-submit').click()
  await waitConnected(app)
  return app
}

/** a new tab of the same browser context (same stored name and identity key), attached */
export async function reopenApp (app: AppPage, url: string): Promise<AppPage> {
  const page = await app.context.newPage()
  watch(app.name, app.context, page, app)
  await page.goto(url)
  await waitConnected(app)
  return app
}

export async function waitConnected (app: AppPage, nodeIdNot?: string): Promise<string> {
  const conn = app.page.locator('[data-testid="conn-state"][data-state="connected"]')
  await conn.waitFor()
  if (nodeIdNot != null) {
    await app.page.waitForFunction(
      id => { const n = document.querySelector<HTMLElement>('[data-testid="conn-state"]')?.dataset; return n?.state === 'connected' && n.node != null && n.node !== id },
      nodeIdNot, { timeout: UI_TIMEOUT_MS })
  }
  return await app.page.getByTestId('conn-state').getAttribute('data-node') ?? ''
}

/** the user id the page's identity key gives it */
export async function userIdOf (app: AppPage): Promise<string> {
  const me = app.page.locator('[data-testid="me-name"][data-user-id]')
  await me.waitFor()
  return await me.getAttribute('data-user-id') ?? ''
}

export async function joinRoom (app: AppPage, room: string): Promise<void> {
  await app.page.getByTestId('join-input').fill(room)
  await app.page.getByTestId('join-submit').click()
  await app.page.locator(`[data-testid="room-item"][data-room="${room}"].active`).waitFor()
  await app.page.getByTestId('conv-title').filter({ hasText: `#${room}` }).waitFor()
}

export async function openRoom (app: AppPage, room: string): Promise<void> {
  await app.page.locator(`[data-testid="room-item"][data-room="${room}"] .nav-open`).click()
  await app.page.getByTestId('conv-title').filter({ hasText: `#${room}` }).waitFor()
}

/** type and send; resolves once the node acknowledged it (no "sending…" row left) */
export async function send (app: AppPage, text: string): Promise<void> {
  await app.page.getByTestId('composer-input').fill(text)
  await app.page.getByTestId('composer-input').press('Enter')
  await message(app, text).waitFor()
  await app.page.locator('[data-testid="message"].pending').first().waitFor({ state: 'detached' })
}

/** the acknowledged message row with exactly this text in the open conversation */
export function message (app: AppPage, text: string): Locator {
  return app.page.locator('[data-testid="message"]:not(.pending)').filter({
    has: app.page.getByTestId('message-text').getByText(text, { exact: true })
  })
}

/** texts of the open conversation, in display order */
export async function texts (app: AppPage): Promise<string[]> {
  return app.page.locator('[data-testid="messages"] [data-testid="message-text"]').allTextContents()
}

export function rosterMember (app: AppPage, userId: string): Locator {
  return app.page.locator(`[data-testid="roster-member"][data-user-id="${userId}"]`)
}

/**
 * Save a picture of several pages side by side (one PNG): each page is
 * captured, then laid out in a scratch page of the same browser.
 */
export async function sideBySide (browser: Browser, pages: Page[], path: string): Promise<void> {
  await shotsSideBySide(browser, await Promise.all(pages.map(async p => ({ png: await p.screenshot(), size: p.viewportSize() ?? VIEWPORT }))), path)
}

/** screenshots already taken (of one page at different moments, or of several), side by side in one PNG */
export async function shotsSideBySide (browser: Browser, images: Array<{ png: Buffer, size: { width: number, height: number } }>, path: string): Promise<void> {
  const shots = images.map(i => i.png.toString('base64'))
  const gap = 12
  const width = images.reduce((w, i) => w + i.size.width, 0) + (images.length + 1) * gap
  const height = Math.max(...images.map(i => i.size.height)) + 2 * gap
  const scratch = await browser.newPage({ viewport: { width, height } })
  try {
    await scratch.setContent(
      `<body style="margin:0;background:#0d1017;display:flex;gap:${gap}px;padding:${gap}px">` +
      shots.map(s => `<img style="border-radius:6px;display:block;align-self:flex-start" src="data:image/png;base64,${s}">`).join('') +
      '</body>')
    await scratch.waitForFunction(() => [...document.images].every(i => i.complete && i.naturalWidth > 0))
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, await scratch.screenshot())
  } finally {
    await scratch.close()
  }
}

export const SCREENSHOT = resolve(root, 'docs', 'screenshot.png')
export const SCREENSHOT_PHONE = resolve(root, 'docs', 'screenshot-phone.png')

/** what the tests call a phone and a desktop */
export const PHONE = { width: 390, height: 844 }
export const DESKTOP = { width: 1280, height: 800 }

/** the page is no wider than its viewport, and neither is its top bar's content */
export async function fitsWidth (app: AppPage): Promise<{ page: number, topbar: number, viewport: number }> {
  return app.page.evaluate(() => {
    const bar = document.querySelector('.topbar') as HTMLElement
    return { page: document.documentElement.scrollWidth, topbar: bar.scrollWidth, viewport: window.innerWidth }
  })
}

/** what a page said, for a failing test's message */
export function diagnostics (apps: AppPage[]): string {
  return apps.map(a => `--- ${a.name}: errors ${JSON.stringify(a.errors)} dialogs ${JSON.stringify(a.dialogs)}\n${a.console.slice(-30).join('\n')}`).join('\n')
}

/** what a browser suite works with; filled in by its beforeAll */
export interface BrowserSuite {
  mesh: TestMesh
  browser: Browser
  /** pages opened so far (their errors and console are printed when a test fails) */
  apps: AppPage[]
}

/**
 * Hooks for a describe block: headless Chromium and a converged mesh of
 * `nodes` nodes, each serving the built app over HTTP, plus whatever `setup`
 * adds. Everything is torn down after the block, whatever happened. A failed
 * setup fails every test of the block with its error (a throwing beforeAll
 * would only mark them skipped in the JSON report CI reads).
 */
export function browserSuite (nodes: number, setup?: (s: BrowserSuite) => Promise<void>): BrowserSuite {
  const suite = { apps: [] as AppPage[] } as unknown as BrowserSuite
  let setupError: unknown
  beforeAll(async () => {
    try {
      // the browser first: without it every test fails at once with a message saying so
      suite.browser = await launchChromium()
      suite.mesh = await startMesh(nodes, { http: '127.0.0.1:0', webRoot: WEB_ROOT })
      await suite.mesh.converged(nodes)
      await setup?.(suite)
    } catch (err) {
      setupError = err
    }
  })
  afterAll(async () => {
    await suite.browser?.close()
    await suite.mesh?.stop()
  })
  beforeEach(({ onTestFailed }) => {
    if (setupError != null) throw setupError
    onTestFailed(() => { console.error(diagnostics(suite.apps)) })
  })
  return suite
}

/** two people on two nodes: alice's page served by the first node, bob's by the second */
export interface Pair {
  n0: MeshchatNode
  n1: MeshchatNode
  alice: AppPage
  bob: AppPage
  aliceId: string
  bobId: string
}

/**
 * browserSuite(2) with alice and bob attached, each in a browser profile of
 * their own (their own identity key), at the given sizes; `ready` gets them
 * once they are connected.
 */
export function pairSuite (sizes: { alice?: { width: number, height: number }, bob?: { width: number, height: number } }, ready: (p: Pair) => void): BrowserSuite {
  return browserSuite(2, async ({ mesh, browser, apps }) => {
    const n0 = mesh.nodes[0] as MeshchatNode
    const n1 = mesh.nodes[1] as MeshchatNode
    const alice = await openApp(browser, n0.http?.url ?? '', 'alice', sizes.alice)
    apps.push(alice)
    const bob = await openApp(browser, n1.http?.url ?? '', 'bob', sizes.bob)
    apps.push(bob)
    ready({ n0, n1, alice, bob, aliceId: await userIdOf(alice), bobId: await userIdOf(bob) })
  })
}
