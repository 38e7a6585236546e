import { build } from 'esbuild'
import type { Plugin } from 'esbuild'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Bundles the web app for browsers with esbuild: the TypeScript sources in
 * client/web (resolved from the repository, not from dist) into
 * dist/client/web/app, which every node serves over HTTP, pre-compressed; and
 * the client library alone into dist/client/browser. Prints the sizes.
 */
const here = dirname(fileURLToPath(import.meta.url))
// this file runs from dist/client/web; the sources sit at the same path under the repository root
const root = resolve(here, '..', '..', '..')
const src = join(root, 'client', 'web')
const out = join(here, 'app')

/**
 * protons-runtime's writer imports `uint8arrays/from-string` and never calls it, but the import
 * alone drags in every multibase codec (about 6 KB gzipped, a sixth of the client library); a
 * UTF-8-only stand-in keeps them out.
 */
const utf8Only: Plugin = {
  name: 'uint8arrays-from-string-utf8',
  setup (b) {
    b.onResolve({ filter: /^uint8arrays\/from-string$/ }, () => ({ path: 'from-string', namespace: 'utf8-only' }))
    b.onLoad({ filter: /.*/, namespace: 'utf8-only' }, () => ({
      contents: "export function fromString (s, enc = 'utf8') { if (enc !== 'utf8' && enc !== 'utf-8') throw new Error('only UTF-8 in the browser build'); return new TextEncoder().encode(s) }",
      loader: 'js'
    }))
  }
}

/**
 * uint8arraylist's module has top-level code esbuild cannot prove free of side effects, so its
 * import in protocol/codec.ts (for the libp2p transport's framing, which browsers never load) kept
 * the whole class in the bundle, about 1.5 KB gzipped. Marked free of side effects, it goes when
 * nothing the bundle runs uses it.
 */
const listWithoutSideEffects: Plugin = {
  name: 'uint8arraylist-side-effect-free',
  setup (b) {
    b.onResolve({ filter: /^uint8arraylist$/ }, async args => {
      if ((args.pluginData as { again?: boolean } | undefined)?.again === true) return undefined
      const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { again: true } })
      return found.errors.length > 0 ? { errors: found.errors } : { path: found.path, sideEffects: false }
    })
  }
}

const common = {
  bundle: true,
  format: 'esm' as const,
  platform: 'browser' as const,
  target: ['es2022'],
  minify: true,
  metafile: true,
  plugins: [utf8Only, listWithoutSideEffects],
  define: { 'process.env.NODE_DEBUG': 'false', global: 'globalThis' },
  logLevel: 'warning' as const
}

await mkdir(out, { recursive: true })
const result = await build({ ...common, entryPoints: [join(src, 'app.ts')], sourcemap: true, outfile: join(out, 'app.js') })
// the client library on its own, as a browser ES module others can load: what an application pays for it
const libOut = join(here, '..', 'browser')
await mkdir(libOut, { recursive: true })
await build({ ...common, entryPoints: [join(root, 'client', 'src', 'index.ts')], sourcemap: true, outfile: join(libOut, 'meshchat-client.js') })
const lib = await readFile(join(libOut, 'meshchat-client.js'))
const libGzip = gzipSync(lib, { level: 9 }).byteLength
for (const f of ['index.html', 'style.css']) {
  await copyFile(join(src, f), join(out, f))
}
// served pre-compressed: the node picks .br or .gz by the browser's Accept-Encoding and never compresses per request
const sizes: Record<string, { bytes: number, gzipBytes: number, brotliBytes: number }> = {}
for (const f of ['app.js', 'index.html', 'style.css']) {
  const body = await readFile(join(out, f))
  const gz = gzipSync(body, { level: 9 })
  const br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength } })
  await writeFile(join(out, f + '.gz'), gz)
  await writeFile(join(out, f + '.br'), br)
  sizes[f] = { bytes: body.byteLength, gzipBytes: gz.byteLength, brotliBytes: br.byteLength }
}
// what of the bundle is the client library (and the protocol it carries), as opposed to the app itself
const inputs = (result.metafile?.outputs ?? {})[Object.keys((result.metafile?.outputs ?? {})).find(k => k.endsWith('app.js')) ?? '']?.inputs ?? {}
let libraryBytes = 0
for (const [path, v] of Object.entries(inputs)) if (!path.includes('client/web/')) libraryBytes += v.bytesInOutput
const js = sizes['app.js'] ?? { bytes: 0, gzipBytes: 0, brotliBytes: 0 }
const total = Object.values(sizes).reduce((n, x) => n + x.gzipBytes, 0)
const report = {
  bundle: 'app.js',
  bytes: js.bytes,
  gzipBytes: js.gzipBytes,
  brotliBytes: js.brotliBytes,
  /** minified bytes of app.js that come from outside client/web (the client library and its dependencies) */
  libraryBytes,
  /** the client library bundled alone (dist/client/browser/meshchat-client.js), minified and gzipped */
  clientLibrary: { bytes: lib.byteLength, gzipBytes: libGzip },
  /** app.js, index.html and style.css, gzipped */
  appGzipBytes: total,
  files: sizes,
  inputs: Object.keys(result.metafile?.inputs ?? {}).length
}
await writeFile(join(out, 'bundle-size.json'), JSON.stringify(report, null, 2) + '\n')
console.log(`web app: app.js ${(js.bytes / 1024).toFixed(1)} KiB, ${(js.gzipBytes / 1024).toFixed(1)} KiB gzipped, ${(js.brotliBytes / 1024).toFixed(1)} KiB brotli; whole app ${(total / 1024).toFixed(1)} KiB gzipped; client library alone ${(libGzip / 1024).toFixed(1)} KiB gzipped`)
