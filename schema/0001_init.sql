-- Schema v1: the ARCH-001 v1 layout, with two deliberate fixes.
--
-- 1. JSON columns are TEXT with a json_valid CHECK. A column declared JSON
--    gets NUMERIC affinity in SQLite, so the JSON text `5` would come back as
--    the integer 5 and `1.0` as the integer 1: the original layout loses data.
-- 2. Every timestamp vibe-store writes is fixed-width RFC 3339 UTC with
--    microseconds (2026-11-27T01:39:01.123456Z), so text order is time order.
--    Rows written by other programs may carry shorter timestamps; readers
--    accept them as they are.
--
-- Foreign keys cascade: deleting a mission deletes its audit trail. The host
-- never deletes missions; the cascade is there for other programs.

CREATE TABLE missions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    mission_uuid  TEXT UNIQUE NOT NULL,
    phase         TEXT NOT NULL
        CHECK (phase IN ('PLANNING', 'CODING', 'TESTING', 'DEPLOYMENT', 'MAINTENANCE')),
    status        TEXT NOT NULL
        CHECK (status IN ('pending', 'in_progress', 'completed', 'failed')),
    created_at    TEXT NOT NULL,
    completed_at  TEXT,
    metadata      TEXT CHECK (metadata IS NULL OR json_valid(metadata))
);
CREATE INDEX idx_missions_status ON missions(status);
CREATE INDEX idx_missions_phase ON missions(phase);

CREATE TABLE tool_calls (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    mission_id     INTEGER NOT NULL REFERENCES missions(id) ON DELETE CASCADE,
    tool_name      TEXT NOT NULL,
    args           TEXT NOT NULL CHECK (json_valid(args)),
    result         TEXT CHECK (result IS NULL OR json_valid(result)),
    timestamp      TEXT NOT NULL,
    duration_ms    INTEGER,
    success        INTEGER NOT NULL CHECK (success IN (0, 1)),
    error_message  TEXT
);
CREATE INDEX idx_tool_calls_mission ON tool_calls(mission_id, timestamp);
-- Serves paging by id within a mission (after-id), beside the layout's own.
CREATE INDEX idx_tool_calls_mission_id ON tool_calls(mission_id, id);
CREATE INDEX idx_tool_calls_success ON tool_calls(success);
CREATE INDEX idx_tool_calls_tool_name ON tool_calls(tool_name);

CREATE TABLE decisions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    mission_id     INTEGER NOT NULL REFERENCES missions(id) ON DELETE CASCADE,
    decision_type  TEXT NOT NULL,
    rationale      TEXT,
    timestamp      TEXT NOT NULL,
    agent_name     TEXT,
    context        TEXT CHECK (context IS NULL OR json_valid(context))
);
CREATE INDEX idx_decisions_mission ON decisions(mission_id, timestamp);
CREATE INDEX idx_decisions_mission_id ON decisions(mission_id, id);
CREATE INDEX idx_decisions_type ON decisions(decision_type);
CREATE INDEX idx_decisions_agent ON decisions(agent_name);

CREATE TABLE playbook_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    mission_id     INTEGER NOT NULL REFERENCES missions(id) ON DELETE CASCADE,
    playbook_name  TEXT NOT NULL,
    phase          TEXT,
    started_at     TEXT NOT NULL,
    completed_at   TEXT,
    success        INTEGER CHECK (success IS NULL OR success IN (0, 1)),
    metrics        TEXT CHECK (metrics IS NULL OR json_valid(metrics)),
    error_message  TEXT
);
CREATE INDEX idx_playbook_runs_mission ON playbook_runs(mission_id);
CREATE INDEX idx_playbook_runs_name ON playbook_runs(playbook_name);
CREATE INDEX idx_playbook_runs_success ON playbook_runs(success);

CREATE TABLE agent_memory (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    mission_id  INTEGER NOT NULL REFERENCES missions(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT CHECK (value IS NULL OR json_valid(value)),
    timestamp   TEXT NOT NULL,
    ttl         INTEGER,
    expires_at  TEXT,
    UNIQUE (mission_id, key)
);
CREATE INDEX idx_agent_memory_mission ON agent_memory(mission_id);
CREATE INDEX idx_agent_memory_expires ON agent_memory(expires_at);

CREATE VIEW active_missions AS
SELECT m.id,
       m.mission_uuid,
       m.phase,
       m.status,
       m.created_at,
       (SELECT COUNT(*) FROM tool_calls t WHERE t.mission_id = m.id) AS tool_call_count,
       (SELECT COUNT(*) FROM decisions d WHERE d.mission_id = m.id) AS decision_count
FROM missions m
WHERE m.status IN ('pending', 'in_progress');

CREATE VIEW tool_usage_stats AS
SELECT tool_name,
       COUNT(*)                                  AS total_calls,
       SUM(CASE WHEN success = 1 THEN 1 ELSE 0 END) AS successful_calls,
       AVG(duration_ms)                          AS avg_duration_ms,
       MAX(duration_ms)                          AS max_duration_ms
FROM tool_calls
GROUP BY tool_name;

CREATE VIEW playbook_performance AS
SELECT playbook_name,
       COUNT(*)                                  AS total_runs,
       SUM(CASE WHEN success = 1 THEN 1 ELSE 0 END) AS successful_runs,
       AVG((julianday(completed_at) - julianday(started_at)) * 86400000.0) AS avg_duration_ms
FROM playbook_runs
GROUP BY playbook_name;
