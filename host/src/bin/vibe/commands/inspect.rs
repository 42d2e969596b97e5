//! Inspect the trail: `vibe tools`, `tool`, `decisions`, `stats`, `memory`
//! and `playbooks`.

use vibe_store::store::{DecisionFilter, ToolCallFilter};
use vibe_store::{AnyStore, Decision, MissionId, MissionStore, ToolCall};

use crate::args::{DecisionsArgs, MemoryArgs, MemoryCommand, ToolsArgs};
use crate::output::json::{print_json, print_json_text, Listed};
use crate::output::listing::{print_rows, Listing};
use crate::output::{out, table};
use crate::{CliResult, Exit, Failure};

pub fn tools(store: &AnyStore, args: ToolsArgs) -> CliResult {
    let s = &args.selection;
    let mut filter = ToolCallFilter::default();
    filter.mission = s.mission()?;
    filter.tools = args.tools.clone();
    filter.success = (args.failed || args.succeeded).then_some(args.succeeded);
    (filter.since, filter.until) = (s.since, s.until);
    (filter.after_id, filter.limit) = (s.after, s.limit);
    let listing = Listing {
        table: table::tool_calls_table(s.all_missions),
        row: table::tool_call_row,
        id: |call: &ToolCall| call.id.get(),
    };
    listing.print(store, s, |after, f| {
        filter.after_id = after.or(filter.after_id);
        store.find_tool_calls(&filter, f)
    })
}

pub fn decisions(store: &AnyStore, args: DecisionsArgs) -> CliResult {
    let s = &args.selection;
    let mut filter = DecisionFilter::default();
    filter.mission = s.mission()?;
    filter.types = args.types.clone();
    filter.agents = args.agents.clone();
    (filter.since, filter.until) = (s.since, s.until);
    (filter.after_id, filter.limit) = (s.after, s.limit);
    let listing = Listing {
        table: table::decisions_table(s.all_missions),
        row: table::decision_row,
        id: |decision: &Decision| decision.id.get(),
    };
    listing.print(store, s, |after, f| {
        filter.after_id = after.or(filter.after_id);
        store.find_decisions(&filter, f)
    })
}

pub fn tool(store: &AnyStore, id: i64, json: bool) -> CliResult {
    let call = store.get_tool_call(id.into())?;
    if json {
        print_json(&Listed::new(&call))
    } else {
        table::print_tool_call(&call)
    }
}

pub fn stats(store: &AnyStore, uuid: Option<String>, json: bool) -> CliResult {
    let mission: Option<MissionId> = uuid.as_deref().map(str::parse).transpose()?;
    let stats = store.tool_stats(mission.as_ref())?;
    print_rows(&stats, json, table::stats_table(), table::stats_row)
}

pub fn playbooks(store: &AnyStore, uuid: String, json: bool) -> CliResult {
    let runs = store.get_playbook_runs(&uuid.parse()?)?;
    print_rows(&runs, json, table::playbooks_table(), table::playbook_row)
}

pub fn memory(store: &AnyStore, args: MemoryArgs) -> CliResult {
    match args.command {
        Some(MemoryCommand::Get { uuid, key }) => match store.get_memory(&uuid.parse()?, &key)? {
            Some(value) => print_json_text(value.as_str()),
            None => Err(Failure::new(
                format!("no live key {key:?} in mission {uuid}"),
                Exit::NotFound,
            )),
        },
        Some(MemoryCommand::Delete { uuid, key }) => {
            let live = store.delete_memory(&uuid.parse()?, &key)?;
            out(format_args!(
                "{}\n",
                if live { "deleted" } else { "absent" }
            ))
        }
        None => {
            let uuid = args
                .uuid
                .expect("clap requires the mission without a subcommand");
            let entries = store.list_memory(&uuid.parse()?)?;
            print_rows(
                &entries,
                args.json,
                table::memory_table(),
                table::memory_row,
            )
        }
    }
}
