//! Recurses until the call stack runs out.

struct Recurse;

impl vibe_tool::Guest for Recurse {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        Ok(depth(std::hint::black_box(0)).to_string())
    }
}

/// Arguments and results stay in wasm locals, so every level is a frame on
/// the engine's native stack.
#[inline(never)]
#[allow(unconditional_recursion)]
fn depth(n: u64) -> u64 {
    depth(std::hint::black_box(n + 1)).wrapping_mul(3) ^ n
}

vibe_tool::export!(Recurse);
