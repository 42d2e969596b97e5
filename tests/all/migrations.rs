//! Migrations. One runner for both backends, the same rules, the same words:
//! an edited migration is refused, an older schema is refused read-only,
//! migrations an older vibe-store applied get their checksums recorded, and
//! each backend runs the migrations its own options name. On SQLite, a newer
//! migration applies once (and older binaries refuse the file), a failing
//! one rolls back with its version, and a v1 file upgrades in place.

use serde_json::json;
use vibe_store::store::{Migration, StoreError, MIGRATIONS, POSTGRES_MIGRATIONS};
use vibe_store::{MissionId, MissionStore, NewToolCall, OpenOptions, Phase, SqliteStore};

use crate::common::backends::{Backend, TestStore};
use crate::common::{count, latest_schema, ov, temp_db};
use crate::on_both_backends;

on_both_backends!(
    an_edited_migration_is_refused_and_nothing_is_written,
    an_older_schema_is_refused_read_only_and_upgraded_by_a_write,
    migrations_applied_before_checksums_get_them_at_the_next_writable_open,
);

/// This backend's own migrations.
fn builtin(backend: Backend) -> Vec<Migration> {
    match backend {
        Backend::Sqlite => MIGRATIONS.to_vec(),
        Backend::Postgres => POSTGRES_MIGRATIONS.to_vec(),
    }
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
    let next = latest_schema() + 1;
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
            latest_schema()
        )
    );
    assert_eq!(
        store.count("SELECT COUNT(*) FROM vibe_schema_version"),
        3,
        "a read-only open wrote nothing"
    );

    let upgraded = store.reopen(OpenOptions::default()).unwrap();
    assert_eq!(upgraded.schema_version().unwrap(), latest_schema());
    let read = store.reopen(OpenOptions::default().read_only()).unwrap();
    assert_eq!(read.schema_version().unwrap(), latest_schema());
}

fn migrations_applied_before_checksums_get_them_at_the_next_writable_open(backend: Backend) {
    let store = TestStore::open(backend);
    // As an older vibe-store left the database: no checksums recorded.
    match backend {
        Backend::Sqlite => store.exec("DROP TABLE vibe_schema_version"),
        Backend::Postgres => store.exec("ALTER TABLE vibe_schema_version DROP COLUMN checksum"),
    }
    let read = store.reopen(OpenOptions::default().read_only()).unwrap();
    assert_eq!(read.schema_version().unwrap(), latest_schema());
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
