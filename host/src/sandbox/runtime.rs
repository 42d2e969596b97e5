//! [`Runtime`]: runs agent tools (WebAssembly components) against a store.
//!
//! One `Engine` for the process; each component checked, then compiled once
//! per content (and cached on disk, keyed by content and engine); a fresh
//! `Store` and instance for every invocation, carved from a pooling
//! allocator with copy-on-write memory images, so starting a tool costs
//! microseconds.
//!
//! The guest sees WASI with nothing in it (no directories, no environment, no
//! arguments, no network) plus the store interfaces of `wit/`, filtered by
//! its grants. Every invocation is one row in `tool_calls` of its mission:
//! written before the tool starts (outcome `running`) and completed with how
//! it ended, whatever way that was; rows the tool writes carry that row's id.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wasi::WasiCtxBuilder;

use crate::store::{
    ComponentInfo, InvocationEnd, InvocationStart, Json, MissionId, MissionStore, Outcome,
    StoreError, ToolCallId,
};

use crate::hex::hex;
use crate::sync::lock;
use crate::terminal::visible_line;

use super::cache::{ComponentCache, DEFAULT_CACHE_MAX_BYTES};
use super::engine;
use super::failure::{classify, Cancelled, FailureKind, ToolFailure};
use super::host::described::DescribedToolPre;
use super::host::{AgentTool, AgentToolPre, Invocation, State};
use super::load::{
    check_component, name_from_path, read_file, LoadError, DEFAULT_MAX_COMPONENT_BYTES,
};
use super::output::CappedOutput;
use super::policy::{Grants, Limits, Scope};
use super::slots::{SlotGuard, Slots};
use super::spare::{self, Spares};

/// How a [`Runtime`] is set up. Built from the default with checked
/// setters:
///
/// ```
/// use vibe_store::sandbox::RuntimeConfig;
///
/// let config = RuntimeConfig::default().max_concurrent(8)?.max_memory_mb(256)?;
/// assert_eq!(config.concurrency(), 8);
/// assert!(RuntimeConfig::default().max_concurrent(0).is_err());
/// # Ok::<(), vibe_store::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    max_concurrent: u32,
    cache_dir: Option<PathBuf>,
    cache_max_bytes: u64,
    max_memory_bytes: usize,
    max_component_bytes: u64,
    spare_instances: u32,
    spare_threshold: Duration,
}

impl Default for RuntimeConfig {
    /// 64 invocations at once, no disk cache, 1 GiB of linear memory at most
    /// per invocation, components of at most 256 MiB, 4 spare instances for
    /// tools that take 250 us or more to instantiate.
    fn default() -> Self {
        RuntimeConfig {
            max_concurrent: 64,
            cache_dir: None,
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
            max_memory_bytes: 1 << 30,
            max_component_bytes: DEFAULT_MAX_COMPONENT_BYTES,
            spare_instances: DEFAULT_SPARE_INSTANCES,
            spare_threshold: spare::DEFAULT_SPARE_THRESHOLD,
        }
    }
}

/// Spare instances by default (see [`RuntimeConfig::spare_instances`]).
const DEFAULT_SPARE_INSTANCES: u32 = 4;
/// The most spare instances a runtime may keep.
const MAX_SPARE_INSTANCES: u32 = 64;

fn range_error(what: &str, value: u64, low: u64, high: u64) -> StoreError {
    StoreError::invalid(format!(
        "{what} {value} is out of range; it must be {low} to {high}"
    ))
}

impl RuntimeConfig {
    /// Invocations running at once (1 to 1,024); more wait for a free slot.
    /// The pooling allocator reserves this many instance slots up front,
    /// plus one for each spare instance ([`spare_instances`](Self::spare_instances)).
    pub fn max_concurrent(mut self, slots: u32) -> Result<Self, StoreError> {
        if !(1..=1024).contains(&slots) {
            return Err(range_error("max_concurrent", slots.into(), 1, 1024));
        }
        self.max_concurrent = slots;
        Ok(self)
    }

    /// Where compiled components are cached between processes. Created
    /// 0700; not used if another user owns it or group or others can write
    /// it.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// The cache's size budget in bytes; least recently used entries go
    /// first.
    pub fn cache_max_bytes(mut self, bytes: u64) -> Self {
        self.cache_max_bytes = bytes;
        self
    }

    /// The largest linear memory any invocation may be given, in MiB (1 to
    /// 4096): the pool reserves this much address space per slot.
    pub fn max_memory_mb(mut self, megabytes: usize) -> Result<Self, StoreError> {
        if !(1..=4096).contains(&megabytes) {
            return Err(range_error("max_memory_mb", megabytes as u64, 1, 4096));
        }
        self.max_memory_bytes = megabytes * 1024 * 1024;
        Ok(self)
    }

    /// The largest component file loaded, in bytes (at least 1).
    pub fn max_component_bytes(mut self, bytes: u64) -> Result<Self, StoreError> {
        if bytes == 0 {
            return Err(range_error("max_component_bytes", 0, 1, u64::MAX));
        }
        self.max_component_bytes = bytes;
        Ok(self)
    }

    /// How many spare instances (a tool's next instance, made ahead of its
    /// next call, one per tool) may wait at once: 0 to 64, 0 turns them off.
    /// Once a call has instantiated a tool slowly
    /// ([`spare_threshold`](Self::spare_threshold)), a thread of the
    /// runtime's own makes the instance the next call will use, and each
    /// call that takes one asks for the next, so from the second call on a
    /// call skips instantiation (half of a warm call of a Python tool). A
    /// spare holds its instance's memory (at most the memory limit of the
    /// call that asked for it) until a call takes it, until a fast
    /// instantiation of its tool is seen, or, once it has waited 5 s, until
    /// another tool's spare needs its room; the pool reserves a slot for each.
    /// See [`Runtime::has_spare`].
    ///
    /// # Failure
    ///
    /// [`StoreError::InvalidInput`] for a count over 64.
    pub fn spare_instances(mut self, count: u32) -> Result<Self, StoreError> {
        if count > MAX_SPARE_INSTANCES {
            return Err(range_error(
                "spare_instances",
                count.into(),
                0,
                MAX_SPARE_INSTANCES.into(),
            ));
        }
        self.spare_instances = count;
        Ok(self)
    }

