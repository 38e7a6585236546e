import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { JitMap, perfFrame, perfScriptToProfile, PERF_HZ } from '../bench/lib/perf.js'
import { summarizeDir } from '../bench/lib/profile.js'

async function * linesOf (text: string): AsyncIterable<string> {
  for (const line of text.split('\n')) yield line
}

/** `perf script -F comm,tid,time,ip,sym` of one node process: leaf frame first, a blank line after each sample */
const SCRIPT = [
  // a loopback write: kernel frames under the stream binding's JS caller
  'MainThread 100 5000.000100: ',
  '\tffffffff81000001 tcp_sendmsg',
  '\t          5000aa node::StreamBase::Writev',
  "\t    7f0000000001 JS:*'writevGeneric node:internal/stream_base_commons:121:23",
  "\t    7f0000000002 JS:+'flush file:///repo/dist/node/src/gateway/ws-edge.js:44:7",
  '\t          160b983 uv_run',
  '',
  // an Ed25519 verification: native code under node:crypto
  'MainThread 100 5000.001100: ',
  '\t          7a0001 fe_mul',
  "\t    7f0000000003 JS:+'verifyOneShot node:internal/crypto/sig:259:23",
  "\t    7f0000000004 JS:~open file:///repo/dist/node/src/mesh/event-opener.js:58:15",
  '',
  // a scavenge on the main thread, under meshchat code
  'MainThread 100 5000.002100: ',
  '\t          be6fe5 v8::internal::ScavengerCollector::CollectGarbage',
  '\t          b0b92b v8::internal::Heap::Scavenge',
  "\t    7f0000000004 JS:~open file:///repo/dist/node/src/mesh/event-opener.js:58:15",
  '',
  // V8's helper thread at the same moment: GC
  'V8Worker 101 5000.002200: ',
  '\t          be7000 v8::internal::ConcurrentMarking::RunMajor',
  '\t          2724a start_thread',
  '',
  // the event loop waking with no JavaScript on the stack
  'MainThread 100 5000.003100: ',
  '\tffffffff813a4413 finish_task_switch.isra.0',
  '\t          108cae epoll_pwait',
  '',
  // the store's checkpoint worker: code evaluated from a string
  'WorkerThread 102 5000.004100: ',
  '\t          700001 sqlite3PagerWrite',
  "\t    7f0000000005 JS:^tick [worker eval]:7:15",
  '',
  // an anonymous function from a CommonJS path
  'MainThread 100 5000.005100: ',
  '\t    7f0000000006 JS:+ /repo/node_modules/ws/lib/sender.js:232:9',
  ''
].join('\n')

describe('perf on-CPU profiles', () => {
  it('parses JavaScript frames from a perf map, and names GC frames', () => {
    expect(perfFrame("JS:*'writevGeneric node:internal/stream_base_commons:121:23")).toEqual({ functionName: 'writevGeneric', url: 'node:internal/stream_base_commons', lineNumber: 121 })
    expect(perfFrame('JS:^ file:///a/node_modules/libp2p/dist/src/components.js:22:18')).toEqual({ functionName: '', url: 'file:///a/node_modules/libp2p/dist/src/components.js', lineNumber: 22 })
    expect(perfFrame('JS:+ /a/node_modules/prom-client/lib/histogram.js:232:9').url).toBe('file:///a/node_modules/prom-client/lib/histogram.js')
    expect(perfFrame('JS:^tick [worker eval]:7:15').url).toMatch(/\/node\/src\/store\/checkpointer\.js$/)
    expect(perfFrame('v8::internal::Heap::Scavenge+0x1b')).toEqual({ functionName: '(garbage collector)', url: '' })
    expect(perfFrame('tcp_sendmsg+0x3a')).toEqual({ functionName: 'tcp_sendmsg', url: '' })
  })

  it('names JIT code from the newest map entry where V8 reused the memory of freed code', async () => {
    const map = new JitMap([
      '7f0000001000 100 JS:*old file:///a/dist/node/src/mesh/rooms.js:1:1',
      '7f0000002000 40 JS:*other file:///a/dist/node/src/mesh/sync.js:1:1',
      // later: new code over part of the old function's range
      '7f0000001040 20 JS:*newer file:///a/node_modules/ws/lib/sender.js:5:1',
      ''
    ].join('\n'))
    expect(map.lookup(0x7f0000001010)).toBe('JS:*old file:///a/dist/node/src/mesh/rooms.js:1:1')
    expect(map.lookup(0x7f0000001050)).toBe('JS:*newer file:///a/node_modules/ws/lib/sender.js:5:1')
    expect(map.lookup(0x7f0000001070)).toBe('JS:*old file:///a/dist/node/src/mesh/rooms.js:1:1')
    expect(map.lookup(0x7f0000002010)).toBe('JS:*other file:///a/dist/node/src/mesh/sync.js:1:1')
    expect(map.lookup(0x7f0000003000)).toBeUndefined()

    // frames whose dso is the map are named by the resolver, whatever perf printed
    const p = await perfScriptToProfile(linesOf([
      'MainThread 42 10.000001: ',
      '\t    7f0000001050 JS:*old file:///a/dist/node/src/mesh/rooms.js:1:1 (/tmp/perf-42.map)',
      '\t          160b983 uv_run (/usr/bin/node)',
      ''
    ].join('\n')), (pid, ip) => pid === 42 ? map.lookup(ip) : undefined)
    const leaf = p.nodes.find(n => n.id === p.samples[0])
    expect(leaf?.callFrame).toEqual({ functionName: 'newer', url: 'file:///a/node_modules/ws/lib/sender.js', lineNumber: 5 })
  })

  it('builds a profile whose samples each last one period, in time order, and sums them per component', async () => {
    const p = await perfScriptToProfile(linesOf(SCRIPT))
    const period = Math.round(1e6 / PERF_HZ)
    expect(p.sampleUs).toBe(period)
    expect(p.samples).toHaveLength(7)
    expect(p.startTime).toBe(5000_000_100)
    expect(p.timeDeltas.reduce((a, b) => a + b, 0)).toBe(5000_005_100 - 5000_000_100)

    const dir = mkdtempSync(join(tmpdir(), 'perf-profile-'))
    try {
      writeFileSync(join(dir, '003-node0.cpuprofile'), JSON.stringify(p))
      const [all] = summarizeDir(dir)
      const ms = (c: string): number => all?.rows.find(r => r.component === c)?.ms ?? 0
      const one = period / 1000
      // every sample counts one period, not the gap to the next one
      expect(all?.busyMs).toBeCloseTo(7 * one, 1)
      expect(ms('socket')).toBeCloseTo(one, 1)
      expect(ms('ed25519')).toBeCloseTo(one, 1)
      expect(ms('gc')).toBeCloseTo(2 * one, 1)
      expect(ms('program')).toBeCloseTo(one, 1)
      expect(ms('sqlite')).toBeCloseTo(one, 1)
      expect(ms('ws')).toBeCloseTo(one, 1)
      expect(all?.idleMs).toBe(0)

      // a window takes the samples that start inside it, cut at its end: 1,001 + 900 + 800 µs
      const [w] = summarizeDir(dir, [{ label: 'w', fromUs: 5000_001_000, toUs: 5000_003_000 }])
      expect(w?.busyMs).toBeCloseTo((period + 900 + 800) / 1000, 1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
