//! MCP over the Streamable HTTP transport, at `/mcp`.
//!
//! Loopback only unless the operator allows remote clients, and then only
//! with a bearer token: a request without the token is refused (401)
//! before it reaches the protocol. A browser page from another origin is
//! refused (403): loopback origins are allowed, others only when listed.
//!
//! In front of the SDK's service, [`admit`] bounds what the server may hold
//! for clients: each request body is capped as a stdin line is (413) and
//! passes the same check as a stdin line ([`super::inbound`]; 400 with the
//! JSON-RPC error); all of them count against one budget of bytes, from
//! their first byte until their answer has been sent (past it, 503); and a
//! new session takes one of a fixed number of slots (past it, 503), given
//! back when the session ends: deleted, or idle for the time the operator
//! set.
//!
//! The budget counts what a body will take, not only its text: the SDK
//! parses a message into trees of its own, which for small values costs
//! hundreds of bytes a value (4 MiB of `0,0,...` took 565 MB to answer,
//! measured). So a body weighs its bytes plus [`BYTES_PER_VALUE`] for each
//! JSON value in it, and at most the whole budget, so that any one message
//! under the cap is served when the server is otherwise idle.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{json, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::inbound::{self, shape, Refusal};
use super::McpServer;
use crate::sync::lock;

/// Default for [`HttpOptions::max_sessions`].
pub const DEFAULT_MAX_SESSIONS: usize = 64;
/// Default for [`HttpOptions::session_idle`]: five minutes.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(300);
/// Default for [`HttpOptions::max_inflight_bytes`].
pub const DEFAULT_MAX_INFLIGHT_BYTES: usize = 64 << 20;
/// What one JSON value in a body costs once the SDK has parsed it, on top
/// of its text (measured: about 280 bytes for a small number).
pub const BYTES_PER_VALUE: usize = 256;

/// Origins a page may have to be served: this machine's, on any port.
const LOOPBACK_ORIGINS: [&str; 6] = [
    "http://localhost:*",
    "http://127.0.0.1:*",
    "http://[::1]:*",
    "https://localhost:*",
    "https://127.0.0.1:*",
    "https://[::1]:*",
];

/// Why [`HttpOptions`] cannot be served as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpOptionsError {
    /// `listen` is off this machine and `allow_remote` is not set.
    #[error(
        "{listen} is not a loopback address; serving other machines needs allow_remote and a token"
    )]
    NotLoopback {
        /// The address asked for.
        listen: SocketAddr,
    },
    /// `allow_remote` is set without a `token`.
    #[error("serving other machines needs a token: remote clients must present a bearer token")]
    RemoteWithoutToken,
    /// An allowed origin is not `scheme://host[:port]` (or `:*`).
    #[error("{origin:?} is not an origin: give scheme://host, scheme://host:port or scheme://host:* (any port)")]
    NotAnOrigin {
        /// The origin as given.
        origin: String,
    },
}

/// Where and to whom the HTTP transport listens.
pub struct HttpOptions {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Serve clients that are not on this machine (needs `token`).
    pub allow_remote: bool,
    /// The bearer token every request must carry, if any.
    pub token: Option<String>,
    /// Sessions open at once; an `initialize` past it is refused (503).
    pub max_sessions: usize,
    /// A session that exchanges no message for this long ends, and its
    /// memory and slot are given back.
    pub session_idle: Duration,
    /// Origins allowed besides this machine's (`scheme://host:port`, or
    /// `:*` for any port); a request from any other is refused (403).
    pub allowed_origins: Vec<String>,
    /// Bytes request bodies may take at once, over all connections, each
    /// weighing its text plus 256 bytes a JSON value in it; a body
    /// past it is refused (503).
    pub max_inflight_bytes: usize,
}

impl HttpOptions {
    /// Loopback only, no token, and the default bounds.
    pub fn new(listen: SocketAddr) -> Self {
        HttpOptions {
            listen,
            allow_remote: false,
            token: None,
            max_sessions: DEFAULT_MAX_SESSIONS,
            session_idle: DEFAULT_SESSION_IDLE,
            allowed_origins: Vec::new(),
            max_inflight_bytes: DEFAULT_MAX_INFLIGHT_BYTES,
        }
    }

