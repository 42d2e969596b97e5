//! Calls WASI `exit` with the status given as input (`0` or `1`) instead of
//! returning output. The trail must say the tool exited, with its status.

struct Exits;

impl vibe_tool::Guest for Exits {
    fn run(_mission: String, input: String) -> Result<String, String> {
        let status = input.trim().parse().unwrap_or(1);
        std::process::exit(status)
    }
}

vibe_tool::export!(Exits);
