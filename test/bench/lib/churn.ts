/**
 * Reconnect churn for the presence sections: for `seconds`, clients close at `ratePerSec` and as many
 * new ones attach and join (the population held constant). Batches overlap, up to 8 in flight, so a
 * slow attach does not hold the rate down.
 */
import { sleep } from './procs.js'
import type { LoadGen } from './loadgen-client.js'
import type { UserSpec } from './loadgen-protocol.js'

/**
 * Churn the clients in `alive` (keys; the list is updated in place). `replace` gives the new clients
 * for the keys that leave. Resolves, once every batch is done, with the number of closes.
 */
export async function churnWindow (gen: LoadGen, alive: number[], o: { ratePerSec: number, seconds: number, replace: (leaving: number[]) => UserSpec[] }): Promise<number> {
  const end = Date.now() + o.seconds * 1000
  let debt = 0
  let last = Date.now()
  let churned = 0
  const inflight = new Set<Promise<void>>()
  while (Date.now() < end) {
    const t = Date.now()
    debt += o.ratePerSec * (t - last) / 1000
    last = t
    const n = Math.floor(debt)
    if (n > 0 && inflight.size < 8) {
      debt -= n
      const out = alive.splice(0, Math.min(n, alive.length))
      churned += out.length
      const fresh = o.replace(out)
      const p: Promise<void> = Promise.all([
        gen.close(out),
        gen.attach({ system: 'meshchat', users: fresh, concurrency: 20, join: true })
      ]).then(() => { alive.push(...fresh.map(s => s.key)) }).finally(() => { inflight.delete(p) })
      inflight.add(p)
    }
    await sleep(50)
  }
  await Promise.all(inflight)
  return churned
}
