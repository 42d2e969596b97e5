//! `vibe mcp`, driven by the official MCP Python SDK (the client agents
//! use) and by raw JSON-RPC lines for what no well-behaved client sends;
//! every call checked against the row it left in the database.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::mcp_stdio::{initialize_raw, mcp_child, McpStdio, Streams};
use crate::common::memory::mib;
use crate::common::{
    count, guest, long_block_policy, served, temp_db, text, tools_dir, vibe_db, wait_for_running,
};

/// The project's Python environment, set up by `./x test`.
fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run the tests with `./x test`, which sets up the MCP Python SDK",
        python.display()
    );
    python
}

/// Runs a scenario of tests/python/mcp_client.py; what the client saw.
fn client(args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/mcp_client.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .env_remove("VIBE_DB")
        .env("VIBE_CACHE_DIR", crate::common::component_cache())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

/// Every invocation row, oldest first: (tool, outcome, caller).
fn invocations(db: &Path) -> Vec<(String, String, Value)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT tool_name, outcome, caller FROM tool_calls WHERE outcome IS NOT NULL ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            serde_json::from_str(&r.get::<_, Option<String>>(2)?.unwrap_or("null".into())).unwrap(),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The mission a call result names in its `_meta`.
fn mission_in(result: &Value) -> String {
    let meta = result
        .get("_meta")
        .or(result.get("meta"))
        .unwrap_or(&Value::Null);
    meta["vibe-store/mission"]
        .as_str()
        .unwrap_or_else(|| panic!("no vibe-store/mission in {result}"))
        .to_owned()
}

#[test]
fn an_agent_on_the_python_sdk_lists_and_calls_tools_and_every_call_is_one_row() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo", "planner", "exits", "spin"]);
    let vibe = env!("CARGO_BIN_EXE_vibe");
    let seen = client(&["stdio", vibe, db.to_str().unwrap(), tools.to_str().unwrap()]);

    // The session's mission is named to the client in every call result,
    // and is the one the calls were recorded in; the instructions say where
    // to find it, and nothing of where the store is.
    let mission = mission_in(&seen["echo"]);
    for call in ["list_output", "exits", "planner", "after"] {
        assert_eq!(mission_in(&seen[call]), mission, "{call}");
    }
    let instructions = seen["instructions"].as_str().unwrap();
    assert!(
        instructions.contains("vibe-store/mission"),
        "{instructions}"
    );
    assert!(
        !instructions.contains(dir.path().to_str().unwrap()) && !instructions.contains(".db"),
        "{instructions}"
    );
    assert_eq!(seen["server"], "vibe-store");
    // Tools as they describe themselves, or by their file's name.
    let listed = &seen["tools"];
    assert_eq!(listed["echo"]["input"], json!({ "type": "object" }));
    assert_eq!(listed["echo"]["description"], Value::Null);
    assert_eq!(
        listed["planner"]["input"]["properties"]["goal"]["type"],
        "string"
    );
    assert!(listed["planner"]["description"]
        .as_str()
        .unwrap()
        .starts_with("Plans a mission"));
    // Output as text and, for an object, as structured content.
    assert_eq!(seen["echo"]["is_error"], false);
    assert_eq!(seen["echo"]["structured"]["hello"], "tool");
    assert_eq!(
        seen["list_output"]["structured"],
        json!({ "items": [1, 2] })
    );
    // A failing tool is a result marked isError with a one-line reason; bad
    // arguments and unknown tools are protocol errors.
    assert_eq!(seen["exits"]["is_error"], true);
    assert_eq!(
        seen["exits"]["text"],
        "exit: exited with status 1 without returning output"
    );
    assert_eq!(seen["bad_arguments"]["protocol_error"], -32602);
    assert!(seen["bad_arguments"]["message"]
        .as_str()
        .unwrap()
        .contains("/goal"));
    assert_eq!(seen["unknown"]["protocol_error"], -32602);
    assert_eq!(seen["planner"]["is_error"], false);
    // Eight calls at once all answered; a call the client gave up on was
    // cancelled, and the session went on.
    let concurrent = seen["concurrent"].as_array().unwrap();
    assert_eq!(concurrent.len(), 8);
    for (i, result) in concurrent.iter().enumerate() {
        assert_eq!(result["structured"], json!({ "i": i }));
    }
    assert_eq!(seen["cancel"], "MCPError");
    assert_eq!(seen["after"]["structured"], json!({ "still": "here" }));

    // The trail: one row per call that ran (not for refused arguments or
    // unknown tools), each naming the client and its request.
    let rows = invocations(&db);
    let outcomes: Vec<(&str, &str)> = rows
        .iter()
        .map(|(t, o, _)| (t.as_str(), o.as_str()))
        .collect();
    let mut expected = vec![
        ("echo", "ok"),
        ("echo", "ok"),
        ("exits", "exit"),
        ("planner", "ok"),
    ];
    expected.extend([("echo", "ok"); 8]);
    expected.extend([("spin", "cancelled"), ("echo", "ok")]);
    assert_eq!(outcomes, expected);
    for (_, _, caller) in &rows {
        assert_eq!(caller["transport"], "stdio");
        assert_eq!(caller["client"], "vibe-tests");
        assert_eq!(caller["client_version"], "1.2.3");
        assert!(caller["request_id"].is_number(), "{caller}");
    }
    assert_eq!(
        count(&db, &format!("SELECT COUNT(*) FROM tool_calls t JOIN missions m ON m.id = t.mission_id WHERE m.mission_uuid = '{mission}' AND t.outcome IS NOT NULL")),
        rows.len() as i64
    );
    // The mission records who it was for.
    let metadata: Value = serde_json::from_str(
        &rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(
                "SELECT metadata FROM missions WHERE mission_uuid = ?1",
                [&mission],
                |r| r.get::<_, String>(0),
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        metadata["mcp"],
        json!({ "transport": "stdio", "client": "vibe-tests", "client_version": "1.2.3" })
    );
    // The tool the planner ran wrote rows of its own inside the same trail.
    assert!(count(&db, "SELECT COUNT(*) FROM decisions") >= 1);
}

#[test]
fn replacing_served_components_tells_the_client_which_tools_there_are_now() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let vibe = env!("CARGO_BIN_EXE_vibe");
    let new = [guest("planner"), guest("agent-tool-0-1")]
        .map(|p| p.to_str().unwrap().to_owned())
        .join(",");
    let seen = client(&[
        "changes",
        vibe,
        db.to_str().unwrap(),
        tools.to_str().unwrap(),
        &new,
    ]);
    assert_eq!(seen["before"], json!(["echo"]));
    assert_eq!(seen["notified"], true, "notifications/tools/list_changed");
    // A component built against the contract before `describe` existed is
    // served under its file's name.
    assert_eq!(seen["after"], json!(["agent-tool-0-1", "planner"]));
}

/// A `vibe mcp` over HTTP, and the address it listens on.
struct HttpServer(Child, String);

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_server(dir: &Path, db: &Path, args: &[&str]) -> HttpServer {
    http_server_with(dir, db, args, &[])
}

/// [`http_server`] with `env` set for the server process.
fn http_server_with(dir: &Path, db: &Path, args: &[&str], env: &[(&str, &str)]) -> HttpServer {
    let mut child = vibe_db(dir, db)
        .arg("mcp")
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("serving MCP at ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    HttpServer(child, url)
}

#[test]
fn the_http_transport_serves_with_the_token_and_refuses_without_it() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let server = http_server(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--token-file",
            token.to_str().unwrap(),
        ],
    );
    let seen = client(&["http", &server.1, "s3cret-token"]);
    assert_eq!(seen["echo"]["structured"], json!({ "over": "http" }));
    assert_eq!(seen["without_token"], 401);
    let rows = invocations(&db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].2["transport"], "http");
    assert_eq!(rows[0].2["client"], "vibe-tests");
    drop(server);

    // Off this machine only when asked, and then only with a token.
    for (args, says) in [
        (vec!["--listen", "0.0.0.0:0"], "is not a loopback address"),
        (
            vec!["--listen", "0.0.0.0:0", "--allow-remote"],
            "--allow-remote needs --token-file",
        ),
    ] {
        let out = vibe_db(dir.path(), &db)
            .arg("mcp")
            .arg(&tools)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
}

