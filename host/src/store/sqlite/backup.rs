//! Checking a backup copy: damage is an error; rows another program wrote
//! that break the schema's constraints are copied faithfully and named.

use std::collections::BTreeSet;

use rusqlite::Connection;
use serde::Serialize;

use crate::store::error::{Result, StoreError};

/// What [`SqliteStore::backup_to`](super::SqliteStore::backup_to) made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Backup {
    /// The copy's size in bytes.
    pub bytes: u64,
    /// Rows that break a CHECK or NOT NULL constraint of the schema (another
    /// program wrote them past it, or with `ignore_check_constraints`):
    /// copied as they are, as a faithful copy must. Empty when the copy
    /// passed `PRAGMA integrity_check` outright.
    pub rows_breaking_constraints: Vec<ConstraintBreach>,
}

/// One row that breaks a constraint of its table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConstraintBreach {
    /// Its table.
    pub table: String,
    /// Which row: `#42` (its row id), or its primary key where the table
    /// has no row ids (`mission_id 3, seq 17` in the ledger).
    pub row: String,
}

/// Most lines `integrity_check` reports: enough to name every table whose
/// rows break a constraint.
const MAX_FINDINGS: u32 = 10_000;

/// Checks a finished copy with `PRAGMA integrity_check`. Anything it finds
/// but rows breaking a CHECK or NOT NULL constraint is damage: an error.
/// Rows breaking a constraint are found one by one (see
/// [`breaking_rows`]) and returned; the copy is left as it was.
pub(super) fn check_copy(copy: &mut Connection) -> Result<Vec<ConstraintBreach>> {
    let findings: Vec<String> = copy
        .prepare(&format!("PRAGMA integrity_check({MAX_FINDINGS})"))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if findings == ["ok"] {
        return Ok(Vec::new());
    }
    let mut tables = BTreeSet::new();
    let mut damage = Vec::new();
    for finding in &findings {
        if let Some(table) = finding.strip_prefix("CHECK constraint failed in ") {
            tables.insert(table.to_owned());
        } else if let Some(column) = finding.strip_prefix("NULL value in ") {
            tables.insert(column.split('.').next().unwrap_or(column).to_owned());
        } else {
            damage.push(finding.as_str());
        }
    }
    if !damage.is_empty() {
        return Err(StoreError::Internal(format!(
            "the backup failed its integrity check (the copy is damaged): {}",
            damage.join("; ")
        )));
    }
    let tx = copy.transaction()?;
    let mut breaches = Vec::new();
    for table in tables {
        breaching_rows(&tx, &table, &mut breaches)?;
    }
    // The rewrites that found them are undone: the copy stays byte for byte.
    tx.rollback()?;
    Ok(breaches)
}

/// Finds the rows of `table` that break one of its constraints, by
/// rewriting ranges of rows with their own values (SQLite checks every
/// constraint of an updated column): a range that passes holds none, one
/// that fails is halved until single rows remain. About `2 k log n`
/// statements for `k` breaking rows of `n`. Rows are ranged by rowid, or by
/// primary key in a `WITHOUT ROWID` table (the ledger). Runs inside a
/// transaction the caller rolls back.
fn breaching_rows(tx: &Connection, table: &str, found: &mut Vec<ConstraintBreach>) -> Result<()> {
    let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let mut columns = Vec::new();
    let mut primary_key: Vec<(i64, String)> = Vec::new();
    tx.prepare(&format!("PRAGMA table_info({})", quoted(table)))?
        .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)?)))?
        .try_for_each(|column| -> rusqlite::Result<()> {
            let (name, pk) = column?;
            if pk > 0 {
                primary_key.push((pk, name.clone()));
            }
            columns.push(name);
            Ok(())
        })?;
    primary_key.sort();
    let has_rowid = tx
        .prepare(&format!("SELECT rowid FROM {} LIMIT 0", quoted(table)))
        .is_ok();
    let key: Vec<String> = if has_rowid || primary_key.is_empty() {
        vec!["rowid".to_owned()]
    } else {
        primary_key.iter().map(|(_, name)| quoted(name)).collect()
    };
    let key_list = key.join(", ");
    let set = columns
        .iter()
        .map(|c| format!("{0} = {0}", quoted(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let n = key.len();
    let low: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
    let high: Vec<String> = (n + 1..=2 * n).map(|i| format!("?{i}")).collect();
    let rewrite = format!(
        "UPDATE {} SET {set} WHERE ({key_list}) BETWEEN ({}) AND ({})",
        quoted(table),
        low.join(", "),
        high.join(", ")
    );
    // Every row's key, in key order.
    let keys: Vec<Vec<rusqlite::types::Value>> = tx
        .prepare(&format!(
            "SELECT {key_list} FROM {} ORDER BY {key_list}",
            quoted(table)
        ))?
        .query_map([], |r| (0..n).map(|i| r.get(i)).collect())?
        .collect::<rusqlite::Result<_>>()?;
    if keys.is_empty() {
        return Ok(());
    }
    let mut ranges = vec![(0, keys.len() - 1)];
    while let Some((low, high)) = ranges.pop() {
        let bounds = keys[low].iter().chain(&keys[high]);
        match tx.execute(&rewrite, rusqlite::params_from_iter(bounds)) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                if low == high {
                    found.push(ConstraintBreach {
                        table: table.to_owned(),
                        row: describe(&key, &keys[low]),
                    });
                } else {
                    let middle = low + (high - low) / 2;
                    ranges.push((middle + 1, high));
                    ranges.push((low, middle));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A row's key as a person reads it: `#42`, or `mission_id 3, seq 17`.
fn describe(key: &[String], values: &[rusqlite::types::Value]) -> String {
    let shown = |v: &rusqlite::types::Value| match v {
        rusqlite::types::Value::Integer(i) => i.to_string(),
        other => format!("{other:?}"),
    };
    match (key, values) {
        ([only], [value]) if only == "rowid" => format!("#{}", shown(value)),
        _ => key
            .iter()
            .zip(values)
            .map(|(k, v)| format!("{} {}", k.trim_matches('"'), shown(v)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
