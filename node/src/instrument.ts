/**
 * Timing for services the metrics cannot see from outside: the named methods
 * of one object are replaced, on that object alone, by wrappers that observe
 * how long each call took (promises until they settle) and count the calls
 * that threw. The wrapped methods behave exactly as before.
 */
export function timeMethods<T extends object> (obj: T, methods: Partial<Record<keyof T & string, string>>, observe: (label: string, seconds: number, err?: unknown) => void): void {
  const target = obj as Record<string, unknown>
  for (const [method, label] of Object.entries(methods) as Array<[string, string]>) {
    const original = target[method]
    if (typeof original !== 'function') continue
    const fn = original as (...args: unknown[]) => unknown
    target[method] = function (this: unknown, ...args: unknown[]): unknown {
      const start = process.hrtime.bigint()
      const done = (err?: unknown): void => { observe(label, Number(process.hrtime.bigint() - start) / 1e9, err) }
      let r: unknown
      try {
        r = fn.apply(this, args)
      } catch (err) {
        done(err)
        throw err
      }
      if (r instanceof Promise) {
        return r.then(v => { done(); return v }, (err: unknown) => { done(err); throw err })
      }
      done()
      return r
    }
  }
}
