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
        conn.execute_batch(&format!(
            "PRAGMA user_version = {};",
            crate::common::latest_schema() + 1
        ))
        .unwrap();
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

/// A copy of a database with its WAL but no `-shm`, in a folder the reader
/// cannot write: SQLite can read the WAL only through a `-shm` it may not
/// create, and reading the main file alone (`immutable=1`) would miss the
/// rows the WAL holds. Every read refuses, saying what to do; `verify` and
/// `backup` report no success; nothing is written. The reader is user
/// `nobody` when the tests run as root (root ignores permission bits);
/// given the `-shm` too, the same reader sees every row.
#[test]
fn a_wal_this_user_cannot_read_whole_is_refused_never_read_in_part() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    use vibe_store::NewToolCall;

    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let live = dir.path().join("live");
    let store = SqliteStore::open(live.join("x.db")).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let log = |store: &SqliteStore, i: i32| {
        store
            .log_tool_call(&m, NewToolCall::success("t", json!({ "i": i })))
            .unwrap();
    };
    log(&store, 0);
    // Closing the last connection moves the mission and row 0 into the
    // main file; rows 1 to 3 stay in the WAL of the copies taken while the
    // store is open again.
    drop(store);
    let store = SqliteStore::open(live.join("x.db")).unwrap();
    (1..4).for_each(|i| log(&store, i));
    let copy = |name: &str, files: &[&str]| {
        let to = dir.path().join(name);
        std::fs::create_dir(&to).unwrap();
        for file in files {
            std::fs::copy(live.join(file), to.join(file)).unwrap();
            std::fs::set_permissions(to.join(file), std::fs::Permissions::from_mode(0o444))
                .unwrap();
        }
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o555)).unwrap();
        to
    };
    let bare = copy("bare", &["x.db", "x.db-wal"]);
    let whole = copy("whole", &["x.db", "x.db-wal", "x.db-shm"]);
    drop(store);
    let db = bare.join("x.db");
    assert!(std::fs::metadata(bare.join("x.db-wal")).unwrap().len() > 0);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::set_permissions(&out_dir, std::fs::Permissions::from_mode(0o777)).unwrap();

    // SAFETY: geteuid has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    let as_reader = |cmd: &mut std::process::Command| {
        if as_root {
            cmd.uid(65534)
                .gid(65534)
                .env("VIBE_CACHE_DIR", "/nonexistent");
        }
        cmd.output().unwrap()
    };
    let vibe_on = |db: &Path, args: &[&str]| {
        let mut cmd = vibe(Path::new("/"));
        cmd.arg("--db").arg(db).args(args);
        as_reader(&mut cmd)
    };
    let library_on = |db: &Path| {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "helpers::read_only_reader",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VIBE_READ_ONLY_READER", format!("{}\t{m}", db.display()));
        as_reader(&mut cmd)
    };
    let listing = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|line| line.contains("{\"i\":"))
            .count()
    };
    let before: Vec<_> = ["x.db", "x.db-wal"]
        .iter()
        .map(|f| std::fs::read(bare.join(f)).unwrap())
        .collect();

    let backup = out_dir.join("backup.db");
    let backup_arg = backup.to_str().unwrap();
    for (what, out) in [
        ("tools", vibe_on(&db, &["tools", &m])),
        ("verify", vibe_on(&db, &["verify"])),
        ("backup", vibe_on(&db, &["backup", backup_arg])),
        ("the library", library_on(&db)),
    ] {
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(1), "{what}: {stdout}{stderr}");
        assert!(
            !stdout.contains("intact") && listing(&out) == 0,
            "{what}: {stdout}"
        );
        for needle in [
            "x.db-wal",
            "x.db-shm",
            "Copy the folder",
            "can write the folder",
        ] {
            assert!(
                stderr.contains(needle),
                "{what} should say {needle:?}: {stderr}"
            );
        }
    }
    assert!(!backup.exists(), "no backup of a partial view");
    let after: Vec<_> = ["x.db", "x.db-wal"]
        .iter()
        .map(|f| std::fs::read(bare.join(f)).unwrap())
        .collect();
    assert!(before == after, "the copy is byte for byte unchanged");
    assert_eq!(
        std::fs::read_dir(&bare).unwrap().count(),
        2,
        "nothing created"
    );

    // With its -shm the same reader sees every row.
    let read = vibe_on(&whole.join("x.db"), &["tools", &m]);
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(
        listing(&read),
        4,
        "{}",
        String::from_utf8_lossy(&read.stdout)
    );
    let read = library_on(&whole.join("x.db"));
    assert!(String::from_utf8_lossy(&read.stdout).contains("rows: 4"));

    for folder in [&bare, &whole] {
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}
