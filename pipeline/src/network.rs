//! Neural networks through tract, for the non-tabular kinds (models/README.md "kind").
//!
//! Stages: `parse` (NNEF tar → typed model; with the `onnx` feature also ONNX → typed
//! model) → `concretize` (the bundle's input shapes: concrete but for at most a sequence
//! length `S`, so every later stage knows every other dimension; one-hot products become
//! row lookups, `one_hot.rs`) → `optimize` (tract's declutter + codegen) → `plan` (a runnable
//! `SimplePlan`). All of it happens in `Network::load`, at packaging time: the plan is
//! plain memory, so the wizer snapshot holds it and a request only runs it.
//!
//! The guest carries tract-core + tract-nnef only. ONNX is read natively (the host, with
//! the `onnx` feature) and handed to the guest as NNEF: `onnx_to_nnef` at packaging.

use std::sync::Arc;

use tract_nnef::internal::*;
use tract_nnef::prelude::{IntoRunnable, Tensor, TypedFact, TypedModel, TypedRunnableModel, tvec};

use crate::bundle::Bundle;
use crate::service::LoadError;

mod one_hot;

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

/// A network ready to run: the optimised plan for its inputs' shapes.
#[derive(Clone)]
pub struct Network {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<InputSpec>,
    output_width: usize,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("inputs", &self.inputs)
            .field("output_width", &self.output_width)
            .field("nodes", &self.plan.model().nodes().len())
            .finish()
    }
}

/// The element types a bundle's input may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    I32,
    I64,
    F32,
}

impl InputType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "int32" => Some(InputType::I32),
            "int64" => Some(InputType::I64),
            "float32" => Some(InputType::F32),
            _ => None,
        }
    }

    fn datum(self) -> DatumType {
        match self {
            InputType::I32 => DatumType::I32,
            InputType::I64 => DatumType::I64,
            InputType::F32 => DatumType::F32,
        }
    }
}

/// The name of the one symbolic dimension a network may have: the sequence length of a
/// text model, resolved on each run from the inputs.
pub const SEQUENCE: &str = "S";

/// One input of a network: its element type and shape. A `None` dimension is the
/// sequence length (`SEQUENCE`), shared by every input; all others are concrete, batch 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    pub datatype: InputType,
    pub shape: Vec<Option<usize>>,
}

impl InputSpec {
    /// An input of exactly `shape`.
    pub fn concrete(datatype: InputType, shape: &[usize]) -> Self {
        InputSpec {
            datatype,
            shape: shape.iter().copied().map(Some).collect(),
        }
    }

    /// `[1, S]`: one sequence of any length.
    pub fn sequence(datatype: InputType) -> Self {
        InputSpec {
            datatype,
            shape: vec![Some(1), None],
        }
    }

    fn dims(&self, sequence: &Symbol) -> Vec<TDim> {
        self.shape
            .iter()
            .map(|d| d.map_or_else(|| sequence.to_dim(), |n| n.to_dim()))
            .collect()
    }

    fn fact(&self, sequence: &Symbol) -> TypedFact {
        self.datatype.datum().fact(self.dims(sequence))
    }

    /// The shape for a run with a sequence of `len`.
    fn concrete_shape(&self, len: usize) -> Vec<usize> {
        self.shape.iter().map(|d| d.unwrap_or(len)).collect()
    }
}

/// The first output of a run, as f32, with its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub values: Vec<f32>,
    pub shape: Vec<usize>,
}

impl Network {
    /// Loads the NNEF form of `file` (a tar, as `onnx_to_nnef` writes it) for `inputs`,
    /// and checks that its output's last dimension is `output_width`.
    pub fn from_nnef(
        file: &str,
        tar: &[u8],
        inputs: &[InputSpec],
        output_width: usize,
    ) -> Result<Self, NetworkError> {
        let model = nnef()
            .model_for_read(&mut &tar[..])
            .map_err(stage(file, "parse"))?;
        Self::from_typed(file, model, inputs, output_width)
    }

    /// Loads an ONNX file directly (native builds with the `onnx` feature).
    #[cfg(feature = "onnx")]
    pub fn from_onnx(
        file: &str,
        onnx: &[u8],
        inputs: &[InputSpec],
        output_width: usize,
    ) -> Result<Self, NetworkError> {
        let model = onnx_typed(file, onnx, inputs)?;
        Self::from_typed(file, model, inputs, output_width)
    }

