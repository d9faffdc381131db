-- Spreadsheet imports. A job keeps its file (copied into the data folder), the mapping, and how far it got; each
-- chunk of rows is committed with the job's progress, so an import cut short by closing the app resumes where it
-- stopped and never imports a row twice.
CREATE TABLE import_jobs (
  id TEXT PRIMARY KEY,
  file_name TEXT NOT NULL,
  path TEXT NOT NULL,
  -- JSON: the field key per column ("" = left out).
  mapping TEXT NOT NULL,
  status TEXT NOT NULL,
  total INTEGER NOT NULL,
  next_row INTEGER NOT NULL,
  imported INTEGER NOT NULL,
  refused INTEGER NOT NULL,
  duplicates INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
-- Rows not imported, for the report.
CREATE TABLE import_issues (
  job TEXT NOT NULL,
  row INTEGER NOT NULL,
  kind TEXT NOT NULL,
  field TEXT NOT NULL,
  -- JSON AppError.
  error TEXT NOT NULL,
  existing TEXT NOT NULL,
  -- JSON list of the row's cells as text.
  cells TEXT NOT NULL,
  PRIMARY KEY (job, row)
) WITHOUT ROWID;
