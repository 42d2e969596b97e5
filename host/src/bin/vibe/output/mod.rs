//! Everything `vibe` prints on stdout goes through [`out`]: tables
//! (`table`), JSON (`json`), listings once or followed (`listing`), and
//! progress on stderr (`progress`).

pub mod json;
pub mod listing;
pub mod progress;
pub mod table;

use std::io::Write;

/// Writes to stdout. A reader that went away (`vibe tools | head`) ends the
/// command quietly with status 0: there is no one left to tell.
pub(crate) fn out(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("vibe: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// stdout through [`out`]: a reader that went away ends the command quietly.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        out(format_args!("{}", String::from_utf8_lossy(buf)));
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
