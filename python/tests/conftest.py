"""Fixtures of the vibe_store test suite.

``./x test`` runs this suite from the Rust test harness
(``tests/all/python.rs``), which hands it a throwaway PostgreSQL database
(``VIBE_TEST_POSTGRES_DB``), the built tools (``VIBE_GUEST_DIR``), the ``vibe``
binary (``VIBE_BIN``) and ``VIBE_TEST_REQUIRE_ALL=1``: there, a test that
would be skipped for want of one of them fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vibe_store import SQLiteStore

REPO = Path(__file__).resolve().parents[2]


def _needed(variable: str, why: str) -> str:
    value = os.environ.get(variable)
    if value:
        return value
    if os.environ.get("VIBE_TEST_REQUIRE_ALL") == "1":
        pytest.fail(f"{variable} is not set: {why}")
    pytest.skip(f"{variable} is not set: {why}")


@pytest.fixture
def temp_db(tmp_path: Path) -> Iterator[SQLiteStore]:
    """Temporary database for testing (ARCH-002's fixture)."""
    db_path = tmp_path / "test_vibe.db"
    store = SQLiteStore(str(db_path))
    yield store


@pytest.fixture
def pg_url() -> str:
    """A PostgreSQL database of the test run's throwaway cluster."""
    return _needed("VIBE_TEST_POSTGRES_DB", "PostgreSQL tests need a database URL")


@pytest.fixture
def guest_dir() -> Path:
    """Where the Rust example and hostile tools are built."""
    default = REPO / "guest/target/wasm32-wasip2/release"
    path = Path(os.environ.get("VIBE_GUEST_DIR", default))
    if not (path / "echo.wasm").is_file():
        if os.environ.get("VIBE_TEST_REQUIRE_ALL") == "1":
            pytest.fail(f"no tools in {path}: run ./x guests")
        pytest.skip(f"no tools in {path}: run ./x guests")
    return path


@pytest.fixture
def vibe_bin() -> Path:
    """The ``vibe`` command line."""
    return Path(_needed("VIBE_BIN", "the vibe binary checks rows from outside"))


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A private component cache."""
    path = tmp_path / "cache"
    return path
