//! Moving missions between databases: `vibe export --format jsonl` and
//! `vibe import`.
//!
//! A mission is one line of JSON: the mission, then its tool calls,
//! decisions, memory and playbook runs, each row as stored (timestamps as
//! their stored text, JSON columns as their stored text, verbatim). Row ids
//! are not exported (they belong to one file): a row's invocation is the
//! position of that invocation's row among its mission's tool calls, and a
//! mission a tool created names the creating mission and position. So an
//! export imported into another database and exported again is the same,
//! byte for byte. Each line ends with the mission's hash chain, entry by
//! entry as stored, and its head (`{"length": N, "hash": ...}`): the rows'
//! `chain_seq` and `chain_hash` travel with them, and since a row's digest
//! names no id, the imported copy verifies exactly as the original does, and
//! a head kept with an export proves later that the original's first N
//! entries are unchanged. Text another program stored in a JSON column that is not
//! strict JSON is exported as a JSON string, named in the row's
//! `invalid_json`, and imported back as the same text.

use std::collections::HashMap;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use serde_json::value::RawValue;

use super::chain::ChainHead;
use super::error::{Result, StoreError};
use super::ids::MissionId;
use super::json::Json;
use super::sqlite::{mission_row_id, SqliteStore};

/// What each table exports: its columns (provenance ids become positions),
/// which of them hold JSON, and its order.
struct Table {
    name: &'static str,
    key: &'static str,
    columns: &'static [&'static str],
    json: &'static [&'static str],
    order: &'static str,
    /// Whether its rows carry `invocation_id`.
    provenance: bool,
}

const MISSIONS: Table = Table {
    name: "missions",
    key: "mission",
    columns: &[
        "mission_uuid",
        "phase",
        "status",
        "created_at",
        "completed_at",
        "metadata",
        "chain_seq",
        "chain_hash",
    ],
    json: &["metadata"],
    order: "id",
    provenance: false,
};

const CHILDREN: [Table; 4] = [
    Table {
        name: "tool_calls",
        key: "tool_calls",
        columns: &[
            "tool_name",
            "args",
            "result",
            "timestamp",
            "duration_ms",
            "success",
            "error_message",
            "component_sha256",
            "component_size",
            "outcome",
            "caller",
            "chain_seq",
            "chain_hash",
        ],
        json: &["args", "result", "caller"],
        order: "id",
        provenance: true,
    },
    Table {
        name: "decisions",
        key: "decisions",
        columns: &[
            "decision_type",
            "rationale",
            "timestamp",
            "agent_name",
            "context",
            "chain_seq",
            "chain_hash",
        ],
        json: &["context"],
        order: "id",
        provenance: true,
    },
    Table {
        name: "agent_memory",
        key: "memory",
        columns: &[
            "key",
            "value",
            "timestamp",
            "ttl",
            "expires_at",
            "chain_seq",
            "chain_hash",
        ],
        json: &["value"],
        order: "key",
        provenance: true,
    },
    Table {
        name: "playbook_runs",
        key: "playbook_runs",
        columns: &[
            "playbook_name",
            "phase",
            "started_at",
            "completed_at",
            "success",
            "metrics",
            "error_message",
            "chain_seq",
            "chain_hash",
        ],
        json: &["metrics"],
        order: "id",
        provenance: false,
    },
];

/// Which missions an export holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportFilter {
    /// These missions; empty: every mission.
    pub missions: Vec<MissionId>,
    /// Only missions created at or after this time.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

impl SqliteStore {
    /// Calls `f` with each mission `filter` selects, oldest first, as one
    /// line of JSON (no newline) and the rows it holds, one mission in
    /// memory at a time.
    pub fn export_jsonl(
        &self,
        filter: &ExportFilter,
        f: &mut dyn FnMut(&MissionId, String, u64) -> Result<()>,
    ) -> Result<()> {
        for (row_id, uuid) in self.export_selection(filter)? {
            let (line, rows) = self.read(|conn| export_mission(conn, row_id))?;
            f(&MissionId::stored(uuid), line, rows)?;
        }
        Ok(())
    }

