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
//! The SDK is handed messages, not bytes. When stdin and stdout are pipes
//! (as `std::process`, Python's `subprocess` and most MCP clients make
//! them), both are reopened non-blocking and served by the session's own
//! async worker: the SDK's `receive` reads the next line through the gate,
//! and a task on the same worker writes what the session sends, so a
//! message crosses no thread on its way in or out. Otherwise (a file, a
//! terminal, a socket such as Node's `child_process` hands over) the gate
//! reads stdin on a thread of its own and hands each message that passed
//! to the session, and one writer thread writes whole lines; a message then
//! crosses from one thread to another once each way. Either way the check
//! is the same code ([`Gate`]), and no pipe stands between the gate and the
//! SDK.

use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ClientRequest, JsonRpcMessage, RequestId,
    ServerJsonRpcMessage,
};
use rmcp::transport::Transport;
use rmcp::{RoleServer, ServiceExt};
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, Notify};

use super::inbound::{self, Kind, Refusal};
use super::McpServer;
use crate::sync::lock;
use crate::terminal::quote;

/// Messages that passed the gate and wait for the session: few, so that a
/// client sending faster than the session takes them is held back at the
/// gate, not buffered here.
const QUEUED_MESSAGES: usize = 8;

/// Serves one session on stdin and stdout until the client closes stdin;
/// returns once every call has ended and its row is complete.
pub async fn serve_stdio(server: &McpServer) -> std::io::Result<()> {
    match nonblocking_pipes() {
        Some((input, output)) => {
            let backlog = Backlog::new(&server.shared.options);
            let input = Input::Pipe {
                reader: tokio::io::BufReader::with_capacity(BUFFER, input),
                gate: Gate::new(server, backlog.clone()),
            };
            serve_session(server, input, Output::on_worker(output, backlog)).await
        }
        None => serve_streams(server, std::io::stdin(), std::io::stdout()).await,
    }
}

/// Serves one session on `input` and `output` (stdio that is not a pair
/// of pipes, or a test's streams), the gate and the writer on threads of
/// their own.
pub async fn serve_streams(
    server: &McpServer,
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
) -> std::io::Result<()> {
    let backlog = Backlog::new(&server.shared.options);
    let gate = Gate::new(server, backlog.clone());
    let (input, output) = (Patient::new(input), Patient::new(output));
    let out = Output::on_thread(output, backlog)?;
    let (messages, queued) = mpsc::channel(QUEUED_MESSAGES);
    let gate_out = out.clone();
    let runtime = tokio::runtime::Handle::current();
    // A thread of its own: it blocks reading stdin, which a client that
    // keeps its end open never ends (the process exits without it).
    std::thread::Builder::new()
        .name("vibe-mcp-stdin".into())
        .spawn(move || read_on_thread(input, gate, messages, gate_out, &runtime))?;
    serve_session(server, Input::Queued(queued), out).await
}

