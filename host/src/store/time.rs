//! Times as rows hold them: the one text form vibe-store writes, the
//! spellings it reads, and [`Timestamp`], a stored time that may not be one.
//!
//! Other programs share the database (the ARCH-001 layout is the point), and
//! they stamp rows their own way: `2026-11-30 09:35:01` (SQLite's
//! `datetime('now')`), `2026-11-30T09:35:01.828406` (Python's
//! `isoformat()`), `2026-11-30 09:35:01.828406+00` (PostgreSQL's
//! `now()::text`). Compared as text those sort by their characters, not by
//! the instant they name, so every filter, order and prune compares
//! instants instead, on both backends, by the same grammar:
//!
//! ```text
//! YYYY-MM-DD [ (T | space) hh:mm [ :ss [ .fraction ] ] [ spaces ] [ Z | z | ±hh | ±hhmm | ±hh:mm ] ]
//! ```
//!
//! with years 0001 to 9999, real calendar dates, hours 00 to 23, minutes and
//! seconds 00 to 59, offsets up to ±14:59, and no zone read as UTC. Anything else ("yesterday",
//! an epoch number, `2026-02-30`) is not a time: it is kept and shown as
//! written, never matched by a time filter, never pruned by age.
//!
//! The database compares instants through one expression per dialect, in
//! the indexes of migration 5 and in every statement (`sqlite_instant!`,
//! PostgreSQL's `vibe_instant(text)` function): SQLite's `julianday` of the
//! text with its offset spelled as SQLite reads it (to the millisecond,
//! SQLite's precision); PostgreSQL's `timestamptz` (to the microsecond).
//! A value that is not a time maps to a floor below every instant (`-1`,
//! `-infinity`).

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Serialize, Serializer};

/// Timestamps as the store writes them: RFC 3339 UTC with microseconds,
/// fixed width (`2026-11-27T01:39:01.123456Z`).
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The instant a stored time names, when it is one of the spellings in the
/// [module's grammar](self); `None` otherwise. Fractions finer than a
/// nanosecond are dropped.
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let digits = |from: usize, n: usize| -> Option<u32> {
        let s = b.get(from..from + n)?;
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(0, 4)?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, digits(5, 2)?, digits(8, 2)?)
        .filter(|_| year >= 1)?;
    if b.len() == 10 {
        return Some(date.and_time(NaiveTime::MIN).and_utc());
    }
    if !matches!(b[10], b'T' | b' ') || b.get(13) != Some(&b':') {
        return None;
    }
    let (hour, minute) = (digits(11, 2)?, digits(14, 2)?);
    let mut i = 16;
    let (mut second, mut nanos) = (0, 0);
    if b.get(i) == Some(&b':') {
        second = digits(i + 1, 2)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            if i == start {
                return None;
            }
            nanos *= 10u32.pow(9u32.saturating_sub(u32::try_from(i - start).ok()?));
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let offset_minutes: i64 = match &b[i..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest.len() {
                2 => (digits(i + 1, 2)?, 0),
                4 => (digits(i + 1, 2)?, digits(i + 3, 2)?),
                5 if rest[2] == b':' => (digits(i + 1, 2)?, digits(i + 4, 2)?),
                _ => return None,
            };
            // SQLite reads offsets up to 14 hours, the widest in use.
            if h > 14 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return None,
    };
    date.and_time(time)
        .and_utc()
        .checked_sub_signed(Duration::minutes(offset_minutes))
        .filter(|at| (1..=9999).contains(&at.year()))
}

