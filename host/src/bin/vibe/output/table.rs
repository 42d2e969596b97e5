//! Human output: aligned tables and key/value blocks.
//!
//! Every cell is text from a tool or from the database, so every cell is
//! passed through [`visible_line`] before it reaches the terminal. Tables
//! stream: the first rows set the column widths, and rows after them are
//! printed as they come, so listing a mission of any size holds only a
//! screenful of rows in memory. Widths are display widths (a wide CJK
//! character counts two columns), and a table fits the terminal (its width,
//! or `COLUMNS`): the widest columns give way first, and a cell is cut at a
//! character boundary with an ellipsis, never mid-character.

use std::io::IsTerminal;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
use vibe_store::store::{format_timestamp, Timestamp};
use vibe_store::store::{MemoryEntry, PlaybookRun, ToolStats};
use vibe_store::terminal::visible_line;
use vibe_store::{Decision, Json, Mission, ToolCall, ToolCallId};

use super::out;
use crate::CliResult;

/// Widest a cell is printed; longer text is cut with an ellipsis.
const MAX_CELL: usize = 60;
/// Narrowest a column is squeezed to when fitting the terminal.
const MIN_CELL: usize = 6;
/// Rows read before the column widths are fixed.
const MEASURED_ROWS: usize = 200;
/// Space between columns.
const GAP: &str = "  ";

/// A table printed as its rows arrive.
pub struct Table {
    header: Vec<&'static str>,
    widths: Vec<usize>,
    pending: Option<Vec<Vec<String>>>,
    /// Whether the widths were fitted to a terminal: then every cell is cut
    /// to its column; otherwise a later, longer cell may push its line.
    fitted: bool,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Self {
        Table {
            widths: header.iter().map(|h| h.width()).collect(),
            header: header.to_vec(),
            pending: Some(Vec::new()),
            fitted: false,
        }
    }

    pub fn push(&mut self, row: Vec<String>) -> CliResult {
        let row: Vec<String> = row
            .iter()
            .map(|cell| clip(&visible_line(cell), MAX_CELL))
            .collect();
        match &mut self.pending {
            Some(pending) => {
                for (w, cell) in self.widths.iter_mut().zip(&row) {
                    *w = (*w).max(cell.width());
                }
                pending.push(row);
                if pending.len() >= MEASURED_ROWS {
                    self.flush()?;
                }
                Ok(())
            }
            None => self.line(&row),
        }
    }

    /// Prints what is still buffered (the header, if nothing else).
    pub fn finish(mut self) -> CliResult {
        self.flush()
    }

    /// Prints what is buffered now and every later row as it comes (for
    /// `--follow`); the widths are those of the rows seen so far, fitted to
    /// the terminal.
    pub fn flush(&mut self) -> CliResult {
        if let Some(pending) = self.pending.take() {
            if let Some(columns) = terminal_columns() {
                fit(&mut self.widths, columns);
                self.fitted = true;
            }
            let header: Vec<String> = self.header.iter().map(|h| h.to_string()).collect();
            self.line(&header)?;
            for row in &pending {
                self.line(row)?;
            }
        }
        Ok(())
    }

    fn line(&self, row: &[String]) -> CliResult {
        let mut text = String::new();
        for (i, (cell, &w)) in row.iter().zip(&self.widths).enumerate() {
            if i > 0 {
                text.push_str(GAP);
            }
            let cell = if self.fitted {
                clip(cell, w)
            } else {
                cell.clone()
            };
            let pad = w.saturating_sub(cell.width());
            text.push_str(&cell);
            text.extend(std::iter::repeat_n(' ', pad));
        }
        out(format_args!("{}\n", text.trim_end()))
    }
}

