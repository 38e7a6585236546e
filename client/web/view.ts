/**
 * The web app's rendering: the page skeleton (index.html) filled from the
 * conversation model. Only DOM here; no network and no state of its own beyond
 * which elements show which entries.
 */
import { byTestId, h, placeChildren, replaceChildren } from './dom.js'
import { clockTime, dayLabel, describeError, fullTime, hue, initial, sameDay, sameMinute, shortId } from './format.js'
import { ROSTER_FILTER_FROM, ROSTER_ROWS, firstByName, roomCount, seenBy, typingLine } from './model.js'
import { segments } from './rich-text.js'
import type { Child } from './dom.js'
import type { Conv, Conversations } from './model.js'
import type { Entry } from './timeline.js'
import type { ConnectionState, ReadPosition, RosterMember } from '../src/index.js'

const ERROR_SHOW_MS = 8000
const NOTICE_SHOW_MS = 5000

export const ui = {
  app: byTestId('app'),
  sidebar: byTestId('sidebar'),
  rosterPane: byTestId('roster-pane'),
  openRooms: byTestId<HTMLButtonElement>('open-rooms'),
  openMembers: byTestId<HTMLButtonElement>('open-members'),
  membersCount: byTestId('members-count'),
  totalUnread: byTestId('total-unread'),
  scrim: byTestId('scrim'),
  notifyToggle: byTestId<HTMLButtonElement>('notify-toggle'),
  receiptsToggle: byTestId<HTMLButtonElement>('receipts-toggle'),
  changeNameDrawer: byTestId<HTMLButtonElement>('change-name-drawer'),
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
  rosterFilter: byTestId<HTMLInputElement>('roster-filter'),
  rosterTitle: byTestId('roster-title'),
  gate: byTestId('name-gate'),
  gateForm: byTestId<HTMLFormElement>('name-form'),
  gateInput: byTestId<HTMLInputElement>('name-input'),
  gateError: byTestId('name-error'),
  gateCancel: byTestId<HTMLButtonElement>('name-cancel')
}

/** what the view calls back for clicks on things it drew */
export interface ViewActions {
  open: (conv: Conv) => void
  leave: (conv: Conv) => void
  message: (userId: string, name: string) => void
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

export type Drawer = 'rooms' | 'members'

export class View {
  /** elements of the open conversation's messages, by entry key */
  private readonly rows = new Map<string, HTMLElement>()
  /** date lines, by the key of the entry they stand above */
  private readonly days = new Map<string, HTMLElement>()
  /** the roster pane's rows as last drawn, by user id, with what they showed: a row that shows the same is kept */
  private memberRows = new Map<string, { key: string, el: HTMLElement }>()
  /** a scroll to the bottom is asked for this frame */
  private bottomSoon = false
  /** the pane's last row in a big room: how many members it does not draw */
  private readonly moreRow = h('li', { className: 'roster-more', testid: 'roster-more' })
  private typingTimer?: ReturnType<typeof setTimeout>
  private noticeTimer?: ReturnType<typeof setTimeout>

  constructor (
    private readonly model: Conversations,
    private readonly me: () => string,
    private readonly actions: ViewActions
  ) {}

  // ---- connection and notices -------------------------------------------

  connection (state: ConnectionState, nodeId: string | undefined, welcomed: boolean): void {
    ui.conn.dataset.state = state
    const labels: Record<ConnectionState, string> = {
      idle: 'not connected',
      connecting: 'connecting…',
      connected: 'connected',
      reconnecting: 'reconnecting…',
      closed: 'closed'
    }
    ui.connLabel.textContent = labels[state]
    if (nodeId != null) ui.conn.dataset.node = nodeId
    ui.nodeId.textContent = nodeId == null ? '' : state === 'connected' ? `node ${shortId(nodeId)}` : `was node ${shortId(nodeId)}`
    document.body.dataset.conn = state
    if (state === 'reconnecting' && welcomed) {
      clearTimeout(this.noticeTimer)
      ui.banner.dataset.kind = 'warn'
      ui.banner.textContent = `Lost the connection to node ${shortId(nodeId ?? '')}. Reconnecting to another node…`
      ui.banner.hidden = false
    }
  }

