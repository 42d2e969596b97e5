"""vibe_store.compat.SQLiteStore: the later store API of the project
ARCH-002 came from (integer ids, the caller's uuids and timestamps, budgets,
project memory, artifacts, gates, imports), on a vibe-store file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from vibe_store import InvalidInputError
from vibe_store import SQLiteStore as Store
from vibe_store.compat import SQLiteStore

T0, T1, T2 = "2025-11-20T10:00:00Z", "2025-11-20T11:00:00Z", "2025-11-20T12:00:00Z"


@pytest.fixture
def store() -> SQLiteStore:
    return SQLiteStore(":memory:")


def test_conn_is_a_sqlite3_connection_with_foreign_keys(store: SQLiteStore) -> None:
    assert isinstance(store.conn, sqlite3.Connection)
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_the_other_projects_tables_are_added_beside_the_stores(store: SQLiteStore) -> None:
    assert store.conn is not None
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"missions", "tool_calls", "decisions", "playbook_runs", "agent_memory", "session_narrative",
            "domain_concepts", "domain_concerns", "trajectory", "artifacts", "quality_gates"} <= tables
    assert {"row_chain", "vibe_schema_version"} <= tables


def test_a_file_is_created_and_reopened_without_losing_rows(tmp_path: Path) -> None:
    path = str(tmp_path / "sub" / "c.db")
    with SQLiteStore(path) as store:
        store.create_mission("test-001", "PLANNING", "pending")
    assert os.path.exists(path)
    again = SQLiteStore(path)
    assert [m["mission_uuid"] for m in again.get_all_missions()] == ["test-001"]
    again.close()
    again.close()


def test_missing_path_and_postgres_are_refused() -> None:
    with pytest.raises(ValueError):
        SQLiteStore("")
    with pytest.raises(InvalidInputError):
        SQLiteStore("postgres://user@localhost/db")


def test_memory_databases_are_private_and_gone_on_close() -> None:
    a, b = SQLiteStore(":memory:"), SQLiteStore(":memory:")
    a.create_mission("only-in-a", "PLANNING", "pending")
    assert b.get_all_missions() == []
    assert a.conn is not None
    [(_, _, file)] = a.conn.execute("PRAGMA database_list").fetchall()
    a.close()
    assert not os.path.exists(file)
    assert a.conn is None
    with pytest.raises(sqlite3.ProgrammingError):
        a.get_all_missions()


def test_missions_keep_the_callers_uuid_times_and_fields(store: SQLiteStore) -> None:
    mid = store.create_mission(
        "test-001", "CODING", "in_progress", T0, updated_at=T1, planning_sub_state="RESEARCH",
        max_cost_usd=100.0, current_cost_usd=25, cost_breakdown={"PLANNING": 25.0}, owner="a@b",
        description="d", metadata={"key": "value"},
    )
    assert isinstance(mid, int) and mid > 0
    row = store.get_mission(mid)
    assert row is not None
    assert (row["mission_uuid"], row["created_at"], row["updated_at"]) == ("test-001", T0, T1)
    assert row["metadata"] == {"key": "value"} and row["cost_breakdown"] == {"PLANNING": 25.0}
    assert row["current_cost_usd"] == 25.0 and row["alert_threshold"] == 0.80
    assert row["api_version"] == "agency.os/v1alpha1"
    assert store.get_mission_by_uuid("test-001") == row
    assert store.get_mission(99999) is None and store.get_mission_by_uuid("nope") is None
    store.update_mission_status(mid, "completed", T2)
    done = store.get_mission(mid)
    assert done is not None and (done["status"], done["completed_at"]) == ("completed", T2)


def test_the_schemas_rules_hold(store: SQLiteStore) -> None:
    store.create_mission("test-001", "PLANNING", "pending")
    refused: list[Callable[[], object]] = [
        lambda: store.create_mission("test-001", "PLANNING", "pending"),
        lambda: store.create_mission("x", "LAUNCH", "pending"),
        lambda: store.create_mission("y", "PLANNING", "done"),
        lambda: store.create_mission("z", "PLANNING", "pending", current_cost_usd=-1),
        lambda: store.create_mission("w", "PLANNING", "pending", alert_threshold=1.5),
        lambda: store.log_tool_call(999, "t", {}, None, T0, 1, True),
    ]
    for bad in refused:
        with pytest.raises(sqlite3.IntegrityError):
            bad()
    with pytest.raises(InvalidInputError):
        store.create_mission("v", "PLANNING", "pending", created_at="yesterday")
    with pytest.raises(InvalidInputError):
        store.create_mission("u", "PLANNING", "pending", metadata={"x": float("nan")})
    assert len(store.get_all_missions()) == 1


def test_budget_and_owner_queries(store: SQLiteStore) -> None:
    a = store.create_mission("a", "PLANNING", "pending", T0, max_cost_usd=100.0, current_cost_usd=50.0, owner="o")
    store.create_mission("b", "PLANNING", "pending", T1, max_cost_usd=100.0, current_cost_usd=150.0)
    assert [m["mission_uuid"] for m in store.get_missions_over_budget()] == ["b"]
    assert [m["mission_uuid"] for m in store.get_missions_by_owner("o")] == ["a"]
    store.update_mission_budget(a, current_cost_usd=120.0, cost_breakdown={})
    assert [m["mission_uuid"] for m in store.get_missions_over_budget()] == ["b", "a"]
    row = store.get_mission(a)
    assert row is not None and row["cost_breakdown"] == {}
    store.update_mission_budget(a)
    assert [m["mission_uuid"] for m in store.get_mission_history()] == ["b", "a"]


def test_tool_calls_decisions_memory_and_playbooks(store: SQLiteStore) -> None:
    mid = store.create_mission("m", "CODING", "in_progress", T0)
    ok = store.log_tool_call(mid, "WebFetch", {"url": "u"}, {"status": 200}, T1, 100, True)
    bad = store.log_tool_call(mid, "Bash", {}, None, T0, 5, False, "exit 1")
    assert [c["id"] for c in store.get_tool_calls_for_mission(mid)] == [bad, ok]
    call = store.get_tool_call(bad)
    assert call is not None and call["success"] == 0 and call["error_message"] == "exit 1"
    store.record_decision(mid, "architecture", "r", T0, "planner", {"alternatives": ["a"]})
    [decision] = store.get_decisions_for_mission(mid)
    assert decision["context"] == {"alternatives": ["a"]} and decision["timestamp"] == T0
    store.set_memory(mid, "k", {"value": 1}, T0)
    store.set_memory(mid, "k", {"value": 2}, T1, ttl=60)
    memory = store.get_memory(mid, "k")
    assert memory is not None and memory["value"] == {"value": 2}
    assert memory["expires_at"] == "2025-11-20T11:01:00.000000Z"
    store.set_memory(mid, "n", 5, T0)
    number = store.get_memory(mid, "n")
    assert number is not None and number["value"] == 5
    run = store.create_playbook_run(mid, "tdd", "CODING", T0)
    store.complete_playbook_run(run, T1, True, {"tool_count": 5})
    played = store.get_playbook_run(run)
    assert played is not None and played["success"] == 1 and played["metrics"] == {"tool_count": 5}


def test_project_memory_tables(store: SQLiteStore) -> None:
    mid = store.create_mission("m", "CODING", "in_progress", T0)
    store.add_session_narrative(mid, 2, "second", "2025-11-21", "CODING")
    store.add_session_narrative(mid, 1, "first", "2025-11-20", "PLANNING")
    assert [s["summary"] for s in store.get_session_narrative(mid)] == ["first", "second"]
    store.add_artifact(mid, "planning", "plan.md", T0, path="docs/plan.md")
    store.add_artifact(mid, "code", "main.rs", T1, ref="abc", metadata={"lines": 3})
    assert len(store.get_artifacts(mid)) == 2
    [code] = store.get_artifacts(mid, "code")
    assert code["metadata"] == {"lines": 3}
    store.record_quality_gate(mid, "G1", "passed", T0, {"coverage": 85})
    store.record_quality_gate(mid, "G2", "failed", T1)
    assert [(g["gate_name"], g["status"]) for g in store.get_quality_gates(mid)] == [("G1", "passed"), ("G2", "failed")]
    store.add_domain_concept(mid, "payment", T0)
    store.add_domain_concern(mid, "PCI", T0)
    assert store.get_domain_concepts(mid) == ["payment"] and store.get_domain_concerns(mid) == ["PCI"]
    store.set_trajectory(mid, "PLANNING", T0, completed_phases=["X"])
    store.set_trajectory(mid, "CODING", T1, current_focus="tests", blockers=["2 failing"])
    trajectory = store.get_trajectory(mid)
    assert trajectory is not None
    assert (trajectory["current_phase"], trajectory["current_focus"]) == ("CODING", "tests")
    assert trajectory["completed_phases"] is None and trajectory["blockers"] == ["2 failing"]
    with pytest.raises(sqlite3.IntegrityError):
        store.add_artifact(mid, "binary", "a.out", T0)


def test_deleting_a_mission_deletes_what_it_holds_and_its_chain(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    chained = Store(path)
    uuid = chained.create_mission("PLANNING")
    chained.log_tool_call(uuid, "t", {})
    compat = SQLiteStore(str(path))
    assert compat.conn is not None
    mission = compat.get_mission_by_uuid(uuid)
    assert mission is not None
    compat.add_artifact(mission["id"], "code", "x", T0)
    compat.set_memory(mission["id"], "k", 1, T0)
    compat.delete_mission(mission["id"])
    for table in ("tool_calls", "artifacts", "agent_memory", "row_chain"):
        assert compat.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table
    assert chained.verify() == []


def test_imports(store: SQLiteStore) -> None:
    legacy = {"mission_id": "legacy-1", "status": "active", "context": {"phase": "CODING"}, "genesis_time": T0}
    mid = store.import_legacy_mission(legacy)
    assert mid is not None and store.import_legacy_mission(legacy) is None
    row = store.get_mission(mid)
    assert row is not None and (row["status"], row["phase"], row["created_at"]) == ("in_progress", "CODING", T0)
    manifest = {
        "apiVersion": "agency.os/v1alpha1",
        "kind": "Project",
        "metadata": {"projectId": "p-1", "createdAt": T0, "owner": "o", "description": "d"},
        "status": {"projectPhase": "CODING"},
        "budget": {"max_cost_usd": 50.0, "current_cost_usd": 15.0, "alert_threshold": 0.75},
    }
    memory = {
        "narrative": [{"session": 1, "summary": "s1", "phase": "PLANNING"}],
        "domain": {"concepts": ["payment", "payment"], "concerns": ["speed"]},
        "trajectory": {"phase": "TESTING", "current_focus": "e2e", "completed": ["PLANNING"], "blockers": []},
    }
    pid = store.import_project_manifest(manifest, memory)
    assert store.import_project_manifest({**manifest, "budget": {"current_cost_usd": 25.0}}) == pid
    project = store.get_mission(pid)
    assert project is not None and project["current_cost_usd"] == 25.0 and project["owner"] == "o"
    assert store.get_domain_concepts(pid) == ["payment"]
    trajectory = store.get_trajectory(pid)
    assert trajectory is not None and trajectory["current_focus"] == "e2e"


def test_threads_share_one_instance(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "t.db"))
    ids: list[int] = []
    errors: list[BaseException] = []

    def create(i: int) -> None:
        try:
            ids.append(store.create_mission(f"test-{i:03d}", "PLANNING", "pending"))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and len(set(ids)) == 10


def test_the_store_and_vibe_read_what_compat_wrote(tmp_path: Path, vibe_bin: Path) -> None:
    path = tmp_path / "shared.db"
    compat = SQLiteStore(str(path))
    mid = compat.create_mission("test-001", "PLANNING", "in_progress", T0)
    compat.log_tool_call(mid, "t", {"a": 1}, None, T1, 3, True)
    store = Store(path)
    [call] = store.get_tool_history("test-001")
    assert call["timestamp"] == "2025-11-20T11:00:00.000000Z" and call["args"] == {"a": 1}
    store.log_tool_call("test-001", "chained", {})
    [report] = store.verify("test-001")
    assert report["intact"] and report["unchained"] == 2 and report["checked"] == 1
    out = subprocess.run([str(vibe_bin), "--db", str(path), "verify"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
