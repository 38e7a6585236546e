/**
 * The meshchat web app. Rendering only: every byte to and from the mesh goes
 * through ChatClient, attached to the node that served this page (its
 * /config.json names the gateway). The page shows which node it is attached to;
 * when that node goes away the client moves to another one and resumes, and the
 * page just keeps rendering what the client reports.
 */
import { ChatClient } from '../src/chat-client.js'
import { indexedDbKeyStore } from '../src/key-store.js'
import { validateDisplayName, validateRoom } from '../src/protocol/validate.js'
import { DisconnectedError, VersionError, InvalidNameError } from '../src/errors.js'
import { byTestId, h, replaceChildren } from './dom.js'
import { Timeline } from './timeline.js'
import { clockTime, describeError, hue, initial, shortId } from './format.js'
import type { ChatMessage, ConnectionState, DirectMessage, PresenceStatus, RosterMember, UserState, WelcomeInfo } from '../src/chat-client.js'
import type { Entry } from './timeline.js'

/** localStorage keys */
const STORE = { name: 'meshchat.name', rooms: 'meshchat.rooms', active: 'meshchat.active' } as const
/** rooms a first visit starts in */
const DEFAULT_ROOMS = ['lobby']
/** messages replayed on join, and per history page */
const PAGE = 50
/** send "typing" at most this often while the user types (the node coalesces above 2/s anyway) */
const TYPING_SEND_EVERY_MS = 2500
/** show "X is typing" this long after the last typing event from X */
const TYPING_SHOW_MS = 5000
const ERROR_SHOW_MS = 8000
const NOTICE_SHOW_MS = 5000

interface Conv {
  /** `room:<name>` or `dm:<userId>` */
  id: string
  kind: 'room' | 'dm'
  /** room name, or the other user's id */
  target: string
  title: string
  timeline: Timeline
  unread: number
  /** more history before the oldest message; undefined = not known yet */
  more: boolean | undefined
  loadingOlder: boolean
  /** the join has completed: replays after this are news, not backlog */
  ready: boolean
  roster: RosterMember[]
  typing: Map<string, { name: string, until: number }>
  /** dm: the other user's presence */
  peer?: UserState
  draft: string
}

interface AppConfig {
  nodeId: string
  gateway: string[]
}

const ui = {
  conn: byTestId('conn-state'),
  connLabel: byTestId('conn-label'),
  nodeId: byTestId('node-id'),
  banner: byTestId('conn-banner'),
  meName: byTestId('me-name'),
  status: byTestId<HTMLSelectElement>('status-select'),
  changeName: byTestId<HTMLButtonElement>('change-name'),
  rooms: byTestId('room-list'),
  joinForm: byTestId<HTMLFormElement>('join-form'),
  joinInput: byTestId<HTMLInputElement>('join-input'),
  dms: byTestId('dm-list'),
  title: byTestId('conv-title'),
  sub: byTestId('conv-sub'),
  list: byTestId('message-list'),
  loadOlder: byTestId<HTMLButtonElement>('load-older'),
  historyStart: byTestId('history-start'),
  messages: byTestId('messages'),
  empty: byTestId('empty'),
  typing: byTestId('typing'),
  errors: byTestId('errors'),
  composer: byTestId<HTMLFormElement>('composer'),
  input: byTestId<HTMLTextAreaElement>('composer-input'),
  send: byTestId<HTMLButtonElement>('send'),
  roster: byTestId('roster'),
  rosterCount: byTestId('roster-count'),
  rosterTitle: byTestId('roster-title'),
  gate: byTestId('name-gate'),
  gateForm: byTestId<HTMLFormElement>('name-form'),
  gateInput: byTestId<HTMLInputElement>('name-input'),
  gateError: byTestId('name-error'),
  gateCancel: byTestId<HTMLButtonElement>('name-cancel')
}

function load<T> (key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key)
    return raw == null ? fallback : JSON.parse(raw) as T
  } catch {
    return fallback
  }
}

function save (key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value))
  } catch {
    // private mode or full storage: the app works, it just forgets on reload
  }
}

