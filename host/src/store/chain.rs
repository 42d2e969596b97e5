//! Tamper evidence: every row vibe-store writes, chained per mission.
//!
//! Each write vibe-store makes to a mission's rows (the mission itself, its
//! tool calls, decisions, memory and playbook runs) appends one entry to the
//! mission's ledger, `row_chain`, in the same transaction as the write:
//!
//! ```text
//! digest = SHA-256("vibe-row/1\0" table "\0" content)      the row after the write
//! hash   = SHA-256("vibe-chain/1\0" prev seq table "\0" row_seq digest?)
//! ```
//!
//! `content` is every column of the row except its ids and chain columns,
//! each value tagged with its type (`n`, `i` + 8 bytes, `r` + 8 bytes, `t` or
//! `b` + 8-byte length + bytes); the invocation a row belongs to is named by
//! that invocation's mission uuid and chain position, not by its id, so the
//! digest is the same in every file the row is copied to. `prev` is the
//! previous entry's hash (32 zero bytes for the first), `seq` the entry's
//! position (from 1), `row_seq` the row's own position (the entry that first
//! wrote it), and `digest?` is `1` + the digest, or `0` when the write deleted
//! the row. Integers are 8 bytes, big-endian.
//!
//! [`verify`] recomputes every entry and every row's digest and reports what
//! does not match. What that proves, and what not, is in
//! `docs/guarantees.md`.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::backend::Backend;
use super::dialect::POSTGRES_IN_TRANSACTION;
use super::error::{Result, StoreError};
use super::ids::MissionId;
use super::model::MAX_CHAIN_SEQ;
use super::sql::{mission_row_id, Dialect, RowLock, Sql, Value};
use crate::hex::hex;

/// A SHA-256 hash.
type Hash = [u8; 32];

/// A table whose rows are chained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ChainTable {
    Missions,
    ToolCalls,
    Decisions,
    Memory,
    PlaybookRuns,
}

impl ChainTable {
    const ALL: [ChainTable; 5] = [
        ChainTable::Missions,
        ChainTable::ToolCalls,
        ChainTable::Decisions,
        ChainTable::Memory,
        ChainTable::PlaybookRuns,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            ChainTable::Missions => "missions",
            ChainTable::ToolCalls => "tool_calls",
            ChainTable::Decisions => "decisions",
            ChainTable::Memory => "agent_memory",
            ChainTable::PlaybookRuns => "playbook_runs",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The columns the digest covers, in order: the row's own, then the
    /// identity of the invocation it came from (its mission's uuid and chain
    /// position, stored in the row since schema v6; before, the same values
    /// were joined from the invocation's row, so older chains verify alike).
    fn content(self) -> &'static str {
        match self {
            ChainTable::Missions => {
                "t.mission_uuid, t.phase, t.status, t.created_at, t.completed_at, t.metadata,
                 t.invocation_mission, t.invocation_seq"
            }
            ChainTable::ToolCalls => {
                "t.tool_name, t.args, t.result, t.timestamp, t.duration_ms, t.success,
                 t.error_message, t.component_sha256, t.component_size, t.outcome, t.caller,
                 t.invocation_mission, t.invocation_seq"
            }
            ChainTable::Decisions => {
                "t.decision_type, t.rationale, t.timestamp, t.agent_name, t.context,
                 t.invocation_mission, t.invocation_seq"
            }
            ChainTable::Memory => {
                "t.key, t.value, t.timestamp, t.ttl, t.expires_at, t.invocation_mission,
                 t.invocation_seq"
            }
            ChainTable::PlaybookRuns => {
                "t.playbook_name, t.phase, t.started_at, t.completed_at, t.success, t.metrics,
                 t.error_message, NULL, NULL"
            }
        }
    }

    /// How many values [`content`](Self::content) selects.
    pub(super) fn width(self) -> usize {
        match self {
            ChainTable::Missions => 8,
            ChainTable::ToolCalls => 13,
            ChainTable::Decisions => 7,
            ChainTable::Memory => 7,
            ChainTable::PlaybookRuns => 9,
        }
    }

    /// Selects the content, then `id, chain_seq, chain_hash`, then whether
    /// the row's `invocation_id` names no row (1 or 0), of the rows whose
    /// `by` column is `?1`, in id order.
    fn select(self, by: &str) -> String {
        let (join, dangling) = self.invocation();
        // Names come from this module's constants, never from input.
        format!(
            "SELECT {}, t.id, t.chain_seq, t.chain_hash, {dangling} FROM {} t {join}
             WHERE t.{by} = ?1 ORDER BY t.id",
            self.content(),
            self.name()
        )
    }

