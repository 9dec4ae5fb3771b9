//! The on-disk cache of compiled and packaged components. Its entries are machine code
//! the host will run, so the cache is private: a per-user directory
//! (`$MLFN_CACHE_DIR`, else `$XDG_CACHE_HOME/mlfn-host`, else `~/.cache/mlfn-host`; never
//! a shared temp dir), created 0700 and refused when another user owns it or others can
//! write to it; entries are named by SHA-256 of everything that determines them.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Result;
use wasmtime::error::Context;

/// A cache key: SHA-256 over a kind tag and every input, each length-prefixed.
pub struct Key(Sha256);

impl Key {
    pub fn new(kind: &str) -> Self {
        let mut k = Key(Sha256::new());
        k.add(kind.as_bytes());
        k
    }

    pub fn add(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn hex(&self) -> String {
        hex(&self.0.clone().finalize())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A usable cache directory.
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache, or `None` (with a warning) when no private directory can be had:
    /// compiling again is slower, never unsafe.
    pub fn open() -> Option<Cache> {
        let dir = default_dir()?;
        match ensure_private_dir(&dir) {
            Ok(()) => Some(Cache { dir }),
            Err(e) => {
                tracing::warn!("compile cache disabled: {e:#}");
                None
            }
        }
    }

    /// The entry's path, if it exists (marked as used: eviction takes the least recently
    /// used first).
    pub fn get(&self, key: &Key, ext: &str) -> Option<PathBuf> {
        let p = self.path(key, ext);
        if !p.is_file() {
            return None;
        }
        if let Ok(f) = std::fs::File::options().append(true).open(&p) {
            let _ = f.set_modified(std::time::SystemTime::now());
        }
        Some(p)
    }

    /// Writes an entry (atomically) and returns its path; then evicts the least recently
    /// used entries while the cache holds more than its budget.
    pub fn put(&self, key: &Key, ext: &str, bytes: &[u8]) -> Result<PathBuf> {
        let p = self.path(key, ext);
        write_atomically(&p, bytes)?;
        evict_beyond(&self.dir, budget(), Some(&p));
        Ok(p)
    }

    fn path(&self, key: &Key, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", key.hex()))
    }
}

/// Most bytes the cache keeps of packaged and compiled components
/// (`MLFN_CACHE_MAX_BYTES`, default 4 GiB: a network's component and its machine code
/// are ~0.5 GB, a tabular one's a few MB). Nothing in it is needed for correctness.
pub const DEFAULT_BUDGET: u64 = 4 << 30;

/// Most bytes of compiled functions (`functions/`) kept: ~one guest's worth, several times.
const FUNCTIONS_BUDGET: u64 = 1 << 30;

fn budget() -> u64 {
    std::env::var("MLFN_CACHE_MAX_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_BUDGET)
}

/// Deletes the least recently used files of `dir` (not its subdirectories, not `keep`)
/// until the rest fit in `budget` bytes. Best effort: another process may be doing the
/// same, and an entry a running host has mapped stays readable to it once unlinked.
pub fn evict_beyond(dir: &Path, budget: u64, keep: Option<&Path>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            let modified = meta.modified().ok()?;
            meta.is_file().then(|| (modified, meta.len(), e.path()))
        })
        .collect();
    let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
    if total <= budget {
        return;
    }
    files.sort();
    for (_, len, path) in files {
        if total <= budget {
            break;
        }
        if Some(path.as_path()) != keep && std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

fn default_dir() -> Option<PathBuf> {
    let nonempty = |v: std::ffi::OsString| (!v.is_empty()).then_some(PathBuf::from(v));
    if let Some(d) = std::env::var_os("MLFN_CACHE_DIR").and_then(nonempty) {
        return Some(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").and_then(nonempty) {
        return Some(d.join("mlfn-host"));
    }
    std::env::var_os("HOME")
        .and_then(nonempty)
        .map(|h| h.join(".cache/mlfn-host"))
}

/// Creates `dir` 0700 if needed; refuses one that is not a directory of ours or that
/// others may write to.
#[cfg(unix)]
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    if !dir.exists() {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    }
    let meta =
        std::fs::symlink_metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    if !meta.is_dir() {
        wasmtime::bail!("{} is not a directory", dir.display());
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        wasmtime::bail!(
            "{} belongs to uid {}, not to this user (uid {me})",
            dir.display(),
            meta.uid()
        );
    }
    if meta.permissions().mode() & 0o022 != 0 {
        wasmtime::bail!(
            "{} is writable by others (mode {:o}); `chmod 700` it",
            dir.display(),
            meta.permissions().mode() & 0o777
        );
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Unique per writer: compiler threads may store the same entry at once.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Cranelift's incremental compilation cache in the private cache directory
/// (`functions/`): compiled functions keyed by cranelift's hash of their IR. Every packaged
/// component carries the same guest code (a snapshot changes data, not functions), so
/// after the first one compiling another reuses almost every function.
#[derive(Debug)]
pub struct FunctionCache {
    dir: PathBuf,
}

impl FunctionCache {
    /// In the cache directory, or `None` when there is no usable one.
    pub fn open() -> Option<std::sync::Arc<FunctionCache>> {
        let cache = Cache::open()?;
        let dir = cache.dir.join("functions");
        std::fs::create_dir_all(&dir).ok()?;
        evict_functions_in_background(&dir);
        Some(std::sync::Arc::new(FunctionCache { dir }))
    }

    fn path(&self, key: &[u8]) -> PathBuf {
        self.dir.join(hex(&Sha256::digest(key)))
    }
}

/// Least time between two eviction scans of `functions/`, across processes.
const FUNCTIONS_EVICTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Evicts from `functions/` beyond its budget, on a thread of its own, at most once per
/// process and not within `FUNCTIONS_EVICTION_INTERVAL` of the last finished scan (any
/// process's; `functions.evicted` records it). Why not at once, as `Cache::put` does: a
/// guest leaves tens of thousands of entries, and the scan stats every one. Run on every
/// engine's creation, it made that 452 ms instead of 7 (a full `functions/`, 177k
/// files; `host bench`, "engine creation"), which every `host serve` start paid. A scan
/// cut short by the process's exit leaves no record, so the next process scans.
fn evict_functions_in_background(dir: &Path) {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let record = dir.with_extension("evicted");
        let scanned_lately = std::fs::metadata(&record)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age < FUNCTIONS_EVICTION_INTERVAL);
        if scanned_lately {
            return;
        }
        let dir = dir.to_path_buf();
        let _ = std::thread::Builder::new()
            .name("cache-eviction".into())
            .spawn(move || {
                evict_beyond(&dir, FUNCTIONS_BUDGET, None);
                let _ = std::fs::write(&record, b"");
            });
    });
}

impl wasmtime::CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
        std::fs::read(self.path(key)).ok().map(Into::into)
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        write_atomically(&self.path(key), &value).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_takes_the_least_recently_used_until_the_rest_fit() {
        let dir = std::env::temp_dir().join(format!("mlfn-evict-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("functions")).unwrap();
        let now = std::time::SystemTime::now();
        let file = |name: &str, len: usize, age_s: u64| {
            let p = dir.join(name);
            std::fs::write(&p, vec![0u8; len]).unwrap();
            let f = std::fs::File::options().append(true).open(&p).unwrap();
            f.set_modified(now - std::time::Duration::from_secs(age_s))
                .unwrap();
            p
        };
        let oldest = file("a.wasm", 400, 30);
        let kept = file("b.cwasm", 400, 20);
        let newest = file("c.wasm", 400, 10);
        // 1200 bytes in a budget of 900: the oldest goes, unless it is the one kept.
        evict_beyond(&dir, 900, Some(&oldest));
        assert!(oldest.exists() && !kept.exists() && newest.exists());
        evict_beyond(&dir, 900, None);
        assert!(oldest.exists() && newest.exists(), "already within budget");
        evict_beyond(&dir, 0, None);
        assert!(!oldest.exists() && !newest.exists());
        assert!(
            dir.join("functions").is_dir(),
            "subdirectories are not entries"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
