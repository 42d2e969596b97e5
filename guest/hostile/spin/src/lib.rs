//! Never returns: only the host's timeout ends it.

struct Spin;

impl vibe_tool::Guest for Spin {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

vibe_tool::export!(Spin);
