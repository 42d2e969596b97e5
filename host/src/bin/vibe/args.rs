//! What `vibe` accepts: every command, flag and argument, as clap reads
//! them, and how a time on the command line is parsed.
//!
//! Definitions only: what a command does with its arguments is in
//! `commands/`. The benchmark's flags are `vibe-bench`'s own
//! (`commands/bench.rs` passes them through).

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use vibe_store::mcp::{
    DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_SESSIONS,
    DEFAULT_SESSION_IDLE,
};
use vibe_store::sandbox::{ranges, Limits, DEFAULT_MAX_COMPONENT_BYTES};
use vibe_store::store::{DEFAULT_DB_PATH, MAX_JSON_BYTES, MAX_PAGE_ROWS};
use vibe_store::{Durability, MissionId, MissionStatus, OpenOptions, Phase};

use crate::commands::bench::BenchArgs;
use crate::Failure;

// The numbers flags accept, each written once. Bounds and defaults the
// library exports are taken from it (`MAX_PAGE_ROWS`, `MAX_JSON_BYTES`,
// `Limits::default()`, `OpenOptions::default()`, the `mcp` defaults); the
// ranges below without one mirror checks the library keeps to itself
// (`Limits`'s setters say the same numbers when refusing) or are the command
// line's own. Help texts repeat them for the reader.

/// `--busy-timeout-ms`: up to a day.
const BUSY_TIMEOUT_MS: RangeInclusive<u64> = 0..=86_400_000;
/// `vibe run --timeout-ms`, as `Limits::timeout` accepts it.
const TIMEOUT_MS: RangeInclusive<u64> = ranges::TIMEOUT_MS;
/// `vibe run --memory-mb`, as `Limits::memory_mb` accepts it.
const MEMORY_MB: RangeInclusive<u64> =
    *ranges::MEMORY_MB.start() as u64..=*ranges::MEMORY_MB.end() as u64;
/// `vibe run --max-page-rows` and `vibe mission list --limit`: a page.
const PAGE_ROWS: RangeInclusive<i64> = 1..=MAX_PAGE_ROWS as i64;
/// `vibe run --max-json-bytes`, as `Limits::max_json_bytes` accepts it.
const JSON_BYTES: RangeInclusive<u64> = 2..=MAX_JSON_BYTES as u64;
/// `vibe run --max-page-bytes`, as `Limits::max_page_bytes` accepts it.
const PAGE_BYTES: RangeInclusive<u64> =
    *ranges::PAGE_BYTES.start() as u64..=*ranges::PAGE_BYTES.end() as u64;
/// `vibe run --max-component-mb`.
const COMPONENT_MB: RangeInclusive<u64> = 1..=4096;
/// `--limit` of `vibe tools` and `vibe decisions` (rows are streamed, not
/// paged).
const LISTED_ROWS: RangeInclusive<i64> = 1..=1_000_000;
/// `vibe mcp --max-sessions`.
const SESSIONS: RangeInclusive<u64> = 1..=65_536;
/// `vibe mcp --session-idle-secs`: up to a day.
const SESSION_IDLE_SECS: RangeInclusive<u64> = 1..=86_400;
/// `vibe mcp --max-inflight-bytes`.
const INFLIGHT_BYTES: RangeInclusive<u64> = 1024..=u32::MAX as u64;
/// `vibe mcp --max-message-bytes`.
const MESSAGE_BYTES: RangeInclusive<u64> = 1024..=256 << 20;
/// `vibe mcp --max-pending-calls`.
const PENDING_CALLS: RangeInclusive<u64> = 1..=4096;
/// `vibe mcp --slots`.
const SLOTS: RangeInclusive<i64> = 1..=256;

/// `vibe --help`: the commands grouped by what a user wants to do.
const HELP: &str = "\
{about}

{usage-heading} {usage}

Record a mission:
  init        Create or upgrade the database; print its path and schema version
  mission     Create missions, set their status, show and list them
  log         Log a tool call (a failed one with --error); prints its id
  decide      Record a decision; prints its id

Inspect the trail:
  tools       A mission's tool calls (or every mission's), with filters
  tool        One tool call in full
  decisions   A mission's decisions (or every mission's), with filters
  stats       Per tool: calls, failures, p50/p95/max duration
  memory      A mission's agent memory: list keys, get or delete one
  playbooks   A mission's playbook runs

