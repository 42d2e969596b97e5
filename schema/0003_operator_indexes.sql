-- Schema v3: indexes for the operator's queries across missions.
--
-- `vibe tools --all-missions --since 1h` and `vibe decisions --all-missions`
-- read rows by time across every mission, and `vibe mission list` lists
-- missions newest first by creation time. Without these, each of those is
-- a scan and a sort of the whole table.

CREATE INDEX idx_tool_calls_timestamp ON tool_calls(timestamp, id);
CREATE INDEX idx_decisions_timestamp ON decisions(timestamp, id);
CREATE INDEX idx_missions_created ON missions(created_at, id);
