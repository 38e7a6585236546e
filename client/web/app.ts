/**
 * The meshchat web app: wiring between the client library and the page. The
 * conversation model (model.ts) holds what the page knows, the view (view.ts)
 * draws it; every byte to and from the mesh goes through ChatClient, attached
 * to the node that served this page (its /config.json names the gateway). The
 * client moves to another node and resumes by itself when its node goes away;
 * the page just keeps rendering what the client reports.
 */
import { ChatClient, DisconnectedError, InvalidNameError, VersionError, indexedDbKeyStore, validateDisplayName, validateRoom } from '../src/index.js'
import { describeError, shortId } from './format.js'
import { Conversations } from './model.js'
import { Notifier, notifyLabel } from './notify.js'
import { View, ui } from './view.js'
import type { Conv } from './model.js'
import type { Entry } from './timeline.js'
import type { PresenceStatus, WelcomeInfo } from '../src/index.js'

/** localStorage keys */
const STORE = { name: 'meshchat.name', rooms: 'meshchat.rooms', active: 'meshchat.active', dms: 'meshchat.dms', receipts: 'meshchat.receipts' } as const
/** rooms a first visit starts in */
const DEFAULT_ROOMS = ['lobby']
/** messages replayed on join, and per history page */
const PAGE = 50
/** send "typing" at most this often while the user types (the node coalesces above 2/s anyway) */
const TYPING_SEND_EVERY_MS = 2500
/** show "X is typing" this long after the last typing event from X */
const TYPING_SHOW_MS = 5000
/** roster changes within this long are drawn once */
const ROSTER_DRAW_MS = 50
/** a read receipt goes out this long after the newest message was shown (a burst of messages sends one) */
const READ_AFTER_MS = 400

interface AppConfig {
  nodeId: string
  gateway: string[]
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
  private readonly model: Conversations
  private readonly view: View
  private pendingSeq = 0
  private lastTypingSent = 0
  private typingRoom?: string
  private welcomed = false
  private lastNode?: string
  private readonly notifier = new Notifier()
  /** the privacy choice: whether this user tells others how far they have read */
  private receiptsOn = load<boolean>(STORE.receipts, true) !== false
  private readTimer?: ReturnType<typeof setTimeout>
  /** rooms whose roster changed since it was last drawn, drawn together a moment later (a big room fills up one member at a time) */
  private readonly rosterDue = new Set<string>()
  private rosterTimer?: ReturnType<typeof setTimeout>

  constructor (name: string, addrs: string[]) {
    this.name = name
    this.client = new ChatClient({ name, addrs, keyStore: indexedDbKeyStore() })
    this.model = new Conversations(() => this.me)
    this.model.hidden = document.hidden
    this.view = new View(this.model, () => this.me, {
      open: conv => { this.activate(conv) },
      leave: conv => { void this.leaveRoom(conv) },
      message: (userId, name) => { this.openDm(userId, name) }
    })
    this.wireClient()
    this.wireUi()
    ui.meName.textContent = name
    this.view.connection('connecting', undefined, false)
    this.view.all()
  }

  private get me (): string {
    return this.client.userId
  }

  // ---- connection -------------------------------------------------------

  async start (): Promise<void> {
    // the client keeps trying while no node answers; only refusals it cannot fix come back here
    await this.client.start()
    const rooms = load<unknown[]>(STORE.rooms, DEFAULT_ROOMS).filter((r): r is string => {
      try {
        validateRoom(r)
        return true
      } catch {
        return false
      }
    })
    const activeId = load<string | null>(STORE.active, null)
    for (const room of rooms) this.model.ensureRoom(room)
    // the DM conversations of earlier visits; their messages come from the mesh's conversation history
    const dms = load<unknown[]>(STORE.dms, []).filter((d): d is { userId: string, name: string } =>
      typeof d === 'object' && d != null && typeof (d as { userId?: unknown }).userId === 'string' && typeof (d as { name?: unknown }).name === 'string')
    for (const d of dms) if (d.userId !== this.me) this.model.ensureDm(d.userId, d.name)
    if (dms.length > 0) this.watchDmPeers()
    const first = (activeId != null ? this.model.convs.get(activeId) : undefined) ?? this.model.convs.values().next().value
    if (first != null) this.activate(first)
    await Promise.all([
      ...rooms.map(async room => this.joinRoom(room, false)),
      ...[...this.model.convs.values()].filter(c => c.kind === 'dm').map(async c => this.loadOlder(c))
    ])
  }