/// How long a stopped session has to write the answers of the calls it
/// cancelled (and of anything else asked before it stopped), from the
/// moment every call has ended; a client that reads nothing gets none of
/// them.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Serves the session until its input ends, the server stops
/// ([`McpServer::stop`]: a signal; the calls in flight are cancelled, their
/// rows completed, and every request asked before then answered, the
/// cancelled calls with their `cancelled` results, within [`STOP_GRACE`]
/// of the calls' end),
/// or its output breaks (the calls in flight are cancelled and their rows
/// completed, as on a stop). A reader of stdout that went away ends the
/// session as its input's end does; any other failure to write is the
/// error returned.
async fn serve_session(server: &McpServer, input: Input, out: Output) -> std::io::Result<()> {
    let session = server.session("stdio");
    let transport = Lines {
        input,
        out: out.clone(),
    };
    // Once the server stops, what is left to write has until this instant
    // (set when the stop is seen): a client that reads nothing must not
    // hold a stop.
    let grace_until = OnceLock::new();
    let grace = || *grace_until.get_or_init(|| tokio::time::Instant::now() + STOP_GRACE);
    let stopping = || super::stopped(server.shared.stopping.subscribe());
    // The SDK's `serve` waits for the client's `initialize`: a stop before
    // it ends the session at once.
    let begun = tokio::select! {
        begun = session.serve(transport) => Some(begun),
        () = stopping() => None,
    };
    match begun {
        None => {}
        Some(Ok(running)) => {
            let cancel = running.cancellation_token();
            let waiting = running.waiting();
            tokio::pin!(waiting);
            tokio::select! {
                _ = &mut waiting => {}
                _ = out.backlog.broken() => {
                    server.stop();
                    cancel.cancel();
                    let _ = waiting.await;
                }
                () = stopping() => {
                    server.drain().await;
                    let _ = tokio::time::timeout_at(grace(), out.backlog.answered()).await;
                    cancel.cancel();
                    let _ = waiting.await;
                }
            }
        }
        Some(Err(e)) => tracing::warn!(
            "the MCP session ended before it began: {}",
            quote(&e.to_string(), 300)
        ),
    }
    server.drain().await;
    // Everything written, unless the server stops (now, or while this
    // waits on a client that stopped reading): then until the grace ends.
    tokio::select! {
        () = out.written() => {}
        () = async {
            stopping().await;
            tokio::time::sleep_until(grace()).await;
        } => {}
    }
    match out.backlog.broken.get() {
        Some((std::io::ErrorKind::BrokenPipe, _)) | None => Ok(()),
        Some((kind, message)) => Err(std::io::Error::new(
            *kind,
            format!(
                "cannot write to stdout ({message}): the session ended, and any call in flight \
                 was cancelled and its row completed"
            ),
        )),
    }
}

/// How much of stdin is read, and of stdout buffered, at once.
const BUFFER: usize = 64 << 10;

/// Stdin and stdout reopened non-blocking, on open file descriptions of
/// their own (so the process's standard streams, and whatever shares them,
/// keep their flags), when both are anonymous pipes; `None` otherwise.
/// Called on the runtime, whose reactor then drives them.
///
/// Not a named FIFO (`mkfifo`): Linux never reports the hang-up of one
/// opened non-blocking while no writer had it open, so a client that wrote
/// its requests and closed before the reopen would never be seen to end.
#[cfg(target_os = "linux")]
fn nonblocking_pipes() -> Option<(PipeReader, PipeWriter)> {
    use tokio::net::unix::pipe::OpenOptions;
    let anonymous = |fd: u8| {
        std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .is_ok_and(|target| target.as_os_str().as_encoded_bytes().starts_with(b"pipe:["))
    };
    if !(anonymous(0) && anonymous(1)) {
        return None;
    }
    // Each also refuses anything but a FIFO (and the writer one no one
    // reads), leaving the threads to serve it.
    let input = OpenOptions::new().open_receiver("/proc/self/fd/0").ok()?;
    let output = OpenOptions::new().open_sender("/proc/self/fd/1").ok()?;
    Some((input, output))
}

#[cfg(not(target_os = "linux"))]
fn nonblocking_pipes() -> Option<(PipeReader, PipeWriter)> {
    None
}

#[cfg(target_os = "linux")]
type PipeReader = tokio::net::unix::pipe::Receiver;
#[cfg(target_os = "linux")]
type PipeWriter = tokio::net::unix::pipe::Sender;
#[cfg(not(target_os = "linux"))]
type PipeReader = tokio::io::Empty;
#[cfg(not(target_os = "linux"))]
type PipeWriter = tokio::io::Sink;

/// A stream a thread reads or writes as if it blocked, whatever its flags:
/// `O_NONBLOCK` belongs to the open file description, which the client
/// (or whoever else holds it) may have made non-blocking, and a read or
/// write that would block is then waited out (1 ms, doubling to 20 ms,
/// between tries) rather than taken for the end of the session.
struct Patient<S> {
    stream: S,
    wait: std::time::Duration,
}

