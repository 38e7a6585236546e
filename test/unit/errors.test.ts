import { describe, expect, it } from 'vitest'
import * as errors from '../../client/src/protocol/errors.js'
import { ErrorCode, MeshchatError, asMeshchatError, errorFromCode } from '../../client/src/protocol/errors.js'
import type { ErrorCodeName } from '../../client/src/protocol/errors.js'

/** BAD_FRAME → BadFrameError, the naming rule every class follows */
function className (code: string): string {
  return code.toLowerCase().split('_').map(w => w[0]!.toUpperCase() + w.slice(1)).join('') + 'Error'
}

const entries = Object.entries(ErrorCode) as Array<[ErrorCodeName, number]>

describe('error codes', () => {
  it('codes are the published wire numbers (never renumbered)', () => {
    expect(ErrorCode).toEqual({
      BAD_FRAME: 1,
      FRAME_TOO_LARGE: 2,
      EVENT_TOO_LARGE: 3,
      INVALID_UTF8: 4,
      INVALID_ROOM: 5,
      INVALID_NAME: 6,
      BAD_SIGNATURE: 7,
      WRONG_AUTHOR: 8,
      NOT_JOINED: 9,
      RATE_LIMITED: 10,
      TOO_MANY_ROOMS: 11,
      NODE_FULL: 12,
      HELLO_REQUIRED: 13,
      UNSUPPORTED: 14,
      MAILBOX_FULL: 15,
      INTERNAL: 16,
      VERSION: 17,
      INVALID_EVENT: 18,
      INVALID_USER: 19,
      UNAVAILABLE: 20,
      TIMEOUT: 21,
      DISCONNECTED: 22,
      INVALID_QUERY: 23,
      BAD_TIMESTAMP: 24,
      TOO_SLOW: 25,
      NOT_ENTITLED: 26,
      AUTH_FAILED: 27,
      NOT_PARTICIPANT: 28,
      UNKNOWN_EVENT: 29
    })
    expect(new Set(entries.map(([, v]) => v)).size).toBe(entries.length)
  })

  it('errorFromCode maps every code to its own class, with the right name, code and message', () => {
    const exported = errors as unknown as Record<string, unknown>
    for (const [key, code] of entries) {
      const name = className(key)
      const cls = exported[name]
      expect(typeof cls, `${name} is exported for ${key}`).toBe('function')
      const err = errorFromCode(code, `msg ${key}`, 0)
      expect(err, key).toBeInstanceOf(cls as new () => Error)
      expect(err, key).toBeInstanceOf(MeshchatError)
      expect(err, key).toBeInstanceOf(Error)
      expect(err.name, key).toBe(name)
      expect((cls as { name: string }).name, `${key} class name`).toBe(name)
      expect(err.code, key).toBe(code)
      expect(err.codeName, key).toBe(key)
      expect(err.message, key).toBe(`msg ${key}`)
      expect(err.retryAfterMs, key).toBe(0)
    }
  })

  it('no two codes share a class', () => {
    const names = entries.map(([, code]) => errorFromCode(code, '').name)
    expect(new Set(names).size).toBe(entries.length)
  })

  it('directly constructed errors match the ones rebuilt from the wire', () => {
    const exported = errors as unknown as Record<string, new (message?: string, retryAfterMs?: number) => MeshchatError>
    for (const [key, code] of entries) {
      const Cls = exported[className(key)]!
      const direct = new Cls()
      expect(direct.code, key).toBe(code)
      expect(direct.name, key).toBe(className(key))
      // the default message is the class name, so an error is never blank
      expect(direct.message, key).toBe(className(key))
    }
  })

  it('retryAfterMs travels with the error', () => {
    const err = errorFromCode(ErrorCode.RATE_LIMITED, 'slow down', 1234)
    expect(err).toBeInstanceOf(errors.RateLimitedError)
    expect(err.retryAfterMs).toBe(1234)
    expect(new errors.RateLimitedError('x', 50).retryAfterMs).toBe(50)
  })

  it('an unknown code becomes a plain MeshchatError that keeps the code', () => {
    const err = errorFromCode(999, 'from the future', 5)
    expect(err.constructor).toBe(MeshchatError)
    expect(err.name).toBe('MeshchatError')
    expect(err.code).toBe(999)
    expect(err.codeName).toBe('UNKNOWN')
    expect(err.retryAfterMs).toBe(5)
    expect(errorFromCode(0, '').codeName).toBe('UNKNOWN')
  })

  it('asMeshchatError keeps meshchat errors and wraps anything else as INTERNAL', () => {
    const own = new errors.NotJoinedError('no')
    expect(asMeshchatError(own)).toBe(own)
    const wrapped = asMeshchatError(new TypeError('boom'))
    expect(wrapped).toBeInstanceOf(errors.InternalError)
    expect(wrapped.code).toBe(ErrorCode.INTERNAL)
    expect(wrapped.message).toBe('boom')
    expect(asMeshchatError('text').message).toBe('text')
  })
})
