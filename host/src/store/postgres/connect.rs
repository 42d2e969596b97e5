//! Reaching a PostgreSQL server: the connection string (with libpq's
//! `sslmode` and `sslrootcert`), its password (`PGPASSWORD`, `.pgpass`), TLS,
//! and a bounded pool of connections.
//!
//! A password is never part of what this module shows: servers are named by
//! [`Target::shown`], `postgres://user@host:port/db`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio_postgres::config::{Host, SslMode, TargetSessionAttrs};
use tokio_postgres::{Client, Config, NoTls, Statement};

use crate::store::error::{Result, StoreError};
use crate::sync::lock;

/// A TCP connection's two ends, as its client sees them: its own, then the
/// server's.
pub(crate) type Endpoints = (SocketAddr, SocketAddr);

/// How many statements a connection keeps prepared ([`Conn::prepare`]).
const MAX_PREPARED: usize = 64;

/// How long connecting may take unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a connection string names a PostgreSQL server rather than a
/// SQLite file.
pub fn is_postgres_url(location: &str) -> bool {
    postgres_scheme(location).is_some()
}

/// Where `location`'s scheme ends (past its `:`), when it is `postgres:` or
/// `postgresql:` in any case, after any leading blanks: such a location is
/// a server's URL, or a mistyped one ([`Target::parse`] says which), never
/// a file's path (which would otherwise be created, the URL's password in
/// its name).
fn postgres_scheme(location: &str) -> Option<usize> {
    let blanks = location.len() - location.trim_start().len();
    let (scheme, _) = location[blanks..].split_once(':')?;
    (scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql"))
        .then(|| blanks + scheme.len() + 1)
}

/// How TLS is used, as libpq's `sslmode` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    /// `disable`: never.
    Off,
    /// `prefer` (the default) and `require`: encrypted, certificate not
    /// checked (libpq checks it only for the two modes below).
    Unverified,
    /// `verify-ca`: the certificate must chain to a trusted root.
    VerifyCa,
    /// `verify-full`: and name the host.
    VerifyFull,
}

/// A server to connect to.
#[derive(Clone)]
pub(crate) struct Target {
    config: Config,
    tls: Tls,
    root_cert: Option<PathBuf>,
    prepared_statements: PreparedStatements,
    shown: String,
}