#[test]
fn bad_input_gets_json_rpc_errors_and_the_server_keeps_serving() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    // Before initialize: an error, and the session can still begin.
    let mut early = vibe_db(dir.path(), &db)
        .args(["mcp", tools.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        let mut stdin = early.stdin.take().unwrap();
        writeln!(stdin, r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list"}}"#).unwrap();
        writeln!(
            stdin,
            r#"{{"jsonrpc":"2.0","id":2,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"x","version":"0"}}}}}}"#
        )
        .unwrap();
    }
    let out = early.wait_with_output().unwrap();
    // Answered by id, in whichever order the two were ready.
    let mut answers: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    answers.sort_by_key(|a| a["id"].as_i64());
    assert_eq!(answers[0]["id"], 1);
    assert!(answers[0]["error"]["code"].is_number(), "{:?}", answers[0]);
    assert_eq!(answers[1]["id"], 2);
    assert!(answers[1]["result"]["protocolVersion"].is_string());

    let kinds = [
        Streams::Pipes,
        Streams::Sockets,
        Streams::NonBlockingSockets,
    ];
    for (ran, streams) in kinds.into_iter().enumerate() {
        let mut raw = McpStdio::spawn_on(
            vibe_db(dir.path(), &db),
            &[tools.to_str().unwrap(), "--max-message-bytes", "4096"],
            streams,
        );
        raw.initialize("raw", true);
        raw.send_raw(b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ");
        let parse = raw.next();
        assert_eq!(
            (parse["id"].clone(), parse["error"]["code"].clone()),
            (Value::Null, json!(-32700)),
            "{streams:?}"
        );
        // A message over the cap is refused whole, without being held; one
        // that arrives in pieces too.
        let big = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": { "name": "echo", "arguments": { "pad": "x".repeat(10_000) } } });
        raw.send(big.clone());
        let big = big.to_string();
        let (first, rest) = big.as_bytes().split_at(3000);
        raw.send_part(first);
        std::thread::sleep(Duration::from_millis(50));
        raw.send_raw(rest);
        for _ in 0..2 {
            let refused = raw.next();
            assert_eq!(refused["error"]["code"], -32600, "{streams:?}");
            assert!(refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("at most 4096 bytes"));
        }
        raw.send(json!({ "jsonrpc": "2.0", "id": 3, "method": "no/such/method" }));
        assert_eq!(raw.next()["error"]["code"], -32601, "{streams:?}");
        // And it still serves.
        raw.send_call(4, "echo", json!({ "ok": true }));
        let answer = raw.next();
        assert_eq!(answer["id"], 4);
        assert_eq!(answer["result"]["structuredContent"], json!({ "ok": true }));
        let (stderr, code) = raw.finish();
        assert_eq!(code, Some(0), "{streams:?}: {stderr}");
        assert_eq!(
            invocations(&db).len(),
            ran + 1,
            "the refused calls ran nothing"
        );
    }
}

/// A last request with no newline before the client closes stdin is a
/// request: answered, run and recorded, over pipes and over sockets.
#[test]
fn a_last_line_without_a_newline_is_answered() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    for (ran, streams) in [Streams::Pipes, Streams::Sockets].into_iter().enumerate() {
        let mut raw = McpStdio::spawn_on(
            vibe_db(dir.path(), &db),
            &[tools.to_str().unwrap()],
            streams,
        );
        raw.initialize("raw", true);
        let call = json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": { "name": "echo", "arguments": { "last": true } } });
        raw.send_part(call.to_string().as_bytes());
        raw.close_stdin();
        let answer = raw.next();
        assert_eq!(answer["id"], 7, "{streams:?}: {answer}");
        assert_eq!(
            answer["result"]["structuredContent"],
            json!({ "last": true })
        );
        let (stderr, code) = raw.finish();
        assert_eq!(code, Some(0), "{streams:?}: {stderr}");
        assert_eq!(invocations(&db).len(), ran + 1, "{streams:?}");
    }
}

/// On a terminal, a last request with no newline, then end-of-file (^D to
/// pass the line, ^D again for the end): answered, recorded, and the server
/// exits at that end (a terminal reports its end once; reading again would
/// wait for a third ^D).
#[test]
fn a_last_line_on_a_terminal_is_answered_and_its_end_ends_the_session() {
    use std::os::fd::{FromRawFd, OwnedFd};
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let (mut master, slave) = {
        let (mut master, mut slave) = (-1, -1);
        let opened = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(opened, 0, "openpty");
        // SAFETY: both descriptors were just opened and are owned here.
        unsafe {
            (
                std::fs::File::from(OwnedFd::from_raw_fd(master)),
                OwnedFd::from_raw_fd(slave),
            )
        }
    };
    let server = vibe_db(dir.path(), &db)
        .args(["mcp", tools.to_str().unwrap()])
        .stdin(slave)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let [initialize, initialized, call] = one_call_session("tty");
    write!(master, "{initialize}\n{initialized}\n{call}\x04\x04").unwrap();
    let ids = answered_until_it_exits(server, "a terminal after its end");
    assert_eq!(ids, [json!(0), json!(1)]);
    assert_eq!(invocations(&db).len(), 1);
}

/// `initialize` as `client`, `notifications/initialized`, and one `echo`
/// call (id 1).
fn one_call_session(client: &str) -> [Value; 3] {
    [
        json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": { "name": client, "version": "0" } } }),
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": { "name": "echo", "arguments": { "x": 1 } } }),
    ]
}

/// Waits (up to 60 s, else fails saying it is still reading `what`) for a
/// server whose input has ended to exit, which it must do with success;
/// the ids of the answers it wrote, in order.
fn answered_until_it_exits(mut server: Child, what: &str) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "still reading {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = server.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].clone())
        .collect()
}

/// A named FIFO as stdin whose writer wrote the session and closed before
/// the server began reading (`vibe mcp < fifo`, the writer quick): the
/// server serves it and exits at its end (Linux does not report that end to
/// a FIFO reopened non-blocking, so a named FIFO is read by a thread).
#[test]
fn a_named_fifo_whose_writer_already_left_is_served_to_its_end() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let fifo = dir.path().join("requests");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let session = one_call_session("fifo").map(|m| format!("{m}\n")).concat();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, session).unwrap())
    };
    // Opened for reading here, so the writer can write and leave before
    // the server reads.
    let input = std::fs::File::open(&fifo).unwrap();
    writer.join().unwrap();
    let server = vibe_db(dir.path(), &db)
        .args(["mcp", tools.to_str().unwrap()])
        .stdin(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ids = answered_until_it_exits(server, "a FIFO that ended");
    assert_eq!(ids, [json!(0), json!(1)]);
    assert_eq!(invocations(&db).len(), 1);
}

