//! The bundle manifest (`manifest.json`, `manifest_version` 2; see models/README.md), as
//! written by `mlfn-pack`.
//!
//! This is the serialized form only: plain structs with optional fields and string enums,
//! no internally tagged enums or `flatten` (both buffer numbers through serde's `Content`,
//! which breaks with serde_json's `arbitrary_precision`). [`crate::Schema`],
//! [`crate::Preprocessor`] and the estimator compile it into checked, typed form; a
//! bundle that cannot be served is refused at load time, never on a request.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The manifest format this crate reads.
pub const MANIFEST_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub manifest_version: u32,
    /// Read as a string so an unknown kind is refused by name rather than as a parse error.
    pub kind: String,
    pub task: Task,
    pub name: String,
    /// Semantic version of the bundle.
    pub version: String,
    pub created: String,
    pub description: String,
    /// Free-form provenance of data and model.
    pub source: Value,
    /// Free-form record of how the model was trained and packed.
    pub training: Value,
    pub metrics: Metrics,
    /// Class names in the estimator's class order; empty for regression.
    pub labels: Vec<String>,
    /// The raw input features, in the order the API documents them.
    pub features: Vec<FeatureSpec>,
    pub preprocessing: Preprocessing,
    pub model: ModelFile,
    pub prediction_baseline: PredictionBaseline,
    /// What a new version must reach to be promoted (`host validate`); absent in bundles
    /// written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
}

/// Promotion thresholds on the holdout metrics and the latency `host validate` measures.
/// Every key is optional; only those given are checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_accuracy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_roc_auc: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_log_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rmse: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_mae: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_r2: Option<f64>,
    /// Median latency of one row through a fresh instance, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_p50_ms: Option<f64>,
}

/// The bundle kinds this build serves.
#[cfg(feature = "networks")]
pub const KINDS: &[&str] = &[
    "tabular",
    crate::filetype::manifest::KIND,
    crate::text::manifest::KIND,
    crate::image::manifest::KIND,
];
/// The bundle kinds this build serves (built without the `networks` feature).
#[cfg(not(feature = "networks"))]
pub const KINDS: &[&str] = &["tabular"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Classification,
    Regression,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub rows: u64,
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// `null` when undefined (one class in the evaluated rows); kept as `null`.
    #[serde(default, deserialize_with = "present")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roc_auc: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rmse: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mae: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r2: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub file: String,
    pub format: String,
    pub sha256: String,
    pub input_width: usize,
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
    /// Inclusive valid range of a numeric feature; absent = any finite number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// Allowed values, for category features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Category features: values outside `categories` are accepted (every encoder reading
    /// the feature ignores unknown values).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accept_unknown: bool,
    /// Informational: what a missing value becomes, or `null`.
    pub default: Option<Value>,
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

/// Baseline-data statistics of one feature (or of the prediction), for drift detection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub kind: BaselineKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edges: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Share of the baseline rows in each bin; sums to 1.
    pub proportions: Vec<f64>,
    /// Evenly spaced quantiles (0%, 1%, …, 100%) of the baseline values: the empirical
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

/// Drift baselines of the outputs: `label` and `confidence` for classification, `value`
/// for regression.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictionBaseline {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Baseline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Baseline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Baseline>,
}

