//! Migrations. One runner for both backends, the same rules, the same words:
//! an edited migration is refused, an older schema is refused read-only,
//! migrations an older vibe-store applied get their checksums recorded, and
//! each backend runs the migrations its own options name. On SQLite, a newer
//! migration applies once (and older binaries refuse the file), a failing
//! one rolls back with its version, and a v1 file upgrades in place.

use serde_json::json;
use vibe_store::store::{Migration, StoreError, MIGRATIONS, POSTGRES_MIGRATIONS};
use vibe_store::{
    AnyStore, Json, MissionId, MissionStore, NewToolCall, OpenOptions, Phase, SqliteStore,
};

use crate::common::as_role;
use crate::common::backends::{Backend, TestStore};
use crate::common::{count, latest_schema, ov, temp_db};
use crate::on_both_backends;

on_both_backends!(
    an_edited_migration_is_refused_and_nothing_is_written,
    an_older_schema_is_refused_read_only_and_upgraded_by_a_write,
    migrations_applied_before_checksums_get_them_at_the_next_writable_open,
    a_migration_numbered_zero_is_run_or_refused_never_recorded_unrun,
);

/// This backend's own migrations.
fn builtin(backend: Backend) -> Vec<Migration> {
    match backend {
        Backend::Sqlite => MIGRATIONS.to_vec(),
        Backend::Postgres => POSTGRES_MIGRATIONS.to_vec(),
    }
}

/// The newest schema version this backend's own migrations reach.
fn latest(backend: Backend) -> u32 {
    builtin(backend).last().unwrap().version
}

/// `options` with `migrations` as this backend's.
fn with_migrations(backend: Backend, migrations: Vec<Migration>) -> OpenOptions {
    match backend {
        Backend::Sqlite => OpenOptions::default().sqlite_migrations(migrations),
        Backend::Postgres => OpenOptions::default().postgres_migrations(migrations),
    }
}

fn unusable(err: StoreError) -> String {
    match err {
        StoreError::UnusableFile { reason, .. } => reason,
        other => panic!("expected UnusableFile, got {other:?}"),
    }
}

fn an_edited_migration_is_refused_and_nothing_is_written(backend: Backend) {
    let next = latest(backend) + 1;
    let mut migrations = builtin(backend);
    migrations.push(Migration {
        version: next,
        sql: "CREATE TABLE program_tags (tag TEXT NOT NULL)",
    });
    let store = TestStore::open_with(backend, with_migrations(backend, migrations.clone()));
    assert_eq!(store.schema_version().unwrap(), next);
    assert_eq!(store.count("SELECT COUNT(*) FROM program_tags"), 0);
    let recorded = store.text(&format!(
        "SELECT checksum FROM vibe_schema_version WHERE version = {next}"
    ));
    assert_eq!(recorded, migrations.last().unwrap().checksum());

    // The program's own migration, edited after it was applied.
    let mut edited = migrations.clone();
    edited.last_mut().unwrap().sql = "CREATE TABLE program_tags (tag TEXT NOT NULL, note TEXT)";
    let before = store.count("SELECT COUNT(*) FROM vibe_schema_version");
    for options in [
        with_migrations(backend, edited.clone()),
        with_migrations(backend, edited.clone()).read_only(),
    ] {
        let reason = unusable(store.reopen(options).unwrap_err());
        assert!(
            reason.contains(&format!("migration {next} was applied from other text"))
                && reason.contains("edited"),
            "{reason}"
        );
    }
    // A built-in migration edited: refused the same way.
    let mut edited_builtin = migrations.clone();
    edited_builtin[0].sql = "CREATE TABLE missions (id INTEGER)";
    let reason = unusable(
        store
            .reopen(with_migrations(backend, edited_builtin))
            .unwrap_err(),
    );
    assert!(reason.contains("migration 1 was applied"), "{reason}");
    assert_eq!(
        store.count("SELECT COUNT(*) FROM vibe_schema_version"),
        before
    );
    assert_eq!(
        store.text(&format!(
            "SELECT checksum FROM vibe_schema_version WHERE version = {next}"
        )),
        recorded,
        "nothing was written"
    );
    // The text it was applied from still opens.
    store
        .reopen(with_migrations(backend, migrations))
        .expect("the same text opens");
}

