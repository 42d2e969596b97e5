// Agent tools for vibe-store, written in JavaScript.
//
// A tool is a class with `run(mission, input)` taking and returning plain
// values (JSON is handled here; `run` may return a Promise, as `fetch`
// does), and exports itself under the names the contract gives:
//
//   import { Tool, exportTool } from '../vibe_tool.js';
//
//   class Echo extends Tool {
//     static name_ = 'echo';                // optional: describe it
//     static description = 'Returns its input';
//     static inputSchema = { type: 'object' };
//     run(mission, input) { mission.log('echo.seen', input); return input; }
//   }
//
//   export const { tool, describe } = exportTool(Echo);
//
// `mission` is the mission the tool runs for, with the store calls its
// grants allow: log, decide, toolCalls / decisions (one page) and
// eachToolCall (every page), remember / recall / forget (memory), info,
// setStatus. A store call that fails throws `StoreError`, whose `kind` is
// the contract's variant: mission-not-found, invalid-input, access-denied,
// limit-exceeded or internal. Throw `ToolError` to fail the call with a
// message of your own (outcome tool_error); any other uncaught exception
// ends the invocation as a trap, as a panic does in Rust.
//
// Build (what `./x guests` runs):
//   componentize-js app.js --wit wit --world-name described-tool -o app.wasm
//
// The host links wasi:http (the JavaScript engine imports it) and refuses
// every outgoing request: `fetch` rejects with a NetworkError.

import * as audit from 'vibe:store/audit@0.1.0';
import * as memory from 'vibe:store/memory@0.1.0';
import * as missions from 'vibe:store/missions@0.1.0';

export class StoreError extends Error {
  constructor(kind, message) {
    super(`${kind}: ${message}`);
    this.kind = kind;
    this.detail = message;
  }
}

export class ToolError extends Error {}

function store(call, ...args) {
  try {
    return call(...args);
  } catch (e) {
    if (e && e.payload && typeof e.payload.tag === 'string') {
      throw new StoreError(e.payload.tag, String(e.payload.val));
    }
    throw e;
  }
}

const num = (v) => (v === undefined || v === null ? null : Number(v));
const big = (v) => (v === undefined || v === null ? undefined : BigInt(v));
const parse = (text) => (text === undefined || text === null ? null : JSON.parse(text));

function row(c) {
  return {
    id: Number(c.id),
    mission: c.mission,
    tool_name: c.toolName,
    args: parse(c.args),
    result: parse(c.result),
    timestamp: c.timestamp,
    duration_ms: num(c.durationMs),
    success: c.success,
    error_message: c.errorMessage ?? null,
  };
}

export class Mission {
  constructor(id) {
    this.id = id;
  }

  info() {
    const m = store(missions.getMission, this.id);
    return {
      id: m.id,
      phase: m.phase,
      status: m.status,
      created_at: m.createdAt,
      completed_at: m.completedAt ?? null,
      metadata: parse(m.metadata),
    };
  }

  setStatus(status) {
    store(missions.updateMissionStatus, this.id, status.replace('_', '-'));
  }

  /** Logs a tool call; returns its id. */
  log(tool, args, result, { success = true, durationMs, error } = {}) {
    return Number(
      store(audit.logToolCall, this.id, {
        toolName: tool,
        args: JSON.stringify(args),
        result: result === undefined ? undefined : JSON.stringify(result),
        success,
        durationMs: big(durationMs),
        errorMessage: error,
      }),
    );
  }

  /** Records a decision; returns its id. */
  decide(type, rationale, agent, context) {
    return Number(
      store(audit.recordDecision, this.id, type, rationale, agent,
        context === undefined ? undefined : JSON.stringify(context)),
    );
  }

  /** One page of tool calls, oldest first, with ids above `after`. */
  toolCalls(after = null, limit = 100) {
    return store(audit.getToolHistory, this.id, big(after), limit).map(row);
  }

  /** Every tool call, page by page (the host bounds each page). */
  *eachToolCall(page = 100) {
    let after = null;
    for (;;) {
      const rows = this.toolCalls(after, page);
      yield* rows;
      if (rows.length < page) return;
      after = rows[rows.length - 1].id;
    }
  }

  decisions(after = null, limit = 100) {
    return store(audit.getDecisions, this.id, big(after), limit).map((d) => ({
      id: Number(d.id),
      decision_type: d.decisionType,
      rationale: d.rationale,
      agent_name: d.agentName,
      timestamp: d.timestamp,
      context: parse(d.context),
    }));
  }

  remember(key, value, ttlSeconds) {
    store(memory.set, this.id, key, JSON.stringify(value), ttlSeconds);
  }

  recall(key, fallback = null) {
    const text = store(memory.get, this.id, key);
    return text === undefined ? fallback : JSON.parse(text);
  }

  forget(key) {
    return store(memory.delete, this.id, key);
  }
}

/** Needs the create-missions grant. */
export function createMission(phase, metadata = {}) {
  return new Mission(store(missions.createMission, phase.toLowerCase(), JSON.stringify(metadata)));
}

/** Subclass and implement `run`; set the static `name_` (and
 * `description`, `inputSchema`, `outputSchema`) to describe the tool. */
export class Tool {
  run(_mission, _input) {
    throw new ToolError('run is not implemented');
  }
}

function failure(e) {
  if (e instanceof ToolError || e instanceof StoreError) return e.message;
  throw e;
}

/** The `tool` and `describe` exports for `ToolClass`. */
export function exportTool(ToolClass) {
  const instance = new ToolClass();
  return {
    tool: {
      run(mission, input) {
        let value;
        try {
          value = JSON.parse(input);
        } catch (e) {
          throw `input is not JSON: ${e}`;
        }
        let out;
        try {
          out = instance.run(new Mission(mission), value);
        } catch (e) {
          throw failure(e);
        }
        if (out instanceof Promise) {
          return out.then((v) => JSON.stringify(v), (e) => { throw failure(e); });
        }
        return JSON.stringify(out);
      },
    },
    describe: {
      describe() {
        if (!ToolClass.name_) return undefined;
        return {
          name: ToolClass.name_,
          description: ToolClass.description ?? '',
          inputSchema: JSON.stringify(ToolClass.inputSchema ?? { type: 'object' }),
          outputSchema: ToolClass.outputSchema ? JSON.stringify(ToolClass.outputSchema) : undefined,
        };
      },
    },
  };
}