Keep and hand over:
  export      Missions with all their rows, exactly as stored (JSON lines)
  import      Restore an export (twice changes nothing)
  copy        Move a whole store between SQLite and PostgreSQL (resumable)
  backup      Copy the database while writers keep writing, checked
  prune       Delete old missions in short batches
  verify      Check missions' hash chains: edited, deleted, inserted rows

Run tools in the sandbox:
  run         Run a tool (a WebAssembly component) for a mission
  compile     Compile tools ahead of time, so no agent waits for the compiler
  mcp         Serve tools to agents over MCP (stdio or HTTP), every call audited
  demo        Create a mission and run the example planner on it

Measure:
  bench       The store and the sandbox on this machine, side by side

Options:
{options}

Run `vibe COMMAND --help` for a command's own options.
";

#[derive(Parser)]
#[command(name = "vibe", version, about = "Run and inspect AI-agent missions", help_template = HELP)]
pub struct Cli {
    /// The database: a SQLite file's path, or a PostgreSQL server as
    /// postgres://USER@HOST:PORT/DB (libpq's sslmode and connect_timeout
    /// apply, and prepared_statements=auto|on|off; the password comes from
    /// PGPASSWORD or ~/.pgpass).
    #[arg(long, global = true, env = "VIBE_DB", default_value = DEFAULT_DB_PATH)]
    pub db: String,

    /// full: every acknowledged write survives power loss; normal: survives a process crash.
    #[arg(long, global = true, env = "VIBE_DURABILITY", default_value = "full")]
    pub durability: Durability,

    /// Open the database for reading only, whatever the command (reading
    /// commands always do).
    #[arg(long, global = true)]
    pub read_only: bool,

