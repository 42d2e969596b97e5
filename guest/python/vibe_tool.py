"""Agent tools for vibe-store, written in Python.

A tool subclasses `Tool`, takes and returns Python objects (JSON is handled
here), and exports itself under the names componentize-py looks for:

    import vibe_tool

    class Echo(vibe_tool.Tool):
        name = "echo"                                  # optional: describe it
        description = "Returns its input"
        input_schema = {"type": "object"}

        def run(self, mission, input):
            mission.log("echo.seen", input)
            return input

    Tool, Describe = vibe_tool.exports(Echo)

`mission` is the mission the tool runs for, with the store calls its
grants allow: `log`, `decide`, `tool_calls` / `decisions` (one page) and
`each_tool_call` (every page), `remember` / `recall` / `forget` (memory),
`info`, `set_status`. A store call that fails raises `StoreError`, whose
`kind` is the contract's variant: `mission-not-found`, `invalid-input`,
`access-denied`, `limit-exceeded` or `internal`. Raise `ToolError` to fail
the call with a message of your own (outcome `tool_error`); any other
uncaught exception ends the invocation as a trap, as a panic does in Rust.

Build (what `./x guests` runs):

    componentize-py -d wit -w described-tool componentize -p guest/python app -o app.wasm
"""

import json
from typing import Any, Iterator, Optional

from componentize_py_types import Err
from wit_world import exports as _exports
from wit_world.exports import describe as _describe
from wit_world.imports import audit as _audit
from wit_world.imports import memory as _memory
from wit_world.imports import missions as _missions
from wit_world.imports import types as _types

__all__ = ["Tool", "Mission", "StoreError", "ToolError", "exports", "create_mission", "mission_history"]

_KINDS = {
    "StoreError_MissionNotFound": "mission-not-found",
    "StoreError_InvalidInput": "invalid-input",
    "StoreError_AccessDenied": "access-denied",
    "StoreError_LimitExceeded": "limit-exceeded",
    "StoreError_Internal": "internal",
}


class StoreError(Exception):
    """A store call the host refused or could not do; nothing was written."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class ToolError(Exception):
    """Fails the invocation with this message (outcome `tool_error`)."""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(text: Optional[str]) -> Any:
    return None if text is None else json.loads(text)


def _store(call, *args):
    try:
        return call(*args)
    except Err as e:
        variant = e.value
        raise StoreError(_KINDS.get(type(variant).__name__, "internal"), str(variant.value)) from None


def _row(call: "_types.ToolCall") -> dict:
    return {
        "id": call.id,
        "mission": call.mission,
        "tool_name": call.tool_name,
        "args": _loads(call.args),
        "result": _loads(call.result),
        "timestamp": call.timestamp,
        "duration_ms": call.duration_ms,
        "success": call.success,
        "error_message": call.error_message,
    }


_PHASES = {p.name.lower(): p for p in _types.Phase}
_STATUSES = {s.name.lower(): s for s in _types.MissionStatus}


class Mission:
    """A mission, and the store calls on it."""

    def __init__(self, id: str):
        self.id = id

    def info(self) -> dict:
        m = _store(_missions.get_mission, self.id)
        return {
            "id": m.id,
            "phase": m.phase.name,
            "status": m.status.name.lower(),
            "created_at": m.created_at,
            "completed_at": m.completed_at,
            "metadata": _loads(m.metadata),
        }

    def set_status(self, status: str) -> None:
        _store(_missions.update_mission_status, self.id, _STATUSES[status])

    def log(self, tool: str, args: Any, result: Any = None, *, success: bool = True,
            duration_ms: Optional[int] = None, error: Optional[str] = None) -> int:
        """Logs a tool call; returns its id."""
        call = _types.NewToolCall(
            tool, _dumps(args), None if result is None else _dumps(result), success, duration_ms, error
        )
        return _store(_audit.log_tool_call, self.id, call)

    def decide(self, decision_type: str, rationale: str, agent: str, context: Any = None) -> int:
        """Records a decision; returns its id."""
        return _store(
            _audit.record_decision, self.id, decision_type, rationale, agent,
            None if context is None else _dumps(context),
        )

    def tool_calls(self, after: Optional[int] = None, limit: int = 100) -> list:
        """One page of tool calls, oldest first, with ids above `after`."""
        return [_row(c) for c in _store(_audit.get_tool_history, self.id, after, limit)]

    def each_tool_call(self, page: int = 100) -> Iterator[dict]:
        """Every tool call, page by page (the host bounds each page)."""
        after = None
        while True:
            rows = self.tool_calls(after, page)
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1]["id"]

    def decisions(self, after: Optional[int] = None, limit: int = 100) -> list:
        return [
            {
                "id": d.id,
                "decision_type": d.decision_type,
                "rationale": d.rationale,
                "agent_name": d.agent_name,
                "timestamp": d.timestamp,
                "context": _loads(d.context),
            }
            for d in _store(_audit.get_decisions, self.id, after, limit)
        ]

    def remember(self, key: str, value: Any, ttl_seconds: Optional[int] = None) -> None:
        _store(_memory.set, self.id, key, _dumps(value), ttl_seconds)

    def recall(self, key: str, default: Any = None) -> Any:
        text = _store(_memory.get, self.id, key)
        return default if text is None else json.loads(text)

    def forget(self, key: str) -> bool:
        return _store(_memory.delete, self.id, key)


def create_mission(phase: str, metadata: Any = None) -> Mission:
    """Needs the `create-missions` grant."""
    return Mission(_store(_missions.create_mission, _PHASES[phase.lower()], _dumps(metadata or {})))


def mission_history(limit: int = 10) -> list:
    """Newest first. Needs the `read-all-missions` grant."""
    return [Mission(m.id).info() for m in _store(_missions.get_mission_history, limit)]


class Tool:
    """Subclass and implement `run`; set `name` (and `description`,
    `input_schema`, `output_schema`) for the tool to describe itself."""

    name: Optional[str] = None
    description: str = ""
    input_schema: dict = {"type": "object"}
    output_schema: Optional[dict] = None

    def run(self, mission: Mission, input: Any) -> Any:
        raise NotImplementedError


def exports(tool_class):
    """The two export classes componentize-py wants, for `tool_class`."""
    tool = tool_class()

    class ToolExport(_exports.Tool):
        def run(self, mission: str, input: str) -> str:
            try:
                value = json.loads(input)
            except ValueError as e:
                raise Err(f"input is not JSON: {e}")
            try:
                return _dumps(tool.run(Mission(mission), value))
            except (ToolError, StoreError) as e:
                raise Err(str(e))

    class DescribeExport(_exports.Describe):
        def describe(self):
            if tool.name is None:
                return None
            return _describe.Description(
                tool.name,
                tool.description,
                _dumps(tool.input_schema),
                None if tool.output_schema is None else _dumps(tool.output_schema),
            )

    return ToolExport, DescribeExport
