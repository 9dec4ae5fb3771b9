//! Packaging: a model bundle + the model-less guest → one pre-initialised component.
//!
//! The guest is instantiated once under wasmtime-wizer; its `packaging.load-bundle`
//! export receives the bundle's files and checks and loads them (sha256, manifest,
//! model); `wizer-initialize` then marks the instance and the snapshot of its memory
//! becomes the component. Every instance of it starts with the model parsed in linear
//! memory. The result is an ordinary component (Spin, `wasmtime serve`, JS runtimes);
//! a custom section `mlfn-bundle` records which bundle it carries.

use std::path::Path;

use pipeline::bundle::Bundle;
use pipeline::reference::Reference;
use sha2::{Digest, Sha256};
use wasmtime::component::Linker;
use wasmtime::error::Context;
use wasmtime::{Config, Engine, OptLevel, Result, Store, bail, format_err};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wizer::Wizer;

use crate::cache::{self, hex};
use crate::engine::PoolLimits;
use crate::runtime::Runtime;
use crate::state::InstanceState;
use crate::verify::{Verdict, verify};
use crate::verify_file_type::{self, FileTypeReference};
use crate::verify_image::{self, ImageReference};
use crate::verify_text::{self, TextReference};

/// Name of the custom section that identifies a packaged component's bundle.
pub const SECTION: &str = "mlfn-bundle";

const PACKAGING_EXPORT: &str = "mlfn:inference/packaging@0.4.0";

/// What a packaged component carries (the `mlfn-bundle` section, JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BundleInfo {
    pub name: String,
    pub version: String,
    /// SHA-256 over the bundle's files (name and bytes, in name order).
    pub bundle_sha256: String,
    /// SHA-256 of each file.
    pub files: std::collections::BTreeMap<String, String>,
}

impl BundleInfo {
    pub fn of(bundle: &Bundle, function: &pipeline::Function) -> Self {
        let mut all = Sha256::new();
        let mut files = std::collections::BTreeMap::new();
        let mut names: Vec<&str> = bundle.names().collect();
        names.sort_unstable();
        for name in names {
            let bytes = bundle.get(name).expect("listed by names()");
            all.update((name.len() as u64).to_le_bytes());
            all.update(name.as_bytes());
            all.update((bytes.len() as u64).to_le_bytes());
            all.update(bytes);
            files.insert(name.to_string(), hex(&Sha256::digest(bytes)));
        }
        BundleInfo {
            name: function.name().to_string(),
            version: function.version().to_string(),
            bundle_sha256: hex(&all.finalize()),
            files,
        }
    }
}

/// Reads the `mlfn-bundle` section of a component, if it has one.
pub fn bundle_info(wasm: &[u8]) -> Option<BundleInfo> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(wasmparser::Payload::CustomSection(s)) if s.name() == SECTION => {
                return serde_json::from_slice(s.data()).ok();
            }
            // Nested modules and components are skipped by the parser's own framing; the
            // section is at the top level, after them.
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// Packages `bundle` into `guest` (the model-less component's bytes). Fails with the
/// guest's own reason when the bundle does not load.
pub async fn package(guest: &[u8], bundle: &Bundle) -> Result<(Vec<u8>, BundleInfo)> {
    // Check natively first: the same `pipeline` code the guest runs, so a broken bundle
    // is reported before any wasm is compiled, with the same message.
    let function = pipeline::Function::load(bundle).map_err(|e| format_err!("{e}"))?;
    let info = BundleInfo::of(bundle, &function);
    // What the guest reads: a network in NNEF form (converted here from the ONNX whose
    // sha256 was just checked), everything else as it is.
    let guest_files = pipeline::Function::guest_files(bundle).map_err(|e| format_err!("{e}"))?;
    let files: Vec<(String, Vec<u8>)> = guest_files
        .names()
        .map(|n| (n.to_string(), guest_files.get(n).expect("listed").to_vec()))
        .collect();

    // The instrumented guest runs once: compile it quickly rather than well.
    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::None);
    crate::engine::with_function_cache(&mut config)?;
    let engine = Engine::new(&config)?;
    let mut linker = Linker::<InstanceState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    // The guest's stderr (a panic message) becomes part of the error.
    let stderr = MemoryOutputPipe::new(64 << 10);
    let mut store = Store::new(
        &engine,
        InstanceState::new(usize::MAX, Some(stderr.clone()), &[]),
    );
    // The bundle goes in and the snapshot of memory comes out as lists copied across the
    // component boundary, which wasmtime caps at 128 MiB per call by default; a text
    // model's weights alone are 90 MB. This store runs our own guest on the user's own
    // bundle, once.
    store.set_hostcall_fuel(usize::MAX);
    // Keep the init export: wasmtime-wizer 48 drops the core export but leaves the
    // component-level lift of it, which makes an invalid component. Calling it again in
    // the snapshot is harmless.
    let run = Wizer::new()
        .keep_init_func(true)
        .run_component(&mut store, guest, async |store, component| {
            let instance = linker.instantiate_async(&mut *store, component).await?;
            let iface = instance
                .get_export_index(&mut *store, None, PACKAGING_EXPORT)
                .context("the guest does not export `mlfn:inference/packaging`")?;
            let load = instance
                .get_export_index(&mut *store, Some(&iface), "load-bundle")
                .context("the guest's packaging interface has no `load-bundle`")?;
            let load = instance
                .get_typed_func::<(Vec<(String, Vec<u8>)>,), (Result<(), String>,)>(
                    &mut *store,
                    load,
                )?;
            let (loaded,) = load.call_async(&mut *store, (files,)).await?;
            loaded.map_err(|e| format_err!("{e}"))?;
            Ok(instance)
        })
        .await;
    let (mut snapshot, _) = run.map_err(|e| {
        let said = String::from_utf8_lossy(&stderr.contents())
            .trim()
            .to_string();
        if said.is_empty() {
            e.context("packaging the bundle into the guest")
        } else {
            e.context(format!(
                "packaging the bundle into the guest; it said: {said}"
            ))
        }
    })?;
    let section = wasm_encoder::CustomSection {
        name: SECTION.into(),
        data: serde_json::to_vec(&info)?.into(),
    };
    wasm_encoder::ComponentSection::append_to_component(&section, &mut snapshot);
    Ok((snapshot, info))
}

