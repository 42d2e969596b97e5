//! Row 13: the PostgreSQL backend next to SQLite, in the same run: a
//! durable call against the client library's bare `INSERT` (autocommit),
//! writers in one process and in four, and a history read on a table of
//! 1,000,000 tool calls.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use vibe_store::store::{
    AnyStore, Durability, MissionId, MissionStore, NewToolCall, OpenOptions, Phase,
};
use vibe_test_support::pg::{database_url, Cluster};

use super::floor::{bulk_history, pg_client, PgRawInserter, RawInserter};
use super::{ratio, sample, Bench, BenchResult};

/// Writers in the concurrency rows, and the pool that lets them all in.
const WRITERS: usize = 16;

impl Bench<'_> {
    pub(super) fn postgres_rows(&mut self) -> BenchResult<()> {
        writeln!(self.out, "\n13  PostgreSQL next to SQLite")?;
        let cluster;
        let server = match &self.config.postgres {
            Some(url) => url.clone(),
            None => match Cluster::start() {
                Ok(started) => {
                    cluster = started;
                    writeln!(
                        self.out,
                        "    (a throwaway cluster on 127.0.0.1:{}, fsync on)",
                        cluster.port()
                    )?;
                    cluster.url("postgres")
                }
                Err(e) => {
                    writeln!(self.out, "    skipped: {e}")?;
                    return Ok(());
                }
            },
        };
        let mut admin = pg_client(&server)?;
        let mut databases = 0;
        let mut fresh_pg = |options: OpenOptions| -> BenchResult<(AnyStore, String)> {
            databases += 1;
            let name = format!("vibe_bench_{}_{databases}", std::process::id());
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))?;
            admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
            let url = database_url(&server, &name);
            Ok((AnyStore::open_with(&url, options)?, url))
        };
        let pooled = OpenOptions::default().max_connections(WRITERS);

        // One durable call at a time: the store against the bare insert,
        // interleaved in blocks so both see the same server and disk.
        let (pg, url) = fresh_pg(pooled.clone())?;
        let mission = pg.create_mission(Phase::Coding, json!({}).into())?;
        let mut raw = PgRawInserter::new(&url, pg.get_mission(&mission)?.id)?;
        let ledger = pg.create_mission(Phase::Coding, json!({}).into())?;
        let ledger = pg.get_mission(&ledger)?.id;
        // The same store as behind a transaction pooler: nothing prepared.
        let sep = if url.contains('?') { '&' } else { '?' };
        let unnamed = AnyStore::open_with(
            &format!("{url}{sep}prepared_statements=off"),
            pooled.clone(),
        )?;
        let unnamed_mission = unnamed.create_mission(Phase::Coding, json!({}).into())?;
        let sqlite = self.fresh_store(Durability::Full)?;
        let lite_mission = sqlite.create_mission(Phase::Coding, json!({}).into())?;
        let mut lite_raw = RawInserter::new(&sqlite, sqlite.get_mission(&lite_mission)?.id)?;
        let (mut floor, mut chained, mut store, mut lite_floor, mut lite_store) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut store_unnamed = Vec::new();
        // How long one store's `log_tool_call` takes.
        let timed = |store: &dyn MissionStore, mission: &MissionId, i: usize| {
            let start = Instant::now();
            store.log_tool_call(mission, NewToolCall::success("t", json!({ "i": i })))?;
            BenchResult::Ok(start.elapsed())
        };
        for i in 0..(self.config.ops / 10).max(50) {
            floor.push(raw.insert_one()?);
            chained.push(raw.insert_chained(ledger)?);
            store.push(timed(&pg, &mission, i)?);
            store_unnamed.push(timed(&unnamed, &unnamed_mission, i)?);
            lite_floor.push(lite_raw.insert_one()?);
            lite_store.push(timed(&sqlite, &lite_mission, i)?);
        }
        let (floor, chained, store, store_unnamed) = (
            super::median(floor),
            super::median(chained),
            super::median(store),
            super::median(store_unnamed),
        );
        let (lite_floor, lite_store) = (super::median(lite_floor), super::median(lite_store));
        self.row(
            "13",
            "postgres: bare INSERT, autocommit (rust-postgres)",
            "full",
            floor,
            Some((1.0, "floor")),
        )?;
        self.row(
            "13",
            "postgres: + mission lock + raw ledger row, 1 statement",
            "full",
            chained,
            Some((ratio(chained, floor), "of floor (the chain's storage)")),
        )?;
        self.row(
            "13",
            "postgres: PostgresStore::log_tool_call (p50)",
            "full",
            store,
            Some((
                ratio(store, floor),
                "of floor (prepared_statements=auto: prepared if proved direct)",
            )),
        )?;
        self.row(
            "13",
            "postgres: the same, prepared_statements=off",
            "full",
            store_unnamed,
            Some((
                ratio(store_unnamed, floor),
                "of floor (nothing prepared, as behind a pooler)",
            )),
        )?;
        self.row(
            "13",
            "sqlite: raw INSERT, one transaction per row",
            "full",
            lite_floor,
            Some((1.0, "floor")),
        )?;
        self.row(
            "13",
            "sqlite: SqliteStore::log_tool_call (p50)",
            "full",
            lite_store,
            Some((ratio(lite_store, lite_floor), "of floor")),
        )?;
        drop((pg, unnamed));

        // Writers at once, each on a mission of its own (an agent's own
        // trail), total throughput against one writer.
        let window = self.config.window;
        let (pg, _) = fresh_pg(pooled.clone())?;
        let pg_one = throughput(&pg, 1, window)?;
        let pg_many = throughput(&pg, WRITERS, window)?;
        let (pg_procs, pg_url) = fresh_pg(pooled.clone())?;
        drop(pg_procs);
        let pg_four = self.four_processes(&pg_url)?;
        let (pg_async, _) = fresh_pg(pooled.clone().durability(Durability::Normal))?;
        let pg_ceiling = throughput(&pg_async, WRITERS, window)?;
        drop(pg_async);
        let lite: AnyStore = self.fresh_store(Durability::Full)?.into();
        let lite_one = throughput(&lite, 1, window)?;
        let lite_many = throughput(&lite, WRITERS, window)?;
        let lite_async: AnyStore = self.fresh_store(Durability::Normal)?.into();
        let lite_ceiling = throughput(&lite_async, WRITERS, window)?;
        drop(lite_async);
        let lite_file = self.fresh_store(Durability::Full)?;
        let lite_path = lite_file.path().display().to_string();
        drop(lite_file);
        let lite_four = self.four_processes(&lite_path)?;
        for (backend, one, many, four, ceiling) in [
            ("postgres", pg_one, pg_many, pg_four, pg_ceiling),
            ("sqlite", lite_one, lite_many, lite_four, lite_ceiling),
        ] {
            self.row(
                "13",
                &format!("{backend}: 1 writer"),
                "full",
                one,
                Some((1.0, "of 1 writer")),
            )?;
            self.row(
                "13",
                &format!("{backend}: {WRITERS} writers in one process (total)"),
                "full",
                many,
                Some((ratio(one, many), "of 1 writer")),
            )?;
            self.row(
                "13",
                &format!("{backend}: 4 processes x 4 threads (total)"),
                "full",
                four,
                Some((ratio(one, four), "of 1 writer")),
            )?;
            self.row(
                "13",
                &format!("{backend}: {WRITERS} writers, no flush per commit (CPU)"),
                "normal",
                ceiling,
                Some((ratio(one, ceiling), "of 1 writer")),
            )?;
        }
        drop(pg);

        // History of one mission among 10,000 on 1,000,000 tool calls.
        let (missions, per_mission) = (
            self.config.scale_missions.max(1),
            (self.config.scale_calls / self.config.scale_missions.max(1)).max(1),
        );
        let (pg, pg_url) = fresh_pg(pooled)?;
        let start = Instant::now();
        let pg_ids = bulk_history(&pg_url, missions, per_mission)?;
        let pg_built = start.elapsed();
        let lite = self.fresh_store(Durability::Normal)?;
        let start = Instant::now();
        let lite_ids = bulk_history(&lite.path().display().to_string(), missions, per_mission)?;
        let lite_built = start.elapsed();
        writeln!(
            self.out,
            "    (loaded {} tool calls over {missions} missions: postgres {:.1} s, sqlite {:.1} s)",
            missions * per_mission,
            pg_built.as_secs_f64(),
            lite_built.as_secs_f64()
        )?;
        let lite: AnyStore = lite.into();
        for (backend, store, ids) in [("postgres", &pg, &pg_ids), ("sqlite", &lite, &lite_ids)] {
            let history = sample(300, |k| {
                let mission: MissionId = ids[(k * 7919) % ids.len()].parse()?;
                let start = Instant::now();
                let calls = store.get_tool_history(&mission)?;
                if calls.len() as u64 != per_mission {
                    return Err(
                        format!("expected {per_mission} calls, read {}", calls.len()).into(),
                    );
                }
                Ok(start.elapsed())
            })?;
            self.row(
                "13",
                &format!(
                    "{backend}: get_tool_history, {per_mission} of {} calls",
                    missions * per_mission
                ),
                "-",
                history,
                None,
            )?;
        }
        // The databases made here go with the row (a server given with
        // --postgres keeps nothing of the run).
        drop((pg, lite));
        for n in 1..=databases {
            admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS vibe_bench_{}_{n} WITH (FORCE)",
                std::process::id()
            ))?;
        }
        Ok(())
    }

    /// Four `vibe-bench --writer` processes of four threads, started
    /// together; their total calls per second, as time per call.
    fn four_processes(&mut self, location: &str) -> BenchResult<Duration> {
        let window = self.config.window;
        let start_at = SystemTime::now().duration_since(UNIX_EPOCH)? + Duration::from_secs(2);
        let children: Vec<_> = (0..4)
            .map(|_| {
                Command::new(&self.config.bench_binary)
                    .args(["--writer", location, "--writer-threads", "4"])
                    .arg("--writer-start-ms")
                    .arg(start_at.as_millis().to_string())
                    .arg("--window-ms")
                    .arg(window.as_millis().to_string())
                    .stdout(Stdio::piped())
                    .spawn()
            })
            .collect::<Result<_, _>>()?;
        let mut total = 0u64;
        for child in children {
            let out = child.wait_with_output()?;
            if !out.status.success() {
                return Err("a writer process failed".into());
            }
            total += String::from_utf8_lossy(&out.stdout).trim().parse::<u64>()?;
        }
        Ok(window / total.max(1) as u32)
    }
}

