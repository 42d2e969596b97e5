//! The PostgreSQL store behind PgBouncer in transaction pooling mode (what
//! managed PostgreSQL offerings put in front of a server): each transaction
//! may run on another server connection, which other clients used before.

use serde_json::json;
use vibe_store::{AnyStore, Json, MissionStore, NewDecision, NewToolCall, Phase};
use vibe_test_support::pg::{bouncer, server};

use crate::common::{text, vibe};

#[test]
fn writes_listings_verify_and_copy_work_behind_a_transaction_pooler() {
    let db = server().fresh_database();
    let url = bouncer().url(&db.name);
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        let out = vibe(dir.path())
            .arg("--db")
            .arg(&url)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "vibe {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    // The schema is created through the pooler (the migration lock is a
    // transaction advisory lock, which holds there).
    cli(&["init"]);
    // Processes one after another: each gets a server connection the one
    // before used.
    let mission = cli(&["mission", "create", "--phase", "coding"])
        .trim()
        .to_owned();
    for i in 0..5 {
        cli(&[
            "log",
            &mission,
            "--tool",
            "t",
            "--args",
            &format!("{{\"i\":{i}}}"),
        ]);
        cli(&[
            "decide",
            &mission,
            "--type",
            "plan",
            "--rationale",
            "r",
            "--agent",
            "a",
        ]);
    }
    // Threads, each with a pool of its own: more clients than the pooler's
    // 2 server connections.
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let store = AnyStore::open(&url).unwrap();
                let m = store
                    .create_mission(Phase::Testing, Json::parse("m", "{}").unwrap())
                    .unwrap();
                for i in 0..25 {
                    store
                        .log_tool_call(&m, NewToolCall::success("w", json!({ "t": t, "i": i })))
                        .unwrap();
                    store
                        .record_decision(&m, NewDecision::new("plan", "r", "a"))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // The hot writes ran as the server's functions, made through the
    // pooler (each in one transaction, so on one server connection), and
    // every write of theirs is there.
    let functions: i64 = db
        .client()
        .query_one(
            "SELECT COUNT(*) FROM pg_proc WHERE proname LIKE 'vibe_write_%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(functions >= 2, "{functions} functions made");
    let store = AnyStore::open(&url).unwrap();
    assert_eq!(
        cli(&["mission", "list", "--json"])
            .matches("mission_uuid")
            .count(),
        5
    );
    assert_eq!(
        cli(&["tools", "--all-missions", "--json", "--limit", "1000"])
            .matches("\"tool_name\"")
            .count(),
        105
    );
    assert!(cli(&["tools", &mission, "--tool", "t"]).contains('t'));
    cli(&["decisions", &mission]);
    cli(&["stats"]);
    let verified = cli(&["verify"]);
    assert!(verified.contains("5 intact, 0 tampered"), "{verified}");
    // Copied out to SQLite and back in through the pooler.
    let file = dir.path().join("copy.db");
    let file = file.to_str().unwrap();
    cli(&["copy", "--from", &url, "--to", file]);
    let again = server().fresh_database();
    let again_url = bouncer().url(&again.name);
    cli(&["copy", "--from", file, "--to", &again_url]);
    let copied = AnyStore::open(&again_url).unwrap();
    let mut intact = 0;
    copied
        .verify_chains(&mut |r| {
            intact += r.intact() as usize;
            Ok(())
        })
        .unwrap();
    assert_eq!(intact, 5);
    drop(store);
}

/// `prepared_statements=on` behind a transaction pooler (a mistake: the
/// URL says the connections keep what is prepared on them): a name the
/// server does not find, or finds taken, on the server connection the
/// pooler picked, makes the store stop preparing on that connection and
/// try the write again, which wrote nothing; every write is there once,
/// and the chains verify.
#[test]
fn prepared_statements_on_behind_a_transaction_pooler_still_write_each_call_once() {
    let db = server().fresh_database();
    let url = format!("{}&prepared_statements=on", bouncer().url(&db.name));
    // Another client's statements under the names the client library
    // gives (`s0`, `s1`, ...), left on both of the pooler's server
    // connections for the database (two transactions open at once): the
    // store's own names are taken there.
    let clients: Vec<postgres::Client> = (0..2)
        .map(|_| {
            let mut client =
                postgres::Client::connect(&bouncer().url(&db.name), postgres::NoTls).unwrap();
            let prepares: String = (0..2000)
                .map(|n| format!("PREPARE s{n} AS SELECT {n}; "))
                .collect();
            client.batch_execute(&format!("BEGIN; {prepares}")).unwrap();
            client
        })
        .collect();
    for mut client in clients {
        client.batch_execute("COMMIT").unwrap();
    }
    let store = std::sync::Arc::new(AnyStore::open(&url).unwrap());
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                let m = store
                    .create_mission(Phase::Coding, Json::from(json!({})))
                    .unwrap();
                for i in 0..25 {
                    store
                        .log_tool_call(&m, NewToolCall::success("t", json!({ "w": w, "i": i })))
                        .unwrap();
                    if i % 5 == 0 {
                        store
                            .record_decision(&m, NewDecision::new("plan", "r", "a"))
                            .unwrap();
                    }
                }
                m
            })
        })
        .collect();
    for writer in writers {
        let m = writer.join().unwrap();
        assert_eq!(store.get_tool_history(&m).unwrap().len(), 25);
        assert_eq!(store.get_decisions(&m).unwrap().len(), 5);
        assert!(store.verify_chain(&m).unwrap().intact());
    }
}
