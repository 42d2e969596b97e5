//! Busy start-up code: `_initialize`, which the component runs when it is
//! instantiated, spins for 300 ms (within the time a spare instance may
//! take to make, 1 s). A call then returns `{}` at once; under a 200 ms
//! timeout it cannot, since its start-up counts as the call's time.

use std::time::{Duration, Instant};

#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    let began = Instant::now();
    while began.elapsed() < Duration::from_millis(300) {
        std::hint::spin_loop();
    }
}

struct StartupBusy;

impl vibe_tool::Guest for StartupBusy {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        Ok("{}".into())
    }
}

vibe_tool::export!(StartupBusy);
