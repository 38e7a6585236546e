/**
 * Driving the web app in a real browser: Debian's Chromium through
 * playwright-core (no browser downloads). Every wait is a condition
 * (locator waits, waitForFunction), never a fixed sleep. Free of vitest, so
 * benchmark scripts drive the app with it too; the test suites' hooks are in
 * browser.ts.
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'

/** the repository: two levels up from test/e2e under vitest, three from dist/test/e2e when compiled */
const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..', basename(resolve(here, '..', '..')) === 'dist' ? '..' : '.')

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