impl<S> Patient<S> {
    const FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(1);
    const LONGEST_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

    fn new(stream: S) -> Self {
        Patient {
            stream,
            wait: Self::FIRST_WAIT,
        }
    }

    fn again<T>(
        &mut self,
        mut attempt: impl FnMut(&mut S) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        loop {
            match attempt(&mut self.stream) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(self.wait);
                    self.wait = (self.wait * 2).min(Self::LONGEST_WAIT);
                }
                done => {
                    self.wait = Self::FIRST_WAIT;
                    return done;
                }
            }
        }
    }
}

impl<S: Read> Read for Patient<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.again(|stream| stream.read(buf))
    }
}

impl<S: Write> Write for Patient<S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.again(|stream| stream.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.again(Write::flush)
    }
}

/// The session's transport: messages through the gate in, lines to the
/// writer out.
struct Lines {
    input: Input,
    out: Output,
}

/// Where the session's messages come from.
enum Input {
    /// Read and checked by [`read_on_thread`], and queued.
    Queued(mpsc::Receiver<ClientJsonRpcMessage>),
    /// Read and checked here, in the SDK's `receive`, on its worker.
    Pipe {
        reader: tokio::io::BufReader<PipeReader>,
        gate: Gate,
    },
    /// The SDK closed the transport.
    Closed,
}

impl Transport<RoleServer> for Lines {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send + 'static {
        let answered = match &item {
            JsonRpcMessage::Response(response) => Some(&response.id),
            JsonRpcMessage::Error(error) => error.id.as_ref(),
            _ => None,
        };
        if let Some(id) = answered {
            self.out.backlog.settled(id);
        }
        // Serialised here, in the order the session sends: the writer
        // writes lines in the order they were handed to it.
        let sent = serde_json::to_vec(&item)
            .map_err(std::io::Error::from)
            .and_then(|line| self.out.line(line));
        std::future::ready(sent)
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        match &mut self.input {
            Input::Queued(queued) => queued.recv().await,
            Input::Closed => None,
            // The SDK drops this future whenever something else is ready
            // first: nothing is taken from the buffer across the one await.
            Input::Pipe { reader, gate } => loop {
                // Nothing more is read while too many answers wait to be
                // written: a client that calls and never reads is held
                // back here, in its own pipe.
                self.out.backlog.room().await;
                if self.out.backlog.broken.get().is_some() {
                    self.input = Input::Closed;
                    return None;
                }
                let (used, verdict) = match reader.fill_buf().await {
                    // A last line with no newline is a line; then the end,
                    // without reading again (a terminal's end comes once).
                    Ok([]) => {
                        let verdict = gate.end();
                        self.input = Input::Closed;
                        return match verdict? {
                            Verdict::Pass(message) => Some(*message),
                            Verdict::Answer(line) => {
                                let _ = self.out.line(line);
                                None
                            }
                        };
                    }
                    Ok(available) => gate.take(available),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => return None,
                };
                reader.consume(used);
                match verdict {
                    Some(Verdict::Pass(message)) => return Some(*message),
                    Some(Verdict::Answer(line)) => self.out.line(line).ok()?,
                    None => {}
                }
            },
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        match &mut self.input {
            Input::Queued(queued) => queued.close(),
            input => *input = Input::Closed,
        }
        Ok(())
    }
}

/// How many bytes of answers may wait to be written before the gate stops
/// reading: a client that keeps calling and never reads holds the server's
/// memory to this, and the answers of the requests already taken (see
/// [`UNANSWERED_BEYOND_CALLS`]).
pub const MAX_QUEUED_OUTPUT_BYTES: usize = 16 << 20;

