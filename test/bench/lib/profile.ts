/**
 * Where the nodes' CPU goes: self time of V8 CPU profiles (`node --cpu-prof`, written by every
 * server process when the bench runs with `--profile` or MESHCHAT_BENCH_CPU_PROF=<dir>), summed per
 * component over the meshchat node processes, optionally only inside a step's measured window.
 *
 * Each profile node is put in a component by its script URL and function name: a package or one of
 * meshchat's own files names its component; Node internals and code shared by several components
 * (natives such as `TypedArray.set` or `JSON.parse`, `node:events`, timers, @noble/hashes,
 * uint8arraylist, it-*, protons-runtime…) take the component of the nearest caller that has one,
 * so a copy made by the pnet cipher counts as pnet and a protobuf decode called by gossipsub counts as
 * gossipsub. Percentages are of busy (non-idle) samples. Sample times are CLOCK_MONOTONIC µs, the
 * clock of `process.hrtime` in any process on the machine, so the harness's step windows apply.
 *
 * Standalone: `node dist/test/bench/lib/profile.js <dir> [<dir2>] [--results <run.json>]… [--match <re>] [--top <n>]`
 * prints a table for every directory of .cpuprofile files (one per step window when a run's JSON
 * with `profileWindow`s is given, else the whole run), and a before/after table for two directories.
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { table } from './report.js'

export interface CpuProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber?: number }
  children?: number[]
}

export interface CpuProfile {
  nodes: CpuProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
  /**
   * set in on-CPU profiles (perf.ts): every sample lasts this long, and time
   * between samples is off the CPU. V8's profiles leave it out: a sample lasts
   * until the next one, and the time the process waited is "(idle)".
   */
  sampleUs?: number
}

export type Component = 'socket' | 'pnet' | 'noise' | 'yamux' | 'gossipsub' | 'libp2p' | 'ed25519' | 'sqlite' | 'protobuf' | 'ws' |
'sessions' | 'presence' | 'mesh' | 'meshchat' | 'startup' | 'gc' | 'program' | 'other'

/** the components in table order; `idle` is counted apart (not busy) */
export const COMPONENTS: ReadonlyArray<{ id: Component, label: string, what: string }> = [
  { id: 'socket', label: 'socket I/O', what: 'node:net, stream_base_commons (writeGeneric, writev, writeBuffer), node streams' },
  { id: 'pnet', label: 'pnet cipher', what: 'mesh/pnet.ts, @noble/ciphers salsa (XSalsa20); before: @libp2p/pnet, xsalsa20' },
  { id: 'noise', label: 'noise', what: '@chainsafe/libp2p-noise, ChaCha20-Poly1305 (@noble/ciphers chacha, _poly1305)' },
  { id: 'yamux', label: 'yamux', what: '@chainsafe/libp2p-yamux' },
  { id: 'gossipsub', label: 'gossipsub', what: '@libp2p/gossipsub (with its protobuf)' },
  { id: 'libp2p', label: 'libp2p other', what: 'libp2p, @libp2p/*, and it-*, uint8arraylist, multiformats… when no caller is more specific' },
  { id: 'ed25519', label: 'Ed25519 signatures', what: 'node:crypto sign/verify and key objects, ed25519-node.ts, signing.ts, @noble/curves, @libp2p/crypto ed25519' },
  { id: 'sqlite', label: 'SQLite', what: 'node:sqlite, store/ (message-store.ts, group-commit.ts)' },
  { id: 'protobuf', label: 'protobuf', what: 'protocol/pb/*.ts, codec.ts, protons-runtime called from meshchat code' },
  { id: 'ws', label: 'WebSocket edge', what: 'ws package, gateway/ws-edge.ts' },
  { id: 'sessions', label: 'sessions and hub', what: 'gateway/*.ts' },
  { id: 'presence', label: 'presence', what: 'presence-service.ts, presence-wire.ts, directory-service.ts, state/presence.ts, state/room-presence.ts, state/directory.ts' },
  { id: 'mesh', label: 'rooms, archive, DMs, sync', what: 'mesh/*.ts' },
  { id: 'meshchat', label: 'meshchat other', what: 'daemon, state/ (HLC, budgets, placement), metrics, validation' },
  { id: 'startup', label: 'module loading', what: 'node:internal/modules, compiling built-ins' },
  { id: 'gc', label: 'GC', what: '(garbage collector)' },
  { id: 'program', label: '(program)', what: 'V8/Node native work outside JS frames' },
  { id: 'other', label: 'other', what: 'microtask and timer machinery, events, anything no caller claims' }
]

