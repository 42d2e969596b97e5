//! `vibe`: run and inspect agent missions from the command line.
//!
//! Argument parsing and printing only: every action is one call into the
//! `vibe_store` library. Exit codes: 0 ok, 1 any other failure, 2 usage,
//! 3 mission not found, 4 invalid input, 5 the tool failed (`vibe run`).

mod demo;
mod mcp;
mod signals;
mod table;
mod verify;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;
use vibe_store::sandbox::{
    FailureKind, Grants, Limits, LoadError, Request, Runtime, RuntimeConfig,
};
use vibe_store::store::{
    Copied, DecisionFilter, ExportFilter, MissionFilter, Outcome, PruneFilter, ToolCallFilter,
};
use vibe_store::terminal::{json_for_terminal, one_line, visible_line};
use vibe_store::{
    AnyStore, Decision, Durability, ErrorKind, Json, MissionId, MissionStatus, MissionStore,
    NewToolCall, OpenOptions, Phase, StoreError, ToolCall,
};

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
struct Cli {
    /// The database: a SQLite file's path, or a PostgreSQL server as
    /// postgres://USER@HOST:PORT/DB (libpq's sslmode and connect_timeout
    /// apply; the password comes from PGPASSWORD or ~/.pgpass).
    #[arg(long, global = true, env = "VIBE_DB", default_value = vibe_store::store::DEFAULT_DB_PATH)]
    db: String,

    /// full: every acknowledged write survives power loss; normal: survives a process crash.
    #[arg(long, global = true, env = "VIBE_DURABILITY", default_value = "full")]
    durability: Durability,

    /// Open the database for reading only, whatever the command (reading
    /// commands always do).
    #[arg(long, global = true)]
    read_only: bool,

    /// How long a write waits for a lock another process holds, in ms (0 to
    /// 86400000).
    #[arg(long, global = true, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(0..=86_400_000))]
    busy_timeout_ms: u64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    Verify(verify::VerifyArgs),
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
    /// Serve tools (WebAssembly components) to agents over the Model
    /// Context Protocol, sandboxed, every call a row in the session's
    /// mission.
    Mcp(mcp::McpArgs),
    /// Create a mission, run the example planner tool on it in the sandbox,
    /// and print the mission with its tool calls and decisions.
    Demo(DemoArgs),
    /// Measure the store and the sandbox on this machine: runs the
    /// `vibe-bench` executable (beside this one, else on PATH) with these
    /// arguments; `./x bench` builds both and runs it in release.
    Bench(BenchArgs),
}

/// `vibe bench ARGS`: every argument is `vibe-bench`'s, `--help` included.
#[derive(Args)]
#[command(disable_help_flag = true)]
struct BenchArgs {
    /// vibe-bench's arguments (`vibe bench --help` lists them).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<std::ffi::OsString>,
}