/// How many requests beyond `--max-pending-calls` the session may hold
/// unanswered before the gate stops reading: each is a task of the SDK's
/// until its answer is handed over, so a flood of small requests (a ping
/// a line) is held back here, not in memory. Calls past the pending limit
/// still reach the session and are refused as busy.
pub const UNANSWERED_BEYOND_CALLS: usize = 64;

/// What the writer thread is handed.
enum Out {
    /// One message and its newline.
    Line(Vec<u8>),
    /// Answered once every line handed before it has been written (or
    /// could not be).
    Written(oneshot::Sender<()>),
}

/// The writer's queue: whole lines, written in the order given.
#[derive(Clone)]
struct Output {
    queue: mpsc::UnboundedSender<Out>,
    backlog: Arc<Backlog>,
}

/// What the session owes its client: requests it was handed and has not
/// answered, and bytes of answers not yet written; and whether the output
/// broke. The gate reads nothing more while either is over its bound.
struct Backlog {
    /// Bytes handed to the writer and not yet written (or dropped).
    bytes: AtomicUsize,
    /// The ids of requests handed to the session and not answered, and of
    /// those cancelled.
    owed: Mutex<Owed>,
    /// Most requests held unanswered: `--max-pending-calls` plus
    /// [`UNANSWERED_BEYOND_CALLS`].
    max_unanswered: usize,
    /// Woken when either falls back within its bound, and when the output
    /// breaks.
    changed: Notify,
    /// The first write that failed: the session cannot answer any more.
    broken: OnceLock<(std::io::ErrorKind, String)>,
}

/// How many cancelled requests' ids a session remembers, refusing their
/// reuse: the oldest is forgotten past this (its call long ended).
const CANCELLED_REMEMBERED: usize = 4096;

/// The requests a session owes an answer, and those cancelled.
#[derive(Default)]
struct Owed {
    unanswered: HashSet<RequestId>,
    /// Cancelled before they were answered: the SDK answers none of them,
    /// but a call still ending would answer a new request under its id.
    cancelled: HashSet<RequestId>,
    /// `cancelled`, oldest first.
    cancelled_order: VecDeque<RequestId>,
}

impl Owed {
    /// Whether `id` is free, and now owed an answer.
    fn take(&mut self, id: &RequestId) -> bool {
        !self.cancelled.contains(id) && self.unanswered.insert(id.clone())
    }

    /// The request `id`, if owed an answer, is cancelled: whether it was.
    fn cancel(&mut self, id: &RequestId) -> bool {
        if !self.unanswered.remove(id) {
            return false;
        }
        if self.cancelled_order.len() == CANCELLED_REMEMBERED {
            if let Some(oldest) = self.cancelled_order.pop_front() {
                self.cancelled.remove(&oldest);
            }
        }
        self.cancelled.insert(id.clone());
        self.cancelled_order.push_back(id.clone());
        true
    }
}

impl Backlog {
    fn new(options: &super::ServerOptions) -> Arc<Backlog> {
        Arc::new(Backlog {
            bytes: AtomicUsize::new(0),
            owed: Mutex::new(Owed::default()),
            max_unanswered: options.max_pending_calls + UNANSWERED_BEYOND_CALLS,
            changed: Notify::new(),
            broken: OnceLock::new(),
        })
    }

