import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnCli } from './cli-proc.js'
import type { CliProc } from './cli-proc.js'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')
/** the Node this test runs on: the pinned Node 24 (npx/npm scripts put it first on PATH) */
const NODE = process.execPath
const SYSTEM_NODE = '/usr/bin/node'

/** npm's own environment variables from the npm that started the tests would steer the npm run here */
function cleanEnv (): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].toLowerCase().startsWith('npm_') && e[1] != null))
}

/**
 * The package as an operator gets it: `npm pack`, the tarball installed into an
 * empty folder with production dependencies only, and a mesh (one bootstrap,
 * two nodes) started from the installed `meshchat`, with two terminal clients
 * on different nodes exchanging a message. Needs the build (npm test builds
 * first; `npm pack` alone runs it through "prepack").
 */
describe('the installed package', () => {
  const work = mkdtempSync(join(tmpdir(), 'meshchat-pack-'))
  const procs: CliProc[] = []
  afterAll(async () => {
    await Promise.all(procs.map(async p => p.stop('SIGTERM', 10_000)))
    rmSync(work, { recursive: true, force: true })
  })

  it('installs from the tarball without dev dependencies and runs a mesh', async () => {
    expect(existsSync(join(ROOT, 'dist', 'node', 'src', 'main.js')), 'built (npm run build)').toBe(true)
    const env = cleanEnv()
    // the build is there already; prepack would rebuild it
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 })
    const info = JSON.parse(packed.stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
    const tarball = join(work, info[0]?.filename ?? '')
    const files = info[0]?.files.map(f => f.path) ?? []
    expect(files).toContain('bin/meshchat.js')
    expect(files).toContain('dist/node/src/main.js')
    expect(files).toContain('dist/bootstrap/src/main.js')
    expect(files).toContain('dist/client/web/app/app.js')
    expect(files).toContain('dist/client/web/app/index.html')
    expect(files).toContain('docs/operations.md')
    expect(files).toContain('deploy/grafana/meshchat-dashboard.json')
    expect(files).toContain('deploy/systemd/meshchat-node.service')
    expect(files.filter(f => f.startsWith('dist/test/') || f.startsWith('test/') || f.startsWith('node/src/')), 'no tests, no sources').toEqual([])

    const app = join(work, 'app')
    const install = async (mode: string): Promise<void> => {
      await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', mode, tarball], { cwd: app, env, maxBuffer: 64 * 1024 * 1024 })
    }
    rmSync(app, { recursive: true, force: true })
    await run('mkdir', ['-p', app])
    try {
      await install('--offline')
    } catch {
      // the cache may lack a package's metadata: fetch what is missing
      await install('--prefer-offline')
    }
    const installed = readdirSync(join(app, 'node_modules'))
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string, devDependencies: Record<string, string> }
    for (const dev of Object.keys(pkg.devDependencies)) {
      expect(existsSync(join(app, 'node_modules', dev)), `dev dependency ${dev} not installed`).toBe(false)
    }
    expect(installed).toContain('meshchat')
    const bin = join(app, 'node_modules', 'meshchat', 'bin', 'meshchat.js')
    expect(existsSync(join(app, 'node_modules', '.bin', 'meshchat')), 'the meshchat command is linked').toBe(true)

    // --version, and a clear refusal from an old Node before anything else loads
    const version = await run(NODE, [bin, '--version'], { cwd: app })
    expect(version.stdout.trim()).toBe(`meshchat ${pkg.version} (Node.js ${process.version})`)
    const systemMajor = existsSync(SYSTEM_NODE) ? Number((await run(SYSTEM_NODE, ['-p', 'process.versions.node'])).stdout.split('.')[0]) : 0
    if (systemMajor > 0 && systemMajor < 22) {
      const old = await run(SYSTEM_NODE, [bin, 'node', '--help'], { cwd: app }).then(() => undefined, (err: { code: number, stderr: string }) => err)
      expect(old, 'Node < 22 is refused').toBeDefined()
      expect(old?.code).not.toBe(0)
      expect(old?.stderr).toMatch(/meshchat .* needs Node\.js 22\.13 or newer .* this is Node\.js v\d+/)
    }
    const bench = await run(NODE, [bin, 'bench'], { cwd: app }).then(() => undefined, (err: { code: number, stderr: string }) => err)
    expect(bench?.code).toBe(1)
    expect(bench?.stderr).toMatch(/benchmarks run from a built checkout/)

    // the config commands: the example passes its own check
    const example = await run(NODE, [bin, 'config', 'example'], { cwd: app })
    const exampleFile = join(work, 'example.yaml')
    writeFileSync(exampleFile, example.stdout)
    expect((await run(NODE, [bin, 'config', 'check', exampleFile], { cwd: app })).stdout).toMatch(/: ok /)

    // a mesh from the installed command: one bootstrap, two nodes, ephemeral ports on loopback
    const meshKey = join(work, 'swarm.key')
    await run(NODE, [bin, 'keygen', '--out', meshKey], { cwd: app })
    const start = (args: string[]): CliProc => {
      const p = spawnCli(NODE, bin, args, { cwd: app })
      procs.push(p)
      return p
    }
    const boot = start(['bootstrap', '--json', '--data-dir', join(work, 'boot'), '--mesh-key', meshKey, '--listen', '/ip4/127.0.0.1/tcp/0'])
    const bootLine = await boot.waitFor(l => l.msg === 'bootstrap started; nodes use --bootstrap with one of these', 'bootstrap started')
    const bootAddr = (bootLine.addrs as string[])[0] ?? ''
    const node = (i: number): CliProc => start(['node', '--json', '--data-dir', join(work, `node${i}`), '--mesh-key', meshKey,
      '--listen', '/ip4/127.0.0.1/tcp/0', '--gateway', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0', '--bootstrap', bootAddr])
    const n1 = node(1)
    const n2 = node(2)
    const s1 = await n1.waitFor(l => l.msg === 'node started', 'node 1 started')
    const s2 = await n2.waitFor(l => l.msg === 'node started', 'node 2 started')
    // the web app is in the package and served
    const page = await fetch(String(s1.http))
    expect(page.status).toBe(200)
    expect(await page.text()).toMatch(/<script[^>]*app\.js/)

    const chat = (name: string, ws: string): CliProc => start(['chat', '--json', '--connect', ws, '--room', 'lobby', '--name', name, '--key', join(work, `${name}.key`)])
    const alice = chat('alice', (s1.ws as string[])[0] ?? '')
    const bob = chat('bob', (s2.ws as string[])[0] ?? '')
    await alice.waitFor(l => l.type === 'roster', 'alice in lobby')
    await bob.waitFor(l => l.type === 'roster', 'bob in lobby')
    const aliceWelcome = alice.lines.find(l => l.type === 'welcome')
    const bobWelcome = bob.lines.find(l => l.type === 'welcome')
    expect(aliceWelcome?.nodeId).toBe(s1.id)
    expect(bobWelcome?.nodeId).toBe(s2.id)
    // alice's node knows bob is in the room once his join reached it over the mesh
    await alice.waitFor(l => (l.type === 'join' && (l.member as { name?: string } | undefined)?.name === 'bob') ||
      (l.type === 'roster' && JSON.stringify(l.members).includes('"bob"')), 'bob shown to alice', 60_000)
    alice.write('hello from the installed package\n')
    const got = await bob.waitFor(l => l.type === 'message' && l.text === 'hello from the installed package', 'the message at bob', 60_000)
    expect(got.name).toBe('alice')
    expect(got.room).toBe('lobby')
    for (const p of [alice, bob]) p.proc.stdin?.end()
    expect(await alice.exited).toBe(0)
    expect(await bob.exited).toBe(0)
    // a graceful stop on SIGTERM
    expect(await n1.stop()).toBe(0)
    expect(await n2.stop()).toBe(0)
    expect(await boot.stop()).toBe(0)
  }, 300_000)
})
