import { describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG, DEFAULT_TIMINGS, resolveConfig } from '../../node/src/config.js'

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
      [{ retention: { maxAgeMs: -5, maxPerRoom: 0 } }, /retention.maxAgeMs/],
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
