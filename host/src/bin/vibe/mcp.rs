//! `vibe mcp`: serve tools to agents over the Model Context Protocol.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use vibe_store::mcp::{
    serve_http, serve_stdio, HttpOptions, HttpOptionsError, McpServer, Policy, ServerOptions,
    DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE,
};
use vibe_store::sandbox::RuntimeConfig;
use vibe_store::store::{AnyStore, MissionId, Phase};

use crate::signals::Stop;
use crate::{sandbox_runtime, CliResult, Failure};

#[derive(Args)]
pub(crate) struct McpArgs {
    /// Component files, or directories (each *.wasm in them, watched for
    /// changes).
    #[arg(required = true, value_name = "COMPONENT.wasm | DIR")]
    components: Vec<PathBuf>,
    /// Grants and limits per tool (TOML); default: the deny-by-default
    /// sandbox of `vibe run`. Fixed at start-up: no MCP method changes it.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Every session works on this mission (default: a new one per session).
    #[arg(long, value_name = "UUID", conflicts_with = "phase")]
    mission: Option<String>,
    /// The phase of the missions sessions create.
    #[arg(long, default_value = "PLANNING")]
    phase: String,
    /// Serve the Streamable HTTP transport at http://ADDR/mcp instead of
    /// stdio (loopback only unless --allow-remote).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Serve clients on other machines (needs --token-file).
    #[arg(long, requires = "listen")]
    allow_remote: bool,
    /// A file holding the bearer token HTTP clients must present. Without
    /// it, any program on this machine can call the tools over HTTP.
    #[arg(long, value_name = "FILE", requires = "listen")]
    token_file: Option<PathBuf>,
    /// HTTP sessions open at once; past it an initialize is refused with
    /// 503 (1 to 65536).
    #[arg(long, default_value_t = DEFAULT_MAX_SESSIONS as u64, requires = "listen",
          value_parser = clap::value_parser!(u64).range(1..=65_536))]
    max_sessions: u64,
    /// An HTTP session that exchanges no message for this long ends, and
    /// what it held is freed (1 to 86400).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_SESSION_IDLE.as_secs(),
          requires = "listen", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    session_idle_secs: u64,
    /// Serve browser pages from ORIGIN too (scheme://host:port, or :* for
    /// any port); pages from other origins than this machine's are refused
    /// (403). Repeatable.
    #[arg(long, value_name = "ORIGIN", requires = "listen")]
    allow_origin: Vec<String>,
    /// What HTTP request bodies may take at once over all connections, from
    /// arrival until answered, in bytes: each weighs its bytes plus 256 a
    /// JSON value in it (what the SDK's parse of it takes); past it a
    /// request is refused with 503 (at least --max-message-bytes; up to
    /// 4294967295).
    #[arg(long, default_value_t = DEFAULT_MAX_INFLIGHT_BYTES as u64, requires = "listen",
          value_parser = clap::value_parser!(u64).range(1024..=u32::MAX as u64))]
    max_inflight_bytes: u64,
    /// Largest message accepted, in bytes (1024 to 268435456).
    #[arg(long, default_value_t = vibe_store::mcp::DEFAULT_MAX_MESSAGE_BYTES as u64,
          value_parser = clap::value_parser!(u64).range(1024..=268_435_456))]
    max_message_bytes: u64,
    /// Calls running or waiting at once; past it a call is refused with a
    /// JSON-RPC error (1 to 4096).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    max_pending_calls: u64,
    /// Invocations running at once (1 to 256).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    slots: u32,
}

