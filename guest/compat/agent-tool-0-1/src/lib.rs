//! A tool built straight from `wit/` against the original `agent-tool`
//! world of `vibe:store@0.1.0`, without the SDK and without `describe`:
//! what a component compiled before the contract grew looks like. It
//! echoes its input. The host must keep running it, and serve it under its
//! file's name.

wit_bindgen::generate!({
    world: "agent-tool",
    path: "../../../wit",
});

struct Echo;

impl exports::vibe::store::tool::Guest for Echo {
    fn run(_mission: String, input: String) -> Result<String, String> {
        Ok(input)
    }
}

export!(Echo);
