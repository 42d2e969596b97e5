"""The README's Python quick start: a mission, a tool call, a decision, read
back and verified. Run it from any folder: it writes
``.vibe/state/vibe_agency.db`` there (or the file or URL given as its
argument)."""

from __future__ import annotations

import sys

from vibe_store import SQLiteStore

store = SQLiteStore(sys.argv[1] if len(sys.argv) > 1 else ".vibe/state/vibe_agency.db")
mission = store.create_mission("PLANNING", {"goal": "ship the release"})
store.log_tool_call(mission, "grep", {"pattern": "TODO"}, {"matches": 3}, duration_ms=12)
store.record_decision(mission, "scope", "three TODOs are small enough", "planner")
for call in store.get_tool_history(mission):
    print(call["tool_name"], call["args"], call["result"], call["success"])
print("intact:", all(report["intact"] for report in store.verify(mission)))