/// Whether the store prepares its hot statements under a name on a
/// connection (the URL's `prepared_statements`): saved from being parsed
/// and planned on every call, but a name lives on one server connection,
/// which a transaction pooler does not keep for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PreparedStatements {
    /// `auto`, the default: on a connection proved direct
    /// ([`super::direct`]).
    Auto,
    /// `on`: on every connection (for one that cannot be proved direct and
    /// has no pooler between: a Unix socket, a forwarder).
    On,
    /// `off`: never.
    Off,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Target {
    /// Reads a `postgres://` URL. A missing password is looked up in
    /// `PGPASSWORD`, then in the password file (`PGPASSFILE` or
    /// `~/.pgpass`), as libpq does; a missing user is `PGUSER`, then the
    /// login name.
    pub(crate) fn parse(url: &str) -> Result<Self> {
        // The scheme as the client library reads it: lower case, `//`.
        let url = match postgres_scheme(url) {
            Some(end) if url[end..].starts_with("//") => {
                format!("postgres:{}", &url[end..])
            }
            _ => {
                return Err(StoreError::invalid(
                    "not a PostgreSQL URL: write postgres://USER@HOST:PORT/DB",
                ))
            }
        };
        let url = url.as_str();
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        check_at_signs(base)?;
        if query.contains('@') {
            // `postgres://user:pa?ss@host` (or `us@r:p?ss@host`): the `?`
            // would cut the password, and the rest be read as options
            // (quoted in their errors).
            return Err(StoreError::invalid(
                "the PostgreSQL URL holds an `@` after its `?`: a user name or password \
                 containing `?` must percent-encode it as %3F (and an option's value \
                 containing `@` as %40)",
            ));
        }
        let mut tls = Tls::Unverified;
        let mut mode = SslMode::Prefer;
        let mut root_cert = None;
        let mut prepared_statements = PreparedStatements::Auto;
        let mut connect_timeout = Some(CONNECT_TIMEOUT);
        let mut port = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            // Read percent-decoded, as libpq and the client library read
            // them (`?%70ort=5433`).
            let (key, value) = (decoded(key)?, decoded(value)?);
            let (key, value) = (key.as_ref(), value.as_ref());
            match key {
                // As libpq: zero or less waits for ever; 1 means 2.
                "connect_timeout" => {
                    connect_timeout = match value.trim().parse::<i64>() {
                        Ok(seconds) if seconds <= 0 => None,
                        Ok(seconds) => Some(Duration::from_secs(seconds.max(2) as u64)),
                        Err(_) => {
                            return Err(StoreError::invalid(format!(
                                "connect_timeout={value} is not a whole number of seconds"
                            )))
                        }
                    }
                }
                // Given after the host, the port replaces the host's
                // (libpq reads the query last, the last one counting); the
                // client library would add each as another port.
                "port" => port = Some(read_port(value)?),
                "sslmode" => {
                    (tls, mode) = match value {
                        "disable" => (Tls::Off, SslMode::Disable),
                        "allow" | "prefer" => (Tls::Unverified, SslMode::Prefer),
                        "require" => (Tls::Unverified, SslMode::Require),
                        "verify-ca" => (Tls::VerifyCa, SslMode::Require),
                        "verify-full" => (Tls::VerifyFull, SslMode::Require),
                        other => {
                            return Err(StoreError::invalid(format!(
                                "sslmode={other} is not one of disable, allow, prefer, require, \
                                 verify-ca, verify-full"
                            )))
                        }
                    }
                }
                "sslrootcert" => root_cert = Some(PathBuf::from(value)),
                "prepared_statements" => {
                    prepared_statements = match value {
                        "auto" => PreparedStatements::Auto,
                        "on" => PreparedStatements::On,
                        "off" => PreparedStatements::Off,
                        other => {
                            return Err(StoreError::invalid(format!(
                                "prepared_statements={other} is not one of auto, on, off"
                            )))
                        }
                    }
                }
                _ => kept.push(pair),
            }
        }
        let port_pair;
        let base = match port {
            Some(port) if authority_host(base).is_some() => with_port(base, port)?,
            Some(port) => {
                port_pair = format!("port={port}");
                kept.push(&port_pair);
                base.to_owned()
            }
            None => base.to_owned(),
        };
        let rebuilt = if kept.is_empty() {
            base
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config = Config::from_str(&rebuilt).map_err(|e| {
            // The parser's message, and what it says of an option it does
            // not know or cannot read: the option's name, never its value.
            let cause = std::error::Error::source(&e)
                .map(ToString::to_string)
                .filter(|cause| {
                    cause.starts_with("unknown option `")
                        || cause.starts_with("invalid value for option `")
                })
                .map_or(String::new(), |cause| format!(": {cause}"));
            StoreError::invalid(format!("not a PostgreSQL URL: {e}{cause}"))
        })?;
        config.ssl_mode(mode);
        // An empty user (`postgres://@host/db`) is the default one, as in
        // libpq: `PGUSER` unless empty, else the login name.
        if config.get_user().is_none_or(str::is_empty) {
            let user = std::env::var("PGUSER")
                .ok()
                .filter(|user| !user.is_empty())
                .or_else(login_name)
                .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
                .unwrap_or_else(|| "postgres".into());
            config.user(&user);
        }
        if config.get_hosts().is_empty() {
            config.host(std::env::var("PGHOST").unwrap_or_else(|_| "localhost".into()));
        }
        if let Some(timeout) = connect_timeout {
            config.connect_timeout(timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("vibe-store");
        }
        let shown = show(&config);
        if config.get_password().is_none() {
            if let Some(password) = password_for(&config) {
                config.password(password);
            }
        }
        Ok(Target {
            config,
            tls,
            root_cert,
            prepared_statements,
            shown,
        })
    }

    /// The server as `postgres://user@host:port/db`: never a password.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// A new connection, which begins each transaction with `settings`
    /// ([`Conn::begin`]).
    pub(crate) fn connect(&self, settings: Arc<str>) -> Result<Conn> {
        // The connection's I/O runs as a task on a runtime of its own, driven
        // while a call blocks on it, as the synchronous client does.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Internal(format!("a client runtime: {e}")))?;
        let tls =
            match self.tls {
                Tls::Off => None,
                tls => {
                    let mut builder = native_tls::TlsConnector::builder();
                    builder
                        .danger_accept_invalid_certs(tls == Tls::Unverified)
                        .danger_accept_invalid_hostnames(tls != Tls::VerifyFull);
                    if let Some(path) = &self.root_cert {
                        let pem = std::fs::read(path).map_err(|e| StoreError::io(path, e))?;
                        let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| {
                            StoreError::invalid(format!("sslrootcert {}: {e}", path.display()))
                        })?;
                        builder.add_root_certificate(cert);
                    }
                    Some(builder.build().map_err(|e| {
                        StoreError::Internal(format!("TLS could not be set up: {e}"))
                    })?)
                }
            };
        let (client, io, endpoints) = runtime.block_on(self.open(tls))?;
        let prepares = match self.prepared_statements {
            PreparedStatements::Auto => None,
            PreparedStatements::On => Some(true),
            PreparedStatements::Off => Some(false),
        };
        Ok(Conn {
            client: Some(client),
            io: Some(io),
            runtime,
            settings,
            endpoints,
            prepares,
            prepared: HashMap::new(),
        })
    }

    /// Connects, on the runtime this is run on: through a TCP socket of
    /// the store's own when the URL names one host and port and nothing
    /// else of where to connect ([`one_tcp_host`](Self::one_tcp_host)), and
    /// then with that socket's two ends; otherwise as the client library
    /// does (several hosts, `hostaddr`, a Unix socket), with none.
    async fn open(
        &self,
        tls: Option<native_tls::TlsConnector>,
    ) -> Result<(Client, tokio::task::JoinHandle<()>, Option<Endpoints>)> {
        if let Some((host, port)) = self.one_tcp_host() {
            let stream = self.tcp(host, port).await?;
            let endpoints = stream
                .local_addr()
                .and_then(|local| Ok((local, stream.peer_addr()?)))
                .ok();
            let (client, io) = match tls {
                None => self.handshake(stream, NoTls).await?,
                Some(connector) => {
                    let tls = tokio_postgres::tls::MakeTlsConnect::<tokio::net::TcpStream>::make_tls_connect(
                        &mut postgres_native_tls::MakeTlsConnector::new(connector),
                        host,
                    )
                    .map_err(|e| StoreError::Internal(format!("TLS could not be set up: {e}")))?;
                    self.handshake(stream, tls).await?
                }
            };
            return Ok((client, io, endpoints));
        }
        let (client, io) = match tls {
            None => self.library_connect(NoTls).await?,
            Some(connector) => {
                self.library_connect(postgres_native_tls::MakeTlsConnector::new(connector))
                    .await?
            }
        };
        Ok((client, io, None))
    }

    /// The server's handshake (TLS as `tls` says, then the session) over
    /// `stream`, a socket the store made; the connection's I/O spawned on
    /// the runtime this is run on.
    async fn handshake<T>(
        &self,
        stream: tokio::net::TcpStream,
        tls: T,
    ) -> Result<(Client, tokio::task::JoinHandle<()>)>
    where
        T: tokio_postgres::tls::TlsConnect<tokio::net::TcpStream>,
        T::Stream: Send + 'static,
    {
        let (client, io) = self
            .within(1, self.config.connect_raw(stream, tls))
            .await?
            .map_err(|e| self.error(e, TxStep::Connect))?;
        Ok((client, tokio::spawn(drive(io))))
    }

    /// `connect` (a handshake, or the client library's whole connection to
    /// one of `hosts` hosts), within the URL's `connect_timeout` for each
    /// host, as libpq gives it: a server that takes the socket and never
    /// answers is given up on.
    async fn within<F: std::future::Future>(&self, hosts: usize, connect: F) -> Result<F::Output> {
        let hosts = u32::try_from(hosts.max(1)).unwrap_or(u32::MAX);
        let timeout = self
            .config
            .get_connect_timeout()
            .map(|t| t.saturating_mul(hosts));
        bounded(timeout, connect).await.map_err(|_| {
            self.unavailable(
                "error connecting to server: the server did not answer in time \
                     (connect_timeout)",
                TxStep::Connect,
            )
        })
    }

    /// Connects as the client library does (its sockets, its choice among
    /// the URL's hosts); the connection's I/O spawned on the runtime this
    /// is run on.
    async fn library_connect<T>(&self, tls: T) -> Result<(Client, tokio::task::JoinHandle<()>)>
    where
        T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
        T::Stream: Send + 'static,
    {
        let (client, io) = self
            .within(self.config.get_hosts().len(), self.config.connect(tls))
            .await?
            .map_err(|e| self.error(e, TxStep::Connect))?;
        Ok((client, tokio::spawn(drive(io))))
    }

    /// The URL's one TCP host and port, when it names nothing else of
    /// where to connect (no `hostaddr`, no `target_session_attrs` the
    /// client library would check after connecting).
    fn one_tcp_host(&self) -> Option<(&str, u16)> {
        let config = &self.config;
        let simple = config.get_hostaddrs().is_empty()
            && config.get_target_session_attrs() == TargetSessionAttrs::Any;
        match (config.get_hosts(), config.get_ports()) {
            ([Host::Tcp(host)], [] | [_]) if simple => Some((
                host.as_str(),
                config.get_ports().first().copied().unwrap_or(5432),
            )),
            _ => None,
        }
    }

    /// A TCP socket to `host`:`port`, set up as the client library sets up
    /// its own: each of the host's addresses tried in turn within
    /// `connect_timeout`, no delay, the URL's keepalives and user timeout.
    async fn tcp(&self, host: &str, port: u16) -> Result<tokio::net::TcpStream> {
        let config = &self.config;
        let timeout = config.get_connect_timeout().copied();
        let failed = |e: std::io::Error| {
            self.unavailable(&format!("error connecting to server: {e}"), TxStep::Connect)
        };
        let timed_out =
            || std::io::Error::new(std::io::ErrorKind::TimedOut, "connection timed out");
        let addrs = bounded(timeout, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| failed(timed_out()))?
            .map_err(failed)?;
        let mut last = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} has no address"),
        );
        for addr in addrs {
            let stream = match bounded(timeout, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    last = e;
                    continue;
                }
                Err(_) => {
                    last = timed_out();
                    continue;
                }
            };
            stream.set_nodelay(true).map_err(failed)?;
            let socket = socket2::SockRef::from(&stream);
            #[cfg(target_os = "linux")]
            if let Some(user_timeout) = config.get_tcp_user_timeout() {
                socket
                    .set_tcp_user_timeout(Some(*user_timeout))
                    .map_err(failed)?;
            }
            if config.get_keepalives() {
                let mut keepalive =
                    socket2::TcpKeepalive::new().with_time(config.get_keepalives_idle());
                #[cfg(not(any(
                    target_os = "openbsd",
                    target_os = "redox",
                    target_os = "solaris"
                )))]
                if let Some(interval) = config.get_keepalives_interval() {
                    keepalive = keepalive.with_interval(interval);
                }
                #[cfg(not(any(
                    target_os = "openbsd",
                    target_os = "redox",
                    target_os = "solaris",
                    target_os = "windows"
                )))]
                if let Some(retries) = config.get_keepalives_retries() {
                    keepalive = keepalive.with_retries(retries);
                }
                socket.set_tcp_keepalive(&keepalive).map_err(failed)?;
            }
            return Ok(stream);
        }
        Err(failed(last))
    }

    /// A client library error as the store's error, naming this server.
    pub(crate) fn error(&self, err: tokio_postgres::Error, step: TxStep) -> StoreError {
        if let Some(db) = err.as_db_error() {
            let code = db.code().code();
            let message = db.message().to_owned();
            if step == TxStep::Connect {
                // Refused while connecting (a password, a role, a
                // database): said with the server's name, as when it
                // cannot be reached.
                let reason = match code {
                    "3D000" => format!("{message}; create it first (createdb, or CREATE DATABASE)"),
                    _ => format!("{message} (SQLSTATE {code})"),
                };
                return self.unavailable(&reason, step);
            }
            return match code {
                // serialization_failure, deadlock_detected
                "40001" | "40P01" => StoreError::Conflict(message),
                "53100" => StoreError::StorageFull,
                // lock_not_available: lock_timeout (the busy timeout) passed
                "55P03" => StoreError::Busy {
                    waited: Duration::ZERO,
                },
                "57014" => StoreError::Interrupted,
                // admin_shutdown, crash_shutdown, cannot_connect_now
                "57P01" | "57P02" | "57P03" => self.unavailable(&message, step),
                // integrity and data errors: what the store's own checks
                // did not catch (another program's rows, a foreign schema)
                c if c.starts_with("23") || c.starts_with("22") => {
                    StoreError::invalid(format!("the server refused the write: {message}"))
                }
                // invalid_catalog_name
                "3D000" => StoreError::Server(format!(
                    "{message}; create it first (createdb, or CREATE DATABASE)"
                )),
                _ => StoreError::Server(format!("{message} (SQLSTATE {code})")),
            };
        }
        // The client library's message, with its causes ("error connecting
        // to server: Connection refused (os error 111)").
        let mut reason = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            reason = format!("{reason}: {cause}");
            source = cause.source();
        }
        self.unavailable(&reason, step)
    }

    fn unavailable(&self, reason: &str, step: TxStep) -> StoreError {
        let reason = match step {
            TxStep::Connect => format!("cannot connect: {reason}"),
            TxStep::Work => format!("connection lost ({reason}); nothing was written"),
            TxStep::Commit => format!(
                "connection lost while committing ({reason}); the write may or may not have \
                 been recorded"
            ),
        };
        StoreError::Unavailable {
            server: self.shown.clone(),
            reason,
        }
    }
}

