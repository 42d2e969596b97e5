-- PostgreSQL schema v2: provenance, as ../0002_provenance.sql.

ALTER TABLE tool_calls ADD COLUMN invocation_id BIGINT
    REFERENCES tool_calls(id) ON DELETE SET NULL;
ALTER TABLE tool_calls ADD COLUMN component_sha256 TEXT
    CHECK (component_sha256 IS NULL OR length(component_sha256) = 64);
ALTER TABLE tool_calls ADD COLUMN component_size BIGINT
    CHECK (component_size IS NULL OR component_size >= 0);
ALTER TABLE tool_calls ADD COLUMN outcome TEXT
    CHECK (outcome IS NULL OR outcome IN ('running', 'ok', 'tool_error', 'timeout',
        'memory_limit', 'stack_overflow', 'trap', 'exit', 'invalid_output',
        'load_error', 'host_error', 'cancelled'));
CREATE INDEX idx_tool_calls_invocation ON tool_calls(invocation_id);

ALTER TABLE decisions ADD COLUMN invocation_id BIGINT
    REFERENCES tool_calls(id) ON DELETE SET NULL;
CREATE INDEX idx_decisions_invocation ON decisions(invocation_id);

ALTER TABLE agent_memory ADD COLUMN invocation_id BIGINT
    REFERENCES tool_calls(id) ON DELETE SET NULL;
CREATE INDEX idx_agent_memory_invocation ON agent_memory(invocation_id);

ALTER TABLE missions ADD COLUMN invocation_id BIGINT
    REFERENCES tool_calls(id) ON DELETE SET NULL;
CREATE INDEX idx_missions_invocation ON missions(invocation_id);
