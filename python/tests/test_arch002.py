"""ARCH-002's printed tests and its validation snippet, unchanged but for the
import line, then the rest of its test categories: initialisation, mission
CRUD, tool calls (success and failure), decisions, history and filters, the
empty database, an unknown mission, invalid data."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from vibe_store import DatabaseError, MissionNotFoundError, SQLiteStore

# ---- ARCH-002's printed tests, as printed --------------------------------


def test_init_creates_database(temp_db: SQLiteStore) -> None:
    """Test that initialization creates database file."""
    assert temp_db.db_path.exists()


def test_create_mission_returns_uuid(temp_db: SQLiteStore) -> None:
    """Test mission creation returns valid UUID."""
    mission_uuid = temp_db.create_mission("PLANNING", {"user": "test"})
    assert len(mission_uuid) == 36  # UUID4 format


def test_log_tool_call_success(temp_db: SQLiteStore) -> None:
    """Test logging successful tool call."""
    mission_uuid = temp_db.create_mission("PLANNING")
    temp_db.log_tool_call(
        mission_uuid,
        "research_tool",
        {"query": "test"},
        {"results": ["a", "b"]},
        success=True,
        duration_ms=150,
    )

    history = temp_db.get_tool_history(mission_uuid)
    assert len(history) == 1
    assert history[0]["tool_name"] == "research_tool"
    assert history[0]["success"] is True


def test_log_tool_call_failure(temp_db: SQLiteStore) -> None:
    """Test logging failed tool call."""
    mission_uuid = temp_db.create_mission("CODING")
    temp_db.log_tool_call(
        mission_uuid,
        "compile_tool",
        {"code": "invalid"},
        result=None,
        success=False,
        error_message="Syntax error",
    )

    history = temp_db.get_tool_history(mission_uuid)
    assert history[0]["success"] is False
    assert history[0]["error_message"] is not None
    assert "Syntax error" in history[0]["error_message"]


def test_validation_snippet_runs(tmp_path: Path) -> None:
    """ARCH-002's "Validation" REPL snippet, its import line changed, run as
    a user runs it: a fresh interpreter in a fresh folder."""
    snippet = """
