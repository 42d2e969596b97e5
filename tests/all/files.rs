//! The database file: several processes at once, files this program must
//! refuse without touching them, and the path given being the file opened.

use std::path::Path;
use std::process::Stdio;

use crate::common::{assert_acknowledged_present, count, ids, stress_writer, temp_db, vibe};
use serde_json::json;
use vibe_store::{MissionStore, Phase, SqliteStore, StoreError};

fn assert_refused_untouched(path: &Path, needle: &str) {
    let before = std::fs::read(path).unwrap();
    let err = SqliteStore::open(path).unwrap_err();
    match &err {
        StoreError::UnusableFile { reason, .. } => {
            assert!(
                reason.contains(needle),
                "{reason:?} should mention {needle:?}"
            )
        }
        other => panic!("expected UnusableFile for {needle}, got {other:?}"),
    }
    assert_eq!(std::fs::read(path).unwrap(), before, "file modified");
    let dir = path.parent().unwrap();
    let siblings: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(siblings.len(), 1, "nothing created beside it: {siblings:?}");
}

#[test]
fn damaged_and_foreign_files_are_refused_and_left_untouched() {
    let (dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();

    std::fs::write(&path, b"").unwrap();
    assert_refused_untouched(&path, "empty");

    std::fs::write(
        &path,
        b"this is not a database, just some text that is long enough to have a header........",
    )
    .unwrap();
    assert_refused_untouched(&path, "not a SQLite database");

    let random: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &random).unwrap();
    assert_refused_untouched(&path, "not a SQLite database");

    // A real database, truncated to half its pages.
    let good = dir.path().join("good.db");
    {
        let store = SqliteStore::open(&good).unwrap();
        for _ in 0..50 {
            store
                .create_mission(Phase::Coding, json!({ "pad": "x".repeat(2000) }).into())
                .unwrap();
        }
    }
    let bytes = std::fs::read(&good).unwrap();
    assert!(bytes.len() > 8192);
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert_refused_untouched(&path, "truncated");

    // A valid SQLite file that belongs to another program.
    std::fs::remove_file(&path).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);")
            .unwrap();
    }
    assert_refused_untouched(&path, "another program");

    // Another program's file that happens to set user_version.
    std::fs::remove_file(&path).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE invoices (id INTEGER PRIMARY KEY); PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    assert_refused_untouched(&path, "missing");

    // A newer schema version than this binary knows.
    std::fs::remove_file(&path).unwrap();
    {
        SqliteStore::open(&path).unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 7;").unwrap();
    }
    assert_refused_untouched(&path, "newer");
}

#[test]
fn a_directory_where_the_file_should_be_is_a_clear_error() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(&path).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::UnusableFile { .. }), "{err:?}");
}

#[test]
fn racing_first_opens_all_see_one_complete_database() {
    for _ in 0..5 {
        let (_dir, path) = temp_db();
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let store = SqliteStore::open(&path)?;
                    store.create_mission(Phase::Coding, json!({}).into())
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap().expect("every racing open succeeds");
        }
        assert_eq!(count(&path, "SELECT COUNT(*) FROM missions"), 6);
    }
}

