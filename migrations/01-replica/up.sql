-- The device's local replica: documents with their pending changes, bucket cursors, and materialized rows.
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE members (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL
);
-- Saved automerge bytes of every document the device holds.
CREATE TABLE docs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  bytes BLOB NOT NULL
);
CREATE TABLE doc_buckets (
  bucket TEXT NOT NULL,
  doc_id TEXT NOT NULL,
  PRIMARY KEY (bucket, doc_id)
) WITHOUT ROWID;
CREATE INDEX doc_buckets_by_doc ON doc_buckets (doc_id);
-- Local changes the server has not acknowledged yet, in the order they were made.
CREATE TABLE pending (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  doc_id TEXT NOT NULL,
  hash BLOB NOT NULL,
  bytes BLOB NOT NULL
);
CREATE INDEX pending_by_doc ON pending (doc_id);
CREATE TABLE cursors (
  bucket TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
);
CREATE TABLE leads (
  id TEXT PRIMARY KEY,
  team TEXT NOT NULL,
  buyer_name TEXT NOT NULL,
  company TEXT NOT NULL,
  country TEXT NOT NULL,
  phone TEXT NOT NULL,
  email TEXT NOT NULL,
  contact_kind TEXT NOT NULL,
  contact TEXT NOT NULL,
  channel TEXT NOT NULL,
  live_session TEXT NOT NULL,
  product_interest TEXT NOT NULL,
  quantity INTEGER,
  notes TEXT NOT NULL,
  status TEXT NOT NULL,
  owner TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX leads_by_created ON leads (created_at DESC);
CREATE INDEX leads_by_status ON leads (status, created_at DESC);
CREATE INDEX leads_by_session ON leads (live_session, created_at DESC);
CREATE INDEX leads_by_owner ON leads (owner, created_at DESC);
CREATE TABLE live_sessions (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  platform TEXT NOT NULL,
  host TEXT NOT NULL,
  starts_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL
);
-- Edits the server refused, kept for the user to see and copy.
CREATE TABLE refused (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  doc_id TEXT NOT NULL,
  title TEXT NOT NULL,
  path TEXT NOT NULL,
  code TEXT NOT NULL,
  args TEXT NOT NULL,
  content TEXT NOT NULL,
  at INTEGER NOT NULL
);
