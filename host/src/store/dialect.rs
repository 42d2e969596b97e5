//! The statements whose text differs between SQLite and PostgreSQL, side by
//! side, and the ones both run as written.
//!
//! Both number their parameters `?1`, `?2`... (PostgreSQL's `$1` is
//! substituted by its [`Sql`](super::sql::Sql) implementation), and each pair
//! binds the same parameters in the same order, so `operations.rs` binds
//! once. What differs:
//! - a write locks its mission's row on PostgreSQL (`FOR UPDATE`); SQLite has
//!   one writer per file and needs no lock;
//! - PostgreSQL compares text with `COLLATE "C"` where SQLite compares bytes,
//!   so names order the same on both;
//! - times are compared as the instants they name, whatever their spelling
//!   (see `time.rs`): SQLite through [`sqlite_instant!`], PostgreSQL through
//!   its `vibe_instant(text)` function, each in its indexes too;
//! - PostgreSQL must be told the type of a parameter that may be NULL
//!   (`CAST(?1 AS TEXT)`), and spells SQLite's `json_each`, `instr` and
//!   boolean sums its own way;
//! - SQLite's filtered listings come in two statements, within one mission
//!   and across all, so its planner can use the mission's index for the
//!   first (PostgreSQL plans `?1 IS NULL OR ...` at bind time).

use super::ids::MissionId;
use super::rows::{decisions_from, mission_select, tool_calls_from};
use super::sql::{Dialect, Value};
use super::time::sqlite_instant;

/// One dialect's text for each statement that differs.
#[derive(Debug)]
pub(crate) struct Statements {
    /// `?1`-`?3` a mission's uuid as [`uuid_params`] binds it; returns its
    /// row id, locking the row for the transaction where a backend has row
    /// locks.
    pub lock_mission: &'static str,
    /// `?1` a mission's row id: locks it, where a backend has row locks.
    pub lock_mission_row: Option<&'static str>,
    /// [`lock_mission`](Self::lock_mission) and the mission's chain head
    /// (`id, seq, hash`; `seq` and `hash` NULL for an empty chain) in one
    /// statement, where one statement may both lock and read the head: on
    /// SQLite the write transaction already holds the lock. (PostgreSQL's
    /// READ COMMITTED would read the head from the snapshot taken before the
    /// lock was granted, so it locks, then reads.)
    pub lock_mission_head: Option<&'static str>,
    /// `?1` status, `?2` phase, `?3`/`?4` created since/until, `?5` text in
    /// the metadata, `?6` the id of the last mission of the previous page,
    /// `?7` limit: newest first.
    pub find_missions: &'static str,
    /// `?1` mission row id, `?2` after id, `?3` JSON array of tool names,
    /// `?4` success, `?5`/`?6` since/until, `?7` limit: within one mission,
    /// then across all (where `?1` is unused).
    pub find_tool_calls: [&'static str; 2],
    /// `?1` mission row id, `?2` after id, `?3` JSON array of types, `?4` of
    /// agents, `?5`/`?6` since/until, `?7` limit: within one mission, then
    /// across all.
    pub find_decisions: [&'static str; 2],
    /// `?1` mission row id or NULL for all: per tool, counts, first and last
    /// call, nearest-rank duration percentiles (rank = ceil(p * n)).
    pub tool_stats: &'static str,
    /// `?1` mission row id, `?2` key, `?3` now: the live value.
    pub memory_get: &'static str,
    /// `?1` mission row id, `?2` now: every live entry, by key.
    pub memory_list: &'static str,
    /// `?1` created before, `?2` JSON array of statuses: the missions a
    /// prune selects (those whose `created_at` names an instant before
    /// `?1`), oldest first, with how many rows each holds.
    pub prune_candidates: &'static str,
    /// `?1` JSON array of statuses: row id, uuid and `created_at` of the
    /// missions in them whose `created_at` is not a time (a prune by age
    /// skips them).
    pub missions_not_a_time: &'static str,
    /// `?1` mission row id: its playbook runs, in the order started.
    pub playbook_runs: &'static str,
    /// `?1` created since, or NULL for all: row id and uuid of the missions
    /// an export selects, oldest first (a `created_at` that is not a time
    /// first when `?1` is NULL; never when it is given).
    pub export_selection: &'static str,
}

impl Dialect {
    /// This dialect's statements.
    pub(crate) fn statements(self) -> &'static Statements {
        match self {
            Dialect::Sqlite => &SQLITE,
            Dialect::Postgres => &POSTGRES,
        }
    }
}

// ---- the two dialects --------------------------------------------------------

/// Finds a mission by its uuid: `?1` the id as given, `?2` and `?3` its
/// lower- and upper-case spellings when it is a UUID (another program may
/// have stored it upper-case): probes of the unique index in that order,
/// the first found taken (`coalesce` stops there; usually after one).
/// Written as `mission_uuid IN (?1, ?2, ?3)` with an `ORDER BY`, it cost
/// SQLite a temporary index of the list and a sort on every statement,
/// about 3 us of every operation. `$missions` is the name the statement
/// gives the `missions` table: the id compared is named through it, so a
/// column another program adds to a joined table cannot make it ambiguous.
macro_rules! by_uuid {
    ($missions:literal) => {
        concat!(
            " WHERE ",
            $missions,
            ".id = coalesce((SELECT id FROM missions WHERE mission_uuid = ?1),
                            (SELECT id FROM missions WHERE mission_uuid = ?2),
                            (SELECT id FROM missions WHERE mission_uuid = ?3))"
        )
    };
}

