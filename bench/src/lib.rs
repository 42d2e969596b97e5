//! `vibe-bench` (`vibe bench`): where the store and the sandbox stand
//! against the limits of this machine, measured side by side in one run.
//!
//! Absolute times on shared machines mean little; the ratios between rows
//! measured in the same run hold. Every row prints its median and, where it
//! has one, its ratio to the floor it is compared with.
//!
//! It measures the published library through its public API, and the
//! `vibe` command line as a user runs it; it is not part of either.

mod floor;
mod languages;
mod mcp;
pub mod mcp_floor;
mod postgres;
mod python;

pub use languages::LanguageTool;
pub use postgres::writer_process;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use vibe_store::sandbox::{Request, Runtime, RuntimeConfig};
use vibe_store::store::{
    Durability, Json, MissionId, MissionStore, NewToolCall, OpenOptions, Page, Phase, SqliteStore,
    MAX_JSON_BYTES,
};

use floor::RawInserter;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// A scratch directory for the databases (removed by the caller).
    pub dir: PathBuf,
    /// The trivial `echo` tool component.
    pub echo_component: PathBuf,
    /// The `vibe` executable whose commands the process rows time.
    pub vibe_binary: PathBuf,
    /// This benchmark's own executable, for the four-process row's writers.
    pub bench_binary: PathBuf,
    /// Tool calls in the scale row (1,000,000 by default).
    pub scale_calls: u64,
    /// Missions in the scale row (10,000 by default).
    pub scale_missions: u64,
    /// How long each concurrency row runs (1.5 s by default).
    pub window: Duration,
    /// Operations per write-path row in normal durability (3,000 by
    /// default; a tenth of that in full durability).
    pub ops: usize,
    /// The Python interpreter with the MCP SDK (`.venv/bin/python`).
    pub python: PathBuf,
    /// The Python SDK echo server the MCP row compares with.
    pub python_echo_server: PathBuf,
    /// The Python side of row 14 (`python/bench/log_tool_call.py`).
    pub python_store_bench: PathBuf,
    /// The ARCH-001 tables row 14's ARCH-002 way writes to.
    pub arch001_schema: PathBuf,
    /// The same tools in each language, for the language rows.
    pub language_tools: Vec<LanguageTool>,
    /// The PostgreSQL server of row 13 (a URL whose user may create
    /// databases); `None` starts a throwaway cluster.
    pub postgres: Option<String>,
    /// Run row 13 (PostgreSQL next to SQLite) alone.
    pub postgres_only: bool,
    /// Run only these groups of rows ([`GROUPS`]); empty runs them all.
    pub only: Vec<String>,
}

/// The groups of rows, in the order they run, as `--only` names them.
pub const GROUPS: [&str; 10] = [
    "write",
    "concurrency",
    "sandbox",
    "scale",
    "pages",
    "async",
    "mcp",
    "languages",
    "postgres",
    "python",
];

/// What runs each of [`GROUPS`], in the same order.
type Rows = fn(&mut Bench<'_>) -> BenchResult<()>;
const ROWS: [(&str, Rows); 10] = [
    (GROUPS[0], |bench| bench.write_rows()),
    (GROUPS[1], |bench| bench.concurrency_rows()),
    (GROUPS[2], |bench| bench.sandbox_rows()),
    (GROUPS[3], |bench| bench.scale_rows()),
    (GROUPS[4], |bench| bench.large_page_rows()),
    (GROUPS[5], |bench| bench.async_rows()),
    (GROUPS[6], |bench| bench.mcp_rows()),
    (GROUPS[7], |bench| bench.language_rows()),
    (GROUPS[8], |bench| bench.postgres_rows()),
    (GROUPS[9], |bench| bench.python_rows()),
];

/// What a row returns: its measure, or why it could not be taken.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Runs every row and prints the table to `out` as it goes.
pub fn run(config: &BenchConfig, out: &mut dyn Write) -> BenchResult<()> {
    writeln!(
        out,
        "vibe-store benchmark: medians, ratios measured side by side in this run"
    )?;
    writeln!(out, "scratch directory: {}", config.dir.display())?;
    let fsync = fsync_latency(&config.dir, 200, 1)?;
    let fsync_16 = fsync_latency(&config.dir, 200, 16)?;
    writeln!(
        out,
        "disk fsync: median {} -> {:.0} durable commits/s at most, one at a time; {} for 16 \
         blocks of 4 KiB\n",
        fmt(fsync),
        per_sec(fsync),
        fmt(fsync_16),
    )?;
    writeln!(
        out,
        "{:<3} {:<52} {:<8} {:>11} {:>11}  ratio",
        "#", "row", "mode", "median/op", "ops/s"
    )?;

    let mut bench = Bench {
        config,
        out,
        fsync: [fsync, fsync_16],
        db_seq: 0,
    };
    let runs = |group: &str| {
        if config.postgres_only {
            group == "postgres"
        } else {
            config.only.is_empty() || config.only.iter().any(|g| g == group)
        }
    };
    for (group, rows) in ROWS {
        if runs(group) {
            rows(&mut bench)?;
        }
    }
    Ok(())
}

struct Bench<'a> {
    config: &'a BenchConfig,
    out: &'a mut dyn Write,
    db_seq: u32,
    /// The disk's fsync of one block and of 16, medians, as measured at
    /// the start.
    fsync: [Duration; 2],
}

