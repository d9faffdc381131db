-- Form records whose waiting step has a time limit: the sweep carries out what the flow says when it passes
-- (remind, escalate, approve). `due_at` is 0 when nothing is pending. Filled by the re-placement of version 4.
CREATE TABLE record_index (
  doc_id TEXT PRIMARY KEY,
  team_id TEXT NOT NULL,
  due_at INTEGER NOT NULL
);
CREATE INDEX record_index_due ON record_index (due_at) WHERE due_at > 0;
