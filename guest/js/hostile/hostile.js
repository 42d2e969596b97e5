// Test fixture: the sandbox's hostile cases, written in JavaScript. The
// input names the case ({"case": "read-files"}); each is the twin of a Rust
// tool in guest/hostile/ and must be stopped or refused exactly as that one
// is. A string thrown is the tool's own error (tool_error); an Error thrown
// and not caught ends the invocation (trap), as a Rust panic does.

const cases = {
  'read-files': () => {
    // StarlingMonkey has no filesystem API at all: no require, fs, Deno.
    const found = ['require', 'fs', 'Deno', 'Bun'].filter((name) => typeof globalThis[name] !== 'undefined');
    if (found.length) return { leaked: `filesystem API: ${found.join(', ')}` };
    throw 'denied: no filesystem API';
  },
  'env-vars': () => {
    const env = globalThis.process?.env;
    if (env && Object.keys(env).length) return { leaked: JSON.stringify(env) };
    throw 'denied: no environment variables';
  },
  'open-socket': (c) =>
    fetch(`http://${c.addr}/`).then(
      (r) => ({ leaked: `fetch answered ${r.status}` }),
      (e) => { throw `denied: ${e}`; },
    ),
  spin: () => {
    let n = 0;
    for (;;) n += 1;
  },
  // Waits on a timer: the engine blocks in a WASI poll, not in JS code.
  sleep: () => new Promise((resolve) => setTimeout(() => resolve({ slept: true }), 3_600_000)),
  'alloc-bomb': () => {
    const hoard = [];
    for (;;) hoard.push(new Uint8Array(1024 * 1024).fill(7));
  },
  uncaught: () => {
    throw new Error('an exception nobody catches');
  },
};

export const tool = {
  run(mission, input) {
    const c = JSON.parse(input);
    if (c.case === 'bad-output') return '{"unterminated": ';
    const out = cases[c.case](c);
    return out instanceof Promise ? out.then((v) => JSON.stringify(v)) : JSON.stringify(out);
  },
};

export const describe = {
  describe() {
    return undefined;
  },
};
