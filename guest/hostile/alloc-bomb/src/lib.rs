//! Allocates (and touches) 1 MiB after 1 MiB until something stops it.

struct AllocBomb;

impl vibe_tool::Guest for AllocBomb {
    fn run(_mission: String, _input: String) -> Result<String, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![0xA5; 1024 * 1024]);
            std::hint::black_box(&hoard);
        }
    }
}

vibe_tool::export!(AllocBomb);
