import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * The client library as a package others import: `meshchat/client` (browser
 * and Node) and `meshchat/client/node`, with type declarations, resolved the way
 * an application's Node would resolve them (through package.json "exports").
 * Needs the build (npm test builds first).
 */
describe('the client package', () => {
  it('resolves through package.json exports, with types, in Node', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
      const lib = await import('meshchat/client')
      const node = await import('meshchat/client/node')
      const c = new lib.ChatClient({ name: 'x', addrs: ['ws://127.0.0.1:1/ws'] })
      console.log(JSON.stringify({ client: typeof lib.ChatClient, node: typeof node.createNodeClient, state: c.state, errors: typeof lib.RateLimitedError }))
    `], { cwd: ROOT }).toString()
    expect(JSON.parse(out)).toEqual({ client: 'function', node: 'function', state: 'idle', errors: 'function' })
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> }
    for (const entry of ['./client', './client/node']) {
      const types = pkg.exports[entry]?.types ?? ''
      expect(existsSync(join(ROOT, types)), `${entry} types at ${types}`).toBe(true)
    }
  })

  it('has a browser build without libp2p, small enough for a web page', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> }
    const file = join(ROOT, pkg.exports['./client']?.browser ?? '')
    const js = readFileSync(file, 'utf8')
    // no muxer, no noise handshake, no libp2p host: the light edge needs none of them
    expect(js).not.toMatch(/\/yamux\/1\.0\.0|Noise_XX_25519|\/ipfs\/id\/1\.0\.0/)
    const size = JSON.parse(readFileSync(join(ROOT, 'dist', 'client', 'web', 'app', 'bundle-size.json'), 'utf8')) as { clientLibrary: { gzipBytes: number }, appGzipBytes: number }
    // the budgets the README states: 40 KB (40,000 bytes) gzipped for the library, 60 KB for the whole web app
    expect(size.clientLibrary.gzipBytes).toBeLessThanOrEqual(40_000)
    expect(size.appGzipBytes).toBeLessThanOrEqual(60_000)
  })
})
