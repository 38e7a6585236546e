/**
 * Optional desktop notifications, for mentions and direct messages that arrive
 * while the tab is hidden. Off until the user turns them on; the browser's
 * permission is asked only then, from that click.
 */

const STORE_KEY = 'meshchat.notify'

export type NotifyState = 'off' | 'on' | 'blocked' | 'unsupported'

export class Notifier {
  private enabled: boolean

  constructor () {
    let saved = false
    try {
      saved = localStorage.getItem(STORE_KEY) === '1'
    } catch {
      // no storage: start off
    }
    this.enabled = saved
  }

  get state (): NotifyState {
    if (typeof Notification === 'undefined') return 'unsupported'
    if (Notification.permission === 'denied') return 'blocked'
    return this.enabled && Notification.permission === 'granted' ? 'on' : 'off'
  }

  /** turn them on (asking the browser, which needs this to run from a user action) or off */
  async toggle (): Promise<NotifyState> {
    if (this.state === 'unsupported') return 'unsupported'
    if (this.state === 'on') {
      this.enabled = false
    } else {
      const permission = Notification.permission === 'default' ? await Notification.requestPermission() : Notification.permission
      this.enabled = permission === 'granted'
    }
    try {
      localStorage.setItem(STORE_KEY, this.enabled ? '1' : '0')
    } catch {
      // not remembered: still on for this page
    }
    return this.state
  }

  /** show one, if they are on and the page is hidden; `tag` folds several from one conversation into one */
  show (title: string, body: string, tag: string, onClick: () => void): void {
    if (this.state !== 'on' || !document.hidden) return
    try {
      const n = new Notification(title, { body: body.length > 140 ? body.slice(0, 139) + '…' : body, tag })
      n.onclick = () => {
        window.focus()
        onClick()
        n.close()
      }
    } catch {
      // some platforms only allow notifications from a service worker: the title badge still counts
    }
  }
}

export function notifyLabel (state: NotifyState): string {
  switch (state) {
    case 'on': return 'Desktop notifications: on'
    case 'blocked': return 'Desktop notifications: blocked by the browser'
    case 'unsupported': return 'Desktop notifications: not available'
    default: return 'Desktop notifications: off'
  }
}