/// [`by_uuid!`]'s lookup for a statement that locks the row it finds (PostgreSQL's
/// `FOR UPDATE`): the uuid is compared in the locking statement's own
/// `WHERE`, which READ COMMITTED checks again on the row's newest version
/// once the lock is granted, so a mission renamed meanwhile is not found
/// rather than written into (a lookup in a subquery would keep the id it
/// read before the wait).
macro_rules! by_uuid_locking {
    () => {
        " WHERE mission_uuid IN (?1, ?2, ?3)
          ORDER BY mission_uuid = ?1 DESC, mission_uuid = ?2 DESC LIMIT 1"
    };
}

macro_rules! prune_candidates {
    () => {
        "SELECT m.mission_uuid, m.created_at, m.status,
                (SELECT COUNT(*) FROM tool_calls WHERE mission_id = m.id),
                (SELECT COUNT(*) FROM decisions WHERE mission_id = m.id),
                (SELECT COUNT(*) FROM agent_memory WHERE mission_id = m.id),
                (SELECT COUNT(*) FROM playbook_runs WHERE mission_id = m.id)
         FROM missions m "
    };
}
macro_rules! playbook_runs {
    () => {
        "SELECT id, mission_id, playbook_name, phase, started_at, completed_at,
                success, metrics, error_message
         FROM playbook_runs WHERE mission_id = ?1 "
    };
}

/// The filter and order of a tool-call listing: rows in the order they
/// were recorded (`id`, which is also the page key), those whose timestamp
/// names an instant in `[?5, ?6)` (`$at` is the dialect's instant of
/// `t.timestamp`, `$since`/`$until` of the parameters).
macro_rules! tool_calls_filter {
    ($at:expr, $since:expr, $until:expr, $names:literal, $success:literal) => {
        concat!(
            "AND t.id > ?2 AND (",
            $names,
            ") AND (",
            $success,
            ") AND ",
            $at,
            " >= ",
            $since,
            " AND ",
            $at,
            " < ",
            $until,
            " ORDER BY t.id LIMIT ?7"
        )
    };
}
/// [`tool_calls_filter!`] for decisions.
macro_rules! decisions_filter {
    ($at:expr, $since:expr, $until:expr, $types:literal, $agents:literal) => {
        concat!(
            "AND d.id > ?2 AND (",
            $types,
            ") AND (",
            $agents,
            ") AND ",
            $at,
            " >= ",
            $since,
            " AND ",
            $at,
            " < ",
            $until,
            " ORDER BY d.id LIMIT ?7"
        )
    };
}

