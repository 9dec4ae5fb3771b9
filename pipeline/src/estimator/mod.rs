//! The estimator of a tabular bundle (`model.json`, `mlfn-estimator` format): raw outputs
//! from the preprocessed f64 input, then the link. Our own arithmetic instead of a
//! general graph runtime, so tree ensembles are exact (float32-cast inputs against f64
//! thresholds, as sklearn compares) and fast.

pub mod format;
mod linear;
mod link;
mod mlp;
mod tree_ensemble;

pub use linear::Linear;
pub use link::Link;
pub use mlp::Mlp;
pub use tree_ensemble::TreeEnsemble;

use format::{EstimatorKind, FORMAT, FORMAT_VERSION, ModelSpec};

use crate::manifest::Task;
use crate::postprocess::{BatchPredictions, Prediction, argmax};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{file}: not valid mlfn-estimator JSON: {source}")]
    Parse {
        file: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file}: {problem}")]
    Invalid { file: String, problem: String },
    #[error("the model's output for instance {row} is not a finite number")]
    NonFinite { row: usize },
}

#[derive(Debug, Clone)]
enum Estimator {
    Linear(Linear),
    Mlp(Mlp),
    Trees(TreeEnsemble),
}

/// A loaded estimator with its link: `[N, width]` f64 rows → predictions.
#[derive(Debug, Clone)]
pub struct Model {
    estimator: Estimator,
    link: Link,
    width: usize,
    outputs: usize,
    /// The fitted estimator's class name, for `/metadata`.
    name: String,
}

impl Model {
    /// Parses and checks `model.json` against the task and the manifest's input width.
    /// Errors name `file` and the offending key.
    pub fn from_json(
        file: &str,
        bytes: &[u8],
        task: Task,
        classes: usize,
        input_width: usize,
    ) -> Result<Self, ModelError> {
        let spec = ModelSpec::from_json(bytes).map_err(|source| ModelError::Parse {
            file: file.into(),
            source,
        })?;
        Self::from_spec(&spec, task, classes, input_width).map_err(|problem| ModelError::Invalid {
            file: file.into(),
            problem,
        })
    }

    pub fn from_spec(
        spec: &ModelSpec,
        task: Task,
        classes: usize,
        input_width: usize,
    ) -> Result<Self, String> {
        if spec.format != FORMAT || spec.format_version != FORMAT_VERSION {
            return Err(format!(
                "format {:?} version {} is not supported (this build reads {FORMAT} {FORMAT_VERSION})",
                spec.format, spec.format_version
            ));
        }
        if spec.input_width != input_width {
            return Err(format!(
                "input_width {} differs from manifest.json model.input_width {input_width}",
                spec.input_width
            ));
        }
        if input_width == 0 {
            return Err("input_width must be at least 1".into());
        }
        let link = Link::new(spec.link, spec.link_scale, task, spec.outputs, classes)?;
        let estimator = match spec.kind {
            EstimatorKind::Linear => Estimator::Linear(Linear::from_spec(spec)?),
            EstimatorKind::Mlp => Estimator::Mlp(Mlp::from_spec(spec)?),
            EstimatorKind::TreeEnsemble => Estimator::Trees(TreeEnsemble::from_spec(spec)?),
        };
        Ok(Model {
            estimator,
            link,
            width: input_width,
            outputs: spec.outputs,
            name: spec.estimator.clone(),
        })
    }

    pub fn input_width(&self) -> usize {
        self.width
    }

    /// The fitted estimator's class name (`RandomForestClassifier`, …).
    pub fn estimator_name(&self) -> &str {
        &self.name
    }

    /// Whether NaN inputs mean something to the estimator (trees route them; linear
    /// models and MLPs would just return NaN).
    pub fn accepts_nan(&self) -> bool {
        matches!(self.estimator, Estimator::Trees(_))
    }