#[test]
fn a_flood_of_calls_is_bounded_and_every_call_that_ran_has_its_row() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let mut command = Command::new("/usr/bin/time");
    command
        .args(["-f", "peak-rss-kib %M", env!("CARGO_BIN_EXE_vibe"), "--db"])
        .arg(&db)
        .env("VIBE_CACHE_DIR", crate::common::component_cache());
    let mut raw = McpStdio::start_with(
        command,
        &[
            tools.to_str().unwrap(),
            "--max-pending-calls",
            "16",
            "--durability",
            "normal",
        ],
        "raw",
    );
    for id in 0..1000 {
        raw.send_call(id, "echo", json!({ "id": id, "pad": "y".repeat(1000) }));
    }
    let (mut ran, mut busy) = (Vec::new(), 0);
    for _ in 0..1000 {
        let answer = raw.next();
        if answer["result"]["isError"] == false {
            ran.push(answer["id"].as_i64().unwrap());
        } else {
            assert_eq!(answer["error"]["code"], -32000, "{answer}");
            assert!(answer["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("server busy"));
            busy += 1;
        }
    }
    assert_eq!(ran.len() + busy, 1000);
    assert!(!ran.is_empty());
    // The server still serves, and every call that ran left its row.
    raw.send_call(5000, "echo", json!({}));
    assert_eq!(raw.next()["id"], 5000);
    let (stderr, code) = raw.finish();
    assert_eq!(code, Some(0), "{stderr}");
    let rows = invocations(&db);
    assert_eq!(rows.len(), ran.len() + 1);
    assert!(rows.iter().all(|(_, outcome, _)| outcome == "ok"));
    let peak = peak_rss_kib(&stderr);
    assert!(peak < 400 * 1024, "peak RSS {peak} KiB for 1,000 calls");
}

/// A client that keeps calling and never reads: once the answers waiting
/// to be written pass `MAX_QUEUED_OUTPUT_BYTES` (16 MiB), the server stops
/// reading (the client's writes block in its own pipe), so its memory stays
/// bounded; when the client reads at last, every call is answered and has
/// its row. Before, the server read on and queued every answer: 300 MB and
/// more here.
#[test]
fn a_client_that_calls_and_never_reads_is_held_back_and_the_server_memory_stays_bounded() {
    // Pipes are served on the session's worker, sockets by threads.
    for sockets in [false, true] {
        calls_never_read(sockets);
    }
}

fn calls_never_read(sockets: bool) {
    const CALLS: usize = 400;
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let mut command = Command::new("/usr/bin/time");
    command
        .args(["-f", "peak-rss-kib %M", env!("CARGO_BIN_EXE_vibe"), "--db"])
        .arg(&db)
        .args(["--durability", "normal", "mcp", tools.to_str().unwrap()])
        .env("VIBE_CACHE_DIR", crate::common::component_cache())
        .stderr(Stdio::piped());
    let (server, mut stdin, mut stdout): (Child, Box<dyn Write + Send>, Box<dyn BufRead>) =
        if sockets {
            let (ours_in, theirs_in) = std::os::unix::net::UnixStream::pair().unwrap();
            let (ours_out, theirs_out) = std::os::unix::net::UnixStream::pair().unwrap();
            command
                .stdin(std::os::fd::OwnedFd::from(theirs_in))
                .stdout(std::os::fd::OwnedFd::from(theirs_out));
            let server = command.spawn().unwrap();
            // The command holds the server's ends: closed here.
            drop(command);
            (
                server,
                Box::new(ours_in),
                Box::new(BufReader::new(ours_out)),
            )
        } else {
            let mut server = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let stdin = server.stdin.take().unwrap();
            let stdout = BufReader::new(server.stdout.take().unwrap());
            (server, Box::new(stdin), Box::new(stdout))
        };
    initialize_raw(&mut stdin, &mut stdout);
    // Each answer carries its 400 KB of arguments back twice (as text and
    // as structured content).
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let sent = sent.clone();
        std::thread::spawn(move || {
            let pad = "y".repeat(400_000);
            for id in 1..=CALLS {
                let call = json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": { "name": "echo", "arguments": { "id": id, "pad": pad } } });
                writeln!(stdin, "{call}").unwrap();
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    // Until the client's writes stop going through (or all went).
    let seen = writes_stalled(&sent, CALLS);
    assert!(
        seen < CALLS / 2,
        "the server took {seen} of {CALLS} calls while none of their answers were read \
         (sockets: {sockets})"
    );
    // In the order the calls ended (they run side by side). Each ran, or,
    // read while `--max-pending-calls` (64) were still running or waiting
    // (a loaded machine runs them slower than the gate reads), was refused
    // "server busy" and ran nothing.
    let (mut answered, mut ran) = (Vec::new(), 0);
    for line in stdout.lines() {
        let answer: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if answer["result"]["isError"] == false {
            ran += 1;
        } else {
            assert_eq!(answer["error"]["code"], -32000, "{answer}");
        }
        answered.push(answer["id"].as_i64().unwrap());
    }
    writer.join().unwrap();
    let out = server.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    answered.sort_unstable();
    assert_eq!(answered, (1..=CALLS as i64).collect::<Vec<_>>());
    let rows = invocations(&db);
    assert!(ran > 0, "every call was refused busy");
    assert_eq!(rows.len(), ran);
    assert!(rows.iter().all(|(_, outcome, _)| outcome == "ok"));
    let peak = peak_rss_kib(&stderr);
    assert!(
        peak < 200 * 1024,
        "peak RSS {peak} KiB (sockets: {sockets})"
    );
}

/// A client that floods small requests (a ping a line) and never reads:
/// the session holds at most `--max-pending-calls` + 64 of them unanswered
/// before the gate stops reading, so the SDK's task per request cannot pile
/// up (a breaker's finding: 200,000 pings over pipes took 1.2 GB, the
/// answers' bytes alone staying under the 16 MiB bound); reading at last,
/// every one is answered.
#[test]
fn a_flood_of_small_requests_never_read_keeps_the_server_memory_bounded() {
    const PINGS: usize = 200_000;
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let mut server = Command::new("/usr/bin/time")
        .args(["-f", "peak-rss-kib %M", env!("CARGO_BIN_EXE_vibe"), "--db"])
        .arg(&db)
        .args(["mcp", tools.to_str().unwrap()])
        .env("VIBE_CACHE_DIR", crate::common::component_cache())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = server.stdin.take().unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    initialize_raw(&mut stdin, &mut stdout);
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let sent = sent.clone();
        std::thread::spawn(move || {
            let mut batch = String::new();
            for id in 1..=PINGS {
                batch.push_str(&format!(
                    "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}\n"
                ));
                if id % 64 == 0 || id == PINGS {
                    stdin.write_all(batch.as_bytes()).unwrap();
                    batch.clear();
                    sent.store(id, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })
    };
    // Until the client's writes stop going through, or all went.
    writes_stalled(&sent, PINGS);
    let mut answered = 0;
    for line in stdout.lines() {
        let answer: Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_eq!(answer["result"], json!({}), "{answer}");
        answered += 1;
    }
    writer.join().unwrap();
    let out = server.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(answered, PINGS);
    let peak = peak_rss_kib(&stderr);
    assert!(peak < 250 * 1024, "peak RSS {peak} KiB");
}

/// A request whose id is already used by one not yet answered, or by one
/// cancelled, is refused (`-32600`, nothing run): JSON-RPC ids are used
/// once in a session, and the SDK would answer only one of the two. Before,
/// both ran and one answer was lost.
#[test]
fn a_request_reusing_the_id_of_one_in_flight_is_refused_and_runs_nothing() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let mut server = McpStdio::serving_block(dir.path(), &db, &["block", "echo"], &[]);
    server.send_call(7, "block", json!({ "case": "sleep" }));
    wait_for_running(&db, 1);
    server.send_call(7, "echo", json!({ "x": 1 }));
    let refused = server.next();
    assert_eq!(refused["id"], 7, "{refused}");
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{refused}"
    );
    // The session goes on; the first call is still the one running.
    server.send(json!({ "jsonrpc": "2.0", "id": 8, "method": "ping" }));
    assert_eq!(server.next()["id"], 8);
    server.send(
        json!({ "jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": { "requestId": 7 } }),
    );
    // Nor is a cancelled request's id free: its call may still be ending,
    // and its late answer would take the new request's place (a breaker's
    // finding: the new call cancelled, its answer lost).
    server.send_call(7, "echo", json!({ "x": 2 }));
    let refused = server.next();
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    server.send(json!({ "jsonrpc": "2.0", "id": 9, "method": "ping" }));
    assert_eq!(server.next()["id"], 9);
    let (stderr, code) = server.finish();
    assert_eq!(code, Some(0), "{stderr}");
    let rows = invocations(&db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].1, "cancelled");
}

/// Stdout that cannot be written (`/dev/full`): the session ends, no call
/// is left `running`, and the server says why and exits 1, rather than
/// serving on with every answer lost and exiting 0.
#[test]
fn stdout_that_cannot_be_written_ends_the_session_with_an_error() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let mut server = vibe_db(dir.path(), &db)
        .args(["mcp", tools.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = server.stdin.take().unwrap();
    let session = one_call_session("full").map(|m| format!("{m}\n")).concat();
    // The server may end the session before it reads all of this.
    let _ = stdin.write_all(session.as_bytes());
    // Stdin stays open: the broken output alone ends the session.
    let out = answered_or_killed(server, "a stdout that cannot be written");
    drop(stdin);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write to stdout"), "{stderr}");
    assert!(invocations(&db)
        .iter()
        .all(|(_, outcome, _)| outcome != "running"));
}

/// A client that closes its end of stdout (it went away, or stopped
/// listening) but keeps stdin open: the session ends as it would at the
/// end of stdin, the call in flight is cancelled and its row completed,
/// and the server exits 0, as any command whose reader went away.
#[test]
fn a_client_that_closes_its_end_of_stdout_ends_the_session() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["block"]);
    let policy = long_block_policy(dir.path());
    let mut server = mcp_child(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ],
    );
    let mut stdin = server.stdin.take().unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    initialize_raw(&mut stdin, &mut stdout);
    let call = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "block", "arguments": { "case": "sleep" } } });
    writeln!(stdin, "{call}").unwrap();
    stdin.flush().unwrap();
    wait_for_running(&db, 1);
    drop(stdout);
    // Something to answer, which finds no reader.
    writeln!(
        stdin,
        "{}",
        json!({ "jsonrpc": "2.0", "id": 2, "method": "ping" })
    )
    .unwrap();
    stdin.flush().unwrap();
    let out = answered_or_killed(server, "a stdout whose reader went away");
    drop(stdin);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = invocations(&db);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "cancelled");
}

