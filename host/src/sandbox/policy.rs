//! What an invocation may touch ([`Grants`], and the [`Scope`] that decides
//! each access) and how much it may use ([`Limits`]). Both are fixed by the
//! host before the guest starts; nothing the guest does can change them.
//!
//! Like wasmtime-wasi's `AllowedNetworkUses`, the permission type owns its
//! checks: the host's adapters only ask `Scope`, so every access decision is
//! made here, once, and tested here without any WebAssembly.

use std::collections::HashSet;
use std::time::Duration;

use crate::store::{
    MissionId, StoreError, MAX_JSON_BYTES, MAX_PAGE_ROWS, PAGE_BYTES_PER_JSON_LIMIT,
};

/// Extra permissions beyond the default. By default a tool may read and
/// write only the mission it was invoked for (and missions it created, if it
/// may create them). Built up from [`Grants::none`]:
///
/// ```
/// use vibe_store::sandbox::Grants;
///
/// let grants = Grants::none().with_create_missions();
/// assert!(grants.create_missions() && !grants.read_all_missions());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants {
    create_missions: bool,
    read_all_missions: bool,
}

impl Grants {
    /// Nothing beyond the invoked mission.
    pub fn none() -> Self {
        Grants::default()
    }

    /// May call `create-mission`; the new missions become writable by it.
    pub fn with_create_missions(mut self) -> Self {
        self.create_missions = true;
        self
    }

    /// May read any mission and call `get-mission-history`.
    pub fn with_read_all_missions(mut self) -> Self {
        self.read_all_missions = true;
        self
    }

    /// Whether `create-mission` is granted.
    pub fn create_missions(&self) -> bool {
        self.create_missions
    }

    /// Whether reading every mission is granted.
    pub fn read_all_missions(&self) -> bool {
        self.read_all_missions
    }
}

/// A refused access: what was asked, and what would have allowed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Denied(pub(crate) String);

/// What one invocation may touch: the mission it was invoked for, the
/// missions it created, and what its grants add. Every access decision of
/// the sandbox is one of its checks, made before any lookup, so a denial
/// says nothing about whether the mission exists.
#[derive(Debug)]
pub(crate) struct Scope {
    mission: MissionId,
    grants: Grants,
    created: HashSet<MissionId>,
    /// No mission at all (a tool describing itself): everything is refused.
    sealed: bool,
}

/// Why a sealed scope refuses.
const SEALED: &str = "a tool describing itself runs with no mission: store calls are refused";

impl Scope {
    pub(crate) fn new(mission: MissionId, grants: Grants) -> Self {
        Scope {
            mission,
            grants,
            created: HashSet::new(),
            sealed: false,
        }
    }

    /// A scope that refuses every store call.
    pub(crate) fn sealed() -> Self {
        Scope {
            sealed: true,
            ..Scope::new(MissionId::stored(String::new()), Grants::default())
        }
    }

    /// Refused outright when sealed.
    fn unsealed(&self) -> Result<(), Denied> {
        match self.sealed {
            true => Err(Denied(SEALED.into())),
            false => Ok(()),
        }
    }

    /// The mission the invocation is for.
    pub(crate) fn mission(&self) -> &MissionId {
        &self.mission
    }

    /// The invoked mission, or one this invocation created.
    fn owns(&self, mission: &MissionId) -> bool {
        *mission == self.mission || self.created.contains(mission)
    }

    /// Writing (logging, deciding, memory, status) to `mission`.
    pub(crate) fn check_write(&self, mission: &MissionId) -> Result<(), Denied> {
        self.unsealed()?;
        if self.owns(mission) {
            return Ok(());
        }
        Err(Denied(format!(
            "this invocation may write only to mission {}; mission {mission} is not granted",
            self.mission
        )))
    }

    /// Reading `mission` (the mission, its history, its memory).
    pub(crate) fn check_read(&self, mission: &MissionId) -> Result<(), Denied> {
        self.unsealed()?;
        if self.grants.read_all_missions || self.owns(mission) {
            return Ok(());
        }
        Err(Denied(format!(
            "this invocation may read only mission {}; reading mission {mission} needs the read-all-missions grant",
            self.mission
        )))
    }

    /// Creating a mission.
    pub(crate) fn check_create(&self) -> Result<(), Denied> {
        self.unsealed()?;
        if self.grants.create_missions {
            return Ok(());
        }
        Err(Denied(
            "creating missions needs the create-missions grant".into(),
        ))
    }

