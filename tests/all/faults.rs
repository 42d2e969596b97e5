//! Fault tests: processes killed at random moments, a full disk, read-only
//! files. Each is bounded in count and time and asserts what survived.

use std::process::Stdio;
use std::time::Duration;

use crate::common::{
    acknowledged_ids, assert_acknowledged_present, count, guest, integrity, stress_writer, temp_db,
    vibe_db,
};
use serde_json::json;
use vibe_store::store::OpenOptions;
use vibe_store::{MissionStore, NewToolCall, Phase, SqliteStore, StoreError};

/// xorshift64*: a fixed-seed generator, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_write() {
    const KILLS: usize = 25;
    let (_dir, path) = temp_db();
    let mission = SqliteStore::open(&path)
        .unwrap()
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let mut rng = Rng(0x5EED_0001);
    let mut acknowledged = 0usize;
    let mut rounds_with_writes = 0;
    for round in 0..KILLS {
        // Alternate durability, and one or four writer threads (four make
        // the group commit batch acknowledgements).
        let durability = if round % 2 == 0 { "full" } else { "normal" };
        let threads = if round % 4 < 2 { 1 } else { 4 };
        let mut child = stress_writer(path.display(), &mission, 0, durability, threads)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let acknowledged_now = acknowledged_ids(&mut child);
        std::thread::sleep(Duration::from_millis(rng.between(20, 250)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let ids = acknowledged_now.join().unwrap();

        // The next open needs no manual step, and everything acknowledged is there.
        let store = SqliteStore::open(&path).expect("the file opens after a kill");
        assert_acknowledged_present(&path, &ids, &format!("round {round}"));
        store
            .log_tool_call(&mission, NewToolCall::success("after-kill", json!(round)))
            .unwrap();
        acknowledged += ids.len();
        rounds_with_writes += usize::from(!ids.is_empty());
    }
    assert!(
        rounds_with_writes >= KILLS / 2,
        "most kills landed mid-stream ({rounds_with_writes})"
    );
    eprintln!("{KILLS} kills survived, {acknowledged} acknowledged writes checked");
    assert!(count(&path, "SELECT COUNT(*) FROM tool_calls") >= acknowledged as i64 + KILLS as i64);
}

#[test]
fn killing_the_host_mid_guest_run_leaves_a_consistent_prefix() {
    let (dir, path) = temp_db();
    let mission = SqliteStore::open(&path)
        .unwrap()
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let echo = guest("echo");
    // Compile once so the kills land in the guest's store calls, not in compilation.
    let warm = vibe_db(dir.path(), &path)
        .arg("run")
        .arg(&echo)
        .args(["--mission", &mission])
        .output()
        .unwrap();
    assert!(warm.status.success());
    let mut rng = Rng(0x5EED_0002);
    let mut logged_before = 0;
    for round in 0..8 {
        let mut child = vibe_db(dir.path(), &path)
            .arg("run")
            .arg(&echo)
            .args(["--mission", &mission, "--input", r#"{"log":100000}"#])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.between(100, 400)));
        child.kill().unwrap();
        child.wait().unwrap();

        SqliteStore::open(&path).expect("the file opens after a kill");
        assert_eq!(integrity(&path), "ok", "round {round}");
        // The guest logged i = 0, 1, 2, ... one acknowledged call at a time:
        // what survived is exactly a prefix.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare("SELECT json_extract(args, '$.i') FROM tool_calls WHERE tool_name = 'echo.bench' AND id > ?1 ORDER BY id")
            .unwrap();
        let is: Vec<i64> = stmt
            .query_map([logged_before], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            !is.is_empty(),
            "round {round}: the guest got to write before the kill"
        );
        assert_eq!(
            is,
            (0..is.len() as i64).collect::<Vec<_>>(),
            "round {round}: a hole in the audit trail"
        );
        // The killed invocation's own row is there, saying it never ended,
        // and every row it wrote names it.
        let running: Vec<i64> = conn
            .prepare("SELECT id FROM tool_calls WHERE outcome = 'running' AND id > ?1")
            .unwrap()
            .query_map([logged_before], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(running.len(), 1, "round {round}: the killed run's row");
        let unattributed: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM tool_calls WHERE tool_name = 'echo.bench' AND id > ?1
                 AND invocation_id IS NOT ?2",
                [logged_before, running[0]],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unattributed, 0, "round {round}");
        logged_before = conn
            .query_row("SELECT MAX(id) FROM tool_calls", [], |r| r.get(0))
            .unwrap();
    }
}

#[test]
fn a_full_disk_fails_writes_clearly_and_the_file_recovers() {
    let (_dir, path) = temp_db();
    let mission = SqliteStore::open(&path)
        .unwrap()
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let pages_now = count(&path, "PRAGMA page_count") as u32;
    let small = OpenOptions::default().max_page_count(pages_now + 8);
    let store = SqliteStore::open_with(&path, small).unwrap();
    let mut acknowledged = Vec::new();
    let err = loop {
        let call = NewToolCall::success(
            "fill",
            json!({ "pad": "y".repeat(3000), "n": acknowledged.len() }),
        );
        match store.log_tool_call(&mission, call) {
            Ok(id) => acknowledged.push(id),
            Err(e) => break e,
        }
        assert!(acknowledged.len() < 10_000, "the cap never bit");
    };
    assert!(matches!(err, StoreError::StorageFull), "{err:?}");
    assert!(err.to_string().contains("full"), "{err}");
    assert!(!acknowledged.is_empty());
    // Reads still work, and the failed write left nothing behind.
    assert_eq!(
        store.get_tool_history(&mission).unwrap().len(),
        acknowledged.len()
    );
    assert!(matches!(
        store.log_tool_call(
            &mission,
            NewToolCall::success("fill", json!({ "pad": "z".repeat(3000) }))
        ),
        Err(StoreError::StorageFull)
    ));
    drop(store);
    assert_eq!(integrity(&path), "ok");

    // Room returns: the same file takes writes again.
    let store = SqliteStore::open(&path).unwrap();
    store
        .log_tool_call(&mission, NewToolCall::success("after", json!({})))
        .unwrap();
    assert_eq!(
        store.get_tool_history(&mission).unwrap().len(),
        acknowledged.len() + 1
    );
}

#[test]
fn read_only_files_and_locations_are_clear_errors() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path) = temp_db();
    SqliteStore::open(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let out = vibe_db(dir.path(), &path).arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));

    // A location that cannot hold a database: inside procfs.
    let err = SqliteStore::open("/proc/self/vibe-store-test/vibe_agency.db").unwrap_err();
    assert!(
        matches!(err, StoreError::ReadOnly { .. } | StoreError::Io { .. }),
        "{err:?}"
    );
}
