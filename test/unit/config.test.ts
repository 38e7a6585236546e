import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG, DEFAULT_TIMINGS, resolveConfig } from '../../node/src/config.js'
import { CLI_DEFAULTS, exampleConfig, nodeSettings } from '../../node/src/settings.js'
import { DEFAULT_BUDGETS } from '../../node/src/state/budgets.js'

describe('node configuration', () => {
  it('fills in defaults and keeps what is given', () => {
    const cfg = resolveConfig({ maxClients: 5, retention: { maxAgeMs: 0, maxPerRoom: 10 } })
    expect(cfg.maxClients).toBe(5)
    expect(cfg.retention).toEqual({ maxAgeMs: 0, maxPerRoom: 10 })
    expect(cfg.maxEventBytes).toBe(DEFAULT_CONFIG.maxEventBytes)
    expect(cfg.timings).toEqual(DEFAULT_TIMINGS)
    expect(resolveConfig({ timings: { heartbeatMs: 200, downAfterMs: 600 } as typeof DEFAULT_TIMINGS }).timings.suspectGraceMs).toBe(DEFAULT_TIMINGS.suspectGraceMs)
  })

  it('refuses bad settings with a ConfigError naming the setting', () => {
    const bad: Array<[Parameters<typeof resolveConfig>[0], RegExp]> = [
      [{ maxClients: Number('ten') }, /maxClients/],
      [{ ratePerSec: 0 }, /ratePerSec/],
      [{ maxEventBytes: 100 }, /maxEventBytes/],
      [{ gateway: [] }, /gateway/],
      [{ listen: [] }, /listen/],
      [{ http: 'localhost' }, /http must be host:port/],
      [{ ackReplicas: -1 }, /ackReplicas/],
      // more rooms than every other node accepts from one peer would leave some of them unseen
      [{ maxCarriedRooms: 100_001 }, /maxCarriedRooms must be a whole number up to 100000/],
      [{ maxCarriedRooms: 0 }, /maxCarriedRooms/],
      [{ maxRoomMembers: 10_001 }, /maxRoomMembers must be a whole number up to 10000/],
      [{ retention: { maxAgeMs: -5, maxPerRoom: 0 } }, /retention.maxAgeMs/],
      [{ presenceGraceMs: -1 }, /presenceGraceMs/],
      [{ presenceGraceMs: 600_001 }, /presenceGraceMs/],
      [{ timings: { ...DEFAULT_TIMINGS, downAfterMs: 1000 } }, /downAfterMs/]
    ]
    for (const [partial, message] of bad) {
      let err: unknown
      try {
        resolveConfig(partial)
      } catch (e) {
        err = e
      }
      expect(err, `${JSON.stringify(partial)} is refused`).toBeInstanceOf(Error)
      expect((err as Error).name).toBe('ConfigError')
      expect((err as Error).message).toMatch(message)
    }
    expect(resolveConfig({ http: '[::1]:8080' }).http).toBe('[::1]:8080')
  })
})

