//! The reference fixture `models/<name>/reference.json` that `models/train.py` writes:
//! every holdout row with the outputs of the independent oracles (sklearn's Pipeline and
//! onnxruntime). Tests in this crate and in `host` compare against it.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    pub model: String,
    pub version: String,
    pub labels: Vec<String>,
    pub rows: Vec<ReferenceRow>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceRow {
    /// `holdout`, or `holdout with optional features blanked` (imputation cases).
    pub origin: String,
    /// Raw inputs as a client would send them (`null` = missing).
    pub features: serde_json::Map<String, serde_json::Value>,
    /// sklearn's preprocessing output, as float32.
    pub transformed: Vec<f32>,
    pub sklearn_label: String,
    pub sklearn_proba: Vec<f64>,
    pub onnxruntime_label: String,
    pub onnxruntime_proba: Vec<f64>,
}

impl Reference {
    pub fn from_json(bytes: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }
}
