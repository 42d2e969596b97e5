//! Fixtures shared by the integration tests: paths, databases, the `vibe`
//! binary, guests, helper processes; in modules of their own, runtimes
//! (`runtime`), the two-mission trail (`trail`), memory measurements
//! (`memory`), a raw MCP client over stdio (`mcp_stdio`), both backends
//! (`backends`) and the fuzz harness (`fuzz_inputs`).
#![allow(dead_code)]

pub mod backends;
pub mod fuzz_inputs;
pub mod mcp_stdio;
pub mod memory;
pub mod runtime;
pub mod trail;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use vibe_store::{Json, SqliteStore};

/// The schema version this build writes.
pub fn latest_schema() -> u32 {
    vibe_store::store::MIGRATIONS.last().unwrap().version
}

/// Bytes a process wrote, as text (invalid UTF-8 replaced).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guest/target/wasm32-wasip2/release")
        .join(guest_file(name));
    assert!(
        path.is_file(),
        "guest component {} is missing: run the tests with `./x test`, which builds the guests",
        path.display()
    );
    path
}

/// The file name of guest component `name`.
fn guest_file(name: &str) -> String {
    format!("{}.wasm", name.replace('-', "_"))
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

/// `vibe --db DB ARGS...`, which must succeed: its stdout.
pub fn vibe_ok(dir: &Path, db: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
    let out = vibe_db(dir, db).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 on stdout")
}

/// A mission (phase TESTING) made by `vibe mission create` on the database
/// at `db`: the id it printed, and what it said on stderr.
pub fn cli_mission(dir: &Path, db: &Path) -> (String, String) {
    let out = vibe_db(dir, db)
        .args(["mission", "create", "--phase", "TESTING"])
        .output()
        .unwrap();
    let mission = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    (mission, text(&out.stderr))
}

/// `vibe` on a database of its own in a temp dir.
pub struct Vibe {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Vibe {
    pub fn new() -> Self {
        let (dir, db) = temp_db();
        Vibe { dir, db }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        vibe_db(self.dir.path(), &self.db)
            .args(args)
            .output()
            .unwrap()
    }

    /// `vibe ARGS...`, which must succeed: its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        vibe_ok(self.dir.path(), &self.db, args)
    }

    /// `vibe ARGS...`, which must fail with exit code `code`, nothing on
    /// stdout and, unless it is a usage error, a one-line reason: stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "vibe {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "nothing on stdout when failing");
        let stderr = String::from_utf8(out.stderr).unwrap();
        if code != 2 {
            // Usage errors carry clap's usage text; every other failure is one line.
            assert_eq!(
                stderr.trim_end().lines().count(),
                1,
                "one-line reason: {stderr}"
            );
        }
        stderr
    }

    pub fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("--json prints JSON")
    }

    /// A new mission (phase CODING): its id.
    pub fn mission(&self) -> String {
        self.ok(&["mission", "create", "--phase", "coding"])
            .trim()
            .to_owned()
    }
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

/// The ids a stress writer acknowledged before it ended (or was killed):
/// read from its stdout to the end, counting complete lines only (a line
/// cut by a kill was never fully acknowledged on the pipe).
pub fn acknowledged_ids(child: &mut Child) -> JoinHandle<Vec<i64>> {
    let mut stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        ids(complete)
    })
}

/// What `PRAGMA integrity_check` says of the database at `path`.
pub fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).expect("raw connection");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check")
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

/// A `tools` folder under `dir` holding copies of the named guests, each
/// under its own file name.
pub fn served(dir: &Path, names: &[&str]) -> PathBuf {
    let files: Vec<String> = names.iter().map(|name| guest_file(name)).collect();
    let pairs: Vec<(&str, &str)> = names
        .iter()
        .copied()
        .zip(files.iter().map(String::as_str))
        .collect();
    tools_dir(dir, &pairs)
}

/// A Python (`python`) or JavaScript (`js`) tool `./x guests` built.
pub fn language_tool(language: &str, name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guest/target")
        .join(language)
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `./x test`, which builds the tools of every language",
        path.display()
    );
    path
}

/// The one text value `sql` reads from the database at `db` (NULL as "").
pub fn query_text(db: &Path, sql: &str) -> String {
    let conn = rusqlite::Connection::open(db).expect("raw connection");
    conn.query_row(sql, [], |row| row.get::<_, Option<String>>(0))
        .expect("text query")
        .unwrap_or_default()
}

/// Waits (up to 60 s) until `n` calls' rows in `db` are `running`.
pub fn wait_for_running(db: &Path, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(
        db,
        "SELECT COUNT(*) FROM tool_calls WHERE outcome = 'running'",
    ) < n
    {
        assert!(Instant::now() < deadline, "{n} calls should be running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `vibe mcp --policy` file in `dir` giving the `block` tool an hour, so
/// that it runs until cancelled.
pub fn long_block_policy(dir: &Path) -> PathBuf {
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[tools.block]\ntimeout-ms = 3600000\n").unwrap();
    policy
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

/// The URL of `url`'s database as another login role (no password).
pub fn as_role(url: &str, role: &str) -> String {
    let start = url.find("://").expect("a URL") + 3;
    let at = url[start..]
        .find('@')
        .map(|i| start + i)
        .expect("a user in the URL");
    format!("{}{role}{}", &url[..start], &url[at..])
}

/// `threads` threads each logging `calls` tool calls to `mission` at once,
/// every call acknowledged.
pub fn log_from_threads<S>(store: &S, mission: &vibe_store::MissionId, threads: i64, calls: i64)
where
    S: vibe_store::MissionStore + Clone + Send + 'static,
{
    let writers: Vec<_> = (0..threads)
        .map(|t| {
            let (store, mission) = (store.clone(), mission.clone());
            std::thread::spawn(move || {
                for i in 0..calls {
                    store
                        .log_tool_call(
                            &mission,
                            vibe_store::NewToolCall::success("w", serde_json::json!([t, i])),
                        )
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
}
