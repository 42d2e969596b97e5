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
use super::open::{connect, OpenOptions};

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
