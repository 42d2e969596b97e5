// The reviewer: reads its mission's tool calls page by page, records a
// review decision with its rationale, and keeps its progress in memory
// (with a TTL) so the next run starts where this one stopped.
//
// Input: {"page_size": 50, "slow_ms": 1000}, both optional. Its twins,
// guest/examples/reviewer (Rust) and guest/python/examples/reviewer.py, do
// exactly the same, row for row.

import { Tool, exportTool } from '../vibe_tool.js';

const PROGRESS = 'reviewer.progress';

class Reviewer extends Tool {
  static name_ = 'reviewer';
  static description =
    "Reviews the mission's tool calls since its last review: failures and slow calls, recorded as a decision.";
  static inputSchema = {
    type: 'object',
    properties: {
      page_size: { type: 'integer', minimum: 1, maximum: 1000 },
      slow_ms: { type: 'integer', minimum: 0 },
    },
    additionalProperties: false,
  };

  run(mission, input) {
    const pageSize = input.page_size ?? 50;
    const slowMs = input.slow_ms ?? 1000;
    const after = mission.recall(PROGRESS, { after: null }).after;
    let last = after;
    let reviewed = 0;
    let slow = 0;
    const failedSet = new Set();
    for (;;) {
      const rows = mission.toolCalls(last, pageSize);
      for (const row of rows) {
        last = row.id;
        if (row.tool_name.startsWith('reviewer')) continue;
        reviewed += 1;
        if (!row.success) failedSet.add(row.tool_name);
        if (row.duration_ms !== null && row.duration_ms >= slowMs) slow += 1;
      }
      if (rows.length < pageSize) break;
    }
    const failed = [...failedSet].sort();
    const decision = mission.decide(
      'review',
      `reviewed ${reviewed} calls: ${failed.length} tools failed, ${slow} slow`,
      'reviewer',
      { after, failed, reviewed, slow, until: last },
    );
    mission.remember(PROGRESS, { after: last }, 3600);
    mission.log('reviewer.summary', { after, until: last }, { failed, reviewed, slow });
    return { decision, failed, reviewed, slow };
  }
}

export const { tool, describe } = exportTool(Reviewer);
