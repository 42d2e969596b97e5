//! Start-up code that fills the host's resource table: `_initialize`,
//! which the component runs when it is instantiated, makes 1,500 pollables
//! and keeps them. A call makes none and returns `{}`: under a memory limit
//! whose resource cap is lower (2 MiB: 1,024 entries), start-up fails, so
//! the call must fail too.

use wasip2::clocks::monotonic_clock::subscribe_duration;

#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    for _ in 0..1_500 {
        std::mem::forget(subscribe_duration(1_000_000_000));
    }
}

struct StartupResources;

impl vibe_tool::Guest for StartupResources {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        Ok("{}".into())
    }
}

vibe_tool::export!(StartupResources);