#[derive(Args)]
struct RunArgs {
    /// The component file (.wasm).
    component: PathBuf,
    /// The mission the tool runs for (the only one it may write to).
    #[arg(long)]
    mission: String,
    /// The tool's input, as JSON.
    #[arg(long, default_value = "{}")]
    input: String,
    /// The tool name recorded in the audit trail (default: the file's stem).
    #[arg(long)]
    name: Option<String>,
    /// Extra permissions; repeat for several.
    #[arg(long = "grant", value_enum)]
    grants: Vec<GrantArg>,
    /// Wall-clock limit for the whole invocation, in ms (1 to 3600000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    timeout_ms: u64,
    /// Linear memory limit, in MiB (1 to 4096).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    memory_mb: u64,
    /// Rows per history page the tool may ask for (1 to 1000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1000))]
    max_page_rows: u32,
    /// Bytes of any one JSON value crossing the boundary (2 to 1048576).
    #[arg(long, default_value_t = 1_048_576, value_parser = clap::value_parser!(u64).range(2..=1_048_576))]
    max_json_bytes: u64,
    /// Bytes of row text one history page returned to the tool may hold
    /// (1024 to 268435456; default: 4 times --max-json-bytes).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1024..=268_435_456))]
    max_page_bytes: Option<u64>,
    /// Print {"call_id", "duration_ms", "outcome", "output", "error"} as
    /// JSON (the exit code still says how the tool ended).
    #[arg(long)]
    json: bool,
    /// Largest component file loaded, in MiB (1 to 4096).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=4096))]
    max_component_mb: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GrantArg {
    /// May create missions (and write to the ones it creates).
    CreateMissions,
    /// May read every mission and list them.
    ReadAllMissions,
}

#[derive(Args)]
struct DemoArgs {
    /// The planner component (default: the one `./x guests` builds).
    #[arg(long)]
    component: Option<PathBuf>,
}

#[derive(Subcommand)]
enum MissionCommand {
    /// Create a mission; prints its UUID alone.
    Create {
        /// PLANNING, CODING, TESTING, DEPLOYMENT or MAINTENANCE (any case).
        #[arg(long)]
        phase: String,
        /// JSON metadata.
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
struct LogArgs {
    /// The mission's UUID.
    uuid: String,
    /// The tool's name.
    #[arg(long)]
    tool: String,
    /// The call's arguments, as JSON.
    #[arg(long)]
    args: String,
    /// The call's result, as JSON.
    #[arg(long)]
    result: Option<String>,
    /// Marks the call failed, with this message.
    #[arg(long)]
    error: Option<String>,
    #[arg(long, allow_negative_numbers = true)]
    duration_ms: Option<i64>,
}

#[derive(Args)]
struct DecideArgs {
    /// The mission's UUID.
    uuid: String,
    #[arg(long = "type")]
    decision_type: String,
    #[arg(long)]
    rationale: String,
    #[arg(long)]
    agent: String,
    /// Context, as JSON.
    #[arg(long)]
    context: Option<String>,
}

#[derive(Args)]
struct ExportArgs {
    /// These missions (default: all).
    uuids: Vec<String>,
    /// Only missions created at or after TIME.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<DateTime<Utc>>,
    /// jsonl: one mission a line, exactly as stored; otlp: OpenTelemetry
    /// traces (OTLP/JSON).
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    format: ExportFormat,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// One mission a line: its rows as stored, with its hash chain.
    Jsonl,
    /// One OTLP/JSON ExportTraceServiceRequest a line: a mission is a
    /// trace, each tool call an execute_tool span (GenAI conventions).
    Otlp,
}

#[derive(Args)]
struct PruneArgs {
    /// Missions created before TIME (RFC 3339, a date, or a span back from
    /// now such as 30d).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    before: DateTime<Utc>,
    /// Only missions in these statuses (default: completed,failed; missions
    /// still open are kept unless named here).
    #[arg(long, value_delimiter = ',', default_value = "completed,failed")]
    status: Vec<MissionStatus>,
    /// Print what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Then rebuild the file to return the freed space (VACUUM: holds the
    /// write lock while it runs). Without it the space is reused by later
    /// writes.
    #[arg(long, conflicts_with = "dry_run")]
    vacuum: bool,
    /// Print one JSON object a pruned mission.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct MemoryArgs {
    #[command(subcommand)]
    command: Option<MemoryCommand>,
    /// The mission's UUID: list its live keys.
    #[arg(required = true)]
    uuid: Option<String>,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum MemoryCommand {
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
struct MissionListArgs {
    /// At most N missions (1 to 1000).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    limit: u32,
    /// Only missions in this status.
    #[arg(long)]
    status: Option<MissionStatus>,
    /// Only missions in this phase.
    #[arg(long)]
    phase: Option<Phase>,
    /// Only missions created at or after TIME (as for `vibe tools`).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<DateTime<Utc>>,
    /// Only missions created before TIME.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<DateTime<Utc>>,
    /// Only missions whose metadata contains TEXT.
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    /// The next page: missions after the one with this row id (the ID
    /// column) in this order.
    #[arg(long, value_name = "ID")]
    before_id: Option<i64>,
    /// Print one JSON array, with the schema's column names.
    #[arg(long)]
    json: bool,
}

/// Which rows a listing shows: one mission's or all, a time window, paging.
#[derive(Args)]
struct Selection {
    /// The mission's UUID (or --all-missions).
    #[arg(required_unless_present = "all_missions")]
    uuid: Option<String>,
    /// Search every mission; rows carry their mission's id.
    #[arg(long, conflicts_with = "uuid")]
    all_missions: bool,
    /// At most N rows (1 to 1000000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    limit: Option<u32>,
    /// Only rows with an id above ID (paging: pass the last id you saw).
    #[arg(long, value_name = "ID")]
    after: Option<i64>,
    /// Only rows at or after TIME: RFC 3339 (2026-11-27T10:00:00Z), a date
    /// (2026-11-27), or a span back from now (30s, 15m, 2h, 7d, 1w).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<DateTime<Utc>>,
    /// Only rows before TIME (same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<DateTime<Utc>>,
    /// Print one JSON array, with the schema's column names (with
    /// --follow: one JSON object a line).
    #[arg(long)]
    json: bool,
    /// Keep printing rows as they are committed, by this or any other
    /// process, until interrupted (like `tail -f`).
    #[arg(long)]
    follow: bool,
}

/// How often `--follow` asks whether anything was committed.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

impl Selection {
    fn mission(&self) -> Result<Option<MissionId>, Failure> {
        Ok(self.uuid.as_deref().map(str::parse).transpose()?)
    }
}

#[derive(Args)]
struct ToolsArgs {
    #[command(flatten)]
    selection: Selection,
    /// Only calls of this tool; repeat for several.
    #[arg(long = "tool", value_name = "NAME")]
    tools: Vec<String>,
    /// Only failed calls.
    #[arg(long, conflicts_with = "succeeded")]
    failed: bool,
    /// Only successful calls.
    #[arg(long)]
    succeeded: bool,
}

#[derive(Args)]
struct DecisionsArgs {
    #[command(flatten)]
    selection: Selection,
    /// Only decisions by this agent; repeat for several.
    #[arg(long = "agent", value_name = "NAME")]
    agents: Vec<String>,
    /// Only decisions of this type; repeat for several.
    #[arg(long = "type", value_name = "TYPE")]
    types: Vec<String>,
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

/// Writes to stdout. A reader that went away (`vibe tools | head`) ends the
/// command quietly with status 0: there is no one left to tell.
pub(crate) fn out(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("vibe: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

fn main() -> ExitCode {
    // Colour only for a person at a terminal who has not asked for none: a
    // log file or pipe gets plain text.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIBE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rmcp=error")),
        )
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // One line, whatever the message's source did with whitespace.
            // Messages carry tool and database text: shown escaped.
            let message = one_line(&failure.message);
            if !message.is_empty() {
                eprintln!("vibe: {}", visible_line(&message));
            }
            ExitCode::from(failure.code)
        }
    }
}

/// A failed command: its one-line reason and exit code.
pub(crate) struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    pub(crate) fn new(message: impl Into<String>, code: u8) -> Self {
        Failure {
            message: message.into(),
            code,
        }
    }

    /// An exit status alone: the command already said why on stdout.
    pub(crate) fn quiet(code: u8) -> Self {
        Failure::new(String::new(), code)
    }
}

impl From<vibe_store::Error> for Failure {
    fn from(err: vibe_store::Error) -> Self {
        let code = match err.kind() {
            ErrorKind::NotFound => 3,
            ErrorKind::InvalidInput | ErrorKind::Limit | ErrorKind::Load => 4,
            _ => 1,
        };
        Failure {
            message: err.to_string(),
            code,
        }
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        vibe_store::Error::from(err).into()
    }
}

impl From<LoadError> for Failure {
    fn from(err: LoadError) -> Self {
        vibe_store::Error::from(err).into()
    }
}

pub(crate) type CliResult = Result<(), Failure>;

/// A PostgreSQL URL with a password, given as an argument (`--db`,
/// `--from`, `--to`), is readable by every user of the machine (`ps`,
/// `/proc/PID/cmdline`) for as long as the command runs: said once on
/// stderr, with where to put the password instead. `VIBE_DB`, `PGPASSWORD`
/// and `.pgpass` are readable only by the same user.
fn warn_of_password_in_arguments() {
    let has_password = |arg: &str| {
        let Some(rest) = ["postgresql://", "postgres://"]
            .iter()
            .find_map(|scheme| arg.find(scheme).map(|at| &arg[at + scheme.len()..]))
        else {
            return false;
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        authority
            .rsplit_once('@')
            .is_some_and(|(user, _)| user.contains(':'))
    };
    if std::env::args().skip(1).any(|arg| has_password(&arg)) {
        eprintln!(
            "vibe: warning: a password on the command line is visible to other users (ps); \
             give it in PGPASSWORD, ~/.pgpass or VIBE_DB instead"
        );
    }
}

/// Opens the database: for reading only (never creating or changing
/// anything) when the command only reads or `--read-only` is given.
fn open(cli: &Cli) -> Result<AnyStore, Failure> {
    let mut options = options(cli);
    if cli.read_only || cli.command.only_reads() {
        options = options.read_only();
    }
    Ok(AnyStore::open_with(&cli.db, options)?)
}

/// The options the global flags give every store a command opens.
fn options(cli: &Cli) -> OpenOptions {
    let mut options = OpenOptions::default().durability(cli.durability);
    options.busy_timeout = Duration::from_millis(cli.busy_timeout_ms);
    options.lock_wait_notice = Some(announce_lock_wait);
    options
}

fn announce_lock_wait(path: &std::path::Path) {
    eprintln!(
        "waiting for a lock on {} held by another process...",
        visible_line(&path.display().to_string())
    );
}

impl Command {
    /// Whether the command only reads the database.
    fn only_reads(&self) -> bool {
        match self {
            Command::Tools(_)
            | Command::Decisions(_)
            | Command::Tool { .. }
            | Command::Stats { .. }
            | Command::Playbooks { .. }
            | Command::Backup { .. }
            | Command::Export(_)
            | Command::Verify(_) => true,
            Command::Prune(args) => args.dry_run,
            Command::Memory(args) => !matches!(args.command, Some(MemoryCommand::Delete { .. })),
            Command::Mission(command) => matches!(
                command,
                MissionCommand::Show { .. } | MissionCommand::List { .. }
            ),
            _ => false,
        }
    }
}

fn run(cli: Cli) -> CliResult {
    warn_of_password_in_arguments();
    if let Command::Bench(args) = &cli.command {
        return bench(args);
    }
    if let Command::Copy { from, to, json } = &cli.command {
        return copy(&cli, from, to, *json);
    }
    let store = open(&cli)?;
    match cli.command {
        Command::Init { json } => {
            let version = store.init_db()?;
            if json {
                print_json(&serde_json::json!({
                    "path": store.location(),
                    "schema_version": version,
                }));
            } else {
                out(format_args!("{}\n", store.location()));
                out(format_args!("schema version {version}\n"));
            }
        }
        Command::Mission(command) => mission(&store, command)?,
        Command::Log(args) => {
            let call = NewToolCall {
                tool_name: args.tool,
                args: Json::parse("--args", args.args)?,
                result: args
                    .result
                    .map(|r| Json::parse("--result", r))
                    .transpose()?,
                success: args.error.is_none(),
                duration_ms: args.duration_ms,
                error_message: args.error,
            };
            out(format_args!(
                "{}\n",
                store.log_tool_call(&args.uuid.parse()?, call)?
            ));
        }
        Command::Decide(args) => {
            let context = args
                .context
                .map(|c| Json::parse("--context", c))
                .transpose()?;
            let id = store.record_decision(
                &args.uuid.parse()?,
                &args.decision_type,
                &args.rationale,
                &args.agent,
                context,
            )?;
            out(format_args!("{id}\n"));
        }
        Command::Run(args) => run_tool(&store, args)?,
        Command::Mcp(args) => mcp::mcp(&store, args)?,
        Command::Demo(args) => demo::run(&store, args.component)?,
        Command::Bench(_) | Command::Copy { .. } => {
            unreachable!("handled before the store is opened")
        }
        Command::Tools(args) => {
            let s = &args.selection;
            let mut filter = ToolCallFilter {
                mission: s.mission()?,
                tools: args.tools.clone(),
                success: (args.failed || args.succeeded).then_some(args.succeeded),
                since: s.since,
                until: s.until,
                after_id: s.after,
                limit: s.limit,
            };
            let listing = Listing {
                table: table::tool_calls_table(s.all_missions),
                row: table::tool_call_row,
                id: |call: &ToolCall| call.id.get(),
            };
            listing.print(&store, s, |after, f| {
                filter.after_id = after.or(filter.after_id);
                store.find_tool_calls(&filter, f)
            })?;
        }
        Command::Tool { id, json } => {
            let call = store.get_tool_call(id.into())?;
            if json {
                print_json(&Listed::new(&call));
            } else {
                table::print_tool_call(&call);
            }
        }
        Command::Stats { uuid, json } => {
            let mission: Option<MissionId> = uuid.as_deref().map(str::parse).transpose()?;
            let stats = store.tool_stats(mission.as_ref())?;
            if json {
                let mut list = JsonList::new();
                for row in &stats {
                    list.push(row);
                }
                list.finish();
            } else {
                let mut table = table::stats_table();
                for row in &stats {
                    table.push(table::stats_row(row));
                }
                table.finish();
            }
        }
        Command::Memory(args) => memory(&store, args)?,
        Command::Backup { path, json } => {
            let bytes = store.sqlite_only("vibe backup")?.backup_to(&path)?;
            if json {
                print_json(&serde_json::json!({
                    "path": path,
                    "bytes": bytes,
                    "integrity": "ok",
                }));
            } else {
                out(format_args!(
                    "backed up to {} ({bytes} bytes, integrity ok)\n",
                    visible_line(&path.display().to_string())
                ));
            }
        }
        Command::Prune(args) => prune(&store, args)?,
        Command::Export(args) => export(&store, args)?,
        Command::Import { file } => import(&store, &file)?,
        Command::Verify(args) => verify::verify(&store, args)?,
        Command::Playbooks { uuid, json } => {
            let runs = store.get_playbook_runs(&uuid.parse()?)?;
            if json {
                let mut list = JsonList::new();
                for run in &runs {
                    list.push(run);
                }
                list.finish();
            } else {
                let mut table = table::playbooks_table();
                for run in &runs {
                    table.push(table::playbook_row(run));
                }
                table.finish();
            }
        }
        Command::Decisions(args) => {
            let s = &args.selection;
            let mut filter = DecisionFilter {
                mission: s.mission()?,
                types: args.types.clone(),
                agents: args.agents.clone(),
                since: s.since,
                until: s.until,
                after_id: s.after,
                limit: s.limit,
            };
            let listing = Listing {
                table: table::decisions_table(s.all_missions),
                row: table::decision_row,
                id: |decision: &Decision| decision.id.get(),
            };
            listing.print(&store, s, |after, f| {
                filter.after_id = after.or(filter.after_id);
                store.find_decisions(&filter, f)
            })?;
        }
    }
    Ok(())
}

fn run_tool(store: &AnyStore, args: RunArgs) -> CliResult {
    let input = Json::parse("--input", args.input)?;
    let mission: MissionId = args.mission.parse()?;
    // An unknown mission exits 3 before the component is even read.
    store.get_mission(&mission)?;
    let runtime = sandbox_runtime(
        store,
        RuntimeConfig::default().max_component_bytes(args.max_component_mb * 1024 * 1024)?,
        4,
    )?;
    let mut grants = Grants::none();
    for grant in args.grants {
        match grant {
            GrantArg::CreateMissions => grants = grants.with_create_missions(),
            GrantArg::ReadAllMissions => grants = grants.with_read_all_missions(),
        }
    }
    // clap has checked each flag's range; the library checks them again.
    let mut limits = Limits::default()
        .timeout(Duration::from_millis(args.timeout_ms))?
        .memory_mb(args.memory_mb as usize)?
        .max_page_rows(args.max_page_rows)?
        .max_json_bytes(args.max_json_bytes as usize)?;
    if let Some(bytes) = args.max_page_bytes {
        limits = limits.max_page_bytes(bytes as usize)?;
    }
    let stop = signals::Stop::install()
        .map_err(|e| Failure::new(format!("cannot handle signals: {e}"), 1))?;
    let mut request = Request::new(mission, input)
        .grants(grants)
        .limits(limits)
        .cancel_flag(stop.flag());
    if let Some(name) = args.name {
        request = request.name(name);
    }
    // A component that cannot be loaded is recorded on the mission too.
    let report = runtime.run_file(&args.component, &request)?;
    let stopped = match (&report.outcome, stop.signal()) {
        (Err(failure), Some((signal, code))) if failure.kind == FailureKind::Cancelled => {
            Some(Failure::new(
                format!(
                    "stopped by {signal}: invocation {} was cancelled and its row completed",
                    report.call_id
                ),
                code,
            ))
        }
        _ => None,
    };
    if args.json {
        /// `vibe run --json`: the invocation as its row records it, the
        /// output exactly as the tool returned it.
        #[derive(Serialize)]
        struct Report<'a> {
            call_id: vibe_store::ToolCallId,
            duration_ms: u128,
            outcome: Outcome,
            output: Option<&'a Json>,
            error: Option<&'a str>,
        }
        print_json(&Report {
            call_id: report.call_id,
            duration_ms: report.duration.as_millis(),
            outcome: report
                .outcome
                .as_ref()
                .map_or_else(|f| f.kind.outcome(), |_| Outcome::Ok),
            output: report.outcome.as_ref().ok(),
            error: report.outcome.as_ref().err().map(|f| f.message.as_str()),
        });
    }
    if let Some(stopped) = stopped {
        return Err(stopped);
    }
    match report.outcome {
        Ok(output) => {
            if !args.json {
                print_json_text(output.as_str());
            }
            Ok(())
        }
        Err(failure) => Err(Failure {
            message: failure.message,
            code: if failure.kind == FailureKind::LoadError {
                4
            } else {
                5
            },
        }),
    }
}

/// A sandbox runtime for one CLI process, caching compiled components on
/// disk so the next process starts fast.
pub(crate) fn sandbox_runtime(
    store: &AnyStore,
    config: RuntimeConfig,
    slots: u32,
) -> Result<Runtime, Failure> {
    let mut config = config.max_concurrent(slots)?;
    if let Some(dir) = cache_dir() {
        config = config.cache_dir(dir);
    }
    Ok(Runtime::new(store.clone(), config)?)
}

/// `VIBE_CACHE_DIR`, else the user's cache directory.
fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("VIBE_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("vibe-store").join("components"))
}

/// `vibe bench`, as cargo runs `cargo-clippy`: the benchmark is its own
/// executable, `vibe-bench`, found beside this one (cargo builds them into
/// one folder), else on PATH; it gets the arguments as given, and this
/// executable's path in `VIBE`, so it times this `vibe`.
fn bench(args: &BenchArgs) -> CliResult {
    use std::os::unix::process::CommandExt;
    const BENCH: &str = "vibe-bench";
    let exe = std::env::current_exe().ok();
    let file = format!("{BENCH}{}", std::env::consts::EXE_SUFFIX);
    let beside = exe
        .as_deref()
        .and_then(std::path::Path::parent)
        .map(|dir| dir.join(&file));
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(&file));
    let Some(program) = beside.into_iter().chain(on_path).find(|p| p.is_file()) else {
        return Err(Failure::new(
            format!(
                "`vibe bench` runs the {BENCH} executable, found neither beside this vibe nor on \
                 PATH: from a clone of the repository run `./x bench`, or build it with \
                 `cargo build --release -p {BENCH}` (it lands beside vibe in target/release)"
            ),
            2,
        ));
    };
    let mut command = std::process::Command::new(&program);
    command.args(&args.args);
    if let Some(exe) = &exe {
        command.env("VIBE", exe);
    }
    // The benchmark takes this process's place (exec returns only if it
    // could not): its output, exit status and signals are the command's own.
    let err = command.exec();
    Err(Failure::new(format!("{}: {err}", program.display()), 1))
}

fn export(store: &AnyStore, args: ExportArgs) -> CliResult {
    let filter = ExportFilter {
        missions: args
            .uuids
            .iter()
            .map(|u| u.parse())
            .collect::<Result<_, _>>()?,
        since: args.since,
    };
    let io = |path: &std::path::Path, e: std::io::Error| {
        Failure::new(format!("cannot write {}: {e}", path.display()), 1)
    };
    // Progress for a person watching: only when stderr is a terminal.
    let mut progress = std::io::stderr()
        .is_terminal()
        .then(|| {
            store
                .export_size(&filter)
                .map(|total| Progress::new("exported", total, true))
        })
        .transpose()?;
    let mut sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| io(path, e))?,
        )),
        None => Box::new(Stdout),
    };
    let mut failed = None;
    let mut emit = |line: String, rows: u64| {
        if failed.is_none() {
            if let Err(e) = writeln!(sink, "{line}") {
                failed = Some(e);
            }
        }
        if let Some(progress) = progress.as_mut() {
            progress.advance(rows);
        }
        Ok(())
    };
    match args.format {
        ExportFormat::Jsonl => {
            store.export_jsonl(&filter, &mut |_, line, rows| emit(line, rows))?
        }
        ExportFormat::Otlp => store.export_otlp(&filter, &mut |_, line, rows| emit(line, rows))?,
    }
    let flushed = match failed {
        Some(e) => Err(e),
        None => sink.flush(),
    };
    if let Some(progress) = progress {
        progress.finish();
    }
    let target = args
        .output
        .as_deref()
        .unwrap_or(std::path::Path::new("stdout"));
    flushed.map_err(|e| io(target, e))
}

