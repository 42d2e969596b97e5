//! The benchmark's floors: the store's own client libraries (rusqlite,
//! rust-postgres) with no store code in the way.
//!
//! The SQLite floor opens the store's file with the settings the store
//! reports for its writer ([`SqliteStore::connection_settings`]) and inserts
//! tool calls with one prepared statement, one transaction per row: the
//! fastest single-row durable insert this disk allows, against which the
//! store's own path is measured. The PostgreSQL floor is one prepared
//! `INSERT`, committed on its own.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use vibe_store::store::{is_postgres_url, now_timestamp, SqliteStore};

use super::BenchResult;

/// A raw connection inserting tool calls into one mission.
pub struct RawInserter {
    conn: Connection,
    mission_row_id: i64,
    next: u64,
}

impl RawInserter {
    /// A connection to `store`'s file, set up as the store's writer is.
    /// `mission_row_id` is the `missions.id` of an existing mission.
    pub fn new(store: &SqliteStore, mission_row_id: i64) -> BenchResult<Self> {
        let [writer, _] = store.connection_settings()?;
        let conn = Connection::open(store.path())?;
        let journal_mode: String =
            conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
        if !journal_mode.eq_ignore_ascii_case(&writer.journal_mode) {
            return Err(format!(
                "the floor's journal mode is {journal_mode}, the store's {}",
                writer.journal_mode
            )
            .into());
        }
        conn.pragma_update(None, "synchronous", writer.synchronous)?;
        conn.pragma_update(None, "foreign_keys", writer.foreign_keys)?;
        conn.busy_timeout(Duration::from_millis(
            u64::try_from(writer.busy_timeout_ms).unwrap_or(0),
        ))?;
        Ok(RawInserter {
            conn,
            mission_row_id,
            next: 0,
        })
    }

    /// Inserts one row in its own transaction; returns how long it took.
    pub fn insert_one(&mut self) -> BenchResult<Duration> {
        self.insert(1, None)
    }

    /// Inserts `n` rows in one transaction, with a ledger entry each in the
    /// chain of mission row `ledger` when given (the chain's storage at its
    /// cheapest: one more row in `row_chain`, with no digest computed and no
    /// head read; name a mission the store does not write, whose chain this
    /// breaks); returns how long it took.
    pub fn insert(&mut self, n: usize, ledger: Option<i64>) -> BenchResult<Duration> {
        let start = Instant::now();
        let mut row = self.conn.prepare_cached(
            "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms,
                                     success, error_message)
             VALUES (?1, 'raw', ?2, NULL, ?3, 0, 1, NULL)",
        )?;
        let mut entry = self.conn.prepare_cached(
            "INSERT INTO row_chain (mission_id, seq, row_table, row_seq, row_digest, hash)
             VALUES (?1, ?2, 'tool_calls', ?2, ?3, ?3)",
        )?;
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        for _ in 0..n {
            row.execute(params![
                self.mission_row_id,
                format!("{{\"i\":{}}}", self.next),
                now_timestamp()
            ])?;
            if let Some(mission) = ledger {
                entry.execute(params![
                    mission,
                    self.next + 2,
                    format!("{:064x}", self.next)
                ])?;
            }
            self.next += 1;
        }
        self.conn.execute_batch("COMMIT")?;
        Ok(start.elapsed())
    }
}

