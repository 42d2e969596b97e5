//! A throwaway PostgreSQL cluster: `initdb` into a temporary folder, a
//! server on a free loopback port, stopped and deleted when dropped. The
//! benchmark measures against one and the tests run against one, unless
//! `VIBE_TEST_POSTGRES` names a server to use instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// What to install when no server binaries are found.
pub const INSTALL_HINT: &str = "PostgreSQL's server binaries (initdb, pg_ctl) were not found \
     under /usr/lib/postgresql/*/bin, /usr/local/pgsql/bin or on PATH. Install them \
     (Debian/Ubuntu: apt-get install postgresql; Fedora: dnf install postgresql-server; \
     macOS: brew install postgresql), or set VIBE_TEST_POSTGRES=postgres://USER@HOST:PORT/DB \
     to use a running server whose user may create databases.";

/// A running throwaway cluster.
pub struct Cluster {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    /// As root, the server runs as this user (PostgreSQL refuses root).
    run_as: Option<String>,
}

impl Cluster {
    /// Creates and starts a cluster. Its superuser is `postgres`, trusted on
    /// loopback (no password); fsync stays on, so durability is real.
    pub fn start() -> Result<Cluster, String> {
        let bin = server_binaries().ok_or_else(|| INSTALL_HINT.to_owned())?;
        let dir = tempfile::Builder::new()
            .prefix("vibe-pg-")
            .tempdir()
            .map_err(|e| format!("a temp dir for the cluster: {e}"))?;
        // SAFETY: geteuid has no preconditions.
        let run_as = (unsafe { libc::geteuid() } == 0).then(|| "postgres".to_owned());
        if let Some(user) = &run_as {
            let chown = Command::new("chown")
                .arg("-R")
                .arg(user)
                .arg(dir.path())
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !chown.success() {
                return Err(format!(
                    "cannot hand {} to the {user} user (running as root, the server must run as \
                     another user: create it with `useradd {user}`)",
                    dir.path().display()
                ));
            }
        }
        let port = free_port()?;
        let mut cluster = Cluster {
            dir,
            bin,
            port,
            run_as,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        // A port taken between probing and starting: try another.
        for _ in 0..5 {
            match cluster.pg_ctl_start() {
                Ok(()) => return Ok(cluster),
                Err(_) => cluster.port = free_port()?,
            }
        }
        cluster.pg_ctl_start().map(|()| cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 \
             -c shared_buffers=128MB",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(tool);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        let output = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        if output.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        Err(format!(
            "{tool} {} failed: {}{}\n{log}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }

    /// The URL of database `db` on this cluster, as its superuser.
    pub fn url(&self, db: &str) -> String {
        database_url(
            &format!(
                "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
                self.port
            ),
            db,
        )
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m
    /// immediate`: no checkpoint, recovery from the WAL at the next start),
    /// then starts it again.
    pub fn restart_immediate(&self) -> Result<(), String> {
        self.stop_immediate()?;
        self.pg_ctl_start()
    }

    /// Stops the server as a crash would.
    pub fn stop_immediate(&self) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
    }

    /// Where the cluster lives (data, socket, server log).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop_immediate();
    }
}

/// `url` naming database `db` instead of its own (its options kept).
pub fn database_url(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|i| start + i))
        .unwrap_or(base.len());
    format!("{}/{db}{query}", &base[..authority_end])
}

/// The newest server binaries on this machine.
fn server_binaries() -> Option<PathBuf> {
    let has = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Some(bin);
    }
    let local = PathBuf::from("/usr/local/pgsql/bin");
    if has(&local) {
        return Some(local);
    }
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| has(dir))
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("a free loopback port: {e}"))
}