fn an_older_schema_is_refused_read_only_and_upgraded_by_a_write(backend: Backend) {
    let older: Vec<Migration> = builtin(backend)[..3].to_vec();
    let store = TestStore::open_with(backend, with_migrations(backend, older));
    assert_eq!(store.schema_version().unwrap(), 3);

    let reason = unusable(
        store
            .reopen(OpenOptions::default().read_only())
            .unwrap_err(),
    );
    assert_eq!(
        reason,
        format!(
            "its schema version is 3, older than this vibe-store reads ({}); open it once for \
             writing to upgrade it",
            latest(backend)
        )
    );
    assert_eq!(
        store.count("SELECT COUNT(*) FROM vibe_schema_version"),
        3,
        "a read-only open wrote nothing"
    );

    let upgraded = store.reopen(OpenOptions::default()).unwrap();
    assert_eq!(upgraded.schema_version().unwrap(), latest(backend));
    let read = store.reopen(OpenOptions::default().read_only()).unwrap();
    assert_eq!(read.schema_version().unwrap(), latest(backend));
}

fn migrations_applied_before_checksums_get_them_at_the_next_writable_open(backend: Backend) {
    let store = TestStore::open(backend);
    // As an older vibe-store left the database: no checksums recorded.
    match backend {
        Backend::Sqlite => store.exec("DROP TABLE vibe_schema_version"),
        Backend::Postgres => store.exec("ALTER TABLE vibe_schema_version DROP COLUMN checksum"),
    }
    let read = store.reopen(OpenOptions::default().read_only()).unwrap();
    assert_eq!(read.schema_version().unwrap(), latest(backend));
    drop(read);

    store.reopen(OpenOptions::default()).unwrap();
    for migration in builtin(backend) {
        assert_eq!(
            store.text(&format!(
                "SELECT checksum FROM vibe_schema_version WHERE version = {}",
                migration.version
            )),
            migration.checksum(),
            "migration {}",
            migration.version
        );
    }
}

/// SQLite's `user_version` 0 and an empty ledger both mean "no schema", so
/// a migration numbered 0 can never be applied. The runner must refuse such
/// a list (as it refuses one not numbered upwards) or run the migration;
/// it must not record the migration's checksum as applied while its
/// statements never ran.
fn a_migration_numbered_zero_is_run_or_refused_never_recorded_unrun(backend: Backend) {
    let mut migrations = vec![Migration {
        version: 0,
        sql: "CREATE TABLE program_zero (a INTEGER)",
    }];
    migrations.extend(builtin(backend));
    let store = TestStore::open(backend);
    match store.reopen(with_migrations(backend, migrations)) {
        Err(StoreError::InvalidInput(_)) => {}
        Err(other) => panic!("expected InvalidInput or an applied migration, got {other:?}"),
        Ok(_) => {
            let ran =
                match backend {
                    Backend::Sqlite => store
                        .count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'program_zero'"),
                    Backend::Postgres => store
                        .count("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'program_zero'"),
                };
            let recorded =
                store.count("SELECT COUNT(*) FROM vibe_schema_version WHERE version = 0");
            assert!(
                ran == 1 || recorded == 0,
                "migration 0 recorded as applied ({recorded} ledger row) but its table was never \
                 created"
            );
        }
    }
}

/// The default `search_path` is `"$user", public`: the tables of a store
/// made by an earlier open live in `public`. A schema named after the login
/// role, created later (by a DBA, by another program), comes first in the
/// search path but holds none of them. vibe-store before the single
/// migration runner found its version table by the search path
/// (`to_regclass`), as every query finds its tables, and opened the store;
/// `schema_version()` still does. Reopening must neither build a second,
/// empty schema in the new schema nor lose sight of the missions.
#[test]
fn postgres_a_schema_named_after_the_user_does_not_hide_the_store() {
    let store = TestStore::open(Backend::Postgres);
    let mission = store
        .create_mission(Phase::Planning, Json::from(serde_json::json!({})))
        .unwrap();
    let user = store.text("SELECT CAST(current_user AS TEXT)");
    store.exec(&format!("CREATE SCHEMA \"{user}\""));

    let read = store.reopen(OpenOptions::default().read_only());
    assert!(
        read.is_ok(),
        "a read-only open of an up-to-date store was refused: {:?}",
        read.err()
    );
    let reopened = store.reopen(OpenOptions::default()).unwrap();
    assert_eq!(
        store.count(&format!(
            "SELECT COUNT(*) FROM pg_tables WHERE schemaname = '{user}'"
        )),
        0,
        "a second, empty vibe-store schema was built in schema {user:?}"
    );
    reopened
        .get_mission(&mission)
        .expect("the store's missions are still there after a reopen");
}

