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
//! entries are unchanged. Two kinds of JSON column text travel as a JSON
//! string of the text instead, imported back as the same bytes: text another
//! program stored that is not strict JSON (named in the row's
//! `invalid_json`), and JSON whose exact text the line cannot carry as JSON
//! (named in `verbatim_json`): a line feed or carriage return between its
//! tokens would break the line, whitespace around the value would be lost
//! to the parser, and the text `null` would read as no value.

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::backend::Backend;
use super::chain::{ChainHead, ChainTable};
use super::error::{Result, StoreError};
use super::ids::MissionId;
use super::json::Json;
use super::model::{
    check_chain_seq, check_name, check_text, check_timestamp, check_ttl, is_sha256_hex,
    ComponentInfo, InvocationEnd, InvocationStart, MissionStatus, NewDecision, NewToolCall,
    Outcome, Phase, Skipped, DEFAULT_PAGE_BYTES,
};
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

/// Longest line `vibe import` (and `verify --against`) reads: 64 MiB,
/// sixteen times the byte budget of a page ([`DEFAULT_PAGE_BYTES`]), which
/// holds any one row vibe-store writes. A line is read with this cap as it
/// streams, so a longer one is refused without being held in memory.
pub const MAX_IMPORT_LINE_BYTES: usize = 16 * DEFAULT_PAGE_BYTES;

/// The missions the lines of one file have carried so far, and how many
/// tool calls each holds: a mission's `created_by` must name an invocation
/// the same file carries (on an earlier line), never one that is merely in
/// the database it is imported into.
#[derive(Debug, Clone, Default)]
pub struct ImportScope {
    carried: HashMap<MissionId, usize>,
}

/// Reads the lines of an export file one at a time, each at most
/// [`MAX_IMPORT_LINE_BYTES`]: a longer line is refused as it streams (its
/// bytes past the cap are read and dropped, never kept) and the next call
/// goes on with the line after it. Blank lines are skipped.
pub struct ExportLines<R> {
    reader: R,
    line: u64,
    max_bytes: usize,
}

impl<R: std::io::BufRead> ExportLines<R> {
    /// Lines of `reader`, each at most [`MAX_IMPORT_LINE_BYTES`].
    pub fn new(reader: R) -> Self {
        Self::within(reader, MAX_IMPORT_LINE_BYTES)
    }

    /// Lines of `reader`, each at most `max_bytes`.
    pub fn within(reader: R, max_bytes: usize) -> Self {
        ExportLines {
            reader,
            line: 0,
            max_bytes,
        }
    }

    /// The next non-blank line and its number (from 1); `None` at the end.
    ///
    /// # Errors
    ///
    /// [`StoreError::LimitExceeded`] for a line over the cap (the next call
    /// reads the line after it), [`StoreError::InvalidInput`] for one that
    /// is not UTF-8, [`StoreError::Internal`] when the reader fails.
    pub fn next_line(&mut self) -> Option<(u64, Result<String>)> {
        use std::io::{BufRead, Read};
        loop {
            self.line += 1;
            let mut buf = Vec::new();
            let cap = self.max_bytes as u64 + 1;
            let read = (&mut self.reader).take(cap).read_until(b'\n', &mut buf);
            match read {
                Err(e) => {
                    return Some((
                        self.line,
                        Err(StoreError::Internal(format!("cannot read: {e}"))),
                    ))
                }
                Ok(0) => return None,
                Ok(_) => {}
            }
            if buf.last() == Some(&b'\n') {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            } else if buf.len() > self.max_bytes {
                drop(buf);
                // Drop the rest of the line without keeping it.
                let skipped = skip_line(&mut self.reader);
                return Some((
                    self.line,
                    skipped
                        .map_err(|e| StoreError::Internal(format!("cannot read: {e}")))
                        .and(Err(StoreError::LimitExceeded(format!(
                            "the line is longer than {} bytes, the limit of an exported \
                             mission; nothing of it is kept",
                            self.max_bytes
                        )))),
                ));
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some((
                self.line,
                String::from_utf8(buf)
                    .map_err(|_| StoreError::invalid("the line is not UTF-8 text")),
            ));
        }
    }
}

/// Reads and drops bytes up to and including the next newline.
fn skip_line(reader: &mut impl std::io::BufRead) -> std::io::Result<()> {
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => {
                reader.consume(at + 1);
                return Ok(());
            }
            None => {
                let n = chunk.len();
                reader.consume(n);
            }
        }
    }
}