class App {
  private readonly client: ChatClient
  private readonly name: string
  private readonly convs = new Map<string, Conv>()
  private active?: Conv
  /** elements of the active conversation's messages, by entry key */
  private readonly rows = new Map<string, HTMLElement>()
  private pendingSeq = 0
  private lastTypingSent = 0
  private typingRoom?: string
  private typingTimer?: ReturnType<typeof setTimeout>
  private noticeTimer?: ReturnType<typeof setTimeout>
  private welcomed = false
  private lastNode?: string

  constructor (name: string, addrs: string[]) {
    this.name = name
    this.client = new ChatClient({ name, addrs, keyStore: indexedDbKeyStore() })
    this.wireClient()
    this.wireUi()
    ui.meName.textContent = name
    this.renderConn('connecting')
    this.renderAll()
  }

  private get me (): string {
    return this.client.userId
  }

  // ---- connection -------------------------------------------------------

  async start (): Promise<void> {
    let delay = 500
    for (;;) {
      try {
        await this.client.connect()
        break
      } catch (err) {
        if (err instanceof InvalidNameError) {
          // this node's rules for names are stricter than ours: ask for another one
          showGate(this.name, true)
          ui.gateError.textContent = describeError(err).text
          return
        }
        if (err instanceof VersionError) {
          this.showError(err)
          return
        }
        // the node that served the page is unreachable right now: keep trying
        this.renderConn('reconnecting')
        await new Promise(resolve => setTimeout(resolve, delay))
        delay = Math.min(delay * 2, 5000)
      }
    }
    const rooms = load<unknown[]>(STORE.rooms, DEFAULT_ROOMS).filter((r): r is string => {
      try {
        validateRoom(r)
        return true
      } catch {
        return false
      }
    })
    const activeId = load<string | null>(STORE.active, null)
    for (const room of rooms) this.ensureRoom(room)
    const first = (activeId != null ? this.convs.get(activeId) : undefined) ?? this.convs.values().next().value
    if (first != null) this.activate(first)
    await Promise.all(rooms.map(async room => this.joinRoom(room, false)))
  }

  private wireClient (): void {
    const c = this.client
    c.addEventListener('state', e => { this.renderConn(e.detail.state, e.detail.nodeId) })
    c.addEventListener('welcome', e => { this.onWelcome(e.detail) })
    c.addEventListener('redirect', e => { this.notice(`Moved to a lighter node ${shortId(e.detail.to)} (${e.detail.reason}).`) })
    c.addEventListener('message', e => { this.onMessage(e.detail) })
    c.addEventListener('dm', e => { this.onDm(e.detail) })
    c.addEventListener('roster', e => {
      const conv = this.convs.get('room:' + e.detail.room)
      if (conv == null) return
      conv.roster = e.detail.members
      if (conv === this.active) this.renderRoster()
    })
    c.addEventListener('typing', e => {
      const { room, userId, name, active } = e.detail
      const conv = this.convs.get('room:' + room)
      if (conv == null) return
      if (active) conv.typing.set(userId, { name, until: Date.now() + TYPING_SHOW_MS })
      else conv.typing.delete(userId)
      if (conv === this.active) this.renderTyping()
    })
    c.addEventListener('user', e => { this.onUser(e.detail) })
    c.addEventListener('error', e => { this.showError(e.detail) })
  }

  private onWelcome (w: WelcomeInfo): void {
    const moved = this.lastNode != null && this.lastNode !== w.nodeId
    if (this.welcomed) {
      this.notice(moved
        ? `Reconnected through node ${shortId(w.nodeId)}; caught up on what you missed.`
        : `Reconnected to node ${shortId(w.nodeId)}.`)
      // rooms joined while disconnected were resumed without a backlog: fetch their latest page
      for (const conv of this.convs.values()) {
        if (conv.kind === 'room' && conv.timeline.entries.length === 0) void this.loadOlder(conv)
      }
    } else {
      ui.banner.hidden = true
    }
    this.welcomed = true
    this.lastNode = w.nodeId
    ui.meName.dataset.userId = w.userId
    ui.meName.title = `your user id: ${w.userId}`
    ui.conn.title = `attached to node ${w.nodeId} through ${w.addr}; ${w.meshSize} node(s) in the mesh`
    this.renderConn(this.client.state, w.nodeId)
  }