    /// Makes spares only of tools a call instantiated in at least
    /// `threshold` (by default 250 us: a Python tool's takes about 1.2 ms
    /// here in a release build, a Rust or JavaScript tool's tens of
    /// microseconds, less than making a spare costs the other core). Judged
    /// on each instantiation a call does itself, as measured in this
    /// process's build (a debug build instantiates more slowly): a slow one
    /// asks for a spare if none is made or waiting, a fast one rules spares
    /// out for the tool for the runtime's life. `Duration::ZERO` gives every
    /// tool spares.
    pub fn spare_threshold(mut self, threshold: Duration) -> Self {
        self.spare_threshold = threshold;
        self
    }

    /// Invocations running at once.
    pub fn concurrency(&self) -> u32 {
        self.max_concurrent
    }
}

/// A compiled tool, ready to be instantiated any number of times.
pub struct Tool {
    name: String,
    component: ComponentInfo,
    pre: AgentToolPre<State>,
    description: Option<Arc<ToolDescription>>,
}

/// What a tool says about itself through the contract's optional
/// `describe` export, read once when it is loaded and checked: a name of 1
/// to 64 of `A-Z a-z 0-9 _ - .`, a description within the store's text
/// limit, and JSON Schemas that are JSON objects of `"type": "object"` (the
/// input's; MCP requires it) within the store's JSON limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolDescription {
    /// The name agents call it by.
    pub name: String,
    /// What it does.
    pub description: String,
    /// The JSON Schema its input must satisfy.
    pub input_schema: Json,
    /// The JSON Schema its output satisfies, if it promises one.
    pub output_schema: Option<Json>,
}

/// The export a self-describing tool has.
const DESCRIBE_EXPORT: &str = "vibe:store/describe@0.1.0";

impl Tool {
    /// The tool's default name in the audit trail (the file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256 of the component's bytes, hex.
    pub fn digest(&self) -> &str {
        &self.component.sha256
    }

    /// Digest and size of the component, as invocation rows record them.
    pub fn component(&self) -> &ComponentInfo {
        &self.component
    }

    /// What the tool says about itself, if it exports `describe` and gave
    /// a description.
    pub fn description(&self) -> Option<&ToolDescription> {
        self.description.as_deref()
    }

    /// This tool under `name`: itself if the name matches, else a new handle
    /// sharing the compiled code.
    fn named(self: &Arc<Self>, name: &str) -> Arc<Tool> {
        if self.name == name {
            return self.clone();
        }
        Arc::new(Tool {
            name: name.to_owned(),
            component: self.component.clone(),
            pre: self.pre.clone(),
            description: self.description.clone(),
        })
    }
}

/// What to run a tool with: the mission, the input, and (by default none)
/// grants and (by default [`Limits::default`]) limits.
#[derive(Debug, Clone)]
pub struct Request {
    mission: MissionId,
    input: Json,
    name: Option<String>,
    grants: Grants,
    limits: Limits,
    cancel: Option<Arc<AtomicBool>>,
    caller: Option<Json>,
}

impl Request {
    /// Default grants and limits, the tool's own name.
    pub fn new(mission: MissionId, input: impl Into<Json>) -> Self {
        Request {
            mission,
            input: input.into(),
            name: None,
            grants: Grants::none(),
            limits: Limits::default(),
            cancel: None,
            caller: None,
        }
    }

    /// Stops the tool (outcome `cancelled`) as soon as `flag` is set while
    /// it runs: checked every epoch tick (5 ms) and between store calls.
    pub fn cancel_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Who asked for the invocation, recorded in its row's `caller` column
    /// (for `vibe mcp`: the transport, the client's name and version, the
    /// request id).
    pub fn caller(mut self, caller: Json) -> Self {
        self.caller = Some(caller);
        self
    }

    /// The name recorded in the audit trail (default: the tool's own).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What the tool may touch beyond its mission.
    pub fn grants(mut self, grants: Grants) -> Self {
        self.grants = grants;
        self
    }

    /// How much it may use.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The mission the tool runs for.
    pub fn mission(&self) -> &MissionId {
        &self.mission
    }

    /// The tool's input.
    pub fn input(&self) -> &Json {
        &self.input
    }
}

/// What an invocation did.
#[derive(Debug)]
pub struct RunReport {
    /// The tool's JSON output, or how it failed: what its row records.
    pub outcome: Result<Json, ToolFailure>,
    /// The id of the invocation's own row in `tool_calls`.
    pub call_id: ToolCallId,
    /// How long the tool ran.
    pub duration: Duration,
    /// What the guest wrote to stdout and stderr, up to
    /// [`Limits::max_output_bytes`] each; the rest is dropped.
    pub stdout: String,
    /// What the guest wrote to stderr, up to the same cap.
    pub stderr: String,
}

/// What [`Runtime::precompile`] did with a component.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Precompiled {
    /// Digest and size of the component.
    pub component: ComponentInfo,
    /// Whether it was compiled now; `false` when the cache already held it.
    pub compiled: bool,
}

