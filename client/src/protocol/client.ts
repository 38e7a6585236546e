import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface ClientFrame {
  req: number
  hello?: Hello
  join?: Join
  leave?: Leave
  publish?: Publish
  history?: HistoryQuery
  dmAck?: DmAck
  watch?: WatchUsers
  status?: SetStatus
  ping?: Ping
  auth?: Auth
}

export namespace ClientFrame {
  let _codec: Codec<ClientFrame>

  export const codec = (): Codec<ClientFrame> => {
    if (_codec == null) {
      _codec = message<ClientFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        obj = { ...obj }

        if (obj.auth != null) {
          obj.ping = undefined
          obj.status = undefined
          obj.watch = undefined
          obj.dmAck = undefined
          obj.history = undefined
          obj.publish = undefined
          obj.leave = undefined
          obj.join = undefined
          obj.hello = undefined
        }

        if (obj.ping != null) {
          obj.auth = undefined
          obj.status = undefined
          obj.watch = undefined
          obj.dmAck = undefined
          obj.history = undefined
          obj.publish = undefined
          obj.leave = undefined
          obj.join = undefined
          obj.hello = undefined
        }

        if (obj.status != null) {
          obj.auth = undefined
          obj.ping = undefined
          obj.watch = undefined
          obj.dmAck = undefined
          obj.history = undefined
          obj.publish = undefined
          obj.leave = undefined
          obj.join = undefined
          obj.hello = undefined
        }

        if (obj.watch != null) {
          obj.auth = undefined
          obj.ping = undefined
          obj.status = undefined
          obj.dmAck = undefined
          obj.history = undefined
          obj.publish = undefined
          obj.leave = undefined
          obj.join = undefined
          obj.hello = undefined
        }

        if (obj.dmAck != null) {
          obj.auth = undefined
          obj.ping = undefined
          obj.status = undefined
          obj.watch = undefined
          obj.history = undefined
          obj.publish = undefined
          obj.leave = undefined
          obj.join = undefined
          obj.hello = undefined
        }

        if (obj.history != null) {
          obj.auth = undefined
          obj.ping = undefined
          obj.status = undefined
          obj.watch = undefined
          obj.dmAck = undefined
          obj.publish = undefined
          obj.leave = undefined
          obj.join = undefined
          obj.hello = undefined
        }

        if (obj.publish != null) {
          obj.auth = undefined
          obj.ping = undefined
          obj.status = undefined
          obj.watch = undefined
          obj.dmAck = undefined
          obj.history = undefined
          obj.leave = undefined
          obj.join = undefined
          obj.hello = undefined
        }

        if (obj.leave != null) {
          obj.auth = undefined
          obj.ping = undefined
          obj.status = undefined
          obj.watch = undefined
          obj.dmAck = undefined
          obj.history = undefined
          obj.publish = undefined
          obj.join = undefined
          obj.hello = undefined
        }

        if (obj.join != null) {
          obj.auth = undefined
          obj.ping = undefined
          obj.status = undefined
          obj.watch = undefined
          obj.dmAck = undefined
          obj.history = undefined
          obj.publish = undefined
          obj.leave = undefined
          obj.hello = undefined
        }

        if (obj.hello != null) {
          obj.auth = undefined
          obj.ping = undefined
          obj.status = undefined
          obj.watch = undefined
          obj.dmAck = undefined
          obj.history = undefined
          obj.publish = undefined
          obj.leave = undefined
          obj.join = undefined
        }

        if ((obj.req != null && obj.req !== 0)) {
          w.uint32(8)
          w.uint32(obj.req)
        }

        if (obj.hello != null) {
          w.uint32(18)
          Hello.codec().encode(obj.hello, w)
        }

        if (obj.join != null) {
          w.uint32(26)
          Join.codec().encode(obj.join, w)
        }

        if (obj.leave != null) {
          w.uint32(34)
          Leave.codec().encode(obj.leave, w)
        }

        if (obj.publish != null) {
          w.uint32(42)
          Publish.codec().encode(obj.publish, w)
        }

        if (obj.history != null) {
          w.uint32(50)
          HistoryQuery.codec().encode(obj.history, w)
        }

        if (obj.dmAck != null) {
          w.uint32(58)
          DmAck.codec().encode(obj.dmAck, w)
        }

        if (obj.watch != null) {
          w.uint32(66)
          WatchUsers.codec().encode(obj.watch, w)
        }

        if (obj.status != null) {
          w.uint32(74)
          SetStatus.codec().encode(obj.status, w)
        }

        if (obj.ping != null) {
          w.uint32(82)
          Ping.codec().encode(obj.ping, w)
        }

        if (obj.auth != null) {
          w.uint32(90)
          Auth.codec().encode(obj.auth, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          req: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.req = reader.uint32()
              break
            }
            case 2: {
              obj.hello = Hello.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.hello
              })
              break
            }
            case 3: {
              obj.join = Join.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.join
              })
              break
            }
            case 4: {
              obj.leave = Leave.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.leave
              })
              break
            }
            case 5: {
              obj.publish = Publish.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.publish
              })
              break
            }
            case 6: {
              obj.history = HistoryQuery.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.history
              })
              break
            }
            case 7: {
              obj.dmAck = DmAck.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.dmAck
              })
              break
            }
            case 8: {
              obj.watch = WatchUsers.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.watch
              })
              break
            }
            case 9: {
              obj.status = SetStatus.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.status
              })
              break
            }
            case 10: {
              obj.ping = Ping.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ping
              })
              break
            }
            case 11: {
              obj.auth = Auth.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.auth
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        if (obj.auth != null) {
          delete obj.ping
          delete obj.status
          delete obj.watch
          delete obj.dmAck
          delete obj.history
          delete obj.publish
          delete obj.leave
          delete obj.join
          delete obj.hello
        }

        if (obj.ping != null) {
          delete obj.auth
          delete obj.status
          delete obj.watch
          delete obj.dmAck
          delete obj.history
          delete obj.publish
          delete obj.leave
          delete obj.join
          delete obj.hello
        }

        if (obj.status != null) {
          delete obj.auth
          delete obj.ping
          delete obj.watch
          delete obj.dmAck
          delete obj.history
          delete obj.publish
          delete obj.leave
          delete obj.join
          delete obj.hello
        }

        if (obj.watch != null) {
          delete obj.auth
          delete obj.ping
          delete obj.status
          delete obj.dmAck
          delete obj.history
          delete obj.publish
          delete obj.leave
          delete obj.join
          delete obj.hello
        }

        if (obj.dmAck != null) {
          delete obj.auth
          delete obj.ping
          delete obj.status
          delete obj.watch
          delete obj.history
          delete obj.publish
          delete obj.leave
          delete obj.join
          delete obj.hello
        }

        if (obj.history != null) {
          delete obj.auth
          delete obj.ping
          delete obj.status
          delete obj.watch
          delete obj.dmAck
          delete obj.publish
          delete obj.leave
          delete obj.join
          delete obj.hello
        }

        if (obj.publish != null) {
          delete obj.auth
          delete obj.ping
          delete obj.status
          delete obj.watch
          delete obj.dmAck
          delete obj.history
          delete obj.leave
          delete obj.join
          delete obj.hello
        }

        if (obj.leave != null) {
          delete obj.auth
          delete obj.ping
          delete obj.status
          delete obj.watch
          delete obj.dmAck
          delete obj.history
          delete obj.publish
          delete obj.join
          delete obj.hello
        }

        if (obj.join != null) {
          delete obj.auth
          delete obj.ping
          delete obj.status
          delete obj.watch
          delete obj.dmAck
          delete obj.history
          delete obj.publish
          delete obj.leave
          delete obj.hello
        }

        if (obj.hello != null) {
          delete obj.auth
          delete obj.ping
          delete obj.status
          delete obj.watch
          delete obj.dmAck
          delete obj.history
          delete obj.publish
          delete obj.leave
          delete obj.join
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.req`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield * Hello.codec().stream(reader, reader.uint32(), `${prefix}.hello`, {
                limits: opts.limits?.hello
              })

              break
            }
            case 3: {
              yield * Join.codec().stream(reader, reader.uint32(), `${prefix}.join`, {
                limits: opts.limits?.join
              })

              break
            }
            case 4: {
              yield * Leave.codec().stream(reader, reader.uint32(), `${prefix}.leave`, {
                limits: opts.limits?.leave
              })

              break
            }
            case 5: {
              yield * Publish.codec().stream(reader, reader.uint32(), `${prefix}.publish`, {
                limits: opts.limits?.publish
              })

              break
            }
            case 6: {
              yield * HistoryQuery.codec().stream(reader, reader.uint32(), `${prefix}.history`, {
                limits: opts.limits?.history
              })

              break
            }
            case 7: {
              yield * DmAck.codec().stream(reader, reader.uint32(), `${prefix}.dmAck`, {
                limits: opts.limits?.dmAck
              })

              break
            }
            case 8: {
              yield * WatchUsers.codec().stream(reader, reader.uint32(), `${prefix}.watch`, {
                limits: opts.limits?.watch
              })

              break
            }
            case 9: {
              yield * SetStatus.codec().stream(reader, reader.uint32(), `${prefix}.status`, {
                limits: opts.limits?.status
              })

              break
            }
            case 10: {
              yield * Ping.codec().stream(reader, reader.uint32(), `${prefix}.ping`, {
                limits: opts.limits?.ping
              })

              break
            }
            case 11: {
              yield * Auth.codec().stream(reader, reader.uint32(), `${prefix}.auth`, {
                limits: opts.limits?.auth
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

  export interface ClientFrameReqFieldEvent {
    field: '$.req'
    value: number
  }

  export interface ClientFrameHelloVersionFieldEvent {
    field: '$.hello.version'
    value: number
  }

  export interface ClientFrameHelloNameFieldEvent {
    field: '$.hello.name'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ClientFrameHelloStatusFieldEvent {
    field: '$.hello.status'
    value: string
  }

  export interface ClientFrameHelloDmCursorFieldEvent {
    field: '$.hello.dmCursor'
    value: bigint
  }

  export interface ClientFrameHelloRoomsFieldEvent {
    field: '$.hello.rooms[]'
    index: number
    value: string
  }

  export interface ClientFrameHelloNoRedirectFieldEvent {
    field: '$.hello.noRedirect'
    value: boolean
  }

  export interface ClientFrameHelloAffinityFieldEvent {
    field: '$.hello.affinity'
    value: boolean
  }

  export interface ClientFrameJoinRoomFieldEvent {
    field: '$.join.room'
    value: string
  }

  export interface ClientFrameJoinAfterHlcFieldEvent {
    field: '$.join.after.hlc'
    value: bigint
  }

  export interface ClientFrameJoinAfterIdFieldEvent {
    field: '$.join.after.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ClientFrameJoinBacklogFieldEvent {
    field: '$.join.backlog'
    value: number
  }

  export interface ClientFrameLeaveRoomFieldEvent {
    field: '$.leave.room'
    value: string
  }

  export interface ClientFramePublishEventFieldEvent {
    field: '$.publish.event'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ClientFrameHistoryRoomFieldEvent {
    field: '$.history.room'
    value: string
  }

  export interface ClientFrameHistoryBeforeHlcFieldEvent {
    field: '$.history.before.hlc'
    value: bigint
  }

  export interface ClientFrameHistoryBeforeIdFieldEvent {
    field: '$.history.before.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ClientFrameHistoryAfterHlcFieldEvent {
    field: '$.history.after.hlc'
    value: bigint
  }

  export interface ClientFrameHistoryAfterIdFieldEvent {
    field: '$.history.after.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ClientFrameHistoryLimitFieldEvent {
    field: '$.history.limit'
    value: number
  }

  export interface ClientFrameDmAckIdsFieldEvent {
    field: '$.dmAck.ids[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface ClientFrameWatchUsersFieldEvent {
    field: '$.watch.users[]'
    index: number
    value: string
  }

  export interface ClientFrameStatusStatusFieldEvent {
    field: '$.status.status'
    value: string
  }

  export interface ClientFramePingTimeFieldEvent {
    field: '$.ping.time'
    value: bigint
  }

  export interface ClientFrameAuthPublicKeyFieldEvent {
    field: '$.auth.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ClientFrameAuthTimeFieldEvent {
    field: '$.auth.time'
    value: bigint
  }

  export interface ClientFrameAuthSignatureFieldEvent {
    field: '$.auth.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ClientFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ClientFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ClientFrame>): ClientFrame {
    return decodeMessage(buf, ClientFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ClientFrame>): Generator<ClientFrameReqFieldEvent | ClientFrameHelloVersionFieldEvent | ClientFrameHelloNameFieldEvent | ClientFrameHelloStatusFieldEvent | ClientFrameHelloDmCursorFieldEvent | ClientFrameHelloRoomsFieldEvent | ClientFrameHelloNoRedirectFieldEvent | ClientFrameHelloAffinityFieldEvent | ClientFrameJoinRoomFieldEvent | ClientFrameJoinAfterHlcFieldEvent | ClientFrameJoinAfterIdFieldEvent | ClientFrameJoinBacklogFieldEvent | ClientFrameLeaveRoomFieldEvent | ClientFramePublishEventFieldEvent | ClientFrameHistoryRoomFieldEvent | ClientFrameHistoryBeforeHlcFieldEvent | ClientFrameHistoryBeforeIdFieldEvent | ClientFrameHistoryAfterHlcFieldEvent | ClientFrameHistoryAfterIdFieldEvent | ClientFrameHistoryLimitFieldEvent | ClientFrameDmAckIdsFieldEvent | ClientFrameWatchUsersFieldEvent | ClientFrameStatusStatusFieldEvent | ClientFramePingTimeFieldEvent | ClientFrameAuthPublicKeyFieldEvent | ClientFrameAuthTimeFieldEvent | ClientFrameAuthSignatureFieldEvent> {
    return streamMessage(buf, ClientFrame.codec(), opts)
  }
}

export interface ServerFrame {
  req: number
  welcome?: Welcome
  ok?: Ok
  error?: Error
  delivery?: Delivery
  history?: HistoryPage
  roster?: Roster
  rosterDiff?: RosterDiff
  user?: UserPresence
  pong?: Pong
  redirect?: Redirect
  publishAck?: PublishAck
  replayDone?: ReplayDone
  challenge?: Challenge
}

export namespace ServerFrame {
  let _codec: Codec<ServerFrame>

  export const codec = (): Codec<ServerFrame> => {
    if (_codec == null) {
      _codec = message<ServerFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        obj = { ...obj }

        if (obj.challenge != null) {
          obj.replayDone = undefined
          obj.publishAck = undefined
          obj.redirect = undefined
          obj.pong = undefined
          obj.user = undefined
          obj.rosterDiff = undefined
          obj.roster = undefined
          obj.history = undefined
          obj.delivery = undefined
          obj.error = undefined
          obj.ok = undefined
          obj.welcome = undefined
        }

        if (obj.replayDone != null) {
          obj.challenge = undefined
          obj.publishAck = undefined
          obj.redirect = undefined
          obj.pong = undefined
          obj.user = undefined
          obj.rosterDiff = undefined
          obj.roster = undefined
          obj.history = undefined
          obj.delivery = undefined
          obj.error = undefined
          obj.ok = undefined
          obj.welcome = undefined
        }

        if (obj.publishAck != null) {
          obj.challenge = undefined
          obj.replayDone = undefined
          obj.redirect = undefined
          obj.pong = undefined
          obj.user = undefined
          obj.rosterDiff = undefined
          obj.roster = undefined
          obj.history = undefined
          obj.delivery = undefined
          obj.error = undefined
          obj.ok = undefined
          obj.welcome = undefined
        }

        if (obj.redirect != null) {
          obj.challenge = undefined
          obj.replayDone = undefined
          obj.publishAck = undefined
          obj.pong = undefined
          obj.user = undefined
          obj.rosterDiff = undefined
          obj.roster = undefined
          obj.history = undefined
          obj.delivery = undefined
          obj.error = undefined
          obj.ok = undefined
          obj.welcome = undefined
        }

        if (obj.pong != null) {
          obj.challenge = undefined
          obj.replayDone = undefined
          obj.publishAck = undefined
          obj.redirect = undefined
          obj.user = undefined
          obj.rosterDiff = undefined
          obj.roster = undefined
          obj.history = undefined
          obj.delivery = undefined
          obj.error = undefined
          obj.ok = undefined
          obj.welcome = undefined
        }

        if (obj.user != null) {
          obj.challenge = undefined
          obj.replayDone = undefined
          obj.publishAck = undefined
          obj.redirect = undefined
          obj.pong = undefined
          obj.rosterDiff = undefined
          obj.roster = undefined
          obj.history = undefined
          obj.delivery = undefined
          obj.error = undefined
          obj.ok = undefined
          obj.welcome = undefined
        }

        if (obj.rosterDiff != null) {
          obj.challenge = undefined
          obj.replayDone = undefined
          obj.publishAck = undefined
          obj.redirect = undefined
          obj.pong = undefined
          obj.user = undefined
          obj.roster = undefined
          obj.history = undefined
          obj.delivery = undefined
          obj.error = undefined
          obj.ok = undefined
          obj.welcome = undefined
        }

        if (obj.roster != null) {
          obj.challenge = undefined
          obj.replayDone = undefined
          obj.publishAck = undefined
          obj.redirect = undefined
          obj.pong = undefined
          obj.user = undefined
          obj.rosterDiff = undefined
          obj.history = undefined
          obj.delivery = undefined
          obj.error = undefined
          obj.ok = undefined
          obj.welcome = undefined
        }

        if (obj.history != null) {
          obj.challenge = undefined
          obj.replayDone = undefined
          obj.publishAck = undefined
          obj.redirect = undefined
          obj.pong = undefined
          obj.user = undefined
          obj.rosterDiff = undefined
          obj.roster = undefined
          obj.delivery = undefined
          obj.error = undefined
          obj.ok = undefined
          obj.welcome = undefined
        }

        if (obj.delivery != null) {
          obj.challenge = undefined
          obj.replayDone = undefined
          obj.publishAck = undefined
          obj.redirect = undefined
          obj.pong = undefined
          obj.user = undefined
          obj.rosterDiff = undefined
          obj.roster = undefined
          obj.history = undefined
          obj.error = undefined
          obj.ok = undefined
          obj.welcome = undefined
        }

        if (obj.error != null) {
          obj.challenge = undefined
          obj.replayDone = undefined
          obj.publishAck = undefined
          obj.redirect = undefined
          obj.pong = undefined
          obj.user = undefined
          obj.rosterDiff = undefined
          obj.roster = undefined
          obj.history = undefined
          obj.delivery = undefined
          obj.ok = undefined
          obj.welcome = undefined
        }

        if (obj.ok != null) {
          obj.challenge = undefined
          obj.replayDone = undefined
          obj.publishAck = undefined
          obj.redirect = undefined
          obj.pong = undefined
          obj.user = undefined
          obj.rosterDiff = undefined
          obj.roster = undefined
          obj.history = undefined
          obj.delivery = undefined
          obj.error = undefined
          obj.welcome = undefined
        }

        if (obj.welcome != null) {
          obj.challenge = undefined
          obj.replayDone = undefined
          obj.publishAck = undefined
          obj.redirect = undefined
          obj.pong = undefined
          obj.user = undefined
          obj.rosterDiff = undefined
          obj.roster = undefined
          obj.history = undefined
          obj.delivery = undefined
          obj.error = undefined
          obj.ok = undefined
        }

        if ((obj.req != null && obj.req !== 0)) {
          w.uint32(8)
          w.uint32(obj.req)
        }

        if (obj.welcome != null) {
          w.uint32(18)
          Welcome.codec().encode(obj.welcome, w)
        }

        if (obj.ok != null) {
          w.uint32(26)
          Ok.codec().encode(obj.ok, w)
        }

        if (obj.error != null) {
          w.uint32(34)
          Error.codec().encode(obj.error, w)
        }

        if (obj.delivery != null) {
          w.uint32(42)
          Delivery.codec().encode(obj.delivery, w)
        }

        if (obj.history != null) {
          w.uint32(50)
          HistoryPage.codec().encode(obj.history, w)
        }

        if (obj.roster != null) {
          w.uint32(58)
          Roster.codec().encode(obj.roster, w)
        }

        if (obj.rosterDiff != null) {
          w.uint32(66)
          RosterDiff.codec().encode(obj.rosterDiff, w)
        }

        if (obj.user != null) {
          w.uint32(74)
          UserPresence.codec().encode(obj.user, w)
        }

        if (obj.pong != null) {
          w.uint32(82)
          Pong.codec().encode(obj.pong, w)
        }

        if (obj.redirect != null) {
          w.uint32(90)
          Redirect.codec().encode(obj.redirect, w)
        }

        if (obj.publishAck != null) {
          w.uint32(98)
          PublishAck.codec().encode(obj.publishAck, w)
        }

        if (obj.replayDone != null) {
          w.uint32(106)
          ReplayDone.codec().encode(obj.replayDone, w)
        }

        if (obj.challenge != null) {
          w.uint32(114)
          Challenge.codec().encode(obj.challenge, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          req: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.req = reader.uint32()
              break
            }
            case 2: {
              obj.welcome = Welcome.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.welcome
              })
              break
            }
            case 3: {
              obj.ok = Ok.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ok
              })
              break
            }
            case 4: {
              obj.error = Error.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.error
              })
              break
            }
            case 5: {
              obj.delivery = Delivery.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.delivery
              })
              break
            }
            case 6: {
              obj.history = HistoryPage.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.history
              })
              break
            }
            case 7: {
              obj.roster = Roster.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.roster
              })
              break
            }
            case 8: {
              obj.rosterDiff = RosterDiff.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.rosterDiff
              })
              break
            }
            case 9: {
              obj.user = UserPresence.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.user
              })
              break
            }
            case 10: {
              obj.pong = Pong.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.pong
              })
              break
            }
            case 11: {
              obj.redirect = Redirect.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.redirect
              })
              break
            }
            case 12: {
              obj.publishAck = PublishAck.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.publishAck
              })
              break
            }
            case 13: {
              obj.replayDone = ReplayDone.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.replayDone
              })
              break
            }
            case 14: {
              obj.challenge = Challenge.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.challenge
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        if (obj.challenge != null) {
          delete obj.replayDone
          delete obj.publishAck
          delete obj.redirect
          delete obj.pong
          delete obj.user
          delete obj.rosterDiff
          delete obj.roster
          delete obj.history
          delete obj.delivery
          delete obj.error
          delete obj.ok
          delete obj.welcome
        }

        if (obj.replayDone != null) {
          delete obj.challenge
          delete obj.publishAck
          delete obj.redirect
          delete obj.pong
          delete obj.user
          delete obj.rosterDiff
          delete obj.roster
          delete obj.history
          delete obj.delivery
          delete obj.error
          delete obj.ok
          delete obj.welcome
        }

        if (obj.publishAck != null) {
          delete obj.challenge
          delete obj.replayDone
          delete obj.redirect
          delete obj.pong
          delete obj.user
          delete obj.rosterDiff
          delete obj.roster
          delete obj.history
          delete obj.delivery
          delete obj.error
          delete obj.ok
          delete obj.welcome
        }

        if (obj.redirect != null) {
          delete obj.challenge
          delete obj.replayDone
          delete obj.publishAck
          delete obj.pong
          delete obj.user
          delete obj.rosterDiff
          delete obj.roster
          delete obj.history
          delete obj.delivery
          delete obj.error
          delete obj.ok
          delete obj.welcome
        }

        if (obj.pong != null) {
          delete obj.challenge
          delete obj.replayDone
          delete obj.publishAck
          delete obj.redirect
          delete obj.user
          delete obj.rosterDiff
          delete obj.roster
          delete obj.history
          delete obj.delivery
          delete obj.error
          delete obj.ok
          delete obj.welcome
        }

        if (obj.user != null) {
          delete obj.challenge
          delete obj.replayDone
          delete obj.publishAck
          delete obj.redirect
          delete obj.pong
          delete obj.rosterDiff
          delete obj.roster
          delete obj.history
          delete obj.delivery
          delete obj.error
          delete obj.ok
          delete obj.welcome
        }

        if (obj.rosterDiff != null) {
          delete obj.challenge
          delete obj.replayDone
          delete obj.publishAck
          delete obj.redirect
          delete obj.pong
          delete obj.user
          delete obj.roster
          delete obj.history
          delete obj.delivery
          delete obj.error
          delete obj.ok
          delete obj.welcome
        }

        if (obj.roster != null) {
          delete obj.challenge
          delete obj.replayDone
          delete obj.publishAck
          delete obj.redirect
          delete obj.pong
          delete obj.user
          delete obj.rosterDiff
          delete obj.history
          delete obj.delivery
          delete obj.error
          delete obj.ok
          delete obj.welcome
        }

        if (obj.history != null) {
          delete obj.challenge
          delete obj.replayDone
          delete obj.publishAck
          delete obj.redirect
          delete obj.pong
          delete obj.user
          delete obj.rosterDiff
          delete obj.roster
          delete obj.delivery
          delete obj.error
          delete obj.ok
          delete obj.welcome
        }

        if (obj.delivery != null) {
          delete obj.challenge
          delete obj.replayDone
          delete obj.publishAck
          delete obj.redirect
          delete obj.pong
          delete obj.user
          delete obj.rosterDiff
          delete obj.roster
          delete obj.history
          delete obj.error
          delete obj.ok
          delete obj.welcome
        }

        if (obj.error != null) {
          delete obj.challenge
          delete obj.replayDone
          delete obj.publishAck
          delete obj.redirect
          delete obj.pong
          delete obj.user
          delete obj.rosterDiff
          delete obj.roster
          delete obj.history
          delete obj.delivery
          delete obj.ok
          delete obj.welcome
        }

        if (obj.ok != null) {
          delete obj.challenge
          delete obj.replayDone
          delete obj.publishAck
          delete obj.redirect
          delete obj.pong
          delete obj.user
          delete obj.rosterDiff
          delete obj.roster
          delete obj.history
          delete obj.delivery
          delete obj.error
          delete obj.welcome
        }

        if (obj.welcome != null) {
          delete obj.challenge
          delete obj.replayDone
          delete obj.publishAck
          delete obj.redirect
          delete obj.pong
          delete obj.user
          delete obj.rosterDiff
          delete obj.roster
          delete obj.history
          delete obj.delivery
          delete obj.error
          delete obj.ok
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.req`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield * Welcome.codec().stream(reader, reader.uint32(), `${prefix}.welcome`, {
                limits: opts.limits?.welcome
              })

              break
            }
            case 3: {
              yield * Ok.codec().stream(reader, reader.uint32(), `${prefix}.ok`, {
                limits: opts.limits?.ok
              })

              break
            }
            case 4: {
              yield * Error.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                limits: opts.limits?.error
              })

              break
            }
            case 5: {
              yield * Delivery.codec().stream(reader, reader.uint32(), `${prefix}.delivery`, {
                limits: opts.limits?.delivery
              })

              break
            }
            case 6: {
              yield * HistoryPage.codec().stream(reader, reader.uint32(), `${prefix}.history`, {
                limits: opts.limits?.history
              })

              break
            }
            case 7: {
              yield * Roster.codec().stream(reader, reader.uint32(), `${prefix}.roster`, {
                limits: opts.limits?.roster
              })

              break
            }
            case 8: {
              yield * RosterDiff.codec().stream(reader, reader.uint32(), `${prefix}.rosterDiff`, {
                limits: opts.limits?.rosterDiff
              })

              break
            }
            case 9: {
              yield * UserPresence.codec().stream(reader, reader.uint32(), `${prefix}.user`, {
                limits: opts.limits?.user
              })

              break
            }
            case 10: {
              yield * Pong.codec().stream(reader, reader.uint32(), `${prefix}.pong`, {
                limits: opts.limits?.pong
              })

              break
            }
            case 11: {
              yield * Redirect.codec().stream(reader, reader.uint32(), `${prefix}.redirect`, {
                limits: opts.limits?.redirect
              })

              break
            }
            case 12: {
              yield * PublishAck.codec().stream(reader, reader.uint32(), `${prefix}.publishAck`, {
                limits: opts.limits?.publishAck
              })

              break
            }
            case 13: {
              yield * ReplayDone.codec().stream(reader, reader.uint32(), `${prefix}.replayDone`, {
                limits: opts.limits?.replayDone
              })

              break
            }
            case 14: {
              yield * Challenge.codec().stream(reader, reader.uint32(), `${prefix}.challenge`, {
                limits: opts.limits?.challenge
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

  export interface ServerFrameReqFieldEvent {
    field: '$.req'
    value: number
  }

  export interface ServerFrameWelcomeNodeIdFieldEvent {
    field: '$.welcome.nodeId'
    value: string
  }

  export interface ServerFrameWelcomeUserIdFieldEvent {
    field: '$.welcome.userId'
    value: string
  }

  export interface ServerFrameWelcomeMeshSizeFieldEvent {
    field: '$.welcome.meshSize'
    value: number
  }

  export interface ServerFrameWelcomeAlternatesIdFieldEvent {
    field: '$.welcome.alternates[].id'
    value: string
    index: number
  }

  export interface ServerFrameWelcomeAlternatesAddrsFieldEvent {
    field: '$.welcome.alternates[].addrs[]'
    index: number
    value: string
  }

  export interface ServerFrameWelcomeAlternatesClientsFieldEvent {
    field: '$.welcome.alternates[].clients'
    value: number
    index: number
  }

  export interface ServerFrameWelcomeAlternatesMaxClientsFieldEvent {
    field: '$.welcome.alternates[].maxClients'
    value: number
    index: number
  }

  export interface ServerFrameWelcomeAlternatesHttpUrlFieldEvent {
    field: '$.welcome.alternates[].httpUrl'
    value: string
    index: number
  }

  export interface ServerFrameWelcomeTimeFieldEvent {
    field: '$.welcome.time'
    value: bigint
  }

  export interface ServerFrameWelcomeLimitsMaxEventBytesFieldEvent {
    field: '$.welcome.limits.maxEventBytes'
    value: number
  }

  export interface ServerFrameWelcomeLimitsMaxRoomsFieldEvent {
    field: '$.welcome.limits.maxRooms'
    value: number
  }

  export interface ServerFrameWelcomeLimitsMaxBodyBytesFieldEvent {
    field: '$.welcome.limits.maxBodyBytes'
    value: number
  }

  export interface ServerFrameWelcomeLimitsRatePerSecFieldEvent {
    field: '$.welcome.limits.ratePerSec'
    value: number
  }

  export interface ServerFrameWelcomeLimitsBurstFieldEvent {
    field: '$.welcome.limits.burst'
    value: number
  }

  export interface ServerFrameWelcomeHttpUrlFieldEvent {
    field: '$.welcome.httpUrl'
    value: string
  }

  export interface ServerFrameOkDetailFieldEvent {
    field: '$.ok.detail'
    value: string
  }

  export interface ServerFrameErrorCodeFieldEvent {
    field: '$.error.code'
    value: number
  }

  export interface ServerFrameErrorMessageFieldEvent {
    field: '$.error.message'
    value: string
  }

  export interface ServerFrameErrorRetryAfterMsFieldEvent {
    field: '$.error.retryAfterMs'
    value: number
  }

  export interface ServerFrameErrorFatalFieldEvent {
    field: '$.error.fatal'
    value: boolean
  }

  export interface ServerFrameDeliveryEventFieldEvent {
    field: '$.delivery.event'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ServerFrameDeliveryHlcFieldEvent {
    field: '$.delivery.hlc'
    value: bigint
  }

  export interface ServerFrameDeliveryOriginFieldEvent {
    field: '$.delivery.origin'
    value: string
  }

  export interface ServerFrameDeliveryKindFieldEvent {
    field: '$.delivery.kind'
    value: DeliveryKind
  }

  export interface ServerFrameHistoryRoomFieldEvent {
    field: '$.history.room'
    value: string
  }

  export interface ServerFrameHistoryEventsEventFieldEvent {
    field: '$.history.events[].event'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ServerFrameHistoryEventsHlcFieldEvent {
    field: '$.history.events[].hlc'
    value: bigint
    index: number
  }

  export interface ServerFrameHistoryEventsOriginFieldEvent {
    field: '$.history.events[].origin'
    value: string
    index: number
  }

  export interface ServerFrameHistoryEventsKindFieldEvent {
    field: '$.history.events[].kind'
    value: DeliveryKind
    index: number
  }

  export interface ServerFrameHistoryMoreFieldEvent {
    field: '$.history.more'
    value: boolean
  }

  export interface ServerFrameRosterRoomFieldEvent {
    field: '$.roster.room'
    value: string
  }

  export interface ServerFrameRosterMembersUserIdFieldEvent {
    field: '$.roster.members[].userId'
    value: string
    index: number
  }

  export interface ServerFrameRosterMembersNameFieldEvent {
    field: '$.roster.members[].name'
    value: string
    index: number
  }

  export interface ServerFrameRosterMembersStatusFieldEvent {
    field: '$.roster.members[].status'
    value: string
    index: number
  }

  export interface ServerFrameRosterMembersNodesFieldEvent {
    field: '$.roster.members[].nodes[]'
    index: number
    value: string
  }

  export interface ServerFrameRosterDiffRoomFieldEvent {
    field: '$.rosterDiff.room'
    value: string
  }

  export interface ServerFrameRosterDiffUserIdFieldEvent {
    field: '$.rosterDiff.userId'
    value: string
  }

  export interface ServerFrameRosterDiffMemberUserIdFieldEvent {
    field: '$.rosterDiff.member.userId'
    value: string
  }

  export interface ServerFrameRosterDiffMemberNameFieldEvent {
    field: '$.rosterDiff.member.name'
    value: string
  }

  export interface ServerFrameRosterDiffMemberStatusFieldEvent {
    field: '$.rosterDiff.member.status'
    value: string
  }

  export interface ServerFrameRosterDiffMemberNodesFieldEvent {
    field: '$.rosterDiff.member.nodes[]'
    index: number
    value: string
  }

  export interface ServerFrameUserUserIdFieldEvent {
    field: '$.user.userId'
    value: string
  }

  export interface ServerFrameUserOnlineFieldEvent {
    field: '$.user.online'
    value: boolean
  }

  export interface ServerFrameUserNameFieldEvent {
    field: '$.user.name'
    value: string
  }

  export interface ServerFrameUserStatusFieldEvent {
    field: '$.user.status'
    value: string
  }

  export interface ServerFrameUserNodesFieldEvent {
    field: '$.user.nodes[]'
    index: number
    value: string
  }

  export interface ServerFramePongTimeFieldEvent {
    field: '$.pong.time'
    value: bigint
  }

  export interface ServerFrameRedirectToIdFieldEvent {
    field: '$.redirect.to.id'
    value: string
  }

  export interface ServerFrameRedirectToAddrsFieldEvent {
    field: '$.redirect.to.addrs[]'
    index: number
    value: string
  }

  export interface ServerFrameRedirectToClientsFieldEvent {
    field: '$.redirect.to.clients'
    value: number
  }

  export interface ServerFrameRedirectToMaxClientsFieldEvent {
    field: '$.redirect.to.maxClients'
    value: number
  }

  export interface ServerFrameRedirectToHttpUrlFieldEvent {
    field: '$.redirect.to.httpUrl'
    value: string
  }

  export interface ServerFrameRedirectReasonFieldEvent {
    field: '$.redirect.reason'
    value: string
  }

  export interface ServerFramePublishAckIdFieldEvent {
    field: '$.publishAck.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ServerFramePublishAckHlcFieldEvent {
    field: '$.publishAck.hlc'
    value: bigint
  }

  export interface ServerFramePublishAckDmFieldEvent {
    field: '$.publishAck.dm'
    value: DmState
  }

  export interface ServerFramePublishAckCopiesFieldEvent {
    field: '$.publishAck.copies'
    value: number
  }

  export interface ServerFrameReplayDoneRoomFieldEvent {
    field: '$.replayDone.room'
    value: string
  }

  export interface ServerFrameReplayDoneCountFieldEvent {
    field: '$.replayDone.count'
    value: number
  }

  export interface ServerFrameReplayDoneHeadHlcFieldEvent {
    field: '$.replayDone.head.hlc'
    value: bigint
  }

  export interface ServerFrameReplayDoneHeadIdFieldEvent {
    field: '$.replayDone.head.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ServerFrameChallengeNonceFieldEvent {
    field: '$.challenge.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ServerFrameChallengeNodeIdFieldEvent {
    field: '$.challenge.nodeId'
    value: string
  }

  export interface ServerFrameChallengeTimeFieldEvent {
    field: '$.challenge.time'
    value: bigint
  }

  export function encode (obj: Partial<ServerFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ServerFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ServerFrame>): ServerFrame {
    return decodeMessage(buf, ServerFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ServerFrame>): Generator<ServerFrameReqFieldEvent | ServerFrameWelcomeNodeIdFieldEvent | ServerFrameWelcomeUserIdFieldEvent | ServerFrameWelcomeMeshSizeFieldEvent | ServerFrameWelcomeAlternatesIdFieldEvent | ServerFrameWelcomeAlternatesAddrsFieldEvent | ServerFrameWelcomeAlternatesClientsFieldEvent | ServerFrameWelcomeAlternatesMaxClientsFieldEvent | ServerFrameWelcomeAlternatesHttpUrlFieldEvent | ServerFrameWelcomeTimeFieldEvent | ServerFrameWelcomeLimitsMaxEventBytesFieldEvent | ServerFrameWelcomeLimitsMaxRoomsFieldEvent | ServerFrameWelcomeLimitsMaxBodyBytesFieldEvent | ServerFrameWelcomeLimitsRatePerSecFieldEvent | ServerFrameWelcomeLimitsBurstFieldEvent | ServerFrameWelcomeHttpUrlFieldEvent | ServerFrameOkDetailFieldEvent | ServerFrameErrorCodeFieldEvent | ServerFrameErrorMessageFieldEvent | ServerFrameErrorRetryAfterMsFieldEvent | ServerFrameErrorFatalFieldEvent | ServerFrameDeliveryEventFieldEvent | ServerFrameDeliveryHlcFieldEvent | ServerFrameDeliveryOriginFieldEvent | ServerFrameDeliveryKindFieldEvent | ServerFrameHistoryRoomFieldEvent | ServerFrameHistoryEventsEventFieldEvent | ServerFrameHistoryEventsHlcFieldEvent | ServerFrameHistoryEventsOriginFieldEvent | ServerFrameHistoryEventsKindFieldEvent | ServerFrameHistoryMoreFieldEvent | ServerFrameRosterRoomFieldEvent | ServerFrameRosterMembersUserIdFieldEvent | ServerFrameRosterMembersNameFieldEvent | ServerFrameRosterMembersStatusFieldEvent | ServerFrameRosterMembersNodesFieldEvent | ServerFrameRosterDiffRoomFieldEvent | ServerFrameRosterDiffUserIdFieldEvent | ServerFrameRosterDiffMemberUserIdFieldEvent | ServerFrameRosterDiffMemberNameFieldEvent | ServerFrameRosterDiffMemberStatusFieldEvent | ServerFrameRosterDiffMemberNodesFieldEvent | ServerFrameUserUserIdFieldEvent | ServerFrameUserOnlineFieldEvent | ServerFrameUserNameFieldEvent | ServerFrameUserStatusFieldEvent | ServerFrameUserNodesFieldEvent | ServerFramePongTimeFieldEvent | ServerFrameRedirectToIdFieldEvent | ServerFrameRedirectToAddrsFieldEvent | ServerFrameRedirectToClientsFieldEvent | ServerFrameRedirectToMaxClientsFieldEvent | ServerFrameRedirectToHttpUrlFieldEvent | ServerFrameRedirectReasonFieldEvent | ServerFramePublishAckIdFieldEvent | ServerFramePublishAckHlcFieldEvent | ServerFramePublishAckDmFieldEvent | ServerFramePublishAckCopiesFieldEvent | ServerFrameReplayDoneRoomFieldEvent | ServerFrameReplayDoneCountFieldEvent | ServerFrameReplayDoneHeadHlcFieldEvent | ServerFrameReplayDoneHeadIdFieldEvent | ServerFrameChallengeNonceFieldEvent | ServerFrameChallengeNodeIdFieldEvent | ServerFrameChallengeTimeFieldEvent> {
    return streamMessage(buf, ServerFrame.codec(), opts)
  }
}

export interface Challenge {
  nonce: Uint8Array<ArrayBuffer>
  nodeId: string
  time: bigint
}

export namespace Challenge {
  let _codec: Codec<Challenge>

  export const codec = (): Codec<Challenge> => {
    if (_codec == null) {
      _codec = message<Challenge>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.nonce)
        }

        if ((obj.nodeId != null && obj.nodeId !== '')) {
          w.uint32(18)
          w.string(obj.nodeId)
        }

        if ((obj.time != null && obj.time !== 0n)) {
          w.uint32(24)
          w.uint64(obj.time)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          nonce: uint8ArrayAlloc(0),
          nodeId: '',
          time: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.nonce = reader.bytes()
              break
            }
            case 2: {
              obj.nodeId = reader.string()
              break
            }
            case 3: {
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
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.nonce`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.nodeId`,
                value: reader.string()
              }
              break
            }
            case 3: {
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

  export interface ChallengeNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChallengeNodeIdFieldEvent {
    field: '$.nodeId'
    value: string
  }

  export interface ChallengeTimeFieldEvent {
    field: '$.time'
    value: bigint
  }

  export function encode (obj: Partial<Challenge>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Challenge.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Challenge>): Challenge {
    return decodeMessage(buf, Challenge.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Challenge>): Generator<ChallengeNonceFieldEvent | ChallengeNodeIdFieldEvent | ChallengeTimeFieldEvent> {
    return streamMessage(buf, Challenge.codec(), opts)
  }
}

export interface Auth {
  publicKey: Uint8Array<ArrayBuffer>
  time: bigint
  signature: Uint8Array<ArrayBuffer>
}

export namespace Auth {
  let _codec: Codec<Auth>

  export const codec = (): Codec<Auth> => {
    if (_codec == null) {
      _codec = message<Auth>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.publicKey)
        }

        if ((obj.time != null && obj.time !== 0n)) {
          w.uint32(16)
          w.uint64(obj.time)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          publicKey: uint8ArrayAlloc(0),
          time: 0n,
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.publicKey = reader.bytes()
              break
            }
            case 2: {
              obj.time = reader.uint64()
              break
            }
            case 3: {
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
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.time`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
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

  export interface AuthPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AuthTimeFieldEvent {
    field: '$.time'
    value: bigint
  }

  export interface AuthSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Auth>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Auth.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Auth>): Auth {
    return decodeMessage(buf, Auth.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Auth>): Generator<AuthPublicKeyFieldEvent | AuthTimeFieldEvent | AuthSignatureFieldEvent> {
    return streamMessage(buf, Auth.codec(), opts)
  }
}

export interface LoginProof {
  nodeId: string
  nonce: Uint8Array<ArrayBuffer>
  time: bigint
}

export namespace LoginProof {
  let _codec: Codec<LoginProof>

  export const codec = (): Codec<LoginProof> => {
    if (_codec == null) {
      _codec = message<LoginProof>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.nodeId != null && obj.nodeId !== '')) {
          w.uint32(10)
          w.string(obj.nodeId)
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.nonce)
        }

        if ((obj.time != null && obj.time !== 0n)) {
          w.uint32(24)
          w.uint64(obj.time)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          nodeId: '',
          nonce: uint8ArrayAlloc(0),
          time: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.nodeId = reader.string()
              break
            }
            case 2: {
              obj.nonce = reader.bytes()
              break
            }
            case 3: {
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
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.nodeId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.nonce`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
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

  export interface LoginProofNodeIdFieldEvent {
    field: '$.nodeId'
    value: string
  }

  export interface LoginProofNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LoginProofTimeFieldEvent {
    field: '$.time'
    value: bigint
  }

  export function encode (obj: Partial<LoginProof>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, LoginProof.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LoginProof>): LoginProof {
    return decodeMessage(buf, LoginProof.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LoginProof>): Generator<LoginProofNodeIdFieldEvent | LoginProofNonceFieldEvent | LoginProofTimeFieldEvent> {
    return streamMessage(buf, LoginProof.codec(), opts)
  }
}

export interface Hello {
  version: number
  name: Uint8Array<ArrayBuffer>
  status: string
  dmCursor: bigint
  rooms: string[]
  noRedirect: boolean
  affinity: boolean
}

export namespace Hello {
  let _codec: Codec<Hello>

  export const codec = (): Codec<Hello> => {
    if (_codec == null) {
      _codec = message<Hello>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.name != null && obj.name.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.name)
        }

        if ((obj.status != null && obj.status !== '')) {
          w.uint32(26)
          w.string(obj.status)
        }

        if ((obj.dmCursor != null && obj.dmCursor !== 0n)) {
          w.uint32(32)
          w.uint64(obj.dmCursor)
        }

        if (obj.rooms != null && obj.rooms.length > 0) {
          for (const value of obj.rooms) {
            w.uint32(42)
            w.string(value)
          }
        }

        if ((obj.noRedirect != null && obj.noRedirect !== false)) {
          w.uint32(48)
          w.bool(obj.noRedirect)
        }

        if ((obj.affinity != null && obj.affinity !== false)) {
          w.uint32(56)
          w.bool(obj.affinity)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          name: uint8ArrayAlloc(0),
          status: '',
          dmCursor: 0n,
          rooms: [],
          noRedirect: false,
          affinity: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.name = reader.bytes()
              break
            }
            case 3: {
              obj.status = reader.string()
              break
            }
            case 4: {
              obj.dmCursor = reader.uint64()
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
              obj.noRedirect = reader.bool()
              break
            }
            case 7: {
              obj.affinity = reader.bool()
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
                field: `${prefix}.version`,
                value: reader.uint32()
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
                field: `${prefix}.status`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.dmCursor`,
                value: reader.uint64()
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
                field: `${prefix}.noRedirect`,
                value: reader.bool()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.affinity`,
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

  export interface HelloVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface HelloNameFieldEvent {
    field: '$.name'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HelloStatusFieldEvent {
    field: '$.status'
    value: string
  }

  export interface HelloDmCursorFieldEvent {
    field: '$.dmCursor'
    value: bigint
  }

  export interface HelloRoomsFieldEvent {
    field: '$.rooms[]'
    index: number
    value: string
  }

  export interface HelloNoRedirectFieldEvent {
    field: '$.noRedirect'
    value: boolean
  }

  export interface HelloAffinityFieldEvent {
    field: '$.affinity'
    value: boolean
  }

  export function encode (obj: Partial<Hello>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Hello.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hello>): Hello {
    return decodeMessage(buf, Hello.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hello>): Generator<HelloVersionFieldEvent | HelloNameFieldEvent | HelloStatusFieldEvent | HelloDmCursorFieldEvent | HelloRoomsFieldEvent | HelloNoRedirectFieldEvent | HelloAffinityFieldEvent> {
    return streamMessage(buf, Hello.codec(), opts)
  }
}

export interface NodeInfo {
  id: string
  addrs: string[]
  clients: number
  maxClients: number
  httpUrl: string
}

export namespace NodeInfo {
  let _codec: Codec<NodeInfo>

  export const codec = (): Codec<NodeInfo> => {
    if (_codec == null) {
      _codec = message<NodeInfo>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(18)
            w.string(value)
          }
        }

        if ((obj.clients != null && obj.clients !== 0)) {
          w.uint32(24)
          w.uint32(obj.clients)
        }

        if ((obj.maxClients != null && obj.maxClients !== 0)) {
          w.uint32(32)
          w.uint32(obj.maxClients)
        }

        if ((obj.httpUrl != null && obj.httpUrl !== '')) {
          w.uint32(42)
          w.string(obj.httpUrl)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          addrs: [],
          clients: 0,
          maxClients: 0,
          httpUrl: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              if (obj.addrs.length === 16) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.string())
              break
            }
            case 3: {
              obj.clients = reader.uint32()
              break
            }
            case 4: {
              obj.maxClients = reader.uint32()
              break
            }
            case 5: {
              obj.httpUrl = reader.string()
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
          addrs: 16
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              if (obj.addrs === 16) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.string()
              }

              obj.addrs++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.clients`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.maxClients`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.httpUrl`,
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

  export interface NodeInfoIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface NodeInfoAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: string
  }

  export interface NodeInfoClientsFieldEvent {
    field: '$.clients'
    value: number
  }

  export interface NodeInfoMaxClientsFieldEvent {
    field: '$.maxClients'
    value: number
  }

  export interface NodeInfoHttpUrlFieldEvent {
    field: '$.httpUrl'
    value: string
  }

  export function encode (obj: Partial<NodeInfo>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, NodeInfo.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NodeInfo>): NodeInfo {
    return decodeMessage(buf, NodeInfo.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NodeInfo>): Generator<NodeInfoIdFieldEvent | NodeInfoAddrsFieldEvent | NodeInfoClientsFieldEvent | NodeInfoMaxClientsFieldEvent | NodeInfoHttpUrlFieldEvent> {
    return streamMessage(buf, NodeInfo.codec(), opts)
  }
}

export interface Welcome {
  nodeId: string
  userId: string
  meshSize: number
  alternates: NodeInfo[]
  time: bigint
  limits?: Limits
  httpUrl: string
}

export namespace Welcome {
  let _codec: Codec<Welcome>

  export const codec = (): Codec<Welcome> => {
    if (_codec == null) {
      _codec = message<Welcome>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.nodeId != null && obj.nodeId !== '')) {
          w.uint32(10)
          w.string(obj.nodeId)
        }

        if ((obj.userId != null && obj.userId !== '')) {
          w.uint32(18)
          w.string(obj.userId)
        }

        if ((obj.meshSize != null && obj.meshSize !== 0)) {
          w.uint32(24)
          w.uint32(obj.meshSize)
        }

        if (obj.alternates != null && obj.alternates.length > 0) {
          for (const value of obj.alternates) {
            w.uint32(34)
            NodeInfo.codec().encode(value, w)
          }
        }

        if ((obj.time != null && obj.time !== 0n)) {
          w.uint32(40)
          w.uint64(obj.time)
        }

        if (obj.limits != null) {
          w.uint32(50)
          Limits.codec().encode(obj.limits, w)
        }

        if ((obj.httpUrl != null && obj.httpUrl !== '')) {
          w.uint32(58)
          w.string(obj.httpUrl)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          nodeId: '',
          userId: '',
          meshSize: 0,
          alternates: [],
          time: 0n,
          httpUrl: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.nodeId = reader.string()
              break
            }
            case 2: {
              obj.userId = reader.string()
              break
            }
            case 3: {
              obj.meshSize = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.alternates != null && obj.alternates.length === opts.limits.alternates) {
                throw new MaxLengthError('Decode error - repeated field "alternates" had too many elements')
              }

              if (obj.alternates.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "alternates" had too many elements')
              }

              obj.alternates.push(NodeInfo.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.alternates$
              }))
              break
            }
            case 5: {
              obj.time = reader.uint64()
              break
            }
            case 6: {
              obj.limits = Limits.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.limits
              })
              break
            }
            case 7: {
              obj.httpUrl = reader.string()
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
          alternates: 64
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.nodeId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.userId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.meshSize`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.alternates != null && obj.alternates === opts.limits.alternates) {
                throw new MaxLengthError('Streaming decode error - repeated field "alternates" had too many elements')
              }

              if (obj.alternates === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "alternates" had too many elements')
              }

              for (const evt of NodeInfo.codec().stream(reader, reader.uint32(), `${prefix}.alternates[]`, {
                limits: opts.limits?.alternates$
              })) {
                yield {
                  ...evt,
                  index: obj.alternates
                }
              }

              obj.alternates++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.time`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield * Limits.codec().stream(reader, reader.uint32(), `${prefix}.limits`, {
                limits: opts.limits?.limits
              })

              break
            }
            case 7: {
              yield {
                field: `${prefix}.httpUrl`,
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

  export interface WelcomeNodeIdFieldEvent {
    field: '$.nodeId'
    value: string
  }

  export interface WelcomeUserIdFieldEvent {
    field: '$.userId'
    value: string
  }

  export interface WelcomeMeshSizeFieldEvent {
    field: '$.meshSize'
    value: number
  }

  export interface WelcomeAlternatesIdFieldEvent {
    field: '$.alternates[].id'
    value: string
    index: number
  }

  export interface WelcomeAlternatesAddrsFieldEvent {
    field: '$.alternates[].addrs[]'
    index: number
    value: string
  }

  export interface WelcomeAlternatesClientsFieldEvent {
    field: '$.alternates[].clients'
    value: number
    index: number
  }

  export interface WelcomeAlternatesMaxClientsFieldEvent {
    field: '$.alternates[].maxClients'
    value: number
    index: number
  }

  export interface WelcomeAlternatesHttpUrlFieldEvent {
    field: '$.alternates[].httpUrl'
    value: string
    index: number
  }

  export interface WelcomeTimeFieldEvent {
    field: '$.time'
    value: bigint
  }

  export interface WelcomeLimitsMaxEventBytesFieldEvent {
    field: '$.limits.maxEventBytes'
    value: number
  }

  export interface WelcomeLimitsMaxRoomsFieldEvent {
    field: '$.limits.maxRooms'
    value: number
  }

  export interface WelcomeLimitsMaxBodyBytesFieldEvent {
    field: '$.limits.maxBodyBytes'
    value: number
  }

  export interface WelcomeLimitsRatePerSecFieldEvent {
    field: '$.limits.ratePerSec'
    value: number
  }

  export interface WelcomeLimitsBurstFieldEvent {
    field: '$.limits.burst'
    value: number
  }

  export interface WelcomeHttpUrlFieldEvent {
    field: '$.httpUrl'
    value: string
  }

  export function encode (obj: Partial<Welcome>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Welcome.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Welcome>): Welcome {
    return decodeMessage(buf, Welcome.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Welcome>): Generator<WelcomeNodeIdFieldEvent | WelcomeUserIdFieldEvent | WelcomeMeshSizeFieldEvent | WelcomeAlternatesIdFieldEvent | WelcomeAlternatesAddrsFieldEvent | WelcomeAlternatesClientsFieldEvent | WelcomeAlternatesMaxClientsFieldEvent | WelcomeAlternatesHttpUrlFieldEvent | WelcomeTimeFieldEvent | WelcomeLimitsMaxEventBytesFieldEvent | WelcomeLimitsMaxRoomsFieldEvent | WelcomeLimitsMaxBodyBytesFieldEvent | WelcomeLimitsRatePerSecFieldEvent | WelcomeLimitsBurstFieldEvent | WelcomeHttpUrlFieldEvent> {
    return streamMessage(buf, Welcome.codec(), opts)
  }
}

export interface Limits {
  maxEventBytes: number
  maxRooms: number
  maxBodyBytes: number
  ratePerSec: number
  burst: number
}

export namespace Limits {
  let _codec: Codec<Limits>

  export const codec = (): Codec<Limits> => {
    if (_codec == null) {
      _codec = message<Limits>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.maxEventBytes != null && obj.maxEventBytes !== 0)) {
          w.uint32(8)
          w.uint32(obj.maxEventBytes)
        }

        if ((obj.maxRooms != null && obj.maxRooms !== 0)) {
          w.uint32(16)
          w.uint32(obj.maxRooms)
        }

        if ((obj.maxBodyBytes != null && obj.maxBodyBytes !== 0)) {
          w.uint32(24)
          w.uint32(obj.maxBodyBytes)
        }

        if ((obj.ratePerSec != null && obj.ratePerSec !== 0)) {
          w.uint32(33)
          w.double(obj.ratePerSec)
        }

        if ((obj.burst != null && obj.burst !== 0)) {
          w.uint32(40)
          w.uint32(obj.burst)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          maxEventBytes: 0,
          maxRooms: 0,
          maxBodyBytes: 0,
          ratePerSec: 0,
          burst: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.maxEventBytes = reader.uint32()
              break
            }
            case 2: {
              obj.maxRooms = reader.uint32()
              break
            }
            case 3: {
              obj.maxBodyBytes = reader.uint32()
              break
            }
            case 4: {
              obj.ratePerSec = reader.double()
              break
            }
            case 5: {
              obj.burst = reader.uint32()
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
                field: `${prefix}.maxEventBytes`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.maxRooms`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.maxBodyBytes`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.ratePerSec`,
                value: reader.double()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.burst`,
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

  export interface LimitsMaxEventBytesFieldEvent {
    field: '$.maxEventBytes'
    value: number
  }

  export interface LimitsMaxRoomsFieldEvent {
    field: '$.maxRooms'
    value: number
  }

  export interface LimitsMaxBodyBytesFieldEvent {
    field: '$.maxBodyBytes'
    value: number
  }

  export interface LimitsRatePerSecFieldEvent {
    field: '$.ratePerSec'
    value: number
  }

  export interface LimitsBurstFieldEvent {
    field: '$.burst'
    value: number
  }

  export function encode (obj: Partial<Limits>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Limits.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Limits>): Limits {
    return decodeMessage(buf, Limits.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Limits>): Generator<LimitsMaxEventBytesFieldEvent | LimitsMaxRoomsFieldEvent | LimitsMaxBodyBytesFieldEvent | LimitsRatePerSecFieldEvent | LimitsBurstFieldEvent> {
    return streamMessage(buf, Limits.codec(), opts)
  }
}

export interface Redirect {
  to?: NodeInfo
  reason: string
}

export namespace Redirect {
  let _codec: Codec<Redirect>

  export const codec = (): Codec<Redirect> => {
    if (_codec == null) {
      _codec = message<Redirect>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.to != null) {
          w.uint32(10)
          NodeInfo.codec().encode(obj.to, w)
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(18)
          w.string(obj.reason)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          reason: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.to = NodeInfo.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.to
              })
              break
            }
            case 2: {
              obj.reason = reader.string()
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
              yield * NodeInfo.codec().stream(reader, reader.uint32(), `${prefix}.to`, {
                limits: opts.limits?.to
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.reason`,
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

  export interface RedirectToIdFieldEvent {
    field: '$.to.id'
    value: string
  }

  export interface RedirectToAddrsFieldEvent {
    field: '$.to.addrs[]'
    index: number
    value: string
  }

  export interface RedirectToClientsFieldEvent {
    field: '$.to.clients'
    value: number
  }

  export interface RedirectToMaxClientsFieldEvent {
    field: '$.to.maxClients'
    value: number
  }

  export interface RedirectToHttpUrlFieldEvent {
    field: '$.to.httpUrl'
    value: string
  }

  export interface RedirectReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export function encode (obj: Partial<Redirect>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Redirect.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Redirect>): Redirect {
    return decodeMessage(buf, Redirect.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Redirect>): Generator<RedirectToIdFieldEvent | RedirectToAddrsFieldEvent | RedirectToClientsFieldEvent | RedirectToMaxClientsFieldEvent | RedirectToHttpUrlFieldEvent | RedirectReasonFieldEvent> {
    return streamMessage(buf, Redirect.codec(), opts)
  }
}

export interface Cursor {
  hlc: bigint
  id: Uint8Array<ArrayBuffer>
}

export namespace Cursor {
  let _codec: Codec<Cursor>

  export const codec = (): Codec<Cursor> => {
    if (_codec == null) {
      _codec = message<Cursor>((obj, w, opts = {}) => {
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

  export interface CursorHlcFieldEvent {
    field: '$.hlc'
    value: bigint
  }

  export interface CursorIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Cursor>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Cursor.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Cursor>): Cursor {
    return decodeMessage(buf, Cursor.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Cursor>): Generator<CursorHlcFieldEvent | CursorIdFieldEvent> {
    return streamMessage(buf, Cursor.codec(), opts)
  }
}

export interface Join {
  room: string
  after?: Cursor
  backlog: number
}

export namespace Join {
  let _codec: Codec<Join>

  export const codec = (): Codec<Join> => {
    if (_codec == null) {
      _codec = message<Join>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(10)
          w.string(obj.room)
        }

        if (obj.after != null) {
          w.uint32(18)
          Cursor.codec().encode(obj.after, w)
        }

        if ((obj.backlog != null && obj.backlog !== 0)) {
          w.uint32(24)
          w.uint32(obj.backlog)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          room: '',
          backlog: 0
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
              obj.after = Cursor.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.after
              })
              break
            }
            case 3: {
              obj.backlog = reader.uint32()
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
              yield * Cursor.codec().stream(reader, reader.uint32(), `${prefix}.after`, {
                limits: opts.limits?.after
              })

              break
            }
            case 3: {
              yield {
                field: `${prefix}.backlog`,
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

  export interface JoinRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export interface JoinAfterHlcFieldEvent {
    field: '$.after.hlc'
    value: bigint
  }

  export interface JoinAfterIdFieldEvent {
    field: '$.after.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JoinBacklogFieldEvent {
    field: '$.backlog'
    value: number
  }

  export function encode (obj: Partial<Join>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Join.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Join>): Join {
    return decodeMessage(buf, Join.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Join>): Generator<JoinRoomFieldEvent | JoinAfterHlcFieldEvent | JoinAfterIdFieldEvent | JoinBacklogFieldEvent> {
    return streamMessage(buf, Join.codec(), opts)
  }
}

export interface Leave {
  room: string
}

export namespace Leave {
  let _codec: Codec<Leave>

  export const codec = (): Codec<Leave> => {
    if (_codec == null) {
      _codec = message<Leave>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(10)
          w.string(obj.room)
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

  export interface LeaveRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export function encode (obj: Partial<Leave>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Leave.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Leave>): Leave {
    return decodeMessage(buf, Leave.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Leave>): Generator<LeaveRoomFieldEvent> {
    return streamMessage(buf, Leave.codec(), opts)
  }
}

export interface Publish {
  event: Uint8Array<ArrayBuffer>
}

export namespace Publish {
  let _codec: Codec<Publish>

  export const codec = (): Codec<Publish> => {
    if (_codec == null) {
      _codec = message<Publish>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.event != null && obj.event.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.event)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          event: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.event = reader.bytes()
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

  export interface PublishEventFieldEvent {
    field: '$.event'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Publish>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Publish.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Publish>): Publish {
    return decodeMessage(buf, Publish.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Publish>): Generator<PublishEventFieldEvent> {
    return streamMessage(buf, Publish.codec(), opts)
  }
}

export interface HistoryQuery {
  room: string
  before?: Cursor
  after?: Cursor
  limit: number
}

export namespace HistoryQuery {
  let _codec: Codec<HistoryQuery>

  export const codec = (): Codec<HistoryQuery> => {
    if (_codec == null) {
      _codec = message<HistoryQuery>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(10)
          w.string(obj.room)
        }

        if (obj.before != null) {
          w.uint32(18)
          Cursor.codec().encode(obj.before, w)
        }

        if (obj.after != null) {
          w.uint32(26)
          Cursor.codec().encode(obj.after, w)
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
              obj.before = Cursor.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.before
              })
              break
            }
            case 3: {
              obj.after = Cursor.codec().decode(reader, reader.uint32(), {
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
              yield * Cursor.codec().stream(reader, reader.uint32(), `${prefix}.before`, {
                limits: opts.limits?.before
              })

              break
            }
            case 3: {
              yield * Cursor.codec().stream(reader, reader.uint32(), `${prefix}.after`, {
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

  export interface HistoryQueryRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export interface HistoryQueryBeforeHlcFieldEvent {
    field: '$.before.hlc'
    value: bigint
  }

  export interface HistoryQueryBeforeIdFieldEvent {
    field: '$.before.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HistoryQueryAfterHlcFieldEvent {
    field: '$.after.hlc'
    value: bigint
  }

  export interface HistoryQueryAfterIdFieldEvent {
    field: '$.after.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HistoryQueryLimitFieldEvent {
    field: '$.limit'
    value: number
  }

  export function encode (obj: Partial<HistoryQuery>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HistoryQuery.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HistoryQuery>): HistoryQuery {
    return decodeMessage(buf, HistoryQuery.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HistoryQuery>): Generator<HistoryQueryRoomFieldEvent | HistoryQueryBeforeHlcFieldEvent | HistoryQueryBeforeIdFieldEvent | HistoryQueryAfterHlcFieldEvent | HistoryQueryAfterIdFieldEvent | HistoryQueryLimitFieldEvent> {
    return streamMessage(buf, HistoryQuery.codec(), opts)
  }
}

export interface DmAck {
  ids: Uint8Array<ArrayBuffer>[]
}

export namespace DmAck {
  let _codec: Codec<DmAck>

  export const codec = (): Codec<DmAck> => {
    if (_codec == null) {
      _codec = message<DmAck>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.ids != null && obj.ids.length > 0) {
          for (const value of obj.ids) {
            w.uint32(10)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          ids: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.ids != null && obj.ids.length === opts.limits.ids) {
                throw new MaxLengthError('Decode error - repeated field "ids" had too many elements')
              }

              if (obj.ids.length === 1024) {
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
          ids: 1024
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.ids != null && obj.ids === opts.limits.ids) {
                throw new MaxLengthError('Streaming decode error - repeated field "ids" had too many elements')
              }

              if (obj.ids === 1024) {
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

  export interface DmAckIdsFieldEvent {
    field: '$.ids[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<DmAck>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, DmAck.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DmAck>): DmAck {
    return decodeMessage(buf, DmAck.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DmAck>): Generator<DmAckIdsFieldEvent> {
    return streamMessage(buf, DmAck.codec(), opts)
  }
}

export interface WatchUsers {
  users: string[]
}

export namespace WatchUsers {
  let _codec: Codec<WatchUsers>

  export const codec = (): Codec<WatchUsers> => {
    if (_codec == null) {
      _codec = message<WatchUsers>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.users != null && obj.users.length > 0) {
          for (const value of obj.users) {
            w.uint32(10)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          users: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.users != null && obj.users.length === opts.limits.users) {
                throw new MaxLengthError('Decode error - repeated field "users" had too many elements')
              }

              if (obj.users.length === 1024) {
                throw new MaxLengthError('Decode error - repeated field "users" had too many elements')
              }

              obj.users.push(reader.string())
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
          users: 1024
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.users != null && obj.users === opts.limits.users) {
                throw new MaxLengthError('Streaming decode error - repeated field "users" had too many elements')
              }

              if (obj.users === 1024) {
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

  export interface WatchUsersUsersFieldEvent {
    field: '$.users[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<WatchUsers>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, WatchUsers.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WatchUsers>): WatchUsers {
    return decodeMessage(buf, WatchUsers.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WatchUsers>): Generator<WatchUsersUsersFieldEvent> {
    return streamMessage(buf, WatchUsers.codec(), opts)
  }
}

export interface SetStatus {
  status: string
}

export namespace SetStatus {
  let _codec: Codec<SetStatus>

  export const codec = (): Codec<SetStatus> => {
    if (_codec == null) {
      _codec = message<SetStatus>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.status != null && obj.status !== '')) {
          w.uint32(10)
          w.string(obj.status)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = reader.string()
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
                field: `${prefix}.status`,
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

  export interface SetStatusStatusFieldEvent {
    field: '$.status'
    value: string
  }

  export function encode (obj: Partial<SetStatus>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SetStatus.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SetStatus>): SetStatus {
    return decodeMessage(buf, SetStatus.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SetStatus>): Generator<SetStatusStatusFieldEvent> {
    return streamMessage(buf, SetStatus.codec(), opts)
  }
}

export interface Ping {
  time: bigint
}

export namespace Ping {
  let _codec: Codec<Ping>

  export const codec = (): Codec<Ping> => {
    if (_codec == null) {
      _codec = message<Ping>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.time != null && obj.time !== 0n)) {
          w.uint32(8)
          w.uint64(obj.time)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          time: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
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
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
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

  export interface PingTimeFieldEvent {
    field: '$.time'
    value: bigint
  }

  export function encode (obj: Partial<Ping>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Ping.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ping>): Ping {
    return decodeMessage(buf, Ping.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ping>): Generator<PingTimeFieldEvent> {
    return streamMessage(buf, Ping.codec(), opts)
  }
}

export interface Pong {
  time: bigint
}

export namespace Pong {
  let _codec: Codec<Pong>

  export const codec = (): Codec<Pong> => {
    if (_codec == null) {
      _codec = message<Pong>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.time != null && obj.time !== 0n)) {
          w.uint32(8)
          w.uint64(obj.time)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          time: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
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
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
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

  export interface PongTimeFieldEvent {
    field: '$.time'
    value: bigint
  }

  export function encode (obj: Partial<Pong>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Pong.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Pong>): Pong {
    return decodeMessage(buf, Pong.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Pong>): Generator<PongTimeFieldEvent> {
    return streamMessage(buf, Pong.codec(), opts)
  }
}

export interface Ok {
  detail: string
}

export namespace Ok {
  let _codec: Codec<Ok>

  export const codec = (): Codec<Ok> => {
    if (_codec == null) {
      _codec = message<Ok>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.detail != null && obj.detail !== '')) {
          w.uint32(10)
          w.string(obj.detail)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          detail: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.detail = reader.string()
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
                field: `${prefix}.detail`,
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

  export interface OkDetailFieldEvent {
    field: '$.detail'
    value: string
  }

  export function encode (obj: Partial<Ok>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Ok.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ok>): Ok {
    return decodeMessage(buf, Ok.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ok>): Generator<OkDetailFieldEvent> {
    return streamMessage(buf, Ok.codec(), opts)
  }
}

export interface Error {
  code: number
  message: string
  retryAfterMs: number
  fatal: boolean
}

export namespace Error {
  let _codec: Codec<Error>

  export const codec = (): Codec<Error> => {
    if (_codec == null) {
      _codec = message<Error>((obj, w, opts = {}) => {
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

        if ((obj.retryAfterMs != null && obj.retryAfterMs !== 0)) {
          w.uint32(24)
          w.uint32(obj.retryAfterMs)
        }

        if ((obj.fatal != null && obj.fatal !== false)) {
          w.uint32(32)
          w.bool(obj.fatal)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          code: 0,
          message: '',
          retryAfterMs: 0,
          fatal: false
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
            case 3: {
              obj.retryAfterMs = reader.uint32()
              break
            }
            case 4: {
              obj.fatal = reader.bool()
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
            case 3: {
              yield {
                field: `${prefix}.retryAfterMs`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.fatal`,
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

  export interface ErrorCodeFieldEvent {
    field: '$.code'
    value: number
  }

  export interface ErrorMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface ErrorRetryAfterMsFieldEvent {
    field: '$.retryAfterMs'
    value: number
  }

  export interface ErrorFatalFieldEvent {
    field: '$.fatal'
    value: boolean
  }

  export function encode (obj: Partial<Error>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Error.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Error>): Error {
    return decodeMessage(buf, Error.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Error>): Generator<ErrorCodeFieldEvent | ErrorMessageFieldEvent | ErrorRetryAfterMsFieldEvent | ErrorFatalFieldEvent> {
    return streamMessage(buf, Error.codec(), opts)
  }
}

export enum DeliveryKind {
  LIVE = 'LIVE',
  REPLAY = 'REPLAY',
  HISTORY = 'HISTORY',
  MAILBOX = 'MAILBOX'
}

enum __DeliveryKindValues {
  LIVE = 0,
  REPLAY = 1,
  HISTORY = 2,
  MAILBOX = 3
}

export namespace DeliveryKind {
  export const codec = (): Codec<DeliveryKind> => {
    return enumeration<DeliveryKind>(__DeliveryKindValues)
  }
}

export interface Delivery {
  event: Uint8Array<ArrayBuffer>
  hlc: bigint
  origin: string
  kind: DeliveryKind
}

export namespace Delivery {
  let _codec: Codec<Delivery>

  export const codec = (): Codec<Delivery> => {
    if (_codec == null) {
      _codec = message<Delivery>((obj, w, opts = {}) => {
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

        if (obj.kind != null && __DeliveryKindValues[obj.kind] !== 0) {
          w.uint32(32)
          DeliveryKind.codec().encode(obj.kind, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          event: uint8ArrayAlloc(0),
          hlc: 0n,
          origin: '',
          kind: DeliveryKind.LIVE
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
            case 4: {
              obj.kind = DeliveryKind.codec().decode(reader)
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
            case 4: {
              yield {
                field: `${prefix}.kind`,
                value: DeliveryKind.codec().decode(reader)
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

  export interface DeliveryEventFieldEvent {
    field: '$.event'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DeliveryHlcFieldEvent {
    field: '$.hlc'
    value: bigint
  }

  export interface DeliveryOriginFieldEvent {
    field: '$.origin'
    value: string
  }

  export interface DeliveryKindFieldEvent {
    field: '$.kind'
    value: DeliveryKind
  }

  export function encode (obj: Partial<Delivery>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Delivery.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Delivery>): Delivery {
    return decodeMessage(buf, Delivery.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Delivery>): Generator<DeliveryEventFieldEvent | DeliveryHlcFieldEvent | DeliveryOriginFieldEvent | DeliveryKindFieldEvent> {
    return streamMessage(buf, Delivery.codec(), opts)
  }
}

export enum DmState {
  NONE = 'NONE',
  DELIVERED = 'DELIVERED',
  QUEUED = 'QUEUED'
}

enum __DmStateValues {
  NONE = 0,
  DELIVERED = 1,
  QUEUED = 2
}

export namespace DmState {
  export const codec = (): Codec<DmState> => {
    return enumeration<DmState>(__DmStateValues)
  }
}

export interface PublishAck {
  id: Uint8Array<ArrayBuffer>
  hlc: bigint
  dm: DmState
  copies: number
}

export namespace PublishAck {
  let _codec: Codec<PublishAck>

  export const codec = (): Codec<PublishAck> => {
    if (_codec == null) {
      _codec = message<PublishAck>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if ((obj.hlc != null && obj.hlc !== 0n)) {
          w.uint32(16)
          w.uint64(obj.hlc)
        }

        if (obj.dm != null && __DmStateValues[obj.dm] !== 0) {
          w.uint32(24)
          DmState.codec().encode(obj.dm, w)
        }

        if ((obj.copies != null && obj.copies !== 0)) {
          w.uint32(32)
          w.uint32(obj.copies)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0),
          hlc: 0n,
          dm: DmState.NONE,
          copies: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.bytes()
              break
            }
            case 2: {
              obj.hlc = reader.uint64()
              break
            }
            case 3: {
              obj.dm = DmState.codec().decode(reader)
              break
            }
            case 4: {
              obj.copies = reader.uint32()
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
                field: `${prefix}.id`,
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
                field: `${prefix}.dm`,
                value: DmState.codec().decode(reader)
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.copies`,
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

  export interface PublishAckIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PublishAckHlcFieldEvent {
    field: '$.hlc'
    value: bigint
  }

  export interface PublishAckDmFieldEvent {
    field: '$.dm'
    value: DmState
  }

  export interface PublishAckCopiesFieldEvent {
    field: '$.copies'
    value: number
  }

  export function encode (obj: Partial<PublishAck>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PublishAck.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PublishAck>): PublishAck {
    return decodeMessage(buf, PublishAck.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PublishAck>): Generator<PublishAckIdFieldEvent | PublishAckHlcFieldEvent | PublishAckDmFieldEvent | PublishAckCopiesFieldEvent> {
    return streamMessage(buf, PublishAck.codec(), opts)
  }
}

export interface ReplayDone {
  room: string
  count: number
  head?: Cursor
}

export namespace ReplayDone {
  let _codec: Codec<ReplayDone>

  export const codec = (): Codec<ReplayDone> => {
    if (_codec == null) {
      _codec = message<ReplayDone>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(10)
          w.string(obj.room)
        }

        if ((obj.count != null && obj.count !== 0)) {
          w.uint32(16)
          w.uint32(obj.count)
        }

        if (obj.head != null) {
          w.uint32(26)
          Cursor.codec().encode(obj.head, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          room: '',
          count: 0
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
              obj.count = reader.uint32()
              break
            }
            case 3: {
              obj.head = Cursor.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.head
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
              yield {
                field: `${prefix}.count`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield * Cursor.codec().stream(reader, reader.uint32(), `${prefix}.head`, {
                limits: opts.limits?.head
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

  export interface ReplayDoneRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export interface ReplayDoneCountFieldEvent {
    field: '$.count'
    value: number
  }

  export interface ReplayDoneHeadHlcFieldEvent {
    field: '$.head.hlc'
    value: bigint
  }

  export interface ReplayDoneHeadIdFieldEvent {
    field: '$.head.id'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ReplayDone>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ReplayDone.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReplayDone>): ReplayDone {
    return decodeMessage(buf, ReplayDone.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReplayDone>): Generator<ReplayDoneRoomFieldEvent | ReplayDoneCountFieldEvent | ReplayDoneHeadHlcFieldEvent | ReplayDoneHeadIdFieldEvent> {
    return streamMessage(buf, ReplayDone.codec(), opts)
  }
}

export interface HistoryPage {
  room: string
  events: Delivery[]
  more: boolean
}

export namespace HistoryPage {
  let _codec: Codec<HistoryPage>

  export const codec = (): Codec<HistoryPage> => {
    if (_codec == null) {
      _codec = message<HistoryPage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(10)
          w.string(obj.room)
        }

        if (obj.events != null && obj.events.length > 0) {
          for (const value of obj.events) {
            w.uint32(18)
            Delivery.codec().encode(value, w)
          }
        }

        if ((obj.more != null && obj.more !== false)) {
          w.uint32(24)
          w.bool(obj.more)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          room: '',
          events: [],
          more: false
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
              if (opts.limits?.events != null && obj.events.length === opts.limits.events) {
                throw new MaxLengthError('Decode error - repeated field "events" had too many elements')
              }

              if (obj.events.length === 1000) {
                throw new MaxLengthError('Decode error - repeated field "events" had too many elements')
              }

              obj.events.push(Delivery.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.events$
              }))
              break
            }
            case 3: {
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
              yield {
                field: `${prefix}.room`,
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

              for (const evt of Delivery.codec().stream(reader, reader.uint32(), `${prefix}.events[]`, {
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
            case 3: {
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

  export interface HistoryPageRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export interface HistoryPageEventsEventFieldEvent {
    field: '$.events[].event'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface HistoryPageEventsHlcFieldEvent {
    field: '$.events[].hlc'
    value: bigint
    index: number
  }

  export interface HistoryPageEventsOriginFieldEvent {
    field: '$.events[].origin'
    value: string
    index: number
  }

  export interface HistoryPageEventsKindFieldEvent {
    field: '$.events[].kind'
    value: DeliveryKind
    index: number
  }

  export interface HistoryPageMoreFieldEvent {
    field: '$.more'
    value: boolean
  }

  export function encode (obj: Partial<HistoryPage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HistoryPage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HistoryPage>): HistoryPage {
    return decodeMessage(buf, HistoryPage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HistoryPage>): Generator<HistoryPageRoomFieldEvent | HistoryPageEventsEventFieldEvent | HistoryPageEventsHlcFieldEvent | HistoryPageEventsOriginFieldEvent | HistoryPageEventsKindFieldEvent | HistoryPageMoreFieldEvent> {
    return streamMessage(buf, HistoryPage.codec(), opts)
  }
}

export interface RosterMember {
  userId: string
  name: string
  status: string
  nodes: string[]
}

export namespace RosterMember {
  let _codec: Codec<RosterMember>

  export const codec = (): Codec<RosterMember> => {
    if (_codec == null) {
      _codec = message<RosterMember>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.userId != null && obj.userId !== '')) {
          w.uint32(10)
          w.string(obj.userId)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(18)
          w.string(obj.name)
        }

        if ((obj.status != null && obj.status !== '')) {
          w.uint32(26)
          w.string(obj.status)
        }

        if (obj.nodes != null && obj.nodes.length > 0) {
          for (const value of obj.nodes) {
            w.uint32(34)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          userId: '',
          name: '',
          status: '',
          nodes: []
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
              obj.name = reader.string()
              break
            }
            case 3: {
              obj.status = reader.string()
              break
            }
            case 4: {
              if (opts.limits?.nodes != null && obj.nodes.length === opts.limits.nodes) {
                throw new MaxLengthError('Decode error - repeated field "nodes" had too many elements')
              }

              if (obj.nodes.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "nodes" had too many elements')
              }

              obj.nodes.push(reader.string())
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
          nodes: 64
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
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.status`,
                value: reader.string()
              }
              break
            }
            case 4: {
              if (opts.limits?.nodes != null && obj.nodes === opts.limits.nodes) {
                throw new MaxLengthError('Streaming decode error - repeated field "nodes" had too many elements')
              }

              if (obj.nodes === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "nodes" had too many elements')
              }

              yield {
                field: `${prefix}.nodes[]`,
                index: obj.nodes,
                value: reader.string()
              }

              obj.nodes++

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

  export interface RosterMemberUserIdFieldEvent {
    field: '$.userId'
    value: string
  }

  export interface RosterMemberNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface RosterMemberStatusFieldEvent {
    field: '$.status'
    value: string
  }

  export interface RosterMemberNodesFieldEvent {
    field: '$.nodes[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<RosterMember>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RosterMember.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterMember>): RosterMember {
    return decodeMessage(buf, RosterMember.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterMember>): Generator<RosterMemberUserIdFieldEvent | RosterMemberNameFieldEvent | RosterMemberStatusFieldEvent | RosterMemberNodesFieldEvent> {
    return streamMessage(buf, RosterMember.codec(), opts)
  }
}

export interface Roster {
  room: string
  members: RosterMember[]
}

export namespace Roster {
  let _codec: Codec<Roster>

  export const codec = (): Codec<Roster> => {
    if (_codec == null) {
      _codec = message<Roster>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(10)
          w.string(obj.room)
        }

        if (obj.members != null && obj.members.length > 0) {
          for (const value of obj.members) {
            w.uint32(18)
            RosterMember.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          room: '',
          members: []
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
              if (opts.limits?.members != null && obj.members.length === opts.limits.members) {
                throw new MaxLengthError('Decode error - repeated field "members" had too many elements')
              }

              if (obj.members.length === 100000) {
                throw new MaxLengthError('Decode error - repeated field "members" had too many elements')
              }

              obj.members.push(RosterMember.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.members$
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
          members: 100000
        }

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
              if (opts.limits?.members != null && obj.members === opts.limits.members) {
                throw new MaxLengthError('Streaming decode error - repeated field "members" had too many elements')
              }

              if (obj.members === 100000) {
                throw new MaxLengthError('Streaming decode error - repeated field "members" had too many elements')
              }

              for (const evt of RosterMember.codec().stream(reader, reader.uint32(), `${prefix}.members[]`, {
                limits: opts.limits?.members$
              })) {
                yield {
                  ...evt,
                  index: obj.members
                }
              }

              obj.members++

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

  export interface RosterRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export interface RosterMembersUserIdFieldEvent {
    field: '$.members[].userId'
    value: string
    index: number
  }

  export interface RosterMembersNameFieldEvent {
    field: '$.members[].name'
    value: string
    index: number
  }

  export interface RosterMembersStatusFieldEvent {
    field: '$.members[].status'
    value: string
    index: number
  }

  export interface RosterMembersNodesFieldEvent {
    field: '$.members[].nodes[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<Roster>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Roster.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Roster>): Roster {
    return decodeMessage(buf, Roster.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Roster>): Generator<RosterRoomFieldEvent | RosterMembersUserIdFieldEvent | RosterMembersNameFieldEvent | RosterMembersStatusFieldEvent | RosterMembersNodesFieldEvent> {
    return streamMessage(buf, Roster.codec(), opts)
  }
}

export interface RosterDiff {
  room: string
  userId: string
  member?: RosterMember
}

export namespace RosterDiff {
  let _codec: Codec<RosterDiff>

  export const codec = (): Codec<RosterDiff> => {
    if (_codec == null) {
      _codec = message<RosterDiff>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(10)
          w.string(obj.room)
        }

        if ((obj.userId != null && obj.userId !== '')) {
          w.uint32(18)
          w.string(obj.userId)
        }

        if (obj.member != null) {
          w.uint32(26)
          RosterMember.codec().encode(obj.member, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          room: '',
          userId: ''
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
              obj.userId = reader.string()
              break
            }
            case 3: {
              obj.member = RosterMember.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.member
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
              yield {
                field: `${prefix}.userId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield * RosterMember.codec().stream(reader, reader.uint32(), `${prefix}.member`, {
                limits: opts.limits?.member
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

  export interface RosterDiffRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export interface RosterDiffUserIdFieldEvent {
    field: '$.userId'
    value: string
  }

  export interface RosterDiffMemberUserIdFieldEvent {
    field: '$.member.userId'
    value: string
  }

  export interface RosterDiffMemberNameFieldEvent {
    field: '$.member.name'
    value: string
  }

  export interface RosterDiffMemberStatusFieldEvent {
    field: '$.member.status'
    value: string
  }

  export interface RosterDiffMemberNodesFieldEvent {
    field: '$.member.nodes[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<RosterDiff>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RosterDiff.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterDiff>): RosterDiff {
    return decodeMessage(buf, RosterDiff.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterDiff>): Generator<RosterDiffRoomFieldEvent | RosterDiffUserIdFieldEvent | RosterDiffMemberUserIdFieldEvent | RosterDiffMemberNameFieldEvent | RosterDiffMemberStatusFieldEvent | RosterDiffMemberNodesFieldEvent> {
    return streamMessage(buf, RosterDiff.codec(), opts)
  }
}

export interface UserPresence {
  userId: string
  online: boolean
  name: string
  status: string
  nodes: string[]
}

export namespace UserPresence {
  let _codec: Codec<UserPresence>

  export const codec = (): Codec<UserPresence> => {
    if (_codec == null) {
      _codec = message<UserPresence>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.userId != null && obj.userId !== '')) {
          w.uint32(10)
          w.string(obj.userId)
        }

        if ((obj.online != null && obj.online !== false)) {
          w.uint32(16)
          w.bool(obj.online)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(26)
          w.string(obj.name)
        }

        if ((obj.status != null && obj.status !== '')) {
          w.uint32(34)
          w.string(obj.status)
        }

        if (obj.nodes != null && obj.nodes.length > 0) {
          for (const value of obj.nodes) {
            w.uint32(42)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          userId: '',
          online: false,
          name: '',
          status: '',
          nodes: []
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
              obj.online = reader.bool()
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
              if (opts.limits?.nodes != null && obj.nodes.length === opts.limits.nodes) {
                throw new MaxLengthError('Decode error - repeated field "nodes" had too many elements')
              }

              if (obj.nodes.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "nodes" had too many elements')
              }

              obj.nodes.push(reader.string())
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
          nodes: 64
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
                field: `${prefix}.online`,
                value: reader.bool()
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
              if (opts.limits?.nodes != null && obj.nodes === opts.limits.nodes) {
                throw new MaxLengthError('Streaming decode error - repeated field "nodes" had too many elements')
              }

              if (obj.nodes === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "nodes" had too many elements')
              }

              yield {
                field: `${prefix}.nodes[]`,
                index: obj.nodes,
                value: reader.string()
              }

              obj.nodes++

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

  export interface UserPresenceUserIdFieldEvent {
    field: '$.userId'
    value: string
  }

  export interface UserPresenceOnlineFieldEvent {
    field: '$.online'
    value: boolean
  }

  export interface UserPresenceNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface UserPresenceStatusFieldEvent {
    field: '$.status'
    value: string
  }

  export interface UserPresenceNodesFieldEvent {
    field: '$.nodes[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<UserPresence>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, UserPresence.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<UserPresence>): UserPresence {
    return decodeMessage(buf, UserPresence.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<UserPresence>): Generator<UserPresenceUserIdFieldEvent | UserPresenceOnlineFieldEvent | UserPresenceNameFieldEvent | UserPresenceStatusFieldEvent | UserPresenceNodesFieldEvent> {
    return streamMessage(buf, UserPresence.codec(), opts)
  }
}
