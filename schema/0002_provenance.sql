-- Schema v2: provenance. Which rows the host wrote for an invocation, which
-- component ran, and which rows a tool wrote from inside its sandbox.
--
-- Every column is nullable, so programs that write v1-style rows keep
-- working: their rows simply carry no provenance.
--
-- tool_calls.component_sha256 / component_size / outcome: set only on an
--   invocation row, the one row the host writes for each time it runs (or
--   fails to load) a component. `outcome` names how it ended: running, ok,
--   tool_error, timeout, memory_limit, stack_overflow, trap, exit,
--   invalid_output, load_error, host_error, cancelled. A row whose outcome
--   is still `running` belongs to an invocation in progress, or to a host
--   that stopped before the invocation ended.
-- *.invocation_id: set on every row a tool wrote from inside its sandbox,
--   naming the invocation row it belongs to. A tool cannot set or forge it:
--   the WIT contract has no field for it; the host fills it in.

ALTER TABLE tool_calls ADD COLUMN invocation_id INTEGER
    REFERENCES tool_calls(id) ON DELETE SET NULL;
ALTER TABLE tool_calls ADD COLUMN component_sha256 TEXT
    CHECK (component_sha256 IS NULL OR length(component_sha256) = 64);
ALTER TABLE tool_calls ADD COLUMN component_size INTEGER
    CHECK (component_size IS NULL OR component_size >= 0);
ALTER TABLE tool_calls ADD COLUMN outcome TEXT
    CHECK (outcome IS NULL OR outcome IN ('running', 'ok', 'tool_error', 'timeout',
        'memory_limit', 'stack_overflow', 'trap', 'exit', 'invalid_output',
        'load_error', 'host_error', 'cancelled'));
CREATE INDEX idx_tool_calls_invocation ON tool_calls(invocation_id);

ALTER TABLE decisions ADD COLUMN invocation_id INTEGER
    REFERENCES tool_calls(id) ON DELETE SET NULL;
CREATE INDEX idx_decisions_invocation ON decisions(invocation_id);

ALTER TABLE agent_memory ADD COLUMN invocation_id INTEGER
    REFERENCES tool_calls(id) ON DELETE SET NULL;
CREATE INDEX idx_agent_memory_invocation ON agent_memory(invocation_id);

-- The invocation that created the mission, if a tool did.
ALTER TABLE missions ADD COLUMN invocation_id INTEGER
    REFERENCES tool_calls(id) ON DELETE SET NULL;
-- Each column above that references tool_calls is indexed: deleting a tool
-- call looks every one of them up.
CREATE INDEX idx_missions_invocation ON missions(invocation_id);
