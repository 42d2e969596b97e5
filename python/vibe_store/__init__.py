"""vibe_store: the mission store and WebAssembly tool sandbox of vibe-store.

Missions, every tool call an agent makes and every decision it takes go to
one SQLite file (``.vibe/state/vibe_agency.db`` unless told otherwise) or a
PostgreSQL database (a ``postgres://`` URL), validated and hash-chained
(``SQLiteStore.verify``); tools are WebAssembly components run for a
mission, bounded in time and memory (``Runtime``).

The store's calls and tool runs release the GIL while they work: threads
run them concurrently, and asyncio code awaits them with
``asyncio.to_thread`` (see ``vibe_store.aio``).
"""

from __future__ import annotations

from ._errors import (
    BusyError,
    DatabaseError,
    InvalidInputError,
    LimitExceededError,
    MissionNotFoundError,
    NotFoundError,
    ReadOnlyError,
    ToolLoadError,
    VibeStoreError,
)
from ._native import DEFAULT_DB_PATH, Runtime, RunReport, SQLiteStore, Tool

__all__ = [
    "SQLiteStore",
    "MissionNotFoundError",
    "DatabaseError",
    "InvalidInputError",
    "LimitExceededError",
    "NotFoundError",
    "ReadOnlyError",
    "BusyError",
    "ToolLoadError",
    "VibeStoreError",
    "Runtime",
    "RunReport",
    "Tool",
    "DEFAULT_DB_PATH",
]