/// `future`, given up on after `timeout` (never, when `None`:
/// `connect_timeout=0`).
async fn bounded<F: std::future::Future>(
    timeout: Option<Duration>,
    future: F,
) -> std::result::Result<F::Output, tokio::time::error::Elapsed> {
    match timeout {
        Some(timeout) => tokio::time::timeout(timeout, future).await,
        None => Ok(future.await),
    }
}

/// A URL (before its `?`) past its scheme, and the authority that begins
/// it: `user@host:port`.
fn authority(base: &str) -> (&str, &str) {
    let rest = base.split_once("://").map_or(base, |(_, rest)| rest);
    (rest, rest.split('/').next().unwrap_or_default())
}

/// The host (or hosts) a URL's authority names, when it names any:
/// `postgres://user@HOST:PORT/db`.
fn authority_host(base: &str) -> Option<&str> {
    let (_, authority) = authority(base);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host_port.is_empty()).then_some(host_port)
}

/// A URL option's key or value, percent-decoded; refused, unquoted, when
/// that is not UTF-8.
fn decoded(text: &str) -> Result<std::borrow::Cow<'_, str>> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| {
            StoreError::invalid("an option of the PostgreSQL URL is not UTF-8 once decoded")
        })
}

/// The URL's `port=`: 1 to 65535.
fn read_port(value: &str) -> Result<u16> {
    value
        .trim()
        .parse()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| StoreError::invalid(format!("port={value} is not a port (1 to 65535)")))
}

