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
