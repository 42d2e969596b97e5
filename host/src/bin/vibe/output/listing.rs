//! Listings of rows: as a table or as JSON; for `vibe tools` and `vibe
//! decisions` streamed from the store, once or, with `--follow`, as other
//! connections commit them.

use std::time::Duration;

use serde::Serialize;
use vibe_store::store::Skipped;
use vibe_store::terminal::visible_line;
use vibe_store::{AnyStore, StoreError};

use super::json::{print_json_line, JsonColumns, JsonList, Listed};
use super::{table, walk};
use crate::args::Selection;
use crate::{CliResult, Failure};

/// How often `--follow` asks whether anything was committed.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// How one kind of row is listed: its table, a row's cells, a row's id.
pub struct Listing<T> {
    pub table: table::Table,
    pub row: fn(&T, bool) -> Vec<String>,
    pub id: fn(&T) -> i64,
}

impl<T: Serialize + JsonColumns> Listing<T> {
    /// Prints the rows `find` gives (called with the id to resume after,
    /// and the function to hand each row to) as a table or as JSON, once or,
    /// with `--follow`, as they are committed.
    pub fn print(
        mut self,
        store: &AnyStore,
        s: &Selection,
        mut find: impl FnMut(
            Option<i64>,
            &mut dyn FnMut(T) -> Result<(), StoreError>,
        ) -> Result<(), StoreError>,
    ) -> CliResult {
        let with_mission = s.all_missions;
        // Rows another program stored that cannot be read are gone past by
        // the store, which names them after the rest: the rest is printed,
        // then they are named (exit 6, or, following, a warning and on).
        let unreadable: std::cell::RefCell<Vec<Skipped>> = Default::default();
        let mut find = |after, f: &mut dyn FnMut(T) -> Result<(), StoreError>| match find(after, f)
        {
            Err(StoreError::Unreadable(rows)) => {
                unreadable.borrow_mut().extend(rows);
                Ok(())
            }
            other => other,
        };
        if s.follow {
            return follow(store, |after| {
                let mut last = None;
                walk(
                    |f| find(after, f),
                    |row| {
                        last = Some((self.id)(&row));
                        if s.json {
                            print_json_line(&Listed::new(&row))
                        } else {
                            self.table.push((self.row)(&row, with_mission))
                        }
                    },
                )?;
                if !s.json {
                    self.table.flush()?;
                }
                for row in unreadable.borrow_mut().drain(..) {
                    eprintln!("vibe: went past {}", visible_line(&row.to_string()));
                    last = last.max(row.row_id);
                }
                Ok(last)
            });
        }
        if s.json {
            let mut list = JsonList::new()?;
            walk(|f| find(None, f), |row| list.push(&row))?;
            list.finish()?;
        } else {
            walk(
                |f| find(None, f),
                |row| self.table.push((self.row)(&row, with_mission)),
            )?;
            self.table.finish()?;
        }
        let unreadable = unreadable.into_inner();
        match unreadable.is_empty() {
            true => Ok(()),
            false => Err(StoreError::Unreadable(unreadable).into()),
        }
    }
}

/// Prints what `print_new(None)` finds, then, each time another
/// connection commits, what `print_new(Some(last id printed))` finds; until
/// the process is interrupted or stdout fails (its reader went away). Idle,
/// it asks SQLite one cheap question every [`FOLLOW_POLL`].
fn follow(
    store: &AnyStore,
    mut print_new: impl FnMut(Option<i64>) -> Result<Option<i64>, Failure>,
) -> CliResult {
    let mut seen = store.data_version()?;
    let mut last = print_new(None)?;
    loop {
        std::thread::sleep(FOLLOW_POLL);
        let now = store.data_version()?;
        if now != seen {
            seen = now;
            last = print_new(last)?.or(last);
        }
    }
}

/// Rows already read, printed as a table or as one JSON array.
pub fn print_rows<T: Serialize + JsonColumns>(
    rows: &[T],
    json: bool,
    mut table: table::Table,
    row: fn(&T) -> Vec<String>,
) -> CliResult {
    if json {
        let mut list = JsonList::new()?;
        for item in rows {
            list.push(item)?;
        }
        list.finish()
    } else {
        for item in rows {
            table.push(row(item))?;
        }
        table.finish()
    }
}