/// The name this process's user logs in with, as libpq takes it for the
/// default user (the password database's entry for the effective user).
fn login_name() -> Option<String> {
    // SAFETY: a `passwd` of null pointers and zeros is a valid value to be
    // overwritten.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buffer = vec![0 as libc::c_char; 4096];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: `entry` and `buffer` outlive the call, which writes at most
    // `buffer.len()` bytes into `buffer` and points `found` at `entry` or
    // leaves it null; `pw_name` then points into `buffer`.
    let status = unsafe {
        libc::getpwuid_r(
            libc::geteuid(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if status != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string inside `buffer`, still alive.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    name.to_str()
        .ok()
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}

/// `base` with its one host's port replaced by `port` (the URL's `?port=`),
/// as libpq reads a URL. Several hosts with a port in the query are
/// refused: which host would it be?
fn with_port(base: &str, port: u16) -> Result<String> {
    let Some(host_port) = authority_host(base) else {
        return Ok(base.to_owned());
    };
    if host_port.contains(',') {
        return Err(StoreError::invalid(
            "a URL naming several hosts gives each its port after it \
             (postgres://user@a:5432,b:5433/db), not as ?port=",
        ));
    }
    let host = match host_port.rfind([':', ']']) {
        Some(at) if host_port.as_bytes()[at] == b':' => &host_port[..at],
        _ => host_port,
    };
    let start = host_port.as_ptr() as usize - base.as_ptr() as usize;
    Ok(format!(
        "{}{host}:{port}{}",
        &base[..start],
        &base[start + host_port.len()..]
    ))
}

/// Refuses a URL (before its `?`) with more than one `@`, or one after the
/// first `/`: a password holding an unencoded `@` would otherwise have the
/// rest of it read as the host, tried and printed. The message quotes
/// nothing of the URL, which holds the password.
fn check_at_signs(base: &str) -> Result<()> {
    let (rest, authority) = authority(base);
    if rest.matches('@').count() > 1 || authority.matches('@').count() != rest.matches('@').count()
    {
        return Err(StoreError::invalid(
            "the PostgreSQL URL holds more than one `@` (or one after its host): a user name, \
             password or database name containing `@` must percent-encode it as %40 \
             (and `/` as %2F, `:` as %3A)",
        ));
    }
    Ok(())
}

/// Where in a transaction an error happened: what a lost connection means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxStep {
    Connect,
    Work,
    Commit,
}

fn show(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) if host.contains(':') => format!("[{host}]"),
        Some(Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or_default(),
        config
            .get_dbname()
            .or(config.get_user())
            .unwrap_or_default()
    )
}

/// The password for `config`'s server: `PGPASSWORD`, then the password file.
fn password_for(config: &Config) -> Option<Vec<u8>> {
    if let Ok(password) = std::env::var("PGPASSWORD") {
        return Some(password.into_bytes());
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pgpass")))?;
    let text = std::fs::read_to_string(&file).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "password file {} has group or world access; ignored (chmod 0600 it)",
                file.display()
            );
            return None;
        }
    }
    let [host, port, db, user] = pgpass_fields(config);
    pgpass_lookup(&text, [&host, &port, &db, &user])
}

