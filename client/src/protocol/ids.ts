/** Protocol ids and topic names. One place, so node and client cannot drift apart. */

/** client ↔ gateway */
export const CLIENT_PROTOCOL = '/meshchat/client/1.0.0'
/** node → node direct message delivery */
export const DM_PROTOCOL = '/meshchat/dm/1.0.0'
/** node ↔ node presence pulls, history backfill, mailbox transfer */
export const SYNC_PROTOCOL = '/meshchat/sync/1.0.0'
/** node → node fresh room events handed to carrying nodes, one way (no answer) */
export const HANDOFF_PROTOCOL = '/meshchat/handoff/1.0.0'
/** gossipsub topic carrying presence deltas and heartbeats */
export const PRESENCE_TOPIC = 'meshchat/1/presence'
/** the client protocol major version a `hello` must carry */
export const CLIENT_PROTOCOL_VERSION = 1

const ROOM_PREFIX = 'meshchat/1/room/'

/** the gossipsub topic of a room */
export function roomTopic (room: string): string {
  return ROOM_PREFIX + room
}

/** the room a topic belongs to, or undefined for non-room topics */
export function roomFromTopic (topic: string): string | undefined {
  return topic.startsWith(ROOM_PREFIX) ? topic.slice(ROOM_PREFIX.length) : undefined
}
