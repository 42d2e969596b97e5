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
//! It may also describe itself (its name, what it does, the JSON Schema of
//! its input), which `vibe mcp` serves to agents; by default it does not,
//! and is served under its file's name:
//!
//! ```ignore
//! fn describe() -> Option<vibe_tool::Description> {
//!     Some(vibe_tool::Description {
//!         name: "echo".into(),
//!         description: "Returns its input".into(),
//!         input_schema: r#"{"type":"object"}"#.into(),
//!         output_schema: None,
//!     })
//! }
//! ```
//!
//! Store calls are the imported interfaces: [`missions`], [`audit`], [`memory`].

wit_bindgen::generate!({
    world: "described-tool",
    path: "wit",
    pub_export_macro: true,
    default_bindings_module: "vibe_tool",
});

pub use exports::vibe::store::describe::Description;

/// An agent tool: what it does when run, and (optionally) what it says
/// about itself.
pub trait Guest {
    /// Runs the tool for `mission` with JSON `input`; returns JSON output or
    /// an error message.
    fn run(mission: String, input: String) -> Result<String, String>;

    /// The tool's name, description and input schema, read once when the
    /// host loads it (with no mission: store calls are refused here). None
    /// (the default): the host names it from its file.
    fn describe() -> Option<Description> {
        None
    }
}

impl<T: Guest> exports::vibe::store::tool::Guest for T {
    fn run(mission: String, input: String) -> Result<String, String> {
        <T as Guest>::run(mission, input)
    }
}

impl<T: Guest> exports::vibe::store::describe::Guest for T {
    fn describe() -> Option<Description> {
        <T as Guest>::describe()
    }
}
pub use vibe::store::types::{
    Decision, Mission, MissionStatus, NewToolCall, Phase, StoreError, ToolCall,
};
pub use vibe::store::{audit, memory, missions};
