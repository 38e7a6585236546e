/**
 * @packageDocumentation
 *
 * The mesh's private-network (pnet) connection protector, in place of
 * `@libp2p/pnet`. That package XORs with the `xsalsa20` npm package, whose
 * WebAssembly memory is shared by every cipher in the process and capped at
 * 64 MiB: once any chunk over ~640 KiB grows it, every other cipher holds a
 * detached view and grows it again on its next use, until `Memory.grow()`
 * throws inside an event listener and takes the process down. Here each
 * direction of each connection has a keystream state of its own (libsodium's
 * streaming XSalsa20 where the `sodium-native` addon loads, else a position
 * over `@noble/ciphers`' pure-JS XSalsa20), with nothing shared between
 * connections.
 *
 * Wire-compatible with `@libp2p/pnet` (and go-libp2p's pnet): the same IPFS
 * swarm key file, a 24-byte random nonce from each side, then every byte in
 * each direction XORed with the XSalsa20 keystream of (psk, sender's nonce)
 * as one continuous stream.
 */
import { ConnectionClosedError, InvalidParametersError, TimeoutError } from '@libp2p/interface'
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils'
import { xsalsa20 } from '@noble/ciphers/salsa.js'
import { bytesToHex, hexToBytes } from '@noble/ciphers/utils.js'
import { Uint8ArrayList } from 'uint8arraylist'
import { requireSodium, sodium } from '../../../client/src/protocol/sodium-node.js'
import type { Sodium } from '../../../client/src/protocol/sodium-node.js'
import type { AbortOptions, ComponentLogger, ConnectionProtector, Logger, MessageStream, MultiaddrConnection, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'

export interface MeshPnetInit {
  /** the swarm key file's bytes (`/key/swarm/psk/1.0.0/`, `/base16/`, 64 hex digits); the same for every peer of the mesh */
  psk: Uint8Array
  /**
   * How long the nonce exchange may take before the connection is aborted, in ms.
   * Applied even when libp2p passes its own (longer) upgrade signal.
   *
   * @default 1000
   */
  timeoutMs?: number
}

export interface MeshPnetComponents {
  logger: ComponentLogger
}

/** Thrown by `meshPnet` and `decodeSwarmKey` when the key is not a v1 base16 swarm key. */
export class InvalidSwarmKeyError extends Error {
  static override name = 'InvalidSwarmKeyError'
  constructor (message = 'not a swarm key (expected /key/swarm/psk/1.0.0/, /base16/, 64 hex digits)') {
    super(message)
    this.name = 'InvalidSwarmKeyError'
  }
}

/** Thrown (and the connection aborted) when one direction of a connection reaches the end of the keystream noble can produce. */
export class KeystreamExhaustedError extends Error {
  static override name = 'KeystreamExhaustedError'
  constructor (message = 'pnet keystream exhausted for this connection') {
    super(message)
    this.name = 'KeystreamExhaustedError'
  }
}

export const NONCE_LENGTH = 24
export const KEY_LENGTH = 32
const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n'
/** bytes in a generated swarm key file: header plus 64 hex digits, no trailing newline (as @libp2p/pnet writes it) */
export const SWARM_KEY_LENGTH = SWARM_KEY_HEADER.length + 2 * KEY_LENGTH
const DEFAULT_TIMEOUT_MS = 1000
const BLOCK = 64
/**
 * noble keeps Salsa20's block counter to 32 bits and throws rather than wrap,
 * so the last usable block is 2^32 - 2. The `xsalsa20` package would carry into
 * the high word; ending the connection here (~256 GiB in one direction) keeps
 * us from ever emitting a keystream byte it would not.
 */
const MAX_STREAM_BYTES = (2 ** 32 - 1) * BLOCK

/** Write a fresh swarm key file (SWARM_KEY_LENGTH bytes) into the start of `bytes`. */
export function generateSwarmKey (bytes: Uint8Array): void {
  if (bytes.byteLength < SWARM_KEY_LENGTH) {
    throw new InvalidParametersError(`a swarm key needs ${SWARM_KEY_LENGTH} bytes, got ${bytes.byteLength}`)
  }
  const hex = bytesToHex(crypto.getRandomValues(new Uint8Array(KEY_LENGTH)))
  bytes.set(new TextEncoder().encode(SWARM_KEY_HEADER + hex))
}

/**
 * The 32-byte key in a swarm key file. Stricter than @libp2p/pnet, which
 * ignores the first two lines: a key file with another codec would otherwise
 * be read as hex and fail later as an unexplained refusal to connect.
 */
export function decodeSwarmKey (file: Uint8Array): Uint8Array {
  if (!(file instanceof Uint8Array)) throw new InvalidSwarmKeyError('the swarm key must be a Uint8Array')
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file)
  } catch {
    throw new InvalidSwarmKeyError('the swarm key is not UTF-8 text')
  }
  const [tag, codec, hex = '', ...rest] = text.split(/\r\n|\r|\n/)
  if (tag !== '/key/swarm/psk/1.0.0/') throw new InvalidSwarmKeyError(`unsupported swarm key tag ${JSON.stringify(tag)}`)
  if (codec !== '/base16/') throw new InvalidSwarmKeyError(`unsupported swarm key encoding ${JSON.stringify(codec)} (only /base16/)`)
  if (!/^[0-9a-fA-F]{64}$/.test(hex.trim()) || rest.some(line => line.trim() !== '')) {
    throw new InvalidSwarmKeyError('the swarm key must be 64 hex digits')
  }
  return hexToBytes(hex.trim())
}

