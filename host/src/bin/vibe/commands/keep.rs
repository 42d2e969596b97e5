//! Keep and hand over: `vibe export`, `import`, `copy`, `backup` and
//! `prune` (with `--vacuum`). `vibe verify` is its own module.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use vibe_store::store::{Copied, ExportFilter, ExportLines, ImportScope, PruneFilter, Skipped};
use vibe_store::terminal::{json_for_terminal, visible_line};
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
    let mut file = match &args.output {
        Some(path) => Some(OutputFile::create(path, source_mode(store)).map_err(|e| io(path, e))?),
        None => None,
    };
    let mut sink: Box<dyn Write + '_> = match &mut file {
        Some(file) => Box::new(std::io::BufWriter::new(&file.file)),
        None => Box::new(std::io::stdout()),
    };
    // The lines are JSON: exact into a pipe or a file; on a terminal, what
    // could steer it is \u-escaped inside strings (the same JSON), as
    // `--json` does.
    let terminal = args.output.is_none() && std::io::stdout().is_terminal();
    // stdout that fails ends the export at once; a file that fails is said
    // once every mission has been read.
    let mut failed = None;
    let emit = |(line, rows): (String, u64)| -> CliResult {
        if failed.is_none() {
            let line = if terminal {
                json_for_terminal(&line)
            } else {
                line.as_str().into()
            };
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
    let skipped = match args.format {
        ExportFormat::Jsonl => walk(
            |f| store.export_jsonl(&filter, &mut |_, line, rows| f((line, rows))),
            emit,
        )?,
        ExportFormat::Otlp => walk(
            |f| store.export_otlp(&filter, &mut |_, line, rows| f((line, rows))),
            emit,
        )?,
    };
    let mut flushed = match failed {
        Some(e) => Err(e),
        None => sink.flush(),
    };
    drop(sink);
    if let (Ok(()), Some(file)) = (&flushed, file) {
        flushed = file.finish();
    }
    if let Some(progress) = progress {
        progress.finish();
    }
    match &args.output {
        Some(path) => flushed.map_err(|e| io(path, e))?,
        None => flushed.map_err(stdout_failure)?,
    }
    went_past("export", "exported", &skipped)
}

/// Names on stderr each item a command over the whole store went past, and
/// ends it with exit 6 when there was one.
fn went_past(command: &str, done: &str, skipped: &[Skipped]) -> CliResult {
    for item in skipped {
        eprintln!(
            "vibe {command}: went past {}",
            visible_line(&item.to_string())
        );
    }
    match skipped.len() {
        0 => Ok(()),
        n => Err(Failure::new(
            format!("{n} not {done} (named above); everything else was"),
            Exit::Partial,
        )),
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
    let skipped = source.copy_to(&dest, &mut |_, what, n| {
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
            "skipped": skipped,
        }))?;
    } else {
        out(format_args!(
            "copied {copied} missions ({rows} rows in all) from {} to {}; {there} were already there\n",
            visible_line(&source.location()),
            visible_line(&dest.location())
        ))?;
    }
    went_past("copy", "copied", &skipped)
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
    let (mut imported, mut present, mut refused) = (0u64, 0u64, 0u64);
    let mut scope = ImportScope::default();
    // Each line is read with a cap as it streams: a line over it is never
    // held in memory. A refused line refuses its mission whole, is named,
    // and the next line is read: the missions of the other lines are
    // imported. The database failing ends the import.
    let mut lines = ExportLines::new(reader);
    while let Some((n, line)) = lines.next_line() {
        match line.and_then(|line| store.import_jsonl_in(&line, &mut scope)) {
            Ok((_, true)) => imported += 1,
            Ok((_, false)) => present += 1,
            Err(e) if e.concerns_one_item() => {
                refused += 1;
                eprintln!(
                    "vibe import: went past line {n}: {}",
                    visible_line(&e.to_string())
                );
            }
            Err(e) => return Err(Failure::new(format!("line {n}: {e}"), Exit::Other)),
        }
    }
    out(format_args!(
        "imported {imported} missions; {present} already present{}\n",
        match refused {
            0 => String::new(),
            n => format!("; {n} lines refused"),
        }
    ))?;
    match refused {
        0 => Ok(()),
        // Nothing of the file was taken: the input was refused.
        _ if imported + present == 0 => Err(Failure::new(
            format!("every line of {} was refused (named above)", file.display()),
            Exit::InvalidInput,
        )),
        _ => Err(Failure::new(
            format!("{refused} lines refused (named above); every other line was imported"),
            Exit::Partial,
        )),
    }
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
    let summary = store.prune(&filter, args.dry_run, &mut |m| {
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
                m.created_at,
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
        out(format_args!("{verb} {} missions\n", summary.pruned))?;
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
    went_past("prune", "judged by age", &summary.skipped)
}

/// The permission bits a file holding `store`'s rows is created with: the
/// SQLite file's own (never more than read and write), 0600 for
/// PostgreSQL or a file whose mode cannot be read. The process's umask
/// narrows them further.
fn source_mode(store: &AnyStore) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    store
        .as_sqlite()
        .and_then(|file| std::fs::metadata(file.path()).ok())
        .map_or(0o600, |m| m.permissions().mode() & 0o666)
}

/// An export's `--output`: a regular file is written under a temporary
/// name beside it, created with its final mode (no moment with wider
/// permissions), and renamed into place once complete, so a failed export
/// leaves what was there; anything else (`/dev/null`, a FIFO) is opened
/// and written as it is.
struct OutputFile {
    file: std::fs::File,
    /// (temporary, final) when written under a temporary name.
    rename: Option<(PathBuf, PathBuf)>,
}

impl OutputFile {
    fn create(path: &Path, mode: u32) -> std::io::Result<OutputFile> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if !meta.is_file() {
                let file = std::fs::OpenOptions::new().write(true).open(path)?;
                return Ok(OutputFile { file, rename: None });
            }
        }
        let name = path.file_name().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path")
        })?;
        let temp = path.with_file_name(format!(
            ".{}.export-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        Ok(OutputFile {
            file,
            rename: Some((temp, path.to_owned())),
        })
    }

    /// Makes the file durable and puts it in place.
    fn finish(mut self) -> std::io::Result<()> {
        match self.rename.take() {
            Some((temp, path)) => {
                let placed = self
                    .file
                    .sync_all()
                    .and_then(|()| std::fs::rename(&temp, &path));
                if placed.is_err() {
                    let _ = std::fs::remove_file(&temp);
                }
                placed
            }
            None => Ok(()),
        }
    }
}

impl Drop for OutputFile {
    /// An export that did not finish leaves no temporary file.
    fn drop(&mut self) {
        if let Some((temp, _)) = &self.rename {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// `vibe backup`: a faithful copy of rows that break a constraint is a
/// warning naming them (exit 0), not a failure; a damaged copy fails.
pub fn backup(store: &AnyStore, path: PathBuf, json: bool) -> CliResult {
    let backup = store.sqlite_only("vibe backup")?.backup_to(&path)?;
    let breaking = &backup.rows_breaking_constraints;
    let integrity = if breaking.is_empty() {
        "ok"
    } else {
        "ok, with rows that break constraints (copied as they are)"
    };
    for row in breaking {
        eprintln!(
            "vibe backup: warning: {} {} breaks a constraint of its table (another program \
             wrote it); copied as it is",
            visible_line(&row.table),
            visible_line(&row.row)
        );
    }
    if json {
        print_json(&serde_json::json!({
            "path": path,
            "bytes": backup.bytes,
            "integrity": integrity,
            "rows_breaking_constraints": breaking,
        }))
    } else {
        out(format_args!(
            "backed up to {} ({} bytes, integrity {integrity})\n",
            visible_line(&path.display().to_string()),
            backup.bytes
        ))
    }
}
