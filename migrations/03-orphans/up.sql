-- Local edits to documents the device stopped holding (its access changed, or the record moved away) before the
-- server answered them. The edits stay queued for the server to judge; this keeps what the refused-edits inbox
-- shows if the server refuses them.
CREATE TABLE orphans (
  doc_id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  content TEXT NOT NULL
);