describe('node settings: config file < environment < flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshchat-settings-'))
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = (name: string, text: string): string => {
    const p = join(dir, name)
    writeFileSync(p, text)
    return p
  }
  const refused = (fn: () => unknown): Error => {
    try {
      fn()
    } catch (err) {
      expect((err as Error).name).toBe('ConfigError')
      return err as Error
    }
    throw new Error('expected a ConfigError')
  }

  it('takes the file, then the environment, then flags', () => {
    const cfg = file('node.yaml', [
      'maxClients: 10',
      'ratePerSec: 5',
      'burst: 9',
      'listen: [/ip4/127.0.0.1/tcp/4101]',
      'dataDir: data',
      'meshKey: keys/swarm.key',
      'retention: { maxPerRoom: 7 }',
      'budgets:',
      '  join:',
      '    session: { ratePerSec: 1, burst: 3 }',
      'timings: { heartbeatMs: 400, downAfterMs: 1200 }',
      'log: { level: warn }'
    ].join('\n'))
    const fromFile = nodeSettings(['--config', cfg], {})
    expect(fromFile.file).toBe(cfg)
    expect(fromFile.config.maxClients).toBe(10)
    expect(fromFile.config.listen).toEqual(['/ip4/127.0.0.1/tcp/4101'])
    // relative paths in the file are relative to the file
    expect(fromFile.config.dataDir).toBe(join(dir, 'data'))
    expect(fromFile.config.meshKey).toBe(join(dir, 'keys', 'swarm.key'))
    // a partial mapping keeps the defaults beside it
    expect(fromFile.config.retention).toEqual({ maxAgeMs: DEFAULT_CONFIG.retention.maxAgeMs, maxPerRoom: 7 })
    expect(fromFile.config.budgets.join).toEqual({ session: { ratePerSec: 1, burst: 3 }, user: DEFAULT_BUDGETS.join.user })
    // the message budget follows the file's rate, and derived timings its heartbeat
    expect(fromFile.config.budgets.message.session).toEqual({ ratePerSec: 5, burst: 9 })
    expect(fromFile.config.timings.rebalanceDelayMs).toBe(200)
    expect(fromFile.log).toEqual({ level: 'warn', format: 'text' })
    // what the file does not say keeps the command line's defaults
    expect(fromFile.config.http).toBe(CLI_DEFAULTS.http)
    expect(fromFile.config.gateway).toEqual(CLI_DEFAULTS.gateway)

    const env = { MESHCHAT_MAX_CLIENTS: '20', MESHCHAT_LOG_LEVEL: 'debug', MESHCHAT_BOOTSTRAP: '/ip4/127.0.0.1/tcp/4000/p2p/a, /ip4/127.0.0.1/tcp/4001/p2p/b', MESHCHAT_HTTP: 'off' }
    const fromEnv = nodeSettings(['--config', cfg], env)
    expect(fromEnv.config.maxClients).toBe(20)
    expect(fromEnv.log.level).toBe('debug')
    expect(fromEnv.config.bootstrap).toEqual(['/ip4/127.0.0.1/tcp/4000/p2p/a', '/ip4/127.0.0.1/tcp/4001/p2p/b'])
    expect(fromEnv.config.http).toBeNull()
    expect(fromEnv.config.ratePerSec).toBe(5)

    const fromFlags = nodeSettings(['--config', cfg, '--max-clients', '30', '--log-level', 'error', '--json', '--http', '127.0.0.1:0', '--history-days', '2'], env)
    expect(fromFlags.config.maxClients).toBe(30)
    expect(fromFlags.log).toEqual({ level: 'error', format: 'json' })
    expect(fromFlags.config.http).toBe('127.0.0.1:0')
    expect(fromFlags.config.retention).toEqual({ maxAgeMs: 2 * 86_400_000, maxPerRoom: 7 })
    // the config file itself may come from the environment
    expect(nodeSettings([], { MESHCHAT_CONFIG: cfg }).config.maxClients).toBe(10)
  })

  it('without a file, runs on the command line defaults', () => {
    const s = nodeSettings([], {})
    expect(s.file).toBeUndefined()
    expect(s.config.listen).toEqual(CLI_DEFAULTS.listen)
    expect(s.config.http).toBe(CLI_DEFAULTS.http)
    expect(s.config.maxRoomsPerUser).toBe(DEFAULT_CONFIG.maxRoomsPerUser)
    expect(s.log).toEqual({ level: 'info', format: 'text' })
    expect(s.config.libp2pMetrics).toBe(true)
  })

  it('leaves libp2p\'s metrics out by flag, environment or file', () => {
    expect(nodeSettings(['--no-libp2p-metrics'], {}).config.libp2pMetrics).toBe(false)
    expect(nodeSettings([], { MESHCHAT_NO_LIBP2P_METRICS: '1' }).config.libp2pMetrics).toBe(false)
    expect(nodeSettings([], { MESHCHAT_NO_LIBP2P_METRICS: '0' }).config.libp2pMetrics).toBe(true)
    expect(nodeSettings(['--config', file('no-libp2p.yaml', 'libp2pMetrics: false\n')], {}).config.libp2pMetrics).toBe(false)
  })

  it('the example file is every default, and passes its own check', () => {
    const example = exampleConfig()
    const p = file('example.yaml', example)
    const fromExample = nodeSettings(['--config', p], {})
    const defaults = nodeSettings([], {})
    const { dataDir: _a, ...a } = fromExample.config
    const { dataDir: _b, ...b } = defaults.config
    expect(a).toEqual(b)
    expect(fromExample.log.level).toBe(defaults.log.level)
    // every setting of NodeConfig is in it
    for (const key of Object.keys(DEFAULT_CONFIG)) expect(example, `${key} in the example`).toMatch(new RegExp(`^${key}:`, 'm'))
  })

  it('refuses unknown keys and bad values, naming the key path', () => {
    const cases: Array<[string, RegExp]> = [
      ['maxClientz: 5', /maxClientz: unknown key/],
      ['budgets:\n  message:\n    sesion: { ratePerSec: 1, burst: 2 }', /budgets\.message\.sesion: unknown key/],
      ['budgets:\n  shout: { session: { ratePerSec: 1, burst: 2 } }', /budgets\.shout: unknown key/],
      ['timings: { heartbeatMs: fast }', /timings\.heartbeatMs: expected a number, got string/],
      ['listen: /ip4/0.0.0.0/tcp/4001', /listen: expected a list of strings, got string/],
      ['listen: [4001]', /listen\[0\]: expected a string, got number/],
      ['retention: 5', /retention: expected a mapping, got number/],
      ['tls: { certFile: a.pem, keyFile: a.key, ca: b.pem }', /tls\.ca: unknown key/],
      ['serveSourceMaps: yes please', /serveSourceMaps: expected boolean, got string/],
      ['log: { level: loud }', /log\.level must be one of/],
      ['maxClients: 0', /maxClients must be a positive number/],
      ['budgets:\n  join:\n    user: { ratePerSec: 1, burst: 0 }', /budgets\.join\.user needs/],
      ['http: localhost', /http must be host:port/],
      ['metricsListen: 9464', /metricsListen: expected string, got number/],
      ['metricsListen: "9464"', /metricsListen must be host:port/],
      ['- a\n- b', /the file: expected a mapping, got a list/],
      ['a: [\n', /not valid YAML/],
      ['maxClients: 1\nmaxClients: 2', /not valid YAML/]
    ]
    cases.forEach(([text, message], i) => {
      const p = file(`bad${i}.yaml`, text)
      const err = refused(() => nodeSettings(['--config', p], {}))
      expect(err.message, text).toMatch(message)
      expect(err.message, text).toContain(p)
    })
    expect(refused(() => nodeSettings(['--max-clients', 'ten'], {})).message).toMatch(/--max-clients \(or MESHCHAT_MAX_CLIENTS\): expected a number, got "ten"/)
    expect(refused(() => nodeSettings([], { MESHCHAT_HISTORY_DAYS: 'forever' })).message).toMatch(/MESHCHAT_HISTORY_DAYS/)
    expect(refused(() => nodeSettings(['--no-such-flag'], {})).message).toMatch(/no-such-flag/)
    expect(refused(() => nodeSettings(['--tls-cert', 'a.pem'], {})).message).toMatch(/go together/)
    expect(refused(() => nodeSettings(['--config', join(dir, 'missing.yaml')], {})).message).toMatch(/cannot read config file/)
    // an empty file sets nothing
    expect(nodeSettings(['--config', file('empty.yaml', '# nothing yet\n')], {}).config.maxClients).toBe(DEFAULT_CONFIG.maxClients)
  })
})