/// The instant of a stored time in SQLite, as SQL text: whole milliseconds
/// since the Julian epoch, or `-1` for text outside the [grammar](self)
/// (and for NULL). The text is taken apart with `substr`, `ltrim`, `GLOB`
/// and `CAST`, and only its validated date is given to `julianday`: SQLite's
/// own date parser differs between versions (what `date('2023-02-29')`
/// returns, trailing spaces, text after a NUL), and the indexes of
/// migration 5 must come out the same whichever SQLite writes the table.
/// A statement compares a parameter through it too, so both sides of a
/// comparison are read alike.
macro_rules! sqlite_instant {
    ($x:literal) => {
        concat!(
            "CASE WHEN ",
            $x,
            " GLOB '",
            $crate::store::time::sqlite_ours!(),
            "' AND substr(",
            $x,
            ", 12, 2) < '24' AND ",
            $crate::store::time::sqlite_real_date!($x),
            " THEN CAST(julianday(substr(",
            $x,
            ", 1, 10)) * 86400000 AS INTEGER)",
            " + ((CAST(substr(",
            $x,
            ", 12, 2) AS INTEGER) * 60 + CAST(substr(",
            $x,
            ", 15, 2) AS INTEGER)) * 60 + CAST(substr(",
            $x,
            ", 18, 2) AS INTEGER)) * 1000",
            " + CAST(substr(",
            $x,
            ", 21, 3) AS INTEGER)",
            " ELSE coalesce(CASE WHEN ",
            $crate::store::time::sqlite_well_formed!($x),
            " THEN (CASE WHEN ",
            $crate::store::time::sqlite_millis!($x),
            " BETWEEN 148731163200000 AND 464269060799999 THEN ",
            $crate::store::time::sqlite_millis!($x),
            " END) END, -1) END"
        )
    };
}
/// The store's own form, which every row it writes has: the first branch
/// of [`sqlite_instant!`], a few microseconds per indexed write where the
/// general reading costs twenty.
macro_rules! sqlite_ours {
    () => {
        "[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z"
    };
}
/// Whether the first ten characters of `$x`, digits and dashes already, are
/// a date the calendar has: the Julian day of a well-formed date read back
/// (SQLite computes a day number from any month and day in range, and
/// prints a day number as the date it is, alike in every version).
macro_rules! sqlite_real_date {
    ($x:literal) => {
        concat!(
            "substr(",
            $x,
            ", 1, 4) <> '0000' AND date(julianday(substr(",
            $x,
            ", 1, 10))) = substr(",
            $x,
            ", 1, 10)"
        )
    };
}
/// Whether `$x` is in the grammar: ASCII (no NUL), a real date, and
/// optionally a time, seconds, a fraction, spaces and a zone.
macro_rules! sqlite_well_formed {
    ($x:literal) => {
        concat!(
            "(length(CAST(",
            $x,
            " AS BLOB)) = length(",
            $x,
            ")",
            " AND ",
            $x,
            " GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]*'",
            " AND ",
            $crate::store::time::sqlite_real_date!($x),
            " AND (length(",
            $x,
            ") = 10 OR (substr(",
            $x,
            ", 11, 1) IN ('T', ' ')",
            " AND substr(",
            $x,
            ", 12, 5) GLOB '[0-2][0-9]:[0-5][0-9]' AND substr(",
            $x,
            ", 12, 2) < '24'",
            " AND (substr(",
            $x,
            ", 17, 1) <> ':' OR substr(",
            $x,
            ", 18, 2) GLOB '[0-5][0-9]')",
            " AND (NOT ",
            $crate::store::time::sqlite_fraction!($x),
            " OR length(substr(",
            $x,
            ", 21)) > length(ltrim(substr(",
            $x,
            ", 21), '0123456789')))",
            " AND (",
            $crate::store::time::sqlite_zone!($x),
            " IN ('', 'Z', 'z') OR ((",
            $crate::store::time::sqlite_zone!($x),
            " GLOB '[+-][0-1][0-9]' OR ",
            $crate::store::time::sqlite_zone!($x),
            " GLOB '[+-][0-1][0-9][0-5][0-9]' OR ",
            $crate::store::time::sqlite_zone!($x),
            " GLOB '[+-][0-1][0-9]:[0-5][0-9]') AND substr(",
            $crate::store::time::sqlite_zone!($x),
            ", 2, 2) <= '14')))))"
        )
    };
}
/// Whether `$x` has seconds with a fraction.
macro_rules! sqlite_fraction {
    ($x:literal) => {
        concat!(
            "(substr(",
            $x,
            ", 17, 1) = ':' AND substr(",
            $x,
            ", 20, 1) = '.')"
        )
    };
}
/// What follows the time of `$x` (its seconds and fraction), spaces
/// trimmed: the zone.
macro_rules! sqlite_zone {
    ($x:literal) => {
        concat!(
            "ltrim(CASE WHEN ",
            $crate::store::time::sqlite_fraction!($x),
            " THEN ltrim(substr(",
            $x,
            ", 21), '0123456789') WHEN substr(",
            $x,
            ", 17, 1) = ':' THEN substr(",
            $x,
            ", 20) ELSE substr(",
            $x,
            ", 17) END, ' ')"
        )
    };
}
/// The milliseconds since the Julian epoch that well-formed `$x` names:
/// its date's Julian day (exact: a half day), then its time less its
/// offset, the fraction cut to milliseconds.
macro_rules! sqlite_millis {
    ($x:literal) => {
        concat!(
            "(CAST(julianday(substr(",
            $x,
            ", 1, 10)) * 86400000 AS INTEGER) + ((CAST(substr(",
            $x,
            ", 12, 2) AS INTEGER) * 60 + CAST(substr(",
            $x,
            ", 15, 2) AS INTEGER) - CASE WHEN ",
            $crate::store::time::sqlite_zone!($x),
            " IN ('', 'Z', 'z') THEN 0 ELSE (CASE substr(",
            $crate::store::time::sqlite_zone!($x),
            ", 1, 1) WHEN '-' THEN -1 ELSE 1 END) * (CAST(substr(",
            $crate::store::time::sqlite_zone!($x),
            ", 2, 2) AS INTEGER) * 60 + CAST(substr(replace(",
            $crate::store::time::sqlite_zone!($x),
            ", ':', ''), 4, 2) AS INTEGER)) END) * 60 + CASE WHEN substr(",
            $x,
            ", 17, 1) = ':' THEN CAST(substr(",
            $x,
            ", 18, 2) AS INTEGER) ELSE 0 END) * 1000",
            " + CASE WHEN ",
            $crate::store::time::sqlite_fraction!($x),
            " THEN CAST(substr(substr(",
            $x,
            ", 21, min(3, length(substr(",
            $x,
            ", 21)) - length(ltrim(substr(",
            $x,
            ", 21), '0123456789')))) || '000', 1, 3) AS INTEGER) ELSE 0 END)"
        )
    };
}
pub(crate) use {
    sqlite_fraction, sqlite_instant, sqlite_millis, sqlite_ours, sqlite_real_date,
    sqlite_well_formed, sqlite_zone,
};

