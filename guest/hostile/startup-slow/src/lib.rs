//! Slow start-up code: `_initialize`, which the component runs when it is
//! instantiated, spins for 1.2 s, longer than the host gives the making of
//! a spare instance (1 s), well within a call's default limit (10 s).

use std::time::{Duration, Instant};

#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    let began = Instant::now();
    while began.elapsed() < Duration::from_millis(1_200) {
        std::hint::spin_loop();
    }
}

struct StartupSlow;

impl vibe_tool::Guest for StartupSlow {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        Ok("{}".into())
    }
}

vibe_tool::export!(StartupSlow);