/// The peak resident memory `/usr/bin/time -f "peak-rss-kib %M"` wrote on
/// `stderr`, in KiB.
fn peak_rss_kib(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib "))
        .and_then(|k| k.trim().parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"))
}

/// How many of `total` messages a writer thread counting them in `sent`
/// got through once its writes stopped going through (2 s without one), or
/// all of them.
fn writes_stalled(sent: &std::sync::atomic::AtomicUsize, total: usize) -> usize {
    let (mut seen, mut still) = (usize::MAX, 0);
    while still < 8 && seen != total {
        std::thread::sleep(Duration::from_millis(250));
        let now = sent.load(std::sync::atomic::Ordering::Relaxed);
        still = if now == seen { still + 1 } else { 0 };
        seen = now;
    }
    seen
}

/// Waits (up to 60 s, else kills it and fails saying it is still serving
/// `what`) for the server to exit on its own.
fn answered_or_killed(mut server: Child, what: &str) -> std::process::Output {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            server.kill().unwrap();
            panic!("still serving {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    server.wait_with_output().unwrap()
}

#[test]
fn a_client_that_goes_away_mid_call_leaves_the_calls_row_complete() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["spin"]);
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[tools.spin]\ntimeout-ms = 300\n").unwrap();
    let mut raw = McpStdio::start(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ],
        "raw",
    );
    raw.send_call(1, "spin", json!({}));
    std::thread::sleep(Duration::from_millis(100));
    let (stderr, code) = raw.finish();
    assert_eq!(code, Some(0), "{stderr}");
    let rows = invocations(&db);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "timeout", "ended, not left running");
}

/// One HTTP/1.1 exchange, as a plain `TcpStream` speaks it: the status,
/// the headers (names in lower case) and the body (de-chunked).
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON-RPC messages in the body: the body itself, or each event's
    /// data in an event stream.
    fn messages(&self) -> Vec<Value> {
        let body = text(&self.body);
        let stream = self
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/event-stream"));
        if !stream {
            return serde_json::from_str(&body)
                .map(|m| vec![m])
                .unwrap_or_default();
        }
        let mut messages = Vec::new();
        for event in body.split("\n\n") {
            let data: String = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            if !data.is_empty() {
                messages
                    .push(serde_json::from_str(&data).unwrap_or_else(|e| panic!("{e}: {data}")));
            }
        }
        messages
    }

    /// The one JSON-RPC message in the body.
    fn one(&self) -> Value {
        let messages = self.messages();
        assert_eq!(messages.len(), 1, "{}: {}", self.status, text(&self.body));
        messages.into_iter().next().unwrap()
    }
}

/// Sends one request to `url` (`http://host:port/path`) on a connection of
/// its own, and reads the reply to the end.
fn exchange(url: &str, method: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut stream = send_head(url, method, headers, body.len());
    // The server may answer before it has read the body (503, 413).
    let _ = stream.write_all(body);
    read_reply(stream)
}

