//! Prints 200 KiB to stdout and a line to stderr, then succeeds. The host
//! keeps what fits its cap, drops the rest without failing the guest, and
//! never mixes any of it into its own stdout.

struct Chatty;

impl vibe_tool::Guest for Chatty {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        let line = "chatty: all work and no play makes a dull tool\n";
        let mut printed = 0;
        while printed < 200 * 1024 {
            print!("{line}");
            printed += line.len();
        }
        eprintln!("chatty: done talking");
        Ok(format!("{{\"printed\":{printed}}}"))
    }
}

vibe_tool::export!(Chatty);