  /** a refusal the client cannot get past by itself */
  fatal (err: unknown): void {
    if (err instanceof InvalidNameError) {
      // this node's rules for names are stricter than ours: ask for another one
      showGate(this.name, true)
      ui.gateError.textContent = describeError(err).text
      return
    }
    this.view.error(err)
    if (!(err instanceof VersionError)) this.view.connection('idle', undefined, this.welcomed)
  }

  private wireClient (): void {
    const c = this.client
    c.addEventListener('state', e => { this.view.connection(e.detail.state, e.detail.nodeId ?? this.client.nodeId, this.welcomed) })
    c.addEventListener('welcome', e => { this.onWelcome(e.detail) })
    c.addEventListener('redirect', e => { this.view.notice(`Moved to a lighter node ${shortId(e.detail.to)} (${e.detail.reason}).`) })
    c.addEventListener('message', e => {
      const ch = this.model.message(e.detail)
      if (ch.conv == null) return
      if (ch.retired != null) this.view.entryRemoved(ch.conv, ch.retired)
      if (ch.fresh) {
        this.view.entryAdded(ch.conv, ch.conv.timeline.get(e.detail.id) as Entry)
        if (e.detail.via === 'live') this.trimOld(ch.conv)
      }
      if (ch.nav) this.view.nav()
      if (ch.conv === this.model.active) {
        this.view.typing()
        this.readSoon()
      }
      if (ch.alert === true && e.detail.via === 'live') {
        const conv = ch.conv
        this.notifier.show(`${e.detail.name} mentioned you in #${e.detail.room}`, e.detail.text, conv.id, () => { this.activate(conv) })
      }
    })
    c.addEventListener('dm', e => {
      const ch = this.model.direct(e.detail)
      if (ch.conv == null) return
      if (ch.created === true) {
        this.watchDmPeers()
        // a first DM from someone: the conversation may have a past (another device, an earlier visit)
        void this.loadOlder(ch.conv)
      }
      if (ch.created === true || ch.nav) this.saveDms()
      if (ch.fresh) {
        this.view.entryAdded(ch.conv, ch.conv.timeline.get(e.detail.id) as Entry)
        if (e.detail.via === 'live') this.trimOld(ch.conv)
      }
      if (ch.conv === this.model.active) this.readSoon()
      if (ch.nav) this.view.nav()
      if (ch.head) this.view.head()
      // a DM caught up from the conversation's history (another device took it live) is not news
      if (ch.alert === true && e.detail.via !== 'history') {
        const conv = ch.conv
        this.notifier.show(`${e.detail.name} (direct message)`, e.detail.text, conv.id, () => { this.activate(conv) })
      }
    })
    c.addEventListener('roster', e => {
      this.rosterDue.add(e.detail.room)
      this.rosterTimer ??= setTimeout(() => { this.drawRosters() }, ROSTER_DRAW_MS)
    })
    c.addEventListener('typing', e => {
      const { room, userId, name, active } = e.detail
      const conv = this.model.typing(room, userId, name, active, Date.now() + TYPING_SHOW_MS)
      if (conv != null && conv === this.model.active) this.view.typing()
    })
    c.addEventListener('user', e => {
      const ch = this.model.user(e.detail)
      if (ch.nav) this.view.nav()
      if (ch.head) {
        this.view.head()
        this.view.roster()
      }
    })
    c.addEventListener('receipt', e => {
      const conv = e.detail.room != null ? this.model.room(e.detail.room) : e.detail.peer != null ? this.model.dm(e.detail.peer) : undefined
      if (conv != null && conv === this.model.active) this.showReceipts(conv)
    })
    c.addEventListener('error', e => { this.view.error(e.detail) })
  }

