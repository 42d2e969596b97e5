"""Runs a WebAssembly tool for a mission from Python, as ``vibe run`` does:
``python run_tool.py TOOL.wasm '{"input": "json"}' [DB]``. Prints the
outcome, the output and the id of the invocation's row."""

from __future__ import annotations

import json
import sys

from vibe_store import Runtime, SQLiteStore


def main(tool_path: str, input_json: str, db: str = ".vibe/state/vibe_agency.db") -> int:
    store = SQLiteStore(db)
    mission = store.create_mission("CODING", {"tool": tool_path})
    runtime = Runtime(store)
    report = runtime.run(tool_path, mission, json.loads(input_json), timeout_ms=5_000, memory_mb=64)
    print(report.outcome, json.dumps(report.output), f"row {report.invocation_id}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
