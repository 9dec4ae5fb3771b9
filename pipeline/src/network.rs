//! Neural networks through tract, for the non-tabular kinds (models/README.md "kind").
//!
//! Stages: `parse` (NNEF tar → typed model; with the `onnx` feature also ONNX → typed
//! model) → `concretize` (the bundle's concrete input shape, so every later stage knows
//! every dimension) → `optimize` (tract's declutter + codegen) → `plan` (a runnable
//! `SimplePlan`). All of it happens in `Network::load`, at packaging time: the plan is
//! plain memory, so the wizer snapshot holds it and a request only runs it.
//!
//! The guest carries tract-core + tract-nnef only. ONNX is read natively (the host, with
//! the `onnx` feature) and handed to the guest as NNEF: `onnx_to_nnef` at packaging.

use std::sync::Arc;

use tract_nnef::internal::*;
use tract_nnef::prelude::{IntoRunnable, Tensor, TypedFact, TypedModel, TypedRunnableModel, tvec};

/// The suffix of the NNEF form of a bundle's ONNX file (`model.onnx` → `model.onnx.nnef.tar`),
/// the name under which the host hands it to the guest.
pub const NNEF_SUFFIX: &str = ".nnef.tar";

/// Why a network does not load or run.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("{file}: {stage}: {message}")]
    Load {
        file: String,
        stage: &'static str,
        message: String,
    },
    #[error("running the network: {0}")]
    Run(String),
}

/// A network ready to run: the optimised plan for one concrete input shape.
#[derive(Clone)]
pub struct Network {
    plan: Arc<TypedRunnableModel>,
    input_shape: Vec<usize>,
    output_len: usize,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("input_shape", &self.input_shape)
            .field("output_len", &self.output_len)
            .field("nodes", &self.plan.model().nodes().len())
            .finish()
    }
}

/// The element types a bundle's input may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    I32,
    F32,
}

impl InputType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "int32" => Some(InputType::I32),
            "float32" => Some(InputType::F32),
            _ => None,
        }
    }

    fn fact(self, shape: &[usize]) -> TypedFact {
        match self {
            InputType::I32 => i32::fact(shape),
            InputType::F32 => f32::fact(shape),
        }
    }
}

impl Network {
    /// Loads the NNEF form of `file` (a tar, as `onnx_to_nnef` writes it) for inputs of
    /// exactly `input_shape`, and checks that it answers `output_len` numbers.
    pub fn from_nnef(
        file: &str,
        tar: &[u8],
        input: InputType,
        input_shape: &[usize],
        output_len: usize,
    ) -> Result<Self, NetworkError> {
        let stage = |stage: &'static str| {
            move |e: TractError| NetworkError::Load {
                file: file.into(),
                stage,
                message: format!("{e:#}"),
            }
        };
        let model = tract_nnef::nnef()
            .model_for_read(&mut &tar[..])
            .map_err(stage("parse"))?;
        Self::from_typed(file, model, input, input_shape, output_len)
    }

    /// Loads an ONNX file directly (native builds with the `onnx` feature).
    #[cfg(feature = "onnx")]
    pub fn from_onnx(
        file: &str,
        onnx: &[u8],
        input: InputType,
        input_shape: &[usize],
        output_len: usize,
    ) -> Result<Self, NetworkError> {
        let model = onnx_typed(file, onnx, input, input_shape)?;
        Self::from_typed(file, model, input, input_shape, output_len)
    }

    fn from_typed(
        file: &str,
        model: TypedModel,
        input: InputType,
        input_shape: &[usize],
        output_len: usize,
    ) -> Result<Self, NetworkError> {
        let stage = |stage: &'static str| {
            move |e: TractError| NetworkError::Load {
                file: file.into(),
                stage,
                message: format!("{e:#}"),
            }
        };
        let concrete = concretize(model, input, input_shape).map_err(stage("concretize"))?;
        let optimized = concrete.into_optimized().map_err(stage("optimize"))?;
        let plan = optimized.into_runnable().map_err(stage("plan"))?;
        let network = Network {
            plan,
            input_shape: input_shape.to_vec(),
            output_len,
        };
        // One run now: a plan that cannot run, or answers the wrong size, is refused at
        // load rather than on a request.
        let probe = match input {
            InputType::I32 => network.run_i32(&vec![0; network.input_len()]),
            InputType::F32 => network.run_f32(&vec![0.0; network.input_len()]),
        };
        probe.map_err(|e| NetworkError::Load {
            file: file.into(),
            stage: "first run",
            message: e.to_string(),
        })?;
        Ok(network)
    }

    /// Number of input elements one run takes.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }

    pub fn output_len(&self) -> usize {
        self.output_len
    }

    /// Runs the plan on `values` (the input tensor, row-major) and returns the first
    /// output as f32.
    pub fn run_i32(&self, values: &[i32]) -> Result<Vec<f32>, NetworkError> {
        let t = Tensor::from_shape(&self.input_shape, values)
            .map_err(|e| NetworkError::Run(format!("{e:#}")))?;
        self.run(t)
    }

    pub fn run_f32(&self, values: &[f32]) -> Result<Vec<f32>, NetworkError> {
        let t = Tensor::from_shape(&self.input_shape, values)
            .map_err(|e| NetworkError::Run(format!("{e:#}")))?;
        self.run(t)
    }

    fn run(&self, input: Tensor) -> Result<Vec<f32>, NetworkError> {
        let run = |e: TractError| NetworkError::Run(format!("{e:#}"));
        let out = self.plan.run(tvec!(input.into())).map_err(run)?;
        let out = out
            .first()
            .ok_or_else(|| NetworkError::Run("the network has no output".into()))?;
        let values: Vec<f32> = out
            .to_plain_array_view::<f32>()
            .map_err(run)?
            .iter()
            .copied()
            .collect();
        if values.len() != self.output_len {
            return Err(NetworkError::Run(format!(
                "the network answered {} numbers, the bundle says {}",
                values.len(),
                self.output_len
            )));
        }
        Ok(values)
    }
}

