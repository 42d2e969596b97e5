"""The benchmark's comparison: the echo tool served by the official MCP
Python SDK (`MCPServer`, formerly `FastMCP`), logging each call to SQLite
the way the original ARCH-002 design does: connect, insert, commit, per
call. Usage: echo_server.py DB (stdio transport).
"""

import json
import sqlite3
import sys
import time
from datetime import datetime, timezone

from mcp.server.mcpserver import MCPServer

DB = sys.argv[1]
server = MCPServer("python-echo")


def log_call(tool, args, result, duration_ms):
    conn = sqlite3.connect(DB)
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS tool_calls (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " tool_name TEXT NOT NULL, args TEXT NOT NULL, result TEXT, timestamp TEXT NOT NULL,"
            " duration_ms INTEGER, success INTEGER NOT NULL)"
        )
        conn.execute(
            "INSERT INTO tool_calls (tool_name, args, result, timestamp, duration_ms, success)"
            " VALUES (?, ?, ?, ?, ?, 1)",
            (tool, json.dumps(args), json.dumps(result), datetime.now(timezone.utc).isoformat(), duration_ms),
        )
        conn.commit()
    finally:
        conn.close()


@server.tool()
def echo(value: dict | None = None) -> dict:
    """Returns its input."""
    started = time.monotonic()
    result = value or {}
    log_call("echo", value, result, int((time.monotonic() - started) * 1000))
    return result


if __name__ == "__main__":
    server.run("stdio")
