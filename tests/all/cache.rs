//! The component cache: a component compiles once per content in a
//! runtime, compiled artifacts are kept on disk by content and engine, the
//! cache directory is private and runs only what this user compiled from
//! that very component, a runtime without a cache still works, and
//! `vibe compile` fills the cache ahead of time for every runtime that
//! shares it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use vibe_store::sandbox::{Request, Runtime, RuntimeConfig};
use vibe_store::{Json, MissionStore, Phase, SqliteStore};

use crate::common::runtime::Sandbox;
use crate::common::{guest, temp_db, temp_store, text, vibe};

#[test]
fn a_component_compiles_once_per_content() {
    let s = Sandbox::new();
    let a = s.tool("echo");
    let b = s.tool("echo");
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(a.digest().len(), 64);
    assert_eq!(a.name(), "echo");
    // The same bytes under another name share the digest and record the
    // new name in the audit trail.
    let renamed = s
        .runtime
        .load_bytes("renamed", &std::fs::read(guest("echo")).unwrap())
        .unwrap();
    assert_eq!((renamed.name(), renamed.digest()), ("renamed", a.digest()));
    let m = s.mission();
    s.runtime
        .run(&renamed, &Request::new(m.clone(), json!({})))
        .unwrap();
    assert_eq!(
        s.store.get_tool_history(&m).unwrap()[0].tool_name,
        "renamed"
    );
}

#[test]
fn compiled_components_are_cached_on_disk_by_content_and_engine() {
    let (_dir, store) = temp_store();
    let cache = tempfile::tempdir().unwrap();
    let config = || RuntimeConfig::default().cache_dir(cache.path());
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let first = Runtime::new(store.clone(), config()).unwrap();
    let tool = first.load(guest("echo")).unwrap();
    let entries: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let name = entries[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with(tool.digest()) && name.ends_with(".cwasm"),
        "keyed by content: {name}"
    );
    let compiled = std::fs::read(&entries[0]).unwrap();

    // A second runtime (another process, in effect) uses the cached artifact.
    let second = Runtime::new(store.clone(), config()).unwrap();
    let out = second
        .run(
            &second.load(guest("echo")).unwrap(),
            &Request::new(m.clone(), json!(1)),
        )
        .unwrap();
    assert_eq!(out.outcome.unwrap(), json!(1));
    assert_eq!(
        std::fs::read(&entries[0]).unwrap(),
        compiled,
        "not recompiled"
    );

    // A damaged cache entry is ignored and replaced, never trusted.
    std::fs::write(&entries[0], b"not a compiled component").unwrap();
    let third = Runtime::new(store.clone(), config()).unwrap();
    let out = third
        .run(
            &third.load(guest("echo")).unwrap(),
            &Request::new(m, json!(2)),
        )
        .unwrap();
    assert_eq!(out.outcome.unwrap(), json!(2));
    assert_eq!(
        std::fs::read(&entries[0]).unwrap(),
        compiled,
        "rewritten from the component"
    );
}

#[test]
fn the_component_cache_is_private_and_runs_only_what_it_compiled() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let cache = dir.path().join("private-cache");
    let run = |tool: &str| {
        vibe(dir.path())
            .env("VIBE_CACHE_DIR", &cache)
            .arg("--db")
            .arg(&path)
            .arg("run")
            .arg(guest(tool))
            .args(["--mission", &m, "--input", r#"{"echo":"me"}"#])
            .output()
            .unwrap()
    };
    assert!(run("echo").status.success());
    assert!(run("planner").status.success());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache), 0o700);
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 2);
    for entry in &entries {
        assert_eq!(mode(entry), 0o600, "{}", entry.display());
    }

    // Swap echo's artifact for the planner's: echo must still run as echo.
    let digest = vibe_store::sandbox::Runtime::new(store.clone(), RuntimeConfig::default())
        .unwrap()
        .load(guest("echo"))
        .unwrap()
        .digest()
        .to_owned();
    let (echo_entry, planner_entry): (Vec<_>, Vec<_>) = entries.iter().partition(|p| {
        p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&digest)
    });
    std::fs::copy(planner_entry[0], echo_entry[0]).unwrap();
    let swapped = run("echo");
    assert!(swapped.status.success());
    assert_eq!(
        String::from_utf8_lossy(&swapped.stdout).trim(),
        r#"{"echo":"me"}"#
    );
    assert!(
        String::from_utf8_lossy(&swapped.stderr).contains("not compiled from this component"),
        "{}",
        String::from_utf8_lossy(&swapped.stderr)
    );

    // A cache others can write is not used at all (one warning).
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let loose = run("echo");
    assert!(loose.status.success());
    let stderr = String::from_utf8_lossy(&loose.stderr);
    assert_eq!(
        stderr.matches("not using the component cache").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("writable by group or others"), "{stderr}");
}

