//! Row 14: `log_tool_call` from Python through the `vibe_store` package,
//! beside the same call made from Rust on the same store (same file, same
//! SQLite: the system's, which the package links) and beside ARCH-002's
//! way (a `sqlite3` connection, a lookup, an INSERT and a commit per call,
//! on the same ARCH-001 tables); and 8 Python threads against 1. All run
//! in `.venv`'s interpreter (`python/bench/log_tool_call.py`), the three
//! ways taking turns of 20 calls.

use std::process::Command;
use std::time::Duration;

use vibe_store::store::Durability;

use super::{ratio, Bench, BenchResult};

/// Calls in each block the Python script times.
const BLOCK: usize = 20;

impl Bench<'_> {
    pub(super) fn python_rows(&mut self) -> BenchResult<()> {
        let python = self.config.python.clone();
        let script = self.config.python_store_bench.clone();
        let imports = Command::new(&python)
            .args(["-c", "import vibe_store"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !imports || !script.is_file() {
            writeln!(
                self.out,
                "14  log_tool_call from Python: skipped (no vibe_store in {}, or no {}; `./x bench` installs it)",
                python.display(),
                script.display()
            )?;
            return Ok(());
        }
        for durability in [Durability::Full, Durability::Normal] {
            let mode = durability.as_str();
            let calls = match durability {
                Durability::Full => (self.config.ops / 10).max(BLOCK * 5),
                Durability::Normal => self.config.ops,
            };
            self.db_seq += 1;
            let dir = self.config.dir.join(format!("python-{}", self.db_seq));
            std::fs::create_dir_all(&dir)?;
            let out = Command::new(&python)
                .arg(&script)
                .arg(&dir)
                .arg(calls.to_string())
                .arg(mode)
                .arg(&self.config.arch001_schema)
                .output()?;
            if !out.status.success() {
                return Err(format!(
                    "{} failed: {}",
                    script.display(),
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
            let measured: serde_json::Value = serde_json::from_slice(&out.stdout)?;
            let nanos = |key: &str| -> BenchResult<Duration> {
                let ns = measured[key]
                    .as_f64()
                    .ok_or_else(|| format!("{} printed no {key}", script.display()))?;
                Ok(Duration::from_nanos(ns as u64))
            };
            let (package, rust) = (nanos("vibe_store_ns")?, nanos("rust_ns")?);
            let arch002 = nanos("arch002_ns")?;
            let (one_thread, eight_threads) = (nanos("threads_1_ns")?, nanos("threads_8_ns")?);

            self.row(
                "14",
                "log_tool_call from Rust (same store and file)",
                mode,
                rust,
                Some((1.0, "Rust")),
            )?;
            self.row(
                "14",
                "log_tool_call from Python (vibe_store package)",
                mode,
                package,
                Some((ratio(package, rust), "of Rust")),
            )?;
            self.row(
                "14",
                "ARCH-002's way (sqlite3, connect+commit per call)",
                mode,
                arch002,
                Some((ratio(arch002, package), "of vibe_store (slower)")),
            )?;
            self.row(
                "14",
                "vibe_store, 8 Python threads (per call, total)",
                mode,
                eight_threads,
                Some((
                    ratio(one_thread, eight_threads),
                    "the throughput of 1 thread",
                )),
            )?;
        }
        Ok(())
    }
}
