"""The exceptions vibe_store raises, one class per kind of store error.

Every exception carries ``kind``: the store's error kind as text
(``"not_found"``, ``"invalid_input"``, ``"limit"``, ``"denied"``, ``"busy"``,
``"interrupted"``, ``"storage_full"``, ``"unusable_file"``, ``"unreadable"``,
``"storage"``, ``"load"``, ``"engine"``, ``"internal"``), the same kinds
``vibe`` maps to its exit codes; and ``"closed"`` for a call on a store
after its ``close()``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "VibeStoreError",
    "DatabaseError",
    "MissionNotFoundError",
    "NotFoundError",
    "InvalidInputError",
    "LimitExceededError",
    "ReadOnlyError",
    "BusyError",
    "ToolLoadError",
]


class VibeStoreError(Exception):
    """Base of every exception vibe_store raises."""

    kind: str

    def __init__(self, message: str, kind: str = "internal") -> None:
        super().__init__(message)
        self.kind = kind


class DatabaseError(VibeStoreError):
    """A store operation failed (ARCH-002's ``DatabaseError``); nothing of it
    was written. Raised as is for storage, I/O, interruption and internal
    failures; the subclasses below name the others."""


class NotFoundError(DatabaseError, LookupError):
    """A row, a tool call or the database itself is not there."""


class MissionNotFoundError(NotFoundError):
    """No mission has this uuid (ARCH-002's ``MissionNotFoundError``)."""


class InvalidInputError(DatabaseError, ValueError):
    """The store refused the input (an unknown phase or status, JSON that is
    not JSON, a name too long); nothing was written."""


class LimitExceededError(InvalidInputError):
    """The input is past one of the store's limits (a JSON value over 1 MiB,
    more than 64 levels deep, a page of more than 1,000 rows)."""


class ReadOnlyError(DatabaseError, PermissionError):
    """A write to a store opened read-only, or to a file this process may
    not write."""


class BusyError(DatabaseError):
    """Another writer held the lock past the busy timeout, or a PostgreSQL
    transaction conflicted; the call may be retried."""


class ToolLoadError(VibeStoreError):
    """A component could not be loaded (not a component, not fitting the
    ``wit/`` world, too large), or the WebAssembly engine could not start."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        twice = next(k for k in keys if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValueError(f"two keys of one object become the same JSON key {twice!r}")
    return dict(pairs)


def _check_unique_keys(field: str, text: str) -> None:
    """Raises ``ValueError`` when ``text`` (what ``json.dumps`` wrote for
    ``field``) has an object with a key twice: keys Python holds apart
    (``1`` and ``"1"``) that JSON cannot."""
    json.loads(text, object_pairs_hook=_unique)
