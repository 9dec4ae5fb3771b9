//! Small hand-written bundles for unit tests, whose outputs can be checked by hand: a
//! one-split tree classifier and a linear regressor over three features.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::bundle::Bundle;

fn baseline_numeric() -> Value {
    json!({"kind": "quantile_bins", "edges": [2.0, 5.0], "proportions": [0.25, 0.5, 0.25],
           "quantiles": (0..=100).map(|i| f64::from(i) / 10.0).collect::<Vec<_>>(),
           "missing_rate": 0.0, "mean": 5.0, "std": 2.0, "count": 100})
}

fn baseline_colors() -> Value {
    json!({"kind": "categories", "categories": ["red", "blue"], "proportions": [0.6, 0.4],
           "missing_rate": 0.1, "count": 100})
}

/// Features: `x` (number in [0, 10], required), `color` (red/blue, optional, unknown
/// values accepted), `n` (integer, optional, no range).
pub fn manifest(task: &str) -> Value {
    let classification = task == "classification";
    json!({
        "manifest_version": 2, "kind": "tabular", "task": task,
        "name": "tiny", "version": "1.0.0", "created": "2025-01-01",
        "description": "hand-written test bundle",
        "source": {"dataset": "none"}, "training": {"by": "hand"},
        "metrics": if classification {
            json!({"rows": 4, "data": "made up", "accuracy": 1.0, "roc_auc": null, "log_loss": 0.1})
        } else {
            json!({"rows": 4, "data": "made up", "rmse": 0.0, "mae": 0.0, "r2": 1.0})
        },
        "labels": if classification { json!(["no", "yes"]) } else { json!([]) },
        "features": [
            {"name": "x", "type": "number", "required": true, "range": {"min": 0.0, "max": 10.0},
             "default": null, "baseline": baseline_numeric()},
            {"name": "color", "type": "category", "required": false, "categories": ["red", "blue"],
             "accept_unknown": true, "default": "red", "baseline": baseline_colors()},
            {"name": "n", "type": "integer", "required": false, "default": 3,
             "baseline": baseline_numeric()},
        ],
        "preprocessing": {"width": 4, "columns": [
            // StandardScaler: (x - 1) / 2
            {"source": {"kind": "value", "feature": "x", "impute": null},
             "ops": [{"op": "sub", "value": 1.0}, {"op": "div", "value": 2.0}]},
            {"source": {"kind": "one_hot", "feature": "color", "category": "blue", "impute": "red"}, "ops": []},
            {"source": {"kind": "value", "feature": "n", "impute": 3.0}, "ops": []},
            {"source": {"kind": "missing_indicator", "feature": "n"}, "ops": []},
        ]},
        "model": {"file": "model.json", "format": "mlfn-estimator", "sha256": "", "input_width": 4},
        "prediction_baseline": if classification {
            json!({"label": {"kind": "categories", "categories": ["no", "yes"], "proportions": [0.5, 0.5],
                             "missing_rate": 0.0, "count": 4},
                   "confidence": baseline_numeric()})
        } else {
            json!({"value": baseline_numeric()})
        },
    })
}

/// One tree, one split: column 0 (the scaled x) `<= 0.25` (x <= 1.5) → `[0.8, 0.2]`,
/// else `[0.1, 0.9]`.
pub fn tree_model() -> Value {
    json!({"format": "mlfn-estimator", "format_version": 1, "estimator": "DecisionTreeClassifier",
           "kind": "tree_ensemble", "input_width": 4, "outputs": 2, "link": "identity", "link_scale": 1.0,
           "input_cast": "float32", "comparison": "le", "accumulate": "float64",
           "base": [0.0, 0.0], "scale": 1.0,
           "trees": [{"output": null, "feature": [0, -2, -2], "threshold": [0.25, -2.0, -2.0],
                      "left": [1, -1, -1], "right": [2, -1, -1], "default_left": [true, false, false],
                      "value": [[0.5, 0.5], [0.8, 0.2], [0.1, 0.9]]}]})
}

/// `value = 2·x' + 10·blue + 2·n + 100·n_missing + 1` on the preprocessed columns.
pub fn linear_model() -> Value {
    json!({"format": "mlfn-estimator", "format_version": 1, "estimator": "LinearRegression",
           "kind": "linear", "input_width": 4, "outputs": 1, "link": "identity", "link_scale": 1.0,
           "coef": [[2.0, 10.0, 2.0, 100.0]], "intercept": [1.0]})
}

/// A bundle from a manifest and a model (the manifest's sha256 filled in).
pub fn bundle(mut manifest: Value, model: &Value) -> Bundle {
    let model = serde_json::to_vec(model).unwrap();
    let digest: String = Sha256::digest(&model)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    manifest["model"]["sha256"] = json!(digest);
    let mut b = Bundle::new();
    b.insert("manifest.json", serde_json::to_vec(&manifest).unwrap());
    b.insert("model.json", model);
    b
}

pub fn classifier() -> Bundle {
    bundle(manifest("classification"), &tree_model())
}

pub fn regressor() -> Bundle {
    bundle(manifest("regression"), &linear_model())
}

/// The compiled schema of [`manifest`]: `x` required number in [0, 10], `color`
/// optional red/blue accepting unknown values, `n` optional integer without range.
pub fn schema() -> crate::Schema {
    let m = crate::Manifest::from_json(&serde_json::to_vec(&manifest("classification")).unwrap())
        .unwrap();
    crate::Schema::from_manifest(&m).unwrap()
}
