//! Bindings to the `vibe:store` contract (`wit/store.wit`) for agent tools
//! written in Rust.
//!
//! A tool implements [`Guest`] and exports itself:
//!
//! ```ignore
//! struct Echo;
//! impl vibe_tool::Guest for Echo {
//!     fn run(mission: String, input: String) -> Result<String, String> { Ok(input) }
//! }
//! vibe_tool::export!(Echo);
//! ```
//!
//! Store calls are the imported interfaces: [`missions`], [`audit`], [`memory`].

wit_bindgen::generate!({
    world: "agent-tool",
    path: "wit",
    pub_export_macro: true,
    default_bindings_module: "vibe_tool",
});

pub use exports::vibe::store::tool::Guest;
pub use vibe::store::types::{
    Decision, Mission, MissionStatus, NewToolCall, Phase, StoreError, ToolCall,
};
pub use vibe::store::{audit, memory, missions};
