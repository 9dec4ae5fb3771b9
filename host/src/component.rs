//! Loading a component the way production hosts do: a `.cwasm` (ahead-of-time compiled
//! by `host compile`) is mmapped with `deserialize_file`; a `.wasm` is (by default)
//! pre-initialised, compiled once, and the machine code cached on disk, keyed by the
//! component's bytes, the engine's configuration and the preparation, so later starts
//! load it like a `.cwasm`.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::component::Component;
use wasmtime::error::Context;
use wasmtime::{Engine, Precompiled, Result, bail};

/// Where compiled `.wasm` components are cached: `$MLFN_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/mlfn-host`, else `~/.cache/mlfn-host`, else the system temp dir.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MLFN_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("mlfn-host");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache/mlfn-host");
    }
    std::env::temp_dir().join("mlfn-host")
}

/// What to do to a `.wasm` before compiling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prepare {
    /// Pre-initialise it (`crate::prepare`): instances start with the model loaded.
    Snapshot,
    /// Use it as is: each instance loads the model on its first request.
    AsIs,
}

/// How a component was obtained, for the record (`serve` logs it, `bench` reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    /// A `.cwasm` given directly.
    Precompiled,
    /// A `.wasm` whose compiled form was in the cache.
    CacheHit,
    /// A `.wasm` compiled now (and cached).
    Compiled,
}

/// Loads a `.wasm` or `.cwasm` component for `engine`. `prepare` applies to `.wasm` only
/// (a `.cwasm` is used as it was compiled).
pub async fn load(engine: &Engine, path: &Path, prepare: Prepare) -> Result<(Component, Loaded)> {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .with_context(|| format!("reading {}", path.display()))?;
    if &magic == b"\0asm" {
        return load_wasm(engine, path, prepare).await;
    }
    match Engine::detect_precompiled_file(path) {
        Ok(Some(Precompiled::Component)) => Ok((deserialize(engine, path)?, Loaded::Precompiled)),
        Ok(Some(Precompiled::Module)) => bail!(
            "{} is a precompiled core module, not a component",
            path.display()
        ),
        _ => bail!(
            "{} is neither a wasm component nor a .cwasm made by `host compile`",
            path.display()
        ),
    }
}

/// Compiles a `.wasm` component to a `.cwasm` for `engine`'s configuration.
pub fn compile_to_file(engine: &Engine, wasm: &Path, out: &Path) -> Result<()> {
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let compiled = engine
        .precompile_component(&bytes)
        .with_context(|| format!("compiling {}", wasm.display()))?;
    write_atomically(out, &compiled)
}

fn deserialize(engine: &Engine, path: &Path) -> Result<Component> {
    // SAFETY: the file is a wasmtime artifact (checked by `detect_precompiled_file`) that
    // we or `host compile` wrote; wasmtime still verifies its engine compatibility.
    unsafe { Component::deserialize_file(engine, path) }.with_context(|| {
        format!(
            "{} was compiled by another wasmtime version or engine configuration; \
             recompile it from the .wasm with `host compile`",
            path.display()
        )
    })
}

async fn load_wasm(engine: &Engine, path: &Path, prepare: Prepare) -> Result<(Component, Loaded)> {
    let mut bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut h = std::hash::DefaultHasher::new();
    bytes.hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    let tag = match prepare {
        Prepare::Snapshot => "snapshot",
        Prepare::AsIs => "plain",
    };
    let cached = cache_dir().join(format!("{:016x}-{tag}.cwasm", h.finish()));
    if cached.is_file()
        && let Ok(c) = deserialize(engine, &cached)
    {
        return Ok((c, Loaded::CacheHit));
    }
    if prepare == Prepare::Snapshot {
        bytes = crate::prepare::preinitialize(&bytes).await?;
    }
    let compiled = engine
        .precompile_component(&bytes)
        .with_context(|| format!("compiling {}", path.display()))?;
    // A cache we cannot write is no reason to fail: load from memory instead.
    if write_atomically(&cached, &compiled).is_ok()
        && let Ok(c) = deserialize(engine, &cached)
    {
        return Ok((c, Loaded::Compiled));
    }
    // SAFETY: `compiled` was produced by this engine a moment ago.
    let c = unsafe { Component::deserialize(engine, &compiled) }?;
    Ok((c, Loaded::Compiled))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
