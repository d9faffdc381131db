-- Teams and roles: a user may hold several roles and belong to several teams. `users.team_id` stays the team a
-- new device starts in.
CREATE TABLE memberships (
  user_id TEXT NOT NULL REFERENCES users(id),
  team_id TEXT NOT NULL REFERENCES teams(id),
  roles TEXT NOT NULL,
  PRIMARY KEY (user_id, team_id)
) WITHOUT ROWID;
CREATE INDEX memberships_by_team ON memberships (team_id);
INSERT INTO memberships (user_id, team_id, roles) SELECT id, team_id, role FROM users;
ALTER TABLE users DROP COLUMN role;
ALTER TABLE devices ADD COLUMN last_seen INTEGER;
CREATE INDEX devices_by_user ON devices (user_id);
-- Who changed what and when: one row per accepted push of one document.
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  team_id TEXT NOT NULL,
  doc_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  action TEXT NOT NULL,
  fields TEXT NOT NULL,
  changes INTEGER NOT NULL
);
CREATE INDEX audit_by_doc ON audit (doc_id, id);
CREATE INDEX audit_by_user ON audit (user_id, id);
CREATE INDEX audit_by_team ON audit (team_id, id);
-- Server settings, such as the version of the placement rules the stored buckets follow.
CREATE TABLE server_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