/// Fills a fresh store with `missions` missions of `per_mission` tool calls
/// each, in bulk SQL (no store code, no chain: a history to read, built in
/// seconds); the missions' uuids, in row order.
pub fn bulk_history(location: &str, missions: u64, per_mission: u64) -> BenchResult<Vec<String>> {
    let uuid = |m: u64| format!("00000000-0000-4000-8000-{m:012}");
    if is_postgres_url(location) {
        let mut client = pg_client(location)?;
        client.batch_execute(&format!(
            "INSERT INTO missions (mission_uuid, phase, status, created_at, metadata)
                 SELECT '00000000-0000-4000-8000-' || lpad(m::text, 12, '0'), 'CODING',
                        'pending', '2026-01-01T00:00:00.000000Z', '{{}}'
                 FROM generate_series(1, {missions}) AS m;
                 INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp,
                                         duration_ms, success)
                 SELECT 1 + i / {per_mission}, (ARRAY['grep','cargo','edit','read'])[1 + i % 4],
                        '{{\"path\":\"src/file_' || i || '.rs\",\"i\":' || i || '}}',
                        '{{\"ok\":true,\"lines\":' || i % 40 || '}}',
                        '2026-01-01T00:00:00.000000Z', i % 500, true
                 FROM generate_series(0, {missions} * {per_mission} - 1) AS i;
                 ANALYZE;"
        ))?;
        return Ok((1..=missions).map(uuid).collect());
    }
    let conn = Connection::open(Path::new(location))?;
    conn.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE m(m) AS (SELECT 1 UNION ALL SELECT m + 1 FROM m WHERE m < {missions})
         INSERT INTO missions (mission_uuid, phase, status, created_at, metadata)
         SELECT '00000000-0000-4000-8000-' || substr('000000000000' || m, -12, 12), 'CODING',
                'pending', '2026-01-01T00:00:00.000000Z', '{{}}' FROM m;
         WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c
                                 WHERE i < {missions} * {per_mission} - 1)
         INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms,
                                 success)
         SELECT 1 + i / {per_mission},
                CASE i % 4 WHEN 0 THEN 'grep' WHEN 1 THEN 'cargo' WHEN 2 THEN 'edit'
                           ELSE 'read' END,
                '{{\"path\":\"src/file_' || i || '.rs\",\"i\":' || i || '}}',
                '{{\"ok\":true,\"lines\":' || (i % 40) || '}}',
                '2026-01-01T00:00:00.000000Z', i % 500, 1
         FROM c;
         COMMIT;
         ANALYZE;"
    ))?;
    Ok((1..=missions).map(uuid).collect())
}

/// A plain rust-postgres connection to `url` (libpq's URL form, as the
/// store reads it; no TLS: the benchmark's servers are local).
pub fn pg_client(url: &str) -> BenchResult<postgres::Client> {
    Ok(postgres::Config::from_str(url)?.connect(postgres::NoTls)?)
}

/// The PostgreSQL floor: one prepared `INSERT` of a tool call, committed on
/// its own (autocommit), through the same client library the store uses.
pub struct PgRawInserter {
    client: postgres::Client,
    insert: postgres::Statement,
    chained: postgres::Statement,
    mission_row_id: i64,
    next: u64,
}

impl PgRawInserter {
    /// `mission_row_id` is the `missions.id` of an existing mission.
    pub fn new(url: &str, mission_row_id: i64) -> BenchResult<Self> {
        let mut client = pg_client(url)?;
        let insert = client.prepare(
            "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp,
                                         duration_ms, success, error_message)
                 VALUES ($1, 'raw', $2, NULL, $3, 0, true, NULL)",
        )?;
        // What a chained write stores, at its cheapest, in one statement:
        // the mission's row lock, the row, and a ledger entry (no head
        // read, no digest computed).
        let chained = client.prepare(
            "WITH locked AS (SELECT id FROM missions WHERE id = $4 FOR UPDATE),
                  written AS (
                    INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp,
                                            duration_ms, success, error_message)
                    SELECT $1, 'raw', $2, NULL, $3, 0, true, NULL FROM locked RETURNING id)
             INSERT INTO row_chain (mission_id, seq, row_table, row_seq, row_digest, hash)
             SELECT $4, $5, 'tool_calls', $5, $6, $6 FROM written",
        )?;
        Ok(PgRawInserter {
            client,
            insert,
            chained,
            mission_row_id,
            next: 0,
        })
    }

    /// Inserts and commits one row; returns how long it took.
    pub fn insert_one(&mut self) -> BenchResult<Duration> {
        let start = Instant::now();
        self.client.execute(
            &self.insert,
            &[
                &self.mission_row_id,
                &format!("{{\"i\":{}}}", self.next),
                &now_timestamp(),
            ],
        )?;
        self.next += 1;
        Ok(start.elapsed())
    }

    /// [`insert_one`](Self::insert_one) with the chain's storage: the row
    /// lock of mission row `ledger` and an entry in its chain, in the same
    /// statement (name a mission the store does not write, whose chain this
    /// breaks); returns how long it took.
    pub fn insert_chained(&mut self, ledger: i64) -> BenchResult<Duration> {
        let start = Instant::now();
        let seq = i64::try_from(self.next)? + 2;
        let written = self.client.execute(
            &self.chained,
            &[
                &self.mission_row_id,
                &format!("{{\"i\":{}}}", self.next),
                &now_timestamp(),
                &ledger,
                &seq,
                &format!("{:064x}", self.next),
            ],
        )?;
        if written != 1 {
            return Err(format!("the chained floor wrote {written} ledger rows, not 1").into());
        }
        self.next += 1;
        Ok(start.elapsed())
    }
}
