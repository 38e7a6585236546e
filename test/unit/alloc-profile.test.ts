import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { allocTable, readHeapProfile, summarizeAlloc } from '../bench/lib/alloc-profile.js'
import type { HeapProfile, HeapProfileNode } from '../bench/lib/alloc-profile.js'

let nextId = 1
/** a frame of a heap profile, with its children */
function frame (functionName: string, url: string, selfSize: number, children: HeapProfileNode[] = []): HeapProfileNode {
  return { id: nextId++, callFrame: { functionName, url, lineNumber: 1 }, selfSize, children }
}

const ROOT = 'file:///srv/meshchat/dist'

/** a node that allocates in its session writes, in its store, and in a Node internal called by a data link */
function profile (): HeapProfile {
  return {
    head: frame('(root)', '', 0, [
      frame('flush', `${ROOT}/node/src/gateway/ws-edge.js`, 4000, [
        frame('send', 'file:///srv/meshchat/node_modules/ws/lib/sender.js', 3000),
        frame('allocUnsafe', 'node:buffer', 1000)
      ]),
      frame('insertMany', `${ROOT}/node/src/store/message-store.js`, 500),
      frame('write', `${ROOT}/node/src/mesh/data-link.js`, 0, [
        frame('allocUnsafe', 'node:buffer', 1500)
      ])
    ])
  }
}

describe('allocation profiles by component', () => {
  it('sums the bytes per component, a Node internal counted for its caller, and per delivery', () => {
    const t = summarizeAlloc([profile()], 'one node', { deliveries: 10, top: 3 })
    expect(t.totalBytes).toBe(10_000)
    expect(t.bytesPerDelivery).toBe(1000)
    const by = Object.fromEntries(t.rows.map(r => [r.label, r.bytes]))
    // ws-edge.js and the ws package are the WebSocket edge, and so is the buffer ws-edge allocates
    expect(by['WebSocket edge']).toBe(8000)
    expect(by['rooms, archive, DMs, sync']).toBe(1500)
    expect(by.SQLite).toBe(500)
    expect(t.rows.map(r => r.label)).toEqual(['WebSocket edge', 'rooms, archive, DMs, sync', 'SQLite'])
    expect(t.rows[0]?.pct).toBeCloseTo(80)
    expect(t.rows[0]?.bytesPerDelivery).toBe(800)
    // the same function under two callers is two rows: allocUnsafe for the edge and for the link
    expect(t.top.map(r => [r.fn, r.component, r.bytes])).toEqual([
      ['flush', 'WebSocket edge', 4000],
      ['send', 'WebSocket edge', 3000],
      ['allocUnsafe', 'rooms, archive, DMs, sync', 1500]
    ])
  })

  it('adds several profiles together, and prints a table', () => {
    const t = summarizeAlloc([profile(), profile()], 'two nodes')
    expect(t.totalBytes).toBe(20_000)
    expect(t.bytesPerDelivery).toBeUndefined()
    const md = allocTable(t)
    expect(md).toContain('**two nodes**')
    expect(md).toContain('| WebSocket edge |')
    expect(md).not.toContain('B per delivery')
  })

  it('refuses a file that is not a heap profile (a CPU profile, a result file), naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alloc-profile-'))
    try {
      const cpu = join(dir, 'node0.cpuprofile')
      writeFileSync(cpu, JSON.stringify({ nodes: [], samples: [], timeDeltas: [] }))
      expect(() => readHeapProfile(cpu)).toThrow(/node0\.cpuprofile is not a sampling heap profile/)
      const heap = join(dir, 'n.heapprofile')
      writeFileSync(heap, JSON.stringify(profile()))
      expect(summarizeAlloc([readHeapProfile(heap)], 'read back').totalBytes).toBe(10_000)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
