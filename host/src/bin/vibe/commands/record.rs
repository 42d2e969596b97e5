//! Record a mission: `vibe init`, `mission`, `log` and `decide`.

use vibe_store::store::MissionFilter;
use vibe_store::{AnyStore, MissionStatus, MissionStore, NewDecision, NewToolCall, Phase};

use crate::args::{json_value, DecideArgs, LogArgs, MissionCommand};
use crate::output::json::{print_json, Listed};
use crate::output::listing::print_rows;
use crate::output::{out, table};
use crate::CliResult;

pub fn init(store: &AnyStore, json: bool) -> CliResult {
    let version = store.init_db()?;
    if json {
        print_json(&serde_json::json!({
            "path": store.location(),
            "schema_version": version,
        }))
    } else {
        out(format_args!("{}\n", store.location()))?;
        out(format_args!("schema version {version}\n"))
    }
}

pub fn mission(store: &AnyStore, command: MissionCommand) -> CliResult {
    match command {
        MissionCommand::Create { phase, metadata } => {
            let phase: Phase = phase.parse()?;
            let metadata = json_value("--metadata", metadata)?;
            out(format_args!("{}\n", store.create_mission(phase, metadata)?))
        }
        MissionCommand::Status { uuid, status } => {
            let status: MissionStatus = status.parse()?;
            Ok(store.update_mission_status(&uuid.parse()?, status)?)
        }
        MissionCommand::Show { uuid, json } => {
            let mission = store.get_mission(&uuid.parse()?)?;
            if json {
                print_json(&Listed::new(&mission))
            } else {
                table::print_mission(&mission)
            }
        }
        MissionCommand::List(args) => {
            let mut filter = MissionFilter::newest(args.limit);
            (filter.status, filter.phase) = (args.status, args.phase);
            (filter.since, filter.until) = (args.since, args.until);
            (filter.search, filter.before_id) = (args.search, args.before_id);
            let missions = store.find_missions(&filter)?;
            print_rows(
                &missions,
                args.json,
                table::missions_table(),
                table::mission_row,
            )
        }
    }
}

pub fn log(store: &AnyStore, args: LogArgs) -> CliResult {
    let call = NewToolCall {
        tool_name: args.tool,
        args: json_value("--args", args.args)?,
        result: args.result.map(|r| json_value("--result", r)).transpose()?,
        success: args.error.is_none(),
        duration_ms: args.duration_ms,
        error_message: args.error,
    };
    out(format_args!(
        "{}\n",
        store.log_tool_call(&args.uuid.parse()?, call)?
    ))
}

pub fn decide(store: &AnyStore, args: DecideArgs) -> CliResult {
    let context = args
        .context
        .map(|c| json_value("--context", c))
        .transpose()?;
    let decision = NewDecision {
        context,
        ..NewDecision::new(args.decision_type, args.rationale, args.agent)
    };
    let id = store.record_decision(&args.uuid.parse()?, decision)?;
    out(format_args!("{id}\n"))
}
