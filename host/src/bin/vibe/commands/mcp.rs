//! `vibe mcp`: serve tools to agents over the Model Context Protocol.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use vibe_store::mcp::{
    serve_http, serve_stdio, HttpOptions, HttpOptionsError, McpServer, Policy, ServerOptions,
};
use vibe_store::sandbox::RuntimeConfig;
use vibe_store::store::{AnyStore, MissionId, Phase};

use crate::args::McpArgs;
use crate::open::sandbox_runtime;
use crate::signals::Stop;
use crate::{CliResult, Exit, Failure};

pub(crate) fn mcp(store: &AnyStore, args: McpArgs) -> CliResult {
    // First: a signal while the tools load (compiling can take seconds)
    // is a polite stop too, taken as soon as they have loaded.
    let stop = Stop::install()
        .map_err(|e| Failure::new(format!("cannot handle signals: {e}"), Exit::Other))?;
    let policy = match &args.policy {
        Some(path) => {
            Policy::load(path).map_err(|e| Failure::new(e.to_string(), Exit::InvalidInput))?
        }
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
                .map_err(|e| {
                    Failure::new(format!("cannot read {}: {e}", path.display()), Exit::Other)
                })
        })
        .transpose()?;
    if token.as_deref() == Some("") {
        return Err(Failure::new("the token file is empty", Exit::InvalidInput));
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
        http.check()
            .map_err(|e| Failure::new(http_refusal(e), Exit::Usage))?;
        if args.max_inflight_bytes < args.max_message_bytes {
            return Err(Failure::new(
                format!(
                    "--max-inflight-bytes ({}) must be at least --max-message-bytes ({}): one message must fit",
                    args.max_inflight_bytes, args.max_message_bytes
                ),
                Exit::Usage,
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
    // Over stdio one session's messages are the only async work, and it is
    // light (calls run on blocking threads): one worker, so that scheduling
    // a task never wakes a second worker to look for work to steal (two such
    // wake-ups a call, measured).
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if http.is_none() {
        builder.worker_threads(1);
    }
    let tokio = builder
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the server: {e}"), Exit::Other))?;
    let over_stdio = http.is_none();
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
        tokio::pin!(serving);
        tokio::select! {
            served = &mut serving => served,
            () = asked_to_stop(&stop) => {
                // Calls in flight are cancelled; their rows complete before
                // the process exits. The stdio session ends by itself once
                // it has answered them (in bounded time).
                server.stop();
                let served = match over_stdio {
                    true => serving.await,
                    false => {
                        server.drain().await;
                        Ok(())
                    }
                };
                if let Some((signal, _)) = stop.signal() {
                    // Not `eprintln!`: stderr may be a terminal that closed.
                    let _ = writeln!(
                        std::io::stderr(),
                        "vibe mcp: stopped by {signal}; calls in flight were cancelled and their rows completed"
                    );
                }
                served
            }
        }
    });
    // Not a plain drop: that would wait for the thread blocked reading
    // stdin, which a client that keeps its end open never ends.
    tokio.shutdown_background();
    served.map_err(|e| Failure::new(format!("the MCP server stopped: {e}"), Exit::Other))
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
