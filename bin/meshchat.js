#!/usr/bin/env node
// The compiled CLI (npm run build). npm scripts and npx put the pinned Node 24 first on PATH.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  console.error(`meshchat needs Node.js 22 or newer (this is ${process.version}); run it through npm/npx, which use the pinned Node 24`)
  process.exit(1)
}
// bootstrap/ builds on node/, never the other way round: the commands that start a bootstrap daemon live there
const command = process.argv[2]
if (command === 'bootstrap' || command === 'demo') await import('../dist/bootstrap/src/main.js')
else await import('../dist/node/src/main.js')
