import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { OpsRig } from './cli-proc.js'

/**
 * The bootstrap daemon's log, through the real CLI: pino lines at
 * `--log-level`, JSON with `--json` and human lines without, saying where it
 * listens, which nodes come and go, and why another bootstrap daemon it was
 * told to join does not answer (a different mesh key). A bad level stops it
 * with a message naming the flag. Needs the build.
 */
describe('bootstrap daemon log', () => {
  const rig = new OpsRig()
  afterAll(async () => { await rig.cleanup() })

  it('logs its addresses, peers up and down, and failed dials, at the level asked for', async () => {
    const meshKey = rig.meshKey()
    const { addr, line: started, proc: boot } = await rig.bootstrap(meshKey, ['--log-level', 'info'])
    expect(started).toMatchObject({ level: 'info', id: expect.any(String) as string, addrs: [addr] })
    expect(typeof started.time).toBe('string')
    expect(addr.endsWith(`/p2p/${String(started.id)}`)).toBe(true)

    const node = rig.node('n1', meshKey, ['--bootstrap', addr])
    const nodeId = String((await node.waitFor(l => l.msg === 'node started', 'node started', 60_000)).id)
    const up = await boot.waitFor(l => l.msg === 'mesh peer up' && l.peer === nodeId, 'the node up in the bootstrap log', 60_000)
    expect(up.level).toBe('info')
    expect(up.peers).toBeGreaterThanOrEqual(1)
    expect(await node.stop('SIGTERM')).toBe(0)
    const down = await boot.waitFor(l => l.msg === 'mesh peer down' && l.peer === nodeId, 'the node down in the bootstrap log', 60_000)
    expect(down.level).toBe('info')

    // a second bootstrap daemon told to join the first one, with another mesh key, in text at warn
    const otherKey = rig.meshKey('other.key')
    const second = rig.start(['bootstrap', '--data-dir', join(rig.dir, 'boot2'), '--mesh-key', otherKey,
      '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', addr, '--log-level', 'warn'])
    const warn = await second.waitFor(l => String(l.line).includes('cannot reach bootstrap peer'), 'a failed dial in the second log', 60_000)
    const text = String(warn.line)
    expect(text, text).toMatch(/^\S+ WARN +cannot reach bootstrap peer /)
    expect(text).toContain(`addr=${addr}`)
    expect(text).toContain('different mesh keys')
    // at warn, nothing at info: not even the start line
    expect(second.lines.some(l => / INFO /.test(String(l.line))), second.lines.map(l => String(l.line)).join('\n')).toBe(false)
    expect(await second.stop('SIGTERM')).toBe(0)

    expect(await boot.stop('SIGTERM')).toBe(0)
    expect(boot.lines.at(-1)).toMatchObject({ level: 'info', msg: 'bootstrap stopped' })
    expect(boot.lines.every(l => typeof l.level === 'string' && typeof l.msg === 'string'), 'every line is a pino JSON object').toBe(true)
  }, 180_000)

  it('refuses an unknown log level with a message naming the flag', async () => {
    const bad = rig.start(['bootstrap', '--data-dir', join(rig.dir, 'boot3'), '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'loud'])
    expect(await bad.exited).toBe(1)
    expect(bad.stderr()).toMatch(/ConfigError: --log-level must be one of fatal, error, warn, info, debug, trace, silent, got loud/)
  })
})