    /// The joins that find a row's invocation, and the expression saying
    /// whether its `invocation_id` disagrees with the identity the chain
    /// covers: it names a row that is not there, or a row other than the
    /// invocation (mission, chain position) the row records. (The id may be
    /// NULL where the invocation is not here: pruned, or not imported.)
    fn invocation(self) -> (&'static str, &'static str) {
        if self == ChainTable::PlaybookRuns {
            ("", "0")
        } else {
            (
                "LEFT JOIN tool_calls i ON i.id = t.invocation_id
                 LEFT JOIN missions im ON im.id = i.mission_id",
                "CASE WHEN t.invocation_id IS NULL THEN 0
                      WHEN i.id IS NULL THEN 1
                      WHEN coalesce(im.mission_uuid, '') <> coalesce(t.invocation_mission, '')
                        OR coalesce(i.chain_seq, -1) <> coalesce(t.invocation_seq, -1) THEN 1
                      ELSE 0 END",
            )
        }
    }

    /// Whether each row of the table is chained as it is inserted, so its
    /// id order is its chain order: tool calls and decisions. (A playbook
    /// run or a memory entry another program wrote is chained when
    /// vibe-store first updates it, after rows with greater ids; memory is
    /// also imported in key order.)
    fn ordered(self) -> bool {
        matches!(self, ChainTable::ToolCalls | ChainTable::Decisions)
    }

    /// Selects the same as [`select`](Self::select) from the rows a
    /// data-modifying CTE named `t` returned (PostgreSQL's `WITH t AS
    /// (INSERT ... RETURNING *)`): what was stored, read in the same
    /// statement that stored it.
    pub(super) fn select_returned(self) -> String {
        let (join, dangling) = self.invocation();
        format!(
            "SELECT {}, t.id, t.chain_seq, t.chain_hash, {dangling} FROM t {join}",
            self.content()
        )
    }

    /// The column holding a row's mission.
    fn mission_column(self) -> &'static str {
        match self {
            ChainTable::Missions => "id",
            _ => "mission_id",
        }
    }
}

/// The digest of a row's content: the first `table.width()` values of
/// `row`, as [`ChainTable::select`] selects them.
fn digest_row(table: ChainTable, row: &[Value]) -> Hash {
    let mut h = Sha256::new();
    h.update(b"vibe-row/1\0");
    h.update(table.name().as_bytes());
    h.update(b"\0");
    for value in &row[..table.width()] {
        match value {
            Value::Null => h.update(b"n"),
            Value::Integer(v) => {
                h.update(b"i");
                h.update(v.to_be_bytes());
            }
            Value::Real(v) => {
                h.update(b"r");
                h.update(v.to_bits().to_be_bytes());
            }
            Value::Text(text) => {
                h.update(b"t");
                h.update((text.len() as u64).to_be_bytes());
                h.update(text.as_bytes());
            }
            Value::Blob(bytes) => {
                h.update(b"b");
                h.update((bytes.len() as u64).to_be_bytes());
                h.update(bytes);
            }
        }
    }
    h.finalize().into()
}

/// The hash of one ledger entry.
fn entry_hash(
    prev: &Hash,
    seq: i64,
    table: ChainTable,
    row_seq: i64,
    digest: Option<&Hash>,
) -> Hash {
    let mut h = Sha256::new();
    h.update(b"vibe-chain/1\0");
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(table.name().as_bytes());
    h.update(b"\0");
    h.update(row_seq.to_be_bytes());
    match digest {
        Some(digest) => {
            h.update([1]);
            h.update(digest);
        }
        None => h.update([0]),
    }
    h.finalize().into()
}

/// The hash that comes before a chain's first entry.
const GENESIS: Hash = [0; 32];

fn unhex(text: &str) -> Option<Hash> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The mission's last entry (served by the primary key).
pub(super) const SQL_HEAD: &str =
    "SELECT seq, hash FROM row_chain WHERE mission_id = ?1 ORDER BY seq DESC LIMIT 1";
const SQL_APPEND: &str =
    "INSERT INTO row_chain (mission_id, seq, row_table, row_seq, row_digest, hash)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// The refusal of a write onto a ledger another program left malformed.
fn malformed(mission_id: i64) -> StoreError {
    StoreError::invalid(format!(
        "the chain of mission row {mission_id} ends in a malformed hash or a position outside 1 \
         to {MAX_CHAIN_SEQ}; verifying the mission shows where"
    ))
}

/// The mission's last entry, as a write chains onto it: its position and
/// hash (0 and the genesis hash for a chain not yet begun).
pub(super) fn head(db: &mut dyn Sql, mission_id: i64) -> Result<Head> {
    let found = db.query_opt(SQL_HEAD, &[mission_id.into()])?;
    match found.as_deref() {
        None => Ok(Head::EMPTY),
        Some([seq, hash]) => Head::read(mission_id, seq, hash),
        Some(other) => Err(StoreError::Internal(format!(
            "the chain's head reads as {other:?}"
        ))),
    }
}

