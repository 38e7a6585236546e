import { afterAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { CLI, OpsRig } from './cli-proc.js'
import type { CliProc } from './cli-proc.js'

/**
 * The daemons run with a bounded young generation (bin/meshchat.js): the
 * process replaces itself with one started with --max-semi-space-size, keeping
 * its pid, so the process a supervisor started is the node that answers and
 * the one that gets its signals. MESHCHAT_SEMI_SPACE_MB chooses the size (0:
 * V8's own); a size given to node by the operator is left alone; a value that
 * is not a size is refused. Needs the build.
 */
describe('the daemons\' young generation', () => {
  const rig = new OpsRig()
  afterAll(async () => { await rig.cleanup() })

  const cmdline = (p: CliProc): string[] => readFileSync(`/proc/${p.proc.pid ?? 0}/cmdline`, 'utf8').split('\0').filter(Boolean)
  const started = async (p: CliProc): Promise<string> => String((await p.waitFor(l => l.msg === 'node started', 'node started')).http)

  it('a node runs with an 8 MiB semi-space in the process it was started as, serves, and stops on SIGTERM', async () => {
    const key = rig.meshKey()
    const node = rig.node('default', key, [], { NODE_OPTIONS: '' })
    const http = await started(node)
    const args = cmdline(node)
    expect(args).toContain('--max-semi-space-size=8')
    expect(args.indexOf('--max-semi-space-size=8')).toBeLessThan(args.indexOf(CLI))
    expect((await fetch(`${http}/healthz`)).status).toBe(200)
    expect(await node.stop('SIGTERM')).toBe(0)
  }, 60_000)

  it('MESHCHAT_SEMI_SPACE_MB sets the size, 0 leaves V8\'s own, and a size given through NODE_OPTIONS is kept', async () => {
    const key = rig.meshKey('k2.key')
    const sized = rig.node('sized', key, [], { MESHCHAT_SEMI_SPACE_MB: '16', NODE_OPTIONS: '' })
    const own = rig.node('own', key, [], { MESHCHAT_SEMI_SPACE_MB: '0', NODE_OPTIONS: '' })
    const operator = rig.node('operator', key, [], { NODE_OPTIONS: '--max-semi-space-size=4' })
    await Promise.all([started(sized), started(own), started(operator)])
    expect(cmdline(sized)).toContain('--max-semi-space-size=16')
    expect(cmdline(own).some(a => a.startsWith('--max-semi-space-size'))).toBe(false)
    expect(cmdline(operator).some(a => a.startsWith('--max-semi-space-size'))).toBe(false)
    expect(readFileSync(`/proc/${operator.proc.pid ?? 0}/environ`, 'utf8').split('\0')).toContain('NODE_OPTIONS=--max-semi-space-size=4')
    for (const p of [sized, own, operator]) expect(await p.stop('SIGTERM')).toBe(0)
  }, 60_000)

  it('a value that is not a size is refused with a message, before anything starts', () => {
    for (const bad of ['eight', '-1', '8.5', '08', '100000']) {
      let status: number | null = null
      let stderr = ''
      try {
        execFileSync(process.execPath, [CLI, 'node', '--help'], { env: { ...process.env, MESHCHAT_SEMI_SPACE_MB: bad }, stdio: 'pipe' })
      } catch (err) {
        status = (err as { status: number | null }).status
        stderr = String((err as { stderr: Buffer }).stderr)
      }
      expect(status, bad).toBe(2)
      expect(stderr).toContain(`MESHCHAT_SEMI_SPACE_MB must be a whole number of MiB from 0 (V8's own size) to 9999, not "${bad}"`)
    }
  })
})
