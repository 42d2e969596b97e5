//! A throwaway PostgreSQL cluster: `initdb` into a temporary folder, a
//! server on a free loopback port, stopped and deleted when dropped.
//!
//! The benchmark measures against one ([`Cluster::start`], or the server
//! its `--postgres` names). The tests share one per test process
//! ([`server`]), or the server `VIBE_TEST_POSTGRES` names, and take a
//! database each ([`Server::fresh_database`]).
//!
//! PostgreSQL's server binaries are found one way, by
//! [`server_binaries`]: nothing else in the project (`./x` included)
//! searches for them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tempfile::TempDir;

/// What to install when [`server_binaries`] finds nothing.
pub const INSTALL_HINT: &str = "PostgreSQL's server binaries (initdb, pg_ctl) were not found \
     under /usr/lib/postgresql/*/bin, /usr/local/pgsql/bin or on PATH. Install them \
     (Debian/Ubuntu: apt-get install postgresql; Fedora: dnf install postgresql-server; \
     macOS: brew install postgresql)";

/// The folder holding the server binaries (`initdb` and `pg_ctl`) the
/// clusters are made with: the newest `/usr/lib/postgresql/VERSION/bin`
/// (Debian's layout), else `/usr/local/pgsql/bin` (a source build), else the
/// first folder on `PATH` that has both. `None` when there is none.
pub fn server_binaries() -> Option<PathBuf> {
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
    /// loopback (no password); fsync stays on, so durability is real. Without
    /// server binaries the error is [`INSTALL_HINT`].
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

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("a free loopback port: {e}"))
}

// ---- the tests' shared server ------------------------------------------------

/// The PostgreSQL server the tests use: `VIBE_TEST_POSTGRES` when set (a
/// URL whose user may create databases), otherwise a throwaway cluster the
/// test process starts once and stops when it exits.
pub struct Server {
    /// A URL of the server, with `{db}` where the database's name goes.
    template: String,
    cluster: Option<Cluster>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

extern "C" fn stop_cluster() {
    if let Some(Server {
        cluster: Some(cluster),
        ..
    }) = SERVER.get()
    {
        let _ = cluster.stop_immediate();
        let _ = std::fs::remove_dir_all(cluster.path());
    }
}

/// The shared server, started on first use. Panics with what to install
/// when there is neither `VIBE_TEST_POSTGRES` nor server binaries: the
/// PostgreSQL tests fail then, they are never skipped.
pub fn server() -> &'static Server {
    SERVER.get_or_init(|| match std::env::var("VIBE_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Server {
            template: database_url(&url, "{db}"),
            cluster: None,
        },
        _ => {
            let cluster = Cluster::start().unwrap_or_else(|e| {
                panic!(
                    "{e}; or point the tests at a running server whose user may create \
                     databases: VIBE_TEST_POSTGRES=postgres://USER@HOST:PORT/DB"
                )
            });
            // SAFETY: registers a plain function to run at exit.
            unsafe { libc::atexit(stop_cluster) };
            Server {
                template: cluster.url("{db}"),
                cluster: Some(cluster),
            }
        }
    })
}

impl Server {
    /// The URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        self.template.replace("{db}", db)
    }

    /// A new, empty database; dropped when the returned guard is.
    pub fn fresh_database(&self) -> Database {
        let name = format!("vibe_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = self.admin();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("CREATE DATABASE (the test server's user must be allowed to)");
        Database {
            url: self.url(&name),
            name,
        }
    }

    /// A raw connection to the server's `postgres` database.
    pub fn admin(&self) -> postgres::Client {
        postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connect to the test server")
    }

    /// The throwaway cluster, when the tests started one.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref()
    }
}

/// PgBouncer in transaction pooling mode (`pool_mode = transaction`, what
/// managed PostgreSQL offerings put in front of a server) on a free
/// loopback port, in front of the test server: each transaction may run
/// on another server connection, and 2 server connections a database are
/// shared by every client. Debian's `pgbouncer`, which `./x test`
/// installs.
pub struct Bouncer {
    _dir: TempDir,
    port: u16,
    pid: u32,
}

static BOUNCER: OnceLock<Bouncer> = OnceLock::new();

