import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Event {
  author: Uint8Array<ArrayBuffer>
  name: Uint8Array<ArrayBuffer>
  ts: bigint
  nonce: Uint8Array<ArrayBuffer>
  room?: RoomText
  dm?: DirectText
  typing?: Typing
}

export namespace Event {
  let _codec: Codec<Event>

  export const codec = (): Codec<Event> => {
    if (_codec == null) {
      _codec = message<Event>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        obj = { ...obj }

        if (obj.typing != null) {
          obj.dm = undefined
          obj.room = undefined
        }

        if (obj.dm != null) {
          obj.typing = undefined
          obj.room = undefined
        }

        if (obj.room != null) {
          obj.typing = undefined
          obj.dm = undefined
        }

        if ((obj.author != null && obj.author.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.author)
        }

        if ((obj.name != null && obj.name.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.name)
        }

        if ((obj.ts != null && obj.ts !== 0n)) {
          w.uint32(24)
          w.uint64(obj.ts)
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.nonce)
        }

        if (obj.room != null) {
          w.uint32(82)
          RoomText.codec().encode(obj.room, w)
        }

        if (obj.dm != null) {
          w.uint32(90)
          DirectText.codec().encode(obj.dm, w)
        }

        if (obj.typing != null) {
          w.uint32(98)
          Typing.codec().encode(obj.typing, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          author: uint8ArrayAlloc(0),
          name: uint8ArrayAlloc(0),
          ts: 0n,
          nonce: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.author = reader.bytes()
              break
            }
            case 2: {
              obj.name = reader.bytes()
              break
            }
            case 3: {
              obj.ts = reader.uint64()
              break
            }
            case 4: {
              obj.nonce = reader.bytes()
              break
            }
            case 10: {
              obj.room = RoomText.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.room
              })
              break
            }
            case 11: {
              obj.dm = DirectText.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.dm
              })
              break
            }
            case 12: {
              obj.typing = Typing.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.typing
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        if (obj.typing != null) {
          delete obj.dm
          delete obj.room
        }

        if (obj.dm != null) {
          delete obj.typing
          delete obj.room
        }

        if (obj.room != null) {
          delete obj.typing
          delete obj.dm
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.author`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.name`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.ts`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.nonce`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              yield * RoomText.codec().stream(reader, reader.uint32(), `${prefix}.room`, {
                limits: opts.limits?.room
              })

              break
            }
            case 11: {
              yield * DirectText.codec().stream(reader, reader.uint32(), `${prefix}.dm`, {
                limits: opts.limits?.dm
              })

              break
            }
            case 12: {
              yield * Typing.codec().stream(reader, reader.uint32(), `${prefix}.typing`, {
                limits: opts.limits?.typing
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface EventAuthorFieldEvent {
    field: '$.author'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EventNameFieldEvent {
    field: '$.name'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EventTsFieldEvent {
    field: '$.ts'
    value: bigint
  }

  export interface EventNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EventRoomRoomFieldEvent {
    field: '$.room.room'
    value: string
  }

  export interface EventRoomBodyFieldEvent {
    field: '$.room.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EventDmToFieldEvent {
    field: '$.dm.to'
    value: string
  }

  export interface EventDmBodyFieldEvent {
    field: '$.dm.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EventTypingRoomFieldEvent {
    field: '$.typing.room'
    value: string
  }

  export interface EventTypingActiveFieldEvent {
    field: '$.typing.active'
    value: boolean
  }

  export function encode (obj: Partial<Event>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Event.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Event>): Event {
    return decodeMessage(buf, Event.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Event>): Generator<EventAuthorFieldEvent | EventNameFieldEvent | EventTsFieldEvent | EventNonceFieldEvent | EventRoomRoomFieldEvent | EventRoomBodyFieldEvent | EventDmToFieldEvent | EventDmBodyFieldEvent | EventTypingRoomFieldEvent | EventTypingActiveFieldEvent> {
    return streamMessage(buf, Event.codec(), opts)
  }
}

export interface RoomText {
  room: string
  body: Uint8Array<ArrayBuffer>
}

export namespace RoomText {
  let _codec: Codec<RoomText>

  export const codec = (): Codec<RoomText> => {
    if (_codec == null) {
      _codec = message<RoomText>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(10)
          w.string(obj.room)
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.body)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          room: '',
          body: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.room = reader.string()
              break
            }
            case 2: {
              obj.body = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.room`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RoomTextRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export interface RoomTextBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<RoomText>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RoomText.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoomText>): RoomText {
    return decodeMessage(buf, RoomText.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoomText>): Generator<RoomTextRoomFieldEvent | RoomTextBodyFieldEvent> {
    return streamMessage(buf, RoomText.codec(), opts)
  }
}

export interface DirectText {
  to: string
  body: Uint8Array<ArrayBuffer>
}

export namespace DirectText {
  let _codec: Codec<DirectText>

  export const codec = (): Codec<DirectText> => {
    if (_codec == null) {
      _codec = message<DirectText>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.to != null && obj.to !== '')) {
          w.uint32(10)
          w.string(obj.to)
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.body)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          to: '',
          body: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.to = reader.string()
              break
            }
            case 2: {
              obj.body = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.to`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface DirectTextToFieldEvent {
    field: '$.to'
    value: string
  }

  export interface DirectTextBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<DirectText>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, DirectText.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DirectText>): DirectText {
    return decodeMessage(buf, DirectText.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DirectText>): Generator<DirectTextToFieldEvent | DirectTextBodyFieldEvent> {
    return streamMessage(buf, DirectText.codec(), opts)
  }
}

export interface Typing {
  room: string
  active: boolean
}

export namespace Typing {
  let _codec: Codec<Typing>

  export const codec = (): Codec<Typing> => {
    if (_codec == null) {
      _codec = message<Typing>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(10)
          w.string(obj.room)
        }

        if ((obj.active != null && obj.active !== false)) {
          w.uint32(16)
          w.bool(obj.active)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          room: '',
          active: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.room = reader.string()
              break
            }
            case 2: {
              obj.active = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.room`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.active`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface TypingRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export interface TypingActiveFieldEvent {
    field: '$.active'
    value: boolean
  }

  export function encode (obj: Partial<Typing>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Typing.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Typing>): Typing {
    return decodeMessage(buf, Typing.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Typing>): Generator<TypingRoomFieldEvent | TypingActiveFieldEvent> {
    return streamMessage(buf, Typing.codec(), opts)
  }
}

export interface SignedEvent {
  payload: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace SignedEvent {
  let _codec: Codec<SignedEvent>

  export const codec = (): Codec<SignedEvent> => {
    if (_codec == null) {
      _codec = message<SignedEvent>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.payload != null && obj.payload.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.payload)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          payload: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.payload = reader.bytes()
              break
            }
            case 2: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.payload`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SignedEventPayloadFieldEvent {
    field: '$.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedEventSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SignedEvent>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedEvent.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedEvent>): SignedEvent {
    return decodeMessage(buf, SignedEvent.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedEvent>): Generator<SignedEventPayloadFieldEvent | SignedEventSignatureFieldEvent> {
    return streamMessage(buf, SignedEvent.codec(), opts)
  }
}
