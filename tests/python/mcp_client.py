"""Drives `vibe mcp` with the official MCP Python SDK, as an agent would.

Usage: mcp_client.py SCENARIO ARGS... ; prints one JSON object with what
the client saw, for the Rust test that started it to check (together with
the rows the calls left in the database).

Scenarios:
  stdio VIBE DB DIR       initialize, list, call (ok, failing, bad
                          arguments, unknown, 8 at once, cancelled)
  changes VIBE DB DIR NEW replace the served directory's contents with NEW
                          and wait for notifications/tools/list_changed
  http URL TOKEN          the Streamable HTTP transport, with the token
                          and without it
"""

import json
import shutil
import sys
import time
from pathlib import Path

import anyio
import httpx2
import mcp.types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

CLIENT = types.Implementation(name="vibe-tests", version="1.2.3")


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def call(session, name, arguments, **kw):
    """A call's outcome as plain data: a result, or a protocol error."""
    try:
        result = await session.call_tool(name, arguments, **kw)
        return {
            "is_error": bool(result.is_error),
            "text": text_of(result),
            "structured": result.structured_content,
            "meta": result.meta,
        }
    except MCPError as e:
        return {"protocol_error": e.error.code, "message": e.error.message}


def server(vibe, db, *sources):
    return StdioServerParameters(command=vibe, args=["--db", db, "mcp", *sources])


async def stdio(vibe, db, directory):
    seen = {}
    async with stdio_client(server(vibe, db, directory)) as (read, write):
        async with ClientSession(read, write, client_info=CLIENT) as session:
            init = await session.initialize()
            seen["instructions"] = init.instructions
            seen["server"] = init.server_info.name
            tools = await session.list_tools()
            seen["tools"] = {t.name: {"description": t.description, "input": t.input_schema} for t in tools.tools}
            seen["echo"] = await call(session, "echo", {"hello": "tool", "n": 1e1})
            seen["list_output"] = await call(session, "echo", {"items": [1, 2]})
            seen["exits"] = await call(session, "exits", {})
            seen["bad_arguments"] = await call(session, "planner", {"goal": 5})
            seen["unknown"] = await call(session, "no-such-tool", {})
            seen["planner"] = await call(session, "planner", {"goal": "ship it"})
            results = [None] * 8

            async def one(i):
                results[i] = await call(session, "echo", {"i": i})

            started = time.monotonic()
            async with anyio.create_task_group() as group:
                for i in range(8):
                    group.start_soon(one, i)
            seen["concurrent"] = results
            seen["concurrent_seconds"] = time.monotonic() - started
            # A call that would run until its 10 s limit, abandoned after
            # half a second: the SDK sends notifications/cancelled.
            started = time.monotonic()
            try:
                await session.call_tool("spin", {}, read_timeout_seconds=0.5)
                seen["cancel"] = "completed"
            except Exception as e:  # the SDK's timeout error
                seen["cancel"] = type(e).__name__
            seen["cancel_seconds"] = time.monotonic() - started
            # The session still serves after all of that.
            seen["after"] = await call(session, "echo", {"still": "here"})
    return seen


async def changes(vibe, db, directory, new):
    changed = anyio.Event()

    async def on_message(message):
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    seen = {}
    async with stdio_client(server(vibe, db, directory)) as (read, write):
        async with ClientSession(read, write, client_info=CLIENT, message_handler=on_message) as session:
            await session.initialize()
            seen["before"] = sorted(t.name for t in (await session.list_tools()).tools)
            for old in Path(directory).glob("*.wasm"):
                old.unlink()
            for path in new.split(","):
                shutil.copy(path, Path(directory) / Path(path).name)
            with anyio.move_on_after(10):
                await changed.wait()
            seen["notified"] = changed.is_set()
            seen["after"] = sorted(t.name for t in (await session.list_tools()).tools)
    return seen


async def http(url, token):
    seen = {}
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with streamable_http_client(url, http_client=client) as (read, write):
        async with ClientSession(read, write, client_info=CLIENT) as session:
            init = await session.initialize()
            seen["instructions"] = init.instructions
            seen["echo"] = await call(session, "echo", {"over": "http"})
    # Without the token: refused before the protocol.
    async with httpx2.AsyncClient() as plain:
        response = await plain.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            headers={"Accept": "application/json, text/event-stream"},
        )
        seen["without_token"] = response.status_code
    return seen


def main():
    scenario, *args = sys.argv[1:]
    run = {"stdio": stdio, "changes": changes, "http": http}[scenario]
    print(json.dumps(anyio.run(run, *args)))


if __name__ == "__main__":
    main()