fn send_head(url: &str, method: &str, headers: &[(&str, &str)], length: usize) -> TcpStream {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{method} /{path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

fn read_reply(mut stream: TcpStream) -> Reply {
    let mut raw = Vec::new();
    let mut buf = [0u8; 1 << 16];
    // Until the server closes (a reset after a refusal ends it too).
    while let Ok(n @ 1..) = stream.read(&mut buf) {
        raw.extend_from_slice(&buf[..n]);
    }
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP reply: {}", text(&raw)));
    let head = text(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked")
    {
        let (mut plain, mut at) = (Vec::new(), 0);
        while let Some(eol) = body[at..].windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(text(&body[at..at + eol]).trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            at += eol + 2;
            plain.extend_from_slice(&body[at..at + size]);
            at += size + 2;
        }
        body = plain;
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn initialize(name: &str, capabilities: Value) -> Vec<u8> {
    json!({ "jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": capabilities,
        "clientInfo": { "name": name, "version": "1" } } })
    .to_string()
    .into_bytes()
}

/// Opens an HTTP session as `name`: its id.
fn open_session(url: &str, name: &str) -> String {
    let reply = exchange(url, "POST", &[], &initialize(name, json!({})));
    assert_eq!(reply.status, 200, "{}", text(&reply.body));
    let session = reply.header("mcp-session-id").unwrap().to_owned();
    let note = exchange(
        url,
        "POST",
        &[("Mcp-Session-Id", &session)],
        br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    );
    assert_eq!(note.status, 202, "{}", text(&note.body));
    session
}

/// Malformed messages, each with the code and id of its one answer, and the
/// HTTP status that answer comes with.
fn malformed() -> Vec<(&'static str, Vec<u8>, i64, Value, u16)> {
    let call = |id: i64, params: &str| {
        format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{params}}}"#)
            .into_bytes()
    };
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let long_id = "i".repeat(3 << 19);
    let big_init = json!({ "jsonrpc": "2.0", "id": 10, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "clientInfo": { "name": "x", "version": "0" },
        "capabilities": { "experimental": { "pad": { "x": "p".repeat(3 << 20) } } } } });
    let over_cap = call(
        19,
        &format!(
            r#"{{"name":"echo","arguments":{{"pad":"{}"}}}}"#,
            "y".repeat(5 << 20)
        ),
    );
    vec![
        (
            "not JSON",
            b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ".to_vec(),
            -32700,
            Value::Null,
            400,
        ),
        (
            "invalid UTF-8",
            [
                &call(2, r#"{"name":"echo","arguments":{"s":""#)[..],
                b"\xff\xfe\"}}}",
            ]
            .concat(),
            -32700,
            Value::Null,
            400,
        ),
        (
            "a lone surrogate",
            call(3, r#"{"name":"echo","arguments":{"s":"\ud83d"}}"#),
            -32602,
            json!(3),
            400,
        ),
        (
            "nested 200 deep",
            call(
                4,
                &format!(r#"{{"name":"echo","arguments":{{"d":{deep}}}}}"#),
            ),
            -32602,
            json!(4),
            400,
        ),
        (
            "a 1.5 MiB id",
            format!(r#"{{"jsonrpc":"2.0","id":"{long_id}","method":"ping"}}"#).into_bytes(),
            -32600,
            json!(long_id),
            400,
        ),
        (
            "string arguments",
            call(6, r#"{"name":"echo","arguments":"x"}"#),
            -32602,
            json!(6),
            400,
        ),
        (
            "no tool name",
            call(7, r#"{"arguments":{}}"#),
            -32602,
            json!(7),
            400,
        ),
        ("params an array", call(8, "[1]"), -32602, json!(8), 400),
        (
            "tools/list params a string",
            br#"{"jsonrpc":"2.0","id":9,"method":"tools/list","params":"x"}"#.to_vec(),
            -32602,
            json!(9),
            400,
        ),
        (
            "initialize params of 3 MiB",
            big_init.to_string().into_bytes(),
            -32602,
            json!(10),
            400,
        ),
        (
            "no jsonrpc",
            br#"{"id":11,"method":"ping"}"#.to_vec(),
            -32600,
            json!(11),
            400,
        ),
        (
            "jsonrpc 1.0",
            br#"{"jsonrpc":"1.0","id":12,"method":"ping"}"#.to_vec(),
            -32600,
            json!(12),
            400,
        ),
        (
            "a method that is a number",
            br#"{"jsonrpc":"2.0","id":13,"method":5}"#.to_vec(),
            -32600,
            json!(13),
            400,
        ),
        (
            "an id that is a fraction",
            br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#.to_vec(),
            -32600,
            Value::Null,
            400,
        ),
        (
            "a batch",
            br#"[{"jsonrpc":"2.0","id":15,"method":"ping"}]"#.to_vec(),
            -32600,
            Value::Null,
            400,
        ),
        ("a bare number", b"16".to_vec(), -32600, Value::Null, 400),
        (
            "neither method nor result",
            br#"{"jsonrpc":"2.0","id":17}"#.to_vec(),
            -32600,
            json!(17),
            400,
        ),
        (
            "an id given twice",
            br#"{"jsonrpc":"2.0","id":18,"id":19,"method":"ping"}"#.to_vec(),
            -32600,
            json!(18),
            400,
        ),
        ("over the size cap", over_cap, -32600, Value::Null, 413),
        (
            "an unknown method",
            br#"{"jsonrpc":"2.0","id":20,"method":"no/such/method"}"#.to_vec(),
            -32601,
            json!(20),
            200,
        ),
    ]
}

fn assert_answer(case: &str, answer: &Value, code: i64, id: &Value) {
    let short = |v: &Value| text(&v.to_string().into_bytes()[..v.to_string().len().min(300)]);
    assert_eq!(answer["error"]["code"], code, "{case}: {}", short(answer));
    assert!(
        answer.as_object().unwrap().contains_key("id"),
        "{case}: no id member: {}",
        short(answer)
    );
    assert_eq!(&answer["id"], id, "{case}: {}", short(answer));
    assert!(
        answer["error"]["message"].as_str().unwrap().len() < 400,
        "{case}: {}",
        short(answer)
    );
}

#[test]
fn every_malformed_message_gets_one_answer_with_the_json_rpc_code_on_both_transports() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let cases = malformed();

    // Over pipes the gate runs on the session's worker; over sockets (and
    // anything else that is not a pipe) on a thread of its own.
    for streams in [
        Streams::Pipes,
        Streams::Sockets,
        Streams::NonBlockingSockets,
    ] {
        let mut command = vibe_db(dir.path(), &db);
        command.env("VIBE_LOG", "warn");
        let mut raw = McpStdio::spawn_on(command, &[tools.to_str().unwrap()], streams);
        raw.initialize("raw", true);
        let gate_thread = raw.thread_names().contains(&"vibe-mcp-stdin".to_owned());
        assert_eq!(
            gate_thread,
            !matches!(streams, Streams::Pipes),
            "{streams:?}"
        );
        for (case, message, code, id, _) in &cases {
            raw.send_raw(message);
            assert_answer(&format!("{case} ({streams:?})"), &raw.next(), *code, id);
        }
        // One answer each, and no more: the next is the next request's.
        raw.send(json!({ "jsonrpc": "2.0", "id": "last", "method": "ping" }));
        assert_eq!(raw.next()["id"], "last", "{streams:?}");
        let (stderr, code) = raw.finish();
        assert_eq!(code, Some(0), "{streams:?}: {stderr}");
        // Logs quote what clients sent in bounded pieces.
        assert!(
            stderr.lines().all(|l| l.len() < 2000),
            "{}",
            &stderr[..stderr.len().min(3000)]
        );
    }

    let server = http_server(
        dir.path(),
        &db,
        &[tools.to_str().unwrap(), "--listen", "127.0.0.1:0"],
    );
    let session = open_session(&server.1, "table");
    for (case, message, code, id, status) in &cases {
        let reply = exchange(&server.1, "POST", &[("Mcp-Session-Id", &session)], message);
        assert_eq!(
            reply.status,
            *status,
            "{case}: {}",
            text(&reply.body[..reply.body.len().min(300)])
        );
        assert_answer(case, &reply.one(), *code, id);
    }
    assert_eq!(invocations(&db).len(), 0, "nothing ran");
}

/// Error answers carry a message under 400 bytes, and no log line at
/// `VIBE_LOG=warn` is over 2,000 bytes, whatever the client sent: a request
/// for an unknown method whose name is 100,000 bytes long, and a
/// `tools/call` of an unknown tool whose name is 100,000 bytes long (quoted
/// whole, each would make a 100 KB error and a 100 KB warning line).
#[test]
fn a_long_method_or_tool_name_is_quoted_in_bounded_pieces_in_answers_and_logs() {
    let (dir, db) = temp_db();
    let tools = tools_dir(dir.path(), &[("echo", "echo.wasm")]);
    let mut server = McpStdio::spawn(
        dir.path(),
        &db,
        &[tools.to_str().unwrap()],
        &[("VIBE_LOG", "warn")],
    );
    server.initialize("mcp-tests", true);
    let long = "x".repeat(100_000);
    server.send(json!({ "jsonrpc": "2.0", "id": 1, "method": long }));
    server.send(json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": long, "arguments": {} } }));
    let mut problems = Vec::new();
    for id in 1..=2 {
        let answer = server
            .answer(Duration::from_secs(60))
            .expect("one answer per request");
        assert_eq!(answer["id"], id, "answers come in order");
        let code = answer["error"]["code"].as_i64().unwrap_or_default();
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(code, if id == 1 { -32601 } else { -32602 }, "{id}");
        if message.len() >= 400 {
            problems.push(format!(
                "answer to id {id} (code {code}): message of {} bytes",
                message.len()
            ));
        }
    }
    for line in server.log_lines(Duration::from_millis(500)) {
        if line.len() > 2_000 {
            problems.push(format!(
                "log line of {} bytes: {}...",
                line.len(),
                &line[..line.len().min(120)]
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

fn http_call(url: &str, session: &str, id: i64, tool: &str, arguments: Value) -> Value {
    let call = json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": { "name": tool, "arguments": arguments } });
    exchange(
        url,
        "POST",
        &[("Mcp-Session-Id", session)],
        call.to_string().as_bytes(),
    )
    .one()
}

/// Tries `attempt` until it gives something, for at most a minute: for what
/// the server does in its own time (a session ending after its DELETE).
fn eventually<T>(what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(done) = attempt() {
            return done;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within a minute"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_call_outside_an_initialized_session_is_refused_and_runs_and_writes_nothing() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    // The 2026-07-28 revision's stateless form: everything in `_meta`.
    let stateless = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "echo", "arguments": { "ran": true },
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": { "name": "stateless", "version": "0" },
            "io.modelcontextprotocol/clientCapabilities": {} } } });
    let plain = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "echo", "arguments": { "ran": true } } });

    let mut stdio = vibe_db(dir.path(), &db)
        .args(["mcp", tools.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        let mut stdin = stdio.stdin.take().unwrap();
        writeln!(stdin, "{stateless}").unwrap();
        writeln!(stdin, "{plain}").unwrap();
    }
    let out = stdio.wait_with_output().unwrap();
    let answers: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    for (answer, id) in answers.iter().zip([1, 2]) {
        assert_eq!(answer["id"], id);
        assert_eq!(answer["error"]["code"], -32600, "{answer}");
        assert!(answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("call initialize first"));
    }

    let server = http_server(
        dir.path(),
        &db,
        &[tools.to_str().unwrap(), "--listen", "127.0.0.1:0"],
    );
    for (call, headers) in [
        (&stateless, vec![("MCP-Protocol-Version", "2026-07-28")]),
        (&plain, vec![]),
    ] {
        let reply = exchange(&server.1, "POST", &headers, call.to_string().as_bytes());
        let answer = reply.one();
        assert_eq!(answer["id"], call["id"]);
        assert_eq!(answer["error"]["code"], -32600, "{answer}");
        assert!(answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("call initialize first"));
    }
    assert_eq!(count(&db, "SELECT COUNT(*) FROM tool_calls"), 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM missions"), 0);
}

#[test]
fn a_second_initialize_is_refused_and_the_recorded_client_keeps_its_name() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let again = |name: &str| {
        let mut message: Value = serde_json::from_slice(&initialize(name, json!({}))).unwrap();
        message["id"] = json!("again");
        message
    };

    let mut raw = McpStdio::start(dir.path(), &db, &[tools.to_str().unwrap()], "raw");
    raw.send(again("impostor"));
    let refused = raw.next();
    assert_eq!(
        (refused["id"].clone(), refused["error"]["code"].clone()),
        (json!("again"), json!(-32600))
    );
    raw.send_call(1, "echo", json!({}));
    assert_eq!(raw.next()["result"]["isError"], false);
    raw.finish();

    let server = http_server(
        dir.path(),
        &db,
        &[tools.to_str().unwrap(), "--listen", "127.0.0.1:0"],
    );
    let session = open_session(&server.1, "first");
    let reply = exchange(
        &server.1,
        "POST",
        &[("Mcp-Session-Id", &session)],
        again("impostor").to_string().as_bytes(),
    );
    let refused = reply.one();
    assert_eq!(
        (refused["id"].clone(), refused["error"]["code"].clone()),
        (json!("again"), json!(-32600))
    );
    assert_eq!(
        http_call(&server.1, &session, 2, "echo", json!({}))["result"]["isError"],
        false
    );

    let clients: Vec<Value> = invocations(&db)
        .into_iter()
        .map(|(_, _, caller)| caller["client"].clone())
        .collect();
    assert_eq!(clients, [json!("raw"), json!("first")]);
}

/// What "initialized" means here: a session is initialized
/// once the server has answered its `initialize`. The lifecycle's second
/// step, the client's `notifications/initialized`, is the client's to send
/// (the MCP specification says clients SHOULD NOT send other requests
/// before it), and refusing calls that come first would break clients that
/// pipeline them; so a call after `initialize` is served and recorded,
/// under the client's declared name, whether or not the notification came.
#[test]
fn a_call_after_initialize_but_before_the_initialized_notification_is_served_and_recorded() {
    let (dir, db) = temp_db();
    let tools = tools_dir(dir.path(), &[("echo", "echo.wasm")]);
    let mut server = McpStdio::spawn(dir.path(), &db, &[tools.to_str().unwrap()], &[]);
    server.initialize("breakers", false);
    server.send(json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "echo", "arguments": { "ran": true } } }));
    let answer = server.answer(Duration::from_secs(60)).expect("one answer");
    assert_eq!(
        answer["result"]["structuredContent"],
        json!({ "ran": true }),
        "{answer}"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let caller: String = conn
        .query_row(
            "SELECT caller FROM tool_calls WHERE outcome = 'ok'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let caller: Value = serde_json::from_str(&caller).unwrap();
    assert_eq!(caller["client"], "breakers", "{caller}");
}

#[test]
fn sessions_create_their_mission_on_their_first_call_and_name_it_in_every_result() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let server = http_server(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--max-sessions",
            "128",
        ],
    );
    let first = exchange(&server.1, "POST", &[], &initialize("idle", json!({})));
    let instructions = first.one()["result"]["instructions"]
        .as_str()
        .unwrap()
        .to_owned();
    for said in [dir.path().to_str().unwrap(), ".db", "://"] {
        assert!(!instructions.contains(said), "{instructions}");
    }
    let sessions: Vec<String> = (0..100)
        .map(|i| open_session(&server.1, &format!("idle-{i}")))
        .collect();
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM missions"),
        0,
        "initialize creates no mission"
    );

    let results: Vec<Value> = (1..=2)
        .map(|id| {
            http_call(&server.1, &sessions[7], id, "echo", json!({ "n": id }))["result"].clone()
        })
        .collect();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM missions"), 1);
    let mission = mission_in(&results[0]);
    assert_eq!(mission_in(&results[1]), mission);
    let rows: Vec<i64> = rusqlite::Connection::open(&db)
        .unwrap()
        .prepare("SELECT t.id FROM tool_calls t JOIN missions m ON m.id = t.mission_id WHERE m.mission_uuid = ?1 ORDER BY t.id")
        .unwrap()
        .query_map([&mission], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let named: Vec<i64> = results
        .iter()
        .map(|r| r["_meta"]["vibe-store/call-id"].as_i64().unwrap())
        .collect();
    assert_eq!(named, rows);

    // Over stdio too: a session that calls nothing leaves no mission.
    let raw = McpStdio::start(dir.path(), &db, &[tools.to_str().unwrap()], "raw");
    raw.finish();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM missions"), 1);
}

#[test]
fn http_sessions_give_back_their_memory_when_they_end() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    // Two malloc arenas: under a loaded machine, glibc gives contending
    // threads arenas of their own, which stay resident after the sessions
    // that used them end (RSS once rose 54 to 71 MiB over the rounds that
    // way, then stayed); a session's own memory not given back grows with
    // every round whatever the arenas.
    let server = http_server_with(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--max-sessions",
            "16",
        ],
        &[("MALLOC_ARENA_MAX", "2")],
    );
    let pid = server.0.id();
    // Capabilities just under the bound on initialize params, in many small
    // values (what costs a parser most).
    let keys: serde_json::Map<String, Value> =
        (0..4300).map(|i| (format!("k{i}"), json!(i))).collect();
    let capabilities = json!({ "experimental": { "pad": keys } });
    // Over the bound: refused, not held.
    let huge: serde_json::Map<String, Value> =
        (0..200_000).map(|i| (format!("k{i}"), json!(i))).collect();
    let refused = exchange(
        &server.1,
        "POST",
        &[],
        &initialize("huge", json!({ "experimental": { "pad": huge } })),
    );
    assert_eq!(
        (refused.status, refused.one()["error"]["code"].clone()),
        (400, json!(-32602))
    );

    let mut rss = Vec::new();
    for _ in 0..8 {
        let sessions: Vec<String> = (0..16)
            .map(|i| {
                let reply = exchange(
                    &server.1,
                    "POST",
                    &[],
                    &initialize(&format!("c{i}"), capabilities.clone()),
                );
                assert_eq!(reply.status, 200, "{}", text(&reply.body));
                reply.header("mcp-session-id").unwrap().to_owned()
            })
            .collect();
        for session in &sessions {
            let note = exchange(
                &server.1,
                "POST",
                &[("Mcp-Session-Id", session)],
                br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            );
            assert_eq!(note.status, 202);
        }
        for session in &sessions {
            let deleted = exchange(&server.1, "DELETE", &[("Mcp-Session-Id", session)], b"");
            assert_eq!(deleted.status, 202);
        }
        // Every slot back: all 16 sessions have ended.
        eventually("the deleted sessions end", || {
            let reply = exchange(&server.1, "POST", &[], &initialize("probe", json!({})));
            let session = reply.header("mcp-session-id")?.to_owned();
            exchange(&server.1, "DELETE", &[("Mcp-Session-Id", &session)], b"");
            let all = (0..16)
                .filter_map(|_| {
                    exchange(&server.1, "POST", &[], &initialize("probe", json!({})))
                        .header("mcp-session-id")
                        .map(str::to_owned)
                })
                .collect::<Vec<_>>();
            for s in &all {
                exchange(&server.1, "DELETE", &[("Mcp-Session-Id", s)], b"");
            }
            (all.len() == 16).then_some(())
        });
        rss.push(mib(pid, "VmRSS"));
    }
    // Measured by hand the same way (debug build): 53 to 57 MiB over 8
    // rounds; before sessions were freed, 52 to 155 MiB.
    assert!(rss[7] < rss[1] + 12, "RSS after each round (MiB): {rss:?}");
    assert!(
        rss.iter().all(|&r| r < 200),
        "RSS after each round (MiB): {rss:?}"
    );
}

#[test]
fn a_flood_of_http_sessions_past_the_maximum_is_refused_and_idle_sessions_end() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let server = http_server(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--max-sessions",
            "4",
            "--session-idle-secs",
            "1",
        ],
    );
    let sessions: Vec<String> = (0..4)
        .map(|i| open_session(&server.1, &format!("c{i}")))
        .collect();
    // The fifth, while four are open: refused, saying which limit.
    let refused = exchange(&server.1, "POST", &[], &initialize("fifth", json!({})));
    assert_eq!(refused.status, 503);
    let error = refused.one();
    assert_eq!(
        (error["id"].clone(), error["error"]["code"].clone()),
        (json!("init"), json!(-32000))
    );
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("at most 4 sessions") && message.contains("--max-sessions"),
        "{message}"
    );
    // A deleted session gives its slot back.
    let deleted = exchange(
        &server.1,
        "DELETE",
        &[("Mcp-Session-Id", &sessions[0])],
        b"",
    );
    assert_eq!(deleted.status, 202);
    let again = eventually("a slot after DELETE", || {
        let reply = exchange(&server.1, "POST", &[], &initialize("again", json!({})));
        reply.header("mcp-session-id").map(str::to_owned)
    });
    // Sessions no one speaks on end after a second: all four slots come back,
    // and the old sessions are gone.
    let fresh: Vec<String> = eventually("four slots after the sessions went idle", || {
        let opened: Vec<String> = (0..4)
            .filter_map(|_| {
                exchange(&server.1, "POST", &[], &initialize("fresh", json!({})))
                    .header("mcp-session-id")
                    .map(str::to_owned)
            })
            .collect();
        if opened.len() == 4 {
            Some(opened)
        } else {
            for session in &opened {
                exchange(&server.1, "DELETE", &[("Mcp-Session-Id", session)], b"");
            }
            None
        }
    });
    assert_eq!(fresh.len(), 4);
    for old in sessions.iter().skip(1).chain([&again]) {
        let gone = exchange(
            &server.1,
            "POST",
            &[("Mcp-Session-Id", old)],
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        );
        assert_eq!(gone.status, 404, "an idle session ended");
    }
}