/// Locks the mission of row `row_id` of `table` for the transaction (where
/// the backend has row locks) and reads its chain's head after the lock;
/// returns the mission's row id and the head, or `None` when there is no
/// such row. On PostgreSQL the two statements go in one flight: the lock's
/// answer is not awaited ([`Sql::hold_next`]), and the head's statement
/// begins once the lock is granted, so it sees the lock's last holder's
/// entry.
pub(super) fn lock_head_of_row(
    db: &mut dyn Sql,
    table: ChainTable,
    row_id: i64,
) -> Result<Option<(i64, Head)>> {
    // Names come from this module's constants, never from input.
    let (name, mission) = (table.name(), table.mission_column());
    let found = match db.dialect() {
        Dialect::Sqlite => {
            let Some(mission_id) = db
                .query_opt(&mission_of_row(table), &[row_id.into()])?
                .and_then(|r| r[0].int())
            else {
                return Ok(None);
            };
            return Ok(Some((mission_id, head(db, mission_id)?)));
        }
        Dialect::Postgres => {
            db.hold_next();
            db.execute(
                &format!(
                    "SELECT id FROM missions
                     WHERE id = (SELECT {mission} FROM {name} WHERE id = ?1) FOR UPDATE"
                ),
                &[row_id.into()],
            )?;
            db.query_opt(
                &format!(
                    "SELECT t.{mission}, h.seq, h.hash FROM {name} t
                     LEFT JOIN LATERAL (
                       SELECT seq, hash FROM row_chain WHERE mission_id = t.{mission}
                       ORDER BY seq DESC LIMIT 1) h ON true
                     WHERE t.id = ?1"
                ),
                &[row_id.into()],
            )?
        }
    };
    match found.as_deref() {
        None => Ok(None),
        Some([Value::Integer(mission_id), seq, hash]) => {
            Ok(Some((*mission_id, Head::read(*mission_id, seq, hash)?)))
        }
        Some(other) => Err(StoreError::Internal(format!(
            "a row's mission and chain head read as {other:?}"
        ))),
    }
}

/// The statement that finds the mission of row `?1` of `table`.
pub(super) fn mission_of_row(table: ChainTable) -> String {
    format!(
        "SELECT {} FROM {} WHERE id = ?1",
        table.mission_column(),
        table.name()
    )
}

/// Runs `update`, which changes row `?1` of `table` (written without a
/// `RETURNING` clause), and returns the row as [`ChainTable::select`]
/// selects it, ready for [`append_row`]; `None` when it changed no row. On
/// PostgreSQL one statement.
pub(super) fn update_row(
    db: &mut dyn Sql,
    table: ChainTable,
    update: &str,
    params: &[Value],
) -> Result<Option<Vec<Value<'static>>>> {
    match db.dialect() {
        Dialect::Sqlite => {
            if db.execute(update, params)? == 0 {
                return Ok(None);
            }
            db.query_opt(&table.select("id"), &params[..1])
        }
        Dialect::Postgres => written_row(db, table, update, params),
    }
}

/// PostgreSQL: runs `write` (an `INSERT` or `UPDATE` of one row of `table`,
/// written without a `RETURNING` clause) and returns the row it wrote as
/// [`ChainTable::select`] selects it, in the same statement; `None` when it
/// wrote none.
fn written_row(
    db: &mut dyn Sql,
    table: ChainTable,
    write: &str,
    params: &[Value],
) -> Result<Option<Vec<Value<'static>>>> {
    db.query_opt(
        &format!(
            "WITH t AS ({write} RETURNING *) {}",
            table.select_returned()
        ),
        params,
    )
}

/// A mission's last entry as a write chains onto it: its position and hash
/// (0 and the genesis hash for a chain not yet begun).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head {
    seq: i64,
    hash: Hash,
}

impl Head {
    const EMPTY: Head = Head {
        seq: 0,
        hash: GENESIS,
    };

    /// The head from a ledger entry's `seq` and `hash` columns as read (both
    /// NULL: no entry yet).
    pub(super) fn read(mission_id: i64, seq: &Value, hash: &Value) -> Result<Head> {
        match (seq, hash) {
            (Value::Null, Value::Null) => Ok(Head::EMPTY),
            (Value::Integer(seq), hash) => match hash.text().and_then(unhex) {
                // A position past the range would overflow the next one.
                Some(hash) if (1..MAX_CHAIN_SEQ).contains(seq) => Ok(Head { seq: *seq, hash }),
                // Someone wrote a malformed hash into the ledger: a write
                // must not chain onto it, and must say why.
                _ => Err(malformed(mission_id)),
            },
            // A position that is not a number (text, bytes, a REAL another
            // program stored): the same refusal.
            (Value::Text(_) | Value::Blob(_) | Value::Real(_), _) => Err(malformed(mission_id)),
            other => Err(StoreError::Internal(format!(
                "the chain's head reads as {other:?}"
            ))),
        }
    }
}