    /// How long a write waits for a lock another process holds, in ms (0 to
    /// 86400000).
    #[arg(long, global = true,
          default_value_t = OpenOptions::default().busy_timeout.as_millis() as u64,
          value_parser = clap::value_parser!(u64).range(BUSY_TIMEOUT_MS))]
    pub busy_timeout_ms: u64,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create or upgrade the database; print its path and schema version.
    Init {
        /// Print {"path", "schema_version"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create, update and inspect missions.
    #[command(subcommand)]
    Mission(MissionCommand),
    /// Log a tool call; a failed call when --error is given. Prints the new id.
    Log(LogArgs),
    /// Record a decision. Prints the new id.
    Decide(DecideArgs),
    /// List a mission's tool calls (or every mission's), oldest first, with filters.
    Tools(ToolsArgs),
    /// List a mission's decisions (or every mission's), oldest first, with filters.
    Decisions(DecisionsArgs),
    /// Show one tool call in full.
    Tool {
        /// The tool call's id (the ID column of `vibe tools`).
        id: i64,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Per tool: calls, failures, failure rate, p50/p95/max duration, first
    /// and last call; over one mission, or all.
    Stats {
        /// The mission's UUID (default: every mission).
        uuid: Option<String>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// A mission's agent memory: its live keys (with expiry), or get/delete one.
    Memory(MemoryArgs),
    /// Copy the database to a new file while writers keep writing; the copy
    /// is checked with integrity_check before success is reported.
    Backup {
        /// The new file.
        path: PathBuf,
        /// Print {"path", "bytes", "integrity"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write missions with all their rows, exactly as stored, one JSON line
    /// each.
    Export(ExportArgs),
    /// Restore an export into this database (missions already here are
    /// left alone, so importing twice changes nothing).
    Import {
        /// The file `vibe export` wrote (`-` for stdin).
        file: PathBuf,
    },
    /// Copy every mission with all its rows from one store to another
    /// (SQLite file or PostgreSQL URL, either way), keeping uuids,
    /// timestamps and JSON text byte for byte. Each mission is one
    /// transaction: run it again to finish an interrupted copy; missions
    /// already copied are left alone. Progress on stderr.
    Copy {
        /// The store to copy from: a SQLite file or postgres://USER@HOST:PORT/DB.
        #[arg(long)]
        from: String,
        /// The store to copy to (created if it does not exist).
        #[arg(long)]
        to: String,
        /// Print {"copied", "already_there", "rows"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete whole missions (and their rows) created before a time, in
    /// batches that hold the write lock about 100 ms each; prints each
    /// mission it deletes.
    Prune(PruneArgs),
    /// Recompute missions' hash chains and report rows edited, deleted,
    /// inserted out of chain, and unchained (written by other programs).
    /// Exit status 0: intact; 5: tampering found.
    Verify(VerifyArgs),
    /// A mission's playbook runs, oldest first.
    Playbooks {
        /// The mission's UUID.
        uuid: String,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Run an agent tool (a WebAssembly component) in the sandbox for a
    /// mission; prints the tool's JSON output alone.
    Run(RunArgs),
    /// Compile tools (WebAssembly components) ahead of time into the
    /// component cache (VIBE_CACHE_DIR, else ~/.cache/vibe-store/components),
    /// so that `vibe run` and `vibe mcp` load them without compiling. Prints
    /// one line per component: compiled, or already compiled.
    Compile(CompileArgs),
    /// Serve tools (WebAssembly components) to agents over the Model
    /// Context Protocol, sandboxed, every call a row in the session's
    /// mission.
    Mcp(McpArgs),
    /// Create a mission, run the example planner tool on it in the sandbox,
    /// and print the mission with its tool calls and decisions.
    Demo(DemoArgs),
    /// Measure the store and the sandbox on this machine: runs the
    /// `vibe-bench` executable (beside this one, else on PATH) with these
    /// arguments; `./x bench` builds both and runs it in release.
    Bench(BenchArgs),
}

#[derive(Args)]
pub struct CompileArgs {
    /// The component files (.wasm).
    #[arg(required = true)]
    pub components: Vec<PathBuf>,
    /// Largest component file loaded, in MiB (1 to 4096).
    #[arg(long, default_value_t = DEFAULT_MAX_COMPONENT_BYTES >> 20,
          value_parser = clap::value_parser!(u64).range(COMPONENT_MB))]
    pub max_component_mb: u64,
}

#[derive(Args)]
pub struct RunArgs {
    /// The component file (.wasm).
    pub component: PathBuf,
    /// The mission the tool runs for (the only one it may write to).
    #[arg(long)]
    pub mission: String,
    /// The tool's input, as JSON; `@FILE` reads it from FILE, `-` from
    /// stdin (up to 1 MiB).
    #[arg(long, default_value = "{}")]
    pub input: String,
    /// The tool name recorded in the audit trail (default: the file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Extra permissions; repeat for several.
    #[arg(long = "grant", value_enum)]
    pub grants: Vec<GrantArg>,
    /// Wall-clock limit for the whole invocation, in ms (1 to 3600000).
    #[arg(long, default_value_t = Limits::default().timeout_duration().as_millis() as u64,
          value_parser = clap::value_parser!(u64).range(TIMEOUT_MS))]
    pub timeout_ms: u64,
    /// Linear memory limit, in MiB (1 to 4096).
    #[arg(long, default_value_t = (Limits::default().memory_bytes() >> 20) as u64,
          value_parser = clap::value_parser!(u64).range(MEMORY_MB))]
    pub memory_mb: u64,
    /// Rows per history page the tool may ask for (1 to 1000).
    #[arg(long, default_value_t = MAX_PAGE_ROWS,
          value_parser = clap::value_parser!(u32).range(PAGE_ROWS))]
    pub max_page_rows: u32,
    /// Bytes of any one JSON value crossing the boundary (2 to 1048576).
    #[arg(long, default_value_t = MAX_JSON_BYTES as u64,
          value_parser = clap::value_parser!(u64).range(JSON_BYTES))]
    pub max_json_bytes: u64,
    /// Bytes of row text one history page returned to the tool may hold
    /// (1024 to 268435456; default: 4 times --max-json-bytes).
    #[arg(long, value_parser = clap::value_parser!(u64).range(PAGE_BYTES))]
    pub max_page_bytes: Option<u64>,
    /// Print {"call_id", "duration_ms", "outcome", "output", "error"} as
    /// JSON (the exit code still says how the tool ended).
    #[arg(long)]
    pub json: bool,
    /// Largest component file loaded, in MiB (1 to 4096).
    #[arg(long, default_value_t = DEFAULT_MAX_COMPONENT_BYTES >> 20,
          value_parser = clap::value_parser!(u64).range(COMPONENT_MB))]
    pub max_component_mb: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GrantArg {
    /// May create missions (and write to the ones it creates).
    CreateMissions,
    /// May read every mission and list them.
    ReadAllMissions,
}

