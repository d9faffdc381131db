-- Values of the fields an admin added to the lead form (JSON: key -> value), as the lead document's `extra` map.
ALTER TABLE leads ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
