//! Reading a component before anything compiles it: the file must be a
//! regular file under a size cap, hold a WebAssembly component (not a core
//! module, not something else), and name the `vibe:store` tool world in its
//! imports and exports. Each refusal says in words what is wrong.
//!
//! Compiling is the expensive step (seconds and gigabytes for a hostile
//! component), so every check that can be made by reading the bytes is made
//! first; the full type check against the world follows compilation.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use wasmparser::{Encoding, Parser, Payload};

use crate::store::ComponentInfo;

/// Largest component file loaded unless configured otherwise (256 MiB).
pub const DEFAULT_MAX_COMPONENT_BYTES: u64 = 256 * 1024 * 1024;

/// Why a tool could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{source_name} {reason}")]
pub struct LoadError {
    /// The file (or the name given for bytes loaded from memory).
    pub source_name: String,
    /// What is wrong, as a phrase that follows the name ("is not a ...").
    pub reason: String,
    /// Digest and size of the bytes, when they could be read.
    pub component: Option<ComponentInfo>,
}

impl LoadError {
    pub(crate) fn new(source_name: impl Into<String>, reason: impl Into<String>) -> Self {
        LoadError {
            source_name: source_name.into(),
            reason: reason.into(),
            component: None,
        }
    }

    pub(crate) fn with_component(mut self, component: &ComponentInfo) -> Self {
        self.component = Some(component.clone());
        self
    }
}

/// Reads a component file: a regular file (not a FIFO, device or
/// directory; a symlink is followed to what it names) of at most
/// `max_bytes`. Never blocks on a FIFO and never reads past the cap.
pub(crate) fn read_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, LoadError> {
    let name = path.display().to_string();
    read_regular(path, max_bytes, false).map_err(|why| LoadError::new(name, why))
}

/// Opens `path` without blocking (a FIFO would otherwise wait for a writer
/// forever), checks what the open handle is, and reads at most `max_bytes`.
/// With `no_follow`, a symlink is refused rather than followed. The error
/// is a phrase that follows the file's name.
pub(crate) fn read_regular(
    path: &Path,
    max_bytes: u64,
    no_follow: bool,
) -> Result<Vec<u8>, String> {
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if no_follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) if no_follow => "is a symbolic link".to_owned(),
            _ => format!("cannot be read: {e}"),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot be read: {e}"))?;
    let kind = meta.file_type();
    let what = if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        None
    };
    if let Some(what) = what {
        return Err(format!("is not a regular file (it is {what})"));
    }
    if meta.len() > max_bytes {
        return Err(format!(
            "is {} bytes, over the component size limit of {max_bytes} bytes",
            meta.len()
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow while it is read: never read past the cap.
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!(
            "grew past the component size limit of {max_bytes} bytes while it was read"
        ));
    }
    Ok(bytes)
}

/// The interfaces a tool may import: the store's, and WASI 0.2's (which the
/// sandbox provides empty: no files, environment, or network).
const IMPORTABLE: &[&str] = &[
    "vibe:store/types@0.1.",
    "vibe:store/missions@0.1.",
    "vibe:store/audit@0.1.",
    "vibe:store/memory@0.1.",
    "wasi:",
];

/// The interface a tool must export.
const TOOL_EXPORT: &str = "vibe:store/tool@0.1.";

