//! MCP over stdin and stdout: one JSON-RPC message a line, stdout carrying
//! protocol messages only.
//!
//! A gate stands between stdin and the SDK: a line over the size cap is
//! dropped without being held in memory (its bytes are skipped as they
//! arrive) and answered with an Invalid Request error; every other line
//! passes the check HTTP bodies pass too ([`super::inbound`]), and a line
//! it refuses is answered there (a notification or a response is dropped:
//! JSON-RPC answers those with nothing, and before `initialize` the SDK
//! would end the session over one). The session goes on either way.
//! Everything else passes to the SDK untouched.

use rmcp::ServiceExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::inbound::{self, Refusal};
use super::McpServer;
use crate::terminal::quote;

/// Serves one session on stdin and stdout until the client closes stdin;
/// returns once every call has ended and its row is complete.
pub async fn serve_stdio(server: &McpServer) -> std::io::Result<()> {
    serve_streams(server, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves one session on `input` and `output` (stdio, or a test's pipes).
pub async fn serve_streams(
    server: &McpServer,
    input: impl AsyncRead + Unpin + Send + 'static,
    output: impl AsyncWrite + Unpin + Send + 'static,
) -> std::io::Result<()> {
    let cap = server.shared.options.max_message_bytes;
    // Into the SDK, and out of it.
    let (gate_in, sdk_in) = tokio::io::duplex(1 << 16);
    let (sdk_out, gate_out) = tokio::io::duplex(1 << 16);
    let (errors, refused) = mpsc::channel::<String>(64);
    let reader = tokio::spawn(gate(input, gate_in, errors, cap));
    let writer = tokio::spawn(merge(gate_out, refused, output));
    let session = server.session("stdio");
    match session.serve((sdk_in, sdk_out)).await {
        Ok(running) => {
            let _ = running.waiting().await;
        }
        Err(e) => tracing::warn!(
            "the MCP session ended before it began: {}",
            quote(&e.to_string(), 300)
        ),
    }
    reader.abort();
    server.drain().await;
    let _ = writer.await;
    Ok(())
}

/// Reads lines from `input`, passing JSON on to `sdk` and answering the
/// rest through `errors`.
async fn gate(
    input: impl AsyncRead + Unpin,
    mut sdk: tokio::io::DuplexStream,
    errors: mpsc::Sender<String>,
    cap: usize,
) {
    let mut input = BufReader::new(input);
    let mut line: Vec<u8> = Vec::new();
    let mut oversize = false;
    let mut initialized = false;
    loop {
        let (used, complete) = {
            let available = match input.fill_buf().await {
                Ok([]) | Err(_) => break,
                Ok(bytes) => bytes,
            };
            match available.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    if !oversize && line.len() + end <= cap {
                        line.extend_from_slice(&available[..end]);
                    } else {
                        oversize = true;
                    }
                    (end + 1, true)
                }
                None => {
                    if !oversize && line.len() + available.len() <= cap {
                        line.extend_from_slice(available);
                    } else {
                        oversize = true;
                        line.clear();
                    }
                    (available.len(), false)
                }
            }
        };
        input.consume(used);
        if !complete {
            continue;
        }
        let refusal = if oversize {
            Some(Refusal::unread(
                Refusal::INVALID_REQUEST,
                format!("Invalid Request: a message is at most {cap} bytes; this one was longer and was dropped"),
            ))
        } else if line.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            match inbound::check(&line, initialized) {
                Ok(checked) => {
                    initialized |= checked.is_initialize();
                    line.push(b'\n');
                    if sdk.write_all(&line).await.is_err() {
                        break;
                    }
                    None
                }
                Err(refusal) => Some(refusal),
            }
        };
        if let Some(refusal) = refusal {
            if !refusal.answered {
                tracing::debug!(
                    "dropped a notification or response: {}",
                    quote(&refusal.message, 300)
                );
            } else if errors.send(refusal.to_json()).await.is_err() {
                break;
            }
        }
        line.clear();
        oversize = false;
    }
    let _ = sdk.shutdown().await;
}

/// Writes the SDK's lines and the gate's refusals to `output`, whole lines
/// only, until both have ended (a refusal of the last line read is written
/// even when the SDK is done first).
async fn merge(
    sdk: tokio::io::DuplexStream,
    mut refused: mpsc::Receiver<String>,
    mut output: impl AsyncWrite + Unpin,
) {
    let mut sdk = BufReader::new(sdk).lines();
    let (mut sdk_open, mut refusals_open) = (true, true);
    loop {
        let line = tokio::select! {
            line = sdk.next_line(), if sdk_open => match line {
                Ok(Some(line)) => line,
                _ => { sdk_open = false; continue; }
            },
            refusal = refused.recv(), if refusals_open => match refusal {
                Some(line) => line,
                None => { refusals_open = false; continue; }
            },
            else => break,
        };
        let written = async {
            output.write_all(line.as_bytes()).await?;
            output.write_all(b"\n").await?;
            output.flush().await
        };
        if written.await.is_err() {
            break;
        }
    }
}
