"""Writes the hostile export lines of tests/all/hostile_exports.rs.

Each file is one `vibe export` line (two for the files that need the
creating mission first) with one thing changed that a live write would
refuse. Run with python3 from this folder; the files are kept in the
repository, so this is only needed to change them.
"""
import copy
import hashlib
import json

A = "3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d"
B = "9b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3"


def h(text):
    return hashlib.sha256(text.encode()).hexdigest()


def mission(uuid):
    at = "2026-11-30T09:35:01.828406Z"
    chain = [
        [1, "missions", 1, h(uuid + "d1"), h(uuid + "h1")],
        [2, "tool_calls", 2, h(uuid + "d2"), h(uuid + "h2")],
        [3, "decisions", 3, h(uuid + "d3"), h(uuid + "h3")],
        [4, "agent_memory", 4, h(uuid + "d4"), h(uuid + "h4")],
        [5, "playbook_runs", 5, h(uuid + "d5"), h(uuid + "h5")],
    ]
    return {
        "mission": {"mission_uuid": uuid, "phase": "CODING", "status": "pending",
                    "created_at": at, "completed_at": None, "metadata": {"goal": "x"},
                    "chain_seq": 1, "chain_hash": chain[0][4]},
        "tool_calls": [{"tool_name": "grep", "args": {"q": 1}, "result": {"n": 2},
                        "timestamp": at, "duration_ms": 5, "success": 1,
                        "error_message": None, "component_sha256": None,
                        "component_size": None, "outcome": None, "caller": None,
                        "chain_seq": 2, "chain_hash": chain[1][4], "invocation": None}],
        "decisions": [{"decision_type": "plan", "rationale": "because", "timestamp": at,
                       "agent_name": "planner", "context": None, "chain_seq": 3,
                       "chain_hash": chain[2][4], "invocation": None}],
        "memory": [{"key": "k", "value": [1], "timestamp": at, "ttl": 60,
                    "expires_at": "2026-11-30T09:36:01.828406Z", "chain_seq": 4,
                    "chain_hash": chain[3][4], "invocation": None}],
        "playbook_runs": [{"playbook_name": "deploy", "phase": "DEPLOYMENT",
                           "started_at": at, "completed_at": None, "success": None,
                           "metrics": None, "error_message": None, "chain_seq": 5,
                           "chain_hash": chain[4][4]}],
        "created_by": None,
        "chain": chain,
        "chain_head": {"length": 5, "hash": chain[4][4]},
    }


def write(name, *lines):
    with open(name + ".jsonl", "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")


def hostile(name, change):
    line = mission(A)
    change(line)
    write(name, line)


def setter(path, value, invalid=None):
    def change(line):
        row = line
        for key in path[:-1]:
            row = row[key]
        row[path[-1]] = value
        if invalid is not None:
            row["invalid_json"] = invalid
    return change


write("a-mission", mission(A))
creator = mission(A)
created = mission(B)
created["created_by"] = {"mission": A, "invocation": 0}
write("created-by-carried", creator, created)
write("created-by-not-carried", created)
upper = mission(A)
upper["mission"]["mission_uuid"] = A.upper()
write("same-mission-two-spellings", mission(A), upper)

hostile("invalid-json-names-phase", setter(["mission", "phase"], "HACKED", ["phase"]))
hostile("invalid-json-names-success", setter(["tool_calls", 0, "success"], 7, ["success"]))
hostile("phase-hacked", setter(["mission", "phase"], "HACKED"))


def verbatim(path, value, names):
    def change(line):
        setter(path, value)(line)
        row = line
        for key in path[:-1]:
            row = row[key]
        row["verbatim_json"] = names
    return change


hostile("verbatim-json-names-phase",
        verbatim(["mission", "phase"], "HACKED", ["phase"]))
hostile("verbatim-json-not-json",
        verbatim(["tool_calls", 0, "args"], "{\n\"q\": NaN\n}", ["args"]))
hostile("verbatim-json-no-string",
        verbatim(["tool_calls", 0, "args"], {"q": 1}, ["args"]))
hostile("verbatim-json-names-null",
        verbatim(["tool_calls", 0, "args"], " {}", ["args", "caller"]))
hostile("verbatim-json-names-args-twice",
        verbatim(["tool_calls", 0, "args"], " {}", ["args", "args"]))
hostile("verbatim-json-and-invalid-json", lambda l: l["tool_calls"][0].update(
    args="{\n}", invalid_json=["args"], verbatim_json=["args"]))
hostile("status-upper-case", setter(["mission", "status"], "PENDING"))
hostile("success-7", setter(["tool_calls", 0, "success"], 7))
hostile("created-at-yesterday", setter(["mission", "created_at"], "yesterday"))
hostile("timestamp-yesterday", setter(["tool_calls", 0, "timestamp"], "yesterday"))
hostile("expires-at-soon", setter(["memory", 0, "expires_at"], "soon"))
hostile("tool-name-5004-bytes", setter(["tool_calls", 0, "tool_name"], "t" * 5004))
hostile("duration-in-nanoseconds", setter(["tool_calls", 0, "duration_ms"], 1764495000000000000))
hostile("duration-negative", setter(["tool_calls", 0, "duration_ms"], -1))
hostile("duration-as-text", setter(["tool_calls", 0, "duration_ms"], "5"))
hostile("ttl-negative", setter(["memory", 0, "ttl"], -1))
hostile("component-size-negative", lambda l: l["tool_calls"][0].update(
    component_sha256=h("c"), component_size=-1, outcome="ok"))
hostile("outcome-unknown", setter(["tool_calls", 0, "outcome"], "hacked"))
hostile("error-message-nul", setter(["tool_calls", 0, "error_message"], "a\u0000b"))
hostile("uuid-empty", setter(["mission", "mission_uuid"], ""))
hostile("ledger-hash-euro", lambda l: l["chain"][0].__setitem__(4, "€" * 64))
hostile("ledger-seq-max", lambda l: l["chain"][4].__setitem__(0, 2**63 - 1))
hostile("ledger-table-unknown", lambda l: l["chain"][0].__setitem__(1, "sqlite_master"))
hostile("row-chain-seq-max", setter(["tool_calls", 0, "chain_seq"], 2**63 - 1))
hostile("row-chain-hash-euro", setter(["decisions", 0, "chain_hash"], "€" * 64))
hostile("ledger-seq-repeated", lambda l: l["chain"][1].__setitem__(0, 1))
hostile("memory-key-twice", lambda l: l["memory"].append(
    dict(l["memory"][0], key="\u006b", chain_seq=None, chain_hash=None)))

# A name given twice in one object: JSON parsers keep the last silently, so
# a line could show a reader one mission and import as another. Written as
# text, since a dict cannot hold a name twice.
OTHER = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
plain = json.dumps(mission(A), ensure_ascii=False, separators=(",", ":"))
with open("uuid-twice.jsonl", "w") as f:
    f.write(plain.replace('"mission_uuid":"%s"' % A,
                          '"mission_uuid":"%s","mission_uuid":"%s"' % (A, OTHER), 1) + "\n")
second = dict(mission(A)["mission"], mission_uuid=OTHER)
with open("mission-twice.jsonl", "w") as f:
    f.write(plain[:-1] + ',"mission":'
            + json.dumps(second, ensure_ascii=False, separators=(",", ":")) + "}\n")