#[test]
fn a_runtime_without_a_cache_still_loads_and_runs() {
    let (_dir, store) = temp_store();
    let runtime = Runtime::new(store.clone(), RuntimeConfig::default()).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let report = runtime
        .run_file(
            guest("echo"),
            &Request::new(m, Json::parse("input", "[1e1]").unwrap()),
        )
        .unwrap();
    assert_eq!(report.outcome.unwrap().as_str(), "[1e1]");
}

#[test]
fn vibe_compile_fills_the_cache_that_runs_then_load_from() {
    let (dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let m = store
        .create_mission(Phase::Coding, json!({}).into())
        .unwrap();
    let cache = dir.path().join("ahead");
    let compile = |tools: &[&Path]| {
        vibe(dir.path())
            .env("VIBE_CACHE_DIR", &cache)
            .arg("compile")
            .args(tools)
            .output()
            .unwrap()
    };
    let echo = guest("echo");
    let first = compile(&[&echo]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stdout).starts_with("compiled "),
        "{}",
        text(&first.stdout)
    );
    let again = compile(&[&echo]);
    assert!(
        text(&again.stdout).starts_with("already compiled "),
        "{}",
        text(&again.stdout)
    );
    // No database was needed, and none was made where it ran.
    assert!(!dir.path().join(vibe_store::store::DEFAULT_DB_PATH).exists());

    // `vibe run` (a runtime of other settings) finds it: nothing new in
    // the cache.
    let ran = vibe(dir.path())
        .env("VIBE_CACHE_DIR", &cache)
        .arg("--db")
        .arg(&path)
        .arg("run")
        .arg(&echo)
        .args(["--mission", &m, "--input", "[7]"])
        .output()
        .unwrap();
    assert_eq!(text(&ran.stdout).trim(), "[7]", "{}", text(&ran.stderr));
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);

    // What cannot be compiled is said and exits 4; the rest still compile.
    let notes = dir.path().join("notes.wasm");
    std::fs::write(&notes, "just notes").unwrap();
    let planner = guest("planner");
    let mixed = compile(&[&notes, &planner]);
    assert_eq!(mixed.status.code(), Some(4));
    let stderr = text(&mixed.stderr);
    assert!(
        stderr.contains("notes.wasm is not a WebAssembly component"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 of 2 components could not be compiled"),
        "{stderr}"
    );
    assert!(
        text(&mixed.stdout).starts_with("compiled "),
        "{}",
        text(&mixed.stdout)
    );
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);
}

#[test]
fn compiling_ahead_of_time_needs_a_cache_it_can_trust() {
    let dir = tempfile::tempdir().unwrap();
    let no_cache = Runtime::precompile(&RuntimeConfig::default(), guest("echo")).unwrap_err();
    assert!(
        no_cache
            .to_string()
            .contains("no component cache directory"),
        "{no_cache}"
    );
    let loose = dir.path().join("loose");
    std::fs::create_dir(&loose).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o777)).unwrap();
    let refused = Runtime::precompile(&RuntimeConfig::default().cache_dir(&loose), guest("echo"))
        .unwrap_err();
    assert!(
        refused.to_string().contains("cannot be trusted")
            && refused.to_string().contains("writable by group or others"),
        "{refused}"
    );
    assert_eq!(
        std::fs::read_dir(&loose).unwrap().count(),
        0,
        "nothing written there"
    );

    // What is cached does not depend on concurrency or memory: compiled
    // under one setting, found under another.
    let cache = dir.path().join("cache");
    let small = RuntimeConfig::default()
        .cache_dir(&cache)
        .max_concurrent(1)
        .unwrap()
        .max_memory_mb(16)
        .unwrap();
    let first = Runtime::precompile(&small, guest("echo")).unwrap();
    assert!(first.compiled);
    let other =
        Runtime::precompile(&RuntimeConfig::default().cache_dir(&cache), guest("echo")).unwrap();
    assert!(!other.compiled, "found, not compiled again");
    assert_eq!(other.component, first.component);
}