  /** the rosters that changed, each read once from the client however many changes came */
  private drawRosters (): void {
    this.rosterTimer = undefined
    let active = false
    for (const room of this.rosterDue) {
      const conv = this.model.room(room)
      if (conv == null) continue
      conv.roster = this.client.roster(room)
      conv.rosterCount = this.client.rosterCount(room)
      if (conv === this.model.active) active = true
    }
    this.rosterDue.clear()
    if (active) this.view.roster()
  }

  // ---- read receipts ----------------------------------------------------

  /** what the client knows of how far others have read `conv` */
  private showReceipts (conv: Conv): void {
    const readers = conv.kind === 'room'
      ? this.client.readBy(conv.target)
      : [this.client.dmReadBy(conv.target)].filter(r => r != null)
    this.view.receipts(conv, readers)
  }

  /** the open conversation is on screen: say so, shortly (one receipt for a burst of messages) */
  private readSoon (): void {
    if (!this.receiptsOn || document.hidden) return
    clearTimeout(this.readTimer)
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined
      const conv = this.model.active
      if (conv == null || document.hidden || !this.receiptsOn) return
      const newest = conv.timeline.newestFrom(this.me)
      if (newest == null) return
      const sent = conv.kind === 'room' ? this.client.read(conv.target, newest.cursor) : this.client.readDm(conv.target, newest.cursor)
      // best effort, like typing: a receipt that does not get through is only a late "seen"
      sent.catch(() => {})
    }, READ_AFTER_MS)
  }

  private saveDms (): void {
    save(STORE.dms, this.model.dmList())
  }

  private onWelcome (w: WelcomeInfo): void {
    const moved = this.lastNode != null && this.lastNode !== w.nodeId
    if (this.welcomed) {
      this.view.notice(moved
        ? `Reconnected through node ${shortId(w.nodeId)}; caught up on what you missed.`
        : `Reconnected to node ${shortId(w.nodeId)}.`)
      // rooms joined while disconnected were resumed without a backlog: fetch their latest page
      for (const conv of this.model.convs.values()) {
        if (conv.kind === 'room' && conv.timeline.entries.length === 0) void this.loadOlder(conv)
      }
    } else {
      this.view.hideBanner()
    }
    this.welcomed = true
    this.lastNode = w.nodeId
    ui.meName.dataset.userId = w.userId
    ui.meName.title = `your user id: ${w.userId}`
    ui.conn.title = `attached to node ${w.nodeId} through ${w.addr}; ${w.meshSize} node(s) in the mesh`
    this.view.connection(this.client.state, w.nodeId, this.welcomed)
  }

  // ---- conversations ----------------------------------------------------

  private watchDmPeers (): void {
    this.client.watch(this.model.dmPeers()).then(states => {
      for (const s of states) {
        const ch = this.model.user(s)
        if (ch.nav) this.view.nav()
        if (ch.head) this.view.head()
      }
    }).catch(() => {
      // not connected: the client watches them again when it reconnects
    })
  }

  private saveRooms (): void {
    save(STORE.rooms, this.model.rooms())
  }

  private async joinRoom (room: string, activate: boolean): Promise<void> {
    let name: string
    try {
      name = validateRoom(room)
    } catch (err) {
      this.view.error(err)
      return
    }
    const conv = this.model.ensureRoom(name)
    this.saveRooms()
    if (activate) this.activate(conv)
    else this.view.nav()
    try {
      const { replayed } = await this.client.join(name, { backlog: PAGE })
      if (conv.more === undefined) conv.more = replayed >= PAGE ? undefined : false
      conv.ready = true
      if (conv === this.model.active) this.view.older()
    } catch (err) {
      this.view.error(err)
      // a refused join leaves nothing behind; a lost connection is retried by the client on reconnect
      if (!(err instanceof DisconnectedError) && !this.client.joined.includes(name)) this.dropConv(conv)
    }
  }

  private async leaveRoom (conv: Conv): Promise<void> {
    this.dropConv(conv)
    try {
      await this.client.leave(conv.target)
    } catch (err) {
      if (!(err instanceof DisconnectedError)) this.view.error(err)
    }
  }

  private dropConv (conv: Conv): void {
    const next = this.model.drop(conv)
    if (conv.kind === 'room') this.saveRooms()
    if (next != null) this.activate(next)
    else this.view.all()
  }

  private activate (conv: Conv): void {
    const was = this.model.active
    if (was != null && was !== conv) was.draft = ui.input.value
    this.stopTyping()
    this.model.open(conv)
    save(STORE.active, conv.id)
    ui.input.value = conv.draft
    // a name looked for in one room's members is not looked for in the next one's
    if (was !== conv) ui.rosterFilter.value = ''
    this.view.drawer(undefined)
    this.view.all()
    this.showReceipts(conv)
    this.readSoon()
    this.view.scrollToBottom()
    // on a phone, focusing the composer would pop the keyboard up over the conversation just opened
    if (!narrow()) ui.input.focus()
  }

  private openDm (userId: string, name: string): void {
    if (userId === this.me) return
    const { conv, created } = this.model.ensureDm(userId, name)
    if (created) {
      this.watchDmPeers()
      this.saveDms()
    }
    this.activate(conv)
    if (created) void this.loadOlder(conv)
  }

  // ---- outgoing ---------------------------------------------------------

  private add (conv: Conv, e: Entry, follow = true): void {
    if (conv.timeline.insert(e) >= 0) this.view.entryAdded(conv, e, follow)
  }

  /**
   * Keep a conversation's messages bounded (TIMELINE_KEEP): the oldest go, unless it is on screen and
   * scrolled up, where they are what the user is reading (they go once the user is back at the bottom).
   */
  private trimOld (conv: Conv): void {
    if (conv === this.model.active && !this.view.nearBottom()) return
    this.view.oldestRemoved(conv, this.model.trim(conv))
  }

  private remove (conv: Conv, key: string): void {
    if (conv.timeline.remove(key)) this.view.entryRemoved(conv, key)
  }

  private async submit (): Promise<void> {
    const conv = this.model.active
    const text = ui.input.value
    if (conv == null || text.trim() === '') return
    ui.input.value = ''
    this.view.autosize()
    this.stopTyping()
    const key = `pending:${String(++this.pendingSeq).padStart(8, '0')}`
    this.add(conv, { key, cursor: '', from: this.me, name: this.name, text, ts: Date.now(), pending: true, dm: conv.kind === 'dm' ? 'sending' : undefined })
    this.view.scrollToBottom()
    try {
      if (conv.kind === 'room') {
        const r = await this.client.send(conv.target, text)
        this.remove(conv, key)
        this.add(conv, { key: r.id, cursor: r.cursor, from: this.me, name: this.name, text, ts: Date.now(), pending: false })
      } else {
        const r = await this.client.dm(conv.target, text)
        this.remove(conv, key)
        this.add(conv, { key: r.id, cursor: r.cursor, from: this.me, name: this.name, text, ts: Date.now(), pending: false, dm: r.state })
      }
    } catch (err) {
      this.remove(conv, key)
      this.view.error(err)
      // give the text back so nothing typed is lost
      if (conv === this.model.active && ui.input.value === '') {
        ui.input.value = text
        this.view.autosize()
      }
    }
  }

  private onInput (): void {
    this.view.autosize()
    const conv = this.model.active
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

  /** the page of history before the oldest message shown (the latest page when there is none yet) */
  async loadOlder (conv: Conv): Promise<void> {
    if (conv.loadingOlder || conv.more === false) return
    conv.loadingOlder = true
    if (conv === this.model.active) this.view.older()
    try {
      const before = conv.timeline.oldest()?.cursor
      const page = conv.kind === 'room'
        ? await this.client.history(conv.target, { before, limit: PAGE })
        : await this.client.dmHistory(conv.target, { before, limit: PAGE })
      // keep what the user is looking at in place while older messages go in above it
      const fromBottom = this.view.distanceFromBottom()
      const first = conv.timeline.entries.length === 0
      for (const m of page.messages) {
        this.add(conv, { key: m.id, cursor: m.cursor, from: m.from, name: m.name, text: m.text, ts: m.ts, origin: m.origin, pending: false }, false)
      }
      conv.more = page.more
      if (conv === this.model.active) {
        if (first) this.view.scrollToBottom()
        else this.view.restoreDistanceFromBottom(fromBottom)
        this.showReceipts(conv)
        this.readSoon()
      }
    } catch (err) {
      this.view.error(err)
    } finally {
      conv.loadingOlder = false
      if (conv === this.model.active) this.view.older()
    }
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
    ui.rosterFilter.addEventListener('input', () => { this.view.roster() })
    ui.input.addEventListener('blur', () => { this.stopTyping() })
    ui.joinForm.addEventListener('submit', e => {
      e.preventDefault()
      const room = ui.joinInput.value.trim().replace(/^#/, '').normalize('NFC')
      if (room === '') return
      ui.joinInput.value = ''
      const existing = this.model.room(room)
      if (existing != null) this.activate(existing)
      else void this.joinRoom(room, true)
    })
    ui.loadOlder.addEventListener('click', () => { if (this.model.active != null) void this.loadOlder(this.model.active) })
    ui.list.addEventListener('scroll', () => {
      const conv = this.model.active
      // not while the join is still replaying its latest page: the list is short (at the top) only because that page is still arriving
      if (conv != null && conv.ready && ui.list.scrollTop < 24 && conv.more !== false && conv.timeline.entries.length > 0) void this.loadOlder(conv)
    }, { passive: true })
    ui.status.addEventListener('change', () => {
      this.client.setStatus(ui.status.value as PresenceStatus).catch(err => { this.view.error(err) })
    })
    ui.changeName.addEventListener('click', () => { showGate(this.name, true) })
    ui.changeNameDrawer.addEventListener('click', () => {
      this.view.drawer(undefined)
      showGate(this.name, true)
    })
    ui.openRooms.addEventListener('click', () => { this.view.drawer(this.view.openDrawer === 'rooms' ? undefined : 'rooms') })
    ui.openMembers.addEventListener('click', () => { this.view.drawer(this.view.openDrawer === 'members' ? undefined : 'members') })
    ui.scrim.addEventListener('click', () => { this.view.drawer(undefined) })
    document.addEventListener('keydown', e => { if (e.key === 'Escape' && this.view.openDrawer != null) this.view.drawer(undefined) })
    ui.notifyToggle.textContent = notifyLabel(this.notifier.state)
    ui.notifyToggle.setAttribute('aria-pressed', String(this.notifier.state === 'on'))
    ui.notifyToggle.addEventListener('click', () => {
      void this.notifier.toggle().then(state => {
        ui.notifyToggle.textContent = notifyLabel(state)
        ui.notifyToggle.setAttribute('aria-pressed', String(state === 'on'))
      })
    })
    const receiptsLabel = (): void => {
      ui.receiptsToggle.textContent = `Read receipts: ${this.receiptsOn ? 'on' : 'off'}`
      ui.receiptsToggle.setAttribute('aria-pressed', String(this.receiptsOn))
    }
    receiptsLabel()
    ui.receiptsToggle.addEventListener('click', () => {
      this.receiptsOn = !this.receiptsOn
      save(STORE.receipts, this.receiptsOn)
      receiptsLabel()
    })
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) {
        if (this.model.shown()) this.view.nav()
        this.readSoon()
      } else {
        this.model.hidden = true
      }
    })
    window.addEventListener('pagehide', () => { void this.client.close() })
  }
}

/** the phone layout: conversations and members are in drawers */
function narrow (): boolean {
  return window.matchMedia('(max-width: 760px)').matches
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
  app.start().catch(err => { app?.fatal(err) })
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