/// stdout through [`out`]: a reader that went away ends the command quietly.
struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        out(format_args!("{}", String::from_utf8_lossy(buf)));
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Rows done so far, their rate and the time left, on stderr: on a
/// terminal one line redrawn at most five times a second; otherwise (a log)
/// a line a second.
struct Progress {
    verb: &'static str,
    total: u64,
    done: u64,
    started: std::time::Instant,
    drawn: Option<std::time::Instant>,
    terminal: bool,
}

impl Progress {
    fn new(verb: &'static str, total: u64, terminal: bool) -> Self {
        Progress {
            verb,
            total,
            done: 0,
            started: std::time::Instant::now(),
            drawn: None,
            terminal,
        }
    }

    fn advance(&mut self, rows: u64) {
        self.done += rows;
        let every = if self.terminal { 200 } else { 1000 };
        if self
            .drawn
            .is_none_or(|at| at.elapsed() >= Duration::from_millis(every))
        {
            self.draw();
            self.drawn = Some(std::time::Instant::now());
        }
    }

    fn draw(&self) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        let rate = self.done as f64 / secs;
        let left = self.total.saturating_sub(self.done) as f64 / rate.max(1e-9);
        let line = format!(
            "{} {}/{} rows, {:.0} rows/s, ETA {:.0}s",
            self.verb, self.done, self.total, rate, left
        );
        if self.terminal {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    }

