//! The on-disk cache of compiled components.
//!
//! A cached artifact is native code the host will run, so whoever can write
//! the cache can run code in the host. The cache is therefore trusted only
//! as OpenSSH trusts `~/.ssh` under StrictModes: the directory is created
//! 0700 and files 0600 (written under a temporary name and renamed); a
//! directory or entry owned by another user, or writable by group or
//! others, or that is not a plain directory or regular file, is not used
//! (one warning, and the component is compiled in memory instead).
//!
//! Each entry starts with a header naming the digest of the component it
//! was compiled from, so an entry moved or copied under another component's
//! name is refused rather than run. The cache is bounded in size: past its
//! budget, the least recently used entries are removed.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::load::read_regular;

/// The cache's size budget unless configured otherwise (1 GiB).
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 1024 * 1024 * 1024;

/// Where `vibe run`, `vibe mcp`, `vibe compile` and the Python package
/// keep compiled components unless told otherwise: `VIBE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/vibe-store/components`, else
/// `~/.cache/vibe-store/components`; `None` when none of these is set.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("VIBE_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("vibe-store").join("components"))
}

/// Marks a vibe-store cache entry; the component's SHA-256 follows.
const MAGIC: &[u8; 16] = b"vibe-cwasm-v1\n\0\0";
const HEADER_LEN: usize = MAGIC.len() + 32;

/// A cache directory that passed its checks.
#[derive(Debug)]
pub(crate) struct ComponentCache {
    dir: PathBuf,
    max_bytes: u64,
}

impl ComponentCache {
    /// Creates `dir` (0700) if missing, then checks it; if it must not be
    /// trusted or cannot be made, says why (a phrase that follows the
    /// directory's name).
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> Result<Self, String> {
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot be created ({e})"))?;
        }
        match fs::symlink_metadata(dir) {
            Ok(meta) if meta.is_dir() => match untrusted(&meta) {
                None => Ok(ComponentCache {
                    dir: dir.to_owned(),
                    max_bytes,
                }),
                Some(why) => Err(format!("cannot be trusted: the directory {why}")),
            },
            Ok(_) => Err("is not a directory".into()),
            Err(e) => Err(format!("cannot be read ({e})")),
        }
    }

    /// The artifact cached for the component with this digest under this
    /// key, if a trustworthy entry holds it. Marks the entry as used.
    pub(crate) fn get(&self, key: &str, digest: &[u8; 32]) -> Option<Vec<u8>> {
        let file = self.dir.join(key);
        let meta = fs::symlink_metadata(&file).ok()?;
        if let Some(why) = untrusted(&meta) {
            tracing::warn!(file = %file.display(), "ignoring cached component: the file {why}");
            return None;
        }
        let mut bytes = match read_regular(&file, self.max_bytes, true) {
            Ok(bytes) => bytes,
            Err(why) => {
                tracing::warn!(file = %file.display(), "ignoring cached component: it {why}");
                return None;
            }
        };
        if bytes.len() < HEADER_LEN
            || &bytes[..MAGIC.len()] != MAGIC
            || &bytes[MAGIC.len()..HEADER_LEN] != digest
        {
            tracing::warn!(file = %file.display(), "ignoring cached component: it was not compiled from this component");
            return None;
        }
        // Least recently used is judged by modification time.
        if let Ok(handle) = fs::File::options().write(true).open(&file) {
            let _ = handle.set_modified(SystemTime::now());
        }
        bytes.drain(..HEADER_LEN);
        Some(bytes)
    }

    /// Stores an artifact (0600, written whole then renamed into place), then
    /// trims the cache to its budget.
    pub(crate) fn put(&self, key: &str, digest: &[u8; 32], artifact: &[u8]) {
        let file = self.dir.join(key);
        let temp = self
            .dir
            .join(format!(".{key}.tmp-{}", uuid::Uuid::new_v4().simple()));
        let written = (|| {
            let mut out = fs::File::options()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            out.write_all(MAGIC)?;
            out.write_all(digest)?;
            out.write_all(artifact)?;
            out.sync_all()?;
            fs::rename(&temp, &file)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            tracing::warn!(dir = %self.dir.display(), "cannot cache compiled component: {e}");
            return;
        }
        self.trim();
    }

    /// Removes least recently used entries until the cache fits its budget.
    fn trim(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let meta = entry.metadata().ok()?;
                let name = entry.file_name();
                let ours = name.to_string_lossy().ends_with(".cwasm");
                (meta.is_file() && ours).then(|| {
                    let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    (used, meta.len(), entry.path())
                })
            })
            .collect();
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        files.sort();
        for (_, len, path) in files {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
                tracing::info!(file = %path.display(), "evicted from the component cache");
            }
        }
    }
}

