//! Inspect the trail: `vibe tools`, `tool`, `decisions`, `stats`, `memory`
//! and `playbooks`.

use vibe_store::store::{DecisionFilter, ToolCallFilter};
use vibe_store::{AnyStore, Decision, MissionId, MissionStore, ToolCall};

use crate::args::{DecisionsArgs, MemoryArgs, MemoryCommand, ToolsArgs};
use crate::output::json::{print_json, print_json_text, JsonList, Listed};
use crate::output::listing::Listing;
use crate::output::{out, table};
use crate::{CliResult, Exit, Failure};

pub fn tools(store: &AnyStore, args: ToolsArgs) -> CliResult {
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
    listing.print(store, s, |after, f| {
        filter.after_id = after.or(filter.after_id);
        store.find_tool_calls(&filter, f)
    })
}

pub fn decisions(store: &AnyStore, args: DecisionsArgs) -> CliResult {
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
    listing.print(store, s, |after, f| {
        filter.after_id = after.or(filter.after_id);
        store.find_decisions(&filter, f)
    })
}

pub fn tool(store: &AnyStore, id: i64, json: bool) -> CliResult {
    let call = store.get_tool_call(id.into())?;
    if json {
        print_json(&Listed::new(&call));
    } else {
        table::print_tool_call(&call);
    }
    Ok(())
}

pub fn stats(store: &AnyStore, uuid: Option<String>, json: bool) -> CliResult {
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
    Ok(())
}

pub fn playbooks(store: &AnyStore, uuid: String, json: bool) -> CliResult {
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
    Ok(())
}

pub fn memory(store: &AnyStore, args: MemoryArgs) -> CliResult {
    match args.command {
        Some(MemoryCommand::Get { uuid, key }) => match store.get_memory(&uuid.parse()?, &key)? {
            Some(value) => print_json_text(value.as_str()),
            None => {
                return Err(Failure::new(
                    format!("no live key {key:?} in mission {uuid}"),
                    Exit::NotFound,
                ))
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
