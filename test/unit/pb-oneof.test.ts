import { describe, expect, it } from 'vitest'
import { ServerFrame } from '../../client/src/protocol/pb/client.js'
import { Event } from '../../client/src/protocol/pb/event.js'
import { SyncRequest } from '../../client/src/protocol/pb/mesh.js'

/** the bytes of two messages one after the other: protobuf reads them as one message with the fields of both */
const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.byteLength + b.byteLength)
  out.set(a, 0)
  out.set(b, a.byteLength)
  return out
}

const SERVER_BODY = ['welcome', 'ok', 'error', 'delivery', 'history', 'roster', 'rosterDiff', 'user', 'pong', 'redirect', 'publishAck', 'replayDone', 'challenge', 'dmHistory']
const EVENT_BODY = ['room', 'dm', 'typing', 'receipt']
const SYNC_BODY = ['presence', 'history', 'mailbox', 'mailboxDelete', 'mailboxPut', 'store', 'archive', 'dmHistory', 'dmHistoryPut', 'digest']

const members = (obj: object, names: string[]): string[] => names.filter(n => n in obj)

describe('decoded oneofs (the generated decoders, npm run proto)', () => {
  it('hold the one member a message carries, and no key for any other', () => {
    const pong = ServerFrame.decode(ServerFrame.encode({ req: 3, pong: { time: 7n } }))
    expect(members(pong, SERVER_BODY)).toEqual(['pong'])
    expect(pong.pong).toEqual({ time: 7n })
    expect(pong.req).toBe(3)
    const ev = Event.decode(Event.encode({ author: Uint8Array.of(1), name: new Uint8Array(0), ts: 5n, nonce: Uint8Array.of(2), room: { room: 'lobby', body: Uint8Array.of(104, 105) } }))
    expect(members(ev, EVENT_BODY)).toEqual(['room'])
    expect(ev.room).toEqual({ room: 'lobby', body: Uint8Array.of(104, 105) })
    const req = SyncRequest.decode(SyncRequest.encode({ digest: { room: 'lobby', from: 1n, to: 2n } }))
    expect(members(req, SYNC_BODY)).toEqual(['digest'])
    // nothing at all: no member, and no key for one
    expect(members(ServerFrame.decode(ServerFrame.encode({ req: 1 })), SERVER_BODY)).toEqual([])
  })

  it('keep exactly one member of a message that carries two (a peer or client that sends such bytes)', () => {
    const two = ServerFrame.decode(concat(ServerFrame.encode({ req: 1, ok: { detail: 'a' } }), ServerFrame.encode({ req: 1, pong: { time: 9n } })))
    const kept = members(two, SERVER_BODY)
    expect(kept).toHaveLength(1)
    expect(['ok', 'pong']).toContain(kept[0])
    const ev = Event.decode(concat(
      Event.encode({ author: Uint8Array.of(1), name: new Uint8Array(0), ts: 5n, nonce: Uint8Array.of(2), room: { room: 'lobby', body: Uint8Array.of(104, 105) } }),
      Event.encode({ author: Uint8Array.of(1), name: new Uint8Array(0), ts: 5n, nonce: Uint8Array.of(2), typing: { room: 'lobby', active: true } })
    ))
    expect(members(ev, EVENT_BODY)).toHaveLength(1)
    const req = SyncRequest.decode(concat(SyncRequest.encode({ presence: { node: 'n' } }), SyncRequest.encode({ digest: { room: 'lobby', from: 1n, to: 2n } })))
    expect(members(req, SYNC_BODY)).toHaveLength(1)
    // the one kept is the same whichever order the two came in
    const other = ServerFrame.decode(concat(ServerFrame.encode({ req: 1, pong: { time: 9n } }), ServerFrame.encode({ req: 1, ok: { detail: 'a' } })))
    expect(members(other, SERVER_BODY)).toEqual(kept)
  })

  it('encode one member of a message given two, and leave the caller\'s message as it was', () => {
    const one = { req: 4, pong: { time: 1n } }
    const bytes = ServerFrame.encode(one)
    expect(Object.keys(one)).toEqual(['req', 'pong'])
    expect(members(ServerFrame.decode(bytes), SERVER_BODY)).toEqual(['pong'])
    const two = { req: 5, ok: { detail: 'a' }, pong: { time: 2n } }
    const decoded = ServerFrame.decode(ServerFrame.encode(two))
    expect(members(decoded, SERVER_BODY)).toHaveLength(1)
    expect(two).toEqual({ req: 5, ok: { detail: 'a' }, pong: { time: 2n } })
    const three = { presence: { node: 'n' }, digest: { room: 'lobby', from: 1n, to: 2n }, store: undefined }
    expect(members(SyncRequest.decode(SyncRequest.encode(three)), SYNC_BODY)).toHaveLength(1)
    expect(three.presence).toEqual({ node: 'n' })
    expect(three.digest).toEqual({ room: 'lobby', from: 1n, to: 2n })
    // the same member is kept whichever way: given two, and read from the bytes of both one after the other
    const both = ServerFrame.decode(concat(ServerFrame.encode({ req: 5, ok: { detail: 'a' } }), ServerFrame.encode({ req: 5, pong: { time: 2n } })))
    expect(members(decoded, SERVER_BODY)).toEqual(members(both, SERVER_BODY))
  })
})
