import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ConvergenceReport } from '../bench/lib/presence-convergence.js'

const SCRIPT = fileURLToPath(new URL('../../dist/test/bench/presence-convergence.js', import.meta.url))

/** the compiled benchmark script as a process: exit code and output */
async function run (args: string[], timeoutMs: number): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const proc = spawn(process.execPath, [SCRIPT, ...args], { stdio: 'pipe' })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => { proc.kill('SIGKILL') }, timeoutMs)
  try {
    const code = await new Promise<number | null>(resolve => { proc.on('close', c => { resolve(c) }) })
    return { code, stdout, stderr }
  } finally {
    clearTimeout(timer)
  }
}

describe('presence-convergence benchmark script', () => {
  it('refuses bad counts with a usage message and writes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'presence-convergence-'))
    try {
      for (const args of [['--reps', '0'], ['--joins', 'many'], ['--reps', '2.5'], ['--what']]) {
        const r = await run([...args, '--out', join(dir, 'out.json')], 30_000)
        expect(r.code, `exit code for ${args.join(' ')}`).toBe(2)
        expect(r.stderr, `message for ${args.join(' ')}`).toContain('usage: node dist/test/bench/presence-convergence.js')
      }
      await expect(readFile(join(dir, 'out.json'), 'utf8')).rejects.toThrow(/ENOENT/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('measures join, crash and heal on a real 5-node mesh and writes every sample', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'presence-convergence-'))
    try {
      const out = join(dir, 'figures.json')
      // a generous deadline for a loaded 2-core machine: the script itself gives up on any state after 30 s
      const r = await run(['--joins', '3', '--reps', '1', '--out', out], 170_000)
      expect(r.code, `exit code (stderr: ${r.stderr})`).toBe(0)
      const report = JSON.parse(await readFile(out, 'utf8')) as ConvergenceReport
      expect(report.nodes).toBe(5)
      expect(report.inProcess).toBe(true)
      expect(report.timings.heartbeatMs).toBe(1000)
      expect(report.figures.map(f => [f.event, f.samples, f.samplesMs.length, f.boundMs])).toEqual([['join', 3, 3, 1000], ['crash', 1, 1, 3500], ['heal', 1, 1, 2000]])
      for (const f of report.figures) {
        for (const s of f.samplesMs) expect(s, `${f.event} sample`).toBeGreaterThan(0)
        expect(f.p50Ms, `${f.event} p50 ≤ p99`).toBeLessThanOrEqual(f.p99Ms)
        expect(f.p99Ms, `${f.event} p99 is the max here`).toBe(f.maxMs)
        expect(f.samplesMs, `${f.event} quantiles are samples`).toContain(f.p50Ms)
      }
      expect(r.stdout).toContain('| event | samples | p50 ms | p99 ms | max ms | bound (issue 15) | p99 within bound |')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 180_000)
})
