/**
 * The presence-scaling section on its own: `node dist/test/bench/presence-scale.js [--base-port n]
 * [--users n] [--churn n,n] [--seconds n]`. Prints the table and writes
 * test/bench/results/presence-scale.json. In the suite: `npm run bench -- --sections presence-scale
 * --only meshchat`.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ProcRegistry, REPO_ROOT } from './lib/procs.js'
import { measurePresenceHeapPerItem, presenceScaleScenario, presenceScaleTable } from './scenarios/presence-scale.js'

const { values } = parseArgs({
  options: {
    // below Linux's ephemeral range (32768–60999): a port there can be taken as the local end of an
    // outgoing connection, even one of the cluster's own nodes dialing each other while it starts
    'base-port': { type: 'string', default: '27000' },
    users: { type: 'string', default: '320' },
    churn: { type: 'string', default: '10,50' },
    seconds: { type: 'string', default: '10' },
    nodes: { type: 'string', default: '2,4,8' }
  }
})

const reg = await ProcRegistry.create()
try {
  const rows = await presenceScaleScenario(reg, {
    base: Number(values['base-port']),
    nodeCounts: String(values.nodes).split(',').map(Number),
    users: Number(values.users),
    churnRates: String(values.churn).split(',').map(Number),
    seconds: Number(values.seconds),
    heapPerItem: measurePresenceHeapPerItem(),
    log: s => { console.log(s) }
  })
  const table = presenceScaleTable(rows)
  console.log(`\n${table}`)
  writeFileSync(join(REPO_ROOT, 'test', 'bench', 'results', 'presence-scale.json'), JSON.stringify({ at: new Date().toISOString(), rows, table }, null, 2) + '\n')
} finally {
  await reg.stopAll()
}
