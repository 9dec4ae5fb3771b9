//! The inference pipeline of one model bundle (format 2, models/README.md), in code that
//! compiles natively and to wasm: bundle files → manifest → schema validation → column
//! programs → estimator (linear, MLP, tree ensemble) → link, and the HTTP API's routes
//! and wire format around it.
//!
//! The guest component is a thin adapter over [`Service`]; the host and the tests use the
//! same code natively (reference checks, native benchmarks).

pub mod api;
pub mod bundle;
pub mod drift;
pub mod estimator;
pub mod events;
#[cfg(feature = "networks")]
pub mod filetype;
pub mod function;
#[cfg(feature = "networks")]
pub mod image;
pub mod manifest;
#[cfg(feature = "networks")]
pub mod network;
#[cfg(feature = "networks")]
pub mod network_routes;
pub mod openapi;
pub mod postprocess;
mod predict_body;
pub mod preprocess;
mod ranges;
pub mod reference;
pub mod routes;
pub mod schema;
pub mod service;
#[cfg(feature = "networks")]
pub mod text;
pub mod v2;

#[cfg(test)]
mod testdata;

pub use api::{ApiError, MAX_BATCH, MAX_BODY_BYTES};
pub use bundle::{Bundle, BundleError};
pub use estimator::{Model, ModelError};
pub use function::Function;
pub use manifest::{Manifest, ManifestError, Task};
pub use postprocess::{BatchPredictions, Prediction};
pub use preprocess::Preprocessor;
pub use schema::{Cell, FeatureValue, FieldProblem, NumberRows, Row, Schema, ValidRows};
pub use service::{InstanceInfo, LoadError, PredictError, Response, Route, Service, route};