/// Fixes the input to the bundle's concrete shape (the batch dimension of a bundle is
/// 1: one request, one input), declutters, and refuses a network whose output shape is
/// still symbolic (ONNX inputs get the shape before typing, so tract propagates it).
fn concretize(
    mut model: TypedModel,
    input: InputType,
    input_shape: &[usize],
) -> TractResult<TypedModel> {
    if model.inputs.len() != 1 {
        bail!(
            "the network has {} inputs, one expected",
            model.inputs.len()
        );
    }
    model.set_input_fact(0, input.fact(input_shape))?;
    let model = model.into_decluttered()?;
    let out = model.output_fact(0)?;
    if out.shape.as_concrete().is_none() {
        bail!("the output shape {:?} is not concrete", out.shape);
    }
    Ok(model)
}

#[cfg(feature = "onnx")]
fn onnx_typed(
    file: &str,
    onnx: &[u8],
    input: InputType,
    input_shape: &[usize],
) -> Result<TypedModel, NetworkError> {
    use tract_onnx::prelude::{Framework, InferenceModelExt};
    let stage = |stage: &'static str| {
        move |e: TractError| NetworkError::Load {
            file: file.into(),
            stage,
            message: format!("{e:#}"),
        }
    };
    let model = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])
        .map_err(stage("parse ONNX"))?
        .with_input_fact(0, input.fact(input_shape).into())
        .map_err(stage("input shape"))?;
    model.into_typed().map_err(stage("type ONNX"))
}

/// The NNEF form (a tar, deterministic: fixed timestamps) of an ONNX network, for the
/// bundle's concrete input shape; what the host hands the guest at packaging.
#[cfg(feature = "onnx")]
pub fn onnx_to_nnef(
    file: &str,
    onnx: &[u8],
    input: InputType,
    input_shape: &[usize],
) -> Result<Vec<u8>, NetworkError> {
    let typed = onnx_typed(file, onnx, input, input_shape)?;
    let decluttered = concretize(typed, input, input_shape).map_err(|e| NetworkError::Load {
        file: file.into(),
        stage: "concretize",
        message: format!("{e:#}"),
    })?;
    tract_nnef::nnef()
        .write_to_tar_with_config(&decluttered, Vec::new(), false, true)
        .map_err(|e| NetworkError::Load {
            file: file.into(),
            stage: "write NNEF",
            message: format!("{e:#}"),
        })
}