/// Runs agent tools. Cheap to clone, safe to share between threads.
///
/// ```
/// use std::time::Duration;
/// use serde_json::json;
/// use vibe_store::sandbox::{Grants, Limits, Request, Runtime, RuntimeConfig};
/// use vibe_store::{MissionStore, Phase, SqliteStore};
///
/// # let dir = tempfile::tempdir()?;
/// # let echo_wasm = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
/// #     .join("../guest/target/wasm32-wasip2/release/echo.wasm");
/// let store = SqliteStore::open(dir.path().join("vibe_agency.db"))?;
/// let mission = store.create_mission(Phase::Coding, json!({}).into())?;
/// let runtime = Runtime::new(store.clone(), RuntimeConfig::default().max_concurrent(4)?)?;
/// let echo = runtime.load(&echo_wasm)?;
/// let request = Request::new(mission.clone(), json!({ "hello": "tool" }))
///     .grants(Grants::none())
///     .limits(Limits::default().timeout(Duration::from_secs(2))?.memory_mb(32)?);
/// let report = runtime.run(&echo, &request)?;
/// assert_eq!(report.outcome.unwrap().as_str(), r#"{"hello":"tool"}"#);
/// // The invocation is one row of the mission's trail, naming the component.
/// let row = &store.get_tool_history(&mission)?[0];
/// assert_eq!((row.id, row.component_sha256.as_deref()), (report.call_id, Some(echo.digest())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<State>,
    store: Arc<dyn MissionStore>,
    config: RuntimeConfig,
    cache: Option<ComponentCache>,
    /// Compiled tools by content digest.
    tools: Mutex<HashMap<String, Arc<Tool>>>,
    slots: Slots,
    spares: Spares<Spare>,
    /// The thread that makes spares, started when the first is asked for;
    /// `None` inside if it could not be started.
    spare_maker: OnceLock<Option<mpsc::Sender<SpareJob>>>,
    /// This runtime, for the spare-making thread (which must not keep it
    /// alive).
    me: Weak<Inner>,
}

/// An instance made ahead of its call (see the `spare` module), with what
/// its start-up took, which counts as its call's.
struct Spare {
    store: Store<State>,
    instance: AgentTool,
    stdout: CappedOutput,
    stderr: CappedOutput,
    /// How long instantiating it took (its start-up code included).
    made_in: Duration,
    /// The memory limit it was made under, in bytes. Its start-up ran
    /// within it (memory, and the resources the limit allows at any one
    /// time), so any call whose limit is as high would have run it too.
    made_under: usize,
}

impl Spare {
    /// Whether a call with `limits` may use it, as if it had instantiated
    /// the tool itself: its start-up time within the call's timeout, and
    /// made under a memory limit no higher than the call's (what start-up
    /// did at its peak, in memory and resources, is not measured; the limit
    /// it ran under bounds it).
    fn fits(&self, limits: &Limits) -> bool {
        self.made_in < limits.timeout_duration() && self.made_under <= limits.memory_bytes()
    }

    /// Hands it to `host`'s invocation: its store calls, grants, memory
    /// cap and output caps from `limits`, stopped at `deadline` or on
    /// `cancel`.
    fn bind(
        self,
        host: Invocation,
        limits: &Limits,
        deadline: Instant,
        cancel: Option<&Arc<AtomicBool>>,
    ) -> (Store<State>, AgentTool) {
        let mut store = self.store;
        store.data_mut().bind(host, limits.memory_bytes());
        self.stdout.set_cap(limits.output_bytes());
        self.stderr.set_cap(limits.output_bytes());
        arm(&mut store, deadline, cancel);
        (store, self.instance)
    }
}

/// What the spare-making thread is asked for: a spare of one component, to
/// be made under a memory limit (that of the call that asked).
struct SpareJob {
    digest: String,
    max_memory_bytes: usize,
}

impl Runtime {
    /// A runtime whose tools reach `store`. Fails only if the engine cannot
    /// be set up (as when the machine cannot reserve the pool's memory).
    pub fn new(store: impl MissionStore, config: RuntimeConfig) -> Result<Self, crate::Error> {
        Self::with_store(Arc::new(store), config)
    }

