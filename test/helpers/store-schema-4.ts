/**
 * The store's tables as schema 4 wrote them (history keyed by event id, `WITHOUT ROWID`), for tests
 * and benchmarks of the migration to schema 5 and of the layout it replaced.
 */
export const SCHEMA_4_MESSAGES = `
  CREATE TABLE messages (id BLOB PRIMARY KEY, room TEXT NOT NULL, hlc INTEGER NOT NULL, origin TEXT NOT NULL, author TEXT NOT NULL, event BLOB NOT NULL) WITHOUT ROWID;
  CREATE INDEX messages_order ON messages (room, hlc, id);
`

/** every table and index of a schema 4 file, and its version */
export const SCHEMA_4 = `${SCHEMA_4_MESSAGES}
  CREATE TABLE mailbox (user TEXT NOT NULL, id BLOB NOT NULL, hlc INTEGER NOT NULL, origin TEXT NOT NULL, event BLOB NOT NULL, sender TEXT NOT NULL DEFAULT '', PRIMARY KEY (user, id)) WITHOUT ROWID;
  CREATE INDEX mailbox_order ON mailbox (user, hlc, id);
  CREATE INDEX mailbox_sender ON mailbox (user, sender);
  CREATE TABLE dm_history (id BLOB PRIMARY KEY, conv TEXT NOT NULL, hlc INTEGER NOT NULL, origin TEXT NOT NULL, author TEXT NOT NULL, event BLOB NOT NULL) WITHOUT ROWID;
  CREATE INDEX dm_history_order ON dm_history (conv, hlc, id);
  CREATE INDEX mailbox_age ON mailbox (hlc);
  CREATE INDEX dm_history_age ON dm_history (hlc);
  PRAGMA user_version = 4;
`