impl Bench<'_> {
    fn fresh_store(&mut self, durability: Durability) -> BenchResult<SqliteStore> {
        self.db_seq += 1;
        let path = self.config.dir.join(format!("bench-{}.db", self.db_seq));
        Ok(SqliteStore::open_with(
            path,
            OpenOptions::default().durability(durability),
        )?)
    }

    fn row(
        &mut self,
        n: &str,
        name: &str,
        mode: &str,
        median: Duration,
        ratio: Option<(f64, &str)>,
    ) -> BenchResult<()> {
        let ratio = ratio.map_or(String::new(), |(r, of)| format!("{r:.2}x {of}"));
        writeln!(
            self.out,
            "{n:<3} {name:<52} {mode:<8} {:>11} {:>11.0}  {ratio}",
            fmt(median),
            per_sec(median)
        )?;
        self.out.flush()?;
        Ok(())
    }

    /// Rows 1 to 4 in both durability modes.
    fn write_rows(&mut self) -> BenchResult<()> {
        for durability in [Durability::Normal, Durability::Full] {
            self.write_path_rows(durability)?;
        }
        Ok(())
    }

    /// Rows 1 to 4 in one durability mode.
    fn write_path_rows(&mut self, durability: Durability) -> BenchResult<()> {
        let mode = durability.as_str();
        let n = match durability {
            Durability::Normal => self.config.ops,
            Durability::Full => (self.config.ops / 10).max(1),
        };
        let store = self.fresh_store(durability)?;
        let mission = store.create_mission(Phase::Coding, json!({}).into())?;
        let mission_row = store.get_mission(&mission)?.id;

        // Rows 1, 2 and 3 take turns on the same file, a block of `BLOCK`
        // calls each, so all three see the same disk, WAL and page cache and
        // share the checkpoints that land among them. Each sample is a
        // block's mean per call, the only way to time calls made from inside
        // a guest; the other rows are timed the same way to compare fairly.
        const BLOCK: u32 = 100;
        let mut raw = RawInserter::new(&store, mission_row)?;
        // The raw ledger rows go to a chain the store never writes.
        let ledger_mission = store
            .get_mission(&store.create_mission(Phase::Coding, json!({}).into())?)?
            .id;
        let runtime = Runtime::new(store.clone(), RuntimeConfig::default())?;
        let echo = runtime.load(&self.config.echo_component)?;
        let (mut floor, mut ledger, mut native, mut guest) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..(n as u32 / BLOCK).max(5) {
            let start = Instant::now();
            for _ in 0..BLOCK {
                raw.insert_one()?;
            }
            floor.push(start.elapsed() / BLOCK);

            let start = Instant::now();
            for _ in 0..BLOCK {
                raw.insert(1, Some(ledger_mission))?;
            }
            ledger.push(start.elapsed() / BLOCK);

            let start = Instant::now();
            for i in 0..BLOCK {
                store.log_tool_call(&mission, NewToolCall::success("native", json!({ "i": i })))?;
            }
            native.push(start.elapsed() / BLOCK);

            let report = runtime.run(
                &echo,
                &Request::new(mission.clone(), json!({ "log": BLOCK })),
            )?;
            report.outcome.map_err(|f| f.message)?;
            guest.push(report.duration / BLOCK);
        }
        let (floor, ledger, native, guest) =
            (median(floor), median(ledger), median(native), median(guest));
        self.row(
            "1",
            "raw rusqlite INSERT, one transaction per row",
            mode,
            floor,
            Some((1.0, "floor")),
        )?;
        self.row(
            "1",
            "raw INSERT + a raw ledger row, one transaction",
            mode,
            ledger,
            Some((ratio(ledger, floor), "of floor (the chain's storage)")),
        )?;
        self.row(
            "2",
            "SqliteStore::log_tool_call",
            mode,
            native,
            Some((ratio(native, floor), "of floor")),
        )?;
        self.row(
            "3",
            "log-tool-call from inside a guest (full path)",
            mode,
            guest,
            Some((ratio(guest, floor), "of floor")),
        )?;

        // Row 4 beside its floor: the same batches as raw INSERTs, turn
        // about.
        let batch_size = 100;
        let (mut raw_batches, mut ledger_batches, mut batches) =
            (Vec::new(), Vec::new(), Vec::new());
        for b in 0..(n / batch_size).max(3) {
            raw_batches.push(raw.insert(batch_size, None)? / batch_size as u32);
            ledger_batches.push(raw.insert(batch_size, Some(ledger_mission))? / batch_size as u32);
            let calls: Vec<NewToolCall> = (0..batch_size)
                .map(|i| NewToolCall::success("batched", json!({ "b": b, "i": i })))
                .collect();
            let start = Instant::now();
            store.log_tool_calls(&mission, calls)?;
            batches.push(start.elapsed() / batch_size as u32);
        }
        let (raw_batch, ledger_batch, batch) =
            (median(raw_batches), median(ledger_batches), median(batches));
        self.row(
            "4",
            "raw rusqlite INSERTs, 100 per transaction (per row)",
            mode,
            raw_batch,
            Some((1.0, "batch floor")),
        )?;
        self.row(
            "4",
            "the same with a raw ledger row each (per row)",
            mode,
            ledger_batch,
            Some((
                ratio(ledger_batch, raw_batch),
                "of batch floor (the chain's storage)",
            )),
        )?;
        self.row(
            "4",
            "log_tool_calls, 100 per transaction (per call)",
            mode,
            batch,
            Some((ratio(batch, raw_batch), "of batch floor")),
        )?;
        Ok(())
    }

    /// Row 5: threads logging durably at once, total calls per second; and
    /// the same with no fsync per commit, the CPU ceiling group commit can at
    /// best reach on this machine.
    fn concurrency_rows(&mut self) -> BenchResult<()> {
        let mut single = None;
        let mut sixteen = [(Duration::ZERO, 0.0); 2];
        for (threads, durability) in [
            (1usize, Durability::Full),
            (4, Durability::Full),
            (8, Durability::Full),
            (16, Durability::Full),
            (16, Durability::Normal),
        ] {
            let (per_op, batch) = self.concurrent_throughput(threads, durability)?;
            let base = *single.get_or_insert(per_op);
            let name = match durability {
                Durability::Full => {
                    format!("{threads:>2} threads logging at once (total throughput)")
                }
                Durability::Normal => {
                    format!("{threads:>2} threads, no fsync per commit (CPU ceiling)")
                }
            };
            if threads == 16 {
                sixteen[usize::from(durability == Durability::Normal)] = (per_op, batch);
            }
            self.row(
                "5",
                &name,
                durability.as_str(),
                per_op,
                Some((ratio(base, per_op), "of 1 thread")),
            )?;
        }
        // Group commit runs a batch's writes and then its commit on one
        // connection: the commit's sync is paid once a batch, with no write
        // running meanwhile. A batch of n writes of c each takes n*c plus
        // that sync, against the ceiling's n*c; 0.9 of the ceiling needs
        // the sync under n*c/9.
        let [(full, batch), (ceiling, ceiling_batch)] = sixteen;
        let lost = full.saturating_sub(ceiling).mul_f64(batch);
        writeln!(
            self.out,
            "5   16 threads: {:.2} of the CPU ceiling, {batch:.1} writes a commit ({ceiling_batch:.1} \
             without fsync); each commit's sync costs {} over the ceiling's commit (0.9 needs at \
             most {}), against {} for an fsync of one block and {} of 16",
            ratio(ceiling, full),
            fmt(lost),
            fmt(ceiling.mul_f64(batch / 9.0)),
            fmt(self.fsync[0]),
            fmt(self.fsync[1]),
        )?;
        Ok(())
    }

    /// Mean time per call of `threads` writers logging for a fixed window,
    /// and how many writes each commit held on average.
    fn concurrent_throughput(
        &mut self,
        threads: usize,
        durability: Durability,
    ) -> BenchResult<(Duration, f64)> {
        let store = self.fresh_store(durability)?;
        let mission = Arc::new(store.create_mission(Phase::Coding, json!({}).into())?);
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (store, mission, stop, done) =
                    (store.clone(), mission.clone(), stop.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let call = NewToolCall::success("concurrent", json!({ "t": t, "i": i }));
                        store.log_tool_call(&mission, call).expect("durable write");
                        done.fetch_add(1, Ordering::Relaxed);
                        i += 1;
                    }
                })
            })
            .collect();
        let window = self.config.window;
        std::thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().map_err(|_| "writer thread panicked")?;
        }
        let stats = store.write_stats();
        let batch = stats.writes as f64 / stats.commits.max(1) as f64;
        Ok((window / done.load(Ordering::Relaxed).max(1) as u32, batch))
    }

    /// Row 6: per-invocation instantiate-and-run, and a cold `vibe run`.
    fn sandbox_rows(&mut self) -> BenchResult<()> {
        let store = self.fresh_store(Durability::Normal)?;
        let mission = store.create_mission(Phase::Coding, json!({}).into())?;
        let runtime = Runtime::new(store.clone(), RuntimeConfig::default())?;
        let echo = runtime.load(&self.config.echo_component)?;
        let request = Request::new(mission.clone(), json!({}));
        for _ in 0..20 {
            runtime.run(&echo, &request)?;
        }
        let invoke = sample(500, |_| Ok(runtime.run(&echo, &request)?.duration))?;
        self.row(
            "6",
            "instantiate + run a trivial tool (per invocation)",
            "-",
            invoke,
            None,
        )?;

        let cache = self.config.dir.join("component-cache");
        let cold_run = || -> BenchResult<Duration> {
            let start = Instant::now();
            let status = std::process::Command::new(&self.config.vibe_binary)
                .arg("--db")
                .arg(store.path())
                .arg("--durability")
                .arg("normal")
                .arg("run")
                .arg(&self.config.echo_component)
                .args(["--mission", mission.as_str()])
                .env("VIBE_CACHE_DIR", &cache)
                .stdout(std::process::Stdio::null())
                .status()?;
            if !status.success() {
                return Err("vibe run failed".into());
            }
            Ok(start.elapsed())
        };
        let first = cold_run()?;
        self.row(
            "6",
            "cold `vibe run`, first time (compiles, fills cache)",
            "-",
            first,
            None,
        )?;
        let cold = sample(20, |_| cold_run())?;
        self.row(
            "6",
            "cold `vibe run` process, component cached on disk",
            "-",
            cold,
            None,
        )?;
        Ok(())
    }

    /// Row 7: a large database.
    fn scale_rows(&mut self) -> BenchResult<()> {
        let (calls, missions) = (self.config.scale_calls, self.config.scale_missions.max(1));
        let per_mission = (calls / missions).max(1);
        let store = self.fresh_store(Durability::Normal)?;
        let start = Instant::now();
        let mut ids = Vec::with_capacity(missions as usize);
        for m in 0..missions {
            let mission =
                store.create_mission(Phase::ALL[(m % 5) as usize], json!({ "m": m }).into())?;
            let batch: Vec<NewToolCall> = (0..per_mission)
                .map(|i| NewToolCall {
                    result: Some(json!({ "ok": true, "lines": i % 40 }).into()),
                    duration_ms: Some((i % 500) as i64),
                    ..NewToolCall::success(
                        ["grep", "cargo", "edit", "read"][(i % 4) as usize],
                        json!({ "path": format!("src/file_{i}.rs"), "i": i }),
                    )
                })
                .collect();
            store.log_tool_calls(&mission, batch)?;
            ids.push(mission);
        }
        let built = start.elapsed();
        writeln!(
            self.out,
            "    (built {} tool calls over {missions} missions in {:.1} s)",
            per_mission * missions,
            built.as_secs_f64()
        )?;

        let history = sample(300, |k| {
            let mission = &ids[(k * 7919) % ids.len()];
            let start = Instant::now();
            let calls = store.get_tool_history(mission)?;
            if calls.len() as u64 != per_mission {
                return Err(format!("expected {per_mission} calls, read {}", calls.len()).into());
            }
            Ok(start.elapsed())
        })?;
        self.row(
            "7",
            &format!("get_tool_history of one mission ({per_mission} calls)"),
            "-",
            history,
            None,
        )?;
        let recent = timed(300, |_| {
            store.get_mission_history(10)?;
            Ok(())
        })?;
        self.row("7", "get_mission_history(10)", "-", recent, None)?;
        self.operator_rows(&store, &ids)?;
        let path = store.path().to_owned();
        drop(store); // the last connection checkpoints the WAL into the file
        let bytes = std::fs::metadata(&path)?.len();
        writeln!(
            self.out,
            "7   bytes on disk per tool call: {:.0} ({} bytes for {} calls)",
            bytes as f64 / (per_mission * missions) as f64,
            bytes,
            per_mission * missions
        )?;
        Ok(())
    }
}

