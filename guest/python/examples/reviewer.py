"""The reviewer: reads its mission's tool calls page by page, records a
review decision with its rationale, and keeps its progress in memory (with
a TTL) so the next run starts where this one stopped.

Input: {"page_size": 50, "slow_ms": 1000}, both optional. Its Rust twin,
guest/examples/reviewer, does exactly the same, row for row.
"""

import vibe_tool

PROGRESS = "reviewer.progress"


class Reviewer(vibe_tool.Tool):
    name = "reviewer"
    description = "Reviews the mission's tool calls since its last review: failures and slow calls, recorded as a decision."
    input_schema = {
        "type": "object",
        "properties": {
            "page_size": {"type": "integer", "minimum": 1, "maximum": 1000},
            "slow_ms": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": False,
    }

    def run(self, mission, input):
        page_size = input.get("page_size", 50)
        slow_ms = input.get("slow_ms", 1000)
        after = mission.recall(PROGRESS, {"after": None})["after"]
        last, reviewed, slow, failed = after, 0, 0, set()
        while True:
            rows = mission.tool_calls(last, page_size)
            for row in rows:
                last = row["id"]
                if row["tool_name"].startswith("reviewer"):
                    continue
                reviewed += 1
                if not row["success"]:
                    failed.add(row["tool_name"])
                if row["duration_ms"] is not None and row["duration_ms"] >= slow_ms:
                    slow += 1
            if len(rows) < page_size:
                break
        failed = sorted(failed)
        decision = mission.decide(
            "review",
            f"reviewed {reviewed} calls: {len(failed)} tools failed, {slow} slow",
            "reviewer",
            {"after": after, "failed": failed, "reviewed": reviewed, "slow": slow, "until": last},
        )
        mission.remember(PROGRESS, {"after": last}, 3600)
        mission.log(
            "reviewer.summary",
            {"after": after, "until": last},
            {"failed": failed, "reviewed": reviewed, "slow": slow},
        )
        return {"decision": decision, "failed": failed, "reviewed": reviewed, "slow": slow}


Tool, Describe = vibe_tool.exports(Reviewer)
