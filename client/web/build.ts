import { build } from 'esbuild'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Bundles the web app for browsers with esbuild: the TypeScript sources in
 * client/web (resolved from the repository, not from dist) into
 * dist/client/web/app, which every node serves over HTTP. Prints the gzipped
 * size of the bundle.
 */
const here = dirname(fileURLToPath(import.meta.url))
// this file runs from dist/client/web; the sources sit at the same path under the repository root
const root = resolve(here, '..', '..', '..')
const src = join(root, 'client', 'web')
const out = join(here, 'app')

await mkdir(out, { recursive: true })
const result = await build({
  entryPoints: [join(src, 'app.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  outfile: join(out, 'app.js'),
  metafile: true,
  // a few libp2p dependencies reference these Node names; browsers get the globals or nothing
  define: { 'process.env.NODE_DEBUG': 'false', global: 'globalThis' },
  logLevel: 'warning'
})
for (const f of ['index.html', 'style.css']) {
  await copyFile(join(src, f), join(out, f))
}
const js = await readFile(join(out, 'app.js'))
const gz = gzipSync(js, { level: 9 }).byteLength
const report = { bundle: 'app.js', bytes: js.byteLength, gzipBytes: gz, inputs: Object.keys(result.metafile.inputs).length }
await writeFile(join(out, 'bundle-size.json'), JSON.stringify(report, null, 2) + '\n')
console.log(`web app: app.js ${(js.byteLength / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped`)
