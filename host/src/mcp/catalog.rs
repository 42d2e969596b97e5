//! The tools a server offers: one per component file, by the name the
//! component gives itself or its file's.
//!
//! A component's own name is what clients call it by, and nothing more: its
//! grants and limits come from its file ([`Policy::for_tool`]), and a name
//! already served is never taken over by another file on reload.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rmcp::ErrorData as McpError;
use serde_json::{json, Map, Value};

use crate::sandbox::{LoadError, Runtime, Tool};
use crate::terminal::visible_line;

use super::policy::{Policy, ToolPolicy};
use super::schema::InputSchema;

/// One served tool.
pub struct Served {
    /// The name clients call it by.
    pub name: String,
    /// The file it was loaded from.
    pub path: PathBuf,
    /// The compiled component.
    pub tool: Arc<Tool>,
    /// Its grants and limits.
    pub policy: ToolPolicy,
    /// What `tools/list` says of it.
    pub(crate) mcp: rmcp::model::Tool,
    /// Its input schema, compiled; `None` for `{"type": "object"}` alone.
    validator: Option<InputSchema>,
}

impl Served {
    /// Arguments that do not fit the input schema are a protocol error
    /// (invalid params), as the MCP specification says.
    pub(crate) fn check_arguments(&self, arguments: &Value) -> Result<(), McpError> {
        let Some(schema) = &self.validator else {
            return Ok(());
        };
        let errors = schema.errors(arguments);
        if errors.is_empty() {
            return Ok(());
        }
        Err(McpError::invalid_params(
            format!(
                "arguments do not fit {}'s input schema: {}",
                self.name,
                errors.join("; ")
            ),
            None,
        ))
    }
}

/// Every tool served, by name.
#[derive(Default)]
pub struct Catalog {
    tools: BTreeMap<String, Arc<Served>>,
}

impl Catalog {
    /// Loads every component; any that cannot be loaded, or two that claim
    /// one name, are an error naming the files.
    pub fn load(
        runtime: &Runtime,
        sources: &[PathBuf],
        policy: &Policy,
    ) -> Result<Self, crate::Error> {
        let catalog = Self::load_each(runtime, sources, policy, &mut Err)?;
        let files: Vec<String> = catalog.tools().map(|s| policy_key(&s.path)).collect();
        for entry in policy.unmatched(&files) {
            tracing::warn!(
                "the policy's entry tools.{:?} names no served file ({}.wasm): it applies to nothing",
                visible_line(entry),
                visible_line(entry)
            );
        }
        Ok(catalog)
    }

    /// As [`load`](Self::load), skipping (with a warning) what cannot be
    /// loaded: a directory being rewritten must not take the server down.
    /// Two files claiming one name: the file that served it in `current`
    /// keeps it and the newcomer is refused; if neither did, neither is
    /// served (nothing says which one the operator meant). A served file
    /// that is still there but cannot be loaded now keeps its name with the
    /// version loaded before.
    pub(crate) fn load_lenient(
        runtime: &Runtime,
        sources: &[PathBuf],
        policy: &Policy,
        current: &Catalog,
    ) -> Self {
        let files = match component_files(sources) {
            Ok(files) => files,
            Err(e) => {
                tracing::warn!("not serving: {e}");
                return Catalog::default();
            }
        };
        let mut claims: BTreeMap<String, Vec<Served>> = BTreeMap::new();
        let mut unloadable = Vec::new();
        for path in &files {
            match load_one(runtime, path, policy) {
                Ok(served) => claims.entry(served.name.clone()).or_default().push(served),
                Err(e) => {
                    tracing::warn!("not serving: {e}");
                    unloadable.push(path.clone());
                }
            }
        }
        let mut catalog = Catalog::default();
        // A served file still there that cannot be loaded right now (being
        // rewritten, say) keeps its name, served by the version loaded
        // before: nothing else may take the name meanwhile.
        for (name, served) in &current.tools {
            if !unloadable.contains(&served.path) {
                continue;
            }
            for newcomer in claims.remove(name).unwrap_or_default() {
                tracing::warn!(
                    "not serving {}: it names itself {:?}, which {} serves (kept as loaded before while the file cannot be loaded)",
                    visible_line(&newcomer.path.display().to_string()),
                    visible_line(name),
                    visible_line(&served.path.display().to_string()),
                );
            }
            catalog.tools.insert(name.clone(), served.clone());
        }
        for (name, mut claimants) in claims {
            let chosen = if claimants.len() == 1 {
                claimants.pop()
            } else {
                let incumbent = current.tools.get(&name).map(|s| s.path.clone());
                let kept = claimants
                    .iter()
                    .position(|s| Some(&s.path) == incumbent.as_ref())
                    .map(|at| claimants.swap_remove(at));
                for refused in &claimants {
                    tracing::warn!(
                        "not serving {}: it names itself {:?}, which {} {}",
                        visible_line(&refused.path.display().to_string()),
                        visible_line(&name),
                        kept.as_ref().map_or_else(
                            || "another new file also claims".to_owned(),
                            |k| visible_line(&k.path.display().to_string()).into_owned(),
                        ),
                        if kept.is_some() {
                            "already serves"
                        } else {
                            "(neither is served)"
                        },
                    );
                }
                kept
            };
            if let Some(served) = chosen {
                catalog.tools.insert(name, Arc::new(served));
            }
        }
        catalog
    }

