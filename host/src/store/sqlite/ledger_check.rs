//! The ledger's check on `row_table`, rewritten in a form SQLite evaluates
//! without building anything.
//!
//! Schema v4 wrote it as `row_table IN ('missions', ...)`. SQLite evaluates
//! an IN list of more than two constants by building a temporary index of
//! the list each time a statement runs, and the store inserts one ledger
//! entry per chained row: about 2 us an entry, a sixth of a batched tool
//! call (`vibe bench` row 4; 3.3 us per entry with the list, 1.3 us with
//! the same rule as comparisons or with no check, SQLite 3.40 and 3.50).
//!
//! The rule is the same five names compared as the list compared them (the
//! column's BINARY collation), so no stored byte changes and no schema
//! version is needed: a file stays readable and writable by every release
//! that reads schema v6. At a writable open the table's definition is
//! rewritten in place, as SQLite documents for a change that leaves the
//! stored content as it is ("ALTER TABLE", other kinds of schema changes):
//! only the clause schema v4 wrote, found where v4 wrote it (the
//! definition must begin with v4's text up to that clause), so columns,
//! defaults or comments another program added later are never touched, and
//! neither are its indexes, triggers, views or foreign keys. A definition
//! that does not begin so is left alone. The schema cookie moves, so every
//! connection open on the file reads the new definition.
//!
//! Best effort: where the rewrite cannot be made (another writer holds the
//! file past the busy timeout, a SQLite built to refuse schema edits), the
//! check stays as it was, equally correct, and the next writable open tries
//! again.

use rusqlite::{Connection, OptionalExtension};

/// The clause schema v4 wrote.
const IN_LIST: &str = "CHECK (row_table IN ('missions', 'tool_calls', 'decisions', 'agent_memory',
                             'playbook_runs'))";

/// The same rule, as comparisons.
const COMPARISONS: &str = "CHECK (row_table = 'missions' OR row_table = 'tool_calls'
               OR row_table = 'decisions' OR row_table = 'agent_memory'
               OR row_table = 'playbook_runs')";

/// The ledger's definition as schema v4 wrote it, up to the end of the
/// clause: what a definition must begin with to be rewritten.
fn v4_prefix() -> &'static str {
    let v4 = include_str!("../../../../schema/0004_chain_and_caller.sql");
    let start = v4
        .find("CREATE TABLE row_chain (")
        .expect("schema v4 creates row_chain");
    let end = v4[start..]
        .find(IN_LIST)
        .map(|at| start + at + IN_LIST.len())
        .expect("schema v4's ledger check");
    &v4[start..end]
}

/// Rewrites the ledger's check on `conn` (the writer, migrated) when its
/// definition is v4's; returns whether it did. Errors are the caller's to
/// log: the check is correct either way.
pub(super) fn rewrite(conn: &Connection) -> rusqlite::Result<bool> {
    let definition = || {
        conn.query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'row_chain'",
            [],
            |row| row.get::<_, Option<String>>(0),
        )
        .optional()
        .map(Option::flatten)
    };
    let prefix = v4_prefix();
    if !definition()?.is_some_and(|sql| sql.starts_with(prefix)) {
        return Ok(false);
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let edited = (|| {
        // Again under the write lock: another process may have done it.
        let Some(old) = definition()?.filter(|sql| sql.starts_with(prefix)) else {
            return Ok(false);
        };
        let new = format!(
            "{}{}",
            prefix.replace(IN_LIST, COMPARISONS),
            &old[prefix.len()..]
        );
        let cookie: i64 = conn.pragma_query_value(None, "schema_version", |row| row.get(0))?;
        conn.execute_batch("PRAGMA writable_schema = ON")?;
        conn.execute(
            "UPDATE sqlite_schema SET sql = ?1 WHERE type = 'table' AND name = 'row_chain'",
            [&new],
        )?;
        // The cookie moves: every connection reads the schema again.
        conn.pragma_update(None, "schema_version", cookie + 1)?;
        Ok(true)
    })();
    // Off again, and this connection reads the definition as it now is.
    let reset = conn.execute_batch("PRAGMA writable_schema = RESET");
    let outcome = edited
        .and_then(|edited| reset.map(|()| edited))
        .and_then(|edited| conn.execute_batch("COMMIT").map(|()| edited));
    if outcome.is_err() {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let _ = conn.execute_batch("PRAGMA writable_schema = RESET");
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_is_schema_v4s_definition_up_to_its_check() {
        let prefix = v4_prefix();
        assert!(prefix.starts_with("CREATE TABLE row_chain ("));
        assert!(prefix.ends_with(IN_LIST));
        assert_eq!(prefix.matches(IN_LIST).count(), 1);
    }
}
