-- Schema v7: the ledger's table check, written as comparisons.
--
-- row_chain's check `row_table IN ('missions', ...)` cost about 2 us on
-- every ledger row written: SQLite evaluates an IN list of more than two
-- constants by building a temporary index of the list each time a
-- statement runs, and the store runs its ledger insert once per row. That
-- was a sixth of a batched tool call and most of what the chain's storage
-- added to it (measured with SQLite 3.40 and 3.50: 3.3 us per ledger row
-- with the IN list, 1.3 us with the same rule as comparisons, 1.3 us with
-- no check). The rule is unchanged: the same five names, compared as the
-- IN list compared them (the column's BINARY collation).
--
-- SQLite cannot change a check in place, so the table is rebuilt (SQLite's
-- documented procedure: create, copy, drop, rename; row_chain has no
-- index, trigger, view or foreign key to carry over). Entries another
-- program wrote past a check are copied as they are, as `vibe backup`
-- copies them; `vibe verify` still reports what they break.
--
-- PostgreSQL evaluates an IN list without building anything; its
-- migration 7 changes nothing.

PRAGMA ignore_check_constraints = ON;

CREATE TABLE row_chain_v7 (
    mission_id  INTEGER NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    row_table   TEXT NOT NULL
        CHECK (row_table = 'missions' OR row_table = 'tool_calls' OR row_table = 'decisions'
               OR row_table = 'agent_memory' OR row_table = 'playbook_runs'),
    row_seq     INTEGER NOT NULL CHECK (row_seq >= 1),
    row_digest  TEXT CHECK (row_digest IS NULL OR length(row_digest) = 64),
    hash        TEXT NOT NULL CHECK (length(hash) = 64),
    PRIMARY KEY (mission_id, seq)
) WITHOUT ROWID;

INSERT INTO row_chain_v7 (mission_id, seq, row_table, row_seq, row_digest, hash)
    SELECT mission_id, seq, row_table, row_seq, row_digest, hash FROM row_chain;

PRAGMA ignore_check_constraints = OFF;

DROP TABLE row_chain;
ALTER TABLE row_chain_v7 RENAME TO row_chain;
