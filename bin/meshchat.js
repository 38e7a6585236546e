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
// bootstrap/ builds on node/, never the other way round: the commands that start a bootstrap daemon live there
if (command === 'bootstrap' || command === 'demo') await import('../dist/bootstrap/src/main.js')
else await import('../dist/node/src/main.js')
