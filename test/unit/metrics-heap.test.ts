import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { NodeMetrics } from '../../node/src/metrics.js'

/** a full collection on demand (the flag is set at run time, then `gc` taken from a fresh context) */
function fullGc (): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
}

async function liveBytes (m: NodeMetrics): Promise<number> {
  const text = await m.registry.metrics()
  const line = text.split('\n').find(l => l.startsWith('meshchat_heap_live_bytes '))
  expect(line).toBeDefined()
  return Number(line?.split(' ')[1])
}

describe('meshchat_heap_live_bytes', () => {
  it('reads the heap after a full collection, and follows what the process keeps', async () => {
    const m = new NodeMetrics()
    m.enableProcessMetrics('test')
    fullGc()
    await new Promise(resolve => setTimeout(resolve, 50))
    const before = await liveBytes(m)
    expect(before).toBeGreaterThan(0)

    // keep about 40 MB alive, then collect again: the figure rises by about that much
    const kept = Array.from({ length: 40 }, (_, i) => new Array<number>(128 * 1024).fill(i + 0.5))
    fullGc()
    await new Promise(resolve => setTimeout(resolve, 50))
    const held = await liveBytes(m)
    expect(held - before).toBeGreaterThan(30 * 1024 * 1024)
    expect(kept.length).toBe(40)

    // garbage made and dropped between two collections does not count
    for (let i = 0; i < 40; i++) new Array<number>(128 * 1024).fill(i + 0.5) // eslint-disable-line no-new
    fullGc()
    await new Promise(resolve => setTimeout(resolve, 50))
    const after = await liveBytes(m)
    expect(Math.abs(after - held)).toBeLessThan(10 * 1024 * 1024)
  })
})
