//! [`Runtime`]: runs agent tools (WebAssembly components) against a store.
//!
//! One `Engine` for the process; each component compiled once per content
//! (and cached on disk, keyed by content and engine); a fresh `Store` and
//! instance for every invocation, carved from a pooling allocator with
//! copy-on-write memory images, so starting a tool costs microseconds.
//!
//! The guest sees WASI with nothing in it (no directories, no environment, no
//! arguments, no network) plus the store interfaces of `wit/`, filtered by
//! its grants. Every invocation is recorded as one row in `tool_calls` of its
//! mission, whatever way it ends.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};
use wasmtime_wasi::WasiCtxBuilder;

use crate::store::{MissionStore, NewToolCall, StoreError, MAX_TEXT_BYTES};

use super::host::{AgentTool, AgentToolPre, DeadlineExceeded, Invocation, MemoryCap, State};
use super::output::CappedOutput;
use super::policy::{Grants, Limits};

/// How often the engine's epoch advances: the resolution of timeouts.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// How a [`Runtime`] is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Invocations running at once; more wait for a free slot. The pooling
    /// allocator reserves this many instance slots up front.
    pub max_concurrent: u32,
    /// Where compiled components are cached between processes; `None` keeps
    /// them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// The largest linear memory any invocation may be given, in bytes.
    pub max_memory_bytes: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_concurrent: 64,
            cache_dir: None,
            max_memory_bytes: 1 << 30,
        }
    }
}

/// Why a tool could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("cannot load tool {source_name}: {reason}")]
pub struct LoadError {
    pub source_name: String,
    pub reason: String,
}

/// A compiled tool, ready to be instantiated any number of times.
pub struct Tool {
    name: String,
    digest: String,
    pre: AgentToolPre<State>,
}

impl Tool {
    /// The tool's default name in the audit trail (the file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256 of the component's bytes, hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// This tool under `name`: itself if the name matches, else a new handle
    /// sharing the compiled code.
    fn named(self: &Arc<Self>, name: &str) -> Arc<Tool> {
        if self.name == name {
            return self.clone();
        }
        Arc::new(Tool {
            name: name.to_owned(),
            digest: self.digest.clone(),
            pre: self.pre.clone(),
        })
    }
}

/// What to run a tool with.
#[derive(Debug, Clone)]
pub struct Request {
    pub mission: String,
    pub input: Value,
    /// Name recorded in the audit trail; the tool's own name if `None`.
    pub name: Option<String>,
    pub grants: Grants,
    pub limits: Limits,
}

impl Request {
    /// Default grants and limits, the tool's own name.
    pub fn new(mission: impl Into<String>, input: Value) -> Self {
        Request {
            mission: mission.into(),
            input,
            name: None,
            grants: Grants::none(),
            limits: Limits::default(),
        }
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn grants(mut self, grants: Grants) -> Self {
        self.grants = grants;
        self
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// How an invocation that ran ended badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The tool returned `Err`.
    ToolError,
    /// The tool ran past its time limit.
    Timeout,
    /// The tool asked for more memory than its limit.
    MemoryLimit,
    /// The tool exhausted its stack.
    StackOverflow,
    /// The tool trapped (panicked, hit `unreachable`, ...).
    Trap,
    /// The tool returned text that is not JSON, or too much of it.
    InvalidOutput,
}

/// An invocation's failure, as recorded in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolFailure {
    pub kind: FailureKind,
    pub message: String,
}

/// What an invocation did.
#[derive(Debug)]
pub struct RunReport {
    /// The tool's JSON output, or how it failed.
    pub outcome: Result<Value, ToolFailure>,
    /// The id of the invocation's own row in `tool_calls`.
    pub call_id: i64,
    pub duration: Duration,
    /// What the guest wrote to stdout and stderr, up to
    /// [`Limits::max_output_bytes`] each; the rest is dropped.
    pub stdout: String,
    pub stderr: String,
}

/// Runs agent tools. Cheap to clone, safe to share between threads.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<State>,
    store: Arc<dyn MissionStore>,
    config: RuntimeConfig,
    /// Compiled tools by content digest.
    tools: Mutex<HashMap<String, Arc<Tool>>>,
    slots: Slots,
}

impl Runtime {
    /// A runtime whose tools reach `store`.
    pub fn new(store: impl MissionStore, config: RuntimeConfig) -> Result<Self, LoadError> {
        Self::with_store(Arc::new(store), config)
    }