  private renderConn (state: ConnectionState, nodeId?: string): void {
    ui.conn.dataset.state = state
    const labels: Record<ConnectionState, string> = {
      idle: 'not connected',
      connecting: 'connecting…',
      connected: 'connected',
      reconnecting: 'reconnecting…',
      closed: 'closed'
    }
    ui.connLabel.textContent = labels[state]
    const node = nodeId ?? this.client.nodeId
    if (node != null) ui.conn.dataset.node = node
    ui.nodeId.textContent = node == null ? '' : state === 'connected' ? `node ${shortId(node)}` : `was node ${shortId(node)}`
    document.body.dataset.conn = state
    if (state === 'reconnecting' && this.welcomed) {
      clearTimeout(this.noticeTimer)
      ui.banner.dataset.kind = 'warn'
      ui.banner.textContent = `Lost the connection to node ${shortId(node ?? '')}. Reconnecting to another node…`
      ui.banner.hidden = false
    }
  }

  /** a transient line under the top bar */
  private notice (text: string): void {
    ui.banner.dataset.kind = 'info'
    ui.banner.textContent = text
    ui.banner.hidden = false
    clearTimeout(this.noticeTimer)
    this.noticeTimer = setTimeout(() => { ui.banner.hidden = true }, NOTICE_SHOW_MS)
  }

  showError (err: unknown): void {
    const { code, text } = describeError(err)
    const name = err instanceof Error ? err.name : 'Error'
    const row = h('div', { className: 'error', testid: 'error', attrs: { 'data-code': code, role: 'alert' } },
      h('span', { className: 'error-code' }, name),
      h('span', { className: 'error-text', testid: 'error-text' }, text),
      h('button', { className: 'error-close', attrs: { type: 'button', 'aria-label': 'dismiss' }, on: { click: () => { row.remove() } } }, '×')
    )
    ui.errors.append(row)
    while (ui.errors.children.length > 3) ui.errors.firstElementChild?.remove()
    setTimeout(() => { row.remove() }, ERROR_SHOW_MS)
  }

  // ---- conversations ----------------------------------------------------

  private newConv (kind: Conv['kind'], target: string, title: string): Conv {
    const conv: Conv = {
      id: `${kind}:${target}`,
      kind,
      target,
      title,
      timeline: new Timeline(),
      unread: 0,
      // direct messages have no server-side history: only what arrives while the page is open (and the mailbox)
      more: kind === 'dm' ? false : undefined,
      loadingOlder: false,
      ready: kind === 'dm',
      roster: [],
      typing: new Map(),
      draft: ''
    }
    this.convs.set(conv.id, conv)
    return conv
  }

  private ensureRoom (room: string): Conv {
    return this.convs.get('room:' + room) ?? this.newConv('room', room, room)
  }

  private ensureDm (userId: string, name: string): Conv {
    let conv = this.convs.get('dm:' + userId)
    if (conv == null) {
      conv = this.newConv('dm', userId, name)
      this.watchDmPeers()
      this.renderNav()
    }
    return conv
  }

  private watchDmPeers (): void {
    const peers = [...this.convs.values()].filter(c => c.kind === 'dm').map(c => c.target)
    this.client.watch(peers).then(states => { for (const s of states) this.onUser(s) }).catch(() => {
      // not connected: the client watches them again when it reconnects
    })
  }

  private saveRooms (): void {
    save(STORE.rooms, [...this.convs.values()].filter(c => c.kind === 'room').map(c => c.target))
  }

