/** The harness's handle on a load generator process: start it, call it, stop it. */
import { fileURLToPath } from 'node:url'
import type { Proc, ProcRegistry } from './procs.js'
import type {
  AttachArgs, AttachResult, Command, PresenceEvent, Request, Response, ResumeArgs, ResumeResult, RunArgs, RunResult
} from './loadgen-protocol.js'

const SCRIPT = fileURLToPath(new URL('../loadgen.js', import.meta.url))

export class LoadGen {
  readonly proc: Proc
  private nextId = 1
  /** a generator writing its CPU profile takes a while to exit */
  private readonly exitMs: number
  private readonly pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()

  constructor (reg: ProcRegistry, name: string) {
    // BENCH_WS_CLIENT (ws or undici: the light edge's WebSocket class) reaches the generator through the environment;
    // MESHCHAT_BENCH_GEN_CPU_PROF=<dir> writes a V8 CPU profile of each generator there when it exits
    const prof = process.env.MESHCHAT_BENCH_GEN_CPU_PROF
    const profArgs = prof == null || prof === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', prof, '--cpu-prof-name', `${name}.cpuprofile`]
    this.proc = reg.spawn({ name, command: process.execPath, args: ['--max-old-space-size=8192', ...profArgs, SCRIPT], ipc: true })
    this.exitMs = profArgs.length > 0 ? 30_000 : 3000
    this.proc.child.on('message', (m: Response) => {
      const p = this.pending.get(m.id)
      if (p == null) return
      this.pending.delete(m.id)
      if (m.ok) p.resolve(m.result)
      else p.reject(new Error(`${name}: ${m.error ?? 'failed'}`))
    })
    void this.proc.exited.then(info => {
      for (const p of this.pending.values()) p.reject(new Error(`${name} exited (${info.code ?? info.signal ?? ''})\n${this.proc.lastLines()}`))
      this.pending.clear()
    })
  }

  private async call<T> (command: Command, timeoutMs = 600_000): Promise<T> {
    if (!this.proc.alive) throw new Error(`${this.proc.name} is not running\n${this.proc.lastLines()}`)
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${this.proc.name}: ${command.cmd} took longer than ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, {
        resolve: v => { clearTimeout(timer); resolve(v as T) },
        reject: e => { clearTimeout(timer); reject(e) }
      })
      this.proc.child.send({ id, command } satisfies Request)
    })
  }

  /** make the Ed25519 keys of these users now, so that an attach after it does not time key generation */
  async keys (keys: number[]): Promise<void> { await this.call({ cmd: 'keys', args: { keys } }) }
  async attach (args: AttachArgs): Promise<AttachResult> { return this.call({ cmd: 'attach', args }) }
  async run (args: RunArgs): Promise<RunResult> { return this.call({ cmd: 'run', args }) }
  async observe (): Promise<void> { await this.call({ cmd: 'observe' }) }
  async events (): Promise<PresenceEvent[]> { return this.call({ cmd: 'events' }) }
  async join (keys: number[], room: string): Promise<Record<number, number>> { return this.call({ cmd: 'join', args: { keys, room } }) }
  async close (keys: number[]): Promise<Record<number, number>> { return this.call({ cmd: 'close', args: { keys } }) }
  async resume (args: ResumeArgs): Promise<ResumeResult> { return this.call({ cmd: 'resume', args }, 900_000) }
  async detach (): Promise<void> { await this.call({ cmd: 'detach' }) }
  async late (): Promise<number> { return this.call({ cmd: 'late' }) }
  async stats (): Promise<{ cpuSec: number, rssBytes: number, hwmBytes: number, users: number, inflight: number, wsClient: string }> { return this.call({ cmd: 'stats' }) }

  async stop (): Promise<void> {
    if (this.proc.alive) this.proc.child.disconnect()
    await this.proc.stop('SIGTERM', this.exitMs)
  }
}
