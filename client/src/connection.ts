import { DisconnectedError, ErrorCode, MeshchatError, TimeoutError, errorFromCode } from './protocol/errors.js'
import { decodeServerFrame } from './protocol/codec.js'
import { ClientFrame } from './protocol/pb/client.js'
import type { ServerFrame } from './protocol/pb/client.js'
import type { FrameChannel } from './transport.js'

interface Pending {
  resolve: (f: ServerFrame) => void
  reject: (err: Error) => void
  timer: ReturnType<typeof setTimeout>
}

export interface ConnectionOptions {
  requestTimeoutMs: number
  /** a frame that is not the reply to a request; frames are handled strictly one at a time, in order */
  onFrame: (f: ServerFrame) => Promise<void>
  /** a frame that does not decode, or a handler that failed */
  onError: (err: MeshchatError) => void
  /** the channel ended (after every frame before the end was handled) */
  onClose: () => void
}

/**
 * Requests and replies over one channel: numbers each request, matches the
 * node's reply to it (or fails it after the timeout, or when the channel ends),
 * and hands every other frame to `onFrame` in order.
 */
export class Connection {
  private nextReq = 1
  private readonly pending = new Map<number, Pending>()
  /** frames are handled strictly in order; verification is async */
  private inbound: Promise<void> = Promise.resolve()
  private ended = false

  constructor (readonly channel: FrameChannel, private readonly opts: ConnectionOptions) {
    void this.readLoop()
  }

  get open (): boolean {
    return !this.ended && this.channel.writable
  }

  /** resolves when every frame received so far has been handled */
  async settled (): Promise<void> {
    await this.inbound
  }

  /** send a request and wait for its reply; an error reply rejects with the typed error */
  async request (body: Omit<ClientFrame, 'req'>): Promise<ServerFrame> {
    if (!this.open) throw new DisconnectedError('not connected')
    const req = this.nextReq++
    if (this.nextReq > 0xffffffff) this.nextReq = 1
    return new Promise<ServerFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req)
        reject(new TimeoutError(`no reply within ${this.opts.requestTimeoutMs} ms`))
      }, this.opts.requestTimeoutMs)
      this.pending.set(req, { resolve, reject, timer })
      try {
        this.channel.send(ClientFrame.encode({ req, ...body }))
      } catch (err) {
        clearTimeout(timer)
        this.pending.delete(req)
        reject(new DisconnectedError(`send failed: ${(err as Error).message}`))
      }
    })
  }

  /** fail every request in flight */
  failPending (err: Error): void {
    for (const [req, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(err)
      this.pending.delete(req)
    }
  }

  private async readLoop (): Promise<void> {
    let broke: MeshchatError | undefined
    try {
      for await (const buf of this.channel.frames()) {
        let frame: ServerFrame
        try {
          frame = decodeServerFrame(buf)
        } catch (err) {
          this.opts.onError(err as MeshchatError)
          continue
        }
        this.inbound = this.inbound.then(async () => { await this.dispatch(frame) }).catch(err => {
          this.opts.onError(err instanceof MeshchatError ? err : new MeshchatError(ErrorCode.INTERNAL, String(err)))
        })
      }
    } catch (err) {
      // the channel broke; handled below like a close, and a typed reason (a refused proof of key)
      // is what the requests in flight fail with
      if (err instanceof MeshchatError) broke = err
    }
    await this.inbound
    this.ended = true
    this.failPending(broke ?? new DisconnectedError('connection to the node was lost'))
    this.opts.onClose()
  }

  private async dispatch (f: ServerFrame): Promise<void> {
    if (f.req !== 0) {
      const p = this.pending.get(f.req)
      if (p != null) {
        this.pending.delete(f.req)
        clearTimeout(p.timer)
        if (f.error != null) p.reject(errorFromCode(f.error.code, f.error.message, f.error.retryAfterMs))
        else p.resolve(f)
        return
      }
    }
    await this.opts.onFrame(f)
  }
}
