import { describe, expect, it } from 'vitest'
import { RoomState } from '../../client/src/room-state.js'

const id = (n: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => i === 31 ? n : 0)

describe('RoomState resume point', () => {
  it('is the cursor while the node lacks nothing, and the node\'s gap start while it may lack events', () => {
    const st = new RoomState(100)
    expect(st.resumeFrom()).toBeUndefined()
    st.accept({ hlc: 1000n, id: id(1) }, 'a')
    st.noteStable(0n)
    expect(st.resumeFrom()).toEqual({ hlc: 1000n, id: id(1) })
    // the node lost contact with another node at 400: a resume elsewhere starts there
    st.noteStable(400n)
    st.accept({ hlc: 2000n, id: id(2) }, 'b')
    expect(st.cursor?.hlc).toBe(2000n)
    expect(st.resumeFrom()).toEqual({ hlc: 400n, id: new Uint8Array(32) })
    // a gap that starts after the cursor changes nothing
    st.noteStable(5000n)
    expect(st.resumeFrom()).toEqual({ hlc: 2000n, id: id(2) })
    // caught up: back to the cursor
    st.noteStable(0n)
    expect(st.gapFrom).toBeUndefined()
    expect(st.resumeFrom()).toEqual({ hlc: 2000n, id: id(2) })
  })

  it('without a cursor yet, a gap start is where a resume begins', () => {
    const st = new RoomState(100)
    st.noteStable(700n)
    expect(st.resumeFrom()).toEqual({ hlc: 700n, id: new Uint8Array(32) })
  })
})
