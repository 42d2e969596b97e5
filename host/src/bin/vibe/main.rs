//! `vibe`: run and inspect agent missions from the command line.
//!
//! Argument parsing and printing only: every action is one call into the
//! `vibe_store` library. Exit codes: 0 ok, 1 any other failure, 2 usage,
//! 3 mission not found, 4 invalid input, 5 the tool failed (`vibe run`).

mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;
use vibe_store::store::parse_json;
use vibe_store::{
    Durability, MissionStatus, NewToolCall, OpenOptions, Phase, SqliteStore, StoreError,
};

#[derive(Parser)]
#[command(name = "vibe", version, about = "Run and inspect AI-agent missions")]
struct Cli {
    /// The database file.
    #[arg(long, global = true, env = "VIBE_DB", default_value = vibe_store::store::DEFAULT_DB_PATH)]
    db: PathBuf,

    /// full: every acknowledged write survives power loss; normal: survives a process crash.
    #[arg(long, global = true, env = "VIBE_DURABILITY", value_enum, default_value_t = DurabilityArg::Full)]
    durability: DurabilityArg,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum DurabilityArg {
    Full,
    Normal,
}

#[derive(Subcommand)]
enum Command {
    /// Create or upgrade the database; print its path and schema version.
    Init,
    /// Create, update and inspect missions.
    #[command(subcommand)]
    Mission(MissionCommand),
    /// Log a tool call; a failed call when --error is given. Prints the new id.
    Log(LogArgs),
    /// Record a decision. Prints the new id.
    Decide(DecideArgs),
    /// List a mission's tool calls, oldest first.
    Tools(ListArgs),
    /// List a mission's decisions, oldest first.
    Decisions(ListArgs),
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
    /// List the most recent missions, newest first.
    List {
        #[arg(long, default_value_t = 10)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct LogArgs {
    uuid: String,
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
struct ListArgs {
    uuid: String,
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIBE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("vibe: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// A failed command: its one-line reason and exit code.
struct Failure {
    message: String,
    code: u8,
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        let code = match err {
            StoreError::MissionNotFound(_) => 3,
            StoreError::InvalidInput(_) => 4,
            _ => 1,
        };
        Failure {
            message: err.to_string(),
            code,
        }
    }
}

type CliResult = Result<(), Failure>;

fn open(cli: &Cli) -> Result<SqliteStore, Failure> {
    let durability = match cli.durability {
        DurabilityArg::Full => Durability::Full,
        DurabilityArg::Normal => Durability::Normal,
    };
    Ok(SqliteStore::open_with(
        &cli.db,
        OpenOptions::default().durability(durability),
    )?)
}

fn run(cli: Cli) -> CliResult {
    let store = open(&cli)?;
    match cli.command {
        Command::Init => {
            let version = store.init_db()?;
            println!("{}", store.path().display());
            println!("schema version {version}");
        }
        Command::Mission(command) => mission(&store, command)?,
        Command::Log(args) => {
            let call = NewToolCall {
                tool_name: args.tool,
                args: parse_json("--args", &args.args)?,
                result: args
                    .result
                    .map(|r| parse_json("--result", &r))
                    .transpose()?,
                success: args.error.is_none(),
                duration_ms: args.duration_ms,
                error_message: args.error,
            };
            println!("{}", store.log_tool_call(&args.uuid, &call)?);
        }
        Command::Decide(args) => {
            let context = args
                .context
                .map(|c| parse_json("--context", &c))
                .transpose()?;
            let id = store.record_decision(
                &args.uuid,
                &args.decision_type,
                &args.rationale,
                &args.agent,
                context.as_ref(),
            )?;
            println!("{id}");
        }
        Command::Tools(args) => {
            let calls = store.get_tool_history(&args.uuid)?;
            if args.json {
                print_json(&calls);
            } else {
                table::print_tool_calls(&calls);
            }
        }
        Command::Decisions(args) => {
            let decisions = store.get_decisions(&args.uuid)?;
            if args.json {
                print_json(&decisions);
            } else {
                table::print_decisions(&decisions);
            }
        }
    }
    Ok(())
}

fn mission(store: &SqliteStore, command: MissionCommand) -> CliResult {
    match command {
        MissionCommand::Create { phase, metadata } => {
            let phase: Phase = phase.parse()?;
            let metadata = parse_json("--metadata", &metadata)?;
            println!("{}", store.create_mission(phase, &metadata)?);
        }
        MissionCommand::Status { uuid, status } => {
            let status: MissionStatus = status.parse()?;
            store.update_mission_status(&uuid, status)?;
        }
        MissionCommand::Show { uuid, json } => {
            let mission = store.get_mission(&uuid)?;
            if json {
                print_json(&mission);
            } else {
                table::print_mission(&mission);
            }
        }
        MissionCommand::List { limit, json } => {
            let missions = store.get_mission_history(limit)?;
            if json {
                print_json(&missions);
            } else {
                table::print_missions(&missions);
            }
        }
    }
    Ok(())
}

fn print_json(value: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("store rows serialise to JSON")
    );
}