/// A mission as a chained insert names it: its row id, the uuid the write
/// was asked for (on PostgreSQL the insert checks that the row still has
/// it), and whether the transaction already holds the mission's lock (on
/// PostgreSQL, where it is a row lock, the insert takes it first when not).
#[derive(Debug, Clone, Copy)]
pub(super) struct Mission<'a> {
    pub(super) id: i64,
    pub(super) uuid: &'a MissionId,
    pub(super) locked: bool,
}

/// The chain heads this process's committed writes left, by mission: on
/// PostgreSQL, where reading a head under the mission's lock costs round
/// trips to the server, a write can chain onto the head remembered here,
/// in one flight with its transaction's `BEGIN` and `COMMIT`, reading
/// nothing first. Nothing depends on the memory being right: the insert
/// ([`insert_row`]) refuses itself unless the entry it chains onto is in the
/// ledger and the next position is free, so a head another writer moved on
/// (another host, another process), or a mission deleted since, costs one
/// refused flight, and the write is made again the locked way.
///
/// A head is taken out while a write uses it, so this process's writers to
/// one mission use it one at a time (the others read the head under the
/// lock), and each committed transaction puts back the heads it left
/// ([`Sql::chained`]). Holds at most [`RememberedHeads::MAX`] missions
/// (forgetting all when full).
#[derive(Debug, Default)]
pub(crate) struct RememberedHeads(std::sync::Mutex<Remembered>);

#[derive(Debug, Default)]
struct Remembered {
    /// Missions' row ids, by the uuid a write named.
    ids: HashMap<MissionId, i64>,
    /// Heads, by mission row id.
    heads: HashMap<i64, Head>,
}

impl RememberedHeads {
    /// Most missions remembered at once.
    pub(crate) const MAX: usize = 4096;

    /// The mission's row id and head, if both are remembered; the head is
    /// forgotten until a committed write leaves one again.
    pub(super) fn take(&self, mission: &MissionId) -> Option<(i64, Head)> {
        let mut remembered = self.lock();
        let id = *remembered.ids.get(mission)?;
        remembered.heads.remove(&id).map(|head| (id, head))
    }

    /// Remembers the row id of the mission `mission` names.
    pub(super) fn remember_id(&self, mission: &MissionId, mission_id: i64) {
        let mut remembered = self.lock();
        if remembered.ids.len() >= Self::MAX {
            remembered.ids.clear();
        }
        remembered.ids.insert(mission.clone(), mission_id);
    }

    /// Forgets the row id of the mission `mission` names (a write that
    /// chained onto its remembered head was refused: it may be gone).
    pub(super) fn forget(&self, mission: &MissionId) {
        self.lock().ids.remove(mission);
    }

