//! A `vibe mcp` over stdio for tests that speak raw JSON-RPC: answers
//! (stdout, which carries only JSON-RPC) and log lines (stderr) read as they
//! come, the process killed when the handle is dropped.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::vibe_db;

pub struct McpStdio {
    child: Child,
    stdin: Option<Box<dyn Write + Send>>,
    answers: mpsc::Receiver<Value>,
    log: mpsc::Receiver<String>,
}

/// What a `vibe mcp`'s stdin and stdout are.
#[derive(Debug, Clone, Copy)]
pub enum Streams {
    /// Pipes, as `std::process` and Python's `subprocess` make them.
    Pipes,
    /// Unix sockets, as Node's `child_process` makes them.
    Sockets,
    /// Unix sockets whose ends the server holds were made non-blocking by
    /// the client (the flag belongs to what both processes hold).
    NonBlockingSockets,
}

impl McpStdio {
    /// `vibe --db DB mcp ARGS...` with `envs` set, not yet initialized.
    pub fn spawn(dir: &Path, db: &Path, args: &[&str], envs: &[(&str, &str)]) -> McpStdio {
        let mut command = vibe_db(dir, db);
        for (key, value) in envs {
            command.env(key, value);
        }
        McpStdio::spawn_with(command, args)
    }

    /// `COMMAND mcp ARGS...`, `command` being a `vibe` with its global
    /// flags (or a program that runs one), not yet initialized.
    pub fn spawn_with(command: Command, args: &[&str]) -> McpStdio {
        McpStdio::spawn_on(command, args, Streams::Pipes)
    }

    /// As [`spawn_with`](Self::spawn_with), stdin and stdout being
    /// `streams`.
    pub fn spawn_on(mut command: Command, args: &[&str], streams: Streams) -> McpStdio {
        command.arg("mcp").args(args).stderr(Stdio::piped());
        let (stdin, stdout): (Box<dyn Write + Send>, Box<dyn std::io::Read + Send>) = match streams
        {
            Streams::Pipes => {
                command.stdin(Stdio::piped()).stdout(Stdio::piped());
                (Box::new(std::io::sink()), Box::new(std::io::empty()))
            }
            Streams::Sockets | Streams::NonBlockingSockets => {
                // As Node's child_process hands a child its stdio.
                let (ours_in, theirs_in) = UnixStream::pair().unwrap();
                let (ours_out, theirs_out) = UnixStream::pair().unwrap();
                if matches!(streams, Streams::NonBlockingSockets) {
                    theirs_in.set_nonblocking(true).unwrap();
                    theirs_out.set_nonblocking(true).unwrap();
                }
                command
                    .stdin(std::os::fd::OwnedFd::from(theirs_in))
                    .stdout(std::os::fd::OwnedFd::from(theirs_out));
                (Box::new(ours_in), Box::new(ours_out))
            }
        };
        let mut child = command.spawn().unwrap();
        // The command holds the child's ends of the sockets: closed here, so
        // that closing ours ends the child's stdin.
        drop(command);
        let (stdin, stdout): (Box<dyn Write + Send>, Box<dyn std::io::Read + Send>) =
            match (child.stdin.take(), child.stdout.take()) {
                (Some(pipe_in), Some(pipe_out)) => (Box::new(pipe_in), Box::new(pipe_out)),
                _ => (stdin, stdout),
            };
        let stderr = child.stderr.take().unwrap();
        let (to_answers, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout carries only JSON-RPC: {e}: {line:?}"));
                if to_answers.send(value).is_err() {
                    break;
                }
            }
        });
        let (to_log, log) = mpsc::channel();
        std::thread::spawn(move || {
            // Every line, whatever bytes it holds (invalid UTF-8 replaced).
            let mut stderr = BufReader::new(stderr);
            let mut line = Vec::new();
            while stderr.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line);
                let text = text.strip_suffix('\n').unwrap_or(&text);
                let _ = to_log.send(text.strip_suffix('\r').unwrap_or(text).to_owned());
                line.clear();
            }
        });
        McpStdio {
            child,
            stdin: Some(stdin),
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

    /// As [`start`](Self::start) as client "raw", serving `tools` (built
    /// guests by name, `block` among them with a time limit of an hour)
    /// with `args` after them.
    pub fn serving_block(dir: &Path, db: &Path, tools: &[&str], args: &[&str]) -> McpStdio {
        let tools = super::served(dir, tools);
        let policy = super::long_block_policy(dir);
        let mut all = vec![
            tools.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        McpStdio::start(dir, db, &all, "raw")
    }

    /// As [`spawn_with`](Self::spawn_with), then initialized as client
    /// `client` (with `notifications/initialized`).
    pub fn start_with(command: Command, args: &[&str], client: &str) -> McpStdio {
        let mut server = McpStdio::spawn_with(command, args);
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
        self.send_part(line);
        self.send_part(b"\n");
    }

    /// The names of the server's threads (Linux).
    pub fn thread_names(&self) -> Vec<String> {
        let tasks = format!("/proc/{}/task", self.child.id());
        std::fs::read_dir(tasks)
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim_end().to_owned())
            .collect()
    }

    /// Sends `bytes` as they are: part of a line.
    pub fn send_part(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
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

    /// The next answer, which must come within 30 s.
    pub fn next(&self) -> Value {
        self.answer(Duration::from_secs(30))
            .expect("an answer within 30 s")
    }

    /// Sends a `tools/call` of `tool` with `arguments` as request `id`,
    /// without waiting for its answer.
    pub fn send_call(&mut self, id: i64, tool: &str, arguments: Value) {
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": tool, "arguments": arguments } }));
    }

    /// `tools/call` of `tool` with `arguments` as request `id`; its answer.
    pub fn call(&mut self, id: i64, tool: &str, arguments: Value) -> Value {
        self.send_call(id, tool, arguments);
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

    /// Closes stdin; answers can still be read.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Closes stdin and waits for the server to exit: what it wrote on
    /// stderr that was not read yet, and its status.
    pub fn finish(mut self) -> (String, Option<i32>) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        // The reader ends with stderr, once the process has exited.
        let log: Vec<String> = self.log.iter().collect();
        (log.join("\n"), status.code())
    }
}

impl Drop for McpStdio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `initialize` (id 0) and `notifications/initialized` written to a
/// `vibe mcp`'s `stdin`, and the answer to `initialize` read from its
/// `stdout`: for tests that hold the server's streams themselves.
pub fn initialize_raw(stdin: &mut impl Write, stdout: &mut impl BufRead) {
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": { "name": "raw", "version": "0" } } });
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    writeln!(stdin, "{init}\n{initialized}").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("\"id\":0"), "{line}");
}

/// `vibe --db DB mcp ARGS...` with its three streams piped and nothing sent,
/// for tests that signal it or close its streams themselves.
pub fn mcp_child(dir: &Path, db: &Path, args: &[&str]) -> Child {
    vibe_db(dir, db)
        .arg("mcp")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}
