/**
 * The browser end-to-end suites: a mesh serving the app and headless Chromium,
 * set up and torn down around each describe block. The page driving itself is
 * in app-driver.ts.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { startMesh } from '../helpers/mesh.js'
import { WEB_ROOT, diagnostics, launchChromium, openApp, userIdOf } from './app-driver.js'
import type { Browser } from 'playwright-core'
import type { AppPage } from './app-driver.js'
import type { TestMesh } from '../helpers/mesh.js'
import type { MeshchatNode, NodeOptions } from '../../node/src/daemon.js'

export * from './app-driver.js'

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
export function browserSuite (nodes: number, setup?: (s: BrowserSuite) => Promise<void>, options: NodeOptions = {}): BrowserSuite {
  const suite = { apps: [] as AppPage[] } as unknown as BrowserSuite
  let setupError: unknown
  beforeAll(async () => {
    try {
      // the browser first: without it every test fails at once with a message saying so
      suite.browser = await launchChromium()
      suite.mesh = await startMesh(nodes, { ...options, http: '127.0.0.1:0', webRoot: WEB_ROOT })
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
