//! What the command line accepts beyond its argument list: JSON values from
//! files and stdin up to the store's limit, and PostgreSQL URLs it refuses
//! before they can be misread.

use std::io::Write;
use std::process::Stdio;

use crate::common::backends::{Backend, TestStore};
use crate::common::{text, vibe, vibe_db};

crate::on_both_backends!(json_flags_read_files_and_stdin_up_to_the_store_limit);

/// `vibe ARGS` on `store`, with `stdin` on its standard input.
fn run(store: &TestStore, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = vibe_db(store.dir.path(), &store.location)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The command may stop reading (refused past its limit): a broken pipe
    // here is that.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().unwrap()
}

fn json_flags_read_files_and_stdin_up_to_the_store_limit(backend: Backend) {
    let store = TestStore::open(backend);
    let dir = store.dir.path();
    // 900 KiB: far past what an argument list holds (about 128 KiB a value).
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(900 * 1024));
    let file = dir.join("args.json");
    std::fs::write(&file, &big).unwrap();
    let at_file = format!("@{}", file.display());
    let mission = run(
        &store,
        &[
            "mission",
            "create",
            "--phase",
            "coding",
            "--metadata",
            &at_file,
        ],
        b"",
    );
    assert!(mission.status.success(), "{}", text(&mission.stderr));
    let mission = text(&mission.stdout).trim().to_owned();

    let logged = run(
        &store,
        &[
            "log", &mission, "--tool", "t", "--args", &at_file, "--result", "-",
        ],
        big.as_bytes(),
    );
    assert!(logged.status.success(), "{}", text(&logged.stderr));
    let decided = run(
        &store,
        &[
            "decide",
            &mission,
            "--type",
            "plan",
            "--rationale",
            "r",
            "--agent",
            "a",
            "--context",
            "-",
        ],
        big.as_bytes(),
    );
    assert!(decided.status.success(), "{}", text(&decided.stderr));
    assert_eq!(
        store.count("SELECT LENGTH(args) + LENGTH(result) FROM tool_calls"),
        2 * big.len() as i64
    );
    assert_eq!(
        store.count("SELECT LENGTH(context) FROM decisions"),
        big.len() as i64
    );
    assert_eq!(
        store.count("SELECT LENGTH(metadata) FROM missions"),
        big.len() as i64
    );

    // A JSON string starting with `@` is written with its quotes.
    let quoted = run(
        &store,
        &["log", &mission, "--tool", "t", "--args", "\"@ann\""],
        b"",
    );
    assert!(quoted.status.success(), "{}", text(&quoted.stderr));
    assert_eq!(
        store.text("SELECT args FROM tool_calls ORDER BY id DESC LIMIT 1"),
        "\"@ann\""
    );

    let rows = store.all_rows();
    // One byte past 1 MiB, from a file and from stdin; a 4 GiB (sparse)
    // file, refused without reading it whole; a file that is not there;
    // two flags reading stdin.
    let over = format!("\"{}\"", "x".repeat(1024 * 1024 - 1));
    std::fs::write(&file, &over).unwrap();
    let huge = dir.join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let at_huge = format!("@{}", huge.display());
    let missing = format!("@{}", dir.join("missing.json").display());
    for (args, stdin, code, says) in [
        (vec!["--args", at_file.as_str()], &b""[..], 4, "1048576"),
        (vec!["--args", "-"], over.as_bytes(), 4, "1048576"),
        (vec!["--args", at_huge.as_str()], &b""[..], 4, "1048576"),
        (vec!["--args", missing.as_str()], &b""[..], 1, "cannot read"),
        (
            vec!["--args", "-", "--result", "-"],
            &b"{}"[..],
            4,
            "standard input",
        ),
        (vec!["--args", "@"], &b""[..], 1, "cannot read"),
    ] {
        let mut all = vec!["log", mission.as_str(), "--tool", "t"];
        all.extend(args.iter().copied());
        let out = run(&store, &all, stdin);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(store.all_rows(), rows, "nothing written");
}

/// A password with an unencoded `@` would make the rest of it the host
/// name, tried and printed: it is refused, saying how to write it, and the
/// password is printed nowhere.
#[test]
fn a_postgresql_url_with_an_unencoded_at_in_its_password_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = vibe(dir.path())
        .args([
            "--db",
            "postgres://ann:hun@ter2@127.0.0.1:9/vibe",
            "mission",
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(said.contains("%40"), "{said}");
    assert!(!said.contains("hun") && !said.contains("ter2"), "{said}");
}