type Resolved = { comp: Component | 'idle', definite: boolean }
type Rule =
  | { kind: 'own', comp: Component | 'idle' }
  /** the nearest caller's component, else `fallback` (else the caller's fallback, else other) */
  | { kind: 'inherit', fallback?: Component }
  /** `comp`, unless the nearest caller with a component is one of `yieldTo` */
  | { kind: 'soft', comp: Component, yieldTo: Component[] }

const own = (comp: Component | 'idle'): Rule => ({ kind: 'own', comp })
const inherit = (fallback?: Component): Rule => ({ kind: 'inherit', fallback })
const soft = (comp: Component, yieldTo: Component[]): Rule => ({ kind: 'soft', comp, yieldTo })
const LIBP2P_SIDE: Component[] = ['libp2p', 'gossipsub', 'yamux', 'noise']

/** natives with no script: the stream binding's write calls are socket I/O, the rest take their caller's */
const SOCKET_NATIVES = new Set(['writeBuffer', 'writev', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString', 'writeUcs2String', 'shutdown', 'readStart', 'readStop'])
const SOCKET_INTERNALS = new Set(['net', 'internal/net', 'internal/stream_base_commons', 'stream', 'internal/js_stream_socket', '_tls_wrap', 'internal/tls/wrap'])
/** helper packages shared by libp2p and meshchat: their caller's component, libp2p when nothing calls them */
const LIBP2P_HELPERS = /^(uint8arraylist|uint8arrays|uint8-varint|multiformats|@multiformats\/.*|it-.*|p-queue|p-defer|p-event|p-timeout|eventemitter3|main-event|race-signal|race-event|any-signal|abort-error|progress-events|weald|debug|ms|denque|@chainsafe\/is-ip|@chainsafe\/netmask|interface-datastore|datastore-core|@sindresorhus\/fnv1a|mortice|byte-access|hashlru|@leichtgewicht\/.*|dns-packet)$/

export function rule (fn: string, url: string): Rule {
  if (url === '') {
    if (fn === '(idle)') return own('idle')
    if (fn === '(garbage collector)') return own('gc')
    if (fn === '(program)') return own('program')
    if (SOCKET_NATIVES.has(fn)) return own('socket')
    return inherit()
  }
  if (url.startsWith('node:')) {
    const m = url.slice(5)
    if (SOCKET_INTERNALS.has(m) || m.startsWith('internal/streams/')) return own('socket')
    if (m === 'internal/crypto/sig' || m === 'internal/crypto/keys') return soft('ed25519', ['noise'])
    if (m === 'sqlite') return own('sqlite')
    if (m.startsWith('internal/modules/') || m === 'internal/bootstrap/realm' || m === 'internal/process/pre_execution') return own('startup')
    return inherit()
  }
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length)
    const parts = rest.split('/')
    const pkg = (parts[0] ?? '').startsWith('@') ? `${parts[0] ?? ''}/${parts[1] ?? ''}` : parts[0] ?? ''
    const file = rest.slice(pkg.length + 1)
    switch (pkg) {
      case '@chainsafe/libp2p-noise': case '@chainsafe/as-chacha20poly1305': case '@chainsafe/as-sha256': return own('noise')
      case '@chainsafe/libp2p-yamux': return own('yamux')
      case '@libp2p/gossipsub': case '@chainsafe/libp2p-gossipsub': return own('gossipsub')
      case '@libp2p/pnet': case 'xsalsa20': return own('pnet')
      case '@noble/ciphers':
        if (/^(esm\/)?salsa\.js$/.test(file)) return own('pnet')
        if (/^(esm\/)?(chacha|_poly1305)\.js$/.test(file)) return own('noise')
        return inherit()
      case '@noble/curves': return soft('ed25519', ['noise'])
      case '@noble/hashes': return inherit()
      case '@libp2p/crypto': return file.includes('ed25519') ? soft('ed25519', ['noise']) : inherit('libp2p')
      case 'ws': case 'bufferutil': case 'utf-8-validate': return own('ws')
      case 'protons-runtime': return soft('protobuf', LIBP2P_SIDE)
      case 'prom-client': return inherit('meshchat')
    }
    if (pkg === 'libp2p' || pkg.startsWith('@libp2p/')) return own('libp2p')
    if (LIBP2P_HELPERS.test(pkg)) return inherit('libp2p')
    return inherit()
  }
  const m = /\/dist\/((?:node|client|bootstrap)\/(?:src|web)\/.*|test\/.*)$/.exec(url)
  if (m == null) return inherit()
  const f = m[1] ?? ''
  if (f.startsWith('test/')) return inherit()
  if (f === 'node/src/mesh/pnet.js') return own('pnet')
  if (/^node\/src\/(mesh\/(presence-(service|wire)|directory-service)|state\/(presence|room-presence|directory))\.js$/.test(f)) return own('presence')
  if (f.startsWith('node/src/mesh/')) return own('mesh')
  if (f === 'node/src/gateway/ws-edge.js') return own('ws')
  if (f.startsWith('node/src/gateway/')) return own('sessions')
  if (f.startsWith('node/src/store/')) return own('sqlite')
  // pb/ now; before the wire-contract module the generated code sat in protocol/{client,event}.ts
  if (/^client\/src\/protocol\/(pb\/.*|client\.js|event\.js|codec\.js)$/.test(f)) return own('protobuf')
  if (/^client\/src\/protocol\/(ed25519-node|signing)\.js$/.test(f)) return own('ed25519')
  if (f === 'client/src/protocol/errors.js' || f === 'client/src/errors.js') return inherit('meshchat')
  return own('meshchat')
}

