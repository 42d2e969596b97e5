"""Types of the native half of vibe_store (written in Rust with PyO3).

Every method that reaches the database or runs a tool releases the GIL
while it works. Every failed write wrote nothing. Errors are the classes of
``vibe_store._errors``; any call that reaches the database may also raise
``BusyError`` (another writer held the lock past the busy timeout, 30 s by
default) or ``DatabaseError`` (storage, I/O, PostgreSQL unavailable).
"""

import datetime
import os
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, TypedDict

DEFAULT_DB_PATH: str
"""``".vibe/state/vibe_agency.db"``: where ``SQLiteStore()`` keeps missions."""

SQLITE_VERSION: str
"""The SQLite the store runs (the system's ``libsqlite3.so.0``, the one
Python's ``sqlite3`` module loads): ``sqlite3.sqlite_version`` equals it
when both are one library, whose locks both honour."""

def parse_time(text: str) -> str | None:
    """The instant ``text`` names in the store's form
    (``2026-11-27T01:39:01.123456Z``), or ``None`` when it is not a time the
    store reads (``YYYY-MM-DD``, then optionally ``T`` or a space, ``hh:mm``,
    ``:ss``, a fraction, a zone; no zone is UTC)."""

Phase = Literal["PLANNING", "CODING", "TESTING", "DEPLOYMENT", "MAINTENANCE"]
Status = Literal["pending", "in_progress", "completed", "failed"]
Instant = str | datetime.datetime
"""A time: a ``datetime`` (naive means UTC) or text such as
``"2026-11-27T01:39:01Z"`` or ``"2026-11-27 01:39"`` (no zone means UTC)."""

class MissionRow(TypedDict):
    """A ``missions`` row. Timestamps are RFC 3339 UTC text with
    microseconds (``2026-11-27T01:39:01.123456Z``), or another program's
    text as it wrote it."""

    id: int
    mission_uuid: str
    phase: str
    status: str
    created_at: str
    completed_at: str | None
    metadata: Any
    invocation_id: int | None
    """The tool invocation that created it, if a tool did."""

class ToolCallRow(TypedDict):
    """A ``tool_calls`` row, with its mission's uuid."""

    id: int
    mission_id: int
    mission_uuid: str
    tool_name: str
    args: Any
    result: Any
    timestamp: str
    duration_ms: int | None
    success: bool
    error_message: str | None
    invocation_id: int | None
    """The invocation whose sandboxed tool wrote this row, if one did."""
    invoked_by: str | None
    component_sha256: str | None
    """For an invocation's own row: the component's SHA-256 (hex)."""
    component_size: int | None
    """For an invocation's own row: the component's size in bytes."""
    outcome: str | None
    """For an invocation's own row: ``running``, ``ok``, or how it failed."""
    caller: Any

class DecisionRow(TypedDict):
    """A ``decisions`` row, with its mission's uuid."""

    id: int
    mission_id: int
    mission_uuid: str
    decision_type: str
    rationale: str | None
    timestamp: str
    agent_name: str | None
    context: Any
    invocation_id: int | None
    invoked_by: str | None

class MemoryRow(TypedDict):
    """An ``agent_memory`` entry that has not expired."""

    key: str
    value: Any
    timestamp: str
    expires_at: str | None
    invocation_id: int | None

class PlaybookRunRow(TypedDict):
    """A ``playbook_runs`` row."""

    id: int
    mission_id: int
    playbook_name: str
    phase: str | None
    started_at: str
    completed_at: str | None
    success: bool | None
    metrics: Any
    error_message: str | None

class ToolStatsRow(TypedDict):
    """One tool's calls: counts, failure rate (0.0 to 1.0) and durations in
    milliseconds (percentiles of the calls that have one)."""

    tool_name: str
    calls: int
    failures: int
    failure_rate: float
    p50_ms: int | None
    p95_ms: int | None
    max_ms: int | None
    first: str | None
    last: str | None