  private async joinRoom (room: string, activate: boolean): Promise<void> {
    let name: string
    try {
      name = validateRoom(room)
    } catch (err) {
      this.showError(err)
      return
    }
    const conv = this.ensureRoom(name)
    this.saveRooms()
    if (activate) this.activate(conv)
    else this.renderNav()
    try {
      const { replayed } = await this.client.join(name, { backlog: PAGE })
      if (conv.more === undefined) conv.more = replayed >= PAGE ? undefined : false
      conv.ready = true
      if (conv === this.active) this.renderOlder()
    } catch (err) {
      this.showError(err)
      // a refused join leaves nothing behind; a lost connection is retried by the client on reconnect
      if (!(err instanceof DisconnectedError) && !this.client.joined.includes(name)) this.dropConv(conv)
    }
  }

  private async leaveRoom (conv: Conv): Promise<void> {
    this.dropConv(conv)
    try {
      await this.client.leave(conv.target)
    } catch (err) {
      if (!(err instanceof DisconnectedError)) this.showError(err)
    }
  }

  private dropConv (conv: Conv): void {
    this.convs.delete(conv.id)
    if (conv.kind === 'room') this.saveRooms()
    if (this.active === conv) {
      this.active = undefined
      const next = this.convs.values().next().value
      if (next != null) {
        this.activate(next)
        return
      }
    }
    this.renderAll()
  }

  private activate (conv: Conv): void {
    if (this.active != null && this.active !== conv) this.active.draft = ui.input.value
    this.stopTyping()
    this.active = conv
    conv.unread = 0
    save(STORE.active, conv.id)
    ui.input.value = conv.draft
    this.renderAll()
    this.scrollToBottom()
    ui.input.focus()
  }

  private openDm (userId: string, name: string): void {
    if (userId === this.me) return
    this.activate(this.ensureDm(userId, name))
  }

  // ---- incoming ---------------------------------------------------------

  private onMessage (m: ChatMessage): void {
    const conv = this.convs.get('room:' + m.room)
    if (conv == null) return
    if (m.from === this.me) {
      // our own message came back from the node: retire its "sending" placeholder
      const p = conv.timeline.pendingMatch(m.from, m.text)
      if (p != null) this.removeEntry(conv, p.key)
    }
    conv.typing.delete(m.from)
    const fresh = this.addEntry(conv, { key: m.id, hlc: m.hlc, from: m.from, name: m.name, text: m.text, ts: m.ts, origin: m.origin, pending: false })
    if (fresh && conv !== this.active && m.from !== this.me && (m.via === 'live' || conv.ready)) {
      conv.unread++
      this.renderNav()
    }
    if (conv === this.active) this.renderTyping()
  }

  private onDm (d: DirectMessage): void {
    const mine = d.from === this.me
    const peer = mine ? d.to : d.from
    const conv = this.ensureDm(peer, mine ? (this.convs.get('dm:' + peer)?.title ?? shortId(peer)) : d.name)
    if (!mine && conv.title !== d.name) {
      conv.title = d.name
      this.renderNav()
      if (conv === this.active) this.renderHead()
    }
    const fresh = this.addEntry(conv, { key: d.id, hlc: d.hlc, from: d.from, name: d.name, text: d.text, ts: d.ts, origin: d.origin, pending: false })
    if (fresh && conv !== this.active && !mine) {
      conv.unread++
      this.renderNav()
    }
  }

  private onUser (u: UserState): void {
    const conv = this.convs.get('dm:' + u.userId)
    if (conv == null) return
    conv.peer = u
    if (u.online && u.name !== '' && conv.title !== u.name) conv.title = u.name
    this.renderNav()
    if (conv === this.active) {
      this.renderHead()
      this.renderRoster()
    }
  }

  // ---- outgoing ---------------------------------------------------------

