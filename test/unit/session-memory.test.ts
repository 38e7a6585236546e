import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, describe, expect, it } from 'vitest'
import { ClientSession } from '../../node/src/gateway/session.js'
import { SessionRegistry } from '../../node/src/gateway/registry.js'
import { DEFAULT_BUDGETS } from '../../node/src/state/budgets.js'
import type { SessionHost } from '../../node/src/gateway/session.js'
import type { StampedEvent } from '../../node/src/mesh/peer-events.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const quiet = Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {}, newScope: () => quiet })

function session (n: number): ClientSession {
  return new ClientSession({
    id: `s${n}`,
    userId: `user${n}`,
    host: {} as unknown as SessionHost,
    log: quiet as never,
    budgets: DEFAULT_BUDGETS,
    helloTimeoutMs: 600_000,
    transport: { send: () => {}, close: () => {} }
  })
}

function stamped (n: number): StampedEvent {
  return { event: new Uint8Array([n]), hlc: BigInt(n), origin: 'node' }
}

describe('what an idle session costs', () => {
  const made: ClientSession[] = []
  afterEach(() => {
    for (const s of made.splice(0)) s.close()
  })

  it('holds no per-room, per-watch or per-DM table until it has an entry for one', () => {
    gc()
    const before = process.memoryUsage().heapUsed
    for (let i = 0; i < 5_000; i++) made.push(session(i))
    gc()
    const perSession = (process.memoryUsage().heapUsed - before) / made.length
    // the session object, its budget holder and its hello timer; an empty Map or Set is another
    // 150–185 B, and seven of them (rooms, floors, watches, pending DMs, held deliveries, budget
    // buckets, and two rate buckets made up front) came to about 1.2 KB a session
    expect(perSession).toBeLessThan(1_000)
  })

  it('keeps rooms and floors through the registry, and lets them go with the last room', () => {
    const registry = new SessionRegistry()
    const s = session(1)
    made.push(s)
    registry.add(s)
    expect(s.rooms.size).toBe(0)
    expect(registry.join(s, 'a')).toBe(true)
    expect(registry.join(s, 'b')).toBe(true)
    s.setFloor('a', 10n)
    s.setFloor('b', 20n)
    expect([...s.rooms].sort()).toEqual(['a', 'b'])
    expect(s.floors.get('a')).toBe(10n)
    expect(registry.leave(s, 'a')).toBe(true)
    expect([...s.rooms]).toEqual(['b'])
    expect(s.floors.has('a')).toBe(false)
    expect(s.floors.get('b')).toBe(20n)
    expect(registry.remove(s)).toEqual(['b'])
    expect(s.rooms.size).toBe(0)
    expect(s.floors.size).toBe(0)
    // a session that has no rooms reads the same empty set as every other: nothing to write through
    expect(session(2).rooms).toBe(s.rooms)
  })

  it('keeps unacknowledged DMs until they are acked or taken', () => {
    const s = session(1)
    made.push(s)
    expect(s.pendingDmCount).toBe(0)
    expect(s.takePendingDms()).toEqual([])
    s.pendingDm('x', stamped(1))
    s.pendingDm('y', stamped(2))
    s.pendingDm('z', stamped(3))
    s.ackedDm('y')
    s.ackedDm('never sent')
    expect(s.pendingDmCount).toBe(2)
    expect(s.takePendingDms().map(e => e.hlc)).toEqual([1n, 3n])
    expect(s.pendingDmCount).toBe(0)
    expect(s.takePendingDms()).toEqual([])
  })
})