    /// Takes a message that passed the check into the account: a request
    /// is owed an answer, unless its id is already owed one or was
    /// cancelled (JSON-RPC ids are not reused in a session: the SDK would
    /// answer only one of the two, and a cancelled call still ending would
    /// take the new one's place), which is refused; a cancellation frees
    /// the place its request held.
    fn admit(&self, message: &ClientJsonRpcMessage) -> Result<(), Refusal> {
        match message {
            JsonRpcMessage::Request(request) => {
                if lock(&self.owed).take(&request.id) {
                    return Ok(());
                }
                Err(Refusal {
                    code: Refusal::INVALID_REQUEST,
                    message: format!(
                        "Invalid Request: id {} is already used by a request not yet answered, \
                         or cancelled; use each id once in a session",
                        quote(&request.id.to_string(), 200)
                    ),
                    id: serde_json::to_value(&request.id).unwrap_or(serde_json::Value::Null),
                    answered: true,
                })
            }
            JsonRpcMessage::Notification(notification) => {
                if let ClientNotification::CancelledNotification(cancelled) =
                    &notification.notification
                {
                    if let Some(id) = &cancelled.params.request_id {
                        if lock(&self.owed).cancel(id) {
                            self.changed.notify_waiters();
                        }
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The request `id` is answered.
    fn settled(&self, id: &RequestId) {
        if lock(&self.owed).unanswered.remove(id) {
            self.changed.notify_waiters();
        }
    }

    fn queued(&self, bytes: usize) {
        self.bytes.fetch_add(bytes, Ordering::AcqRel);
    }

    /// `bytes` are written, or dropped.
    fn done(&self, bytes: usize) {
        let before = self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        if before > MAX_QUEUED_OUTPUT_BYTES && before - bytes <= MAX_QUEUED_OUTPUT_BYTES {
            self.changed.notify_waiters();
        }
    }

    /// Whether a write failed: its error is recorded (the first counts).
    fn failed(&self, written: std::io::Result<()>) -> bool {
        let Err(error) = written else {
            return false;
        };
        if self.broken.set((error.kind(), error.to_string())).is_ok() {
            self.changed.notify_waiters();
        }
        true
    }

    /// Returns once no more than [`MAX_QUEUED_OUTPUT_BYTES`] wait to be
    /// written and fewer than `max_unanswered` requests wait for their
    /// answer, or the output broke.
    async fn room(&self) {
        self.until(|| {
            (self.bytes.load(Ordering::Acquire) <= MAX_QUEUED_OUTPUT_BYTES
                && lock(&self.owed).unanswered.len() < self.max_unanswered)
                || self.broken.get().is_some()
        })
        .await;
    }

    /// Returns once every request read has been answered (or the output
    /// broke).
    async fn answered(&self) {
        self.until(|| lock(&self.owed).unanswered.is_empty() || self.broken.get().is_some())
            .await;
    }

    /// Returns once the output broke.
    async fn broken(&self) {
        self.until(|| self.broken.get().is_some()).await;
    }

    /// Returns once `ready` holds, looked at again at every change.
    async fn until(&self, ready: impl Fn() -> bool) {
        if ready() {
            return;
        }
        loop {
            let woken = self.changed.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if ready() {
                return;
            }
            woken.await;
        }
    }
}

impl Output {
    /// A writer on a thread of its own, for an output that blocks.
    fn on_thread(
        mut output: impl Write + Send + 'static,
        backlog: Arc<Backlog>,
    ) -> std::io::Result<Output> {
        let (queue, mut lines) = mpsc::unbounded_channel::<Out>();
        let writing = backlog.clone();
        std::thread::Builder::new()
            .name("vibe-mcp-stdout".into())
            .spawn(move || {
                let mut broken = false;
                while let Some(first) = lines.blocking_recv() {
                    // What queued meanwhile goes out with one flush.
                    let mut next = Some(first);
                    while let Some(out) = next.take().or_else(|| lines.try_recv().ok()) {
                        match out {
                            Out::Line(line) => {
                                broken = broken || writing.failed(output.write_all(&line));
                                writing.done(line.len());
                            }
                            Out::Written(done) => {
                                broken = broken || writing.failed(output.flush());
                                let _ = done.send(());
                            }
                        }
                    }
                    broken = broken || writing.failed(output.flush());
                }
            })?;
        Ok(Output { queue, backlog })
    }

    /// A writer task on the session's runtime, for an output that does not
    /// block (a client that stops reading holds up only this task).
    fn on_worker(
        output: impl AsyncWrite + Send + Unpin + 'static,
        backlog: Arc<Backlog>,
    ) -> Output {
        let (queue, mut lines) = mpsc::unbounded_channel::<Out>();
        let writing = backlog.clone();
        let mut output = tokio::io::BufWriter::with_capacity(BUFFER, output);
        tokio::spawn(async move {
            let mut broken = false;
            while let Some(first) = lines.recv().await {
                // What queued meanwhile goes out with one flush.
                let mut next = Some(first);
                while let Some(out) = next.take().or_else(|| lines.try_recv().ok()) {
                    match out {
                        Out::Line(line) => {
                            if !broken {
                                broken = writing.failed(output.write_all(&line).await);
                            }
                            writing.done(line.len());
                        }
                        Out::Written(done) => {
                            if !broken {
                                broken = writing.failed(output.flush().await);
                            }
                            let _ = done.send(());
                        }
                    }
                }
                if !broken {
                    broken = writing.failed(output.flush().await);
                }
            }
        });
        Output { queue, backlog }
    }

    /// Hands one message (no newline) to the writer; an error once the
    /// output broke.
    fn line(&self, mut line: Vec<u8>) -> std::io::Result<()> {
        if self.backlog.broken.get().is_some() {
            return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        }
        line.push(b'\n');
        let bytes = line.len();
        self.backlog.queued(bytes);
        self.queue.send(Out::Line(line)).map_err(|_| {
            self.backlog.done(bytes);
            std::io::Error::from(std::io::ErrorKind::BrokenPipe)
        })
    }

    /// Returns once every line handed so far has been written.
    async fn written(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Out::Written(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// Reads lines from `input` through `gate`, queueing each message that
/// passes for the session and answering the rest through `out`.
fn read_on_thread(
    input: impl Read,
    mut gate: Gate,
    session: mpsc::Sender<ClientJsonRpcMessage>,
    out: Output,
    runtime: &tokio::runtime::Handle,
) {
    let mut input = BufReader::with_capacity(BUFFER, input);
    // Whether the session goes on after `verdict`.
    let deliver = |verdict: Verdict| match verdict {
        Verdict::Pass(message) => session.blocking_send(*message).is_ok(),
        Verdict::Answer(line) => out.line(line).is_ok(),
    };
    loop {
        // As on the worker: held back while too many answers wait.
        runtime.block_on(out.backlog.room());
        if out.backlog.broken.get().is_some() {
            break;
        }
        let (used, verdict) = match input.fill_buf() {
            // A last line with no newline is a line; then the end, without
            // reading again (a terminal's end comes once).
            Ok([]) => {
                if let Some(verdict) = gate.end() {
                    deliver(verdict);
                }
                break;
            }
            Ok(available) => gate.take(available),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        input.consume(used);
        if !verdict.is_none_or(deliver) {
            break;
        }
    }
}

/// The check every line from stdin passes: at most `cap` bytes (a longer
/// line is skipped as its bytes arrive, never held whole), and what
/// [`inbound::check`] lets through.
struct Gate {
    cap: usize,
    /// The server the calls go to: each call's place among its pending
    /// calls is taken here, as the call is read, so that calls past
    /// `--max-pending-calls` are refused in the order they came.
    shared: Arc<super::Shared>,
    /// What the session owes; a request whose id it already owes an answer
    /// is refused here.
    backlog: Arc<Backlog>,
    /// The line so far (empty once it is known to be over the cap).
    line: Vec<u8>,
    oversize: bool,
    initialized: bool,
}

/// What a whole line comes to.
enum Verdict {
    /// A message for the session (boxed: far larger than a refusal).
    Pass(Box<ClientJsonRpcMessage>),
    /// A refusal to write back (one line, no newline).
    Answer(Vec<u8>),
}

impl Gate {
    fn new(server: &McpServer, backlog: Arc<Backlog>) -> Gate {
        Gate {
            cap: server.shared.options.max_message_bytes,
            shared: server.shared.clone(),
            backlog,
            line: Vec::new(),
            oversize: false,
            initialized: false,
        }
    }

    /// Takes bytes from the front of `available` up to the end of a line
    /// (all of them, in the middle of one): how many it took and, at a
    /// line's end, what the line comes to (nothing for a blank line, or for
    /// a refused notification or response, which JSON-RPC does not answer).
    fn take(&mut self, available: &[u8]) -> (usize, Option<Verdict>) {
        let Some(end) = available.iter().position(|&b| b == b'\n') else {
            if !self.oversize && self.line.len() + available.len() <= self.cap {
                self.line.extend_from_slice(available);
            } else {
                self.oversize = true;
                self.line.clear();
            }
            return (available.len(), None);
        };
        if !self.oversize && self.line.len() + end <= self.cap {
            self.line.extend_from_slice(&available[..end]);
        } else {
            self.oversize = true;
        }
        (end + 1, self.judge())
    }

    /// At the end of the input: what the last line comes to when it had no
    /// newline (`None` when there was no such line, or it comes to
    /// nothing).
    fn end(&mut self) -> Option<Verdict> {
        if self.line.is_empty() && !self.oversize {
            return None;
        }
        self.judge()
    }

    /// Takes a place among the pending calls for `message` when it is a
    /// `tools/call` (in its extensions, for the session's handler), or
    /// refuses it "server busy" (`-32000`, or "server stopping"); a refused
    /// request is answered by the gate, so its id is owed nothing more.
    fn reserve_call(&self, message: &mut ClientJsonRpcMessage) -> Result<(), Refusal> {
        let JsonRpcMessage::Request(request) = message else {
            return Ok(());
        };
        let ClientRequest::CallToolRequest(call) = &mut request.request else {
            return Ok(());
        };
        match self.shared.reserve_call() {
            Ok(permit) => {
                call.extensions.insert(super::PendingPlace::new(permit));
                Ok(())
            }
            Err(busy) => {
                self.backlog.settled(&request.id);
                Err(Refusal {
                    code: Refusal::SERVER_BUSY,
                    message: busy,
                    id: serde_json::to_value(&request.id).unwrap_or(serde_json::Value::Null),
                    answered: true,
                })
            }
        }
    }

    /// What the whole line in `self.line` comes to; the gate is then ready
    /// for the next line.
    fn judge(&mut self) -> Option<Verdict> {
        let verdict = self.verdict();
        self.line.clear();
        self.oversize = false;
        verdict
    }

    fn verdict(&mut self) -> Option<Verdict> {
        let refusal = if self.oversize {
            Refusal::unread(
                Refusal::INVALID_REQUEST,
                format!(
                    "Invalid Request: a message is at most {} bytes; this one was longer and was dropped",
                    self.cap
                ),
            )
        } else if self.line.iter().all(u8::is_ascii_whitespace) {
            return None;
        } else {
            let line = &self.line;
            let checked = inbound::check(line, self.initialized)
                .and_then(parse)
                .and_then(|(mut message, is_initialize)| {
                    self.backlog.admit(&message)?;
                    self.reserve_call(&mut message)?;
                    Ok((message, is_initialize))
                });
            match checked {
                Ok((message, is_initialize)) => {
                    self.initialized |= is_initialize;
                    return Some(Verdict::Pass(Box::new(message)));
                }
                Err(refusal) => refusal,
            }
        };
        if !refusal.answered {
            tracing::debug!(
                "dropped a notification or response: {}",
                quote(&refusal.message, 300)
            );
            return None;
        }
        Some(Verdict::Answer(refusal.to_json().into_bytes()))
    }
}

/// The message the check passed, as the SDK reads it (read once, by the
/// check, but for a call's arguments: the session is handed the message,
/// not its bytes), and whether it is `initialize`.
fn parse(checked: inbound::Checked) -> Result<(ClientJsonRpcMessage, bool), Refusal> {
    let (id, kind, is_initialize) = (checked.id.clone(), checked.kind, checked.is_initialize());
    match checked.into_message() {
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
