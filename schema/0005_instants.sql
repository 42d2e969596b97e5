-- Schema v5: times compared as the instants they name.
--
-- Other programs stamp rows their own way (`2026-11-30 09:35:01`,
-- `2026-11-30T09:35:01.828406`, `2026-11-30 09:35:01.828406+00`), and as
-- text those sort by their characters. Every filter, order and prune now
-- compares the instant a stored time names, through one expression (the
-- `sqlite_instant!` macro in host/src/store/time.rs, written out below for
-- each column; a test holds the two to be the same): SQLite's julianday of
-- the text, its offset respelled as SQLite reads it, and -1 for text that is
-- not a time. Built-in functions only, so any program that writes these
-- tables with any SQLite keeps the indexes as this one does.
--
-- The text indexes of schema v3 served the comparison of text; these
-- replace them.

DROP INDEX idx_tool_calls_timestamp;
DROP INDEX idx_decisions_timestamp;
DROP INDEX idx_missions_created;

CREATE INDEX idx_tool_calls_instant ON tool_calls(coalesce(CASE WHEN (timestamp GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' OR timestamp GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ][0-2][0-9]:[0-5][0-9]*') AND substr(timestamp, 1, 4) <> '0000' AND substr(timestamp, 12, 2) < '24' AND date(substr(timestamp, 1, 10)) = substr(timestamp, 1, 10) THEN julianday(CASE WHEN timestamp GLOB '*[0-9]:[0-9][0-9]*[+-][0-9][0-9]' THEN timestamp || ':00' WHEN timestamp GLOB '*[0-9]:[0-9][0-9]*[+-][0-9][0-9][0-9][0-9]' THEN substr(timestamp, 1, length(timestamp) - 2) || ':' || substr(timestamp, -2) ELSE timestamp END) END, -1));
CREATE INDEX idx_decisions_instant ON decisions(coalesce(CASE WHEN (timestamp GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' OR timestamp GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ][0-2][0-9]:[0-5][0-9]*') AND substr(timestamp, 1, 4) <> '0000' AND substr(timestamp, 12, 2) < '24' AND date(substr(timestamp, 1, 10)) = substr(timestamp, 1, 10) THEN julianday(CASE WHEN timestamp GLOB '*[0-9]:[0-9][0-9]*[+-][0-9][0-9]' THEN timestamp || ':00' WHEN timestamp GLOB '*[0-9]:[0-9][0-9]*[+-][0-9][0-9][0-9][0-9]' THEN substr(timestamp, 1, length(timestamp) - 2) || ':' || substr(timestamp, -2) ELSE timestamp END) END, -1));
CREATE INDEX idx_missions_created_instant ON missions(coalesce(CASE WHEN (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' OR created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ][0-2][0-9]:[0-5][0-9]*') AND substr(created_at, 1, 4) <> '0000' AND substr(created_at, 12, 2) < '24' AND date(substr(created_at, 1, 10)) = substr(created_at, 1, 10) THEN julianday(CASE WHEN created_at GLOB '*[0-9]:[0-9][0-9]*[+-][0-9][0-9]' THEN created_at || ':00' WHEN created_at GLOB '*[0-9]:[0-9][0-9]*[+-][0-9][0-9][0-9][0-9]' THEN substr(created_at, 1, length(created_at) - 2) || ':' || substr(created_at, -2) ELSE created_at END) END, -1), id);