    /// Loads what `sources` name; `failed` decides whether a failure ends
    /// the load (`Err`) or is passed over (`Ok`).
    fn load_each(
        runtime: &Runtime,
        sources: &[PathBuf],
        policy: &Policy,
        failed: &mut dyn FnMut(crate::Error) -> Result<(), crate::Error>,
    ) -> Result<Self, crate::Error> {
        let mut catalog = Catalog::default();
        let files = match component_files(sources) {
            Ok(files) => files,
            Err(e) => {
                failed(crate::Error::Load(e))?;
                return Ok(catalog);
            }
        };
        for path in files {
            let loaded = load_one(runtime, &path, policy).and_then(|served| {
                catalog
                    .insert(served)
                    .map_err(|e| crate::Error::Load(LoadError::new(path.display().to_string(), e)))
            });
            if let Err(e) = loaded {
                failed(e)?;
            }
        }
        Ok(catalog)
    }

    fn insert(&mut self, served: Served) -> Result<(), String> {
        if let Some(other) = self.tools.get(&served.name) {
            return Err(format!(
                "{} and {} are both named {:?}: serve one of them, or rename one",
                other.path.display(),
                served.path.display(),
                served.name
            ));
        }
        self.tools.insert(served.name.clone(), Arc::new(served));
        Ok(())
    }

    /// The tool called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Served>> {
        self.tools.get(name).cloned()
    }

    /// Every tool, by name.
    pub fn tools(&self) -> impl Iterator<Item = &Arc<Served>> {
        self.tools.values()
    }

    /// Whether `other` serves the same tools (names and components).
    pub(crate) fn same_tools(&self, other: &Catalog) -> bool {
        let key = |c: &Catalog| -> Vec<(String, String)> {
            c.tools
                .values()
                .map(|s| (s.name.clone(), s.tool.digest().to_owned()))
                .collect()
        };
        key(self) == key(other)
    }
}

fn load_one(runtime: &Runtime, path: &Path, policy: &Policy) -> Result<Served, crate::Error> {
    let refused = |why: String| crate::Error::Load(LoadError::new(path.display().to_string(), why));
    let tool = runtime.load(path)?;
    // The operator chose the file: its name exactly as on disk, not the
    // component's, selects the policy.
    let file = policy_key(path);
    policy
        .check_pin(&file, tool.digest())
        .map_err(|e| refused(e.to_string()))?;
    let described = tool.description();
    let name = described.map_or_else(|| tool.name().to_owned(), |d| d.name.clone());
    let object = |json: &crate::store::Json| -> Map<String, Value> {
        match json.to_value() {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    };
    let input = described.map_or_else(
        || {
            json!({ "type": "object" })
                .as_object()
                .cloned()
                .unwrap_or_default()
        },
        |d| object(&d.input_schema),
    );
    let validator = match described {
        Some(_) => Some(InputSchema::compile(&Value::Object(input.clone())).map_err(refused)?),
        None => None,
    };
    let mut mcp = rmcp::model::Tool::new_with_raw(
        name.clone(),
        described.map(|d| d.description.clone().into()),
        Arc::new(input),
    );
    if let Some(output) = described.and_then(|d| d.output_schema.as_ref()) {
        mcp = mcp.with_raw_output_schema(Arc::new(object(output)));
    }
    Ok(Served {
        policy: policy.for_tool(&file),
        name,
        path: path.to_owned(),
        tool,
        mcp,
        validator,
    })
}

/// The policy entry a component file answers to: its file name without
/// `.wasm`, exactly as on disk (`my_tool.wasm` is `[tools.my_tool]`, though
/// it is served as `my-tool` when it does not name itself).
pub(crate) fn policy_key(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The component files `sources` name: files as given, directories as
/// each `*.wasm` in them, sorted.
fn component_files(sources: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for source in sources {
        if source.is_dir() {
            let listed = std::fs::read_dir(source).map_err(|e| {
                LoadError::new(
                    source.display().to_string(),
                    format!("cannot be listed: {e}"),
                )
            })?;
            let mut found: Vec<PathBuf> = listed
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "wasm") && p.is_file())
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(source.clone());
        }
    }
    Ok(files)
}

/// What the served files look like now: each one's path, size and
/// modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(Vec<(PathBuf, u64, Option<SystemTime>)>);

impl Fingerprint {
    /// Looks at the files now.
    pub fn of(sources: &[PathBuf]) -> Self {
        let files = component_files(sources).unwrap_or_default();
        Fingerprint(
            files
                .into_iter()
                .map(|path| {
                    let meta = std::fs::metadata(&path).ok();
                    let size = meta.as_ref().map_or(0, |m| m.len());
                    let modified = meta.and_then(|m| m.modified().ok());
                    (path, size, modified)
                })
                .collect(),
        )
    }
}
