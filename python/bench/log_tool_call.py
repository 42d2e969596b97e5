"""Times ``log_tool_call`` three ways, taking turns of BLOCK calls on the
same disk: from Python through vibe_store; the same call made from Rust on
the same store (the same file, the same SQLite, no Python per call); and
the ARCH-002 way (a ``sqlite3`` connection, a mission lookup, an INSERT and
a commit per call, on the same ARCH-001 layout in a file of its own).
``vibe bench`` (row 14) runs it and prints the three side by side.

Usage: python log_tool_call.py DIR CALLS DURABILITY SCHEMA_SQL
Prints one JSON object: per-call medians in nanoseconds of the blocks.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import statistics
import sys
import threading
import time
from pathlib import Path

from vibe_store import SQLiteStore

BLOCK = 20
ARGS = {"path": "src/main.rs", "pattern": "fn main"}
RESULT = {"matches": 3}


def arch002_log_tool_call(db_path: Path, mission_uuid: str) -> None:
    """ARCH-002's ``log_tool_call`` as its implementation notes write it."""
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    with sqlite3.connect(db_path) as conn:
        mission_id = conn.execute(
            "SELECT id FROM missions WHERE mission_uuid = ?", (mission_uuid,)
        ).fetchone()
        if not mission_id:
            raise ValueError(f"Mission not found: {mission_uuid}")
        conn.execute(
            "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, "
            "duration_ms, success, error_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (mission_id[0], "grep", json.dumps(ARGS), json.dumps(RESULT), now, 12, 1, None),
        )
    conn.close()


def main(directory: str, calls: str, durability: str, schema_sql: str) -> None:
    folder = Path(directory)
    n = max(int(calls) // BLOCK, 1)
    store = SQLiteStore(folder / "python-vibe-store.db", durability=durability)  # type: ignore[arg-type]
    mission = store.create_mission("CODING")

    arch002 = folder / "python-arch002.db"
    with sqlite3.connect(arch002) as conn:
        conn.executescript(Path(schema_sql).read_text())
        conn.execute(
            "INSERT INTO missions (mission_uuid, phase, status, created_at, metadata) "
            "VALUES (?, 'CODING', 'pending', ?, '{}')",
            (mission, datetime.datetime.now(datetime.timezone.utc).isoformat()),
        )
    conn.close()

    package: list[float] = []
    rust: list[float] = []
    baseline: list[float] = []
    args_text, result_text = json.dumps(ARGS), json.dumps(RESULT)
    for _ in range(n):
        started = time.perf_counter_ns()
        for _ in range(BLOCK):
            store.log_tool_call(mission, "grep", ARGS, RESULT, duration_ms=12)
        package.append((time.perf_counter_ns() - started) / BLOCK)
        started = time.perf_counter_ns()
        store._log_tool_calls_from_rust(mission, "grep", args_text, result_text, 12, BLOCK)
        rust.append((time.perf_counter_ns() - started) / BLOCK)
        started = time.perf_counter_ns()
        for _ in range(BLOCK):
            arch002_log_tool_call(arch002, mission)
        baseline.append((time.perf_counter_ns() - started) / BLOCK)
    assert len(store.get_tool_history(mission)) == 2 * n * BLOCK

    # Threads: the same number of calls from 1 thread and from 8 at once
    # (the GIL is released inside each call), total time per call.
    def threads(count: int) -> float:
        mission = store.create_mission("CODING")
        per_thread = max(n * BLOCK // count, 1)

        def work() -> None:
            for _ in range(per_thread):
                store.log_tool_call(mission, "grep", ARGS, RESULT, duration_ms=12)

        workers = [threading.Thread(target=work) for _ in range(count)]
        started = time.perf_counter_ns()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter_ns() - started
        assert len(store.get_tool_history(mission)) == per_thread * count
        return elapsed / (per_thread * count)

    print(
        json.dumps(
            {
                "vibe_store_ns": statistics.median(package),
                "rust_ns": statistics.median(rust),
                "arch002_ns": statistics.median(baseline),
                "threads_1_ns": threads(1),
                "threads_8_ns": threads(8),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