  private async submit (): Promise<void> {
    const conv = this.active
    const text = ui.input.value
    if (conv == null || text.trim() === '') return
    ui.input.value = ''
    this.autosize()
    this.stopTyping()
    const key = `pending:${String(++this.pendingSeq).padStart(8, '0')}`
    this.addEntry(conv, { key, hlc: 0n, from: this.me, name: this.name, text, ts: Date.now(), pending: true, dm: conv.kind === 'dm' ? 'sending' : undefined })
    this.scrollToBottom()
    try {
      if (conv.kind === 'room') {
        const r = await this.client.send(conv.target, text)
        this.removeEntry(conv, key)
        this.addEntry(conv, { key: r.id, hlc: r.hlc, from: this.me, name: this.name, text, ts: Date.now(), pending: false })
      } else {
        const r = await this.client.dm(conv.target, text)
        this.removeEntry(conv, key)
        this.addEntry(conv, { key: r.id, hlc: r.hlc, from: this.me, name: this.name, text, ts: Date.now(), pending: false, dm: r.state })
      }
    } catch (err) {
      this.removeEntry(conv, key)
      this.showError(err)
      // give the text back so nothing typed is lost
      if (conv === this.active && ui.input.value === '') {
        ui.input.value = text
        this.autosize()
      }
    }
  }

  private onInput (): void {
    this.autosize()
    const conv = this.active
    if (conv?.kind !== 'room') return
    if (ui.input.value.trim() === '') {
      this.stopTyping()
      return
    }
    const now = Date.now()
    if (this.typingRoom === conv.target && now - this.lastTypingSent < TYPING_SEND_EVERY_MS) return
    this.lastTypingSent = now
    this.typingRoom = conv.target
    // typing is best effort: a dropped one only means a late indicator
    this.client.typing(conv.target, true).catch(() => {})
  }

  private stopTyping (): void {
    if (this.typingRoom == null) return
    const room = this.typingRoom
    this.typingRoom = undefined
    this.lastTypingSent = 0
    if (this.client.joined.includes(room)) this.client.typing(room, false).catch(() => {})
  }

  async loadOlder (conv: Conv): Promise<void> {
    if (conv.kind !== 'room' || conv.loadingOlder || conv.more === false) return
    conv.loadingOlder = true
    if (conv === this.active) this.renderOlder()
    try {
      const oldest = conv.timeline.oldest()
      const page = await this.client.history(conv.target, {
        before: oldest == null ? undefined : { hlc: oldest.hlc, id: oldest.key },
        limit: PAGE
      })
      // keep what the user is looking at in place while older messages go in above it
      const fromBottom = ui.list.scrollHeight - ui.list.scrollTop
      for (const m of page.messages) {
        this.addEntry(conv, { key: m.id, hlc: m.hlc, from: m.from, name: m.name, text: m.text, ts: m.ts, origin: m.origin, pending: false }, false)
      }
      conv.more = page.more
      if (conv === this.active) ui.list.scrollTop = ui.list.scrollHeight - fromBottom
    } catch (err) {
      this.showError(err)
    } finally {
      conv.loadingOlder = false
      if (conv === this.active) this.renderOlder()
    }
  }

  // ---- timeline ↔ DOM ---------------------------------------------------

  /** add to a conversation; draws it when the conversation is on screen. False when already there. */
  private addEntry (conv: Conv, e: Entry, follow = true): boolean {
    if (conv.timeline.insert(e) < 0) return false
    if (conv !== this.active) return true
    const stick = follow && this.nearBottom()
    const row = this.row(e)
    const next = conv.timeline.next(e.key)
    const before = next == null ? null : this.rows.get(next.key) ?? null
    ui.messages.insertBefore(row, before)
    this.rows.set(e.key, row)
    ui.empty.hidden = true
    if (stick || (follow && e.from === this.me && e.pending)) this.scrollToBottom()
    return true
  }

  private removeEntry (conv: Conv, key: string): void {
    if (!conv.timeline.remove(key)) return
    if (conv !== this.active) return
    this.rows.get(key)?.remove()
    this.rows.delete(key)
  }