#[derive(Args)]
pub struct DemoArgs {
    /// The planner component (default: planner.wasm in VIBE_GUEST_DIR,
    /// which `./x demo` sets).
    #[arg(long)]
    pub component: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum MissionCommand {
    /// Create a mission; prints its UUID alone.
    Create {
        /// PLANNING, CODING, TESTING, DEPLOYMENT or MAINTENANCE (any case).
        #[arg(long)]
        phase: String,
        /// JSON metadata; `@FILE` reads it from FILE, `-` from stdin (up to
        /// 1 MiB).
        #[arg(long, default_value = "{}")]
        metadata: String,
    },
    /// Set a mission's status: pending, in_progress, completed or failed.
    Status { uuid: String, status: String },
    /// Show one mission.
    Show {
        uuid: String,
        #[arg(long)]
        json: bool,
    },
    /// List missions, newest first (by creation time, then id), with filters.
    List(MissionListArgs),
}

#[derive(Args)]
pub struct LogArgs {
    /// The mission's UUID.
    pub uuid: String,
    /// The tool's name.
    #[arg(long)]
    pub tool: String,
    /// The call's arguments, as JSON; `@FILE` reads them from FILE, `-`
    /// from stdin (up to 1 MiB).
    #[arg(long)]
    pub args: String,
    /// The call's result, as JSON; `@FILE` or `-` as for --args.
    #[arg(long)]
    pub result: Option<String>,
    /// Marks the call failed, with this message.
    #[arg(long)]
    pub error: Option<String>,
    /// How long the call took, in milliseconds (0 to 31536000000, a year).
    #[arg(long, allow_negative_numbers = true)]
    pub duration_ms: Option<i64>,
}

#[derive(Args)]
pub struct DecideArgs {
    /// The mission's UUID.
    pub uuid: String,
    #[arg(long = "type")]
    pub decision_type: String,
    #[arg(long)]
    pub rationale: String,
    #[arg(long)]
    pub agent: String,
    /// Context, as JSON; `@FILE` reads it from FILE, `-` from stdin (up to
    /// 1 MiB).
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Args)]
pub struct ExportArgs {
    /// These missions (default: all).
    pub uuids: Vec<String>,
    /// Only missions created at or after TIME.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// jsonl: one mission a line, exactly as stored; otlp: OpenTelemetry
    /// traces (OTLP/JSON).
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One mission a line: its rows as stored, with its hash chain.
    Jsonl,
    /// One OTLP/JSON ExportTraceServiceRequest a line: a mission is a
    /// trace, each tool call an execute_tool span (GenAI conventions).
    Otlp,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Missions created before TIME (RFC 3339, a date, or a span back from
    /// now such as 30d).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub before: DateTime<Utc>,
    /// Only missions in these statuses (default: completed,failed; missions
    /// still open are kept unless named here).
    #[arg(long, value_delimiter = ',', default_value = "completed,failed")]
    pub status: Vec<MissionStatus>,
    /// Print what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Then rebuild the file to return the freed space (VACUUM: holds the
    /// write lock while it runs). Without it the space is reused by later
    /// writes.
    #[arg(long, conflicts_with = "dry_run")]
    pub vacuum: bool,
    /// Print one JSON object a pruned mission.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct MemoryArgs {
    #[command(subcommand)]
    pub command: Option<MemoryCommand>,
    /// The mission's UUID: list its live keys.
    #[arg(required = true)]
    pub uuid: Option<String>,
    /// Print a JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum MemoryCommand {
    /// Print one key's value (exit 3 if absent or expired).
    Get {
        /// The mission's UUID.
        uuid: String,
        /// The key.
        key: String,
    },
    /// Delete one key; prints whether a live entry was there.
    Delete {
        /// The mission's UUID.
        uuid: String,
        /// The key.
        key: String,
    },
}

#[derive(Args)]
pub struct MissionListArgs {
    /// At most N missions (1 to 1000).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(PAGE_ROWS))]
    pub limit: u32,
    /// Only missions in this status.
    #[arg(long)]
    pub status: Option<MissionStatus>,
    /// Only missions in this phase.
    #[arg(long)]
    pub phase: Option<Phase>,
    /// Only missions created at or after TIME (as for `vibe tools`).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only missions created before TIME.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Only missions whose metadata contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// The next page: missions after the one with this row id (the ID
    /// column) in this order.
    #[arg(long, value_name = "ID")]
    pub before_id: Option<i64>,
    /// Print one JSON array, with the schema's column names.
    #[arg(long)]
    pub json: bool,
}

/// Which rows a listing shows: one mission's or all, a time window, paging.
/// One of the mission's UUID and `--all-missions` is required (a group, so
/// that the usage line names both).
#[derive(Args)]
#[command(group(clap::ArgGroup::new("missions").required(true).args(["uuid", "all_missions"])))]
pub struct Selection {
    /// The mission's UUID (or --all-missions).
    pub uuid: Option<String>,
    /// Search every mission; rows carry their mission's id.
    #[arg(long)]
    pub all_missions: bool,
    /// At most N rows (1 to 1000000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(LISTED_ROWS))]
    pub limit: Option<u32>,
    /// Only rows with an id above ID (paging: pass the last id you saw).
    #[arg(long, value_name = "ID")]
    pub after: Option<i64>,
    /// Only rows at or after TIME: RFC 3339 (2026-11-27T10:00:00Z), a date
    /// (2026-11-27), or a span back from now (30s, 15m, 2h, 7d, 1w).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only rows before TIME (same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Print one JSON array, with the schema's column names (with
    /// --follow: one JSON object a line).
    #[arg(long)]
    pub json: bool,
    /// Keep printing rows as they are committed, by this or any other
    /// process, until interrupted (like `tail -f`).
    #[arg(long)]
    pub follow: bool,
}

impl Selection {
    pub fn mission(&self) -> Result<Option<MissionId>, Failure> {
        Ok(self.uuid.as_deref().map(str::parse).transpose()?)
    }
}

#[derive(Args)]
pub struct ToolsArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Only calls of this tool; repeat for several.
    #[arg(long = "tool", value_name = "NAME")]
    pub tools: Vec<String>,
    /// Only failed calls.
    #[arg(long, conflicts_with = "succeeded")]
    pub failed: bool,
    /// Only successful calls.
    #[arg(long)]
    pub succeeded: bool,
}