    fn finish(self) {
        self.draw();
        if self.terminal {
            eprintln!();
        }
    }
}

fn copy(cli: &Cli, from: &str, to: &str, json: bool) -> CliResult {
    let options = options(cli);
    let source = AnyStore::open_with(from, options.clone().read_only())?;
    let dest = AnyStore::open_with(to, options)?;
    if source.location() == dest.location() {
        return Err(Failure::new("--from and --to are the same store", 2));
    }
    let total = source.export_size(&ExportFilter::default())?;
    let mut progress = Progress::new("copied", total, std::io::stderr().is_terminal());
    let (mut copied, mut there, mut rows) = (0u64, 0u64, 0u64);
    source.copy_to(&dest, &mut |_, what, n| {
        match what {
            Copied::New => copied += 1,
            Copied::AlreadyThere => there += 1,
        }
        rows += n;
        progress.advance(n);
        Ok(())
    })?;
    progress.finish();
    if json {
        print_json(&serde_json::json!({
            "copied": copied,
            "already_there": there,
            "rows": rows,
        }));
    } else {
        out(format_args!(
            "copied {copied} missions ({rows} rows in all) from {} to {}; {there} were already there\n",
            visible_line(&source.location()),
            visible_line(&dest.location())
        ));
    }
    Ok(())
}