  private row (e: Entry): HTMLElement {
    const mine = e.from === this.me
    const attrs: Record<string, string> = { 'data-id': e.key, 'data-from': e.from }
    if (e.dm != null) attrs['data-dm-state'] = e.dm
    return h('li', { className: `msg${mine ? ' mine' : ''}${e.pending ? ' pending' : ''}`, testid: 'message', attrs },
      h('span', { className: 'avatar', attrs: { 'aria-hidden': 'true', style: `--h:${hue(e.from)}` } }, initial(e.name)),
      h('div', { className: 'body' },
        h('div', { className: 'meta' },
          h('span', { className: 'author', testid: 'message-author', title: e.from }, e.name),
          h('time', { title: new Date(e.ts).toLocaleString() + (e.origin != null ? ` · via node ${shortId(e.origin)}` : '') }, clockTime(e.ts)),
          e.pending && e.dm == null ? h('span', { className: 'state', testid: 'send-state' }, 'sending…') : null,
          e.dm != null ? h('span', { className: `state dm-${e.dm}`, testid: 'dm-state', title: dmStateTitle(e.dm) }, dmStateLabel(e.dm)) : null
        ),
        h('div', { className: 'text', testid: 'message-text' }, e.text)
      )
    )
  }

  private nearBottom (): boolean {
    return ui.list.scrollHeight - ui.list.scrollTop - ui.list.clientHeight < 80
  }

  private scrollToBottom (): void {
    ui.list.scrollTop = ui.list.scrollHeight
  }

  // ---- rendering --------------------------------------------------------

  private renderAll (): void {
    this.renderNav()
    this.renderHead()
    this.renderMessages()
    this.renderRoster()
    this.renderTyping()
    const conv = this.active
    ui.input.disabled = conv == null
    ui.send.disabled = conv == null
    ui.input.placeholder = conv == null ? 'Join a room to start chatting' : conv.kind === 'room' ? `Message #${conv.title}` : `Message ${conv.title}`
  }

  private renderNav (): void {
    const item = (conv: Conv, label: Node[], extra?: Node): HTMLElement => h('li', {
      className: `nav-item${conv === this.active ? ' active' : ''}${conv.unread > 0 ? ' has-unread' : ''}`,
      testid: conv.kind === 'room' ? 'room-item' : 'dm-item',
      attrs: conv.kind === 'room' ? { 'data-room': conv.target } : { 'data-user-id': conv.target }
    },
    h('button', { className: 'nav-open', attrs: { type: 'button' }, on: { click: () => { this.activate(conv) } } },
      ...label,
      conv.unread > 0 ? h('span', { className: 'badge', testid: 'unread' }, String(conv.unread)) : null
    ),
    extra
    )
    const rooms: HTMLElement[] = []
    const dms: HTMLElement[] = []
    for (const conv of this.convs.values()) {
      if (conv.kind === 'room') {
        rooms.push(item(conv, [h('span', { className: 'hash' }, '#'), h('span', { className: 'label' }, conv.title)],
          h('button', {
            className: 'nav-leave',
            testid: 'leave-room',
            title: `leave #${conv.title}`,
            attrs: { type: 'button', 'aria-label': `leave ${conv.title}` },
            on: { click: () => { void this.leaveRoom(conv) } }
          }, '×')))
      } else {
        const online = conv.peer?.online === true
        dms.push(item(conv, [
          h('span', { className: `dot ${online ? conv.peer?.status ?? 'online' : 'offline'}` }),
          h('span', { className: 'label' }, conv.title)
        ]))
      }
    }
    replaceChildren(ui.rooms, ...rooms)
    replaceChildren(ui.dms, ...dms)
  }

  private renderHead (): void {
    const conv = this.active
    if (conv == null) {
      ui.title.textContent = 'meshchat'
      ui.sub.textContent = ''
      return
    }
    if (conv.kind === 'room') {
      ui.title.textContent = '#' + conv.title
      ui.sub.textContent = `${conv.roster.length} ${conv.roster.length === 1 ? 'member' : 'members'} online`
    } else {
      ui.title.textContent = conv.title
      const p = conv.peer
      ui.sub.textContent = p == null
        ? 'direct message'
        : p.online
          ? `${p.status === 'away' ? 'away' : 'online'} · node ${p.nodes.map(shortId).join(', ')}`
          : 'offline · messages wait in their mailbox'
    }
  }

