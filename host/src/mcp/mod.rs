//! `vibe mcp`: sandboxed tools served over the Model Context Protocol, every
//! call a row in the mission's trail.
//!
//! The protocol, its lifecycle and both transports are the official Rust
//! SDK's (`rmcp`); this module adds what makes the server one an operator
//! can trust:
//!
//! - every component given is one tool ([`Catalog`]): named and described
//!   by the component itself (the contract's optional `describe` export), or
//!   by its file's name with an input schema of `{"type": "object"}`;
//! - each session works on one mission, created on its first call (or the
//!   one the operator named); every call's result names it in `_meta`
//!   (`vibe-store/mission`, with the row's `vibe-store/call-id`);
//! - a call outside an initialized session, and a second `initialize`, are
//!   refused; the client a session records is the one it initialized as;
//! - each `tools/call` is one sandboxed invocation ([`Runtime::run`]) with the
//!   grants and limits the operator's [`Policy`] gives that tool, recorded
//!   as one row with the client and request in its `caller` column; a tool
//!   that fails is a result with `isError`, not a protocol error;
//! - `notifications/cancelled` stops the invocation (outcome `cancelled`);
//! - no method changes a grant or a limit: the policy is read once, at
//!   start-up;
//! - served directories are watched, and clients told when tools change;
//! - input is bounded: messages over a size cap and calls past a queue
//!   bound get JSON-RPC errors, and the server keeps serving;
//! - every message passes one check before the SDK reads it, on both
//!   transports (`inbound.rs`): each request gets exactly one answer, with the
//!   code JSON-RPC gives;
//! - a session holds little (its `initialize` params are bounded) and holds
//!   it only while it lives: nothing outside the session keeps it.

mod catalog;
mod http;
mod inbound;
mod policy;
mod schema;
mod stdio;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock, RwLock, Weak};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorCode,
    Implementation, InitializeRequestParams, InitializeResult, ListToolsResult, MetaObject,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::sandbox::{Request, Runtime};
use crate::store::{Json, MissionId, MissionStore, Phase};
use crate::sync::lock;
use crate::terminal::one_line;

pub use catalog::{Catalog, Served};
pub use http::{
    serve_http, HttpOptions, HttpOptionsError, DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_MAX_SESSIONS,
    DEFAULT_SESSION_IDLE,
};
pub use inbound::{MAX_DEPTH, MAX_ID_BYTES, MAX_INITIALIZE_PARAMS_BYTES};
pub use policy::{Policy, PolicyError, ToolPolicy};
pub use stdio::serve_stdio;

/// Default cap on one incoming message, in bytes.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 << 20;

/// How the server is set up: what it serves, under which policy, for which
/// missions.
pub struct ServerOptions {
    /// Component files and directories (each `*.wasm` in it).
    pub sources: Vec<PathBuf>,
    /// Grants and limits per tool.
    pub policy: Policy,
    /// Every session works on this mission; `None`: a new one per session.
    pub mission: Option<MissionId>,
    /// The phase of the missions sessions create.
    pub phase: Phase,
    /// Largest incoming message, in bytes.
    pub max_message_bytes: usize,
    /// Calls running or waiting at once; past it, calls are refused.
    pub max_pending_calls: usize,
    /// Where the store lives (a path or URL): logged for the operator at
    /// start-up, never sent to clients.
    pub store_location: String,
}

/// The server: shared by every session.
#[derive(Clone)]
pub struct McpServer {
    shared: Arc<Shared>,
}

