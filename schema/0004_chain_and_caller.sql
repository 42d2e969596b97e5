-- Schema v4: tamper evidence, and who asked for an invocation.
--
-- Every row vibe-store writes is chained, per
-- mission, by SHA-256 (see docs/guarantees.md, "Tamper evidence").
--
-- row_chain is the mission's ledger: one entry for every write vibe-store
-- makes to one of its rows (insert, update, or deletion of a memory key), in
-- order. An entry's hash covers the previous entry's hash, its position, the
-- row it is about (its table and chain position) and the SHA-256 of the
-- row's content after the write, so an entry cannot be edited, removed or
-- inserted without breaking every hash after it.
--
-- <table>.chain_seq: the row's position in its mission's chain (the entry
--   that first wrote it); it names the row across files, where ids do not.
-- <table>.chain_hash: the hash of the row's latest entry.
--
-- Both are NULL on rows other programs write: `vibe verify` reports those as
-- unchained, not as tampering. No foreign key: a ledger whose mission row
-- was deleted behind vibe-store's back is evidence, and is kept.

CREATE TABLE row_chain (
    mission_id  INTEGER NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    row_table   TEXT NOT NULL
        CHECK (row_table IN ('missions', 'tool_calls', 'decisions', 'agent_memory',
                             'playbook_runs')),
    row_seq     INTEGER NOT NULL CHECK (row_seq >= 1),
    row_digest  TEXT CHECK (row_digest IS NULL OR length(row_digest) = 64),
    hash        TEXT NOT NULL CHECK (length(hash) = 64),
    PRIMARY KEY (mission_id, seq)
) WITHOUT ROWID;

ALTER TABLE missions ADD COLUMN chain_seq INTEGER;
ALTER TABLE missions ADD COLUMN chain_hash TEXT;
ALTER TABLE tool_calls ADD COLUMN chain_seq INTEGER;
ALTER TABLE tool_calls ADD COLUMN chain_hash TEXT;
ALTER TABLE decisions ADD COLUMN chain_seq INTEGER;
ALTER TABLE decisions ADD COLUMN chain_hash TEXT;
ALTER TABLE agent_memory ADD COLUMN chain_seq INTEGER;
ALTER TABLE agent_memory ADD COLUMN chain_hash TEXT;
ALTER TABLE playbook_runs ADD COLUMN chain_seq INTEGER;
ALTER TABLE playbook_runs ADD COLUMN chain_hash TEXT;

-- tool_calls.caller: who asked for an invocation, as JSON, on invocation
-- rows only. `vibe mcp` records {"transport": "stdio" | "http", "client":
-- NAME, "client_version": VERSION, "request_id": ID}; NULL for `vibe run`
-- and for rows not written by the host.
ALTER TABLE tool_calls ADD COLUMN caller TEXT
    CHECK (caller IS NULL OR json_valid(caller));