    /// A runtime on a shared store handle.
    pub fn with_store(
        store: Arc<dyn MissionStore>,
        config: RuntimeConfig,
    ) -> Result<Self, crate::Error> {
        let setup = |e: wasmtime::Error| crate::Error::Engine(format!("{e:#}"));
        // The pool has room for every invocation and every spare at once.
        let instances = config.max_concurrent + config.spare_instances;
        let engine = engine::engine(instances, config.max_memory_bytes).map_err(setup)?;
        let linker = engine::linker(&engine).map_err(setup)?;
        let cache = config.cache_dir.as_deref().and_then(|dir| {
            ComponentCache::open(dir, config.cache_max_bytes)
                .map_err(|why| {
                    tracing::warn!(dir = %dir.display(), "not using the component cache: it {why}; compiling in memory");
                })
                .ok()
        });
        Ok(Runtime {
            inner: Arc::new_cyclic(|me| Inner {
                engine,
                linker,
                store,
                slots: Slots::new(config.max_concurrent as usize),
                spares: Spares::new(config.spare_instances as usize, config.spare_threshold),
                spare_maker: OnceLock::new(),
                me: me.clone(),
                cache,
                config,
                tools: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Loads a component file (a regular file, at most the configured size);
    /// checked, then compiled once per content.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Arc<Tool>, LoadError> {
        self.load_cancellable(path.as_ref(), None)
    }

    /// As [`load`](Self::load), its `describe` stopped when `cancel` is set.
    fn load_cancellable(
        &self,
        path: &Path,
        cancel: Option<&Arc<AtomicBool>>,
    ) -> Result<Arc<Tool>, LoadError> {
        let bytes = read_file(path, self.inner.config.max_component_bytes)?;
        self.load_named(
            &path.display().to_string(),
            &name_from_path(path),
            &bytes,
            cancel,
        )
    }

    /// Loads a component from memory; checked, then compiled once per
    /// content.
    pub fn load_bytes(&self, name: &str, bytes: &[u8]) -> Result<Arc<Tool>, LoadError> {
        self.load_named(name, name, bytes, None)
    }

    fn load_named(
        &self,
        source: &str,
        name: &str,
        bytes: &[u8],
        cancel: Option<&Arc<AtomicBool>>,
    ) -> Result<Arc<Tool>, LoadError> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let component = ComponentInfo {
            sha256: hex(&digest),
            size: bytes.len() as u64,
        };
        if let Some(tool) = lock(&self.inner.tools).get(&component.sha256) {
            return Ok(tool.named(name));
        }
        let failed = |reason: String| LoadError::new(source, reason).with_component(&component);
        check_component(bytes).map_err(failed)?;
        let (compiled, _) = compile(
            &self.inner.engine,
            self.inner.cache.as_ref(),
            bytes,
            &digest,
        )
        .map_err(|e| failed(format!("could not be compiled: {e:#}")))?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&compiled)
            .and_then(AgentToolPre::new)
            .map_err(|e| {
                failed(format!(
                    "does not fit the vibe:store agent-tool world: {e:#}"
                ))
            })?;
        let description = match compiled.get_export_index(None, DESCRIBE_EXPORT) {
            None => None,
            Some(_) => self
                .describe(&compiled, cancel)
                .map_err(|e| failed(format!("its describe export failed: {e}")))?
                .map(Arc::new),
        };
        let tool = Arc::new(Tool {
            name: name.to_owned(),
            component: component.clone(),
            pre,
            description,
        });
        lock(&self.inner.tools).insert(component.sha256, tool.clone());
        Ok(tool)
    }

    /// Calls a component's `describe` export once, sandboxed as a run is
    /// (default limits, a slot, no store access at all), and checks what
    /// it says.
    fn describe(
        &self,
        component: &Component,
        cancel: Option<&Arc<AtomicBool>>,
    ) -> Result<Option<ToolDescription>, String> {
        let pre = self
            .inner
            .linker
            .instantiate_pre(component)
            .and_then(DescribedToolPre::new)
            .map_err(|e| format!("{e:#}"))?;
        let limits = Limits::default();
        let _slot = self.inner.slots.acquire();
        let deadline = Instant::now() + limits.timeout_duration();
        let host = Invocation::new(
            self.inner.store.clone(),
            Scope::sealed(),
            limits,
            deadline,
            None,
        );
        let mut store = self
            .inner
            .sandbox(host, WasiCtxBuilder::new(), limits.memory_bytes());
        arm(&mut store, deadline, cancel);
        let said = bounded(deadline, cancel, async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance
                .vibe_store_describe()
                .call_describe(&mut store)
                .await
        })
        .map_err(|e| {
            let memory = &store.data().memory;
            classify(&e, memory.hit.then_some(memory.max_bytes), &limits).message
        })?;
        said.map(|d| {
            check_tool_name(&d.name)?;
            crate::store::check_text("description", &d.description).map_err(|e| e.to_string())?;
            let schema = |field: &str, text: String| -> Result<Json, String> {
                let json = Json::parse(field, text).map_err(|e| e.to_string())?;
                match json.to_value() {
                    Ok(serde_json::Value::Object(o)) if o.get("type") == Some(&"object".into()) => {
                        Ok(json)
                    }
                    _ => Err(format!(
                        "{field} must be a JSON Schema object with \"type\": \"object\""
                    )),
                }
            };
            Ok(ToolDescription {
                input_schema: schema("input schema", d.input_schema)?,
                output_schema: d
                    .output_schema
                    .map(|s| schema("output schema", s))
                    .transpose()?,
                name: d.name,
                description: d.description,
            })
        })
        .transpose()
    }

    /// Compiles a component file ahead of time into `config`'s cache, so
    /// that a runtime with the same cache (in this process or another:
    /// `vibe run`, `vibe mcp`) loads it without compiling. The component is
    /// checked as [`load`](Self::load) checks it (a regular file within
    /// the size limit, fitting the `agent-tool` world) but not run: its
    /// `describe` waits for the runtime that loads it.
    ///
    /// What the cache holds does not depend on the other settings
    /// (concurrency, memory), so one compile serves every runtime that
    /// shares the cache directory.
    ///
    /// ```
    /// use vibe_store::sandbox::{Runtime, RuntimeConfig};
    ///
    /// # let cache = tempfile::tempdir()?;
    /// # let echo_wasm = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
    /// #     .join("../guest/target/wasm32-wasip2/release/echo.wasm");
    /// let config = RuntimeConfig::default().cache_dir(cache.path());
    /// assert!(Runtime::precompile(&config, &echo_wasm)?.compiled);
    /// // Already there: a second call only checks the cache.
    /// assert!(!Runtime::precompile(&config, &echo_wasm)?.compiled);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Failure
    ///
    /// A [`LoadError`] if the component cannot be loaded (as
    /// [`load`](Self::load) says), if `config` names no cache directory, or
    /// if the directory cannot be used (not private to this user, say):
    /// compiling without keeping the result would be of no use.
    pub fn precompile(
        config: &RuntimeConfig,
        path: impl AsRef<Path>,
    ) -> Result<Precompiled, LoadError> {
        let path = path.as_ref();
        let source = path.display().to_string();
        let refused = |why: String| {
            LoadError::new(
                source.clone(),
                format!("cannot be compiled ahead of time: {why}"),
            )
        };
        let dir = config
            .cache_dir
            .as_deref()
            .ok_or_else(|| refused("no component cache directory is configured".into()))?;
        let cache = ComponentCache::open(dir, config.cache_max_bytes)
            .map_err(|why| refused(format!("the component cache {} {why}", dir.display())))?;
        let engine = engine::engine(config.max_concurrent, config.max_memory_bytes)
            .map_err(|e| refused(format!("cannot set up the WebAssembly engine: {e:#}")))?;
        let bytes = read_file(path, config.max_component_bytes)?;
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        let component = ComponentInfo {
            sha256: hex(&digest),
            size: bytes.len() as u64,
        };
        let failed =
            |reason: String| LoadError::new(source.clone(), reason).with_component(&component);
        check_component(&bytes).map_err(failed)?;
        let (compiled, fresh) = compile(&engine, Some(&cache), &bytes, &digest)
            .map_err(|e| failed(format!("could not be compiled: {e:#}")))?;
        engine::linker(&engine)
            .and_then(|linker| linker.instantiate_pre(&compiled))
            .and_then(AgentToolPre::new)
            .map_err(|e| {
                failed(format!(
                    "does not fit the vibe:store agent-tool world: {e:#}"
                ))
            })?;
        Ok(Precompiled {
            component,
            compiled: fresh,
        })
    }

    /// Loads the component at `path` and runs it as [`Runtime::run`] does.
    /// A component that cannot be loaded is recorded too, as a failed
    /// invocation row on the request's mission (outcome `load_error`, with
    /// the file's digest when it could be read): an agent asked for a tool
    /// and it did not run. The report's failure kind is then
    /// [`FailureKind::LoadError`].
    pub fn run_file(
        &self,
        path: impl AsRef<Path>,
        request: &Request,
    ) -> Result<RunReport, StoreError> {
        let path = path.as_ref();
        let started = Instant::now();
        let load = match self.load_cancellable(path, request.cancel.as_ref()) {
            Ok(tool) => return self.run(&tool, request),
            Err(load) => load,
        };
        check_input(request)?;
        let cancelled = request
            .cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed));
        let failure = match cancelled {
            // Stopped while it loaded (its describe, say): the caller's
            // doing, not the component's.
            true => ToolFailure::new(
                FailureKind::Cancelled,
                format!("cancelled by the caller while it loaded: {load}"),
            ),
            false => ToolFailure::new(FailureKind::LoadError, load.to_string()),
        };
        let start = InvocationStart {
            tool_name: request.name.clone().unwrap_or_else(|| name_from_path(path)),
            input: request.input.clone(),
            component: load.component.clone(),
            caller: request.caller.clone(),
        };
        self.record_unrun(request, start, failure, started.elapsed())
    }

    /// Records an invocation that ran nothing (it could not be loaded, or
    /// was cancelled before it started) as one finished row, and reports
    /// it: `failure` is its outcome, `duration` how long it took to fail.
    fn record_unrun(
        &self,
        request: &Request,
        start: InvocationStart,
        failure: ToolFailure,
        duration: Duration,
    ) -> Result<RunReport, StoreError> {
        let end = InvocationEnd {
            outcome: failure.kind.outcome(),
            result: None,
            duration_ms: Some(millis(duration)),
            error_message: Some(failure.message.clone()),
        };
        let call_id = self
            .inner
            .store
            .record_invocation(&request.mission, &start, &end)?;
        Ok(RunReport {
            outcome: Err(failure),
            call_id,
            duration,
            stdout: String::new(),
            stderr: String::new(),
        })
    }

    /// Runs `tool` for `request.mission`, recorded as one row in the
    /// mission's `tool_calls`. Returns `Err` only if nothing ran (unknown
    /// mission, invalid name or input) or the record could not be written;
    /// a tool that fails in any way is an `Ok` report with a failed outcome,
    /// and its row says how it failed. Beyond the runtime's `max_concurrent`
    /// invocations a call waits for a slot; cancelled while it waits, it
    /// ends at once as `cancelled`, never started, its row written then.
    pub fn run(&self, tool: &Tool, request: &Request) -> Result<RunReport, StoreError> {
        check_input(request)?;
        self.check_memory(request)?;
        let store = &self.inner.store;
        let start = InvocationStart {
            tool_name: request.name.clone().unwrap_or_else(|| tool.name.clone()),
            input: request.input.clone(),
            component: Some(tool.component.clone()),
            caller: request.caller.clone(),
        };
        let waited = Instant::now();
        let Some(slot) = self.inner.slots.acquire_unless(request.cancel.as_deref()) else {
            // Cancelled while every instance slot was taken: it never
            // started, and its one row says so.
            let failure = ToolFailure::new(
                FailureKind::Cancelled,
                "cancelled by the caller while it waited for an instance slot; it never started",
            );
            return self.record_unrun(request, start, failure, waited.elapsed());
        };
        // The row exists before the tool runs: rows the tool writes name it,
        // and a host that dies mid-run leaves it saying so.
        let call_id = store.begin_invocation(&request.mission, &start)?;
        let limits = &request.limits;
        let spare = catch_unwind(AssertUnwindSafe(|| self.spare_for(tool, request)))
            .unwrap_or_else(|_| {
                tracing::error!("claiming a spare instance panicked; instantiating in the call");
                None
            });
        // A spare's start-up ran before the call; its time counts as the
        // call's, as it would have inside it.
        let already = spare.as_ref().map_or(Duration::ZERO, |spare| spare.made_in);
        let (stdout, stderr) = match &spare {
            Some(spare) => (spare.stdout.clone(), spare.stderr.clone()),
            None => (
                CappedOutput::new(limits.output_bytes()),
                CappedOutput::new(limits.output_bytes()),
            ),
        };
        let started = Instant::now();
        let mut spent = None;
        let ran = catch_unwind(AssertUnwindSafe(|| {
            self.instantiate_and_run(
                tool,
                request,
                call_id,
                spare,
                (&stdout, &stderr),
                &mut spent,
            )
        }))
        .unwrap_or_else(|panic| {
            let error = StoreError::from_panic("running the tool", panic);
            tracing::error!(%error, "invocation panicked in the host");
            Err(ToolFailure::new(FailureKind::HostError, error.to_string()))
        });
        retire(spent, slot);
        let duration = started.elapsed() + already;
        let outcome = ran.and_then(|text| check_output(text, limits));
        log_guest_output(&start.tool_name, &stdout, &stderr);
        let (stdout, _) = stdout.contents();
        let (stderr, _) = stderr.contents();
        let outcome = self.end_invocation(call_id, outcome, duration)?;
        Ok(RunReport {
            outcome,
            call_id,
            duration,
            stdout,
            stderr,
        })
    }

    /// Completes the invocation's row. Should the store refuse the record
    /// (it cannot, short of a bug: output and messages were bounded above),
    /// the row still ends, as a host error saying why.
    fn end_invocation(
        &self,
        call_id: ToolCallId,
        outcome: Result<Json, ToolFailure>,
        duration: Duration,
    ) -> Result<Result<Json, ToolFailure>, StoreError> {
        let store = &self.inner.store;
        let end = |outcome: &Result<Json, ToolFailure>| InvocationEnd {
            outcome: match outcome {
                Ok(_) => Outcome::Ok,
                Err(failure) => failure.kind.outcome(),
            },
            result: outcome.as_ref().ok().cloned(),
            duration_ms: Some(millis(duration)),
            error_message: outcome.as_ref().err().map(|f| f.message.clone()),
        };
        match store.end_invocation(call_id, &end(&outcome)) {
            Ok(()) => Ok(outcome),
            Err(refused @ (StoreError::InvalidInput(_) | StoreError::LimitExceeded(_))) => {
                let fallback = Err(ToolFailure::new(
                    FailureKind::HostError,
                    format!("the store refused this invocation's record: {refused}"),
                ));
                store.end_invocation(call_id, &end(&fallback))?;
                Ok(fallback)
            }
            Err(other) => Err(other),
        }
    }

    /// The spare instance of `tool` for `request`, if one waits and fits
    /// its limits; then asks for the next. None for a call cancelled before
    /// it starts: it runs nothing, and a spare would only record its
    /// start-up time as the call's.
    fn spare_for(&self, tool: &Tool, request: &Request) -> Option<Spare> {
        let cancelled = request
            .cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed));
        if cancelled || !self.owns(tool) {
            return None;
        }
        let limits = &request.limits;
        let digest = &tool.component.sha256;
        let claim = self.inner.spares.claim(digest, |spare| spare.fits(limits));
        if claim.make_next {
            self.inner.ask_for_spare(digest, limits.memory_bytes());
        }
        claim.spare
    }

    /// Whether `tool` was compiled by this runtime's engine. A tool another
    /// runtime compiled cannot run here (its instantiation fails), and a
    /// spare made from this runtime's copy of the same bytes must not hide
    /// that.
    fn owns(&self, tool: &Tool) -> bool {
        Engine::same(tool.pre.engine(), &self.inner.engine)
    }

    /// Whether an instance of `tool` waits, made ahead of its next call
    /// (see [`RuntimeConfig::spare_instances`]). One is made once a call
    /// has instantiated the tool in [`RuntimeConfig::spare_threshold`] or
    /// more, and again each time a call takes one: from the second call on,
    /// calls find theirs made. None are made when spares are off, for tools
    /// a call instantiated faster than the threshold, for tools whose
    /// start-up code calls the store, prints, fails, hits the memory limit
    /// or takes over a second, for a tool this runtime did not load, or
    /// while every room is taken by spares younger than 5 s. A waiting spare
    /// may not fit a call (start-up time over its timeout, or made under a
    /// higher memory limit than the call's); it then waits for a call it
    /// fits.
    pub fn has_spare(&self, tool: &Tool) -> bool {
        self.owns(tool) && self.inner.spares.ready(&tool.component.sha256)
    }

    fn instantiate_and_run(
        &self,
        tool: &Tool,
        request: &Request,
        call_id: ToolCallId,
        spare: Option<Spare>,
        (stdout, stderr): (&CappedOutput, &CappedOutput),
        spent: &mut Option<Store<State>>,
    ) -> Result<String, ToolFailure> {
        let limits = request.limits;
        let already = spare.as_ref().map_or(Duration::ZERO, |spare| spare.made_in);
        let deadline = Instant::now() + limits.timeout_duration().saturating_sub(already);
        let host = Invocation::new(
            self.inner.store.within_invocation(call_id),
            Scope::new(request.mission.clone(), request.grants),
            limits,
            deadline,
            request.cancel.clone(),
        );
        let cancel = request.cancel.as_ref();
        let (mut wasm_store, made) = match spare {
            Some(spare) => {
                let (store, instance) = spare.bind(host, &limits, deadline, cancel);
                (store, Some(instance))
            }
            None => {
                let mut store =
                    self.inner
                        .sandbox(host, outputs(stdout, stderr), limits.memory_bytes());
                arm(&mut store, deadline, cancel);
                (store, None)
            }
        };

        // The bindings take `&String`: one copy of the input per run.
        let (mission, input) = (
            request.mission.to_string(),
            request.input.as_str().to_owned(),
        );
        let mut instantiated = None;
        let ran = bounded(deadline, cancel, async {
            let instance = match made {
                Some(instance) => instance,
                None => {
                    let started = Instant::now();
                    let instance = tool.pre.instantiate_async(&mut wasm_store).await?;
                    instantiated = Some(started.elapsed());
                    instance
                }
            };
            instance
                .vibe_store_tool()
                .call_run(&mut wasm_store, &mission, &input)
                .await
        });
        // (A tool another runtime compiled never gets here: its
        // instantiation fails.)
        if let Some(took) = instantiated {
            let digest = &tool.component.sha256;
            if self.inner.spares.instantiated(digest, took) {
                self.inner.ask_for_spare(digest, limits.memory_bytes());
            }
        }
        let memory = &wasm_store.data().memory;
        let outcome = match ran {
            Ok(Ok(output)) => Ok(output),
            // A language runtime that turns a refused allocation into an
            // exception (JavaScript's does) still ran out of its memory.
            Ok(Err(message)) if memory.hit => Err(ToolFailure::new(
                FailureKind::MemoryLimit,
                format!(
                    "memory limit: the tool asked for more than {} MiB of linear memory, then failed: {message}",
                    memory.max_bytes >> 20
                ),
            )),
            Ok(Err(message)) => Err(ToolFailure::new(
                FailureKind::ToolError,
                format!("tool error: {message}"),
            )),
            Err(error) => {
                let memory_hit = memory.hit.then_some(memory.max_bytes);
                Err(classify(&error, memory_hit, &limits))
            }
        };
        *spent = Some(wasm_store);
        outcome
    }
}

