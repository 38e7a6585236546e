import { DeliveryKind, ServerFrame } from '../../../client/src/protocol/pb/client.js'
import { idToHex, signedEventId } from '../../../client/src/protocol/signing.js'
import type { Delivery } from '../../../client/src/protocol/pb/client.js'
import type { EventKind } from '../../../client/src/protocol/signing.js'
import type { DmHow, LocalDelivery } from '../mesh/local-delivery.js'
import type { StampedEvent } from '../mesh/peer-events.js'
import type { SessionRegistry } from './registry.js'

/** a stamped event as the client protocol carries it */
export function toDelivery (e: StampedEvent, kind: DeliveryKind, stable = 0n): Delivery {
  return { event: e.event as Uint8Array<ArrayBuffer>, hlc: e.hlc, origin: e.origin, kind, stable }
}

/** the one place a delivery frame is built: encoded once, then shared by every session it goes to */
export function deliveryFrame (e: StampedEvent, kind: DeliveryKind, stable = 0n): Uint8Array {
  return ServerFrame.encode({ req: 0, delivery: toDelivery(e, kind, stable) })
}

const DM_KIND: Record<DmHow, DeliveryKind> = { live: DeliveryKind.LIVE, mailbox: DeliveryKind.MAILBOX }

/** The gateway's side of the mesh's delivery port: events become frames for the sessions attached here. */
export class SessionDelivery implements LocalDelivery {
  /** `stable` says from which stamp this node may lack events of a room (RoomHistory.stable) */
  constructor (private readonly registry: SessionRegistry, private readonly stable: (room: string) => bigint = () => 0n) {}

  room (room: string, e: StampedEvent, kind: EventKind): number {
    // a node carrying the room only for its archive, or whose members here all left: no one to build a frame for
    if (!this.registry.hasRoom(room)) return 0
    return this.registry.deliverToRoom(room, deliveryFrame(e, DeliveryKind.LIVE, kind === 'room' ? this.stable(room) : 0n))
  }

  late (room: string, e: StampedEvent): number {
    if (!this.registry.hasRoom(room)) return 0
    return this.registry.deliverLate(room, e.hlc, deliveryFrame(e, DeliveryKind.LIVE, this.stable(room)))
  }

  user (user: string, e: StampedEvent, how: DmHow, exceptDevice?: string): number {
    // a live DM stays with each session until its device acks it (a mailbox copy is the mailbox's)
    const pending = how === 'live' ? { idHex: idToHex(signedEventId(e.event)), event: e } : undefined
    return this.registry.deliverToUser(user, deliveryFrame(e, DM_KIND[how]), exceptDevice, pending)
  }

  device (deviceId: string, events: StampedEvent[], how: DmHow): number {
    const s = this.registry.get(deviceId)
    if (s == null || s.closed) return 0
    for (const e of events) s.sendEncoded(deliveryFrame(e, DM_KIND[how]))
    return events.length
  }

  devices (user: string): number {
    return this.registry.userSessionCount(user)
  }
}
