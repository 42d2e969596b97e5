//! One migration runner for both backends: the same rules, the same words.
//! An edited migration is refused, an older schema is refused read-only,
//! migrations an older vibe-store applied get their checksums recorded, and
//! each backend runs the migrations its own options name.

use vibe_store::store::{Migration, StoreError, MIGRATIONS, POSTGRES_MIGRATIONS};
use vibe_store::OpenOptions;

use crate::common::backends::{Backend, TestStore};
use crate::common::latest_schema;
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
