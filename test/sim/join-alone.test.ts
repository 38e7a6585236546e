import { afterEach, describe, expect, it } from 'vitest'
import { startMesh } from '../helpers/mesh.js'
import { TEST_TIMINGS } from '../../node/src/config.js'
import type { TestMesh } from '../helpers/mesh.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** `p`, or a rejection naming `what` once `ms` have passed */
async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: not done after ${ms} ms`)) }, ms) })])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A node with no other chat node takes up a room when its first member joins and tries to backfill
 * it from another copy; there is none. Once the node has been up long enough to have heard of any
 * other node, the join replays what is local at once instead of waiting for that backfill (which
 * keeps trying in the background, in case a node turns up).
 */
describe('a join on a node alone', () => {
  let mesh: TestMesh | undefined
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
  })

  it('does not wait for a backfill with nobody to ask', async () => {
    // the waits a join could be held by, made far longer than the deadlines below: the join's own
    // deadline for the backfill (requestTimeoutMs) and the backfill's retries (15 × catchUpDelayMs)
    const timings = { ...TEST_TIMINGS, requestTimeoutMs: 120_000, catchUpDelayMs: 20_000 }
    mesh = await startMesh(1, { timings })
    const node = mesh.nodes[0]!
    // up for longer than aloneAfterMs (2 × downAfterMs)
    await sleep(2 * timings.downAfterMs + 500)
    const alice = await mesh.client(node, 'alice')
    await within(alice.join('lonely'), 30_000, 'the first join of a room new to the node')
    await within(alice.send('lonely', 'first'), 30_000, 'a send')
    const bob = await mesh.client(node, 'bob')
    await within(bob.join('lonely', { backlog: 10 }), 30_000, 'a second join while the backfill still retries')
    const page = await within(bob.history('lonely', { limit: 10 }), 30_000, 'a history page')
    expect(page.messages.map(m => m.text)).toEqual(['first'])
  }, 120_000)
})