    /// The rows an export holds: what `filter` selects, counted in one
    /// read (for progress and ETA).
    pub fn export_size(&self, filter: &ExportFilter) -> Result<u64> {
        let missions = self.export_selection(filter)?;
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT 1 + (SELECT COUNT(*) FROM tool_calls WHERE mission_id = ?1)
                          + (SELECT COUNT(*) FROM decisions WHERE mission_id = ?1)
                          + (SELECT COUNT(*) FROM agent_memory WHERE mission_id = ?1)
                          + (SELECT COUNT(*) FROM playbook_runs WHERE mission_id = ?1)",
            )?;
            let mut total = 0u64;
            for (row_id, _) in &missions {
                total += stmt.query_row([row_id], |r| r.get::<_, i64>(0))? as u64;
            }
            Ok(total)
        })
    }

    /// The missions (row id, uuid) `filter` selects, oldest first; an
    /// asked-for mission that is not here is an error.
    pub(super) fn export_selection(&self, filter: &ExportFilter) -> Result<Vec<(i64, String)>> {
        let since = filter
            .since
            .map_or_else(String::new, super::ids::format_timestamp);
        let wanted = serde_json::json!(filter
            .missions
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>())
        .to_string();
        let ids: Vec<(i64, String)> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, mission_uuid FROM missions
                 WHERE created_at >= ?1
                   AND (json_array_length(?2) = 0
                        OR mission_uuid IN (SELECT value FROM json_each(?2)))
                 ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map(rusqlite::params![since, wanted], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        for id in &filter.missions {
            if !ids.iter().any(|(_, uuid)| uuid == id.as_str()) {
                return Err(StoreError::MissionNotFound(id.to_string()));
            }
        }
        Ok(ids)
    }

    /// Imports one exported line: the mission and its rows in one
    /// transaction, keeping uuids, timestamps and JSON text byte for byte.
    /// A mission already present is left alone (importing twice changes
    /// nothing): returns its id and whether it was imported.
    pub fn import_jsonl(&self, line: &str) -> Result<(MissionId, bool)> {
        let export: HashMap<String, Box<RawValue>> = serde_json::from_str(line)
            .map_err(|e| StoreError::invalid(format!("not an exported mission: {e}")))?;
        let part = |key: &str| -> Result<&RawValue> {
            export
                .get(key)
                .map(|raw| &**raw)
                .ok_or_else(|| StoreError::invalid(format!("an exported mission has no {key:?}")))
        };
        let mission = parse_row(part("mission")?)?;
        let uuid = match mission.get("mission_uuid").map(|v| v.get()) {
            Some(text) => MissionId::stored(
                serde_json::from_str::<String>(text)
                    .map_err(|_| StoreError::invalid("mission_uuid must be a string"))?,
            ),
            None => return Err(StoreError::invalid("the mission has no mission_uuid")),
        };
        let children: Vec<Vec<HashMap<String, Box<RawValue>>>> = CHILDREN
            .iter()
            .map(|table| {
                let list: Vec<Box<RawValue>> = serde_json::from_str(part(table.key)?.get())
                    .map_err(|e| StoreError::invalid(format!("{}: {e}", table.key)))?;
                list.iter().map(|raw| parse_row(raw)).collect()
            })
            .collect::<Result<_>>()?;
        let created_by = optional::<Option<CreatedBy>>(&export, "created_by")?.flatten();
        let chain: Vec<ChainEntry> = optional(&export, "chain")?.unwrap_or_default();
        let id = uuid.clone();
        let imported = self.write(move |conn| {
            if mission_row_id(conn, &id).is_ok() {
                return Ok(false);
            }
            let creator = match &created_by {
                Some(by) => conn
                    .prepare_cached(
                        "SELECT t.id FROM tool_calls t JOIN missions m ON m.id = t.mission_id
                         WHERE m.mission_uuid = ?1 ORDER BY t.id LIMIT 1 OFFSET ?2",
                    )?
                    .query_row(rusqlite::params![by.mission, by.invocation], |r| r.get(0))
                    .optional()?,
                None => None,
            };
            insert(
                conn,
                &MISSIONS,
                &mission,
                None,
                &[("invocation_id", creator)],
            )?;
            let mission_id = conn.last_insert_rowid();
            let mut calls: Vec<i64> = Vec::new();
            for (table, rows) in CHILDREN.iter().zip(&children) {
                for row in rows {
                    let invocation = match row.get("invocation").map(|v| v.get()) {
                        None | Some("null") => None,
                        Some(index) => {
                            let index: usize = index.parse().map_err(|_| {
                                StoreError::invalid(format!("invocation {index} is not a position"))
                            })?;
                            Some(*calls.get(index).ok_or_else(|| {
                                StoreError::invalid(format!(
                                    "invocation {index} names no earlier tool call"
                                ))
                            })?)
                        }
                    };
                    insert(
                        conn,
                        table,
                        row,
                        Some(mission_id),
                        &[("invocation_id", invocation)],
                    )?;
                    if table.name == "tool_calls" {
                        calls.push(conn.last_insert_rowid());
                    }
                }
            }
            for (seq, table, row_seq, digest, hash) in &chain {
                conn.prepare_cached(
                    "INSERT INTO row_chain (mission_id, seq, row_table, row_seq, row_digest, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(rusqlite::params![
                    mission_id, seq, table, row_seq, digest, hash
                ])?;
            }
            Ok(true)
        })?;
        Ok((uuid, imported))
    }
}

