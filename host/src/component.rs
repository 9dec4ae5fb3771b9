//! Loading a component the way production hosts do: a `.cwasm` (ahead-of-time compiled
//! by `host compile`) is mmapped with `deserialize_file`; a `.wasm` is compiled once and
//! the machine code cached on disk, keyed by SHA-256 of the component's bytes and the
//! engine's configuration, so later starts load it like a `.cwasm`.

use std::path::Path;

use wasmtime::component::Component;
use wasmtime::error::Context;
use wasmtime::{Engine, Precompiled, Result, bail};

use crate::cache;

/// How a component was obtained, for the record (`serve` logs it, `bench` reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    /// A `.cwasm` given directly.
    Precompiled,
    /// A `.wasm` whose compiled form was in the cache.
    CacheHit,
    /// A `.wasm` compiled now (and cached when the cache is usable).
    Compiled,
}

/// Loads a `.wasm` or `.cwasm` component for `engine`.
pub fn load(engine: &Engine, path: &Path) -> Result<(Component, Loaded)> {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .with_context(|| format!("reading {}", path.display()))?;
    if &magic == b"\0asm" {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        return load_wasm(engine, &bytes).with_context(|| format!("compiling {}", path.display()));
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
    cache::write_atomically(out, &compiled)
}

fn deserialize(engine: &Engine, path: &Path) -> Result<Component> {
    // SAFETY: the file is a wasmtime artifact (checked by `detect_precompiled_file`) that
    // the operator handed us or that `host compile` wrote; wasmtime still verifies its
    // engine compatibility.
    unsafe { Component::deserialize_file(engine, path) }.with_context(|| {
        format!(
            "{} was compiled by another wasmtime version or engine configuration; \
             recompile it from the .wasm with `host compile`",
            path.display()
        )
    })
}

/// Compiles `bytes` through the compile cache.
pub fn load_wasm(engine: &Engine, bytes: &[u8]) -> Result<(Component, Loaded)> {
    let mut key = cache::Key::new("compiled");
    key.add(bytes);
    key.add(&engine.precompile_compatibility_hash_bytes());
    key.add(crate::engine::COMPILER_PATCH.as_bytes());
    let cache = cache::Cache::open();
    if let Some(path) = cache.as_ref().and_then(|c| c.get(&key, "cwasm")) {
        // A corrupt or foreign entry is not an error: recompile it below.
        if let Ok(c) = deserialize(engine, &path) {
            return Ok((c, Loaded::CacheHit));
        }
    }
    let compiled = engine.precompile_component(bytes)?;
    if let Some(path) = cache.and_then(|c| c.put(&key, "cwasm", &compiled).ok())
        && let Ok(c) = deserialize(engine, &path)
    {
        return Ok((c, Loaded::Compiled));
    }
    // SAFETY: `compiled` was produced by this engine a moment ago.
    let c = unsafe { Component::deserialize(engine, &compiled) }?;
    Ok((c, Loaded::Compiled))
}

/// Bytes standing for the engine's compatibility hash (it is only `Hash`).
trait CompatibilityBytes {
    fn precompile_compatibility_hash_bytes(&self) -> Vec<u8>;
}

impl CompatibilityBytes for Engine {
    fn precompile_compatibility_hash_bytes(&self) -> Vec<u8> {
        use std::hash::{Hash, Hasher};
        // A Hasher that records what is hashed instead of mixing it: the cache key is
        // SHA-256 over these bytes, not a 64-bit non-cryptographic hash.
        #[derive(Default)]
        struct Record(Vec<u8>);
        impl Hasher for Record {
            fn finish(&self) -> u64 {
                0
            }
            fn write(&mut self, bytes: &[u8]) {
                self.0.extend_from_slice(bytes);
            }
        }
        let mut r = Record::default();
        self.precompile_compatibility_hash().hash(&mut r);
        r.0
    }
}
