import { afterEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import { addCrowd } from '../helpers/rooms.js'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import type { TestMesh } from '../helpers/mesh.js'

const CLI = fileURLToPath(new URL('../../bin/meshchat.js', import.meta.url))

interface Terminal {
  proc: ChildProcessWithoutNullStreams
  lines: string[]
  type: (line: string) => void
  waitLine: (match: (l: string) => boolean, what: string) => Promise<string>
}

/** `meshchat chat` as a real process, typed into through stdin */
function terminal (args: string[]): Terminal {
  const proc = spawn(process.execPath, [CLI, 'chat', ...args], { stdio: 'pipe' })
  const lines: string[] = []
  let buf = ''
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString()
    const parts = buf.split('\n')
    buf = parts.pop() ?? ''
    lines.push(...parts)
  })
  let stderr = ''
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  return {
    proc,
    lines,
    type: line => { proc.stdin.write(line + '\n') },
    waitLine: async (match, what) => waitFor(() => lines.find(match), { timeoutMs: 15_000, what: `${what} (stdout: ${lines.join(' | ')}; stderr: ${stderr})` })
  }
}

describe('meshchat chat (terminal client)', () => {
  let mesh: TestMesh | undefined
  const terms: Terminal[] = []
  let dir = ''
  afterEach(async () => {
    for (const t of terms.splice(0)) t.proc.kill('SIGKILL')
    await mesh?.stop()
    mesh = undefined
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  it('two terminals attached to two different nodes chat, see each other with /who, and DM', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshchat-cli-'))
    mesh = await startMesh(2, { http: '127.0.0.1:0' })
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    // alice on the light edge (a WebSocket URL), bob on the libp2p gateway: one client, both transports
    const alice = terminal(['--connect', a!.wsUrls()[0]!, '--room', 'lobby', '--name', 'alice', '--key', join(dir, 'alice.key')])
    terms.push(alice)
    await alice.waitLine(l => l.startsWith('attached to node ' + a!.nodeId), 'alice attached to node a')
    await alice.waitLine(l => l.startsWith('* in lobby: alice'), 'alice in the room')
    const bob = terminal(['--connect', tcpGateway(b!), '--room', 'lobby', '--name', 'bob', '--key', join(dir, 'bob.key')])
    terms.push(bob)
    await bob.waitLine(l => l.startsWith('attached to node ' + b!.nodeId), 'bob attached to node b')
    await alice.waitLine(l => l.includes('bob joined lobby'), 'alice sees bob join')
    await bob.waitLine(l => l.startsWith('* in lobby:') && l.includes('alice') && l.includes('bob'), 'bob sees who is in the room')
    alice.type('hello from node A')
    await bob.waitLine(l => l.includes('[lobby] alice: hello from node A'), 'bob gets alice\'s line')
    bob.type('hi alice, this is node B')
    await alice.waitLine(l => l.includes('[lobby] bob: hi alice, this is node B'), 'alice gets bob\'s line')
    alice.type('/who')
    const who = await alice.waitLine(l => l.startsWith('lobby: '), '/who output')
    expect(who).toContain('alice(')
    expect(who).toContain('bob(')
    expect(who).toContain(`@${b!.nodeId.slice(-6)}`)
    // bob's user id, as the welcome printed it
    const bobId = (await bob.waitLine(l => l.includes(' as 12D3'), 'bob\'s id')).match(/ as (\S+) /)?.[1] ?? ''
    alice.type(`/dm ${bobId} just for you`)
    await alice.waitLine(l => /\[dm → bob\] just for you {2}\((delivered|queued)/.test(l), 'the DM acknowledged')
    await bob.waitLine(l => l.includes('[dm from alice') && l.includes('just for you'), 'bob gets the DM')
    alice.type('/nonsense')
    await alice.waitLine(l => l.includes('unknown command /nonsense'), 'a typed error for an unknown command')
    bob.type('/quit')
    await waitFor(() => bob.proc.exitCode != null, { what: 'bob to exit' })
    expect(bob.proc.exitCode).toBe(0)
    await alice.waitLine(l => l.includes('left lobby'), 'alice sees bob leave')
  })

  it('joining a big room prints some names and how many more, not every member', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshchat-cli-'))
    mesh = await startMesh(1)
    const node = mesh.nodes[0]!
    addCrowd(node, 'crowd', 100, { name: i => `fan${i}` })
    await waitFor(() => node.presence.roster('crowd').length === 100, { what: 'the crowd in the roster' })
    const carol = terminal(['--connect', tcpGateway(node), '--room', 'crowd', '--name', 'carol', '--key', join(dir, 'carol.key')])
    terms.push(carol)
    const line = await carol.waitLine(l => l.startsWith('* in crowd: carol'), 'carol in the crowd')
    // carol and 29 others by name, the other 71 as a count
    expect(line).toMatch(/ and 71 more$/)
    expect(line.split(', ')).toHaveLength(30)
    carol.type('/quit')
  })

  it('refuses to start without --connect, with a clear message', async () => {
    const t = terminal(['--room', 'x'])
    terms.push(t)
    let err = ''
    t.proc.stderr.on('data', (d: Buffer) => { err += d.toString() })
    const code = await new Promise<number | null>(resolve => t.proc.once('exit', resolve))
    expect(code).toBe(1)
    expect(err).toContain('--connect')
  })
})
