import { hash } from 'node:crypto'
import { connect as netConnect, isIP } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { LIMITS } from '../protocol/limits.js'
import { randomView } from '../random.js'
import type { Socket } from 'node:net'
import type { ConnectionOptions } from 'node:tls'

/**
 * A WebSocket client for Node programs (RFC 6455), on `node:net` and `node:tls` directly, with the
 * part of the browser's WebSocket interface the light edge's transport uses: `binaryType`, `send`,
 * `close`, `readyState`, the `on…` handlers and `addEventListener`.
 *
 * The `ws` package's client builds every connection through Node's HTTP client (a request object,
 * its headers, the response parser) and an event-target shim; this one writes the upgrade request
 * as one string and reads the answer's head itself. In a bench of 1,000 connects with one message
 * each way, it took about half the client CPU per connection of the `ws` client. What it leaves out:
 * subprotocols, extensions (permessage-deflate: the nodes never take it), redirects and proxies.
 *
 * Frames sent in one tick leave in one socket write (the socket is corked at the first send and
 * uncorked on the next tick), so a proof of key and the hello after it reach the node in one read.
 * Binary messages arrive as Buffers (`binaryType` 'nodebuffer', the default) or ArrayBuffers.
 */

/** the key suffix of the handshake (RFC 6455, 1.3) */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
/** an answer's head longer than this is refused */
const MAX_HEAD_BYTES = 16 * 1024
/** a message longer than this closes the connection (1009): by default the largest frame a node sends */
const DEFAULT_MAX_PAYLOAD = LIMITS.maxServerFrameBytes
/** a message in more pieces than this closes the connection (1009): empty fragments cost no payload but a slot each */
const MAX_FRAGMENTS = 1024
/** after a close frame is sent, the socket is destroyed if the server has not closed it by then */
const CLOSE_TIMEOUT_MS = 5000
/** parsed URLs kept for the next connection to the same one (the table is emptied when full) */
const MAX_PARSED_URLS = 64

const OP_CONTINUATION = 0x0
const OP_TEXT = 0x1
const OP_BINARY = 0x2
const OP_CLOSE = 0x8
const OP_PING = 0x9
const OP_PONG = 0xa

const EMPTY = Buffer.alloc(0)
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** what a connection needs of its URL */
interface Target { href: string, secure: boolean, host: string, port: number, hostHeader: string, resource: string }

const targets = new Map<string, Target>()

/** the URL checked and taken apart, from the table when it was seen before (clients connect to a few nodes, over and over) */
function targetOf (url: string | URL): Target {
  const key = typeof url === 'string' ? url : url.href
  const known = targets.get(key)
  if (known != null) return known
  const u = new URL(url)
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new SyntaxError(`not a WebSocket URL: ${String(url)}`)
  if (u.hash !== '') throw new SyntaxError('a WebSocket URL has no fragment')
  const secure = u.protocol === 'wss:'
  const t: Target = {
    href: u.href,
    secure,
    host: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
    port: u.port === '' ? (secure ? 443 : 80) : Number(u.port),
    hostHeader: u.host,
    resource: `${u.pathname === '' ? '/' : u.pathname}${u.search}`
  }
  if (targets.size >= MAX_PARSED_URLS) targets.clear()
  targets.set(key, t)
  return t
}

/** a close code a peer may send (RFC 6455, 7.4.1; 1004–1006 and 1015 are never sent) */
function validCloseCode (code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)
}

export interface NodeWebSocketOptions {
  /** TLS settings for wss:// (a CA to trust, a server name): merged over the defaults */
  tls?: ConnectionOptions
  /** the longest message accepted, in bytes (default: the largest frame a node sends, 8 MiB) */
  maxPayload?: number
}

export interface NodeWebSocketEvent { type: string, target: NodeWebSocket }
export interface NodeWebSocketMessageEvent extends NodeWebSocketEvent { data: Buffer | ArrayBuffer | string }
export interface NodeWebSocketCloseEvent extends NodeWebSocketEvent { code: number, reason: string, wasClean: boolean }
export interface NodeWebSocketErrorEvent extends NodeWebSocketEvent { error: Error, message: string }

type Listener = (ev: any) => void

export class NodeWebSocket {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  readonly CONNECTING = 0
  readonly OPEN = 1
  readonly CLOSING = 2
  readonly CLOSED = 3

