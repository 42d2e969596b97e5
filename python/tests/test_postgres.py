"""The same class on PostgreSQL, given a ``postgres://`` URL."""

from __future__ import annotations

import threading

import pytest

from vibe_store import MissionNotFoundError, SQLiteStore


def test_arch002_api_on_postgres(pg_url: str) -> None:
    store = SQLiteStore(pg_url)
    assert store.backend == "postgres"
    mission = store.create_mission("PLANNING", {"user": "test"})
    assert len(mission) == 36
    store.log_tool_call(mission, "research_tool", {"query": "test"}, {"results": ["a", "b"]}, duration_ms=150)
    store.log_tool_call(mission, "compile_tool", {"code": "x"}, success=False, error_message="Syntax error")
    store.record_decision(mission, "architecture", "PostgreSQL for many hosts", "planner", {"n": 2**70})
    store.update_mission_status(mission, "completed")
    history = store.get_tool_history(mission)
    assert [h["success"] for h in history] == [True, False]
    assert history[0]["result"] == {"results": ["a", "b"]}
    assert store.get_decisions(mission)[0]["context"] == {"n": 2**70}
    assert store.get_mission(mission)["status"] == "completed"
    assert all(r["intact"] for r in store.verify(mission))
    with pytest.raises(AttributeError):
        _ = store.db_path
    assert "postgres" in store.location and "password" not in store.location


def test_unknown_mission_on_postgres(pg_url: str) -> None:
    store = SQLiteStore(pg_url)
    with pytest.raises(MissionNotFoundError):
        store.log_tool_call("00000000-0000-4000-8000-000000000000", "t", {})


def test_threads_on_postgres_lose_nothing(pg_url: str) -> None:
    store = SQLiteStore(pg_url, durability="normal")
    mission = store.create_mission("CODING")
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(50):
                store.log_tool_call(mission, "t", {"t": t, "i": i})
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    seen = {(r["args"]["t"], r["args"]["i"]) for r in store.get_tool_history(mission)}
    assert len(seen) == 400
    assert all(r["intact"] for r in store.verify(mission))
