import { AuthFailedError, DisconnectedError, TimeoutError, errorFromCode } from '../protocol/errors.js'
import { ClientFrame, ServerFrame } from '../protocol/pb/client.js'
import { proveKey } from '../protocol/login.js'
import type { ClientTransport, FrameChannel } from '../transport.js'

export interface WebSocketTransportOptions {
  /** the WebSocket class; default the platform's (browsers, and Node 22+) */
  WebSocket?: typeof globalThis.WebSocket
  /**
   * what the WebSocket hands over for a binary message: `arraybuffer` (the standard's, the default)
   * or a class's own that is a Uint8Array already, such as `nodebuffer` (NodeWebSocket's and the
   * `ws` package's Buffers), which spares a copy of every frame
   */
  binaryType?: string
}

/** the request number of the proof of key (requests the Connection numbers count up from 1) */
const AUTH_REQ = 0xffffffff

/** a queue of incoming frames read by one consumer */
class Inbox {
  private readonly items: Uint8Array[] = []
  private waiting?: { resolve: (v: IteratorResult<Uint8Array>) => void, reject: (err: Error) => void }
  private ended = false
  private error?: Error

  push (frame: Uint8Array): void {
    if (this.waiting != null) {
      const w = this.waiting
      this.waiting = undefined
      w.resolve({ value: frame, done: false })
    } else {
      this.items.push(frame)
    }
  }

  end (err?: Error): void {
    if (this.ended) return
    this.ended = true
    this.error = err
    const w = this.waiting
    this.waiting = undefined
    if (w == null) return
    if (err != null) w.reject(err)
    else w.resolve({ value: undefined, done: true })
  }

  async next (): Promise<IteratorResult<Uint8Array>> {
    const item = this.items.shift()
    if (item != null) return { value: item, done: false }
    if (this.ended) {
      if (this.error != null) throw this.error
      return { value: undefined, done: true }
    }
    return new Promise((resolve, reject) => { this.waiting = { resolve, reject } })
  }
}

/**
 * The light edge transport: a plain WebSocket to a node's `/ws` (ws:// or
 * wss://), one binary message per frame. The node opens with a challenge; the
 * user's key signs it before the channel is handed over, so a channel is
 * always a proven session. Works in browsers and in Node 22+ (global WebSocket).
 */
export function webSocketTransport (opts: WebSocketTransportOptions = {}): ClientTransport {
  const open = new Set<WebSocket>()
  return {
    handles: addr => /^wss?:\/\//i.test(addr),
    dial: async (addr, key, signal) => {
      const WS = opts.WebSocket ?? globalThis.WebSocket
      if (WS == null) throw new DisconnectedError('this platform has no WebSocket')
      const ws = new WS(addr)
      ws.binaryType = (opts.binaryType ?? 'arraybuffer') as BinaryType
      open.add(ws)
      const inbox = new Inbox()
      ws.onmessage = ev => {
        const data: unknown = ev.data
        if (data instanceof Uint8Array) inbox.push(data)
        else if (data instanceof ArrayBuffer) inbox.push(new Uint8Array(data))
      }
      ws.onclose = ev => {
        open.delete(ws)
        inbox.end(ev.code === 1000 || ev.code === 1001 || ev.code === 4000 ? undefined : new DisconnectedError(`closed by the node: ${ev.code} ${ev.reason}`))
      }
      ws.onerror = () => { inbox.end(new DisconnectedError(`could not reach ${addr}`)) }
      const abort = (): void => { ws.close() }
      signal.addEventListener('abort', abort, { once: true })
      /** the open's own deadline, removed with `abort` below: once the channel is up the signal means nothing to it */
      let late: (() => void) | undefined
      try {
        await new Promise<void>((resolve, reject) => {
          if (signal.aborted) { reject(new TimeoutError(`no connection to ${addr} in time`)); return }
          ws.onopen = () => { resolve() }
          late = () => { reject(new TimeoutError(`no connection to ${addr} in time`)) }
          signal.addEventListener('abort', late, { once: true })
          const prev = ws.onclose
          ws.onclose = ev => {
            prev?.call(ws, ev)
            reject(new DisconnectedError(`could not connect to ${addr}: ${ev.code} ${ev.reason}`))
          }
        })
        // the challenge, answered with the proof of key, before anything else
        const first = await inbox.next()
        if (first.done === true) throw new DisconnectedError(`${addr} closed before its challenge`)
        const challenge = ServerFrame.decode(first.value).challenge
        if (challenge == null) throw new AuthFailedError(`${addr} did not open with a challenge`)
        // signed at the node's time: a device whose clock is off still proves its key
        const auth = await proveKey(key, challenge, Number(challenge.time))
        ws.send(ClientFrame.encode({ req: AUTH_REQ, auth }))
        // the channel is handed over without waiting for the node's answer, so the caller's first
        // request (the hello) follows the proof in the same round trip; the node reads nothing
        // else before the proof, and its answer is the first frame the channel reads (below)
      } catch (err) {
        ws.close()
        throw err
      } finally {
        signal.removeEventListener('abort', abort)
        if (late != null) signal.removeEventListener('abort', late)
      }
      let proven = false
      /** the node's answer to the proof: nothing on success; a refusal ends the channel with its typed error */
      /** a login that did not succeed ends the channel and the socket, whatever went wrong */
      const refuse = (err: Error): never => {
        inbox.end(err)
        ws.close()
        throw err
      }
      const next = async (): Promise<IteratorResult<Uint8Array>> => {
        while (!proven) {
          const reply = await inbox.next()
          if (reply.done === true) refuse(new DisconnectedError(`${addr} closed during login`))
          let f: ServerFrame
          try {
            f = ServerFrame.decode(reply.value as Uint8Array)
          } catch {
            return refuse(new AuthFailedError(`${addr} answered the proof of key with a frame that does not decode`))
          }
          if (f.req !== AUTH_REQ) refuse(new AuthFailedError(`${addr} did not answer the proof of key`))
          if (f.error != null) refuse(errorFromCode(f.error.code, f.error.message, f.error.retryAfterMs))
          proven = true
        }
        return inbox.next()
      }
      const channel: FrameChannel = {
        addr,
        get writable () { return ws.readyState === ws.OPEN },
        send: frame => { ws.send(frame) },
        frames: () => ({ [Symbol.asyncIterator]: () => ({ next }) }),
        close: async () => {
          if (ws.readyState === ws.CLOSED) return
          await new Promise<void>(resolve => {
            const t = setTimeout(resolve, 1000)
            ws.addEventListener('close', () => { clearTimeout(t); resolve() }, { once: true })
            ws.close(1000, 'bye')
          })
        },
        abort: () => { ws.close(4001, 'dropped by the client') }
      }
      return channel
    },
    stop: async () => {
      for (const ws of open) ws.close(1000, 'bye')
      open.clear()
    }
  }
}
