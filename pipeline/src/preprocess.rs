//! Preprocessing that tract 0.23 cannot run (the ai.onnx.ml Scaler, Imputer and
//! OneHotEncoder are missing), done from the manifest's parameters: imputation of missing
//! optional features, standardisation, one-hot encoding. It reproduces the sklearn
//! `ColumnTransformer` the bundle was trained with, column for column.

use crate::manifest::{Manifest, ManifestError, Transform};
use crate::schema::{Cell, Row, Schema};

#[derive(Debug, Clone)]
enum Column {
    Standardize {
        feature: usize,
        mean: f64,
        scale: f64,
        default: f64,
    },
    OneHot {
        feature: usize,
        width: usize,
        default: usize,
    },
}

/// Turns validated rows into the model's `[N, width]` f32 input.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    columns: Vec<Column>,
    width: usize,
}

impl Preprocessor {
    pub fn from_manifest(m: &Manifest, schema: &Schema) -> Result<Self, ManifestError> {
        let bad = |s: String| ManifestError::Preprocessing(s);
        let mut columns = Vec::with_capacity(m.preprocessing.columns.len());
        let mut width = 0;
        for c in &m.preprocessing.columns {
            let feature = schema
                .index_of(&c.feature)
                .ok_or_else(|| bad(format!("column for unknown feature `{}`", c.feature)))?;
            let spec = &m.features[feature];
            let default = spec.default.as_ref().filter(|d| !d.is_null());
            match c.transform {
                Transform::Standardize => {
                    let (Some(mean), Some(scale)) = (c.mean, c.scale) else {
                        return Err(bad(format!(
                            "`{}`: standardize needs mean and scale",
                            c.feature
                        )));
                    };
                    if !(mean.is_finite() && scale.is_finite() && scale != 0.0) {
                        return Err(bad(format!(
                            "`{}`: mean/scale must be finite, scale non-zero",
                            c.feature
                        )));
                    }
                    let default = match default {
                        None => f64::NAN, // required: never read
                        Some(d) => d.as_f64().ok_or_else(|| {
                            bad(format!("`{}`: default must be a number", c.feature))
                        })?,
                    };
                    columns.push(Column::Standardize {
                        feature,
                        mean,
                        scale,
                        default,
                    });
                    width += 1;
                }
                Transform::OneHot => {
                    let cats = c.categories.as_deref().unwrap_or_default();
                    if cats != schema.categories(feature) {
                        return Err(bad(format!(
                            "`{}`: one-hot categories differ from the feature's categories",
                            c.feature
                        )));
                    }
                    let default = match default {
                        None => usize::MAX, // required: never read
                        Some(d) => d
                            .as_str()
                            .and_then(|d| cats.iter().position(|c| c == d))
                            .ok_or_else(|| {
                                bad(format!(
                                    "`{}`: default must be one of the categories",
                                    c.feature
                                ))
                            })?,
                    };
                    columns.push(Column::OneHot {
                        feature,
                        width: cats.len(),
                        default,
                    });
                    width += cats.len();
                }
            }
        }
        if width != m.model.input_width {
            return Err(bad(format!(
                "columns make {width} inputs but the model takes {}",
                m.model.input_width
            )));
        }
        Ok(Preprocessor { columns, width })
    }

