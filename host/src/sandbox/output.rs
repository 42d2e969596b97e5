//! A guest's stdout or stderr: kept in memory up to a cap, the rest counted
//! and dropped. The guest never sees an error for printing too much (Rust's
//! `println!` would panic on one); the host's log says what was cut.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::sync::lock;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Cloneable handle to one captured stream.
#[derive(Clone)]
pub(crate) struct CappedOutput {
    inner: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    dropped: u64,
    cap: usize,
}

impl CappedOutput {
    pub(crate) fn new(cap: usize) -> Self {
        CappedOutput {
            inner: Arc::new(Mutex::new(Captured {
                cap,
                ..Captured::default()
            })),
        }
    }

    fn push(&self, bytes: &[u8]) {
        let mut captured = lock(&self.inner);
        let room = captured.cap.saturating_sub(captured.kept.len());
        let keep = room.min(bytes.len());
        captured.kept.extend_from_slice(&bytes[..keep]);
        captured.dropped += (bytes.len() - keep) as u64;
    }

    /// Whether anything was written at all.
    pub(crate) fn is_untouched(&self) -> bool {
        let captured = lock(&self.inner);
        captured.kept.is_empty() && captured.dropped == 0
    }

    /// Keeps at most `cap` bytes from now on.
    pub(crate) fn set_cap(&self, cap: usize) {
        lock(&self.inner).cap = cap;
    }

    /// What was kept (lossy UTF-8), and how many bytes were dropped.
    pub(crate) fn contents(&self) -> (String, u64) {
        let captured = lock(&self.inner);
        (
            String::from_utf8_lossy(&captured.kept).into_owned(),
            captured.dropped,
        )
    }
}

impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}
