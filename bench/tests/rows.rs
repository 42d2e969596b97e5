//! `vibe bench` end to end: the `vibe` command line runs this crate's
//! executable, which prints every row.
//!
//! The `vibe` it goes through is the one cargo built beside vibe-bench:
//! `cargo test --workspace` (`./x test`) builds both, fresh.

use std::path::Path;

#[test]
fn vibe_bench_runs_every_row_on_a_small_scale() {
    // Not a speed test (speed is the benchmark's to report): this checks
    // that `vibe bench` still runs end to end and prints every row.
    let bench = Path::new(env!("CARGO_BIN_EXE_vibe-bench"));
    let vibe = bench.with_file_name(format!("vibe{}", std::env::consts::EXE_SUFFIX));
    assert!(
        vibe.is_file(),
        "{} is not built: run `cargo test --workspace` (or `./x test`), which builds it beside \
         vibe-bench",
        vibe.display()
    );
    let echo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guest/target/wasm32-wasip2/release/echo.wasm");
    assert!(
        echo.is_file(),
        "{} is missing: run the tests with `./x test`, which builds the guests",
        echo.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(&vibe)
        .current_dir(dir.path())
        .env_remove("VIBE_DB")
        .env_remove("VIBE_DURABILITY")
        .env_remove("VIBE")
        .env(
            "VIBE_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache"),
        )
        .args([
            "bench",
            "--scale-calls",
            "500",
            "--scale-missions",
            "5",
            "--window-ms",
            "100",
            "--ops",
            "300",
            "--echo",
        ])
        .arg(&echo)
        .arg("--postgres")
        .arg(vibe_test_support::pg::server().url("postgres"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "disk fsync",
        "raw rusqlite INSERT",
        "SqliteStore::log_tool_call",
        "from inside a guest",
        "100 per transaction",
        "16 threads logging at once",
        "CPU ceiling",
        "instantiate + run",
        "cold `vibe run` process",
        "get_tool_history of one mission (100 calls)",
        "get_mission_history(10)",
        "bytes on disk per tool call",
        "page through 30 rows of 1 MiB",
        "log_tool_call from async via spawn_blocking",
        "Runtime::run from async via spawn_blocking",
        "filtered: one mission's calls of one tool",
        "filtered: all missions, one tool",
        "export jsonl",
        "commit to printed",
        "postgres: bare INSERT",
        "postgres: PostgresStore::log_tool_call",
        "postgres: 16 writers in one process",
        "postgres: 4 processes x 4 threads",
        "postgres: get_tool_history",
        "sqlite: get_tool_history",
    ] {
        assert!(stdout.contains(row), "row {row:?} missing:\n{stdout}");
    }
    assert_eq!(
        stdout.matches("x floor").count(),
        4,
        "one floor per durability mode, and one per backend in row 13"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "the scratch directory is removed");
}