  private renderMessages (): void {
    this.rows.clear()
    const conv = this.active
    const rows: HTMLElement[] = []
    for (const e of conv?.timeline.entries ?? []) {
      const row = this.row(e)
      this.rows.set(e.key, row)
      rows.push(row)
    }
    replaceChildren(ui.messages, ...rows)
    ui.empty.hidden = conv != null
    this.renderOlder()
  }

  private renderOlder (): void {
    const conv = this.active
    const room = conv?.kind === 'room'
    ui.loadOlder.hidden = !room || conv.more === false
    ui.loadOlder.disabled = conv?.loadingOlder === true
    ui.loadOlder.textContent = conv?.loadingOlder === true ? 'Loading…' : 'Load older messages'
    ui.historyStart.hidden = conv == null || (room && conv.more !== false)
    ui.historyStart.textContent = room
      ? 'This is the beginning of the conversation.'
      : 'Direct messages from while this page is open, and any that waited in your mailbox.'
  }

  private renderRoster (): void {
    const conv = this.active
    if (conv?.kind !== 'room') {
      ui.rosterTitle.textContent = conv == null ? 'Members' : 'With'
      const p = conv?.peer
      const peer: RosterMember[] = conv == null
        ? []
        : [{ userId: conv.target, name: conv.title, status: p?.online === true && p.status === 'away' ? 'away' : 'online', nodes: p?.nodes ?? [] }]
      replaceChildren(ui.roster, ...peer.map(m => this.member(m, p?.online !== true)))
      ui.rosterCount.textContent = ''
      this.renderHead()
      return
    }
    ui.rosterTitle.textContent = 'Members'
    const members = [...conv.roster].sort((a, b) =>
      (a.userId === this.me ? -1 : 0) - (b.userId === this.me ? -1 : 0) || a.name.localeCompare(b.name) || (a.userId < b.userId ? -1 : 1))
    replaceChildren(ui.roster, ...members.map(m => this.member(m, false)))
    ui.rosterCount.textContent = String(members.length)
    this.renderHead()
  }

  /** one person in the side pane: status, name, the node(s) hosting them; click to message them */
  private member (m: RosterMember, offline: boolean): HTMLElement {
    const me = m.userId === this.me
    const status = offline ? 'offline' : m.status
    return h('li', { className: `member${me ? ' self' : ''}`, testid: 'roster-member', attrs: { 'data-user-id': m.userId, 'data-status': status } },
      h('button', {
        className: 'member-open',
        title: me ? 'you' : `message ${m.name} (${m.userId})`,
        attrs: { type: 'button', ...(me ? { 'aria-disabled': 'true' } : {}) },
        on: { click: () => { this.openDm(m.userId, m.name) } }
      },
      h('span', { className: 'avatar small', attrs: { 'aria-hidden': 'true', style: `--h:${hue(m.userId)}` } }, initial(m.name)),
      h('span', { className: `dot ${status}`, title: status }),
      h('span', { className: 'member-name', testid: 'member-name' }, m.name),
      me ? h('span', { className: 'you' }, 'you') : null,
      h('span', { className: 'member-node', testid: 'member-node', title: m.nodes.join('\n') }, m.nodes.map(shortId).join(' '))
      ))
  }


  private renderTyping (): void {
    clearTimeout(this.typingTimer)
    const conv = this.active
    const now = Date.now()
    const names: string[] = []
    let nextExpiry = Infinity
    for (const [user, t] of conv?.typing ?? []) {
      if (t.until <= now) {
        conv?.typing.delete(user)
        continue
      }
      names.push(t.name)
      nextExpiry = Math.min(nextExpiry, t.until)
    }
    ui.typing.textContent = names.length === 0
      ? ''
      : names.length === 1
        ? `${names[0] ?? ''} is typing…`
        : names.length === 2
          ? `${names[0] ?? ''} and ${names[1] ?? ''} are typing…`
          : `${names.length} people are typing…`
    if (nextExpiry !== Infinity) this.typingTimer = setTimeout(() => { this.renderTyping() }, nextExpiry - now + 10)
  }

