//! The tract plan: ONNX bytes → `model_for_read` → input fact `[N, width]` (symbolic
//! batch) → `into_optimized` → `into_runnable`. Built once per instance; running it is
//! the only model work on the request path.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::dims;

use crate::manifest::ModelFile;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("loading the ONNX model: {0:#}")]
    Load(TractError),
    #[error("running the model: {0:#}")]
    Run(TractError),
    #[error("the model returned {got} probabilities for {rows} rows of {labels} labels")]
    Shape {
        got: usize,
        rows: usize,
        labels: usize,
    },
}

/// An optimized, runnable classifier that maps `[N, width]` f32 inputs to `[N, labels]`
/// class probabilities.
#[derive(Debug, Clone)]
pub struct Model {
    plan: Arc<TypedRunnableModel>,
    width: usize,
    labels: usize,
}

impl Model {
    pub fn from_onnx(bytes: &[u8], spec: &ModelFile, labels: usize) -> Result<Self, ModelError> {
        Self::build(bytes, spec)
            .map_err(ModelError::Load)
            .map(|plan| Model {
                plan,
                width: spec.input_width,
                labels,
            })
    }

    fn build(mut bytes: &[u8], spec: &ModelFile) -> TractResult<Arc<TypedRunnableModel>> {
        let model = tract_onnx::onnx().model_for_read(&mut bytes)?;
        let n = model.sym("N");
        // Only the probabilities: the label output is derived from them by argmax (tract's
        // binary classifier label path is unreliable), so tract prunes the rest.
        let model = model
            .with_input_fact(0, f32::fact(dims!(n, spec.input_width)).into())?
            .with_outputs_by_name([spec.probabilities_output.as_str()])?;
        model.into_optimized()?.into_runnable()
    }

    pub fn input_width(&self) -> usize {
        self.width
    }

    /// Class probabilities, row-major `[rows, labels]`, for a row-major `[rows, width]`
    /// input.
    pub fn predict_proba(&self, input: Vec<f32>) -> Result<Vec<f32>, ModelError> {
        let rows = input.len() / self.width.max(1);
        let tensor = Tensor::from_shape(&[rows, self.width], &input).map_err(ModelError::Run)?;
        let outputs = self
            .plan
            .run(tvec!(tensor.into()))
            .map_err(ModelError::Run)?;
        let proba = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(ModelError::Run)?;
        let got: Vec<f32> = proba.iter().copied().collect();
        if got.len() != rows * self.labels {
            return Err(ModelError::Shape {
                got: got.len(),
                rows,
                labels: self.labels,
            });
        }
        Ok(got)
    }
}
