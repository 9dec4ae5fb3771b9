//! The wasmtime host for inference-function components: package a model bundle into the
//! model-less guest (`package`, checked by `verify` or `verify_file_type`), load components (`.wasm` through a
//! private compile cache, or `.cwasm`), pre-instantiate, and run a fresh instance per call
//! or per HTTP request. The `host` binary (main.rs) is a CLI over this library; tests use
//! it directly.

pub mod admission;
pub mod bench;
pub mod cache;
pub mod component;
pub mod deploy;
pub mod direct;
pub mod engine;
pub mod guests;
pub mod package;
pub mod runtime;
pub mod server;
pub mod serving_threads;
pub mod state;
pub mod telemetry;
pub mod typed;
pub mod validate;
pub mod verify;
pub mod verify_file_type;
pub mod verify_image;
pub mod verify_text;

pub use engine::PoolLimits;
pub use runtime::Runtime;
