/**
 * The presence part of the scaling model (test/bench/model.ts): the fits it takes from the
 * presence-scale rows, the files it reads, and what it prints when a measurement is missing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { fitPresence, lineOverN, loadPresenceInputs, model, type ModelResults, type PresenceScaleRow } from '../bench/model.js'

/** rows as a mesh with known costs would measure them */
function rows (c: { h: number, p: number, dirH: number, dirP: number, hb: number, presence?: number }): PresenceScaleRow[] {
  const out: PresenceScaleRow[] = []
  for (const nodes of [2, 4, 8]) {
    for (const churn of [10, 50]) {
      const perNode = churn / nodes
      const dir = perNode * (c.dirH + c.dirP * nodes)
      out.push({
        nodes,
        users: 320,
        rooms: 32,
        churnTarget: churn,
        churnPerSec: churn,
        // every room on one node: each node holds its own devices once, plus every room's host pair
        entriesPerNode: 320 / nodes + 32,
        hostPairsPerNode: 32,
        presenceBytesInPerSec: c.hb * (nodes - 1) + dir,
        roomBytesInPerSec: 0,
        directoryBytesInPerSec: dir,
        ...(c.presence == null ? {} : { presenceCpuPerNode: 0.001 + perNode * c.presence }),
        idleCpuPerNode: 0.04,
        churnCpuPerNode: 0.04 + perNode * (c.h + c.p * nodes)
      })
    }
  }
  return out
}

const emptyRun: ModelResults = { attach: [], steps: [], presence: [], machine: { cpu: 'test', cores: 2, date: '2026-11-30T00:00:00Z' }, kind: 'test' }

describe('lineOverN', () => {
  it('recovers a line through the points', () => {
    const l = lineOverN([{ n: 2, v: 10 }, { n: 4, v: 20 }, { n: 8, v: 40 }])
    expect(l.h).toBeCloseTo(0, 9)
    expect(l.p).toBeCloseTo(5, 9)
  })

  it('never gives a cost that falls as nodes are added: the slope is clamped at zero and the line is the mean', () => {
    const l = lineOverN([{ n: 2, v: 30 }, { n: 8, v: 10 }])
    expect(l.p).toBe(0)
    expect(l.h).toBeCloseTo(20, 9)
  })

  it('is flat through a single point and NaN without one', () => {
    expect(lineOverN([{ n: 4, v: 7 }])).toEqual({ h: 7, p: 0 })
    expect(Number.isNaN(lineOverN([]).h)).toBe(true)
  })
})

describe('fitPresence', () => {
  it('recovers the per-reconnect CPU, directory bytes and heartbeat payload the rows were made from', () => {
    const fit = fitPresence(rows({ h: 0.003, p: 0.002, dirH: 300, dirP: 50, hb: 160, presence: 0.0005 }))
    expect(fit.sizes).toEqual([2, 4, 8])
    expect(fit.rates).toEqual([10, 50])
    expect(fit.cpuPerReconnectLine.h).toBeCloseTo(0.003, 6)
    expect(fit.cpuPerReconnectLine.p).toBeCloseTo(0.002, 6)
    expect(fit.cpuPerReconnect).toBeCloseTo(0.003 + 0.002 * 8, 6)
    expect(fit.dirBytes.h).toBeCloseTo(300, 6)
    expect(fit.dirBytes.p).toBeCloseTo(50, 6)
    expect(fit.hbPayloadPerPeer).toBeCloseTo(160, 6)
    expect(fit.recordsPerOwnDeviceRoom).toBeCloseTo(1, 9)
    expect(fit.roomBytesPerReconnect).toBe(0)
    // two churn rates per size: presence CPU is a slope, its fixed part (heartbeats) left out
    expect(fit.presenceCpuIsSlope).toBe(true)
    expect(fit.presenceCpuPerReconnect).toBeCloseTo(0.0005, 6)
  })

  it('leaves presence CPU and directory bytes unmeasured when the rows do not carry them', () => {
    const old = rows({ h: 0.003, p: 0, dirH: 0, dirP: 0, hb: 390 }).map(({ directoryBytesInPerSec: _d, presenceCpuPerNode: _p, ...r }) => r)
    const fit = fitPresence(old)
    expect(Number.isNaN(fit.presenceCpuPerReconnect)).toBe(true)
    expect(fit.dirBytesByN).toEqual([])
    expect(fit.cpuPerReconnectLine.p).toBeCloseTo(0, 9)
    expect(fit.cpuPerReconnectLine.h).toBeCloseTo(0.003, 6)
  })
})

/** rows whose CPU and directory bytes per reconnect follow the directory requests per reconnect, r(N) */
function requestRows (c: { h: number, q: number, bytesPerRequest: number, r: Record<number, number> }): PresenceScaleRow[] {
  return rows({ h: 0, p: 0, dirH: 0, dirP: 0, hb: 160, presence: 0.0005 }).map(row => {
    const r = c.r[row.nodes] ?? NaN
    const perNode = row.churnPerSec / row.nodes
    const dir = perNode * c.bytesPerRequest * r
    return { ...row, directoryRequestsPerReconnect: r, directoryBytesInPerSec: dir, presenceBytesInPerSec: 160 * (row.nodes - 1) + dir, churnCpuPerNode: row.idleCpuPerNode + perNode * (c.h + c.q * r) }
  })
}

