import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

/**
 * `@chainsafe/libp2p-yamux` answers every data frame it receives with a window update frame,
 * whatever its size: on a mesh connection carrying small chat events that is one more frame, and
 * mostly one more socket write (noise-sealed, 30 bytes), for each message a node receives. In a
 * strace of a node under room traffic, 40 % of its mesh writes were such lone window updates.
 *
 * The fix is yamux's own rule (hashicorp/yamux, go-yamux): a stream tells the sender about the room
 * it freed only once that room is at least half its receive window, or when the update carries a
 * flag (the ACK that opens an inbound stream). The sender then always has half a window left while
 * the update travels, so it never waits on it. A paused stream still sends nothing, and the
 * window's growth with a fast reader is still the library's own code, decided when an update goes.
 */

interface StreamFields {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

/** states whose update carries a flag (SYN, ACK) or that send none (paused): left to the library */
const LIBRARY_STATES = new Set([StreamState.Init, StreamState.SYNReceived, StreamState.Paused])
let applied = false

/** install the fix (once per process; later calls do nothing) */
export function fixYamuxWindowUpdates (): void {
  if (applied) return
  applied = true
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate: (this: StreamFields) => void }
  const send = proto.sendWindowUpdate
  proto.sendWindowUpdate = function (this: StreamFields): void {
    // only a plain update can wait: flags (SYN, ACK) and pauses go through as before
    if (!LIBRARY_STATES.has(this.state) && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return
    send.call(this)
  }
}

/** true once the fix is installed */
export function yamuxWindowUpdatesFixed (): boolean {
  return applied
}