impl Bench<'_> {
    /// Row 8: paging through rows of the largest size the store accepts,
    /// with the default page budget; bytes of row text per second and the
    /// process's peak resident memory while doing it.
    fn large_page_rows(&mut self) -> BenchResult<()> {
        const ROWS: usize = 30;
        let store = self.fresh_store(Durability::Normal)?;
        let mission = store.create_mission(Phase::Testing, json!({}).into())?;
        let mut zeros = String::with_capacity(MAX_JSON_BYTES);
        zeros.push('[');
        zeros.push_str(&"0,".repeat(524_286));
        zeros.push_str("0]");
        let args = Json::parse("args", zeros)?;
        for _ in 0..ROWS {
            store.log_tool_call(&mission, NewToolCall::success("large", args.clone()))?;
        }
        drop(args);
        let baseline = peak_rss_reset();
        let mut times = Vec::new();
        let mut bytes = 0usize;
        for _ in 0..10 {
            let (start, mut after, mut read) = (Instant::now(), None, 0usize);
            loop {
                let page = store.get_tool_history_page(&mission, Page::after(after, 1000))?;
                let Some(last) = page.last() else { break };
                after = Some(last.id.get());
                read += page.iter().map(|c| c.args.len()).sum::<usize>();
            }
            times.push(start.elapsed());
            bytes = read;
        }
        let peak = peak_rss_kib();
        let per_pass = median(times);
        writeln!(
            self.out,
            "8   page through {ROWS} rows of 1 MiB (default budget): {} per pass, {:.0} MiB/s of row text; \
             peak RSS {} MiB ({} MiB before)",
            fmt(per_pass),
            bytes as f64 / per_pass.as_secs_f64() / (1024.0 * 1024.0),
            peak.map_or("?".into(), |k| (k / 1024).to_string()),
            baseline.map_or("?".into(), |k| (k / 1024).to_string()),
        )?;
        Ok(())
    }
}