/// Why a cache directory or entry must not be trusted, if it must not: not
/// owned by this user, or writable by group or others.
fn untrusted(meta: &fs::Metadata) -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Some(format!(
            "is owned by user {}, not by this user ({me})",
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return Some(format!(
            "is writable by group or others (mode {:o})",
            mode & 0o777
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: [u8; 32] = [7; 32];

    #[test]
    fn a_new_cache_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("a/b/cache");
        let cache = ComponentCache::open(&cache_dir, 1 << 20).unwrap();
        let mode = fs::metadata(&cache_dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        cache.put("k.cwasm", &DIGEST, b"native code");
        let mode = fs::metadata(cache_dir.join("k.cwasm"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(cache.get("k.cwasm", &DIGEST).unwrap(), b"native code");
        assert_eq!(
            cache.get("k.cwasm", &[8; 32]),
            None,
            "another component's entry"
        );
    }

    #[test]
    fn loose_permissions_and_odd_files_are_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let loose = dir.path().join("loose");
        fs::create_dir(&loose).unwrap();
        fs::set_permissions(&loose, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(ComponentCache::open(&loose, 1 << 20)
            .unwrap_err()
            .contains("writable by group or others"));
        let foreign = dir.path().join("foreign");
        fs::DirBuilder::new().mode(0o700).create(&foreign).unwrap();
        // Only root can give a directory away; CI runs as root.
        if std::os::unix::fs::chown(&foreign, Some(65534), None).is_ok() {
            assert!(ComponentCache::open(&foreign, 1 << 20).is_err());
        }

        let cache_dir = dir.path().join("cache");
        let cache = ComponentCache::open(&cache_dir, 1 << 20).unwrap();
        cache.put("k.cwasm", &DIGEST, b"code");
        fs::set_permissions(cache_dir.join("k.cwasm"), fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(cache.get("k.cwasm", &DIGEST), None, "group/other writable");
        std::os::unix::fs::symlink("/dev/zero", cache_dir.join("z.cwasm")).unwrap();
        assert_eq!(cache.get("z.cwasm", &DIGEST), None, "symlink to a device");
    }

    #[test]
    fn the_least_recently_used_entries_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::open(dir.path(), 3 * (HEADER_LEN as u64 + 100)).unwrap();
        for name in ["a", "b", "c"] {
            cache.put(&format!("{name}.cwasm"), &DIGEST, &[0; 100]);
            // Distinct modification times, oldest first.
            let old = SystemTime::now() - std::time::Duration::from_secs(100);
            let f = fs::File::options()
                .write(true)
                .open(dir.path().join(format!("{name}.cwasm")))
                .unwrap();
            f.set_modified(
                old - std::time::Duration::from_secs(match name {
                    "a" => 30,
                    "b" => 20,
                    _ => 10,
                }),
            )
            .unwrap();
        }
        assert!(
            cache.get("a.cwasm", &DIGEST).is_some(),
            "a is now the newest"
        );
        cache.put("d.cwasm", &DIGEST, &[0; 100]);
        assert!(
            !dir.path().join("b.cwasm").exists(),
            "b was least recently used"
        );
        for kept in ["a", "c", "d"] {
            assert!(dir.path().join(format!("{kept}.cwasm")).exists(), "{kept}");
        }
    }
}
