// The trivial tool, in JavaScript: returns its input (the benchmark's
// per-invocation row for JavaScript).

import { Tool, exportTool } from '../vibe_tool.js';

class Echo extends Tool {
  run(_mission, input) {
    return input;
  }
}

export const { tool, describe } = exportTool(Echo);
