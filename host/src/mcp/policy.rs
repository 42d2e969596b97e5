//! The operator's policy for `vibe mcp`: grants and limits per tool, fixed
//! when the server starts. No MCP method reads or changes it.
//!
//! ```toml
//! # Every tool not named below (default: the deny-by-default sandbox).
//! [tools."*"]
//! timeout-ms = 5000
//!
//! # The component in planner.wasm, and only if its content is this one.
//! [tools.planner]
//! grants = ["create-missions"]
//! memory-mb = 128
//! sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! ```
//!
//! An entry names a component *file* (`planner` is `planner.wasm` in any
//! served directory), never the name a component gives itself in
//! `describe`: what a tool may do is bound to what the operator chose to
//! serve, so `weather.wasm` calling itself `planner` gets `weather`'s
//! grants, not `planner`'s. `sha256` pins the file's content: a file whose
//! digest differs is not served.
//!
//! Keys per tool: `grants` (`create-missions`, `read-all-missions`),
//! `timeout-ms`, `memory-mb`, `max-json-bytes`, `max-page-rows`,
//! `max-page-bytes`, `sha256`. Unknown keys and values out of range are
//! errors that name the file, the tool and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::sandbox::{Grants, Limits};

/// Why a policy cannot be used, or a component not served under it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The policy file cannot be read.
    #[error("cannot read policy {}: {source}", path.display())]
    Read {
        /// The policy file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The policy's text is not a valid policy.
    #[error("{}{message}", path.as_ref().map(|p| format!("policy {}: ", p.display())).unwrap_or_default())]
    Invalid {
        /// The policy file, when the text came from one.
        path: Option<PathBuf>,
        /// What is wrong, naming the tool and the key (`tools."x": key: ...`).
        message: String,
    },
    /// A pinned component file's content is not the pinned one.
    #[error("is not served: its SHA-256 is {sha256}, but the policy pins {file} to {pinned}")]
    PinMismatch {
        /// The component file, without `.wasm`.
        file: String,
        /// Its content's SHA-256, hex.
        sha256: String,
        /// The SHA-256 the policy pins it to.
        pinned: String,
    },
}

/// What one tool may touch and use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ToolPolicy {
    /// Beyond its session's mission.
    pub grants: Grants,
    /// Time, memory, JSON and page limits.
    pub limits: Limits,
}

/// Per component file (its name without `.wasm`), and `*` for the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    tools: BTreeMap<String, ToolPolicy>,
    /// The SHA-256 (lower-case hex) a file's content must have, by file.
    pins: BTreeMap<String, String>,
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
    sha256: Option<String>,
}

impl Policy {
    /// The deny-by-default sandbox for every tool (what `vibe run` gives).
    pub fn deny_by_default() -> Self {
        Policy::default()
    }

    /// Reads a policy file.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Read`] when the file cannot be read,
    /// [`PolicyError::Invalid`] (naming the file) when its text is no policy.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
            path: path.to_owned(),
            source: Arc::new(e),
        })?;
        Self::parse(&text).map_err(|e| match e {
            PolicyError::Invalid { message, .. } => PolicyError::Invalid {
                path: Some(path.to_owned()),
                message,
            },
            other => other,
        })
    }

    /// Parses a policy's text.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Invalid`]: not TOML, an unknown key, a grant that is
    /// none, a value out of its range, a malformed pin.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        Self::parse_text(text).map_err(|message| PolicyError::Invalid {
            path: None,
            message,
        })
    }

    fn parse_text(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let mut policy = Policy::default();
        for (name, entry) in file.tools {
            let at = |e: String| format!("tools.{name:?}: {e}");
            if let Some(digest) = &entry.sha256 {
                let digest = digest.to_ascii_lowercase();
                if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(at("sha256: not a SHA-256 digest (64 hex digits)".into()));
                }
                if name == "*" {
                    return Err(at("sha256: pins one file; \"*\" is every other".into()));
                }
                policy.pins.insert(name.clone(), digest);
            }
            let resolved = entry.resolve().map_err(at)?;
            policy.tools.insert(name, resolved);
        }
        Ok(policy)
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

    /// The grants and limits of the component file `file` (its name without
    /// `.wasm`): its own entry, else `*`'s, else the deny-by-default
    /// sandbox. Never looked up by the name a component gives itself.
    pub fn for_tool(&self, file: &str) -> ToolPolicy {
        self.tools
            .get(file)
            .or_else(|| self.tools.get("*"))
            .copied()
            .unwrap_or_default()
    }

    /// The entries (other than `*`) that name none of `files` (component
    /// files without `.wasm`): most likely a typo, or a file renamed.
    pub fn unmatched<'a>(&'a self, files: &'a [String]) -> impl Iterator<Item = &'a str> + 'a {
        self.tools
            .keys()
            .filter(move |key| *key != "*" && !files.contains(key))
            .map(String::as_str)
    }

    /// Checks that the component file `file` (its name without `.wasm`) with
    /// content `sha256` (hex) may be served: a pinned file must have exactly
    /// the pinned content.
    ///
    /// # Errors
    ///
    /// [`PolicyError::PinMismatch`] when `file` is pinned to other content.
    pub fn check_pin(&self, file: &str, sha256: &str) -> Result<(), PolicyError> {
        match self.pins.get(file) {
            Some(pinned) if !pinned.eq_ignore_ascii_case(sha256) => Err(PolicyError::PinMismatch {
                file: file.to_owned(),
                sha256: sha256.to_owned(),
                pinned: pinned.clone(),
            }),
            _ => Ok(()),
        }
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
        let typo = Policy::parse("[tools.echo]\ntimeout = 5")
            .unwrap_err()
            .to_string();
        assert!(typo.contains("unknown field `timeout`"), "{typo}");
        let grant = Policy::parse("[tools.echo]\ngrants = [\"root\"]")
            .unwrap_err()
            .to_string();
        assert!(
            grant.contains("tools.\"echo\": grants: \"root\" is not a grant"),
            "{grant}"
        );
        let range = Policy::parse("[tools.echo]\nmemory-mb = 100000")
            .unwrap_err()
            .to_string();
        assert!(range.contains("memory-mb:"), "{range}");
        let pin = Policy::parse("[tools.echo]\nsha256 = \"abc\"")
            .unwrap_err()
            .to_string();
        assert!(
            pin.contains("tools.\"echo\": sha256: not a SHA-256"),
            "{pin}"
        );
    }

    #[test]
    fn a_pinned_file_is_served_only_with_its_content() {
        let digest = "ab".repeat(32);
        let policy = Policy::parse(&format!(
            "[tools.echo]\nsha256 = \"{}\"",
            digest.to_uppercase()
        ))
        .unwrap();
        assert!(policy.check_pin("echo", &digest).is_ok());
        let refused = policy.check_pin("echo", &"cd".repeat(32)).unwrap_err();
        assert!(
            matches!(&refused, PolicyError::PinMismatch { file, .. } if file == "echo"),
            "{refused:?}"
        );
        assert!(
            refused.to_string().contains("the policy pins echo to"),
            "{refused}"
        );
        assert!(policy.check_pin("other", &"cd".repeat(32)).is_ok());
    }
}
