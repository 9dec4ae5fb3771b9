//! The inference pipeline of one model bundle, in code that compiles natively and to
//! wasm: manifest → schema validation → preprocessing → tract model → postprocessing,
//! and the HTTP API's routes and wire format around it.
//!
//! The guest component is a thin adapter over [`Service`]; the host and the tests use the
//! same code natively (parity tests, native benchmarks).

pub mod api;
pub mod drift;
pub mod events;
pub mod manifest;
pub mod model;
pub mod openapi;
pub mod postprocess;
pub mod preprocess;
pub mod reference;
pub mod schema;
pub mod service;

#[cfg(test)]
mod testdata;

pub use api::{ApiError, MAX_BATCH, MAX_BODY_BYTES};
pub use manifest::{Manifest, ManifestError};
pub use model::{Model, ModelError};
pub use postprocess::Prediction;
pub use preprocess::Preprocessor;
pub use schema::{Cell, FeatureValue, FieldProblem, Row, Schema};
pub use service::{InstanceInfo, LoadError, PredictError, Response, Route, Service, route};
