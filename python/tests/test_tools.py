"""Tools from Python: the same rows ``vibe run`` leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibe_store import (
    InvalidInputError,
    MissionNotFoundError,
    Runtime,
    SQLiteStore,
    ToolLoadError,
)


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "tools.db")


def test_run_echo_and_find_its_row(store: SQLiteStore, guest_dir: Path, cache_dir: Path) -> None:
    mission = store.create_mission("PLANNING")
    runtime = Runtime(store, cache_dir=cache_dir)
    echo = runtime.load(guest_dir / "echo.wasm")
    assert echo.name == "echo" and len(echo.sha256) == 64
    report = runtime.run(echo, mission, {"hello": ["world", 1]})
    assert report.ok and report.outcome == "ok" and report.error is None
    assert report.output == {"hello": ["world", 1]}
    assert report.duration_ms >= 0
    row = store.get_tool_call(report.invocation_id)
    assert row["mission_uuid"] == mission
    assert row["outcome"] == "ok" and row["success"] is True
    assert row["args"] == {"hello": ["world", 1]} and row["result"] == {"hello": ["world", 1]}
    assert row["component_sha256"] == echo.sha256


def test_rows_a_tool_writes_carry_its_invocation(store: SQLiteStore, guest_dir: Path, cache_dir: Path) -> None:
    mission = store.create_mission("PLANNING")
    runtime = Runtime(store, cache_dir=cache_dir)
    report = runtime.run(guest_dir / "echo.wasm", mission, {"log": 3})
    assert report.ok
    rows = store.get_tool_history(mission)
    assert len(rows) == 4
    assert [r["invocation_id"] for r in rows if r["tool_name"] == "echo.bench"] == [report.invocation_id] * 3
    assert all(r["intact"] for r in store.verify(mission))


def test_failures_are_reports_with_one_row_each(store: SQLiteStore, guest_dir: Path, cache_dir: Path) -> None:
    mission = store.create_mission("PLANNING")
    runtime = Runtime(store, cache_dir=cache_dir)
    timeout = runtime.run(guest_dir / "spin.wasm", mission, {}, timeout_ms=200)
    assert not timeout.ok and timeout.outcome == "timeout" and timeout.output is None
    memory = runtime.run(guest_dir / "alloc_bomb.wasm", mission, {}, memory_mb=16)
    assert memory.outcome == "memory_limit"
    missing = runtime.run(guest_dir / "no_such_tool.wasm", mission, {})
    assert missing.outcome == "load_error" and missing.error
    rows = store.get_tool_history(mission)
    assert sorted(r["id"] for r in rows if r["outcome"] is not None) == sorted(
        [timeout.invocation_id, memory.invocation_id, missing.invocation_id]
    )
    assert {r["outcome"] for r in rows} == {"timeout", "memory_limit", "load_error"}


def test_what_leaves_no_invocation_raises(store: SQLiteStore, guest_dir: Path, cache_dir: Path) -> None:
    mission = store.create_mission("PLANNING")
    runtime = Runtime(store, cache_dir=cache_dir)
    echo = runtime.load(guest_dir / "echo.wasm")
    with pytest.raises(MissionNotFoundError):
        runtime.run(echo, "00000000-0000-4000-8000-000000000000", {})
    with pytest.raises(InvalidInputError):
        runtime.run(echo, mission, {"x": float("nan")})
    with pytest.raises(InvalidInputError):
        runtime.run(echo, mission, {}, timeout_ms=0)
    with pytest.raises(ToolLoadError):
        runtime.load(guest_dir / "no_such_tool.wasm")
    with pytest.raises(InvalidInputError):
        Runtime(store, max_concurrent=0)
    assert store.get_tool_history(mission) == []


def test_grants_are_what_the_caller_gives(store: SQLiteStore, guest_dir: Path, cache_dir: Path) -> None:
    """A tool trying every call on another mission: refused without grants;
    with read_all_missions, its reads go through and its writes still do not."""
    mission = store.create_mission("PLANNING")
    other = store.create_mission("PLANNING")
    runtime = Runtime(store, cache_dir=cache_dir)
    tool = guest_dir / "other_mission.wasm"
    denied = runtime.run(tool, mission, {"target": other})
    assert denied.outcome == "tool_error" and denied.error is not None
    assert "needs the read-all-missions grant" in denied.error
    assert "creating missions needs the create-missions grant" in denied.error
    reader = runtime.run(tool, mission, {"target": other}, read_all_missions=True)
    assert reader.ok
    assert set(reader.output["leaked"]) == {
        "get-mission", "get-tool-history", "get-decisions", "memory.get", "get-mission-history"
    }
    assert store.get_tool_history(other) == [] and store.get_decisions(other) == []
    assert store.get_mission(other)["status"] == "pending"
    assert len(store.get_mission_history(limit=100)) == 2