/// Production PostgreSQL often migrates as the owner and runs the
/// application as a role that may only read and write rows. A database an
/// earlier vibe-store migrated (version table without checksums) opened
/// fine for writing by such a role: the schema was current, nothing was
/// created. The open must still succeed; recording the checksums needs the
/// table's owner and can wait for one.
#[test]
fn postgres_a_row_only_role_opens_a_database_an_earlier_vibe_store_migrated() {
    let store = TestStore::open(Backend::Postgres);
    // As an earlier vibe-store left it: no checksum column.
    store.exec("ALTER TABLE vibe_schema_version DROP COLUMN checksum");
    let database = store.location.rsplit('/').next().unwrap();
    let database = database.split('?').next().unwrap();
    let role = format!("app_{}", &database[database.len() - 12..]);
    store.exec(&format!(
        "CREATE ROLE {role} LOGIN;
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};"
    ));
    let url = as_role(&store.location, &role);
    let opened = AnyStore::open_with(&url, OpenOptions::default()).map(|app| {
        app.create_mission(Phase::Coding, Json::from(serde_json::json!({})))
            .map(|_| ())
    });
    store.exec(&format!("DROP OWNED BY {role}"));
    drop(store);
    let _ = vibe_test_support::pg::server()
        .admin()
        .batch_execute(&format!("DROP ROLE IF EXISTS {role}"));
    match opened {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("the role opened the store but could not write: {e}"),
        Err(e) => panic!("a row-only role could not open a current database: {e}"),
    }
}

#[test]
fn a_v1_file_upgrades_in_place_and_v1_writers_keep_working() {
    // A v1 file as an older vibe-store (or another ARCH-001 program) left it.
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(vibe_store::store::MIGRATIONS[0].sql)
        .unwrap();
    conn.execute_batch(
        "PRAGMA user_version = 1;
         INSERT INTO missions (mission_uuid, phase, status, created_at, metadata)
         VALUES ('v1-mission', 'CODING', 'pending', '2026-01-01T00:00:00Z', '{\"v\":1}');
         INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success)
         VALUES (1, 'old', '[1]', '2026-01-01T00:00:01Z', 1);",
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        crate::common::latest_schema()
    );
    let v1: MissionId = "v1-mission".parse().unwrap();
    let old = store.get_tool_history(&v1).unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!((old[0].invocation_id, old[0].outcome), (None, None));
    assert_eq!(old[0].args.as_str(), "[1]");
    // Another program writing v1-style rows (no provenance columns) still can.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success)
         VALUES (1, 'v1-writer', '{}', '2026-01-01T00:00:02Z', 1)",
        [],
    )
    .unwrap();
    assert_eq!(store.get_tool_history(&v1).unwrap().len(), 2);
    store
        .log_tool_call(&v1, NewToolCall::success("new", json!({})))
        .unwrap();
    assert_eq!(store.get_tool_history(&v1).unwrap().len(), 3);
}

