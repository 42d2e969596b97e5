-- PostgreSQL schema v3: the operator's time-ordered reads, as
-- ../0003_operator_indexes.sql.

CREATE INDEX idx_tool_calls_timestamp ON tool_calls(timestamp, id);
CREATE INDEX idx_decisions_timestamp ON decisions(timestamp, id);
CREATE INDEX idx_missions_created ON missions(created_at, id);
