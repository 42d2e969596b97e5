//! A `vibe mcp` over stdio for tests that speak raw JSON-RPC: answers
//! (stdout) and log lines (stderr) read as they come, the process killed
//! when the handle is dropped.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::vibe_db;

pub struct McpStdio {
    child: Child,
    stdin: ChildStdin,
    answers: mpsc::Receiver<Value>,
    log: mpsc::Receiver<String>,
}

impl McpStdio {
    /// `vibe --db DB mcp ARGS...` with `envs` set, not yet initialized.
    pub fn spawn(dir: &Path, db: &Path, args: &[&str], envs: &[(&str, &str)]) -> McpStdio {
        let mut command = vibe_db(dir, db);
        command
            .arg("mcp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let (to_answers, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = to_answers.send(serde_json::from_str(&line).unwrap_or(Value::Null));
            }
        });
        let (to_log, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = to_log.send(line);
            }
        });
        let stdin = child.stdin.take().unwrap();
        McpStdio {
            child,
            stdin,
            answers,
            log,
        }
    }

    /// As [`spawn`](Self::spawn), then initialized as client `client`
    /// (with `notifications/initialized`).
    pub fn start(dir: &Path, db: &Path, args: &[&str], client: &str) -> McpStdio {
        let mut server = McpStdio::spawn(dir, db, args, &[]);
        server.initialize(client, true);
        server
    }

    /// `initialize` as `client`, then `notifications/initialized` if
    /// `notify`.
    pub fn initialize(&mut self, client: &str, notify: bool) {
        self.send(
            json!({ "jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": { "name": client, "version": "0" } } }),
        );
        let init = self
            .answer(Duration::from_secs(60))
            .expect("initialize answered");
        assert_eq!(init["id"], "init", "{init}");
        if notify {
            self.send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
        }
    }

    pub fn send(&mut self, message: Value) {
        self.send_raw(message.to_string().as_bytes());
    }

    pub fn send_raw(&mut self, line: &[u8]) {
        self.stdin.write_all(line).unwrap();
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next answer (a message with an id; notifications are passed
    /// over) within `within`.
    pub fn answer(&self, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.answers.recv_timeout(left) {
                Ok(message) if message.get("id").is_some() => return Some(message),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// `tools/call` of `tool` with `arguments` as request `id`; its answer.
    pub fn call(&mut self, id: i64, tool: &str, arguments: Value) -> Value {
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": tool, "arguments": arguments } }));
        let answer = self
            .answer(Duration::from_secs(60))
            .expect("an answer within 60 s");
        assert_eq!(answer["id"], id, "{answer}");
        answer
    }

    /// Waits (up to 60 s) for a log line containing `needle`.
    pub fn log_line(&self, needle: &str) -> String {
        self.log_line_with(&[needle])
    }

    /// Waits (up to 60 s) for a log line containing every one of `needles`.
    pub fn log_line_with(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if needles.iter().all(|n| line.contains(n)) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line with {needles:?}"),
            }
        }
    }

    /// Every log line written so far, waiting `settle` for late ones.
    pub fn log_lines(&self, settle: Duration) -> Vec<String> {
        std::thread::sleep(settle);
        self.log.try_iter().collect()
    }
}

impl Drop for McpStdio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