#[test]
fn a_newer_migration_applies_once_and_older_binaries_refuse_the_file() {
    let (_dir, path) = temp_db();
    let current = SqliteStore::open(&path).unwrap();
    let mission = current
        .create_mission(Phase::Coding, json!({ "kept": true }).into())
        .unwrap();
    drop(current);

    let mut migrations = MIGRATIONS.to_vec();
    migrations.push(Migration {
        version: latest_schema() + 1,
        sql: "CREATE TABLE tool_tags (tool_call_id INTEGER REFERENCES tool_calls(id), tag TEXT NOT NULL);
              ALTER TABLE missions ADD COLUMN owner TEXT;",
    });
    let next_options = OpenOptions::default().sqlite_migrations(migrations);
    let next = SqliteStore::open_with(&path, next_options.clone()).unwrap();
    assert_eq!(next.schema_version().unwrap(), latest_schema() + 1);
    assert_eq!(
        ov(&next.get_mission(&mission).unwrap().metadata),
        Some(json!({ "kept": true }))
    );
    assert_eq!(next.init_db().unwrap(), latest_schema() + 1);
    drop(next);
    assert_eq!(
        SqliteStore::open_with(&path, next_options)
            .unwrap()
            .schema_version()
            .unwrap(),
        latest_schema() + 1
    );
    assert_eq!(count(&path, "SELECT COUNT(*) FROM tool_tags"), 0);

    // This binary knows only its own version: the newer file is refused,
    // byte for byte untouched.
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    match &err {
        StoreError::UnusableFile { reason, .. } => {
            assert!(
                reason.contains(&format!("schema version is {}", latest_schema() + 1)),
                "{reason}"
            )
        }
        other => panic!("expected UnusableFile, got {other:?}"),
    }
    assert!(err.to_string().contains("left untouched"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_failing_migration_rolls_back_with_its_version() {
    let (_dir, path) = temp_db();
    SqliteStore::open(&path).unwrap();
    let mut migrations = MIGRATIONS.to_vec();
    migrations.push(Migration {
        version: latest_schema() + 1,
        sql: "CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);",
    });
    let result =
        SqliteStore::open_with(&path, OpenOptions::default().sqlite_migrations(migrations));
    assert!(result.is_err());
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_schema());
    assert_eq!(
        count(
            &path,
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'"
        ),
        0
    );
}

#[test]
fn the_command_line_says_how_to_upgrade_an_older_schema_it_may_only_read() {
    // The library names no command; `vibe` adds its hint, matched on the
    // library's words: this holds the two together.
    let (dir, path) = temp_db();
    let older = OpenOptions::default().sqlite_migrations(MIGRATIONS[..3].to_vec());
    drop(SqliteStore::open_with(&path, older).unwrap());
    let out = crate::common::vibe(dir.path())
        .arg("--db")
        .arg(&path)
        .args(["mission", "list"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("older than this vibe-store reads")
            && stderr.contains("(`vibe init` upgrades it)"),
        "{stderr}"
    );
    let version: u32 = count(&path, "PRAGMA user_version") as u32;
    assert_eq!(version, 3, "a read wrote nothing");
}

/// Every ledger entry of a file, as stored (SQLite's own rendering of each
/// value, with its storage class).
fn ledger_entries(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT quote(mission_id) || ',' || quote(seq) || ',' || quote(row_table) || ',' ||
                    quote(row_seq) || ',' || quote(row_digest) || ',' || quote(hash)
             FROM row_chain ORDER BY mission_id, seq",
        )
        .unwrap();
    let rows = stmt.query_map([], |row| row.get(0)).unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

/// The definition of every table, index, trigger and view in a file, by
/// name.
fn definitions(path: &std::path::Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        .unwrap();
    let rows = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

/// Schema v4's check on the ledger's `row_table`, as v4 wrote it.
const V4_CHECK: &str = "CHECK (row_table IN ('missions', 'tool_calls', 'decisions', 'agent_memory',
                             'playbook_runs'))";

/// Puts `path`'s ledger definition back as schema v4 wrote it (what every
/// release before the rewrite left), moving the schema cookie.
fn as_v4_left_it(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'row_chain'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let at = sql.find("CHECK (row_table =").unwrap();
    let end = at + sql[at..].find("'playbook_runs')").unwrap() + "'playbook_runs')".len();
    let v4 = format!("{}{V4_CHECK}{}", &sql[..at], &sql[end..]);
    let version: i64 = conn
        .query_row("PRAGMA schema_version", [], |row| row.get(0))
        .unwrap();
    conn.execute_batch("BEGIN; PRAGMA writable_schema = ON")
        .unwrap();
    conn.execute(
        "UPDATE sqlite_master SET sql = ?1 WHERE name = 'row_chain'",
        [&v4],
    )
    .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA schema_version = {}; PRAGMA writable_schema = RESET; COMMIT",
        version + 1
    ))
    .unwrap();
    let migration = MIGRATIONS[3].sql;
    let start = migration.find("CREATE TABLE row_chain (").unwrap();
    let v4_prefix = &migration[start..start + migration[start..].find(V4_CHECK).unwrap()];
    assert!(ledger_definition(path).starts_with(v4_prefix));
}

fn ledger_definition(path: &std::path::Path) -> String {
    definitions(path)
        .into_iter()
        .find(|(name, _)| name == "row_chain")
        .unwrap()
        .1
}

