import type { Logger } from '@libp2p/interface'

export interface SupervisorComponents {
  log: Logger
  /** count one internal error (meshchat_internal_errors_total{where}) */
  count?: (where: string) => void
}

/**
 * The last line of defence between a bug and a dead process. Node turns an
 * exception thrown by an EventTarget listener or a timer callback, and an
 * unhandled promise rejection, into a process exit: one malformed message from
 * one peer would take down every session on the node. Every listener, timer
 * and fire-and-forget promise a service registers goes through here instead,
 * so the failure is logged and counted, and the node keeps serving.
 *
 * Handlers still validate their input first; this only catches what
 * validation missed.
 */
export class Supervisor {
  private readonly c: SupervisorComponents

  constructor (components: SupervisorComponents) {
    this.c = components
  }

  /** log and count an error that escaped a handler */
  report (where: string, err: unknown): void {
    try {
      this.c.count?.(where)
      this.c.log.error('internal error in %s - %s', where, err instanceof Error ? (err.stack ?? err.message) : String(err))
    } catch {
      // reporting must never be the thing that throws
    }
  }

  /** wrap a listener or callback: whatever it throws, or rejects with, is reported, never rethrown */
  wrap<A extends unknown[]> (where: string, fn: (...args: A) => unknown): (...args: A) => void {
    return (...args: A): void => {
      try {
        const r = fn(...args)
        if (r instanceof Promise) r.catch(err => { this.report(where, err) })
      } catch (err) {
        this.report(where, err)
      }
    }
  }

  /** watch a promise nobody awaits */
  track (where: string, p: Promise<unknown>): void {
    p.catch(err => { this.report(where, err) })
  }

  /** setTimeout whose callback is supervised */
  timeout (where: string, fn: () => unknown, ms: number): ReturnType<typeof setTimeout> {
    return setTimeout(this.wrap(where, fn), ms)
  }

  /** setInterval whose callback is supervised */
  interval (where: string, fn: () => unknown, ms: number): ReturnType<typeof setInterval> {
    return setInterval(this.wrap(where, fn), ms)
  }
}

/**
 * A job that runs once, `delayMs` after it was first asked for, however many
 * times it is asked for in between: a burst of membership changes costs one
 * rebalance. Supervised like every other timer.
 *
 * With `burst`, a job asked for again less than twice `burst.delayMs` after it last ran waits
 * `burst.delayMs` instead: a lone change still goes out after `delayMs`, and a steady stream of
 * them (an attach burst) goes out in fewer, larger runs.
 */
export class Debounced {
  private timer?: ReturnType<typeof setTimeout>
  private lastRun = -Infinity

  constructor (
    private readonly supervisor: Supervisor,
    private readonly where: string,
    private readonly delayMs: number,
    private readonly job: () => unknown,
    private readonly burst?: { delayMs: number, now: () => number }
  ) {}

  schedule (): void {
    if (this.timer != null) return
    const burst = this.burst
    const delay = burst != null && burst.now() - this.lastRun < 2 * burst.delayMs ? burst.delayMs : this.delayMs
    this.timer = this.supervisor.timeout(this.where, () => {
      this.timer = undefined
      if (burst != null) this.lastRun = burst.now()
      return this.job()
    }, delay)
  }

  cancel (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }
}