/// What a `.pgpass` line is matched against: host (an IPv6 address without
/// brackets, as libpq writes it there), port, database and user.
fn pgpass_fields(config: &Config) -> [String; 4] {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        _ => "localhost".into(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    [host, port, db.to_owned(), user.to_owned()]
}

/// The password of the first line of a `.pgpass` file matching host, port,
/// database and user (`*` matches anything; `\:` and `\\` escape).
fn pgpass_lookup(text: &str, wanted: [&str; 4]) -> Option<Vec<u8>> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() == 5
            && fields[..4]
                .iter()
                .zip(wanted)
                .all(|(pattern, value)| pattern == "*" || pattern == value)
        {
            return Some(fields.pop()?.into_bytes());
        }
    }
    None
}

/// Runs a connection's I/O until the client is dropped or the server
/// closes it. Notices are logged by the client library.
async fn drive<S, T>(io: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let _ = io.await;
}

/// How long closing a connection waits for its goodbye to be sent.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A pooled connection: the client, and the runtime its I/O runs on.
pub(crate) struct Conn {
    /// `Some` until dropped.
    client: Option<Client>,
    /// The task running the connection's I/O; `Some` until dropped.
    io: Option<tokio::task::JoinHandle<()>>,
    runtime: tokio::runtime::Runtime,
    settings: Arc<str>,
    /// The connection's two ends, when the store made its socket
    /// ([`Target::open`]).
    endpoints: Option<Endpoints>,
    /// Whether the store prepares statements on the connection: as the
    /// URL's `prepared_statements` says, or, by default, whether it reaches
    /// its server directly ([`super::direct`]); `None` until first asked.
    prepares: Option<bool>,
    /// Statements prepared on the connection, by their text
    /// ([`Conn::prepare`]).
    prepared: HashMap<String, Statement>,
}