/// A file as a release before the rewrite left it, with one mission of
/// three chained tool calls.
fn v4_ledger_file() -> (tempfile::TempDir, std::path::PathBuf, MissionId) {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let mission = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    store
        .log_tool_calls(
            &mission,
            (0..3)
                .map(|i| NewToolCall::success("t", json!({ "i": i })))
                .collect(),
        )
        .unwrap();
    drop(store);
    as_v4_left_it(&path);
    (dir, path, mission)
}

/// What `verify` reports for every mission of `store`.
fn reports(store: &SqliteStore) -> Vec<String> {
    let mut reports = Vec::new();
    store
        .verify_chains(&mut |report| {
            reports.push(format!("{report:?}"));
            Ok(())
        })
        .unwrap();
    reports
}

#[test]
fn the_ledger_check_is_rewritten_in_place_keeping_what_other_programs_added() {
    // A v6 file to which another program added things of its own around the
    // ledger, and entries past its checks (backup and verify treat such
    // entries as evidence).
    let (_dir, path, mission) = v4_ledger_file();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         ALTER TABLE row_chain ADD COLUMN note TEXT;
         ALTER TABLE row_chain ADD COLUMN id INTEGER;
         UPDATE row_chain SET note = 'kept', id = seq;
         CREATE INDEX ledger_by_hash ON row_chain(hash);
         CREATE TRIGGER ledger_append_only BEFORE DELETE ON row_chain
             BEGIN SELECT RAISE(ABORT, 'append-only'); END;
         CREATE VIEW ledger_view AS SELECT mission_id, seq, note FROM row_chain;
         CREATE TABLE ledger_notes (m INTEGER, s INTEGER, txt TEXT,
             FOREIGN KEY (m, s) REFERENCES row_chain(mission_id, seq) ON DELETE CASCADE);
         INSERT INTO ledger_notes VALUES (1, 1, 'note');
         PRAGMA ignore_check_constraints = ON;
         INSERT INTO row_chain (mission_id, seq, row_table, row_seq, row_digest, hash)
             VALUES (55, 100, 'elsewhere', 0, 'short', 'x');
         PRAGMA ignore_check_constraints = OFF;",
    )
    .unwrap();
    let (before, defined_before) = (ledger_entries(&path), definitions(&path));
    // A read-only open rewrites nothing.
    let reports_before =
        reports(&SqliteStore::open_with(&path, OpenOptions::default().read_only()).unwrap());
    assert!(ledger_definition(&path).contains(V4_CHECK));
    // A connection another program holds open across the upgrade.
    let other = rusqlite::Connection::open(&path).unwrap();
    let integrity_before = integrity(&other);
    assert_eq!(integrity_before, ["CHECK constraint failed in row_chain"]);
    let refusal = |conn: &rusqlite::Connection| {
        conn.execute(
            "INSERT INTO row_chain (mission_id, seq, row_table, row_seq, hash)
             VALUES (999, 1, 'elsewhere', 1, printf('%064d', 1))",
            [],
        )
        .unwrap_err()
        .to_string()
    };
    assert!(
        refusal(&other).contains("row_table IN"),
        "{}",
        refusal(&other)
    );

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_schema());
    assert_eq!(
        latest_schema(),
        6,
        "no schema version for an equivalent check"
    );
    // Every entry as it was, and everything else the file defined, but the
    // one check.
    assert_eq!(ledger_entries(&path), before);
    let defined_after = definitions(&path);
    assert_eq!(defined_after.len(), defined_before.len());
    for ((name, sql), (name_before, sql_before)) in defined_after.iter().zip(&defined_before) {
        assert_eq!(name, name_before);
        if name != "row_chain" {
            assert_eq!(sql, sql_before, "{name}");
        }
    }
    let ledger = &defined_after
        .iter()
        .find(|(n, _)| n == "row_chain")
        .unwrap()
        .1;
    assert!(!ledger.contains(" IN ("), "{ledger}");
    assert!(
        ledger.contains("note TEXT") && ledger.contains("id INTEGER"),
        "{ledger}"
    );
    assert_eq!(reports(&store), reports_before);
    // The connection that stayed open reads the new definition too.
    assert!(
        refusal(&other).contains("row_table = 'missions' OR"),
        "{}",
        refusal(&other)
    );
    // The store writes onto the ledger (a column named `id` there is no
    // ambiguity for it), and what another program added still acts.
    store
        .log_tool_call(&mission, NewToolCall::success("after", json!({})))
        .unwrap();
    assert_eq!(ledger_entries(&path).len(), before.len() + 1);
    let err = other.execute("DELETE FROM row_chain", []).unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    assert_eq!(count(&path, "SELECT COUNT(*) FROM ledger_notes"), 1);
    assert_eq!(
        count(
            &path,
            "SELECT COUNT(*) FROM ledger_view WHERE note = 'kept'"
        ),
        4
    );
    // SQLite's own check finds what it found before: the entry past the
    // checks, nothing else.
    assert_eq!(integrity(&other), integrity_before);
}