#[derive(Args)]
pub struct DecisionsArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Only decisions by this agent; repeat for several.
    #[arg(long = "agent", value_name = "NAME")]
    pub agents: Vec<String>,
    /// Only decisions of this type; repeat for several.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
}

/// A point in time from the command line: RFC 3339, a date, or a span back
/// from now (`30s`, `15m`, `2h`, `7d`, `1w`).
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let seconds: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if seconds > 0 && n >= 0 => n
            .checked_mul(seconds)
            .and_then(chrono::Duration::try_seconds)
            .and_then(|span| Utc::now().checked_sub_signed(span))
            .ok_or_else(|| format!("{text:?} reaches too far back")),
        _ => Err(format!(
            "{text:?} is not a time: use RFC 3339 (2026-11-27T10:00:00Z), a date (2026-11-27) or a span such as 30s, 15m, 2h, 7d, 1w"
        )),
    }
}

#[derive(Args)]
pub struct McpArgs {
    /// Component files, or directories (each *.wasm in them, watched for
    /// changes).
    #[arg(required = true, value_name = "COMPONENT.wasm | DIR")]
    pub components: Vec<PathBuf>,
    /// Grants and limits per tool (TOML); default: the deny-by-default
    /// sandbox of `vibe run`. Fixed at start-up: no MCP method changes it.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Every session works on this mission (default: a new one per session).
    #[arg(long, value_name = "UUID", conflicts_with = "phase")]
    pub mission: Option<String>,
    /// The phase of the missions sessions create.
    #[arg(long, default_value = "PLANNING")]
    pub phase: String,
    /// Serve the Streamable HTTP transport at http://ADDR/mcp instead of
    /// stdio (loopback only unless --allow-remote).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve clients on other machines (needs --token-file).
    #[arg(long, requires = "listen")]
    pub allow_remote: bool,
    /// A file holding the bearer token HTTP clients must present. Without
    /// it, any program on this machine can call the tools over HTTP.
    #[arg(long, value_name = "FILE", requires = "listen")]
    pub token_file: Option<PathBuf>,
    /// HTTP sessions open at once; past it an initialize is refused with
    /// 503 (1 to 65536).
    #[arg(long, default_value_t = DEFAULT_MAX_SESSIONS as u64, requires = "listen",
          value_parser = clap::value_parser!(u64).range(SESSIONS))]
    pub max_sessions: u64,
    /// An HTTP session that exchanges no message for this long ends, and
    /// what it held is freed (1 to 86400).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_SESSION_IDLE.as_secs(),
          requires = "listen", value_parser = clap::value_parser!(u64).range(SESSION_IDLE_SECS))]
    pub session_idle_secs: u64,
    /// Serve browser pages from ORIGIN too (scheme://host:port, or :* for
    /// any port); pages from other origins than this machine's are refused
    /// (403). Repeatable.
    #[arg(long, value_name = "ORIGIN", requires = "listen")]
    pub allow_origin: Vec<String>,
    /// What HTTP request bodies may take at once over all connections, from
    /// arrival until answered, in bytes: each weighs its bytes plus 256 a
    /// JSON value in it (what the SDK's parse of it takes); past it a
    /// request is refused with 503 (at least --max-message-bytes; up to
    /// 4294967295).
    #[arg(long, default_value_t = DEFAULT_MAX_INFLIGHT_BYTES as u64, requires = "listen",
          value_parser = clap::value_parser!(u64).range(INFLIGHT_BYTES))]
    pub max_inflight_bytes: u64,
    /// Largest message accepted, in bytes (1024 to 268435456).
    #[arg(long, default_value_t = DEFAULT_MAX_MESSAGE_BYTES as u64,
          value_parser = clap::value_parser!(u64).range(MESSAGE_BYTES))]
    pub max_message_bytes: u64,
    /// Calls running or waiting at once; past it a call is refused with a
    /// JSON-RPC error (1 to 4096).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(PENDING_CALLS))]
    pub max_pending_calls: u64,
    /// Invocations running at once (1 to 256).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(SLOTS))]
    pub slots: u32,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// These missions (default: every mission, and chains whose mission is
    /// gone).
    pub uuids: Vec<String>,
    /// Also compare each mission's chain with the head this export (`vibe
    /// export` output) recorded: proves nothing it covered was changed
    /// since, even by someone who rewrote the chain.
    #[arg(long, value_name = "EXPORT.jsonl")]
    pub against: Option<PathBuf>,
    /// One JSON object per mission.
    #[arg(long)]
    pub json: bool,
}

