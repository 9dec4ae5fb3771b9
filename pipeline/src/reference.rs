//! `reference.json` (models/README.md): rows with raw inputs, the user's preprocessing
//! output and the user's pipeline's own predictions — the oracle a bundle is checked
//! against — and the comparison with its tolerances.

use serde::Deserialize;

use crate::manifest::Task;
use crate::postprocess::Prediction;

/// Probabilities may differ from the oracle by this much (absolute).
pub const PROBABILITY_TOLERANCE: f64 = 1e-5;
/// Regression values may differ by this much times `max(1, |value|)`.
pub const VALUE_TOLERANCE: f64 = 1e-5;

#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    pub model: String,
    pub version: String,
    pub task: Task,
    pub labels: Vec<String>,
    pub generated_by: String,
    /// Library versions of the oracle.
    pub oracle: serde_json::Value,
    pub rows: Vec<ReferenceRow>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawRow")]
pub struct ReferenceRow {
    /// `data row i`, or `data row i, optional features blanked`.
    pub origin: String,
    /// Raw inputs as a client sends them (`null` = missing).
    pub features: serde_json::Map<String, serde_json::Value>,
    /// The estimator's input as the user's preprocessing computed it (NaN written as
    /// `null`, since JSON has no NaN).
    pub transformed: Vec<f64>,
    pub expected: Expected,
}

/// The user's pipeline's output for a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// `predict` and `predict_proba` (label order).
    Class {
        label: String,
        probabilities: Vec<f64>,
    },
    /// `predict`.
    Value(f64),
}

/// The serialized row: the expected output's keys depend on the task.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    origin: String,
    features: serde_json::Map<String, serde_json::Value>,
    transformed: Vec<Option<f64>>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    probabilities: Option<Vec<f64>>,
    #[serde(default)]
    value: Option<f64>,
}

impl TryFrom<RawRow> for ReferenceRow {
    type Error = String;

    fn try_from(r: RawRow) -> Result<Self, String> {
        let expected = match (r.label, r.probabilities, r.value) {
            (Some(label), Some(probabilities), None) => Expected::Class {
                label,
                probabilities,
            },
            (None, None, Some(v)) => Expected::Value(v),
            _ => {
                return Err(format!(
                    "row {:?}: give `label` and `probabilities`, or `value`",
                    r.origin
                ));
            }
        };
        Ok(ReferenceRow {
            origin: r.origin,
            features: r.features,
            transformed: r
                .transformed
                .into_iter()
                .map(|x| x.unwrap_or(f64::NAN))
                .collect(),
            expected,
        })
    }
}

impl Reference {
    pub fn from_json(bytes: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }
}

/// A prediction outside the tolerances.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub description: String,
    /// How far off (absolute; for a label mismatch, the probability gap, or infinity).
    pub size: f64,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