    /// Listing missions.
    pub(crate) fn check_list(&self) -> Result<(), Denied> {
        self.unsealed()?;
        if self.grants.read_all_missions {
            return Ok(());
        }
        Err(Denied(
            "listing missions needs the read-all-missions grant".into(),
        ))
    }

    /// Records a mission this invocation created: it may write to it.
    pub(crate) fn created(&mut self, mission: MissionId) {
        self.created.insert(mission);
    }
}

/// Per-invocation resource limits. Hitting one ends the invocation (or, for
/// the page and size limits, refuses the store call with `limit-exceeded`);
/// the host and the database are unharmed.
///
/// Each setter checks its range and says it when refusing:
///
/// ```
/// use std::time::Duration;
/// use vibe_store::sandbox::Limits;
///
/// let limits = Limits::default()
///     .timeout(Duration::from_secs(2))?
///     .memory_mb(128)?
///     .max_page_rows(100)?;
/// assert_eq!(limits.timeout_duration(), Duration::from_secs(2));
/// let refused = Limits::default().max_page_rows(5000).unwrap_err();
/// assert!(refused.to_string().contains("1 to 1000"));
/// # Ok::<(), vibe_store::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    timeout: Duration,
    memory_bytes: usize,
    max_page_rows: u32,
    max_json_bytes: usize,
    max_page_bytes: Option<usize>,
    max_output_bytes: usize,
}

/// The ranges the setters accept.
pub mod ranges {
    /// `timeout`, in milliseconds.
    pub const TIMEOUT_MS: std::ops::RangeInclusive<u64> = 1..=3_600_000;
    /// `memory_mb`: a 32-bit linear memory holds at most 4 GiB.
    pub const MEMORY_MB: std::ops::RangeInclusive<usize> = 1..=4096;
    /// `max_page_rows`.
    pub const PAGE_ROWS: std::ops::RangeInclusive<u32> = 1..=crate::store::MAX_PAGE_ROWS;
    /// `max_json_bytes`.
    pub const JSON_BYTES: std::ops::RangeInclusive<usize> = 2..=crate::store::MAX_JSON_BYTES;
    /// `max_page_bytes`: 1 KiB to 256 MiB.
    pub const PAGE_BYTES: std::ops::RangeInclusive<usize> = 1024..=256 * 1024 * 1024;
    /// `max_output_bytes`: up to 16 MiB.
    pub const OUTPUT_BYTES: std::ops::RangeInclusive<usize> = 0..=16 * 1024 * 1024;
}

impl Default for Limits {
    /// 10 s, 64 MiB, 1,000 rows a page, 1 MiB a JSON value, a page budget
    /// of 4 MiB, 64 KiB of stdout and of stderr kept.
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

fn out_of_range<T: std::fmt::Display>(
    what: &str,
    value: T,
    range: &std::ops::RangeInclusive<T>,
) -> StoreError {
    StoreError::invalid(format!(
        "{what} {value} is out of range; it must be {} to {}",
        range.start(),
        range.end()
    ))
}

fn within<T: PartialOrd + std::fmt::Display + Copy>(
    what: &str,
    value: T,
    range: &std::ops::RangeInclusive<T>,
) -> Result<T, StoreError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(out_of_range(what, value, range))
    }
}

impl Limits {
    /// Wall-clock time for the whole invocation, host calls included
    /// (1 ms to 1 hour).
    pub fn timeout(mut self, timeout: Duration) -> Result<Self, StoreError> {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        within("timeout (ms)", ms, &ranges::TIMEOUT_MS)?;
        self.timeout = timeout;
        Ok(self)
    }

    /// Linear memory of the component, in MiB (1 to 4096; at most the
    /// runtime's own maximum when it runs).
    pub fn memory_mb(mut self, megabytes: usize) -> Result<Self, StoreError> {
        within("memory (MiB)", megabytes, &ranges::MEMORY_MB)?;
        self.memory_bytes = megabytes * 1024 * 1024;
        Ok(self)
    }

    /// Rows per history page a guest may ask for (1 to 1,000).
    pub fn max_page_rows(mut self, rows: u32) -> Result<Self, StoreError> {
        self.max_page_rows = within("page rows", rows, &ranges::PAGE_ROWS)?;
        Ok(self)
    }

    /// Bytes of any one JSON value crossing the boundary, the tool's input
    /// and output included (2 to 1 MiB).
    pub fn max_json_bytes(mut self, bytes: usize) -> Result<Self, StoreError> {
        self.max_json_bytes = within("JSON bytes", bytes, &ranges::JSON_BYTES)?;
        Ok(self)
    }