  hideBanner (): void {
    ui.banner.hidden = true
  }

  /** a transient line under the top bar */
  notice (text: string): void {
    ui.banner.dataset.kind = 'info'
    ui.banner.textContent = text
    ui.banner.hidden = false
    clearTimeout(this.noticeTimer)
    this.noticeTimer = setTimeout(() => { ui.banner.hidden = true }, NOTICE_SHOW_MS)
  }

  error (err: unknown): void {
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

  // ---- the timeline -----------------------------------------------------

  /** draw an entry the model just took, if its conversation is on screen */
  entryAdded (conv: Conv, e: Entry, follow = true): void {
    if (conv !== this.model.active) return
    const stick = follow && this.nearBottom()
    const row = this.row(conv, e)
    const next = conv.timeline.next(e.key)
    const before = next == null ? null : this.days.get(next.key) ?? this.rows.get(next.key) ?? null
    ui.messages.insertBefore(row, before)
    this.rows.set(e.key, row)
    this.regroup(conv, e.key)
    this.regroup(conv, next?.key)
    ui.empty.hidden = true
    if (stick || (follow && e.from === this.me() && e.pending)) this.scrollToBottomSoon()
  }

  /** the oldest messages went (the timeline's bound): their rows go, and the new first one may need a date line */
  oldestRemoved (conv: Conv, keys: readonly string[]): void {
    if (conv !== this.model.active || keys.length === 0) return
    for (const key of keys) {
      this.rows.get(key)?.remove()
      this.rows.delete(key)
      this.days.get(key)?.remove()
      this.days.delete(key)
    }
    this.regroup(conv, conv.timeline.entries[0]?.key)
    this.older()
  }

  entryRemoved (conv: Conv, key: string): void {
    if (conv !== this.model.active) return
    const row = this.rows.get(key)
    // the row after it may now start a group or a day
    let after = row?.nextElementSibling
    while (after != null && !(after instanceof HTMLElement && after.dataset.id != null)) after = after.nextElementSibling
    // and the row before it no longer has it below (the regroup below says what follows it now)
    let before = row?.previousElementSibling
    while (before != null && !(before instanceof HTMLElement && before.dataset.id != null)) before = before.previousElementSibling
    before?.classList.remove('before-cont')
    row?.remove()
    this.rows.delete(key)
    this.days.get(key)?.remove()
    this.days.delete(key)
    if (after instanceof HTMLElement) this.regroup(conv, after.dataset.id)
  }

  /**
   * An entry continues its author's group (same author, same minute, same day: no avatar or name)
   * or starts one; the first entry of a day has a date line above it.
   */
  private regroup (conv: Conv, key: string | undefined): void {
    if (key == null) return
    const row = this.rows.get(key)
    const e = conv.timeline.get(key)
    if (row == null || e == null) return
    const prev = conv.timeline.prev(key)
    const newDay = prev == null || !sameDay(prev.ts, e.ts)
    const cont = !newDay && prev != null && prev.from === e.from && sameMinute(prev.ts, e.ts)
    row.classList.toggle('cont', cont)
    // the row above a continued one gives up its bottom padding: a class, not a :has() rule, which had
    // the browser look at every row's next sibling again at each insertion (4 ms a message at 1,200 rows)
    if (prev != null) this.rows.get(prev.key)?.classList.toggle('before-cont', cont)
    let sep = this.days.get(key)
    if (newDay) {
      if (sep == null) {
        sep = h('li', { className: 'day', testid: 'day-separator', attrs: { role: 'separator' } })
        this.days.set(key, sep)
      }
      sep.textContent = dayLabel(e.ts, Date.now())
      row.before(sep)
    } else if (sep != null) {
      sep.remove()
      this.days.delete(key)
    }
  }

  /** a message's text: plain text, links (http and https only) and mentions of people in the conversation */
  private rich (conv: Conv, text: string): { nodes: Child[], mentionsMe: boolean } {
    const me = this.me()
    let mentionsMe = false
    const nodes: Child[] = segments(text, this.model.mentionable(conv)).map(s => {
      if (s.kind === 'text') return s.text
      if (s.kind === 'link') {
        return h('a', { testid: 'link', attrs: { href: s.href, target: '_blank', rel: 'noopener noreferrer' } }, s.text)
      }
      if (s.userId === me) mentionsMe = true
      return h('span', { className: `mention${s.userId === me ? ' mention-self' : ''}`, testid: 'mention', attrs: { 'data-user-id': s.userId } }, s.text)
    })
    return { nodes, mentionsMe }
  }

  private row (conv: Conv, e: Entry): HTMLElement {
    const mine = e.from === this.me()
    const attrs: Record<string, string> = { 'data-id': e.key, 'data-from': e.from, 'data-ts': String(e.ts) }
    if (e.dm != null) attrs['data-dm-state'] = e.dm
    const text = this.rich(conv, e.text)
    const mention = text.mentionsMe && !mine
    const clock = clockTime(e.ts)
    return h('li', { className: `msg${mine ? ' mine' : ''}${e.pending ? ' pending' : ''}${mention ? ' mention-me' : ''}`, testid: 'message', attrs },
      h('span', { className: 'avatar', attrs: { 'aria-hidden': 'true', style: `--h:${hue(e.from)}` } }, initial(e.name)),
      h('div', { className: 'body' },
        h('div', { className: 'meta' },
          h('span', { className: 'author', testid: 'message-author', title: e.from }, e.name),
          h('time', { title: fullTime(e.ts) + (e.origin != null ? ` · via node ${shortId(e.origin)}` : '') }, clock),
          e.pending && e.dm == null ? h('span', { className: 'state', testid: 'send-state' }, 'sending…') : null,
          e.dm != null ? h('span', { className: `state dm-${e.dm}`, testid: 'dm-state', title: dmStateTitle(e.dm) }, dmStateLabel(e.dm)) : null
        ),
        h('div', { className: 'text', testid: 'message-text', title: clock }, ...text.nodes)
      )
    )
  }

  /**
   * Where the others have read up to: "Seen by …" under the last message each
   * reader has read (rooms), "Read" under the last of this user's messages the
   * other person has read (DMs).
   */
  receipts (conv: Conv, readers: ReadPosition[]): void {
    if (conv !== this.model.active) return
    for (const el of [...ui.messages.querySelectorAll('[data-testid="seen-by"]')]) el.remove()
    const me = this.me()
    const at = new Map<string, string[]>()
    for (const r of readers) {
      if (r.userId === me || (conv.kind === 'dm' && r.userId !== conv.target)) continue
      const e = conv.timeline.lastAtOrBefore(r.cursor, conv.kind === 'dm' ? me : undefined)
      if (e == null) continue
      at.set(e.key, [...(at.get(e.key) ?? []), r.name])
    }
    for (const [key, names] of at) {
      const label = conv.kind === 'dm' ? 'Read' : `Seen by ${seenBy(names)}`
      this.rows.get(key)?.querySelector('.body')?.append(h('div', { className: 'seen', testid: 'seen-by' }, label))
    }
  }

  /** at the bottom of the list, or on the way there (a scroll asked for this frame) */
  nearBottom (): boolean {
    return this.bottomSoon || ui.list.scrollHeight - ui.list.scrollTop - ui.list.clientHeight < 80
  }

  scrollToBottom (): void {
    ui.list.scrollTop = ui.list.scrollHeight
  }

  /**
   * Scroll to the bottom once, before the next frame is drawn: a burst of messages asks for it at
   * each one, and each ask measured the whole list again (0.9 ms a message at 1,200 rows)
   */
  private scrollToBottomSoon (): void {
    if (this.bottomSoon) return
    this.bottomSoon = true
    requestAnimationFrame(() => {
      this.bottomSoon = false
      this.scrollToBottom()
    })
  }

  /** how far the list is from its bottom, to keep the reader in place while older messages go in above */
  distanceFromBottom (): number {
    return ui.list.scrollHeight - ui.list.scrollTop
  }

  restoreDistanceFromBottom (d: number): void {
    ui.list.scrollTop = ui.list.scrollHeight - d
  }

  // ---- whole panes ------------------------------------------------------

  all (): void {
    this.nav()
    this.head()
    this.messages()
    this.roster()
    this.typing()
    const conv = this.model.active
    ui.input.disabled = conv == null
    ui.send.disabled = conv == null
    ui.input.placeholder = conv == null ? 'Join a room to start chatting' : conv.kind === 'room' ? `Message #${conv.title}` : `Message ${conv.title}`
  }

  /** open a drawer (narrow screens), or close whichever is open */
  drawer (which: Drawer | undefined): void {
    if (which == null) delete ui.app.dataset.drawer
    else ui.app.dataset.drawer = which
    ui.scrim.hidden = which == null
    ui.openRooms.setAttribute('aria-expanded', String(which === 'rooms'))
    ui.openMembers.setAttribute('aria-expanded', String(which === 'members'))
  }

  get openDrawer (): Drawer | undefined {
    const d = ui.app.dataset.drawer
    return d === 'rooms' || d === 'members' ? d : undefined
  }

  nav (): void {
    const item = (conv: Conv, label: Node[], extra?: Node): HTMLElement => h('li', {
      className: `nav-item${conv === this.model.active ? ' active' : ''}${conv.unread > 0 ? ' has-unread' : ''}`,
      testid: conv.kind === 'room' ? 'room-item' : 'dm-item',
      attrs: conv.kind === 'room' ? { 'data-room': conv.target } : { 'data-user-id': conv.target }
    },
    h('button', { className: 'nav-open', attrs: { type: 'button' }, on: { click: () => { this.actions.open(conv) } } },
      ...label,
      conv.unread > 0 ? h('span', { className: `badge${conv.mentioned ? ' mention' : ''}`, testid: 'unread', title: conv.mentioned ? 'you were mentioned' : undefined }, conv.mentioned ? `@${conv.unread}` : String(conv.unread)) : null
    ),
    extra
    )
    const rooms: HTMLElement[] = []
    const dms: HTMLElement[] = []
    for (const conv of this.model.convs.values()) {
      if (conv.kind === 'room') {
        rooms.push(item(conv, [h('span', { className: 'hash' }, '#'), h('span', { className: 'label' }, conv.title)],
          h('button', {
            className: 'nav-leave',
            testid: 'leave-room',
            title: `leave #${conv.title}`,
            attrs: { type: 'button', 'aria-label': `leave ${conv.title}` },
            on: { click: () => { this.actions.leave(conv) } }
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
    this.badge()
  }

  /** unread messages everywhere: in the page title (seen from other tabs) and on the drawer button */
  badge (): void {
    const total = this.model.totalUnread()
    const title = `${total > 0 ? `(${total}) ` : ''}${this.model.active == null ? '' : this.model.active.kind === 'room' ? `#${this.model.active.title} · ` : `${this.model.active.title} · `}meshchat`
    if (document.title !== title) document.title = title
    ui.totalUnread.hidden = total === 0
    ui.totalUnread.textContent = String(total)
  }

  head (): void {
    const conv = this.model.active
    if (conv == null) {
      ui.title.textContent = 'meshchat'
      ui.sub.textContent = ''
      return
    }
    if (conv.kind === 'room') {
      ui.title.textContent = '#' + conv.title
      const count = roomCount(conv)
      ui.sub.textContent = `${count.toLocaleString()} ${count === 1 ? 'member' : 'members'} online`
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

  messages (): void {
    this.rows.clear()
    this.days.clear()
    const conv = this.model.active
    const rows: HTMLElement[] = []
    for (const e of conv?.timeline.entries ?? []) {
      const row = this.row(conv as Conv, e)
      this.rows.set(e.key, row)
      rows.push(row)
    }
    replaceChildren(ui.messages, ...rows)
    for (const e of conv?.timeline.entries ?? []) this.regroup(conv as Conv, e.key)
    ui.empty.hidden = conv != null
    this.older()
  }

  older (): void {
    const conv = this.model.active
    ui.loadOlder.hidden = conv == null || conv.more === false
    ui.loadOlder.disabled = conv?.loadingOlder === true
    ui.loadOlder.textContent = conv?.loadingOlder === true ? 'Loading…' : 'Load older messages'
    ui.historyStart.hidden = conv == null || conv.more !== false
    ui.historyStart.textContent = 'This is the beginning of the conversation.'
  }

  roster (): void {
    const conv = this.model.active
    const me = this.me()
    if (conv?.kind !== 'room') {
      ui.rosterTitle.textContent = conv == null ? 'Members' : 'With'
      const p = conv?.peer
      const peer: RosterMember[] = conv == null
        ? []
        : [{ userId: conv.target, name: conv.title, status: p?.online === true && p.status === 'away' ? 'away' : 'online', nodes: p?.nodes ?? [] }]
      this.memberRows.clear()
      ui.rosterFilter.hidden = true
      replaceChildren(ui.roster, ...peer.map(m => this.member(m, p?.online !== true)))
      ui.rosterCount.textContent = ''
      ui.membersCount.textContent = ''
      this.head()
      return
    }
    ui.rosterTitle.textContent = 'Members'
    // a big room's roster is a part of it: the node's count says how many there are in all
    const count = roomCount(conv)
    ui.rosterFilter.hidden = count < ROSTER_FILTER_FROM
    const query = ui.rosterFilter.hidden ? '' : ui.rosterFilter.value.trim().toLocaleLowerCase()
    const pool = query === '' ? conv.roster : conv.roster.filter(m => m.name.toLocaleLowerCase().includes(query))
    const shown = firstByName(pool, me, ROSTER_ROWS)
    const more = (query === '' ? count : pool.length) - shown.length
    const rows = new Map<string, { key: string, el: HTMLElement }>()
    for (const m of shown) {
      const key = `${m.name}\n${m.status}\n${m.nodes.join(' ')}\n${m.userId === me ? 1 : 0}`
      const kept = this.memberRows.get(m.userId)
      rows.set(m.userId, kept?.key === key ? kept : { key, el: this.member(m, false) })
    }
    this.memberRows = rows
    const els: HTMLElement[] = [...rows.values()].map(r => r.el)
    if (more > 0 || shown.length === 0) {
      this.moreRow.textContent = shown.length === 0 ? 'nobody by that name here' : `and ${more.toLocaleString()} more${query === '' ? '' : ' by that name'}`
      els.push(this.moreRow)
    }
    placeChildren(ui.roster, els)
    ui.rosterCount.textContent = String(count)
    ui.membersCount.textContent = String(count)
    this.head()
  }

  /** one person in the side pane: status, name, the node(s) hosting them; click to message them */
  private member (m: RosterMember, offline: boolean): HTMLElement {
    const me = m.userId === this.me()
    const status = offline ? 'offline' : m.status
    return h('li', { className: `member${me ? ' self' : ''}`, testid: 'roster-member', attrs: { 'data-user-id': m.userId, 'data-status': status } },
      h('button', {
        className: 'member-open',
        title: me ? 'you' : `message ${m.name} (${m.userId})`,
        attrs: { type: 'button', ...(me ? { 'aria-disabled': 'true' } : {}) },
        on: { click: () => { this.actions.message(m.userId, m.name) } }
      },
      h('span', { className: 'avatar small', attrs: { 'aria-hidden': 'true', style: `--h:${hue(m.userId)}` } }, initial(m.name)),
      h('span', { className: `dot ${status}`, title: status }),
      h('span', { className: 'member-name', testid: 'member-name' }, m.name),
      me ? h('span', { className: 'you' }, 'you') : null,
      h('span', { className: 'member-node', testid: 'member-node', title: m.nodes.join('\n') }, m.nodes.map(shortId).join(' '))
      ))
  }

  typing (): void {
    clearTimeout(this.typingTimer)
    const now = Date.now()
    const { names, nextExpiry } = this.model.typists(this.model.active, now)
    ui.typing.textContent = typingLine(names)
    if (nextExpiry !== Infinity) this.typingTimer = setTimeout(() => { this.typing() }, nextExpiry - now + 10)
  }

  autosize (): void {
    ui.input.style.height = 'auto'
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 160)}px`
  }
}
