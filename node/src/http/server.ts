import { createServer } from 'node:http'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize, resolve } from 'node:path'
import type { Server, IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HttpInit {
  /** host:port */
  listen: string
  /** directory with the built web app (index.html, app.js); absent = no web app */
  webRoot?: string
  health: () => Record<string, unknown>
  metrics: () => Promise<string>
  /** extra JSON for the web app: which gateway to attach to */
  config: () => Record<string, unknown>
  /** serve *.map files (default false) */
  sourceMaps?: boolean
  /** a request failed inside the server */
  onError?: (err: Error) => void
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

/**
 * The node's HTTP side: the web app, /healthz (JSON), /metrics (Prometheus
 * text) and /config.json (the gateway addresses the web app attaches to).
 */
export class HttpServer {
  private server?: Server
  private readonly init: HttpInit
  url = ''

  constructor (init: HttpInit) {
    this.init = init
  }

  async start (): Promise<void> {
    if (this.server != null) return
    const server = createServer((req, res) => { this.route(req, res).catch(err => { this.init.onError?.(err as Error) }) })
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
    this.url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${addr.port}`
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
        const health = this.init.health()
        res.writeHead(health.ready === true ? 200 : 503, { 'content-type': 'application/json' })
        res.end(JSON.stringify(health))
        return
      }
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
        res.end(await this.init.metrics())
        return
      }
      if (path === '/config.json') {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        res.end(JSON.stringify(this.init.config()))
        return
      }
      await this.serveFile(path, res)
    } catch (err) {
      // the reason goes to the log, not to whoever asked
      this.init.onError?.(err as Error)
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end('internal error')
    }
  }

  private async serveFile (path: string, res: ServerResponse): Promise<void> {
    const root = this.init.webRoot
    if (root == null || !existsSync(root)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no web app built (run npm run build)')
      return
    }
    const rel = path === '/' ? 'index.html' : normalize(path).replace(/^([/\\])+/, '')
    const file = resolve(join(root, rel))
    const hidden = extname(file) === '.map' && this.init.sourceMaps !== true
    if (hidden || !file.startsWith(resolve(root)) || !existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      // the app renders user text as text; this keeps any injected markup from running scripts regardless
      'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
      'x-content-type-options': 'nosniff'
    })
    res.end(await readFile(file))
  }
}
