"""Threads and asyncio: the GIL is released during store calls and tool
runs, 8 threads x 500 calls lose nothing, and the asyncio wrappers work."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from vibe_store import BusyError, Runtime, SQLiteStore
from vibe_store.aio import AsyncRuntime, AsyncSQLiteStore


def test_eight_threads_times_500_calls_lose_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db", durability="normal")
    mission = store.create_mission("CODING")
    errors: list[BaseException] = []
    ids: list[list[int]] = [[] for _ in range(8)]

    def work(t: int) -> None:
        try:
            for i in range(500):
                ids[t].append(store.log_tool_call(mission, "t", {"thread": t, "i": i}))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    rows = store.get_tool_history(mission)
    assert len(rows) == 4000
    assert {(r["args"]["thread"], r["args"]["i"]) for r in rows} == {
        (t, i) for t in range(8) for i in range(500)
    }
    # Every acknowledged id is a row, once.
    assert sorted(i for per in ids for i in per) == [r["id"] for r in rows]
    [report] = store.verify(mission)
    assert report["intact"] and report["checked"] == 4001


def test_the_gil_is_released_while_a_store_call_waits(tmp_path: Path) -> None:
    """A write blocked on another program's lock must not stop Python: the
    main thread runs Python code while the write waits, then the write
    completes once the lock is released. Were the GIL held, the main
    thread could not run until the write's busy timeout had passed."""
    store = SQLiteStore(tmp_path / "g.db", busy_timeout_ms=60_000)
    mission = store.create_mission("PLANNING")
    blocker = sqlite3.connect(store.db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    started = threading.Event()
    done: list[int] = []

    def write() -> None:
        started.set()
        done.append(store.log_tool_call(mission, "t", {}))

    writer = threading.Thread(target=write)
    writer.start()
    assert started.wait(10)
    # The writer is inside the store, waiting on the lock. Python runs:
    progress = sum(range(200_000))
    assert progress > 0 and writer.is_alive() and done == []
    blocker.execute("COMMIT")
    writer.join(60)
    assert len(done) == 1 and len(store.get_tool_history(mission)) == 1


def test_a_write_past_the_busy_timeout_raises_busy_and_writes_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "b.db", busy_timeout_ms=100)
    mission = store.create_mission("PLANNING")
    blocker = sqlite3.connect(store.db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with pytest.raises(BusyError) as raised:
        store.log_tool_call(mission, "t", {})
    assert raised.value.kind == "busy"
    blocker.execute("COMMIT")
    assert store.get_tool_history(mission) == []


def test_the_gil_is_released_while_a_tool_runs(tmp_path: Path, guest_dir: Path, cache_dir: Path) -> None:
    """A tool that spins until its timeout: the main thread runs Python
    while it does."""
    store = SQLiteStore(tmp_path / "r.db")
    mission = store.create_mission("PLANNING")
    runtime = Runtime(store, cache_dir=cache_dir)
    spin = runtime.load(guest_dir / "spin.wasm")
    reports = []
    worker = threading.Thread(target=lambda: reports.append(runtime.run(spin, mission, {}, timeout_ms=3000)))
    worker.start()
    ticks = 0
    while worker.is_alive() and ticks < 1000:
        ticks += 1
        worker.join(0.001)
    worker.join()
    assert ticks > 10, "the main thread did not run while the tool ran"
    assert reports[0].outcome == "timeout"


def test_asyncio_wrappers(tmp_path: Path) -> None:
    async def main() -> None:
        store = await AsyncSQLiteStore.open(tmp_path / "a.db", durability="normal")
        mission = await store.create_mission("PLANNING", {"async": True})
        ids = await asyncio.gather(*(store.log_tool_call(mission, "t", {"i": i}) for i in range(200)))
        assert len(set(ids)) == 200
        await store.record_decision(mission, "d", "r", "a")
        await store.set_memory(mission, "k", {"v": 1})
        assert await store.get_memory(mission, "k") == {"v": 1}
        assert len(await store.get_tool_history(mission)) == 200
        assert len(await store.get_decisions(mission)) == 1
        assert (await store.get_mission(mission))["metadata"] == {"async": True}
        [report] = await store.verify(mission)
        assert report["intact"]

    asyncio.run(main())


def test_asyncio_tool_runs(tmp_path: Path, guest_dir: Path, cache_dir: Path) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "t.db", durability="normal")
        mission = store.create_mission("PLANNING")
        runtime = AsyncRuntime(Runtime(store, cache_dir=cache_dir))
        echo = await runtime.load(guest_dir / "echo.wasm")
        reports = await asyncio.gather(*(runtime.run(echo, mission, {"n": i}) for i in range(8)))
        assert [r.output for r in reports] == [{"n": i} for i in range(8)]
        assert len({r.invocation_id for r in reports}) == 8

    asyncio.run(main())