/// The invocation that created an exported mission.
#[derive(serde::Deserialize)]
struct CreatedBy {
    mission: String,
    invocation: i64,
}

/// One exported chain entry: seq, table, row's position, digest, hash.
type ChainEntry = (i64, String, i64, Option<String>, String);

/// An optional part of an exported line (exports from before it was added
/// have none).
fn optional<T: serde::de::DeserializeOwned>(
    export: &HashMap<String, Box<RawValue>>,
    key: &str,
) -> Result<Option<T>> {
    match export.get(key) {
        None => Ok(None),
        Some(raw) => {
            serde_json::from_str(raw.get()).map_err(|e| StoreError::invalid(format!("{key}: {e}")))
        }
    }
}

/// The mission an exported line holds, and the chain head it recorded.
pub fn exported_chain_head(line: &str) -> Result<(MissionId, ChainHead)> {
    #[derive(serde::Deserialize)]
    struct Exported {
        mission: ExportedMission,
        chain_head: Option<ChainHead>,
    }
    #[derive(serde::Deserialize)]
    struct ExportedMission {
        mission_uuid: String,
    }
    let exported: Exported = serde_json::from_str(line)
        .map_err(|e| StoreError::invalid(format!("not an exported mission: {e}")))?;
    let head = exported.chain_head.ok_or_else(|| {
        StoreError::invalid("the line has no chain_head (exported before chains existed?)")
    })?;
    Ok((MissionId::parse(&exported.mission.mission_uuid)?, head))
}

fn parse_row(raw: &RawValue) -> Result<HashMap<String, Box<RawValue>>> {
    serde_json::from_str(raw.get()).map_err(|e| StoreError::invalid(format!("a row: {e}")))
}