    fn from_typed(
        file: &str,
        model: TypedModel,
        inputs: &[InputSpec],
        output_width: usize,
    ) -> Result<Self, NetworkError> {
        let concrete =
            concretize(model, inputs, output_width).map_err(stage(file, "concretize"))?;
        let optimized = concrete.into_optimized().map_err(stage(file, "optimize"))?;
        let plan = optimized.into_runnable().map_err(stage(file, "plan"))?;
        let network = Network {
            plan,
            inputs: inputs.to_vec(),
            output_width,
        };
        // One run now (sequences of 2): a plan that cannot run, or answers the wrong
        // width, is refused at load rather than on a request.
        network.run_zeros(2).map_err(|e| NetworkError::Load {
            file: file.into(),
            stage: "first run",
            message: e.to_string(),
        })?;
        Ok(network)
    }

    /// Number of input elements one run takes (single concrete input).
    pub fn input_len(&self) -> usize {
        self.inputs
            .first()
            .map_or(0, |i| i.concrete_shape(0).iter().product())
    }

    /// The last dimension of the output.
    pub fn output_width(&self) -> usize {
        self.output_width
    }

    pub fn inputs(&self) -> &[InputSpec] {
        &self.inputs
    }

    /// Runs a network of one concrete input on `values` (row-major).
    pub fn run_i32(&self, values: &[i32]) -> Result<Vec<f32>, NetworkError> {
        let t = self.tensor(0, 0, values)?;
        Ok(self.run(tvec!(t))?.values)
    }

    pub fn run_f32(&self, values: &[f32]) -> Result<Vec<f32>, NetworkError> {
        let t = self.tensor(0, 0, values)?;
        Ok(self.run(tvec!(t))?.values)
    }

    /// Runs a network whose inputs are sequences (`[1, S]`), one slice per input, all of
    /// the same length.
    pub fn run_sequences(&self, inputs: &[&[i64]]) -> Result<Output, NetworkError> {
        let len = inputs.first().map_or(0, |i| i.len());
        let tensors = inputs
            .iter()
            .enumerate()
            .map(|(i, values)| self.tensor(i, len, values))
            .collect::<Result<TVec<_>, _>>()?;
        self.run(tensors)
    }

    fn run_zeros(&self, len: usize) -> Result<Output, NetworkError> {
        let tensors = self
            .inputs
            .iter()
            .map(|i| Tensor::zero_dt(i.datatype.datum(), &i.concrete_shape(len)))
            .collect::<TractResult<TVec<_>>>()
            .map_err(|e| NetworkError::Run(format!("{e:#}")))?;
        self.run(tensors)
    }

    fn tensor<T: Datum + Copy>(
        &self,
        input: usize,
        len: usize,
        values: &[T],
    ) -> Result<Tensor, NetworkError> {
        let spec = self
            .inputs
            .get(input)
            .ok_or_else(|| NetworkError::Run(format!("the network has no input {input}")))?;
        if spec.datatype.datum() != T::datum_type() {
            return Err(NetworkError::Run(format!(
                "input {input} takes {:?}, got {:?}",
                spec.datatype,
                T::datum_type()
            )));
        }
        Tensor::from_shape(&spec.concrete_shape(len), values)
            .map_err(|e| NetworkError::Run(format!("{e:#}")))
    }

    fn run(&self, inputs: TVec<Tensor>) -> Result<Output, NetworkError> {
        if inputs.len() != self.inputs.len() {
            return Err(NetworkError::Run(format!(
                "the network takes {} inputs, got {}",
                self.inputs.len(),
                inputs.len()
            )));
        }
        let run = |e: TractError| NetworkError::Run(format!("{e:#}"));
        let out = self
            .plan
            .run(inputs.into_iter().map(|t| t.into()).collect())
            .map_err(run)?;
        let out = out
            .first()
            .ok_or_else(|| NetworkError::Run("the network has no output".into()))?;
        let view = out.to_plain_array_view::<f32>().map_err(run)?;
        let shape = view.shape().to_vec();
        if shape.last() != Some(&self.output_width) {
            return Err(NetworkError::Run(format!(
                "the network answered shape {shape:?}, the bundle says width {}",
                self.output_width
            )));
        }
        Ok(Output {
            values: view.iter().copied().collect(),
            shape,
        })
    }
}

/// tract's NNEF with one primitive more, `mlfn_gelu_exact`: decluttering fuses BERT's
/// erf-based GELU into tract's `GeluExact`, which tract 0.23 runs but has no NNEF name for.
/// Writer (host, at packaging) and reader (guest) both use this.
fn nnef() -> tract_nnef::framework::Nnef {
    let mut registry = tract_nnef::internal::Registry::new("mlfn");
    registry.register_unit_element_wise("mlfn_gelu_exact", &tract_core::ops::nn::GeluExact {});
    tract_nnef::nnef().with_registry(registry)
}

fn stage<'a>(file: &'a str, stage: &'static str) -> impl Fn(TractError) -> NetworkError + 'a {
    move |e| NetworkError::Load {
        file: file.into(),
        stage,
        message: format!("{e:#}"),
    }
}

