//! Sleeps in `describe`, which the host calls while loading: loading must
//! end at the describe deadline, not when the sleep does.

use std::time::Duration;

struct SlowDescribe;

impl vibe_tool::Guest for SlowDescribe {
    fn run(_mission: String, input: String) -> Result<String, String> {
        Ok(input)
    }

    fn describe() -> Option<vibe_tool::Description> {
        std::thread::sleep(Duration::from_secs(3_600));
        None
    }
}

vibe_tool::export!(SlowDescribe);