    /// Bytes of row text one history page returned to the tool may hold
    /// (1 KiB to 256 MiB; default [`PAGE_BYTES_PER_JSON_LIMIT`] times the
    /// JSON limit).
    pub fn max_page_bytes(mut self, bytes: usize) -> Result<Self, StoreError> {
        self.max_page_bytes = Some(within("page bytes", bytes, &ranges::PAGE_BYTES)?);
        Ok(self)
    }

    /// Bytes of stdout and of stderr kept from the guest, for the host's
    /// log (0 to 16 MiB); the rest is dropped without failing the guest.
    pub fn max_output_bytes(mut self, bytes: usize) -> Result<Self, StoreError> {
        self.max_output_bytes = within("output bytes", bytes, &ranges::OUTPUT_BYTES)?;
        Ok(self)
    }

    /// The invocation's wall-clock limit.
    pub fn timeout_duration(&self) -> Duration {
        self.timeout
    }

    /// The linear-memory limit, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// The row cap of a history page.
    pub fn page_rows(&self) -> u32 {
        self.max_page_rows
    }

    /// The size limit of a JSON value crossing the boundary.
    pub fn json_bytes(&self) -> usize {
        self.max_json_bytes
    }

    /// The byte budget in force for a history page.
    pub fn page_bytes(&self) -> usize {
        self.max_page_bytes.unwrap_or(
            self.max_json_bytes
                .saturating_mul(PAGE_BYTES_PER_JSON_LIMIT),
        )
    }

    /// Bytes of each output stream kept.
    pub fn output_bytes(&self) -> usize {
        self.max_output_bytes
    }

    /// Checks JSON text that crosses the boundary, within this invocation's
    /// size limit, and keeps it as given.
    pub(crate) fn json(&self, field: &str, text: String) -> Result<crate::store::Json, StoreError> {
        crate::store::Json::parse_within(field, text, self.max_json_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> MissionId {
        MissionId::parse(text).unwrap()
    }

    #[test]
    fn by_default_a_scope_reaches_its_own_mission_only() {
        let scope = Scope::new(id("own"), Grants::none());
        assert_eq!(scope.check_read(&id("own")), Ok(()));
        assert_eq!(scope.check_write(&id("own")), Ok(()));
        let denied = scope.check_read(&id("other")).unwrap_err();
        assert!(denied.0.contains("read-all-missions"), "{denied}");
        assert!(scope.check_write(&id("other")).is_err());
        assert!(scope
            .check_create()
            .unwrap_err()
            .0
            .contains("create-missions"));
        assert!(scope.check_list().is_err());
    }

    #[test]
    fn grants_widen_reads_and_creation_never_foreign_writes() {
        let mut scope = Scope::new(
            id("own"),
            Grants::none()
                .with_read_all_missions()
                .with_create_missions(),
        );
        assert_eq!(scope.check_read(&id("other")), Ok(()));
        assert_eq!(scope.check_list(), Ok(()));
        assert_eq!(scope.check_create(), Ok(()));
        assert!(scope.check_write(&id("other")).is_err());
        scope.created(id("made"));
        assert_eq!(scope.check_write(&id("made")), Ok(()));
        assert!(scope.check_write(&id("other")).is_err());
    }

    #[test]
    fn the_same_mission_in_another_spelling_is_the_same_mission() {
        let canonical = "3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d";
        let scope = Scope::new(id(canonical), Grants::none());
        assert_eq!(
            scope.check_write(&id("3F2A51C0A4E84D5C9D3B0E1F2A3B4C5D")),
            Ok(())
        );
    }

    #[test]
    fn limits_refuse_values_out_of_range_and_name_the_range() {
        let limits = Limits::default();
        for (refused, range) in [
            (limits.max_page_rows(5000).unwrap_err(), "1 to 1000"),
            (limits.max_page_rows(0).unwrap_err(), "1 to 1000"),
            (
                limits.max_json_bytes(99_999_999).unwrap_err(),
                "2 to 1048576",
            ),
            (limits.memory_mb(100_000).unwrap_err(), "1 to 4096"),
            (limits.timeout(Duration::ZERO).unwrap_err(), "1 to 3600000"),
        ] {
            assert!(refused.to_string().contains(range), "{refused}");
        }
        let tight = limits.max_json_bytes(100).unwrap();
        assert_eq!(tight.page_bytes(), 400);
        assert_eq!(tight.max_page_bytes(2048).unwrap().page_bytes(), 2048);
    }
}
