#!/usr/bin/env node
// The `meshchat` command: checks the Node version, then hands the command to the compiled code in dist/.
// This file runs on any Node: it must not import anything that needs a newer one before the check.
import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
// node:sqlite works without a flag from 22.13; libp2p 3 needs 22
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 13)) {
  console.error(`meshchat ${pkg.version} needs Node.js 22.13 or newer (24 recommended); this is Node.js ${process.version} at ${process.execPath}`)
  console.error('install a newer Node.js (https://nodejs.org), or inside a checkout run it through npm/npx, which use the pinned Node 24')
  process.exit(1)
}
const command = process.argv[2]
if (command === '--version' || command === '-v' || command === 'version') {
  console.log(`meshchat ${pkg.version} (Node.js ${process.version})`)
  process.exit(0)
}
// The daemons run with a bounded young generation. V8 sizes it from the machine's memory (up to
// 64 MiB per semi-space here) and grows it whenever a burst leaves many survivors, such as a
// thousand sessions attaching at once, and it keeps what it grew while the node is busy: on a node
// holding idle clients that committed-but-empty space was most of its RSS. 8 MiB per semi-space is
// enough for the message path's short-lived garbage. MESHCHAT_SEMI_SPACE_MB sets another size
// (0: V8's own); a --max-semi-space-size given to node, also through NODE_OPTIONS, is left as it is.
// process.execve keeps the process id, so a supervisor or pid file sees one process.
const LONG_RUNNING = new Set(['node', 'bootstrap', 'demo'])
const semiSpaceMb = process.env.MESHCHAT_SEMI_SPACE_MB ?? '8'
if (!/^(0|[1-9]\d{0,3})$/.test(semiSpaceMb)) {
  console.error(`MESHCHAT_SEMI_SPACE_MB must be a whole number of MiB from 0 (V8's own size) to 9999, not "${semiSpaceMb}"`)
  process.exit(2)
}
const flagGiven = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some(a => a.startsWith('--max-semi-space-size'))
if (LONG_RUNNING.has(command) && !flagGiven && semiSpaceMb !== '0' && typeof process.execve === 'function') {
  process.execve(process.execPath, [process.execPath, `--max-semi-space-size=${semiSpaceMb}`, ...process.execArgv, ...process.argv.slice(1)], process.env)
}
// bootstrap/ builds on node/, never the other way round: the commands that start a bootstrap daemon live there
if (command === 'bootstrap' || command === 'demo') await import('../dist/bootstrap/src/main.js')
else await import('../dist/node/src/main.js')