    /// The raw outputs, row-major `[rows, outputs]`, for a row-major `[rows, width]` input.
    pub fn raw(&self, input: &[f64]) -> Vec<f64> {
        let rows = input.len().checked_div(self.width).unwrap_or(0);
        let mut out = vec![0.0; rows * self.outputs];
        match &self.estimator {
            Estimator::Trees(t) => t.raw(input, rows, &mut out),
            Estimator::Linear(l) => per_row(input, self.width, &mut out, self.outputs, |x, o| {
                l.raw(x, o)
            }),
            Estimator::Mlp(m) => per_row(input, self.width, &mut out, self.outputs, |x, o| {
                m.raw(x, o)
            }),
        }
        out
    }

    /// `predict`'s answers as flat lists, without a list per row: the same numbers.
    pub fn predict_batch(&self, input: &[f64]) -> Result<BatchPredictions, ModelError> {
        let raw = self.raw(input);
        let rows = raw.chunks_exact(self.outputs);
        let non_finite = |row| Err(ModelError::NonFinite { row });
        match self.link.task() {
            Task::Regression => {
                let mut values = Vec::with_capacity(rows.len());
                for (row, r) in rows.enumerate() {
                    let v = self.link.value(r);
                    if !v.is_finite() {
                        return non_finite(row);
                    }
                    values.push(v);
                }
                Ok(BatchPredictions::Value(values))
            }
            Task::Classification => {
                let mut label_indices = Vec::with_capacity(rows.len());
                let mut probabilities = Vec::with_capacity(rows.len() * self.outputs.max(2));
                for (row, r) in rows.enumerate() {
                    let start = probabilities.len();
                    self.link.probabilities_into(r, &mut probabilities);
                    let p = &probabilities[start..];
                    if !p.iter().all(|x| x.is_finite()) {
                        return non_finite(row);
                    }
                    label_indices.push(argmax(p).0 as u32);
                }
                Ok(BatchPredictions::Class {
                    label_indices,
                    probabilities,
                })
            }
        }
    }

    /// Predictions for a row-major `[rows, width]` input; a non-finite output (which JSON
    /// cannot carry) is an error naming the row.
    pub fn predict(&self, input: &[f64]) -> Result<Vec<Prediction>, ModelError> {
        self.predict_batch(input)
            .map(|batch| batch.to_predictions())
    }
}

fn per_row(
    input: &[f64],
    width: usize,
    out: &mut [f64],
    outputs: usize,
    f: impl Fn(&[f64], &mut [f64]),
) {
    for (x, o) in input.chunks_exact(width).zip(out.chunks_exact_mut(outputs)) {
        f(x, o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A regressor whose one split on column 0 at 1.5 leads to 1.0 or, through the `exp`
    /// link, to e^1000 = inf (which JSON cannot carry).
    fn overflowing_stump() -> Model {
        let spec = json!({"format": "mlfn-estimator", "format_version": 1,
            "estimator": "DecisionTreeRegressor", "kind": "tree_ensemble", "input_width": 1,
            "outputs": 1, "link": "exp", "input_cast": "float32", "comparison": "le",
            "accumulate": "float64", "base": [0.0], "scale": 1.0,
            "trees": [{"output": 0, "feature": [0, -2, -2], "threshold": [1.5, -2.0, -2.0],
                       "left": [1, -1, -1], "right": [2, -1, -1], "default_left": [true, false, false],
                       "value": [0.0, 0.0, 1000.0]}]});
        let bytes = serde_json::to_vec(&spec).unwrap();
        Model::from_json("model.json", &bytes, Task::Regression, 0, 1).unwrap()
    }

    #[test]
    fn a_non_finite_output_names_its_row_in_both_forms() {
        let model = overflowing_stump();
        assert_eq!(
            model.predict_batch(&[0.0, 1.0]).unwrap(),
            BatchPredictions::Value(vec![1.0, 1.0])
        );
        assert_eq!(
            model.predict_batch(&[0.0, 1.0]).unwrap().to_predictions(),
            model.predict(&[0.0, 1.0]).unwrap()
        );
        for input in [&[0.0, 2.0, 1.0][..], &[0.0, 2.0]] {
            assert!(matches!(
                model.predict(input),
                Err(ModelError::NonFinite { row: 1 })
            ));
            assert!(matches!(
                model.predict_batch(input),
                Err(ModelError::NonFinite { row: 1 })
            ));
        }
    }
}
