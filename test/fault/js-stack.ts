/**
 * The JavaScript stack of a node that stopped answering, through its inspector (opened with SIGUSR1,
 * listening on 127.0.0.1:9229 in the node's namespace; run inside that namespace). A stack is taken
 * with Debugger.pause, which interrupts running JavaScript, microtask chains included, where a
 * diagnostic report on a signal waits for the event loop. Prints `samples` stacks, a second apart.
 *
 *   ip netns exec <ns> node dist/test/fault/js-stack.js [port] [samples]
 */
interface Frame { functionName: string, url: string, location: { scriptId: string, lineNumber: number, columnNumber: number } }

const port = Number(process.argv[2] ?? 9229)
const samples = Number(process.argv[3] ?? 3)

async function main (): Promise<void> {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<{ webSocketDebuggerUrl: string }>
  const url = list[0]?.webSocketDebuggerUrl
  if (url == null) throw new Error('no inspector target')
  const ws = new WebSocket(url)
  let id = 0
  const pending = new Map<number, () => void>()
  const scripts = new Map<string, string>()
  let onPaused: ((frames: Frame[]) => void) | undefined
  const send = async (method: string, params: object = {}): Promise<void> => new Promise(resolve => {
    pending.set(++id, resolve)
    ws.send(JSON.stringify({ id, method, params }))
  })
  ws.onmessage = (m: MessageEvent) => {
    const msg = JSON.parse(String(m.data)) as { id?: number, method?: string, params?: { scriptId: string, url: string, callFrames: Frame[] } }
    if (msg.id != null) { pending.get(msg.id)?.(); pending.delete(msg.id) }
    if (msg.method === 'Debugger.scriptParsed' && msg.params != null) scripts.set(msg.params.scriptId, msg.params.url)
    if (msg.method === 'Debugger.paused' && msg.params != null) onPaused?.(msg.params.callFrames)
  }
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject })
  await send('Debugger.enable')
  for (let i = 0; i < samples; i++) {
    const frames = await new Promise<Frame[]>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('the node did not pause within 10 s')) }, 10_000)
      onPaused = f => { clearTimeout(timer); resolve(f) }
      void send('Debugger.pause')
    })
    console.log(`stack ${i + 1}:`)
    for (const f of frames.slice(0, 25)) {
      const file = (scripts.get(f.location.scriptId) ?? f.url).replace(/^file:\/\/.*?\/dist\//, 'dist/')
      console.log(`  ${f.functionName === '' ? '(anonymous)' : f.functionName} ${file}:${f.location.lineNumber + 1}:${f.location.columnNumber + 1}`)
    }
    await send('Debugger.resume')
    await new Promise(resolve => setTimeout(resolve, 1000))
  }
  ws.close()
}

main().then(() => { process.exit(0) }, (err: Error) => { console.error(`js-stack: ${err.message}`); process.exit(1) })