/** which component each profile node's self time goes to */
export function classify (p: CpuProfile): Map<number, Component | 'idle'> {
  const byId = new Map<number, CpuProfileNode>()
  const parent = new Map<number, number>()
  for (const n of p.nodes) {
    byId.set(n.id, n)
    for (const c of n.children ?? []) parent.set(c, n.id)
  }
  const memo = new Map<number, Resolved>()
  const resolve = (id: number): Resolved => {
    const hit = memo.get(id)
    if (hit != null) return hit
    // iterative over the chain of unresolved ancestors (stacks can be deep)
    const chain: number[] = []
    let cur: number | undefined = id
    while (cur != null && !memo.has(cur)) { chain.push(cur); cur = parent.get(cur) }
    let above: Resolved = cur != null ? memo.get(cur) ?? { comp: 'other', definite: false } : { comp: 'other', definite: false }
    for (let i = chain.length - 1; i >= 0; i--) {
      const nid = chain[i] ?? 0
      const cf = byId.get(nid)?.callFrame
      const r = cf == null ? inherit() : rule(cf.functionName, cf.url)
      let res: Resolved
      if (r.kind === 'own') res = { comp: r.comp, definite: true }
      else if (r.kind === 'soft') res = above.definite && r.yieldTo.includes(above.comp as Component) ? above : { comp: r.comp, definite: true }
      else res = above.definite ? above : r.fallback != null ? { comp: r.fallback, definite: false } : above
      memo.set(nid, res)
      above = res
    }
    return memo.get(id) ?? { comp: 'other', definite: false }
  }
  const out = new Map<number, Component | 'idle'>()
  for (const n of p.nodes) out.set(n.id, resolve(n.id).comp)
  return out
}

export interface ProfileWindow {
  label: string
  /** CLOCK_MONOTONIC µs (process.hrtime in the harness); whole profiles without them */
  fromUs?: number
  toUs?: number
  /** messages delivered to clients in the window */
  deliveries?: number
  /** the nodes' CPU per delivery over the step from /proc (µs): component µs per delivery = share × this */
  cpuUsPerDelivery?: number
}

export interface ProfileRow { component: Component, label: string, ms: number, pct: number, usPerDelivery?: number }