#[test]
fn four_processes_writing_one_file_lose_nothing() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let mission = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    const PER_PROCESS: usize = 300;

    // Four library writers and two CLI writers at once, with a reader polling.
    let writers: Vec<_> = (0..4)
        .map(|_| {
            stress_writer(path.display(), &mission, PER_PROCESS as u64, "full", 1)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let cli_writers: Vec<_> = (0..2)
        .map(|w| {
            let (dir, path, mission) = (dir.path().to_owned(), path.clone(), mission.clone());
            std::thread::spawn(move || {
                for i in 0..25 {
                    let out = vibe(&dir)
                        .arg("--db")
                        .arg(&path)
                        .args(["log", &mission, "--tool", "cli", "--args"])
                        .arg(format!("{{\"w\":{w},\"i\":{i}}}"))
                        .output()
                        .unwrap();
                    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
                    assert!(out.status.success(), "vibe log failed: {stderr}");
                }
            })
        })
        .collect();
    let mut reads = 0;
    let mut last_seen = 0;
    while reads < 50 {
        let seen = store
            .get_tool_history(&mission)
            .expect("reads never fail under write load")
            .len();
        assert!(seen >= last_seen, "rows never disappear");
        last_seen = seen;
        reads += 1;
    }

    let mut acknowledged = Vec::new();
    for writer in writers {
        let out = writer.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "writer failed: {stderr}");
        assert!(!stderr.contains("locked"), "{stderr}");
        let ids = ids(&String::from_utf8(out.stdout).unwrap());
        assert_eq!(ids.len(), PER_PROCESS);
        acknowledged.extend(ids);
    }
    for cli in cli_writers {
        cli.join().expect("CLI writer thread");
    }
    assert_eq!(
        count(
            &path,
            "SELECT COUNT(*) FROM tool_calls WHERE tool_name = 'stress'"
        ),
        4 * PER_PROCESS as i64
    );
    assert_eq!(
        count(
            &path,
            "SELECT COUNT(*) FROM tool_calls WHERE tool_name = 'cli'"
        ),
        50
    );
    assert_acknowledged_present(&path, &acknowledged, "four processes");
}

#[test]
fn a_db_path_that_looks_like_a_uri_is_a_file_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.db"), b"").unwrap();
    let init = vibe(dir.path())
        .args(["--db", "file:x.db", "init"])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(dir.path().join("file:x.db").is_file());
    assert_eq!(std::fs::metadata(dir.path().join("x.db")).unwrap().len(), 0);
    let refused = vibe(dir.path())
        .args(["--db", "x.db", "init"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("empty"));
    assert_eq!(std::fs::metadata(dir.path().join("x.db")).unwrap().len(), 0);
    assert_eq!(
        count(
            &dir.path().join("file:x.db"),
            "SELECT COUNT(*) FROM missions"
        ),
        0
    );
}

/// Eight threads each running `vibe --durability normal log` (one process
/// per call, 8 KB of arguments) while the file grows past 20 MB: each
/// process that closes last checkpoints the WAL into the file and deletes
/// it, so another's open-time damage check meets a page 1 already declaring
/// pages the file does not hold yet. None may be refused, and every
/// acknowledged row must be there.
#[test]
fn eight_cli_writers_growing_the_file_are_never_refused_as_damaged() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 500;
    let (dir, path) = temp_db();
    let mission = SqliteStore::open(&path)
        .unwrap()
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let pad = "x".repeat(8 * 1024);
    let writers: Vec<_> = (0..THREADS)
        .map(|w| {
            let (dir, path, mission) = (dir.path().to_owned(), path.clone(), mission.clone());
            let pad = pad.clone();
            std::thread::spawn(move || {
                let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
                for i in 0..PER_THREAD {
                    let args = json!({ "w": w, "i": i, "pad": pad }).to_string();
                    let out = vibe(&dir)
                        .arg("--db")
                        .arg(&path)
                        .args(["--durability", "normal", "log", &mission])
                        .args(["--tool", "load", "--args", &args])
                        .output()
                        .unwrap();
                    if out.status.success() {
                        let id = String::from_utf8_lossy(&out.stdout).trim().parse::<i64>();
                        acknowledged.push(id.expect("`vibe log` prints the new row's id"));
                    } else {
                        refused.push(String::from_utf8_lossy(&out.stderr).into_owned());
                    }
                }
                (acknowledged, refused)
            })
        })
        .collect();
    let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
    for writer in writers {
        let (a, r) = writer.join().expect("CLI writer thread");
        acknowledged.extend(a);
        refused.extend(r);
    }
    let truncated = refused.iter().filter(|r| r.contains("truncated")).count();
    assert!(
        refused.is_empty(),
        "{} of {} calls refused ({truncated} as truncated), first: {}",
        refused.len(),
        THREADS * PER_THREAD,
        refused[0]
    );
    assert_eq!(acknowledged.len(), THREADS * PER_THREAD);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 20 << 20, "the file grew past 20 MB: {size} bytes");
    assert_acknowledged_present(&path, &acknowledged, "eight CLI writers");
}