impl Conn {
    pub(crate) fn client(&self) -> &Client {
        self.client.as_ref().expect("a client until dropped")
    }

    /// Runs `future` (one of the client's calls) to its end, driving the
    /// connection's I/O meanwhile. Blocks: call it where blocking is
    /// allowed ([`super::blocking`]).
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// `sql` (statements without parameters) in one round trip.
    pub(crate) fn batch_execute(
        &self,
        sql: &str,
    ) -> std::result::Result<(), tokio_postgres::Error> {
        self.block_on(self.client().batch_execute(sql))
    }

    /// Whether the connection is closed for good (the server closed it, or
    /// an I/O error broke it).
    pub(crate) fn is_closed(&self) -> bool {
        self.client().is_closed()
    }

    /// Prepares `sql` (with `$N` placeholders) on the connection, for
    /// [`prepared`](Self::prepared) to find, when the connection prepares
    /// statements (the URL's `prepared_statements`; by default, when it
    /// reaches its server directly, [`super::direct`], asked once, the
    /// first time): the server then parses and plans it once for the
    /// connection's life, not on every call. Sends nothing once it is
    /// prepared, or on a connection that does not prepare; past
    /// [`MAX_PREPARED`] statements, the rest are sent unnamed.
    ///
    /// # Errors
    /// The server's, when it refuses the statement (or the question
    /// whether the connection is direct), as it would refuse it sent
    /// unnamed; inside a transaction, that aborts the transaction. The
    /// connection lost meanwhile.
    pub(crate) fn prepare(&mut self, sql: &str) -> std::result::Result<(), tokio_postgres::Error> {
        if self.prepared.contains_key(sql) || self.prepared.len() >= MAX_PREPARED {
            return Ok(());
        }
        let prepares = match self.prepares {
            Some(prepares) => prepares,
            None => {
                let direct = super::direct::is_direct(self);
                if !self.is_closed() {
                    // A server that cannot say is not asked again.
                    self.prepares = Some(*direct.as_ref().unwrap_or(&false));
                }
                direct?
            }
        };
        if prepares {
            let statement = self.block_on(self.client().prepare(sql))?;
            self.prepared.insert(sql.to_owned(), statement);
        }
        Ok(())
    }

    /// Prepares nothing more on the connection, and forgets what it
    /// prepared: the server did not find a name where the store prepared
    /// it, or found it taken (a pooler between, after all).
    pub(crate) fn stop_preparing(&mut self) {
        self.prepares = Some(false);
        self.prepared.clear();
    }

    /// Whether the connection prepares statements (known once
    /// [`prepare`](Self::prepare) has been asked to).
    pub(crate) fn prepares(&self) -> bool {
        self.prepares == Some(true)
    }

    /// Forgets `sql` as prepared (its plan went stale): prepared again
    /// when next asked.
    pub(crate) fn forget_prepared(&mut self, sql: &str) {
        self.prepared.remove(sql);
    }

    /// The connection's two ends, when the store made its socket.
    pub(crate) fn endpoints(&self) -> Option<Endpoints> {
        self.endpoints
    }

    /// `sql` as prepared on the connection ([`prepare`](Self::prepare)), if
    /// it is.
    pub(crate) fn prepared(&self, sql: &str) -> Option<&Statement> {
        // Most connections prepare nothing: no statement text hashed.
        if self.prepared.is_empty() {
            return None;
        }
        self.prepared.get(sql)
    }