fn import(store: &AnyStore, file: &std::path::Path) -> CliResult {
    use std::io::BufRead;
    let reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let opened = std::fs::File::open(file).map_err(|e| Failure {
            message: format!("cannot read {}: {e}", file.display()),
            code: 1,
        })?;
        Box::new(std::io::BufReader::new(opened))
    };
    let (mut imported, mut present) = (0u64, 0u64);
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Failure {
            message: format!("cannot read {}: {e}", file.display()),
            code: 1,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let (_, new) = store.import_jsonl(&line).map_err(|e| Failure {
            message: format!("line {}: {e}", n + 1),
            code: 4,
        })?;
        if new {
            imported += 1;
        } else {
            present += 1;
        }
    }
    out(format_args!(
        "imported {imported} missions; {present} already present\n"
    ));
    Ok(())
}

fn prune(store: &AnyStore, args: PruneArgs) -> CliResult {
    let filter = PruneFilter {
        before: args.before,
        statuses: args.status,
    };
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    let count = store.prune(&filter, args.dry_run, &mut |m| {
        if args.json {
            print_json_line(m);
        } else {
            out(format_args!(
                "{verb} mission {} ({}, created {}): {} tool calls, {} decisions, {} memory entries, {} playbook runs\n",
                m.mission_uuid,
                m.status,
                vibe_store::store::format_timestamp(m.created_at),
                m.tool_calls,
                m.decisions,
                m.memory,
                m.playbook_runs
            ));
        }
    })?;
    if !args.json {
        out(format_args!("{verb} {count} missions\n"));
    }
    if args.vacuum {
        match store.as_sqlite() {
            Some(file) => {
                let (before, after) = file.vacuum()?;
                if !args.json {
                    out(format_args!("vacuumed: {before} bytes -> {after} bytes\n"));
                }
            }
            None => eprintln!("--vacuum: PostgreSQL reclaims the space itself (autovacuum)"),
        }
    }
    Ok(())
}