/// What `PRAGMA integrity_check` reports, line by line.
fn integrity(conn: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = conn.prepare("PRAGMA integrity_check").unwrap();
    let rows = stmt.query_map([], |row| row.get(0)).unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

#[test]
fn the_rewritten_check_takes_and_refuses_exactly_what_v4s_did() {
    let (_dir, path, _) = v4_ledger_file();
    let (_v4_dir, v4_path, _) = v4_ledger_file();
    drop(SqliteStore::open(&path).unwrap());
    assert!(!ledger_definition(&path).contains(V4_CHECK));
    assert!(ledger_definition(&v4_path).contains(V4_CHECK));
    let takes = |path: &std::path::Path, value: &str| {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("BEGIN").unwrap();
        let taken = conn
            .execute(
                &format!(
                    "INSERT INTO row_chain VALUES (999, 1, {value}, 1, NULL, printf('%064d', 1))"
                ),
                [],
            )
            .is_ok();
        conn.execute_batch("ROLLBACK").unwrap();
        taken
    };
    for value in [
        "'missions'",
        "'tool_calls'",
        "'decisions'",
        "'agent_memory'",
        "'playbook_runs'",
        "'Missions'",
        "'tool_calls '",
        "''",
        "'elsewhere'",
        "1",
        "x'6d697373696f6e73'",
        "CAST('missions' AS BLOB)",
        "'missions' COLLATE NOCASE",
        "'MISSIONS' COLLATE NOCASE",
    ] {
        let (v4_takes, now_takes) = (takes(&v4_path, value), takes(&path, value));
        assert_eq!(
            now_takes, v4_takes,
            "{value}: v4 {v4_takes}, now {now_takes}"
        );
    }
    assert!(takes(&path, "'decisions'") && !takes(&path, "'elsewhere'"));
}

#[test]
fn a_ledger_defined_otherwise_is_left_as_it_is() {
    // Another program made the ledger itself, or wrote v4's words later in
    // the definition (a default, a column name, a comment): only the clause
    // where v4 wrote it is ever rewritten.
    let (_dir, path, _) = v4_ledger_file();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE row_chain_own AS SELECT * FROM row_chain;
         DROP TABLE row_chain;
         ALTER TABLE row_chain_own RENAME TO row_chain;",
    )
    .unwrap();
    drop(conn);
    let before = definitions(&path);
    drop(SqliteStore::open(&path).unwrap());
    assert_eq!(definitions(&path), before);

    let (_dir, path, _) = v4_ledger_file();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let quoted = format!("\"{V4_CHECK}\"");
    conn.execute_batch(&format!(
        "ALTER TABLE row_chain ADD COLUMN note TEXT DEFAULT {quoted};
         ALTER TABLE row_chain ADD COLUMN {quoted} TEXT;
         ALTER TABLE row_chain ADD COLUMN x TEXT CHECK (x IN (-- {V4_CHECK};"
    ))
    .unwrap();
    drop(conn);
    let before = ledger_definition(&path);
    let store = SqliteStore::open(&path).unwrap();
    let after = ledger_definition(&path);
    assert_eq!(after.matches(V4_CHECK).count(), 3, "{after}");
    assert_eq!(
        after.replacen(
            "CHECK (row_table = 'missions' OR row_table = 'tool_calls'
               OR row_table = 'decisions' OR row_table = 'agent_memory'
               OR row_table = 'playbook_runs')",
            V4_CHECK,
            1
        ),
        before
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO row_chain (mission_id, seq, row_table, row_seq, hash)
         VALUES (999, 1, 'decisions', 1, printf('%064d', 1))",
        [],
    )
    .unwrap();
    let default: String = conn
        .query_row(
            "SELECT note FROM row_chain WHERE mission_id = 999",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(default, V4_CHECK);
    drop(store);
}
