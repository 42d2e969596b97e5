//! The second review's breakers: promises about policy binding on reload
//! and about signals that the code claims to keep and does not. Every test
//! is bounded: servers and runs are killed when their test ends, and every
//! wait has a timeout.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{guest, temp_db, vibe_db};

/// A `vibe mcp` over stdio, its answers and log lines read as they come.
struct StdioServer {
    child: Child,
    stdin: ChildStdin,
    answers: mpsc::Receiver<Value>,
    log: mpsc::Receiver<String>,
}

impl StdioServer {
    fn start(dir: &Path, db: &Path, args: &[&str]) -> StdioServer {
        let mut child = vibe_db(dir, db)
            .arg("mcp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let (to_answers, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = to_answers.send(serde_json::from_str(&line).unwrap_or(Value::Null));
            }
        });
        let (to_log, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = to_log.send(line);
            }
        });
        let stdin = child.stdin.take().unwrap();
        let mut server = StdioServer {
            child,
            stdin,
            answers,
            log,
        };
        server.send(
            json!({ "jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": { "name": "breakers2", "version": "0" } } }),
        );
        let init = server.answer();
        assert_eq!(init["id"], "init", "{init}");
        server.send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
        server
    }

    fn send(&mut self, message: Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn answer(&self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self
                .answers
                .recv_timeout(left)
                .expect("an answer within 60 s");
            if message.get("id").is_some() {
                return message;
            }
        }
    }

    fn call(&mut self, id: i64, tool: &str, arguments: Value) -> Value {
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": tool, "arguments": arguments } }));
        let answer = self.answer();
        assert_eq!(answer["id"], id, "{answer}");
        answer
    }

    /// Waits (up to 60 s) for a log line containing every one of `needles`.
    fn log_line(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if needles.iter().all(|n| line.contains(n)) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line with {needles:?}"),
            }
        }
    }
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with a child's pid and a signal number.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// Waits for `child` to exit, at most `within`; kills it past that.
fn wait_bounded(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn text(db: &Path, sql: &str) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |row| row.get::<_, Option<String>>(0))
        .unwrap()
        .unwrap_or_default()
}

/// Promise (README, `vibe mcp`): "A file dropped into a watched directory
/// that claims a name already served is refused (a warning naming both
/// files) and the served tool stays". Input: `planner.wasm` (the planner)
/// is served; the operator rewrites it in place (a `cp` of a new build:
/// for a moment the file holds its first 1,000 bytes) while `weather.wasm`
/// (`guest/hostile/impostor`, which names itself `planner`) is dropped in.
/// The reload that sees the truncated planner finds one claimant of
/// `planner`, the newcomer, and serves it; once the planner's file is whole
/// again, the reload treats `weather.wasm` as the incumbent and refuses the
/// operator's own `planner.wasm` for good. Happened: every later call of
/// `planner` runs the impostor.
#[test]
fn a_newcomer_takes_a_served_name_while_the_incumbent_is_rewritten_and_keeps_it() {
    let (dir, db) = temp_db();
    let tools = dir.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let planner_bytes = std::fs::read(guest("planner")).unwrap();
    std::fs::write(tools.join("planner.wasm"), &planner_bytes).unwrap();
    let mut server = StdioServer::start(dir.path(), &db, &[tools.to_str().unwrap()]);
    let before = server.call(1, "planner", json!({ "goal": "plan" }));
    assert!(
        before["result"]["structuredContent"]
            .get("impostor")
            .is_none(),
        "{before}"
    );
    // The newcomer, dropped in whole (renamed into place).
    let staged: PathBuf = dir.path().join("weather.tmp");
    std::fs::copy(guest("impostor"), &staged).unwrap();
    std::fs::rename(&staged, tools.join("weather.wasm")).unwrap();
    // The operator's rewrite of the served file, caught half-written.
    std::fs::write(tools.join("planner.wasm"), &planner_bytes[..1000]).unwrap();
    server.log_line(&["planner.wasm", "not a valid WebAssembly component"]);
    // ... and finished.
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(tools.join("planner.wasm"), &planner_bytes).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let after = server.call(2, "planner", json!({ "goal": "plan" }));
    assert!(
        after["result"]["structuredContent"]
            .get("impostor")
            .is_none(),
        "after planner.wasm was rewritten whole, `planner` is served by the newcomer weather.wasm: {after}"
    );
}

/// Promise (README, exit codes; docs/guarantees.md): "SIGTERM or SIGINT
/// during `vibe run` cancels the tool, completes its row as `cancelled`, and
/// exits 143 or 130". Input: `vibe run guest/hostile/slow-describe` (its
/// `describe` sleeps an hour) with `--timeout-ms 3600000`, SIGTERM 2 s
/// after start. Happened: the signal is ignored while `describe` runs (it
/// is driven without the cancel flag); the process goes on until the
/// describe limit (10 s), then exits 4 with a `load_error` row.
#[test]
fn vibe_run_stopped_by_sigterm_while_describe_runs_is_cancelled_at_once() {
    let (dir, db) = temp_db();
    let out = vibe_db(dir.path(), &db)
        .args(["mission", "create", "--phase", "TESTING"])
        .output()
        .unwrap();
    let mission = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut child = vibe_db(dir.path(), &db)
        .args([
            "run",
            guest("slow-describe").to_str().unwrap(),
            "--mission",
            &mission,
            "--input",
            "{}",
            "--timeout-ms",
            "3600000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    signal(&child, libc::SIGTERM);
    let signalled = Instant::now();
    let status = wait_bounded(&mut child, Duration::from_secs(60)).expect("exits within 60 s");
    let took = signalled.elapsed();
    let outcomes = text(&db, "SELECT group_concat(outcome) FROM tool_calls");
    assert_eq!(
        (status.code(), outcomes.as_str()),
        (Some(143), "cancelled"),
        "after SIGTERM: exit {status:?} after {took:?}, rows {outcomes:?}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?} after SIGTERM");
}

/// Promise (README): "`vibe mcp` stopped by either signal cancels the calls
/// in flight, completes their rows and exits 0". Input: `vibe mcp DIR` with
/// `guest/target/js/hostile.wasm` (12 MB) in DIR and an empty
/// `VIBE_CACHE_DIR`, SIGTERM 1 s after start, while the component compiles.
/// Happened: the handlers are installed only after every tool has loaded,
/// so the process dies of the signal (no exit status, nothing said).
#[test]
fn vibe_mcp_stopped_by_sigterm_while_loading_its_tools_exits_0() {
    let (dir, db) = temp_db();
    let tools = dir.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest/target/js/hostile.wasm");
    assert!(js.is_file(), "{} is missing: run ./x guests", js.display());
    std::fs::copy(&js, tools.join("hostile.wasm")).unwrap();
    let mut child = vibe_db(dir.path(), &db)
        .env("VIBE_CACHE_DIR", dir.path().join("empty-cache"))
        .arg("mcp")
        .arg(&tools)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    signal(&child, libc::SIGTERM);
    let status = wait_bounded(&mut child, Duration::from_secs(120)).expect("exits within 120 s");
    assert_eq!(
        status.code(),
        Some(0),
        "vibe mcp stopped by SIGTERM while loading: {status:?}"
    );
}
