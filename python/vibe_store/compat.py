"""The later store API of the project ARCH-002 came from, over a vibe-store
file: ``vibe_store.compat.SQLiteStore``.

Code written against that project's ``SQLiteStore`` (integer ids, mission
uuids and timestamps the caller chooses, budgets and owners on missions,
session narratives, artifacts, quality gates, domain concepts and concerns,
trajectories, agent memory, playbook runs, manifest and legacy imports, a
``conn`` attribute, ``":memory:"``, use as a context manager) runs against
this class unchanged but for its import line.

How it differs, and why:

* The file is a vibe-store database: ``vibe_store.SQLiteStore`` opens it
  first (creating and migrating it), and this class adds the tables and
  ``missions`` columns only the other project has, as another program
  sharing the file would. So the file holds vibe-store's tables too
  (``row_chain``, ``vibe_schema_version``), and ``PRAGMA user_version`` is
  vibe-store's schema version, not 2.
* Rows are written through ``conn`` (Python's ``sqlite3``, the same SQLite
  library the store links, so both honour each other's locks) with the
  values the caller gives, timestamps verbatim, as that project wrote them.
  The schema's rules still hold (phase and status domains, JSON that is
  JSON, foreign keys), and timestamps must be times the store reads; but
  these rows are not in the hash chain: ``vibe verify`` counts them as
  unchained, not as tampering. Chained rows are what ``vibe_store.SQLiteStore``
  writes (``self.store``, on the same file).
* JSON values are stored as given: ``{}`` and ``[]`` stay ``{}`` and ``[]``
  rather than becoming NULL, and a memory value of ``5`` reads back as 5.
* ``":memory:"`` is a private temporary file, deleted by ``close()``: the
  store's own connections and ``conn`` must reach one database, which a
  SQLite ``:memory:`` database, private to one connection, cannot be.
* Every method holds one lock while it uses ``conn``, so threads may share
  an instance; writes commit before the method returns.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sqlite3
import tempfile
import threading
from types import TracebackType
from typing import Any, Iterable

from ._errors import InvalidInputError
from ._native import SQLiteStore as _Store
from ._native import parse_time

__all__ = ["SQLiteStore"]

# The tables and missions columns only the other project has, as it
# declares them, with JSON kept as text checked by json_valid (as every
# vibe-store JSON column is: a column declared JSON has NUMERIC affinity in
# SQLite and turns the JSON text 5 into the integer 5).
_MISSION_COLUMNS = [
    ("updated_at", "TEXT"),
    (
        "planning_sub_state",
        "TEXT CHECK (planning_sub_state IS NULL OR planning_sub_state IN "
        "('RESEARCH', 'BUSINESS_VALIDATION', 'FEATURE_SPECIFICATION'))",
    ),
    ("max_cost_usd", "REAL"),
    ("current_cost_usd", "REAL DEFAULT 0.0 CHECK (current_cost_usd >= 0)"),
    ("alert_threshold", "REAL DEFAULT 0.80 CHECK (alert_threshold >= 0.0 AND alert_threshold <= 1.0)"),
    ("cost_breakdown", "TEXT CHECK (cost_breakdown IS NULL OR json_valid(cost_breakdown))"),
    ("owner", "TEXT"),
    ("description", "TEXT"),
    ("api_version", "TEXT DEFAULT 'agency.os/v1alpha1'"),
]

_MISSION = "mission_id INTEGER NOT NULL REFERENCES missions(id) ON DELETE CASCADE"

_TABLES = f"""
CREATE TABLE IF NOT EXISTS session_narrative (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    {_MISSION},
    session_num INTEGER NOT NULL,
    summary TEXT NOT NULL,
    date TEXT NOT NULL,
    phase TEXT NOT NULL,
    UNIQUE (mission_id, session_num)
);
CREATE TABLE IF NOT EXISTS domain_concepts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    {_MISSION},
    concept TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    UNIQUE (mission_id, concept)
);
CREATE TABLE IF NOT EXISTS domain_concerns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    {_MISSION},
    concern TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    UNIQUE (mission_id, concern)
);
CREATE TABLE IF NOT EXISTS trajectory (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mission_id INTEGER NOT NULL UNIQUE REFERENCES missions(id) ON DELETE CASCADE,
    current_phase TEXT NOT NULL,
    current_focus TEXT,
    completed_phases TEXT CHECK (completed_phases IS NULL OR json_valid(completed_phases)),
    blockers TEXT CHECK (blockers IS NULL OR json_valid(blockers)),
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    {_MISSION},
    artifact_type TEXT NOT NULL CHECK (artifact_type IN ('planning', 'code', 'test', 'deployment')),
    artifact_name TEXT NOT NULL,
    ref TEXT,
    path TEXT,
    url TEXT,
    branch TEXT,
    metadata TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quality_gates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    {_MISSION},
    gate_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('passed', 'failed', 'skipped')),
    details TEXT CHECK (details IS NULL OR json_valid(details)),
    timestamp TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_missions_owner ON missions(owner);