impl Runtime {
    /// A request may not ask for more memory than the runtime reserves per
    /// slot: refused before anything runs, never silently lowered.
    fn check_memory(&self, request: &Request) -> Result<(), StoreError> {
        let (asked, most) = (
            request.limits.memory_bytes(),
            self.inner.config.max_memory_bytes,
        );
        if asked > most {
            return Err(StoreError::LimitExceeded(format!(
                "the request's memory limit of {} MiB is above this runtime's maximum of {} MiB",
                asked >> 20,
                most >> 20
            )));
        }
        Ok(())
    }
}

impl Inner {
    /// The `Store` a guest runs in: `host` for its store calls, WASI with no
    /// network, linear memory capped at `max_memory_bytes`. [`arm`] it
    /// before running guest code.
    fn sandbox(
        &self,
        host: Invocation,
        mut wasi: WasiCtxBuilder,
        max_memory_bytes: usize,
    ) -> Store<State> {
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let state = State::new(host, wasi.build(), max_memory_bytes);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        store
    }

    /// Asks the spare-making thread (started now if it is not running) for
    /// a spare of component `digest`, made under `max_memory_bytes`.
    fn ask_for_spare(&self, digest: &str, max_memory_bytes: usize) {
        let job = SpareJob {
            digest: digest.to_owned(),
            max_memory_bytes,
        };
        let sent = self
            .spare_maker
            .get_or_init(|| self.start_spare_maker())
            .as_ref()
            .is_some_and(|maker| maker.send(job).is_ok());
        if !sent {
            // No thread: the spare is not being made after all.
            self.spares.file(digest, None);
        }
    }

