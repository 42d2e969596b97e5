//! Asks for every page of its mission's history, the largest pages the host
//! allows, over and over, forever: only the host's timeout ends it.

use vibe_tool::audit;

struct FloodReads;

impl vibe_tool::Guest for FloodReads {
    fn run(mission: String, _input: String) -> Result<String, String> {
        loop {
            let mut after = None;
            loop {
                let page = audit::get_tool_history(&mission, after, 1000).map_err(|e| e.to_string())?;
                match page.last() {
                    Some(last) => after = Some(last.id),
                    None => break,
                }
                audit::get_decisions(&mission, None, 1000).map_err(|e| e.to_string())?;
            }
        }
    }
}

vibe_tool::export!(FloodReads);
