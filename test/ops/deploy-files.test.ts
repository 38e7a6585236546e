import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { parse as parseYaml } from 'yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { CLI, OpsRig } from './cli-proc.js'
import type { NodeSettings } from '../../node/src/settings.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
const DEPLOY = join(ROOT, 'deploy')
const run = promisify(execFile)

/** the built CLI's own settings parser: what `meshchat node <argv>` does with its flags before it starts */
async function builtNodeSettings (argv: string[], env: Record<string, string> = {}): Promise<NodeSettings> {
  const mod = await import(join(ROOT, 'dist', 'node', 'src', 'settings.js')) as typeof import('../../node/src/settings.js')
  return mod.nodeSettings(argv, env)
}

/** does the built CLI take these flags for `meshchat <command>`? (its flags are parsed strictly before --help answers) */
async function cliAccepts (command: string, argv: string[]): Promise<void> {
  await run(process.execPath, [CLI, command, ...argv, '--help'], { timeout: 30_000 })
}

/** a shell line's words (no quoting needed in these files: checked), `\` + newline joined first */
function words (line: string): string[] {
  expect(line, 'no quotes in a command line read this way').not.toMatch(/["']/)
  return line.replace(/\\\n/g, ' ').trim().split(/\s+/)
}

/** `${X}` and `$X` replaced from `vars`; an unknown one fails the test */
function substitute (text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => {
    expect(vars, `a value for $${name}`).toHaveProperty(name)
    return vars[name] ?? ''
  })
}

const port = (hostPort: string): number => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))
const urlPort = (url: string): number => Number(new URL(url).port)

interface Service {
  image?: string
  build?: { context: string, dockerfile: string }
  command?: string[]
  entrypoint?: string[]
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
}

/**
 * deploy/ cannot be run here (no container engine, no systemd, no public
 * name for Caddy), so what can be checked without them is: the compose
 * file's, the Containerfile's and the units' command lines are accepted by
 * the built CLI, every file they mount or copy exists (or is what `npm pack`
 * writes), and the ports line up: published ports, health checks and
 * Prometheus targets point at the listeners the commands open, the compose
 * nodes' bootstrap address at the bootstrap's listener, the proxy's upstreams
 * at the nodes' HTTP port. Needs the build.
 */