#[test]
fn a_page_from_another_origin_is_refused_unless_the_operator_allowed_it() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let server = http_server(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--allow-origin",
            "https://app.example:*",
        ],
    );
    for (origin, status) in [
        ("http://evil.example", 403),
        ("null", 403),
        ("http://localhost.evil.example:8080", 403),
        ("http://localhost:5173", 200),
        ("http://127.0.0.1:9", 200),
        ("http://[::1]:3000", 200),
        ("https://app.example:8443", 200),
    ] {
        let reply = exchange(
            &server.1,
            "POST",
            &[("Origin", origin)],
            &initialize("page", json!({})),
        );
        assert_eq!(reply.status, status, "{origin}: {}", text(&reply.body));
    }
    let out = vibe_db(dir.path(), &db)
        .args([
            "mcp",
            tools.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--allow-origin",
            "app.example",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not an origin"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn request_bodies_in_flight_are_bounded_over_all_connections() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let server = http_server(
        dir.path(),
        &db,
        &[tools.to_str().unwrap(), "--listen", "127.0.0.1:0"],
    );
    let pid = server.0.id();
    let session = open_session(&server.1, "bodies");
    // Sixteen calls of 4 MiB each, in small values: text the SDK's parser
    // makes hundreds of megabytes of.
    let body = |id: usize| {
        let prefix = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"pad":[0"#
        );
        let suffix = "]}}}";
        let mut body = prefix.into_bytes();
        while body.len() + 2 + suffix.len() <= 4 << 20 {
            body.extend_from_slice(b",0");
        }
        body.extend_from_slice(suffix.as_bytes());
        body
    };
    // All sixteen are sent but their last byte, so all are in flight at once.
    let mut held: Vec<(TcpStream, u8)> = (0..16)
        .map(|id| {
            let body = body(id);
            let mut stream = send_head(
                &server.1,
                "POST",
                &[("Mcp-Session-Id", &session)],
                body.len(),
            );
            let _ = stream.write_all(&body[..body.len() - 1]);
            (stream, body[body.len() - 1])
        })
        .collect();
    // Then a seventeenth is refused, naming the bound.
    let busy = eventually("a refusal while sixteen bodies are held", || {
        let reply = exchange(
            &server.1,
            "POST",
            &[("Mcp-Session-Id", &session)],
            br#"{"jsonrpc":"2.0","id":"probe","method":"ping"}"#,
        );
        (reply.status == 503).then(|| reply.one())
    });
    assert_eq!(busy["error"]["code"], -32000);
    assert!(
        busy["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-inflight-bytes"),
        "{busy}"
    );
    // Every one of the sixteen gets one answer: its result, or 503.
    let answers: Vec<(u16, Value)> = held
        .drain(..)
        .map(|(mut stream, last)| {
            let _ = stream.write_all(&[last]);
            let reply = read_reply(stream);
            (reply.status, reply.one())
        })
        .collect();
    let served = answers.iter().filter(|(status, _)| *status == 200).count();
    assert!(served >= 1, "{answers:?}");
    for (status, answer) in &answers {
        assert!(
            *status == 200 || (*status == 503 && answer["error"]["code"] == -32000),
            "{status} {answer}"
        );
    }
    // Measured by hand the same way (debug build): 578 MiB peak, one call
    // served at a time; before the bound, 1.6 to 3.3 GB for the sixteen.
    let peak = mib(pid, "VmHWM");
    assert!(peak < 1024, "peak RSS {peak} MiB");
    // And the budget is whole again once they are answered.
    eventually("the budget back", || {
        let reply = exchange(
            &server.1,
            "POST",
            &[("Mcp-Session-Id", &session)],
            br#"{"jsonrpc":"2.0","id":"after","method":"ping"}"#,
        );
        (reply.status == 200).then_some(())
    });
    // A budget that one message at the cap could not fit is refused at
    // start-up.
    let out = vibe_db(dir.path(), &db)
        .args(["mcp", tools.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args([
            "--max-inflight-bytes",
            "65536",
            "--max-message-bytes",
            "131072",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--max-inflight-bytes (65536) must be at least"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_body_that_trickles_in_is_cut_off_and_gives_its_budget_back() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    // A budget one trickling body can hold whole.
    let server = http_server(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--max-message-bytes",
            "65536",
            "--max-inflight-bytes",
            "65536",
        ],
    );
    let session = open_session(&server.1, "trickle");
    // Whether the server has answered `stream` (or closed it) yet.
    let answered = |stream: &TcpStream| {
        stream.set_nonblocking(true).unwrap();
        let peeked = stream.peek(&mut [0u8; 1]);
        stream.set_nonblocking(false).unwrap();
        !matches!(peeked, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    };
    // Once the server has read its headers, the trickling body holds the
    // whole budget and a probe is refused. A reply to an earlier request
    // can still hold a few bytes of the budget for a moment, and then the
    // trickle itself is refused at once: it is started again until it is
    // the one holding the budget.
    let stream = eventually(
        "a refusal while the trickling body holds the budget",
        || {
            let mut stream = send_head(&server.1, "POST", &[("Mcp-Session-Id", &session)], 65_536);
            stream.write_all(br#"{"jsonrpc":"2.0","id":1,"#).unwrap();
            for _ in 0..50 {
                let busy = exchange(
                    &server.1,
                    "POST",
                    &[("Mcp-Session-Id", &session)],
                    br#"{"jsonrpc":"2.0","id":"probe","method":"ping"}"#,
                );
                if answered(&stream) {
                    return None;
                }
                if busy.status == 503 {
                    return Some(stream);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            None
        },
    );
    // The rest never comes: the server answers 408 once the body's time
    // (30 s) is up, rather than holding the budget for as long as the
    // client likes.
    let reply = read_reply(stream);
    assert_eq!(reply.status, 408, "{}", text(&reply.body));
    assert_eq!(reply.one()["error"]["code"], -32600);
    let after = exchange(
        &server.1,
        "POST",
        &[("Mcp-Session-Id", &session)],
        br#"{"jsonrpc":"2.0","id":"after","method":"ping"}"#,
    );
    assert_eq!(after.status, 200, "{}", text(&after.body));
}

/// Arguments as a client may write them, none of it in the form
/// `serde_json` writes back: spacing, `\u` escapes, an exponent with a
/// capital, `1.0`, `-0`, an integer past 64 bits, a number past `f64`, keys
/// out of order.
const WRITTEN_ARGUMENTS: &str = r#"{ "z" : "caf\u00e9 \/ \ud83d\ude00",	"n":1E2 ,"f" : 1.0, "m": -0, "big": 123456789012345678901234567890, "huge": 1e400, "a" : [ 1 , { "b" : null } ] }"#;

/// Objects in arguments that give a key twice, however it is spelled.
const ARGUMENTS_WITH_A_KEY_TWICE: [&str; 3] = [
    r#"{"a":1,"a":2}"#,
    r#"{"x":{"\u0061":1,"a":2}}"#,
    r#"{"x":[{"b":true},{"c":[{"d":0,"d":0}]}]}"#,
];

/// Raw `tools/call` text of `echo` with `arguments` written as given.
fn raw_call(id: i64, arguments: &str) -> Vec<u8> {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{arguments}}}}}"#
    )
    .into_bytes()
}

/// The `args` text of the row a call result names.
fn stored_args(db: &Path, result: &Value) -> String {
    let id = result["_meta"]["vibe-store/call-id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no call id in {result}"));
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT args FROM tool_calls WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap()
}

#[test]
fn a_calls_arguments_reach_the_tool_and_the_store_as_the_client_wrote_them_on_both_transports() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["echo"]);
    let mut stdio = McpStdio::start(dir.path(), &db, &[tools.to_str().unwrap()], "raw");
    let server = http_server(
        dir.path(),
        &db,
        &[tools.to_str().unwrap(), "--listen", "127.0.0.1:0"],
    );
    let session = open_session(&server.1, "raw-http");
    let mut answers = Vec::new();
    stdio.send_raw(&raw_call(1, WRITTEN_ARGUMENTS));
    answers.push(("stdio", stdio.next()));
    let reply = exchange(
        &server.1,
        "POST",
        &[("Mcp-Session-Id", &session)],
        &raw_call(2, WRITTEN_ARGUMENTS),
    );
    answers.push(("http", reply.one()));
    for (transport, answer) in &answers {
        let result = &answer["result"];
        assert_eq!(result["isError"], false, "{transport}: {answer}");
        // echo returns its input unchanged: what the tool was given.
        assert_eq!(
            result["content"][0]["text"], WRITTEN_ARGUMENTS,
            "{transport}: the tool's input"
        );
        assert_eq!(
            stored_args(&db, result),
            WRITTEN_ARGUMENTS,
            "{transport}: the stored args"
        );
    }

    // A key given twice: refused as the call's params, nothing run or
    // written, the session still served.
    let rows = count(&db, "SELECT COUNT(*) FROM tool_calls");
    for (i, arguments) in ARGUMENTS_WITH_A_KEY_TWICE.iter().enumerate() {
        let id = 10 + i as i64;
        stdio.send_raw(&raw_call(id, arguments));
        let over_http = exchange(
            &server.1,
            "POST",
            &[("Mcp-Session-Id", &session)],
            &raw_call(id, arguments),
        )
        .one();
        for (transport, answer) in [("stdio", stdio.next()), ("http", over_http)] {
            assert_eq!(answer["id"], id, "{transport} {arguments}: {answer}");
            assert_eq!(
                answer["error"]["code"], -32602,
                "{transport} {arguments}: {answer}"
            );
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(
                message.contains("given twice"),
                "{transport} {arguments}: {message}"
            );
        }
    }
    assert_eq!(count(&db, "SELECT COUNT(*) FROM tool_calls"), rows);
    stdio.finish();

    // A number past a float's range, against a schema that compares
    // numbers (the reviewer's page_size: an integer, 1 to 1000): refused as
    // the call's params, not a failure of the host (the checker panicked).
    let tools = served(dir.path(), &["echo", "reviewer"]);
    let mut stdio = McpStdio::start(dir.path(), &db, &[tools.to_str().unwrap()], "raw");
    for (id, number) in [(30, "1e400"), (31, "-1e400"), (32, "1e309")] {
        stdio.send_raw(
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"reviewer","arguments":{{"page_size":{number}}}}}}}"#
            )
            .as_bytes(),
        );
        let answer = stdio.next();
        assert_eq!(answer["error"]["code"], -32602, "{number}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("past the range"), "{number}: {message}");
    }
    assert_eq!(count(&db, "SELECT COUNT(*) FROM tool_calls"), rows);
    let again = stdio.call(20, "echo", json!({ "still": "served" }));
    assert_eq!(
        again["result"]["content"][0]["text"],
        r#"{"still":"served"}"#
    );
    stdio.finish();
}