export interface ProfileTable {
  label: string
  /** profiles summed (one per node process) */
  profiles: string[]
  /** window length, s (the longest profile when no window) */
  windowSec: number
  busyMs: number
  idleMs: number
  /** busy samples per second of window over all profiles: cores, as the sampler saw them (includes time the OS ran other processes) */
  busyCores: number
  deliveries?: number
  /** µs per delivery of all busy time: from /proc CPU when the run gave it, else profile busy time / deliveries */
  usPerDelivery?: number
  usSource?: 'proc' | 'profile'
  rows: ProfileRow[]
  /** the functions with the most self time, for checking the buckets */
  top?: Array<{ fn: string, where: string, component: string, ms: number, pct: number }>
}

/** the meshchat node profiles: nodeN.cpuprofile (MESHCHAT_BENCH_CPU_PROF before --profile) or 012-nodeN.cpuprofile */
export const NODE_PROFILE = /(^|-)node\d+\.cpuprofile$/

/** a frame's script as the tables show it: the package path, or the path under dist/ */
export const shortUrl = (url: string): string => url === ''
  ? '(native)'
  : url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/dist\//, '')

/** sum the self time of every profile in `dir` matching `match`, per component, for each window */
export function summarizeDir (dir: string, windows: ProfileWindow[] = [{ label: 'whole run' }], opts: { match?: RegExp, top?: number } = {}): ProfileTable[] {
  const match = opts.match ?? NODE_PROFILE
  const files = readdirSync(dir).filter(f => f.endsWith('.cpuprofile') && match.test(f)).sort()
  const acc = windows.map(() => ({ comp: new Map<Component | 'idle', number>(), fn: new Map<string, { comp: string, us: number }>(), span: 0 }))
  for (const f of files) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile
    const comp = classify(p)
    const byId = new Map(p.nodes.map(n => [n.id, n]))
    // sample i lasts until sample i+1 (the way DevTools weighs them)
    const n = p.samples.length
    const t = new Float64Array(n + 1)
    let at = p.startTime
    for (let i = 0; i < n; i++) { at += p.timeDeltas[i] ?? 0; t[i] = at }
    t[n] = Math.max(at, p.endTime)
    for (const [wi, w] of windows.entries()) {
      const a = acc[wi]
      if (a == null) continue
      const from = w.fromUs ?? -Infinity
      const to = w.toUs ?? Infinity
      a.span = Math.max(a.span, (Math.min(to, p.endTime) - Math.max(from, p.startTime)) / 1e6)
      for (let i = 0; i < n; i++) {
        const ti = t[i] ?? 0
        if (ti < from || ti >= to) continue
        const us = Math.max(0, Math.min(p.sampleUs != null ? ti + p.sampleUs : t[i + 1] ?? ti, to) - ti)
        if (us === 0) continue
        const id = p.samples[i] ?? 0
        const c = comp.get(id) ?? 'other'
        a.comp.set(c, (a.comp.get(c) ?? 0) + us)
        if ((opts.top ?? 0) > 0 && c !== 'idle') {
          const cf = byId.get(id)?.callFrame
          const key = `${cf?.functionName === '' ? '(anonymous)' : cf?.functionName ?? '?'}\u0000${shortUrl(cf?.url ?? '')}\u0000${c}`
          const e = a.fn.get(key) ?? { comp: c, us: 0 }
          e.us += us
          a.fn.set(key, e)
        }
      }
    }
  }
  return windows.map((w, wi) => {
    const a = acc[wi] ?? { comp: new Map(), fn: new Map(), span: 0 }
    const idleUs = a.comp.get('idle') ?? 0
    const busyUs = [...a.comp].reduce((s, [c, us]) => c === 'idle' ? s : s + us, 0)
    const usPerDelivery = w.cpuUsPerDelivery != null && Number.isFinite(w.cpuUsPerDelivery)
      ? w.cpuUsPerDelivery
      : w.deliveries != null && w.deliveries > 0 ? busyUs / w.deliveries : undefined
    const rows: ProfileRow[] = COMPONENTS.map(c => {
      const us = a.comp.get(c.id) ?? 0
      const pct = busyUs > 0 ? 100 * us / busyUs : 0
      return { component: c.id, label: c.label, ms: round(us / 1000, 1), pct: round(pct, 1), ...(usPerDelivery != null ? { usPerDelivery: round(pct / 100 * usPerDelivery, 1) } : {}) }
    })
    const windowSec = w.fromUs != null && w.toUs != null ? (w.toUs - w.fromUs) / 1e6 : a.span
    const out: ProfileTable = {
      label: w.label,
      profiles: files,
      windowSec: round(windowSec, 2),
      busyMs: round(busyUs / 1000, 1),
      idleMs: round(idleUs / 1000, 1),
      busyCores: windowSec > 0 ? round(busyUs / 1e6 / windowSec, 3) : NaN,
      rows
    }
    if (w.deliveries != null) out.deliveries = w.deliveries
    if (usPerDelivery != null) {
      out.usPerDelivery = round(usPerDelivery, 1)
      out.usSource = w.cpuUsPerDelivery != null && Number.isFinite(w.cpuUsPerDelivery) ? 'proc' : 'profile'
    }
    if ((opts.top ?? 0) > 0) {
      out.top = [...a.fn].sort((x, y) => y[1].us - x[1].us).slice(0, opts.top).map(([k, e]) => {
        const [fn = '', where = ''] = k.split('\u0000')
        return { fn, where, component: COMPONENTS.find(c => c.id === e.comp)?.label ?? e.comp, ms: round(e.us / 1000, 1), pct: busyUs > 0 ? round(100 * e.us / busyUs, 1) : 0 }
      })
    }
    return out
  })
}

