//! What an invocation may touch ([`Grants`]) and how much it may use
//! ([`Limits`]). Both are fixed by the host before the guest starts; nothing
//! the guest does can change them.

use std::time::Duration;

use crate::store::{Json, StoreError, MAX_JSON_BYTES, MAX_PAGE_ROWS};

/// A history page's byte budget, as a multiple of the invocation's JSON
/// limit, unless set explicitly ([`Limits::max_page_bytes`]).
pub const PAGE_BYTES_PER_JSON_LIMIT: usize = 4;

/// Extra permissions beyond the default. By default a tool may read and
/// write only the mission it was invoked for (and missions it created, if it
/// may create them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants {
    /// May call `create-mission`; the new missions become writable by it.
    pub create_missions: bool,
    /// May read any mission and call `get-mission-history`.
    pub read_all_missions: bool,
}

impl Grants {
    /// Nothing beyond the invoked mission.
    pub fn none() -> Self {
        Grants::default()
    }

    pub fn with_create_missions(mut self) -> Self {
        self.create_missions = true;
        self
    }

    pub fn with_read_all_missions(mut self) -> Self {
        self.read_all_missions = true;
        self
    }
}

/// Per-invocation resource limits. Hitting one ends the invocation (or, for
/// the page and size limits, refuses the store call with `limit-exceeded`);
/// the host and the database are unharmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time for the whole invocation, host calls included.
    pub timeout: Duration,
    /// Linear memory of the component, in bytes.
    pub memory_bytes: usize,
    /// Rows per history page a guest may ask for (at most the store's cap).
    pub max_page_rows: u32,
    /// Bytes of any one JSON value crossing the boundary, the tool's input
    /// and output included (at most the store's limit).
    pub max_json_bytes: usize,
    /// Bytes of row text one history page returned to the tool may hold;
    /// `None`: [`PAGE_BYTES_PER_JSON_LIMIT`] times `max_json_bytes`.
    pub max_page_bytes: Option<usize>,
    /// Bytes of stdout and of stderr kept from the guest (for the host's log).
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            memory_bytes: 64 * 1024 * 1024,
            max_page_rows: MAX_PAGE_ROWS,
            max_json_bytes: MAX_JSON_BYTES,
            max_page_bytes: None,
            max_output_bytes: 64 * 1024,
        }
    }
}

impl Limits {
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn memory_mb(mut self, megabytes: usize) -> Self {
        self.memory_bytes = megabytes.saturating_mul(1024 * 1024);
        self
    }

    pub fn max_page_rows(mut self, rows: u32) -> Self {
        self.max_page_rows = rows.min(MAX_PAGE_ROWS);
        self
    }

    pub fn max_json_bytes(mut self, bytes: usize) -> Self {
        self.max_json_bytes = bytes.min(MAX_JSON_BYTES);
        self
    }

    /// A byte budget for each history page the tool reads.
    pub fn max_page_bytes(mut self, bytes: usize) -> Self {
        self.max_page_bytes = Some(bytes);
        self
    }

    /// The byte budget in force for a history page.
    pub fn page_bytes(&self) -> usize {
        self.max_page_bytes.unwrap_or(
            self.max_json_bytes
                .saturating_mul(PAGE_BYTES_PER_JSON_LIMIT),
        )
    }

    /// Checks JSON text that crosses the boundary, within this invocation's
    /// size limit, and keeps it as given.
    pub(crate) fn json(&self, field: &str, text: String) -> Result<Json, StoreError> {
        Json::parse_within(field, text, self.max_json_bytes)
    }
}