/// Inserts one exported row into `table`: its own columns, plus the
/// mission's row id and the given provenance.
fn insert(
    conn: &Connection,
    table: &Table,
    row: &HashMap<String, Box<RawValue>>,
    mission_id: Option<i64>,
    extra: &[(&str, Option<i64>)],
) -> Result<()> {
    let invalid: Vec<String> = match row.get("invalid_json") {
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|_| StoreError::invalid("invalid_json must list column names"))?,
        None => Vec::new(),
    };
    let mut names: Vec<&str> = Vec::new();
    let mut values: Vec<SqlValue> = Vec::new();
    for &column in table.columns {
        let Some(raw) = row.get(column) else { continue };
        let value = if raw.get() == "null" {
            SqlValue::Null
        } else if table.json.contains(&column) {
            if invalid.iter().any(|c| c == column) {
                SqlValue::Text(serde_json::from_str(raw.get()).map_err(|_| {
                    StoreError::invalid(format!("{column} is named invalid but is no string"))
                })?)
            } else {
                SqlValue::Text(raw.get().to_owned())
            }
        } else {
            match serde_json::from_str::<serde_json::Value>(raw.get()) {
                Ok(serde_json::Value::String(s)) => SqlValue::Text(s),
                Ok(serde_json::Value::Bool(b)) => SqlValue::Integer(i64::from(b)),
                Ok(serde_json::Value::Number(n)) => match n.as_i64() {
                    Some(i) => SqlValue::Integer(i),
                    None => SqlValue::Real(n.as_f64().unwrap_or(f64::NAN)),
                },
                _ => {
                    return Err(StoreError::invalid(format!(
                        "{}.{column} must be a string, number or null",
                        table.name
                    )))
                }
            }
        };
        names.push(column);
        values.push(value);
    }
    if let Some(id) = mission_id {
        names.push("mission_id");
        values.push(SqlValue::Integer(id));
    }
    for (name, value) in extra {
        if let Some(value) = value {
            names.push(name);
            values.push(SqlValue::Integer(*value));
        }
    }
    // Column names come from the constant tables above, never from input.
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        table.name,
        names.join(", "),
        vec!["?"; names.len()].join(", ")
    );
    if invalid.is_empty() {
        conn.prepare_cached(&sql)?
            .execute(params_from_iter(values))?;
        return Ok(());
    }
    // The source held text its JSON check refuses (another program wrote
    // it): kept as it was, this one insert past the schema's CHECK.
    conn.pragma_update(None, "ignore_check_constraints", true)?;
    let inserted = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| stmt.execute(params_from_iter(values)));
    conn.pragma_update(None, "ignore_check_constraints", false)?;
    inserted?;
    Ok(())
}

/// One mission and its rows as a line of JSON; and how many rows it holds.
fn export_mission(conn: &Connection, mission_id: i64) -> Result<(String, u64)> {
    let mut count = 1u64;
    let mut line = String::from("{");
    line.push_str(&format!("\"{}\":", MISSIONS.key));
    let mut missions = rows(conn, &MISSIONS, "id", mission_id, &[])?;
    line.push_str(&missions.pop().unwrap_or_default());
    // Positions of the mission's tool calls, for provenance.
    let positions: HashMap<i64, usize> = {
        let mut stmt =
            conn.prepare_cached("SELECT id FROM tool_calls WHERE mission_id = ?1 ORDER BY id")?;
        let ids = stmt.query_map([mission_id], |r| r.get::<_, i64>(0))?;
        ids.enumerate()
            .map(|(i, id)| id.map(|id| (id, i)))
            .collect::<rusqlite::Result<_>>()?
    };
    for table in &CHILDREN {
        line.push_str(&format!(",\"{}\":[", table.key));
        let provenance: &[(&str, &HashMap<i64, usize>)] = if table.provenance {
            &[("invocation", &positions)]
        } else {
            &[]
        };
        let rows = rows(conn, table, "mission_id", mission_id, provenance)?;
        count += rows.len() as u64;
        line.push_str(&rows.join(","));
        line.push(']');
    }
    line.push_str(",\"created_by\":");
    line.push_str(&created_by(conn, mission_id)?);
    export_chain(conn, mission_id, &mut line)?;
    line.push('}');
    Ok((line, count))
}

