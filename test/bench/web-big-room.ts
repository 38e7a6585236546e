/**
 * The web app in a big room, in headless Chromium: `node dist/test/bench/web-big-room.js
 * [--members 50,1000,5000] [--churn 20] [--seconds 10]`. One node serves the app; the room's other
 * members are devices put straight into the node's presence (no client each), then churned: every
 * change takes one member out and puts a new one in, so the roster keeps its size and the page gets
 * a leave and a join diff per change. Per room size: the time from the join click to the members'
 * count on the page, and the page's main-thread busy time per second of churn (Chrome's
 * Performance.getMetrics: TaskDuration, of it ScriptDuration and Layout + RecalcStyle), with the
 * roster pane open. Then a busy room: a page open in a room while another member sends thousands of
 * messages, and what the page holds after them (DOM nodes, JS heap after a collection, message rows).
 * And the time to read a message of thousands of "@" for mentions in a room of 5,000 (the page's
 * code, run in Node). Prints the tables and writes test/bench/results/web-big-room.json.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { segments } from '../../client/web/rich-text.js'
import { startMesh, waitFor } from '../helpers/mesh.js'
import { addCrowd } from '../helpers/rooms.js'
import { WEB_ROOT, joinRoom, launchChromium, openApp } from '../e2e/app-driver.js'
import { REPO_ROOT } from './lib/procs.js'
import type { MeshchatNode } from '../../node/src/daemon.js'
import type { CDPSession } from 'playwright-core'

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '50,1000,5000' },
    churn: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '10' },
    messages: { type: 'string', default: '2000,8000' }
  }
})

interface Row {
  members: number
  churnPerSec: number
  seconds: number
  /** join click to the room open on the page (its title shown) */
  joinToOpenMs: number
  /** join click to the page showing the room's whole count */
  joinToCountMs: number
  /** member rows in the roster pane at the end */
  rowsDrawn: number
  /** main-thread busy, fraction of one core, over the churn window */
  busy: number
  script: number
  layoutAndStyle: number
}

interface BusyRow {
  messages: number
  /** message rows in the page at the end */
  rows: number
  domNodes: number
  /** JS heap used after HeapProfiler.collectGarbage, MiB */
  heapMiB: number
  /** the page's main thread per message received, ms */
  busyMsPerMessage: number
}

async function metrics (session: CDPSession): Promise<Record<string, number>> {
  const { metrics: list } = await session.send('Performance.getMetrics')
  return Object.fromEntries(list.map(m => [m.name, m.value]))
}

