-- Schema v6: provenance that survives a copy and a prune.
--
-- A row a tool wrote names its invocation by invocation_id, a row id of
-- this database. Ids differ between databases and vanish when the
-- invocation's mission is pruned (ON DELETE SET NULL), so a mission a tool
-- created in another mission lost its origin on every copy, import and
-- prune, and its chain (which covered the invocation's identity, joined
-- through that id) no longer verified.
--
-- Each row now stores that identity itself: the invocation's mission uuid
-- and its chain position, set in the same statement as invocation_id. The
-- chain covers these two columns, so a row's digest no longer depends on
-- another row being present. The backfill below gives every existing row
-- exactly the values its chain entry was computed from.
--
-- invocation_id is kept, and resolved again when the invocation arrives
-- later (an import of its mission); the partial indexes find the rows
-- still waiting for theirs.

ALTER TABLE missions ADD COLUMN invocation_mission TEXT;
ALTER TABLE missions ADD COLUMN invocation_seq INTEGER;
ALTER TABLE tool_calls ADD COLUMN invocation_mission TEXT;
ALTER TABLE tool_calls ADD COLUMN invocation_seq INTEGER;
ALTER TABLE decisions ADD COLUMN invocation_mission TEXT;
ALTER TABLE decisions ADD COLUMN invocation_seq INTEGER;
ALTER TABLE agent_memory ADD COLUMN invocation_mission TEXT;
ALTER TABLE agent_memory ADD COLUMN invocation_seq INTEGER;

UPDATE missions SET
    invocation_mission = (SELECT m.mission_uuid FROM tool_calls i JOIN missions m ON m.id = i.mission_id
                          WHERE i.id = missions.invocation_id),
    invocation_seq = (SELECT i.chain_seq FROM tool_calls i WHERE i.id = missions.invocation_id)
WHERE invocation_id IS NOT NULL;
UPDATE tool_calls SET
    invocation_mission = (SELECT m.mission_uuid FROM tool_calls i JOIN missions m ON m.id = i.mission_id
                          WHERE i.id = tool_calls.invocation_id),
    invocation_seq = (SELECT i.chain_seq FROM tool_calls i WHERE i.id = tool_calls.invocation_id)
WHERE invocation_id IS NOT NULL;
UPDATE decisions SET
    invocation_mission = (SELECT m.mission_uuid FROM tool_calls i JOIN missions m ON m.id = i.mission_id
                          WHERE i.id = decisions.invocation_id),
    invocation_seq = (SELECT i.chain_seq FROM tool_calls i WHERE i.id = decisions.invocation_id)
WHERE invocation_id IS NOT NULL;
UPDATE agent_memory SET
    invocation_mission = (SELECT m.mission_uuid FROM tool_calls i JOIN missions m ON m.id = i.mission_id
                          WHERE i.id = agent_memory.invocation_id),
    invocation_seq = (SELECT i.chain_seq FROM tool_calls i WHERE i.id = agent_memory.invocation_id)
WHERE invocation_id IS NOT NULL;

CREATE INDEX idx_missions_unresolved ON missions(invocation_mission, invocation_seq)
    WHERE invocation_id IS NULL AND invocation_mission IS NOT NULL;
CREATE INDEX idx_tool_calls_unresolved ON tool_calls(invocation_mission, invocation_seq)
    WHERE invocation_id IS NULL AND invocation_mission IS NOT NULL;
CREATE INDEX idx_decisions_unresolved ON decisions(invocation_mission, invocation_seq)
    WHERE invocation_id IS NULL AND invocation_mission IS NOT NULL;
CREATE INDEX idx_agent_memory_unresolved ON agent_memory(invocation_mission, invocation_seq)
    WHERE invocation_id IS NULL AND invocation_mission IS NOT NULL;
