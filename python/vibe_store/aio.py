"""The store and the runtime for asyncio code.

``AsyncSQLiteStore`` and ``AsyncRuntime`` wrap the blocking classes: each
call runs on a worker thread (``asyncio.to_thread``) while the event loop
goes on, and since the native calls release the GIL, calls from many tasks
run at once. Methods, arguments, results and exceptions are those of
``SQLiteStore`` and ``Runtime``.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ._native import Runtime, RunReport, SQLiteStore, Tool

if TYPE_CHECKING:  # row shapes: TypedDicts of the stubs, not runtime classes
    from ._native import ChainReport, DecisionRow, MissionRow, ToolCallRow

__all__ = ["AsyncSQLiteStore", "AsyncRuntime"]


class AsyncSQLiteStore:
    """``SQLiteStore`` with awaitable methods. Open it with ``await
    AsyncSQLiteStore.open(...)`` (opening may create and migrate the
    database), or wrap a store you have: ``AsyncSQLiteStore(store)``."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    @classmethod
    async def open(
        cls, db_path: str | os.PathLike[str] = ".vibe/state/vibe_agency.db", **options: Any
    ) -> AsyncSQLiteStore:
        """Opens ``SQLiteStore(db_path, **options)`` on a worker thread."""
        return cls(await asyncio.to_thread(SQLiteStore, db_path, **options))

    async def create_mission(self, phase: str, metadata: Any = None) -> str:
        return await asyncio.to_thread(self.store.create_mission, phase, metadata)

    async def update_mission_status(self, mission_uuid: str, status: str) -> None:
        await asyncio.to_thread(self.store.update_mission_status, mission_uuid, status)

    async def get_mission(self, mission_uuid: str) -> MissionRow:
        return await asyncio.to_thread(self.store.get_mission, mission_uuid)

    async def get_mission_history(self, limit: int = 10) -> list[MissionRow]:
        return await asyncio.to_thread(self.store.get_mission_history, limit)

    async def log_tool_call(
        self,
        mission_uuid: str,
        tool_name: str,
        args: Any,
        result: Any = None,
        success: bool = True,
        duration_ms: int | None = None,
        error_message: str | None = None,
    ) -> int:
        return await asyncio.to_thread(
            self.store.log_tool_call,
            mission_uuid,
            tool_name,
            args,
            result,
            success,
            duration_ms,
            error_message,
        )

    async def log_tool_calls(
        self, mission_uuid: str, calls: Iterable[Mapping[str, Any]]
    ) -> list[int]:
        return await asyncio.to_thread(self.store.log_tool_calls, mission_uuid, list(calls))

    async def record_decision(
        self,
        mission_uuid: str,
        decision_type: str,
        rationale: str,
        agent_name: str,
        context: Any = None,
    ) -> int:
        return await asyncio.to_thread(
            self.store.record_decision, mission_uuid, decision_type, rationale, agent_name, context
        )

    async def get_tool_history(self, mission_uuid: str) -> list[ToolCallRow]:
        return await asyncio.to_thread(self.store.get_tool_history, mission_uuid)

    async def get_decisions(self, mission_uuid: str) -> list[DecisionRow]:
        return await asyncio.to_thread(self.store.get_decisions, mission_uuid)

    async def set_memory(
        self, mission_uuid: str, key: str, value: Any, ttl_seconds: int | None = None
    ) -> None:
        await asyncio.to_thread(self.store.set_memory, mission_uuid, key, value, ttl_seconds)

    async def get_memory(self, mission_uuid: str, key: str) -> Any:
        return await asyncio.to_thread(self.store.get_memory, mission_uuid, key)

    async def verify(self, mission_uuid: str | None = None) -> list[ChainReport]:
        return await asyncio.to_thread(self.store.verify, mission_uuid)


class AsyncRuntime:
    """``Runtime`` with awaitable ``load`` and ``run``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def load(self, path: str | os.PathLike[str]) -> Tool:
        return await asyncio.to_thread(self.runtime.load, path)

    async def run(
        self, tool: Tool | str | os.PathLike[str], mission_uuid: str, input: Any, **options: Any
    ) -> RunReport:
        return await asyncio.to_thread(self.runtime.run, tool, mission_uuid, input, **options)