    /// Width of one transformed row (the model's input width).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Writes one row's model input into `out` (`out.len() == self.width()`).
    pub fn transform_into(&self, row: &Row, out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.width);
        let mut at = 0;
        for c in &self.columns {
            match *c {
                Column::Standardize {
                    feature,
                    mean,
                    scale,
                    default,
                } => {
                    let x = match row.cells[feature] {
                        Some(Cell::Number(x)) => x,
                        _ => default,
                    };
                    // f64 arithmetic then one rounding to f32, as sklearn + astype(float32).
                    out[at] = ((x - mean) / scale) as f32;
                    at += 1;
                }
                Column::OneHot {
                    feature,
                    width,
                    default,
                } => {
                    let k = match row.cells[feature] {
                        Some(Cell::Category(k)) => k,
                        _ => default,
                    };
                    for (j, o) in out[at..at + width].iter_mut().enumerate() {
                        *o = if j == k { 1.0 } else { 0.0 };
                    }
                    at += width;
                }
            }
        }
    }

    /// The `[rows.len(), width]` input, row-major.
    pub fn transform(&self, rows: &[Row]) -> Vec<f32> {
        let mut out = vec![0.0f32; rows.len() * self.width];
        if self.width > 0 {
            for (row, chunk) in rows.iter().zip(out.chunks_exact_mut(self.width)) {
                self.transform_into(row, chunk);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{Bundle, reference};

    /// sklearn's own `ColumnTransformer.transform` output (as float32) is the oracle.
    fn matches_sklearn(bundle: Bundle) {
        let m = bundle.manifest();
        let schema = Schema::from_manifest(&m).unwrap();
        let pre = Preprocessor::from_manifest(&m, &schema).unwrap();
        let reference = reference(bundle);
        assert!(!reference.rows.is_empty());
        let mut worst = 0.0f32;
        for (i, r) in reference.rows.iter().enumerate() {
            let row = schema.validate_json(&r.features, "").unwrap();
            let got = pre.transform(std::slice::from_ref(&row));
            assert_eq!(got.len(), r.transformed.len());
            for (a, b) in got.iter().zip(&r.transformed) {
                worst = worst.max((a - b).abs());
                assert!(
                    (a - b).abs() <= 1e-6,
                    "row {i}: {got:?} vs sklearn {:?}",
                    r.transformed
                );
            }
        }
        eprintln!("{bundle:?}: max |rust - sklearn| after preprocessing = {worst:e}");
    }

    #[test]
    fn breast_cancer_preprocessing_matches_sklearn() {
        matches_sklearn(Bundle::BreastCancer);
    }

    #[test]
    fn penguins_imputation_scaling_and_one_hot_match_sklearn() {
        let reference = reference(Bundle::Penguins);
        // The fixture must exercise imputation, or this test proves less than it says.
        assert!(
            reference
                .rows
                .iter()
                .any(|r| r.features.values().any(|v| v.is_null()))
        );
        matches_sklearn(Bundle::Penguins);
    }

    #[test]
    fn a_missing_optional_feature_gets_the_training_default() {
        let m = Bundle::Penguins.manifest();
        let schema = Schema::from_manifest(&m).unwrap();
        let pre = Preprocessor::from_manifest(&m, &schema).unwrap();
        let only_island = schema
            .validate_json(
                serde_json::json!({"island": "Torgersen"})
                    .as_object()
                    .unwrap(),
                "",
            )
            .unwrap();
        let x = pre.transform(&[only_island]);
        let bill = &m.preprocessing.columns[0];
        let default = m
            .feature(&bill.feature)
            .unwrap()
            .default
            .as_ref()
            .unwrap()
            .as_f64()
            .unwrap();
        let expected = ((default - bill.mean.unwrap()) / bill.scale.unwrap()) as f32;
        assert_eq!(x[0], expected);
        // island one-hot: Torgersen is the third category; sex defaults to the mode.
        assert_eq!(&x[4..7], &[0.0, 0.0, 1.0]);
        let sex_default = m
            .feature("sex")
            .unwrap()
            .default
            .as_ref()
            .unwrap()
            .as_str()
            .unwrap();
        let k = m
            .feature("sex")
            .unwrap()
            .categories
            .as_ref()
            .unwrap()
            .iter()
            .position(|c| c == sex_default)
            .unwrap();
        assert_eq!(x[7 + k], 1.0);
        assert_eq!(x[7 + (1 - k)], 0.0);
    }

    #[test]
    fn an_inconsistent_manifest_is_refused() {
        let mut m = Bundle::Penguins.manifest();
        m.model.input_width += 1;
        let schema = Schema::from_manifest(&m).unwrap();
        let err = Preprocessor::from_manifest(&m, &schema).unwrap_err();
        assert!(
            err.to_string()
                .contains("columns make 9 inputs but the model takes 10"),
            "{err}"
        );
    }
}
