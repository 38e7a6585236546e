import { afterAll, describe, expect, it } from 'vitest'
import { OpsRig, waitUntil } from './cli-proc.js'
import type { CliProc } from './cli-proc.js'

/**
 * Readiness apart from liveness, through the real CLI: a node whose mesh key
 * differs from its bootstrap's stays alive (/healthz 200) but not ready
 * (/readyz 503, "no mesh peer"), and its log names the mesh key as the likely
 * cause; a node with the right key beside it becomes ready. Needs the build.
 */
describe('readiness and the operator log', () => {
  const rig = new OpsRig()
  afterAll(async () => { await rig.cleanup() })

  it('a node with another mesh key is live, not ready, and says why', async () => {
    const meshKey = rig.meshKey()
    const otherKey = rig.meshKey('other.key')
    const { addr: bootAddr } = await rig.bootstrap(meshKey)
    const node = (name: string, key: string): CliProc => rig.node(name, key, ['--log-level', 'info', '--bootstrap', bootAddr])

    const wrong = node('wrong', otherKey)
    const wrongHttp = String((await wrong.waitFor(l => l.msg === 'node started', 'node started')).http)
    const ready = await fetch(`${wrongHttp}/readyz`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toMatchObject({ ready: false, reasons: ['no mesh peer'], peers: 0 })
    const live = await fetch(`${wrongHttp}/healthz`)
    expect(live.status).toBe(200)
    expect(await live.json()).toMatchObject({ live: true, ready: false, notReady: ['no mesh peer'] })
    const line = await wrong.waitFor(l => l.msg === 'cannot reach bootstrap peer', 'a log line about the bootstrap', 60_000)
    expect(line.level).toBe('warn')
    expect(line.addr).toBe(bootAddr)
    expect(String(line.likelyCause), JSON.stringify(line)).toMatch(/accepts TCP connections but the encrypted handshake failed: most likely this node and the peer hold different mesh keys \(--mesh-key\)/)
    expect(wrong.lines.some(l => l.msg === 'not ready' && JSON.stringify(l.reasons) === '["no mesh peer"]'), 'readiness change logged').toBe(true)
    // still not ready: no retry ever gets it in
    expect((await fetch(`${wrongHttp}/readyz`)).status).toBe(503)

    // the same setup with the mesh's key becomes ready
    const right = node('right', meshKey)
    const rightHttp = String((await right.waitFor(l => l.msg === 'node started', 'node started')).http)
    await waitUntil(async () => (await fetch(`${rightHttp}/readyz`)).status === 200, 'the node with the right key ready', 30_000)
    await right.waitFor(l => l.msg === 'mesh peer up', 'a peer-up line', 30_000)
    expect(right.lines.some(l => l.msg === 'cannot reach bootstrap peer'), 'no dial complaint with the right key').toBe(false)
    expect(await wrong.stop()).toBe(0)
    expect(await right.stop()).toBe(0)
  }, 120_000)
})