fn memory(store: &AnyStore, args: MemoryArgs) -> CliResult {
    match args.command {
        Some(MemoryCommand::Get { uuid, key }) => match store.get_memory(&uuid.parse()?, &key)? {
            Some(value) => print_json_text(value.as_str()),
            None => {
                return Err(Failure {
                    message: format!("no live key {key:?} in mission {uuid}"),
                    code: 3,
                })
            }
        },
        Some(MemoryCommand::Delete { uuid, key }) => {
            let live = store.delete_memory(&uuid.parse()?, &key)?;
            out(format_args!(
                "{}\n",
                if live { "deleted" } else { "absent" }
            ));
        }
        None => {
            let uuid = args
                .uuid
                .expect("clap requires the mission without a subcommand");
            let entries = store.list_memory(&uuid.parse()?)?;
            if args.json {
                let mut list = JsonList::new();
                for entry in &entries {
                    list.push(entry);
                }
                list.finish();
            } else {
                let mut table = table::memory_table();
                for entry in &entries {
                    table.push(table::memory_row(entry));
                }
                table.finish();
            }
        }
    }
    Ok(())
}

fn mission(store: &AnyStore, command: MissionCommand) -> CliResult {
    match command {
        MissionCommand::Create { phase, metadata } => {
            let phase: Phase = phase.parse()?;
            let metadata = Json::parse("--metadata", metadata)?;
            out(format_args!("{}\n", store.create_mission(phase, metadata)?));
        }
        MissionCommand::Status { uuid, status } => {
            let status: MissionStatus = status.parse()?;
            store.update_mission_status(&uuid.parse()?, status)?;
        }
        MissionCommand::Show { uuid, json } => {
            let mission = store.get_mission(&uuid.parse()?)?;
            if json {
                print_json(&Listed::new(&mission));
            } else {
                table::print_mission(&mission);
            }
        }
        MissionCommand::List(args) => {
            let missions = store.find_missions(&MissionFilter {
                status: args.status,
                phase: args.phase,
                since: args.since,
                until: args.until,
                search: args.search,
                before_id: args.before_id,
                limit: args.limit,
            })?;
            if args.json {
                let mut list = JsonList::new();
                for mission in &missions {
                    list.push(mission);
                }
                list.finish();
            } else {
                let mut table = table::missions_table();
                for mission in &missions {
                    table.push(table::mission_row(mission));
                }
                table.finish();
            }
        }
    }
    Ok(())
}