    /// Remembers the heads a committed transaction left (mission row id and
    /// head, in the order it wrote them); a head a write cannot chain onto
    /// (the last position) is forgotten instead, so the locked way says why.
    #[cfg(feature = "postgres")]
    pub(crate) fn remember(&self, heads: impl IntoIterator<Item = (i64, Head)>) {
        let mut remembered = self.lock();
        for (mission_id, head) in heads {
            if head.seq >= MAX_CHAIN_SEQ {
                remembered.heads.remove(&mission_id);
                continue;
            }
            if remembered.heads.len() >= Self::MAX {
                remembered.heads.clear();
            }
            remembered.heads.insert(mission_id, head);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Chains the row `row_id` of `table`, just inserted or updated inside the
/// current transaction, onto its mission's ledger. `mission_id` is the
/// mission's row id.
pub(super) fn append(
    db: &mut dyn Sql,
    mission_id: i64,
    table: ChainTable,
    row_id: i64,
) -> Result<()> {
    let head = head(db, mission_id)?;
    append_after(db, mission_id, table, row_id, head).map(drop)
}

/// [`append`] onto a head the caller read in this transaction, under the
/// mission's lock; returns the new head.
pub(super) fn append_after(
    db: &mut dyn Sql,
    mission_id: i64,
    table: ChainTable,
    row_id: i64,
    head: Head,
) -> Result<Head> {
    let row = db
        .query_opt(&table.select("id"), &[row_id.into()])?
        .ok_or_else(|| StoreError::Internal(format!("{} #{row_id} vanished", table.name())))?;
    append_row(db, mission_id, table, &row, head)
}

/// Inserts a row of `table` (`insert` is written without a `RETURNING`
/// clause) and chains it onto `head`, read in this transaction under the
/// mission's lock; returns the row's id and the new head. On PostgreSQL the
/// insert returns what was stored in its own round trip.
pub(super) fn insert(
    db: &mut dyn Sql,
    table: ChainTable,
    insert: &str,
    params: &[Value],
    mission_id: i64,
    head: Head,
) -> Result<(i64, Head)> {
    let row = match db.dialect() {
        Dialect::Sqlite => {
            let id = db.insert(insert, params)?;
            return Ok((id, append_after(db, mission_id, table, id, head)?));
        }
        Dialect::Postgres => written_row(db, table, insert, params)?
            .ok_or_else(|| StoreError::Internal("an insert returned no row".into()))?,
    };
    let id = row[table.width()]
        .int()
        .ok_or_else(|| StoreError::Internal("an insert returned no id".into()))?;
    Ok((id, append_row(db, mission_id, table, &row, head)?))
}

/// Inserts a row of `table` whose content the caller holds, and chains it
/// onto `head` (read in this transaction under the mission's lock) without
/// reading the row back; returns the row's id and the new head.
///
/// `values` are `insert`'s parameters: first the content the digest covers,
/// in [`ChainTable::content`]'s order and as the database stores it (text
/// as text, integers and booleans as integers), then the table's other
/// columns; `insert` takes the row's chain position and hash as its last two
/// parameters, which this appends. The ledger entry goes in with the row:
/// on PostgreSQL in the same statement (one round trip), on SQLite as the
/// next statement.
pub(super) fn insert_row(
    db: &mut dyn Sql,
    table: ChainTable,
    insert: &str,
    mut values: Vec<Value>,
    mission: Mission<'_>,
    head: Head,
) -> Result<(i64, Head)> {
    let mission_id = mission.id;
    let digest = digest_row(table, &values);
    let seq = head.seq + 1;
    let hash = entry_hash(&head.hash, seq, table, seq, Some(&digest));
    let (hash_hex, digest_hex) = (hex(&hash), hex(&digest));
    values.push(seq.into());
    values.push(hash_hex.clone().into());
    let id = match db.dialect() {
        Dialect::Sqlite => {
            let id = db.insert(insert, &values)?;
            insert_entry(db, mission_id, seq, table, seq, Some(digest_hex), hash_hex)?;
            id
        }
        Dialect::Postgres => {
            // The row and its entry in one statement, begun once the
            // mission's lock was granted (so it sees what the lock's last
            // holder committed), which checks the head it chains onto
            // rather than trusting it: the entry's mission is NULL unless
            // the mission is there under that uuid, and its position NULL
            // unless the ledger's last entry is the one it chains onto (one
            // probe of the ledger's key, whatever plan the server keeps)
            // and the statement runs inside the store's transaction; the
            // ledger's key refuses either NULL, failing the whole
            // statement. (A head remembered from an earlier write, see
            // `RememberedHeads`, may have been moved on since.) `?s` and
            // `?h` are the row's own last two parameters, bound once.
            let (s, h) = (values.len() - 1, values.len());
            values.push(mission_id.into());
            values.push(digest_hex.into());
            values.push(hex(&head.hash).into());
            let (m, d, p) = (values.len() - 2, values.len() - 1, values.len());
            values.extend(
                mission
                    .uuid
                    .spellings()
                    .map(|spelling| Value::Text(spelling.into_owned().into())),
            );
            let u = values.len() - 2;
            let lock = match (mission.locked, db.dialect().statements().lock_mission_row) {
                (false, Some(sql)) => Some(RowLock {
                    sql,
                    id: mission_id,
                }),
                _ => None,
            };
            db.insert_planned(
                lock,
                &format!(
                    "WITH mission AS (
                       SELECT id FROM missions
                       WHERE id = ?{m} AND mission_uuid IN (?{u}, ?{}, ?{})),
                     entry AS (
                       INSERT INTO row_chain (mission_id, seq, row_table, row_seq, row_digest, hash)
                       SELECT id,
                              CASE WHEN {POSTGRES_IN_TRANSACTION}
                                    AND COALESCE((
                                      SELECT seq = CAST(?{s} AS BIGINT) - 1 AND hash = ?{p}
                                      FROM row_chain WHERE mission_id = ?{m}
                                      ORDER BY seq DESC LIMIT 1), CAST(?{s} AS BIGINT) = 1)
                                   THEN CAST(?{s} AS BIGINT) END,
                              '{}', ?{s}, ?{d}, ?{h}
                       FROM (SELECT 1) one LEFT JOIN mission ON true)
                     {insert}",
                    u + 1,
                    u + 2,
                    table.name()
                ),
                &values,
            )?
        }
    };
    let head = Head { seq, hash };
    db.chained(mission_id, head);
    Ok((id, head))
}

/// [`append_after`] for a row already read as [`ChainTable::select`] (or
/// [`ChainTable::select_returned`]) selects it.
pub(super) fn append_row(
    db: &mut dyn Sql,
    mission_id: i64,
    table: ChainTable,
    row: &[Value],
    head: Head,
) -> Result<Head> {
    let seq = head.seq + 1;
    let row_id = row[table.width()]
        .int()
        .ok_or_else(|| StoreError::Internal(format!("a {} row without an id", table.name())))?;
    let digest = digest_row(table, row);
    // A row's position is that of the entry that first chained it.
    let row_seq = row[table.width() + 1].int().unwrap_or(seq);
    let hash = entry_hash(&head.hash, seq, table, row_seq, Some(&digest));
    let entry = [
        row_id.into(),
        row_seq.into(),
        hex(&hash).into(),
        mission_id.into(),
        seq.into(),
        table.name().into(),
        hex(&digest).into(),
    ];
    match db.dialect() {
        // One round trip to the server for both writes.
        Dialect::Postgres => {
            db.execute(
                &format!(
                    "WITH row_update AS (UPDATE {} SET chain_seq = ?2, chain_hash = ?3 WHERE id = ?1)
                     INSERT INTO row_chain (mission_id, seq, row_table, row_seq, row_digest, hash)
                     VALUES (?4, ?5, ?6, ?2, ?7, ?3)",
                    table.name()
                ),
                &entry,
            )?;
        }
        Dialect::Sqlite => {
            db.execute(
                &format!(
                    "UPDATE {} SET chain_seq = ?2, chain_hash = ?3 WHERE id = ?1",
                    table.name()
                ),
                &entry[..3],
            )?;
            db.execute(
                "INSERT INTO row_chain (mission_id, seq, row_table, row_seq, row_digest, hash)
                 VALUES (?4, ?5, ?6, ?2, ?7, ?3)",
                &entry,
            )?;
        }
    }
    let head = Head { seq, hash };
    db.chained(mission_id, head);
    Ok(head)
}

fn insert_entry(
    db: &mut dyn Sql,
    mission_id: i64,
    seq: i64,
    table: ChainTable,
    row_seq: i64,
    digest: Option<String>,
    hash: String,
) -> Result<()> {
    db.execute(
        SQL_APPEND,
        &[
            mission_id.into(),
            seq.into(),
            table.name().into(),
            row_seq.into(),
            digest.into(),
            hash.into(),
        ],
    )?;
    Ok(())
}

/// Records that the chained row at `row_seq` of `table` was deleted.
pub(super) fn append_deletion(
    db: &mut dyn Sql,
    mission_id: i64,
    table: ChainTable,
    row_seq: i64,
) -> Result<()> {
    let head = head(db, mission_id)?;
    let seq = head.seq + 1;
    let hash = entry_hash(&head.hash, seq, table, row_seq, None);
    insert_entry(db, mission_id, seq, table, row_seq, None, hex(&hash))?;
    db.chained(mission_id, Head { seq, hash });
    Ok(())
}

/// A chain's head: how many entries it has and the last one's hash. Kept
/// with an export (`chain_head`), it proves later that the chain's first
/// `length` entries are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChainHead {
    /// Entries in the chain.
    pub length: i64,
    /// The last entry's hash (none for an empty chain).
    pub hash: Option<String>,
}

/// One row `vibe verify` found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainRow {
    /// Its table (`row_chain` for an entry of the ledger itself).
    pub table: String,
    /// Its id in this file, when the row is here.
    pub id: Option<i64>,
    /// Its position in the mission's chain.
    pub position: Option<i64>,
}

