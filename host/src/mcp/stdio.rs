//! MCP over stdin and stdout: one JSON-RPC message a line, stdout carrying
//! protocol messages only.
//!
//! A small gate stands between stdin and the SDK: a line over the size cap
//! is dropped without being held in memory (its bytes are skipped as they
//! arrive) and answered with an Invalid Request error, and a line that is
//! not JSON is answered with a Parse error, as JSON-RPC says; the session
//! goes on either way. Everything else passes to the SDK untouched.

use rmcp::ServiceExt;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::McpServer;

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
        Err(e) => tracing::warn!("the MCP session ended before it began: {e}"),
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
            Some(error(
                -32600,
                &format!("Invalid Request: a message is at most {cap} bytes; this one was longer and was dropped"),
            ))
        } else if line.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            match serde_json::from_slice::<serde::de::IgnoredAny>(&line) {
                Ok(_) => {
                    line.push(b'\n');
                    if sdk.write_all(&line).await.is_err() {
                        break;
                    }
                    None
                }
                Err(e) => Some(error(-32700, &format!("Parse error: {e}"))),
            }
        };
        if let Some(refusal) = refusal {
            if errors.send(refusal).await.is_err() {
                break;
            }
        }
        line.clear();
        oversize = false;
    }
    let _ = sdk.shutdown().await;
}

fn error(code: i64, message: &str) -> String {
    json!({ "jsonrpc": "2.0", "id": null, "error": { "code": code, "message": message } })
        .to_string()
}

/// Writes the SDK's lines and the gate's refusals to `output`, whole lines
/// only.
async fn merge(
    sdk: tokio::io::DuplexStream,
    mut refused: mpsc::Receiver<String>,
    mut output: impl AsyncWrite + Unpin,
) {
    let mut sdk = BufReader::new(sdk).lines();
    let mut refusals_open = true;
    loop {
        let line = tokio::select! {
            line = sdk.next_line() => match line {
                Ok(Some(line)) => line,
                _ => break,
            },
            refusal = refused.recv(), if refusals_open => match refusal {
                Some(line) => line,
                None => { refusals_open = false; continue; }
            },
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