/// A row as `--json` prints it: its columns, and `invalid_json` naming the
/// JSON columns whose stored text is not strict JSON (another program wrote
/// `NaN`, say); those columns print as strings of their raw text.
#[derive(Serialize)]
struct Listed<'a, T: Serialize> {
    #[serde(flatten)]
    row: &'a T,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    invalid_json: Vec<&'static str>,
}

impl<'a, T: Serialize + JsonColumns> Listed<'a, T> {
    fn new(row: &'a T) -> Self {
        let invalid_json = row
            .json_columns()
            .into_iter()
            .filter(|(_, value)| value.is_some_and(|v| !v.is_valid()))
            .map(|(name, _)| name)
            .collect();
        Listed { row, invalid_json }
    }
}

/// The JSON columns of a row, by name.
trait JsonColumns {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)>;
}

impl JsonColumns for vibe_store::ToolCall {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        vec![
            ("args", Some(&self.args)),
            ("result", self.result.as_ref()),
            ("caller", self.caller.as_ref()),
        ]
    }
}

impl JsonColumns for vibe_store::Decision {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        vec![("context", self.context.as_ref())]
    }
}

impl JsonColumns for vibe_store::store::ToolStats {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        Vec::new()
    }
}

impl JsonColumns for vibe_store::store::MemoryEntry {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        vec![("value", self.value.as_ref())]
    }
}

