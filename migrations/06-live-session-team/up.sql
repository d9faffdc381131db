-- The team of each live session, so capture offers the sessions of the team the device works in. Rows from before
-- have '' (any team) until their document changes.
ALTER TABLE live_sessions ADD COLUMN team TEXT NOT NULL DEFAULT '';