impl fmt::Display for ChainRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.table.as_str(), self.id, self.position) {
            ("row_chain", _, Some(seq)) => write!(f, "chain entry {seq}"),
            (table, Some(id), Some(seq)) => write!(f, "{table} #{id} (chain position {seq})"),
            (table, Some(id), None) => write!(f, "{table} #{id}"),
            (table, None, Some(seq)) => write!(f, "{table} at chain position {seq}"),
            (table, None, None) => write!(f, "{table}"),
        }
    }
}

/// What [`SqliteStore::verify_chain`](super::SqliteStore::verify_chain) found for one mission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// The mission.
    pub mission: MissionId,
    /// Entries in its chain.
    pub length: i64,
    /// The hash of its last entry: what a copy kept elsewhere compares.
    pub head: Option<String>,
    /// Chained rows whose content was checked.
    pub checked: u64,
    /// Rows without a hash: written by other programs (or by vibe-store
    /// before schema v4). Not evidence of tampering.
    pub unchained: u64,
    /// Rows whose content (or hash) no longer matches their entry.
    pub edited: Vec<ChainRow>,
    /// Rows the chain holds that are gone, and ledger entries that are gone.
    pub deleted: Vec<ChainRow>,
    /// Rows carrying chain columns the chain does not vouch for (copied in
    /// from elsewhere, or given a position the chain never had), and ledger
    /// entries whose hash does not follow from the entries before them.
    pub out_of_chain: Vec<ChainRow>,
    /// Chained tool calls and decisions whose id order disagrees with the order the chain wrote them in:
    /// ids swapped or renumbered, which reorders what every listing shows.
    pub moved: Vec<ChainRow>,
}

impl ChainReport {
    /// Whether nothing was edited, deleted, inserted out of chain or moved.
    pub fn intact(&self) -> bool {
        self.edited.is_empty()
            && self.deleted.is_empty()
            && self.out_of_chain.is_empty()
            && self.moved.is_empty()
    }
}

