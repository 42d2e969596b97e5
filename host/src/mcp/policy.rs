//! The operator's policy for `vibe mcp`: grants and limits per tool, fixed
//! when the server starts. No MCP method reads or changes it.
//!
//! ```toml
//! # Every tool not named below (default: the deny-by-default sandbox).
//! [tools."*"]
//! timeout-ms = 5000
//!
//! [tools.planner]
//! grants = ["create-missions"]
//! memory-mb = 128
//! ```
//!
//! Keys per tool: `grants` (`create-missions`, `read-all-missions`),
//! `timeout-ms`, `memory-mb`, `max-json-bytes`, `max-page-rows`,
//! `max-page-bytes`. Unknown keys and values out of range are errors that
//! name the file, the tool and the key.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::sandbox::{Grants, Limits};

/// What one tool may touch and use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ToolPolicy {
    /// Beyond its session's mission.
    pub grants: Grants,
    /// Time, memory, JSON and page limits.
    pub limits: Limits,
}

/// Per tool name, and `*` for the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    tools: BTreeMap<String, ToolPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tools: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Entry {
    #[serde(default)]
    grants: Vec<String>,
    timeout_ms: Option<u64>,
    memory_mb: Option<usize>,
    max_json_bytes: Option<usize>,
    max_page_rows: Option<u32>,
    max_page_bytes: Option<usize>,
}

impl Policy {
    /// The deny-by-default sandbox for every tool (what `vibe run` gives).
    pub fn deny_by_default() -> Self {
        Policy::default()
    }

    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read policy {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("policy {}: {e}", path.display()))
    }

    /// Parses a policy's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let tools = file
            .tools
            .into_iter()
            .map(|(name, entry)| {
                let policy = entry
                    .resolve()
                    .map_err(|e| format!("tools.{name:?}: {e}"))?;
                Ok((name, policy))
            })
            .collect::<Result<_, String>>()?;
        Ok(Policy { tools })
    }

    /// The most memory any tool may use, in bytes: what the runtime must
    /// reserve per slot.
    pub fn max_memory_bytes(&self) -> usize {
        self.tools
            .values()
            .map(|t| t.limits.memory_bytes())
            .chain([Limits::default().memory_bytes()])
            .max()
            .unwrap_or_default()
    }

    /// The grants and limits of the tool called `name`: its own entry, else
    /// `*`'s, else the deny-by-default sandbox.
    pub fn for_tool(&self, name: &str) -> ToolPolicy {
        self.tools
            .get(name)
            .or_else(|| self.tools.get("*"))
            .copied()
            .unwrap_or_default()
    }
}

impl Entry {
    fn resolve(self) -> Result<ToolPolicy, String> {
        let mut grants = Grants::none();
        for grant in &self.grants {
            grants = match grant.as_str() {
                "create-missions" => grants.with_create_missions(),
                "read-all-missions" => grants.with_read_all_missions(),
                other => {
                    return Err(format!(
                        "grants: {other:?} is not a grant (create-missions, read-all-missions)"
                    ))
                }
            };
        }
        let mut limits = Limits::default();
        fn key(name: &'static str) -> impl Fn(crate::store::StoreError) -> String {
            move |e| format!("{name}: {e}")
        }
        if let Some(ms) = self.timeout_ms {
            limits = limits
                .timeout(Duration::from_millis(ms))
                .map_err(key("timeout-ms"))?;
        }
        if let Some(mb) = self.memory_mb {
            limits = limits.memory_mb(mb).map_err(key("memory-mb"))?;
        }
        if let Some(bytes) = self.max_json_bytes {
            limits = limits
                .max_json_bytes(bytes)
                .map_err(key("max-json-bytes"))?;
        }
        if let Some(rows) = self.max_page_rows {
            limits = limits.max_page_rows(rows).map_err(key("max-page-rows"))?;
        }
        if let Some(bytes) = self.max_page_bytes {
            limits = limits
                .max_page_bytes(bytes)
                .map_err(key("max-page-bytes"))?;
        }
        Ok(ToolPolicy { grants, limits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_gets_its_own_entry_else_the_star_else_nothing() {
        let policy = Policy::parse(
            r#"
            [tools."*"]
            timeout-ms = 2000
            [tools.planner]
            grants = ["create-missions"]
            memory-mb = 32
            "#,
        )
        .unwrap();
        let planner = policy.for_tool("planner");
        assert!(planner.grants.create_missions() && !planner.grants.read_all_missions());
        assert_eq!(planner.limits.memory_bytes(), 32 << 20);
        assert_eq!(
            planner.limits.timeout_duration(),
            Limits::default().timeout_duration()
        );
        let other = policy.for_tool("echo");
        assert_eq!(other.grants, Grants::none());
        assert_eq!(other.limits.timeout_duration(), Duration::from_secs(2));
        assert_eq!(
            Policy::deny_by_default().for_tool("x"),
            ToolPolicy::default()
        );
    }

    #[test]
    fn typos_and_values_out_of_range_are_errors_that_say_where() {
        let typo = Policy::parse("[tools.echo]\ntimeout = 5").unwrap_err();
        assert!(typo.contains("unknown field `timeout`"), "{typo}");
        let grant = Policy::parse("[tools.echo]\ngrants = [\"root\"]").unwrap_err();
        assert!(
            grant.contains("tools.\"echo\": grants: \"root\" is not a grant"),
            "{grant}"
        );
        let range = Policy::parse("[tools.echo]\nmemory-mb = 100000").unwrap_err();
        assert!(range.contains("memory-mb:"), "{range}");
    }
}