/// What is wrong with bytes that should hold an `agent-tool` component, as a
/// phrase that follows its name; `Ok` if the names fit the world (the types
/// are checked after compiling).
pub(crate) fn check_component(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err("is not a WebAssembly component (no \\0asm header)".into());
    }
    let (mut depth, mut exports_tool) = (0usize, false);
    let mut foreign_imports = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| {
            format!(
                "is not a valid WebAssembly component: {} (at byte {})",
                e.message(),
                e.offset()
            )
        })?;
        match payload {
            Payload::Version { encoding, .. } if depth == 0 && encoding == Encoding::Module => {
                return Err("is a core WebAssembly module, not a component; \
                         build the tool for wasm32-wasip2 (or wrap it with `wasm-tools component new`)"
                        .into());
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(imports) if depth == 0 => {
                for import in imports {
                    let import =
                        import.map_err(|e| format!("has a damaged import section: {e}"))?;
                    let name = import.name.name;
                    if !IMPORTABLE.iter().any(|prefix| name.starts_with(prefix))
                        || (name.starts_with("wasi:") && !name.contains("@0.2."))
                    {
                        foreign_imports.push(name.to_owned());
                    }
                }
            }
            Payload::ComponentExportSection(exports) if depth == 0 => {
                for export in exports {
                    let export =
                        export.map_err(|e| format!("has a damaged export section: {e}"))?;
                    exports_tool |= export.name.name.starts_with(TOOL_EXPORT);
                }
            }
            _ => {}
        }
    }
    if !foreign_imports.is_empty() {
        foreign_imports.truncate(5);
        return Err(format!(
            "does not fit the vibe:store agent-tool world: it imports {}, which the sandbox does not provide",
            foreign_imports.join(", ")
        ));
    }
    if !exports_tool {
        return Err(
            "does not fit the vibe:store agent-tool world: it does not export vibe:store/tool@0.1.0"
                .into(),
        );
    }
    Ok(())
}

/// The tool name a file's stem gives: underscores read as dashes, control
/// characters replaced, at most the store's name limit. Never empty, so an
/// invocation row can always be written under it.
pub(crate) fn name_from_path(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().replace('_', "-"))
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let max = crate::store::MAX_NAME_BYTES;
    if name.len() > max {
        let mut cut = max;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    if name.trim().is_empty() {
        name = "tool".into();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_wrong_in_words() {
        assert_eq!(
            check_component(b"hello, world").unwrap_err(),
            "is not a WebAssembly component (no \\0asm header)"
        );
        assert!(check_component(b"\0asm\x01\0\0\0")
            .unwrap_err()
            .starts_with("is a core WebAssembly module"));
        assert!(check_component(b"\0asm\x0d\0\x01\0\xff\xff")
            .unwrap_err()
            .starts_with("is not a valid WebAssembly component"));
        // An empty component: valid, but it exports no tool.
        assert!(check_component(b"\0asm\x0d\0\x01\0")
            .unwrap_err()
            .contains("does not export vibe:store/tool@0.1.0"));
    }

    #[test]
    fn names_from_paths_always_fit_the_store() {
        assert_eq!(name_from_path(Path::new("/x/my_tool.wasm")), "my-tool");
        assert_eq!(name_from_path(Path::new("a\x1bb.wasm")), "a?b");
        assert_eq!(name_from_path(Path::new(".wasm")), ".wasm");
        assert_eq!(name_from_path(Path::new("/")), "tool");
        let long = format!("{}.wasm", "é".repeat(300));
        let name = name_from_path(Path::new(&long));
        assert!(name.len() <= crate::store::MAX_NAME_BYTES && name.starts_with('é'));
    }

    #[test]
    fn fifos_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("tool.wasm");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        assert_eq!(
            read_regular(&fifo, 1024, false).unwrap_err(),
            "is not a regular file (it is a FIFO)"
        );
        assert_eq!(
            read_regular(Path::new("/dev/zero"), 1024, false).unwrap_err(),
            "is not a regular file (it is a character device)"
        );
        let big = dir.path().join("big.wasm");
        std::fs::write(&big, vec![0u8; 2048]).unwrap();
        assert!(read_regular(&big, 1024, false)
            .unwrap_err()
            .contains("over the component size limit of 1024 bytes"));
        let link = dir.path().join("link.wasm");
        std::os::unix::fs::symlink(&big, &link).unwrap();
        assert_eq!(
            read_regular(&link, 4096, true).unwrap_err(),
            "is a symbolic link"
        );
        assert_eq!(read_regular(&link, 4096, false).unwrap().len(), 2048);
    }
}