    /// Whether the server closed the connection while it sat in the pool
    /// (a restart, `pg_terminate_backend`, an idle timeout): its I/O, not
    /// driven meanwhile, is given a turn to read what arrived, without
    /// waiting. A transaction's first flight may carry its `COMMIT` (a
    /// chained write), and a flight lost with its connection is a write of
    /// unknown outcome; on a connection found closed here, it is never sent.
    pub(crate) fn closed_while_idle(&self) -> bool {
        self.block_on(async {
            for _ in 0..4 {
                tokio::task::yield_now().await;
            }
        });
        self.is_closed()
    }

    /// What begins a transaction: `begin` (`BEGIN` and its modes) and the
    /// store's settings. They are `SET LOCAL`, made for each transaction
    /// rather than once per connection: behind a transaction pooler a
    /// session setting would stay on a server connection other clients get
    /// next, and be missing from the one this transaction runs on. Sent
    /// with the transaction's first statement ([`super::tx::PgTx`]).
    pub(crate) fn begin(&self, begin: &str) -> String {
        format!("{begin}; {}", self.settings)
    }
}

impl Drop for Conn {
    /// Closes the connection: the client dropped, its I/O task sends the
    /// server a goodbye and ends. Blocks briefly, as closing the
    /// synchronous client does; the pool drops connections on a thread of
    /// their own.
    fn drop(&mut self) {
        drop(self.client.take());
        if let Some(io) = self.io.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(CLOSE_TIMEOUT, io).await });
        }
    }
}