impl Bench<'_> {
    /// Row 10: what an operator's commands cost on the large database:
    /// filtered queries, export and verify throughput, and how long
    /// `--follow` takes to show a committed row.
    fn operator_rows(&mut self, store: &SqliteStore, missions: &[MissionId]) -> BenchResult<()> {
        use vibe_store::store::{ExportFilter, ToolCallFilter};
        let in_mission = sample(300, |k| {
            let mut filter = ToolCallFilter::mission(missions[(k * 7919) % missions.len()].clone());
            filter.tools = vec!["grep".into()];
            let start = Instant::now();
            store.find_tool_calls(&filter, &mut |_| Ok(()))?;
            Ok(start.elapsed())
        })?;
        self.row(
            "10",
            "filtered: one mission's calls of one tool",
            "-",
            in_mission,
            None,
        )?;
        let across = sample(50, |_| {
            let mut filter = ToolCallFilter::default();
            filter.tools = vec!["cargo".into()];
            filter.since = Some(chrono::Utc::now() - chrono::Duration::hours(1));
            filter.limit = Some(100);
            let start = Instant::now();
            store.find_tool_calls(&filter, &mut |_| Ok(()))?;
            Ok(start.elapsed())
        })?;
        self.row(
            "10",
            "filtered: all missions, one tool, last hour, 100 rows",
            "-",
            across,
            None,
        )?;
        let some: Vec<MissionId> = missions.iter().take(1000).cloned().collect();
        let (mut missions_out, mut rows, mut bytes) = (0u64, 0u64, 0usize);
        let start = Instant::now();
        let mut filter = ExportFilter::default();
        filter.missions = some;
        store.export_jsonl(&filter, &mut |_, line, held| {
            bytes += line.len() + 1;
            missions_out += 1;
            rows += held;
            Ok(())
        })?;
        let took = start.elapsed();
        writeln!(
            self.out,
            "10  export jsonl: {missions_out} missions ({rows} rows, {bytes} bytes) in {}: {:.0} rows/s",
            fmt(took),
            rows as f64 / took.as_secs_f64()
        )?;
        // Verify: recompute the chains of the same 1,000 missions.
        let (mut checked, start) = (0u64, Instant::now());
        for mission in missions.iter().take(1000) {
            let report = store.verify_chain(mission)?;
            if !report.intact() {
                return Err(format!("mission {mission} does not verify: {report:?}").into());
            }
            checked += report.checked;
        }
        let took = start.elapsed();
        writeln!(
            self.out,
            "10  verify: {} missions ({checked} rows) in {}: {:.0} rows/s",
            missions.len().min(1000),
            fmt(took),
            checked as f64 / took.as_secs_f64()
        )?;
        // Commit to printed: a `vibe tools --follow` process and a row
        // logged here; how long until the process prints it.
        let mission = store.create_mission(Phase::Testing, json!({}).into())?;
        let mut child = std::process::Command::new(&self.config.vibe_binary)
            .arg("--db")
            .arg(store.path())
            .args(["tools", mission.as_str(), "--follow", "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                if tx.send((Instant::now(), line.is_ok())).is_err() {
                    break;
                }
            }
        });
        std::thread::sleep(Duration::from_millis(300));
        let mut latencies = Vec::new();
        for i in 0..10 {
            let start = Instant::now();
            store.log_tool_call(&mission, NewToolCall::success("follow", json!(i)))?;
            let (printed, _) = lines.recv_timeout(Duration::from_secs(10))?;
            latencies.push(printed - start);
        }
        let _ = child.kill();
        let _ = child.wait();
        self.row(
            "10",
            "`vibe tools --follow`: commit to printed",
            "-",
            median(latencies),
            None,
        )?;
        Ok(())
    }

    /// Row 9: what calling the blocking store and runtime from async code
    /// through `spawn_blocking` costs beside calling them directly, one
    /// call at a time (so the hop's latency is what is measured).
    fn async_rows(&mut self) -> BenchResult<()> {
        let store = self.fresh_store(Durability::Normal)?;
        let mission = store.create_mission(Phase::Coding, json!({}).into())?;
        let runtime = Runtime::new(store.clone(), RuntimeConfig::default())?;
        let echo = runtime.load(&self.config.echo_component)?;
        let request = Request::new(mission.clone(), json!({}));
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()?;
        let n = self.config.ops.max(100);
        let direct_log = timed(n, |i| {
            store.log_tool_call(&mission, NewToolCall::success("direct", json!(i)))?;
            Ok(())
        })?;
        let hop_log = {
            let (store, mission) = (store.clone(), mission.clone());
            in_task(&tokio, n, move |i| {
                let (store, mission) = (store.clone(), mission.clone());
                async move {
                    tokio::task::spawn_blocking(move || {
                        store.log_tool_call(&mission, NewToolCall::success("async", json!(i)))
                    })
                    .await
                    .map_err(|e| e.to_string())?
                    .map(drop)
                    .map_err(|e| e.to_string())
                }
            })?
        };
        self.row(
            "9",
            "log_tool_call, called directly",
            "normal",
            direct_log,
            Some((1.0, "direct")),
        )?;
        self.row(
            "9",
            "log_tool_call from async via spawn_blocking",
            "normal",
            hop_log,
            Some((ratio(hop_log, direct_log), "of direct")),
        )?;
        let unblock_log = {
            let (store, mission) = (store.clone(), mission.clone());
            in_task(&tokio, n, move |i| {
                let (store, mission) = (store.clone(), mission.clone());
                async move {
                    vibe_store::unblock(move || {
                        store.log_tool_call(&mission, NewToolCall::success("unblock", json!(i)))
                    })
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
                }
            })?
        };
        self.row(
            "9",
            "log_tool_call from async via vibe_store::unblock",
            "normal",
            unblock_log,
            Some((ratio(unblock_log, direct_log), "of direct")),
        )?;
        let direct_run = timed(n / 4, |_| {
            runtime.run(&echo, &request)?;
            Ok(())
        })?;
        let hop_run = {
            let (runtime, echo, request) = (runtime.clone(), echo.clone(), request.clone());
            in_task(&tokio, n / 4, move |_| {
                let (runtime, echo, request) = (runtime.clone(), echo.clone(), request.clone());
                async move {
                    tokio::task::spawn_blocking(move || runtime.run(&echo, &request))
                        .await
                        .map_err(|e| e.to_string())?
                        .map(drop)
                        .map_err(|e| e.to_string())
                }
            })?
        };
        let unblock_run = {
            let (runtime, echo, request) = (runtime.clone(), echo.clone(), request.clone());
            in_task(&tokio, n / 4, move |_| {
                let (runtime, echo, request) = (runtime.clone(), echo.clone(), request.clone());
                async move {
                    vibe_store::unblock(move || runtime.run(&echo, &request))
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string())
                }
            })?
        };
        self.row(
            "9",
            "Runtime::run of echo, called directly",
            "normal",
            direct_run,
            Some((1.0, "direct")),
        )?;
        self.row(
            "9",
            "Runtime::run from async via spawn_blocking",
            "normal",
            hop_run,
            Some((ratio(hop_run, direct_run), "of direct")),
        )?;
        self.row(
            "9",
            "Runtime::run from async via vibe_store::unblock",
            "normal",
            unblock_run,
            Some((ratio(unblock_run, direct_run), "of direct")),
        )?;
        Ok(())
    }
}