/// A packaged and verified bundle directory.
pub struct Packaged {
    pub wasm: Vec<u8>,
    pub info: BundleInfo,
    /// The verification this run made; `None` when the package came from the cache
    /// (only verified packages are cached).
    pub verdict: Option<Verdict>,
    /// The component loaded (the one the verification ran on).
    pub runtime: Runtime,
}

/// Packages the bundle in `dir` into `guest` and runs every row of its `reference.json`
/// through the result; fails (with the worst row) unless every row is within tolerance.
/// Verified packages are cached by SHA-256 of the guest and the bundle's files, so
/// `serve DIR` packages a directory once.
pub async fn package_dir(guest: &[u8], dir: &Path, limits: PoolLimits) -> Result<Packaged> {
    let bundle = read_bundle(dir)?;
    let reference_path = dir.join(pipeline::bundle::REFERENCE);
    let reference_bytes = std::fs::read(&reference_path).with_context(|| {
        format!(
            "reading {} (a bundle is never packaged unverified)",
            reference_path.display()
        )
    })?;
    let oracle = Oracle::read(&bundle, dir, &reference_bytes)
        .with_context(|| format!("{} is not a reference fixture", reference_path.display()))?;

    let mut key = cache::Key::new("packaged+verified");
    key.add(guest);
    for name in bundle.names() {
        key.add(name.as_bytes());
        key.add(bundle.get(name).expect("listed"));
    }
    key.add(&reference_bytes);
    if let Oracle::Image(r) = &oracle {
        for s in &r.samples {
            key.add(&s.bytes);
        }
    }
    let cache = cache::Cache::open();
    if let Some(path) = cache.as_ref().and_then(|c| c.get(&key, "wasm"))
        && let Ok(wasm) = std::fs::read(&path)
        && let Some(info) = bundle_info(&wasm)
    {
        let runtime = Runtime::from_wasm(&wasm, limits).await?;
        return Ok(Packaged {
            wasm,
            info,
            verdict: None,
            runtime,
        });
    }
    let (wasm, info) = package(guest, &bundle).await?;
    let runtime = Runtime::from_wasm(&wasm, limits).await?;
    let verdict = match &oracle {
        Oracle::Tabular(r) => verify(&runtime, r).await?,
        Oracle::FileType(r) => verify_file_type::verify(&runtime, r).await?,
        Oracle::Text(r) => verify_text::verify(&runtime, r).await?,
        Oracle::Image(r) => verify_image::verify(&runtime, r).await?,
    };
    if !verdict.passed() {
        bail!(
            "the packaged component does not reproduce the bundle's reference outputs: {verdict}"
        );
    }
    if let Some(c) = cache {
        let _ = c.put(&key, "wasm", &wasm);
    }
    Ok(Packaged {
        wasm,
        info,
        verdict: Some(verdict),
        runtime,
    })
}

/// A bundle's reference fixture, in its kind's format.
enum Oracle {
    Tabular(Reference),
    FileType(FileTypeReference),
    Text(TextReference),
    Image(ImageReference),
}

impl Oracle {
    /// `bytes` is the bundle's reference.json; an image reference names image files in
    /// `dir`, read here.
    fn read(bundle: &Bundle, dir: &Path, bytes: &[u8]) -> Result<Self> {
        let manifest = bundle
            .get(pipeline::bundle::MANIFEST)
            .context("the bundle has no manifest.json")?;
        let kind = pipeline::manifest::kind_of(manifest).map_err(|e| format_err!("{e}"))?;
        Ok(match kind.as_str() {
            pipeline::filetype::manifest::KIND => {
                Oracle::FileType(FileTypeReference::from_json(bytes)?)
            }
            pipeline::text::manifest::KIND => Oracle::Text(TextReference::from_json(bytes)?),
            pipeline::image::manifest::KIND => Oracle::Image(ImageReference::read(dir, bytes)?),
            _ => Oracle::Tabular(Reference::from_json(bytes)?),
        })
    }
}

/// Reads a bundle directory (manifest.json and the files it names).
pub fn read_bundle(dir: &Path) -> Result<Bundle> {
    Bundle::read_dir(dir).map_err(|e| format_err!("reading the bundle {}: {e}", dir.display()))
}
