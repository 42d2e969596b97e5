-- PostgreSQL schema v4: tamper evidence and the caller of an invocation, as
-- ../0004_chain_and_caller.sql (which explains both).

CREATE TABLE row_chain (
    mission_id  BIGINT NOT NULL,
    seq         BIGINT NOT NULL CHECK (seq >= 1),
    row_table   TEXT NOT NULL
        CHECK (row_table IN ('missions', 'tool_calls', 'decisions', 'agent_memory',
                             'playbook_runs')),
    row_seq     BIGINT NOT NULL CHECK (row_seq >= 1),
    row_digest  TEXT CHECK (row_digest IS NULL OR length(row_digest) = 64),
    hash        TEXT NOT NULL CHECK (length(hash) = 64),
    PRIMARY KEY (mission_id, seq)
);

ALTER TABLE missions ADD COLUMN chain_seq BIGINT;
ALTER TABLE missions ADD COLUMN chain_hash TEXT;
ALTER TABLE tool_calls ADD COLUMN chain_seq BIGINT;
ALTER TABLE tool_calls ADD COLUMN chain_hash TEXT;
ALTER TABLE decisions ADD COLUMN chain_seq BIGINT;
ALTER TABLE decisions ADD COLUMN chain_hash TEXT;
ALTER TABLE agent_memory ADD COLUMN chain_seq BIGINT;
ALTER TABLE agent_memory ADD COLUMN chain_hash TEXT;
ALTER TABLE playbook_runs ADD COLUMN chain_seq BIGINT;
ALTER TABLE playbook_runs ADD COLUMN chain_hash TEXT;

ALTER TABLE tool_calls ADD COLUMN caller TEXT
    CHECK (caller IS NULL OR caller::json IS NOT NULL);