/// A time as a row holds it: the instant it names, or, when another program
/// wrote something that is not one of the spellings the store reads, the
/// text itself, kept and shown as written.
///
/// The spellings read: `YYYY-MM-DD`, then optionally `T` or a space,
/// `hh:mm`, `:ss`, a fraction of any length, spaces, and a zone (`Z`, `z`,
/// `±hh`, `±hhmm`, `±hh:mm` up to 14 hours); no zone is UTC. Years 0001 to
/// 9999, real calendar dates, hours 00 to 23, minutes and seconds 00 to 59.
/// Stores compare times by these instants (SQLite to the millisecond,
/// PostgreSQL to the microsecond); text that is not a time matches no
/// time filter.
///
/// Prints and serialises as the store's form of the instant
/// (`2026-11-27T01:39:01.123456Z`) or the text as stored. Orders as the
/// database does: text that is not a time before every instant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timestamp {
    /// Text that names no instant, as stored.
    NotATime(String),
    /// A time: the instant the stored text names.
    At(DateTime<Utc>),
}

impl Timestamp {
    /// Reads stored text.
    pub fn from_stored(text: &str) -> Timestamp {
        parse_timestamp(text).map_or_else(|| Timestamp::NotATime(text.to_owned()), Timestamp::At)
    }

    /// The instant, when the stored text names one.
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        match self {
            Timestamp::At(at) => Some(*at),
            Timestamp::NotATime(_) => None,
        }
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Timestamp::At(at)
    }
}

