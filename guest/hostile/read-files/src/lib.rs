//! Tries to read each path in its input (`{"paths": [...]}` as a JSON list of
//! strings, parsed by hand) with `std::fs`. Succeeding would be a sandbox
//! escape: it then returns what it read. Denied everywhere, it fails with the
//! errors it got.

struct ReadFiles;

impl vibe_tool::Guest for ReadFiles {
    fn run(_mission: String, input: String) -> Result<String, String> {
        let mut errors = Vec::new();
        for path in string_list(&input) {
            match std::fs::read(&path) {
                Ok(bytes) => return Ok(format!("{{\"leaked\":{:?},\"bytes\":{}}}", path, bytes.len())),
                Err(e) => errors.push(format!("{path}: {e}")),
            }
        }
        match std::fs::read_dir("/") {
            Ok(entries) => Err(format!("listed / with {} entries", entries.count())),
            Err(e) => {
                errors.push(format!("/: {e}"));
                Err(format!("denied: {}", errors.join("; ")))
            }
        }
    }
}

vibe_tool::export!(ReadFiles);

/// The quoted strings of a flat JSON list, without escapes.
fn string_list(input: &str) -> Vec<String> {
    input.split('"').skip(1).step_by(2).filter(|s| *s != "paths").map(str::to_owned).collect()
}