/// Calls sent together, past `--max-pending-calls`, are taken in the order
/// sent: the first ones run, the later ones are refused "server busy"
/// (before, the SDK's tasks ran in no fixed order, and with a limit of 1
/// the second of two calls ran while the first was refused).
#[test]
fn calls_past_the_pending_limit_are_refused_in_the_order_sent() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let mut server =
        McpStdio::serving_block(dir.path(), &db, &["block"], &["--max-pending-calls", "2"]);
    // Five calls in one write, so that all are read before any runs.
    let calls: Vec<u8> = (10..15)
        .flat_map(|id| format!("{}\n", block_call(id)).into_bytes())
        .collect();
    server.send_part(&calls);
    let mut refused: Vec<i64> = (0..3)
        .map(|_| {
            let answer = server.next();
            assert_eq!(answer["error"]["code"], -32000, "{answer}");
            answer["id"].as_i64().unwrap()
        })
        .collect();
    refused.sort();
    assert_eq!(refused, [12, 13, 14]);
    wait_for_running(&db, 2);
    let ran: Vec<i64> = rusqlite::Connection::open(&db)
        .unwrap()
        .prepare("SELECT json_extract(caller, '$.request_id') FROM tool_calls ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ran, [10, 11]);
    server.close_stdin();
    server.finish();
}

