import { describe, expect, it } from 'vitest'
import { PingWheel } from '../../node/src/gateway/ping-wheel.js'
import { FEW_CONNECTIONS, pingStep } from '../../node/src/gateway/ws-edge.js'

/** one full turn of the wheel: how often each item came up, and the largest tick */
function turn<T> (wheel: PingWheel<T>): { seen: Map<T, number>, largest: number } {
  const seen = new Map<T, number>()
  let largest = 0
  for (let i = 0; i < wheel.slotCount; i++) {
    const due = wheel.tick()
    largest = Math.max(largest, due.length)
    for (const item of due) seen.set(item, (seen.get(item) ?? 0) + 1)
  }
  return { seen, largest }
}

describe('ping wheel', () => {
  it('visits every connection once per turn, a slice of them at each tick', () => {
    const wheel = new PingWheel<number>(300)
    for (let i = 0; i < 10_000; i++) wheel.add(i)
    for (let t = 0; t < 3; t++) {
      const { seen, largest } = turn(wheel)
      expect(seen.size).toBe(10_000)
      expect([...seen.values()].every(n => n === 1)).toBe(true)
      // 10,000 over 300 slots: no tick holds more than its share, rounded up
      expect(largest).toBe(Math.ceil(10_000 / 300))
    }
  })

  it('spreads connections that come in one burst, whenever the burst comes', () => {
    const wheel = new PingWheel<number>(100)
    for (let i = 0; i < 37; i++) wheel.tick()
    for (let i = 0; i < 1_000; i++) wheel.add(i)
    expect(turn(wheel).largest).toBe(10)
  })

  it('forgets a closed connection, and a due list can be changed while it is gone through', () => {
    const wheel = new PingWheel<string>(4)
    const slot = new Map<string, number>()
    for (const s of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) slot.set(s, wheel.add(s))
    expect([...slot.values()]).toEqual([0, 1, 2, 3, 0, 1, 2, 3])
    expect(wheel.size).toBe(8)
    expect(wheel.delete('c', slot.get('c')!)).toBe(true)
    expect(wheel.delete('c', slot.get('c')!)).toBe(false)
    expect(wheel.delete('d', 0)).toBe(false)
    expect(wheel.delete('d', 99)).toBe(false)
    const first = wheel.tick()
    expect(first).toEqual(['a', 'e'])
    for (const s of first) wheel.delete(s, slot.get(s)!)
    const { seen } = turn(wheel)
    expect([...seen.keys()].sort()).toEqual(['b', 'd', 'f', 'g', 'h'])
    expect(wheel.size).toBe(5)
  })

  it('makes one turn take the interval', () => {
    const thirty = PingWheel.forInterval(30_000)
    expect(thirty.wheel.slotCount).toBe(300)
    expect(thirty.tickMs).toBe(100)
    const short = PingWheel.forInterval(200)
    expect(short.wheel.slotCount * short.tickMs).toBe(200)
    const tiny = PingWheel.forInterval(30)
    expect(tiny.wheel.slotCount).toBe(1)
    expect(tiny.tickMs).toBe(30)
    const long = PingWheel.forInterval(3_600_000)
    expect(long.wheel.slotCount).toBe(600)
    expect(long.wheel.slotCount * long.tickMs).toBe(3_600_000)
    expect(() => new PingWheel(0)).toThrow(RangeError)
  })
})

describe('how fast the ping wheel turns', () => {
  it('no timer without connections, a second of slots at once while they are few, a slot a tick when many', () => {
    expect(pingStep(0, 10)).toBe(0)
    expect(pingStep(1, 10)).toBe(10)
    expect(pingStep(FEW_CONNECTIONS - 1, 10)).toBe(10)
    expect(pingStep(FEW_CONNECTIONS, 10)).toBe(1)
    expect(pingStep(10_000, 10)).toBe(1)
  })

  it('turned a second of slots at a time, every item is still visited once per turn of the wheel', () => {
    // 30 s in slots of 100 ms, ticks of 10 slots once a second
    const { wheel } = PingWheel.forInterval<number>(30_000)
    for (let i = 0; i < 700; i++) wheel.add(i)
    const seen = new Map<number, number>()
    for (let tick = 0; tick < 30; tick++) {
      for (let s = 0; s < pingStep(700, 10); s++) for (const item of wheel.tick()) seen.set(item, (seen.get(item) ?? 0) + 1)
    }
    expect(seen.size).toBe(700)
    expect([...seen.values()].every(n => n === 1)).toBe(true)
  })
})

describe('a ping wheel turned by the time elapsed', () => {
  it('turns a slot per tick of time elapsed, however late or irregular the calls, and loses none', () => {
    // 2 s in 20 slots of 100 ms
    const { wheel, tickMs } = PingWheel.forInterval<number>(2000)
    for (let i = 0; i < 40; i++) wheel.add(i)
    expect(wheel.due(10_000, tickMs)).toEqual([])
    const seen = new Map<number, number[]>()
    // calls at irregular moments over 4 s: every 1 s, then 100 ms, then a late 1.7 s, then bits
    for (const t of [11_000, 11_100, 11_150, 12_850, 13_000, 13_420, 14_000]) {
      for (const item of wheel.due(t, tickMs)) seen.set(item, [...(seen.get(item) ?? []), t])
    }
    // 4 s elapsed: two turns, each item twice, never twice within the same turn's time
    expect(seen.size).toBe(40)
    for (const times of seen.values()) expect(times).toHaveLength(2)
  })

  it('a call long after the last turns the wheel once, not once per missed turn', () => {
    const { wheel, tickMs } = PingWheel.forInterval<number>(1000)
    for (let i = 0; i < 5; i++) wheel.add(i)
    wheel.due(0, tickMs)
    expect(wheel.due(60_000, tickMs).sort()).toEqual([0, 1, 2, 3, 4])
    // and counts from there
    expect(wheel.due(60_050, tickMs)).toEqual([])
  })

  it('a paused wheel starts its count again at the next call', () => {
    const { wheel, tickMs } = PingWheel.forInterval<number>(1000)
    for (let i = 0; i < 10; i++) wheel.add(i)
    wheel.due(0, tickMs)
    expect(wheel.due(300, tickMs)).toHaveLength(3)
    wheel.pause()
    expect(wheel.due(5000, tickMs)).toEqual([])
    expect(wheel.due(5200, tickMs)).toHaveLength(2)
  })
})