/// Mean time per call of `writers` threads, each logging to a mission of
/// its own for `window`.
fn throughput(store: &AnyStore, writers: usize, window: Duration) -> BenchResult<Duration> {
    let done = write_for(store, writers, Instant::now(), window)?;
    Ok(window / done.max(1) as u32)
}

/// `writers` threads logging from `start` for `window`; calls made.
fn write_for(
    store: &AnyStore,
    writers: usize,
    start: Instant,
    window: Duration,
) -> BenchResult<u64> {
    let missions: Vec<MissionId> = (0..writers)
        .map(|_| store.create_mission(Phase::Coding, json!({}).into()))
        .collect::<Result<_, _>>()?;
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = missions
        .into_iter()
        .map(|mission| {
            let (store, stop, done) = (store.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let call = NewToolCall::success("concurrent", json!({ "i": i }));
                    store.log_tool_call(&mission, call).expect("durable write");
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep((start + window).saturating_duration_since(Instant::now()));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().map_err(|_| "writer thread panicked")?;
    }
    Ok(done.load(Ordering::Relaxed))
}

/// `vibe-bench --writer LOCATION`: the writer process of the four-process
/// row. Waits for `start_ms` (Unix time), writes from `threads` threads for
/// `window`, and returns how many calls it made.
pub fn writer_process(
    location: &str,
    threads: usize,
    start_ms: u64,
    window: Duration,
) -> BenchResult<u64> {
    let options = OpenOptions::default().max_connections(threads);
    let store = AnyStore::open_with(location, options)?;
    let start_at = UNIX_EPOCH + Duration::from_millis(start_ms);
    if let Ok(wait) = start_at.duration_since(SystemTime::now()) {
        std::thread::sleep(wait);
    }
    write_for(&store, threads, Instant::now(), window)
}
