//! `model.json` in the `mlfn-estimator` format 1 (models/README.md), serialized form
//! only: one plain struct whose keys depend on `kind` (no tagged enums: see
//! `manifest`). The estimator modules compile it into evaluation structures and refuse
//! what they cannot run, naming the key.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const FORMAT: &str = "mlfn-estimator";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimatorKind {
    Linear,
    TreeEnsemble,
    Mlp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Identity,
    Logistic,
    Softmax,
    OvrLogistic,
    Exp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Tanh,
    Logistic,
    Identity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloatKind {
    Float32,
    Float64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    Le,
    Lt,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub format: String,
    pub format_version: u32,
    /// The fitted estimator's class name (informational).
    pub estimator: String,
    pub kind: EstimatorKind,
    pub input_width: usize,
    pub outputs: usize,
    pub link: LinkKind,
    #[serde(default = "one")]
    pub link_scale: f64,
    // linear
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coef: Option<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intercept: Option<Vec<f64>>,
    // mlp
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<LayerSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    // tree_ensemble
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_cast: Option<FloatKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accumulate: Option<FloatKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trees: Option<Vec<TreeSpec>>,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// `in` rows × `out` columns (sklearn's `coefs_[i]`).
    pub weights: Vec<Vec<f64>>,
    pub bias: Vec<f64>,
}

/// One tree, node arrays indexed by node id (0 = root). Leaves have `left == -1`; their
/// `feature`/`threshold` are whatever the library stores (sklearn: -2), or null.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeSpec {
    /// The raw output scalar leaves add to; `null`: vector leaves add to every output.
    pub output: Option<usize>,
    pub feature: Vec<Option<i64>>,
    pub threshold: Vec<Option<f64>>,
    pub left: Vec<i64>,
    pub right: Vec<i64>,
    /// Booleans (or 0/1) per node.
    pub default_left: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<u8>>,
    /// A number per node (scalar leaves) or `outputs` numbers per node (vector leaves).
    /// Read through `Value` (whose numbers, under `arbitrary_precision`, are the decimal
    /// text parsed by `str::parse::<f64>`, correctly rounded).
    pub value: Vec<Value>,
}

impl ModelSpec {
    pub fn from_json(bytes: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decimal strings where a fast float parser goes wrong (halfway cases, subnormals,
    /// 17+ significant digits): typed `f64` fields (thresholds, coefficients) and `Value`
    /// numbers (leaf values, request features) must both give `str::parse`'s correctly
    /// rounded result.
    #[test]
    fn json_floats_parse_correctly_rounded() {
        let tricky = [
            "0.1",
            "0.30000000000000004",
            "2.2250738585072011e-308",
            "2.2250738585072012e-308",
            "4.9406564584124654e-324",
            "2.4703282292062328e-324",
            "1.7976931348623157e308",
            "9007199254740993",
            "1.0000000180025095e-35",
            "7.038531e-26",
            "1.00000000000000011102230246251565404236316680908203125",
            "1.00000000000000011102230246251565404236316680908203126",
            "8.98846567431157953864652595394512365e307",
            "0.500000000000000166533453693773481063544750213623046875",
            "3.0540709990079e-310",
            "123456789012345678901234567890e-40",
            "-0.0",
        ];
        for s in tricky {
            let want: f64 = s.parse().unwrap();
            let typed: Vec<f64> = serde_json::from_str(&format!("[{s}]")).unwrap();
            assert_eq!(typed[0].to_bits(), want.to_bits(), "typed {s}");
            let value: Value = serde_json::from_str(s).unwrap();
            assert_eq!(
                value.as_f64().unwrap().to_bits(),
                want.to_bits(),
                "Value {s}"
            );
            let threshold: TreeSpec = serde_json::from_str(&format!(
                r#"{{"output": 0, "feature": [0], "threshold": [{s}], "left": [-1], "right": [-1],
                    "default_left": [false], "value": [{s}]}}"#
            ))
            .unwrap();
            assert_eq!(
                threshold.threshold[0].unwrap().to_bits(),
                want.to_bits(),
                "threshold {s}"
            );
        }
    }
}
