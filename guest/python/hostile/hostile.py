"""Test fixture: the sandbox's hostile cases, written in Python. The input
names the case ({"case": "read-files"}); each is the twin of a Rust tool in
guest/hostile/ and must be stopped or refused exactly as that one is.
"""

import json
import os
import sys
import time

import vibe_tool
from componentize_py_types import Err
from wit_world import exports


def read_files(_):
    errors = []
    for path in ["/etc/passwd", "/proc/self/environ", "../../etc/passwd"]:
        try:
            with open(path, "rb") as f:
                return {"leaked": path, "bytes": len(f.read())}
        except OSError as e:
            errors.append(f"{path}: {e}")
    try:
        return {"leaked": "listed /", "entries": len(os.listdir("/"))}
    except OSError as e:
        errors.append(f"/: {e}")
    raise vibe_tool.ToolError("denied: " + "; ".join(errors))


def env_vars(_):
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    leaked = {k: v for k, v in os.environ.items()}
    if leaked or sys.argv[1:] or cwd not in (None, "/"):
        return {"leaked": f"vars={leaked} args={sys.argv} cwd={cwd}"}
    raise vibe_tool.ToolError("denied: no environment variables, no arguments, no working directory")


def open_socket(case):
    errors = []
    try:
        import socket
    except ImportError as e:
        raise vibe_tool.ToolError(f"denied: no socket module: {e}")
    addr = case.get("addr", "127.0.0.1:9")
    host, port = addr.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return {"leaked": f"tcp connect to {addr}"}
    except OSError as e:
        errors.append(f"tcp {addr}: {e}")
    try:
        socket.getaddrinfo("localhost", 80)
        return {"leaked": "name lookup"}
    except OSError as e:
        errors.append(f"lookup localhost: {e}")
    raise vibe_tool.ToolError("denied: " + "; ".join(errors))


def spin(_):
    n = 0
    while True:
        n += 1


def sleep(_):
    # Blocks inside a WASI host call (poll on a clock), not in Python code.
    time.sleep(3600)
    return {"slept": True}


def read_stdin(_):
    # Blocking reads of stdin, again and again (it may be closed).
    while True:
        sys.stdin.buffer.read(1)


def write_stdout(_):
    # Blocking writes of stdout, again and again.
    chunk = "x" * 4096
    while True:
        sys.stdout.write(chunk)
        sys.stdout.flush()


def alloc_bomb(_):
    hoard = []
    while True:
        hoard.append(bytearray(1024 * 1024))


def uncaught(_):
    raise RuntimeError("an exception nobody catches")


SEEN = []


def remember(case):
    # Kept in the interpreter's heap: an invocation that finds what an
    # earlier one left would have been given that one's memory.
    SEEN.append(case.get("secret"))
    return SEEN


CASES = {
    "read-files": read_files,
    "env-vars": env_vars,
    "open-socket": open_socket,
    "spin": spin,
    "sleep": sleep,
    "read-stdin": read_stdin,
    "write-stdout": write_stdout,
    "alloc-bomb": alloc_bomb,
    "uncaught": uncaught,
    "remember": remember,
}


class Tool(exports.Tool):
    def run(self, mission: str, input: str) -> str:
        case = json.loads(input)
        if case["case"] == "bad-output":
            return '{"unterminated": '
        try:
            return json.dumps(CASES[case["case"]](case))
        except vibe_tool.ToolError as e:
            raise Err(str(e))


class Describe(exports.Describe):
    def describe(self):
        return None
