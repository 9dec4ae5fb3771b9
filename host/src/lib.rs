//! The wasmtime host for inference-function components: load (`.wasm` through a compile
//! cache, or `.cwasm`), pre-instantiate, and run a fresh instance per call or per HTTP
//! request. The `host` binary (main.rs) is a CLI over this library; tests use it directly.

pub mod bench;
pub mod component;
pub mod engine;
pub mod guests;
pub mod prepare;
pub mod runtime;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod typed;

pub use component::Prepare;
pub use engine::PoolLimits;
pub use runtime::Runtime;