/// Fixes the inputs to the bundle's shapes (batch 1: one request, one input; at most the
/// sequence length symbolic), declutters, and refuses a network whose output's last
/// dimension is not `output_width`.
fn concretize(
    mut model: TypedModel,
    inputs: &[InputSpec],
    output_width: usize,
) -> TractResult<TypedModel> {
    if model.inputs.len() != inputs.len() {
        bail!(
            "the network has {} inputs, the bundle declares {}",
            model.inputs.len(),
            inputs.len()
        );
    }
    let sequence = model.symbols.sym(SEQUENCE);
    for (i, spec) in inputs.iter().enumerate() {
        model.set_input_fact(i, spec.fact(&sequence))?;
    }
    let mut model = model.into_decluttered()?;
    if one_hot::rewrite(&mut model)? > 0 {
        model = model.into_decluttered()?;
    }
    check_output(&model, output_width)?;
    Ok(model)
}

/// The output's last dimension is the bundle's width.
fn check_output(model: &TypedModel, output_width: usize) -> TractResult<()> {
    let out = model.output_fact(0)?;
    if out.shape.last().and_then(|d| d.to_usize().ok()) != Some(output_width) {
        bail!(
            "the output shape {:?} does not end in the bundle's width {output_width}",
            out.shape
        );
    }
    Ok(())
}

#[cfg(feature = "onnx")]
fn onnx_typed(file: &str, onnx: &[u8], inputs: &[InputSpec]) -> Result<TypedModel, NetworkError> {
    use tract_onnx::prelude::{Framework, InferenceFact, InferenceModelExt};
    let mut model = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])
        .map_err(stage(file, "parse ONNX"))?;
    let sequence = model.symbols.sym(SEQUENCE);
    for (i, spec) in inputs.iter().enumerate() {
        let fact = InferenceFact::dt_shape(spec.datatype.datum(), spec.dims(&sequence));
        model = model
            .with_input_fact(i, fact)
            .map_err(stage(file, "input shape"))?;
    }
    model.into_typed().map_err(stage(file, "type ONNX"))
}

/// The NNEF form (a tar, deterministic: fixed timestamps) of an ONNX network, for the
/// bundle's input shapes; what the host hands the guest at packaging.
#[cfg(feature = "onnx")]
pub fn onnx_to_nnef(
    file: &str,
    onnx: &[u8],
    inputs: &[InputSpec],
    output_width: usize,
) -> Result<Vec<u8>, NetworkError> {
    let typed = onnx_typed(file, onnx, inputs)?;
    let decluttered = concretize(typed, inputs, output_width).map_err(stage(file, "concretize"))?;
    nnef()
        .write_to_tar_with_config(&decluttered, Vec::new(), false, true)
        .map_err(stage(file, "write NNEF"))
}

/// The network of a bundle: its NNEF form when the host provided one (the guest), else
/// the ONNX file itself, checked against the manifest's sha256 (native builds with `onnx`).
pub fn load(
    bundle: &Bundle,
    file: &str,
    sha256: &str,
    inputs: &[InputSpec],
    output_width: usize,
) -> Result<Network, LoadError> {
    let nnef_name = format!("{file}{NNEF_SUFFIX}");
    if let Some(tar) = bundle.get(&nnef_name) {
        return Ok(Network::from_nnef(&nnef_name, tar, inputs, output_width)?);
    }
    let onnx = bundle.verified(file, sha256)?;
    #[cfg(feature = "onnx")]
    {
        Ok(Network::from_onnx(file, onnx, inputs, output_width)?)
    }
    #[cfg(not(feature = "onnx"))]
    {
        let _ = onnx;
        Err(LoadError::File {
            file: file.into(),
            message: format!(
                "this build reads networks as NNEF only: `host package` hands the guest \
                 {nnef_name}"
            ),
        })
    }
}

/// The bundle as the guest must receive it: `file` (checked against its sha256) replaced
/// by its NNEF form `<file>.nnef.tar`. Called by the host at packaging.
#[cfg(feature = "onnx")]
pub fn bundle_with_nnef(
    bundle: &Bundle,
    file: &str,
    sha256: &str,
    inputs: &[InputSpec],
    output_width: usize,
) -> Result<Bundle, LoadError> {
    let onnx = bundle.verified(file, sha256)?;
    let tar = onnx_to_nnef(file, onnx, inputs, output_width)?;
    let mut out = Bundle::new();
    for name in bundle.names().filter(|n| *n != file) {
        out.insert(name, bundle.get(name).expect("listed").to_vec());
    }
    out.insert(format!("{file}{NNEF_SUFFIX}"), tar);
    Ok(out)
}
