import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize, resolve } from 'node:path'
import type { Server, IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'

export interface HttpInit {
  /** host:port */
  listen: string
  /** certificate and key (PEM): serve HTTPS, and with it wss:// on the same port */
  tls?: { cert: Uint8Array, key: Uint8Array }
  /** directory with the built web app (index.html, app.js); absent = no web app */
  webRoot?: string
  /** liveness (/healthz): answered 200 while `live` is not false */
  health: () => Record<string, unknown>
  /** readiness (/readyz): 200 when `ready` is true, else 503; absent = not served */
  readiness?: () => { ready: boolean }
  /** Prometheus text for /metrics; absent = not served here (an admin listener serves it) */
  metrics?: () => Promise<string>
  /** extra JSON for the web app: which gateway to attach to; absent = not served */
  config?: () => Record<string, unknown>
  /** serve *.map files (default false) */
  sourceMaps?: boolean
  /** a request failed inside the server */
  onError?: (err: Error) => void
  /** an upgrade request (WebSocket); returns false when nobody takes it (it is answered 404) */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json'
}

/** the web app's files, read once: bytes, pre-compressed variants and an entity tag */
interface Asset {
  body: Buffer
  br?: Buffer
  gzip?: Buffer
  etag: string
  type: string
}

/**
 * The node's HTTP side: the web app (pre-compressed, with entity tags),
 * /healthz (liveness, JSON), /readyz (readiness, JSON, 503 when not ready),
 * /metrics (Prometheus text), /config.json (where the web app attaches), and
 * WebSocket upgrades for the light client edge. An admin listener is the same
 * server with only /healthz, /readyz and /metrics.
 */
export class HttpServer {
  private server?: Server
  private readonly init: HttpInit
  private readonly assets = new Map<string, Promise<Asset | undefined>>()
  url = ''

  constructor (init: HttpInit) {
    this.init = init
  }

  async start (): Promise<void> {
    if (this.server != null) return
    const handler = (req: IncomingMessage, res: ServerResponse): void => { this.route(req, res).catch(err => { this.init.onError?.(err as Error) }) }
    const server: Server = this.init.tls == null
      ? createServer(handler)
      : createTlsServer({ cert: Buffer.from(this.init.tls.cert), key: Buffer.from(this.init.tls.key) }, handler)
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => { socket.destroy() })
      let taken = false
      try {
        taken = this.init.upgrade?.(req, socket, head) ?? false
      } catch (err) {
        this.init.onError?.(err as Error)
      }
      if (!taken) socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n')
    })
    const i = this.init.listen.lastIndexOf(':')
    const host = this.init.listen.slice(0, i).replace(/^\[|\]$/g, '')
    const port = Number(this.init.listen.slice(i + 1))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => { server.off('error', reject); resolve() })
    })
    this.server = server
    const addr = server.address() as AddressInfo
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
    this.url = `${this.init.tls == null ? 'http' : 'https'}://${shown.includes(':') ? `[${shown}]` : shown}:${addr.port}`
  }

  async stop (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    server.closeAllConnections()
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  }

  private async route (req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      let path: string
      try {
        path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('malformed URL')
        return
      }
      if (path.includes('\0')) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('malformed URL')
        return
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end()
        return
      }
      if (path === '/healthz') {
        // liveness: the process answers and has not stopped; whether it should get traffic is /readyz
        const health = this.init.health()
        res.writeHead(health.live === false ? 503 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        res.end(JSON.stringify(health))
        return
      }
      if (path === '/readyz' && this.init.readiness != null) {
        const r = this.init.readiness()
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        res.end(JSON.stringify(r))
        return
      }
      if (path === '/metrics' && this.init.metrics != null) {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
        res.end(await this.init.metrics())
        return
      }
      if (path === '/config.json' && this.init.config != null) {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        res.end(JSON.stringify(this.init.config?.()))
        return
      }
      await this.serveFile(path, req, res)
    } catch (err) {
      // the reason goes to the log, not to whoever asked
      this.init.onError?.(err as Error)
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end('internal error')
    }
  }

  /** a file of the web app, with its .br and .gz siblings when the build made them */
  private async asset (file: string): Promise<Asset | undefined> {
    let a = this.assets.get(file)
    if (a == null) {
      a = (async () => {
        if (!existsSync(file) || !(await stat(file)).isFile()) return undefined
        const body = await readFile(file)
        const sibling = async (ext: string): Promise<Buffer | undefined> => existsSync(file + ext) ? readFile(file + ext) : undefined
        return {
          body,
          br: await sibling('.br'),
          gzip: await sibling('.gz'),
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
          type: TYPES[extname(file)] ?? 'application/octet-stream'
        }
      })()
      this.assets.set(file, a)
    }
    return a
  }

  private async serveFile (path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const root = this.init.webRoot
    if (root == null || !existsSync(root)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no web app built (run npm run build)')
      return
    }
    const rel = path === '/' ? 'index.html' : normalize(path).replace(/^([/\\])+/, '')
    const file = resolve(join(root, rel))
    const hidden = (extname(file) === '.map' && this.init.sourceMaps !== true) || /\.(br|gz)$/.test(file)
    const asset = hidden || !file.startsWith(resolve(root)) ? undefined : await this.asset(file)
    if (asset == null) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    const headers: Record<string, string> = {
      'content-type': asset.type,
      // the app renders user text as text; this keeps any injected markup from running scripts regardless
      'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
      'x-content-type-options': 'nosniff',
      // file names carry no content hash, so browsers keep a copy but ask each time; an unchanged file costs a 304
      'cache-control': 'no-cache',
      etag: asset.etag,
      vary: 'accept-encoding'
    }
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers).end()
      return
    }
    const accept = String(req.headers['accept-encoding'] ?? '')
    let body = asset.body
    if (asset.br != null && /\bbr\b/.test(accept)) {
      body = asset.br
      headers['content-encoding'] = 'br'
    } else if (asset.gzip != null && /\bgzip\b/.test(accept)) {
      body = asset.gzip
      headers['content-encoding'] = 'gzip'
    }
    headers['content-length'] = String(body.byteLength)
    res.writeHead(200, headers)
    res.end(req.method === 'HEAD' ? undefined : body)
  }
}
