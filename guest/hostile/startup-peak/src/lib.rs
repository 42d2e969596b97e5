//! Start-up code that holds many resources for a moment: `_initialize`,
//! which the component runs when it is instantiated, makes 1,500 pollables
//! at once, then drops them all. Under a memory limit whose resource cap is
//! lower (2 MiB: 1,024 entries) start-up fails, though it keeps none.

use wasip2::clocks::monotonic_clock::subscribe_duration;

#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    let held: Vec<_> = (0..1_500)
        .map(|_| subscribe_duration(1_000_000_000))
        .collect();
    drop(held);
}

struct StartupPeak;

impl vibe_tool::Guest for StartupPeak {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        Ok("{}".into())
    }
}

vibe_tool::export!(StartupPeak);
