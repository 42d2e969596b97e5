//! Measuring memory: a command's peak resident set under GNU time, and the
//! fields of a process's `/proc` status.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd` to completion under GNU time (`/usr/bin/time`, Debian's
/// `time` package) and returns its output with its peak resident memory in
/// KiB. GNU time forks the command from its own small process, so the peak
/// is the command's alone (a child spawned straight from this test binary
/// would inherit the test process's high-water mark). Killed, with the test
/// failed, if it runs past `limit`.
pub fn run_measured(cmd: &mut Command, limit: Duration) -> (std::process::Output, i64) {
    use std::os::unix::process::CommandExt;
    let time = Path::new("/usr/bin/time");
    assert!(
        time.is_file(),
        "measuring peak memory needs GNU time: apt-get install time"
    );
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut timed = Command::new(time);
    timed
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .process_group(0);
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => timed.env(key, value),
            None => timed.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    let mut child = timed
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        out.read_to_end(&mut buf).map(|_| buf)
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        err.read_to_end(&mut buf).map(|_| buf)
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            // SAFETY: the group is the child's own (process_group(0)).
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            panic!("{cmd:?} hung past {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = std::process::Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    };
    let peak = std::fs::read_to_string(report.path()).unwrap();
    let peak = peak
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time reported {peak:?}"));
    (output, peak)
}

/// A field of `/proc/PID/status` (`pid` a number, or `self`) in KiB, if
/// the process and the field are there.
pub fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
}

/// A field of process `pid`'s status, in MiB; the process must be there.
pub fn mib(pid: u32, field: &str) -> u64 {
    status_kib(&pid.to_string(), field).unwrap_or_else(|| panic!("no {field} for process {pid}"))
        / 1024
}