struct Shared {
    runtime: Runtime,
    store: Arc<dyn MissionStore>,
    options: ServerOptions,
    catalog: RwLock<Arc<Catalog>>,
    /// Sessions to tell when the tools change; held weakly, so that a
    /// session that ended is gone, not kept for a notification.
    sessions: std::sync::Mutex<Vec<Weak<SessionState>>>,
    /// One permit per call running or waiting; all of them back when every
    /// call has ended (and so has its row).
    calls: Arc<Semaphore>,
    /// Set by [`McpServer::stop`]: calls in flight are cancelled, new ones
    /// refused.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl McpServer {
    /// Loads every component (names colliding, or a component that cannot
    /// be loaded, are errors naming the files) and checks the mission.
    pub fn new(
        runtime: Runtime,
        store: Arc<dyn MissionStore>,
        options: ServerOptions,
    ) -> Result<Self, crate::Error> {
        if let Some(mission) = &options.mission {
            store.get_mission(mission)?;
        }
        let catalog = Catalog::load(&runtime, &options.sources, &options.policy)?;
        tracing::info!(
            "serving {} tools from the store at {}",
            catalog.tools().count(),
            crate::terminal::quote(&options.store_location, 300)
        );
        Ok(McpServer {
            shared: Arc::new(Shared {
                calls: Arc::new(Semaphore::new(options.max_pending_calls.max(1))),
                runtime,
                store,
                options,
                catalog: RwLock::new(Arc::new(catalog)),
                sessions: std::sync::Mutex::new(Vec::new()),
                stopping: tokio::sync::watch::Sender::new(false),
            }),
        })
    }

    /// The tools served now.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.shared.catalog.read().expect("catalog lock").clone()
    }

    /// A handler for one session over `transport` (`stdio` or `http`).
    pub(crate) fn session(&self, transport: &'static str) -> Session {
        Session {
            shared: self.shared.clone(),
            transport,
            state: Arc::default(),
        }
    }

    /// Reloads the served components if any file changed; tells every
    /// session when the set of tools did. Calls in flight finish on the
    /// version they started with.
    pub async fn reload_if_changed(&self, seen: &mut catalog::Fingerprint) {
        let now = catalog::Fingerprint::of(&self.shared.options.sources);
        if now == *seen {
            return;
        }
        *seen = now;
        let (runtime, sources, policy) = (
            self.shared.runtime.clone(),
            self.shared.options.sources.clone(),
            self.shared.options.policy.clone(),
        );
        let current = self.catalog();
        let loaded = tokio::task::spawn_blocking(move || {
            Catalog::load_lenient(&runtime, &sources, &policy, &current)
        })
        .await;
        let Ok(fresh) = loaded else { return };
        let changed = {
            let mut current = self.shared.catalog.write().expect("catalog lock");
            let changed = !current.same_tools(&fresh);
            *current = Arc::new(fresh);
            changed
        };
        if changed {
            tracing::info!("served tools changed; notifying clients");
            let peers: Vec<Peer<RoleServer>> = lock(&self.shared.sessions)
                .iter()
                .filter_map(|session| session.upgrade()?.peer.get().cloned())
                .collect();
            for peer in peers {
                let _ = peer.notify_tool_list_changed().await;
            }
        }
    }

    /// Watches the served files every half second until the process ends.
    pub fn watch(&self) {
        let server = self.clone();
        tokio::spawn(async move {
            let mut seen = catalog::Fingerprint::of(&server.shared.options.sources);
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                server.reload_if_changed(&mut seen).await;
            }
        });
    }

    /// A polite stop (SIGTERM, SIGINT): cancels every call in flight, so
    /// each one's row ends `cancelled`, and refuses new ones. Follow with
    /// [`drain`](Self::drain) to wait for those rows.
    pub fn stop(&self) {
        self.shared.stopping.send_replace(true);
    }

    /// Waits until every call has ended and its row is complete.
    pub async fn drain(&self) {
        let all = self.shared.options.max_pending_calls.max(1) as u32;
        let _ = self.shared.calls.acquire_many(all).await;
    }
}

/// JSON-RPC's code for a server error ("server busy", "server stopping").
const SERVER_ERROR: ErrorCode = ErrorCode(inbound::Refusal::SERVER_BUSY as i32);

/// The refusal of a call once the server stops.
const STOPPING: &str = "server stopping: no new calls are taken";

/// A call's place among the pending calls (`--max-pending-calls`), taken
/// before the SDK reads the call and handed to it in the request's
/// extensions; given back when the call ends, or when the request is
/// dropped unhandled.
#[derive(Clone)]
pub(crate) struct PendingPlace(Arc<std::sync::Mutex<Option<tokio::sync::OwnedSemaphorePermit>>>);

impl PendingPlace {
    pub(crate) fn new(permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        PendingPlace(Arc::new(std::sync::Mutex::new(Some(permit))))
    }

    fn take(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        lock(&self.0).take()
    }
}