/// The median time of `calls` calls of `f`, made one after another by one
/// task on a worker of `tokio`, as an agent's task makes them, each timed
/// where the task sees it.
fn in_task<F, Fut>(tokio: &tokio::runtime::Runtime, calls: usize, f: F) -> BenchResult<Duration>
where
    F: Fn(usize) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let timings = tokio.block_on(tokio.spawn(async move {
        let mut timings = Vec::with_capacity(calls);
        for i in 0..calls {
            let start = Instant::now();
            f(i).await?;
            timings.push(start.elapsed());
        }
        Ok::<_, String>(timings)
    }))??;
    Ok(median(timings))
}

/// Resets the process's peak-RSS mark (Linux `clear_refs`), returning the
/// current resident size in KiB, where the system tells.
fn peak_rss_reset() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    status_kib("VmRSS:")
}

/// The process's peak resident size in KiB since the last reset.
fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Median latency of writing 4 KiB and `fdatasync`ing it, `n` times.
fn fsync_latency(dir: &Path, n: usize, blocks: usize) -> std::io::Result<Duration> {
    use std::io::{Seek, SeekFrom};
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path)?;
    let block = [0x5Au8; 4096];
    let mut latencies = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        file.seek(SeekFrom::Start(0))?;
        for _ in 0..blocks {
            file.write_all(&block)?;
        }
        file.sync_data()?;
        latencies.push(start.elapsed());
    }
    std::fs::remove_file(&path)?;
    Ok(median(latencies))
}

/// The median of `runs` measurements, each what `f` returns for its run.
fn sample(runs: usize, mut f: impl FnMut(usize) -> BenchResult<Duration>) -> BenchResult<Duration> {
    Ok(median((0..runs).map(&mut f).collect::<BenchResult<_>>()?))
}

/// The median time `f` takes, over `runs` runs.
fn timed(runs: usize, mut f: impl FnMut(usize) -> BenchResult<()>) -> BenchResult<Duration> {
    sample(runs, |i| {
        let start = Instant::now();
        f(i)?;
        Ok(start.elapsed())
    })
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

fn per_sec(d: Duration) -> f64 {
    1.0 / d.as_secs_f64().max(1e-12)
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} us")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}