    /// Refuses an address off this machine unless remote clients are
    /// allowed, remote clients without a token, and an origin that is not
    /// `scheme://host[:port]`.
    ///
    /// # Errors
    ///
    /// The [`HttpOptionsError`] that names which.
    pub fn check(&self) -> Result<(), HttpOptionsError> {
        if !self.listen.ip().is_loopback() && !self.allow_remote {
            return Err(HttpOptionsError::NotLoopback {
                listen: self.listen,
            });
        }
        if self.allow_remote && self.token.is_none() {
            return Err(HttpOptionsError::RemoteWithoutToken);
        }
        for origin in &self.allowed_origins {
            let base = origin.strip_suffix(":*").unwrap_or(origin);
            let uri = base.parse::<axum::http::Uri>().ok();
            let whole = uri.as_ref().is_some_and(|u| {
                u.scheme().is_some()
                    && u.authority().is_some()
                    && matches!(u.path(), "" | "/")
                    && u.query().is_none()
            });
            if !whole {
                return Err(HttpOptionsError::NotAnOrigin {
                    origin: origin.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Serves until the process ends. `ready` is called with the bound address
/// (port 0 picks a free one).
pub async fn serve_http(
    server: &McpServer,
    options: HttpOptions,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    options.check().map_err(std::io::Error::other)?;
    let max_message_bytes = server.shared.options.max_message_bytes;
    let mut config = StreamableHttpServerConfig::default();
    config.max_request_body_bytes = max_message_bytes;
    if options.allow_remote {
        // Any Host header: the token, not the name, is what admits a client.
        config.allowed_hosts = Vec::new();
    }
    config.allowed_origins = LOOPBACK_ORIGINS
        .iter()
        .map(|o| o.to_string())
        .chain(options.allowed_origins.iter().cloned())
        .collect();
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(options.session_idle);
    let factory = server.clone();
    let service = StreamableHttpService::new(
        move || Ok(factory.session("http")),
        Arc::new(sessions),
        config,
    );
    let admission = Arc::new(Admission {
        max_message_bytes,
        max_inflight_bytes: options.max_inflight_bytes.max(max_message_bytes),
        inflight: Arc::new(Semaphore::new(
            options.max_inflight_bytes.max(max_message_bytes),
        )),
        slots: Arc::new(Slots {
            max: options.max_sessions.max(1),
            taken: AtomicUsize::new(0),
        }),
        session_idle: options.session_idle,
    });
    let token = Arc::new(options.token);
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(admission, admit))
        .layer(axum::middleware::from_fn_with_state(token, require_token));
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    ready(listener.local_addr()?);
    server.watch();
    axum::serve(listener, router).await
}

/// Refuses requests without the bearer token, when there is one.
async fn require_token(
    State(token): State<Arc<Option<String>>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(token) = token.as_deref() {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required\n",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Compares without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What [`admit`] bounds.
struct Admission {
    max_message_bytes: usize,
    max_inflight_bytes: usize,
    /// One permit per byte of request body held.
    inflight: Arc<Semaphore>,
    slots: Arc<Slots>,
    session_idle: Duration,
}

/// Sessions open, or about to be, out of at most `max`.
struct Slots {
    max: usize,
    taken: AtomicUsize,
}

impl Slots {
    fn take(self: &Arc<Self>) -> Option<SessionSlot> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| SessionSlot(self.clone()))
    }
}

/// One session's place among those open; given back when dropped, with the
/// session that holds it.
pub(crate) struct SessionSlot(Arc<Slots>);

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A slot on its way from [`admit`] to the new session's `initialize`
/// handler, in the request's extensions (which the SDK hands to the
/// handler); given back if no handler takes it.
#[derive(Clone)]
pub(crate) struct SlotTicket(Arc<Mutex<Option<SessionSlot>>>);

impl SlotTicket {
    pub(crate) fn take(&self) -> Option<SessionSlot> {
        lock(&self.0).take()
    }
}

/// How long a request body may take to arrive, from its headers to its
/// last byte.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Bounds and checks each POST before the SDK sees it; everything else
/// (GET, DELETE) passes.
async fn admit(State(admission): State<Arc<Admission>>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let cap = admission.max_message_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return too_large(cap);
    }
    // A body of unknown length may be as long as the cap.
    let reserved = declared.map_or(cap, |n| n as usize).max(1);
    let Ok(mut permit) = admission
        .inflight
        .clone()
        .try_acquire_many_owned(u32::try_from(reserved).unwrap_or(u32::MAX))
    else {
        return busy(
            Value::Null,
            format!(
                "server busy: request bodies held at once are at most {} bytes (--max-inflight-bytes); retry later",
                admission.max_inflight_bytes
            ),
        );
    };
    let (mut parts, body) = request.into_parts();
    // A body sent a byte at a time would hold its share of the budget for
    // as long as the client likes: it has BODY_TIMEOUT to arrive whole.
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, cap)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return too_large(cap),
        Err(_) => {
            return refused(
                StatusCode::REQUEST_TIMEOUT,
                &Refusal::unread(
                    Refusal::INVALID_REQUEST,
                    format!(
                        "Invalid Request: the body did not arrive within {} s",
                        BODY_TIMEOUT.as_secs()
                    ),
                ),
            )
        }
    };
    let initialized = parts.headers.contains_key("mcp-session-id");
    let checked = match inbound::check(&bytes, initialized) {
        Ok(checked) => checked,
        Err(refusal) => return refused(StatusCode::BAD_REQUEST, &refusal),
    };
    let full_weight = weight(&bytes);
    let counted = full_weight.min(admission.max_inflight_bytes);
    match counted.checked_sub(reserved) {
        Some(more) if more > 0 => {
            let Ok(extra) = admission
                .inflight
                .clone()
                .try_acquire_many_owned(u32::try_from(more).unwrap_or(u32::MAX))
            else {
                return busy(
                    checked.id,
                    format!(
                        "server busy: request bodies held at once weigh at most {} bytes (--max-inflight-bytes) and this one weighs {full_weight} (its bytes and {} a JSON value); retry later",
                        admission.max_inflight_bytes, BYTES_PER_VALUE
                    ),
                );
            };
            permit.merge(extra);
        }
        _ => {
            if let Some(unused) = reserved.checked_sub(counted.max(1)).filter(|&n| n > 0) {
                drop(permit.split(unused));
            }
        }
    }
    if checked.is_initialize() && !initialized {
        let Some(slot) = admission.slots.take() else {
            return busy(
                checked.id,
                format!(
                    "server busy: at most {} sessions are open at once (--max-sessions); end one (HTTP DELETE) or wait until one has been idle for {} s",
                    admission.slots.max,
                    admission.session_idle.as_secs()
                ),
            );
        };
        parts
            .extensions
            .insert(SlotTicket(Arc::new(Mutex::new(Some(slot)))));
    }
    if let Some(raw) = checked.arguments {
        parts.extensions.insert(raw);
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    response.map(|body| {
        Body::new(Held {
            body,
            _permit: permit,
        })
    })
}

/// What a body will take once parsed: its bytes, and [`BYTES_PER_VALUE`]
/// for each value in it.
fn weight(body: &[u8]) -> usize {
    body.len()
        .saturating_add(shape(body).values.saturating_mul(BYTES_PER_VALUE))
}

fn refused(status: StatusCode, refusal: &Refusal) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        refusal.to_json(),
    )
        .into_response()
}

fn too_large(cap: usize) -> Response {
    refused(
        StatusCode::PAYLOAD_TOO_LARGE,
        &Refusal::unread(
            Refusal::INVALID_REQUEST,
            format!("Invalid Request: a message is at most {cap} bytes; this one was longer and was dropped"),
        ),
    )
}

fn busy(id: Value, message: String) -> Response {
    let body = json!({ "jsonrpc": "2.0", "id": id, "error": { "code": Refusal::SERVER_BUSY, "message": message } });
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A response body holding its request's bytes in the budget until it has
/// been sent (or its client has gone).
struct Held {
    body: Body,
    _permit: OwnedSemaphorePermit,
}

impl HttpBody for Held {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
