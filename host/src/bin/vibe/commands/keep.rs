//! Keep and hand over: `vibe export`, `import`, `copy`, `backup` and
//! `prune` (with `--vacuum`). `vibe verify` is its own module.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use vibe_store::store::{Copied, ExportFilter, ExportLines, ImportScope, PruneFilter, StoreError};
use vibe_store::terminal::visible_line;
use vibe_store::{AnyStore, MissionStore, OpenOptions};

use crate::args::{ExportArgs, ExportFormat, PruneArgs};
use crate::output::json::{print_json, print_json_line};
use crate::output::progress::Progress;
use crate::output::{out, stdout_failure, walk};
use crate::{CliResult, Exit, Failure};

pub fn export(store: &AnyStore, args: ExportArgs) -> CliResult {
    let mut filter = ExportFilter::default();
    filter.missions = args
        .uuids
        .iter()
        .map(|u| u.parse())
        .collect::<Result<_, _>>()?;
    filter.since = args.since;
    let io = |path: &Path, e: std::io::Error| {
        Failure::new(format!("cannot write {}: {e}", path.display()), Exit::Other)
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
        None => Box::new(std::io::stdout()),
    };
    // stdout that fails ends the export at once; a file that fails is said
    // once every mission has been read.
    let mut failed = None;
    let emit = |(line, rows): (String, u64)| -> CliResult {
        if failed.is_none() {
            if let Err(e) = writeln!(sink, "{line}") {
                if args.output.is_none() {
                    return Err(stdout_failure(e));
                }
                failed = Some(e);
            }
        }
        if let Some(progress) = progress.as_mut() {
            progress.advance(rows);
        }
        Ok(())
    };
    match args.format {
        ExportFormat::Jsonl => walk(
            |f| store.export_jsonl(&filter, &mut |_, line, rows| f((line, rows))),
            emit,
        )?,
        ExportFormat::Otlp => walk(
            |f| store.export_otlp(&filter, &mut |_, line, rows| f((line, rows))),
            emit,
        )?,
    }
    let flushed = match failed {
        Some(e) => Err(e),
        None => sink.flush(),
    };
    if let Some(progress) = progress {
        progress.finish();
    }
    match &args.output {
        Some(path) => flushed.map_err(|e| io(path, e)),
        None => flushed.map_err(stdout_failure),
    }
}

/// `vibe copy`: `options` are those the global flags give (`--db` is not
/// used).
pub fn copy(options: OpenOptions, from: &str, to: &str, json: bool) -> CliResult {
    let source = AnyStore::open_with(from, options.clone().read_only())?;
    let dest = AnyStore::open_with(to, options)?;
    if source.location() == dest.location() {
        return Err(Failure::new(
            "--from and --to are the same store",
            Exit::Usage,
        ));
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
        }))
    } else {
        out(format_args!(
            "copied {copied} missions ({rows} rows in all) from {} to {}; {there} were already there\n",
            visible_line(&source.location()),
            visible_line(&dest.location())
        ))
    }
}

pub fn import(store: &AnyStore, file: &Path) -> CliResult {
    let reader: Box<dyn std::io::BufRead> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let opened = std::fs::File::open(file).map_err(|e| {
            Failure::new(format!("cannot read {}: {e}", file.display()), Exit::Other)
        })?;
        Box::new(std::io::BufReader::new(opened))
    };
    let (mut imported, mut present) = (0u64, 0u64);
    let mut scope = ImportScope::default();
    // Each line is read with a cap as it streams: a line over it is never
    // held in memory. A refused line refuses its mission whole; the
    // missions of the lines before it stay imported.
    let mut lines = ExportLines::new(reader);
    while let Some((n, line)) = lines.next_line() {
        let (_, new) = line
            .and_then(|line| store.import_jsonl_in(&line, &mut scope))
            .map_err(|e| {
                let exit = match e {
                    StoreError::Internal(_) => Exit::Other,
                    _ => Exit::InvalidInput,
                };
                Failure::new(format!("line {n}: {e}"), exit)
            })?;
        if new {
            imported += 1;
        } else {
            present += 1;
        }
    }
    out(format_args!(
        "imported {imported} missions; {present} already present\n"
    ))
}

pub fn prune(store: &AnyStore, args: PruneArgs) -> CliResult {
    let filter = PruneFilter::new(args.before, args.status);
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    // The store's batches cannot be stopped from here: a write to stdout
    // that fails is kept, nothing more is printed, and it ends the command
    // once the batches are done.
    let mut failed = None;
    let count = store.prune(&filter, args.dry_run, &mut |m| {
        if failed.is_some() {
            return;
        }
        let printed = if args.json {
            print_json_line(m)
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
            ))
        };
        failed = printed.err();
    })?;
    if let Some(failure) = failed {
        return Err(failure);
    }
    if !args.json {
        out(format_args!("{verb} {count} missions\n"))?;
    }
    if args.vacuum {
        match store.as_sqlite() {
            Some(file) => {
                let (before, after) = file.vacuum()?;
                if !args.json {
                    out(format_args!("vacuumed: {before} bytes -> {after} bytes\n"))?;
                }
            }
            None => eprintln!("--vacuum: PostgreSQL reclaims the space itself (autovacuum)"),
        }
    }
    Ok(())
}

pub fn backup(store: &AnyStore, path: PathBuf, json: bool) -> CliResult {
    let bytes = store.sqlite_only("vibe backup")?.backup_to(&path)?;
    if json {
        print_json(&serde_json::json!({
            "path": path,
            "bytes": bytes,
            "integrity": "ok",
        }))
    } else {
        out(format_args!(
            "backed up to {} ({bytes} bytes, integrity ok)\n",
            visible_line(&path.display().to_string())
        ))
    }
}
