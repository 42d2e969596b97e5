//! What `vibe mcp` serves, and under which policy: grants and limits from
//! the operator's policy file alone, bound to the file the operator chose
//! (never to the name a component declares), what start-up refuses, a name
//! already served never taken over on reload (not even while its file is
//! rewritten), pinned content, and argument checks that cannot be made to
//! cost more than linear time.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::mcp_stdio::McpStdio;
use crate::common::{guest, served, temp_db, text, tools_dir, vibe_db};

fn structured(answer: &Value) -> &Value {
    &answer["result"]["structuredContent"]
}

#[test]
fn the_policy_fixes_grants_and_limits_and_start_up_refuses_what_it_cannot_serve() {
    let (dir, db) = temp_db();
    vibe_db(dir.path(), &db).arg("init").output().unwrap();
    let tools = served(dir.path(), &["forger", "spin"]);
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[tools.forger]\ngrants = [\"create-missions\"]\n\n[tools.\"*\"]\ntimeout-ms = 200\n",
    )
    .unwrap();
    for (with_policy, created) in [(false, false), (true, true)] {
        let mut args = vec![tools.to_str().unwrap()];
        if with_policy {
            args.extend(["--policy", policy.to_str().unwrap()]);
        }
        let mut raw = McpStdio::start(dir.path(), &db, &args, "raw");
        raw.send_call(1, "forger", json!({}));
        let answer = raw.next();
        assert_eq!(answer["result"]["isError"], false, "{answer}");
        assert_eq!(
            answer["result"]["structuredContent"]["created"].is_string(),
            created
        );
        if with_policy {
            // The policy's limit, not the default 10 s.
            raw.send_call(2, "spin", json!({}));
            let answer = raw.next();
            assert_eq!(answer["result"]["isError"], true);
            let reason = answer["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(
                reason.starts_with("timeout: ") && reason.contains("200 ms"),
                "{reason}"
            );
        }
        raw.finish();
    }
    // Two components claiming one name, a policy with a typo: refused at
    // start-up, naming the files.
    let clash = dir.path().join("clash");
    std::fs::create_dir(&clash).unwrap();
    std::fs::copy(guest("echo"), clash.join("echo.wasm")).unwrap();
    let out = vibe_db(dir.path(), &db)
        .args([
            "mcp",
            clash.to_str().unwrap(),
            guest("echo").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let said = text(&out.stderr);
    assert!(
        said.contains("clash/echo.wasm and ") && said.contains("are both named \"echo\""),
        "{said}"
    );
    std::fs::write(&policy, "[tools.echo]\ntimeout = 5\n").unwrap();
    let out = vibe_db(dir.path(), &db)
        .args([
            "mcp",
            clash.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out.stderr).contains("unknown field `timeout`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_component_naming_itself_after_another_gets_its_own_files_grants() {
    let (dir, db) = temp_db();
    let tools = tools_dir(dir.path(), &[("impostor", "weather.wasm")]);
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[tools.planner]\ngrants = [\"create-missions\"]\n").unwrap();
    let mut server = McpStdio::start(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ],
        "catalog-tests",
    );
    // Served by the name it gives itself, with weather.wasm's policy (none
    // given: the deny-by-default sandbox), not the planner's grant.
    let answer = server.call(1, "planner", json!({}));
    let seen = structured(&answer);
    assert_eq!(seen["impostor"], true, "{answer}");
    assert!(seen["created"].is_null(), "{answer}");
    assert!(
        seen["refused"].as_str().unwrap().contains("AccessDenied"),
        "{answer}"
    );
}

#[test]
fn a_policy_entry_names_the_file_exactly_and_one_naming_no_file_is_warned_of() {
    let (dir, db) = temp_db();
    // Served as `my-spin` (no describe: named after its file), governed by
    // the entry that spells the file as it is on disk.
    let tools = tools_dir(dir.path(), &[("spin", "my_spin.wasm")]);
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[tools.my_spin]\ntimeout-ms = 300\n[tools.plannr]\nmemory-mb = 8\n",
    )
    .unwrap();
    let mut server = McpStdio::start(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ],
        "catalog-tests",
    );
    let warned = server.log_line("plannr");
    assert!(warned.contains("names no served file"), "{warned}");
    let answer = server.call(1, "my-spin", json!({}));
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    let text = answer["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("timeout") && text.contains("300 ms"),
        "{text}"
    );
}

#[test]
fn a_pinned_file_is_served_only_with_the_pinned_content() {
    let (dir, db) = temp_db();
    let tools = tools_dir(dir.path(), &[("echo", "echo.wasm")]);
    let policy = dir.path().join("policy.toml");
    let other = "0".repeat(64);
    std::fs::write(&policy, format!("[tools.echo]\nsha256 = \"{other}\"\n")).unwrap();
    let out = vibe_db(dir.path(), &db)
        .args(["mcp", tools.to_str().unwrap(), "--policy"])
        .arg(&policy)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("the policy pins echo to"), "{stderr}");
    // The right digest: served.
    let bytes = std::fs::read(guest("echo")).unwrap();
    let digest = sha256_hex(&bytes);
    std::fs::write(&policy, format!("[tools.echo]\nsha256 = \"{digest}\"\n")).unwrap();
    let mut server = McpStdio::start(
        dir.path(),
        &db,
        &[
            tools.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ],
        "catalog-tests",
    );
    let answer = server.call(1, "echo", json!({ "pinned": true }));
    assert_eq!(structured(&answer), &json!({ "pinned": true }));
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn on_reload_a_newcomer_claiming_a_served_name_is_refused_and_the_served_tool_stays() {
    let (dir, db) = temp_db();
    let tools = tools_dir(dir.path(), &[("planner", "planner.wasm")]);
    let mut server = McpStdio::start(dir.path(), &db, &[tools.to_str().unwrap()], "catalog-tests");
    let before = server.call(1, "planner", json!({ "goal": "plan" }));
    assert!(structured(&before).get("impostor").is_none(), "{before}");
    // Dropped into the watched directory: it claims the planner's name.
    std::fs::copy(guest("impostor"), tools.join("weather.wasm")).unwrap();
    let refused = server.log_line("weather.wasm");
    assert!(refused.contains("\"planner\""), "{refused}");
    assert!(refused.contains("planner.wasm already serves"), "{refused}");
    let after = server.call(2, "planner", json!({ "goal": "plan" }));
    assert!(structured(&after).get("impostor").is_none(), "{after}");
    assert_eq!(after["result"]["isError"], before["result"]["isError"]);
}

/// A newcomer claiming a served name is refused and the served tool stays,
/// also while the served file cannot be loaded for a moment: `planner.wasm`
/// (the planner) is served; the operator rewrites it in place (a `cp` of a
/// new build: for a moment the file holds its first 1,000 bytes) while
/// `weather.wasm` (`guest/hostile/impostor`, which names itself `planner`)
/// is dropped in. The served file keeps its name with the version loaded
/// before, so `planner` must never come to be served by the newcomer (were
/// the truncated file dropped from the catalog, the newcomer would take the
/// name and then refuse the operator's own `planner.wasm` for good).
#[test]
fn a_newcomer_takes_a_served_name_while_the_incumbent_is_rewritten_and_keeps_it() {
    let (dir, db) = temp_db();
    let tools = dir.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let planner_bytes = std::fs::read(guest("planner")).unwrap();
    std::fs::write(tools.join("planner.wasm"), &planner_bytes).unwrap();
    let mut server = McpStdio::start(dir.path(), &db, &[tools.to_str().unwrap()], "catalog-tests");
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
    server.log_line_with(&["planner.wasm", "not a valid WebAssembly component"]);
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

#[test]
fn arguments_against_a_catastrophic_pattern_are_checked_in_linear_time_and_stall_no_one() {
    let (dir, db) = temp_db();
    let tools = tools_dir(
        dir.path(),
        &[("redos", "redos.wasm"), ("echo", "echo.wasm")],
    );
    let mut server = McpStdio::start(dir.path(), &db, &[tools.to_str().unwrap()], "catalog-tests");
    // On a backtracking engine each of these costs seconds to hours of CPU
    // (2^n paths for `^(a+)+$`); on a linear one, microseconds.
    let evil = format!("{}!", "a".repeat(29_000));
    let started = Instant::now();
    for id in 1..=8 {
        server.send(json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "redos", "arguments": { "text": evil } } }));
    }
    server.send(json!({ "jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": { "name": "echo", "arguments": { "waited": false } } }));
    let mut seen = Vec::new();
    for _ in 1..=9 {
        seen.push(server.answer(Duration::from_secs(60)).expect("an answer"));
    }
    // A bound, not a speed claim: 8 x 30 s of CPU before, far less now.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    for answer in &seen {
        match answer["id"].as_i64().unwrap() {
            9 => assert_eq!(structured(answer), &json!({ "waited": false })),
            _ => {
                assert_eq!(answer["error"]["code"], -32602, "{answer}");
                assert!(answer["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("input schema"));
            }
        }
    }
    // Matching text and property names pass the same patterns.
    let fine = server.call(
        10,
        "redos",
        json!({ "text": "a".repeat(29_000), "more": { "bbbb": "x" } }),
    );
    assert!(fine["result"].is_object(), "{fine}");
    let bad_key = server.call(11, "redos", json!({ "more": { "bbbc": "x" } }));
    assert!(
        bad_key["result"].is_object(),
        "a key no pattern matches is allowed: {bad_key}"
    );
    // Nothing refused was recorded; the two calls that ran were.
    assert_eq!(
        crate::common::count(&db, "SELECT COUNT(*) FROM tool_calls"),
        3
    );
}

/// Checking arguments cannot be made to cost more than its bound.
/// `guest/hostile/schema-bomb` describes an input schema of 41 small
/// `$defs` (each `anyOf` two `$ref`s to the next, the last
/// `{"type":"string"}`; no pattern): the 8-byte argument `{"x":1}` fails
/// every branch, and checking it would walk 2^40 of them (measured: 11 s
/// at depth 18, doubling with each level). Its expansion is measured, and
/// bounded, when the tool loads: such a schema is refused then.
#[test]
fn a_small_exponential_schema_is_refused_when_its_tool_loads() {
    let (dir, db) = temp_db();
    let tools = tools_dir(
        dir.path(),
        &[("schema-bomb", "schema-bomb.wasm"), ("echo", "echo.wasm")],
    );
    let started = Instant::now();
    let out = vibe_db(dir.path(), &db)
        .args(["mcp", tools.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("schema-bomb.wasm is not served")
            && stderr.contains("expands to more than 10000 subschemas"),
        "{stderr}"
    );
    // Measuring the expansion stops at its bound: loading is quick.
    assert!(started.elapsed() < Duration::from_secs(20));
}