    /// The `vibe-spares` thread: makes spares one at a time, in the order
    /// asked, until the runtime is gone.
    fn start_spare_maker(&self) -> Option<mpsc::Sender<SpareJob>> {
        let (sender, jobs) = mpsc::channel::<SpareJob>();
        let me = self.me.clone();
        let started = std::thread::Builder::new()
            .name("vibe-spares".into())
            .spawn(move || {
                while let Ok(job) = jobs.recv() {
                    let Some(inner) = me.upgrade() else { break };
                    let digest = job.digest.clone();
                    if catch_unwind(AssertUnwindSafe(|| inner.make_spare(job))).is_err() {
                        tracing::error!(component = %digest, "making a spare instance panicked: no spare instances for it");
                        inner.spares.file(&digest, None);
                    }
                }
            });
        match started {
            Ok(_) => Some(sender),
            Err(error) => {
                tracing::warn!(%error, "could not start the thread that makes spare instances: none are made");
                None
            }
        }
    }

    /// Makes the spare `job` asks for and files it, or files that its
    /// start-up code rules spares out: a store call (which traps: no
    /// invocation exists yet), output, failure, the memory limit, or more
    /// than [`spare::MAX_MAKING_TIME`].
    fn make_spare(&self, job: SpareJob) {
        let Some(room) = self.spares.room(&job.digest) else {
            return;
        };
        let Some(pre) = lock(&self.tools)
            .get(&job.digest)
            .map(|tool| tool.pre.clone())
        else {
            self.spares.file(&job.digest, None);
            return;
        };
        let limits = Limits::default();
        let started = Instant::now();
        let deadline = started + spare::MAX_MAKING_TIME;
        let host = Invocation::unbound(self.store.clone(), limits, deadline);
        let (stdout, stderr) = (
            CappedOutput::new(limits.output_bytes()),
            CappedOutput::new(limits.output_bytes()),
        );
        let mut store = self.sandbox(host, outputs(&stdout, &stderr), job.max_memory_bytes);
        arm(&mut store, deadline, None);
        let instantiated = bounded(deadline, None, pre.instantiate_async(&mut store));
        let made_in = started.elapsed();
        let clean = !store.data().memory.hit && stdout.is_untouched() && stderr.is_untouched();
        match instantiated {
            Ok(instance) if clean => {
                let spare = Spare {
                    made_under: job.max_memory_bytes,
                    store,
                    instance,
                    stdout,
                    stderr,
                    made_in,
                };
                self.spares.file(&job.digest, Some((spare, room)));
            }
            made => {
                let why = match made {
                    Ok(_) => "its start-up code wrote output or hit the memory limit".to_owned(),
                    Err(error) => format!("{error:#}"),
                };
                tracing::debug!(component = %job.digest, why, "no spare instances for this component");
                self.spares.file(&job.digest, None);
            }
        }
    }
}