/// Whether a JSON flag has read stdin already: only one may.
static STDIN_TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A JSON flag's value (`--args`, `--result`, `--context`, `--metadata`,
/// `--input`): the JSON text itself; `@FILE`, the file's contents; `-`,
/// standard input (one flag per command). JSON text never starts with `@`
/// and is never `-` alone, so neither can be mistaken for a value: a JSON
/// string starting with `@` is written with its quotes (`'"@ann"'`). A file
/// or stdin is read up to the store's limit on a JSON value
/// ([`MAX_JSON_BYTES`], 1 MiB) and refused past it without reading the
/// rest: the command line itself holds about 128 KiB.
///
/// # Failure
/// Exit 4 for text over the limit, not UTF-8 or not JSON, and for a second
/// flag reading stdin; exit 1 for a file that cannot be read.
pub fn json_value(flag: &str, value: String) -> Result<vibe_store::Json, Failure> {
    use std::io::Read;
    use std::sync::atomic::Ordering;

    use crate::Exit;
    let (source, reader): (String, Box<dyn Read>) = if value == "-" {
        if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
            return Err(Failure::new(
                format!("{flag} -: another flag already reads standard input"),
                Exit::InvalidInput,
            ));
        }
        ("standard input".into(), Box::new(std::io::stdin().lock()))
    } else if let Some(path) = value.strip_prefix('@') {
        let file = std::fs::File::open(path)
            .map_err(|e| Failure::new(format!("{flag}: cannot read {path}: {e}"), Exit::Other))?;
        (path.to_owned(), Box::new(file))
    } else {
        return Ok(vibe_store::Json::parse(flag, value)?);
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_JSON_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::new(format!("{flag}: cannot read {source}: {e}"), Exit::Other))?;
    if bytes.len() > MAX_JSON_BYTES {
        return Err(Failure::new(
            format!("{flag}: {source} holds more than {MAX_JSON_BYTES} bytes, the limit of a JSON value"),
            Exit::InvalidInput,
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Failure::new(
            format!("{flag}: {source} is not UTF-8 text"),
            Exit::InvalidInput,
        )
    })?;
    Ok(vibe_store::Json::parse(flag, text)?)
}
