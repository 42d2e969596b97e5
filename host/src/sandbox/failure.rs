//! How an invocation failed: the kinds ([`FailureKind`]), the messages the
//! audit trail records, and the one place that decides what a wasmtime error
//! means (timeout, memory, stack, exit, trap).

use std::fmt;

use wasmtime::Trap;

use crate::store::{Outcome, MAX_TEXT_BYTES};

use super::host::DeadlineExceeded;

/// The error an invocation is stopped with when its caller cancels it.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("cancelled by the caller")]
pub(crate) struct Cancelled;
use super::policy::Limits;

/// How an invocation ended badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
    /// The tool called WASI `exit` instead of returning output.
    Exit,
    /// The tool returned text that is not JSON, or too much of it.
    InvalidOutput,
    /// The component could not be loaded; nothing ran.
    LoadError,
    /// The host failed while running the tool (a bug in vibe-store).
    HostError,
    /// The caller cancelled it while it ran (an MCP client's
    /// `notifications/cancelled`; [`Request::cancel_flag`](super::Request::cancel_flag)).
    Cancelled,
}

impl FailureKind {
    /// The `outcome` recorded in the invocation's row.
    pub fn outcome(self) -> Outcome {
        match self {
            FailureKind::ToolError => Outcome::ToolError,
            FailureKind::Timeout => Outcome::Timeout,
            FailureKind::MemoryLimit => Outcome::MemoryLimit,
            FailureKind::StackOverflow => Outcome::StackOverflow,
            FailureKind::Trap => Outcome::Trap,
            FailureKind::Exit => Outcome::Exit,
            FailureKind::InvalidOutput => Outcome::InvalidOutput,
            FailureKind::LoadError => Outcome::LoadError,
            FailureKind::HostError => Outcome::HostError,
            FailureKind::Cancelled => Outcome::Cancelled,
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.outcome().as_str())
    }
}

/// An invocation's failure, as recorded in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolFailure {
    /// How it failed.
    pub kind: FailureKind,
    /// One message, at most the store's free-text limit, no NUL.
    pub message: String,
}

impl ToolFailure {
    /// A failure whose message is made fit for the audit trail: NUL
    /// replaced, and cut at a character boundary to the store's text limit,
    /// saying so, so nothing is dropped silently.
    pub(crate) fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        ToolFailure {
            kind,
            message: bounded(message.into()),
        }
    }

    /// A failure about `text` (output that is not JSON or too large): the
    /// message, then as much of the text as the message limit leaves room
    /// for, cut at a character boundary.
    pub(crate) fn with_excerpt(kind: FailureKind, message: &str, text: &str) -> Self {
        let room = MAX_TEXT_BYTES.saturating_sub(message.len() + 96);
        let cut = floor_char_boundary(text, room.min(text.len()));
        let message = if cut == text.len() {
            format!("{message}; the text: {text}")
        } else {
            format!(
                "{message}; the first {cut} of its {} bytes: {}",
                text.len(),
                &text[..cut]
            )
        };
        ToolFailure::new(kind, message)
    }
}

/// `message` with NUL replaced, at most [`MAX_TEXT_BYTES`] long; a cut
/// message says how long it was.
fn bounded(message: String) -> String {
    let total = message.len();
    let mut clean = if message.contains('\0') {
        message.replace('\0', "\u{FFFD}")
    } else {
        message
    };
    if clean.len() > MAX_TEXT_BYTES {
        let note = format!(" [cut: the message was {total} bytes]");
        let cut = floor_char_boundary(&clean, MAX_TEXT_BYTES - note.len());
        clean.truncate(cut);
        clean.push_str(&note);
    }
    clean
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Names how a trapped invocation failed; `memory_hit` is the memory cap in
/// force if the guest ran into it.
pub(crate) fn classify(
    error: &wasmtime::Error,
    memory_hit: Option<usize>,
    limits: &Limits,
) -> ToolFailure {
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return ToolFailure::new(
            FailureKind::Exit,
            format!("exited with status {} without returning output", exit.0),
        );
    }
    if error.downcast_ref::<Cancelled>().is_some() {
        return ToolFailure::new(
            FailureKind::Cancelled,
            "cancelled by the caller while it ran",
        );
    }
    let timeout_ms = limits.timeout_duration().as_millis();
    if error.downcast_ref::<DeadlineExceeded>().is_some() {
        return ToolFailure::new(
            FailureKind::Timeout,
            format!("timed out: the tool's store calls ran past its limit of {timeout_ms} ms"),
        );
    }
    let (kind, message) = match error.downcast_ref::<Trap>().copied() {
        Some(Trap::Interrupt) => (
            FailureKind::Timeout,
            format!("timed out: the tool ran past its limit of {timeout_ms} ms"),
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
    ToolFailure::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
            .timeout(std::time::Duration::from_millis(250))
            .unwrap()
    }

    #[test]
    fn each_wasmtime_error_gets_its_kind() {
        let kind = |e: wasmtime::Error, memory: Option<usize>| classify(&e, memory, &limits());
        let exit = kind(wasmtime::Error::new(wasmtime_wasi::I32Exit(3)), None);
        assert_eq!(exit.kind, FailureKind::Exit);
        assert_eq!(
            exit.message,
            "exited with status 3 without returning output"
        );
        let late = kind(wasmtime::Error::new(DeadlineExceeded), None);
        assert_eq!(late.kind, FailureKind::Timeout);
        assert!(late.message.contains("250 ms"));
        assert_eq!(
            kind(wasmtime::Error::new(Trap::Interrupt), None).kind,
            FailureKind::Timeout
        );
        assert_eq!(
            kind(wasmtime::Error::new(Trap::StackOverflow), None).kind,
            FailureKind::StackOverflow
        );
        let memory = kind(
            wasmtime::Error::new(Trap::UnreachableCodeReached),
            Some(64 << 20),
        );
        assert_eq!(memory.kind, FailureKind::MemoryLimit);
        assert!(memory.message.contains("64 MiB"));
        assert_eq!(
            kind(wasmtime::Error::new(Trap::UnreachableCodeReached), None).kind,
            FailureKind::Trap
        );
        assert_eq!(
            kind(wasmtime::Error::msg("something else"), None).message,
            "trapped: something else"
        );
    }

    #[test]
    fn messages_are_bounded_at_a_character_boundary_and_say_so() {
        let long = "é".repeat(MAX_TEXT_BYTES);
        let failure = ToolFailure::new(FailureKind::ToolError, format!("a\0b{long}"));
        assert!(failure.message.len() <= MAX_TEXT_BYTES);
        assert!(failure.message.starts_with("a\u{FFFD}bé"));
        assert!(failure
            .message
            .ends_with(&format!("[cut: the message was {} bytes]", 3 + long.len())));

        let text = "x".repeat(200_000);
        let excerpt = ToolFailure::with_excerpt(FailureKind::InvalidOutput, "too big", &text);
        assert!(excerpt.message.len() <= MAX_TEXT_BYTES);
        assert!(excerpt.message.starts_with("too big; the first "));
        assert!(excerpt.message.contains("of its 200000 bytes: xxx"));
        let short = ToolFailure::with_excerpt(FailureKind::InvalidOutput, "not JSON", "oops");
        assert_eq!(short.message, "not JSON; the text: oops");
    }
}
