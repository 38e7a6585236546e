/**
 * Resume and history on a big room (meshchat only): a room is filled with `fill` messages by writers
 * spread over the mesh while a reader attached to node 0 follows it; the reader's network is cut,
 * `missed` more messages are sent, and the reader comes back through node 1 only: the resume time
 * is from going back online to the last missed message shown (the node replays from the reader's
 * cursor before live traffic). Then a fresh client on each node pages the room's history backwards.
 */
import { Histogram, summarize } from '../lib/histogram.js'
import { LoadGen } from '../lib/loadgen-client.js'
import type { MeshchatCluster } from '../lib/meshchat-cluster.js'
import type { ResumeResult } from '../lib/loadgen-protocol.js'
import type { ProcRegistry } from '../lib/procs.js'

export interface ResumeReport {
  fill: number
  fillSec: number
  fillRate: number
  fillErrors: Record<string, number>
  readerGotFill: number
  missed: number
  gotMissed: number
  resumeMs: number
  reattachMs: number
  duplicates: number
  outOfOrder: number
  replayed: number
  /** events of the window before the reader's cursor on the node it came back to: not sent again (the reader held them all) and sent (meshchat_resume_slack_events_total) */
  windowHeld?: number
  windowSent?: number
  history: Array<{ node: string, limit: number, pages: number, p50Ms: number, p99Ms: number, maxMs: number, msgsPerSec: number }>
  raw: ResumeResult
}

export async function resumeScenario (reg: ProcRegistry, mesh: MeshchatCluster, opts: { fill: number, missed: number, writers: number, historyPages: number }): Promise<ResumeReport> {
  const gen = new LoadGen(reg, 'resume-gen')
  try {
    const n = mesh.size
    // the node the reader comes back to: what it did with the window before the reader's cursor (a
    // node without the metric leaves the column empty; one without samples yet has counted none)
    const window = async (): Promise<{ held: number, sent: number } | undefined> => {
      const m = await mesh.metrics(1 % n).catch(() => undefined)
      if (m == null) return undefined
      return { held: m.sum('meshchat_resume_slack_events_total', { outcome: 'held' }), sent: m.sum('meshchat_resume_slack_events_total', { outcome: 'sent' }) }
    }
    const w0 = await window()
    const r = await gen.resume({
      room: `history-${Date.now()}`,
      fill: opts.fill,
      missed: opts.missed,
      writers: opts.writers,
      writerAddrs: Array.from({ length: n }, (_, i) => mesh.clientAddr(i)),
      readerFrom: mesh.clientAddr(0),
      readerTo: mesh.clientAddr(1 % n),
      historyAddrs: Array.from({ length: n }, (_, i) => mesh.clientAddr(i)),
      historyPageSizes: [50, 500],
      historyPages: opts.historyPages
    })
    const w1 = await window()
    return {
      fill: opts.fill,
      fillSec: Math.round(r.fillMs / 100) / 10,
      fillRate: Math.round(r.fillRate),
      fillErrors: r.fillErrors,
      readerGotFill: r.readerGotFill,
      missed: r.missed,
      gotMissed: r.gotMissed,
      resumeMs: Math.round(r.resumeMs),
      reattachMs: Math.round(r.reattachMs),
      duplicates: r.duplicates,
      outOfOrder: r.outOfOrder,
      replayed: r.replayed,
      ...(w0 == null || w1 == null || w1.held + w1.sent === 0 ? {} : { windowHeld: w1.held - w0.held, windowSent: w1.sent - w0.sent }),
      history: r.history.map(h => {
        const s = summarize(Histogram.from(h.latency))
        return { node: `node${h.node}`, limit: h.limit, pages: h.pages, p50Ms: s.p50, p99Ms: s.p99, maxMs: s.max, msgsPerSec: Math.round(h.messages / (h.latency.sum / 1000)) }
      }),
      raw: r
    }
  } finally {
    await gen.stop()
  }
}