    pub fn with_store(
        store: Arc<dyn MissionStore>,
        config: RuntimeConfig,
    ) -> Result<Self, LoadError> {
        let setup = |reason: wasmtime::Error| LoadError {
            source_name: "(runtime setup)".into(),
            reason: format!("{reason:#}"),
        };
        let engine = Engine::new(&engine_config(&config)).map_err(setup)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(setup)?;
        AgentTool::add_to_linker::<State, HasSelf<Invocation>>(&mut linker, |state| {
            &mut state.host
        })
        .map_err(setup)?;
        spawn_epoch_ticker(&engine);
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                linker,
                store,
                slots: Slots::new(config.max_concurrent as usize),
                config,
                tools: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Loads a component file; compiled once per content.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Arc<Tool>, LoadError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| LoadError {
            source_name: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().replace('_', "-"))
            .unwrap_or_else(|| "tool".into());
        self.load_bytes(&name, &bytes)
    }

    /// Loads a component from memory; compiled once per content.
    pub fn load_bytes(&self, name: &str, bytes: &[u8]) -> Result<Arc<Tool>, LoadError> {
        let digest = hex(&Sha256::digest(bytes));
        if let Some(tool) = lock(&self.inner.tools).get(&digest) {
            return Ok(tool.named(name));
        }
        let failed = |reason: String| LoadError {
            source_name: name.to_owned(),
            reason,
        };
        let component = self
            .compile(bytes, &digest)
            .map_err(|e| failed(format!("{e:#}")))?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .and_then(AgentToolPre::new)
            .map_err(|e| {
                failed(format!(
                    "it does not fit the vibe:store agent-tool world: {e:#}"
                ))
            })?;
        let tool = Arc::new(Tool {
            name: name.to_owned(),
            digest: digest.clone(),
            pre,
        });
        lock(&self.inner.tools).insert(digest, tool.clone());
        Ok(tool)
    }

