//! The bundle manifest (`models/<name>/manifest.json`), as written by `models/train.py`.
//!
//! This is the serialized form only: plain structs with optional fields, no internally
//! tagged enums or `flatten` (both buffer numbers through serde's `Content`, which breaks
//! with serde_json's `arbitrary_precision`). [`crate::Schema`] and [`crate::Preprocessor`]
//! compile it into checked, typed form; `Manifest::check` is where an inconsistent
//! bundle is rejected, at build/initialisation time rather than on a request.

use serde::{Deserialize, Serialize};

/// The manifest format this crate reads.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub manifest_version: u32,
    pub name: String,
    /// Semantic version of the bundle.
    pub version: String,
    pub created: String,
    pub description: String,
    pub source: Source,
    /// Free-form record of how the model was trained (script, pipeline, library versions).
    pub training: serde_json::Value,
    pub metrics: Metrics,
    pub model: ModelFile,
    pub labels: Vec<String>,
    /// The raw input features, in the order the API documents them.
    pub features: Vec<FeatureSpec>,
    pub preprocessing: Preprocessing,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub package: String,
    pub package_version: String,
    pub package_license: String,
    pub file: String,
    pub loader: String,
    pub dataset: String,
    pub dataset_license: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub train_rows: u64,
    pub holdout_rows: u64,
    pub accuracy: f64,
    pub roc_auc: f64,
    pub log_loss: f64,
    pub split: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub file: String,
    pub sha256: String,
    pub format: String,
    pub opsets: serde_json::Value,
    /// Name of the model's one input, a `[N, input_width]` f32 tensor.
    pub input: String,
    pub input_width: usize,
    pub label_output: String,
    pub probabilities_output: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureType {
    Number,
    Integer,
    Category,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FeatureType,
    pub required: bool,
    /// Inclusive valid range, for number and integer features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// Allowed values, for category features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// What an absent or null optional feature is replaced with (the training imputer's
    /// statistic); `null` for required features.
    pub default: Option<serde_json::Value>,
    pub baseline: Baseline,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineKind {
    /// Numeric: `edges` split the line into `edges.len() + 1` bins; a value `v` falls in
    /// bin `#{e in edges : e < v}`.
    QuantileBins,
    /// Categorical: one bin per category, in `categories` order.
    Categories,
}

/// Training-data statistics of one feature, for drift detection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub kind: BaselineKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edges: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Share of the training rows in each bin; sums to 1.
    pub proportions: Vec<f64>,
    /// Evenly spaced quantiles (0%, 1%, …, 100%) of the training values: the empirical
    /// CDF for a two-sample KS statistic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantiles: Option<Vec<f64>>,
    pub missing_rate: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocessing {
    /// The model input's columns, in order; each is produced from one feature.
    pub columns: Vec<ColumnSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// One column: `(x - mean) / scale` (sklearn `StandardScaler`).
    Standardize,
    /// One column per category: 1 for the value's category, 0 elsewhere (sklearn
    /// `OneHotEncoder`).
    OneHot,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub feature: String,
    pub transform: Transform,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
}

/// A manifest that cannot be served. Raised when a bundle is loaded, never per request.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid JSON for this schema: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("manifest_version {0} is not supported (this build reads {MANIFEST_VERSION})")]
    Version(u32),
    #[error("feature `{feature}`: {problem}")]
    Feature { feature: String, problem: String },
    #[error("preprocessing: {0}")]
    Preprocessing(String),
    #[error("labels: {0}")]
    Labels(String),
}

impl Manifest {
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest: Manifest = serde_json::from_slice(bytes)?;
        if manifest.manifest_version != MANIFEST_VERSION {
            return Err(ManifestError::Version(manifest.manifest_version));
        }
        if manifest.labels.len() < 2 {
            return Err(ManifestError::Labels(
                "a classifier needs two labels or more".into(),
            ));
        }
        Ok(manifest)
    }

    pub fn feature(&self, name: &str) -> Option<&FeatureSpec> {
        self.features.iter().find(|f| f.name == name)
    }
}
