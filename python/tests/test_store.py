"""The rest of the store from Python: memory, playbook runs, stats, verify,
export and import, read-only opening, and rows checked from outside by
``vibe verify``."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from vibe_store import (
    DatabaseError,
    InvalidInputError,
    NotFoundError,
    ReadOnlyError,
    SQLiteStore,
)


def test_memory_set_get_list_delete(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    temp_db.set_memory(mission, "plan", {"steps": [1, 2]})
    temp_db.set_memory(mission, "plan", {"steps": [3]})
    temp_db.set_memory(mission, "n", 5, ttl_seconds=3600)
    assert temp_db.get_memory(mission, "plan") == {"steps": [3]}
    assert temp_db.get_memory(mission, "n") == 5
    assert temp_db.get_memory(mission, "missing") is None
    entries = {e["key"]: e for e in temp_db.list_memory(mission)}
    assert set(entries) == {"plan", "n"}
    assert entries["n"]["expires_at"] is not None and entries["plan"]["expires_at"] is None
    assert temp_db.delete_memory(mission, "plan") is True
    assert temp_db.delete_memory(mission, "plan") is False
    temp_db.set_memory(mission, "gone", 1, ttl_seconds=0)
    assert temp_db.get_memory(mission, "gone") is None


def test_playbook_runs(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("CODING")
    run = temp_db.start_playbook_run(mission, "tdd", "CODING")
    temp_db.complete_playbook_run(run, True, {"tests": 12})
    # A run completes once; the store says so for an unknown run alike.
    with pytest.raises(InvalidInputError, match="has already completed"):
        temp_db.complete_playbook_run(run, False)
    with pytest.raises(InvalidInputError, match="does not exist"):
        temp_db.complete_playbook_run(run + 1000, True)
    [row] = temp_db.get_playbook_runs(mission)
    assert row["playbook_name"] == "tdd" and row["phase"] == "CODING"
    assert row["success"] is True and row["metrics"] == {"tests": 12}


def test_tool_stats(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    for ms, ok in [(10, True), (20, True), (30, False)]:
        temp_db.log_tool_call(mission, "grep", {}, success=ok, duration_ms=ms, error_message=None if ok else "x")
    [stats] = temp_db.tool_stats(mission)
    assert stats["tool_name"] == "grep" and stats["calls"] == 3 and stats["failures"] == 1
    assert stats["max_ms"] == 30


def test_verify_finds_an_edit_made_behind_the_stores_back(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    temp_db.log_tool_call(mission, "t", {"a": 1})
    temp_db.record_decision(mission, "d", "r", "a")
    [report] = temp_db.verify()
    assert report["intact"] and report["checked"] == 3 and report["unchained"] == 0
    with sqlite3.connect(temp_db.db_path) as conn:
        conn.execute("UPDATE tool_calls SET args = '{\"a\": 2}'")
    [report] = temp_db.verify(mission)
    assert not report["intact"] and len(report["edited"]) == 1


def test_rows_written_from_python_pass_vibe_verify(temp_db: SQLiteStore, vibe_bin: Path) -> None:
    for phase in ("PLANNING", "CODING"):
        mission = temp_db.create_mission(phase, {"from": "python"})
        temp_db.log_tool_call(mission, "t", {"q": [1, 2.5, "é"]}, {"ok": True}, duration_ms=3)
        temp_db.log_tool_calls(mission, [{"tool_name": "u", "args": {}}] * 3)
        temp_db.record_decision(mission, "d", "because", "agent", {"x": None})
        temp_db.set_memory(mission, "k", [1])
        run = temp_db.start_playbook_run(mission, "p")
        temp_db.complete_playbook_run(run, True)
        temp_db.update_mission_status(mission, "completed")
    out = subprocess.run(
        [str(vibe_bin), "--db", str(temp_db.db_path), "verify"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    listed = subprocess.run(
        [str(vibe_bin), "--db", str(temp_db.db_path), "mission", "list", "--json"],
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert len([line for line in listed.stdout.splitlines() if line.strip()]) >= 1


def test_export_and_import_round_trip(temp_db: SQLiteStore, tmp_path: Path) -> None:
    mission = temp_db.create_mission("PLANNING", {"n": 1})
    temp_db.log_tool_call(mission, "t", {"big": 2**70})
    out = tmp_path / "trail.jsonl"
    summary = temp_db.export_jsonl(out)
    assert summary["missions"] == 1 and summary["rows"] >= 2 and summary["skipped"] == []
    other = SQLiteStore(tmp_path / "other.db")
    assert other.import_jsonl(out) == {"imported": 1, "already_present": 0}
    assert other.import_jsonl(out) == {"imported": 0, "already_present": 1}
    assert other.get_tool_history(mission)[0]["args"] == {"big": 2**70}
    assert all(r["intact"] for r in other.verify())


def test_import_of_a_hostile_file_names_the_line_and_keeps_lines_before(
    temp_db: SQLiteStore, tmp_path: Path
) -> None:
    mission = temp_db.create_mission("PLANNING")
    out = tmp_path / "trail.jsonl"
    temp_db.export_jsonl(out)
    good = out.read_text().strip()
    line = json.loads(good)
    line["mission"]["mission_uuid"] = "6f1c1d1e-0000-4000-8000-000000000001"
    line["mission"]["phase"] = "LAUNCH"
    out.write_text(good + "\n" + json.dumps(line) + "\n")
    other = SQLiteStore(tmp_path / "other.db")
    with pytest.raises(DatabaseError) as raised:
        other.import_jsonl(out)
    assert str(raised.value).startswith("line 2: ")
    assert [m["mission_uuid"] for m in other.get_mission_history()] == [mission]


def test_read_only_store_reads_and_refuses_writes(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    reader = SQLiteStore(temp_db.db_path, read_only=True)
    assert reader.get_mission(mission)["mission_uuid"] == mission
    with pytest.raises(ReadOnlyError):
        reader.create_mission("PLANNING")
    assert len(temp_db.get_mission_history()) == 1


def test_read_only_of_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        SQLiteStore(tmp_path / "none.db", read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_durability_is_checked(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "n.db", durability="normal").create_mission("PLANNING")
    with pytest.raises(InvalidInputError):
        SQLiteStore(tmp_path / "x.db", durability="fast")  # type: ignore[arg-type]


def test_the_store_is_a_context_manager_that_closes(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "c.db") as store:
        mission = store.create_mission("PLANNING")
        assert not store.closed
    assert store.closed
    with pytest.raises(DatabaseError) as raised:
        store.get_mission(mission)
    assert raised.value.kind == "closed"
    store.close()
    assert store.location.endswith("c.db") and store.db_path.name == "c.db"
    assert SQLiteStore(tmp_path / "c.db").get_mission(mission)["status"] == "pending"


def test_times_are_accepted_as_datetimes(temp_db: SQLiteStore) -> None:
    import datetime

    mission = temp_db.create_mission("PLANNING")
    temp_db.log_tool_call(mission, "t", {})
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    assert len(temp_db.find_tool_calls(since=past)) == 1
    assert len(temp_db.find_missions(since=datetime.datetime(2000, 1, 1))) == 1
    with pytest.raises(InvalidInputError):
        temp_db.find_tool_calls(since="yesterday")
    with pytest.raises(InvalidInputError):
        temp_db.find_tool_calls(since=12)  # type: ignore[arg-type]
