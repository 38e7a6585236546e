/**
 * The terminal client as people use it: `meshchat chat` processes in real
 * terminals (tmux panes, each a pty; what the test reads is the rendered
 * screen, so a doubled line or a lost prompt shows), attached to two nodes of
 * a real mesh; and the pipe mode, `echo … | meshchat chat … --send`.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startMesh, tcpGateway, waitFor } from '../helpers/mesh.js'
import type { TestMesh } from '../helpers/mesh.js'

const run = promisify(execFile)
const CLI = fileURLToPath(new URL('../../bin/meshchat.js', import.meta.url))
const WAIT_MS = 20_000

/** POSIX shell quoting */
const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`

interface Pane {
  name: string
  /** the pane's rendered lines (with scrollback), trailing blanks trimmed */
  screen: () => Promise<string[]>
  /** type text into the pane, and Enter unless `enter` is false */
  type: (text: string, enter?: boolean) => Promise<void>
  waitScreen: (match: (lines: string[]) => boolean, what: string) => Promise<string[]>
}

/** a private tmux server (its own socket) whose panes run `meshchat chat` */
async function tmuxServer (dir: string): Promise<{ open: (name: string, args: string[]) => Promise<Pane>, kill: () => Promise<void> }> {
  const sock = join(dir, 'tmux.sock')
  const tmux = async (...args: string[]): Promise<string> => (await run('tmux', ['-S', sock, ...args], { env: { ...process.env, TERM: 'xterm-256color' } })).stdout
  // a missing tmux is a failure that says so, never a skip
  await run('tmux', ['-V']).catch(() => { throw new Error('tmux not found: the terminal tests run meshchat chat in tmux panes (apt-get install -y tmux)') })
  return {
    open: async (name, args) => {
      // the pane outlives the client, to show how it ended
      const cmd = `${[process.execPath, CLI, 'chat', ...args].map(q).join(' ')}; echo "exited with status $?"; sleep 600`
      await tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '50', cmd)
      const screen = async (): Promise<string[]> => {
        const lines = (await tmux('capture-pane', '-p', '-J', '-t', name, '-S', '-500')).split('\n').map(l => l.trimEnd())
        while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
        return lines
      }
      return {
        name,
        screen,
        type: async (text, enter = true) => {
          await tmux('send-keys', '-t', name, '-l', text)
          if (enter) await tmux('send-keys', '-t', name, 'Enter')
        },
        waitScreen: async (match, what) => {
          let last: string[] = []
          try {
            return await waitFor(async () => { last = await screen(); return match(last) ? last : undefined }, { timeoutMs: WAIT_MS, what: `${name}: ${what}` })
          } catch (err) {
            throw new Error(`${(err as Error).message}\n--- ${name}'s screen:\n${last.join('\n')}`)
          }
        }
      }
    },
    kill: async () => { await tmux('kill-server').catch(() => {}) }
  }
}

const count = (lines: string[], pred: (l: string) => boolean): number => lines.filter(pred).length

