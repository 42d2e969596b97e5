//! `vibe verify`: recompute missions' hash chains, and compare them with the
//! chain heads an export kept.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;
use vibe_store::store::{
    exported_chain_head, AnyStore, ChainHead, ChainReport, ExportLines, MissionId, StoreError,
};
use vibe_store::terminal::visible_line;

use crate::args::VerifyArgs;
use crate::output::json::print_json_line;
use crate::output::{out, walk};
use crate::{CliResult, Exit, Failure};

/// How a mission's chain compares with a recorded head.
#[derive(Serialize)]
struct Against {
    length: i64,
    hash: Option<String>,
    /// Whether the chain's entry at `length` has that hash.
    matches: bool,
    /// What is there instead (null: the chain is shorter).
    found: Option<String>,
}

#[derive(Serialize)]
struct Verdict<'a> {
    #[serde(flatten)]
    report: &'a ChainReport,
    intact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    against: Option<Against>,
}

pub(crate) fn verify(store: &AnyStore, args: VerifyArgs) -> CliResult {
    let mut wanted: Vec<MissionId> = args
        .uuids
        .iter()
        .map(|u| u.parse())
        .collect::<Result<_, _>>()?;
    let heads = match &args.against {
        Some(path) => {
            let heads = read_heads(path)?;
            if wanted.is_empty() {
                wanted = heads.iter().map(|(id, _)| id.clone()).collect();
            }
            heads.into_iter().collect()
        }
        None => HashMap::new(),
    };
    let mut tally = Tally::default();
    // How a chain compares with the head the export kept for it, if any.
    let against = |report: &ChainReport| {
        heads
            .get(&report.mission)
            .map(|head| compare(store, report, head))
            .transpose()
    };
    let check = |tally: &mut Tally, report: ChainReport, against: Option<Against>| {
        tally.count(&report, against.as_ref());
        show(&report, against, args.json)
    };
    if wanted.is_empty() {
        // A chain that cannot be compared is reported once the others have
        // been checked; a write to stdout that fails ends the walk.
        let mut failed = None;
        walk(
            |f| store.verify_chains(f),
            |report| match against(&report) {
                Ok(a) => check(&mut tally, report, a),
                Err(e) => {
                    failed.get_or_insert(e);
                    Ok(())
                }
            },
        )?;
        if let Some(e) = failed {
            return Err(e);
        }
        for orphan in store.orphan_chains()? {
            tally.tampered += 1;
            if args.json {
                print_json_line(&serde_json::json!({ "orphan_chain": orphan, "intact": false }))?;
            } else {
                out(format_args!(
                    "mission row #{}: DELETED: its chain of {} entries remains, the mission and its rows are gone\n",
                    orphan.mission_row, orphan.entries
                ))?;
            }
        }
    } else {
        for mission in &wanted {
            match store.verify_chain(mission) {
                Ok(report) => {
                    let a = against(&report)?;
                    check(&mut tally, report, a)?
                }
                // A mission the export holds and the database does not.
                Err(StoreError::MissionNotFound(_)) if heads.contains_key(mission) => {
                    tally.tampered += 1;
                    if args.json {
                        print_json_line(&serde_json::json!({
                            "mission": mission, "intact": false, "missing": true,
                        }))?;
                    } else {
                        out(format_args!(
                            "mission {mission}: DELETED: the export holds it, the database does not\n"
                        ))?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    if !args.json {
        out(format_args!("{}\n", tally.summary()))?;
    }
    if tally.tampered > 0 {
        // Every check ran: tampering found.
        return Err(Failure::quiet(Exit::CheckFailed));
    }
    Ok(())
}

/// Compares the chain with a recorded head.
fn compare(store: &AnyStore, report: &ChainReport, head: &ChainHead) -> Result<Against, Failure> {
    let found = if head.length == 0 {
        None
    } else {
        store.chain_entry(&report.mission, head.length)?
    };
    Ok(Against {
        length: head.length,
        hash: head.hash.clone(),
        matches: found == head.hash,
        found,
    })
}

#[derive(Default)]
struct Tally {
    missions: u64,
    intact: u64,
    tampered: u64,
    unchained: u64,
}

impl Tally {
    fn count(&mut self, report: &ChainReport, against: Option<&Against>) {
        self.missions += 1;
        self.unchained += report.unchained;
        if report.intact() && against.is_none_or(|a| a.matches) {
            self.intact += 1;
        } else {
            self.tampered += 1;
        }
    }

    fn summary(&self) -> String {
        let mut line = format!(
            "verified {} missions: {} intact, {} tampered",
            self.missions, self.intact, self.tampered
        );
        if self.unchained > 0 {
            line.push_str(&format!(
                "; {} rows unchained (written by other programs: not covered)",
                self.unchained
            ));
        }
        line
    }
}

fn show(report: &ChainReport, against: Option<Against>, json: bool) -> CliResult {
    let intact = report.intact() && against.as_ref().is_none_or(|a| a.matches);
    if json {
        return print_json_line(&Verdict {
            report,
            intact,
            against,
        });
    }
    let head = match &report.head {
        Some(hash) => format!("head {}", prefix(hash)),
        None => "no chain".into(),
    };
    let mut line = format!(
        "mission {}: {}: {} rows checked, {} entries, {head}",
        report.mission,
        if intact { "intact" } else { "TAMPERED" },
        report.checked,
        report.length
    );
    if report.unchained > 0 {
        line.push_str(&format!(", {} unchained", report.unchained));
    }
    out(format_args!("{}\n", visible_line(&line)))?;
    for (what, rows) in [
        ("edited", &report.edited),
        ("deleted", &report.deleted),
        ("out of chain", &report.out_of_chain),
        ("moved", &report.moved),
    ] {
        for row in rows {
            out(format_args!("  {what}: {row}\n"))?;
        }
    }
    if let Some(a) = against {
        let recorded = a.hash.as_deref().unwrap_or("none");
        if a.matches {
            out(format_args!(
                "  matches the export's head at entry {} ({})\n",
                a.length,
                visible_line(prefix(recorded))
            ))?;
        } else {
            match a.found {
                Some(found) => out(format_args!(
                    "  REWRITTEN: entry {} is {}, the export recorded {}\n",
                    a.length,
                    visible_line(&found),
                    visible_line(recorded)
                ))?,
                None => out(format_args!(
                    "  TRUNCATED: the chain has {} entries, the export recorded {}\n",
                    report.length, a.length
                ))?,
            }
        }
    }
    Ok(())
}

/// The first 16 characters of a hash as stored (whatever text it holds).
fn prefix(hash: &str) -> &str {
    hash.char_indices()
        .nth(16)
        .map_or(hash, |(at, _)| &hash[..at])
}

/// Each mission's chain head from an export file, in file order; each line
/// read with the import's cap.
fn read_heads(path: &Path) -> Result<Vec<(MissionId, ChainHead)>, Failure> {
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", path.display()), Exit::Other))?;
    let mut heads = Vec::new();
    let mut lines = ExportLines::new(std::io::BufReader::new(file));
    while let Some((n, line)) = lines.next_line() {
        heads.push(
            line.and_then(|line| exported_chain_head(&line))
                .map_err(|e| {
                    Failure::new(
                        format!("{} line {n}: {e}", path.display()),
                        Exit::InvalidInput,
                    )
                })?,
        );
    }
    Ok(heads)
}