/// The width to fit: `COLUMNS` if set, else the terminal's when stdout is
/// one; `None` (no fitting) when piped.
fn terminal_columns() -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
    {
        return Some(columns);
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a winsize for a terminal descriptor; the
    // struct is plain data.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// Narrows the widest columns, one column at a time, until the table fits
/// `columns` (or every column is at [`MIN_CELL`]).
fn fit(widths: &mut [usize], columns: usize) {
    let total = |w: &[usize]| w.iter().sum::<usize>() + GAP.len() * w.len().saturating_sub(1);
    while total(widths) > columns {
        let Some(widest) = widths
            .iter_mut()
            .filter(|w| **w > MIN_CELL)
            .max_by_key(|w| **w)
        else {
            break;
        };
        *widest -= 1;
    }
}

/// `text` in at most `width` display columns: whole, or cut at a character
/// boundary with an ellipsis.
fn clip(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

fn or_dash(text: Option<&str>) -> String {
    text.unwrap_or("-").to_owned()
}

/// A stored time as the store writes it; text that is not a time as it
/// was written, marked so it is not read as one.
fn time(at: Option<&Timestamp>) -> String {
    match at {
        None => "-".to_owned(),
        Some(Timestamp::At(at)) => format_timestamp(*at),
        Some(Timestamp::NotATime(text)) => format!("{text:?} (not a time)"),
    }
}

fn json_cell(value: Option<&Json>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.as_str().to_owned())
}

pub fn missions_table() -> Table {
    Table::new(&[
        "ID",
        "MISSION_UUID",
        "PHASE",
        "STATUS",
        "CREATED_AT",
        "COMPLETED_AT",
        "GOAL",
    ])
}

pub fn mission_row(m: &Mission) -> Vec<String> {
    vec![
        m.id.to_string(),
        m.mission_uuid.to_string(),
        m.phase.to_string(),
        m.status.to_string(),
        time(Some(&m.created_at)),
        time(m.completed_at.as_ref()),
        goal(m.metadata.as_ref()),
    ]
}

/// A mission's metadata in brief: its `goal` if it has one, else the text.
fn goal(metadata: Option<&Json>) -> String {
    let Some(metadata) = metadata else {
        return "-".into();
    };
    // Metadata is bounded (1 MiB) and this runs once per listed mission.
    match metadata.to_value() {
        Ok(serde_json::Value::Object(map)) => match map.get("goal") {
            Some(serde_json::Value::String(goal)) => goal.clone(),
            Some(other) => other.to_string(),
            None => metadata.as_str().to_owned(),
        },
        _ => metadata.as_str().to_owned(),
    }
}

pub fn print_mission(mission: &Mission) -> CliResult {
    let fields = [
        ("mission_uuid", mission.mission_uuid.to_string()),
        ("phase", mission.phase.to_string()),
        ("status", mission.status.to_string()),
        ("created_at", time(Some(&mission.created_at))),
        ("completed_at", time(mission.completed_at.as_ref())),
        ("metadata", json_cell(mission.metadata.as_ref())),
        (
            "created_by",
            mission
                .invocation_id
                .map_or_else(|| "-".to_owned(), |id| format!("invocation #{id}")),
        ),
    ];
    for (key, value) in fields {
        out(format_args!("{key:<13} {}\n", visible_line(&value)))?;
    }
    Ok(())
}

/// The tool-call table; with the mission's id as a column when rows come
/// from several missions.
pub fn tool_calls_table(with_mission: bool) -> Table {
    let mission: &[&'static str] = if with_mission { &["MISSION_UUID"] } else { &[] };
    Table::new(
        &[
            mission,
            &[
                "ID",
                "TIMESTAMP",
                "TOOL_NAME",
                "SUCCESS",
                "MS",
                "ORIGIN",
                "ARGS",
                "RESULT/ERROR",
            ],
        ]
        .concat(),
    )
}

pub fn tool_call_row(c: &ToolCall, with_mission: bool) -> Vec<String> {
    let mission = with_mission.then(|| c.mission_uuid.to_string());
    mission
        .into_iter()
        .chain([
            c.id.to_string(),
            time(Some(&c.timestamp)),
            c.tool_name.clone(),
            match c.outcome {
                Some(outcome) if outcome != vibe_store::store::Outcome::Ok => {
                    format!("FAILED ({outcome})")
                }
                _ if c.success => "ok".to_owned(),
                _ => "FAILED".to_owned(),
            },
            c.duration_ms
                .map_or_else(|| "-".to_owned(), |d| d.to_string()),
            origin(
                c.invocation_id,
                c.invoked_by.as_deref(),
                c.component_sha256.as_deref(),
            ),
            c.args.as_str().to_owned(),
            match (&c.error_message, &c.result) {
                (Some(error), _) => error.clone(),
                (None, result) => json_cell(result.as_ref()),
            },
        ])
        .collect()
}

/// Who wrote a row: `run <sha>` for an invocation row the host wrote,
/// `via planner#12` for a row a tool wrote during invocation 12, `-` for
/// rows written from outside any sandbox.
pub fn origin(
    invocation: Option<ToolCallId>,
    invoked_by: Option<&str>,
    sha256: Option<&str>,
) -> String {
    match (invocation, sha256) {
        (Some(id), _) => format!("via {}#{id}", invoked_by.unwrap_or("")),
        (None, Some(sha)) => format!("run {}", &sha[..sha.len().min(12)]),
        (None, None) => "-".to_owned(),
    }
}

/// The decision table; with the mission's id as a column when rows come
/// from several missions.
pub fn decisions_table(with_mission: bool) -> Table {
    let mission: &[&'static str] = if with_mission { &["MISSION_UUID"] } else { &[] };
    Table::new(
        &[
            mission,
            &[
                "ID",
                "TIMESTAMP",
                "DECISION_TYPE",
                "AGENT_NAME",
                "ORIGIN",
                "RATIONALE",
                "CONTEXT",
            ],
        ]
        .concat(),
    )
}

pub fn decision_row(d: &Decision, with_mission: bool) -> Vec<String> {
    let mission = with_mission.then(|| d.mission_uuid.to_string());
    mission
        .into_iter()
        .chain([
            d.id.to_string(),
            time(Some(&d.timestamp)),
            d.decision_type.clone(),
            or_dash(d.agent_name.as_deref()),
            origin(d.invocation_id, d.invoked_by.as_deref(), None),
            or_dash(d.rationale.as_deref()),
            json_cell(d.context.as_ref()),
        ])
        .collect()
}

/// One tool call in full, a field a line.
pub fn print_tool_call(c: &ToolCall) -> CliResult {
    let fields = [
        ("id", c.id.to_string()),
        ("mission_uuid", c.mission_uuid.to_string()),
        ("timestamp", time(Some(&c.timestamp))),
        ("tool_name", c.tool_name.clone()),
        ("success", c.success.to_string()),
        (
            "outcome",
            c.outcome.map_or_else(|| "-".into(), |o| o.to_string()),
        ),
        (
            "duration_ms",
            c.duration_ms.map_or_else(|| "-".into(), |d| d.to_string()),
        ),
        (
            "origin",
            origin(
                c.invocation_id,
                c.invoked_by.as_deref(),
                c.component_sha256.as_deref(),
            ),
        ),
        ("component", or_dash(c.component_sha256.as_deref())),
        ("args", c.args.as_str().to_owned()),
        ("result", json_cell(c.result.as_ref())),
        ("error_message", or_dash(c.error_message.as_deref())),
    ];
    for (key, value) in fields {
        out(format_args!("{key:<13} {}\n", visible_line(&value)))?;
    }
    Ok(())
}

pub fn stats_table() -> Table {
    Table::new(&[
        "TOOL_NAME",
        "CALLS",
        "FAILURES",
        "FAIL_RATE",
        "P50_MS",
        "P95_MS",
        "MAX_MS",
        "FIRST",
        "LAST",
    ])
}

pub fn stats_row(s: &ToolStats) -> Vec<String> {
    let ms = |v: Option<i64>| v.map_or_else(|| "-".into(), |v| v.to_string());
    vec![
        s.tool_name.clone(),
        s.calls.to_string(),
        s.failures.to_string(),
        format!("{:.1}%", s.failure_rate * 100.0),
        ms(s.p50_ms),
        ms(s.p95_ms),
        ms(s.max_ms),
        time(s.first.as_ref()),
        time(s.last.as_ref()),
    ]
}

pub fn memory_table() -> Table {
    Table::new(&["KEY", "VALUE", "UPDATED_AT", "EXPIRES_AT", "ORIGIN"])
}

pub fn memory_row(m: &MemoryEntry) -> Vec<String> {
    vec![
        m.key.clone(),
        json_cell(m.value.as_ref()),
        time(Some(&m.updated_at)),
        time(m.expires_at.as_ref()),
        origin(m.invocation_id, None, None),
    ]
}

pub fn playbooks_table() -> Table {
    Table::new(&[
        "ID",
        "PLAYBOOK",
        "PHASE",
        "STARTED_AT",
        "COMPLETED_AT",
        "SUCCESS",
        "METRICS",
        "ERROR",
    ])
}

pub fn playbook_row(p: &PlaybookRun) -> Vec<String> {
    vec![
        p.id.to_string(),
        p.playbook_name.clone(),
        or_dash(p.phase.as_deref()),
        time(Some(&p.started_at)),
        time(p.completed_at.as_ref()),
        p.success
            .map_or_else(|| "-".into(), |s| if s { "ok" } else { "FAILED" }.into()),
        json_cell(p.metrics.as_ref()),
        or_dash(p.error_message.as_deref()),
    ]
}