impl PartialEq<DateTime<Utc>> for Timestamp {
    fn eq(&self, other: &DateTime<Utc>) -> bool {
        self.instant().as_ref() == Some(other)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timestamp::At(at) => f.write_str(&format_timestamp(*at)),
            Timestamp::NotATime(text) => f.write_str(text),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Option<String> {
        parse_timestamp(text).map(format_timestamp)
    }

    #[test]
    fn every_spelling_names_its_instant() {
        let ours = "2026-11-27T01:39:01.123456Z";
        assert_eq!(read(ours).as_deref(), Some(ours));
        for (text, expected) in [
            ("2025-01-02 03:04:05", "2025-01-02T03:04:05.000000Z"),
            ("2025-01-02T03:04:05Z", "2025-01-02T03:04:05.000000Z"),
            ("2025-01-02T03:04:05z", "2025-01-02T03:04:05.000000Z"),
            ("2025-01-02T03:04:05.5+01:00", "2025-01-02T02:04:05.500000Z"),
            ("2025-01-02T03:04:05.5+0100", "2025-01-02T02:04:05.500000Z"),
            (
                "2025-01-02 03:04:05.828406+00",
                "2025-01-02T03:04:05.828406Z",
            ),
            ("2025-01-02 03:04:05-02", "2025-01-02T05:04:05.000000Z"),
            ("2025-01-02 03:04:05 +02:00", "2025-01-02T01:04:05.000000Z"),
            ("2025-01-02T03:04", "2025-01-02T03:04:00.000000Z"),
            ("2025-01-02T00:30+01:00", "2025-01-01T23:30:00.000000Z"),
            (
                "2025-01-02T03:04:05.1234567891",
                "2025-01-02T03:04:05.123456Z",
            ),
            ("2025-01-02", "2025-01-02T00:00:00.000000Z"),
            ("0001-01-01", "0001-01-01T00:00:00.000000Z"),
        ] {
            assert_eq!(read(text).as_deref(), Some(expected), "{text}");
        }
        for not_a_time in [
            "yesterday",
            "",
            "1764495000",
            "2026-02-30",
            "2026-13-01",
            "0000-01-01",
            "2026-11-30T24:00:00",
            "2026-11-30T23:60",
            "2026-11-30T23:59:60",
            "2026-11-30T09:35:01.",
            "2026-11-30T09:35:01+2",
            "2026-11-30T09:35:01+02:0",
            "2026-11-30T09:35:01+24:00",
            "2026-11-30T09:35:01+15:00",
            "2026-11-30T09:35:01 utc",
            "2026-11-30TT09:35",
            "2026-11-30t09:35",
            " 2026-11-30",
            "2026-11-30 ",
            "2026-11-30Z",
            "+2026-11-30",
        ] {
            assert_eq!(read(not_a_time), None, "{not_a_time:?}");
        }
    }

    /// SQLite's expression reads every spelling as Rust does (to the
    /// millisecond, SQLite's precision), and text outside the grammar as
    /// the floor, -1.
    #[test]
    fn sqlite_reads_the_grammar_as_rust_does() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let sql = concat!(
            "SELECT CASE WHEN ",
            sqlite_instant!("?1"),
            " = -1 THEN NULL ELSE ",
            "strftime('%Y-%m-%dT%H:%M:%fZ', ",
            sqlite_instant!("?1"),
            " / 86400000.0) END"
        );
        let spellings = [
            "2026-11-27T01:39:01.123456Z",
            "2025-01-02 03:04:05",
            "2025-01-02T03:04:05z",
            "2025-01-02T03:04:05.5+01:00",
            "2025-01-02T03:04:05.5+0100",
            "2025-01-02 03:04:05.828406+00",
            "2025-01-02 03:04:05-02",
            "2025-01-02 03:04:05 +02:00",
            "2025-01-02T00:30+01:00",
            "2024-02-29",
            "0001-01-01",
            "9999-12-31T23:59:59.998Z",
            "yesterday",
            "now",
            "2461000.5",
            "2026-02-30",
            "2026-11-30T24:00:00",
            "2026-11-30T23:59:60",
            "2026-11-30T09:35:01+15:00",
            "2026-11-30T09:35:01.",
            "2026-11-30TT09:35",
            "2026-11-30 ",
            "0000-01-01",
            "2023-02-29",
            "2023-02-29T12:00:00.000000Z",
            "2026-11-30T24:00:00.000000Z",
            "2026-19-30T12:00:00.000000Z",
            "0000-01-01T12:00:00.000000Z",
            "2024-02-29T12:00:00Z",
            "2026-04-31",
            "2020-01-01T00:00:00Z ",
            "2020-01-01T00:00:00\t",
            "2020-01-01T00:00:00Z\0x",
            "2020-01-01T00:00:00 \tZ",
            "2020-01-01T00:00:00+05:00 ",
            "2020-01-01T00:00:00.5Z",
            "2020-01-01T00:00:00.1234+0545",
            "2020-01-01T00:00 +05",
            "2020-01-01T00:00:00.9999999Z",
            "9999-12-31T23:59-14:00",
            "9999-12-31T23:59:59.9999999",
            "0001-01-01T00:00+14:00",
            "0001-01-01T00:00-14:00",
            "2020-01-01T09:35.5",
            "2020-01-01T09:35:01.",
            "2020-01-01T09:35:0",
            "2020-01-01T0\u{663}:35",
            "\u{ff12}020-01-01",
        ];
        let long = format!("2020-01-01T00:00:00.{}Z", "9".repeat(200));
        for text in spellings.iter().copied().chain([long.as_str()]) {
            let sqlite: Option<String> = conn.query_row(sql, [text], |r| r.get(0)).unwrap();
            let rust = parse_timestamp(text).map(|at| {
                DateTime::from_timestamp_millis(at.timestamp_millis())
                    .unwrap()
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string()
            });
            assert_eq!(sqlite, rust, "{text:?}");
        }
    }