pub(crate) fn mcp(store: &AnyStore, args: McpArgs) -> CliResult {
    // First: a signal while the tools load (compiling can take seconds)
    // is a polite stop too, taken as soon as they have loaded.
    let stop =
        Stop::install().map_err(|e| Failure::new(format!("cannot handle signals: {e}"), 1))?;
    let policy = match &args.policy {
        Some(path) => Policy::load(path).map_err(|e| Failure::new(e.to_string(), 4))?,
        None => Policy::deny_by_default(),
    };
    let mission: Option<MissionId> = args.mission.as_deref().map(str::parse).transpose()?;
    let phase: Phase = args.phase.parse()?;
    let token = args
        .token_file
        .as_ref()
        .map(|path| {
            std::fs::read_to_string(path)
                .map(|t| t.trim().to_owned())
                .map_err(|e| Failure::new(format!("cannot read {}: {e}", path.display()), 1))
        })
        .transpose()?;
    if token.as_deref() == Some("") {
        return Err(Failure::new("the token file is empty", 4));
    }
    let http = args.listen.map(|listen| HttpOptions {
        allow_remote: args.allow_remote,
        token,
        max_sessions: args.max_sessions as usize,
        session_idle: Duration::from_secs(args.session_idle_secs),
        allowed_origins: args.allow_origin.clone(),
        max_inflight_bytes: args.max_inflight_bytes as usize,
        ..HttpOptions::new(listen)
    });
    if let Some(http) = &http {
        http.check().map_err(|e| Failure::new(http_refusal(e), 2))?;
        if args.max_inflight_bytes < args.max_message_bytes {
            return Err(Failure::new(
                format!(
                    "--max-inflight-bytes ({}) must be at least --max-message-bytes ({}): one message must fit",
                    args.max_inflight_bytes, args.max_message_bytes
                ),
                2,
            ));
        }
    }
    let max_memory_mb = policy.max_memory_bytes().div_ceil(1 << 20);
    let runtime = sandbox_runtime(
        store,
        RuntimeConfig::default().max_memory_mb(max_memory_mb)?,
        args.slots,
    )?;
    let options = ServerOptions {
        sources: args.components,
        policy,
        mission,
        phase,
        max_message_bytes: args.max_message_bytes as usize,
        max_pending_calls: args.max_pending_calls as usize,
        store_location: store.location(),
    };
    let server = McpServer::new(runtime, Arc::new(store.clone()), options)?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the server: {e}"), 1))?;
    let served = tokio.block_on(async {
        let serving = async {
            match http {
                Some(http) => {
                    serve_http(&server, http, |addr| {
                        eprintln!("serving MCP at http://{addr}/mcp");
                    })
                    .await
                }
                None => {
                    server.watch();
                    serve_stdio(&server).await
                }
            }
        };
        tokio::select! {
            served = serving => served,
            () = asked_to_stop(&stop) => {
                // Calls in flight are cancelled; their rows complete before
                // the process exits.
                server.stop();
                server.drain().await;
                if let Some((signal, _)) = stop.signal() {
                    eprintln!("vibe mcp: stopped by {signal}; calls in flight were cancelled and their rows completed");
                }
                Ok(())
            }
        }
    });
    // Not a plain drop: that would wait for the thread blocked reading
    // stdin, which a client that keeps its end open never ends.
    tokio.shutdown_background();
    served.map_err(|e| Failure::new(format!("the MCP server stopped: {e}"), 1))
}

/// Returns once SIGINT or SIGTERM has asked the process to stop.
async fn asked_to_stop(stop: &Stop) {
    let flag = stop.flag();
    while !flag.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The command line's words for the options `HttpOptions::check` refuses:
/// its flags, where the library names its fields.
fn http_refusal(refused: HttpOptionsError) -> String {
    match refused {
        HttpOptionsError::NotLoopback { listen } => format!(
            "{listen} is not a loopback address; to serve other machines give --allow-remote \
             with --token-file"
        ),
        HttpOptionsError::RemoteWithoutToken => {
            "--allow-remote needs --token-file: remote clients must present a bearer token".into()
        }
        HttpOptionsError::NotAnOrigin { origin } => format!(
            "--allow-origin {origin:?} is not an origin: give scheme://host, scheme://host:port \
             or scheme://host:* (any port)"
        ),
        other => other.to_string(),
    }
}
