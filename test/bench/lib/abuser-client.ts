/** The harness's handle on the abusive client process (test/bench/abuser.ts): start it, call it, stop it. */
import { fileURLToPath } from 'node:url'
import type { Proc, ProcRegistry } from './procs.js'
import type { AbuseArgs, AbuseCommand, AbuseRequest, AbuseResponse, AbuseStats, FillArgs } from './abuser-protocol.js'

const SCRIPT = fileURLToPath(new URL('../abuser.js', import.meta.url))

export class Abuser {
  readonly proc: Proc
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()

  constructor (reg: ProcRegistry, name = 'abuser') {
    this.proc = reg.spawn({ name, command: process.execPath, args: [SCRIPT], ipc: true })
    this.proc.child.on('message', (m: AbuseResponse) => {
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

  private async call<T> (command: AbuseCommand, timeoutMs = 120_000): Promise<T> {
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
      this.proc.child.send({ id, command } satisfies AbuseRequest)
    })
  }

  /** make `room` hold at least `atLeast` messages (so history pages are full) */
  async fill (args: FillArgs): Promise<{ before: number, added: number, ms: number }> { return this.call({ cmd: 'fill', args }) }
  /** connect and start abusing; resolves at once */
  async start (args: AbuseArgs): Promise<void> { await this.call({ cmd: 'start', args }) }
  /** stop at wall-clock `at` (now if absent) and report what it sent and how the node answered */
  async stopAt (at?: number): Promise<AbuseStats> { return this.call({ cmd: 'stop', args: { at } }) }

  async stop (): Promise<void> {
    if (this.proc.alive) this.proc.child.disconnect()
    await this.proc.stop('SIGTERM', 3000)
  }
}