/// The drift baselines of a network kind (image, text, file-type): one per number its
/// events record of each input (`InputSummary`: an image's size and brightness, a text's
/// length, a file's size) and of its answers. `models/drift_baseline.py` writes them from
/// the bundle's reference samples.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryDrift {
    /// Which population the baselines describe.
    pub source: String,
    /// In the order the events' `bins` and `ranks` list them.
    pub features: Vec<SummaryBaseline>,
    #[serde(default)]
    pub prediction_baseline: PredictionBaseline,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryBaseline {
    /// A name of the kind's `InputSummary`.
    pub name: String,
    pub baseline: Baseline,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocessing {
    pub width: usize,
    /// The estimator input's columns, in order.
    pub columns: Vec<ColumnSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub source: SourceSpec,
    #[serde(default)]
    pub ops: Vec<OpSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Value,
    MissingIndicator,
    OneHot,
    Ordinal,
}

/// A column's source; which keys apply depends on `kind` (checked by the preprocessor).
/// Keys whose `null` means something are `Option<Value>` read with [`present`], so an
/// absent key (`None`) differs from an explicit `null` (`Some(Value::Null)`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    pub kind: SourceKind,
    pub feature: String,
    #[serde(default, deserialize_with = "present")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impute: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub category_missing: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_value: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Sub,
    Div,
    Mul,
    Add,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpSpec {
    pub op: OpKind,
    pub value: f64,
}

/// For `#[serde(default, deserialize_with = "present")]`: a present key, `null`
/// included, is `Some`; only an absent key is `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A manifest that cannot be served. Raised when a bundle is loaded, never per request.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest.json: not valid for manifest_version 2: {0}")]
    Parse(#[from] serde_json::Error),
    #[error(
        "manifest.json: manifest_version {0} is not supported (this build reads {MANIFEST_VERSION})"
    )]
    Version(u32),
    #[error(
        "manifest.json: kind {0:?} is not supported by this build (it serves: {kinds})",
        kinds = KINDS.join(", ")
    )]
    Kind(String),
    #[error("manifest.json: features[{feature}]: {problem}")]
    Feature { feature: String, problem: String },
    #[error("manifest.json: preprocessing: {0}")]
    Preprocessing(String),
    #[error("manifest.json: labels: {0}")]
    Labels(String),
    #[error("manifest.json: prediction_baseline: {0}")]
    PredictionBaseline(String),
    #[error("manifest.json: model: {0}")]
    Model(String),
}

/// A manifest's `kind`, after its version: what decides which reader parses the rest.
/// An unknown kind is refused by name; a manifest without `kind` is tabular's to refuse.
pub fn kind_of(bytes: &[u8]) -> Result<String, ManifestError> {
    // The version first, so an old manifest is named as such instead of failing on
    // its unknown keys.
    let v = serde_json::from_slice::<Value>(bytes)?;
    let version = v.get("manifest_version").and_then(Value::as_u64);
    if let Some(v) = version.filter(|v| *v != u64::from(MANIFEST_VERSION)) {
        return Err(ManifestError::Version(v.try_into().unwrap_or(u32::MAX)));
    }
    match v.get("kind").and_then(Value::as_str) {
        Some(k) if !KINDS.contains(&k) => Err(ManifestError::Kind(k.into())),
        Some(k) => Ok(k.into()),
        None => Ok("tabular".into()),
    }
}

impl Manifest {
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        kind_of(bytes)?;
        let m: Manifest = serde_json::from_slice(bytes)?;
        if m.kind != "tabular" {
            return Err(ManifestError::Kind(m.kind));
        }
        match m.task {
            Task::Classification if m.labels.len() < 2 => {
                return Err(ManifestError::Labels(
                    "a classifier needs two labels or more".into(),
                ));
            }
            Task::Regression if !m.labels.is_empty() => {
                return Err(ManifestError::Labels("a regressor has no labels".into()));
            }
            _ => {}
        }
        let pb = &m.prediction_baseline;
        let ok = match m.task {
            Task::Classification => {
                pb.label.is_some() && pb.confidence.is_some() && pb.value.is_none()
            }
            Task::Regression => pb.label.is_none() && pb.confidence.is_none() && pb.value.is_some(),
        };
        if !ok {
            return Err(ManifestError::PredictionBaseline(
                "classification needs `label` and `confidence`, regression `value`".into(),
            ));
        }
        if m.model.format != "mlfn-estimator" {
            return Err(ManifestError::Model(format!(
                "format {:?} is not supported (this build reads mlfn-estimator)",
                m.model.format
            )));
        }
        if m.preprocessing.width != m.preprocessing.columns.len()
            || m.preprocessing.width != m.model.input_width
        {
            return Err(ManifestError::Preprocessing(format!(
                "width {} , {} columns and model.input_width {} must agree",
                m.preprocessing.width,
                m.preprocessing.columns.len(),
                m.model.input_width
            )));
        }
        Ok(m)
    }

    pub fn feature(&self, name: &str) -> Option<&FeatureSpec> {
        self.features.iter().find(|f| f.name == name)
    }
}