class ChainReport(TypedDict):
    """What ``verify`` found for one mission's hash chain."""

    mission: str
    length: int
    head: str | None
    """The hash of the chain's last entry (hex)."""
    checked: int
    unchained: int
    """Rows another program wrote without a hash: not evidence of tampering."""
    edited: list[dict[str, Any]]
    deleted: list[dict[str, Any]]
    out_of_chain: list[dict[str, Any]]
    moved: list[dict[str, Any]]
    intact: bool

class ExportSummary(TypedDict):
    missions: int
    rows: int
    skipped: list[dict[str, Any]]
    """Missions that could not be read, each named with why."""

class ImportSummary(TypedDict):
    imported: int
    already_present: int
    """Missions the store already held with the same trail (nothing written)."""

class ToolCallInput(TypedDict, total=False):
    """One call of ``log_tool_calls``: ``tool_name`` and ``args`` required."""

    tool_name: str
    args: Any
    result: Any
    success: bool
    duration_ms: int | None
    error_message: str | None

class SQLiteStore:
    """The mission store (ARCH-002's ``SQLiteStore``): one SQLite file,
    created with its parent folders on first use, or a PostgreSQL database
    when ``db_path`` is a ``postgres://`` or ``postgresql://`` URL.

    JSON values (``metadata``, ``args``, ``result``, ``context``, memory
    values, ``metrics``) are stored as ``json.dumps`` writes them and come
    back as ``json.loads`` reads them; NaN, infinities and values JSON cannot
    carry raise ``InvalidInputError``.

    Raises (constructor): ``InvalidInputError`` for an unknown durability or
    a malformed URL; ``ReadOnlyError`` when the folder or file cannot be
    written; ``DatabaseError`` (kind ``unusable_file``) when the file is not
    a vibe-store database or is from a newer version; ``DatabaseError``
    (kind ``storage``) when PostgreSQL cannot be reached.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] = ".vibe/state/vibe_agency.db",
        *,
        durability: Literal["full", "normal"] | None = None,
        busy_timeout_ms: int | None = None,
        read_only: bool = False,
    ) -> None:
        """Opens (creating and migrating as needed) the store.

        ``durability``: ``"full"`` (every acknowledged write survives power
        loss; the default, or ``VIBE_DURABILITY``) or ``"normal"`` (survives a
        crash of the process). ``busy_timeout_ms``: how long a write waits
        for another writer's lock (default 30,000). ``read_only``: nothing is
        created or changed; writes raise ``ReadOnlyError``.
        """

    @property
    def db_path(self) -> Path:
        """The SQLite file. Raises ``AttributeError`` on PostgreSQL."""

    @property
    def location(self) -> str:
        """The file's path, or the URL without its password."""

    @property
    def backend(self) -> Literal["sqlite", "postgres"]: ...
    @property
    def schema_version(self) -> int:
        """The schema version the database is at (``PRAGMA user_version``)."""

    def init_db(self) -> None:
        """Creates or migrates the schema; opening already did. Idempotent."""

    def create_mission(self, phase: str, metadata: Any = None) -> str:
        """Creates a ``pending`` mission; returns its uuid (UUID4, 36
        characters). ``phase`` is one of PLANNING, CODING, TESTING,
        DEPLOYMENT, MAINTENANCE (any letter case); ``metadata`` ``None``
        is stored as ``{}``.

        Raises ``InvalidInputError`` for an unknown phase or metadata that
        is not JSON."""

    def update_mission_status(self, mission_uuid: str, status: str) -> None:
        """Sets the status (pending, in_progress, completed, failed);
        completed and failed stamp ``completed_at``.

        Raises ``MissionNotFoundError``, ``InvalidInputError`` (unknown
        status, or a move the store refuses, such as out of a terminal
        status)."""

    def get_mission(self, mission_uuid: str) -> MissionRow:
        """One mission. Raises ``MissionNotFoundError``."""

    def get_mission_history(self, limit: int = 10) -> list[MissionRow]:
        """The ``limit`` newest missions, newest first (``limit`` 0 to 1,000;
        more raises ``LimitExceededError``)."""

    def find_missions(
        self,
        *,
        status: str | None = None,
        phase: str | None = None,
        since: Instant | None = None,
        until: Instant | None = None,
        search: str | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[MissionRow]:
        """Missions newest first, filtered: created at or after ``since``
        and before ``until``, ``search`` text in the uuid or metadata; page
        on with ``before_id`` = the last row's ``id``."""

    def log_tool_call(
        self,
        mission_uuid: str,
        tool_name: str,
        args: Any,
        result: Any = None,
        success: bool = True,
        duration_ms: int | None = None,
        error_message: str | None = None,
    ) -> int:
        """Records one tool call (chained, durable when this returns);
        returns its row id. ``duration_ms`` in milliseconds (0 to one year).

        Raises ``MissionNotFoundError``; ``InvalidInputError`` (a name of 1
        to 256 bytes required, JSON that is not JSON, a negative duration);
        ``LimitExceededError`` (a JSON value over 1 MiB)."""

    def log_tool_calls(self, mission_uuid: str, calls: Iterable[Mapping[str, Any]]) -> list[int]:
        """Records many calls in one transaction, all or none (see
        ``ToolCallInput`` for each mapping's keys); returns their ids in
        order. Raises as ``log_tool_call``, naming the call refused."""

    def get_tool_history(self, mission_uuid: str) -> list[ToolCallRow]:
        """Every tool call of the mission, oldest first. Raises
        ``MissionNotFoundError``."""

    def find_tool_calls(
        self,
        mission_uuid: str | None = None,
        *,
        tools: list[str] | None = None,
        success: bool | None = None,
        since: Instant | None = None,
        until: Instant | None = None,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> list[ToolCallRow]:
        """Tool calls oldest first, of one mission or all, filtered by tool
        name (any of ``tools``), success and time; page on with ``after_id``
        = the last row's ``id``."""

    def get_tool_call(self, id: int) -> ToolCallRow:
        """One tool call by row id. Raises ``NotFoundError``."""

    def record_decision(
        self,
        mission_uuid: str,
        decision_type: str,
        rationale: str,
        agent_name: str,
        context: Any = None,
    ) -> int:
        """Records a decision (chained, durable when this returns); returns
        its row id. Raises ``MissionNotFoundError``, ``InvalidInputError``."""

    def get_decisions(self, mission_uuid: str) -> list[DecisionRow]:
        """Every decision of the mission, oldest first."""

    def find_decisions(
        self,
        mission_uuid: str | None = None,
        *,
        types: list[str] | None = None,
        agents: list[str] | None = None,
        since: Instant | None = None,
        until: Instant | None = None,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> list[DecisionRow]:
        """Decisions oldest first, filtered like ``find_tool_calls``."""

    def tool_stats(self, mission_uuid: str | None = None) -> list[ToolStatsRow]:
        """Per-tool counts and durations, of one mission or all."""

    def set_memory(
        self, mission_uuid: str, key: str, value: Any, ttl_seconds: int | None = None
    ) -> None:
        """Sets the mission's memory entry ``key`` (replacing it), expiring
        after ``ttl_seconds`` (0 to 2**32-1) when given."""

    def get_memory(self, mission_uuid: str, key: str) -> Any:
        """The value under ``key``, or ``None`` if there is none or it
        expired."""

    def delete_memory(self, mission_uuid: str, key: str) -> bool:
        """Deletes ``key``; whether there was one."""

    def list_memory(self, mission_uuid: str) -> list[MemoryRow]:
        """Every entry of the mission that has not expired, by key."""

    def start_playbook_run(
        self, mission_uuid: str, playbook_name: str, phase: str | None = None
    ) -> int:
        """Starts a playbook run; returns its id."""

    def complete_playbook_run(
        self,
        run_id: int,
        success: bool,
        metrics: Any = None,
        error_message: str | None = None,
    ) -> None:
        """Completes a run once. Raises ``NotFoundError``,
        ``InvalidInputError`` (already completed)."""

    def get_playbook_runs(self, mission_uuid: str) -> list[PlaybookRunRow]:
        """The mission's playbook runs, oldest first."""

    def verify(self, mission_uuid: str | None = None) -> list[ChainReport]:
        """Recomputes hash chains (one mission's, or every mission's) and
        reports rows edited, deleted, inserted out of chain or moved, as
        ``vibe verify`` does."""

    def export_jsonl(
        self,
        path: str | os.PathLike[str],
        *,
        missions: list[str] | None = None,
        since: Instant | None = None,
    ) -> ExportSummary:
        """Writes missions with all their rows, one JSON line each (the
        format of ``vibe export``), to ``path``, flushed to disk."""

    def import_jsonl(self, path: str | os.PathLike[str]) -> ImportSummary:
        """Imports a file ``export_jsonl`` or ``vibe export`` wrote, each
        line all or nothing, every row checked as a live write is. Stops at
        the first line refused, raising its error (``line N: ...``); lines
        before it stay imported."""

    def _log_tool_calls_from_rust(
        self, mission_uuid: str, tool_name: str, args: str, result: str, duration_ms: int, n: int
    ) -> None:
        """For the benchmark: ``n`` ``log_tool_call``s made from Rust on this
        store (JSON given as text), the call Python's is compared with."""

    def close(self) -> None:
        """Releases this object's hold on the database (idempotent); later
        calls raise ``DatabaseError`` (kind ``closed``), calls running
        finish first. Connections close when nothing else holds the store
        (a ``Runtime`` made from it keeps it open)."""

    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> SQLiteStore: ...
    def __exit__(self, *args: object) -> bool:
        """Closes the store; exceptions propagate."""

class Tool:
    """A loaded component (``Runtime.load``)."""

    @property
    def name(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def description(self) -> dict[str, Any] | None:
        """``name``, ``description``, ``input_schema``, ``output_schema``
        when the tool describes itself."""

class RunReport:
    """What one invocation did; its ``tool_calls`` row is ``invocation_id``."""

    outcome: str
    """``"ok"``, or ``tool_error``, ``timeout``, ``memory_limit``,
    ``stack_overflow``, ``trap``, ``exit``, ``invalid_output``,
    ``load_error``, ``host_error``, ``cancelled``."""
    ok: bool
    output: Any
    """The tool's JSON output as a Python value; ``None`` when it failed."""
    error: str | None
    invocation_id: int
    duration_ms: float
    """Wall-clock milliseconds, load excluded."""
    stdout: str
    stderr: str

class Runtime:
    """The sandbox host: runs WebAssembly components compiled against
    ``wit/`` for a mission, bounded in time and memory, with only the grants
    given, every invocation a row written before the tool runs."""

    def __init__(
        self,
        store: SQLiteStore,
        *,
        max_concurrent: int = 64,
        max_memory_mb: int = 1024,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        """``max_concurrent`` invocations at once (1 to 1,024; more wait);
        ``max_memory_mb``: the most linear memory any invocation may be
        given (1 to 4,096 MiB); ``cache_dir``: compiled components (default
        ``VIBE_CACHE_DIR`` or ``~/.cache/vibe-store/components``).
        Raises ``InvalidInputError`` (out of range), ``ToolLoadError``
        (kind ``engine``)."""

    def load(self, path: str | os.PathLike[str]) -> Tool:
        """Loads and compiles (or finds in the cache) a component.
        Raises ``ToolLoadError``."""

    def run(
        self,
        tool: Tool | str | os.PathLike[str],
        mission_uuid: str,
        input: Any,
        *,
        timeout_ms: int | None = None,
        memory_mb: int | None = None,
        create_missions: bool = False,
        read_all_missions: bool = False,
        name: str | None = None,
        caller: Any = None,
    ) -> RunReport:
        """Runs the tool once for ``mission_uuid`` with ``input``. A tool's
        failure (its error, a timeout, a trap, a component that does not
        load when given by path) is a report with ``ok`` false, recorded in
        its row; exceptions are for what leaves no invocation:
        ``MissionNotFoundError``, ``InvalidInputError`` (input that is not
        JSON, a limit out of range). ``timeout_ms``: wall-clock limit
        (default 10,000); ``memory_mb``: linear memory limit (default 64)."""
