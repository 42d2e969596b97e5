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
//!
//! The SDK is handed messages, not bytes: the gate reads stdin on its own
//! thread, parses each line that passed once, and sends the message to the
//! session ([`Lines`], the SDK's `Transport`); what the session sends, and
//! the gate's refusals, are written whole lines at a time by one writer
//! thread. Each message crosses from one thread to another once each way,
//! and no pipe stands between the gate and the SDK.

use std::io::{BufRead, BufReader, Read, Write};

use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::{RoleServer, ServiceExt};
use tokio::sync::{mpsc, oneshot};

use super::inbound::{self, Kind, Refusal};
use super::McpServer;
use crate::terminal::quote;

/// Messages that passed the gate and wait for the session: few, so that a
/// client sending faster than the session takes them is held back at the
/// gate, not buffered here.
const QUEUED_MESSAGES: usize = 8;

/// Serves one session on stdin and stdout until the client closes stdin;
/// returns once every call has ended and its row is complete.
pub async fn serve_stdio(server: &McpServer) -> std::io::Result<()> {
    serve_streams(server, std::io::stdin(), std::io::stdout()).await
}

/// Serves one session on `input` and `output` (stdio, or a test's pipes).
pub async fn serve_streams(
    server: &McpServer,
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
) -> std::io::Result<()> {
    let cap = server.shared.options.max_message_bytes;
    let out = Output::start(output)?;
    let (messages, queued) = mpsc::channel(QUEUED_MESSAGES);
    let gate_out = out.clone();
    // A thread of its own: it blocks reading stdin, which a client that
    // keeps its end open never ends (the process exits without it).
    std::thread::Builder::new()
        .name("vibe-mcp-stdin".into())
        .spawn(move || gate(input, messages, gate_out, cap))?;
    let session = server.session("stdio");
    let transport = Lines {
        queued,
        out: out.clone(),
    };
    match session.serve(transport).await {
        Ok(running) => {
            let _ = running.waiting().await;
        }
        Err(e) => tracing::warn!(
            "the MCP session ended before it began: {}",
            quote(&e.to_string(), 300)
        ),
    }
    server.drain().await;
    out.written().await;
    Ok(())
}

/// The session's transport: messages from the gate in, lines to the writer
/// out.
struct Lines {
    queued: mpsc::Receiver<ClientJsonRpcMessage>,
    out: Output,
}

impl Transport<RoleServer> for Lines {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send + 'static {
        // Serialised here, in the order the session sends: the writer
        // writes lines in the order they were handed to it.
        let sent = serde_json::to_vec(&item)
            .map_err(std::io::Error::from)
            .and_then(|line| self.out.line(line));
        std::future::ready(sent)
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        self.queued.recv().await
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.queued.close();
        Ok(())
    }
}

/// What the writer thread is handed.
enum Out {
    /// One message and its newline.
    Line(Vec<u8>),
    /// Answered once every line handed before it has been written (or
    /// could not be).
    Written(oneshot::Sender<()>),
}

/// The writer thread's queue: whole lines, written in the order given.
#[derive(Clone)]
struct Output(std::sync::mpsc::Sender<Out>);

impl Output {
    fn start(mut output: impl Write + Send + 'static) -> std::io::Result<Output> {
        let (sender, lines) = std::sync::mpsc::channel::<Out>();
        std::thread::Builder::new()
            .name("vibe-mcp-stdout".into())
            .spawn(move || {
                let mut broken = false;
                while let Ok(first) = lines.recv() {
                    // What queued meanwhile goes out with one flush.
                    for out in std::iter::once(first).chain(lines.try_iter()) {
                        match out {
                            Out::Line(line) if !broken => {
                                broken = output.write_all(&line).is_err();
                            }
                            Out::Line(_) => {}
                            Out::Written(done) => {
                                broken = broken || output.flush().is_err();
                                let _ = done.send(());
                            }
                        }
                    }
                    broken = broken || output.flush().is_err();
                }
            })?;
        Ok(Output(sender))
    }

    /// Hands one message (no newline) to the writer.
    fn line(&self, mut line: Vec<u8>) -> std::io::Result<()> {
        line.push(b'\n');
        self.0
            .send(Out::Line(line))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }

    /// Returns once every line handed so far has been written.
    async fn written(&self) {
        let (done, wait) = oneshot::channel();
        if self.0.send(Out::Written(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// Reads lines from `input`, passing each message that passes the check on
/// to the session and answering the rest through `out`.
fn gate(input: impl Read, session: mpsc::Sender<ClientJsonRpcMessage>, out: Output, cap: usize) {
    let mut input = BufReader::with_capacity(64 << 10, input);
    let mut line: Vec<u8> = Vec::new();
    let mut oversize = false;
    let mut initialized = false;
    loop {
        let (used, complete) = {
            let available = match input.fill_buf() {
                Ok([]) => break,
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
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
            match inbound::check(&line, initialized).and_then(|checked| parse(&line, checked)) {
                Ok((message, is_initialize)) => {
                    initialized |= is_initialize;
                    if session.blocking_send(message).is_err() {
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
            } else if out.line(refusal.to_json().into_bytes()).is_err() {
                break;
            }
        }
        line.clear();
        oversize = false;
    }
}

/// The message the check passed, as the SDK reads it (read once, by the
/// check, but for a call's arguments: the session is handed the message,
/// not its bytes), and whether it is `initialize`.
fn parse(line: &[u8], checked: inbound::Checked) -> Result<(ClientJsonRpcMessage, bool), Refusal> {
    let (id, kind, is_initialize) = (checked.id.clone(), checked.kind, checked.is_initialize());
    match checked.into_message(line) {
        Ok(message) => Ok((message, is_initialize)),
        // The check reads the message as the SDK does (its arguments aside,
        // any JSON object), so this is not expected; answered as the SDK
        // would answer it.
        Err(e) => Err(Refusal {
            code: Refusal::INVALID_REQUEST,
            message: format!("Invalid Request: {}", quote(&e.to_string(), 200)),
            id,
            answered: kind == Kind::Request,
        }),
    }
}
