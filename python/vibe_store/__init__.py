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
from ._native import DEFAULT_DB_PATH, SQLITE_VERSION, Runtime, RunReport, SQLiteStore, Tool


def _one_sqlite_in_this_process() -> None:
    """Warns when Python's sqlite3 module runs another SQLite than the
    store: two copies of SQLite in one process do not see each other's
    locks on a file, so a file both open at once can be corrupted."""
    try:
        import sqlite3
    except ImportError:
        return
    if sqlite3.sqlite_version != SQLITE_VERSION:
        import warnings

        warnings.warn(
            f"Python's sqlite3 module runs SQLite {sqlite3.sqlite_version}, vibe_store "
            f"SQLite {SQLITE_VERSION}: do not open a store's file with the sqlite3 module "
            "in this process while vibe_store has it open (use another process)",
            RuntimeWarning,
            stacklevel=3,
        )


_one_sqlite_in_this_process()

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
    "SQLITE_VERSION",
]