/// WASI whose stdout and stderr are `stdout` and `stderr`.
fn outputs(stdout: &CappedOutput, stderr: &CappedOutput) -> WasiCtxBuilder {
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(stdout.clone()).stderr(stderr.clone());
    wasi
}

/// Stops `store`'s guest at `deadline`, or as soon as `cancel` is set while
/// it runs wasm code (checked every epoch tick). A guest blocked inside a
/// host call is stopped by [`bounded`].
fn arm(store: &mut Store<State>, deadline: Instant, cancel: Option<&Arc<AtomicBool>>) {
    match cancel {
        None => {
            let left = deadline.saturating_duration_since(Instant::now());
            store.set_epoch_deadline(engine::ticks(left));
            store.epoch_deadline_trap();
        }
        // Checked every tick: the deadline as usual, and the caller's flag.
        Some(flag) => {
            let flag = flag.clone();
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(move |_| {
                if flag.load(Ordering::Relaxed) {
                    return Err(wasmtime::Error::new(Cancelled));
                }
                if Instant::now() >= deadline {
                    return Err(wasmtime::Error::new(wasmtime::Trap::Interrupt));
                }
                Ok(wasmtime::UpdateDeadline::Continue(1))
            });
        }
    }
}

/// Tears down an invocation's instance (its memory reset for the slot's
/// next use, its resources freed) on the sandbox's blocking threads, then
/// frees its slot: the caller has its report without waiting for it. The
/// slot stays taken until the teardown is done, so the pool is never asked
/// for more instances than it holds.
fn retire(spent: Option<Store<State>>, slot: SlotGuard) {
    DRIVER.spawn_blocking(move || {
        drop(spent);
        drop(slot);
    });
}

