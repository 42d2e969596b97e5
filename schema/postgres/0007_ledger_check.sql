-- Schema v7 changes SQLite's ledger check only (see schema/0007): SQLite
-- built a temporary index of the check's IN list for every ledger row,
-- PostgreSQL evaluates the same list directly. Nothing changes here; the
-- number keeps both backends' versions in step.
SELECT 1;