/// The most entries one gap in a ledger lists: a larger gap is listed by its
/// first entries and its last.
const MAX_LISTED_GAP: i64 = 1000;

/// A chain whose mission row is gone: the mission was deleted behind
/// vibe-store's back (`vibe prune` deletes chains with their missions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrphanChain {
    /// The deleted mission's row id.
    pub mission_row: i64,
    /// Entries its chain holds.
    pub entries: i64,
}

/// The latest state the ledger records for one row.
struct Latest {
    seq: i64,
    digest: Option<Hash>,
    hash: String,
}

/// Recomputes one mission's chain and checks its rows against it. Holds 100
/// bytes or so per chained row of the mission.
pub(super) fn verify(db: &mut dyn Sql, mission_id: i64, mission: MissionId) -> Result<ChainReport> {
    let mut report = ChainReport {
        mission,
        length: 0,
        head: None,
        checked: 0,
        unchained: 0,
        edited: Vec::new(),
        deleted: Vec::new(),
        out_of_chain: Vec::new(),
        moved: Vec::new(),
    };
    let entry = |seq| ChainRow {
        table: "row_chain".into(),
        id: None,
        position: Some(seq),
    };
    // The ledger, entry by entry.
    let mut latest: HashMap<(ChainTable, i64), Latest> = HashMap::new();
    {
        let (mut expected, mut prev) = (1i64, GENESIS);
        db.query(
            "SELECT seq, row_table, row_seq, row_digest, hash FROM row_chain
             WHERE mission_id = ?1 ORDER BY seq",
            &[mission_id.into()],
            &mut |r| {
                // Whatever another program stored in the ledger is reported,
                // never trusted to be in range: the check goes on.
                let (Some(seq), Some(table), Some(row_seq), Some(hash)) =
                    (r[0].int(), r[1].text(), r[2].int(), r[4].text())
                else {
                    report.out_of_chain.push(ChainRow {
                        table: "row_chain".into(),
                        id: None,
                        position: r[0].int(),
                    });
                    return Ok(());
                };
                if !(1..=MAX_CHAIN_SEQ).contains(&seq) || !(1..=MAX_CHAIN_SEQ).contains(&row_seq) {
                    report.out_of_chain.push(entry(seq));
                    return Ok(());
                }
                let digest = r[3].text();
                if seq > expected {
                    let listed = seq.min(expected + MAX_LISTED_GAP);
                    report.deleted.extend((expected..listed).map(entry));
                    if listed < seq - 1 {
                        report.deleted.push(entry(seq - 1));
                    }
                }
                expected = seq + 1;
                report.length = seq;
                report.head = Some(hash.to_owned());
                let table = ChainTable::from_name(table);
                let digest_bytes = digest.map(unhex);
                let computed = match (table, digest_bytes) {
                    (Some(table), Some(Some(d))) => {
                        Some(entry_hash(&prev, seq, table, row_seq, Some(&d)))
                    }
                    (Some(table), None) => Some(entry_hash(&prev, seq, table, row_seq, None)),
                    _ => None,
                };
                if computed.map(|c| hex(&c)).as_deref() != Some(hash) {
                    report.out_of_chain.push(entry(seq));
                }
                // The next entry must follow from this one as stored: a single
                // altered entry is reported once, not with every entry after it.
                prev = unhex(hash).unwrap_or(GENESIS);
                if let Some(table) = table {
                    latest.insert(
                        (table, row_seq),
                        Latest {
                            seq,
                            digest: digest_bytes.flatten(),
                            hash: hash.to_owned(),
                        },
                    );
                }
                Ok(())
            },
        )?;
    }
    // The rows, table by table.
    let mut seen: HashSet<(ChainTable, i64)> = HashSet::new();
    for table in ChainTable::ALL {
        let mut last_seq = 0i64;
        db.query(
            &table.select(table.mission_column()),
            &[mission_id.into()],
            &mut |r| {
                let id = r[table.width()].int();
                let row_seq = r[table.width() + 1].int();
                let row_hash = r[table.width() + 2].text();
                let dangling = r[table.width() + 3].int() == Some(1);
                let found = |position| ChainRow {
                    table: table.name().into(),
                    id,
                    position,
                };
                let Some(row_seq) = row_seq else {
                    if row_hash.is_some() {
                        report.out_of_chain.push(found(None));
                    } else {
                        report.unchained += 1;
                    }
                    return Ok(());
                };
                report.checked += 1;
                match latest.get(&(table, row_seq)) {
                    Some(Latest {
                        digest: Some(digest),
                        hash,
                        ..
                    }) if seen.insert((table, row_seq)) => {
                        // A chained row's invocation_id that names no row was
                        // changed after the write (the digest names the
                        // invocation, and a row without one reads the same).
                        if digest_row(table, r) != *digest
                            || row_hash != Some(hash.as_str())
                            || dangling
                        {
                            report.edited.push(found(Some(row_seq)));
                        }
                    }
                    _ => report.out_of_chain.push(found(Some(row_seq))),
                }
                // Ids grow in commit order, and each row is chained as it is
                // inserted: in a history, a row first written earlier never
                // has the greater id.
                if table.ordered() {
                    if last_seq > row_seq {
                        report.moved.push(found(Some(row_seq)));
                    }
                    last_seq = last_seq.max(row_seq);
                }
                Ok(())
            },
        )?;
    }
    // What the chain holds and the tables do not.
    let mut gone: Vec<(i64, ChainTable, i64)> = latest
        .iter()
        .filter(|(key, l)| l.digest.is_some() && !seen.contains(key))
        .map(|((table, row_seq), l)| (l.seq, *table, *row_seq))
        .collect();
    gone.sort_unstable();
    report
        .deleted
        .extend(gone.into_iter().map(|(_, table, row_seq)| ChainRow {
            table: table.name().into(),
            id: None,
            position: Some(row_seq),
        }));
    Ok(report)
}

