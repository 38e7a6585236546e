import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { logger } from '@libp2p/logger'
import { Debounced, Supervisor } from '../../node/src/supervisor.js'
import { addrsFor } from '../../node/src/gateway/hub.js'

describe('Debounced', () => {
  beforeEach(() => { vi.useFakeTimers({ now: 1_000_000 }) })
  afterEach(() => { vi.useRealTimers() })

  const supervisor = new Supervisor({ log: logger('meshchat:test:debounced') })

  /** the times (ms after the start) the job ran, for schedule() calls at the given times */
  function runs (askedAt: number[], burst?: number): number[] {
    const start = Date.now()
    const ran: number[] = []
    const d = new Debounced(supervisor, 'test', 10, () => { ran.push(Date.now() - start) }, burst == null ? undefined : { delayMs: burst, now: () => Date.now() })
    let t = 0
    for (const at of askedAt) {
      vi.advanceTimersByTime(at - t)
      t = at
      d.schedule()
    }
    vi.advanceTimersByTime(1000)
    return ran
  }

  it('runs once, its delay after the first ask, however often it is asked in between', () => {
    expect(runs([0, 1, 5, 9])).toEqual([10])
    expect(runs([0, 1, 11, 15, 30])).toEqual([10, 21, 40])
  })

  it('without a burst delay, a steady stream of asks runs at the short delay', () => {
    expect(runs([0, 12, 24, 36, 48, 60])).toEqual([10, 22, 34, 46, 58, 70])
  })

  it('with one, asks that keep coming soon after a run wait the longer delay; a lone ask still the short one', () => {
    // the first ask after a quiet spell goes out at 10 ms; one within 2 × 50 ms of that run waits 50
    expect(runs([0, 12, 24, 36, 48, 60, 72, 84], 50)).toEqual([10, 62, 122])
    // a run and then quiet for longer than 2 × 50 ms: the next ask is a lone one again
    expect(runs([0, 200, 400], 50)).toEqual([10, 210, 410])
  })

  it('cancel drops the pending run', () => {
    const ran: number[] = []
    const d = new Debounced(supervisor, 'test', 10, () => { ran.push(1) }, { delayMs: 50, now: () => Date.now() })
    d.schedule()
    d.cancel()
    vi.advanceTimersByTime(100)
    expect(ran).toEqual([])
    d.schedule()
    vi.advanceTimersByTime(10)
    expect(ran).toEqual([1])
  })
})

describe('addrsFor: the addresses a client of each edge is handed', () => {
  const addrs = [
    'ws://127.0.0.1:8080/ws',
    'WSS://chat.example.org/ws',
    '/ip4/127.0.0.1/tcp/9001/p2p/12D3KooWAxpCNFz3rHB1XwZ5RGj1oMdvkZnYWcS7uN5tEYEAu3Hw',
    '/dns4/chat.example.org/tcp/9001/p2p/12D3KooWAxpCNFz3rHB1XwZ5RGj1oMdvkZnYWcS7uN5tEYEAu3Hw',
    'http://127.0.0.1:8080'
  ]

  it('gives the light edge URLs and the libp2p gateway multiaddrs, in their order', () => {
    expect(addrsFor(addrs, 'ws')).toEqual([addrs[0], addrs[1]])
    expect(addrsFor(addrs, 'libp2p')).toEqual([addrs[2], addrs[3]])
    expect(addrsFor([], 'ws')).toEqual([])
  })

  it('answers the same list from its cache, and a new list afresh', () => {
    const first = addrsFor(addrs, 'ws')
    expect(addrsFor(addrs, 'ws')).toBe(first)
    const other = [addrs[2]!]
    expect(addrsFor(other, 'ws')).toEqual([])
    expect(addrsFor(other, 'libp2p')).toEqual([addrs[2]])
  })
})
