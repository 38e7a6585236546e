import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { clearScreenDown, createInterface, cursorTo, moveCursor } from 'node:readline'
import { help, list, parse, str } from './cli.js'
import type { Spec } from './cli.js'
import { createNodeClient, fileKeyStore } from '../../client/src/node.js'
import type { ChatClient, ChatMessage, DirectMessage, RosterMember } from '../../client/src/node.js'

/**
 * The terminal client, `meshchat chat`: a prompt kept apart from incoming
 * lines when it runs in a terminal, commands (/dm by name or id, /who, …),
 * and a pipe mode that sends what stdin holds, waits for the acks and exits.
 * Like main.ts, it reads argv and prints to the console.
 */

export const CHAT_OPTS: Spec = {
  connect: { type: 'string', multiple: true, help: 'a node\'s WebSocket URL (ws://host:8080/ws) or libp2p gateway multiaddr (repeatable)' },
  room: { type: 'string', multiple: true, help: 'room to join at start (repeatable; the first is where typed or piped lines go)' },
  name: { type: 'string', help: 'display name' },
  key: { type: 'string', help: 'identity key file (default ~/.meshchat/user.key, created if missing)' },
  send: { type: 'boolean', help: 'send each line of stdin to the room, wait until the node acknowledges every one, exit (0 when all were taken)' },
  json: { type: 'boolean', help: 'print JSON lines instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

const COMMANDS = '/join <room>  /leave [room]  /rooms  /who [room]  /dm <name or id> <text> (Tab completes names)  /history [n]  /away  /back  /quit'

/** how users are shown to be told apart: the last 8 characters of their id */
export function shortUserId (userId: string): string {
  return userId.slice(-8)
}

/** somebody the terminal knows of: from a roster, a message or a DM */
export interface KnownUser {
  userId: string
  name: string
}

/** a full user id (an Ed25519 PeerId), which may be messaged without being known */
/** names on the line a join prints, the user's own included; the rest of a big room as a count */
const JOIN_NAMES_SHOWN = 30
const FULL_USER_ID = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/

/**
 * Who `/dm <query>` means, among the users this terminal knows: an exact name
 * (any case), else a user id prefix or short id (its tail), else a name
 * prefix. Pure. More than one user at the first step that matches is an
 * ambiguity, returned as candidates; a full user id is taken as it is.
 */
export function resolveUser (query: string, known: KnownUser[]): { user?: KnownUser, candidates: KnownUser[] } {
  const q = query.trim()
  const users = [...new Map(known.map(u => [u.userId, u])).values()]
  const byId = users.find(u => u.userId === q)
  if (byId != null) return { user: byId, candidates: [byId] }
  if (FULL_USER_ID.test(q)) return { user: { userId: q, name: q.slice(-8) }, candidates: [] }
  const lower = q.toLowerCase()
  const steps: Array<(u: KnownUser) => boolean> = [
    u => u.name.toLowerCase() === lower,
    u => q.length >= 4 && (u.userId.startsWith(q) || u.userId.endsWith(q)),
    u => lower !== '' && u.name.toLowerCase().startsWith(lower)
  ]
  for (const step of steps) {
    const found = users.filter(step)
    if (found.length === 1) return { user: found[0], candidates: found }
    if (found.length > 1) return { candidates: found.sort((a, b) => a.name.localeCompare(b.name) || (a.userId < b.userId ? -1 : 1)) }
  }
  return { candidates: [] }
}

/**
 * Tab completion of `/dm <partial name>` among the users this terminal knows
 * (names of one word, as a name is typed there): readline's [completions, the
 * part they replace]. Pure.
 */
export function completeDm (line: string, known: KnownUser[]): [string[], string] {
  const m = /^\/dm (\S*)$/.exec(line)
  if (m == null) return [[], line]
  const partial = m[1] ?? ''
  const names = [...new Set(known.map(u => u.name))]
    .filter(n => !/\s/.test(n) && n.toLowerCase().startsWith(partial.toLowerCase()))
    .sort((a, b) => a.localeCompare(b))
  return [names.map(n => n + ' '), partial]
}

function clock (ts: number): string {
  return new Date(ts).toTimeString().slice(0, 5)
}

function fmtMessage (m: ChatMessage): string {
  return `${clock(m.ts)} [${m.room}] ${m.name}: ${m.text}`
}

function fmtDm (d: DirectMessage, self: string, nameOf: (id: string) => string): string {
  return d.from === self
    ? `${clock(d.ts)} [dm → ${nameOf(d.to)}] ${d.text}`
    : `${clock(d.ts)} [dm from ${d.name} ${shortUserId(d.from)}] ${d.text}`
}

function fmtMember (m: RosterMember): string {
  return `${m.name}(${shortUserId(m.userId)}${m.status === 'away' ? ', away' : ''} @${m.nodes.map(n => n.slice(-6)).join(',')})`
}

/**
 * The console side: in a terminal, every incoming line is written above the
 * prompt, which is then drawn again with what the user has typed so far.
 */
interface Screen {
  print: (line: string, data?: Record<string, unknown>) => void
  /** the text of a submitted line is gone from the screen: it comes back formatted, as everyone sees it */
  eraseSubmitted: (line: string) => void
  setPrompt: (room: string) => void
  /** draw the prompt again (after a command's output) */
  prompt: () => void
}

function screen (rl: ReturnType<typeof createInterface>, interactive: boolean, json: boolean): Screen {
  const out = process.stdout
  let prompt = '> '
  // after /quit or the end of input, lines (a leave, the last acks) still print, without a prompt
  let open = true
  rl.once('close', () => { open = false })
  return {
    print: (line, data) => {
      const text = json ? JSON.stringify(data ?? { line }, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v) : line
      if (!interactive || !open) {
        out.write(text + '\n')
        return
      }
      // from the prompt's first row (a long input wraps), everything goes; the line, then the prompt again
      moveCursor(out, 0, -rl.getCursorPos().rows)
      cursorTo(out, 0)
      clearScreenDown(out)
      out.write(text + '\n')
      rl.prompt(true)
    },
    eraseSubmitted: line => {
      if (!interactive || !open) return
      const cols = out.columns > 0 ? out.columns : 80
      const rows = Math.max(1, Math.ceil((prompt.length + [...line].length) / cols))
      moveCursor(out, 0, -rows)
      cursorTo(out, 0)
      clearScreenDown(out)
    },
    prompt: () => { if (interactive && open) rl.prompt(true) },
    setPrompt: room => {
      prompt = `${room}> `
      if (!open) return
      rl.setPrompt(prompt)
      if (interactive) rl.prompt(true)
    }
  }
}

/** `meshchat chat`: resolves when the session is over, with the exit code */
export async function runChat (argv: string[]): Promise<number> {
  const o = parse(argv, CHAT_OPTS)
  if (o.help === true) { console.log(help('chat', CHAT_OPTS)); return 0 }
  const addrs = list(o.connect) ?? []
  if (addrs.length === 0) throw new Error('--connect <ws://host:port/ws or gateway multiaddr> is required (npm start prints them)')
  const sendMode = o.send === true
  const rooms = list(o.room) ?? []
  if (sendMode && rooms.length === 0) throw new Error('--send needs --room <name>: the room the lines go to')
  if (sendMode && process.stdin.isTTY) throw new Error('--send reads the text from stdin: pipe it in (echo hi | meshchat chat … --send)')
  const name = str(o.name) ?? process.env.USER ?? 'anon'
  const json = o.json === true
  const keyPath = resolve(str(o.key) ?? join(homedir(), '.meshchat', 'user.key'))
  const interactive = process.stdin.isTTY && process.stdout.isTTY && !json
  const client = createNodeClient({ name, addrs, keyStore: fileKeyStore(keyPath) })
  let known = (): KnownUser[] => []
  const rl = createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: interactive,
    ...(interactive ? { completer: (line: string) => completeDm(line, known()) } : {})
  })
  const scr = screen(rl, interactive, json)
  // lines are taken from the start (a pipe may hold them all before the node answers) and handled
  // once the rooms are joined
  let opened = (): void => {}
  let queue = new Promise<void>(resolve => { opened = resolve })
  let handle: (line: string) => Promise<void> = async () => {}
  rl.on('line', line => {
    scr.eraseSubmitted(line)
    queue = queue.then(async () => { await handle(line) }).then(() => { scr.prompt() })
  })
  rl.on('SIGINT', () => { rl.close() })
  const closed = new Promise<void>(resolve => rl.once('close', resolve))
  // in --send mode only the outcome is printed, not the room's traffic
  const print = sendMode ? () => {} : scr.print
  const names = new Map<string, string>()
  const nameOf = (id: string): string => names.get(id) ?? shortUserId(id)
  let current = ''
  wireEvents(client, print, names, nameOf)
  const welcome = await client.connect()
  names.set(client.userId, name)
  print(`attached to node ${welcome.nodeId} as ${client.userId} (mesh of ${welcome.meshSize}); /help for commands`, { type: 'welcome', ...welcome, self: client.userId })

  const joinRoom = async (room: string): Promise<void> => {
    await client.join(room, { backlog: sendMode ? 0 : 20 })
    current = room
    scr.setPrompt(current)
    // the roster snapshot arrives before the join's reply; later changes are printed as joins and leaves
    const members = client.roster(room)
    for (const m of members) names.set(m.userId, m.name)
    const others = members.filter(m => m.userId !== client.userId).map(m => m.name)
    // a big room by its count: a line of thousands of names says nothing
    const count = Math.max(client.rosterCount(room), others.length + 1)
    const shown = others.slice(0, JOIN_NAMES_SHOWN - 1)
    const more = count - 1 - shown.length
    print(`* in ${room}: ${[name, ...shown].join(', ')}${more > 0 ? ` and ${more} more` : ''}`, { type: 'roster', room, members, count })
  }
  for (const room of rooms) await joinRoom(room)
  if (sendMode) current = rooms[0] ?? ''
  scr.setPrompt(current)

  known = () => {
    const users: KnownUser[] = []
    for (const room of client.joined) for (const m of client.roster(room)) users.push({ userId: m.userId, name: m.name })
    for (const [userId, n] of names) users.push({ userId, name: n })
    return users.filter(u => u.userId !== client.userId)
  }

  const commands: Record<string, (args: string) => Promise<void>> = {
    help: async () => { print(COMMANDS, { type: 'help', commands: COMMANDS }) },
    join: async a => {
      if (a.trim() === '') throw new Error('usage: /join <room>')
      await joinRoom(a.trim())
    },
    leave: async a => {
      const r = a.trim() || current
      await client.leave(r)
      if (r === current) current = client.joined[0] ?? ''
      scr.setPrompt(current)
      print(`* left ${r}`, { type: 'left', room: r })
    },
    rooms: async () => { print(client.joined.map(r => r === current ? `*${r}` : r).join(' '), { type: 'rooms', rooms: client.joined, current }) },
    who: async a => {
      const r = a.trim() || current
      if (r === '') throw new Error('join a room first: /join <room>')
      const members = client.roster(r)
      print(`${r}: ${members.map(fmtMember).join(' ')}`, { type: 'who', room: r, members })
    },
    dm: async a => {
      const m = /^(\S+)\s+([\s\S]+)$/.exec(a.trim())
      if (m == null) throw new Error('usage: /dm <name or id> <text>')
      const [, query = '', text = ''] = m
      const { user, candidates } = resolveUser(query, known())
      if (user == null) {
        if (candidates.length === 0) throw new Error(`no user "${query}" in your rooms or conversations (/who lists them)`)
        print(`* "${query}" could be: ${candidates.map(c => `${c.name} (${shortUserId(c.userId)})`).join(', ')}; use /dm <id> <text>`, { type: 'ambiguous', query, candidates })
        return
      }
      const r = await client.dm(user.userId, text)
      print(`${clock(Date.now())} [dm → ${nameOf(user.userId)}] ${text}  (${r.state}${r.state === 'queued' ? `, ${r.copies} mailbox replicas` : ''})`, { type: 'dm-ack', to: user.userId, ...r })
    },
    history: async a => {
      const n = Number(a.trim() || 20)
      if (!Number.isInteger(n) || n < 1) throw new Error('usage: /history [n]')
      if (current === '') throw new Error('join a room first: /join <room>')
      const page = await client.history(current, { limit: n })
      for (const msg of page.messages) print(fmtMessage(msg), { type: 'history', ...msg })
    },
    away: async () => { await client.setStatus('away') },
    back: async () => { await client.setStatus('online') },
    quit: async () => { rl.close() }
  }

  let failures = 0
  handle = async (line: string): Promise<void> => {
    const text = line.trimEnd()
    if (text === '') return
    try {
      if (text.startsWith('/') && !sendMode) {
        const [, cmd = '', rest = ''] = /^\/(\S*)\s*([\s\S]*)$/.exec(text) ?? []
        const fn = commands[cmd]
        if (fn == null) throw new Error(`unknown command /${cmd} (/help)`)
        await fn(rest)
      } else {
        if (current === '') throw new Error('join a room first: /join <room>')
        const r = await client.send(current, text)
        if (sendMode) scr.print(`sent to ${current}: ${r.id}`, { type: 'sent', room: current, ...r })
      }
    } catch (err) {
      failures++
      scr.print(`! ${(err as Error).name}: ${(err as Error).message}`, { type: 'error', name: (err as Error).name, message: (err as Error).message })
    }
  }

  // one line at a time, in order: a message is acknowledged before the next line is taken, and
  // stdin's end waits for the last one (nothing typed or piped is cut off by the close)
  opened()
  scr.prompt()
  await closed
  await queue
  await client.close()
  return !interactive && failures > 0 ? 1 : 0
}