from vibe_store import SQLiteStore
store = SQLiteStore('.vibe/state/test.db')
mission = store.create_mission('PLANNING', {'test': True})
print(f'Created mission: {mission}')
"""
    out = subprocess.run(
        [sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    printed = out.stdout.strip().removeprefix("Created mission: ")
    assert str(uuid.UUID(printed)) == printed
    assert (tmp_path / ".vibe/state/test.db").is_file()


# ---- initialisation -------------------------------------------------------


def test_default_path_is_created_with_its_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = SQLiteStore()
    assert store.db_path == Path(".vibe/state/vibe_agency.db")
    assert (tmp_path / ".vibe/state/vibe_agency.db").is_file()


def test_db_path_is_a_path_and_accepts_path_objects(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "deep" / "er" / "x.db")
    assert isinstance(store.db_path, Path)
    assert store.db_path.is_file()


def test_init_db_is_idempotent_and_keeps_rows(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    temp_db.init_db()
    temp_db.init_db()
    assert temp_db.get_mission(mission)["mission_uuid"] == mission


def test_schema_is_the_arch001_layout_other_programs_read(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("TESTING", {"k": [1, 2]})
    temp_db.log_tool_call(mission, "t", {"a": 1})
    with sqlite3.connect(temp_db.db_path) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        assert version == temp_db.schema_version >= 1
        row = conn.execute(
            "SELECT m.phase, m.status, m.metadata, t.tool_name, t.args, t.success "
            "FROM missions m JOIN tool_calls t ON t.mission_id = m.id"
        ).fetchone()
    # JSON text as ARCH-002's json.dumps writes it.
    assert row == ("TESTING", "pending", '{"k": [1, 2]}', "t", '{"a": 1}', 1)


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    mission = SQLiteStore(path).create_mission("PLANNING", {"n": 1})
    assert SQLiteStore(path).get_mission(mission)["metadata"] == {"n": 1}


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(DatabaseError) as raised:
        SQLiteStore(path)
    assert raised.value.kind == "unusable_file"
    assert path.read_text().startswith("these are my notes")


# ---- missions --------------------------------------------------------------


def test_create_mission_stores_phase_status_metadata(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("DEPLOYMENT", {"goal": "ship", "n": 3})
    row = temp_db.get_mission(mission)
    assert row["phase"] == "DEPLOYMENT"
    assert row["status"] == "pending"
    assert row["metadata"] == {"goal": "ship", "n": 3}
    assert row["completed_at"] is None
    assert row["created_at"].endswith("Z")


def test_metadata_none_is_stored_as_an_empty_object(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    assert temp_db.get_mission(mission)["metadata"] == {}


def test_update_mission_status_stamps_completion(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("CODING")
    temp_db.update_mission_status(mission, "in_progress")
    assert temp_db.get_mission(mission)["completed_at"] is None
    temp_db.update_mission_status(mission, "completed")
    row = temp_db.get_mission(mission)
    assert row["status"] == "completed"
    assert row["completed_at"] is not None


def test_mission_uuids_are_unique_uuid4(temp_db: SQLiteStore) -> None:
    ids = {temp_db.create_mission("PLANNING") for _ in range(50)}
    assert len(ids) == 50
    assert all(uuid.UUID(i).version == 4 for i in ids)


# ---- tool calls -------------------------------------------------------------


def test_tool_call_json_comes_back_as_python_values_exactly(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    args = {"big": 2**80, "neg": -(2**70), "f": 0.1, "one": 1.0, "s": "é\u2028\x00", "l": [None, True]}
    temp_db.log_tool_call(mission, "t", args, result=[1, "two"], duration_ms=0)
    row = temp_db.get_tool_history(mission)[0]
    assert row["args"] == args
    assert type(row["args"]["one"]) is float and type(row["args"]["big"]) is int
    assert row["result"] == [1, "two"]
    assert row["duration_ms"] == 0


def test_an_empty_result_is_kept_not_turned_into_null(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    temp_db.log_tool_call(mission, "t", {}, result={})
    temp_db.log_tool_call(mission, "t", [], result=0)
    rows = temp_db.get_tool_history(mission)
    assert [r["args"] for r in rows] == [{}, []]
    assert [r["result"] for r in rows] == [{}, 0]


def test_log_tool_call_returns_row_ids_in_order(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    ids = [temp_db.log_tool_call(mission, f"t{i}", {"i": i}) for i in range(5)]
    assert ids == sorted(ids)
    assert [r["id"] for r in temp_db.get_tool_history(mission)] == ids
    assert temp_db.get_tool_call(ids[2])["tool_name"] == "t2"


def test_log_tool_calls_writes_a_batch_all_or_nothing(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    ids = temp_db.log_tool_calls(
        mission,
        [
            {"tool_name": "a", "args": {"x": 1}},
            {"tool_name": "b", "args": [], "success": False, "error_message": "no", "duration_ms": 3},
        ],
    )
    assert len(ids) == 2
    with pytest.raises(DatabaseError):
        temp_db.log_tool_calls(mission, [{"tool_name": "c", "args": {}}, {"tool_name": "", "args": {}}])
    assert [r["tool_name"] for r in temp_db.get_tool_history(mission)] == ["a", "b"]


# ---- decisions --------------------------------------------------------------


def test_record_decision_and_read_it_back(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    did = temp_db.record_decision(mission, "architecture", "SQLite first", "planner", {"alt": ["pg"]})
    temp_db.record_decision(mission, "scope", "small", "lead")
    rows = temp_db.get_decisions(mission)
    assert [r["decision_type"] for r in rows] == ["architecture", "scope"]
    assert rows[0]["id"] == did
    assert rows[0]["rationale"] == "SQLite first"
    assert rows[0]["agent_name"] == "planner"
    assert rows[0]["context"] == {"alt": ["pg"]}
    assert rows[1]["context"] is None


# ---- history and filters ---------------------------------------------------


def test_get_mission_history_is_newest_first_and_limited(temp_db: SQLiteStore) -> None:
    made = [temp_db.create_mission("PLANNING", {"i": i}) for i in range(15)]
    history = temp_db.get_mission_history()
    assert len(history) == 10
    assert [m["mission_uuid"] for m in history] == made[::-1][:10]
    assert len(temp_db.get_mission_history(limit=3)) == 3
    assert len(temp_db.get_mission_history(limit=100)) == 15


def test_filters_by_status_phase_tool_and_success(temp_db: SQLiteStore) -> None:
    a = temp_db.create_mission("PLANNING")
    b = temp_db.create_mission("CODING")
    temp_db.update_mission_status(b, "in_progress")
    assert [m["mission_uuid"] for m in temp_db.find_missions(status="in_progress")] == [b]
    assert [m["mission_uuid"] for m in temp_db.find_missions(phase="planning")] == [a]
    temp_db.log_tool_call(a, "grep", {}, success=True)
    temp_db.log_tool_call(a, "make", {}, success=False, error_message="e")
    temp_db.log_tool_call(b, "grep", {}, success=False, error_message="e")
    assert len(temp_db.find_tool_calls(tools=["grep"])) == 2
    assert len(temp_db.find_tool_calls(a, success=False)) == 1
    assert len(temp_db.find_tool_calls(since="2000-01-01", until="9999-01-01")) == 3
    assert temp_db.find_tool_calls(since="9999-01-01") == []


def test_listings_page_by_id(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    ids = [temp_db.log_tool_call(mission, "t", {"i": i}) for i in range(7)]
    first = temp_db.find_tool_calls(mission, limit=3)
    rest = temp_db.find_tool_calls(mission, after_id=first[-1]["id"])
    assert [r["id"] for r in first + rest] == ids
    older = temp_db.find_missions(limit=1)
    assert temp_db.find_missions(before_id=older[0]["id"]) == []


# ---- the empty database ----------------------------------------------------


def test_empty_database_reads_empty(temp_db: SQLiteStore) -> None:
    assert temp_db.get_mission_history() == []
    assert temp_db.find_missions() == []
    assert temp_db.find_tool_calls() == []
    assert temp_db.find_decisions() == []
    assert temp_db.tool_stats() == []
    assert temp_db.verify() == []


# ---- an unknown mission ----------------------------------------------------

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.log_tool_call(UNKNOWN, "t", {}),
        lambda s: s.record_decision(UNKNOWN, "d", "r", "a"),
        lambda s: s.update_mission_status(UNKNOWN, "completed"),
        lambda s: s.get_mission(UNKNOWN),
        lambda s: s.get_tool_history(UNKNOWN),
        lambda s: s.get_decisions(UNKNOWN),
        lambda s: s.set_memory(UNKNOWN, "k", 1),
    ],
)
def test_unknown_mission_raises_mission_not_found(temp_db: SQLiteStore, call: object) -> None:
    assert callable(call)
    with pytest.raises(MissionNotFoundError) as raised:
        call(temp_db)
    assert isinstance(raised.value, DatabaseError) and isinstance(raised.value, LookupError)
    assert raised.value.kind == "not_found"
    assert UNKNOWN in str(raised.value)


# ---- invalid data ------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda s, m: s.create_mission("LAUNCH"),
        lambda s, m: s.update_mission_status(m, "done"),
        lambda s, m: s.log_tool_call(m, "t", {"x": float("nan")}),
        lambda s, m: s.log_tool_call(m, "t", {"x": float("inf")}),
        lambda s, m: s.log_tool_call(m, "t", {"x": {1, 2}}),
        lambda s, m: s.log_tool_call(m, "t", {"x": object()}),
        lambda s, m: s.log_tool_call(m, "", {}),
        lambda s, m: s.log_tool_call(m, "x" * 257, {}),
        lambda s, m: s.log_tool_call(m, "t", {}, duration_ms=-1),
        lambda s, m: s.log_tool_call(m, "t\x00", {}),
        lambda s, m: s.log_tool_call(m, "t", {}, result={"x": float("-inf")}),
        lambda s, m: s.log_tool_call(m, "t", {"deep": _nested(100)}),
        lambda s, m: s.log_tool_call(m, "t", {"big": "x" * (1024 * 1024 + 1)}),
        lambda s, m: s.record_decision(m, "", "r", "a"),
        lambda s, m: s.record_decision(m, "d", "r", "a", context={"c": float("nan")}),
        lambda s, m: s.log_tool_call("", "t", {}),
        lambda s, m: s.log_tool_call(m, "t", None),
        lambda s, m: s.log_tool_call(m, "t", {1: "a", "1": "b"}),
        lambda s, m: s.record_decision(m, "d", "r", "a", context={"x": [{None: 1, "null": 2}]}),
        lambda s, m: s.set_memory(m, "k", 1, ttl_seconds=-5),
    ],
)
def test_invalid_data_raises_and_writes_nothing(temp_db: SQLiteStore, call: object) -> None:
    assert callable(call)
    mission = temp_db.create_mission("PLANNING")
    before = _row_counts(temp_db.db_path)
    with pytest.raises(DatabaseError) as raised:
        call(temp_db, mission)
    assert isinstance(raised.value, ValueError), raised.value
    assert raised.value.kind in ("invalid_input", "limit")
    assert _row_counts(temp_db.db_path) == before


def test_arguments_of_the_wrong_python_type_raise_type_error(temp_db: SQLiteStore) -> None:
    mission = temp_db.create_mission("PLANNING")
    with pytest.raises(TypeError):
        temp_db.log_tool_call(mission, 42, {})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        temp_db.log_tool_call(mission, "t", {}, duration_ms="fast")  # type: ignore[arg-type]
    assert temp_db.get_tool_history(mission) == []


def _nested(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def _row_counts(path: Path) -> tuple[int, ...]:
    with sqlite3.connect(path) as conn:
        return tuple(
            conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("missions", "tool_calls", "decisions", "agent_memory", "row_chain")
        )


def test_nothing_is_written_outside_the_given_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    SQLiteStore(tmp_path / "a" / "x.db").create_mission("PLANNING")
    assert sorted(os.listdir(tmp_path)) == ["a"]


def test_help_shows_the_documented_docstrings() -> None:
    """``help()`` reads the extension's docstrings; they are the stubs'
    (``_native.pyi``), word for word, so neither drifts from the other."""
    import ast
    import inspect

    import vibe_store

    stub = ast.parse((Path(vibe_store.__file__).parent / "_native.pyi").read_text())
    checked = 0
    for node in stub.body:
        if not isinstance(node, ast.ClassDef) or node.name not in ("SQLiteStore", "Runtime", "Tool", "RunReport"):
            continue
        cls = getattr(vibe_store, node.name)
        assert inspect.cleandoc(cls.__doc__ or "") == ast.get_docstring(node), node.name
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name != "__init__" and ast.get_docstring(item):
                runtime = getattr(cls, item.name)
                doc = runtime.__doc__ or ""
                assert inspect.cleandoc(doc) == ast.get_docstring(item), f"{node.name}.{item.name}"
                checked += 1
    assert checked >= 30
