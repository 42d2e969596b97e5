//! Row 11: `vibe mcp` round trips, beside `Runtime::run` and beside the
//! same echo tool served by the official MCP Python SDK, all driven by one
//! client: this module's, speaking JSON-RPC lines over the server's stdio.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use vibe_store::sandbox::{Request, Runtime, RuntimeConfig};
use vibe_store::store::{Durability, MissionStore, Phase};

use super::{fmt, median, per_sec, ratio, timed, Bench, BenchResult};

/// Calls per measured pass.
const CALLS: usize = 1000;

/// A JSON-RPC client on a server process's stdin and stdout.
struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
}

impl Client {
    fn start(command: &mut Command) -> BenchResult<Client> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut client = Client {
            child,
            stdin,
            stdout,
            next_id: 0,
        };
        let id = client.send(
            "initialize",
            json!({ "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": { "name": "vibe-bench", "version": "1" } }),
        )?;
        client.answer(id)?;
        writeln!(
            client.stdin,
            "{}",
            json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })
        )?;
        Ok(client)
    }

    fn send(&mut self, method: &str, params: Value) -> BenchResult<i64> {
        self.next_id += 1;
        let message =
            json!({ "jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params });
        writeln!(self.stdin, "{message}")?;
        self.stdin.flush()?;
        Ok(self.next_id)
    }

    /// The next response (notifications skipped): its id.
    fn any_answer(&mut self) -> BenchResult<i64> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line)? == 0 {
                return Err("the server closed its stdout".into());
            }
            let message: Value = serde_json::from_str(&line)?;
            if let Some(id) = message.get("id").and_then(Value::as_i64) {
                if message.get("error").is_some() || message["result"]["isError"] == true {
                    return Err(format!("the call failed: {message}").into());
                }
                return Ok(id);
            }
        }
    }

    fn answer(&mut self, id: i64) -> BenchResult<()> {
        match self.any_answer()? {
            got if got == id => Ok(()),
            got => Err(format!("expected the answer to {id}, got {got}").into()),
        }
    }

    fn call(&mut self, tool: &str, arguments: &Value) -> BenchResult<i64> {
        self.send(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        )
    }

    /// `CALLS` calls one at a time: each round trip.
    fn sequential(&mut self, tool: &str, arguments: &Value) -> BenchResult<Vec<Duration>> {
        (0..CALLS)
            .map(|_| {
                let start = Instant::now();
                let id = self.call(tool, arguments)?;
                self.answer(id)?;
                Ok(start.elapsed())
            })
            .collect()
    }

    /// `CALLS` calls with `depth` in flight: each round trip.
    fn in_flight(
        &mut self,
        tool: &str,
        arguments: &Value,
        depth: usize,
    ) -> BenchResult<Vec<Duration>> {
        let mut started: HashMap<i64, Instant> = HashMap::new();
        let mut times = Vec::with_capacity(CALLS);
        let mut sent = 0;
        while times.len() < CALLS {
            while sent < CALLS && started.len() < depth {
                let id = self.call(tool, arguments)?;
                started.insert(id, Instant::now());
                sent += 1;
            }
            let id = self.any_answer()?;
            let start = started.remove(&id).ok_or("an answer to no call")?;
            times.push(start.elapsed());
        }
        Ok(times)
    }
}

impl Client {
    /// The server process's CPU time so far (all its threads, user and
    /// system), as Linux's `/proc` counts it: in clock ticks of 10 ms.
    fn cpu_time(&self) -> BenchResult<Duration> {
        cpu_time(&format!("/proc/{}/stat", self.child.id()))
    }

    /// [`Client::sequential`], and the server's CPU time per call.
    fn sequential_cpu(
        &mut self,
        tool: &str,
        arguments: &Value,
    ) -> BenchResult<(Duration, Vec<Duration>)> {
        let before = self.cpu_time()?;
        let times = self.sequential(tool, arguments)?;
        let used = self.cpu_time()?.saturating_sub(before);
        Ok((used / CALLS as u32, times))
    }
}

/// The CPU time (user and system, all threads) of the process whose
/// `/proc/PID/stat` is `stat`: fields 14 and 15, in `USER_HZ` ticks (100 a
/// second on Linux, whatever the kernel's own tick).
fn cpu_time(stat: &str) -> BenchResult<Duration> {
    let text = std::fs::read_to_string(stat)?;
    // The command name (field 2) may hold spaces: count from its `)`.
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .ok_or("a /proc stat without a command")?
        .1
        .split_whitespace()
        .collect();
    let ticks = |at: usize| -> BenchResult<u64> {
        Ok(fields.get(at).ok_or("a short /proc stat")?.parse()?)
    };
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort_unstable();
    let at = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(at).copied().unwrap_or_default()
}