  private autosize (): void {
    ui.input.style.height = 'auto'
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 160)}px`
  }

  // ---- UI events --------------------------------------------------------

  private wireUi (): void {
    ui.composer.addEventListener('submit', e => {
      e.preventDefault()
      void this.submit()
    })
    ui.input.addEventListener('keydown', e => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault()
        void this.submit()
      }
    })
    ui.input.addEventListener('input', () => { this.onInput() })
    ui.input.addEventListener('blur', () => { this.stopTyping() })
    ui.joinForm.addEventListener('submit', e => {
      e.preventDefault()
      const room = ui.joinInput.value.trim().replace(/^#/, '').normalize('NFC')
      if (room === '') return
      ui.joinInput.value = ''
      const existing = this.convs.get('room:' + room)
      if (existing != null) this.activate(existing)
      else void this.joinRoom(room, true)
    })
    ui.loadOlder.addEventListener('click', () => { if (this.active != null) void this.loadOlder(this.active) })
    ui.list.addEventListener('scroll', () => {
      const conv = this.active
      if (conv != null && ui.list.scrollTop < 24 && conv.more !== false && conv.timeline.entries.length > 0) void this.loadOlder(conv)
    }, { passive: true })
    ui.status.addEventListener('change', () => {
      this.client.setStatus(ui.status.value as PresenceStatus).catch(err => { this.showError(err) })
    })
    ui.changeName.addEventListener('click', () => { showGate(this.name, true) })
    window.addEventListener('pagehide', () => { void this.client.close() })
  }
}

function dmStateLabel (s: Entry['dm']): string {
  return s === 'delivered' ? '✓ delivered' : s === 'queued' ? '✉ queued' : 'sending…'
}

function dmStateTitle (s: Entry['dm']): string {
  return s === 'delivered'
    ? 'reached at least one of their devices'
    : s === 'queued'
      ? 'they are offline: kept in their mailbox on several nodes until they come back'
      : 'on its way to the node'
}

// ---- start-up ------------------------------------------------------------

let app: App | undefined
let config: AppConfig | undefined

function showGate (name: string, changing: boolean): void {
  ui.gate.hidden = false
  ui.gateInput.value = name
  ui.gateError.textContent = ''
  ui.gateCancel.hidden = !changing
  ui.gateInput.focus()
  ui.gateInput.select()
}

ui.gateForm.addEventListener('submit', e => {
  e.preventDefault()
  let name: string
  try {
    name = validateDisplayName(ui.gateInput.value.trim())
  } catch (err) {
    ui.gateError.textContent = describeError(err).text
    return
  }
  save(STORE.name, name)
  if (app != null) {
    // the name is signed into every event this session sends: start a new session under the new name
    location.reload()
    return
  }
  ui.gate.hidden = true
  boot(name)
})

ui.gate.addEventListener('keydown', e => {
  if (e.key === 'Escape' && app != null) ui.gate.hidden = true
})
ui.gateCancel.addEventListener('click', () => { ui.gate.hidden = true })

function boot (name: string): void {
  if (config == null) return
  app = new App(name, config.gateway)
  void app.start()
}

async function main (): Promise<void> {
  try {
    const res = await fetch('/config.json', { cache: 'no-store' })
    if (!res.ok) throw new Error(`the node answered ${res.status}`)
    config = await res.json() as AppConfig
    if (!Array.isArray(config.gateway) || config.gateway.length === 0) throw new Error('the node has no WebSocket gateway')
  } catch (err) {
    ui.connLabel.textContent = `cannot read /config.json: ${(err as Error).message}`
    ui.conn.dataset.state = 'closed'
    return
  }
  const saved = load<string | null>(STORE.name, null)
  let name: string | undefined
  try {
    name = saved == null ? undefined : validateDisplayName(saved)
  } catch {
    name = undefined
  }
  if (name == null) showGate('', false)
  else boot(name)
}

void main()