impl Shared {
    /// A place for one more call, or the refusal: "server stopping" once
    /// the server stops, "server busy" when `--max-pending-calls` are
    /// running or waiting.
    pub(crate) fn reserve_call(&self) -> Result<tokio::sync::OwnedSemaphorePermit, String> {
        if *self.stopping.borrow() {
            return Err(STOPPING.into());
        }
        self.calls.clone().try_acquire_owned().map_err(|_| {
            format!(
                "server busy: {} calls are running or waiting; retry later",
                self.options.max_pending_calls
            )
        })
    }
}

/// Returns once the server is stopping.
async fn stopped(mut stopping: tokio::sync::watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// One client's session.
#[derive(Clone)]
pub(crate) struct Session {
    shared: Arc<Shared>,
    transport: &'static str,
    state: Arc<SessionState>,
}

/// What one session holds, for as long as it lives: dropped with its last
/// handler when the SDK ends the session (stdin closed; over HTTP, deleted
/// or idle), which gives back its HTTP slot.
#[derive(Default)]
struct SessionState {
    /// The client as it named itself in its one `initialize`.
    client: OnceLock<Implementation>,
    /// Created once, on the first call: held under its lock while it is
    /// created, so two first calls cannot make two missions.
    mission: std::sync::Mutex<Option<MissionId>>,
    /// Where to tell the client that the tools changed.
    peer: OnceLock<Peer<RoleServer>>,
    /// Its place among the HTTP sessions open at once.
    slot: std::sync::Mutex<Option<http::SessionSlot>>,
}

/// What the `initialize` result says: how calls are recorded, and where to
/// find which mission (never where the store is).
const INSTRUCTIONS: &str = "Every tool call in this session runs sandboxed and is recorded in \
    a vibe-store mission: each call result's _meta names it (\"vibe-store/mission\") and the \
    call's row (\"vibe-store/call-id\"); cite them to refer to this session's audit trail.";

impl Session {
    /// The session's mission: the operator's, or one created for it.
    fn mission(&self, client: Option<&Implementation>) -> Result<MissionId, McpError> {
        let mut held = lock(&self.state.mission);
        if let Some(mission) = held.as_ref() {
            return Ok(mission.clone());
        }
        let options = &self.shared.options;
        let mission = match &options.mission {
            Some(mission) => mission.clone(),
            None => {
                let metadata = json!({
                    "mcp": {
                        "transport": self.transport,
                        "client": client.map(|c| c.name.as_str()),
                        "client_version": client.map(|c| c.version.as_str()),
                    }
                });
                self.shared
                    .store
                    .create_mission(options.phase, Json::from(metadata))
                    .map_err(|e| McpError::internal_error(e.to_string(), None))?
            }
        };
        *held = Some(mission.clone());
        Ok(mission)
    }
}

impl ServerHandler for Session {
    fn get_info(&self) -> ServerConfig {
        let mut info = InitializeResult::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        );
        info.server_info = Implementation::new("vibe-store", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(INSTRUCTIONS.into());
        info
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        let result = self.negotiate_initialize(&request)?;
        if self.state.client.set(request.client_info.clone()).is_err() {
            return Err(McpError::invalid_request(
                "Invalid Request: this session is initialized already; a session is initialized once",
                None,
            ));
        }
        context.peer.set_peer_info(request);
        let ticket = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<http::SlotTicket>());
        if let Some(slot) = ticket.and_then(http::SlotTicket::take) {
            *lock(&self.state.slot) = Some(slot);
        }
        Ok(result)
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if self.state.client.get().is_some() && self.state.peer.set(context.peer).is_ok() {
            let mut sessions = lock(&self.shared.sessions);
            sessions.retain(|session| session.strong_count() > 0);
            sessions.push(Arc::downgrade(&self.state));
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let catalog = self.shared.catalog.read().expect("catalog lock").clone();
        Ok(ListToolsResult::with_all_items(
            catalog.tools().map(|served| served.mcp.clone()).collect(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        let catalog = self.shared.catalog.read().expect("catalog lock").clone();
        catalog.get(name).map(|served| served.mcp.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(client) = self.state.client.get() else {
            return Err(McpError::invalid_request(
                "Invalid Request: call initialize first (tools/call is answered only in an initialized session)",
                None,
            ));
        };
        let catalog = self.shared.catalog.read().expect("catalog lock").clone();
        let Some(served) = catalog.get(&request.name) else {
            return Err(McpError::invalid_params(
                format!(
                    "unknown tool: {:?}",
                    crate::terminal::quote(&request.name, 200)
                ),
                None,
            ));
        };
        // What the tool is given and the store keeps: the arguments as the
        // client wrote them (the transport kept their text), else (no
        // arguments, or a server driven without a transport of this
        // module's) the SDK's reading of them.
        let written = context
            .extensions
            .get::<inbound::RawArguments>()
            .or_else(|| {
                context
                    .extensions
                    .get::<axum::http::request::Parts>()
                    .and_then(|parts| parts.extensions.get::<inbound::RawArguments>())
            })
            .map(|raw| raw.0.clone());
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        if *self.shared.stopping.borrow() {
            return Err(McpError::new(SERVER_ERROR, STOPPING, None));
        }
        // Over stdio the gate took the call's place when it read it, in the
        // order the client sent its calls; otherwise it is taken here.
        let reserved = context
            .extensions
            .get::<PendingPlace>()
            .and_then(PendingPlace::take);
        let permit = match reserved {
            Some(permit) => permit,
            None => self
                .shared
                .reserve_call()
                .map_err(|busy| McpError::new(SERVER_ERROR, busy, None))?,
        };
        let client = client.clone();
        let request_id = serde_json::to_value(&context.id).unwrap_or(Value::Null);
        let cancelled = Arc::new(AtomicBool::new(false));
        let (session, flag) = (self.clone(), cancelled.clone());
        // Off the async workers and within the bound on pending calls:
        // checking arguments against a schema is CPU work (linear in their
        // size), and a costly check must not stall other sessions.
        let mut job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            served.check_arguments(&arguments)?;
            let arguments = match written {
                Some(text) => Json::parse("arguments", &*text)
                    .map_err(|e| McpError::invalid_params(e.to_string(), None))?,
                None => Json::from(arguments),
            };
            let mission = session.mission(Some(&client))?;
            let caller = json!({
                "transport": session.transport,
                "client": client.name,
                "client_version": client.version,
                "request_id": request_id,
            });
            let run = Request::new(mission.clone(), arguments)
                .name(served.name.clone())
                .grants(served.policy.grants)
                .limits(served.policy.limits)
                .caller(Json::from(caller))
                .cancel_flag(flag);
            let report = session
                .shared
                .runtime
                .run(&served.tool, &run)
                .map_err(|e| {
                    let invalid = matches!(
                        e,
                        crate::store::StoreError::InvalidInput(_)
                            | crate::store::StoreError::LimitExceeded(_)
                    );
                    match invalid {
                        // Input the store refuses (over its JSON limit): the
                        // caller's params, and nothing ran.
                        true => McpError::invalid_params(e.to_string(), None),
                        false => McpError::internal_error(e.to_string(), None),
                    }
                })?;
            Ok::<_, McpError>((mission, report))
        });
        let stopping = self.shared.stopping.subscribe();
        let joined = tokio::select! {
            joined = &mut job => joined,
            () = context.ct.cancelled() => {
                cancelled.store(true, std::sync::atomic::Ordering::Relaxed);
                job.await
            }
            () = stopped(stopping) => {
                cancelled.store(true, std::sync::atomic::Ordering::Relaxed);
                job.await
            }
        };
        let (mission, report) = joined.map_err(|e| {
            McpError::internal_error(format!("the call failed in the host: {e}"), None)
        })??;
        let meta = json!({
            "vibe-store/mission": mission,
            "vibe-store/call-id": report.call_id,
        });
        let mut result = match report.outcome {
            Ok(output) => {
                let structured = match output.to_value() {
                    Ok(value @ Value::Object(_)) => Some(value),
                    _ => None,
                };
                let mut result =
                    CallToolResult::success(vec![ContentBlock::text(output.into_string())]);
                result.structured_content = structured;
                result
            }
            Err(failure) => CallToolResult::error(vec![ContentBlock::text(one_line(&format!(
                "{}: {}",
                failure.kind, failure.message
            )))]),
        };
        if let Value::Object(meta) = meta {
            result.meta = Some(MetaObject(meta));
        }
        Ok(result.into())
    }
}