describe('deploy/ files, checked without running them', () => {
  const rig = new OpsRig()
  afterAll(async () => { await rig.cleanup() })
  const compose = parseYaml(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service>, volumes: Record<string, unknown> }
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string, version: string, engines: { node: string } }

  it('compose.yaml: every meshchat command line is accepted, every mount exists, the ports line up', async () => {
    const s = compose.services
    expect(Object.keys(s).sort()).toEqual(['bootstrap', 'grafana', 'keygen', 'node1', 'node2', 'node3', 'prometheus'])
    const image = s.keygen?.image
    expect(s.keygen?.build, 'the image is built from the Containerfile').toEqual({ context: '..', dockerfile: 'deploy/Containerfile' })
    expect(existsSync(join(DEPLOY, s.keygen!.build!.context, s.keygen!.build!.dockerfile))).toBe(true)

    // mounts: files beside compose.yaml exist; named volumes are declared
    for (const [name, svc] of Object.entries(s)) {
      for (const v of svc.volumes ?? []) {
        const [src = '', target = ''] = v.split(':')
        expect(target.startsWith('/'), `${name}: ${v}`).toBe(true)
        if (src.startsWith('.') || src.startsWith('/')) expect(existsSync(resolve(DEPLOY, src)), `${name} mounts ${src}`).toBe(true)
        else expect(compose.volumes, `${name}: volume ${src} declared`).toHaveProperty(src)
      }
      for (const dep of Object.keys(svc.depends_on ?? {})) expect(s, `${name} depends on ${dep}`).toHaveProperty(dep)
    }

    // keygen: `meshchat keygen …` inside its shell line
    expect(s.keygen?.entrypoint?.slice(0, 2)).toEqual(['sh', '-c'])
    const keygen = /meshchat (keygen [^;|&]*)/.exec(s.keygen?.entrypoint?.[2] ?? '')?.[1] ?? ''
    const [keygenCmd = '', ...keygenArgs] = words(keygen)
    await cliAccepts(keygenCmd, keygenArgs)
    const keyFile = keygenArgs[keygenArgs.indexOf('--out') + 1]
    expect(keyFile).toBe('/keys/swarm.key')

    // bootstrap: the image's entrypoint is `meshchat`, the command its arguments
    const boot = s.bootstrap!
    expect(boot.image).toBe(image)
    const [bootCmd = '', ...bootArgs] = boot.command ?? []
    expect(bootCmd).toBe('bootstrap')
    await cliAccepts(bootCmd, bootArgs)
    const flag = (args: string[], f: string): string => {
      const i = args.indexOf(f)
      expect(i, `${f} in ${args.join(' ')}`).toBeGreaterThan(-1)
      return args[i + 1] ?? ''
    }
    expect(flag(bootArgs, '--mesh-key')).toBe(keyFile)
    const bootHttp = port(flag(bootArgs, '--http'))
    const bootMesh = Number(/\/tcp\/(\d+)$/.exec(flag(bootArgs, '--listen'))?.[1])
    expect(boot.healthcheck?.test.join(' '), 'the bootstrap health check asks its --http listener').toContain(`http://127.0.0.1:${bootHttp}/readyz`)

    // what the node entrypoint reads from the bootstrap (its peer id in /healthz) is there: a real bootstrap's /healthz
    const { line: started } = await rig.bootstrap(rig.meshKey(), ['--http', '127.0.0.1:0'])
    const health = await (await fetch(`${String(started.http)}/healthz`)).json() as { peerId: string }
    expect(health.peerId).toBe(started.id)

    // the nodes: one shell line each, `exec meshchat node …`, with $$ as compose writes $
    const promTargets = parseYaml(readFileSync(join(DEPLOY, 'prometheus', 'prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ job_name: string, static_configs: Array<{ targets: string[] }> }> }
    const targets = (job: string): string[] => promTargets.scrape_configs.find(c => c.job_name === job)?.static_configs.flatMap(c => c.targets) ?? []
    const nodes = ['node1', 'node2', 'node3']
    for (const name of nodes) {
      const svc = s[name]!
      expect(svc.image).toBe(image)
      expect(svc.entrypoint?.slice(0, 2)).toEqual(['sh', '-c'])
      const script = (svc.entrypoint?.[2] ?? '').replace(/\$\$/g, '$')
      expect(script, 'the peer id comes from the bootstrap\'s --http listener').toContain(`fetch('http://bootstrap:${bootHttp}/healthz')`)
      expect(script).toContain('j.peerId')
      const exec = /^exec meshchat (node(?:.*\\\n)*.*)$/m.exec(script)?.[1] ?? ''
      const argv = words(substitute(exec, { id: health.peerId, ...svc.environment }))
      expect(argv[0]).toBe('node')
      const settings = await builtNodeSettings(argv.slice(1))
      const cfg = settings.config
      expect(settings.log.format).toBe('json')
      expect(cfg.meshKey).toBe(keyFile)
      expect(cfg.bootstrap, 'the bootstrap service at its --listen port').toEqual([`/dns4/bootstrap/tcp/${bootMesh}/p2p/${health.peerId}`])
      // published HTTP port → the node's --http; the public URL is the published one
      const [published = ''] = svc.ports ?? []
      const [hostPort, containerPort] = published.split(':').map(Number)
      expect(containerPort, `${name} publishes its --http port`).toBe(port(cfg.http ?? ''))
      expect(cfg.publicUrls).toEqual([`http://localhost:${hostPort}`])
      // health check and Prometheus → the admin listener
      const admin = port(cfg.metricsListen ?? '')
      expect(svc.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${admin}/readyz`)
      expect(targets('meshchat-node')).toContain(`${name}:${admin}`)
      expect(svc.volumes).toContain(`${name}:/data`)
      expect(cfg.dataDir).toBe('/data')
    }
    expect(targets('meshchat-node').sort()).toEqual(nodes.map(n => `${n}:9464`))
    expect(targets('meshchat-bootstrap')).toEqual([`bootstrap:${bootHttp}`])
    const hostPorts = nodes.map(n => s[n]!.ports?.[0]?.split(':')[0])
    expect(new Set(hostPorts).size, 'each node on its own host port').toBe(nodes.length)

    // Prometheus and Grafana: their config where the images read it, the dashboard where the provisioning looks
    expect(s.prometheus?.volumes).toContain('./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro')
    const provider = parseYaml(readFileSync(join(DEPLOY, 'grafana', 'provisioning', 'dashboards', 'meshchat.yaml'), 'utf8')) as { providers: Array<{ options: { path: string } }> }
    const dashMount = s.grafana?.volumes?.find(v => v.includes('meshchat-dashboard.json'))?.split(':')[1] ?? ''
    expect(dashMount.startsWith(provider.providers[0]!.options.path + '/'), dashMount).toBe(true)
    const ds = parseYaml(readFileSync(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8')) as { datasources: Array<{ url: string }> }
    expect(ds.datasources[0]?.url).toBe(`http://prometheus:${String(s.prometheus?.ports?.[0]?.split(':')[1])}`)
  }, 120_000)

  it('Containerfile: it copies what npm pack writes, and its command is accepted and listens where it says', async () => {
    const lines = readFileSync(join(DEPLOY, 'Containerfile'), 'utf8').replace(/\\\n/g, ' ').split('\n').filter(l => l.trim() !== '' && !l.trim().startsWith('#'))
    const instr = (name: string): string[] => lines.filter(l => l.startsWith(name + ' ')).map(l => l.slice(name.length + 1).trim())
    // Node version: at least what the package asks for
    const from = instr('FROM')[0] ?? ''
    expect(Number(/node:(\d+)/.exec(from)?.[1])).toBeGreaterThanOrEqual(Number(/>=(\d+)/.exec(pkg.engines.node)?.[1]))
    // COPY: the tarball `npm pack` writes (name-version.tgz) in the build context (the checkout)
    const copies = instr('COPY').map(c => words(c))
    expect(copies).toHaveLength(1)
    const [src = ''] = copies[0] ?? []
    const glob = new RegExp('^' + src.replace(/[.]/g, '\\.').replace(/\*/g, '.*') + '$')
    expect(`${pkg.name}-${pkg.version}.tgz`).toMatch(glob)
    expect(instr('RUN').join('\n')).toMatch(/npm install -g --omit=dev .*\/tmp\/meshchat-\*\.tgz/)
    // ENTRYPOINT + CMD: a meshchat command the built CLI takes
    expect(JSON.parse(instr('ENTRYPOINT')[0] ?? '')).toEqual(['meshchat'])
    const cmd = JSON.parse(instr('CMD').at(-1) ?? '') as string[]
    expect(cmd[0]).toBe('node')
    const cfg = (await builtNodeSettings(cmd.slice(1))).config
    expect(cfg.dataDir).toBe('/data')
    expect(instr('VOLUME')[0]).toContain('/data')
    // every port it listens on is exposed, and the health check asks its HTTP port
    const exposed = (instr('EXPOSE')[0] ?? '').split(/\s+/).map(Number).sort()
    const listening = [...cfg.listen, ...cfg.gateway].map(a => Number(/\/tcp\/(\d+)/.exec(a)?.[1])).concat([port(cfg.http ?? ''), port(cfg.metricsListen ?? '')]).sort()
    expect(exposed).toEqual(listening)
    const health = instr('HEALTHCHECK')[0] ?? ''
    expect(urlPort(/http:\/\/[^/']+/.exec(health)?.[0] ?? '')).toBe(port(cfg.http ?? ''))
    // stopped by a drain: SIGQUIT is what a node takes as one
    expect(instr('STOPSIGNAL')).toEqual(['SIGQUIT'])
  }, 60_000)

  it('systemd units and node.yaml: accepted by the built CLI; Caddy and Prometheus point at the ports they set', async () => {
    const unit = (name: string): { exec: string, env: Record<string, string>, keys: Map<string, string> } => {
      const text = readFileSync(join(DEPLOY, 'systemd', name), 'utf8').replace(/\\\n/g, ' ')
      const keys = new Map<string, string>()
      const env: Record<string, string> = {}
      for (const l of text.split('\n')) {
        const m = /^(\w+)=(.*)$/.exec(l)
        if (m == null) continue
        keys.set(m[1] ?? '', m[2] ?? '')
        const e = /^Environment=(\w+)=(.*)$/.exec(l)
        if (e != null) env[e[1] ?? ''] = e[2] ?? ''
      }
      return { exec: keys.get('ExecStart') ?? '', env, keys }
    }
    const boot = unit('meshchat-bootstrap.service')
    const [bootBin = '', ...bootArgv] = words(substitute(boot.exec, boot.env))
    expect(bootBin.endsWith('/meshchat')).toBe(true)
    expect(bootArgv[0]).toBe('bootstrap')
    await cliAccepts('bootstrap', bootArgv.slice(1))
    const bootHttp = port(bootArgv[bootArgv.indexOf('--http') + 1] ?? '')

    const node = unit('meshchat-node.service')
    const [nodeBin = '', ...nodeArgv] = words(node.exec)
    expect(nodeBin.endsWith('/meshchat')).toBe(true)
    expect(nodeArgv).toEqual(['node', '--config', '/etc/meshchat/node.yaml'])
    expect(node.keys.get('KillSignal'), 'systemctl stop drains the node').toBe('SIGQUIT')
    expect(node.keys.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID')
    // the file the unit reads is deploy/systemd/node.yaml, checked by the built CLI as an operator would
    const yamlFile = join(DEPLOY, 'systemd', 'node.yaml')
    const { stdout } = await run(process.execPath, [CLI, 'config', 'check', yamlFile], { timeout: 30_000 })
    expect(stdout).toMatch(/: ok \(/)
    const cfg = (await builtNodeSettings(['--config', yamlFile])).config
    expect(cfg.drainMs / 1000 + 15, 'the stop timeout covers the drain and the stop\'s own deadline').toBeLessThanOrEqual(Number(node.keys.get('TimeoutStopSec')))

    // Caddy: every upstream is a node's HTTP port, health-checked at /readyz
    const caddy = readFileSync(join(DEPLOY, 'caddy', 'Caddyfile'), 'utf8')
    const upstreams = [...caddy.matchAll(/reverse_proxy ([^{\n]+)/g)].flatMap(m => (m[1] ?? '').trim().split(/\s+/))
    expect(upstreams.length).toBeGreaterThanOrEqual(3)
    for (const u of upstreams) expect(port(u), u).toBe(port(cfg.http ?? ''))
    expect(caddy).toMatch(/health_uri \/readyz/)
    // the public names the nodes announce are the ones Caddy serves
    for (const u of cfg.publicUrls) expect(caddy).toContain(`${new URL(u).hostname} {`)
    // Prometheus on hosts: the admin listener and the bootstrap's --http, as its comment says
    const prom = readFileSync(join(DEPLOY, 'prometheus', 'prometheus.yml'), 'utf8')
    expect(prom).toContain(`port ${port(cfg.metricsListen ?? '')}`)
    expect(prom).toContain(`(${bootHttp})`)
  }, 60_000)
})