/// Checks one prediction against the oracle's output. `Ok` carries the largest
/// difference seen (probability or value), for reporting.
pub fn check(
    prediction: &Prediction,
    expected: &Expected,
    labels: &[String],
) -> Result<f64, Mismatch> {
    match (prediction, expected) {
        (
            Prediction::Class {
                label,
                probabilities,
                ..
            },
            Expected::Class {
                label: want_label,
                probabilities: want,
            },
        ) => {
            if probabilities.len() != want.len() {
                return Err(Mismatch {
                    description: format!(
                        "{} probabilities, expected {}",
                        probabilities.len(),
                        want.len()
                    ),
                    size: f64::INFINITY,
                });
            }
            let (worst_at, worst) = probabilities
                .iter()
                .zip(want)
                .map(|(g, w)| (g - w).abs())
                .enumerate()
                // NaN counts as the worst difference.
                .fold((0, 0.0f64), |(i, m), (j, d)| {
                    if d > m || d.is_nan() && !m.is_nan() {
                        (j, d)
                    } else {
                        (i, m)
                    }
                });
            let got_label = labels.get(*label).map_or("?", String::as_str);
            // NaN fails too.
            if worst.is_nan() || worst > PROBABILITY_TOLERANCE {
                return Err(Mismatch {
                    description: format!(
                        "probability of {:?} is {} but the oracle says {} (|diff| {worst:e} > {PROBABILITY_TOLERANCE:e})",
                        labels.get(worst_at).map_or("?", String::as_str),
                        probabilities[worst_at],
                        want[worst_at]
                    ),
                    size: worst,
                });
            }
            if got_label != want_label {
                return Err(Mismatch {
                    description: format!(
                        "label {got_label:?} but the oracle says {want_label:?} (probabilities {probabilities:?})"
                    ),
                    size: worst,
                });
            }
            Ok(worst)
        }
        (Prediction::Value(got), Expected::Value(want)) => {
            let diff = (got - want).abs();
            let allowed = VALUE_TOLERANCE * want.abs().max(1.0);
            if diff <= allowed {
                Ok(diff)
            } else {
                Err(Mismatch {
                    description: format!(
                        "value {got} but the oracle says {want} (|diff| {diff:e} > {allowed:e})"
                    ),
                    size: if diff.is_nan() { f64::INFINITY } else { diff },
                })
            }
        }
        (p, e) => Err(Mismatch {
            description: format!("prediction {p:?} is not of the oracle's kind {e:?}"),
            size: f64::INFINITY,
        }),
    }
}

impl ReferenceRow {
    /// [`check`] against this row's expected output.
    pub fn check(&self, prediction: &Prediction, labels: &[String]) -> Result<f64, Mismatch> {
        check(prediction, &self.expected, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn tolerances_are_the_documented_ones() {
        let want = Expected::Class {
            label: "b".into(),
            probabilities: vec![0.3, 0.7],
        };
        let close = Prediction::from_probabilities(vec![0.3 + 9e-6, 0.7 - 9e-6]);
        assert!(check(&close, &want, &labels()).unwrap() < 1e-5);
        let far = Prediction::from_probabilities(vec![0.3 + 2e-5, 0.7 - 2e-5]);
        let e = check(&far, &want, &labels()).unwrap_err();
        assert!((e.size - 2e-5).abs() < 1e-12, "{e:?}");
        let flipped = Expected::Class {
            label: "a".into(),
            probabilities: vec![0.3, 0.7],
        };
        let e = check(&close, &flipped, &labels()).unwrap_err();
        assert!(e.description.starts_with("label \"b\""), "{e}");

        // Values: relative above 1, absolute below.
        let v = |x| Prediction::Value(x);
        assert!(check(&v(1000.009), &Expected::Value(1000.0), &[]).is_ok());
        assert!(check(&v(1000.011), &Expected::Value(1000.0), &[]).is_err());
        assert!(check(&v(0.5 + 9e-6), &Expected::Value(0.5), &[]).is_ok());
        assert!(check(&v(0.5 + 2e-5), &Expected::Value(0.5), &[]).is_err());
        assert!(check(&v(f64::NAN), &Expected::Value(0.5), &[]).is_err());
        assert!(check(&v(0.5), &want, &labels()).is_err());
    }

    #[test]
    fn rows_carry_one_kind_of_expected_output() {
        let row = |extra: &str| {
            serde_json::from_str::<ReferenceRow>(&format!(
                r#"{{"origin": "data row 0", "features": {{"x": null}}, "transformed": [1.5, null]{extra}}}"#
            ))
        };
        let r = row(r#", "value": 2.5"#).unwrap();
        assert_eq!(r.expected, Expected::Value(2.5));
        assert_eq!(r.transformed[0], 1.5);
        assert!(r.transformed[1].is_nan());
        assert!(row(r#", "label": "a", "probabilities": [1.0, 0.0]"#).is_ok());
        assert!(row(r#", "label": "a", "value": 1.0"#).is_err());
        assert!(row("").is_err());
    }
}