/// Compiles a component, or takes it from `cache` when an entry compiled
/// from these very bytes by a compatible engine is there; says whether it
/// compiled (`true`) or found it.
fn compile(
    engine: &Engine,
    cache: Option<&ComponentCache>,
    bytes: &[u8],
    digest: &[u8; 32],
) -> wasmtime::Result<(Component, bool)> {
    let Some(cache) = cache else {
        return Ok((Component::new(engine, bytes)?, true));
    };
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let key = format!("{}-{:016x}.cwasm", hex(digest), hasher.finish());
    if let Some(artifact) = cache.get(&key, digest) {
        // Read into memory rather than mapped: a mapped file truncated by
        // someone else would crash this process with SIGBUS.
        // SAFETY: the entry passed the cache's checks (a regular file this
        // user owns and only this user can write, in a directory likewise,
        // headed with this component's digest), so this code serialised
        // it with an engine of the same compatibility hash; wasmtime checks
        // its header again.
        match unsafe { Component::deserialize(engine, &artifact) } {
            Ok(component) => return Ok((component, false)),
            Err(e) => tracing::warn!(key, "ignoring unusable cached component: {e:#}"),
        }
    }
    let component = Component::new(engine, bytes)?;
    cache.put(&key, digest, &component.serialize()?);
    Ok((component, true))
}

/// Drives a guest call (instantiation and export) to its end, or stops it
/// at `deadline` or when `cancel` is set, whichever comes first.
///
/// Epoch interruption stops a guest running wasm code; this stops one
/// blocked inside a host call (a clock's pollable, `poll` on several, a
/// blocking stream read or write, an HTTP response that never comes): every
/// WASI call that can wait is async, so the guest's future is pending while
/// it waits and is dropped, with the whole instance, at the deadline. The
/// store's own calls are synchronous and bounded by the deadline themselves
/// (reads are interrupted; a lock wait gives up, at the deadline or on
/// cancel). Runs on the sandbox's own runtime ([`DRIVER`]), whatever
/// runtime the caller is in: from a blocking thread, or from a
/// multi-threaded runtime's task (in `block_in_place`); from a
/// current-thread runtime's own thread it panics, as blocking there must.
fn bounded<T>(
    deadline: Instant,
    cancel: Option<&Arc<AtomicBool>>,
    call: impl std::future::Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    let cancelled = async {
        match cancel {
            None => std::future::pending::<()>().await,
            Some(flag) => {
                while !flag.load(Ordering::Relaxed) {
                    tokio::time::sleep(engine::EPOCH_TICK).await;
                }
            }
        }
    };
    let raced = async {
        // Cancelled before it began: a guest that would finish within one
        // poll must not run anyway.
        if cancel.is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            return Err(wasmtime::Error::new(Cancelled));
        }
        tokio::select! {
            biased;
            done = call => done,
            () = cancelled => Err(wasmtime::Error::new(Cancelled)),
            () = tokio::time::sleep_until(deadline.into()) => {
                Err(wasmtime::Error::new(wasmtime::Trap::Interrupt))
            }
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::block_in_place(|| DRIVER.block_on(raced)),
        Err(_) => DRIVER.block_on(raced),
    }
}

/// The runtime guest calls are driven on: WASI's waits (timers, I/O) and
/// the deadline's timer. The sandbox's own, so that it does not depend on
/// how an embedder built theirs (a runtime without timers would panic at
/// the first deadline); its one worker thread drives timers while the
/// caller's thread runs the guest.
static DRIVER: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("vibe-sandbox")
        .enable_time()
        .enable_io()
        .build()
        .expect("start the sandbox's runtime")
});

/// The request's input must fit its own JSON limit; checked before anything
/// runs or is written.
fn check_input(request: &Request) -> Result<(), StoreError> {
    let max = request.limits.json_bytes();
    if request.input.len() > max {
        return Err(StoreError::LimitExceeded(format!(
            "input is {} bytes, {} over this invocation's limit of {max} bytes",
            request.input.len(),
            request.input.len() - max
        )));
    }
    Ok(())
}

/// The tool's output as the row will hold it: exactly its text, if that is
/// JSON within the invocation's limit; otherwise a failure saying what is
/// wrong, with as much of the text as the message can hold.
fn check_output(text: String, limits: &Limits) -> Result<Json, ToolFailure> {
    match Json::check("tool output", &text, limits.json_bytes()) {
        Ok(()) => Ok(Json::stored(text)),
        Err(StoreError::InvalidInput(why) | StoreError::LimitExceeded(why)) => Err(
            ToolFailure::with_excerpt(FailureKind::InvalidOutput, &why, &text),
        ),
        Err(other) => Err(ToolFailure::with_excerpt(
            FailureKind::InvalidOutput,
            &other.to_string(),
            &text,
        )),
    }
}

/// Guest output goes to the log (target `vibe::guest`), made safe for a
/// terminal and kept to one line: a tool must not reach the operator's
/// screen with escape codes, nor forge log lines of its own.
fn log_guest_output(tool: &str, stdout: &CappedOutput, stderr: &CappedOutput) {
    let (out, out_dropped) = stdout.contents();
    let (err, err_dropped) = stderr.contents();
    if out.is_empty() && err.is_empty() {
        return;
    }
    tracing::info!(
        target: "vibe::guest",
        tool = %visible_line(tool),
        stdout = %visible_line(&out),
        stderr = %visible_line(&err),
        stdout_dropped = out_dropped,
        stderr_dropped = err_dropped,
        "guest output"
    );
}

/// A tool's name as agents call it: 1 to 64 of `A-Z a-z 0-9 _ - .`.
pub(crate) fn check_tool_name(name: &str) -> Result<(), String> {
    let fits = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    match fits {
        true => Ok(()),
        false => Err(format!(
            "{:?} is not a tool name: use 1 to 64 of A-Z a-z 0-9 _ - .",
            visible_line(name)
        )),
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