/// At most `max` connections, opened on demand and kept for reuse.
pub(crate) struct Pool {
    target: Target,
    max: usize,
    settings: Arc<str>,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

impl Drop for Pool {
    /// Closing a connection blocks on the server too: the idle ones are
    /// closed on a thread of their own, which works from any context.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut lock(&self.state).idle);
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

impl Pool {
    /// `settings` (`SET LOCAL` statements) begin every transaction
    /// ([`Conn::begin`]).
    pub(crate) fn new(target: Target, max: usize, settings: String) -> Self {
        Pool {
            target,
            max: max.max(1),
            settings: settings.into(),
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// A connection: an idle one, a new one while fewer than `max` are
    /// open, or the first one returned within `wait`.
    pub(crate) fn get(&self, wait: Duration) -> Result<Pooled<'_>> {
        let deadline = Instant::now() + wait;
        let mut state = lock(&self.state);
        loop {
            if let Some(conn) = state.idle.pop() {
                if conn.closed_while_idle() {
                    state.open -= 1;
                    continue;
                }
                return Ok(Pooled {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                let opened = self.target.connect(self.settings.clone());
                return match opened {
                    Ok(conn) => Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        lock(&self.state).open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Busy { waited: wait });
            }
            state = self
                .freed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// A connection on loan from a [`Pool`]; back to it when dropped (or closed
/// for good if it broke).
pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl Pooled<'_> {
    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a pooled connection until dropped")
    }

    /// Closes this connection instead of returning it.
    pub(crate) fn discard(mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = std::thread::spawn(move || drop(conn)).join();
        }
        lock(&self.pool.state).open -= 1;
        self.pool.freed.notify_one();
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if conn.is_closed() {
            lock(&self.pool.state).open -= 1;
            let _ = std::thread::spawn(move || drop(conn)).join();
        } else {
            lock(&self.pool.state).idle.push(conn);
        }
        self.pool.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_matches_fields_wildcards_and_escapes() {
        let file = "# comment\n\
                    other:5432:*:ann:no\n\
                    db.example:*:vibe:ann:s\\:cret\n\
                    *:*:*:*:fallback\n";
        let find = |w| pgpass_lookup(file, w).map(|p| String::from_utf8(p).unwrap());
        assert_eq!(
            find(["db.example", "5433", "vibe", "ann"]).as_deref(),
            Some("s:cret")
        );
        assert_eq!(
            find(["db.example", "5433", "other", "ann"]).as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_lookup("h:1:d:u:p\n", ["h", "2", "d", "u"]), None);
    }

    /// libpq's readings that the client library does not share: a port in
    /// the query replaces the host's, `connect_timeout` of 0 or less waits
    /// for ever (and 1 is 2), an empty user is the default one; an IPv6
    /// server is shown in brackets.
    #[test]
    fn the_url_is_read_as_libpq_reads_it() {
        let target = |url: &str| Target::parse(url).unwrap();
        let ports = |url: &str| target(url).config.get_ports().to_vec();
        assert_eq!(ports("postgres://u@localhost/db?port=5433"), [5433]);
        assert_eq!(ports("postgres://u@localhost:5433/db?port=5434"), [5434]);
        assert_eq!(ports("postgres://u@[::1]/db?port=5433&port=5435"), [5435]);
        assert_eq!(
            target("postgres://u@localhost/db?port=5433").shown,
            "postgres://u@localhost:5433/db"
        );
        assert_eq!(
            target("postgres://u@[::1]:5433/db").shown,
            "postgres://u@[::1]:5433/db"
        );
        let socket = target("postgres:///db?host=/run/postgresql&port=5433");
        assert_eq!(socket.config.get_ports(), [5433]);
        // The last port counts, with or without a host before the `?`.
        assert_eq!(
            ports("postgres:///db?host=/run/postgresql&port=1&port=5433"),
            [5433]
        );
        // Keys and values are read percent-decoded, as libpq reads them.
        assert_eq!(ports("postgres://u@localhost/db?%70ort=5433"), [5433]);
        assert_eq!(ports("postgres://u@localhost/db?port=%35%34%33%33"), [5433]);
        assert_eq!(
            target("postgres://u@h/db?connect%5Ftimeout=%35")
                .config
                .get_connect_timeout()
                .copied(),
            Some(Duration::from_secs(5))
        );
        // As libpq writes it in `.pgpass`: no brackets.
        assert_eq!(
            pgpass_fields(&target("postgres://u@[::1]:5433/db").config),
            ["::1", "5433", "db", "u"]
        );
        let several = Target::parse("postgres://u@a,b/db?port=5433")
            .err()
            .unwrap();
        assert!(
            several
                .to_string()
                .contains("gives each its port after it (postgres://user@a:5432"),
            "{several}"
        );
        for refused in [
            "postgres://u@localhost/db?port=0",
            "postgres://u@a,b/db?port=5433",
            "postgres://u@localhost/db?port=x",
            "postgres://u@localhost/db?port=70000",
            "postgres://u@localhost/db?connect_timeout=ten",
        ] {
            assert!(Target::parse(refused).is_err(), "{refused}");
        }
        let timeout = |url: &str| target(url).config.get_connect_timeout().copied();
        assert_eq!(timeout("postgres://u@h/db"), Some(CONNECT_TIMEOUT));
        assert_eq!(timeout("postgres://u@h/db?connect_timeout=0"), None);
        assert_eq!(timeout("postgres://u@h/db?connect_timeout=-5"), None);
        assert_eq!(
            timeout("postgres://u@h/db?connect_timeout=1"),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            timeout("postgres://u@h/db?connect_timeout=30"),
            Some(Duration::from_secs(30))
        );
        let user = target("postgres://@localhost/db");
        assert!(!user.config.get_user().unwrap_or_default().is_empty());
        assert!(!user.shown.contains("://@"), "{}", user.shown);
        // The login name, which libpq takes when PGUSER says nothing.
        assert!(login_name().is_some_and(|name| !name.is_empty()));
    }

    /// A password holding both an `@` and a `?`: refused whole, none of it
    /// quoted (before, what followed its `?` was quoted as an unknown
    /// option's name, or as a port's value).
    #[test]
    fn a_password_with_an_at_and_a_question_mark_is_refused_unquoted() {
        for url in [
            "postgres://ann:Zq@Kj?Xv@127.0.0.1:5432/vibe?sslmode=disable",
            "postgres://ann:Zq@Kj?port=Xv@127.0.0.1/vibe",
            "postgres://ann:Zq@Kj?connect_timeout=Xv@127.0.0.1/vibe",
            "postgres://ann:Zq@K?j:Xv/d#x@127.0.0.1/vibe?port=5432",
        ] {
            let err = Target::parse(url).err().unwrap().to_string();
            assert!(err.contains("%3F"), "{err}");
            assert!(
                !err.contains("Zq") && !err.contains("Kj") && !err.contains("Xv"),
                "{err}"
            );
        }
    }

    #[test]
    fn an_unencoded_at_in_the_password_is_refused_without_showing_it() {
        for url in [
            "postgres://ann:hun@ter2@db.example/vibe",
            "postgresql://ann:hun@ter2@db.example:5432/vibe?sslmode=disable",
            "postgres://ann:hun/t@ter2@db.example/vibe",
        ] {
            let err = Target::parse(url).unwrap_err().to_string();
            assert!(err.contains("%40"), "{err}");
            assert!(!err.contains("hun") && !err.contains("ter2"), "{err}");
        }
        let encoded = Target::parse("postgres://ann:p%40ss@db.example/vibe").unwrap();
        assert_eq!(encoded.shown(), "postgres://ann@db.example:5432/vibe");
        assert_eq!(encoded.config.get_password(), Some(&b"p@ss"[..]));
    }

    #[test]
    fn a_target_never_shows_its_password() {
        let target =
            Target::parse("postgres://ann:hunter2@db.example:6543/vibe?sslmode=require").unwrap();
        assert_eq!(target.shown(), "postgres://ann@db.example:6543/vibe");
        assert!(!format!("{target:?}").contains("hunter2"));
        let err = Target::parse("postgres://ann:hunter2@h/db?sslmode=bogus").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = Target::parse("postgres://ann:hunter2@h/db?port=notaport").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
