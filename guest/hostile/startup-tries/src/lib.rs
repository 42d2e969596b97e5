//! Start-up code that runs into the memory limit and carries on:
//! `_initialize`, which the component runs when it is instantiated, asks to
//! grow its memory by 4 GiB (refused under any limit), ignores the refusal,
//! and a call then returns `{"pages":N}`, its memory's size.

#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    let refused = core::arch::wasm32::memory_grow(0, 65_535) == usize::MAX;
    std::hint::black_box(refused);
}

struct StartupTries;

impl vibe_tool::Guest for StartupTries {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        Ok(format!("{{\"pages\":{}}}", core::arch::wasm32::memory_size(0)))
    }
}

vibe_tool::export!(StartupTries);
