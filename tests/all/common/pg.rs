//! The PostgreSQL server the tests use: `VIBE_TEST_POSTGRES` when set (a URL
//! whose user may create databases), otherwise a throwaway cluster this test
//! process starts once and stops when it exits. Each test gets a database of
//! its own.

use std::sync::OnceLock;

use vibe_store::bench::cluster::{database_url, Cluster};

/// The server every PostgreSQL test shares.
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
/// when there is neither `VIBE_TEST_POSTGRES` nor server binaries.
pub fn server() -> &'static Server {
    SERVER.get_or_init(|| match std::env::var("VIBE_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Server {
            template: database_url(&url, "{db}"),
            cluster: None,
        },
        _ => {
            let cluster = Cluster::start().unwrap_or_else(|e| panic!("{e}"));
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

/// A test's own database.
pub struct Database {
    pub url: String,
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