/**
 * One direction's XSalsa20 keystream, consumed as a continuous stream across
 * chunks of any size: libsodium's streaming XSalsa20 where the addon loads
 * (3–5 times faster on mesh-sized chunks: 1.5 against 6 µs for 100 bytes,
 * 3.0 against 11.5 µs for 1,500), else `@noble/ciphers`. The two give the same
 * bytes. Exported for the equivalence test and the benchmark.
 */
export class XSalsa20Stream {
  #key: Uint8Array
  #nonce: Uint8Array
  /** libsodium and its state (key, nonce and position), when it is the one in use */
  #sodium?: Sodium
  #state?: Uint8Array
  /** bytes of keystream used so far */
  #pos = 0

  constructor (key: Uint8Array, nonce: Uint8Array, impl: 'libsodium' | 'noble' = sodium != null ? 'libsodium' : 'noble') {
    if (key.byteLength !== KEY_LENGTH) throw new InvalidParametersError(`key must be ${KEY_LENGTH} bytes`)
    if (nonce.byteLength !== NONCE_LENGTH) throw new InvalidParametersError(`nonce must be ${NONCE_LENGTH} bytes`)
    const s = impl === 'libsodium' ? sodium ?? requireSodium() : undefined
    if (impl === 'libsodium' && s == null) throw new InvalidParametersError('libsodium (sodium-native) does not load here')
    this.#key = key
    // our own copy: a nonce read off a socket is a view that would pin the whole read buffer
    this.#nonce = nonce.slice()
    if (s != null) {
      this.#sodium = s
      this.#state = new Uint8Array(s.crypto_stream_xor_STATEBYTES)
      s.crypto_stream_xor_init(this.#state, this.#nonce, key)
    }
  }

  get position (): number {
    return this.#pos
  }

  /** which implementation this stream runs on */
  get impl (): 'libsodium' | 'noble' {
    return this.#state != null ? 'libsodium' : 'noble'
  }

  /**
   * XOR `data` with the next `data.byteLength` keystream bytes into a new
   * buffer (never in place: outbound data belongs to the caller, inbound may be
   * a view of a shared socket buffer).
   */
  xor (data: Uint8Array | Uint8ArrayList): Uint8Array {
    const len = data.byteLength
    if (len === 0) return new Uint8Array(0)
    if (this.#pos + len > MAX_STREAM_BYTES) throw new KeystreamExhaustedError()
    const state = this.#state
    const s = this.#sodium
    if (state != null && s != null) {
      const out = new Uint8Array(len)
      if (data instanceof Uint8Array) {
        s.crypto_stream_xor_update(state, out, data)
      } else {
        let at = 0
        for (const part of data) {
          s.crypto_stream_xor_update(state, out.subarray(at, at + part.byteLength), part)
          at += part.byteLength
        }
      }
      this.#pos += len
      return out
    }
    // A chunk starting mid-block is laid out `skip` bytes into a fresh buffer
    // that is run in place from that block's counter: one call covers the
    // partial block and the rest, the buffer is 4-byte aligned (noble's fast
    // path) whatever the input's offset, and the chunk is copied only once.
    const skip = this.#pos % BLOCK
    const buf = new Uint8Array(skip + len)
    if (data instanceof Uint8Array) {
      buf.set(data, skip)
    } else {
      let at = skip
      for (const part of data) {
        buf.set(part, at)
        at += part.byteLength
      }
    }
    xsalsa20(this.#key, this.#nonce, buf, buf, (this.#pos - skip) / BLOCK)
    // the lead-in now holds raw keystream; do not leave it behind the returned view
    buf.fill(0, 0, skip)
    this.#pos += len
    return skip === 0 ? buf : buf.subarray(skip)
  }

  /** Forget the key and nonce; any later use throws. */
  destroy (): void {
    if (this.#state != null) {
      this.#sodium?.crypto_stream_xor_final(this.#state)
      this.#state.fill(0)
      this.#state = undefined
    }
    this.#nonce.fill(0)
    this.#key = new Uint8Array(0)
    this.#nonce = new Uint8Array(0)
  }
}

interface PnetConnectionInit {
  inner: MessageStream
  psk: Uint8Array
  localNonce: Uint8Array
  remoteNonce: Uint8Array
  log: Logger
}

/**
 * Bytes queued for one write before the layer above is asked to wait. A tick's
 * worth of chat traffic is far below it; a history page fills it, and then
 * the muxer waits for the socket as it would without the queue.
 */
const QUEUE_HIGH_WATER = 1024 * 1024

/**
 * The protected connection: what noise and the muxer see, with the raw
 * connection under it. Writes are batched below the muxer: every frame the
 * layers above send in one turn of the event loop is encrypted in one pass and
 * written in one socket write (a chat event is a handful of small frames:
 * yamux header and body, each sealed by noise), flushed in the same turn.
 */
class PnetConnection extends AbstractMultiaddrConnection {
  #inner: MessageStream | undefined
  #inbound: XSalsa20Stream | undefined
  #outbound: XSalsa20Stream | undefined
  #queue = new Uint8ArrayList()
  #flushScheduled = false
  /** the raw connection said it is full: wait for its drain */
  #innerFull = false
  /** this layer told the one above to wait (its queue was full) */
  #pausedAbove = false

  constructor (init: PnetConnectionInit) {
    super({
      log: init.log,
      // the upgrader always hands protect() a MultiaddrConnection; @libp2p/pnet relies on the same
      remoteAddr: (init.inner as MultiaddrConnection).remoteAddr,
      direction: init.inner.direction
    })
    this.#inner = init.inner
    this.#inbound = new XSalsa20Stream(init.psk, init.remoteNonce)
    this.#outbound = new XSalsa20Stream(init.psk, init.localNonce)
    init.inner.addEventListener('message', this.#onInnerMessage)
    init.inner.addEventListener('drain', this.#onInnerDrain)
    init.inner.addEventListener('close', this.#onInnerClose)
    // every terminal path (close, abort, remote reset) ends in one 'close' event here
    this.addEventListener('close', this.#release, { once: true })
  }

  #onInnerMessage = (evt: StreamMessageEvent): void => {
    if (this.#inbound == null) return
    let plain: Uint8Array
    try {
      plain = this.#inbound.xor(evt.data)
    } catch (err) {
      this.abort(err as Error)
      return
    }
    this.onData(plain)
  }

  #onInnerDrain = (): void => {
    this.#innerFull = false
    this.#pausedAbove = false
    this.onMuxerDrain()
  }

  #flush = (): void => {
    this.#flushScheduled = false
    const inner = this.#inner
    const outbound = this.#outbound
    if (inner == null || outbound == null || this.#queue.byteLength === 0) return
    const queued = this.#queue
    this.#queue = new Uint8ArrayList()
    let sent: boolean
    try {
      sent = inner.send(outbound.xor(queued))
    } catch (err) {
      this.abort(err as Error)
      return
    }
    if (!sent) {
      this.#innerFull = true
    } else if (this.#pausedAbove) {
      this.#pausedAbove = false
      this.onMuxerDrain()
    }
  }

  #onInnerClose = (evt: StreamCloseEvent): void => {
    if (evt.error != null) {
      if (evt.local === true) this.abort(evt.error)
      else this.onRemoteReset()
    } else {
      this.onTransportClosed()
    }
  }

  #release = (): void => {
    const inner = this.#inner
    if (inner != null) {
      inner.removeEventListener('message', this.#onInnerMessage)
      inner.removeEventListener('drain', this.#onInnerDrain)
      inner.removeEventListener('close', this.#onInnerClose)
    }
    this.#queue = new Uint8ArrayList()
    this.#inbound?.destroy()
    this.#outbound?.destroy()
    this.#inbound = undefined
    this.#outbound = undefined
    this.#inner = undefined
    this.log.trace('released pnet state')
  }

  /** true while the cipher state is held (tests check it is dropped) */
  get holdsState (): boolean {
    return this.#inner != null || this.#inbound != null || this.#outbound != null
  }

  sendData (data: Uint8ArrayList): SendResult {
    if (this.#outbound == null || this.#inner == null) {
      // only reachable after release, when the stream is already closed
      throw new Error('pnet connection is closed')
    }
    this.#queue.append(data)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(this.#flush)
    }
    const canSendMore = !this.#innerFull && this.#queue.byteLength < QUEUE_HIGH_WATER
    if (!canSendMore) this.#pausedAbove = true
    return { sentBytes: data.byteLength, canSendMore }
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    // what was queued in this turn goes out before the close
    this.#flush()
    await this.#inner?.close(options)
  }

  sendReset (err: Error): void {
    this.#inner?.abort(err)
  }

  sendPause (): void {
    this.#inner?.pause()
  }

  sendResume (): void {
    this.#inner?.resume()
  }
}

class MeshPnetProtector implements ConnectionProtector {
  readonly [Symbol.toStringTag] = 'meshchat/pnet'
  readonly #psk: Uint8Array
  readonly #timeoutMs: number
  readonly #log: Logger

  constructor (psk: Uint8Array, timeoutMs: number, components: MeshPnetComponents) {
    this.#psk = psk
    this.#timeoutMs = timeoutMs
    this.#log = components.logger.forComponent('meshchat:pnet')
  }

  async protect (connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    if (connection == null) throw new InvalidParametersError('no connection to protect')
    const log = connection.log.newScope('pnet')
    const localNonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH))

    // @libp2p/pnet only applies its timeout when no options are given, and the
    // upgrader always gives some (with a ~10 s signal), so a peer that sends a
    // few bytes and stops would hold the socket that long; ours always applies.
    const deadline = new AbortController()
    const timer = setTimeout(() => {
      deadline.abort(new TimeoutError(`pnet nonce exchange did not finish within ${this.#timeoutMs} ms`))
    }, this.#timeoutMs)
    const outer = options?.signal
    const onOuterAbort = (): void => { deadline.abort(outer?.reason) }
    if (outer?.aborted === true) onOuterAbort()
    else outer?.addEventListener('abort', onOuterAbort, { once: true })

    const bytes = byteStream(connection)
    try {
      const [nonce] = await Promise.all([
        bytes.read({ bytes: NONCE_LENGTH, signal: deadline.signal }),
        bytes.write(localNonce, { signal: deadline.signal })
      ])
      const remoteNonce = nonce.subarray()
      // bytes that arrived with the nonce go back onto the connection, to be decrypted below
      const inner = bytes.unwrap()
      // a close that landed with the nonce has already been dispatched, so the wrapper would never hear of it
      if (inner.status !== 'open') throw new ConnectionClosedError('the connection closed during the pnet nonce exchange')
      log('exchanged nonces')
      return new PnetConnection({ inner, psk: this.#psk, localNonce, remoteNonce, log })
    } catch (err) {
      this.#log('nonce exchange with %s failed - %e', (connection as Partial<MultiaddrConnection>).remoteAddr, err)
      // settles whichever half of the exchange is still waiting
      deadline.abort(err)
      try {
        // drops byteStream's listeners; its buffered bytes may not go back onto an already closed connection
        bytes.unwrap()
      } catch {}
      connection.abort(err as Error)
      throw err
    } finally {
      clearTimeout(timer)
      outer?.removeEventListener('abort', onOuterAbort)
    }
  }
}

/**
 * The mesh's connection protector, for libp2p's `connectionProtector` option.
 * The key is checked here, so a bad key fails where the host is configured.
 */
export function meshPnet (init: MeshPnetInit): (components: MeshPnetComponents) => ConnectionProtector {
  const psk = decodeSwarmKey(init.psk)
  const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidParametersError('timeoutMs must be a positive number')
  return (components) => new MeshPnetProtector(psk, timeoutMs, components)
}
