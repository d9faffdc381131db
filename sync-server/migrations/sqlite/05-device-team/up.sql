-- The team a device works in, for a user in several teams: its new records, roles, members and admin screens.
-- NULL: the user's first team. A team the user has left counts as NULL too.
ALTER TABLE devices ADD COLUMN team_id TEXT REFERENCES teams(id);