/// The `outcome` of the row whose caller's request id is `id`, once it has
/// one other than `running` (waits up to 30 s; `None` if none by then).
fn ended_outcome(db: &Path, id: &str) -> Option<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let outcome: Option<String> = rusqlite::Connection::open(db)
            .unwrap()
            .query_row(
                "SELECT outcome FROM tool_calls WHERE json_extract(caller, '$.request_id') = ?1 \
                 AND outcome <> 'running'",
                [id],
                |r| r.get(0),
            )
            .ok();
        if outcome.is_some() || std::time::Instant::now() > deadline {
            return outcome;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn cancel(server: &mut McpStdio, id: &str) {
    server.send(
        json!({ "jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": { "requestId": id } }),
    );
}

fn block_call(id: impl Into<Value>) -> Value {
    let id = id.into();
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": { "name": "block", "arguments": { "case": "sleep" } } })
}

/// A request reusing the id of a call in flight is refused as such
/// (`-32600`) even when every place is taken (before, it was answered
/// "server busy"); a call refused "server busy" leaves its id free.
#[test]
fn a_full_server_refuses_a_reused_id_as_reused_and_a_busy_call_owes_nothing() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let mut server = McpStdio::serving_block(
        dir.path(),
        &db,
        &["block", "echo"],
        &["--max-pending-calls", "1"],
    );
    server.send(block_call("f1"));
    wait_for_running(&db, 1);
    let echo = |id: &str| {
        json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "echo", "arguments": {} } })
    };
    server.send(echo("f1"));
    let reused = server.next();
    assert_eq!(
        (reused["id"].as_str(), reused["error"]["code"].as_i64()),
        (Some("f1"), Some(-32600)),
        "{reused}"
    );
    for _ in 0..3 {
        // Refused busy, and answered: its id is free again each time.
        server.send(echo("f2"));
        let busy = server.next();
        assert_eq!(
            (busy["id"].as_str(), busy["error"]["code"].as_i64()),
            (Some("f2"), Some(-32000)),
            "{busy}"
        );
        assert!(busy["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("server busy"));
    }
    cancel(&mut server, "f1");
    assert_eq!(ended_outcome(&db, "f1").as_deref(), Some("cancelled"));
    let ran = server.call(3, "echo", json!({ "after": 1 }));
    assert_eq!(ran["result"]["isError"], false, "{ran}");
    server.finish();
}

/// A call cancelled while it waits for an instance slot (`--slots`) ends at
/// once, its one row `cancelled`, and gives its place among the pending
/// calls back (before, it waited for a slot to free, up to the running
/// call's whole time limit, and the server refused new calls "busy"
/// meanwhile).
#[test]
fn a_call_cancelled_while_it_waits_for_a_slot_ends_at_once_and_frees_its_place() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let mut server = McpStdio::serving_block(
        dir.path(),
        &db,
        &["block"],
        &["--slots", "1", "--max-pending-calls", "3"],
    );
    server.send(block_call("w0"));
    wait_for_running(&db, 1);
    server.send(block_call("w1"));
    server.send(block_call("w2"));
    cancel(&mut server, "w1");
    cancel(&mut server, "w2");
    for waiting in ["w1", "w2"] {
        assert_eq!(
            ended_outcome(&db, waiting).as_deref(),
            Some("cancelled"),
            "{waiting} ends while w0 still runs"
        );
    }
    let message: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT error_message FROM tool_calls WHERE json_extract(caller, '$.request_id') = 'w1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(message.contains("waited for an instance slot"), "{message}");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM tool_calls WHERE outcome = 'running'"
        ),
        1
    );
    // Their places are free: a new call is taken (it waits for the slot),
    // not refused busy; cancelled, it too ends at once.
    server.send(block_call("w3"));
    cancel(&mut server, "w3");
    assert_eq!(ended_outcome(&db, "w3").as_deref(), Some("cancelled"));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM tool_calls"), 4);
    server.close_stdin();
    server.finish();
}