  readonly url: string
  readonly protocol = ''
  readonly extensions = ''
  onopen: ((ev: NodeWebSocketEvent) => void) | null = null
  onmessage: ((ev: NodeWebSocketMessageEvent) => void) | null = null
  onclose: ((ev: NodeWebSocketCloseEvent) => void) | null = null
  onerror: ((ev: NodeWebSocketErrorEvent) => void) | null = null

  #state = 0
  #binaryType: 'nodebuffer' | 'arraybuffer' = 'nodebuffer'
  readonly #socket: Socket
  readonly #key: string
  readonly #maxPayload: number
  readonly #listeners = new Map<string, Array<{ fn: Listener, once: boolean }>>()
  /** the answer's head while the handshake is on */
  #head: Buffer = EMPTY
  /** bytes received and not yet parsed into frames */
  #chunks: Buffer[] = []
  #buffered = 0
  /** a fragmented message in progress: its opcode and its parts */
  #fragOpcode = 0
  #fragments: Buffer[] = []
  #fragBytes = 0
  #corked = false
  #closeSent = false
  #closeReceived = false
  #closeCode = 1006
  #closeReason = ''
  #closeTimer?: ReturnType<typeof setTimeout>
  #errored = false

  constructor (url: string | URL, protocols?: string | string[], options: NodeWebSocketOptions = {}) {
    const { href, secure, host, port, hostHeader, resource } = targetOf(url)
    if (protocols != null && protocols.length > 0) throw new SyntaxError('subprotocols are not supported')
    this.url = href
    this.#maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD
    const key = randomView(16)
    this.#key = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64')
    this.#socket = secure
      ? tlsConnect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), ALPNProtocols: ['http/1.1'], ...options.tls })
      : netConnect({ host, port })
    const socket = this.#socket
    socket.setNoDelay(true)
    // written while connecting: the socket sends it once the connection (and TLS) is up
    socket.write(`GET ${resource} HTTP/1.1\r\nHost: ${hostHeader}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${this.#key}\r\nSec-WebSocket-Version: 13\r\n\r\n`, 'latin1')
    socket.on('data', (chunk: Buffer) => { this.#onData(chunk) })
    socket.on('error', err => { this.#error(err) })
    socket.on('close', () => { this.#onSocketClose() })
  }

  /** CONNECTING, OPEN, CLOSING or CLOSED */
  get readyState (): number {
    return this.#state
  }

  get binaryType (): 'nodebuffer' | 'arraybuffer' {
    return this.#binaryType
  }

  /** 'nodebuffer' (Buffers) or 'arraybuffer'; anything else is ignored, as browsers ignore a type they lack */
  set binaryType (type: string) {
    if (type === 'nodebuffer' || type === 'arraybuffer') this.#binaryType = type
  }

  /** bytes handed to `send` and not yet written to the socket */
  get bufferedAmount (): number {
    return this.#socket.writableLength
  }

  addEventListener (type: string, fn: Listener, opts?: boolean | { once?: boolean }): void {
    const list = this.#listeners.get(type) ?? []
    if (list.some(l => l.fn === fn)) return
    list.push({ fn, once: typeof opts === 'object' && opts.once === true })
    this.#listeners.set(type, list)
  }

  removeEventListener (type: string, fn: Listener): void {
    const list = this.#listeners.get(type)
    if (list == null) return
    const i = list.findIndex(l => l.fn === fn)
    if (i >= 0) list.splice(i, 1)
  }

  send (data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.readyState === NodeWebSocket.CONNECTING) throw new DOMException('the WebSocket is not open yet', 'InvalidStateError')
    if (this.readyState !== NodeWebSocket.OPEN) return
    if (typeof data === 'string') this.#frame(OP_TEXT, Buffer.from(data, 'utf8'))
    else if (data instanceof ArrayBuffer) this.#frame(OP_BINARY, new Uint8Array(data))
    else if (ArrayBuffer.isView(data)) this.#frame(OP_BINARY, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    else throw new TypeError('send takes a string, an ArrayBuffer or a view of one')
  }

  close (code?: number, reason = ''): void {
    if (code != null && code !== 1000 && (code < 3000 || code > 4999)) throw new DOMException(`close code ${code} is not 1000 or 3000–4999`, 'InvalidAccessError')
    const why = Buffer.from(reason, 'utf8')
    if (why.byteLength > 123) throw new DOMException('a close reason is at most 123 bytes', 'SyntaxError')
    if (this.readyState === NodeWebSocket.CLOSING || this.readyState === NodeWebSocket.CLOSED) return
    if (this.readyState === NodeWebSocket.CONNECTING) {
      this.#state = NodeWebSocket.CLOSING
      this.#error(new Error('closed before the connection was established'))
      this.#socket.destroy()
      return
    }
    this.#state = NodeWebSocket.CLOSING
    this.#sendClose(code, why)
  }

  /** drop the connection at once, with no close frame (the `ws` package's `terminate`) */
  terminate (): void {
    if (this.readyState === NodeWebSocket.CLOSED) return
    this.#state = NodeWebSocket.CLOSING
    this.#socket.destroy()
  }

  #emit (type: string, ev: NodeWebSocketEvent & Record<string, unknown>): void {
    const handler = (this as unknown as Record<string, unknown>)[`on${type}`]
    if (typeof handler === 'function') this.#call(handler as Listener, ev)
    const list = this.#listeners.get(type)
    if (list == null || list.length === 0) return
    for (const l of [...list]) {
      if (l.once) this.removeEventListener(type, l.fn)
      this.#call(l.fn, ev)
    }
  }

  /** a listener's exception is reported as uncaught, as an EventTarget does, and leaves this socket's state intact */
  #call (fn: Listener, ev: NodeWebSocketEvent): void {
    try {
      fn.call(this, ev)
    } catch (err) {
      process.nextTick(() => { throw err })
    }
  }

  #error (err: Error): void {
    if (this.#errored) return
    this.#errored = true
    this.#emit('error', { type: 'error', target: this, error: err, message: err.message })
  }

  /** the connection failed the protocol: say why (a close frame with `code` when open) and drop it */
  #fail (code: number, message: string): void {
    this.#error(new Error(message))
    if (this.readyState === NodeWebSocket.OPEN) {
      this.#state = NodeWebSocket.CLOSING
      this.#sendClose(code, Buffer.from(message.slice(0, 120), 'utf8'))
      this.#socket.end()
    } else {
      this.#state = NodeWebSocket.CLOSING
      this.#socket.destroy()
    }
    this.#chunks = []
    this.#buffered = 0
  }

  #onSocketClose (): void {
    clearTimeout(this.#closeTimer)
    const wasOpen = this.readyState !== NodeWebSocket.CONNECTING
    if (!wasOpen) this.#error(new Error('the connection closed during the handshake'))
    this.#state = NodeWebSocket.CLOSED
    const code = this.#closeReceived ? this.#closeCode : 1006
    this.#emit('close', { type: 'close', target: this, code, reason: this.#closeReceived ? this.#closeReason : '', wasClean: this.#closeReceived && this.#closeSent })
  }

  #onData (chunk: Buffer): void {
    if (this.readyState === NodeWebSocket.CONNECTING) {
      this.#head = this.#head.byteLength === 0 ? chunk : Buffer.concat([this.#head, chunk])
      const end = this.#head.indexOf('\r\n\r\n', 0, 'latin1')
      if (end < 0) {
        if (this.#head.byteLength > MAX_HEAD_BYTES) this.#fail(1002, 'the handshake answer is too long')
        return
      }
      const refused = this.#checkHead(this.#head.toString('latin1', 0, end))
      if (refused != null) {
        this.#fail(1002, refused)
        return
      }
      const rest = this.#head.subarray(end + 4)
      this.#head = EMPTY
      this.#state = NodeWebSocket.OPEN
      this.#emit('open', { type: 'open', target: this })
      // an open handler may have closed it
      if (rest.byteLength === 0 || this.#state !== (NodeWebSocket.OPEN as number)) return
      chunk = rest
    }
    if (this.readyState === NodeWebSocket.CLOSED || this.#closeReceived) return
    this.#chunks.push(chunk)
    this.#buffered += chunk.byteLength
    this.#parse()
  }

  /** what is wrong with the server's answer to the upgrade, or undefined */
  #checkHead (head: string): string | undefined {
    const lines = head.split('\r\n')
    const status = /^HTTP\/1\.1 (\d{3})(?: |$)/.exec(lines[0] ?? '')
    if (status == null) return 'the server did not answer with HTTP/1.1'
    if (status[1] !== '101') return `unexpected server response: ${status[1]}`
    const headers = new Map<string, string>()
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      if (colon <= 0) return 'a header line of the handshake does not parse'
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers.set(name, headers.has(name) ? `${headers.get(name) ?? ''}, ${value}` : value)
    }
    if (headers.get('upgrade')?.toLowerCase() !== 'websocket') return 'the server did not upgrade to websocket'
    if (!(headers.get('connection') ?? '').toLowerCase().split(',').some(t => t.trim() === 'upgrade')) return 'the server did not answer Connection: Upgrade'
    if (headers.get('sec-websocket-accept') !== hash('sha1', this.#key + GUID, 'base64')) return 'the server answered with a wrong Sec-WebSocket-Accept'
    if (headers.has('sec-websocket-extensions')) return 'the server chose an extension that was not offered'
    if (headers.has('sec-websocket-protocol')) return 'the server chose a subprotocol that was not offered'
    return undefined
  }

  /** the first `n` received bytes in one buffer (n at most what is buffered) */
  #peek (n: number): Buffer {
    const first = this.#chunks[0] as Buffer
    if (first.byteLength >= n) return first
    let joined = 0
    let i = 0
    while (joined < n) joined += (this.#chunks[i++] as Buffer).byteLength
    const merged = Buffer.concat(this.#chunks.slice(0, i))
    this.#chunks.splice(0, i, merged)
    return merged
  }

  /** the next `n` received bytes, taken off the buffer (a view where one chunk holds them) */
  #take (n: number): Buffer {
    if (n === 0) return EMPTY
    this.#buffered -= n
    const first = this.#chunks[0] as Buffer
    if (first.byteLength === n) {
      this.#chunks.shift()
      return first
    }
    if (first.byteLength > n) {
      this.#chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = Buffer.allocUnsafe(n)
    let at = 0
    while (at < n) {
      const c = this.#chunks[0] as Buffer
      const k = Math.min(c.byteLength, n - at)
      c.copy(out, at, 0, k)
      at += k
      if (k === c.byteLength) this.#chunks.shift()
      else this.#chunks[0] = c.subarray(k)
    }
    return out
  }

  #parse (): void {
    while (this.#buffered >= 2 && this.readyState !== NodeWebSocket.CLOSED && !this.#closeReceived) {
      const h = this.#peek(Math.min(10, this.#buffered))
      const b0 = h[0] as number
      const b1 = h[1] as number
      const fin = (b0 & 0x80) !== 0
      const opcode = b0 & 0x0f
      let len = b1 & 0x7f
      let off = 2
      if ((b0 & 0x70) !== 0) return this.#fail(1002, 'a frame has reserved bits set')
      if ((b1 & 0x80) !== 0) return this.#fail(1002, 'a server frame must not be masked')
      if (len === 126) {
        if (h.byteLength < 4) return
        len = h.readUInt16BE(2)
        off = 4
      } else if (len === 127) {
        if (h.byteLength < 10) return
        const hi = h.readUInt32BE(2)
        if (hi > 0x1fffff) return this.#fail(1009, 'a frame is too long')
        len = hi * 2 ** 32 + h.readUInt32BE(6)
        off = 10
      }
      const control = opcode >= 0x8
      if (control && (!fin || len > 125)) return this.#fail(1002, 'a control frame must be whole and at most 125 bytes')
      if (opcode !== OP_CONTINUATION && opcode !== OP_TEXT && opcode !== OP_BINARY && opcode !== OP_CLOSE && opcode !== OP_PING && opcode !== OP_PONG) return this.#fail(1002, `unknown opcode ${opcode}`)
      if (!control && (opcode === OP_CONTINUATION ? this.#fragBytes : 0) + len > this.#maxPayload) return this.#fail(1009, 'a message is too long')
      if (this.#buffered < off + len) return
      this.#take(off)
      const payload = this.#take(len)
      switch (opcode) {
        case OP_CONTINUATION:
          if (this.#fragments.length === 0) return this.#fail(1002, 'a continuation frame with no message to continue')
          if (this.#fragments.length >= MAX_FRAGMENTS) return this.#fail(1009, `a message in more than ${MAX_FRAGMENTS} pieces`)
          this.#fragments.push(payload)
          this.#fragBytes += len
          if (fin) {
            const whole = Buffer.concat(this.#fragments, this.#fragBytes)
            const op = this.#fragOpcode
            this.#fragments = []
            this.#fragBytes = 0
            this.#deliver(op, whole)
          }
          break
        case OP_TEXT:
        case OP_BINARY:
          if (this.#fragments.length > 0) return this.#fail(1002, 'a new message before the last one ended')
          if (fin) {
            this.#deliver(opcode, payload)
          } else {
            this.#fragOpcode = opcode
            this.#fragments = [payload]
            this.#fragBytes = len
          }
          break
        case OP_CLOSE:
          this.#onClose(payload)
          return
        case OP_PING:
          if (this.readyState === NodeWebSocket.OPEN) this.#frame(OP_PONG, payload)
          break
        default:
          // a pong: nothing to do
          break
      }
    }
  }

  #deliver (opcode: number, payload: Buffer): void {
    // as in browsers, nothing is delivered once close() was called or the connection failed
    if (this.#state !== NodeWebSocket.OPEN) return
    let data: Buffer | ArrayBuffer | string
    if (opcode === OP_TEXT) {
      try {
        data = utf8.decode(payload)
      } catch {
        this.#fail(1007, 'a text message is not valid UTF-8')
        return
      }
    } else {
      data = this.#binaryType === 'arraybuffer' ? payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength) as ArrayBuffer : payload
    }
    this.#emit('message', { type: 'message', target: this, data })
  }

  #onClose (payload: Buffer): void {
    if (payload.byteLength === 1) return this.#fail(1002, 'a close frame of one byte')
    let code = 1005
    let reason = ''
    if (payload.byteLength >= 2) {
      code = payload.readUInt16BE(0)
      if (!validCloseCode(code)) return this.#fail(1002, `close code ${code} is not one a peer may send`)
      try {
        reason = utf8.decode(payload.subarray(2))
      } catch {
        return this.#fail(1007, 'a close reason is not valid UTF-8')
      }
    }
    this.#closeReceived = true
    this.#closeCode = code
    this.#closeReason = reason
    this.#chunks = []
    this.#buffered = 0
    if (!this.#closeSent) {
      this.#state = NodeWebSocket.CLOSING
      // echo the code (none if the server sent none)
      this.#sendClose(payload.byteLength >= 2 ? code : undefined, EMPTY)
    }
    this.#socket.end()
  }

  #sendClose (code: number | undefined, reason: Buffer): void {
    if (this.#closeSent) return
    this.#closeSent = true
    let payload = EMPTY
    if (code != null) {
      payload = Buffer.allocUnsafe(2 + reason.byteLength)
      payload.writeUInt16BE(code, 0)
      reason.copy(payload, 2)
    }
    this.#frame(OP_CLOSE, payload)
    this.#closeTimer = setTimeout(() => { this.#socket.destroy() }, CLOSE_TIMEOUT_MS)
    this.#closeTimer.unref?.()
  }

  /** one masked frame, written with the others of this tick */
  #frame (opcode: number, payload: Uint8Array): void {
    const len = payload.byteLength
    const ext = len < 126 ? 0 : len < 65_536 ? 2 : 8
    const out = Buffer.allocUnsafe(2 + ext + 4 + len)
    out[0] = 0x80 | opcode
    if (ext === 0) {
      out[1] = 0x80 | len
    } else if (ext === 2) {
      out[1] = 0x80 | 126
      out.writeUInt16BE(len, 2)
    } else {
      out[1] = 0x80 | 127
      out.writeUInt32BE(Math.floor(len / 2 ** 32), 2)
      out.writeUInt32BE(len >>> 0, 6)
    }
    const at = 2 + ext
    const mask = randomView(4)
    out[at] = mask[0] as number
    out[at + 1] = mask[1] as number
    out[at + 2] = mask[2] as number
    out[at + 3] = mask[3] as number
    const start = at + 4
    for (let i = 0; i < len; i++) out[start + i] = (payload[i] as number) ^ (mask[i & 3] as number)
    const socket = this.#socket
    if (!this.#corked) {
      this.#corked = true
      socket.cork()
      process.nextTick(() => {
        this.#corked = false
        socket.uncork()
      })
    }
    socket.write(out)
  }
}