CREATE INDEX IF NOT EXISTS idx_missions_budget ON missions(max_cost_usd, current_cost_usd);
CREATE INDEX IF NOT EXISTS idx_session_narrative_mission ON session_narrative(mission_id);
CREATE INDEX IF NOT EXISTS idx_artifacts_mission ON artifacts(mission_id, artifact_type);
CREATE INDEX IF NOT EXISTS idx_quality_gates_mission ON quality_gates(mission_id);
"""

# Columns read back as Python values.
_JSON_COLUMNS = frozenset(
    {"metadata", "cost_breakdown", "args", "result", "context", "value", "metrics",
     "completed_phases", "blockers", "details", "caller"}
)

_LEGACY_STATUS = {"active": "in_progress"}
_STATUSES = ("pending", "in_progress", "completed", "failed")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(field: str, value: str | None) -> str | None:
    """``value`` as given, once it is a time the store reads."""
    if value is None:
        return None
    if not isinstance(value, str) or parse_time(value) is None:
        raise InvalidInputError(f"{field} {value!r} is not a time the store reads", "invalid_input")
    return value


def _json(field: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"{field} is not JSON: {e}", "invalid_input") from e


def _row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    for key in _JSON_COLUMNS.intersection(out):
        if isinstance(out[key], str):
            out[key] = json.loads(out[key])
    return out


def _rows(rows: Iterable[sqlite3.Row]) -> list[dict[str, Any]]:
    return [r for r in map(_row, rows) if r is not None]


class SQLiteStore:
    """The other project's ``SQLiteStore``, on a vibe-store file (see the
    module's docstring for how it differs). SQLite only.

    Raises ``ValueError`` for an empty ``db_path`` (the other project's
    rule: there is no default path), ``InvalidInputError`` for a
    PostgreSQL URL, and what ``vibe_store.SQLiteStore`` raises on opening.
    Writes raise ``sqlite3.IntegrityError`` where the schema refuses them
    (an unknown phase or status, a duplicate uuid, an unknown mission id),
    as the other project's do, and ``InvalidInputError`` for a timestamp
    that is not a time or a value that is not JSON.
    """

    conn: sqlite3.Connection | None
    """The connection every method uses (``None`` once closed)."""
    db_path: str
    """The path given (``":memory:"`` included)."""
    store: _Store
    """vibe-store's own store on the same file: chained writes, verify."""

    def __init__(self, db_path: str) -> None:
        if not db_path:
            raise ValueError("db_path is required: give the database file's path, or ':memory:'")
        if db_path.startswith(("postgres://", "postgresql://")):
            raise InvalidInputError("the compatibility class is SQLite only", "invalid_input")
        self.db_path = db_path
        self._lock = threading.RLock()
        self._scratch: str | None = None
        path = db_path
        if db_path == ":memory:":
            self._scratch = tempfile.mkdtemp(prefix="vibe-store-memory-")
            path = os.path.join(self._scratch, "memory.db")
        self.store = _Store(path)
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level="DEFERRED", timeout=30.0)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")
        self._extend_schema()

    def _extend_schema(self) -> None:
        conn = self._conn()
        with self._lock:
            have = {r["name"] for r in conn.execute("PRAGMA table_info(missions)")}
            for name, declaration in _MISSION_COLUMNS:
                if name not in have:
                    conn.execute(f"ALTER TABLE missions ADD COLUMN {name} {declaration}")
            conn.executescript(_TABLES)
            conn.commit()

    def _conn(self) -> sqlite3.Connection:
        if self.conn is None:
            raise sqlite3.ProgrammingError("the store is closed")
        return self.conn

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        conn = self._conn()
        with self._lock:
            try:
                cursor = conn.execute(sql, params)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            return int(cursor.lastrowid or 0)

    def _one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        with self._lock:
            return _row(self._conn().execute(sql, params).fetchone())

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return _rows(self._conn().execute(sql, params).fetchall())

    # ---- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        """Closes ``conn`` (idempotent); a ``":memory:"`` database is gone."""
        with self._lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            if self._scratch is not None:
                shutil.rmtree(self._scratch, ignore_errors=True)
                self._scratch = None

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- missions -----------------------------------------------------------

    def create_mission(
        self,
        mission_uuid: str,
        phase: str,
        status: str,
        created_at: str | None = None,
        completed_at: str | None = None,
        updated_at: str | None = None,
        planning_sub_state: str | None = None,
        max_cost_usd: float | None = None,
        current_cost_usd: float = 0.0,
        alert_threshold: float = 0.80,
        cost_breakdown: dict[str, Any] | None = None,
        owner: str | None = None,
        description: str | None = None,
        api_version: str = "agency.os/v1alpha1",
        metadata: dict[str, Any] | None = None,
    ) -> int:
        """Inserts a mission with the caller's uuid and times (``created_at``
        defaults to now); returns its integer id."""
        return self._write(
            "INSERT INTO missions (mission_uuid, phase, status, created_at, completed_at, "
            "updated_at, planning_sub_state, max_cost_usd, current_cost_usd, alert_threshold, "
            "cost_breakdown, owner, description, api_version, metadata) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                mission_uuid,
                phase,
                status,
                _time("created_at", created_at) or _now(),
                _time("completed_at", completed_at),
                _time("updated_at", updated_at),
                planning_sub_state,
                max_cost_usd,
                current_cost_usd,
                alert_threshold,
                _json("cost_breakdown", cost_breakdown),
                owner,
                description,
                api_version,
                _json("metadata", metadata),
            ),
        )

    def get_mission(self, mission_id: int) -> dict[str, Any] | None:
        """The mission with this id, or ``None``."""
        return self._one("SELECT * FROM missions WHERE id = ?", (mission_id,))

    def get_mission_by_uuid(self, mission_uuid: str) -> dict[str, Any] | None:
        """The mission with this uuid, or ``None``."""
        return self._one("SELECT * FROM missions WHERE mission_uuid = ?", (mission_uuid,))

    def update_mission_status(self, mission_id: int, status: str, completed_at: str | None = None) -> None:
        """Sets the status and ``completed_at`` (``None`` clears it)."""
        self._write(
            "UPDATE missions SET status = ?, completed_at = ? WHERE id = ?",
            (status, _time("completed_at", completed_at), mission_id),
        )

    def get_mission_history(self) -> list[dict[str, Any]]:
        """Every mission, newest ``created_at`` first."""
        return self._all("SELECT * FROM missions ORDER BY created_at DESC")

    def get_all_missions(self) -> list[dict[str, Any]]:
        """Every mission, newest ``created_at`` first."""
        return self.get_mission_history()

    def delete_mission(self, mission_id: int) -> None:
        """Deletes the mission and everything it holds (its rows cascade),
        its hash chain's ledger with it, as ``vibe prune`` does."""
        conn = self._conn()
        with self._lock:
            try:
                conn.execute("DELETE FROM row_chain WHERE mission_id = ?", (mission_id,))
                conn.execute("DELETE FROM missions WHERE id = ?", (mission_id,))
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    def update_mission_budget(
        self,
        mission_id: int,
        current_cost_usd: float | None = None,
        max_cost_usd: float | None = None,
        alert_threshold: float | None = None,
        cost_breakdown: dict[str, Any] | None = None,
    ) -> None:
        """Sets the budget fields given (``None`` leaves one as it is)."""
        changes: list[tuple[str, Any]] = [
            (column, value)
            for column, value in (
                ("current_cost_usd", current_cost_usd),
                ("max_cost_usd", max_cost_usd),
                ("alert_threshold", alert_threshold),
            )
            if value is not None
        ]
        if cost_breakdown is not None:
            changes.append(("cost_breakdown", _json("cost_breakdown", cost_breakdown)))
        if not changes:
            return
        assignments = ", ".join(f"{column} = ?" for column, _ in changes)
        self._write(
            f"UPDATE missions SET {assignments} WHERE id = ?",
            (*(value for _, value in changes), mission_id),
        )

    def get_missions_over_budget(self) -> list[dict[str, Any]]:
        """Missions whose cost is past their maximum, newest first."""
        return self._all(
            "SELECT * FROM missions WHERE max_cost_usd IS NOT NULL "
            "AND current_cost_usd > max_cost_usd ORDER BY created_at DESC"
        )

    def get_missions_by_owner(self, owner: str) -> list[dict[str, Any]]:
        """The owner's missions, newest first."""
        return self._all("SELECT * FROM missions WHERE owner = ? ORDER BY created_at DESC", (owner,))

    # ---- tool calls and decisions ------------------------------------------

    def log_tool_call(
        self,
        mission_id: int,
        tool_name: str,
        args: dict[str, Any],
        result: dict[str, Any] | None,
        timestamp: str,
        duration_ms: int,
        success: bool,
        error_message: str | None = None,
    ) -> int:
        """Inserts a tool call; returns its id."""
        return self._write(
            "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, "
            "duration_ms, success, error_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                mission_id,
                tool_name,
                _json("args", args),
                _json("result", result),
                _time("timestamp", timestamp),
                duration_ms,
                1 if success else 0,
                error_message,
            ),
        )

    def get_tool_call(self, tool_call_id: int) -> dict[str, Any] | None:
        """The tool call with this id, or ``None``."""
        return self._one("SELECT * FROM tool_calls WHERE id = ?", (tool_call_id,))

    def get_tool_calls_for_mission(self, mission_id: int) -> list[dict[str, Any]]:
        """The mission's tool calls by timestamp."""
        return self._all("SELECT * FROM tool_calls WHERE mission_id = ? ORDER BY timestamp, id", (mission_id,))

    def record_decision(
        self,
        mission_id: int,
        decision_type: str,
        rationale: str,
        timestamp: str,
        agent_name: str,
        context: dict[str, Any] | None = None,
    ) -> int:
        """Inserts a decision; returns its id."""
        return self._write(
            "INSERT INTO decisions (mission_id, decision_type, rationale, timestamp, agent_name, "
            "context) VALUES (?, ?, ?, ?, ?, ?)",
            (mission_id, decision_type, rationale, _time("timestamp", timestamp), agent_name, _json("context", context)),
        )

    def get_decisions_for_mission(self, mission_id: int) -> list[dict[str, Any]]:
        """The mission's decisions by timestamp."""
        return self._all("SELECT * FROM decisions WHERE mission_id = ? ORDER BY timestamp, id", (mission_id,))

    # ---- agent memory -------------------------------------------------------

    def set_memory(self, mission_id: int, key: str, value: Any, timestamp: str, ttl: int | None = None) -> None:
        """Sets ``key`` (replacing it); with ``ttl`` seconds it expires then."""
        expires_at = None
        at = parse_time(_time("timestamp", timestamp) or "")
        if ttl is not None and at is not None:
            start = datetime.datetime.fromisoformat(at.replace("Z", "+00:00"))
            expires_at = (start + datetime.timedelta(seconds=ttl)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self._write(
            "INSERT INTO agent_memory (mission_id, key, value, timestamp, ttl, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (mission_id, key) DO UPDATE SET "
            "value = excluded.value, timestamp = excluded.timestamp, ttl = excluded.ttl, "
            "expires_at = excluded.expires_at",
            (mission_id, key, json.dumps(value, allow_nan=False), timestamp, ttl, expires_at),
        )

    def get_memory(self, mission_id: int, key: str) -> dict[str, Any] | None:
        """The entry under ``key`` (expired or not), or ``None``."""
        return self._one("SELECT * FROM agent_memory WHERE mission_id = ? AND key = ?", (mission_id, key))

    # ---- playbook runs ------------------------------------------------------

    def create_playbook_run(self, mission_id: int, playbook_name: str, phase: str, started_at: str) -> int:
        """Inserts a started run; returns its id."""
        return self._write(
            "INSERT INTO playbook_runs (mission_id, playbook_name, phase, started_at) VALUES (?, ?, ?, ?)",
            (mission_id, playbook_name, phase, _time("started_at", started_at)),
        )

    def complete_playbook_run(
        self, run_id: int, completed_at: str, success: bool, metrics: dict[str, Any] | None = None
    ) -> None:
        """Completes the run."""
        self._write(
            "UPDATE playbook_runs SET completed_at = ?, success = ?, metrics = ? WHERE id = ?",
            (_time("completed_at", completed_at), 1 if success else 0, _json("metrics", metrics), run_id),
        )

    def get_playbook_run(self, run_id: int) -> dict[str, Any] | None:
        """The run with this id, or ``None``."""
        return self._one("SELECT * FROM playbook_runs WHERE id = ?", (run_id,))

    # ---- project memory: narrative, domain, trajectory ----------------------

    def add_session_narrative(self, mission_id: int, session_num: int, summary: str, date: str, phase: str) -> int:
        """Inserts a session's summary; returns its id."""
        return self._write(
            "INSERT INTO session_narrative (mission_id, session_num, summary, date, phase) VALUES (?, ?, ?, ?, ?)",
            (mission_id, session_num, summary, date, phase),
        )

    def get_session_narrative(self, mission_id: int) -> list[dict[str, Any]]:
        """The mission's sessions by number."""
        return self._all("SELECT * FROM session_narrative WHERE mission_id = ? ORDER BY session_num", (mission_id,))

    def add_domain_concept(self, mission_id: int, concept: str, timestamp: str) -> int:
        """Inserts a domain concept; returns its id."""
        return self._write(
            "INSERT INTO domain_concepts (mission_id, concept, timestamp) VALUES (?, ?, ?)",
            (mission_id, concept, _time("timestamp", timestamp)),
        )

    def get_domain_concepts(self, mission_id: int) -> list[str]:
        """The mission's concepts, oldest first."""
        return [r["concept"] for r in self._all(
            "SELECT concept FROM domain_concepts WHERE mission_id = ? ORDER BY timestamp, id", (mission_id,))]

    def add_domain_concern(self, mission_id: int, concern: str, timestamp: str) -> int:
        """Inserts a domain concern; returns its id."""
        return self._write(
            "INSERT INTO domain_concerns (mission_id, concern, timestamp) VALUES (?, ?, ?)",
            (mission_id, concern, _time("timestamp", timestamp)),
        )

    def get_domain_concerns(self, mission_id: int) -> list[str]:
        """The mission's concerns, oldest first."""
        return [r["concern"] for r in self._all(
            "SELECT concern FROM domain_concerns WHERE mission_id = ? ORDER BY timestamp, id", (mission_id,))]

    def set_trajectory(
        self,
        mission_id: int,
        current_phase: str,
        updated_at: str,
        current_focus: str | None = None,
        completed_phases: list[str] | None = None,
        blockers: list[str] | None = None,
    ) -> None:
        """Sets the mission's trajectory, replacing every field."""
        self._write(
            "INSERT INTO trajectory (mission_id, current_phase, current_focus, completed_phases, "
            "blockers, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (mission_id) DO UPDATE SET "
            "current_phase = excluded.current_phase, current_focus = excluded.current_focus, "
            "completed_phases = excluded.completed_phases, blockers = excluded.blockers, "
            "updated_at = excluded.updated_at",
            (
                mission_id,
                current_phase,
                current_focus,
                _json("completed_phases", completed_phases),
                _json("blockers", blockers),
                _time("updated_at", updated_at),
            ),
        )

    def get_trajectory(self, mission_id: int) -> dict[str, Any] | None:
        """The mission's trajectory, or ``None``."""
        return self._one("SELECT * FROM trajectory WHERE mission_id = ?", (mission_id,))

    # ---- artifacts and quality gates ---------------------------------------

    def add_artifact(
        self,
        mission_id: int,
        artifact_type: str,
        artifact_name: str,
        created_at: str,
        ref: str | None = None,
        path: str | None = None,
        url: str | None = None,
        branch: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> int:
        """Inserts an artifact (planning, code, test, deployment); returns its id."""
        return self._write(
            "INSERT INTO artifacts (mission_id, artifact_type, artifact_name, ref, path, url, branch, "
            "metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (mission_id, artifact_type, artifact_name, ref, path, url, branch,
             _json("metadata", metadata), _time("created_at", created_at)),
        )

    def get_artifacts(self, mission_id: int, artifact_type: str | None = None) -> list[dict[str, Any]]:
        """The mission's artifacts (of one type, when given) by creation."""
        if artifact_type:
            return self._all(
                "SELECT * FROM artifacts WHERE mission_id = ? AND artifact_type = ? ORDER BY created_at, id",
                (mission_id, artifact_type),
            )
        return self._all("SELECT * FROM artifacts WHERE mission_id = ? ORDER BY created_at, id", (mission_id,))

    def record_quality_gate(
        self, mission_id: int, gate_name: str, status: str, timestamp: str, details: dict[str, Any] | None = None
    ) -> int:
        """Inserts a gate's result (passed, failed, skipped); returns its id."""
        return self._write(
            "INSERT INTO quality_gates (mission_id, gate_name, status, details, timestamp) VALUES (?, ?, ?, ?, ?)",
            (mission_id, gate_name, status, _json("details", details), _time("timestamp", timestamp)),
        )

    def get_quality_gates(self, mission_id: int) -> list[dict[str, Any]]:
        """The mission's gates by timestamp."""
        return self._all("SELECT * FROM quality_gates WHERE mission_id = ? ORDER BY timestamp, id", (mission_id,))

    # ---- imports ------------------------------------------------------------

    def import_legacy_mission(self, json_data: dict[str, Any]) -> int | None:
        """Imports a legacy mission file's content; ``None`` when its
        ``mission_id`` is already here."""
        mission_uuid = str(json_data.get("mission_id", "unknown"))
        if self.get_mission_by_uuid(mission_uuid) is not None:
            return None
        context = json_data.get("context") or {}
        status = str(json_data.get("status", "in_progress"))
        status = _LEGACY_STATUS.get(status, status)
        if status not in _STATUSES:
            status = "in_progress"
        return self.create_mission(
            mission_uuid=mission_uuid,
            phase=str(context.get("phase", "PLANNING")),
            status=status,
            created_at=json_data.get("created_at") or json_data.get("genesis_time") or _now(),
            metadata=json_data,
        )

    def import_project_manifest(
        self, manifest: dict[str, Any], project_memory: dict[str, Any] | None = None
    ) -> int:
        """Creates or updates the mission a project manifest describes (and
        its project memory, when given); returns the mission's id."""
        meta = manifest.get("metadata") or {}
        state = manifest.get("status") or {}
        budget = manifest.get("budget") or {}
        phase = state.get("projectPhase", "PLANNING")
        row: dict[str, Any] = {
            "mission_uuid": meta.get("projectId", "unknown"),
            "phase": phase,
            "status": "completed" if state.get("completedAt") or phase == "PRODUCTION" else "in_progress",
            "created_at": meta.get("createdAt"),
            "updated_at": meta.get("lastUpdatedAt"),
            "planning_sub_state": state.get("planningSubState"),
            "max_cost_usd": budget.get("max_cost_usd"),
            "current_cost_usd": budget.get("current_cost_usd", 0.0),
            "alert_threshold": budget.get("alert_threshold", 0.80),
            "cost_breakdown": budget.get("cost_breakdown"),
            "owner": meta.get("owner"),
            "description": meta.get("description"),
            "api_version": manifest.get("apiVersion", "agency.os/v1alpha1"),
            "metadata": {
                "spec": manifest.get("spec"),
                "kind": manifest.get("kind"),
                "artifacts": manifest.get("artifacts"),
            },
        }
        with self._lock:
            existing = self.get_mission_by_uuid(row["mission_uuid"])
            if existing is None:
                mission_id = self.create_mission(**row)
            else:
                mission_id = int(existing["id"])
                columns = [c for c in row if c != "mission_uuid"]
                values = [
                    _json(c, row[c]) if c in ("metadata", "cost_breakdown")
                    else _time(c, row[c]) if c in ("created_at", "updated_at")
                    else row[c]
                    for c in columns
                ]
                self._write(
                    f"UPDATE missions SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                    (*values, mission_id),
                )
            if project_memory:
                self._map_project_memory_to_sql(project_memory, mission_id, _now())
        return mission_id

    def _map_project_memory_to_sql(self, memory: dict[str, Any], mission_id: int, timestamp: str) -> None:
        """Writes a project memory document's narrative, domain and
        trajectory for the mission; an entry already there is skipped."""
        for session in memory.get("narrative") or []:
            try:
                self.add_session_narrative(
                    mission_id,
                    int(session.get("session", 0)),
                    str(session.get("summary", "")),
                    str(session.get("date", timestamp)),
                    str(session.get("phase", "UNKNOWN")),
                )
            except sqlite3.IntegrityError:
                pass
        domain = memory.get("domain") or {}
        for concept in domain.get("concepts") or []:
            try:
                self.add_domain_concept(mission_id, str(concept), timestamp)
            except sqlite3.IntegrityError:
                pass
        for concern in domain.get("concerns") or []:
            try:
                self.add_domain_concern(mission_id, str(concern), timestamp)
            except sqlite3.IntegrityError:
                pass
        trajectory = memory.get("trajectory")
        if trajectory:
            self.set_trajectory(
                mission_id,
                current_phase=str(trajectory.get("phase", "UNKNOWN")),
                updated_at=timestamp,
                current_focus=trajectory.get("current_focus"),
                completed_phases=trajectory.get("completed"),
                blockers=trajectory.get("blockers"),
            )
