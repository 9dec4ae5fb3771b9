//! The end-to-end tests: one binary, a module per concern (the layout of wasmtime's
//! tests/all). Each module discovers its bundles under models/; `common` holds the
//! compiled runtimes, servers and clients they share. Run one module with
//! `cargo test --release -p host --test e2e image::`.

mod common;

mod component;
mod deploy;
mod edge;
mod file_type;
mod fleet;
mod guards;
mod hostile;
mod http_api;
mod image;
mod observability;
mod packaging;
mod parity;
mod runtimes;
mod serving;
mod text;
mod toolchain;
mod v2;
mod validate;