const sizes = String(values.members).split(',').map(Number)
const churn = Number(values.churn)
const seconds = Number(values.seconds)
const rows: Row[] = []
const busy: BusyRow[] = []
const browser = await launchChromium()
try {
  for (const size of sizes) {
    const startedAt = Date.now()
    const mesh = await startMesh(1, { http: '127.0.0.1:0', webRoot: WEB_ROOT })
    try {
      const node = mesh.nodes[0] as MeshchatNode
      const room = 'stadium'
      let next = 0
      const put = (): string => addCrowd(node, room, 1, { from: next++ })[0]?.device ?? ''
      const crowd = addCrowd(node, room, size).map(m => m.device)
      next = size
      await waitFor(() => node.presence.roster(room).length === size, { timeoutMs: 60_000, what: 'the crowd in the roster' })

      // a node up for less than two failure-detection windows lets a join into a room new to it wait
      // (up to a request timeout) for other nodes' history it may not have heard of yet: not this measure
      const settle = 2 * node.config.timings.downAfterMs + 500 - (Date.now() - startedAt)
      if (settle > 0) await new Promise(resolve => setTimeout(resolve, settle))
      const app = await openApp(browser, node.http?.url ?? '', 'watcher', { width: 1280, height: 800 })
      const session = await app.context.newCDPSession(app.page)
      await session.send('Performance.enable')
      const t0 = Date.now()
      await joinRoom(app, room)
      const joinedMs = Date.now() - t0
      await app.page.waitForFunction(n => document.querySelector('[data-testid="roster-count"]')?.textContent === String(n), size + 1, { timeout: 120_000 })
      const joinToCountMs = Date.now() - t0

      const before = await metrics(session)
      const started = Date.now()
      const total = Math.round(churn * seconds)
      for (let i = 0; i < total; i++) {
        const gone = crowd.shift()
        if (gone != null) node.presence.del(gone)
        crowd.push(put())
        const due = started + ((i + 1) * 1000) / churn
        await new Promise(resolve => setTimeout(resolve, Math.max(0, due - Date.now())))
      }
      const after = await metrics(session)
      const window = (Date.now() - started) / 1000
      const d = (k: string): number => ((after[k] ?? 0) - (before[k] ?? 0)) / window
      const rowsDrawn = await app.page.locator('[data-testid="roster-member"]').count()
      const row: Row = {
        members: size + 1,
        churnPerSec: churn,
        seconds: Math.round(window * 10) / 10,
        joinToOpenMs: joinedMs,
        joinToCountMs,
        rowsDrawn,
        busy: Math.round(d('TaskDuration') * 1000) / 1000,
        script: Math.round(d('ScriptDuration') * 1000) / 1000,
        layoutAndStyle: Math.round((d('LayoutDuration') + d('RecalcStyleDuration')) * 1000) / 1000
      }
      rows.push(row)
      console.log(`  ${row.members} members, ${churn} changes/s: join to open ${joinedMs} ms, to count ${joinToCountMs} ms, ${rowsDrawn} rows drawn, busy ${row.busy} (script ${row.script}, layout and style ${row.layoutAndStyle})`)
      await app.context.close()
    } finally {
      await mesh.stop()
    }
  }
  for (const count of String(values.messages).split(',').map(Number)) {
    const mesh = await startMesh(1, { http: '127.0.0.1:0', webRoot: WEB_ROOT, ratePerSec: 100_000, burst: 100_000 })
    try {
      const node = mesh.nodes[0] as MeshchatNode
      const app = await openApp(browser, node.http?.url ?? '', 'reader', { width: 1280, height: 800 })
      const session = await app.context.newCDPSession(app.page)
      await session.send('Performance.enable')
      await joinRoom(app, 'busy')
      const talker = await mesh.client(node, 'talker')
      await talker.join('busy')
      const before = await metrics(session)
      // a few in flight at a time, as a busy room sends them
      const text = (i: number): string => `message ${i} of a busy afternoon in a room with a lot to say`
      for (let i = 0; i < count; i += 20) await Promise.all(Array.from({ length: Math.min(20, count - i) }, async (_, j) => talker.send('busy', text(i + j))))
      await app.page.waitForFunction(t => [...document.querySelectorAll('[data-testid="message-text"]')].some(e => e.textContent === t), text(count - 1), { timeout: 300_000 })
      await session.send('HeapProfiler.collectGarbage')
      const after = await metrics(session)
      const row: BusyRow = {
        messages: count,
        rows: await app.page.locator('[data-testid="message"]').count(),
        domNodes: after.Nodes ?? 0,
        heapMiB: Math.round((after.JSHeapUsedSize ?? 0) / 1024 / 1024 * 10) / 10,
        busyMsPerMessage: Math.round(((after.TaskDuration ?? 0) - (before.TaskDuration ?? 0)) * 1000 / count * 100) / 100
      }
      busy.push(row)
      console.log(`  ${count} messages: ${row.rows} rows, ${row.domNodes} DOM nodes, ${row.heapMiB} MiB heap, ${row.busyMsPerMessage} ms of main thread per message`)
      await app.context.close()
    } finally {
      await mesh.stop()
    }
  }
} finally {
  await browser.close()
}

const table = [
  '| members | changes/s (a leave and a join each) | join → room open (ms) | join → count shown (ms) | member rows drawn | page main thread busy (cores) | of which script | of which layout and style |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(r => `| ${r.members.toLocaleString('en-US')} | ${r.churnPerSec} | ${r.joinToOpenMs.toLocaleString('en-US')} | ${r.joinToCountMs.toLocaleString('en-US')} | ${r.rowsDrawn.toLocaleString('en-US')} | ${r.busy} | ${r.script} | ${r.layoutAndStyle} |`)
].join('\n')
// reading a hostile message for mentions (the page's own code, run here): every "@" once looked at every member
const mentionRows = [1000, 16_000, 60_000].map(ats => {
  const members = Array.from({ length: 5000 }, (_, i) => ({ userId: `u${i}`, name: `fan ${i}` }))
  const text = '@'.repeat(ats)
  const t0 = performance.now()
  segments(text, members)
  return { ats, members: members.length, ms: Math.round(performance.now() - t0) }
})
const mentionTable = [
  '| "@" in one message | room members | time to split it into text and mentions (ms) |',
  '|---:|---:|---:|',
  ...mentionRows.map(r => `| ${r.ats.toLocaleString('en-US')} | ${r.members.toLocaleString('en-US')} | ${r.ms.toLocaleString('en-US')} |`)
].join('\n')
const busyTable = [
  '| messages received | message rows in the page | DOM nodes | JS heap after GC (MiB) | page main thread per message (ms) |',
  '|---:|---:|---:|---:|---:|',
  ...busy.map(r => `| ${r.messages.toLocaleString('en-US')} | ${r.rows.toLocaleString('en-US')} | ${r.domNodes.toLocaleString('en-US')} | ${r.heapMiB} | ${r.busyMsPerMessage} |`)
].join('\n')
console.log(`\n${table}\n\n${busyTable}\n\n${mentionTable}`)
writeFileSync(join(REPO_ROOT, 'test', 'bench', 'results', 'web-big-room.json'), JSON.stringify({ at: new Date().toISOString(), rows, table, busy, busyTable, mentions: mentionRows, mentionTable }, null, 2) + '\n')
