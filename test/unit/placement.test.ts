import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decidePlacement, type NodeLoad } from '../../node/src/state/placement.js'
import { rendezvousOwners } from '../../node/src/state/rendezvous.js'

const node = (id: string, clients: number, maxClients = 1000, rooms: string[] = []): NodeLoad => ({ id, clients, maxClients, rooms })

describe('decidePlacement', () => {
  it('lists other nodes with room, lightest first by fill ratio, then by client count', () => {
    const nodes = [node('self', 10), node('a', 50, 100), node('b', 100, 1000), node('c', 100, 100), node('d', 5, 10)]
    expect(decidePlacement({ self: 'self', nodes, userId: 'u' })).toEqual({ alternates: ['b', 'd', 'a'] })
  })

  it('redirects when self is full', () => {
    const nodes = [node('self', 100, 100), node('a', 90, 100), node('b', 10, 100)]
    expect(decidePlacement({ self: 'self', nodes, userId: 'u' })).toEqual({ redirect: 'b', reason: 'full', alternates: ['b', 'a'] })
  })

  it('stays when self is full but no other node has room', () => {
    const nodes = [node('self', 100, 100), node('a', 100, 100)]
    expect(decidePlacement({ self: 'self', nodes, userId: 'u' })).toEqual({ alternates: [] })
  })

  it('redirects when self is well above the mean and far above the target', () => {
    const nodes = [node('self', 100), node('a', 10), node('b', 20)]
    expect(decidePlacement({ self: 'self', nodes, userId: 'u' })).toEqual({ redirect: 'a', reason: 'overloaded', alternates: ['a', 'b'] })
  })

  it('does not bounce clients around a tiny mesh', () => {
    // 3 > 1.5 * mean (1.5) but only 3 clients apart
    const nodes = [node('self', 3), node('a', 0)]
    expect(decidePlacement({ self: 'self', nodes, userId: 'u' }).redirect).toBeUndefined()
    expect(decidePlacement({ self: 'self', nodes, userId: 'u', minSpread: 3 }).reason).toBe('overloaded')
  })

  it('stays when not above the overload factor', () => {
    const nodes = [node('self', 140), node('a', 100), node('b', 60)]
    expect(decidePlacement({ self: 'self', nodes, userId: 'u' }).redirect).toBeUndefined()
    expect(decidePlacement({ self: 'self', nodes, userId: 'u', overloadFactor: 1.3 }).reason).toBe('overloaded')
  })

  it('moves a client to the node hosting most of its rooms', () => {
    const nodes = [node('self', 10, 1000, ['r1']), node('a', 10, 1000, ['r1', 'r2', 'r3']), node('b', 10, 1000, ['r2'])]
    const rooms = ['r1', 'r2', 'r3']
    expect(decidePlacement({ self: 'self', nodes, userId: 'u', rooms, affinity: true })).toEqual({ redirect: 'a', reason: 'affinity', alternates: ['a', 'b'] })
    expect(decidePlacement({ self: 'self', nodes, userId: 'u', rooms }).redirect).toBeUndefined()
    expect(decidePlacement({ self: 'self', nodes, userId: 'u', rooms: [], affinity: true }).redirect).toBeUndefined()
  })

  it('stays for affinity unless another node is strictly better than self', () => {
    const nodes = [node('self', 10, 1000, ['r1', 'r2']), node('a', 10, 1000, ['r1', 'r2'])]
    expect(decidePlacement({ self: 'self', nodes, userId: 'u', rooms: ['r1', 'r2'], affinity: true }).redirect).toBeUndefined()
  })

  it('counts each room once', () => {
    const nodes = [node('self', 10, 1000, ['r1', 'r2']), node('a', 10, 1000, ['r1', 'r1', 'r1'])]
    expect(decidePlacement({ self: 'self', nodes, userId: 'u', rooms: ['r1', 'r1', 'r2'], affinity: true }).redirect).toBeUndefined()
  })

  it('passes over an affinity node above the bounded load, and one without room', () => {
    const rooms = ['r1', 'r2', 'r3']
    // mean after placement (100 + 10 + 10 + 1) / 3 ≈ 40.3, limit ceil(1.25 * 40.3) = 51: 'hot' is out
    const nodes = [node('self', 10), node('hot', 100, 1000, rooms), node('warm', 10, 1000, ['r1', 'r2'])]
    expect(decidePlacement({ self: 'self', nodes, userId: 'u', rooms, affinity: true })).toMatchObject({ redirect: 'warm', reason: 'affinity' })
    const closed = [node('self', 10), node('a', 10, 10, rooms), node('b', 10, 1000, ['r1'])]
    expect(decidePlacement({ self: 'self', nodes: closed, userId: 'u', rooms, affinity: true })).toMatchObject({ redirect: 'b', reason: 'affinity' })
  })

  it('in a small mesh, a node within minSpread clients of the lightest is never too loaded for affinity', () => {
    // two members of the room on c, nobody elsewhere: the bounded load limit (ceil(1.25 * 3 / 3) = 2)
    // alone would pass c over, but c is only 2 clients above the lightest node
    const nodes = [node('a', 0), node('b', 0), node('c', 2, 1000, ['team'])]
    expect(decidePlacement({ self: 'a', nodes, userId: 'u', rooms: ['team'], affinity: true })).toMatchObject({ redirect: 'c', reason: 'affinity' })
    expect(decidePlacement({ self: 'a', nodes, userId: 'u', rooms: ['team'], affinity: true, minSpread: 1 }).redirect).toBeUndefined()
  })

  it('breaks affinity ties by the rendezvous order of the user id', () => {
    const rooms = ['r1', 'r2']
    const nodes = [node('self', 10), node('a', 10, 1000, rooms), node('b', 10, 1000, rooms), node('c', 10, 1000, rooms)]
    for (const userId of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      const expected = rendezvousOwners(userId, ['self', 'a', 'b', 'c'], 4).find(id => id !== 'self')
      expect(decidePlacement({ self: 'self', nodes, userId, rooms, affinity: true }).redirect, userId).toBe(expected)
    }
  })

  it('sends a client shed for load to its affinity node when there is one', () => {
    const nodes = [node('self', 100, 100, ['r1']), node('light', 0, 100), node('rooms', 30, 100, ['r1', 'r2'])]
    expect(decidePlacement({ self: 'self', nodes, userId: 'u', rooms: ['r1', 'r2'], affinity: true })).toEqual({ redirect: 'rooms', reason: 'full', alternates: ['light', 'rooms'] })
  })

  it('never redirects when self is unknown', () => {
    expect(decidePlacement({ self: 'self', nodes: [node('a', 0)], userId: 'u' })).toEqual({ alternates: ['a'] })
  })

  it('property: a redirect always points at another node with room, listed among the alternates', () => {
    const load = fc.record({ clients: fc.integer({ min: 0, max: 200 }), maxClients: fc.integer({ min: 1, max: 200 }), rooms: fc.subarray(['r1', 'r2', 'r3', 'r4']) })
    fc.assert(fc.property(fc.array(load, { minLength: 1, maxLength: 8 }), fc.subarray(['r1', 'r2', 'r3', 'r4']), fc.boolean(), (loads, rooms, affinity) => {
      const nodes = loads.map((l, i) => ({ id: i === 0 ? 'self' : `n${i}`, ...l }))
      const placement = decidePlacement({ self: 'self', nodes, userId: 'u', rooms, affinity })
      expect(placement.alternates).not.toContain('self')
      if (placement.redirect === undefined) {
        expect(placement.reason).toBeUndefined()
        return
      }
      const target = nodes.find(n => n.id === placement.redirect)
      expect(target?.id).not.toBe('self')
      expect(target !== undefined && target.clients < target.maxClients).toBe(true)
      expect(placement.alternates).toContain(placement.redirect)
    }), { numRuns: 300 })
  })
})
