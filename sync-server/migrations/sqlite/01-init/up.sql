-- The server's store: membership, devices, documents and the bucketed change log.
CREATE TABLE teams (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL
);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  team_id TEXT NOT NULL REFERENCES teams(id),
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL
);
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  token_hash BLOB NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
-- The canonical copy of each document (saved automerge bytes) with its placement fields.
CREATE TABLE docs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  team_id TEXT NOT NULL,
  owner TEXT NOT NULL,
  created_by TEXT NOT NULL,
  bytes BLOB NOT NULL,
  seq INTEGER NOT NULL
);
CREATE TABLE doc_buckets (
  bucket TEXT NOT NULL,
  doc_id TEXT NOT NULL,
  PRIMARY KEY (bucket, doc_id)
) WITHOUT ROWID;
CREATE INDEX doc_buckets_by_doc ON doc_buckets (doc_id);
-- The ordered log: op 0 = one change, 1 = the whole document entered the bucket, 2 = it left.
CREATE TABLE log (
  seq INTEGER PRIMARY KEY,
  bucket TEXT NOT NULL,
  doc_id TEXT NOT NULL,
  op INTEGER NOT NULL,
  bytes BLOB,
  device_id TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX log_by_bucket ON log (bucket, seq);
