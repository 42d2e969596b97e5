//! Lowercase hex, the one text form of every digest vibe-store writes
//! (component SHA-256s, chain hashes, span ids).

use std::fmt::Write;

/// `bytes` as lowercase hex, two digits a byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
