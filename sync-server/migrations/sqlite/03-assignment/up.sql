-- What the automations look up without loading documents: leads by phone and e-mail (duplicates) and by owner
-- (load), tasks by deadline (escalation). Rebuilt from the documents by the re-placement that this version runs.
CREATE TABLE lead_index (
  doc_id TEXT PRIMARY KEY,
  team_id TEXT NOT NULL,
  owner TEXT NOT NULL,
  open INTEGER NOT NULL,
  phone TEXT NOT NULL,
  email TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX lead_index_by_owner ON lead_index (team_id, open, owner);
CREATE INDEX lead_index_by_phone ON lead_index (team_id, phone) WHERE phone != '';
CREATE INDEX lead_index_by_email ON lead_index (team_id, email) WHERE email != '';
CREATE TABLE task_index (
  doc_id TEXT PRIMARY KEY,
  team_id TEXT NOT NULL,
  assignee TEXT NOT NULL,
  task_type TEXT NOT NULL,
  open INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  snoozed_until INTEGER NOT NULL,
  escalated_at INTEGER NOT NULL
);
CREATE INDEX task_index_due ON task_index (open, escalated_at, due_at);
-- Every lead a rule gave to someone, in order: round-robin and weighted shares are read from it.
CREATE TABLE assignments (
  seq INTEGER PRIMARY KEY,
  team_id TEXT NOT NULL,
  rule TEXT NOT NULL,
  user_id TEXT NOT NULL,
  doc_id TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX assignments_by_rule ON assignments (team_id, rule, user_id, seq);
-- Group-bot webhooks per team (WeCom, DingTalk, Feishu). The secret signs DingTalk requests; it is never logged.
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  team_id TEXT NOT NULL REFERENCES teams(id),
  kind TEXT NOT NULL,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  -- The last delivery: when, and why it failed (empty when it went through).
  last_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhooks_by_team ON webhooks (team_id);
