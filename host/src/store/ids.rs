//! Identifiers and times: [`MissionId`], [`ToolCallId`], [`DecisionId`],
//! [`PlaybookRunId`].
//!
//! Each is parsed once, at the edge (the CLI, the WIT boundary, an
//! embedder), and then passed around as a type: a function that takes a
//! `&MissionId` cannot be handed a tool name by mistake.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use super::error::{Result, StoreError};
use super::model::MAX_NAME_BYTES;
pub(crate) use super::time::{format_timestamp, parse_timestamp};

/// A mission's id, as the `mission_uuid` column holds it.
///
/// vibe-store creates UUID v4 ids. Text that is a UUID in any form the
/// `uuid` crate reads (upper case, without hyphens, braced, `urn:uuid:`) is
/// normalised to the canonical lowercase hyphenated form, so every spelling
/// of one id finds one mission. The ARCH-001 layout allows other text, and
/// other programs write it (`test-001`): such ids are kept as given
/// (non-empty, at most 256 bytes, no NUL). Cheap to clone: the text is shared.
///
/// ```
/// use vibe_store::MissionId;
///
/// let id: MissionId = "3F2A51C0A4E84D5C9D3B0E1F2A3B4C5D".parse()?;
/// assert_eq!(id.as_str(), "3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d");
/// assert_eq!(MissionId::parse("test-001")?.as_str(), "test-001");
/// assert!(MissionId::parse("").is_err());
/// # Ok::<(), vibe_store::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MissionId(std::sync::Arc<str>);

impl MissionId {
    /// A new random (v4) id.
    pub fn new_v4() -> Self {
        MissionId(uuid::Uuid::new_v4().to_string().into())
    }

    /// Reads an id from outside: a UUID in any form, normalised, or other
    /// text kept as given.
    pub fn parse(text: &str) -> Result<Self> {
        if let Ok(uuid) = uuid::Uuid::parse_str(text.trim()) {
            return Ok(MissionId(uuid.to_string().into()));
        }
        if text.is_empty() || text.len() > MAX_NAME_BYTES || text.contains('\0') {
            return Err(StoreError::invalid(format!(
                "{text:?} is not a mission id (expected a UUID, or other text of 1 to {MAX_NAME_BYTES} bytes without NUL)"
            )));
        }
        Ok(MissionId(text.into()))
    }

    /// An id read back from the database, kept exactly as stored.
    pub(crate) fn stored(text: String) -> Self {
        MissionId(text.into())
    }

    /// The id's text, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The spellings a lookup tries, in order of preference: the id as
    /// given, then, when it is a UUID, its lower-case and upper-case
    /// hyphenated forms (the canonical form, and the one other programs
    /// write upper-case); other text three times as given. A UUID stored in
    /// mixed case is found only by its exact text.
    pub(crate) fn spellings(&self) -> [std::borrow::Cow<'_, str>; 3] {
        use std::borrow::Cow;
        match uuid::Uuid::parse_str(self.as_str()) {
            Ok(uuid) => {
                let mut buf = uuid::Uuid::encode_buffer();
                let lower = uuid.hyphenated().encode_lower(&mut buf).to_owned();
                let upper = uuid.hyphenated().encode_upper(&mut buf).to_owned();
                [Cow::Borrowed(self.as_str()), lower.into(), upper.into()]
            }
            Err(_) => std::array::from_fn(|_| Cow::Borrowed(self.as_str())),
        }
    }
}

impl FromStr for MissionId {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self> {
        MissionId::parse(text)
    }
}

impl fmt::Display for MissionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MissionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MissionId({})", &self.0)
    }
}

/// A mission id is its text: it can be used wherever a `&str` is wanted.
impl std::ops::Deref for MissionId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for MissionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for MissionId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for MissionId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl From<MissionId> for String {
    fn from(id: MissionId) -> Self {
        id.0.to_string()
    }
}

impl Serialize for MissionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// The row id as the database holds it.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                $name(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl PartialEq<i64> for $name {
            fn eq(&self, other: &i64) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = StoreError;

            fn from_str(text: &str) -> Result<Self> {
                text.trim().parse().map($name).map_err(|_| {
                    StoreError::invalid(format!("{text:?} is not a row id (a whole number)"))
                })
            }
        }
    };
}

row_id!(
    /// A row of `tool_calls`: ids grow in commit order within a database.
    ToolCallId
);
row_id!(
    /// A row of `decisions`: ids grow in commit order within a database.
    DecisionId
);
row_id!(
    /// A row of `playbook_runs`: ids grow in commit order within a database.
    PlaybookRunId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_uuid_is_one_id() {
        let canonical = "3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d";
        for spelling in [
            canonical,
            "3F2A51C0-A4E8-4D5C-9D3B-0E1F2A3B4C5D",
            "3f2a51c0a4e84d5c9d3b0e1f2a3b4c5d",
            "{3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d}",
            "urn:uuid:3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d",
        ] {
            assert_eq!(MissionId::parse(spelling).unwrap().as_str(), canonical);
        }
        assert_eq!(MissionId::parse("test-001").unwrap().as_str(), "test-001");
        assert!(MissionId::parse("").is_err());
        assert!(MissionId::parse("a\0b").is_err());
        assert!(MissionId::parse(&"x".repeat(257)).is_err());
    }

    #[test]
    fn a_lookup_tries_the_id_as_given_then_both_cases_of_a_uuid() {
        let stored = MissionId::stored("3F2a51C0-A4E8-4D5C-9D3B-0E1F2A3B4C5D".into());
        assert_eq!(
            stored.spellings(),
            [
                "3F2a51C0-A4E8-4D5C-9D3B-0E1F2A3B4C5D",
                "3f2a51c0-a4e8-4d5c-9d3b-0e1f2a3b4c5d",
                "3F2A51C0-A4E8-4D5C-9D3B-0E1F2A3B4C5D"
            ]
        );
        let other = MissionId::parse("Test-001").unwrap();
        assert_eq!(other.spellings(), ["Test-001"; 3]);
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn ids_read_print_and_compare_as_their_text() {
        let id = MissionId::parse("test-001").unwrap();
        assert_eq!(id.to_string(), "test-001");
        assert_eq!(format!("{id:?}"), "MissionId(test-001)");
        assert_eq!(&*id, "test-001");
        assert_eq!(id.as_ref() as &str, "test-001");
        assert!(id == "test-001" && id == *"test-001");
        assert_eq!(String::from(id.clone()), "test-001");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""test-001""#);
        assert_eq!("test-001".parse::<MissionId>().unwrap(), id);

        let call: ToolCallId = " 42 ".parse().unwrap();
        assert_eq!((call.get(), i64::from(call)), (42, 42));
        assert!(call == 42 && call.to_string() == "42");
        assert_eq!(serde_json::to_string(&call).unwrap(), "42");
        assert!("x".parse::<DecisionId>().is_err());
        assert_eq!(DecisionId::from(7).get(), 7);
    }
}
