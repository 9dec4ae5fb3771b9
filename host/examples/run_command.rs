//! Runs a `wasi:cli` command component under the host's own engine: the patched Cranelift
//! of vendor/, epoch interruption on, and a deadline that yields at every tick as
//! `server::run_guest` does. The wasmtime CLI compiles with stock wasmtime, so a benchmark
//! compiled to wasm (bench/wasm-gemm) measures what our guests get only through this.
//!
//!   cargo run --release -p host --example run_command -- COMMAND.wasm
//!
//! stdout and stderr are the host's; no files, no network.

use std::path::PathBuf;

use host::engine::{PoolLimits, engine};
use host::runtime::start_epoch_ticker;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

struct State {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> wasmtime::Result<()> {
    let path = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or_else(|| wasmtime::format_err!("usage: run_command COMMAND.wasm"))?,
    );
    let engine = engine(PoolLimits {
        instances: 1,
        max_memory_bytes: 1 << 30,
    })?;
    let component = Component::from_file(&engine, &path)?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    let state = State {
        ctx: WasiCtx::builder().inherit_stdout().inherit_stderr().build(),
        table: ResourceTable::new(),
    };
    let mut store = Store::new(&engine, state);
    // As the server: a check at every loop back edge, a yield at every tick.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
    start_epoch_ticker(&engine);
    let command = Command::instantiate_async(&mut store, &component, &linker).await?;
    command
        .wasi_cli_run()
        .call_run(&mut store)
        .await?
        .map_err(|()| wasmtime::format_err!("the command exited with an error"))
}
