/**
 * What the pure-state memory measurements share (presence-memory.ts, room-presence-memory.ts): a
 * seeded generator, random ids built the way decoded strings are, and live heap after full GCs.
 */

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** mulberry32: a fixed seed keeps runs comparable */
export function seededRandom (seed = 42): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** Built with join: repeated `+=` would leave a rope of cons strings, far bigger than a decoded string. */
export function randomString (random: () => number, prefix: string, length: number): string {
  return [prefix, ...Array.from({ length: length - prefix.length }, () => BASE58[Math.floor(random() * BASE58.length)])].join('')
}

/** live heap after two full GCs (the process must run with --expose-gc) */
export function heapUsed (): number {
  const gc = globalThis.gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