describe('meshchat chat in a terminal', () => {
  let mesh: TestMesh | undefined
  let dir = ''
  let kill = async (): Promise<void> => {}
  afterEach(async () => {
    await kill()
    await mesh?.stop()
    mesh = undefined
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  it('keeps a prompt apart from incoming lines, /dm by name, lists candidates, /who, leaves by name, and pipes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshchat-term-'))
    mesh = await startMesh(2, { http: '127.0.0.1:0' })
    await mesh.converged(2)
    const [a, b] = mesh.nodes
    const server = await tmuxServer(dir)
    kill = server.kill
    const alice = await server.open('alice', ['--connect', a!.wsUrls()[0]!, '--room', 'lobby', '--name', 'alice', '--key', join(dir, 'alice.key')])
    await alice.waitScreen(l => l.some(x => x.startsWith('* in lobby: alice')), 'alice in the room')
    const bob = await server.open('bob', ['--connect', tcpGateway(b!), '--room', 'lobby', '--name', 'bob', '--key', join(dir, 'bob.key')])
    await bob.waitScreen(l => l.some(x => x.startsWith('* in lobby:') && x.includes('alice')), 'bob in the room with alice')
    // a third person whose name also starts with "bo", on node a, through the library
    const bobby = await mesh.client(a!, 'bobby')
    await bobby.join('lobby')
    await alice.waitScreen(l => l.some(x => x.includes('* bobby joined lobby')), 'alice sees bobby join')

    // the prompt is the last line, naming the room
    let screen = await alice.waitScreen(l => l.at(-1) === 'lobby>', 'a prompt')
    expect(screen.at(-1)).toBe('lobby>')

    // a sent line is shown once, as everyone sees it, not also as typed
    await alice.type('hello from alice')
    await bob.waitScreen(l => l.some(x => x.endsWith('[lobby] alice: hello from alice')), 'bob gets alice\'s line')
    screen = await alice.waitScreen(l => l.some(x => x.endsWith('[lobby] alice: hello from alice')) && l.at(-1) === 'lobby>', 'alice\'s line echoed')
    expect(count(screen, l => l.includes('hello from alice')), screen.join('\n')).toBe(1)

    // a line that arrives while alice is half-way through typing goes above her prompt; her input stays
    await alice.type('half-typ', false)
    await alice.waitScreen(l => l.at(-1) === 'lobby> half-typ', 'the partial input on the prompt')
    await bob.type('interrupting you')
    screen = await alice.waitScreen(l => l.some(x => x.endsWith('[lobby] bob: interrupting you')), 'bob\'s line reaches alice')
    screen = await alice.waitScreen(l => l.at(-1) === 'lobby> half-typ', 'the prompt drawn again below the incoming line')
    expect(screen.findIndex(l => l.endsWith('[lobby] bob: interrupting you'))).toBeLessThan(screen.length - 1)
    expect(count(screen, l => l.includes('half-typ')), screen.join('\n')).toBe(1)
    await alice.type('ed line')
    await bob.waitScreen(l => l.some(x => x.endsWith('[lobby] alice: half-typed line')), 'the finished line reaches bob')

    // /who: names and short ids
    await alice.type('/who')
    screen = await alice.waitScreen(l => l.some(x => x.startsWith('lobby: ')), '/who')
    const who = screen.find(l => l.startsWith('lobby: ')) ?? ''
    expect(who).toContain(`bob(${(await idOf(bob)).slice(-8)}`)
    expect(who).toContain(`bobby(${bobby.userId.slice(-8)}`)
    expect(who).toContain(`alice(${(await idOf(alice)).slice(-8)}`)

    // /dm with a prefix two people share: the candidates are listed, nothing is sent
    await alice.type('/dm bo which one of you?')
    screen = await alice.waitScreen(l => l.some(x => x.includes('"bo" could be:')), 'the candidates')
    const cands = screen.find(l => l.includes('"bo" could be:')) ?? ''
    expect(cands).toContain(`bob (${(await idOf(bob)).slice(-8)})`)
    expect(cands).toContain(`bobby (${bobby.userId.slice(-8)})`)
    // Tab completes a name that only one person has
    await alice.type('/dm bobb', false)
    await alice.type('\t', false)
    await alice.waitScreen(l => l.at(-1) === 'lobby> /dm bobby', 'the name completed on the prompt')
    await alice.type(' completed by tab')
    await alice.waitScreen(l => l.some(x => x.includes('[dm → bobby] completed by tab')), 'the DM to the completed name')
    // /dm by name: delivered to bob's terminal, on the other node
    await alice.type('/dm bob just for you')
    await bob.waitScreen(l => l.some(x => x.includes('[dm from alice') && x.endsWith('just for you')), 'bob gets the DM')
    // the ack names the state: delivered, or queued in a mailbox when the node saw no device of bob's at that moment
    screen = await alice.waitScreen(l => l.some(x => /\[dm → bob\] just for you {2}\((delivered|queued)/.test(x)), 'alice sees it acknowledged')
    expect(count(screen, l => l.includes('which one of you')), 'the ambiguous DM went nowhere').toBe(0)
    // a short id works too
    await bob.type(`/dm ${bobby.userId.slice(-8)} hi bobby`)
    await bob.waitScreen(l => l.some(x => x.includes('[dm → bobby] hi bobby')), 'bob DMs bobby by short id')
    await alice.type('/dm nobody-here hello?')
    await alice.waitScreen(l => l.some(x => x.includes('no user "nobody-here"')), 'an unknown name is a clear error')

    // leaves are printed by name
    await bobby.leave('lobby')
    await alice.waitScreen(l => l.some(x => x.includes('* bobby left lobby')), 'alice sees bobby leave by name')

    // pipe mode: the text is sent, acknowledged, and the process exits 0 with nothing on stderr
    const piped = await run('sh', ['-c', `echo 'hi from a pipe' | ${[process.execPath, CLI, 'chat', '--connect', a!.wsUrls()[0]!, '--room', 'lobby', '--name', 'piper', '--key', join(dir, 'piper.key'), '--send'].map(q).join(' ')}`], { timeout: WAIT_MS })
    expect(piped.stderr).toBe('')
    expect(piped.stdout).toMatch(/^sent to lobby: [0-9a-f]+$/m)
    await bob.waitScreen(l => l.some(x => x.endsWith('[lobby] piper: hi from a pipe')), 'bob gets the piped line')

    // without --send, stdin that is not a terminal is read the same way, commands included
    const script = await run('sh', ['-c', `printf '/dm bob from a script\\nscripted line\\n' | ${[process.execPath, CLI, 'chat', '--connect', tcpGateway(b!), '--room', 'lobby', '--name', 'scripter', '--key', join(dir, 'scripter.key')].map(q).join(' ')}`], { timeout: WAIT_MS })
    expect(script.stderr).toBe('')
    expect(script.stdout).not.toContain('Error')
    expect(script.stdout).toContain('[dm → bob] from a script')
    await alice.waitScreen(l => l.some(x => x.endsWith('[lobby] scripter: scripted line')), 'alice gets the scripted line')

    // /quit ends the session with exit code 0
    await bob.type('/quit')
    await bob.waitScreen(l => l.some(x => x.startsWith('exited with status ')), 'bob\'s client exits')
    expect((await bob.screen()).find(x => x.startsWith('exited with status '))).toBe('exited with status 0')
    await alice.waitScreen(l => l.some(x => x.includes('* bob left lobby')), 'alice sees bob leave by name')
  })

  it('pipe mode refuses bad input with a clear message and a failing exit code', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshchat-term-'))
    mesh = await startMesh(1, { http: '127.0.0.1:0' })
    const [a] = mesh.nodes
    const base = [process.execPath, CLI, 'chat', '--connect', a!.wsUrls()[0]!, '--name', 'piper', '--key', join(dir, 'piper.key')]
    // --send without a room
    const noRoom = await run('sh', ['-c', `echo hi | ${[...base, '--send'].map(q).join(' ')}`], { timeout: WAIT_MS }).catch((e: { code: number, stderr: string }) => e)
    expect('code' in noRoom ? noRoom.code : 0).toBe(1)
    expect(noRoom.stderr).toContain('--send needs --room')
    // a line over the event size limit: refused with its typed error, exit code 1
    const big = await run('sh', ['-c', `head -c 70000 /dev/zero | tr '\\0' x | ${[...base, '--room', 'lobby', '--send'].map(q).join(' ')}`], { timeout: WAIT_MS }).catch((e: { code: number, stdout: string, stderr: string }) => e)
    expect('code' in big ? big.code : 0).toBe(1)
    expect(big.stdout).toContain('EventTooLargeError')
  })
})

/** the user id a pane's client printed when it attached */
async function idOf (pane: Pane): Promise<string> {
  const lines = await pane.screen()
  const id = lines.map(l => / as (12D3\S+) /.exec(l)?.[1]).find(x => x != null)
  if (id == null) throw new Error(`${pane.name} printed no user id:\n${lines.join('\n')}`)
  return id
}
