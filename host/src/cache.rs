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

    /// The entry's path, if it exists.
    pub fn get(&self, key: &Key, ext: &str) -> Option<PathBuf> {
        let p = self.path(key, ext);
        p.is_file().then_some(p)
    }

    /// Writes an entry (atomically) and returns its path.
    pub fn put(&self, key: &Key, ext: &str, bytes: &[u8]) -> Result<PathBuf> {
        let p = self.path(key, ext);
        write_atomically(&p, bytes)?;
        Ok(p)
    }

    fn path(&self, key: &Key, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", key.hex()))
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
        Some(std::sync::Arc::new(FunctionCache { dir }))
    }

    fn path(&self, key: &[u8]) -> PathBuf {
        self.dir.join(hex(&Sha256::digest(key)))
    }
}

impl wasmtime::CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
        std::fs::read(self.path(key)).ok().map(Into::into)
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        write_atomically(&self.path(key), &value).is_ok()
    }
}