function wireEvents (client: ChatClient, print: Screen['print'], names: Map<string, string>, nameOf: (id: string) => string): void {
  client.addEventListener('message', e => {
    names.set(e.detail.from, e.detail.name)
    print(fmtMessage(e.detail), { type: 'message', ...e.detail })
  })
  client.addEventListener('dm', e => {
    if (e.detail.from !== client.userId) names.set(e.detail.from, e.detail.name)
    print(fmtDm(e.detail, client.userId, nameOf), { type: 'dm', ...e.detail })
  })
  // a snapshot's names (a join, a resume); those of later changes come with presence:join and presence:update
  client.addEventListener('roster', e => { if (e.detail.snapshot) for (const m of e.detail.members) names.set(m.userId, m.name) })
  client.addEventListener('presence:join', e => {
    const m = e.detail.member
    names.set(m.userId, m.name)
    if (m.userId === client.userId) return
    print(`* ${m.name} joined ${e.detail.room} (on ${m.nodes.map(n => n.slice(-6)).join(',')})`, { type: 'join', ...e.detail })
  })
  client.addEventListener('presence:leave', e => {
    if (e.detail.userId === client.userId) return
    print(`* ${nameOf(e.detail.userId)} left ${e.detail.room}`, { type: 'leave', ...e.detail, name: nameOf(e.detail.userId) })
  })
  client.addEventListener('state', e => {
    // closing is this terminal's own doing: nothing to report
    if (e.detail.state === 'closed') return
    print(`* ${e.detail.state}${e.detail.nodeId != null ? ` (node ${e.detail.nodeId.slice(-6)})` : ''}`, { type: 'state', ...e.detail })
  })
  client.addEventListener('error', e => { print(`! ${e.detail.name}: ${e.detail.message}`, { type: 'error', name: e.detail.name, code: e.detail.code, message: e.detail.message }) })
}