describe('fitPresence over directory requests', () => {
  it('recovers c_r = h + q·r and the payload per request from rows that carry the requests per reconnect', () => {
    const fit = fitPresence(requestRows({ h: 0.003, q: 0.0015, bytesPerRequest: 140, r: { 2: 0.9, 4: 2.2, 8: 3.1 } }))
    expect(fit.requestsByN).toEqual([{ n: 2, v: 0.9 }, { n: 4, v: 2.2 }, { n: 8, v: 3.1 }])
    expect(fit.cpuOverRequests.h).toBeCloseTo(0.003, 6)
    expect(fit.cpuOverRequests.p).toBeCloseTo(0.0015, 6)
    expect(fit.dirBytesPerRequest).toBeCloseTo(140, 6)
  })

  it('has no such fit for rows without the requests, and the model then reads the reconnect cost as a line over N', () => {
    const fit = fitPresence(rows({ h: 0.003, p: 0.001, dirH: 200, dirP: 10, hb: 160, presence: 0.0005 }))
    expect(fit.requestsByN).toEqual([])
    expect(Number.isNaN(fit.cpuOverRequests.h)).toBe(true)
    const out = model(emptyRun, { scale: { rows: rows({ h: 0.003, p: 0.001, dirH: 200, dirP: 10, hb: 160, presence: 0.0005 }) }, scaleFrom: 'presence-scale.json' })
    expect(out).toContain('| c_r(N) = h + p·N: process CPU per reconnect, mesh-wide (session, key proof, join, room presence, directory) | h 3.0 ms, p 1.00 ms per node |')
    expect(out).not.toContain('h + q·r(N)')
  })

  it('the model takes r(N) = 2·K·(N − 1)/N for the mesh it sizes, and keeps the line over N as a sensitivity row', () => {
    const out = model(emptyRun, { scale: { rows: requestRows({ h: 0.003, q: 0.0015, bytesPerRequest: 140, r: { 2: 0.9, 4: 2.2, 8: 3.1 } }) }, scaleFrom: 'presence-scale.json' })
    expect(out).toContain('| c_r(N) = h + q·r(N): process CPU per reconnect, mesh-wide (session, key proof, join, room presence, directory) | h 3.0 ms, q 1.5 ms per directory request |')
    expect(out).toContain('| b_dir(N) = b_req · r(N): directory payload per reconnect, mesh-wide | b_req 140 B per request |')
    expect(out).toContain('3.96 at 100 nodes, below 2·K = 4 at any N')
    expect(out).toMatch(/\| cost per reconnect on the line h \+ p·N through the measured sizes/)
  })
})

describe('loadPresenceInputs', () => {
  let dir: string | undefined
  afterEach(() => { if (dir != null) rmSync(dir, { recursive: true, force: true }) })

  it('prefers the files next to the results file, and passes over a file it cannot use', () => {
    dir = mkdtempSync(join(tmpdir(), 'meshchat-model-'))
    const results = join(dir, 'run.json')
    writeFileSync(join(dir, 'presence-scale.json'), JSON.stringify({ at: '2026-11-30T21:00:00Z', rows: rows({ h: 0.001, p: 0, dirH: 0, dirP: 0, hb: 100 }) }))
    writeFileSync(join(dir, 'room-presence-memory.json'), '{ not json')
    const got = loadPresenceInputs(results)
    expect(got.scaleFrom).toBe(join(dir, 'presence-scale.json'))
    expect(got.scale?.rows).toHaveLength(6)
    expect(got.memoryFrom).not.toBe(join(dir, 'room-presence-memory.json'))
  })
})

describe('model', () => {
  it('says "not measured" for presence figures it has no file for, and prints the rest without them', () => {
    const out = model(emptyRun, {})
    expect(out).toContain('presence-scale.json not found: not measured')
    expect(out).toMatch(/\| e_rp: room presence, heap per held device record \| not measured \|/)
    // the run has no chat or client figures either: no node count is claimed
    expect(out).toMatch(/\| nodes \| n\/a \|/)
  })

  it('computes per-node presence memory from the measured record sizes', () => {
    const out = model(emptyRun, {
      scale: { rows: rows({ h: 0.003, p: 0, dirH: 200, dirP: 0, hb: 160, presence: 0.0005 }) },
      scaleFrom: 'presence-scale.json',
      memory: { roomPresence: { bytesPerDevice: 567 }, hosts: { bytesPerPair: 121 } },
      memoryFrom: 'room-presence-memory.json'
    })
    // 1,000,000 users × 2 rooms × (1 + 2) / 100 nodes × 567 B; 200,000 rooms × 2 × 121 B; (20,000 + 5,000) × 567 B
    expect(out).toContain(`| ${(1_000_000 * 2 * 3 / 100 * 567 / 1024 ** 2).toFixed(1)} MiB |`)
    expect(out).toContain(`| ${(200_000 * 2 * 121 / 1024 ** 2).toFixed(1)} MiB |`)
    expect(out).toContain(`| ${(25_000 * 567 / 1024 ** 2).toFixed(1)} MiB |`)
    expect(out).toContain('567 B (not measured: e_rp stands in, the same fields)')
  })
})
