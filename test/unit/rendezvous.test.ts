import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { boundedLoadLimit, boundedLoadOwner, rendezvousOwners } from '../../node/src/state/rendezvous.js'

const nodeIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `node-${i}`)
const keys = Array.from({ length: 5000 }, (_, i) => `room-${i}`)

describe('rendezvousOwners', () => {
  it('is pinned to SHA-256 so every process and machine agrees', () => {
    // weight = first 8 bytes (big-endian) of sha256(`${utf8 length of key}:${key}${node}`)
    expect(rendezvousOwners('room:general', ['a', 'b', 'c', 'd', 'e'], 5)).toEqual(['d', 'a', 'e', 'c', 'b'])
    expect(rendezvousOwners('12D3KooWuser', ['node-1', 'node-2', 'node-3'], 3)).toEqual(['node-3', 'node-2', 'node-1'])
  })

  it('does not depend on the order or repetition of nodes', () => {
    const nodes = nodeIds(8)
    const expected = rendezvousOwners('k', nodes, 3)
    expect(rendezvousOwners('k', [...nodes].reverse(), 3)).toEqual(expected)
    expect(rendezvousOwners('k', [...nodes, ...nodes], 3)).toEqual(expected)
    expect(new Set(rendezvousOwners('k', [...nodes, ...nodes], 8)).size).toBe(8)
  })

  it('handles k out of range', () => {
    expect(rendezvousOwners('k', ['a', 'b'], 0)).toEqual([])
    expect(rendezvousOwners('k', ['a', 'b'], -1)).toEqual([])
    expect(rendezvousOwners('k', ['a', 'b'], 5)).toHaveLength(2)
    expect(rendezvousOwners('k', [], 2)).toEqual([])
  })

  it('keeps the relative order of surviving nodes: top-k only loses the removed node', () => {
    fc.assert(fc.property(fc.string(), fc.integer({ min: 2, max: 12 }), fc.nat(), (key, n, pick) => {
      const nodes = nodeIds(n)
      const removed = nodes[pick % n] ?? ''
      const full = rendezvousOwners(key, nodes, n)
      expect(rendezvousOwners(key, nodes.filter(id => id !== removed), n - 1)).toEqual(full.filter(id => id !== removed))
    }))
  })

  it('spreads keys evenly', () => {
    const nodes = nodeIds(10)
    const counts = new Map<string, number>()
    for (const key of keys) {
      const [owner] = rendezvousOwners(key, nodes, 1)
      counts.set(owner ?? '', (counts.get(owner ?? '') ?? 0) + 1)
    }
    for (const id of nodes) {
      expect(counts.get(id) ?? 0, `share of ${id}`).toBeGreaterThan(500 * 0.8)
      expect(counts.get(id) ?? 0, `share of ${id}`).toBeLessThan(500 * 1.2)
    }
  })

  it('moves only about 1/N of the keys, all to the new node, when a node is added', () => {
    const before = nodeIds(10)
    const after = [...before, 'node-new']
    let moved = 0
    for (const key of keys) {
      const [was] = rendezvousOwners(key, before, 1)
      const [is] = rendezvousOwners(key, after, 1)
      if (was !== is) {
        moved++
        expect(is, `${key} moved to the new node`).toBe('node-new')
      }
    }
    expect(moved / keys.length).toBeGreaterThan(1 / 11 * 0.75)
    expect(moved / keys.length).toBeLessThan(1 / 11 * 1.25)
  })

  it('moves only the removed node\'s keys when a node leaves, and keeps the other replica', () => {
    const before = nodeIds(10)
    const after = before.filter(id => id !== 'node-3')
    let moved = 0
    for (const key of keys) {
      const was = rendezvousOwners(key, before, 2)
      const is = rendezvousOwners(key, after, 2)
      if (!was.includes('node-3')) {
        expect(is, `${key} did not involve the removed node`).toEqual(was)
        continue
      }
      moved++
      for (const survivor of was.filter(id => id !== 'node-3')) {
        expect(is, `${key} keeps its surviving replica`).toContain(survivor)
      }
    }
    expect(moved / keys.length).toBeGreaterThan(2 / 10 * 0.75)
    expect(moved / keys.length).toBeLessThan(2 / 10 * 1.25)
  })
})

describe('boundedLoadOwner', () => {
  const loads = (entries: Array<[string, number, number?]>): Array<{ id: string, load: number, capacity: number }> =>
    entries.map(([id, load, capacity]) => ({ id, load, capacity: capacity ?? 1000 }))

  it('is the rendezvous owner when loads are even', () => {
    const nodes = nodeIds(5)
    for (const key of keys.slice(0, 200)) {
      expect(boundedLoadOwner(key, loads(nodes.map(id => [id, 3]))), key).toBe(rendezvousOwners(key, nodes, 1)[0])
    }
  })

  it('skips a node that would go over ceil((1 + epsilon) * mean)', () => {
    const [first, second] = rendezvousOwners('k', ['a', 'b', 'c'], 3)
    // total 12 → mean after placement 13/3, limit ceil(1.25 * 13/3) = 6
    const nodes = loads([['a', 0], ['b', 0], ['c', 0]]).map(n => ({ ...n, load: n.id === first ? 6 : 3 }))
    expect(boundedLoadLimit(12, 3, 0.25)).toBe(6)
    expect(boundedLoadOwner('k', nodes)).toBe(second)
    // a larger epsilon lets the first choice take it
    expect(boundedLoadOwner('k', nodes, { epsilon: 1 })).toBe(first)
  })

  it('skips nodes at capacity and returns undefined when none has any', () => {
    const [first, second] = rendezvousOwners('k', ['a', 'b'], 2)
    expect(boundedLoadOwner('k', loads([[first ?? '', 1, 1], [second ?? '', 0, 5]]))).toBe(second)
    expect(boundedLoadOwner('k', loads([['a', 1, 1], ['b', 2, 2]]))).toBeUndefined()
    expect(boundedLoadOwner('k', [])).toBeUndefined()
  })

  it('falls back to a node with capacity when the bound excludes all of them', () => {
    expect(boundedLoadOwner('k', loads([['empty-but-closed', 0, 0], ['busy', 10, 100]]))).toBe('busy')
  })

  it('rejects a negative epsilon', () => {
    expect(() => boundedLoadOwner('k', loads([['a', 0]]), { epsilon: -0.1 })).toThrow(RangeError)
  })

  it('property: placing keys one by one keeps every node within the bound', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 400 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, m, epsilon) => {
      const nodes = loads(nodeIds(n).map(id => [id, 0]))
      for (let i = 0; i < m; i++) {
        const total = i
        const owner = boundedLoadOwner(`key-${i}`, nodes, { epsilon })
        const node = nodes.find(x => x.id === owner)
        if (node === undefined) return expect.fail(`key-${i}: no owner`)
        node.load++
        expect(node.load, `key-${i}: ${owner} within the bound`).toBeLessThanOrEqual(boundedLoadLimit(total, n, epsilon))
      }
    }), { numRuns: 100 })
  })
})