    #[test]
    fn the_indexes_are_on_the_expression_the_statements_compare() {
        let sqlite = include_str!("../../../schema/0005_instants.sql");
        for (table, column) in [
            ("tool_calls", "timestamp"),
            ("decisions", "timestamp"),
            ("missions", "created_at"),
        ] {
            let expression = SQLITE_INSTANT_OF_COLUMN.replace("{}", column);
            assert!(
                sqlite.contains(&format!("ON {table}({expression}")),
                "{table}.{column}"
            );
        }
    }

    const SQLITE_INSTANT_OF_COLUMN: &str = sqlite_instant!("{}");

    #[test]
    fn a_stored_time_prints_as_the_store_writes_it_or_as_it_was_written() {
        let at = Timestamp::from_stored("2026-11-27 01:39:01.5");
        assert_eq!(at.to_string(), "2026-11-27T01:39:01.500000Z");
        assert_eq!(at, parse_timestamp("2026-11-27T01:39:01.5Z").unwrap());
        let odd = Timestamp::from_stored("yesterday");
        assert_eq!((odd.to_string(), odd.instant()), ("yesterday".into(), None));
        assert_eq!(
            serde_json::to_string(&[at, odd]).unwrap(),
            r#"["2026-11-27T01:39:01.500000Z","yesterday"]"#
        );
    }
}
