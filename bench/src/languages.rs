//! Row 12: the same tools in Rust, Python and JavaScript: component size,
//! first compile, a cached cold `vibe run`, and per-invocation cost
//! (instantiate and run) on a warm `Runtime`, back to back and after a
//! pause (with spare instances and without), side by side; and what an
//! agent sees when the tool was compiled ahead of time (`vibe compile`, as
//! `./x guests` runs it): the first `vibe run` after it.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use vibe_store::sandbox::{Request, Runtime, RuntimeConfig, Tool};
use vibe_store::store::{Durability, MissionStore, Phase};

use super::{fmt, median, ratio, sample, timed, Bench, BenchResult};

/// The pause before each call of the paused rows: an agent's turn, short.
const PAUSE: Duration = Duration::from_millis(20);

/// A tool in one language: (language, tool, component file).
pub type LanguageTool = (String, String, PathBuf);

impl Bench<'_> {
    pub(super) fn language_rows(&mut self) -> BenchResult<()> {
        let tools = self.config.language_tools.clone();
        // The Rust tools' warm runs: (name, back to back, after a pause).
        let mut rust_per_run: Vec<(String, Duration, Duration)> = Vec::new();
        for (language, name, path) in &tools {
            let label = format!("{language} {name}");
            let Ok(meta) = std::fs::metadata(path) else {
                writeln!(
                    self.out,
                    "12  {label}: skipped ({} missing; `./x bench` builds it)",
                    path.display()
                )?;
                continue;
            };
            let store = self.fresh_store(Durability::Normal)?;
            let mission = store.create_mission(Phase::Coding, json!({}).into())?;
            // First compile: a runtime with no cache.
            let runtime = Runtime::new(store.clone(), RuntimeConfig::default())?;
            let start = Instant::now();
            let tool = runtime.load(path)?;
            let compile = start.elapsed();
            // Per invocation, warm.
            let input = if name == "reviewer" {
                json!({ "page_size": 50 })
            } else {
                json!({ "k": 1 })
            };
            let request = Request::new(mission.clone(), input.clone());
            let runs = if language == "rust" { 300 } else { 60 };
            let run = |runtime: &Runtime, tool: &Tool| -> BenchResult<()> {
                let report = runtime.run(tool, &request)?;
                report.outcome.map_err(|f| format!("{label}: {f}"))?;
                Ok(())
            };
            let warm = timed(runs, |_| run(&runtime, &tool))?;
            // Ahead of time: `vibe compile` into an empty cache, then the
            // first call an agent makes, a cold process finding it there.
            let cache = self.config.dir.join(format!("cache-{language}-{name}"));
            let start = Instant::now();
            let out = Command::new(&self.config.vibe_binary)
                .arg("compile")
                .arg(path)
                .env("VIBE_CACHE_DIR", &cache)
                .output()?;
            if !out.status.success() {
                return Err(format!("{label}: {}", String::from_utf8_lossy(&out.stderr)).into());
            }
            let ahead = start.elapsed();
            // As an agent calls a tool: after a pause (its model's turn), when
            // a spare instance has had time to be made; beside the same
            // calls on a runtime that makes none.
            let plain = Runtime::new(
                store.clone(),
                RuntimeConfig::default()
                    .cache_dir(&cache)
                    .spare_instances(0)?,
            )?;
            let plain_tool = plain.load(path)?;
            run(&plain, &plain_tool)?;
            // Alternating, so that drift on a shared machine falls on both.
            let (mut with, mut without, mut spares) = (Vec::new(), Vec::new(), 0);
            for _ in 0..runs / 2 {
                std::thread::sleep(PAUSE);
                spares += usize::from(runtime.has_spare(&tool));
                let start = Instant::now();
                run(&runtime, &tool)?;
                with.push(start.elapsed());
                std::thread::sleep(PAUSE);
                let start = Instant::now();
                run(&plain, &plain_tool)?;
                without.push(start.elapsed());
            }
            let spare = format!("{spares} of {} from a spare", with.len());
            let (after_pause, without_spares) = (median(with), median(without));
            let db = store.path().to_owned();
            let cold_run = || -> BenchResult<Duration> {
                let start = Instant::now();
                let out = Command::new(&self.config.vibe_binary)
                    .arg("--db")
                    .arg(&db)
                    .args(["--durability", "normal", "run"])
                    .arg(path)
                    .args(["--mission", mission.as_str(), "--input", &input.to_string()])
                    .env("VIBE_CACHE_DIR", &cache)
                    .output()?;
                if !out.status.success() {
                    return Err(format!("{label}: {}", String::from_utf8_lossy(&out.stderr)).into());
                }
                Ok(start.elapsed())
            };
            let first_call = cold_run()?;
            let cold = sample(5, |_| cold_run())?;
            // Against the Rust tool of the same name: back to back, and
            // after the same pause.
            let rust = match language.as_str() {
                "rust" => {
                    rust_per_run.push((name.clone(), warm, after_pause));
                    None
                }
                _ => rust_per_run.iter().find(|(n, ..)| n == name),
            };
            let (versus, versus_paused) = match rust {
                Some((_, rust_warm, rust_paused)) => (
                    format!("; {:.1}x the Rust {name}", ratio(warm, *rust_warm)),
                    format!("; {:.1}x the Rust {name}", ratio(after_pause, *rust_paused)),
                ),
                None => Default::default(),
            };
            writeln!(
                self.out,
                "12  {label:<18} {:>5.1} MB, first compile {}, cached cold `vibe run` {}, warm run {}{versus}",
                meta.len() as f64 / 1e6,
                fmt(compile),
                fmt(cold),
                fmt(warm),
            )?;
            writeln!(
                self.out,
                "12  {label:<18} a call after a {} ms pause: {} ({spare}), {} with spare instances off ({:.2}x){versus_paused}",
                PAUSE.as_millis(),
                fmt(after_pause),
                fmt(without_spares),
                ratio(after_pause, without_spares),
            )?;
            writeln!(
                self.out,
                "12  {label:<18} compiled ahead of time (`vibe compile`, {}), then the first call an agent makes: `vibe run` {}",
                fmt(ahead),
                fmt(first_call),
            )?;
        }
        Ok(())
    }
}
