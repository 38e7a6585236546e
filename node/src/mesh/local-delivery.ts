import type { EventKind } from '../../../client/src/protocol/signing.js'
import type { StampedEvent } from './peer-events.js'

/** how a DM reaches a device: live, or as a mailbox copy the client acknowledges */
export type DmHow = 'live' | 'mailbox'

/**
 * Where the mesh hands the events that this node's own clients should see.
 * The mesh knows nothing of client sessions or frames: it calls this port,
 * and the gateway (which implements it) turns each call into one encoded
 * frame shared by every session it goes to. Each method returns how many
 * devices it reached.
 */
export interface LocalDelivery {
  /** a live room or typing event to every local member of `room` */
  room: (room: string, e: StampedEvent, kind: EventKind) => number
  /** a room event found late (by backfill) to the local members that may be missing it */
  late: (room: string, e: StampedEvent) => number
  /** a DM to the devices of `user` attached here, except `exceptDevice` */
  user: (user: string, e: StampedEvent, how: DmHow, exceptDevice?: string) => number
  /** DMs to one device (a mailbox collected for it when it attached) */
  device: (deviceId: string, events: StampedEvent[], how: DmHow) => number
  /** devices of `user` attached here and ready */
  devices: (user: string) => number
}