extern "C" fn stop_bouncer() {
    if let Some(bouncer) = BOUNCER.get() {
        // SAFETY: signals the process this module started.
        unsafe { libc::kill(bouncer.pid as libc::pid_t, libc::SIGTERM) };
    }
}

/// The shared PgBouncer in front of [`server`], started on first use.
/// Panics with what to install when `pgbouncer` is not there.
pub fn bouncer() -> &'static Bouncer {
    BOUNCER.get_or_init(|| {
        let bouncer = Bouncer::start(server()).unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: registers a plain function to run at exit.
        unsafe { libc::atexit(stop_bouncer) };
        bouncer
    })
}

impl Bouncer {
    fn start(server: &Server) -> Result<Bouncer, String> {
        let program = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or("pgbouncer was not found: install it (apt-get install pgbouncer)")?;
        let config: postgres::Config = server
            .url("postgres")
            .parse()
            .map_err(|e| format!("the test server's URL: {e}"))?;
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "127.0.0.1".into(),
        };
        let server_port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres").to_owned();
        let dir = tempfile::Builder::new()
            .prefix("vibe-pgbouncer-")
            .tempdir()
            .map_err(|e| format!("a temp dir for pgbouncer: {e}"))?;
        let port = free_port()?;
        let path = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(path("users.txt"), format!("\"{user}\" \"\"\n"))
            .and_then(|()| {
                std::fs::write(
                    path("pgbouncer.ini"),
                    format!(
                        "[databases]\n* = host={host} port={server_port}\n\n[pgbouncer]\n\
                         listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                         auth_type = trust\nauth_file = {}\npool_mode = transaction\n\
                         default_pool_size = 2\nmax_client_conn = 500\n\
                         logfile = {}\npidfile = {}\n",
                        path("users.txt"),
                        path("pgbouncer.log"),
                        path("pgbouncer.pid"),
                    ),
                )
            })
            .map_err(|e| format!("pgbouncer's configuration: {e}"))?;
        let mut command = Command::new(&program);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            // PgBouncer refuses to run as root: it switches to this user.
            let _ = Command::new("chown")
                .arg("-R")
                .arg("postgres")
                .arg(dir.path())
                .status();
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(path("pgbouncer.ini"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if std::time::Instant::now() > deadline {
                let log = std::fs::read_to_string(path("pgbouncer.log")).unwrap_or_default();
                return Err(format!(
                    "pgbouncer did not start listening on {port}: {log}"
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Ok(Bouncer {
            _dir: dir,
            port,
            pid: child.id(),
        })
    }

    /// The URL of database `db` (on the test server) through PgBouncer.
    pub fn url(&self, db: &str) -> String {
        let through = server()
            .url(db)
            .parse::<postgres::Config>()
            .map(|c| c.get_user().unwrap_or("postgres").to_owned())
            .unwrap_or_else(|_| "postgres".into());
        format!(
            "postgres://{through}@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }
}

/// A test's own database, dropped (with its connections) when this is.
pub struct Database {
    /// Its URL.
    pub url: String,
    /// Its name on the server.
    pub name: String,
}

impl Database {
    /// A raw client, as another program would connect.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect to the test database")
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(server) = SERVER.get() {
            if let Ok(mut admin) =
                postgres::Client::connect(&server.url("postgres"), postgres::NoTls)
            {
                let _ = admin.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `./x test` once checked before running anything: the tests
    /// need a server. One failure that says what to install, beside the
    /// PostgreSQL tests' own.
    #[test]
    fn a_postgresql_server_is_there_for_the_tests() {
        if std::env::var("VIBE_TEST_POSTGRES").is_ok_and(|url| !url.is_empty()) {
            return;
        }
        assert!(
            server_binaries().is_some(),
            "{INSTALL_HINT}; or point the tests at a running server whose user may create \
             databases: VIBE_TEST_POSTGRES=postgres://USER@HOST:PORT/DB"
        );
    }

    #[test]
    fn database_url_swaps_the_database_and_keeps_the_options() {
        assert_eq!(
            database_url("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            database_url("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            database_url("postgres://u:p@h/a?connect_timeout=3", "{db}"),
            "postgres://u:p@h/{db}?connect_timeout=3"
        );
    }
}