/// One durability's measures: the same echo calls in-process and over
/// `vibe mcp`.
struct Pass {
    /// `Runtime::run`, one at a time.
    direct: Duration,
    /// `Runtime::run` from 8 threads at once, each calling again as soon
    /// as its call returns: 8 over the calls done a second, the time a call
    /// takes with 8 always in flight (Little's law; a median of each call's
    /// own time would miss the time a thread waits to be scheduled between
    /// calls).
    direct_8: Duration,
    sequential: Vec<Duration>,
    in_flight: Vec<Duration>,
    /// The SDK alone ([`crate::mcp_floor`]): one at a time, and 8 in flight.
    floor_sequential: Vec<Duration>,
    floor_in_flight: Vec<Duration>,
    /// CPU time a call (one at a time): `Runtime::run` in this process,
    /// the `vibe mcp` process, the SDK-alone process.
    cpu: [Duration; 3],
}

impl Bench<'_> {
    fn mcp_pass(&mut self, durability: Durability, arguments: &Value) -> BenchResult<Pass> {
        let echo = &self.config.echo_component;
        // The baseline: the same tool run in-process, same durability.
        let store = self.fresh_store(durability)?;
        let mission = store.create_mission(Phase::Coding, json!({}).into())?;
        let runtime = Runtime::new(store.clone(), RuntimeConfig::default())?;
        let tool = runtime.load(echo)?;
        let request = Request::new(mission, arguments.clone());
        let before = cpu_time("/proc/self/stat")?;
        let direct = timed(CALLS, |_| {
            runtime.run(&tool, &request)?;
            Ok(())
        })?;
        let direct_cpu = cpu_time("/proc/self/stat")?.saturating_sub(before) / CALLS as u32;
        // All 8 start together (a thread started late would run alone).
        let start_line = std::sync::Barrier::new(9);
        let direct_8 = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        start_line.wait();
                        (0..CALLS / 8).try_for_each(|_| runtime.run(&tool, &request).map(|_| ()))
                    })
                })
                .collect();
            start_line.wait();
            let start = Instant::now();
            for thread in threads {
                thread.join().map_err(|_| "a thread panicked")??;
            }
            Ok::<_, Box<dyn std::error::Error>>(start.elapsed() * 8 / (CALLS / 8 * 8) as u32)
        })?;

        self.db_seq += 1;
        let db = self.config.dir.join(format!("mcp-{}.db", self.db_seq));
        let mut vibe = Client::start(
            Command::new(&self.config.vibe_binary)
                .arg("--db")
                .arg(&db)
                .args(["--durability", durability.as_str()])
                .arg("mcp")
                .arg(echo),
        )?;
        vibe.sequential("echo", arguments)?; // warm: compiled, cached
        let (vibe_cpu, sequential) = vibe.sequential_cpu("echo", arguments)?;
        let in_flight = vibe.in_flight("echo", arguments, 8)?;
        drop(vibe);
        let mut floor =
            Client::start(Command::new(&self.config.bench_binary).arg("--serve-mcp-floor"))?;
        floor.sequential("echo", arguments)?; // warm
        let (floor_cpu, floor_sequential) = floor.sequential_cpu("echo", arguments)?;
        let floor_in_flight = floor.in_flight("echo", arguments, 8)?;
        Ok(Pass {
            direct,
            direct_8,
            sequential,
            in_flight,
            floor_sequential,
            floor_in_flight,
            cpu: [direct_cpu, vibe_cpu, floor_cpu],
        })
    }

    /// Row 11: the echo tool over MCP.
    pub(super) fn mcp_rows(&mut self) -> BenchResult<()> {
        let arguments = json!({ "query": "rate limits", "k": 5 });
        let pass = self.mcp_pass(Durability::Full, &arguments)?;
        let direct = pass.direct;
        self.row(
            "11",
            "Runtime::run of echo (full durability)",
            "-",
            direct,
            None,
        )?;
        let (seq_p50, seq_p99) = (
            median(pass.sequential.clone()),
            percentile(pass.sequential.clone(), 0.99),
        );
        let (par_p50, par_p99) = (
            median(pass.in_flight.clone()),
            percentile(pass.in_flight.clone(), 0.99),
        );
        self.row(
            "11",
            "vibe mcp: echo round trip over stdio, p50",
            "1 at once",
            seq_p50,
            Some((ratio(seq_p50, direct), "of Runtime::run")),
        )?;
        writeln!(
            self.out,
            "11  vibe mcp: p99 {}, one at a time; {} p50 / {} p99 with 8 in flight ({:.0} calls/s; \
             Runtime::run from 8 threads: {} a call); overhead over Runtime::run {} per call",
            fmt(seq_p99),
            fmt(par_p50),
            fmt(par_p99),
            8.0 * per_sec(par_p50),
            fmt(pass.direct_8),
            fmt(seq_p50.saturating_sub(direct)),
        )?;
        self.mcp_floor_line("full", &pass, seq_p50, par_p50)?;
        // The same without an fsync per commit: what the server adds, with
        // the disk's share (two commits a call) out of the figures.
        let normal = self.mcp_pass(Durability::Normal, &arguments)?;
        let (n_seq, n_par) = (
            median(normal.sequential.clone()),
            median(normal.in_flight.clone()),
        );
        writeln!(
            self.out,
            "11  durability normal: Runtime::run {}, vibe mcp p50 {} (overhead {}); 8 in flight \
             p50 {}, Runtime::run from 8 threads {}",
            fmt(normal.direct),
            fmt(n_seq),
            fmt(n_seq.saturating_sub(normal.direct)),
            fmt(n_par),
            fmt(normal.direct_8),
        )?;
        self.mcp_floor_line("normal", &normal, n_seq, n_par)?;

        // The same tool, the same client, the official Python SDK's server.
        let python = &self.config.python;
        let script = &self.config.python_echo_server;
        if !python.is_file() || !script.is_file() {
            writeln!(
                self.out,
                "11  Python MCP server: skipped ({} or {} missing; `./x bench` sets them up)",
                python.display(),
                script.display()
            )?;
            return Ok(());
        }
        let py_db = self.config.dir.join("python-mcp.db");
        let mut py = Client::start(Command::new(python).arg(script).arg(&py_db))?;
        let py_arguments = json!({ "value": arguments });
        for _ in 0..50 {
            let id = py.call("echo", &py_arguments)?;
            py.answer(id)?;
        }
        let py_times = py.sequential("echo", &py_arguments)?;
        drop(py);
        let py_p50 = median(py_times);
        self.row(
            "11",
            "Python SDK MCPServer echo + SQLite per call, p50",
            "1 at once",
            py_p50,
            Some((ratio(py_p50, seq_p50), "of vibe mcp")),
        )?;
        writeln!(
            self.out,
            "11  the Python SDK's server: {:.2}x of Runtime::run (what a server that added nothing \
             would reach)",
            ratio(py_p50, direct)
        )?;
        check_logged(&py_db)?;
        Ok(())
    }
}

