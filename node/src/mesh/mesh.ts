import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface RoomEnvelope {
  event: Uint8Array<ArrayBuffer>
  hlc: bigint
  origin: string
}

export namespace RoomEnvelope {
  let _codec: Codec<RoomEnvelope>

  export const codec = (): Codec<RoomEnvelope> => {
    if (_codec == null) {
      _codec = message<RoomEnvelope>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.event != null && obj.event.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.event)
        }

        if ((obj.hlc != null && obj.hlc !== 0n)) {
          w.uint32(16)
          w.uint64(obj.hlc)
        }

        if ((obj.origin != null && obj.origin !== '')) {
          w.uint32(26)
          w.string(obj.origin)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          event: uint8ArrayAlloc(0),
          hlc: 0n,
          origin: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.event = reader.bytes()
              break
            }
            case 2: {
              obj.hlc = reader.uint64()
              break
            }
            case 3: {
              obj.origin = reader.string()
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
                field: `${prefix}.event`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.hlc`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.origin`,
                value: reader.string()
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

  export interface RoomEnvelopeEventFieldEvent {
    field: '$.event'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoomEnvelopeHlcFieldEvent {
    field: '$.hlc'
    value: bigint
  }

  export interface RoomEnvelopeOriginFieldEvent {
    field: '$.origin'
    value: string
  }

  export function encode (obj: Partial<RoomEnvelope>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RoomEnvelope.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoomEnvelope>): RoomEnvelope {
    return decodeMessage(buf, RoomEnvelope.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoomEnvelope>): Generator<RoomEnvelopeEventFieldEvent | RoomEnvelopeHlcFieldEvent | RoomEnvelopeOriginFieldEvent> {
    return streamMessage(buf, RoomEnvelope.codec(), opts)
  }
}

export interface SignedPresence {
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace SignedPresence {
  let _codec: Codec<SignedPresence>

  export const codec = (): Codec<SignedPresence> => {
    if (_codec == null) {
      _codec = message<SignedPresence>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.body)
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
          body: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.body = reader.bytes()
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
                field: `${prefix}.body`,
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

  export interface SignedPresenceBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedPresenceSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SignedPresence>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedPresence.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedPresence>): SignedPresence {
    return decodeMessage(buf, SignedPresence.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedPresence>): Generator<SignedPresenceBodyFieldEvent | SignedPresenceSignatureFieldEvent> {
    return streamMessage(buf, SignedPresence.codec(), opts)
  }
}

export interface PresenceMessage {
  delta?: PresenceDeltaMsg
  heartbeat?: HeartbeatMsg
  goodbye?: GoodbyeMsg
}

export namespace PresenceMessage {
  let _codec: Codec<PresenceMessage>

  export const codec = (): Codec<PresenceMessage> => {
    if (_codec == null) {
      _codec = message<PresenceMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        obj = { ...obj }

        if (obj.goodbye != null) {
          obj.heartbeat = undefined
          obj.delta = undefined
        }

        if (obj.heartbeat != null) {
          obj.goodbye = undefined
          obj.delta = undefined
        }

        if (obj.delta != null) {
          obj.goodbye = undefined
          obj.heartbeat = undefined
        }

        if (obj.delta != null) {
          w.uint32(10)
          PresenceDeltaMsg.codec().encode(obj.delta, w)
        }

        if (obj.heartbeat != null) {
          w.uint32(18)
          HeartbeatMsg.codec().encode(obj.heartbeat, w)
        }

        if (obj.goodbye != null) {
          w.uint32(26)
          GoodbyeMsg.codec().encode(obj.goodbye, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.delta = PresenceDeltaMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.delta
              })
              break
            }
            case 2: {
              obj.heartbeat = HeartbeatMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.heartbeat
              })
              break
            }
            case 3: {
              obj.goodbye = GoodbyeMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.goodbye
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        if (obj.goodbye != null) {
          delete obj.heartbeat
          delete obj.delta
        }

        if (obj.heartbeat != null) {
          delete obj.goodbye
          delete obj.delta
        }

        if (obj.delta != null) {
          delete obj.goodbye
          delete obj.heartbeat
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * PresenceDeltaMsg.codec().stream(reader, reader.uint32(), `${prefix}.delta`, {
                limits: opts.limits?.delta
              })

              break
            }
            case 2: {
              yield * HeartbeatMsg.codec().stream(reader, reader.uint32(), `${prefix}.heartbeat`, {
                limits: opts.limits?.heartbeat
              })

              break
            }
            case 3: {
              yield * GoodbyeMsg.codec().stream(reader, reader.uint32(), `${prefix}.goodbye`, {
                limits: opts.limits?.goodbye
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

  export interface PresenceMessageDeltaNodeFieldEvent {
    field: '$.delta.node'
    value: string
  }

  export interface PresenceMessageDeltaIncarnationFieldEvent {
    field: '$.delta.incarnation'
    value: bigint
  }

  export interface PresenceMessageDeltaSeqFieldEvent {
    field: '$.delta.seq'
    value: bigint
  }

  export interface PresenceMessageDeltaOpsPutUserIdFieldEvent {
    field: '$.delta.ops[].put.userId'
    value: string
    index: number
  }

  export interface PresenceMessageDeltaOpsPutDeviceIdFieldEvent {
    field: '$.delta.ops[].put.deviceId'
    value: string
    index: number
  }

  export interface PresenceMessageDeltaOpsPutNameFieldEvent {
    field: '$.delta.ops[].put.name'
    value: string
    index: number
  }

  export interface PresenceMessageDeltaOpsPutStatusFieldEvent {
    field: '$.delta.ops[].put.status'
    value: string
    index: number
  }

  export interface PresenceMessageDeltaOpsPutRoomsFieldEvent {
    field: '$.delta.ops[].put.rooms[]'
    index: number
    value: string
  }

  export interface PresenceMessageDeltaOpsPutSinceFieldEvent {
    field: '$.delta.ops[].put.since'
    value: bigint
    index: number
  }

  export interface PresenceMessageDeltaOpsDelFieldEvent {
    field: '$.delta.ops[].del'
    value: string
    index: number
  }

  export interface PresenceMessageHeartbeatNodeFieldEvent {
    field: '$.heartbeat.node'
    value: string
  }

  export interface PresenceMessageHeartbeatIncarnationFieldEvent {
    field: '$.heartbeat.incarnation'
    value: bigint
  }

  export interface PresenceMessageHeartbeatSeqFieldEvent {
    field: '$.heartbeat.seq'
    value: bigint
  }

  export interface PresenceMessageHeartbeatLoadClientsFieldEvent {
    field: '$.heartbeat.load.clients'
    value: number
  }

  export interface PresenceMessageHeartbeatLoadRoomsFieldEvent {
    field: '$.heartbeat.load.rooms'
    value: number
  }

  export interface PresenceMessageHeartbeatLoadMaxClientsFieldEvent {
    field: '$.heartbeat.load.maxClients'
    value: number
  }

  export interface PresenceMessageHeartbeatGatewayAddrsFieldEvent {
    field: '$.heartbeat.gatewayAddrs[]'
    index: number
    value: string
  }

  export interface PresenceMessageHeartbeatMeshAddrsFieldEvent {
    field: '$.heartbeat.meshAddrs[]'
    index: number
    value: string
  }

  export interface PresenceMessageHeartbeatHttpUrlFieldEvent {
    field: '$.heartbeat.httpUrl'
    value: string
  }

  export interface PresenceMessageHeartbeatBeatFieldEvent {
    field: '$.heartbeat.beat'
    value: bigint
  }

  export interface PresenceMessageHeartbeatTimeFieldEvent {
    field: '$.heartbeat.time'
    value: bigint
  }

  export interface PresenceMessageGoodbyeNodeFieldEvent {
    field: '$.goodbye.node'
    value: string
  }

  export interface PresenceMessageGoodbyeIncarnationFieldEvent {
    field: '$.goodbye.incarnation'
    value: bigint
  }

  export function encode (obj: Partial<PresenceMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PresenceMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceMessage>): PresenceMessage {
    return decodeMessage(buf, PresenceMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceMessage>): Generator<PresenceMessageDeltaNodeFieldEvent | PresenceMessageDeltaIncarnationFieldEvent | PresenceMessageDeltaSeqFieldEvent | PresenceMessageDeltaOpsPutUserIdFieldEvent | PresenceMessageDeltaOpsPutDeviceIdFieldEvent | PresenceMessageDeltaOpsPutNameFieldEvent | PresenceMessageDeltaOpsPutStatusFieldEvent | PresenceMessageDeltaOpsPutRoomsFieldEvent | PresenceMessageDeltaOpsPutSinceFieldEvent | PresenceMessageDeltaOpsDelFieldEvent | PresenceMessageHeartbeatNodeFieldEvent | PresenceMessageHeartbeatIncarnationFieldEvent | PresenceMessageHeartbeatSeqFieldEvent | PresenceMessageHeartbeatLoadClientsFieldEvent | PresenceMessageHeartbeatLoadRoomsFieldEvent | PresenceMessageHeartbeatLoadMaxClientsFieldEvent | PresenceMessageHeartbeatGatewayAddrsFieldEvent | PresenceMessageHeartbeatMeshAddrsFieldEvent | PresenceMessageHeartbeatHttpUrlFieldEvent | PresenceMessageHeartbeatBeatFieldEvent | PresenceMessageHeartbeatTimeFieldEvent | PresenceMessageGoodbyeNodeFieldEvent | PresenceMessageGoodbyeIncarnationFieldEvent> {
    return streamMessage(buf, PresenceMessage.codec(), opts)
  }
}

export interface PresenceEntryMsg {
  userId: string
  deviceId: string
  name: string
  status: string
  rooms: string[]
  since: bigint
}

export namespace PresenceEntryMsg {
  let _codec: Codec<PresenceEntryMsg>

  export const codec = (): Codec<PresenceEntryMsg> => {
    if (_codec == null) {
      _codec = message<PresenceEntryMsg>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.userId != null && obj.userId !== '')) {
          w.uint32(10)
          w.string(obj.userId)
        }

        if ((obj.deviceId != null && obj.deviceId !== '')) {
          w.uint32(18)
          w.string(obj.deviceId)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(26)
          w.string(obj.name)
        }

        if ((obj.status != null && obj.status !== '')) {
          w.uint32(34)
          w.string(obj.status)
        }

        if (obj.rooms != null && obj.rooms.length > 0) {
          for (const value of obj.rooms) {
            w.uint32(42)
            w.string(value)
          }
        }

        if ((obj.since != null && obj.since !== 0n)) {
          w.uint32(48)
          w.uint64(obj.since)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          userId: '',
          deviceId: '',
          name: '',
          status: '',
          rooms: [],
          since: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.userId = reader.string()
              break
            }
            case 2: {
              obj.deviceId = reader.string()
              break
            }
            case 3: {
              obj.name = reader.string()
              break
            }
            case 4: {
              obj.status = reader.string()
              break
            }
            case 5: {
              if (opts.limits?.rooms != null && obj.rooms.length === opts.limits.rooms) {
                throw new MaxLengthError('Decode error - repeated field "rooms" had too many elements')
              }

              if (obj.rooms.length === 256) {
                throw new MaxLengthError('Decode error - repeated field "rooms" had too many elements')
              }

              obj.rooms.push(reader.string())
              break
            }
            case 6: {
              obj.since = reader.uint64()
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
        const obj = {
          rooms: 256
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.userId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.deviceId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.status`,
                value: reader.string()
              }
              break
            }
            case 5: {
              if (opts.limits?.rooms != null && obj.rooms === opts.limits.rooms) {
                throw new MaxLengthError('Streaming decode error - repeated field "rooms" had too many elements')
              }

              if (obj.rooms === 256) {
                throw new MaxLengthError('Streaming decode error - repeated field "rooms" had too many elements')
              }

              yield {
                field: `${prefix}.rooms[]`,
                index: obj.rooms,
                value: reader.string()
              }

              obj.rooms++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.since`,
                value: reader.uint64()
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

  export interface PresenceEntryMsgUserIdFieldEvent {
    field: '$.userId'
    value: string
  }

  export interface PresenceEntryMsgDeviceIdFieldEvent {
    field: '$.deviceId'
    value: string
  }

  export interface PresenceEntryMsgNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface PresenceEntryMsgStatusFieldEvent {
    field: '$.status'
    value: string
  }

  export interface PresenceEntryMsgRoomsFieldEvent {
    field: '$.rooms[]'
    index: number
    value: string
  }

  export interface PresenceEntryMsgSinceFieldEvent {
    field: '$.since'
    value: bigint
  }

  export function encode (obj: Partial<PresenceEntryMsg>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PresenceEntryMsg.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceEntryMsg>): PresenceEntryMsg {
    return decodeMessage(buf, PresenceEntryMsg.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceEntryMsg>): Generator<PresenceEntryMsgUserIdFieldEvent | PresenceEntryMsgDeviceIdFieldEvent | PresenceEntryMsgNameFieldEvent | PresenceEntryMsgStatusFieldEvent | PresenceEntryMsgRoomsFieldEvent | PresenceEntryMsgSinceFieldEvent> {
    return streamMessage(buf, PresenceEntryMsg.codec(), opts)
  }
}

export interface PresenceOpMsg {
  put?: PresenceEntryMsg
  del: string
}

export namespace PresenceOpMsg {
  let _codec: Codec<PresenceOpMsg>

  export const codec = (): Codec<PresenceOpMsg> => {
    if (_codec == null) {
      _codec = message<PresenceOpMsg>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.put != null) {
          w.uint32(10)
          PresenceEntryMsg.codec().encode(obj.put, w)
        }

        if ((obj.del != null && obj.del !== '')) {
          w.uint32(18)
          w.string(obj.del)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          del: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.put = PresenceEntryMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.put
              })
              break
            }
            case 2: {
              obj.del = reader.string()
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
              yield * PresenceEntryMsg.codec().stream(reader, reader.uint32(), `${prefix}.put`, {
                limits: opts.limits?.put
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.del`,
                value: reader.string()
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

  export interface PresenceOpMsgPutUserIdFieldEvent {
    field: '$.put.userId'
    value: string
  }

  export interface PresenceOpMsgPutDeviceIdFieldEvent {
    field: '$.put.deviceId'
    value: string
  }

  export interface PresenceOpMsgPutNameFieldEvent {
    field: '$.put.name'
    value: string
  }

  export interface PresenceOpMsgPutStatusFieldEvent {
    field: '$.put.status'
    value: string
  }

  export interface PresenceOpMsgPutRoomsFieldEvent {
    field: '$.put.rooms[]'
    index: number
    value: string
  }

  export interface PresenceOpMsgPutSinceFieldEvent {
    field: '$.put.since'
    value: bigint
  }

  export interface PresenceOpMsgDelFieldEvent {
    field: '$.del'
    value: string
  }

  export function encode (obj: Partial<PresenceOpMsg>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PresenceOpMsg.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceOpMsg>): PresenceOpMsg {
    return decodeMessage(buf, PresenceOpMsg.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceOpMsg>): Generator<PresenceOpMsgPutUserIdFieldEvent | PresenceOpMsgPutDeviceIdFieldEvent | PresenceOpMsgPutNameFieldEvent | PresenceOpMsgPutStatusFieldEvent | PresenceOpMsgPutRoomsFieldEvent | PresenceOpMsgPutSinceFieldEvent | PresenceOpMsgDelFieldEvent> {
    return streamMessage(buf, PresenceOpMsg.codec(), opts)
  }
}

export interface PresenceDeltaMsg {
  node: string
  incarnation: bigint
  seq: bigint
  ops: PresenceOpMsg[]
}

export namespace PresenceDeltaMsg {
  let _codec: Codec<PresenceDeltaMsg>

  export const codec = (): Codec<PresenceDeltaMsg> => {
    if (_codec == null) {
      _codec = message<PresenceDeltaMsg>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.node != null && obj.node !== '')) {
          w.uint32(10)
          w.string(obj.node)
        }

        if ((obj.incarnation != null && obj.incarnation !== 0n)) {
          w.uint32(16)
          w.uint64(obj.incarnation)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(24)
          w.uint64(obj.seq)
        }

        if (obj.ops != null && obj.ops.length > 0) {
          for (const value of obj.ops) {
            w.uint32(34)
            PresenceOpMsg.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          node: '',
          incarnation: 0n,
          seq: 0n,
          ops: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.node = reader.string()
              break
            }
            case 2: {
              obj.incarnation = reader.uint64()
              break
            }
            case 3: {
              obj.seq = reader.uint64()
              break
            }
            case 4: {
              if (opts.limits?.ops != null && obj.ops.length === opts.limits.ops) {
                throw new MaxLengthError('Decode error - repeated field "ops" had too many elements')
              }

              if (obj.ops.length === 10000) {
                throw new MaxLengthError('Decode error - repeated field "ops" had too many elements')
              }

              obj.ops.push(PresenceOpMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ops$
              }))
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
        const obj = {
          ops: 10000
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.node`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.incarnation`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              if (opts.limits?.ops != null && obj.ops === opts.limits.ops) {
                throw new MaxLengthError('Streaming decode error - repeated field "ops" had too many elements')
              }

              if (obj.ops === 10000) {
                throw new MaxLengthError('Streaming decode error - repeated field "ops" had too many elements')
              }

              for (const evt of PresenceOpMsg.codec().stream(reader, reader.uint32(), `${prefix}.ops[]`, {
                limits: opts.limits?.ops$
              })) {
                yield {
                  ...evt,
                  index: obj.ops
                }
              }

              obj.ops++

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

  export interface PresenceDeltaMsgNodeFieldEvent {
    field: '$.node'
    value: string
  }

  export interface PresenceDeltaMsgIncarnationFieldEvent {
    field: '$.incarnation'
    value: bigint
  }

  export interface PresenceDeltaMsgSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface PresenceDeltaMsgOpsPutUserIdFieldEvent {
    field: '$.ops[].put.userId'
    value: string
    index: number
  }

  export interface PresenceDeltaMsgOpsPutDeviceIdFieldEvent {
    field: '$.ops[].put.deviceId'
    value: string
    index: number
  }

  export interface PresenceDeltaMsgOpsPutNameFieldEvent {
    field: '$.ops[].put.name'
    value: string
    index: number
  }

  export interface PresenceDeltaMsgOpsPutStatusFieldEvent {
    field: '$.ops[].put.status'
    value: string
    index: number
  }

  export interface PresenceDeltaMsgOpsPutRoomsFieldEvent {
    field: '$.ops[].put.rooms[]'
    index: number
    value: string
  }

  export interface PresenceDeltaMsgOpsPutSinceFieldEvent {
    field: '$.ops[].put.since'
    value: bigint
    index: number
  }

  export interface PresenceDeltaMsgOpsDelFieldEvent {
    field: '$.ops[].del'
    value: string
    index: number
  }

  export function encode (obj: Partial<PresenceDeltaMsg>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PresenceDeltaMsg.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceDeltaMsg>): PresenceDeltaMsg {
    return decodeMessage(buf, PresenceDeltaMsg.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceDeltaMsg>): Generator<PresenceDeltaMsgNodeFieldEvent | PresenceDeltaMsgIncarnationFieldEvent | PresenceDeltaMsgSeqFieldEvent | PresenceDeltaMsgOpsPutUserIdFieldEvent | PresenceDeltaMsgOpsPutDeviceIdFieldEvent | PresenceDeltaMsgOpsPutNameFieldEvent | PresenceDeltaMsgOpsPutStatusFieldEvent | PresenceDeltaMsgOpsPutRoomsFieldEvent | PresenceDeltaMsgOpsPutSinceFieldEvent | PresenceDeltaMsgOpsDelFieldEvent> {
    return streamMessage(buf, PresenceDeltaMsg.codec(), opts)
  }
}

export interface LoadMsg {
  clients: number
  rooms: number
  maxClients: number
}

export namespace LoadMsg {
  let _codec: Codec<LoadMsg>

  export const codec = (): Codec<LoadMsg> => {
    if (_codec == null) {
      _codec = message<LoadMsg>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.clients != null && obj.clients !== 0)) {
          w.uint32(8)
          w.uint32(obj.clients)
        }

        if ((obj.rooms != null && obj.rooms !== 0)) {
          w.uint32(16)
          w.uint32(obj.rooms)
        }

        if ((obj.maxClients != null && obj.maxClients !== 0)) {
          w.uint32(24)
          w.uint32(obj.maxClients)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          clients: 0,
          rooms: 0,
          maxClients: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.clients = reader.uint32()
              break
            }
            case 2: {
              obj.rooms = reader.uint32()
              break
            }
            case 3: {
              obj.maxClients = reader.uint32()
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
                field: `${prefix}.clients`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.rooms`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.maxClients`,
                value: reader.uint32()
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

  export interface LoadMsgClientsFieldEvent {
    field: '$.clients'
    value: number
  }

  export interface LoadMsgRoomsFieldEvent {
    field: '$.rooms'
    value: number
  }

  export interface LoadMsgMaxClientsFieldEvent {
    field: '$.maxClients'
    value: number
  }

  export function encode (obj: Partial<LoadMsg>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, LoadMsg.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LoadMsg>): LoadMsg {
    return decodeMessage(buf, LoadMsg.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LoadMsg>): Generator<LoadMsgClientsFieldEvent | LoadMsgRoomsFieldEvent | LoadMsgMaxClientsFieldEvent> {
    return streamMessage(buf, LoadMsg.codec(), opts)
  }
}

export interface HeartbeatMsg {
  node: string
  incarnation: bigint
  seq: bigint
  load?: LoadMsg
  gatewayAddrs: string[]
  meshAddrs: string[]
  httpUrl: string
  beat: bigint
  time: bigint
}

export namespace HeartbeatMsg {
  let _codec: Codec<HeartbeatMsg>

  export const codec = (): Codec<HeartbeatMsg> => {
    if (_codec == null) {
      _codec = message<HeartbeatMsg>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.node != null && obj.node !== '')) {
          w.uint32(10)
          w.string(obj.node)
        }

        if ((obj.incarnation != null && obj.incarnation !== 0n)) {
          w.uint32(16)
          w.uint64(obj.incarnation)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(24)
          w.uint64(obj.seq)
        }

        if (obj.load != null) {
          w.uint32(34)
          LoadMsg.codec().encode(obj.load, w)
        }

        if (obj.gatewayAddrs != null && obj.gatewayAddrs.length > 0) {
          for (const value of obj.gatewayAddrs) {
            w.uint32(42)
            w.string(value)
          }
        }

        if (obj.meshAddrs != null && obj.meshAddrs.length > 0) {
          for (const value of obj.meshAddrs) {
            w.uint32(50)
            w.string(value)
          }
        }

        if ((obj.httpUrl != null && obj.httpUrl !== '')) {
          w.uint32(58)
          w.string(obj.httpUrl)
        }

        if ((obj.beat != null && obj.beat !== 0n)) {
          w.uint32(64)
          w.uint64(obj.beat)
        }

        if ((obj.time != null && obj.time !== 0n)) {
          w.uint32(72)
          w.uint64(obj.time)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          node: '',
          incarnation: 0n,
          seq: 0n,
          gatewayAddrs: [],
          meshAddrs: [],
          httpUrl: '',
          beat: 0n,
          time: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.node = reader.string()
              break
            }
            case 2: {
              obj.incarnation = reader.uint64()
              break
            }
            case 3: {
              obj.seq = reader.uint64()
              break
            }
            case 4: {
              obj.load = LoadMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.load
              })
              break
            }
            case 5: {
              if (opts.limits?.gatewayAddrs != null && obj.gatewayAddrs.length === opts.limits.gatewayAddrs) {
                throw new MaxLengthError('Decode error - repeated field "gatewayAddrs" had too many elements')
              }

              if (obj.gatewayAddrs.length === 16) {
                throw new MaxLengthError('Decode error - repeated field "gatewayAddrs" had too many elements')
              }

              obj.gatewayAddrs.push(reader.string())
              break
            }
            case 6: {
              if (opts.limits?.meshAddrs != null && obj.meshAddrs.length === opts.limits.meshAddrs) {
                throw new MaxLengthError('Decode error - repeated field "meshAddrs" had too many elements')
              }

              if (obj.meshAddrs.length === 16) {
                throw new MaxLengthError('Decode error - repeated field "meshAddrs" had too many elements')
              }

              obj.meshAddrs.push(reader.string())
              break
            }
            case 7: {
              obj.httpUrl = reader.string()
              break
            }
            case 8: {
              obj.beat = reader.uint64()
              break
            }
            case 9: {
              obj.time = reader.uint64()
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
        const obj = {
          gatewayAddrs: 16,
          meshAddrs: 16
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.node`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.incarnation`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield * LoadMsg.codec().stream(reader, reader.uint32(), `${prefix}.load`, {
                limits: opts.limits?.load
              })

              break
            }
            case 5: {
              if (opts.limits?.gatewayAddrs != null && obj.gatewayAddrs === opts.limits.gatewayAddrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "gatewayAddrs" had too many elements')
              }

              if (obj.gatewayAddrs === 16) {
                throw new MaxLengthError('Streaming decode error - repeated field "gatewayAddrs" had too many elements')
              }

              yield {
                field: `${prefix}.gatewayAddrs[]`,
                index: obj.gatewayAddrs,
                value: reader.string()
              }

              obj.gatewayAddrs++

              break
            }
            case 6: {
              if (opts.limits?.meshAddrs != null && obj.meshAddrs === opts.limits.meshAddrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "meshAddrs" had too many elements')
              }

              if (obj.meshAddrs === 16) {
                throw new MaxLengthError('Streaming decode error - repeated field "meshAddrs" had too many elements')
              }

              yield {
                field: `${prefix}.meshAddrs[]`,
                index: obj.meshAddrs,
                value: reader.string()
              }

              obj.meshAddrs++

              break
            }
            case 7: {
              yield {
                field: `${prefix}.httpUrl`,
                value: reader.string()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.beat`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.time`,
                value: reader.uint64()
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

  export interface HeartbeatMsgNodeFieldEvent {
    field: '$.node'
    value: string
  }

  export interface HeartbeatMsgIncarnationFieldEvent {
    field: '$.incarnation'
    value: bigint
  }

  export interface HeartbeatMsgSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface HeartbeatMsgLoadClientsFieldEvent {
    field: '$.load.clients'
    value: number
  }

  export interface HeartbeatMsgLoadRoomsFieldEvent {
    field: '$.load.rooms'
    value: number
  }

  export interface HeartbeatMsgLoadMaxClientsFieldEvent {
    field: '$.load.maxClients'
    value: number
  }

  export interface HeartbeatMsgGatewayAddrsFieldEvent {
    field: '$.gatewayAddrs[]'
    index: number
    value: string
  }

  export interface HeartbeatMsgMeshAddrsFieldEvent {
    field: '$.meshAddrs[]'
    index: number
    value: string
  }

  export interface HeartbeatMsgHttpUrlFieldEvent {
    field: '$.httpUrl'
    value: string
  }

  export interface HeartbeatMsgBeatFieldEvent {
    field: '$.beat'
    value: bigint
  }

  export interface HeartbeatMsgTimeFieldEvent {
    field: '$.time'
    value: bigint
  }

  export function encode (obj: Partial<HeartbeatMsg>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HeartbeatMsg.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HeartbeatMsg>): HeartbeatMsg {
    return decodeMessage(buf, HeartbeatMsg.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HeartbeatMsg>): Generator<HeartbeatMsgNodeFieldEvent | HeartbeatMsgIncarnationFieldEvent | HeartbeatMsgSeqFieldEvent | HeartbeatMsgLoadClientsFieldEvent | HeartbeatMsgLoadRoomsFieldEvent | HeartbeatMsgLoadMaxClientsFieldEvent | HeartbeatMsgGatewayAddrsFieldEvent | HeartbeatMsgMeshAddrsFieldEvent | HeartbeatMsgHttpUrlFieldEvent | HeartbeatMsgBeatFieldEvent | HeartbeatMsgTimeFieldEvent> {
    return streamMessage(buf, HeartbeatMsg.codec(), opts)
  }
}

export interface GoodbyeMsg {
  node: string
  incarnation: bigint
}

export namespace GoodbyeMsg {
  let _codec: Codec<GoodbyeMsg>

  export const codec = (): Codec<GoodbyeMsg> => {
    if (_codec == null) {
      _codec = message<GoodbyeMsg>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.node != null && obj.node !== '')) {
          w.uint32(10)
          w.string(obj.node)
        }

        if ((obj.incarnation != null && obj.incarnation !== 0n)) {
          w.uint32(16)
          w.uint64(obj.incarnation)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          node: '',
          incarnation: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.node = reader.string()
              break
            }
            case 2: {
              obj.incarnation = reader.uint64()
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
                field: `${prefix}.node`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.incarnation`,
                value: reader.uint64()
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

  export interface GoodbyeMsgNodeFieldEvent {
    field: '$.node'
    value: string
  }

  export interface GoodbyeMsgIncarnationFieldEvent {
    field: '$.incarnation'
    value: bigint
  }

  export function encode (obj: Partial<GoodbyeMsg>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, GoodbyeMsg.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GoodbyeMsg>): GoodbyeMsg {
    return decodeMessage(buf, GoodbyeMsg.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GoodbyeMsg>): Generator<GoodbyeMsgNodeFieldEvent | GoodbyeMsgIncarnationFieldEvent> {
    return streamMessage(buf, GoodbyeMsg.codec(), opts)
  }
}

export interface PresenceFullMsg {
  node: string
  incarnation: bigint
  seq: bigint
  entries: PresenceEntryMsg[]
}

export namespace PresenceFullMsg {
  let _codec: Codec<PresenceFullMsg>

  export const codec = (): Codec<PresenceFullMsg> => {
    if (_codec == null) {
      _codec = message<PresenceFullMsg>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.node != null && obj.node !== '')) {
          w.uint32(10)
          w.string(obj.node)
        }

        if ((obj.incarnation != null && obj.incarnation !== 0n)) {
          w.uint32(16)
          w.uint64(obj.incarnation)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(24)
          w.uint64(obj.seq)
        }

        if (obj.entries != null && obj.entries.length > 0) {
          for (const value of obj.entries) {
            w.uint32(34)
            PresenceEntryMsg.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          node: '',
          incarnation: 0n,
          seq: 0n,
          entries: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.node = reader.string()
              break
            }
            case 2: {
              obj.incarnation = reader.uint64()
              break
            }
            case 3: {
              obj.seq = reader.uint64()
              break
            }
            case 4: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              if (obj.entries.length === 250000) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              obj.entries.push(PresenceEntryMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.entries$
              }))
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
        const obj = {
          entries: 250000
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.node`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.incarnation`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              if (opts.limits?.entries != null && obj.entries === opts.limits.entries) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              if (obj.entries === 250000) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              for (const evt of PresenceEntryMsg.codec().stream(reader, reader.uint32(), `${prefix}.entries[]`, {
                limits: opts.limits?.entries$
              })) {
                yield {
                  ...evt,
                  index: obj.entries
                }
              }

              obj.entries++

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

  export interface PresenceFullMsgNodeFieldEvent {
    field: '$.node'
    value: string
  }

  export interface PresenceFullMsgIncarnationFieldEvent {
    field: '$.incarnation'
    value: bigint
  }

  export interface PresenceFullMsgSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface PresenceFullMsgEntriesUserIdFieldEvent {
    field: '$.entries[].userId'
    value: string
    index: number
  }

  export interface PresenceFullMsgEntriesDeviceIdFieldEvent {
    field: '$.entries[].deviceId'
    value: string
    index: number
  }

  export interface PresenceFullMsgEntriesNameFieldEvent {
    field: '$.entries[].name'
    value: string
    index: number
  }

  export interface PresenceFullMsgEntriesStatusFieldEvent {
    field: '$.entries[].status'
    value: string
    index: number
  }

  export interface PresenceFullMsgEntriesRoomsFieldEvent {
    field: '$.entries[].rooms[]'
    index: number
    value: string
  }

  export interface PresenceFullMsgEntriesSinceFieldEvent {
    field: '$.entries[].since'
    value: bigint
    index: number
  }

  export function encode (obj: Partial<PresenceFullMsg>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PresenceFullMsg.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceFullMsg>): PresenceFullMsg {
    return decodeMessage(buf, PresenceFullMsg.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceFullMsg>): Generator<PresenceFullMsgNodeFieldEvent | PresenceFullMsgIncarnationFieldEvent | PresenceFullMsgSeqFieldEvent | PresenceFullMsgEntriesUserIdFieldEvent | PresenceFullMsgEntriesDeviceIdFieldEvent | PresenceFullMsgEntriesNameFieldEvent | PresenceFullMsgEntriesStatusFieldEvent | PresenceFullMsgEntriesRoomsFieldEvent | PresenceFullMsgEntriesSinceFieldEvent> {
    return streamMessage(buf, PresenceFullMsg.codec(), opts)
  }
}

export interface SyncRequest {
  presence?: PresencePull
  history?: HistoryPull
  mailbox?: MailboxPull
  mailboxDelete?: MailboxDelete
  mailboxPut?: MailboxPut
  store?: StoreEvent
  archive?: ArchiveOffer
}

export namespace SyncRequest {
  let _codec: Codec<SyncRequest>

  export const codec = (): Codec<SyncRequest> => {
    if (_codec == null) {
      _codec = message<SyncRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        obj = { ...obj }

        if (obj.archive != null) {
          obj.store = undefined
          obj.mailboxPut = undefined
          obj.mailboxDelete = undefined
          obj.mailbox = undefined
          obj.history = undefined
          obj.presence = undefined
        }

        if (obj.store != null) {
          obj.archive = undefined
          obj.mailboxPut = undefined
          obj.mailboxDelete = undefined
          obj.mailbox = undefined
          obj.history = undefined
          obj.presence = undefined
        }

        if (obj.mailboxPut != null) {
          obj.archive = undefined
          obj.store = undefined
          obj.mailboxDelete = undefined
          obj.mailbox = undefined
          obj.history = undefined
          obj.presence = undefined
        }

        if (obj.mailboxDelete != null) {
          obj.archive = undefined
          obj.store = undefined
          obj.mailboxPut = undefined
          obj.mailbox = undefined
          obj.history = undefined
          obj.presence = undefined
        }

        if (obj.mailbox != null) {
          obj.archive = undefined
          obj.store = undefined
          obj.mailboxPut = undefined
          obj.mailboxDelete = undefined
          obj.history = undefined
          obj.presence = undefined
        }

        if (obj.history != null) {
          obj.archive = undefined
          obj.store = undefined
          obj.mailboxPut = undefined
          obj.mailboxDelete = undefined
          obj.mailbox = undefined
          obj.presence = undefined
        }

        if (obj.presence != null) {
          obj.archive = undefined
          obj.store = undefined
          obj.mailboxPut = undefined
          obj.mailboxDelete = undefined
          obj.mailbox = undefined
          obj.history = undefined
        }

        if (obj.presence != null) {
          w.uint32(10)
          PresencePull.codec().encode(obj.presence, w)
        }

        if (obj.history != null) {
          w.uint32(18)
          HistoryPull.codec().encode(obj.history, w)
        }

        if (obj.mailbox != null) {
          w.uint32(26)
          MailboxPull.codec().encode(obj.mailbox, w)
        }

        if (obj.mailboxDelete != null) {
          w.uint32(34)
          MailboxDelete.codec().encode(obj.mailboxDelete, w)
        }

        if (obj.mailboxPut != null) {
          w.uint32(42)
          MailboxPut.codec().encode(obj.mailboxPut, w)
        }

        if (obj.store != null) {
          w.uint32(50)
          StoreEvent.codec().encode(obj.store, w)
        }

        if (obj.archive != null) {
          w.uint32(58)
          ArchiveOffer.codec().encode(obj.archive, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.presence = PresencePull.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.presence
              })
              break
            }
            case 2: {
              obj.history = HistoryPull.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.history
              })
              break
            }
            case 3: {
              obj.mailbox = MailboxPull.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.mailbox
              })
              break
            }
            case 4: {
              obj.mailboxDelete = MailboxDelete.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.mailboxDelete
              })
              break
            }
            case 5: {
              obj.mailboxPut = MailboxPut.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.mailboxPut
              })
              break
            }
            case 6: {
              obj.store = StoreEvent.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.store
              })
              break
            }
            case 7: {
              obj.archive = ArchiveOffer.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.archive
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        if (obj.archive != null) {
          delete obj.store
          delete obj.mailboxPut
          delete obj.mailboxDelete
          delete obj.mailbox
          delete obj.history
          delete obj.presence
        }

        if (obj.store != null) {
          delete obj.archive
          delete obj.mailboxPut
          delete obj.mailboxDelete
          delete obj.mailbox
          delete obj.history
          delete obj.presence
        }

        if (obj.mailboxPut != null) {
          delete obj.archive
          delete obj.store
          delete obj.mailboxDelete
          delete obj.mailbox
          delete obj.history
          delete obj.presence
        }

        if (obj.mailboxDelete != null) {
          delete obj.archive
          delete obj.store
          delete obj.mailboxPut
          delete obj.mailbox
          delete obj.history
          delete obj.presence
        }

        if (obj.mailbox != null) {
          delete obj.archive
          delete obj.store
          delete obj.mailboxPut
          delete obj.mailboxDelete
          delete obj.history
          delete obj.presence
        }

        if (obj.history != null) {
          delete obj.archive
          delete obj.store
          delete obj.mailboxPut
          delete obj.mailboxDelete
          delete obj.mailbox
          delete obj.presence
        }

        if (obj.presence != null) {
          delete obj.archive
          delete obj.store
          delete obj.mailboxPut
          delete obj.mailboxDelete
          delete obj.mailbox
          delete obj.history
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * PresencePull.codec().stream(reader, reader.uint32(), `${prefix}.presence`, {
                limits: opts.limits?.presence
              })

              break
            }
            case 2: {
              yield * HistoryPull.codec().stream(reader, reader.uint32(), `${prefix}.history`, {
                limits: opts.limits?.history
              })

              break
            }
            case 3: {
              yield * MailboxPull.codec().stream(reader, reader.uint32(), `${prefix}.mailbox`, {
                limits: opts.limits?.mailbox
              })

              break
            }
            case 4: {
              yield * MailboxDelete.codec().stream(reader, reader.uint32(), `${prefix}.mailboxDelete`, {
                limits: opts.limits?.mailboxDelete
              })

              break
            }
            case 5: {
              yield * MailboxPut.codec().stream(reader, reader.uint32(), `${prefix}.mailboxPut`, {
                limits: opts.limits?.mailboxPut
              })

              break
            }
            case 6: {
              yield * StoreEvent.codec().stream(reader, reader.uint32(), `${prefix}.store`, {
                limits: opts.limits?.store
              })

              break
            }
            case 7: {
              yield * ArchiveOffer.codec().stream(reader, reader.uint32(), `${prefix}.archive`, {
                limits: opts.limits?.archive
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

  export interface SyncRequestPresenceNodeFieldEvent {
    field: '$.presence.node'
    value: string
  }

  export interface SyncRequestHistoryRoomFieldEvent {
    field: '$.history.room'
    value: string
  }

  export interface SyncRequestHistoryBeforeHlcFieldEvent {
    field: '$.history.before.hlc'
    value: bigint
  }

  export interface SyncRequestHistoryBeforeIdFieldEvent {
    field: '$.history.before.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncRequestHistoryAfterHlcFieldEvent {
    field: '$.history.after.hlc'
    value: bigint
  }

  export interface SyncRequestHistoryAfterIdFieldEvent {
    field: '$.history.after.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncRequestHistoryLimitFieldEvent {
    field: '$.history.limit'
    value: number
  }

  export interface SyncRequestMailboxUserFieldEvent {
    field: '$.mailbox.user'
    value: string
  }

  export interface SyncRequestMailboxLimitFieldEvent {
    field: '$.mailbox.limit'
    value: number
  }

  export interface SyncRequestMailboxDeleteUserFieldEvent {
    field: '$.mailboxDelete.user'
    value: string
  }

  export interface SyncRequestMailboxDeleteIdsFieldEvent {
    field: '$.mailboxDelete.ids[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncRequestMailboxPutUserFieldEvent {
    field: '$.mailboxPut.user'
    value: string
  }

  export interface SyncRequestMailboxPutEventsEventFieldEvent {
    field: '$.mailboxPut.events[].event'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SyncRequestMailboxPutEventsHlcFieldEvent {
    field: '$.mailboxPut.events[].hlc'
    value: bigint
    index: number
  }

  export interface SyncRequestMailboxPutEventsOriginFieldEvent {
    field: '$.mailboxPut.events[].origin'
    value: string
    index: number
  }

  export interface SyncRequestStoreRoomFieldEvent {
    field: '$.store.room'
    value: string
  }

  export interface SyncRequestStoreEventEventFieldEvent {
    field: '$.store.event.event'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncRequestStoreEventHlcFieldEvent {
    field: '$.store.event.hlc'
    value: bigint
  }

  export interface SyncRequestStoreEventOriginFieldEvent {
    field: '$.store.event.origin'
    value: string
  }

  export interface SyncRequestArchiveRoomsFieldEvent {
    field: '$.archive.rooms[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<SyncRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncRequest>): SyncRequest {
    return decodeMessage(buf, SyncRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncRequest>): Generator<SyncRequestPresenceNodeFieldEvent | SyncRequestHistoryRoomFieldEvent | SyncRequestHistoryBeforeHlcFieldEvent | SyncRequestHistoryBeforeIdFieldEvent | SyncRequestHistoryAfterHlcFieldEvent | SyncRequestHistoryAfterIdFieldEvent | SyncRequestHistoryLimitFieldEvent | SyncRequestMailboxUserFieldEvent | SyncRequestMailboxLimitFieldEvent | SyncRequestMailboxDeleteUserFieldEvent | SyncRequestMailboxDeleteIdsFieldEvent | SyncRequestMailboxPutUserFieldEvent | SyncRequestMailboxPutEventsEventFieldEvent | SyncRequestMailboxPutEventsHlcFieldEvent | SyncRequestMailboxPutEventsOriginFieldEvent | SyncRequestStoreRoomFieldEvent | SyncRequestStoreEventEventFieldEvent | SyncRequestStoreEventHlcFieldEvent | SyncRequestStoreEventOriginFieldEvent | SyncRequestArchiveRoomsFieldEvent> {
    return streamMessage(buf, SyncRequest.codec(), opts)
  }
}

export interface SyncResponse {
  presence?: PresenceFullMsg
  history?: HistoryChunk
  mailbox?: MailboxChunk
  ok?: SyncOk
  error?: SyncError
}

export namespace SyncResponse {
  let _codec: Codec<SyncResponse>

  export const codec = (): Codec<SyncResponse> => {
    if (_codec == null) {
      _codec = message<SyncResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        obj = { ...obj }

        if (obj.error != null) {
          obj.ok = undefined
          obj.mailbox = undefined
          obj.history = undefined
          obj.presence = undefined
        }

        if (obj.ok != null) {
          obj.error = undefined
          obj.mailbox = undefined
          obj.history = undefined
          obj.presence = undefined
        }

        if (obj.mailbox != null) {
          obj.error = undefined
          obj.ok = undefined
          obj.history = undefined
          obj.presence = undefined
        }

        if (obj.history != null) {
          obj.error = undefined
          obj.ok = undefined
          obj.mailbox = undefined
          obj.presence = undefined
        }

        if (obj.presence != null) {
          obj.error = undefined
          obj.ok = undefined
          obj.mailbox = undefined
          obj.history = undefined
        }

        if (obj.presence != null) {
          w.uint32(10)
          PresenceFullMsg.codec().encode(obj.presence, w)
        }

        if (obj.history != null) {
          w.uint32(18)
          HistoryChunk.codec().encode(obj.history, w)
        }

        if (obj.mailbox != null) {
          w.uint32(26)
          MailboxChunk.codec().encode(obj.mailbox, w)
        }

        if (obj.ok != null) {
          w.uint32(34)
          SyncOk.codec().encode(obj.ok, w)
        }

        if (obj.error != null) {
          w.uint32(42)
          SyncError.codec().encode(obj.error, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.presence = PresenceFullMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.presence
              })
              break
            }
            case 2: {
              obj.history = HistoryChunk.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.history
              })
              break
            }
            case 3: {
              obj.mailbox = MailboxChunk.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.mailbox
              })
              break
            }
            case 4: {
              obj.ok = SyncOk.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ok
              })
              break
            }
            case 5: {
              obj.error = SyncError.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.error
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        if (obj.error != null) {
          delete obj.ok
          delete obj.mailbox
          delete obj.history
          delete obj.presence
        }

        if (obj.ok != null) {
          delete obj.error
          delete obj.mailbox
          delete obj.history
          delete obj.presence
        }

        if (obj.mailbox != null) {
          delete obj.error
          delete obj.ok
          delete obj.history
          delete obj.presence
        }

        if (obj.history != null) {
          delete obj.error
          delete obj.ok
          delete obj.mailbox
          delete obj.presence
        }

        if (obj.presence != null) {
          delete obj.error
          delete obj.ok
          delete obj.mailbox
          delete obj.history
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * PresenceFullMsg.codec().stream(reader, reader.uint32(), `${prefix}.presence`, {
                limits: opts.limits?.presence
              })

              break
            }
            case 2: {
              yield * HistoryChunk.codec().stream(reader, reader.uint32(), `${prefix}.history`, {
                limits: opts.limits?.history
              })

              break
            }
            case 3: {
              yield * MailboxChunk.codec().stream(reader, reader.uint32(), `${prefix}.mailbox`, {
                limits: opts.limits?.mailbox
              })

              break
            }
            case 4: {
              yield * SyncOk.codec().stream(reader, reader.uint32(), `${prefix}.ok`, {
                limits: opts.limits?.ok
              })

              break
            }
            case 5: {
              yield * SyncError.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                limits: opts.limits?.error
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

  export interface SyncResponsePresenceNodeFieldEvent {
    field: '$.presence.node'
    value: string
  }

  export interface SyncResponsePresenceIncarnationFieldEvent {
    field: '$.presence.incarnation'
    value: bigint
  }

  export interface SyncResponsePresenceSeqFieldEvent {
    field: '$.presence.seq'
    value: bigint
  }

  export interface SyncResponsePresenceEntriesUserIdFieldEvent {
    field: '$.presence.entries[].userId'
    value: string
    index: number
  }

  export interface SyncResponsePresenceEntriesDeviceIdFieldEvent {
    field: '$.presence.entries[].deviceId'
    value: string
    index: number
  }

  export interface SyncResponsePresenceEntriesNameFieldEvent {
    field: '$.presence.entries[].name'
    value: string
    index: number
  }

  export interface SyncResponsePresenceEntriesStatusFieldEvent {
    field: '$.presence.entries[].status'
    value: string
    index: number
  }

  export interface SyncResponsePresenceEntriesRoomsFieldEvent {
    field: '$.presence.entries[].rooms[]'
    index: number
    value: string
  }

  export interface SyncResponsePresenceEntriesSinceFieldEvent {
    field: '$.presence.entries[].since'
    value: bigint
    index: number
  }

  export interface SyncResponseHistoryEventsEventFieldEvent {
    field: '$.history.events[].event'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SyncResponseHistoryEventsHlcFieldEvent {
    field: '$.history.events[].hlc'
    value: bigint
    index: number
  }

  export interface SyncResponseHistoryEventsOriginFieldEvent {
    field: '$.history.events[].origin'
    value: string
    index: number
  }

  export interface SyncResponseHistoryMoreFieldEvent {
    field: '$.history.more'
    value: boolean
  }

  export interface SyncResponseMailboxEventsEventFieldEvent {
    field: '$.mailbox.events[].event'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SyncResponseMailboxEventsHlcFieldEvent {
    field: '$.mailbox.events[].hlc'
    value: bigint
    index: number
  }

  export interface SyncResponseMailboxEventsOriginFieldEvent {
    field: '$.mailbox.events[].origin'
    value: string
    index: number
  }

  export interface SyncResponseMailboxMoreFieldEvent {
    field: '$.mailbox.more'
    value: boolean
  }

  export interface SyncResponseOkCountFieldEvent {
    field: '$.ok.count'
    value: number
  }

  export interface SyncResponseErrorCodeFieldEvent {
    field: '$.error.code'
    value: number
  }

  export interface SyncResponseErrorMessageFieldEvent {
    field: '$.error.message'
    value: string
  }

  export function encode (obj: Partial<SyncResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncResponse>): SyncResponse {
    return decodeMessage(buf, SyncResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncResponse>): Generator<SyncResponsePresenceNodeFieldEvent | SyncResponsePresenceIncarnationFieldEvent | SyncResponsePresenceSeqFieldEvent | SyncResponsePresenceEntriesUserIdFieldEvent | SyncResponsePresenceEntriesDeviceIdFieldEvent | SyncResponsePresenceEntriesNameFieldEvent | SyncResponsePresenceEntriesStatusFieldEvent | SyncResponsePresenceEntriesRoomsFieldEvent | SyncResponsePresenceEntriesSinceFieldEvent | SyncResponseHistoryEventsEventFieldEvent | SyncResponseHistoryEventsHlcFieldEvent | SyncResponseHistoryEventsOriginFieldEvent | SyncResponseHistoryMoreFieldEvent | SyncResponseMailboxEventsEventFieldEvent | SyncResponseMailboxEventsHlcFieldEvent | SyncResponseMailboxEventsOriginFieldEvent | SyncResponseMailboxMoreFieldEvent | SyncResponseOkCountFieldEvent | SyncResponseErrorCodeFieldEvent | SyncResponseErrorMessageFieldEvent> {
    return streamMessage(buf, SyncResponse.codec(), opts)
  }
}

export interface PresencePull {
  node: string
}

export namespace PresencePull {
  let _codec: Codec<PresencePull>

  export const codec = (): Codec<PresencePull> => {
    if (_codec == null) {
      _codec = message<PresencePull>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.node != null && obj.node !== '')) {
          w.uint32(10)
          w.string(obj.node)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          node: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.node = reader.string()
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
                field: `${prefix}.node`,
                value: reader.string()
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

  export interface PresencePullNodeFieldEvent {
    field: '$.node'
    value: string
  }

  export function encode (obj: Partial<PresencePull>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PresencePull.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresencePull>): PresencePull {
    return decodeMessage(buf, PresencePull.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresencePull>): Generator<PresencePullNodeFieldEvent> {
    return streamMessage(buf, PresencePull.codec(), opts)
  }
}

export interface StoredEvent {
  event: Uint8Array<ArrayBuffer>
  hlc: bigint
  origin: string
}

export namespace StoredEvent {
  let _codec: Codec<StoredEvent>

  export const codec = (): Codec<StoredEvent> => {
    if (_codec == null) {
      _codec = message<StoredEvent>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.event != null && obj.event.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.event)
        }

        if ((obj.hlc != null && obj.hlc !== 0n)) {
          w.uint32(16)
          w.uint64(obj.hlc)
        }

        if ((obj.origin != null && obj.origin !== '')) {
          w.uint32(26)
          w.string(obj.origin)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          event: uint8ArrayAlloc(0),
          hlc: 0n,
          origin: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.event = reader.bytes()
              break
            }
            case 2: {
              obj.hlc = reader.uint64()
              break
            }
            case 3: {
              obj.origin = reader.string()
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
                field: `${prefix}.event`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.hlc`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.origin`,
                value: reader.string()
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

  export interface StoredEventEventFieldEvent {
    field: '$.event'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoredEventHlcFieldEvent {
    field: '$.hlc'
    value: bigint
  }

  export interface StoredEventOriginFieldEvent {
    field: '$.origin'
    value: string
  }

  export function encode (obj: Partial<StoredEvent>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, StoredEvent.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StoredEvent>): StoredEvent {
    return decodeMessage(buf, StoredEvent.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StoredEvent>): Generator<StoredEventEventFieldEvent | StoredEventHlcFieldEvent | StoredEventOriginFieldEvent> {
    return streamMessage(buf, StoredEvent.codec(), opts)
  }
}

export interface CursorMsg {
  hlc: bigint
  id: Uint8Array<ArrayBuffer>
}

export namespace CursorMsg {
  let _codec: Codec<CursorMsg>

  export const codec = (): Codec<CursorMsg> => {
    if (_codec == null) {
      _codec = message<CursorMsg>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.hlc != null && obj.hlc !== 0n)) {
          w.uint32(8)
          w.uint64(obj.hlc)
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.id)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          hlc: 0n,
          id: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.hlc = reader.uint64()
              break
            }
            case 2: {
              obj.id = reader.bytes()
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
                field: `${prefix}.hlc`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.id`,
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

  export interface CursorMsgHlcFieldEvent {
    field: '$.hlc'
    value: bigint
  }

  export interface CursorMsgIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<CursorMsg>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CursorMsg.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CursorMsg>): CursorMsg {
    return decodeMessage(buf, CursorMsg.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CursorMsg>): Generator<CursorMsgHlcFieldEvent | CursorMsgIdFieldEvent> {
    return streamMessage(buf, CursorMsg.codec(), opts)
  }
}

export interface HistoryPull {
  room: string
  before?: CursorMsg
  after?: CursorMsg
  limit: number
}

export namespace HistoryPull {
  let _codec: Codec<HistoryPull>

  export const codec = (): Codec<HistoryPull> => {
    if (_codec == null) {
      _codec = message<HistoryPull>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(10)
          w.string(obj.room)
        }

        if (obj.before != null) {
          w.uint32(18)
          CursorMsg.codec().encode(obj.before, w)
        }

        if (obj.after != null) {
          w.uint32(26)
          CursorMsg.codec().encode(obj.after, w)
        }

        if ((obj.limit != null && obj.limit !== 0)) {
          w.uint32(32)
          w.uint32(obj.limit)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          room: '',
          limit: 0
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
              obj.before = CursorMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.before
              })
              break
            }
            case 3: {
              obj.after = CursorMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.after
              })
              break
            }
            case 4: {
              obj.limit = reader.uint32()
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
              yield * CursorMsg.codec().stream(reader, reader.uint32(), `${prefix}.before`, {
                limits: opts.limits?.before
              })

              break
            }
            case 3: {
              yield * CursorMsg.codec().stream(reader, reader.uint32(), `${prefix}.after`, {
                limits: opts.limits?.after
              })

              break
            }
            case 4: {
              yield {
                field: `${prefix}.limit`,
                value: reader.uint32()
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

  export interface HistoryPullRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export interface HistoryPullBeforeHlcFieldEvent {
    field: '$.before.hlc'
    value: bigint
  }

  export interface HistoryPullBeforeIdFieldEvent {
    field: '$.before.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HistoryPullAfterHlcFieldEvent {
    field: '$.after.hlc'
    value: bigint
  }

  export interface HistoryPullAfterIdFieldEvent {
    field: '$.after.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HistoryPullLimitFieldEvent {
    field: '$.limit'
    value: number
  }

  export function encode (obj: Partial<HistoryPull>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HistoryPull.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HistoryPull>): HistoryPull {
    return decodeMessage(buf, HistoryPull.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HistoryPull>): Generator<HistoryPullRoomFieldEvent | HistoryPullBeforeHlcFieldEvent | HistoryPullBeforeIdFieldEvent | HistoryPullAfterHlcFieldEvent | HistoryPullAfterIdFieldEvent | HistoryPullLimitFieldEvent> {
    return streamMessage(buf, HistoryPull.codec(), opts)
  }
}

export interface StoreEvent {
  room: string
  event?: StoredEvent
}

export namespace StoreEvent {
  let _codec: Codec<StoreEvent>

  export const codec = (): Codec<StoreEvent> => {
    if (_codec == null) {
      _codec = message<StoreEvent>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(10)
          w.string(obj.room)
        }

        if (obj.event != null) {
          w.uint32(18)
          StoredEvent.codec().encode(obj.event, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          room: ''
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
              obj.event = StoredEvent.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.event
              })
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
              yield * StoredEvent.codec().stream(reader, reader.uint32(), `${prefix}.event`, {
                limits: opts.limits?.event
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

  export interface StoreEventRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export interface StoreEventEventEventFieldEvent {
    field: '$.event.event'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreEventEventHlcFieldEvent {
    field: '$.event.hlc'
    value: bigint
  }

  export interface StoreEventEventOriginFieldEvent {
    field: '$.event.origin'
    value: string
  }

  export function encode (obj: Partial<StoreEvent>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, StoreEvent.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StoreEvent>): StoreEvent {
    return decodeMessage(buf, StoreEvent.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StoreEvent>): Generator<StoreEventRoomFieldEvent | StoreEventEventEventFieldEvent | StoreEventEventHlcFieldEvent | StoreEventEventOriginFieldEvent> {
    return streamMessage(buf, StoreEvent.codec(), opts)
  }
}

export interface ArchiveOffer {
  rooms: string[]
}

export namespace ArchiveOffer {
  let _codec: Codec<ArchiveOffer>

  export const codec = (): Codec<ArchiveOffer> => {
    if (_codec == null) {
      _codec = message<ArchiveOffer>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.rooms != null && obj.rooms.length > 0) {
          for (const value of obj.rooms) {
            w.uint32(10)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          rooms: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.rooms != null && obj.rooms.length === opts.limits.rooms) {
                throw new MaxLengthError('Decode error - repeated field "rooms" had too many elements')
              }

              if (obj.rooms.length === 10000) {
                throw new MaxLengthError('Decode error - repeated field "rooms" had too many elements')
              }

              obj.rooms.push(reader.string())
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
        const obj = {
          rooms: 10000
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.rooms != null && obj.rooms === opts.limits.rooms) {
                throw new MaxLengthError('Streaming decode error - repeated field "rooms" had too many elements')
              }

              if (obj.rooms === 10000) {
                throw new MaxLengthError('Streaming decode error - repeated field "rooms" had too many elements')
              }

              yield {
                field: `${prefix}.rooms[]`,
                index: obj.rooms,
                value: reader.string()
              }

              obj.rooms++

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

  export interface ArchiveOfferRoomsFieldEvent {
    field: '$.rooms[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<ArchiveOffer>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ArchiveOffer.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ArchiveOffer>): ArchiveOffer {
    return decodeMessage(buf, ArchiveOffer.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ArchiveOffer>): Generator<ArchiveOfferRoomsFieldEvent> {
    return streamMessage(buf, ArchiveOffer.codec(), opts)
  }
}

export interface HistoryChunk {
  events: StoredEvent[]
  more: boolean
}

export namespace HistoryChunk {
  let _codec: Codec<HistoryChunk>

  export const codec = (): Codec<HistoryChunk> => {
    if (_codec == null) {
      _codec = message<HistoryChunk>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.events != null && obj.events.length > 0) {
          for (const value of obj.events) {
            w.uint32(10)
            StoredEvent.codec().encode(value, w)
          }
        }

        if ((obj.more != null && obj.more !== false)) {
          w.uint32(16)
          w.bool(obj.more)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          events: [],
          more: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.events != null && obj.events.length === opts.limits.events) {
                throw new MaxLengthError('Decode error - repeated field "events" had too many elements')
              }

              if (obj.events.length === 1000) {
                throw new MaxLengthError('Decode error - repeated field "events" had too many elements')
              }

              obj.events.push(StoredEvent.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.events$
              }))
              break
            }
            case 2: {
              obj.more = reader.bool()
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
        const obj = {
          events: 1000
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.events != null && obj.events === opts.limits.events) {
                throw new MaxLengthError('Streaming decode error - repeated field "events" had too many elements')
              }

              if (obj.events === 1000) {
                throw new MaxLengthError('Streaming decode error - repeated field "events" had too many elements')
              }

              for (const evt of StoredEvent.codec().stream(reader, reader.uint32(), `${prefix}.events[]`, {
                limits: opts.limits?.events$
              })) {
                yield {
                  ...evt,
                  index: obj.events
                }
              }

              obj.events++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.more`,
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

  export interface HistoryChunkEventsEventFieldEvent {
    field: '$.events[].event'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface HistoryChunkEventsHlcFieldEvent {
    field: '$.events[].hlc'
    value: bigint
    index: number
  }

  export interface HistoryChunkEventsOriginFieldEvent {
    field: '$.events[].origin'
    value: string
    index: number
  }

  export interface HistoryChunkMoreFieldEvent {
    field: '$.more'
    value: boolean
  }

  export function encode (obj: Partial<HistoryChunk>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HistoryChunk.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HistoryChunk>): HistoryChunk {
    return decodeMessage(buf, HistoryChunk.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HistoryChunk>): Generator<HistoryChunkEventsEventFieldEvent | HistoryChunkEventsHlcFieldEvent | HistoryChunkEventsOriginFieldEvent | HistoryChunkMoreFieldEvent> {
    return streamMessage(buf, HistoryChunk.codec(), opts)
  }
}

export interface MailboxPull {
  user: string
  limit: number
}

export namespace MailboxPull {
  let _codec: Codec<MailboxPull>

  export const codec = (): Codec<MailboxPull> => {
    if (_codec == null) {
      _codec = message<MailboxPull>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.user != null && obj.user !== '')) {
          w.uint32(10)
          w.string(obj.user)
        }

        if ((obj.limit != null && obj.limit !== 0)) {
          w.uint32(16)
          w.uint32(obj.limit)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          user: '',
          limit: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.user = reader.string()
              break
            }
            case 2: {
              obj.limit = reader.uint32()
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
                field: `${prefix}.user`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.limit`,
                value: reader.uint32()
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

  export interface MailboxPullUserFieldEvent {
    field: '$.user'
    value: string
  }

  export interface MailboxPullLimitFieldEvent {
    field: '$.limit'
    value: number
  }

  export function encode (obj: Partial<MailboxPull>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MailboxPull.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MailboxPull>): MailboxPull {
    return decodeMessage(buf, MailboxPull.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MailboxPull>): Generator<MailboxPullUserFieldEvent | MailboxPullLimitFieldEvent> {
    return streamMessage(buf, MailboxPull.codec(), opts)
  }
}

export interface MailboxChunk {
  events: StoredEvent[]
  more: boolean
}

export namespace MailboxChunk {
  let _codec: Codec<MailboxChunk>

  export const codec = (): Codec<MailboxChunk> => {
    if (_codec == null) {
      _codec = message<MailboxChunk>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.events != null && obj.events.length > 0) {
          for (const value of obj.events) {
            w.uint32(10)
            StoredEvent.codec().encode(value, w)
          }
        }

        if ((obj.more != null && obj.more !== false)) {
          w.uint32(16)
          w.bool(obj.more)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          events: [],
          more: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.events != null && obj.events.length === opts.limits.events) {
                throw new MaxLengthError('Decode error - repeated field "events" had too many elements')
              }

              if (obj.events.length === 1000) {
                throw new MaxLengthError('Decode error - repeated field "events" had too many elements')
              }

              obj.events.push(StoredEvent.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.events$
              }))
              break
            }
            case 2: {
              obj.more = reader.bool()
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
        const obj = {
          events: 1000
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.events != null && obj.events === opts.limits.events) {
                throw new MaxLengthError('Streaming decode error - repeated field "events" had too many elements')
              }

              if (obj.events === 1000) {
                throw new MaxLengthError('Streaming decode error - repeated field "events" had too many elements')
              }

              for (const evt of StoredEvent.codec().stream(reader, reader.uint32(), `${prefix}.events[]`, {
                limits: opts.limits?.events$
              })) {
                yield {
                  ...evt,
                  index: obj.events
                }
              }

              obj.events++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.more`,
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

  export interface MailboxChunkEventsEventFieldEvent {
    field: '$.events[].event'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface MailboxChunkEventsHlcFieldEvent {
    field: '$.events[].hlc'
    value: bigint
    index: number
  }

  export interface MailboxChunkEventsOriginFieldEvent {
    field: '$.events[].origin'
    value: string
    index: number
  }

  export interface MailboxChunkMoreFieldEvent {
    field: '$.more'
    value: boolean
  }

  export function encode (obj: Partial<MailboxChunk>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MailboxChunk.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MailboxChunk>): MailboxChunk {
    return decodeMessage(buf, MailboxChunk.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MailboxChunk>): Generator<MailboxChunkEventsEventFieldEvent | MailboxChunkEventsHlcFieldEvent | MailboxChunkEventsOriginFieldEvent | MailboxChunkMoreFieldEvent> {
    return streamMessage(buf, MailboxChunk.codec(), opts)
  }
}

export interface MailboxDelete {
  user: string
  ids: Uint8Array<ArrayBuffer>[]
}

export namespace MailboxDelete {
  let _codec: Codec<MailboxDelete>

  export const codec = (): Codec<MailboxDelete> => {
    if (_codec == null) {
      _codec = message<MailboxDelete>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.user != null && obj.user !== '')) {
          w.uint32(10)
          w.string(obj.user)
        }

        if (obj.ids != null && obj.ids.length > 0) {
          for (const value of obj.ids) {
            w.uint32(18)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          user: '',
          ids: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.user = reader.string()
              break
            }
            case 2: {
              if (opts.limits?.ids != null && obj.ids.length === opts.limits.ids) {
                throw new MaxLengthError('Decode error - repeated field "ids" had too many elements')
              }

              if (obj.ids.length === 1000) {
                throw new MaxLengthError('Decode error - repeated field "ids" had too many elements')
              }

              obj.ids.push(reader.bytes())
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
        const obj = {
          ids: 1000
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.user`,
                value: reader.string()
              }
              break
            }
            case 2: {
              if (opts.limits?.ids != null && obj.ids === opts.limits.ids) {
                throw new MaxLengthError('Streaming decode error - repeated field "ids" had too many elements')
              }

              if (obj.ids === 1000) {
                throw new MaxLengthError('Streaming decode error - repeated field "ids" had too many elements')
              }

              yield {
                field: `${prefix}.ids[]`,
                index: obj.ids,
                value: reader.bytes()
              }

              obj.ids++

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

  export interface MailboxDeleteUserFieldEvent {
    field: '$.user'
    value: string
  }

  export interface MailboxDeleteIdsFieldEvent {
    field: '$.ids[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<MailboxDelete>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MailboxDelete.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MailboxDelete>): MailboxDelete {
    return decodeMessage(buf, MailboxDelete.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MailboxDelete>): Generator<MailboxDeleteUserFieldEvent | MailboxDeleteIdsFieldEvent> {
    return streamMessage(buf, MailboxDelete.codec(), opts)
  }
}

export interface MailboxPut {
  user: string
  events: StoredEvent[]
}

export namespace MailboxPut {
  let _codec: Codec<MailboxPut>

  export const codec = (): Codec<MailboxPut> => {
    if (_codec == null) {
      _codec = message<MailboxPut>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.user != null && obj.user !== '')) {
          w.uint32(10)
          w.string(obj.user)
        }

        if (obj.events != null && obj.events.length > 0) {
          for (const value of obj.events) {
            w.uint32(18)
            StoredEvent.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          user: '',
          events: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.user = reader.string()
              break
            }
            case 2: {
              if (opts.limits?.events != null && obj.events.length === opts.limits.events) {
                throw new MaxLengthError('Decode error - repeated field "events" had too many elements')
              }

              if (obj.events.length === 1000) {
                throw new MaxLengthError('Decode error - repeated field "events" had too many elements')
              }

              obj.events.push(StoredEvent.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.events$
              }))
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
        const obj = {
          events: 1000
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.user`,
                value: reader.string()
              }
              break
            }
            case 2: {
              if (opts.limits?.events != null && obj.events === opts.limits.events) {
                throw new MaxLengthError('Streaming decode error - repeated field "events" had too many elements')
              }

              if (obj.events === 1000) {
                throw new MaxLengthError('Streaming decode error - repeated field "events" had too many elements')
              }

              for (const evt of StoredEvent.codec().stream(reader, reader.uint32(), `${prefix}.events[]`, {
                limits: opts.limits?.events$
              })) {
                yield {
                  ...evt,
                  index: obj.events
                }
              }

              obj.events++

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

  export interface MailboxPutUserFieldEvent {
    field: '$.user'
    value: string
  }

  export interface MailboxPutEventsEventFieldEvent {
    field: '$.events[].event'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface MailboxPutEventsHlcFieldEvent {
    field: '$.events[].hlc'
    value: bigint
    index: number
  }

  export interface MailboxPutEventsOriginFieldEvent {
    field: '$.events[].origin'
    value: string
    index: number
  }

  export function encode (obj: Partial<MailboxPut>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MailboxPut.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MailboxPut>): MailboxPut {
    return decodeMessage(buf, MailboxPut.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MailboxPut>): Generator<MailboxPutUserFieldEvent | MailboxPutEventsEventFieldEvent | MailboxPutEventsHlcFieldEvent | MailboxPutEventsOriginFieldEvent> {
    return streamMessage(buf, MailboxPut.codec(), opts)
  }
}

export interface SyncOk {
  count: number
}

export namespace SyncOk {
  let _codec: Codec<SyncOk>

  export const codec = (): Codec<SyncOk> => {
    if (_codec == null) {
      _codec = message<SyncOk>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.count != null && obj.count !== 0)) {
          w.uint32(8)
          w.uint32(obj.count)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          count: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.count = reader.uint32()
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
                field: `${prefix}.count`,
                value: reader.uint32()
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

  export interface SyncOkCountFieldEvent {
    field: '$.count'
    value: number
  }

  export function encode (obj: Partial<SyncOk>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncOk.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncOk>): SyncOk {
    return decodeMessage(buf, SyncOk.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncOk>): Generator<SyncOkCountFieldEvent> {
    return streamMessage(buf, SyncOk.codec(), opts)
  }
}

export interface SyncError {
  code: number
  message: string
}

export namespace SyncError {
  let _codec: Codec<SyncError>

  export const codec = (): Codec<SyncError> => {
    if (_codec == null) {
      _codec = message<SyncError>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.code != null && obj.code !== 0)) {
          w.uint32(8)
          w.uint32(obj.code)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          code: 0,
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.code = reader.uint32()
              break
            }
            case 2: {
              obj.message = reader.string()
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
                field: `${prefix}.code`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
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

  export interface SyncErrorCodeFieldEvent {
    field: '$.code'
    value: number
  }

  export interface SyncErrorMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<SyncError>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncError.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncError>): SyncError {
    return decodeMessage(buf, SyncError.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncError>): Generator<SyncErrorCodeFieldEvent | SyncErrorMessageFieldEvent> {
    return streamMessage(buf, SyncError.codec(), opts)
  }
}

export interface DmDeliver {
  event?: StoredEvent
  users: string[]
  mailbox: boolean
}

export namespace DmDeliver {
  let _codec: Codec<DmDeliver>

  export const codec = (): Codec<DmDeliver> => {
    if (_codec == null) {
      _codec = message<DmDeliver>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.event != null) {
          w.uint32(10)
          StoredEvent.codec().encode(obj.event, w)
        }

        if (obj.users != null && obj.users.length > 0) {
          for (const value of obj.users) {
            w.uint32(18)
            w.string(value)
          }
        }

        if ((obj.mailbox != null && obj.mailbox !== false)) {
          w.uint32(24)
          w.bool(obj.mailbox)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          users: [],
          mailbox: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.event = StoredEvent.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.event
              })
              break
            }
            case 2: {
              if (opts.limits?.users != null && obj.users.length === opts.limits.users) {
                throw new MaxLengthError('Decode error - repeated field "users" had too many elements')
              }

              if (obj.users.length === 16) {
                throw new MaxLengthError('Decode error - repeated field "users" had too many elements')
              }

              obj.users.push(reader.string())
              break
            }
            case 3: {
              obj.mailbox = reader.bool()
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
        const obj = {
          users: 16
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * StoredEvent.codec().stream(reader, reader.uint32(), `${prefix}.event`, {
                limits: opts.limits?.event
              })

              break
            }
            case 2: {
              if (opts.limits?.users != null && obj.users === opts.limits.users) {
                throw new MaxLengthError('Streaming decode error - repeated field "users" had too many elements')
              }

              if (obj.users === 16) {
                throw new MaxLengthError('Streaming decode error - repeated field "users" had too many elements')
              }

              yield {
                field: `${prefix}.users[]`,
                index: obj.users,
                value: reader.string()
              }

              obj.users++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.mailbox`,
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

  export interface DmDeliverEventEventFieldEvent {
    field: '$.event.event'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DmDeliverEventHlcFieldEvent {
    field: '$.event.hlc'
    value: bigint
  }

  export interface DmDeliverEventOriginFieldEvent {
    field: '$.event.origin'
    value: string
  }

  export interface DmDeliverUsersFieldEvent {
    field: '$.users[]'
    index: number
    value: string
  }

  export interface DmDeliverMailboxFieldEvent {
    field: '$.mailbox'
    value: boolean
  }

  export function encode (obj: Partial<DmDeliver>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, DmDeliver.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DmDeliver>): DmDeliver {
    return decodeMessage(buf, DmDeliver.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DmDeliver>): Generator<DmDeliverEventEventFieldEvent | DmDeliverEventHlcFieldEvent | DmDeliverEventOriginFieldEvent | DmDeliverUsersFieldEvent | DmDeliverMailboxFieldEvent> {
    return streamMessage(buf, DmDeliver.codec(), opts)
  }
}

export interface DmResult {
  delivered: number
  error?: SyncError
}

export namespace DmResult {
  let _codec: Codec<DmResult>

  export const codec = (): Codec<DmResult> => {
    if (_codec == null) {
      _codec = message<DmResult>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.delivered != null && obj.delivered !== 0)) {
          w.uint32(8)
          w.uint32(obj.delivered)
        }

        if (obj.error != null) {
          w.uint32(18)
          SyncError.codec().encode(obj.error, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          delivered: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.delivered = reader.uint32()
              break
            }
            case 2: {
              obj.error = SyncError.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.error
              })
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
                field: `${prefix}.delivered`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield * SyncError.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                limits: opts.limits?.error
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

  export interface DmResultDeliveredFieldEvent {
    field: '$.delivered'
    value: number
  }

  export interface DmResultErrorCodeFieldEvent {
    field: '$.error.code'
    value: number
  }

  export interface DmResultErrorMessageFieldEvent {
    field: '$.error.message'
    value: string
  }

  export function encode (obj: Partial<DmResult>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, DmResult.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DmResult>): DmResult {
    return decodeMessage(buf, DmResult.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DmResult>): Generator<DmResultDeliveredFieldEvent | DmResultErrorCodeFieldEvent | DmResultErrorMessageFieldEvent> {
    return streamMessage(buf, DmResult.codec(), opts)
  }
}
