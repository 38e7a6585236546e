import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * The dependency rules of the code base, checked on every import of every
 * source file. The layers run one way:
 *
 *   bin → {node/src/main, bootstrap/src/main}
 *   bootstrap → node → {gateway → mesh} → {state, store, client/src/protocol}
 *   client/web → client/src (public entry only) → client/src/protocol
 *
 * A new import that breaks a rule fails here, with the file and the import.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

function sources (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name)
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sources(rel))
    else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) out.push(rel)
  }
  return out
}

/** the repository-relative files a source file imports (packages and node: builtins are left out) */
function imports (file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"\n]*?from\s+'([^']+)'/g), ...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)]
    .map(m => m[1] as string)
  return specs
    .filter(s => s.startsWith('.'))
    .map(s => relative(ROOT, resolve(ROOT, dirname(file), s)).replace(/\.js$/, '.ts'))
}

interface Rule {
  /** which files the rule is about */
  from: RegExp
  /** imports those files may not have */
  notTo: RegExp
  why: string
  /** imports allowed despite `notTo` */
  except?: RegExp
}

const RULES: Rule[] = [
  { from: /^node\/src\/mesh\//, notTo: /^node\/src\/(gateway|http)\//, why: 'the mesh knows no client sessions: it emits through the delivery port the gateway implements' },
  { from: /^node\/src\/state\//, notTo: /^(?!node\/src\/state\/|client\/src\/protocol\/)/, why: 'state/ is pure: no I/O, no services (the wire contract\'s types only)' },
  { from: /^node\/src\/store\//, notTo: /^(?!node\/src\/store\/|client\/src\/protocol\/)/, why: 'the store is a leaf (the wire contract\'s types only)' },
  { from: /^client\/src\/protocol\//, notTo: /^(?!client\/src\/protocol\/)/, why: 'the wire contract imports nothing outside itself' },
  { from: /^client\/(src|web)\//, notTo: /^(node|bootstrap|test)\//, why: 'the client never imports the node' },
  { from: /^client\/web\//, notTo: /^client\/src\/(?!index\.ts$)/, why: 'the web app uses the client library through its public entry only' },
  { from: /^node\//, notTo: /^bootstrap\//, why: 'bootstrap/ builds on node/, never the reverse (no import cycle)' },
  { from: /^(node|client|bootstrap)\//, notTo: /^test\//, why: 'nothing outside test/ imports test/' }
]

describe('layers: imports run one way', () => {
  const files = [...sources('node/src'), ...sources('client/src'), ...sources('client/web'), ...sources('bootstrap/src')]

  it('finds the source files and their imports', () => {
    expect(files.length).toBeGreaterThan(40)
    expect(imports('node/src/daemon.ts')).toContain('node/src/config.ts')
  })

  for (const rule of RULES) {
    it(rule.why, () => {
      const broken: string[] = []
      for (const f of files.filter(x => rule.from.test(x))) {
        for (const i of imports(f)) {
          if (rule.notTo.test(i) && !(rule.except?.test(i) ?? false)) broken.push(`${f} imports ${i}`)
        }
      }
      expect(broken).toEqual([])
    })
  }

  it('the rules can fail: a file outside the layer is caught', () => {
    const mesh = RULES[0]!
    expect(mesh.notTo.test('node/src/gateway/hub.ts')).toBe(true)
    expect(RULES[3]!.notTo.test('client/src/errors.ts')).toBe(true)
    expect(RULES[3]!.notTo.test('client/src/protocol/pb/client.ts')).toBe(false)
  })
})