impl Bench<'_> {
    /// The SDK's own round trip beside `vibe mcp`'s: what any server on the
    /// SDK pays before its tool runs, and what `vibe mcp` adds over it (the
    /// store, the sandbox and the gate).
    fn mcp_floor_line(
        &mut self,
        durability: &str,
        pass: &Pass,
        vibe_p50: Duration,
        vibe_par_p50: Duration,
    ) -> BenchResult<()> {
        let (floor_p50, floor_par_p50) = (
            median(pass.floor_sequential.clone()),
            median(pass.floor_in_flight.clone()),
        );
        let overhead = vibe_p50.saturating_sub(pass.direct);
        writeln!(
            self.out,
            "11  the SDK alone, again in the {durability} pass (rmcp on its stdio transport, a tool \
             that does nothing, no store) p50 {} one at a time, {} with 8 in flight (vibe mcp {}); \
             of vibe mcp's overhead over Runtime::run ({}), the SDK's round trip is {}, the rest {}",
            fmt(floor_p50),
            fmt(floor_par_p50),
            fmt(vibe_par_p50),
            fmt(overhead),
            fmt(floor_p50),
            fmt(overhead.saturating_sub(floor_p50)),
        )?;
        let hop = thread_hop(pass.direct);
        writeln!(
            self.out,
            "11  durability {durability}: a hop to another thread and back, after a pause as long \
             as Runtime::run ({}), as vibe mcp hands each call to a blocking thread and takes its \
             answer back (the SDK alone makes no such hop): p50 {}; the SDK's round trip and this \
             hop come to {} of the overhead ({})",
            fmt(pass.direct),
            fmt(hop),
            fmt(floor_p50 + hop),
            fmt(overhead),
        )?;
        let [run_cpu, vibe_cpu, floor_cpu] = pass.cpu;
        writeln!(
            self.out,
            "11  durability {durability}: CPU time a call, one at a time (all threads; /proc's 10 \
             ms ticks over {CALLS} calls, so to 10 us): Runtime::run {}, vibe mcp {} ({} more), the \
             SDK alone {}",
            fmt(run_cpu),
            fmt(vibe_cpu),
            fmt(vibe_cpu.saturating_sub(run_cpu)),
            fmt(floor_cpu),
        )?;
        Ok(())
    }
}

/// The median time to wake another thread and be woken by it, each time
/// after `pause` idle (both threads asleep, as a server's are while a call
/// runs elsewhere): the price of one hand-over and back on this machine.
fn thread_hop(pause: Duration) -> Duration {
    let (there, arrived) = std::sync::mpsc::channel::<()>();
    let (back, returned) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        while arrived.recv().is_ok() {
            if back.send(()).is_err() {
                break;
            }
        }
    });
    let mut hops = Vec::with_capacity(CALLS / 2);
    for _ in 0..CALLS / 2 {
        std::thread::sleep(pause);
        let start = Instant::now();
        if there.send(()).is_err() || returned.recv().is_err() {
            break;
        }
        hops.push(start.elapsed());
    }
    drop(there);
    let _ = other.join();
    median(hops)
}

/// The Python server really logged its calls (the comparison is honest).
fn check_logged(db: &Path) -> BenchResult<()> {
    let conn = rusqlite::Connection::open(db)?;
    let rows: i64 = conn.query_row("SELECT COUNT(*) FROM tool_calls", [], |r| r.get(0))?;
    if rows < CALLS as i64 {
        return Err(
            format!("the Python server logged {rows} calls, expected at least {CALLS}").into(),
        );
    }
    Ok(())
}
