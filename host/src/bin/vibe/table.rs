//! Human output: aligned tables and key/value blocks.

use serde_json::Value;
use vibe_store::{Decision, Mission, ToolCall};

/// Longest cell printed; longer text is cut with an ellipsis.
const MAX_CELL: usize = 60;

/// Prints rows under a header, each column as wide as its widest cell.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| clip(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: Vec<&str>| {
        let padded: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &cells {
        line(row.iter().map(String::as_str).collect());
    }
}

fn clip(text: &str) -> String {
    let one_line = text.replace(['\n', '\r', '\t'], " ");
    if one_line.chars().count() <= MAX_CELL {
        one_line
    } else {
        let cut: String = one_line.chars().take(MAX_CELL - 1).collect();
        format!("{cut}…")
    }
}

fn or_dash(text: Option<&str>) -> String {
    text.unwrap_or("-").to_owned()
}

fn json_cell(value: Option<&Value>) -> String {
    value.map_or_else(|| "-".to_owned(), Value::to_string)
}

pub fn print_missions(missions: &[Mission]) {
    let rows: Vec<Vec<String>> = missions
        .iter()
        .map(|m| {
            vec![
                m.mission_uuid.clone(),
                m.phase.to_string(),
                m.status.to_string(),
                m.created_at.clone(),
                or_dash(m.completed_at.as_deref()),
            ]
        })
        .collect();
    print_table(
        &[
            "MISSION_UUID",
            "PHASE",
            "STATUS",
            "CREATED_AT",
            "COMPLETED_AT",
        ],
        &rows,
    );
}

pub fn print_mission(mission: &Mission) {
    let fields = [
        ("mission_uuid", mission.mission_uuid.clone()),
        ("phase", mission.phase.to_string()),
        ("status", mission.status.to_string()),
        ("created_at", mission.created_at.clone()),
        ("completed_at", or_dash(mission.completed_at.as_deref())),
        ("metadata", mission.metadata.to_string()),
    ];
    for (key, value) in fields {
        println!("{key:<13} {value}");
    }
}

pub fn print_tool_calls(calls: &[ToolCall]) {
    let rows: Vec<Vec<String>> = calls
        .iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                c.timestamp.clone(),
                c.tool_name.clone(),
                if c.success { "ok" } else { "FAILED" }.to_owned(),
                c.duration_ms
                    .map_or_else(|| "-".to_owned(), |d| d.to_string()),
                c.args.to_string(),
                match (&c.error_message, &c.result) {
                    (Some(error), _) => error.clone(),
                    (None, result) => json_cell(result.as_ref()),
                },
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "TIMESTAMP",
            "TOOL_NAME",
            "SUCCESS",
            "MS",
            "ARGS",
            "RESULT/ERROR",
        ],
        &rows,
    );
}

pub fn print_decisions(decisions: &[Decision]) {
    let rows: Vec<Vec<String>> = decisions
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.timestamp.clone(),
                d.decision_type.clone(),
                or_dash(d.agent_name.as_deref()),
                or_dash(d.rationale.as_deref()),
                json_cell(d.context.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "TIMESTAMP",
            "DECISION_TYPE",
            "AGENT_NAME",
            "RATIONALE",
            "CONTEXT",
        ],
        &rows,
    );
}