/// Imports one exported line: the mission and its rows in one transaction,
/// keeping uuids, timestamps and JSON text byte for byte. A mission already
/// present is left alone (importing twice changes nothing): returns its id
/// and whether it was imported.
///
/// Every row passes the rules a live write passes (the same functions of
/// `model.rs`, with the same limits), and the columns a live write stamps
/// itself pass theirs (times that [`parse_timestamp`] reads, chain
/// positions and hashes in range); a UUID is stored in its canonical form.
/// A line any of whose rows breaks a rule is refused whole: nothing of its
/// mission is written. `scope` holds what the file's earlier lines carried
/// (see [`ImportScope`]); this line is added to it.
pub(crate) fn import_jsonl(
    store: &impl Backend,
    line: &str,
    scope: &mut ImportScope,
) -> Result<(MissionId, bool)> {
    if line.len() > MAX_IMPORT_LINE_BYTES {
        return Err(StoreError::LimitExceeded(format!(
            "the line is {} bytes, over the limit of {MAX_IMPORT_LINE_BYTES} bytes of an \
             exported mission",
            line.len()
        )));
    }
    let export: HashMap<String, Box<RawValue>> = serde_json::from_str::<Fields>(line)
        .map(|f| f.0)
        .map_err(|e| StoreError::invalid(format!("not an exported mission: {e}")))?;
    let part = |key: &str| -> Result<&RawValue> {
        export
            .get(key)
            .map(|raw| &**raw)
            .ok_or_else(|| StoreError::invalid(format!("an exported mission has no {key:?}")))
    };
    let mut mission = parse_row(part("mission")?)?;
    let uuid = match mission.get("mission_uuid").map(|v| v.get()) {
        Some(text) => MissionId::parse(
            &serde_json::from_str::<String>(text)
                .map_err(|_| StoreError::invalid("mission_uuid must be a string"))?,
        )?,
        None => return Err(StoreError::invalid("the mission has no mission_uuid")),
    };
    // Every spelling of a UUID is one mission: stored in its canonical form.
    mission.insert(
        "mission_uuid".into(),
        serde_json::value::to_raw_value(uuid.as_str()).expect("a string"),
    );
    let in_mission = |e: StoreError| within(e, &format!("mission {uuid}"));
    check_row(&MISSIONS, &mission).map_err(in_mission)?;
    let children: Vec<Vec<HashMap<String, Box<RawValue>>>> = CHILDREN
        .iter()
        .map(|table| {
            let list: Vec<Box<RawValue>> = serde_json::from_str(part(table.key)?.get())
                .map_err(|e| StoreError::invalid(format!("{}: {e}", table.key)))?;
            list.iter()
                .enumerate()
                .map(|(n, raw)| {
                    let row = parse_row(raw)?;
                    check_row(table, &row).map_err(|e| {
                        within(e, &format!("mission {uuid}, {} row {}", table.name, n + 1))
                    })?;
                    Ok(row)
                })
                .collect()
        })
        .collect::<Result<_>>()?;
    let created_by = optional::<Option<CreatedBy>>(&export, "created_by")?.flatten();
    let created_by = created_by
        .map(|by| -> Result<(MissionId, i64)> {
            let creator = MissionId::parse(&by.mission)?;
            let carried = usize::try_from(by.invocation)
                .ok()
                .zip(scope.carried.get(&creator))
                .is_some_and(|(at, calls)| at < *calls);
            if !carried || creator == uuid {
                return Err(StoreError::invalid(format!(
                    "mission {uuid} says invocation {} of mission {creator} created it, and \
                     this file does not carry that invocation (export the creating mission \
                     with it, on an earlier line)",
                    by.invocation
                )));
            }
            Ok((creator, by.invocation))
        })
        .transpose()?;
    let chain: Vec<ChainEntry> = optional(&export, "chain")?.unwrap_or_default();
    let mut last = 0;
    for (seq, table, row_seq, digest, hash) in &chain {
        check_entry(*seq, table, *row_seq, digest.as_deref(), hash)
            .and_then(|()| {
                if *seq <= last {
                    return Err(StoreError::invalid(format!(
                        "entries must be in ascending order of seq, each once ({seq} after {last})"
                    )));
                }
                last = *seq;
                Ok(())
            })
            .map_err(|e| within(e, &format!("mission {uuid}, chain entry {seq}")))?;
    }
    // One memory entry a key (the table's unique key), said before the
    // database says it.
    let mut keys = std::collections::HashSet::new();
    for row in &children[2] {
        let key = Column {
            row,
            as_text: AsText::default(),
        }
        .required_text("key")?;
        if !keys.insert(key.clone()) {
            return Err(StoreError::invalid(format!(
                "mission {uuid}: memory key {:?} is there twice",
                truncated(&key)
            )));
        }
    }
    let calls = children[0].len();
    let id = uuid.clone();
    // An invocation named by identity is linked only when this file carries
    // its mission (this line or an earlier one): a line cannot attach its
    // rows to an invocation that is merely in the database. The identity is
    // kept either way (the chain covers it), and linked if that mission is
    // imported later.
    let linkable: std::collections::HashSet<String> = scope
        .carried
        .keys()
        .map(|m| m.to_string())
        .chain([uuid.to_string()])
        .collect();
    let id_text = uuid.to_string();
    let imported = store.write_sql(move |db| {
        let link = |db: &mut dyn Sql, (mission, seq): (String, i64)| -> Result<Option<i64>> {
            if linkable.contains(&mission) {
                invocation_by_identity(db, &mission, seq)
            } else {
                Ok(None)
            }
        };
        if mission_row(db, &id)?.is_some() {
            return Ok(false);
        }
        // The invocation that created it, by the identity the row carries
        // (schema v6), or by an older export's `created_by` position.
        let creator = match (identity(&mission), &created_by) {
            (Some(identity), _) => link(db, identity)?,
            (None, Some((mission, invocation))) => db
                .query_opt(
                    "SELECT t.id FROM tool_calls t JOIN missions m ON m.id = t.mission_id
                     WHERE m.mission_uuid = ?1 ORDER BY t.id LIMIT 1 OFFSET ?2",
                    &[mission.as_str().into(), (*invocation).into()],
                )?
                .and_then(|r| r[0].int()),
            (None, None) => None,
        };
        let mission_id = insert(db, &MISSIONS, &mission, None, &[("invocation_id", creator)])?;
        if identity(&mission).is_none() && creator.is_some() {
            set_identity(db, "missions", mission_id)?;
        }
        // The tool calls imported so far: row id here, and chain position.
        let mut calls: Vec<(i64, Option<i64>)> = Vec::new();
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
                        Some(identity) => link(db, identity)?,
                        None => None,
                    },
                    Some(index) => {
                        let index: usize = index.parse().map_err(|_| {
                            StoreError::invalid(format!("invocation {index} is not a position"))
                        })?;
                        let (id, seq) = *calls.get(index).ok_or_else(|| {
                            StoreError::invalid(format!(
                                "invocation {index} names no earlier tool call"
                            ))
                        })?;
                        // The identity the chain covers must be that call's.
                        if let Some((mission, carried)) = identity(row) {
                            if mission != id_text || Some(carried) != seq {
                                return Err(at(StoreError::invalid(format!(
                                    "invocation {index} is tool call {} of this mission, but \
                                     the row's invocation_mission and invocation_seq name {} {}",
                                    seq.map_or_else(|| "?".to_owned(), |s| s.to_string()),
                                    crate::terminal::visible_line(&truncated(&mission)),
                                    carried
                                ))));
                            }
                        }
                        Some(id)
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
                    let seq = row.get("chain_seq").and_then(|v| v.get().parse().ok());
                    calls.push((id, seq));
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
    scope.carried.insert(uuid.clone(), calls);
    Ok((uuid, imported))
}

/// `err` with `what` said first, its kind kept.
fn within(err: StoreError, what: &str) -> StoreError {
    match err {
        StoreError::InvalidInput(reason) => StoreError::InvalidInput(format!("{what}: {reason}")),
        StoreError::LimitExceeded(reason) => StoreError::LimitExceeded(format!("{what}: {reason}")),
        other => other,
    }
}

/// The key of an exported row naming its JSON columns whose stored text is
/// not strict JSON (another program wrote `NaN`, say).
const INVALID_JSON: &str = "invalid_json";

/// The key of an exported row naming its JSON columns whose exact text the
/// line cannot carry as JSON ([`needs_verbatim`]).
const VERBATIM_JSON: &str = "verbatim_json";

/// Whether JSON text `json` must travel as a string of itself to come back
/// byte for byte: it holds a line feed or carriage return (between tokens,
/// where JSON allows them: a pretty-printed `--metadata @FILE`), which would
/// break the line (and a lone carriage return, the lines of readers that
/// split on one); it starts or ends with whitespace, which a parser drops;
/// or it is `null`, which the line spells for no value (SQL's NULL).
fn needs_verbatim(json: &str) -> bool {
    let space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    json.contains(['\n', '\r'])
        || json.starts_with(space)
        || json.ends_with(space)
        || json == "null"
}

/// The JSON columns an exported row carries as JSON strings of their stored
/// text rather than as JSON, by why ([`INVALID_JSON`], [`VERBATIM_JSON`]):
/// the import stores the string's text, so the bytes come back exactly.
#[derive(Debug, Default)]
struct AsText {
    invalid: Vec<String>,
    verbatim: Vec<String>,
}

impl AsText {
    /// The row's lists, each naming only JSON columns of `table`, and no
    /// column in both.
    fn of(table: &Table, row: &HashMap<String, Box<RawValue>>) -> Result<AsText> {
        let list = |key: &str| -> Result<Vec<String>> {
            let names: Vec<String> = match row.get(key) {
                Some(raw) => serde_json::from_str(raw.get())
                    .map_err(|_| StoreError::invalid(format!("{key} must list column names")))?,
                None => Vec::new(),
            };
            for (at, column) in names.iter().enumerate() {
                let shown = crate::terminal::visible_line(&truncated(column)).into_owned();
                if !table.json.contains(&column.as_str()) {
                    return Err(StoreError::invalid(format!(
                        "{key} names {shown}, which is not a JSON column of {}",
                        table.name
                    )));
                }
                if names[..at].contains(column) {
                    return Err(StoreError::invalid(format!("{key} names {shown} twice")));
                }
                if row
                    .get(column.as_str())
                    .is_none_or(|raw| !raw.get().starts_with('"'))
                {
                    return Err(StoreError::invalid(format!(
                        "{shown} is named in {key} but is no string"
                    )));
                }
            }
            Ok(names)
        };
        let as_text = AsText {
            invalid: list(INVALID_JSON)?,
            verbatim: list(VERBATIM_JSON)?,
        };
        if let Some(column) = as_text
            .invalid
            .iter()
            .find(|c| as_text.verbatim.contains(c))
        {
            return Err(StoreError::invalid(format!(
                "{INVALID_JSON} and {VERBATIM_JSON} both name {column}"
            )));
        }
        Ok(as_text)
    }

    /// The text to store for JSON column `column`, exported as `raw`: the
    /// string's text for a column named here (which must then be a string,
    /// and, named in [`VERBATIM_JSON`], JSON), else `raw` itself.
    fn text(&self, column: &str, raw: &str) -> Result<String> {
        let (invalid, verbatim) = (
            self.invalid.iter().any(|c| c == column),
            self.verbatim.iter().any(|c| c == column),
        );
        if !invalid && !verbatim {
            return Ok(raw.to_owned());
        }
        let key = if invalid { INVALID_JSON } else { VERBATIM_JSON };
        let text = serde_json::from_str::<String>(raw).map_err(|_| {
            StoreError::invalid(format!("{column} is named in {key} but is no string"))
        })?;
        // Its size and depth are checked with the row's other rules.
        if verbatim && serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err() {
            return Err(StoreError::invalid(format!(
                "{column} is named in {key} but its text is not JSON (name it in {INVALID_JSON})"
            )));
        }
        Ok(text)
    }
}

/// One exported column, read as the type its table gives it.
struct Column<'a> {
    row: &'a HashMap<String, Box<RawValue>>,
    as_text: AsText,
}

impl Column<'_> {
    fn raw(&self, column: &str) -> Option<&str> {
        self.row
            .get(column)
            .map(|raw| raw.get())
            .filter(|raw| *raw != "null")
    }

    fn wrong(&self, column: &str, wanted: &str) -> StoreError {
        StoreError::invalid(format!(
            "{column} must be {wanted}, not {}",
            crate::terminal::visible_line(&truncated(self.raw(column).unwrap_or("null")))
        ))
    }

    fn text(&self, column: &str) -> Result<Option<String>> {
        self.raw(column)
            .map(|raw| serde_json::from_str::<String>(raw).map_err(|_| self.wrong(column, "text")))
            .transpose()
    }

    fn required_text(&self, column: &str) -> Result<String> {
        self.text(column)?
            .ok_or_else(|| StoreError::invalid(format!("{column} is missing")))
    }

    fn int(&self, column: &str) -> Result<Option<i64>> {
        self.raw(column)
            .map(|raw| {
                raw.parse::<i64>()
                    .map_err(|_| self.wrong(column, "a whole number within 64 bits"))
            })
            .transpose()
    }

    /// A flag as either backend exports it: `true`/`false` or `1`/`0`.
    fn flag(&self, column: &str) -> Result<Option<bool>> {
        match self.raw(column) {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(_) => Err(self.wrong(column, "true or false (or 1 or 0)")),
        }
    }

    /// A JSON column: its text (for a column exported as a string, see
    /// [`AsText`], the string's text).
    fn json(&self, column: &str) -> Result<Option<Json>> {
        self.raw(column)
            .map(|raw| self.as_text.text(column, raw).map(Json::stored))
            .transpose()
    }

    fn time(&self, column: &str, required: bool) -> Result<()> {
        match self.text(column)? {
            Some(text) => check_timestamp(column, &text),
            None if required => Err(StoreError::invalid(format!("{column} is missing"))),
            None => Ok(()),
        }
    }

    fn chain(&self) -> Result<()> {
        let seq = self.int("chain_seq")?;
        let hash = self.text("chain_hash")?;
        if let Some(seq) = seq {
            check_chain_seq("chain_seq", seq)?;
        }
        if let Some(hash) = &hash {
            if !is_sha256_hex(hash) {
                return Err(self.wrong("chain_hash", "64 lowercase hex digits"));
            }
        }
        Ok(())
    }

    /// The invocation's identity (schema v6), where the table has one: a
    /// mission id as the store writes it and a chain position, both or
    /// neither.
    fn identity(&self) -> Result<()> {
        match (
            self.text("invocation_mission")?,
            self.int("invocation_seq")?,
        ) {
            (None, None) => Ok(()),
            (Some(mission), Some(seq)) => {
                if MissionId::parse(&mission)?.as_str() != mission {
                    return Err(
                        self.wrong("invocation_mission", "a mission id as the store writes it")
                    );
                }
                check_chain_seq("invocation_seq", seq)
            }
            _ => Err(StoreError::invalid(
                "invocation_mission and invocation_seq come together",
            )),
        }
    }
}