/** the subset of a run's JSON this needs (a step of test/bench/lib/system.ts StepResult) */
interface StepLike {
  system: string
  label: string
  workload: string
  ratePerUser: number
  offered: number
  received: number
  deliveredPerSec: number
  counterSeconds: number
  perServer?: Array<{ role: string, cpuSec: number }>
  profileWindow?: { fromUs: number, toUs: number }
  idleProfileWindow?: { fromUs: number, toUs: number }
}

/** a scale-out row of a run: its step, measured on a cluster of `servers` */
export interface ScaleLike { servers: number, step: StepLike }

/** the scale-out rows' steps, labelled with their cluster size (each size is its own cluster, run one after another) */
export function scaleSteps (rows: ScaleLike[]): StepLike[] {
  return rows.map(r => ({ ...r.step, workload: `${r.step.workload}, ${r.servers} servers` }))
}

/** one window per meshchat step of a run that recorded its measured window */
export function windowsFromSteps (steps: StepLike[]): ProfileWindow[] {
  return steps.filter(s => s.system === 'meshchat' && s.profileWindow != null).flatMap(s => {
    const nodeCpu = (s.perServer ?? []).filter(r => r.role === 'server').reduce((n, r) => n + r.cpuSec, 0)
    const delivered = s.deliveredPerSec * s.counterSeconds
    const step: ProfileWindow = {
      label: `${s.workload}, ${s.offered} msg/s (${s.label})`,
      fromUs: s.profileWindow?.fromUs,
      toUs: s.profileWindow?.toUs,
      deliveries: s.received,
      cpuUsPerDelivery: nodeCpu > 0 && delivered > 0 ? nodeCpu / delivered * 1e6 : undefined
    }
    // the sweep's idle window (users attached, nobody sending) goes before its first step
    const idle: ProfileWindow[] = s.idleProfileWindow == null ? [] : [{ label: `${s.workload}, idle before sending (${s.label})`, ...s.idleProfileWindow }]
    return [...idle, step]
  })
}

const f1 = (x: number | undefined): string => x != null && Number.isFinite(x) ? x.toFixed(1) : '–'
const n0 = (x: number): string => Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a'

/** rows worth showing: every component with time in any table */
const shown = (tables: ProfileTable[]): typeof COMPONENTS[number][] => COMPONENTS.filter(c => tables.some(t => (t.rows.find(r => r.component === c.id)?.ms ?? 0) > 0))

/** one table per window: component, ms, % of busy, µs per delivery */
export function profileTable (t: ProfileTable): string {
  const rows = shown([t]).map(c => {
    const r = t.rows.find(x => x.component === c.id)
    return [c.label, n0(r?.ms ?? 0), `${f1(r?.pct)} %`, f1(r?.usPerDelivery)]
  })
  rows.push(['**busy, all components**', n0(t.busyMs), '100 %', f1(t.usPerDelivery)])
  return `${describe(t)}\n\n${table(['component', 'self ms', '% of busy', 'µs per delivery'], rows)}`
}

