//! The inference function component: one embedded model bundle behind
//! `wasi:http/incoming-handler` (spin-sdk, see `http.rs`) and the typed `model` export
//! from `wit/` (see `typed.rs`). All logic lives in the `pipeline` crate.

mod http;
mod typed;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use pipeline::Service;

/// The bundle chosen at build time (`MODEL_BUNDLE`, see build.rs).
static MANIFEST: &[u8] = include_bytes!(concat!(env!("BUNDLE_DIR"), "/manifest.json"));
static ONNX: &[u8] = include_bytes!(concat!(env!("BUNDLE_DIR"), "/model.onnx"));

static SERVICE: OnceLock<Result<Service, String>> = OnceLock::new();

/// Set by `preinitialize`; in a snapshot it is already true when an instance starts.
static PREINITIALIZED: AtomicBool = AtomicBool::new(false);

/// The `wizer-initialize` export: load the bundle now, so a snapshot taken afterwards
/// starts every instance with the tract plan already in linear memory.
pub fn preinitialize() {
    let _ = init();
    PREINITIALIZED.store(true, Ordering::Relaxed);
}

/// Whether this instance started from a pre-initialised snapshot (reported by /health).
pub fn preinitialized() -> bool {
    PREINITIALIZED.load(Ordering::Relaxed)
}

/// Loads the bundle (manifest checks, tract optimisation). Independent of any request, so
/// it can run ahead of time in a pre-initialisation snapshot; otherwise the first
/// request of an instance runs it.
pub fn init() -> Result<&'static Service, &'static str> {
    SERVICE
        .get_or_init(|| {
            Service::load(MANIFEST, ONNX).map_err(|e| format!("model bundle failed to load: {e}"))
        })
        .as_ref()
        .map_err(String::as_str)
}
