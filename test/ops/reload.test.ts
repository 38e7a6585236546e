import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createNodeClient, fileKeyStore } from '../../client/src/node.js'
import { OpsRig, waitUntil } from './cli-proc.js'

/**
 * SIGHUP: a node started from a config file re-reads it. Limits apply at
 * once (seen by a client: a room it was refused it now gets), the log level
 * changes, settings that need a restart are named and left alone, a broken
 * file is refused with the settings in use kept, refusals are logged summed
 * by kind, and the process lives on through all of it. Needs the build.
 */
describe('reload on SIGHUP', () => {
  const rig = new OpsRig()
  const dir = rig.dir
  afterAll(async () => { await rig.cleanup() })

  it('applies limits and the log level, names what needs a restart, refuses a broken file', async () => {
    rig.meshKey()
    const { addr: bootAddr } = await rig.bootstrap(join(dir, 'swarm.key'))
    const file = join(dir, 'node.yaml')
    const settings = (rooms: number, level: string, extra = ''): void => {
      writeFileSync(file, [
        'dataDir: node',
        'meshKey: swarm.key',
        'listen: [/ip4/127.0.0.1/tcp/0]',
        'gateway: [/ip4/127.0.0.1/tcp/0]',
        'http: 127.0.0.1:0',
        `bootstrap: [${bootAddr}]`,
        `maxRoomsPerUser: ${rooms}`,
        `log: { level: ${level}, format: json }`,
        extra
      ].join('\n'))
    }
    settings(1, 'info')
    const node = rig.start(['node', '--config', file])
    const started = await node.waitFor(l => l.msg === 'node started', 'node started')
    expect(started.config).toBe(file)
    const http = String(started.http)
    const ws = (started.ws as string[])[0] ?? ''

    const client = createNodeClient({ name: 'ada', addrs: [ws], keyStore: fileKeyStore(join(dir, 'ada.key')) })
    rig.clients.push(client)
    await client.connect()
    await client.join('one')
    await expect(client.join('two')).rejects.toMatchObject({ name: 'TooManyRoomsError' })

    // more rooms, and debug lines
    settings(3, 'debug')
    node.proc.kill('SIGHUP')
    const reloaded = await node.waitFor(l => l.msg === 'settings reloaded', 'the reload')
    expect(reloaded).toMatchObject({ applied: ['maxRoomsPerUser'], logLevel: 'debug' })
    const inUse = await node.waitFor(l => l.msg === 'settings in use', 'a debug line')
    expect(inUse.level).toBe('debug')
    expect((inUse.settings as Record<string, unknown>).maxRoomsPerUser).toBe(3)
    // at info, the same line was not written at start
    expect(node.lines.filter(l => l.msg === 'settings in use').length).toBe(1)
    await client.join('two')
    await client.join('three')
    await expect(client.join('four')).rejects.toMatchObject({ name: 'TooManyRoomsError' })

    // a setting that needs a restart is named, not applied
    settings(3, 'info', 'maxMeshPeers: 50')
    node.proc.kill('SIGHUP')
    const restart = await node.waitFor(l => l.msg === 'settings that take a restart were changed and are not in use yet', 'the restart warning')
    expect(restart.restartNeeded).toEqual(['maxMeshPeers'])

    // a broken file changes nothing
    writeFileSync(file, 'maxRoomsPerUser: [lots]\n')
    node.proc.kill('SIGHUP')
    const refused = await node.waitFor(l => l.msg === 'reload refused; the settings in use are unchanged', 'the refusal')
    expect(refused.level).toBe('error')
    expect(String(refused.error)).toMatch(/ConfigError: .*node\.yaml: maxRoomsPerUser: expected a number, got a list/)
    await expect(client.join('four')).rejects.toMatchObject({ name: 'TooManyRoomsError' })

    // the refusals are in the log, summed by kind (one line per interval, not one per refusal)
    const refusals = await node.waitFor(l => l.msg === 'requests refused', 'the refusal summary', 30_000)
    expect(refusals.level).toBe('warn')
    expect((refusals.refused as Record<string, number>).TooManyRoomsError).toBeGreaterThanOrEqual(1)

    // alive and attached throughout
    expect(node.proc.exitCode).toBeNull()
    expect((await fetch(`${http}/healthz`)).status).toBe(200)
    await waitUntil(() => client.state === 'connected', 'the client still attached', 10_000)
    await client.close()
    expect(await node.stop()).toBe(0)
  }, 120_000)
})