/// The invocation that created the mission, if a tool did: its mission and
/// its position among that mission's tool calls.
fn created_by(conn: &Connection, mission_id: i64) -> Result<String> {
    let found: Option<(String, i64)> = conn
        .prepare_cached(
            "SELECT im.mission_uuid,
                    (SELECT COUNT(*) FROM tool_calls e WHERE e.mission_id = i.mission_id
                                                       AND e.id < i.id)
             FROM missions m JOIN tool_calls i ON i.id = m.invocation_id
                             JOIN missions im ON im.id = i.mission_id
             WHERE m.id = ?1",
        )?
        .query_row([mission_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match found {
        Some((uuid, position)) => {
            serde_json::json!({ "mission": uuid, "invocation": position }).to_string()
        }
        None => "null".into(),
    })
}

/// The mission's chain, entry by entry as stored, then its head.
fn export_chain(conn: &Connection, mission_id: i64, line: &mut String) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, row_table, row_seq, row_digest, hash FROM row_chain
         WHERE mission_id = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([mission_id])?;
    line.push_str(",\"chain\":[");
    let mut head: Option<(i64, String)> = None;
    while let Some(r) = rows.next()? {
        let entry = (
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
        );
        if head.is_some() {
            line.push(',');
        }
        line.push_str(&serde_json::to_string(&entry).expect("an entry"));
        head = Some((entry.0, entry.4));
    }
    line.push_str("],\"chain_head\":");
    let (length, hash) = head.map_or((0, None), |(length, hash)| (length, Some(hash)));
    line.push_str(&serde_json::to_string(&ChainHead { length, hash }).expect("a head"));
    Ok(())
}

/// The rows of `table` whose `by` column is `id`, each a JSON object.
fn rows(
    conn: &Connection,
    table: &Table,
    by: &str,
    id: i64,
    provenance: &[(&str, &HashMap<i64, usize>)],
) -> Result<Vec<String>> {
    let has_invocation = !provenance.is_empty();
    // Column and table names come from the constant tables above.
    let sql = format!(
        "SELECT {}{} FROM {} WHERE {by} = ?1 ORDER BY {}",
        table.columns.join(", "),
        if has_invocation {
            ", invocation_id"
        } else {
            ""
        },
        table.name,
        table.order
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut found = stmt.query([id])?;
    let mut out = Vec::new();
    while let Some(r) = found.next()? {
        let mut fields: Vec<String> = Vec::new();
        let mut invalid: Vec<&str> = Vec::new();
        for (i, &column) in table.columns.iter().enumerate() {
            let value = if table.json.contains(&column) {
                match json_column_text(r, i)? {
                    None => "null".to_owned(),
                    Some(json) if json.is_valid() => json.into_string(),
                    Some(json) => {
                        invalid.push(column);
                        serde_json::to_string(json.as_str()).expect("a string")
                    }
                }
            } else {
                scalar(r.get_ref(i)?)
            };
            fields.push(format!("\"{column}\":{value}"));
        }
        if let Some((name, positions)) = provenance.first() {
            let invocation: Option<i64> = r.get(table.columns.len())?;
            let position = invocation
                .and_then(|id| positions.get(&id))
                .map_or_else(|| "null".to_owned(), |p| p.to_string());
            fields.push(format!("\"{name}\":{position}"));
        }
        if !invalid.is_empty() {
            fields.push(format!(
                "\"invalid_json\":{}",
                serde_json::to_string(&invalid).expect("names")
            ));
        }
        out.push(format!("{{{}}}", fields.join(",")));
    }
    Ok(out)
}

fn json_column_text(row: &rusqlite::Row<'_>, idx: usize) -> Result<Option<Json>> {
    Ok(super::sqlite::json_column(row, idx)?)
}

/// A non-JSON column's value as JSON: text as a string, numbers as numbers.
fn scalar(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "null".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => serde_json::to_string(&f).unwrap_or_else(|_| "null".into()),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            serde_json::to_string(&String::from_utf8_lossy(bytes)).expect("a string")
        }
    }
}
