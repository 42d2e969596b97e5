//! Start-up code that takes memory: `_initialize`, which the component runs
//! when it is instantiated, grows its linear memory by 48 MiB and touches
//! it. A call then returns its memory's size: `{"pages":N}`.

#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    let pages = (48 << 20) / 65536;
    if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
        panic!("start-up could not grow its memory");
    }
}

struct StartupGrow;

impl vibe_tool::Guest for StartupGrow {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        Ok(format!("{{\"pages\":{}}}", core::arch::wasm32::memory_size(0)))
    }
}

vibe_tool::export!(StartupGrow);
