//! The Python package as its users meet it: its pytest suite
//! (`python/tests`: ARCH-002's tests, the rest of the store, PostgreSQL,
//! threads, asyncio, tools) and `mypy --strict` over the package, its
//! tests and its examples, run with the interpreter of `.venv`, where
//! `./x test` installs the package first (`maturin develop`).

use std::path::{Path, PathBuf};
use std::process::Command;

use vibe_test_support::pg::server;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `.venv`'s Python, which must have the package installed.
fn python() -> Command {
    let python = repo().join(".venv/bin/python");
    let installed = Command::new(&python)
        .args(["-c", "import vibe_store"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        installed,
        "the vibe_store package is not installed in {}: run the tests with `./x test`, which builds and installs it",
        python.display()
    );
    let mut cmd = Command::new(python);
    cmd.current_dir(repo())
        .env_remove("VIBE_DB")
        .env_remove("VIBE_DURABILITY")
        .env_remove("VIBE_CACHE_DIR");
    cmd
}

fn check(what: &str, cmd: &mut Command) {
    let out = cmd.output().expect("run .venv's python");
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_python_packages_suite_passes() {
    let database = server().fresh_database();
    check(
        "pytest python/tests",
        python()
            .args([
                "-m",
                "pytest",
                "python/tests",
                "-q",
                "-p",
                "no:cacheprovider",
                "-W",
                "error",
            ])
            .env("VIBE_TEST_POSTGRES_DB", &database.url)
            .env(
                "VIBE_GUEST_DIR",
                repo().join("guest/target/wasm32-wasip2/release"),
            )
            .env("VIBE_BIN", env!("CARGO_BIN_EXE_vibe"))
            .env("VIBE_TEST_REQUIRE_ALL", "1"),
    );
}

#[test]
fn mypy_strict_passes_on_the_package_its_tests_and_examples() {
    let cache = tempfile::tempdir().expect("temp dir");
    check(
        "mypy --strict",
        python()
            .args(["-m", "mypy", "--strict", "--cache-dir"])
            .arg(cache.path())
            .args([
                "python/vibe_store",
                "python/tests",
                "python/examples",
                "python/bench",
            ]),
    );
}
