//! Multi-layer perceptrons (sklearn `MLPClassifier`/`MLPRegressor`): dense layers with the
//! hidden activation between them; the last layer's output is raw (the link plays
//! sklearn's output activation).

use super::format::{Activation, ModelSpec};

#[derive(Debug, Clone)]
struct Layer {
    /// Row-major `[inputs, outputs]`, as sklearn's `coefs_[i]`.
    weights: Vec<f64>,
    bias: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<Layer>,
    activation: Activation,
    widest: usize,
}

impl Mlp {
    pub fn from_spec(spec: &ModelSpec) -> Result<Self, String> {
        let specs = spec.layers.as_ref().ok_or("`layers` is missing")?;
        let activation = spec.activation.ok_or("`activation` is missing")?;
        if specs.is_empty() {
            return Err("`layers` is empty".into());
        }
        let mut width = spec.input_width;
        let mut layers = Vec::with_capacity(specs.len());
        for (i, l) in specs.iter().enumerate() {
            let out = l.bias.len();
            if l.weights.len() != width || l.weights.iter().any(|r| r.len() != out) {
                return Err(format!(
                    "`layers[{i}]`: weights must be {width} rows of {out} (the bias' length)"
                ));
            }
            layers.push(Layer {
                weights: l.weights.concat(),
                bias: l.bias.clone(),
            });
            width = out;
        }
        if width != spec.outputs {
            return Err(format!(
                "the last layer gives {width} values; outputs is {}",
                spec.outputs
            ));
        }
        let widest = specs
            .iter()
            .map(|l| l.bias.len())
            .chain([spec.input_width])
            .max()
            .unwrap_or(0);
        Ok(Mlp {
            layers,
            activation,
            widest,
        })
    }

    /// Raw outputs of one row.
    pub fn raw(&self, x: &[f64], out: &mut [f64]) {
        let mut a = x.to_vec();
        let mut b = Vec::with_capacity(self.widest);
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            // sklearn: activation = X @ coefs_ + intercepts_ (safe_sparse_dot, then +=).
            b.clear();
            b.resize(l.bias.len(), 0.0);
            for (xi, row) in a.iter().zip(l.weights.chunks_exact(l.bias.len())) {
                for (o, w) in b.iter_mut().zip(row) {
                    *o += xi * w;
                }
            }
            for (o, bias) in b.iter_mut().zip(&l.bias) {
                *o += bias;
                if i != last {
                    *o = activate(self.activation, *o);
                }
            }
            std::mem::swap(&mut a, &mut b);
        }
        out.copy_from_slice(&a);
    }
}

fn activate(f: Activation, x: f64) -> f64 {
    match f {
        Activation::Relu => x.max(0.0),
        Activation::Tanh => libm::tanh(x),
        Activation::Logistic => 1.0 / (1.0 + libm::exp(-x)),
        Activation::Identity => x,
    }
}
