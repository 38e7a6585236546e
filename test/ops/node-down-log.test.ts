import { afterAll, describe, expect, it } from 'vitest'
import { OpsRig, waitUntil } from './cli-proc.js'

/**
 * The failure detector's verdicts in the operator's log, through the real
 * CLI: a node that stops answering (SIGSTOP: its connections stay open, it
 * just goes silent) is logged by the other node at warn, with its id and how
 * long it had been silent; when it answers again (SIGCONT) it is logged up.
 * Needs the build.
 */
describe('node down in the operator log', () => {
  const rig = new OpsRig()
  afterAll(async () => {
    // a stopped process cannot take the SIGTERM of the cleanup
    for (const p of rig.procs) if (p.proc.exitCode == null) p.proc.kill('SIGCONT')
    await rig.cleanup()
  })

  it('names a silent node and how long it was silent, then logs it up again', async () => {
    const meshKey = rig.meshKey()
    const { addr } = await rig.bootstrap(meshKey)
    const a = rig.node('a', meshKey, ['--bootstrap', addr])
    const b = rig.node('b', meshKey, ['--bootstrap', addr])
    const [aLine, bLine] = await Promise.all([a.waitFor(l => l.msg === 'node started', 'a started', 60_000), b.waitFor(l => l.msg === 'node started', 'b started', 60_000)])
    const bId = String(bLine.id)
    await waitUntil(async () => ((await (await fetch(`${String(aLine.http)}/healthz`)).json()) as { meshNodes: number }).meshNodes >= 2, 'a sees b', 60_000)
    await a.waitFor(l => l.msg === 'node up' && l.node === bId, 'b up in a\'s log', 60_000)

    b.proc.kill('SIGSTOP')
    const down = await a.waitFor(l => l.msg === 'node down: its users go offline' && l.node === bId, 'b down in a\'s log', 60_000)
    expect(down.level).toBe('warn')
    expect(down.incarnation).toEqual(expect.any(Number))
    expect(String(down.reason), JSON.stringify(down)).toMatch(/no heartbeat for \d+ ms/)
    // the detector's own rule: down only once silent past its deadline (3 heartbeats, or the grace after every connection dropped)
    expect(down.silentMs).toBeGreaterThanOrEqual(/every connection dropped/.test(String(down.reason)) ? 750 : 3000)

    b.proc.kill('SIGCONT')
    const back = a.lines.indexOf(down)
    await waitUntil(() => a.lines.slice(back).some(l => l.msg === 'node up' && l.node === bId), 'b up again in a\'s log', 60_000)
    expect(await b.stop()).toBe(0)
    expect(await a.stop()).toBe(0)
  }, 180_000)
})
