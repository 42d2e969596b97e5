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

use serde_json::value::RawValue;

use super::backend::Backend;
use super::chain::ChainHead;
use super::error::{Result, StoreError};
use super::ids::MissionId;
use super::json::Json;
use super::model::Skipped;
use super::sql::{mission_row, Dialect, Sql, Value};

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
        "invocation_mission",
        "invocation_seq",
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
            "invocation_mission",
            "invocation_seq",
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
            "invocation_mission",
            "invocation_seq",
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
            "invocation_mission",
            "invocation_seq",
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
#[non_exhaustive]
pub struct ExportFilter {
    /// These missions; empty: every mission.
    pub missions: Vec<MissionId>,
    /// Only missions created at or after this time.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// Calls `f` with each mission `filter` selects, oldest first, as one line
/// of JSON (no newline) and the rows it holds, one mission in memory at a
/// time. A mission that cannot be read is gone past and returned.
pub(crate) fn export_jsonl(
    store: &impl Backend,
    filter: &ExportFilter,
    f: &mut dyn FnMut(&MissionId, String, u64) -> Result<()>,
) -> Result<Vec<Skipped>> {
    export_each(
        store,
        filter,
        &|db, row_id, _| export_mission(db, row_id),
        f,
    )
}

/// How an export writes one mission (row id, uuid): its line and its rows.
pub(crate) type Render = dyn Fn(&mut dyn Sql, i64, &str) -> Result<(String, u64)>;

/// Renders each mission `filter` selects with `render` (row id, uuid) and
/// hands it to `f`, oldest first. A mission whose rows `render` cannot
/// handle ([`StoreError::concerns_one_item`]) is gone past and returned,
/// named; any other error (the database, `f`'s) ends the export.
pub(crate) fn export_each(
    store: &impl Backend,
    filter: &ExportFilter,
    render: &Render,
    f: &mut dyn FnMut(&MissionId, String, u64) -> Result<()>,
) -> Result<Vec<Skipped>> {
    let mut skipped = Vec::new();
    for (row_id, uuid) in export_selection(store, filter)? {
        match store.read_sql(|db| render(db, row_id, &uuid)) {
            Ok((line, rows)) => f(&MissionId::stored(uuid), line, rows)?,
            Err(e) if e.concerns_one_item() => skipped.push(Skipped::mission(uuid, e.to_string())),
            Err(e) => return Err(e),
        }
    }
    if filter.missions.is_empty() && filter.since.is_none() {
        skipped.extend(store.read_sql(orphans)?);
    }
    Ok(skipped)
}

/// Rows whose mission is not in the database (another program deleted it
/// without them, or wrote them so): an export of everything cannot carry
/// them, since it is a line per mission, and names them instead.
fn orphans(db: &mut dyn Sql) -> Result<Vec<Skipped>> {
    let mut found = Vec::new();
    for table in ["tool_calls", "decisions", "agent_memory", "playbook_runs"] {
        // The table name comes from the list above.
        db.query(
            &format!(
                "SELECT id, mission_id FROM {table} t
                 WHERE NOT EXISTS (SELECT 1 FROM missions m WHERE m.id = t.mission_id)"
            ),
            &[],
            &mut |r| {
                let (id, mission) = (r[0].int().unwrap_or_default(), r[1].int());
                found.push(Skipped::row(
                    format!("#{} (no such mission)", mission.unwrap_or_default()),
                    table,
                    id,
                    "mission_id",
                    "its mission is not in the database, so no mission's line can carry it",
                ));
                Ok(())
            },
        )?;
    }
    Ok(found)
}

/// The rows an export holds: what `filter` selects, counted in one read
/// (for progress and ETA).
pub(crate) fn export_size(store: &impl Backend, filter: &ExportFilter) -> Result<u64> {
    let missions = export_selection(store, filter)?;
    store.read_sql(|db| {
        let mut total = 0u64;
        for (row_id, _) in &missions {
            let count = db.query_opt(
                "SELECT 1 + (SELECT COUNT(*) FROM tool_calls WHERE mission_id = ?1)
                          + (SELECT COUNT(*) FROM decisions WHERE mission_id = ?1)
                          + (SELECT COUNT(*) FROM agent_memory WHERE mission_id = ?1)
                          + (SELECT COUNT(*) FROM playbook_runs WHERE mission_id = ?1)",
                &[(*row_id).into()],
            )?;
            total += count.and_then(|r| r[0].int()).unwrap_or(0) as u64;
        }
        Ok(total)
    })
}

/// The missions (row id, uuid) `filter` selects, oldest first; an asked-for
/// mission that is not here is an error.
pub(crate) fn export_selection(
    store: &impl Backend,
    filter: &ExportFilter,
) -> Result<Vec<(i64, String)>> {
    let since = filter.since.map(super::ids::format_timestamp);
    // A uuid another program stored upper-case is the mission asked for.
    let canonical = |uuid: &str| MissionId::parse(uuid).ok();
    let wanted: std::collections::HashSet<&MissionId> = filter.missions.iter().collect();
    let mut ids: Vec<(i64, String)> = Vec::new();
    store.read_sql(|db| {
        ids.clear();
        db.query(
            db.dialect().statements().export_selection,
            &[since.as_deref().into()],
            &mut |r| {
                if let (Some(id), Some(uuid)) = (r[0].int(), r[1].text()) {
                    if wanted.is_empty() || canonical(uuid).is_some_and(|id| wanted.contains(&id)) {
                        ids.push((id, uuid.to_owned()));
                    }
                }
                Ok(())
            },
        )
    })?;
    for id in &filter.missions {
        if !ids
            .iter()
            .any(|(_, uuid)| canonical(uuid).as_ref() == Some(id))
        {
            return Err(StoreError::MissionNotFound(id.to_string()));
        }
    }
    Ok(ids)
}

/// Imports one exported line: the mission and its rows in one transaction,
/// keeping uuids, timestamps and JSON text byte for byte. A mission already
/// present is left alone (importing twice changes nothing): returns its id
/// and whether it was imported.
pub(crate) fn import_jsonl(store: &impl Backend, line: &str) -> Result<(MissionId, bool)> {
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
    let imported = store.write_sql(move |db| {
        if mission_row(db, &id)?.is_some() {
            return Ok(false);
        }
        // The invocation that created it, by the identity the row carries
        // (schema v6), or by an older export's `created_by` position.
        let creator = match (identity(&mission), &created_by) {
            (Some((uuid, seq)), _) => invocation_by_identity(db, &uuid, seq)?,
            (None, Some(by)) => db
                .query_opt(
                    "SELECT t.id FROM tool_calls t JOIN missions m ON m.id = t.mission_id
                     WHERE m.mission_uuid = ?1 ORDER BY t.id LIMIT 1 OFFSET ?2",
                    &[by.mission.as_str().into(), by.invocation.into()],
                )?
                .and_then(|r| r[0].int()),
            (None, None) => None,
        };
        let mission_id = insert(db, &MISSIONS, &mission, None, &[("invocation_id", creator)])?;
        if identity(&mission).is_none() && creator.is_some() {
            set_identity(db, "missions", mission_id)?;
        }
        let mut calls: Vec<i64> = Vec::new();
        for (table, rows) in CHILDREN.iter().zip(&children) {
            for (position, row) in rows.iter().enumerate() {
                let at = |e: StoreError| match e {
                    StoreError::InvalidInput(why) => StoreError::InvalidInput(format!(
                        "{} row {} (in the export's order): {why}",
                        table.name,
                        position + 1
                    )),
                    e => e,
                };
                let invocation = match row.get("invocation").map(|v| v.get()) {
                    None | Some("null") => match identity(row) {
                        Some((uuid, seq)) => invocation_by_identity(db, &uuid, seq)?,
                        None => None,
                    },
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
                let id = insert(
                    db,
                    table,
                    row,
                    Some(mission_id),
                    &[("invocation_id", invocation)],
                )
                .map_err(at)?;
                if invocation.is_some() && identity(row).is_none() {
                    set_identity(db, table.name, id)?;
                }
                if table.name == "tool_calls" {
                    calls.push(id);
                }
            }
        }
        for (seq, table, row_seq, digest, hash) in &chain {
            db.execute(
                "INSERT INTO row_chain (mission_id, seq, row_table, row_seq, row_digest, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &[
                    mission_id.into(),
                    (*seq).into(),
                    table.as_str().into(),
                    (*row_seq).into(),
                    digest.clone().into(),
                    hash.as_str().into(),
                ],
            )?;
        }
        resolve_waiting(db, mission_id)?;
        Ok(true)
    })?;
    Ok((uuid, imported))
}

/// The invocation that created an exported mission.
#[derive(serde::Deserialize)]
struct CreatedBy {
    mission: String,
    invocation: i64,
}

/// The invocation identity an exported row carries (schema v6): its
/// mission's uuid and chain position.
fn identity(row: &HashMap<String, Box<RawValue>>) -> Option<(String, i64)> {
    let uuid = serde_json::from_str(row.get("invocation_mission")?.get()).ok()?;
    let seq = serde_json::from_str(row.get("invocation_seq")?.get()).ok()?;
    Some((uuid, seq))
}

/// The row id here of the invocation with this identity, if it is here.
fn invocation_by_identity(db: &mut dyn Sql, mission: &str, seq: i64) -> Result<Option<i64>> {
    Ok(db
        .query_opt(
            "SELECT t.id FROM tool_calls t JOIN missions m ON m.id = t.mission_id
             WHERE m.mission_uuid = ?1 AND t.chain_seq = ?2",
            &[mission.into(), seq.into()],
        )?
        .and_then(|r| r[0].int()))
}

/// Gives a row imported from an export older than schema v6 the identity
/// of the invocation it was linked to.
fn set_identity(db: &mut dyn Sql, table: &str, id: i64) -> Result<()> {
    // The table name comes from the constant tables above.
    db.execute(
        &format!(
            "UPDATE {table} SET
                 invocation_mission = (SELECT m.mission_uuid FROM tool_calls i
                                       JOIN missions m ON m.id = i.mission_id
                                       WHERE i.id = {table}.invocation_id),
                 invocation_seq = (SELECT i.chain_seq FROM tool_calls i
                                   WHERE i.id = {table}.invocation_id)
             WHERE id = ?1"
        ),
        &[id.into()],
    )?;
    Ok(())
}

/// Links rows already here that name an invocation of the mission just
/// imported (they came first: a mission a tool created, imported before the
/// mission of the tool) to it. Only `invocation_id` changes: the chain
/// covers the identity, which was already right.
fn resolve_waiting(db: &mut dyn Sql, mission_id: i64) -> Result<()> {
    for table in ["missions", "tool_calls", "decisions", "agent_memory"] {
        db.execute(
            &format!(
                "UPDATE {table} SET invocation_id =
                     (SELECT i.id FROM tool_calls i
                      WHERE i.mission_id = ?1 AND i.chain_seq = {table}.invocation_seq)
                 WHERE invocation_id IS NULL
                   AND invocation_mission = (SELECT mission_uuid FROM missions WHERE id = ?1)"
            ),
            &[mission_id.into()],
        )?;
    }
    Ok(())
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
/// mission's row id and the given provenance. Returns the new row's id.
fn insert(
    db: &mut dyn Sql,
    table: &Table,
    row: &HashMap<String, Box<RawValue>>,
    mission_id: Option<i64>,
    extra: &[(&str, Option<i64>)],
) -> Result<i64> {
    let invalid: Vec<String> = match row.get("invalid_json") {
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|_| StoreError::invalid("invalid_json must list column names"))?,
        None => Vec::new(),
    };
    let mut names: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    for &column in table.columns {
        let Some(raw) = row.get(column) else { continue };
        let value = if raw.get() == "null" {
            Value::Null
        } else if table.json.contains(&column) {
            if invalid.iter().any(|c| c == column) {
                Value::from(serde_json::from_str::<String>(raw.get()).map_err(|_| {
                    StoreError::invalid(format!("{column} is named invalid but is no string"))
                })?)
            } else {
                Value::from(raw.get())
            }
        } else {
            match serde_json::from_str::<serde_json::Value>(raw.get()) {
                Ok(serde_json::Value::String(s)) => Value::from(s),
                Ok(serde_json::Value::Bool(b)) => Value::Integer(i64::from(b)),
                Ok(serde_json::Value::Number(n)) => match n.as_i64() {
                    Some(i) => Value::Integer(i),
                    None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
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
        values.push(Value::Integer(id));
    }
    for (name, value) in extra {
        if let Some(value) = value {
            names.push(name);
            values.push(Value::Integer(*value));
        }
    }
    // Column names come from the constant tables above, never from input.
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({}) RETURNING id",
        table.name,
        names.join(", "),
        (1..=names.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let id = |row: Option<Vec<Value>>| {
        row.and_then(|r| r[0].int())
            .ok_or_else(|| StoreError::Internal("an insert returned no id".into()))
    };
    if invalid.is_empty() {
        return id(db.query_opt(&sql, &values)?);
    }
    // The source held text its JSON check refuses (another program wrote
    // it). SQLite keeps it as it was, this one insert past the schema's
    // CHECK; PostgreSQL has no such switch, and refuses it.
    match db.dialect() {
        Dialect::Sqlite => {
            db.execute("PRAGMA ignore_check_constraints = ON", &[])?;
            let inserted = db.query_opt(&sql, &values);
            db.execute("PRAGMA ignore_check_constraints = OFF", &[])?;
            id(inserted?)
        }
        Dialect::Postgres => Err(StoreError::invalid(format!(
            "column {} holds text that is not JSON (another program wrote it); \
             PostgreSQL's JSON check cannot be set aside, so the mission cannot be copied there",
            invalid.join(", ")
        ))),
    }
}

/// One mission and its rows as a line of JSON; and how many rows it holds.
fn export_mission(db: &mut dyn Sql, mission_id: i64) -> Result<(String, u64)> {
    let mut count = 1u64;
    let mut line = String::from("{");
    line.push_str(&format!("\"{}\":", MISSIONS.key));
    let mut missions = rows(db, &MISSIONS, "id", mission_id, None)?;
    line.push_str(&missions.pop().unwrap_or_default());
    // Positions of the mission's tool calls, for provenance.
    let mut positions: HashMap<i64, usize> = HashMap::new();
    db.query(
        "SELECT id FROM tool_calls WHERE mission_id = ?1 ORDER BY id",
        &[mission_id.into()],
        &mut |r| {
            let next = positions.len();
            positions.insert(r[0].int().unwrap_or_default(), next);
            Ok(())
        },
    )?;
    for table in &CHILDREN {
        line.push_str(&format!(",\"{}\":[", table.key));
        let provenance = table.provenance.then_some(&positions);
        let rows = rows(db, table, "mission_id", mission_id, provenance)?;
        count += rows.len() as u64;
        line.push_str(&rows.join(","));
        line.push(']');
    }
    export_chain(db, mission_id, &mut line)?;
    line.push('}');
    Ok((line, count))
}

/// The mission's chain, entry by entry as stored, then its head.
fn export_chain(db: &mut dyn Sql, mission_id: i64, line: &mut String) -> Result<()> {
    line.push_str(",\"chain\":[");
    let mut head: Option<(i64, String)> = None;
    db.query(
        "SELECT seq, row_table, row_seq, row_digest, hash FROM row_chain
         WHERE mission_id = ?1 ORDER BY seq",
        &[mission_id.into()],
        &mut |r| {
            let entry = (
                r[0].int().unwrap_or_default(),
                r[1].text().unwrap_or_default(),
                r[2].int().unwrap_or_default(),
                r[3].text(),
                r[4].text().unwrap_or_default(),
            );
            if head.is_some() {
                line.push(',');
            }
            line.push_str(&serde_json::to_string(&entry).expect("an entry"));
            head = Some((entry.0, entry.4.to_owned()));
            Ok(())
        },
    )?;
    line.push_str("],\"chain_head\":");
    let (length, hash) = head.map_or((0, None), |(length, hash)| (length, Some(hash)));
    line.push_str(&serde_json::to_string(&ChainHead { length, hash }).expect("a head"));
    Ok(())
}

/// The rows of `table` whose `by` column is `id`, each a JSON object; with
/// `invocations`, each row's invocation as its position among them.
fn rows(
    db: &mut dyn Sql,
    table: &Table,
    by: &str,
    id: i64,
    invocations: Option<&HashMap<i64, usize>>,
) -> Result<Vec<String>> {
    // Column and table names come from the constant tables above.
    let sql = format!(
        "SELECT {}{} FROM {} WHERE {by} = ?1 ORDER BY {}",
        table.columns.join(", "),
        if invocations.is_some() {
            ", invocation_id"
        } else {
            ""
        },
        table.name,
        table.order
    );
    let mut out = Vec::new();
    db.query(&sql, &[id.into()], &mut |r| {
        let mut fields: Vec<String> = Vec::new();
        let mut invalid: Vec<&str> = Vec::new();
        for (i, &column) in table.columns.iter().enumerate() {
            let value = if table.json.contains(&column) {
                match Json::from_column(&r[i]) {
                    None => "null".to_owned(),
                    Some(json) if json.is_valid() => json.into_string(),
                    Some(json) => {
                        invalid.push(column);
                        serde_json::to_string(json.as_str()).expect("a string")
                    }
                }
            } else {
                scalar(&r[i]).ok_or_else(|| {
                    StoreError::invalid(format!(
                        "{} has {column} = {:?}, which an export cannot carry as it is",
                        table.name, r[i]
                    ))
                })?
            };
            fields.push(format!("\"{column}\":{value}"));
        }
        if let Some(positions) = invocations {
            let position = r[table.columns.len()]
                .int()
                .and_then(|id| positions.get(&id))
                .map_or_else(|| "null".to_owned(), |p| p.to_string());
            fields.push(format!("\"invocation\":{position}"));
        }
        if !invalid.is_empty() {
            fields.push(format!(
                "\"invalid_json\":{}",
                serde_json::to_string(&invalid).expect("names")
            ));
        }
        out.push(format!("{{{}}}", fields.join(",")));
        Ok(())
    })?;
    Ok(out)
}

/// A non-JSON column's value as JSON: text as a string, numbers as numbers;
/// `None` for a number JSON has no spelling for (NaN, infinities) and bytes
/// that are not UTF-8, which an export must not turn into something else.
fn scalar(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => "null".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) if !f.is_finite() => return None,
        Value::Real(f) => serde_json::to_string(f).ok()?,
        Value::Text(text) => serde_json::to_string(text).expect("a string"),
        Value::Blob(bytes) => serde_json::to_string(std::str::from_utf8(bytes).ok()?).ok()?,
    })
}