pub(crate) const SQLITE: Statements = Statements {
    lock_mission: MISSION_ROW_BY_UUID,
    lock_mission_row: None,
    lock_mission_head: Some(concat!(
        "SELECT m.id, h.seq, h.hash FROM missions m
         LEFT JOIN row_chain h ON h.mission_id = m.id
          AND h.seq = (SELECT seq FROM row_chain WHERE mission_id = m.id
                       ORDER BY seq DESC LIMIT 1)",
        by_uuid!("m")
    )),
    find_missions: concat!(
        mission_select!(),
        " WHERE (?1 IS NULL OR status = ?1)
            AND (?2 IS NULL OR phase = ?2)
            AND ",
        sqlite_instant!("created_at"),
        " >= ",
        sqlite_instant!("?3"),
        " AND ",
        sqlite_instant!("created_at"),
        " < ",
        sqlite_instant!("?4"),
        " AND (?5 IS NULL OR instr(metadata, ?5) > 0)
            AND (?6 IS NULL OR (",
        sqlite_instant!("created_at"),
        ", id) < (SELECT ",
        sqlite_instant!("created_at"),
        ", id FROM missions WHERE id = ?6))
          ORDER BY ",
        sqlite_instant!("created_at"),
        " DESC, id DESC LIMIT ?7"
    ),
    find_tool_calls: [
        concat!(
            tool_calls_from!(),
            "WHERE t.mission_id = ?1 ",
            tool_calls_filter!(
                sqlite_instant!("t.timestamp"),
                sqlite_instant!("?5"),
                sqlite_instant!("?6"),
                "?3 IS NULL OR t.tool_name IN (SELECT value FROM json_each(?3))",
                "?4 IS NULL OR t.success = ?4"
            )
        ),
        concat!(
            tool_calls_from!(),
            "WHERE 1 ",
            tool_calls_filter!(
                sqlite_instant!("t.timestamp"),
                sqlite_instant!("?5"),
                sqlite_instant!("?6"),
                "?3 IS NULL OR t.tool_name IN (SELECT value FROM json_each(?3))",
                "?4 IS NULL OR t.success = ?4"
            )
        ),
    ],
    find_decisions: [
        concat!(
            decisions_from!(),
            "WHERE d.mission_id = ?1 ",
            decisions_filter!(
                sqlite_instant!("d.timestamp"),
                sqlite_instant!("?5"),
                sqlite_instant!("?6"),
                "?3 IS NULL OR d.decision_type IN (SELECT value FROM json_each(?3))",
                "?4 IS NULL OR d.agent_name IN (SELECT value FROM json_each(?4))"
            )
        ),
        concat!(
            decisions_from!(),
            "WHERE 1 ",
            decisions_filter!(
                sqlite_instant!("d.timestamp"),
                sqlite_instant!("?5"),
                sqlite_instant!("?6"),
                "?3 IS NULL OR d.decision_type IN (SELECT value FROM json_each(?3))",
                "?4 IS NULL OR d.agent_name IN (SELECT value FROM json_each(?4))"
            )
        ),
    ],
    tool_stats: concat!(
        "
        WITH calls AS (
            SELECT tool_name, success,
                   CASE WHEN typeof(duration_ms) = 'integer' THEN duration_ms END AS duration_ms, ",
        sqlite_instant!("timestamp"),
        " AS at
            FROM tool_calls WHERE ?1 IS NULL OR mission_id = ?1
        ),
        ranked AS (
            SELECT tool_name, duration_ms,
                   ROW_NUMBER() OVER (PARTITION BY tool_name ORDER BY duration_ms) AS rank,
                   COUNT(*) OVER (PARTITION BY tool_name) AS n
            FROM calls WHERE duration_ms IS NOT NULL
        )
        SELECT c.tool_name, COUNT(*), SUM(c.success = 0),
               strftime('%Y-%m-%dT%H:%M:%fZ', MIN(NULLIF(c.at, -1)) / 86400000.0),
               strftime('%Y-%m-%dT%H:%M:%fZ', MAX(NULLIF(c.at, -1)) / 86400000.0),
               (SELECT duration_ms FROM ranked r
                WHERE r.tool_name = c.tool_name AND r.rank = (r.n * 50 + 99) / 100),
               (SELECT duration_ms FROM ranked r
                WHERE r.tool_name = c.tool_name AND r.rank = (r.n * 95 + 99) / 100),
               MAX(c.duration_ms)
        FROM calls c GROUP BY c.tool_name ORDER BY COUNT(*) DESC, c.tool_name"
    ),
    memory_get: concat!(
        "SELECT value FROM agent_memory
         WHERE mission_id = ?1 AND key = ?2 AND (expires_at IS NULL OR ",
        sqlite_instant!("expires_at"),
        " > ",
        sqlite_instant!("?3"),
        ")"
    ),
    memory_list: concat!(
        "SELECT key, value, timestamp, expires_at, invocation_id
         FROM agent_memory
         WHERE mission_id = ?1 AND (expires_at IS NULL OR ",
        sqlite_instant!("expires_at"),
        " > ",
        sqlite_instant!("?2"),
        ") ORDER BY key"
    ),
    prune_candidates: concat!(
        prune_candidates!(),
        "WHERE ",
        sqlite_instant!("m.created_at"),
        " > -1 AND ",
        sqlite_instant!("m.created_at"),
        " < ",
        sqlite_instant!("?1"),
        " AND m.status IN (SELECT value FROM json_each(?2))
         ORDER BY ",
        sqlite_instant!("m.created_at"),
        ", m.id"
    ),
    missions_not_a_time: concat!(
        "SELECT id, mission_uuid, created_at FROM missions WHERE ",
        sqlite_instant!("created_at"),
        " = -1
           AND status IN (SELECT value FROM json_each(?1)) ORDER BY id"
    ),
    playbook_runs: concat!(playbook_runs!(), "ORDER BY id"),
    export_selection: concat!(
        "SELECT id, mission_uuid FROM missions WHERE ",
        sqlite_instant!("created_at"),
        " >= ",
        sqlite_instant!("?1"),
        " ORDER BY ",
        sqlite_instant!("created_at"),
        ", id"
    ),
};

pub(crate) const POSTGRES: Statements = Statements {
    lock_mission: concat!("SELECT id FROM missions", by_uuid_locking!(), " FOR UPDATE"),
    lock_mission_row: Some("SELECT id FROM missions WHERE id = ?1 FOR UPDATE"),
    lock_mission_head: None,
    find_missions: concat!(
        mission_select!(),
        " WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1)
            AND (CAST(?2 AS TEXT) IS NULL OR phase = ?2)
            AND vibe_instant(created_at) >= vibe_instant(?3)
            AND vibe_instant(created_at) < vibe_instant(?4)
            AND (CAST(?5 AS TEXT) IS NULL OR strpos(metadata, ?5) > 0)
            AND (CAST(?6 AS BIGINT) IS NULL
                 OR (vibe_instant(created_at), id)
                    < (SELECT vibe_instant(created_at), id FROM missions WHERE id = ?6))
          ORDER BY vibe_instant(created_at) DESC, id DESC LIMIT ?7"
    ),
    find_tool_calls: [POSTGRES_FIND_TOOL_CALLS, POSTGRES_FIND_TOOL_CALLS],
    find_decisions: [POSTGRES_FIND_DECISIONS, POSTGRES_FIND_DECISIONS],
    tool_stats: "
        WITH calls AS (
            SELECT tool_name, success, duration_ms, vibe_instant(timestamp) AS at
            FROM tool_calls WHERE CAST(?1 AS BIGINT) IS NULL OR mission_id = ?1
        ),
        ranked AS (
            SELECT tool_name, duration_ms,
                   ROW_NUMBER() OVER (PARTITION BY tool_name ORDER BY duration_ms) AS rank,
                   COUNT(*) OVER (PARTITION BY tool_name) AS n
            FROM calls WHERE duration_ms IS NOT NULL
        )
        SELECT c.tool_name, COUNT(*), SUM(CASE WHEN c.success THEN 0 ELSE 1 END),
               to_char(MIN(NULLIF(c.at, '-infinity')) AT TIME ZONE 'UTC',
                       'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
               to_char(MAX(NULLIF(c.at, '-infinity')) AT TIME ZONE 'UTC',
                       'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
               (SELECT duration_ms FROM ranked r
                WHERE r.tool_name = c.tool_name AND r.rank = (r.n * 50 + 99) / 100),
               (SELECT duration_ms FROM ranked r
                WHERE r.tool_name = c.tool_name AND r.rank = (r.n * 95 + 99) / 100),
               MAX(c.duration_ms)
        FROM calls c GROUP BY c.tool_name ORDER BY COUNT(*) DESC, c.tool_name COLLATE \"C\"",
    memory_get: "SELECT value FROM agent_memory
         WHERE mission_id = ?1 AND key = ?2
           AND (expires_at IS NULL OR vibe_instant(expires_at) > vibe_instant(?3))",
    memory_list: "SELECT key, value, timestamp, expires_at, invocation_id
         FROM agent_memory
         WHERE mission_id = ?1
           AND (expires_at IS NULL OR vibe_instant(expires_at) > vibe_instant(?2))
         ORDER BY key COLLATE \"C\"",
    prune_candidates: concat!(
        prune_candidates!(),
        "WHERE vibe_instant(m.created_at) > '-infinity'
           AND vibe_instant(m.created_at) < vibe_instant(?1)
           AND m.status IN (SELECT json_array_elements_text(CAST(?2 AS TEXT)::json))
         ORDER BY vibe_instant(m.created_at), m.id"
    ),
    missions_not_a_time: "SELECT id, mission_uuid, created_at FROM missions
         WHERE vibe_instant(created_at) = '-infinity'
           AND status IN (SELECT json_array_elements_text(CAST(?1 AS TEXT)::json)) ORDER BY id",
    playbook_runs: concat!(playbook_runs!(), "ORDER BY id"),
    export_selection: "SELECT id, mission_uuid FROM missions
         WHERE vibe_instant(created_at) >= vibe_instant(?1)
         ORDER BY vibe_instant(created_at), id",
};

const POSTGRES_FIND_TOOL_CALLS: &str = concat!(
    tool_calls_from!(),
    "WHERE (CAST(?1 AS BIGINT) IS NULL OR t.mission_id = ?1) ",
    tool_calls_filter!(
        "vibe_instant(t.timestamp)",
        "vibe_instant(?5)",
        "vibe_instant(?6)",
        "CAST(?3 AS TEXT) IS NULL
         OR t.tool_name IN (SELECT json_array_elements_text(CAST(?3 AS TEXT)::json))",
        "CAST(?4 AS BOOLEAN) IS NULL OR t.success = ?4"
    )
);
const POSTGRES_FIND_DECISIONS: &str = concat!(
    decisions_from!(),
    "WHERE (CAST(?1 AS BIGINT) IS NULL OR d.mission_id = ?1) ",
    decisions_filter!(
        "vibe_instant(d.timestamp)",
        "vibe_instant(?5)",
        "vibe_instant(?6)",
        "CAST(?3 AS TEXT) IS NULL
         OR d.decision_type IN (SELECT json_array_elements_text(CAST(?3 AS TEXT)::json))",
        "CAST(?4 AS TEXT) IS NULL
         OR d.agent_name IN (SELECT json_array_elements_text(CAST(?4 AS TEXT)::json))"
    )
);

// ---- the same on both ----------------------------------------------------------

/// The identity of invocation row `$id` across files, as the two values a
/// row stores beside its `invocation_id` (schema v6): its mission's uuid and
/// its place in that mission's chain. The chain covers these, not the id,
/// so a row's provenance survives its invocation being pruned, and a copy.
macro_rules! invocation_identity {
    ($id:literal) => {
        concat!(
            "(SELECT m.mission_uuid FROM tool_calls i JOIN missions m ON m.id = i.mission_id
              WHERE i.id = ",
            $id,
            "),
             (SELECT i.chain_seq FROM tool_calls i WHERE i.id = ",
            $id,
            ")"
        )
    };
}

/// `?1`-`?3` a mission's uuid as [`uuid_params`] binds it: the mission.
/// PostgreSQL: what every transaction the store begins sets, with its other
/// settings (`SET LOCAL`, so it ends with the transaction).
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES_IN_TRANSACTION_SET: &str = "SET LOCAL vibe.in_transaction = on;";

/// PostgreSQL: true only inside a transaction the store began (see
/// [`POSTGRES_IN_TRANSACTION_SET`]). A statement that writes and tests it
/// so that it writes nothing when false may travel behind its
/// transaction's unanswered `BEGIN`: were the `BEGIN` refused, the
/// statement would run on its own, outside any transaction, and refuse
/// itself instead of committing alone.
pub(crate) const POSTGRES_IN_TRANSACTION: &str =
    "current_setting('vibe.in_transaction', true) = 'on'";

/// [`POSTGRES_IN_TRANSACTION_SET`] as an expression, for a function that is
/// a transaction of its own (`postgres/functions.rs`).
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES_IN_TRANSACTION_CONFIG: &str =
    "set_config('vibe.in_transaction', 'on', true)";

pub(crate) const MISSION_BY_UUID: &str = concat!(mission_select!(), by_uuid!("missions"));
/// `?1`-`?3` a mission's uuid as [`uuid_params`] binds it: its row id.
pub(crate) const MISSION_ROW_BY_UUID: &str =
    concat!("SELECT id FROM missions", by_uuid!("missions"));

/// The parameters of a lookup by uuid ([`MISSION_BY_UUID`],
/// [`Statements::lock_mission`]): the id as given, then its lower- and
/// upper-case spellings ([`MissionId::spellings`]).
pub(crate) fn uuid_params(mission: &MissionId) -> [Value<'_>; 3] {
    mission.spellings().map(Value::Text)
}
pub(crate) const CREATE_MISSION: &str = concat!(
    "INSERT INTO missions (mission_uuid, phase, status, created_at, metadata, invocation_id,
                           invocation_mission, invocation_seq)
     VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ",
    invocation_identity!("?5"),
    ")"
);
pub(crate) const UPDATE_MISSION_STATUS: &str =
    "UPDATE missions SET status = ?2, completed_at = ?3 WHERE id = ?1";
/// A tool call or an invocation, written with its chain columns (see
/// [`chain::insert_row`](super::chain::insert_row)): `?1`-`?13` the content
/// the chain's digest covers, in its order (tool name, args, result,
/// timestamp, duration, success, error message, component sha256 and size,
/// outcome, caller, invocation mission and seq), `?14` mission row id, `?15`
/// invocation id, `?16` chain seq, `?17` chain hash.
pub(crate) const INSERT_TOOL_CALL: &str =
    "INSERT INTO tool_calls (tool_name, args, result, timestamp, duration_ms, success,
                             error_message, component_sha256, component_size, outcome, caller,
                             invocation_mission, invocation_seq, mission_id, invocation_id,
                             chain_seq, chain_hash)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
/// `?1` an invocation's row id: its identity as rows it wrote store it
/// (its mission's uuid, its chain position).
pub(crate) const INVOCATION_IDENTITY: &str =
    "SELECT m.mission_uuid, i.chain_seq FROM tool_calls i JOIN missions m ON m.id = i.mission_id
     WHERE i.id = ?1";
pub(crate) const END_INVOCATION: &str = "UPDATE tool_calls
     SET result = ?2, duration_ms = ?3, success = ?4, error_message = ?5, outcome = ?6
     WHERE id = ?1 AND outcome = 'running'";
pub(crate) const TOOL_CALL_BY_ID: &str = concat!(tool_calls_from!(), "WHERE t.id = ?1");
/// `?1` mission row id, `?2` after id, `?3` limit.
pub(crate) const TOOL_CALLS_PAGE: &str = concat!(
    tool_calls_from!(),
    "WHERE t.mission_id = ?1 AND t.id > ?2 ORDER BY t.id LIMIT ?3"
);
/// A decision, written as [`INSERT_TOOL_CALL`] writes a tool call:
/// `?1`-`?7` the content (type, rationale, timestamp, agent, context,
/// invocation mission and seq), `?8` mission row id, `?9` invocation id,
/// `?10` chain seq, `?11` chain hash.
pub(crate) const INSERT_DECISION: &str =
    "INSERT INTO decisions (decision_type, rationale, timestamp, agent_name, context,
                            invocation_mission, invocation_seq, mission_id, invocation_id,
                            chain_seq, chain_hash)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
/// `?1` mission row id, `?2` after id, `?3` limit.
pub(crate) const DECISIONS_PAGE: &str = concat!(
    decisions_from!(),
    "WHERE d.mission_id = ?1 AND d.id > ?2 ORDER BY d.id LIMIT ?3"
);
pub(crate) const SET_MEMORY: &str = concat!(
    "INSERT INTO agent_memory (mission_id, key, value, timestamp, ttl, expires_at, invocation_id,
                               invocation_mission, invocation_seq)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ",
    invocation_identity!("?7"),
    ")
     ON CONFLICT (mission_id, key) DO UPDATE SET
         value = excluded.value, timestamp = excluded.timestamp,
         ttl = excluded.ttl, expires_at = excluded.expires_at,
         invocation_id = excluded.invocation_id,
         invocation_mission = excluded.invocation_mission,
         invocation_seq = excluded.invocation_seq
     RETURNING id"
);
pub(crate) const DELETE_MEMORY: &str =
    "DELETE FROM agent_memory WHERE mission_id = ?1 AND key = ?2 RETURNING chain_seq";
pub(crate) const START_PLAYBOOK_RUN: &str =
    "INSERT INTO playbook_runs (mission_id, playbook_name, phase, started_at)
     VALUES (?1, ?2, ?3, ?4)";
pub(crate) const COMPLETE_PLAYBOOK_RUN: &str = "UPDATE playbook_runs
     SET completed_at = ?2, success = ?3, metrics = ?4, error_message = ?5
     WHERE id = ?1 AND completed_at IS NULL";
/// `?1` mission row id: a chunk of one mission's rows, table by table,
/// newest first (a prune deletes a mission a batch at a time).
pub(crate) const PRUNE_CHUNKS: [&str; 5] = [
    "DELETE FROM tool_calls WHERE id IN
         (SELECT id FROM tool_calls WHERE mission_id = ?1 ORDER BY id DESC LIMIT 2000)",
    "DELETE FROM decisions WHERE id IN
         (SELECT id FROM decisions WHERE mission_id = ?1 ORDER BY id DESC LIMIT 2000)",
    "DELETE FROM agent_memory WHERE id IN
         (SELECT id FROM agent_memory WHERE mission_id = ?1 LIMIT 2000)",
    "DELETE FROM playbook_runs WHERE id IN
         (SELECT id FROM playbook_runs WHERE mission_id = ?1 LIMIT 2000)",
    "DELETE FROM row_chain WHERE mission_id = ?1 AND seq IN
         (SELECT seq FROM row_chain WHERE mission_id = ?1 ORDER BY seq DESC LIMIT 2000)",
];
pub(crate) const DELETE_MISSION: &str = "DELETE FROM missions WHERE id = ?1";
