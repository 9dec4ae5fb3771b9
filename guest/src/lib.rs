//! The inference function component, compiled once and without a model: `host package`
//! hands it a bundle through the `packaging` export at snapshot time (see `typed.rs`), so
//! every deployable component starts with the model already parsed in linear memory.
//! HTTP goes through `wasi:http/incoming-handler` (spin-sdk, `http.rs`); the typed
//! `model` export is in `typed.rs`. All logic lives in the `pipeline` crate.

mod alloc;
mod http;
mod typed;

#[global_allocator]
static ALLOCATOR: alloc::FillLargeFrees = alloc::FillLargeFrees;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use pipeline::Function;
use pipeline::bundle::Bundle;

static SERVICE: OnceLock<Function> = OnceLock::new();

/// Set by `wizer-initialize`; in a snapshot it is already true when an instance starts.
static PREINITIALIZED: AtomicBool = AtomicBool::new(false);

/// The answer of a component that was never packaged.
const NOT_PACKAGED: &str = "this component has no model bundle: package one with \
     `host package DIR -o model.wasm`";

/// The `packaging.load-bundle` export: check and load the bundle, once (a network is
/// parsed and optimised into its runnable plan here, so the snapshot holds the plan). It
/// touches no WASI interface of its own (no env, clock or stdio), so nothing
/// host-specific is captured in the snapshot taken after it.
pub fn load_bundle(files: Vec<(String, Vec<u8>)>) -> Result<(), String> {
    if SERVICE.get().is_some() {
        return Err("a model bundle is already loaded".into());
    }
    // The GEMM kernel tract's wasm tier is asked for, registered before any plan is made.
    #[cfg(feature = "networks")]
    wasm_kernel::link();
    alloc::start_loading(files.iter().map(|(_, bytes)| bytes.len()).sum());
    let mut bundle = Bundle::new();
    for (name, bytes) in files {
        bundle.insert(name, bytes);
    }
    let service = Function::load(&bundle).map_err(|e| format!("the bundle does not load: {e}"))?;
    SERVICE
        .set(service)
        .map_err(|_| "a model bundle is already loaded".to_string())
}

/// The `wizer-initialize` export. Trapping here (no bundle) makes packaging fail rather
/// than produce a component that answers 500 forever.
pub fn preinitialize() {
    if SERVICE.get().is_none() {
        panic!("{NOT_PACKAGED}");
    }
    PREINITIALIZED.store(true, Ordering::Relaxed);
    alloc::done_loading();
}

/// Whether this instance started from a packaged snapshot (reported by /health).
pub fn preinitialized() -> bool {
    PREINITIALIZED.load(Ordering::Relaxed)
}

/// The loaded model, or why there is none.
pub fn service() -> Result<&'static Function, &'static str> {
    SERVICE.get().ok_or(NOT_PACKAGED)
}
