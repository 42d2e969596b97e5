//! The tools a server offers: one per component file, by the name the
//! component gives itself or its file's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rmcp::ErrorData as McpError;
use serde_json::{json, Map, Value};

use crate::sandbox::{LoadError, Runtime, Tool};

use super::policy::{Policy, ToolPolicy};

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
    validator: Option<jsonschema::Validator>,
}

impl Served {
    /// Arguments that do not fit the input schema are a protocol error
    /// (invalid params), as the MCP specification says.
    pub(crate) fn check_arguments(&self, arguments: &Value) -> Result<(), McpError> {
        let Some(validator) = &self.validator else {
            return Ok(());
        };
        let errors: Vec<String> = validator
            .iter_errors(arguments)
            .take(3)
            .map(|e| {
                let at = e.instance_path.to_string();
                let at = if at.is_empty() { "/".to_owned() } else { at };
                format!("at {at}: {e}")
            })
            .collect();
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
        Self::load_each(runtime, sources, policy, &mut Err)
    }

    /// As [`load`](Self::load), skipping (with a warning) what cannot be
    /// loaded: a directory being rewritten must not take the server down.
    pub(crate) fn load_lenient(runtime: &Runtime, sources: &[PathBuf], policy: &Policy) -> Self {
        let mut skip = |e: crate::Error| {
            tracing::warn!("not serving: {e}");
            Ok(())
        };
        Self::load_each(runtime, sources, policy, &mut skip).unwrap_or_default()
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
    let tool = runtime.load(path)?;
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
        Some(_) => Some(
            jsonschema::validator_for(&Value::Object(input.clone())).map_err(|e| {
                crate::Error::Load(LoadError::new(
                    path.display().to_string(),
                    format!("its input schema is not a valid JSON Schema: {e}"),
                ))
            })?,
        ),
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
        policy: policy.for_tool(&name),
        name,
        path: path.to_owned(),
        tool,
        mcp,
        validator,
    })
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
