//! The benchmark's floor: raw rusqlite, no store code in the way.
//!
//! It lives here because it is SQL, and only the store speaks SQL. It opens
//! the same file with the same pragmas the store uses and inserts tool calls
//! with one prepared statement, one transaction per row: the fastest
//! single-row durable insert this disk allows, against which the store's own
//! path is measured.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

use super::error::Result;
use super::options::OpenOptions;
use super::sqlite::connect_vetted as connect;

/// A raw connection inserting tool calls into one mission.
pub struct RawInserter {
    conn: Connection,
    mission_row_id: i64,
    next: u64,
}

impl RawInserter {
    /// `mission_row_id` is the `missions.id` of an existing mission.
    pub fn new(path: &Path, options: &OpenOptions, mission_row_id: i64) -> Result<Self> {
        let conn = connect(path, options)?;
        Ok(RawInserter {
            conn,
            mission_row_id,
            next: 0,
        })
    }

    /// Inserts one row in its own transaction; returns how long it took.
    pub fn insert_one(&mut self) -> Result<Duration> {
        let start = Instant::now();
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms,
                                     success, error_message)
             VALUES (?1, 'raw', ?2, NULL, ?3, 0, 1, NULL)",
        )?;
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        stmt.execute(params![
            self.mission_row_id,
            format!("{{\"i\":{}}}", self.next),
            super::now_timestamp()
        ])?;
        self.conn.execute_batch("COMMIT")?;
        self.next += 1;
        Ok(start.elapsed())
    }
}

/// Fills a fresh store with `missions` missions of `per_mission` tool calls
/// each, in bulk SQL (no store code, no chain: a history to read, built in
/// seconds); the missions' uuids, in row order.
pub fn bulk_history(location: &str, missions: u64, per_mission: u64) -> Result<Vec<String>> {
    let uuid = |m: u64| format!("00000000-0000-4000-8000-{m:012}");
    #[cfg(feature = "postgres")]
    if super::is_postgres_url(location) {
        let mut client = pg_client(location)?;
        let fail = |e: postgres::Error| super::StoreError::Server(e.to_string());
        client
            .batch_execute(&format!(
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
            ))
            .map_err(fail)?;
        return Ok((1..=missions).map(uuid).collect());
    }
    let conn = Connection::open(location)?;
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

#[cfg(feature = "postgres")]
fn pg_client(url: &str) -> Result<postgres::Client> {
    let target = super::postgres::Target::parse(url)?;
    target.connect()
}

/// The PostgreSQL floor: one prepared `INSERT` of a tool call, committed on
/// its own (autocommit), through the same client library the store uses.
#[cfg(feature = "postgres")]
pub struct PgRawInserter {
    client: postgres::Client,
    insert: postgres::Statement,
    mission_row_id: i64,
    next: u64,
}

#[cfg(feature = "postgres")]
impl PgRawInserter {
    /// `mission_row_id` is the `missions.id` of an existing mission.
    pub fn new(url: &str, mission_row_id: i64) -> Result<Self> {
        let mut client = pg_client(url)?;
        let insert = client
            .prepare(
                "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp,
                                         duration_ms, success, error_message)
                 VALUES ($1, 'raw', $2, NULL, $3, 0, true, NULL)",
            )
            .map_err(|e| super::StoreError::Server(e.to_string()))?;
        Ok(PgRawInserter {
            client,
            insert,
            mission_row_id,
            next: 0,
        })
    }

    /// Inserts and commits one row; returns how long it took.
    pub fn insert_one(&mut self) -> Result<Duration> {
        let start = Instant::now();
        self.client
            .execute(
                &self.insert,
                &[
                    &self.mission_row_id,
                    &format!("{{\"i\":{}}}", self.next),
                    &super::now_timestamp(),
                ],
            )
            .map_err(|e| super::StoreError::Server(e.to_string()))?;
        self.next += 1;
        Ok(start.elapsed())
    }
}