impl JsonColumns for vibe_store::store::PlaybookRun {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        vec![("metrics", self.metrics.as_ref())]
    }
}

impl JsonColumns for vibe_store::Mission {
    fn json_columns(&self) -> Vec<(&'static str, Option<&Json>)> {
        vec![("metadata", self.metadata.as_ref())]
    }
}

/// How one kind of row is listed: its table, a row's cells, a row's id.
struct Listing<T> {
    table: table::Table,
    row: fn(&T, bool) -> Vec<String>,
    id: fn(&T) -> i64,
}

impl<T: Serialize + JsonColumns> Listing<T> {
    /// Prints the rows `find` gives (called with the id to resume after,
    /// and the function to hand each row to) as a table or as JSON, once or,
    /// with `--follow`, as they are committed.
    fn print(
        mut self,
        store: &AnyStore,
        s: &Selection,
        mut find: impl FnMut(
            Option<i64>,
            &mut dyn FnMut(T) -> Result<(), StoreError>,
        ) -> Result<(), StoreError>,
    ) -> CliResult {
        let with_mission = s.all_missions;
        if s.follow {
            return follow(store, |after| {
                let mut last = None;
                find(after, &mut |row| {
                    last = Some((self.id)(&row));
                    if s.json {
                        print_json_line(&Listed::new(&row));
                    } else {
                        self.table.push((self.row)(&row, with_mission));
                    }
                    Ok(())
                })?;
                if !s.json {
                    self.table.flush();
                }
                Ok(last)
            });
        }
        if s.json {
            let mut list = JsonList::new();
            find(None, &mut |row| {
                list.push(&row);
                Ok(())
            })?;
            list.finish();
        } else {
            find(None, &mut |row| {
                self.table.push((self.row)(&row, with_mission));
                Ok(())
            })?;
            self.table.finish();
        }
        Ok(())
    }
}

/// Prints what `print_rows(None)` finds, then, each time another
/// connection commits, what `print_rows(Some(last id printed))` finds; until
/// the process is interrupted. Idle, it asks SQLite one cheap question every
/// [`FOLLOW_POLL`].
fn follow(
    store: &AnyStore,
    mut print_rows: impl FnMut(Option<i64>) -> Result<Option<i64>, StoreError>,
) -> CliResult {
    let mut seen = store.data_version()?;
    let mut last = print_rows(None)?;
    loop {
        std::thread::sleep(FOLLOW_POLL);
        let now = store.data_version()?;
        if now != seen {
            seen = now;
            last = print_rows(last)?.or(last);
        }
    }
}

/// One JSON value on one line (for streams such as `--follow --json`).
fn print_json_line(value: &impl Serialize) {
    let text = serde_json::to_string(value).expect("store rows serialise to JSON");
    if std::io::stdout().is_terminal() {
        out(format_args!("{}\n", json_for_terminal(&text)));
    } else {
        out(format_args!("{text}\n"));
    }
}

fn print_json(value: &impl Serialize) {
    print_json_text(&serde_json::to_string_pretty(value).expect("store rows serialise to JSON"));
}

/// JSON for stdout: exactly as given when piped; on a terminal, characters
/// that could steer it are \u-escaped inside strings (the same JSON).
fn print_json_text(json: &str) {
    if std::io::stdout().is_terminal() {
        out(format_args!("{}\n", json_for_terminal(json)));
    } else {
        out(format_args!("{json}\n"));
    }
}

/// A JSON array printed one element at a time, so a listing of any size
/// holds one row in memory.
struct JsonList {
    first: bool,
}

impl JsonList {
    fn new() -> Self {
        out(format_args!("["));
        JsonList { first: true }
    }

    fn push(&mut self, item: &(impl Serialize + JsonColumns)) {
        let text =
            serde_json::to_string_pretty(&Listed::new(item)).expect("store rows serialise to JSON");
        let indented = text.replace('\n', "\n  ");
        let separator = if self.first { "\n  " } else { ",\n  " };
        self.first = false;
        if std::io::stdout().is_terminal() {
            out(format_args!("{separator}{}", json_for_terminal(&indented)));
        } else {
            out(format_args!("{separator}{indented}"));
        }
    }

    fn finish(self) {
        out(format_args!("{}]\n", if self.first { "" } else { "\n" }));
    }
}