/// At most 80 characters of `text`, for an error message.
fn truncated(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

/// Checks one exported row of `table` with the rules a live write applies.
fn check_row(table: &Table, row: &HashMap<String, Box<RawValue>>) -> Result<()> {
    let c = Column {
        row,
        as_text: AsText::of(table, row)?,
    };
    c.chain()?;
    c.identity()?;
    match table.name {
        "missions" => {
            let phase = c.required_text("phase")?;
            if !Phase::ALL.iter().any(|p| p.as_str() == phase) {
                phase.parse::<Phase>()?;
                return Err(c.wrong("phase", "upper case, as the store writes it"));
            }
            let status = c.required_text("status")?;
            if !MissionStatus::ALL.iter().any(|s| s.as_str() == status) {
                status.parse::<MissionStatus>()?;
                return Err(c.wrong("status", "lower case, as the store writes it"));
            }
            c.time("created_at", true)?;
            c.time("completed_at", false)?;
            if let Some(metadata) = c.json("metadata")? {
                metadata.check_limits("metadata")?;
            }
        }
        "tool_calls" => {
            let args = c
                .json("args")?
                .ok_or_else(|| StoreError::invalid("args is missing"))?;
            let call = NewToolCall {
                tool_name: c.required_text("tool_name")?,
                args: args.clone(),
                result: c.json("result")?,
                success: c
                    .flag("success")?
                    .ok_or_else(|| StoreError::invalid("success is missing"))?,
                duration_ms: c.int("duration_ms")?,
                error_message: c.text("error_message")?,
            };
            call.validate()?;
            c.time("timestamp", true)?;
            let outcome = c
                .text("outcome")?
                .map(|o| o.parse::<Outcome>())
                .transpose()?;
            let sha256 = c.text("component_sha256")?;
            let size = c.int("component_size")?;
            let component = match (sha256, size) {
                (None, None) => None,
                (Some(sha256), Some(size)) => Some(ComponentInfo {
                    sha256,
                    size: u64::try_from(size)
                        .map_err(|_| c.wrong("component_size", "0 or more bytes"))?,
                }),
                _ => {
                    return Err(StoreError::invalid(
                        "component_sha256 and component_size come together",
                    ))
                }
            };
            let caller = c.json("caller")?;
            if outcome.is_some() || component.is_some() || caller.is_some() {
                InvocationStart {
                    tool_name: call.tool_name.clone(),
                    input: args,
                    component,
                    caller,
                }
                .validate()?;
            }
            if let Some(outcome) = outcome.filter(|o| *o != Outcome::Running) {
                InvocationEnd {
                    outcome,
                    result: call.result,
                    duration_ms: call.duration_ms,
                    error_message: call.error_message,
                }
                .validate()?;
            }
        }
        "decisions" => {
            let decision = NewDecision {
                decision_type: c.required_text("decision_type")?,
                rationale: c.text("rationale")?.unwrap_or_default(),
                agent_name: c.text("agent_name")?.unwrap_or_else(|| "-".into()),
                context: c.json("context")?,
            };
            decision.validate()?;
            c.time("timestamp", true)?;
        }
        "agent_memory" => {
            check_name("memory key", &c.required_text("key")?)?;
            if let Some(value) = c.json("value")? {
                value.check_limits("memory value")?;
            }
            c.time("timestamp", true)?;
            if let Some(ttl) = c.int("ttl")? {
                check_ttl(ttl)?;
            }
            c.time("expires_at", false)?;
        }
        "playbook_runs" => {
            check_name("playbook name", &c.required_text("playbook_name")?)?;
            if let Some(phase) = c.text("phase")? {
                if !Phase::ALL.iter().any(|p| p.as_str() == phase) {
                    phase.parse::<Phase>()?;
                    return Err(c.wrong("phase", "upper case, as the store writes it"));
                }
            }
            c.time("started_at", true)?;
            c.time("completed_at", false)?;
            c.flag("success")?;
            if let Some(metrics) = c.json("metrics")? {
                metrics.check_limits("metrics")?;
            }
            if let Some(message) = c.text("error_message")? {
                check_text("error message", &message)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Checks one exported chain entry: positions in range, a table the chain
/// knows, digest and hash as SHA-256 hex.
fn check_entry(
    seq: i64,
    table: &str,
    row_seq: i64,
    digest: Option<&str>,
    hash: &str,
) -> Result<()> {
    check_chain_seq("seq", seq)?;
    check_chain_seq("row_seq", row_seq)?;
    if ChainTable::from_name(table).is_none() {
        return Err(StoreError::invalid(format!(
            "{} is no table the chain holds",
            crate::terminal::visible_line(&truncated(table))
        )));
    }
    if digest.is_some_and(|d| !is_sha256_hex(d)) || !is_sha256_hex(hash) {
        return Err(StoreError::invalid(
            "its digest and hash must be 64 lowercase hex digits",
        ));
    }
    Ok(())
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
    serde_json::from_str::<Fields>(raw.get())
        .map(|f| f.0)
        .map_err(|e| StoreError::invalid(format!("a row: {e}")))
}

/// A JSON object's fields, each name once: a name given twice is refused
/// (serde's maps keep the last silently, which would let a line say one
/// thing to a reader and another to the import).
struct Fields(HashMap<String, Box<RawValue>>);

impl<'de> serde::Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Fields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Fields, A::Error> {
                let mut fields = HashMap::new();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    if fields.contains_key(&key) {
                        return Err(serde::de::Error::custom(format_args!(
                            "{:?} is given twice",
                            crate::terminal::visible_line(&truncated(&key))
                        )));
                    }
                    fields.insert(key, value);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(Visit)
    }
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
    let as_text = AsText::of(table, row)?;
    let mut names: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    for &column in table.columns {
        let Some(raw) = row.get(column) else { continue };
        let value = if raw.get() == "null" {
            Value::Null
        } else if table.json.contains(&column) {
            Value::from(as_text.text(column, raw.get())?)
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
    if as_text.invalid.is_empty() {
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
            as_text.invalid.join(", ")
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
        let mut verbatim: Vec<&str> = Vec::new();
        for (i, &column) in table.columns.iter().enumerate() {
            let value = if table.json.contains(&column) {
                match Json::from_column(&r[i]) {
                    None => "null".to_owned(),
                    Some(json) if !json.is_valid() => {
                        invalid.push(column);
                        serde_json::to_string(json.as_str()).expect("a string")
                    }
                    Some(json) if needs_verbatim(json.as_str()) => {
                        verbatim.push(column);
                        serde_json::to_string(json.as_str()).expect("a string")
                    }
                    Some(json) => json.into_string(),
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
        for (key, names) in [(INVALID_JSON, &invalid), (VERBATIM_JSON, &verbatim)] {
            if !names.is_empty() {
                fields.push(format!(
                    "\"{key}\":{}",
                    serde_json::to_string(names).expect("names")
                ));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_over_the_cap_is_refused_and_the_next_one_read() {
        let text = format!(
            "{}\n\n{}\r\n{}",
            "a".repeat(8),
            "b".repeat(9),
            "c".repeat(3)
        );
        let mut lines = ExportLines::within(text.as_bytes(), 8);
        let (n, first) = lines.next_line().unwrap();
        assert_eq!((n, first.unwrap()), (1, "a".repeat(8)));
        let (n, second) = lines.next_line().unwrap();
        assert!(matches!(second, Err(StoreError::LimitExceeded(_))));
        assert_eq!(n, 3);
        let (n, third) = lines.next_line().unwrap();
        assert_eq!((n, third.unwrap()), (4, "ccc".to_owned()));
        assert!(lines.next_line().is_none());
    }
}
