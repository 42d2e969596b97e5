"""The trivial tool, in Python: returns its input (the benchmark's per-
invocation row for Python)."""

import vibe_tool


class Echo(vibe_tool.Tool):
    def run(self, mission, input):
        return input


Tool, Describe = vibe_tool.exports(Echo)
