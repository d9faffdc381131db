-- Tasks and what assignment writes on a lead. Rows are refreshed from the documents as they arrive.
ALTER TABLE leads ADD COLUMN assigned_rule TEXT NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN assigned_rule_name TEXT NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN assigned_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN duplicate_of TEXT NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN first_contact_at INTEGER NOT NULL DEFAULT 0;
-- The logged contacts as JSON (`ContactLogView` list), oldest first.
ALTER TABLE leads ADD COLUMN contacts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE leads ADD COLUMN language TEXT NOT NULL DEFAULT '';
CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  team TEXT NOT NULL,
  title TEXT NOT NULL,
  task_type TEXT NOT NULL,
  assignee TEXT NOT NULL,
  created_by TEXT NOT NULL,
  linked_kind TEXT NOT NULL,
  linked_id TEXT NOT NULL,
  linked_title TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  priority TEXT NOT NULL,
  snoozed_until INTEGER NOT NULL,
  closed_at INTEGER NOT NULL,
  closed_by TEXT NOT NULL,
  escalated_at INTEGER NOT NULL,
  rule TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  -- Comments and checklist as JSON.
  comments TEXT NOT NULL,
  checklist TEXT NOT NULL
);
CREATE INDEX tasks_by_assignee ON tasks (assignee, status, due_at);
CREATE INDEX tasks_by_status ON tasks (status, due_at);
CREATE INDEX tasks_by_link ON tasks (linked_id);
-- Tasks that arrived for this device's user and have not been announced yet.
CREATE TABLE notices (
  task_id TEXT PRIMARY KEY,
  at INTEGER NOT NULL
);