/// Chains whose mission row is gone.
pub(super) fn orphans(db: &mut dyn Sql) -> Result<Vec<OrphanChain>> {
    let rows = db.query_all(
        "SELECT mission_id, COUNT(*) FROM row_chain
         WHERE mission_id NOT IN (SELECT id FROM missions)
         GROUP BY mission_id ORDER BY mission_id",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| OrphanChain {
            mission_row: r[0].int().unwrap_or_default(),
            entries: r[1].int().unwrap_or_default(),
        })
        .collect())
}

/// The hash of entry `seq` of a mission's chain, if it has one.
pub(super) fn entry_at(db: &mut dyn Sql, mission_id: i64, seq: i64) -> Result<Option<String>> {
    Ok(db
        .query_opt(
            "SELECT hash FROM row_chain WHERE mission_id = ?1 AND seq = ?2",
            &[mission_id.into(), seq.into()],
        )?
        .and_then(|r| r.into_iter().next()?.into_text()))
}

/// Recomputes `mission`'s chain and checks its rows against it.
pub(crate) fn verify_mission(store: &impl Backend, mission: &MissionId) -> Result<ChainReport> {
    store.read_sql(|db| {
        let row = mission_row_id(db, mission)?;
        verify(db, row, mission.clone())
    })
}

/// [`verify_mission`] for every mission, oldest first, one at a time.
pub(crate) fn verify_every_mission(
    store: &impl Backend,
    f: &mut dyn FnMut(ChainReport) -> Result<()>,
) -> Result<()> {
    let missions = store
        .read_sql(|db| db.query_all("SELECT id, mission_uuid FROM missions ORDER BY id", &[]))?;
    for row in missions {
        if let [Value::Integer(id), Value::Text(uuid)] = row.as_slice() {
            f(store.read_sql(|db| verify(db, *id, MissionId::stored(uuid.to_string())))?)?;
        }
    }
    Ok(())
}

/// The hash of entry `seq` of `mission`'s chain, if it has one.
pub(crate) fn mission_entry(
    store: &impl Backend,
    mission: &MissionId,
    seq: i64,
) -> Result<Option<String>> {
    store.read_sql(|db| {
        let row = mission_row_id(db, mission)?;
        entry_at(db, row, seq)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_malformed_text() {
        let hash: Hash = Sha256::digest(b"x").into();
        assert_eq!(unhex(&hex(&hash)), Some(hash));
        assert_eq!(unhex("00"), None);
        assert_eq!(unhex(&"zz".repeat(32)), None);
        assert_eq!(unhex(&"é".repeat(32)), None);
    }

    #[test]
    fn an_entry_hash_covers_every_field() {
        let d: Hash = Sha256::digest(b"row").into();
        let base = entry_hash(&GENESIS, 1, ChainTable::ToolCalls, 1, Some(&d));
        let other: Hash = Sha256::digest(b"other").into();
        for changed in [
            entry_hash(&other, 1, ChainTable::ToolCalls, 1, Some(&d)),
            entry_hash(&GENESIS, 2, ChainTable::ToolCalls, 1, Some(&d)),
            entry_hash(&GENESIS, 1, ChainTable::Decisions, 1, Some(&d)),
            entry_hash(&GENESIS, 1, ChainTable::ToolCalls, 2, Some(&d)),
            entry_hash(&GENESIS, 1, ChainTable::ToolCalls, 1, Some(&other)),
            entry_hash(&GENESIS, 1, ChainTable::ToolCalls, 1, None),
        ] {
            assert_ne!(changed, base);
        }
    }

    #[test]
    fn every_table_selects_its_declared_width() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for m in super::super::MIGRATIONS {
            conn.execute_batch(m.sql).unwrap();
        }
        for table in ChainTable::ALL {
            let stmt = conn.prepare(&table.select("id")).unwrap();
            assert_eq!(stmt.column_count(), table.width() + 4, "{}", table.name());
        }
    }
}
