//! What the global flags open: the store (read-only for the commands that
//! only read), and the sandbox runtime with its on-disk cache of compiled
//! components.

use std::path::PathBuf;
use std::time::Duration;

use vibe_store::sandbox::{Runtime, RuntimeConfig};
use vibe_store::terminal::visible_line;
use vibe_store::{AnyStore, OpenOptions};

use crate::args::{Cli, Command, MemoryCommand, MissionCommand};
use crate::Failure;

/// A PostgreSQL URL with a password, given as an argument (`--db`,
/// `--from`, `--to`), is readable by every user of the machine (`ps`,
/// `/proc/PID/cmdline`) for as long as the command runs: said once on
/// stderr, with where to put the password instead. `VIBE_DB`, `PGPASSWORD`
/// and `.pgpass` are readable only by the same user.
pub fn warn_of_password_in_arguments() {
    let has_password = |arg: &str| {
        let Some(rest) = ["postgresql://", "postgres://"]
            .iter()
            .find_map(|scheme| arg.find(scheme).map(|at| &arg[at + scheme.len()..]))
        else {
            return false;
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        authority
            .rsplit_once('@')
            .is_some_and(|(user, _)| user.contains(':'))
    };
    if std::env::args().skip(1).any(|arg| has_password(&arg)) {
        eprintln!(
            "vibe: warning: a password on the command line is visible to other users (ps); \
             give it in PGPASSWORD, ~/.pgpass or VIBE_DB instead"
        );
    }
}

/// Opens the database: for reading only (never creating or changing
/// anything) when the command only reads or `--read-only` is given.
pub fn open(cli: &Cli) -> Result<AnyStore, Failure> {
    let mut options = options(cli);
    if cli.read_only || cli.command.only_reads() {
        options = options.read_only();
    }
    Ok(AnyStore::open_with(&cli.db, options)?)
}

/// The options the global flags give every store a command opens.
pub fn options(cli: &Cli) -> OpenOptions {
    let mut options = OpenOptions::default().durability(cli.durability);
    options.busy_timeout = Duration::from_millis(cli.busy_timeout_ms);
    options.lock_wait_notice = Some(announce_lock_wait);
    options
}

fn announce_lock_wait(path: &std::path::Path) {
    eprintln!(
        "waiting for a lock on {} held by another process...",
        visible_line(&path.display().to_string())
    );
}

impl Command {
    /// Whether the command only reads the database.
    fn only_reads(&self) -> bool {
        match self {
            Command::Tools(_)
            | Command::Decisions(_)
            | Command::Tool { .. }
            | Command::Stats { .. }
            | Command::Playbooks { .. }
            | Command::Backup { .. }
            | Command::Export(_)
            | Command::Verify(_) => true,
            Command::Prune(args) => args.dry_run,
            Command::Memory(args) => !matches!(args.command, Some(MemoryCommand::Delete { .. })),
            Command::Mission(command) => matches!(
                command,
                MissionCommand::Show { .. } | MissionCommand::List { .. }
            ),
            _ => false,
        }
    }
}

/// A sandbox runtime for one CLI process, caching compiled components on
/// disk so the next process starts fast.
pub fn sandbox_runtime(
    store: &AnyStore,
    config: RuntimeConfig,
    slots: u32,
) -> Result<Runtime, Failure> {
    let mut config = config.max_concurrent(slots)?;
    if let Some(dir) = cache_dir() {
        config = config.cache_dir(dir);
    }
    Ok(Runtime::new(store.clone(), config)?)
}

/// `VIBE_CACHE_DIR`, else the user's cache directory.
pub fn cache_dir() -> Option<PathBuf> {
    vibe_store::sandbox::default_cache_dir()
}
