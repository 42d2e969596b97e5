//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod backends;
pub mod fuzz_inputs;
pub mod mcp_stdio;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use vibe_store::{Json, SqliteStore};

/// The schema version this build writes.
pub fn latest_schema() -> u32 {
    vibe_store::store::MIGRATIONS.last().unwrap().version
}

/// The JSON text as a tree, for assertions on its parts.
pub fn v(json: &Json) -> Value {
    json.to_value().expect("valid JSON")
}

/// [`v`] of an optional value.
pub fn ov(json: &Option<Json>) -> Option<Value> {
    json.as_ref().map(v)
}

/// A fresh directory and a database path inside it (not yet created).
pub fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state").join("vibe_agency.db");
    (dir, path)
}

/// A fresh store in a temp dir.
pub fn temp_store() -> (TempDir, SqliteStore) {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open a fresh store");
    (dir, store)
}

/// Counts rows with raw SQL, as another SQLite client would.
pub fn count(path: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("raw connection");
    conn.query_row(sql, [], |row| row.get(0))
        .expect("count query")
}

/// The built guest component `name` (crate name with dashes).
pub fn guest(name: &str) -> PathBuf {
    let file = format!("{}.wasm", name.replace('-', "_"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guest/target/wasm32-wasip2/release")
        .join(file);
    assert!(
        path.is_file(),
        "guest component {} is missing: run the tests with `./x test`, which builds the guests",
        path.display()
    );
    path
}

/// The `vibe` binary, with a private component cache.
pub fn vibe(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vibe"));
    cmd.current_dir(dir)
        .env_remove("VIBE_DB")
        .env_remove("VIBE_DURABILITY")
        .env("VIBE_CACHE_DIR", component_cache());
    cmd
}

/// The `vibe` binary on the database at `db`.
pub fn vibe_db(dir: &Path, db: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = vibe(dir);
    cmd.arg("--db").arg(db);
    cmd
}

/// A fresh database in a temp dir with one mission (phase CODING).
pub fn db_with_mission() -> (TempDir, PathBuf, vibe_store::MissionId) {
    use vibe_store::MissionStore;
    let (dir, path) = temp_db();
    let mission = SqliteStore::open(&path)
        .expect("open a fresh store")
        .create_mission(vibe_store::Phase::Coding, serde_json::json!({}).into())
        .expect("create a mission");
    (dir, path, mission)
}

/// A component cache shared by the test runs, so each component compiles
/// once per test session rather than once per test.
pub fn component_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

/// The stress writer (`helpers::stress_writer`): this test binary, run as
/// a helper process that logs `count` calls per thread (0 = forever) and
/// prints each acknowledged id on its own line.
pub fn stress_writer(
    db: impl std::fmt::Display,
    mission: &str,
    count: u64,
    durability: &str,
    threads: u32,
) -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "helpers::stress_writer",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(
        "VIBE_STRESS_WRITER",
        format!("{db}\t{mission}\t{count}\t{durability}\t{threads}"),
    );
    cmd
}

/// The ids in a stress writer's output: its lines that are ids (the test
/// harness prints lines of its own).
pub fn ids(output: &str) -> Vec<i64> {
    output
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Asserts every acknowledged id is a row of `tool_calls`, and the file is
/// intact.
pub fn assert_acknowledged_present(path: &Path, ids: &[i64], context: &str) {
    let conn = rusqlite::Connection::open(path).expect("raw connection");
    let mut stmt = conn
        .prepare("SELECT COUNT(*) FROM tool_calls WHERE id = ?1")
        .unwrap();
    for id in ids {
        let found: i64 = stmt.query_row([id], |r| r.get(0)).unwrap();
        assert_eq!(found, 1, "{context}: acknowledged id {id} lost");
    }
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "{context}");
}

/// A `tools` folder under `dir` holding copies of guest fixtures, each
/// `(fixture, file name)`.
pub fn tools_dir(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).expect("create the tools folder");
    for (fixture, file) in files {
        std::fs::copy(guest(fixture), tools.join(file)).expect("copy a guest");
    }
    tools
}

/// The one text value `sql` reads from the database at `db` (NULL as "").
pub fn query_text(db: &Path, sql: &str) -> String {
    let conn = rusqlite::Connection::open(db).expect("raw connection");
    conn.query_row(sql, [], |row| row.get::<_, Option<String>>(0))
        .expect("text query")
        .unwrap_or_default()
}

/// Waits (up to 60 s) until `mission` has an invocation row whose outcome
/// is `outcome`.
pub fn wait_for_row(db: &Path, mission: &str, outcome: &str) {
    let conn = rusqlite::Connection::open(db).expect("raw connection");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM tool_calls WHERE outcome = ?2 \
                 AND mission_id = (SELECT id FROM missions WHERE mission_uuid = ?1)",
                [mission, outcome],
                |row| row.get(0),
            )
            .unwrap_or(0);
        if found > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "no {outcome} row for {mission}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` to `child`.
pub fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).expect("a pid");
    // SAFETY: kill(2) with a child's pid and a signal number.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// Waits for `child` to exit, at most `within`; kills it past that.
pub fn wait_bounded(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("the child's status") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
