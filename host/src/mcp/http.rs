//! MCP over the Streamable HTTP transport, at `/mcp`.
//!
//! Loopback only unless the operator allows remote clients, and then only
//! with a bearer token: a request without the token is refused (401)
//! before it reaches the protocol.
//!
//! In front of the SDK's service, [`admit`] caps each request body as a
//! stdin line is (413), and runs the check a stdin line passes
//! ([`super::inbound`]; 400, with the JSON-RPC error as the body).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::inbound::{self, Refusal};
use super::McpServer;

/// Where and to whom the HTTP transport listens.
pub struct HttpOptions {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Serve clients that are not on this machine (needs `token`).
    pub allow_remote: bool,
    /// The bearer token every request must carry, if any.
    pub token: Option<String>,
}

impl HttpOptions {
    /// Refuses an address off this machine unless remote clients are
    /// allowed, and remote clients without a token.
    pub fn check(&self) -> Result<(), String> {
        if !self.listen.ip().is_loopback() && !self.allow_remote {
            return Err(format!(
                "{} is not a loopback address; to serve other machines give --allow-remote with --token-file",
                self.listen
            ));
        }
        if self.allow_remote && self.token.is_none() {
            return Err(
                "--allow-remote needs --token-file: remote clients must present a bearer token"
                    .into(),
            );
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
    let sessions = server.clone();
    let service = StreamableHttpService::new(
        move || Ok(sessions.session("http")),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let token = Arc::new(options.token);
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(Admission { max_message_bytes }),
            admit,
        ))
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
}

/// Caps and checks each POST before the SDK sees it; everything else
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
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, cap).await else {
        return too_large(cap);
    };
    let initialized = parts.headers.contains_key("mcp-session-id");
    if let Err(refusal) = inbound::check(&bytes, initialized) {
        return refused(StatusCode::BAD_REQUEST, &refusal);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
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
