/**
 * DM latency between two users on different nodes who share no room, so the recipient is found
 * only by user lookup (the directory): the time from `dm()` to the recipient's `dm` event, for
 * sequential DMs after a warm-up, on a 3-node mesh on 127.0.0.1. Prints p50/p90/p99 and writes JSON.
 *
 *   node dist/test/bench/dm-latency.js [count] [out.json]
 */
import { writeFileSync } from 'node:fs'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { DEFAULT_TIMINGS } from '../../node/src/config.js'

function quantile (sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
}

async function main (): Promise<void> {
  const count = Number(process.argv[2] ?? 300)
  const out = process.argv[3]
  const mesh = await startMesh(3, { timings: DEFAULT_TIMINGS, ratePerSec: 100_000, burst: 100_000 })
  try {
    await mesh.converged(3)
    const [a, b] = mesh.nodes
    const alice = await mesh.client(a!, 'alice')
    const bob = await mesh.client(b!, 'bob')
    const waiting = new Map<string, (at: number) => void>()
    bob.addEventListener('dm', e => { waiting.get(e.detail.text)?.(performance.now()) })
    const one = async (text: string): Promise<number> => {
      const got = new Promise<number>(resolve => { waiting.set(text, resolve) })
      const start = performance.now()
      await alice.dm(bob.userId, text)
      const at = await Promise.race([got, new Promise<number>((_resolve, reject) => setTimeout(() => { reject(new Error(`${text} not received in 10 s`)) }, 10_000))])
      waiting.delete(text)
      return at - start
    }
    await waitFor(async () => (await alice.dm(bob.userId, 'probe')).state === 'delivered', { timeoutMs: 20_000, what: 'a first DM delivered live' })
    for (let i = 0; i < 20; i++) await one(`warm ${i}`)
    const ms: number[] = []
    for (let i = 0; i < count; i++) ms.push(await one(`dm ${i}`))
    const sorted = [...ms].sort((x, y) => x - y)
    const result = { count, p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] }
    console.log(`DM send → receive over ${count} DMs: p50 ${result.p50.toFixed(2)} ms, p90 ${result.p90.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, max ${result.max?.toFixed(2)} ms`)
    if (out != null) writeFileSync(out, JSON.stringify(result, null, 2) + '\n')
  } finally {
    await mesh.stop()
  }
}

main().catch(err => {
  console.error(err)
  process.exitCode = 1
})
