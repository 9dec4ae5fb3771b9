//! Pre-initialisation: run the guest's `wizer-initialize` export (which loads the model
//! bundle and optimises the tract plan) once, then snapshot the instance's memories and
//! globals into a new component with `wasmtime-wizer`. Every instance of the snapshot
//! starts with the plan already in linear memory. The result is an ordinary component:
//! it runs under Spin and `wasmtime serve` as well as here.

use wasmtime::component::Linker;
use wasmtime::error::Context;
use wasmtime::{Config, Engine, OptLevel, Result, Store};
use wasmtime_wizer::Wizer;

use crate::state::InstanceState;

/// Snapshots `wasm` after its `wizer-initialize` export ran.
pub async fn preinitialize(wasm: &[u8]) -> Result<Vec<u8>> {
    // The instrumented component runs once: compile it quickly rather than well.
    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::None);
    let engine = Engine::new(&config)?;
    let mut linker = Linker::<InstanceState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    let mut store = Store::new(&engine, InstanceState::new(usize::MAX, None, &[]));
    // Keep the init export: wasmtime-wizer 48 drops the core export but leaves the
    // component-level lift of it, which makes an invalid component. Calling it again in
    // the snapshot is a no-op (the model is loaded once, behind a OnceLock).
    let (snapshot, _) = Wizer::new()
        .keep_init_func(true)
        .run_component(&mut store, wasm, async |store, component| {
            linker.instantiate_async(store, component).await
        })
        .await
        .context("pre-initialising the component (does it export `wizer-initialize`?)")?;
    Ok(snapshot)
}