    fn compile(&self, bytes: &[u8], digest: &str) -> wasmtime::Result<Component> {
        let engine = &self.inner.engine;
        let Some(dir) = &self.inner.config.cache_dir else {
            return Component::new(engine, bytes);
        };
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let file = dir.join(format!("{digest}-{:016x}.cwasm", hasher.finish()));
        if let Ok(cached) = std::fs::read(&file) {
            // Read into memory rather than mapped: a mapped file truncated by
            // someone else would crash this process with SIGBUS.
            // SAFETY: the cache holds only artifacts this code serialised with
            // an engine of the same compatibility hash, and wasmtime checks
            // the header again. Whoever can write the cache directory can run
            // native code in the host, as with wasmtime's own cache.
            match unsafe { Component::deserialize(engine, &cached) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(file = %file.display(), "ignoring unusable cached component: {e:#}")
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Err(e) = write_atomically(dir, &file, &component.serialize()?) {
            tracing::warn!(dir = %dir.display(), "cannot cache compiled component: {e}");
        }
        Ok(component)
    }

    /// Runs `tool` for `request.mission` and records the invocation in the
    /// mission's `tool_calls`. Returns `Err` only if nothing ran (unknown
    /// mission, invalid name or input) or the record could not be written;
    /// a tool that fails in any way is an `Ok` report with a failed outcome.
    pub fn run(&self, tool: &Tool, request: &Request) -> Result<RunReport, StoreError> {
        let store = &self.inner.store;
        let name = request.name.clone().unwrap_or_else(|| tool.name.clone());
        // Everything that could stop the audit row from being written is
        // checked before the tool runs.
        let mut audit = NewToolCall::success(name, request.input.clone());
        audit.validate()?;
        store.get_mission(&request.mission)?;
        let input = request.input.to_string();
        request.limits.check_json_size("input", &input)?;

        let _slot = self.inner.slots.acquire();
        let started = Instant::now();
        let (ran, stdout, stderr) = self.instantiate_and_run(tool, request, &input);
        let duration = started.elapsed();
        let (stdout, stdout_dropped) = stdout.contents();
        let (stderr, stderr_dropped) = stderr.contents();
        if !stdout.is_empty() || !stderr.is_empty() {
            tracing::info!(
                target: "vibe::guest",
                tool = %audit.tool_name,
                %stdout,
                %stderr,
                stdout_dropped,
                stderr_dropped,
                "guest output"
            );
        }

        let outcome = ran.and_then(|text| {
            request
                .limits
                .parse_json("tool output", &text)
                .map_err(|e| ToolFailure {
                    kind: FailureKind::InvalidOutput,
                    message: e.to_string(),
                })
        });
        audit.duration_ms = Some(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
        match &outcome {
            Ok(output) => audit.result = Some(output.clone()),
            Err(failure) => {
                audit.success = false;
                audit.error_message = Some(clean_message(&failure.message));
            }
        }
        let call_id = store.log_tool_call(&request.mission, &audit)?;
        Ok(RunReport {
            outcome,
            call_id,
            duration,
            stdout,
            stderr,
        })
    }

    /// The linear-memory cap for an invocation: its own limit, within the
    /// runtime's.
    fn memory_cap(&self, limits: &Limits) -> usize {
        limits.memory_bytes.min(self.inner.config.max_memory_bytes)
    }

    fn instantiate_and_run(
        &self,
        tool: &Tool,
        request: &Request,
        input: &String,
    ) -> (Result<String, ToolFailure>, CappedOutput, CappedOutput) {
        let limits = request.limits;
        let stdout = CappedOutput::new(limits.max_output_bytes);
        let stderr = CappedOutput::new(limits.max_output_bytes);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let state = State {
            host: Invocation::new(
                self.inner.store.clone(),
                request.mission.clone(),
                request.grants,
                limits,
            ),
            wasi,
            table: Default::default(),
            memory: MemoryCap {
                max_bytes: self.memory_cap(&limits),
                hit: false,
            },
        };
        let mut wasm_store = Store::new(&self.inner.engine, state);
        wasm_store.limiter(|state| &mut state.memory);
        let ticks = limits
            .timeout
            .as_nanos()
            .div_ceil(EPOCH_TICK.as_nanos())
            .max(1);
        wasm_store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        wasm_store.epoch_deadline_trap();

        let ran = tool.pre.instantiate(&mut wasm_store).and_then(|instance| {
            instance
                .vibe_store_tool()
                .call_run(&mut wasm_store, &request.mission, input)
        });
        let outcome = match ran {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(message)) => Err(ToolFailure {
                kind: FailureKind::ToolError,
                message: format!("tool error: {message}"),
            }),
            Err(error) => {
                let memory = &wasm_store.data().memory;
                let memory_hit = memory.hit.then_some(memory.max_bytes);
                Err(classify_trap(&error, memory_hit, limits))
            }
        };
        (outcome, stdout, stderr)
    }
}

/// Names how a trapped invocation failed; `memory_hit` is the memory cap in
/// force if the guest ran into it.
fn classify_trap(
    error: &wasmtime::Error,
    memory_hit: Option<usize>,
    limits: Limits,
) -> ToolFailure {
    let trap = error.downcast_ref::<Trap>().copied();
    let out_of_time = error.downcast_ref::<DeadlineExceeded>().is_some();
    let (kind, message) = match trap {
        _ if out_of_time => (
            FailureKind::Timeout,
            format!(
                "timed out: the tool's store calls ran past its limit of {} ms",
                limits.timeout.as_millis()
            ),
        ),
        Some(Trap::Interrupt) => (
            FailureKind::Timeout,
            format!(
                "timed out: the tool ran past its limit of {} ms",
                limits.timeout.as_millis()
            ),
        ),
        Some(Trap::StackOverflow) => (
            FailureKind::StackOverflow,
            "stack overflow: the tool exhausted its call stack".to_owned(),
        ),
        _ if memory_hit.is_some() => (
            FailureKind::MemoryLimit,
            format!(
                "memory limit: the tool asked for more than {} MiB of linear memory",
                memory_hit.unwrap_or_default() / (1024 * 1024)
            ),
        ),
        Some(trap) => (FailureKind::Trap, format!("trapped: {trap}")),
        None => (FailureKind::Trap, format!("trapped: {error:#}")),
    };
    ToolFailure { kind, message }
}

/// A failure message fit for the audit trail: bounded, no NUL.
fn clean_message(message: &str) -> String {
    let mut clean = message.replace('\0', "\u{FFFD}");
    if clean.len() > MAX_TEXT_BYTES {
        let mut cut = MAX_TEXT_BYTES - 3;
        while !clean.is_char_boundary(cut) {
            cut -= 1;
        }
        clean.truncate(cut);
        clean.push_str("...");
    }
    clean
}

fn engine_config(config: &RuntimeConfig) -> Config {
    let slots = config.max_concurrent.max(1);
    let mut pool = PoolingAllocationConfig::default();
    // A Rust component for wasm32-wasip2 has one main module and a few
    // small shims: a handful of core instances, one or two memories and tables.
    pool.total_component_instances(slots)
        .total_core_instances(slots * 8)
        .max_core_instances_per_component(16)
        .total_memories(slots * 2)
        .max_memories_per_component(2)
        .total_tables(slots * 4)
        .max_tables_per_component(4)
        .total_stacks(slots)
        .max_memory_size(config.max_memory_bytes)
        .max_component_instance_size(1 << 20)
        .max_core_instance_size(1 << 20);
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        .epoch_interruption(true)
        .memory_init_cow(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    wasm
}

/// Advances the engine's epoch every tick until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("vibe-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .expect("spawn the epoch thread");
}

fn write_atomically(dir: &Path, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let temp = file.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A counting semaphore: at most `max_concurrent` invocations hold a pool
/// slot; the rest wait instead of failing.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

struct SlotGuard<'a>(&'a Slots);

impl Slots {
    fn new(count: usize) -> Self {
        Slots {
            free: Mutex::new(count.max(1)),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) -> SlotGuard<'_> {
        let mut free = lock(&self.free);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        SlotGuard(self)
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *lock(&self.0.free) += 1;
        self.0.freed.notify_one();
    }
}