/** the functions with the most self time (summarizeDir's `top`), as a table; '' when none were asked for */
export function topTable (t: ProfileTable): string {
  if (t.top == null || t.top.length === 0) return ''
  return table(['function', 'script', 'component', 'self ms', '% of busy'], t.top.map(x => [x.fn, x.where, x.component, f1(x.ms), `${f1(x.pct)} %`]))
}

function describe (t: ProfileTable): string {
  const per = t.usSource === 'proc' ? 'µs per delivery: the nodes\' CPU (from /proc) per message delivered to a client, split by the profile shares' : t.usSource === 'profile' ? 'µs per delivery: busy profile time per delivered message' : ''
  return `**${t.label}**: ${t.profiles.length} node profiles, ${t.windowSec} s window, ${n0(t.busyMs)} ms busy (${Number.isFinite(t.busyCores) ? t.busyCores.toFixed(2) : 'n/a'} cores as sampled) and ${n0(t.idleMs)} ms idle${t.deliveries != null ? `, ${n0(t.deliveries)} deliveries` : ''}${per !== '' ? `. ${per}` : ''}.`
}

/** before/after: % of busy and µs per delivery side by side */
export function compareTable (before: ProfileTable, after: ProfileTable, names: [string, string] = ['before', 'after']): string {
  const rows = shown([before, after]).map(c => {
    const b = before.rows.find(x => x.component === c.id)
    const a = after.rows.find(x => x.component === c.id)
    return [c.label, `${f1(b?.pct)} %`, `${f1(a?.pct)} %`, f1(b?.usPerDelivery), f1(a?.usPerDelivery)]
  })
  rows.push(['**all (busy)**', '100 %', '100 %', f1(before.usPerDelivery), f1(after.usPerDelivery)])
  return table(['component', `% of busy, ${names[0]}`, `% of busy, ${names[1]}`, `µs/delivery, ${names[0]}`, `µs/delivery, ${names[1]}`], rows)
}

function round (x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

// ---- standalone
function isMain (): boolean {
  try { return process.argv[1] != null && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url)) } catch { return false }
}

if (isMain()) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      results: { type: 'string', multiple: true },
      match: { type: 'string' },
      top: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false }
    }
  })
  if (values.help === true || positionals.length === 0 || positionals.length > 2) {
    console.log(`node dist/test/bench/lib/profile.js <dir> [<dir2>] [--results <run.json>]… [--match <regex>] [--top <n>] [--json]

  <dir>        a directory of .cpuprofile files (npm run bench -- --profile writes test/bench/results/profiles/<run>/)
  <dir2>       a second directory: also prints a before (<dir>) / after (<dir2>) table
  --results    the run's JSON, once per directory in the same order: one table per meshchat step that
               recorded its measured window (profileWindow), with µs per delivery; without it, the whole run
  --match      which profiles to sum (default ${String(NODE_PROFILE)}: the meshchat nodes)
  --top <n>    also list the n functions with the most self time and their component
  --json       print the tables as JSON`)
    process.exit(values.help === true ? 0 : 2)
  }
  const match = values.match != null ? new RegExp(values.match) : undefined
  const top = Number(values.top ?? 0)
  const all = positionals.map((dir, i) => {
    const res = values.results?.[i]
    const run = res != null ? JSON.parse(readFileSync(res, 'utf8')) as { steps: StepLike[], scale?: ScaleLike[] } : undefined
    const windows = run != null ? [...windowsFromSteps(run.steps), ...windowsFromSteps(scaleSteps(run.scale ?? []))] : []
    return summarizeDir(dir, windows.length > 0 ? windows : undefined, { match, top })
  })
  if (values.json === true) {
    console.log(JSON.stringify(all, null, 1))
  } else {
    for (const [i, tables] of all.entries()) {
      console.log(`## ${positionals[i] ?? ''}\n`)
      for (const t of tables) {
        console.log(profileTable(t) + '\n')
        if (t.top != null) console.log(topTable(t) + '\n')
      }
    }
    const [b, a] = all
    if (b != null && a != null) {
      for (let i = 0; i < Math.min(b.length, a.length); i++) {
        const tb = b[i]
        const ta = a[i]
        if (tb == null || ta == null) continue
        console.log(`## before / after: ${tb.label} / ${ta.label}\n\n${compareTable(tb, ta)}\n`)
      }
    }
  }
}
